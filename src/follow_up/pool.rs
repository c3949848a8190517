//! The threads that derive receipts for lookups, apart from everything
//! else: each Argon2id run takes ~25 ms of one core and 32 MiB, so it never
//! runs on the async threads (it would stall every connection on that
//! thread), and these threads run at a lower priority (nice 10), so that
//! when lookups and reports compete for the CPU, reports win. That is not
//! all of the cost: measured on an idle two-core host, a flood of lookups
//! still cut the report rate by a third, at nice 10, at nice 19 and with
//! one thread alike (bench/README.md, "Lookups flood"), so something else
//! than CPU share (memory bandwidth, shared caches) carries it; hence the
//! pace for all circuits together below.
//!
//! At most `threads` derivations run at once and `queue` wait; past that a
//! lookup is refused at once ("busy") instead of waiting for a thread (its
//! page then waits a second on a timer, web/follow_up.rs).

use crate::answers::Deriver;
use crate::web::admission::Rate;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::oneshot;

/// The nice value of the lookup threads (reports run at 0).
pub const NICE: i32 = 10;

type Job = Box<dyn FnOnce(&mut Deriver) + Send>;

/// Too many lookups at once: try again in a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

pub struct Pool {
    jobs: Option<SyncSender<Job>>,
    pace: Pace,
}

/// All lookups together, whatever circuit they come from: `burst` at once,
/// then `per_second`. The per-circuit limits cannot see a flood spread over
/// many circuits, and such a flood slows reports even at the lowest
/// priority (bench/README.md, "Lookups flood"): past this pace a lookup is
/// [`Busy`] (whose page waits a second before it is sent), which a person
/// checking a receipt never meets.
struct Pace {
    rate: Rate,
    /// Tokens left, as of the instant.
    state: Mutex<(f64, Instant)>,
}

impl Pace {
    fn new(per_second: u32, burst: usize) -> Pace {
        let rate = Rate::per_second(burst, per_second);
        Pace {
            rate,
            state: Mutex::new((rate.burst, Instant::now())),
        }
    }

    /// Take a token if one is left at `now`.
    fn take_at(&self, now: Instant) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let tokens = self.rate.refill(s.0, now.saturating_duration_since(s.1));
        let ok = tokens >= 1.0;
        *s = (if ok { tokens - 1.0 } else { tokens }, now);
        ok
    }
}

impl Pool {
    /// Start `threads` lookup threads with room for `queue` waiting jobs,
    /// taking at most `per_second` lookups a second after a burst of
    /// `queue` (or of one second's worth, if more). With no threads, every
    /// lookup is [`Busy`] (offline tools).
    pub fn start(threads: usize, queue: usize, per_second: u32) -> std::io::Result<Pool> {
        let pace = Pace::new(per_second, queue.max(per_second as usize));
        if threads == 0 {
            return Ok(Pool { jobs: None, pace });
        }
        let (tx, rx) = sync_channel::<Job>(queue);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("salama-lookup-{i}"))
                .spawn(move || worker(&rx))?;
        }
        Ok(Pool {
            jobs: Some(tx),
            pace,
        })
    }

    /// Run `f` on a lookup thread with that thread's working area, and
    /// wait for its result without blocking the async thread.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Deriver) -> T + Send + 'static,
    ) -> Result<T, Busy> {
        let jobs = self.jobs.as_ref().ok_or(Busy)?;
        if !self.pace.take_at(Instant::now()) {
            return Err(Busy);
        }
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |d| {
            let _ = tx.send(f(d));
        });
        match jobs.try_send(job) {
            Ok(()) => rx.await.map_err(|_| Busy),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => Err(Busy),
        }
    }
}

fn worker(jobs: &Mutex<Receiver<Job>>) {
    // On Linux a thread id names one thread for setpriority; failing to
    // lower our own priority is harmless (the caps still hold).
    let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), NICE);
    let mut deriver = Deriver::new();
    loop {
        let job = {
            let rx = jobs.lock().unwrap_or_else(|e| e.into_inner());
            rx.recv()
        };
        match job {
            Ok(job) => job(&mut deriver),
            Err(_) => return, // the pool is gone
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jobs_run_at_lower_priority_and_overflow_is_busy() {
        let pool = Arc::new(Pool::start(1, 1, 1000).unwrap());
        let nice = pool
            .run(|_| rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap())
            .await
            .unwrap();
        assert_eq!(nice, NICE);
        // One running (held by a gate), one queued, the third refused.
        let (open, gate) = std::sync::mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(gate));
        let g = gate.clone();
        let p = pool.clone();
        let first =
            tokio::spawn(async move { p.run(move |_| g.lock().unwrap().recv().is_ok()).await });
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let p = pool.clone();
        let second = tokio::spawn(async move { p.run(|_| true).await });
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert_eq!(pool.run(|_| true).await, Err(Busy));
        open.send(()).unwrap();
        assert_eq!(first.await.unwrap(), Ok(true));
        assert_eq!(second.await.unwrap(), Ok(true));
        assert_eq!(Pool::start(0, 5, 1).unwrap().run(|_| ()).await, Err(Busy));
    }

    /// A burst, then the pace: all circuits together.
    #[test]
    fn lookups_beyond_the_pace_are_busy() {
        let pace = Pace::new(4, 8);
        let t0 = Instant::now();
        assert!((0..8).all(|_| pace.take_at(t0)), "the burst");
        assert!(!pace.take_at(t0), "then nothing at once");
        // A quarter of a second later, one more; then none again.
        let t1 = t0 + Duration::from_millis(250);
        assert!(pace.take_at(t1));
        assert!(!pace.take_at(t1));
        // Ten idle seconds give back the burst, never more.
        let t2 = t1 + Duration::from_secs(10);
        assert_eq!((0..20).filter(|_| pace.take_at(t2)).count(), 8);
    }
}

//! Step 2, before any real work: per-circuit admission. Each Tor circuit
//! ([`Circuit`], one visitor) has a token bucket per [`Action`]: a burst it
//! may spend at once, refilled at a steady pace. The defaults are far above
//! what a person typing can do (10 at once, then one every 12 seconds,
//! i.e. five a minute for ever), and far below what a script on one circuit
//! would like, so one circuit cannot take the submission slots or fill the
//! pending quota while others wait.
//!
//! # Using it from a route
//!
//! ```ignore
//! use crate::web::admission::Action;
//! use crate::web::circuit::Circuit;
//!
//! // First thing in the handler, before reading the body or deriving keys:
//! if let Err(wait) = state.admission.admit(Circuit::of(&req), Action::Lookup) {
//!     // 429 + Retry-After. Keep what the visitor typed in reach: either
//!     // render your form again with their input (as `routes::submit`
//!     // does), or this short translated page:
//!     return routes::wait_a_moment(state, lang, wait);
//! }
//! ```
//!
//! A refused request costs its circuit nothing; every admitted one costs a
//! token, whatever its outcome (an invalid form, a wrong receipt).
//!
//! # Memory and privacy
//!
//! Circuits live in one in-memory map, never logged, never written. A
//! circuit whose buckets have refilled is indistinguishable from one never
//! seen, so it is forgotten: [`Admission::forget_idle`] runs every minute
//! ([`run_sweeper`]), and at most `burst × interval` (two minutes by
//! default) after its last request a circuit leaves no trace here.
//!
//! The map holds at most `max_tracked_circuits` (default 65,536, about
//! 5 MiB). At the bound, idle circuits go first; if a flood of fresh
//! circuits keeps it full, an arbitrary eighth of the map is forgotten at
//! once (those circuits start again with a full allowance, which is all a
//! fresh circuit gets anyway), and the evictions are counted. Memory never
//! grows past the bound; a flood on that scale is what Tor's proof-of-work,
//! the introduction rate limits and the pending quota are for (SECURITY.md).

use super::circuit::Circuit;
use crate::config::Limits;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What a circuit asks to do. Each has its own bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// POST a report (or, later, an addition to one).
    Submit,
    /// Look a receipt up (follow-up): each costs a memory-hard derivation.
    Lookup,
}

/// Refused: the circuit may try again after this long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait(Duration);

impl Wait {
    /// Whole seconds for `Retry-After`, never 0.
    pub fn retry_after_secs(self) -> u64 {
        self.0.as_secs() + u64::from(self.0.subsec_nanos() > 0)
    }
}

/// One bucket's shape: `burst` tokens, one more every `interval`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rate {
    pub(crate) burst: f64,
    interval: Duration,
}

impl Rate {
    fn new(burst: u32, interval_secs: u64) -> Rate {
        Rate {
            burst: f64::from(burst.max(1)),
            interval: Duration::from_secs(interval_secs.max(1)),
        }
    }

    /// `burst` tokens, then `per_second` a second.
    pub(crate) fn per_second(burst: usize, per_second: u32) -> Rate {
        Rate {
            burst: burst.max(1) as f64,
            interval: Duration::from_secs(1) / per_second.max(1),
        }
    }

    /// Tokens after `elapsed`, starting from `tokens`.
    pub(crate) fn refill(self, tokens: f64, elapsed: Duration) -> f64 {
        (tokens + elapsed.as_secs_f64() / self.interval.as_secs_f64()).min(self.burst)
    }
}

/// One circuit: its two buckets as they stood at `at`.
#[derive(Clone, Copy)]
struct Buckets {
    at: Instant,
    submit: f64,
    lookup: f64,
}

struct Tracker {
    circuits: HashMap<Circuit, Buckets>,
}

/// Per-circuit token buckets, shared by every stream source.
pub struct Admission {
    submit: Rate,
    lookup: Rate,
    max_tracked: usize,
    tracker: Mutex<Tracker>,
    /// Requests refused since start, per action, and circuits forgotten
    /// early at the bound: counts only.
    pub refused_submissions: AtomicU64,
    pub refused_lookups: AtomicU64,
    pub evicted: AtomicU64,
}

impl Admission {
    pub fn new(limits: &Limits) -> Admission {
        Admission {
            submit: Rate::new(
                limits.submissions_per_circuit,
                limits.submission_interval_secs,
            ),
            lookup: Rate::new(limits.lookups_per_circuit, limits.lookup_interval_secs),
            max_tracked: limits.max_tracked_circuits.max(1),
            tracker: Mutex::new(Tracker {
                circuits: HashMap::new(),
            }),
            refused_submissions: AtomicU64::new(0),
            refused_lookups: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
        }
    }

    /// May `circuit` do `action` now? Takes a token if so.
    pub fn admit(&self, circuit: Circuit, action: Action) -> Result<(), Wait> {
        self.admit_at(circuit, action, Instant::now())
    }

    fn admit_at(&self, circuit: Circuit, action: Action, now: Instant) -> Result<(), Wait> {
        let mut t = self.tracker.lock().unwrap_or_else(|p| p.into_inner());
        if !t.circuits.contains_key(&circuit) && t.circuits.len() >= self.max_tracked {
            self.make_room(&mut t, now);
        }
        let b = t.circuits.entry(circuit).or_insert(Buckets {
            at: now,
            submit: self.submit.burst,
            lookup: self.lookup.burst,
        });
        let elapsed = now.saturating_duration_since(b.at);
        let mut submit = self.submit.refill(b.submit, elapsed);
        let mut lookup = self.lookup.refill(b.lookup, elapsed);
        let (tokens, rate, refused) = match action {
            Action::Submit => (&mut submit, self.submit, &self.refused_submissions),
            Action::Lookup => (&mut lookup, self.lookup, &self.refused_lookups),
        };
        let answer = if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            refused.fetch_add(1, Ordering::Relaxed);
            Err(Wait(rate.interval.mul_f64(1.0 - *tokens)))
        };
        *b = Buckets {
            at: now,
            submit,
            lookup,
        };
        answer
    }

    /// Would this circuit look brand new by `now`? Then it may be forgotten.
    fn idle(&self, b: &Buckets, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(b.at);
        self.submit.refill(b.submit, elapsed) >= self.submit.burst
            && self.lookup.refill(b.lookup, elapsed) >= self.lookup.burst
    }

    fn make_room(&self, t: &mut Tracker, now: Instant) {
        t.circuits.retain(|_, b| !self.idle(b, now));
        if t.circuits.len() < self.max_tracked {
            return;
        }
        // Still full of busy circuits: forget an arbitrary eighth at once,
        // so the next inserts are cheap. The map's order comes from its
        // per-process random hash key, not from the circuits' age.
        let drop = (self.max_tracked / 8).max(1);
        let victims: Vec<Circuit> = t.circuits.keys().take(drop).copied().collect();
        for c in &victims {
            t.circuits.remove(c);
        }
        self.evicted
            .fetch_add(victims.len() as u64, Ordering::Relaxed);
    }

    /// Forget every circuit whose buckets are full again; returns how many
    /// are still tracked.
    pub fn forget_idle(&self) -> usize {
        self.forget_idle_at(Instant::now())
    }

    fn forget_idle_at(&self, now: Instant) -> usize {
        let mut t = self.tracker.lock().unwrap_or_else(|p| p.into_inner());
        t.circuits.retain(|_, b| !self.idle(b, now));
        let left = t.circuits.len();
        t.circuits.shrink_to(self.max_tracked.min(left * 2));
        left
    }
}

/// Every minute until `shutdown`: forget idle circuits, and tell the
/// operator (counts only, at most once a minute) when circuits were held
/// back, so a flood shows in the journal without anything about anyone.
pub async fn run_sweeper(
    state: std::sync::Arc<super::State>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let a = &state.admission;
    let mut last = (0, 0, 0);
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.cancelled() => return,
        }
        let tracked = a.forget_idle();
        let now = (
            a.refused_submissions.load(Ordering::Relaxed),
            a.refused_lookups.load(Ordering::Relaxed),
            a.evicted.load(Ordering::Relaxed),
        );
        if now != last {
            eprintln!(
                "salama: per-circuit limits held back {} submissions and {} lookups in the last minute ({} circuits tracked, {} forgotten early at the bound). One client is sending faster than a person can; nothing to do unless reports are refused (`salama status`).",
                now.0 - last.0,
                now.1 - last.1,
                tracked,
                now.2 - last.2
            );
            last = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(burst: u32, secs: u64, max: usize) -> Limits {
        Limits {
            submissions_per_circuit: burst,
            submission_interval_secs: secs,
            lookups_per_circuit: burst,
            lookup_interval_secs: secs,
            max_tracked_circuits: max,
            ..Limits::default()
        }
    }

    #[test]
    fn a_circuit_gets_its_burst_then_one_per_interval() {
        let a = Admission::new(&limits(3, 10, 100));
        let (c, t0) = (Circuit::fresh(), Instant::now());
        for _ in 0..3 {
            assert_eq!(a.admit_at(c, Action::Submit, t0), Ok(()));
        }
        let wait = a.admit_at(c, Action::Submit, t0).unwrap_err();
        assert_eq!(wait.retry_after_secs(), 10);
        let later = t0 + Duration::from_secs(4);
        assert_eq!(
            a.admit_at(c, Action::Submit, later)
                .unwrap_err()
                .retry_after_secs(),
            6,
            "the wait shrinks as the bucket refills"
        );
        assert_eq!(
            a.admit_at(c, Action::Submit, t0 + Duration::from_secs(10)),
            Ok(())
        );
        assert!(
            a.admit_at(c, Action::Submit, t0 + Duration::from_secs(11))
                .is_err()
        );
        assert_eq!(a.refused_submissions.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn circuits_and_actions_do_not_share_buckets() {
        let a = Admission::new(&limits(1, 60, 100));
        let (c, d, t0) = (Circuit::fresh(), Circuit::fresh(), Instant::now());
        assert!(a.admit_at(c, Action::Submit, t0).is_ok());
        assert!(a.admit_at(c, Action::Submit, t0).is_err());
        assert!(a.admit_at(c, Action::Lookup, t0).is_ok(), "its own bucket");
        assert!(a.admit_at(d, Action::Submit, t0).is_ok(), "another circuit");
        assert_eq!(a.refused_lookups.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn the_defaults_never_stop_a_person_typing() {
        // A fast person: a report every 15 s for an hour, after a burst of
        // ten quick corrections (each an invalid form sent again).
        let a = Admission::new(&Limits::default());
        let (c, t0) = (Circuit::fresh(), Instant::now());
        for _ in 0..10 {
            assert!(a.admit_at(c, Action::Submit, t0).is_ok());
        }
        for i in 1..=240 {
            let t = t0 + Duration::from_secs(60 + 15 * i);
            assert!(a.admit_at(c, Action::Submit, t).is_ok(), "report {i}");
        }
        // …while a script on one circuit gets the burst and five a minute.
        let (s, mut ok) = (Circuit::fresh(), 0);
        for ms in (0..60_000).step_by(10) {
            ok += a
                .admit_at(s, Action::Submit, t0 + Duration::from_millis(ms))
                .is_ok() as u32;
        }
        assert_eq!(ok, 10 + 4, "10 at once, then one every 12 s");
    }

    #[test]
    fn idle_circuits_are_forgotten_and_the_map_stays_bounded() {
        let a = Admission::new(&limits(2, 10, 64));
        let t0 = Instant::now();
        let busy = Circuit::fresh();
        a.admit_at(busy, Action::Submit, t0).unwrap();
        a.admit_at(busy, Action::Submit, t0).unwrap();
        for _ in 0..63 {
            a.admit_at(Circuit::fresh(), Action::Lookup, t0).unwrap();
        }
        assert_eq!(a.forget_idle_at(t0 + Duration::from_secs(5)), 64);
        // After 10 s the one-token spenders are full again; the busy one not.
        assert_eq!(a.forget_idle_at(t0 + Duration::from_secs(10)), 1);
        assert_eq!(a.forget_idle_at(t0 + Duration::from_secs(20)), 0);

        // A flood of fresh circuits, none idle: the map never passes its
        // bound, and each fresh circuit still gets exactly its burst.
        for i in 0..10_000u64 {
            let t = t0 + Duration::from_millis(i);
            assert!(a.admit_at(Circuit::fresh(), Action::Submit, t).is_ok());
            assert!(a.tracker.lock().unwrap().circuits.len() <= 64);
        }
        assert!(a.evicted.load(Ordering::Relaxed) > 0);
    }
}

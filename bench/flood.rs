//! The flood measurement behind SECURITY.md's "A flood" figures: loopback
//! connections carrying C tor's PROXY line stand in for Tor circuits, so
//! this measures what the server does, not what Tor lets through.
//!
//! ```sh
//! bench/flood.sh                 # builds release, runs every phase (~2 min)
//! ```
//!
//! 1. **One circuit vs honest reporters**: 8 connections of one circuit
//!    send reports as fast as they can while honest reporters file one
//!    every 2 s between them (4 circuits taking turns, so each stays
//!    within what a person does). Honest latency (median, p99, worst), how
//!    much of the flood got in, server CPU.
//! 2. **Many circuits**: 32 connections, each moving to a fresh circuit
//!    whenever it is held back (an attacker with unlimited circuits),
//!    with the smallest and with the largest legal reports: how many
//!    reports per second get in, hence how long the default pending quota
//!    (1,000,000 reports, 4 GiB) lasts.
//! 3. **Filling a quota**: the same flood against `max_pending_reports =
//!    20000`: time to full, what `salama status` says, what an honest
//!    reporter sees, and that `salama export` lets reports in again.

#![forbid(unsafe_code)]

#[allow(dead_code)]
#[path = "../tests/it/rawhttp.rs"]
mod rawhttp;

use rawhttp::Conn;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

type Res<T> = Result<T, String>;

struct Args {
    bin: PathBuf,
    work: PathBuf,
    secs: u64,
}

fn args() -> Res<Args> {
    let mut a = Args {
        bin: PathBuf::from("target/release/salama"),
        work: PathBuf::from("target/bench-work/flood"),
        secs: 30,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().ok_or(format!("{k} needs a value"))?;
        match k.as_str() {
            "--bin" => a.bin = v.into(),
            "--work" => a.work = v.into(),
            "--secs" => a.secs = v.parse().map_err(|e| format!("--secs: {e}"))?,
            _ => return Err(format!("unknown option {k} (--bin, --work, --secs)")),
        }
    }
    Ok(a)
}

struct Server {
    child: Child,
    addr: String,
    data: PathBuf,
}

impl Server {
    fn start(a: &Args, name: &str, config: &str) -> Res<Server> {
        let dir = a.work.join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("keys")).map_err(|e| e.to_string())?;
        // A throwaway recipient: nothing here is ever opened.
        let id = age::x25519::Identity::generate();
        std::fs::write(dir.join("keys/bench.pub"), format!("{}\n", id.to_public()))
            .map_err(|e| e.to_string())?;
        std::fs::write(dir.join("salama.toml"), config).map_err(|e| e.to_string())?;
        let data = dir.join("data");
        let mut child = Command::new(&a.bin)
            .args(["serve", "--no-onion", "--listen", "127.0.0.1:0", "--config"])
            .arg(dir.join("salama.toml"))
            .arg("--data")
            .arg(&data)
            .arg("--keys")
            .arg(dir.join("keys"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", a.bin.display()))?;
        let (tx, rx) = mpsc::channel();
        let stderr = child.stderr.take().ok_or("no stderr")?;
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut addr = None;
        while let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) {
            if let Some(rest) = line.strip_prefix("salama: serving http://") {
                addr = Some(rest.trim_end_matches('/').to_owned());
            }
            if line == "salama: ready" {
                break;
            }
        }
        let addr = addr.ok_or("the server did not start")?;
        Ok(Server { child, addr, data })
    }

    fn cpu_secs(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        let after = stat.rsplit(") ").next().unwrap_or("");
        let f: Vec<f64> = after
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        // utime and stime are fields 14 and 15; `after` starts at field 3.
        (f.get(11).unwrap_or(&0.0) + f.get(12).unwrap_or(&0.0)) / 100.0
    }

    fn salama(&self, a: &Args, args: &[&str]) -> String {
        let o = Command::new(&a.bin)
            .args(args)
            .arg("--data")
            .arg(&self.data)
            .output()
            .expect("salama runs");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A small report (1 KiB bucket) or the largest the form accepts (64 KiB).
fn fields(big: bool) -> Vec<(&'static str, String)> {
    let (urls, description) = if big {
        let url = format!("https://flood.example.com/{}", "a".repeat(2000));
        (vec![url; 10].join("\n"), "😀".repeat(4000))
    } else {
        ("https://flood.example.com/a".to_owned(), "flood".to_owned())
    };
    vec![
        ("urls", urls),
        ("category", "other-harm".into()),
        ("description", description),
    ]
}

fn post(c: &mut Conn, f: &[(&'static str, String)]) -> Option<u16> {
    let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    c.post_report("en", &refs).map(|r| r.status)
}

#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    held: AtomicU64,
    refused_full: AtomicU64,
    other: AtomicU64,
}

impl Tally {
    fn count(&self, status: Option<u16>) {
        match status {
            Some(200) => &self.ok,
            Some(429) => &self.held,
            Some(503) => &self.refused_full,
            _ => &self.other,
        }
        .fetch_add(1, Ordering::Relaxed);
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1e3
}

/// Phase 1.
fn one_circuit(a: &Args) -> Res<()> {
    let s = Server::start(a, "one-circuit", "proxy_protocol = true\n")?;
    let (stop, tally) = (Arc::new(AtomicBool::new(false)), Arc::new(Tally::default()));
    let cpu0 = s.cpu_secs();
    let flood: Vec<_> = (0..8)
        .map(|_| {
            let (addr, stop, tally) = (s.addr.clone(), stop.clone(), tally.clone());
            std::thread::spawn(move || {
                let f = fields(false);
                let mut c = Conn::open(&addr, Some(1_000_000));
                while !stop.load(Ordering::Relaxed) {
                    let st = post(&mut c, &f);
                    if st.is_none() {
                        c = Conn::open(&addr, Some(1_000_000));
                    }
                    tally.count(st);
                }
            })
        })
        .collect();
    let start = Instant::now();
    let mut lat = Vec::new();
    let (mut honest_ok, f) = (0, fields(false));
    let mut honest: Vec<Conn> = (7..11).map(|g| Conn::open(&s.addr, Some(g))).collect();
    for turn in 0.. {
        if start.elapsed() >= Duration::from_secs(a.secs) {
            break;
        }
        std::thread::sleep(Duration::from_secs(2));
        let t = Instant::now();
        let st = post(&mut honest[turn % 4], &f);
        lat.push(t.elapsed());
        honest_ok += u32::from(st == Some(200));
    }
    stop.store(true, Ordering::Relaxed);
    for t in flood {
        let _ = t.join();
    }
    let secs = start.elapsed().as_secs_f64();
    lat.sort();
    let attempts = tally.ok.load(Ordering::Relaxed) + tally.held.load(Ordering::Relaxed);
    println!(
        "## One circuit floods; honest reporters (4 circuits) file one every 2 s ({secs:.0} s)\n"
    );
    println!("| | |\n|---|---|");
    println!(
        "| honest reports acknowledged | {honest_ok}/{} |",
        lat.len()
    );
    println!(
        "| honest latency median / p99 / worst | {:.1} / {:.1} / {:.1} ms |",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat.last().map_or(0.0, |d| d.as_secs_f64() * 1e3)
    );
    println!(
        "| flooding circuit: attempts, acknowledged | {:.0}/s, {} in all (allowance: 10 + 1 per 12 s) |",
        attempts as f64 / secs,
        tally.ok.load(Ordering::Relaxed)
    );
    println!(
        "| server CPU | {:.2} cores |\n",
        (s.cpu_secs() - cpu0) / secs
    );
    Ok(())
}

/// 32 connections, each on its own circuit until held back, then a new
/// one; runs until `until` says stop. Returns the tally and the seconds.
fn many_circuits(
    addr: &str,
    big: bool,
    until: impl Fn(&Tally, Duration) -> bool + Send + Sync + 'static,
) -> (Arc<Tally>, f64) {
    static NEXT: AtomicU32 = AtomicU32::new(10_000_000);
    let (tally, until) = (Arc::new(Tally::default()), Arc::new(until));
    let start = Instant::now();
    let threads: Vec<_> = (0..32)
        .map(|_| {
            let (addr, tally, until) = (addr.to_owned(), tally.clone(), until.clone());
            std::thread::spawn(move || {
                let f = fields(big);
                let fresh = || Conn::open(&addr, Some(NEXT.fetch_add(1, Ordering::Relaxed)));
                let mut c = fresh();
                while !until(&tally, start.elapsed()) {
                    let st = post(&mut c, &f);
                    tally.count(st);
                    if st != Some(200) {
                        c = fresh();
                    }
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    (tally, start.elapsed().as_secs_f64())
}

/// Phases 2 and 3.
fn many(a: &Args) -> Res<()> {
    println!("## Many circuits, each new one spending its allowance\n");
    println!("| reports | acknowledged/s | held back/s | sealed size | default quota lasts |");
    println!("|---|---|---|---|---|");
    let window = Duration::from_secs(a.secs.min(20));
    for big in [false, true] {
        let s = Server::start(a, "many", "proxy_protocol = true\n")?;
        let (t, secs) = many_circuits(&s.addr, big, move |_, e| e >= window);
        let ok = t.ok.load(Ordering::Relaxed) as f64;
        let rate = ok / secs;
        let status = s.salama(a, &["status", "--json"]);
        let v: serde_json::Value = serde_json::from_str(&status).map_err(|e| e.to_string())?;
        let bytes = v["pending_bytes"].as_f64().unwrap_or(0.0) / ok.max(1.0);
        let lasts = (1_000_000.0 / rate).min(4.0 * (1u64 << 30) as f64 / (rate * bytes));
        println!(
            "| {} | {rate:.0} | {:.0} | {:.0} B | {:.1} min |",
            if big {
                "largest (64 KiB bucket)"
            } else {
                "small (1 KiB bucket)"
            },
            t.held.load(Ordering::Relaxed) as f64 / secs,
            bytes,
            lasts / 60.0
        );
    }

    let s = Server::start(
        a,
        "fill",
        "proxy_protocol = true\n[limits]\nmax_pending_reports = 20000\n",
    )?;
    let (t, secs) = many_circuits(&s.addr, false, |t, e| {
        t.refused_full.load(Ordering::Relaxed) > 0 || e > Duration::from_secs(120)
    });
    let status = s.salama(a, &["status"]);
    let mut honest = Conn::open(&s.addr, Some(7));
    let seen = post(&mut honest, &fields(false));
    let export = a.work.join("fill/bundle.tar");
    let _ = std::fs::remove_file(&export);
    s.salama(
        a,
        &["export", "--out", export.to_str().unwrap_or("bundle.tar")],
    );
    let mut honest = Conn::open(&s.addr, Some(8));
    let after = post(&mut honest, &fields(false));
    println!(
        "\n## Filling `max_pending_reports = 20000` with many circuits\n\n{} acknowledged in {secs:.1} s, then refused. `salama status` said:\n\n```\n{}```\n\nAn honest reporter then got HTTP {}; after `salama export` (while serving), HTTP {}.\n",
        t.ok.load(Ordering::Relaxed),
        status,
        seen.unwrap_or(0),
        after.unwrap_or(0)
    );
    Ok(())
}

fn main() -> std::process::ExitCode {
    let run = || -> Res<()> {
        let a = args()?;
        if !Path::new(&a.bin).exists() {
            return Err(format!(
                "{} not found: build it first (bench/flood.sh does)",
                a.bin.display()
            ));
        }
        one_circuit(&a)?;
        many(&a)?;
        let _ = std::fs::remove_dir_all(&a.work);
        Ok(())
    };
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("flood: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

//! Per-circuit admission, end to end: loopback connections carrying the
//! PROXY line C tor sends with `HiddenServiceExportCircuitID haproxy`
//! stand in for Tor circuits. One circuit over its limit gets a translated
//! 429 that shows the form again as it was filled; other circuits are not
//! touched; a flood from one circuit leaves an honest reporter's reports
//! all acknowledged, quickly. `bench/flood.rs` measures the same at full
//! speed, and the many-circuit case.

use crate::rawhttp::Conn;
use crate::util::*;
use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn config(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join(format!("{}.toml", unique("cfg")));
    std::fs::write(&p, text).unwrap();
    p
}

/// A report with fixed fields but for its description.
fn report(c: &mut Conn, lang: &str, description: &str) -> Option<Page> {
    c.post_report(
        lang,
        &[
            ("urls", "https://flood.example.com/a"),
            ("category", "grooming"),
            ("where_seen", "website"),
            ("description", description),
        ],
    )
}

#[test]
fn each_circuit_has_its_own_allowance_and_the_429_keeps_the_form() {
    let t = tempfile::tempdir().unwrap();
    let (data, keys) = (t.path().join("data"), t.path().join("keys"));
    let id = analyst(t.path(), &keys, "a");
    let cfg = config(
        t.path(),
        "proxy_protocol = true\n[limits]\nsubmissions_per_circuit = 2\nsubmission_interval_secs = 600\n",
    );
    let server = Server::start(&data, &keys, &["--config", cfg.to_str().unwrap()]);
    let a = server.addr.clone();

    // Circuit 70000: two reports, then "wait a moment" on the same
    // connection and on a new one (the limit follows the circuit).
    let mut c = Conn::open(&a, Some(70_000));
    for i in 0..2 {
        let r = report(&mut c, "en", &format!("first circuit {i}")).unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let kept = unique("KEPT");
    for lang in ["en", "fr", "ar"] {
        let mut c = Conn::open(&a, Some(70_000));
        let typed = format!("{kept} <b>{lang}</b> رأيت");
        let r = report(&mut c, lang, &typed).unwrap();
        assert_eq!(r.status, 429, "{}", r.body);
        let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=600).contains(&retry), "Retry-After: {retry}");
        // The form again, filled in, escaped, under the notice.
        assert!(r.body.contains("id=\"report-form\""), "{}", r.body);
        assert!(
            r.body
                .contains(&format!("{kept} &lt;b&gt;{lang}&lt;/b&gt; رأيت")),
            "what was typed is shown again:\n{}",
            r.body
        );
        assert!(r.body.contains("https://flood.example.com/a"));
        let notice = match lang {
            "en" => "Please wait a moment",
            "fr" => "Patientez un instant",
            _ => "يُرجى الانتظار قليلًا",
        };
        assert!(r.body.contains(notice), "{lang}: {}", r.body);
        assert!(r.header("content-security-policy").is_some());
    }
    let r = report(&mut c, "en", "still the first circuit").unwrap();
    assert_eq!(r.status, 429, "the same connection is held back too");

    // Another circuit, even on the old connection's heels, is untouched.
    let mut d = Conn::open(&a, Some(70_001));
    assert_eq!(report(&mut d, "fr", "second circuit").unwrap().status, 200);
    // Circuits beyond 65535 differ only in the address's upper half.
    let mut e = Conn::open(&a, Some(70_000 + 65_536));
    assert_eq!(report(&mut e, "fr", "third circuit").unwrap().status, 200);

    // No PROXY line, or a broken one: closed without a word, counted once
    // in the log, with nothing about the connection.
    assert!(Conn::open(&a, None).closed_unanswered());
    let mut bad = TcpStream::connect(&a).unwrap();
    bad.write_all(b"PROXY TCP6 nonsense\r\nGET /en/ HTTP/1.1\r\n\r\n")
        .unwrap();
    assert!(Conn::from_stream(bad).closed_unanswered());

    let out = server.stop();
    assert_eq!(
        out.matches("without a valid PROXY header").count(),
        1,
        "one warning:\n{out}"
    );
    for secret in ["70000", "11170", "fc00", &kept] {
        assert!(!out.contains(secret), "{secret} leaked into:\n{out}");
    }
    // Exactly the admitted reports were stored; nothing of the refused ones.
    let bundle = t.path().join("b.tar");
    export(&data, &bundle, false);
    let opened = t.path().join("opened");
    let (ok, _, err) = open(&bundle, &[&id], &opened);
    assert!(ok, "{err}");
    assert_eq!(jsonl(&opened).len(), 4);
    assert!(files_containing(&opened, kept.as_bytes()).is_empty());
    assert!(files_containing(&data, kept.as_bytes()).is_empty());
}

#[test]
fn without_proxy_protocol_each_connection_is_a_circuit_and_a_stray_proxy_line_is_understood() {
    let t = tempfile::tempdir().unwrap();
    let (data, keys) = (t.path().join("data"), t.path().join("keys"));
    analyst(t.path(), &keys, "a");
    let cfg = config(
        t.path(),
        "[limits]\nsubmissions_per_circuit = 1\nsubmission_interval_secs = 600\n",
    );
    let server = Server::start(&data, &keys, &["--config", cfg.to_str().unwrap()]);
    let a = server.addr.clone();

    let mut keep_alive = Conn::open(&a, None);
    assert_eq!(report(&mut keep_alive, "en", "one").unwrap().status, 200);
    assert_eq!(report(&mut keep_alive, "en", "two").unwrap().status, 429);
    let mut fresh = Conn::open(&a, None);
    assert_eq!(report(&mut fresh, "en", "three").unwrap().status, 200);

    // C tor with the export on while the switch is off: its line is used.
    let mut p = Conn::open(&a, Some(9));
    assert_eq!(report(&mut p, "en", "four").unwrap().status, 200);
    let mut p = Conn::open(&a, Some(9));
    assert_eq!(report(&mut p, "en", "five").unwrap().status, 429);
    let out = server.stop();
    assert_eq!(out.matches("set proxy_protocol = true").count(), 1, "{out}");
}

/// One circuit sends reports as fast as it can on 4 connections; another
/// files one every 2.5 s. Every honest report is acknowledged, in well
/// under 2 s each; the flood gets its allowance and no more.
#[test]
fn a_flood_from_one_circuit_does_not_shut_out_another_reporter() {
    let t = tempfile::tempdir().unwrap();
    let (data, keys) = (t.path().join("data"), t.path().join("keys"));
    let id = analyst(t.path(), &keys, "a");
    let cfg = config(t.path(), "proxy_protocol = true\n");
    let server = Server::start(&data, &keys, &["--config", cfg.to_str().unwrap()]);
    let addr = server.addr.clone();

    let stop = Arc::new(AtomicBool::new(false));
    let (flood_ok, flood_held, flood_other) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let started = Instant::now();
    let flooders: Vec<_> = (0..4)
        .map(|_| {
            let (addr, stop) = (addr.clone(), stop.clone());
            let (ok, held, other) = (flood_ok.clone(), flood_held.clone(), flood_other.clone());
            std::thread::spawn(move || {
                let mut c = Conn::open(&addr, Some(424_242));
                let deadline = Instant::now() + Duration::from_secs(60);
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    match report(&mut c, "en", "flood") {
                        Some(r) if r.status == 200 => ok.fetch_add(1, Ordering::Relaxed),
                        Some(r) if r.status == 429 => held.fetch_add(1, Ordering::Relaxed),
                        Some(_) => other.fetch_add(1, Ordering::Relaxed),
                        None => {
                            // A refused body is read, so the connection
                            // stays usable; reconnect if it did not.
                            c = Conn::open(&addr, Some(424_242));
                            0
                        }
                    };
                }
            })
        })
        .collect();

    let mut latencies = Vec::new();
    let mut receipts = Vec::new();
    let mut honest = Conn::open(&addr, Some(7));
    for i in 0..12 {
        std::thread::sleep(Duration::from_millis(2_500));
        let t0 = Instant::now();
        let r = report(&mut honest, "ar", &format!("honest {i}")).expect("an answer");
        latencies.push(t0.elapsed());
        assert_eq!(r.status, 200, "honest report {i}: {}", r.body);
        receipts.push(receipt(&r));
    }
    stop.store(true, Ordering::Relaxed);
    for f in flooders {
        f.join().unwrap();
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let worst = *latencies.last().unwrap();
    let (ok, held) = (
        flood_ok.load(Ordering::Relaxed),
        flood_held.load(Ordering::Relaxed),
    );
    eprintln!(
        "MEASURED: honest reports 12/12 acknowledged, median {:.1} ms, worst {:.1} ms; the flooding circuit: {ok} acknowledged, {held} held back (429), over {:.1} s",
        latencies[6].as_secs_f64() * 1e3,
        worst.as_secs_f64() * 1e3,
        elapsed.as_secs_f64()
    );
    assert!(worst < Duration::from_secs(2), "p99 {worst:?}");
    assert!(held > 100, "the flood was held back only {held} times");
    assert_eq!(flood_other.load(Ordering::Relaxed), 0);
    // The default allowance: 10 at once, then one every 12 s.
    let allowance = 10 + elapsed.as_secs() / 12 + 1;
    assert!(ok <= allowance, "{ok} flood reports > {allowance}");
    server.stop();

    // What was acknowledged is exactly what is stored, honest ones included.
    let bundle = t.path().join("b.tar");
    export(&data, &bundle, false);
    let opened = t.path().join("opened");
    let (open_ok, _, err) = open(&bundle, &[&id], &opened);
    assert!(open_ok, "{err}");
    let reports = jsonl(&opened);
    assert_eq!(reports.len() as u64, 12 + ok);
    for r in &receipts {
        assert!(reports.iter().any(|x| x["receipt"] == *r));
    }
}

/// All circuits together get `max_lookups_per_second` lookups after a
/// burst: past it, "busy" (503, Retry-After) after a pause, so a client
/// that retries at once cannot turn refusals into a flood of their own.
#[test]
fn lookups_past_the_global_pace_are_busy_after_a_pause() {
    let t = tempfile::tempdir().unwrap();
    let (data, keys) = (t.path().join("data"), t.path().join("keys"));
    analyst(t.path(), &keys, "a");
    let cfg = config(
        t.path(),
        "[limits]\nlookups_per_circuit = 100\nlookup_interval_secs = 1\n[follow_up]\nmax_waiting_lookups = 1\nmax_lookups_per_second = 1\n",
    );
    let server = Server::start(&data, &keys, &["--config", cfg.to_str().unwrap()]);
    let url = server.url("/en/follow-up");
    let code = [("receipt", "0123-4567-89AB-CDEF")];
    // Two at once, so the one token cannot come back while the other's
    // Argon2 run is slow (a loaded machine): one is the burst, one is busy.
    let timed = || {
        let t0 = Instant::now();
        let page = post_form(&url, &code);
        (page, t0.elapsed())
    };
    let (first, second) = std::thread::scope(|s| {
        let a = s.spawn(timed);
        let b = s.spawn(timed);
        (a.join().unwrap(), b.join().unwrap())
    });
    let (ok, (busy, waited)) = if first.0.status == 200 {
        (first.0, second)
    } else {
        (second.0, first)
    };
    assert_eq!(ok.status, 200, "the burst");
    assert_eq!(busy.status, 503);
    assert!(busy.header("retry-after").is_some());
    assert!(
        waited >= Duration::from_millis(900),
        "busy was answered at once"
    );
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(post_form(&url, &code).status, 200, "a token again");
}

//! Crash safety: if the reporter saw the thank-you page, the report reaches
//! the analysts. Clients submit concurrently while the server is killed
//! with SIGKILL at random moments and restarted; at the end every
//! acknowledged receipt must open exactly once, intact.
//!
//! CI runs 10 kills. The full run (≥ 50 kills) is
//! `SALAMA_KILLS=60 cargo test --release --test it crash -- --nocapture`.

use crate::util::*;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn random_below(n: u64) -> u64 {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    u64::from_le_bytes(b) % n
}

#[test]
fn every_acknowledged_report_survives_sigkill() {
    let kills: usize = std::env::var("SALAMA_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let t = tempfile::tempdir().unwrap();
    let (data, keys) = (t.path().join("data"), t.path().join("keys"));
    let id = analyst(t.path(), &keys, "a");
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let mut attempted = 0usize;
    for round in 0..kills {
        let server = Server::start(&data, &keys, &[]);
        let url = server.url("/en/report/grooming");
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..8)
            .map(|c| {
                let (url, stop, acked) = (url.clone(), stop.clone(), acked.clone());
                std::thread::spawn(move || {
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let desc = format!("round {round} client {c} report {n} {}", unique("k"));
                        n += 1;
                        let r = agent().post(&url).send_form([
                            ("urls", "https://crash.example.com/"),
                            ("platform", "discord"),
                            ("description", desc.as_str()),
                        ]);
                        // Only a complete thank-you page counts as acknowledged.
                        if let Ok(r) = r
                            && r.status() == 200
                            && let Ok(body) = r.into_body().read_to_string()
                        {
                            let page = Page {
                                status: 200,
                                headers: vec![],
                                body,
                            };
                            acked.lock().unwrap().push((receipt(&page), desc));
                        }
                    }
                    n
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(100 + random_below(500)));
        server.kill();
        stop.store(true, Ordering::Relaxed);
        for c in clients {
            attempted += c.join().unwrap();
        }
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > kills * 10,
        "the load was real: {} acknowledged",
        acked.len()
    );

    // Offline now: export everything, open it, account for every receipt.
    let bundle = t.path().join("all.tar");
    export(&data, &bundle, false);
    let out = t.path().join("o");
    let (ok, _, err) = open(&bundle, &[&id], &out);
    assert!(ok, "every stored report opens intact: {err}");
    let mut found: BTreeMap<String, (usize, String)> = BTreeMap::new();
    for r in jsonl(&out) {
        let e = found
            .entry(r["receipt"].as_str().unwrap().to_owned())
            .or_insert((0, r["description"].as_str().unwrap().to_owned()));
        e.0 += 1;
    }
    assert!(
        found.values().all(|(n, _)| *n == 1),
        "a report was stored twice"
    );
    for (receipt, desc) in &acked {
        match found.get(receipt) {
            Some((1, d)) => assert_eq!(d, desc, "report {receipt} came back altered"),
            _ => panic!("acknowledged report {receipt} was lost"),
        }
    }
    eprintln!(
        "MEASURED: {kills} SIGKILLs, {attempted} submissions attempted, {} acknowledged, {} stored, 0 lost",
        acked.len(),
        found.len()
    );
}

//! Onionbalance for real, on the private Tor network (`tests/tor-network/`):
//! two backends, each `salama serve --no-onion` behind its own C tor with
//! the shipped `deploy/torrc` plus `HiddenServiceOnionbalanceInstance 1`;
//! Debian's `onionbalance` publishing one front address; a real C tor
//! client (curl over its SOCKS port) filing reports through the front.
//! Then one backend is stopped (salama and its tor, as the guide's systemd
//! binding does) while reporting goes on; the analysts export both stores,
//! open them in one `salama open`, and each backend purges its own bundle.
//!
//! Slow (a private network, Onionbalance's 45 s start delay, and up to two
//! onion time periods of 8 minutes for the stopped backend's descriptor to
//! age out), so it is one test, run once. Figures: the `MEASURED:` lines.

use crate::onion::{NET, TorNet, curl, fetch_until_ok};
use crate::util::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn run(cmd: &mut Command) -> String {
    let shown = format!("{cmd:?}");
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "{shown} failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

/// Ask the client tor for new circuits and to forget onion descriptors, so
/// the next request looks the front up afresh, as a new visitor would.
/// Tor delays a NEWNYM that comes within 10 s of the last one (and the
/// request would then reuse the old visitor's circuit), so this waits.
fn new_visitor(net: &Path, last: &mut Option<Instant>) {
    if let Some(t) = *last {
        std::thread::sleep(Duration::from_millis(10_500).saturating_sub(t.elapsed()));
    }
    newnym(net);
    *last = Some(Instant::now());
}

fn newnym(net: &Path) {
    let port = std::fs::read_to_string(net.join("control-port")).unwrap();
    let cookie = std::fs::read(net.join("client/control_auth_cookie")).unwrap();
    let hex: String = cookie.iter().map(|b| format!("{b:02x}")).collect();
    let mut s = TcpStream::connect(("127.0.0.1", port.trim().parse::<u16>().unwrap())).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "AUTHENTICATE {hex}\r\nSIGNAL NEWNYM\r\nQUIT\r\n").unwrap();
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    assert!(reply.matches("250 ").count() >= 2, "control port: {reply}");
}

/// One report through the front: its receipt and how long it took, or
/// `None` if Tor could not reach a backend this time.
fn report_once(socks: &str, front: &str, marker: &str) -> Option<(String, Duration)> {
    let t0 = Instant::now();
    let url = format!("http://{front}/fr/report");
    let form = [
        ("urls", &*format!("https://{marker}.example.com/")),
        ("category", "abuse-imagery"),
        ("description", marker),
    ];
    match curl(socks, &url, &form) {
        Some((200, body)) => Some((
            receipt(&Page {
                status: 200,
                headers: vec![],
                body,
            }),
            t0.elapsed(),
        )),
        Some((status, body)) => panic!("the front answered {status}: {body}"),
        None => None,
    }
}

struct Backend {
    name: &'static str,
    data: PathBuf,
    onion: String,
    server: Option<Server>,
}

/// Has Onionbalance uploaded a front descriptor without `instance` since
/// byte `from` of its log? Each publishing round starts with
/// "publish_all_descriptors() called" and names the instances it leaves out.
fn published_without(log: &Path, from: usize, instance: &str) -> bool {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let id = instance.trim_end_matches(".onion");
    let mut excluded = false;
    for line in text.get(from..).unwrap_or("").lines() {
        if line.contains("publish_all_descriptors() called") {
            excluded = false;
        } else if line.contains(id)
            && (line.contains("is offline") || line.contains("missing a descriptor"))
        {
            excluded = true;
        } else if excluded && line.contains("Uploading") && line.contains("descriptor for") {
            return true;
        }
    }
    false
}

#[test]
fn one_front_address_over_two_backends_survives_losing_one() {
    if !have("tor") || !have("tor-gencert") || !have("curl") || !have("onionbalance") {
        return skip(
            "Debian's `tor`, `onionbalance` (and curl) are not all installed: Onionbalance was NOT tested (apt-get install tor onionbalance curl)",
        );
    }
    let t = tempfile::tempdir().unwrap();
    let keys = t.path().join("keys");
    let id = analyst(t.path(), &keys, "a");
    let begun = Instant::now();
    let net = TorNet::start();
    let dir = net.dir.path();
    let script = |name: &str| format!("{NET}/{name}");

    // The front's key first: each backend's ob_config names the front.
    let front = run(Command::new(script("onionbalance.sh")).arg("key").arg(dir));
    assert!(front.ends_with(".onion") && front.len() == 62, "{front}");

    // Two backends built from the shipped files.
    let cfg = t.path().join("backend.toml");
    std::fs::write(&cfg, "proxy_protocol = true\n").unwrap();
    let shipped =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/torrc"))
            .unwrap();
    let torrc = t.path().join("torrc-backend");
    std::fs::write(
        &torrc,
        format!("{shipped}\nHiddenServiceOnionbalanceInstance 1\n"),
    )
    .unwrap();
    let mut backends: Vec<Backend> = ["backend1", "backend2"]
        .into_iter()
        .map(|name| {
            let data = t.path().join(name);
            let server = Server::start(&data, &keys, &["--config", cfg.to_str().unwrap()]);
            let port = server.addr.rsplit(':').next().unwrap().to_owned();
            let onion = run(Command::new(script("onion-front.sh"))
                .arg(dir)
                .arg(&torrc)
                .arg(&port)
                .arg(name)
                .env("TOR_NET_OB_MASTER", &front));
            Backend {
                name,
                data,
                onion,
                server: Some(server),
            }
        })
        .collect();

    let ob_started = Instant::now();
    let published = run(Command::new(script("onionbalance.sh"))
        .arg("start")
        .arg(dir)
        .args(backends.iter().map(|b| &b.onion)));
    assert_eq!(published, front);
    let publish_time = ob_started.elapsed();
    fetch_until_ok(
        &net.socks,
        &format!("http://{front}/en/report/abuse-imagery"),
        Duration::from_secs(300),
    );
    eprintln!(
        "MEASURED: Onionbalance start → front descriptor uploaded {:.0} s → first page through the front {:.0} s (network start → reachable {:.0} s)",
        publish_time.as_secs_f64(),
        ob_started.elapsed().as_secs_f64(),
        begun.elapsed().as_secs_f64()
    );

    // Reports through the front, each as a new visitor, until both
    // backends have some: the front really spreads visitors over both.
    let mut filed = Vec::new();
    let mut last_newnym = None;
    let pending = |b: &Backend| {
        let o = salama(&["status", "--data", b.data.to_str().unwrap(), "--json"]);
        let s: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        s["pending"].as_u64().unwrap()
    };
    for i in 0.. {
        if backends.iter().all(|b| pending(b) > 0) {
            break;
        }
        assert!(
            i < 16,
            "16 visitors all reached one backend: {:?}",
            backends.iter().map(pending).collect::<Vec<_>>()
        );
        new_visitor(dir, &mut last_newnym);
        let marker = unique(&format!("OBFRONT{i}x"));
        let deadline = Instant::now() + Duration::from_secs(180);
        let receipt = loop {
            if let Some((r, _)) = report_once(&net.socks, &front, &marker) {
                break r;
            }
            assert!(Instant::now() < deadline, "no report through the front");
            std::thread::sleep(Duration::from_secs(3));
        };
        filed.push((receipt, marker));
    }
    let before_stop = filed.len();

    // Stop backend1: salama and its tor, as `BindsTo=` does in the guide.
    let log = dir.join("ob/onionbalance.log");
    let log_at_stop = std::fs::metadata(&log).unwrap().len() as usize;
    let gone = &mut backends[0];
    let tor_pid = std::fs::read_to_string(dir.join(gone.name).join("pid")).unwrap();
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(tor_pid.trim())
        .status();
    gone.server.take().unwrap().stop();
    let stopped = Instant::now();
    let gone_onion = gone.onion.clone();

    // Keep reporting, a new visitor every ~10 s (tor's NEWNYM pace), until
    // Onionbalance has published a descriptor without the stopped backend
    // and a report got through after that.
    let (mut first_ok, mut republished, mut attempts, mut failures) = (None, None, 0, 0);
    let mut took = Vec::new();
    loop {
        assert!(
            stopped.elapsed() < Duration::from_secs(1500),
            "25 minutes after stopping backend1: first report {first_ok:?}, republished {republished:?}"
        );
        if republished.is_none() && published_without(&log, log_at_stop, &gone_onion) {
            republished = Some(stopped.elapsed());
        }
        new_visitor(dir, &mut last_newnym);
        let marker = unique("OBFAILOVERx");
        attempts += 1;
        match report_once(&net.socks, &front, &marker) {
            Some((r, d)) => {
                filed.push((r, marker));
                took.push(d);
                first_ok.get_or_insert(stopped.elapsed());
                if republished.is_some() {
                    break;
                }
            }
            None => failures += 1,
        }
    }
    let (first_ok, republished) = (first_ok.unwrap(), republished.unwrap());
    took.sort();
    // Introductions the client made to the stopped backend's points and
    // that were refused, before it tried another (tor logs them at info).
    let nacks = std::fs::read_to_string(dir.join("client/info.log"))
        .unwrap_or_default()
        .matches("INTRODUCE_ACK nack")
        .count();
    eprintln!(
        "MEASURED: backend1 stopped → first report through the front {:.0} s; → Onionbalance published without it {:.0} s; {attempts} visitors, {failures} unreachable; a report through the front: median {:.1} s, worst {:.1} s; {nacks} introductions refused by dead introduction points",
        first_ok.as_secs_f64(),
        republished.as_secs_f64(),
        took[took.len() / 2].as_secs_f64(),
        took.last().unwrap().as_secs_f64()
    );

    // The analysts export every backend (one stopped: straight from its
    // store; one serving: through its admin socket) and open all in one run.
    let mut bundles = Vec::new();
    for b in &backends {
        let bundle = t.path().join(format!("{}.tar", b.name));
        let digest = export(&b.data, &bundle, false);
        bundles.push((bundle, digest));
    }
    let merged = t.path().join("merged");
    let mut args = vec!["open".to_owned()];
    args.extend(bundles.iter().map(|(b, _)| b.display().to_string()));
    args.extend(["-i".into(), id.display().to_string(), "--out".into()]);
    args.push(merged.display().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = salama(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    for (bundle, digest) in &bundles {
        assert!(
            stdout(&o).contains(&format!("{digest}  {}", bundle.display())),
            "{}",
            stdout(&o)
        );
    }
    let reports = jsonl(&merged);
    assert_eq!(
        reports.len(),
        filed.len(),
        "every acknowledged report, once"
    );
    for (receipt, marker) in &filed {
        let r = reports
            .iter()
            .find(|r| r["receipt"] == *receipt)
            .unwrap_or_else(|| panic!("{receipt} is missing"));
        assert_eq!(r["description"], *marker);
    }
    let per_backend: Vec<usize> = bundles
        .iter()
        .map(|(b, _)| {
            let out = t.path().join(format!(
                "{}-alone",
                b.file_stem().unwrap().to_string_lossy()
            ));
            let (ok, _, err) = open(b, &[&id], &out);
            assert!(ok, "{err}");
            jsonl(&out).len()
        })
        .collect();
    eprintln!(
        "MEASURED: {} reports acknowledged through the front: {} on backend1, {} on backend2",
        filed.len(),
        per_backend[0],
        per_backend[1]
    );
    // Both took reports before the stop; only backend2 could after it.
    assert!(per_backend.iter().all(|n| *n > 0) && per_backend[0] < before_stop);
    assert_eq!(per_backend[0] + per_backend[1], filed.len());

    // Each backend is purged by its own digest, and only by its own.
    let purge = |data: &Path, digest: &str| {
        salama(&[
            "purge",
            "--data",
            data.to_str().unwrap(),
            "--confirm",
            digest,
        ])
    };
    let wrong = purge(&backends[0].data, &bundles[1].1);
    assert!(!wrong.status.success() && stderr(&wrong).contains("no bundle with digest"));
    for (b, (_, digest)) in backends.iter().zip(&bundles) {
        let o = purge(&b.data, digest);
        assert!(o.status.success(), "{}: {}", b.name, stderr(&o));
        let o = salama(&["status", "--data", b.data.to_str().unwrap(), "--json"]);
        let s: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(
            (s["pending"].as_u64(), s["exported"].as_u64()),
            (Some(0), Some(0))
        );
    }
    for b in &mut backends {
        if let Some(s) = b.server.take() {
            s.stop();
        }
    }
}

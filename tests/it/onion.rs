//! The onion service for real: a private Tor network on loopback (Debian's
//! `tor`, built by `tests/tor-network/start.sh`), a real Tor client (curl
//! over the C tor client's SOCKS port), and both ways of serving: arti
//! in-process, and C tor in front with the shipped `deploy/torrc`.

use crate::util::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub(crate) const NET: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tor-network");

/// A running private Tor network; stopped (every PID) when dropped.
pub(crate) struct TorNet {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) socks: String,
}

impl TorNet {
    pub(crate) fn start() -> TorNet {
        let dir = tempfile::tempdir().unwrap();
        let o = Command::new(format!("{NET}/start.sh"))
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "private Tor network did not start:\n{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        let socks = std::fs::read_to_string(dir.path().join("socks-port"))
            .unwrap()
            .trim()
            .to_owned();
        TorNet { dir, socks }
    }

    fn arti_config(&self) -> PathBuf {
        self.dir.path().join("arti.toml")
    }
}

impl Drop for TorNet {
    fn drop(&mut self) {
        let _ = Command::new(format!("{NET}/stop.sh"))
            .arg(self.dir.path())
            .status();
    }
}

/// One request through Tor with curl; `None` if the onion was unreachable.
pub(crate) fn curl(socks: &str, url: &str, form: &[(&str, &str)]) -> Option<(u16, String)> {
    let mut c = Command::new("curl");
    c.args([
        "-s",
        "--max-time",
        "60",
        "--socks5-hostname",
        &format!("127.0.0.1:{socks}"),
        "-w",
        "\n%{http_code}",
    ]);
    for (k, v) in form {
        c.arg("--data-urlencode").arg(format!("{k}={v}"));
    }
    let o = c.arg(url).output().unwrap();
    if !o.status.success() {
        return None;
    }
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let (body, code) = out.rsplit_once('\n')?;
    Some((code.parse().ok()?, body.to_owned()))
}

/// Retry a GET until it answers 200: around each onion time-period rollover
/// a service is unreachable for up to a minute, so gate on a real fetch.
pub(crate) fn fetch_until_ok(socks: &str, url: &str, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        if let Some((200, body)) = curl(socks, url, &[]) {
            assert!(body.contains("<form"), "the form page came back");
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "{url} unreachable over Tor for {limit:?}"
        );
        std::thread::sleep(Duration::from_secs(3));
    }
}

/// POST a report through Tor; returns (receipt, how long the POST took).
fn report_over_tor(socks: &str, onion: &str, marker: &str) -> (String, Duration) {
    let url = format!("http://{onion}/fr/report/grooming");
    let form = [
        ("urls", &*format!("https://{marker}.example.com/")),
        ("platform", "telegram"),
        ("description", &*format!("vu {marker} رأيت")),
    ];
    let start = Instant::now();
    for _ in 0..20 {
        let t = Instant::now();
        if let Some((status, body)) = curl(socks, &url, &form) {
            assert_eq!(status, 200, "{body}");
            let page = Page {
                status,
                headers: vec![],
                body,
            };
            return (receipt(&page), t.elapsed());
        }
        std::thread::sleep(Duration::from_secs(3));
        assert!(start.elapsed() < Duration::from_secs(180));
    }
    panic!("could not POST over Tor");
}

fn open_and_find(t: &Path, data: &Path, id: &Path, marker: &str, receipt: &str) {
    let bundle = t.join(format!("{marker}.tar"));
    export(data, &bundle, false);
    let out = t.join(format!("{marker}-opened"));
    let (ok, _, err) = open(&bundle, &[id], &out);
    assert!(ok, "{err}");
    let reports = jsonl(&out);
    let r = reports
        .iter()
        .find(|r| r["receipt"] == receipt)
        .expect("the report came through");
    assert_eq!(
        r["description"].as_str().unwrap(),
        format!("vu {marker} رأيت")
    );
    assert!(files_containing(data, marker.as_bytes()).is_empty());
}

#[test]
fn reports_travel_over_a_private_tor_network_through_arti_and_through_c_tor() {
    if !have("tor") || !have("tor-gencert") || !have("curl") {
        return skip(
            "Debian's `tor` (and curl) are not installed: the onion service was NOT tested end to end (apt-get install tor curl)",
        );
    }
    let t = tempfile::tempdir().unwrap();
    let (data, keys) = (t.path().join("data"), t.path().join("keys"));
    let id = analyst(t.path(), &keys, "a");
    let net = TorNet::start();

    // 1. arti in-process.
    let started = Instant::now();
    let server = Server::start_onion(&data, &keys, &net.arti_config());
    let onion = std::fs::read_to_string(data.join("onion-address"))
        .unwrap()
        .trim()
        .to_owned();
    assert!(onion.ends_with(".onion") && onion.len() == 62, "{onion}");
    assert!(
        server.output().contains(&onion),
        "the address is printed at start"
    );
    fetch_until_ok(
        &net.socks,
        &format!("http://{onion}/en/report/abuse-imagery"),
        Duration::from_secs(240),
    );
    eprintln!(
        "MEASURED: serve start → first page over Tor: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let marker = unique("ONIONARTI");
    let (code, over_tor) = report_over_tor(&net.socks, &onion, &marker);
    let t0 = Instant::now();
    let p = report(
        &server,
        "fr",
        "https://loopback.example.com/",
        "grooming",
        "loopback",
    );
    let over_loopback = t0.elapsed();
    assert_eq!(p.status, 200);
    eprintln!(
        "MEASURED: one report POST over Tor {:.0} ms, over loopback {:.1} ms",
        over_tor.as_secs_f64() * 1e3,
        over_loopback.as_secs_f64() * 1e3
    );
    let output = server.stop();
    assert!(
        !output.contains(&marker) && !output.contains(&code),
        "{output}"
    );
    open_and_find(t.path(), &data, &id, &marker, &code);

    // 2. Restart: same address, reachable again.
    let restarted = Instant::now();
    let server = Server::start_onion(&data, &keys, &net.arti_config());
    let again = std::fs::read_to_string(data.join("onion-address"))
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(again, onion, "the onion address survives a restart");
    fetch_until_ok(
        &net.socks,
        &format!("http://{onion}/ar/report/grooming"),
        Duration::from_secs(240),
    );
    eprintln!(
        "MEASURED: restart → reachable again: {:.1} s",
        restarted.elapsed().as_secs_f64()
    );
    drop(server);

    // 3. C tor in front, with the torrc shipped in deploy/ (which sends
    // each connection's circuit in a PROXY line: `proxy_protocol = true`).
    let cfg = t.path().join("proxy.toml");
    std::fs::write(&cfg, "proxy_protocol = true\n").unwrap();
    let server = Server::start(&data, &keys, &["--config", cfg.to_str().unwrap()]);
    let port = server.addr.rsplit(':').next().unwrap().to_owned();
    let torrc = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/torrc");
    let o = Command::new(format!("{NET}/onion-front.sh"))
        .arg(net.dir.path())
        .arg(&torrc)
        .arg(&port)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "C tor front failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let front = String::from_utf8_lossy(&o.stdout).trim().to_owned();
    assert!(front.ends_with(".onion"), "{front}");
    fetch_until_ok(
        &net.socks,
        &format!("http://{front}/en/report/sextortion"),
        Duration::from_secs(240),
    );
    let marker = unique("ONIONCTOR");
    let (code, _) = report_over_tor(&net.socks, &front, &marker);
    server.stop();
    open_and_find(t.path(), &data, &id, &marker, &code);
}

/// An arti configuration whose only directory is a dead loopback port: arti
/// starts, never bootstraps, and never contacts anything off this machine.
fn dead_end_tor_config(dir: &Path) -> PathBuf {
    let p = dir.join("dead-end-arti.toml");
    std::fs::write(
        &p,
        r#"[tor_network]
fallback_caches = [
    { rsa_identity = "0000000000000000000000000000000000000001", ed_identity = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", orports = ["127.0.0.1:9"] },
]
[tor_network.authorities]
v3idents = ["0000000000000000000000000000000000000002"]
uploads = [["127.0.0.1:9"]]
downloads = [["127.0.0.1:9"]]
votes = [["127.0.0.1:9"]]
"#,
    )
    .unwrap();
    p
}

/// Regression: with the onion service on, SIGTERM used to hang forever
/// after "stopped" (the runtime waited on an arti task), so systemd had to
/// SIGKILL. It must exit promptly, and keep its address across restarts,
/// even when Tor is unreachable.
#[test]
fn sigterm_with_the_onion_service_on_exits_promptly_and_the_address_persists() {
    let t = tempfile::tempdir().unwrap();
    let (data, keys) = (t.path().join("data"), t.path().join("keys"));
    analyst(t.path(), &keys, "a");
    let cfg = dead_end_tor_config(t.path());
    let server = Server::start_onion(&data, &keys, &cfg);
    let first = std::fs::read_to_string(data.join("onion-address")).unwrap();
    assert_eq!(
        get(&server.url("/en/")).status,
        200,
        "loopback serves while Tor is down"
    );
    let started = Instant::now();
    let out = server.stop();
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?} to stop:\n{out}",
        started.elapsed()
    );
    assert!(out.contains("salama: stopped"), "{out}");
    let server = Server::start_onion(&data, &keys, &cfg);
    assert_eq!(
        std::fs::read_to_string(data.join("onion-address")).unwrap(),
        first
    );
    server.stop();
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(data.join("tor"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o077,
        0,
        "arti's state is private to the service user"
    );
}

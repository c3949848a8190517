//! The pages in a real browser, as a reporter on Tor Browser "Safest"
//! sees them: JavaScript off, a 360 px phone and a desktop, three
//! languages, plus an axe-core accessibility audit. The browser work is
//! `tests/browser/run.mjs` (playwright-core driving Debian's chromium);
//! this test starts a real `salama serve` for it on a free loopback port
//! and keeps its screenshots in `target/browser-artifacts/`.
//!
//! Needs `/usr/bin/chromium` (apt: chromium), `node`, and
//! `(cd tests/browser && npm ci)`. Without them it prints a loud
//! `SKIPPED:` line and passes, so a developer without a browser can still
//! run `cargo test`; CI installs all three.
#![cfg(feature = "server")]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";

/// A running `salama serve`, killed when dropped (also when a test panics).
struct Server {
    child: Child,
    addr: String,
    log: mpsc::Receiver<String>,
}

impl Server {
    fn start(data: &Path, keys: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_salama"))
            .arg("serve")
            .arg("--data")
            .arg(data)
            .arg("--keys")
            .arg(keys)
            .args(["--listen", "127.0.0.1:0", "--no-onion"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn salama serve");
        let (tx, log) = mpsc::channel();
        let stderr = child.stderr.take().expect("piped stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Own the child before anything can panic, so Drop kills it.
        let mut server = Server {
            child,
            addr: String::new(),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = String::new();
        let mut ready = false;
        while !ready {
            let left = deadline.saturating_duration_since(Instant::now());
            match server.log.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix("salama: serving http://") {
                        server.addr = rest.trim_end_matches('/').to_owned();
                    }
                    ready = line == "salama: ready";
                    seen.push_str(&line);
                    seen.push('\n');
                }
                Err(_) => panic!("salama serve did not become ready in 60 s:\n{seen}"),
            }
        }
        assert!(
            !server.addr.is_empty(),
            "no `salama: serving` line:\n{seen}"
        );
        server
    }

    /// What the server printed since it became ready.
    fn drain_log(&self) -> String {
        self.log.try_iter().collect::<Vec<_>>().join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn node_works() -> bool {
    Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Why the browser test cannot run here, if it cannot.
fn missing(browser_dir: &Path) -> Option<String> {
    if !Path::new(CHROMIUM).exists() {
        return Some(format!(
            "{CHROMIUM} not found (apt-get install chromium chromium-driver)"
        ));
    }
    if !node_works() {
        return Some("node not found (apt-get install nodejs npm)".into());
    }
    if !browser_dir.join("node_modules/playwright-core").is_dir()
        || !browser_dir.join("node_modules/axe-core").is_dir()
    {
        return Some(
            "tests/browser/node_modules missing (run: (cd tests/browser && npm ci))".into(),
        );
    }
    None
}

#[test]
fn pages_in_a_real_browser_with_javascript_off() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let browser_dir = root.join("tests/browser");
    if let Some(why) = missing(&browser_dir) {
        // Straight to stderr, not `eprintln!`: the test harness captures
        // the latter for passing tests, and this must not go unseen.
        let _ = writeln!(
            std::io::stderr(),
            "\n********************************************************************\n\
             SKIPPED: browser test not run: {why}\n\
             ********************************************************************\n"
        );
        return;
    }

    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path().join("data");
    let keys = tmp.path().join("keys");
    std::fs::create_dir_all(&keys).expect("keys dir");
    // A fresh analyst key; its secret half is simply dropped: the browser
    // test only needs the server to accept and seal reports.
    let identity = age::x25519::Identity::generate();
    std::fs::write(keys.join("a.pub"), format!("{}\n", identity.to_public())).expect("write a.pub");

    let server = Server::start(&data, &keys);
    let out_dir = root.join("target/browser-artifacts");
    let _ = std::fs::remove_dir_all(&out_dir);
    std::fs::create_dir_all(&out_dir).expect("artifacts dir");

    let status = Command::new("node")
        .arg(browser_dir.join("run.mjs"))
        .arg(format!("http://{}", server.addr))
        .arg(&out_dir)
        .current_dir(&browser_dir)
        .stdin(Stdio::null())
        .status()
        .expect("run node");
    let log = server.drain_log();
    drop(server);
    assert!(
        status.success(),
        "the browser tests failed ({status}); see the FAIL lines above and the screenshots in {}\nserver said:\n{log}",
        out_dir.display()
    );
}

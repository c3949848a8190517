//! Helpers shared by the integration tests: start the real binary that
//! cargo built for them, talk HTTP to it, run its CLI.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_salama");

/// Run `salama ARGS` to completion.
pub fn salama(args: &[&str]) -> Output {
    salama_env(args, &[])
}

pub fn salama_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(BIN);
    c.args(args).stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("salama runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh analyst identity as a plain (unprotected) age identity file,
/// and its recipient written as `keys/NAME.pub`. Tests use plain files to
/// avoid scrypt's deliberate second per key; the protected path has its
/// own tests.
pub fn analyst(dir: &Path, keys: &Path, name: &str) -> PathBuf {
    use age::secrecy::ExposeSecret;
    let id = age::x25519::Identity::generate();
    let path = dir.join(format!("{name}.key"));
    std::fs::write(&path, format!("{}\n", id.to_string().expose_secret())).unwrap();
    std::fs::create_dir_all(keys).unwrap();
    std::fs::write(
        keys.join(format!("{name}.pub")),
        format!("{}\n", id.to_public()),
    )
    .unwrap();
    path
}

/// A running `salama serve`, killed when dropped.
pub struct Server {
    child: Option<Child>,
    pub addr: String,
    output: Arc<Mutex<String>>,
}

fn collect(
    r: impl Read + Send + 'static,
    sink: Arc<Mutex<String>>,
    tx: Option<std::sync::mpsc::Sender<String>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if let Some(tx) = &tx {
                let _ = tx.send(line.clone());
            }
            let mut s = sink.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
}

impl Server {
    /// `salama serve --no-onion --listen 127.0.0.1:0` plus `extra`; waits
    /// until it prints the address it is serving on.
    pub fn start(data: &Path, keys: &Path, extra: &[&str]) -> Server {
        Self::try_start(data, keys, extra)
            .unwrap_or_else(|out| panic!("server did not start:\n{out}"))
    }

    pub fn try_start(data: &Path, keys: &Path, extra: &[&str]) -> Result<Server, String> {
        let mut args = vec!["--no-onion"];
        args.extend_from_slice(extra);
        Self::try_start_raw(data, keys, &args)
    }

    /// With the in-process onion service, on the Tor network `tor_config` describes.
    pub fn start_onion(data: &Path, keys: &Path, tor_config: &Path) -> Server {
        Self::try_start_raw(data, keys, &["--tor-config", tor_config.to_str().unwrap()])
            .unwrap_or_else(|out| panic!("server did not start:\n{out}"))
    }

    fn try_start_raw(data: &Path, keys: &Path, extra: &[&str]) -> Result<Server, String> {
        let mut child = Command::new(BIN)
            .arg("serve")
            .arg("--data")
            .arg(data)
            .arg("--keys")
            .arg(keys)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn salama serve");
        let output = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        collect(child.stderr.take().unwrap(), output.clone(), Some(tx));
        collect(child.stdout.take().unwrap(), output.clone(), None);
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut addr = None;
        while Instant::now() < deadline {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix("salama: serving http://") {
                        addr = Some(rest.trim_end_matches('/').to_owned());
                    }
                    if line == "salama: ready" {
                        break;
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    if let Ok(Some(_)) = child.try_wait() {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        match addr {
            Some(addr) if child.try_wait().map(|s| s.is_none()).unwrap_or(false) => Ok(Server {
                child: Some(child),
                addr,
                output,
            }),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(100));
                Err(output.lock().unwrap().clone())
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Everything the server printed so far.
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// SIGTERM and wait: the graceful path.
    pub fn stop(mut self) -> String {
        let mut child = self.child.take().unwrap();
        // A server that does not stop is a bug to report, not a test to hang.
        if terminate(&mut child, Duration::from_secs(30)).is_none() {
            self.output
                .lock()
                .unwrap()
                .push_str("TEST: did not stop within 30 s of SIGTERM; killed\n");
        }
        std::thread::sleep(Duration::from_millis(100));
        self.output()
    }
}

impl Server {
    /// SIGKILL and wait: the crash path.
    pub fn kill(mut self) -> String {
        let mut child = self.child.take().unwrap();
        let _ = child.kill();
        let _ = child.wait();
        self.output()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(60)))
            .build(),
    )
}

pub use crate::rawhttp::Page;

fn page(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Page {
    let r = r.expect("HTTP exchange");
    let status = r.status().as_u16();
    let headers = r
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let body = r.into_body().read_to_string().unwrap_or_default();
    Page {
        status,
        headers,
        body,
    }
}

pub fn get(url: &str) -> Page {
    page(agent().get(url).call())
}

/// POST a form as a browser would (urlencoded, UTF-8).
pub fn post_form(url: &str, fields: &[(&str, &str)]) -> Page {
    page(agent().post(url).send_form(fields.iter().copied()))
}

/// POST a report to the form of its harm, `/{lang}/report/{category}`,
/// as that form sends it; returns the page. Images and other harm say
/// where they were seen; grooming and sextortion give the platform.
pub fn report(server: &Server, lang: &str, urls: &str, category: &str, description: &str) -> Page {
    let context = match category {
        "grooming" | "sextortion" => ("platform", "other"),
        _ => ("where_seen", "website"),
    };
    post_form(
        &server.url(&format!("/{lang}/report/{category}")),
        &[("urls", urls), context, ("description", description)],
    )
}

/// The receipt code on a thank-you page.
pub fn receipt(page: &Page) -> String {
    let start = page
        .body
        .find("id=\"receipt\"")
        .expect("thank-you page has a receipt element");
    let rest = &page.body[start..];
    let open = rest.find('>').unwrap() + 1;
    let close = rest.find('<').unwrap();
    rest[open..close].to_owned()
}

/// `salama status --json`, while it reports nothing wrong.
pub fn status(data: &Path) -> serde_json::Value {
    let o = salama(&["status", "--data", data.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap()
}

/// `salama export`; returns the digest it printed.
pub fn export(data: &Path, out: &Path, all: bool) -> String {
    let mut args = vec![
        "export",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    if all {
        args.push("--all");
    }
    let o = salama(&args);
    assert!(o.status.success(), "export failed: {}", stderr(&o));
    stdout(&o)
}

/// `salama open` with identity files; returns (success, digest-or-empty, stderr).
pub fn open(bundle: &Path, identities: &[&Path], out: &Path) -> (bool, String, String) {
    let mut args = vec!["open".to_owned(), bundle.to_str().unwrap().to_owned()];
    for i in identities {
        args.push("-i".into());
        args.push(i.to_str().unwrap().into());
    }
    args.push("--out".into());
    args.push(out.to_str().unwrap().into());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = salama(&refs);
    (o.status.success(), stdout(&o), stderr(&o))
}

/// `salama open BUNDLE -i IDENTITY --out OUT` with `SALAMA_PASSPHRASE` set,
/// for a passphrase-protected identity file.
pub fn open_with_passphrase(bundle: &Path, identity: &Path, out: &Path, pass: &str) -> Output {
    salama_env(
        &[
            "open",
            bundle.to_str().unwrap(),
            "-i",
            identity.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[("SALAMA_PASSPHRASE", pass)],
    )
}

/// A frozen vector directory (`tests/vectors/*/`): `bundle.tar` opens with
/// `identity.txt` and with `identity.age` (passphrase `salama test
/// vector`) to exactly `expected.jsonl`, under the digest in `digest`.
/// Returns the expected reports.
pub fn assert_frozen_bundle_opens(dir: &Path) -> Vec<serde_json::Value> {
    let t = tempfile::tempdir().unwrap();
    let expected: Vec<serde_json::Value> = std::fs::read_to_string(dir.join("expected.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let digest = std::fs::read_to_string(dir.join("digest")).unwrap();
    let out = t.path().join("plain");
    let (ok, d, err) = open(&dir.join("bundle.tar"), &[&dir.join("identity.txt")], &out);
    assert!(ok, "{err}");
    assert_eq!(d, digest.trim());
    assert_eq!(jsonl(&out), expected);
    let out = t.path().join("protected");
    let bundle = dir.join("bundle.tar");
    let o = open_with_passphrase(
        &bundle,
        &dir.join("identity.age"),
        &out,
        "salama test vector",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(jsonl(&out), expected);
    expected
}

/// The reports of an opened bundle.
pub fn jsonl(out: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(out.join("reports.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(p),
                Ok(t) if t.is_file() => out.push(p),
                _ => {}
            }
        }
    }
    out
}

/// Files under `dir` containing `needle` (raw bytes).
pub fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|p| {
            std::fs::read(p)
                .map(|b| b.windows(needle.len()).any(|w| w == needle))
                .unwrap_or(false)
        })
        .collect()
}

/// Is a command available? Tests that need Debian's tools skip loudly
/// when it is not (`.ci/run` installs them).
pub fn have(cmd: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {cmd}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

pub fn skip(why: &str) {
    eprintln!("\n!!!!!!!!!! SKIPPED: {why} !!!!!!!!!!\n");
}

pub fn unique(tag: &str) -> String {
    let mut b = [0u8; 6];
    getrandom::fill(&mut b).unwrap();
    format!(
        "{tag}{}",
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    )
}

/// Send `child` SIGTERM (as systemd or `kill` would) and wait up to
/// `within` for it to end by itself: its exit status, or `None` if it had
/// to be killed (and was reaped) after all.
pub fn terminate(child: &mut Child, within: Duration) -> Option<std::process::ExitStatus> {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if let Ok(Some(status)) = child.try_wait() {
        return Some(status);
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

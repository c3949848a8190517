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

/// Run `salama ARGS` (with the test passphrase); panic with its stderr on failure.
fn salama(args: &[&std::ffi::OsStr]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_salama"))
        .args(args)
        .env("SALAMA_PASSPHRASE", PASS)
        .stdin(Stdio::null())
        .output()
        .expect("run salama");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "salama {args:?} failed:\n{err}");
    String::from_utf8_lossy(&o.stdout).into_owned() + &err
}

const PASS: &str = "a passphrase long enough for the browser test";

/// `node followup.mjs ARGS…`; its stdout, after it passed.
fn followup_mjs(browser_dir: &Path, args: &[&str]) -> String {
    let o = Command::new("node")
        .arg(browser_dir.join("followup.mjs"))
        .args(args)
        .current_dir(browser_dir)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .expect("run node");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    print!("{out}");
    assert!(
        o.status.success(),
        "followup.mjs {} failed ({}); see the FAIL lines above",
        args[0],
        o.status
    );
    out
}

/// The whole follow-up loop as people do it: a sextortion report in
/// Arabic in the browser; the operator exports, the analyst opens it,
/// writes an answer (a canned reply and their own words) and makes the
/// signed file with `salama answer`; the operator imports it while the
/// service runs; in the browser with JavaScript off the reporter types the
/// receipt, reads the answer in Arabic, right to left, and adds
/// information; the next export opens with the addition beside the report.
#[test]
fn the_follow_up_loop_in_a_real_browser_with_javascript_off() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let browser_dir = root.join("tests/browser");
    if let Some(why) = missing(&browser_dir) {
        let _ = writeln!(
            std::io::stderr(),
            "\n********************************************************************\n\
             SKIPPED: follow-up browser test not run: {why}\n\
             ********************************************************************\n"
        );
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let p = |name: &str| tmp.path().join(name);
    let data = p("data");
    let keys = p("keys");
    std::fs::create_dir_all(keys.join("signers")).expect("keys dir");
    let id = p("analyst.key");
    salama(&["keygen".as_ref(), "--out".as_ref(), id.as_os_str()]);
    std::fs::copy(p("analyst.key.pub"), keys.join("analyst.pub")).expect("copy .pub");
    std::fs::copy(p("analyst.key.sign.pub"), keys.join("signers/analyst.pub"))
        .expect("copy .sign.pub");
    let server = Server::start(&data, &keys);
    let base = format!("http://{}", server.addr);
    let out_dir = root.join("target/browser-artifacts");
    std::fs::create_dir_all(&out_dir).expect("artifacts dir");
    let out = out_dir.to_str().unwrap();

    // 1. The report, in the browser.
    let said = followup_mjs(&browser_dir, &["report", &base, out]);
    let receipt = said
        .lines()
        .find_map(|l| l.strip_prefix("RECEIPT "))
        .expect("followup.mjs printed the receipt")
        .trim()
        .to_owned();

    // 2. The operator exports; the analyst opens, answers, signs.
    let bundle = p("b1.tar");
    salama(&[
        "export".as_ref(),
        "--data".as_ref(),
        data.as_os_str(),
        "--out".as_ref(),
        bundle.as_os_str(),
    ]);
    let opened = p("opened1");
    salama(&[
        "open".as_ref(),
        bundle.as_os_str(),
        "-i".as_ref(),
        id.as_os_str(),
        "--out".as_ref(),
        opened.as_os_str(),
    ]);
    let reports = std::fs::read_to_string(opened.join("reports.jsonl")).expect("reports.jsonl");
    assert!(
        reports.contains(&format!("\"receipt\":\"{receipt}\"")),
        "{reports}"
    );
    let words = "لا تدفع شيئًا. <b>لست وحدك</b>، ونحن نتابع الحساب.";
    std::fs::write(
        p("answers.csv"),
        format!("receipt,status,reply,text\n{receipt},action-taken,removed,{words}\n"),
    )
    .expect("write csv");
    let file = p("answers");
    salama(&[
        "answer".as_ref(),
        p("answers.csv").as_os_str(),
        "--key".as_ref(),
        p("analyst.key.sign").as_os_str(),
        "--bundle".as_ref(),
        bundle.as_os_str(),
        "--out".as_ref(),
        file.as_os_str(),
    ]);
    // 3. Imported while serving.
    let imported = salama(&[
        "answers".as_ref(),
        "import".as_ref(),
        file.as_os_str(),
        "--data".as_ref(),
        data.as_os_str(),
    ]);
    assert!(imported.contains("1 new"), "{imported}");

    // 4. The reporter, in the browser.
    followup_mjs(&browser_dir, &["answer", &base, out, &receipt, words]);

    // 5. The addition opens beside the report: both bundles, one triage set.
    let first = bundle;
    let bundle = p("b2.tar");
    salama(&[
        "export".as_ref(),
        "--data".as_ref(),
        data.as_os_str(),
        "--out".as_ref(),
        bundle.as_os_str(),
    ]);
    let opened = p("opened2");
    salama(&[
        "open".as_ref(),
        first.as_os_str(),
        bundle.as_os_str(),
        "-i".as_ref(),
        id.as_os_str(),
        "--out".as_ref(),
        opened.as_os_str(),
    ]);
    let additions = std::fs::read_to_string(opened.join("reports.jsonl")).expect("reports.jsonl");
    let addition: serde_json::Value = additions
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json"))
        .find(|d| d["kind"] == "addition")
        .expect("the addition is in the second bundle");
    assert_eq!(addition["receipt"], receipt.as_str());
    assert_eq!(addition["language"], "ar");
    assert_eq!(addition["accounts"][0], "@حساب_آخر_99");
    let index = std::fs::read_to_string(opened.join("index.html")).expect("index.html");
    let reports = &index[index.find(">Reports</h2>").expect("a Reports section")..];
    let (report_at, addition_at) = (
        reports.find(&receipt).expect("the report"),
        reports.find("@حساب_آخر_99").expect("the addition"),
    );
    assert!(report_at < addition_at);
    let between = &reports[report_at..addition_at];
    assert!(between.contains("class=\"addition\"") && !between.contains("</article>"));
    let log = server.drain_log();
    drop(server);
    assert!(
        !log.contains(&receipt),
        "the receipt reached the server's output"
    );
}

/// A running `salama desk`, killed when dropped; `url` is the address it
/// printed (`http://127.0.0.1:PORT/SECRET/en/`).
struct Desk {
    child: Child,
    url: String,
}

impl Desk {
    fn start(ledger: &Path, identity: &Path, exports: &Path, signer: &Path) -> Desk {
        let mut child = Command::new(env!("CARGO_BIN_EXE_salama"))
            .arg("desk")
            .arg("--ledger")
            .arg(ledger)
            .arg("-i")
            .arg(identity)
            .arg("--exports")
            .arg(exports)
            .arg("--signing-key")
            .arg(signer)
            .args(["--analyst", "amina"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn salama desk");
        let mut line = String::new();
        let read = BufReader::new(child.stdout.take().expect("piped stdout")).read_line(&mut line);
        let desk = Desk {
            child,
            url: line.trim().to_owned(),
        };
        assert!(
            read.is_ok() && desk.url.starts_with("http://127.0.0.1:"),
            "salama desk printed {line:?}"
        );
        desk
    }
}

impl Drop for Desk {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `node desk.mjs ARGS…`; its stdout, after it passed.
fn desk_mjs(browser_dir: &Path, args: &[&str]) -> String {
    let o = Command::new("node")
        .arg(browser_dir.join("desk.mjs"))
        .args(args)
        .current_dir(browser_dir)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .expect("run node");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    print!("{out}");
    assert!(
        o.status.success(),
        "desk.mjs {} failed ({}); see the FAIL lines above",
        args[0],
        o.status
    );
    out
}

/// The analyst's desk as a new analyst uses it, in chromium with
/// JavaScript off: reports filed to a running server in Arabic, French and
/// English, exported as three bundles; the first two (sharing a URL)
/// imported from the desk's page, the URL assessed once through the form,
/// the reporter answered; the third bundle names the URL again and it is
/// shown as already assessed; the exports hold what was entered; after a
/// restart everything is still there; without the secret, nothing; every
/// page in ar (right to left), fr and en passes axe. `desk.mjs` does the
/// browser part; this test makes the bundles and reads the files.
#[test]
fn the_desk_in_a_real_browser_with_javascript_off() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let browser_dir = root.join("tests/browser");
    if let Some(why) = missing(&browser_dir) {
        let _ = writeln!(
            std::io::stderr(),
            "\n********************************************************************\n\
             SKIPPED: desk browser test not run: {why}\n\
             ********************************************************************\n"
        );
        return;
    }
    use age::secrecy::ExposeSecret;
    let tmp = tempfile::tempdir().expect("temp dir");
    let p = |name: &str| tmp.path().join(name);
    let keys = p("keys");
    std::fs::create_dir_all(&keys).expect("keys dir");
    let id = age::x25519::Identity::generate();
    std::fs::write(
        p("amina.key"),
        format!("{}\n", id.to_string().expose_secret()),
    )
    .expect("write amina.key");
    std::fs::write(keys.join("amina.pub"), format!("{}\n", id.to_public())).expect("write .pub");
    let vectors = root.join("tests/vectors/answers-v1");
    std::fs::copy(vectors.join("signer.key"), p("amina.key.sign")).expect("copy signer.key");
    let data = p("data");
    let server = Server::start(&data, &keys);

    // The same words as in desk.mjs, which looks for them.
    const SHARED: &str = "https://shared.example.com/album/7";
    let canary = format!("CANARY{}", std::process::id());
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build(),
    );
    let mut receipts = Vec::new();
    let mut file = |lang: &str, urls: &str, words: &str, bundle: &str| {
        let mut r = agent
            .post(&format!(
                "http://{}/{lang}/report/abuse-imagery",
                server.addr
            ))
            .send_form([
                ("urls", urls),
                ("where_seen", "website"),
                ("description", &format!("{words} {canary}")),
            ])
            .expect("POST a report");
        let body = r.body_mut().read_to_string().expect("thank-you page");
        assert_eq!(r.status().as_u16(), 200, "{body}");
        let rest = &body[body.find("id=\"receipt\"").expect("a receipt")..];
        receipts.push(rest[rest.find('>').unwrap() + 1..rest.find('<').unwrap()].to_owned());
        salama(&[
            "export".as_ref(),
            "--data".as_ref(),
            data.as_os_str(),
            "--out".as_ref(),
            p(bundle).as_os_str(),
        ]);
    };
    file(
        "ar",
        &format!("{SHARED}\nhttps://only-ar.example.com/x"),
        "رأيت هذا الألبوم",
        "one.tar",
    );
    file("fr", SHARED, "vu cet album", "two.tar");
    file(
        "en",
        &format!("{SHARED}\nhttps://new.example.com/"),
        "again",
        "three.tar",
    );
    let log = server.drain_log();
    drop(server);

    let out_dir = root.join("target/browser-artifacts");
    std::fs::create_dir_all(&out_dir).expect("artifacts dir");
    let out = out_dir.to_str().unwrap();
    let (ledger, exports, signer) = (p("ledger"), p("exports"), p("amina.key.sign"));
    let desk = Desk::start(&ledger, &p("amina.key"), &exports, &signer);
    let b = |n: &str| p(n).to_str().unwrap().to_owned();
    let said = desk_mjs(
        &browser_dir,
        &[
            "work",
            &desk.url,
            out,
            &b("one.tar"),
            &b("two.tar"),
            &b("three.tar"),
        ],
    );

    // The exports the page listed hold what was entered in the form.
    let listed: Vec<&str> = said
        .lines()
        .filter_map(|l| l.strip_prefix("EXPORT "))
        .collect();
    let find = |prefix: &str| {
        let name = listed
            .iter()
            .find(|f| {
                Path::new(f)
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(prefix))
            })
            .unwrap_or_else(|| panic!("no {prefix} export listed"));
        let path = exports.join(Path::new(name).file_name().unwrap());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{}", path.display());
        path
    };
    let mut iccam = csv::Reader::from_path(find("iccam-")).expect("iccam csv");
    let head: Vec<String> = iccam.headers().unwrap().iter().map(str::to_owned).collect();
    let rows: Vec<csv::StringRecord> = iccam.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1, "one URL was assessed illegal");
    let cell = |name: &str| &rows[0][head.iter().position(|h| h == name).expect(name)];
    for (name, want) in [
        ("Url", SHARED),
        ("ClassificationID", "Baseline"),
        ("SiteTypeID", "Image Board"),
        ("ContentTypeID", "Images"),
        ("AgeGroupID", "Pre-pubescent"),
        ("GenderID", "Female"),
        ("IsVirtual", "0"),
        ("IsChildModeling", "0"),
        ("IsUserGC", "1"),
        ("HostingCountry", "NL"),
        ("IWFCategory", "A"),
        ("Memo", "'=HYPERLINK(\"x\") <b>note</b>"),
    ] {
        assert_eq!(cell(name), want, "ICCAM column {name}");
    }
    assert!(rows[0].iter().any(|c| c == "amina"), "{:?}", rows[0]);
    assert!(
        rows[0].iter().any(|c| c == "3"),
        "three reports: {:?}",
        rows[0]
    );
    let by_host = std::fs::read_to_string(find("by-host-")).unwrap();
    assert!(
        by_host.contains(&format!(
            "shared.example.com,NL,1,{SHARED},Baseline,Image Board"
        )),
        "{by_host}"
    );
    let jsonl = std::fs::read_to_string(find("ledger-")).unwrap();
    let lines: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.iter().filter(|l| l["type"] == "report").count(), 3);
    assert!(jsonl.contains(&canary) && jsonl.contains("شكرا، أزيل المحتوى."));
    // The answers file: signed, one answer, for the Arabic reporter.
    let answers = std::fs::read(find("answers-")).unwrap();
    let signers = salama::keys::signing::Signers::new(vec![
        salama::keys::signing::SignerKey::parse(
            std::fs::read_to_string(vectors.join("signer.pub"))
                .unwrap()
                .trim(),
        )
        .unwrap(),
    ]);
    let salt = salama::answers::Salt::parse_hex(
        std::fs::read_to_string(data.join("follow-up.salt"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    let v = salama::answers::read_file(&answers, &signers, &salt).expect("a valid answers file");
    assert_eq!(v.entries.len(), 1);
    let derived = salama::answers::kdf::derive(
        &salama::receipt::Receipt::parse(&receipts[0]).unwrap(),
        &salt,
    );
    let a = v.entries[0]
        .1
        .open(&derived)
        .expect("the Arabic reporter's answer");
    assert_eq!(
        (a.status().id(), a.reply().map(|r| r.id()), a.text()),
        ("action-taken", Some("removed"), "شكرا، أزيل المحتوى.")
    );

    // Restart: a new secret, everything still there (desk.mjs again).
    let old = desk.url.clone();
    drop(desk);
    let desk = Desk::start(&ledger, &p("amina.key"), &exports, &signer);
    assert_ne!(desk.url, old, "a restarted desk has a new secret");
    desk_mjs(&browser_dir, &["again", &desk.url, out]);
    drop(desk);

    // The ledger's files hold no plaintext.
    let mut files = Vec::new();
    let mut dirs = vec![ledger.clone()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).expect("ledger dir") {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    assert!(files.iter().any(|f| f.ends_with("ledger.age")), "{files:?}");
    for path in files {
        let bytes = std::fs::read(&path).expect("read a ledger file");
        for needle in [
            canary.as_bytes(),
            b"shared.example.com".as_slice(),
            receipts[0].as_bytes(),
            "رأيت".as_bytes(),
        ] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{} holds {}",
                path.display(),
                String::from_utf8_lossy(needle)
            );
        }
    }
    assert!(!log.contains(&canary), "the server printed a report");
}

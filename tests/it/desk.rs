//! The analyst's desk (`salama desk`), driven as an analyst would: reports
//! sent to a running server in three languages, exported as bundles,
//! imported into the desk through its page, assessed, exported, the desk
//! restarted and killed; its ledger searched for plaintext.

use crate::util::*;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `salama desk`, killed when dropped.
struct Desk {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT/SECRET/en/`
    url: String,
}

impl Desk {
    fn start(ledger: &Path, identity: &Path, exports: &Path, extra: &[&str]) -> Desk {
        let mut child = Command::new(BIN)
            .arg("desk")
            .arg("--ledger")
            .arg(ledger)
            .arg("-i")
            .arg(identity)
            .arg("--exports")
            .arg(exports)
            .args(["--analyst", "amina"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn salama desk");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.trim().to_owned();
        assert!(url.starts_with("http://127.0.0.1:"), "desk printed {url:?}");
        Desk {
            child: Some(child),
            url,
        }
    }

    /// The page at `rest` below the language (`""`: the queue).
    fn at(&self, rest: &str) -> String {
        format!("{}{rest}", self.url)
    }

    fn kill(mut self) {
        let mut c = self.child.take().unwrap();
        c.kill().unwrap();
        c.wait().unwrap();
    }

    /// Stop it as systemd or `kill` would (SIGTERM) and wait: it must end
    /// by itself, cleanly.
    fn terminate(mut self) {
        let mut c = self.child.take().unwrap();
        match terminate(&mut c, Duration::from_secs(10)) {
            Some(status) => assert!(status.success(), "the desk ended on SIGTERM with {status}"),
            None => panic!("the desk did not stop on SIGTERM"),
        }
    }
}

impl Drop for Desk {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The id in the queue's "Assess" link of the row holding `url`.
fn url_id(queue: &str, url: &str) -> Option<String> {
    let row = queue
        .split("<tr>")
        .find(|r| r.contains(&format!(">{url}<")))?;
    let at = row.find("/url/")? + 5;
    Some(row[at..at + 20].to_owned())
}

/// The id of the first "Answer the reporter" link on a page.
fn report_id(page: &str) -> String {
    let at = page.find("/report/").expect("a report link") + 8;
    page[at..at + 20].to_owned()
}

fn full_assessment(note: &str) -> Vec<(&'static str, String)> {
    vec![
        ("classification", "baseline".into()),
        ("site-type", "image-board".into()),
        ("content-type", "images".into()),
        ("age-group", "pre-pubescent".into()),
        ("gender", "female".into()),
        ("user-generated", "1".into()),
        ("hosting-country", "nl".into()),
        ("iwf-category", "a".into()),
        ("note", note.into()),
    ]
}

fn post(url: &str, fields: &[(&str, String)]) -> Page {
    let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    post_form(url, &f)
}

struct Setup {
    _tmp: tempfile::TempDir,
    data: PathBuf,
    identity: PathBuf,
    ledger: PathBuf,
    exports: PathBuf,
    bundles: PathBuf,
    server: Server,
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let keys = tmp.path().join("keys");
    let identity = analyst(tmp.path(), &keys, "amina");
    let data = tmp.path().join("data");
    let server = Server::start(&data, &keys, &[]);
    let bundles = tmp.path().join("bundles");
    std::fs::create_dir_all(&bundles).unwrap();
    Setup {
        ledger: tmp.path().join("ledger"),
        exports: tmp.path().join("exports"),
        data,
        identity,
        bundles,
        server,
        _tmp: tmp,
    }
}

/// The digest `salama open` prints for a bundle.
fn export_digest(b: &Path) -> String {
    let bytes = std::fs::read(b).unwrap();
    let mut a = tar::Archive::new(&bytes[..]);
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().to_str() == Some("manifest.json") {
            let mut m = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut m).unwrap();
            return salama::bundle::BundleDigest::of(&m).to_string();
        }
    }
    panic!("no manifest")
}

impl Setup {
    fn export(&self, name: &str) -> PathBuf {
        let out = self.bundles.join(name);
        export(&self.data, &out, false);
        out
    }
}

#[test]
fn desk_end_to_end_import_assess_reimport_export_restart() {
    let s = setup();
    let canary = unique("CANARY");
    let shared = "https://shared.example.com/album/7";
    let r1 = report(
        &s.server,
        "ar",
        &format!("{shared}\nhttps://only-ar.example.com/x"),
        "abuse-imagery",
        &format!("رأيت هذا {canary}"),
    );
    assert_eq!(r1.status, 200, "{}", r1.body);
    let receipt1 = receipt(&r1);
    let b1 = s.export("one.tar");
    let r2 = report(
        &s.server,
        "fr",
        shared,
        "abuse-imagery",
        &format!("vu {canary}"),
    );
    assert_eq!(r2.status, 200);
    let b2 = s.export("two.tar");

    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/answers-v1");
    let sign = s._tmp.path().join("amina.key.sign");
    std::fs::copy(vectors.join("signer.key"), &sign).unwrap();
    let desk = Desk::start(
        &s.ledger,
        &s.identity,
        &s.exports,
        &["--signing-key", sign.to_str().unwrap()],
    );
    for b in [&b1, &b2] {
        let p = post_form(&desk.at("import"), &[("path", b.to_str().unwrap())]);
        assert_eq!(p.status, 200);
        assert!(p.body.contains("Imported"), "{}", p.body);
    }
    // The same bundle again is recognised, not imported twice.
    let again = post_form(&desk.at("import"), &[("path", b1.to_str().unwrap())]);
    assert!(again.body.contains("already imported"), "{}", again.body);

    // The shared URL is in the queue once, with both reports, first.
    let q = get(&desk.at(""));
    assert_eq!(q.status, 200);
    assert_eq!(
        q.header("content-security-policy")
            .map(|c| c.contains("default-src 'none'")),
        Some(true)
    );
    assert_eq!(
        q.body.matches(&format!(">{shared}<")).count(),
        1,
        "{}",
        q.body
    );
    assert!(!q.body.contains("<script"));
    assert!(
        !q.body.contains(&format!("href=\"{shared}")),
        "URLs are never links"
    );
    let first_row = q.body.split("<tbody>").nth(1).unwrap();
    assert!(
        first_row.starts_with(&format!(
            "<tr><td>2</td><td><code class=\"url\" dir=\"ltr\">{shared}<"
        )),
        "{first_row}"
    );
    let id = url_id(&q.body, shared).unwrap();
    let page = get(&desk.at(&format!("url/{id}")));
    assert!(
        page.body.contains("رأيت هذا") && page.body.contains("vu "),
        "both reports shown"
    );

    // A form with a problem keeps what was typed and saves nothing.
    let mut bad = full_assessment("=HYPERLINK(\"x\")");
    bad.retain(|(k, _)| *k != "gender");
    let p = post(&desk.at(&format!("url/{id}")), &bad);
    assert_eq!(p.status, 422);
    assert!(
        p.body.contains("=HYPERLINK(&quot;x&quot;)") && p.body.contains("href=\"#gender\""),
        "{}",
        p.body
    );
    let p = post(
        &desk.at(&format!("url/{id}")),
        &full_assessment("=HYPERLINK(\"x\")"),
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let q = get(&desk.at(""));
    assert!(
        !q.body.contains(&format!(">{shared}<")),
        "an assessed URL leaves the queue"
    );

    // Answer the Arabic reporter.
    let page = get(&desk.at(&format!("url/{id}")));
    let rid = report_id(&page.body);
    let p = post(
        &desk.at(&format!("report/{rid}")),
        &[
            ("status", "action-taken".into()),
            ("reply", "removed".into()),
            ("text", "شكرا".into()),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);

    // A third bundle names it again: shown as already assessed, not queued.
    report(
        &s.server,
        "en",
        &format!("{shared}\nhttps://new.example.com/"),
        "abuse-imagery",
        "again",
    );
    let b3 = s.export("three.tar");
    let p = post_form(&desk.at("import"), &[("path", b3.to_str().unwrap())]);
    assert!(
        p.body.contains("Already assessed on") && p.body.contains(&format!(">{shared}<")),
        "{}",
        p.body
    );
    let q = get(&desk.at(""));
    assert!(!q.body.contains(&format!(">{shared}<")));
    assert!(q.body.contains(">https://new.example.com/<"));
    let q = get(&desk.at("?status=reported-again"));
    assert!(
        q.body.contains(&format!(">{shared}<")) && q.body.contains("Already assessed on"),
        "{}",
        q.body
    );
    let q = get(&desk.at("?status=unassessed&language=ar"));
    assert!(
        q.body.contains(">https://only-ar.example.com/x<") && !q.body.contains("new.example.com")
    );

    // Exports match what was entered; CSV cells are neutralised.
    let p = post_form(&desk.at("export"), &[]);
    assert_eq!(p.status, 200);
    let find = |prefix: &str| {
        files_under(&s.exports)
            .into_iter()
            .find(|f| f.file_name().unwrap().to_str().unwrap().starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} export"))
    };
    let iccam = find("iccam-");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&iccam).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let mut rows = csv::Reader::from_path(&iccam).unwrap();
    let head: Vec<String> = rows.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(
        &head[..12],
        [
            "Url",
            "ClassificationID",
            "SiteTypeID",
            "ContentTypeID",
            "AgeGroupID",
            "GenderID",
            "IsVirtual",
            "IsChildModeling",
            "IsUserGC",
            "HostingCountry",
            "IWFCategory",
            "Memo"
        ]
    );
    let rows: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        &rows[0].iter().take(14).collect::<Vec<_>>(),
        &[
            shared,
            "Baseline",
            "Image Board",
            "Images",
            "Pre-pubescent",
            "Female",
            "0",
            "0",
            "1",
            "NL",
            "A",
            "'=HYPERLINK(\"x\")",
            &salama::desk::today(),
            "amina"
        ]
    );
    assert_eq!(&rows[0][14], "3");
    let by_host = std::fs::read_to_string(find("by-host-")).unwrap();
    assert!(
        by_host.contains(
            "shared.example.com,NL,1,https://shared.example.com/album/7,Baseline,Image Board"
        ),
        "{by_host}"
    );
    let jsonl = std::fs::read_to_string(find("ledger-")).unwrap();
    assert_eq!(
        jsonl
            .lines()
            .filter(|l| l.contains("\"type\":\"report\""))
            .count(),
        3
    );
    assert!(jsonl.contains(&canary));
    // The answers file: signed by the analyst's key, for the server's salt.
    let answers = std::fs::read(find("answers-")).unwrap();
    let signer = salama::keys::signing::SignerKey::parse(
        std::fs::read_to_string(vectors.join("signer.pub"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    let salt = salama::answers::Salt::parse_hex(
        std::fs::read_to_string(s.data.join("follow-up.salt"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    let v = salama::answers::read_file(
        &answers,
        &salama::keys::signing::Signers::new(vec![signer]),
        &salt,
    )
    .unwrap();
    assert_eq!(v.entries.len(), 1);
    let derived =
        salama::answers::kdf::derive(&salama::receipt::Receipt::parse(&receipt1).unwrap(), &salt);
    let a = v.entries[0].1.open(&derived).unwrap();
    assert_eq!(
        (a.status().id(), a.reply().map(|r| r.id()), a.text()),
        ("action-taken", Some("removed"), "شكرا")
    );
    desk.terminate();

    // Restart: everything is still there.
    let desk = Desk::start(&s.ledger, &s.identity, &s.exports, &[]);
    let q = get(&desk.at("?status=assessed"));
    assert!(
        q.body.contains(&format!(">{shared}<"))
            && q.body.contains("as Baseline (illegal everywhere) by amina"),
        "{}",
        q.body
    );
    let page = get(&desk.at(&format!("report/{rid}")));
    assert!(
        page.body.contains("value=\"action-taken\" checked") && page.body.contains("شكرا"),
        "{}",
        page.body
    );
    assert!(page.body.contains(&receipt1) || page.body.contains("رأيت هذا"));

    // The ledger's files hold no plaintext: no canary, no URL, no receipt.
    for needle in [
        canary.as_bytes(),
        b"shared.example.com",
        receipt1.as_bytes(),
        "رأيت".as_bytes(),
    ] {
        assert!(
            files_containing(&s.ledger, needle).is_empty(),
            "{}",
            String::from_utf8_lossy(needle)
        );
    }

    // Nobody without the secret gets anything; no other Host is served.
    let base = desk.url.split('/').take(3).collect::<Vec<_>>().join("/");
    for path in ["/", "/en/", "/0123456789abcdef0123456789abcdef/en/"] {
        let p = get(&format!("{base}{path}"));
        assert_eq!(p.status, 404, "{path}");
        assert!(!p.body.contains("example.com"));
    }
    let p = post_form(
        &format!("{base}/x/en/import"),
        &[("path", b1.to_str().unwrap())],
    );
    assert_eq!(p.status, 404);
    let port = base.rsplit(':').next().unwrap();
    let path = desk.url.split_once(port).unwrap().1;
    let mut c = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    use std::io::{Read, Write};
    write!(
        c,
        "GET {path} HTTP/1.1\r\nHost: evil.example.com:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    c.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 421"), "{reply}");
    assert!(!reply.contains("Queue"));
}

#[test]
fn desk_sigkill_loses_nothing_confirmed() {
    let s = setup();
    report(
        &s.server,
        "ar",
        "https://kill.example.com/a",
        "abuse-imagery",
        "one",
    );
    let b1 = s.export("one.tar");
    // A bundle imported from the command line is confirmed when it exits.
    let o = salama(&[
        "desk",
        "--ledger",
        s.ledger.to_str().unwrap(),
        "-i",
        s.identity.to_str().unwrap(),
        "import",
        b1.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for round in 0..3 {
        let desk = Desk::start(&s.ledger, &s.identity, &s.exports, &[]);
        let q = get(&desk.at("?status=all"));
        let id = url_id(&q.body, "https://kill.example.com/a").expect("imported before the kill");
        let note = format!("round {round}");
        let p = post(&desk.at(&format!("url/{id}")), &full_assessment(&note));
        assert_eq!(p.status, 303);
        // Confirmed on screen; killed at once.
        desk.kill();
        let desk = Desk::start(&s.ledger, &s.identity, &s.exports, &[]);
        let page = get(&desk.at(&format!("url/{id}")));
        assert!(
            page.body.contains(&format!(">{note}<")),
            "round {round}: {}",
            page.body
        );
        desk.kill();
    }
    // Killed in the middle of imports: afterwards every bundle is either
    // whole or absent, and the ledger opens.
    for i in 0..3 {
        report(
            &s.server,
            "fr",
            &format!("https://k{i}.example.com/"),
            "abuse-imagery",
            "x",
        );
    }
    let b2 = s.export("two.tar");
    for delay in [0u64, 5, 20, 60] {
        let desk = Desk::start(&s.ledger, &s.identity, &s.exports, &[]);
        let url = desk.at("import");
        let path = b2.to_str().unwrap().to_owned();
        let t = std::thread::spawn(move || {
            let _ = agent().post(&url).send_form([("path", path.as_str())]);
        });
        std::thread::sleep(Duration::from_millis(delay));
        desk.kill();
        let _ = t.join();
        let desk = Desk::start(&s.ledger, &s.identity, &s.exports, &[]);
        let q = get(&desk.at("?status=all"));
        let n = (0..3)
            .filter(|i| q.body.contains(&format!(">https://k{i}.example.com/<")))
            .count();
        assert!(n == 0 || n == 3, "half a bundle after a kill at {delay} ms");
        desk.kill();
    }
}

#[test]
fn desk_cli_import_names_bad_entries_and_imports_nothing() {
    let s = setup();
    report(
        &s.server,
        "en",
        "https://bad.example.com/",
        "abuse-imagery",
        "x",
    );
    let b = s.export("b.tar");
    // Sealed to another analyst's key: not one entry opens.
    let other = analyst(s._tmp.path(), &s._tmp.path().join("other-keys"), "other");
    let other_ledger = s._tmp.path().join("other-ledger");
    let o = salama(&[
        "desk",
        "--ledger",
        other_ledger.to_str().unwrap(),
        "-i",
        other.to_str().unwrap(),
        "import",
        b.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("could not be opened, so nothing of this bundle was imported")
            && e.contains("not sealed to any of the given identities"),
        "{e}"
    );
    // Nothing of it was recorded: a second try is not "already imported".
    let o = salama(&[
        "desk",
        "--ledger",
        other_ledger.to_str().unwrap(),
        "-i",
        other.to_str().unwrap(),
        "import",
        b.to_str().unwrap(),
    ]);
    assert!(
        !o.status.success() && !stderr(&o).contains("already imported"),
        "{}",
        stderr(&o)
    );
    let o = salama(&[
        "desk",
        "--ledger",
        other_ledger.to_str().unwrap(),
        "-i",
        other.to_str().unwrap(),
        "import",
        "/nonexistent.tar",
    ]);
    assert!(
        stderr(&o).contains("cannot read the bundle"),
        "{}",
        stderr(&o)
    );
    let o = salama(&[
        "desk",
        "--ledger",
        s.ledger.to_str().unwrap(),
        "-i",
        s.identity.to_str().unwrap(),
        "import",
        b.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with(&export_digest(&b)));
    // The ledger is sealed to the analyst's own key: another key opens nothing.
    let o = salama(&[
        "desk",
        "--ledger",
        s.ledger.to_str().unwrap(),
        "-i",
        other.to_str().unwrap(),
        "import",
        b.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("cannot be opened with the given identities"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn desk_works_in_a_network_namespace_with_only_loopback() {
    if !have("unshare")
        || !have("curl")
        || !have("ip")
        || Command::new("unshare")
            .args(["-n", "true"])
            .status()
            .map(|s| !s.success())
            .unwrap_or(true)
    {
        skip("unshare -n (as root), ip and curl are needed to run the desk without a network");
        return;
    }
    let s = setup();
    report(
        &s.server,
        "ar",
        "https://netns.example.com/",
        "abuse-imagery",
        "x",
    );
    let b = s.export("b.tar");
    let script = format!(
        r#"set -e
ip link set lo up
test "$(ip -o link | grep -vc ' lo:')" = 0
"{bin}" desk --ledger "{ledger}" -i "{id}" --exports "{exports}" > "{dir}/url" &
pid=$!
for i in $(seq 100); do [ -s "{dir}/url" ] && break; sleep 0.1; done
u=$(cat "{dir}/url")
curl -sf --data-urlencode "path={bundle}" "${{u}}import" > "{dir}/import.html"
curl -sf "$u" > "{dir}/queue.html"
kill $pid
"#,
        bin = BIN,
        ledger = s.ledger.display(),
        id = s.identity.display(),
        exports = s.exports.display(),
        dir = s._tmp.path().display(),
        bundle = b.display(),
    );
    let o = Command::new("unshare")
        .args(["-n", "sh", "-c", &script])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let queue = std::fs::read_to_string(s._tmp.path().join("queue.html")).unwrap();
    assert!(queue.contains(">https://netns.example.com/<"), "{queue}");
}

//! Interop with Debian's `age` CLI, both ways, and the frozen format
//! vectors that must keep opening whatever changes in the code.

use crate::util::*;
use std::path::Path;
use std::process::Command;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/v1");

#[test]
fn a_blob_the_server_sealed_opens_with_stock_age() {
    if !have("age") {
        return skip("Debian's `age` is not installed (apt-get install age); interop not checked");
    }
    let t = tempfile::tempdir().unwrap();
    let (data, keys) = (t.path().join("data"), t.path().join("keys"));
    let id = analyst(t.path(), &keys, "a");
    let server = Server::start(&data, &keys, &[]);
    let marker = unique("AGECLI");
    let p = report(
        &server,
        "en",
        &format!("https://{marker}.example.com/"),
        "grooming",
        &marker,
    );
    assert_eq!(p.status, 200);
    let bundle = t.path().join("b.tar");
    export(&data, &bundle, false);
    // Exactly as the operator guide says: tar, then age.
    let x = t.path().join("x");
    std::fs::create_dir_all(&x).unwrap();
    let st = Command::new("tar")
        .arg("-xf")
        .arg(&bundle)
        .arg("-C")
        .arg(&x)
        .status()
        .unwrap();
    assert!(st.success());
    let blobs = files_under(&x.join("reports"));
    assert_eq!(blobs.len(), 1);
    let o = Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(&id)
        .arg(&blobs[0])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "age -d failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["description"].as_str(), Some(marker.as_str()));
    assert_eq!(doc["receipt"].as_str().unwrap(), receipt(&p));
    assert!(
        [1024, 4096, 16384, 65536].contains(&o.stdout.len()),
        "padded to a bucket: {}",
        o.stdout.len()
    );
}

/// Drive `age -p`, which reads its passphrase from the terminal only.
fn age_encrypt_with_passphrase(input: &Path, output: &Path, pass: &str) {
    let script = r#"
import os, pty, sys
out, inp, pw = sys.argv[1:4]
pid, fd = pty.fork()
if pid == 0:
    os.execvp("age", ["age", "-p", "-o", out, inp])
buf, sent = b"", 0
while True:
    try:
        data = os.read(fd, 1024)
    except OSError:
        break
    if not data:
        break
    buf += data
    while sent < 2 and buf.count(b"assphrase") > sent:
        os.write(fd, (pw + "\n").encode())
        sent += 1
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"#;
    let st = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(output)
        .arg(input)
        .arg(pass)
        .status()
        .unwrap();
    assert!(st.success(), "age -p failed");
}

#[test]
fn an_identity_from_age_keygen_and_age_p_works_with_salama_open() {
    if !have("age-keygen") || !have("python3") {
        return skip("Debian's `age` (or python3) is not installed; interop not checked");
    }
    let t = tempfile::tempdir().unwrap();
    let plain = t.path().join("key.txt");
    let o = Command::new("age-keygen")
        .arg("-o")
        .arg(&plain)
        .output()
        .unwrap();
    assert!(o.status.success());
    let recipient = String::from_utf8_lossy(&o.stderr)
        .trim()
        .trim_start_matches("Public key: ")
        .to_owned();
    assert!(recipient.starts_with("age1"), "{recipient}");
    let protected = t.path().join("key.age");
    age_encrypt_with_passphrase(&plain, &protected, "stock age passphrase");
    std::fs::remove_file(&plain).unwrap();

    let (data, keys) = (t.path().join("data"), t.path().join("keys"));
    std::fs::create_dir_all(&keys).unwrap();
    std::fs::write(keys.join("stock.pub"), format!("{recipient}\n")).unwrap();
    let server = Server::start(&data, &keys, &[]);
    assert_eq!(
        report(
            &server,
            "fr",
            "https://stock.example.com/",
            "grooming",
            "interop"
        )
        .status,
        200
    );
    let bundle = t.path().join("b.tar");
    export(&data, &bundle, false);
    let out = t.path().join("o");
    let o = open_with_passphrase(&bundle, &protected, &out, "stock age passphrase");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(jsonl(&out)[0]["description"], "interop");
}

#[test]
fn the_frozen_v1_bundle_still_opens_to_the_same_reports() {
    assert_frozen_bundle_opens(Path::new(VECTORS));
}

#[test]
fn a_tampered_bundle_names_the_bad_entry_opens_the_rest_and_gives_no_digest() {
    let dir = Path::new(VECTORS);
    let t = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(dir.join("bundle.tar")).unwrap();
    // Flip a byte inside the first report's data (after its 512-byte header).
    bytes[512 + 200] ^= 0x01;
    let bad = t.path().join("bad.tar");
    std::fs::write(&bad, &bytes).unwrap();
    let out = t.path().join("o");
    let (ok, digest, err) = open(&bad, &[&dir.join("identity.txt")], &out);
    assert!(!ok);
    assert!(digest.is_empty());
    assert!(err.contains("do not match the manifest"), "{err}");
    assert!(err.contains("do not purge"), "{err}");
    let total = std::fs::read_to_string(dir.join("expected.jsonl"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(jsonl(&out).len(), total - 1);
}

#[test]
fn several_bundles_open_into_one_triage_set_each_with_its_digest() {
    let t = tempfile::tempdir().unwrap();
    let id = analyst(t.path(), &t.path().join("keys"), "a");
    // Two instances (as behind Onionbalance), one analyst key, two stores.
    let mut bundles = Vec::new();
    let mut digests = Vec::new();
    for n in 0..2 {
        let data = t.path().join(format!("data{n}"));
        let server = Server::start(&data, &t.path().join("keys"), &[]);
        for i in 0..2 {
            let p = report(
                &server,
                "en",
                &format!("https://i{n}r{i}.example.com/"),
                "grooming",
                &format!("instance {n}"),
            );
            assert_eq!(p.status, 200);
        }
        let b = t.path().join(format!("b{n}.tar"));
        digests.push(export(&data, &b, false));
        bundles.push(b);
    }
    let out = t.path().join("o");
    let o = salama(&[
        "open",
        bundles[0].to_str().unwrap(),
        bundles[1].to_str().unwrap(),
        "-i",
        id.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<String> = stdout(&o).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2);
    for (line, (d, b)) in lines.iter().zip(digests.iter().zip(&bundles)) {
        assert_eq!(line, &format!("{d}  {}", b.display()));
    }
    assert_eq!(jsonl(&out).len(), 4);
    let csv = std::fs::read_to_string(out.join("urls.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5);
}

const VECTORS_V2: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/v2");

/// Document version 2 (reports by harm, follow-up additions): frozen as
/// v1 is. Addresses typed in Arabic script come back typed and in
/// punycode; accounts per platform; an addition carries its report's receipt.
#[test]
fn the_frozen_v2_bundle_opens_to_the_same_reports_and_additions() {
    let dir = Path::new(VECTORS_V2);
    let t = tempfile::tempdir().unwrap();
    let expected: Vec<serde_json::Value> = std::fs::read_to_string(dir.join("expected.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let digest = std::fs::read_to_string(dir.join("digest"))
        .unwrap()
        .trim()
        .to_owned();
    let out = t.path().join("plain");
    let (ok, d, err) = open(&dir.join("bundle.tar"), &[&dir.join("identity.txt")], &out);
    assert!(ok, "{err}");
    assert_eq!(d, digest);
    let got = jsonl(&out);
    assert_eq!(got, expected);
    // What the vector is there to pin down, said again in plain terms.
    let by_kind = |k: &str| got.iter().filter(|r| r["kind"] == k).count();
    assert_eq!((by_kind("report"), by_kind("addition")), (4, 1));
    let addition = got.iter().find(|r| r["kind"] == "addition").unwrap();
    let original = got
        .iter()
        .find(|r| r["kind"] == "report" && r["receipt"] == addition["receipt"])
        .expect("the addition's receipt is its report's");
    assert_eq!(original["urls"][0]["typed"], "موقع.المغرب/صور");
    assert_eq!(
        original["urls"][0]["url"],
        "http://xn--4gbrim.xn--mgbc0a9azcg/%D8%B5%D9%88%D8%B1"
    );
    let grooming = got.iter().find(|r| r["category"] == "grooming").unwrap();
    assert_eq!(grooming["platform"], "instagram");
    assert_eq!(grooming["accounts"].as_array().unwrap().len(), 2);
    let sextortion = got.iter().find(|r| r["category"] == "sextortion").unwrap();
    assert_eq!(sextortion["demands"]["money"], "yes");
    assert_eq!(sextortion["platform_name"], "Kik");
}

/// How tests/vectors/v2 was made (run once; never to make a test pass):
/// `SALAMA_WRITE_V2=DIR cargo test --test it write_v2_vectors -- --ignored`
/// with DIR/identity.txt made by Debian's `age-keygen`.
#[test]
#[ignore]
fn write_v2_vectors() {
    use salama::report::{Category, FormInput, Lang, Receipt, ReceivedDate, Report};
    let dir = std::path::PathBuf::from(std::env::var("SALAMA_WRITE_V2").unwrap());
    let identity = std::fs::read_to_string(dir.join("identity.txt")).unwrap();
    let recipient = identity
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap();
    let recipients =
        salama::keys::Recipients::new(vec![salama::keys::Recipient::parse(recipient).unwrap()])
            .unwrap();
    let form = |f: &[(&str, &str)]| {
        let mut i = FormInput::default();
        for (k, v) in f {
            let slot = match *k {
                "urls" => &mut i.urls,
                "category" => &mut i.category,
                "where_seen" => &mut i.where_seen,
                "description" => &mut i.description,
                "platform" => &mut i.platform,
                "platform_name" => &mut i.platform_name,
                "accounts" => &mut i.accounts,
                "money" => &mut i.money,
                "images" => &mut i.images,
                _ => unreachable!(),
            };
            *slot = (*v).to_owned();
        }
        i
    };
    let reports = [
        (
            Lang::Ar,
            form(&[
                ("category", "abuse-imagery"),
                (
                    "urls",
                    "\u{200f}موقع.المغرب/صور،\nexample.com/album/7 https://example.org/x.",
                ),
                ("where_seen", "social-network"),
                ("description", "رأيت هذه الصور في مجموعة."),
            ]),
        ),
        (
            Lang::Fr,
            form(&[
                ("category", "grooming"),
                ("platform", "instagram"),
                ("accounts", "@prof_2009\nuser.name.14"),
                ("description", "Il demande des photos à ma sœur de 13 ans."),
            ]),
        ),
        (
            Lang::En,
            form(&[
                ("category", "sextortion"),
                ("platform", "other"),
                ("platform_name", "Kik"),
                ("accounts", "k1ng_of_x"),
                ("urls", "https://t.me/somechannel"),
                ("money", "yes"),
                ("images", "no"),
            ]),
        ),
        (
            Lang::En,
            form(&[
                ("category", "other-harm"),
                (
                    "urls",
                    "http://2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion/forum",
                ),
            ]),
        ),
    ];
    let mut w = salama::bundle::BundleWriter::new(Vec::new());
    let mut first_receipt = None;
    for (lang, input) in &reports {
        let r = Report::validate(input, *lang, &Category::ALL).unwrap_or_else(|p| panic!("{p:?}"));
        let (sealed, receipt) = salama::seal::seal_report(&r, &recipients).unwrap();
        first_receipt.get_or_insert(receipt);
        w.add(&unique_id(), sealed.as_bytes()).unwrap();
    }
    let addition = Report::validate_addition(
        &form(&[
            ("accounts", "@second_account"),
            ("description", "وجدت حساباً آخر."),
        ]),
        Lang::Ar,
    )
    .unwrap();
    let receipt: Receipt = first_receipt.unwrap();
    let padded = addition.encode_padded(&receipt, &ReceivedDate::today());
    let sealed = salama::seal::seal_padded(&padded, &recipients).unwrap();
    w.add(&unique_id(), sealed.as_bytes()).unwrap();
    let salama::bundle::Finished {
        digest, out: bytes, ..
    } = w.finish().unwrap();
    std::fs::write(dir.join("bundle.tar"), bytes).unwrap();
    std::fs::write(dir.join("digest"), format!("{digest}\n")).unwrap();
}

fn unique_id() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).unwrap();
    salama::bundle::hex(&b)
}

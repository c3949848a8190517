//! Post-quantum sealing against others' code: the C2SP CCTV age vectors
//! (every one, hybrid and X25519, success and each failure kind) through
//! Salama's opening side; typage (`age-encryption` on npm, by age's author)
//! opening what the server sealed and sealing what `salama open` opens;
//! and the frozen hybrid bundle in `tests/vectors/hybrid/`.

use crate::util::*;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const CCTV: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/vectors/cctv-age/testdata"
);
const HYBRID: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/hybrid");
const TYPAGE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/typage");

/// One vector: its header (format in `tests/vectors/cctv-age/README.upstream.md`)
/// and the age file after it, decompressed.
struct Vector {
    name: String,
    expect: String,
    payload: Option<String>,
    identities: Vec<String>,
    passphrases: Vec<String>,
    armored: bool,
    file: Vec<u8>,
}

fn read_vector(path: &Path) -> Vector {
    let raw = std::fs::read(path).unwrap();
    let split = raw
        .windows(2)
        .position(|w| w == b"\n\n")
        .expect("a header, an empty line, then the file");
    let header = std::str::from_utf8(&raw[..split]).unwrap();
    let mut v = Vector {
        name: path.file_name().unwrap().to_string_lossy().into_owned(),
        expect: String::new(),
        payload: None,
        identities: Vec::new(),
        passphrases: Vec::new(),
        armored: false,
        file: raw[split + 2..].to_vec(),
    };
    let mut compressed = false;
    for line in header.lines() {
        let (k, val) = line.split_once(": ").expect("key: value");
        match k {
            "expect" => v.expect = val.to_owned(),
            "payload" => v.payload = Some(val.to_owned()),
            "identity" => v.identities.push(val.to_owned()),
            "passphrase" => v.passphrases.push(val.to_owned()),
            "armored" => v.armored = val == "yes",
            "compressed" => {
                assert_eq!(val, "zlib", "{}", v.name);
                compressed = true;
            }
            // Debugging aids; unknown keys are to be ignored (upstream README).
            _ => {}
        }
    }
    if compressed {
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(&v.file[..])
            .read_to_end(&mut out)
            .unwrap();
        v.file = out;
    }
    v
}

/// What opening gave, in the vectors' own terms, and the plaintext released
/// before any error.
fn open_vector(v: &Vector, scratch: &Path) -> (&'static str, Vec<u8>) {
    // Key identities through the loader `salama open` uses: an unprotected
    // identity file, one key per line, X25519 and hybrid alike.
    let mut ids: Vec<Box<dyn AsAge>> = Vec::new();
    if !v.identities.is_empty() {
        let file = scratch.join(format!("{}.key", v.name));
        std::fs::write(&file, v.identities.join("\n") + "\n").unwrap();
        let loaded = salama::keys::load_identities(&file, || unreachable!("not protected"))
            .unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(loaded.len(), v.identities.len(), "{}", v.name);
        ids.extend(loaded.into_iter().map(|i| Box::new(i) as Box<dyn AsAge>));
    }
    // Passphrases as `load_identities` opens a protected identity file.
    for p in &v.passphrases {
        let mut id = age::scrypt::Identity::new(p.clone().into());
        id.set_max_work_factor(salama::keys::MAX_SCRYPT_WORK_FACTOR);
        ids.push(Box::new(id));
    }
    let is_armor = |e: &std::io::Error| {
        e.get_ref()
            .is_some_and(|i| i.is::<age::armor::ArmoredReadError>())
    };
    let header_failure = |e: age::DecryptError| match e {
        age::DecryptError::Io(ref io) if is_armor(io) => "armor failure",
        _ => "header failure",
    };
    // Bundles hold binary blobs, opened as `open` does (`new_buffered`);
    // armored input as identity files are (`ArmoredReader`).
    let input: Box<dyn std::io::BufRead> = if v.armored {
        Box::new(std::io::BufReader::new(age::armor::ArmoredReader::new(
            &v.file[..],
        )))
    } else {
        Box::new(&v.file[..])
    };
    let d = match age::Decryptor::new_buffered(input) {
        Ok(d) => d,
        Err(e) => return (header_failure(e), Vec::new()),
    };
    let mut r = match d.decrypt(ids.iter().map(|i| i.as_age())) {
        Ok(r) => r,
        // A wrong passphrase is `DecryptionFailed` in the age crate (its own
        // testkit maps it the same way); `load_identities` reports both as
        // "wrong passphrase".
        Err(age::DecryptError::NoMatchingKeys | age::DecryptError::DecryptionFailed) => {
            return ("no match", Vec::new());
        }
        Err(age::DecryptError::InvalidMac) => return ("HMAC failure", Vec::new()),
        Err(e) => return (header_failure(e), Vec::new()),
    };
    // Read chunk by chunk, keeping what was released before an error.
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match r.read(&mut buf) {
            Ok(0) => return ("success", out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if is_armor(&e) => return ("armor failure", out),
            Err(_) => return ("payload failure", out),
        }
    }
}

/// Both identity types as `&dyn age::Identity`.
trait AsAge {
    fn as_age(&self) -> &dyn age::Identity;
}

impl AsAge for salama::keys::Identity {
    fn as_age(&self) -> &dyn age::Identity {
        salama::keys::Identity::as_age(self)
    }
}

impl AsAge for age::scrypt::Identity {
    fn as_age(&self) -> &dyn age::Identity {
        self
    }
}

/// Where the `age` crate (not Salama's code) knowingly departs from a
/// vector, as its own testkit (str4d/rage `age/tests/testkit.rs`) records:
/// (vector, what it gives, why). Each must still give exactly that, so a
/// fixed age release shows up here.
const AGE_CRATE_DEVIATIONS: [(&str, &str, &str); 7] = [
    (
        "armor_garbage_leading",
        "header failure",
        "ArmoredReader only de-armors after a valid begin marker",
    ),
    ("armor_lowercase", "header failure", "same"),
    ("armor_whitespace_begin", "header failure", "same"),
    ("armor_wrong_type", "header failure", "same"),
    (
        "armor_whitespace_outside",
        "header failure",
        "leading whitespace before the armor is not skipped",
    ),
    (
        "stanza_missing_body",
        "success",
        "age keeps parsing legacy stanzas without a short final line",
    ),
    ("stanza_missing_final_line", "success", "same"),
];

#[test]
fn every_cctv_age_vector_opens_or_fails_as_specified() {
    let t = tempfile::tempdir().unwrap();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(CCTV)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    let mut failures = Vec::new();
    let mut tally: BTreeMap<(String, String), usize> = BTreeMap::new();
    for path in &paths {
        let v = read_vector(path);
        let (got, plain) = open_vector(&v, t.path());
        if let Some((_, known, _)) = AGE_CRATE_DEVIATIONS.iter().find(|d| d.0 == v.name) {
            assert!(!v.name.starts_with("hybrid"));
            if got != *known {
                failures.push(format!("{}: the age crate now gives {got:?}", v.name));
            }
            *tally
                .entry(("(age crate, known)".into(), v.expect.clone()))
                .or_default() += 1;
            continue;
        }
        if got != v.expect {
            failures.push(format!("{}: expected {:?}, got {got:?}", v.name, v.expect));
            continue;
        }
        // All plaintext released must match, even before a payload error.
        if let Some(want) = &v.payload {
            let have = salama::bundle::hex(&Sha256::digest(&plain));
            if &have != want {
                failures.push(format!("{}: plaintext hash {have}, want {want}", v.name));
                continue;
            }
        } else {
            assert!(
                plain.is_empty(),
                "{}: plaintext without a payload hash",
                v.name
            );
        }
        let family = v.name.split('_').next().unwrap().to_owned();
        *tally.entry((family, v.expect.clone())).or_default() += 1;
    }
    eprintln!("CCTV age vectors, by family and expected outcome:");
    for ((family, expect), n) in &tally {
        eprintln!("  {family:8} {expect:16} {n}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        paths.len(),
        143,
        "the vector set changed; update this count"
    );
    let hybrid: usize = tally
        .iter()
        .filter(|((f, _), _)| f == "hybrid")
        .map(|(_, n)| n)
        .sum();
    assert_eq!(hybrid, 18);
}

/// typage under Node, or a loud skip (like the browser tests) when Node or
/// `(cd tests/typage && npm ci)` is missing; CI installs both.
fn typage_available() -> bool {
    if !have("node") {
        skip("node is not installed; typage interop not checked");
        return false;
    }
    if !Path::new(TYPAGE)
        .join("node_modules/age-encryption")
        .is_dir()
    {
        skip(
            "typage is not installed: run `(cd tests/typage && npm ci)`; typage interop not checked",
        );
        return false;
    }
    true
}

/// `node tests/typage/run.mjs ARGS` with `input` on stdin; its stdout.
fn typage(args: &[&str], input: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new("node")
        .arg(Path::new(TYPAGE).join("run.mjs"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let o = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        o.status.success(),
        "typage {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

/// Every sealed blob of a bundle, by id.
fn blobs(bundle: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let verified = salama::bundle::read(std::fs::File::open(bundle).unwrap(), |id, b| {
        out.insert(id.to_owned(), b.to_vec());
    })
    .unwrap();
    assert!(verified.problems.is_empty());
    out
}

#[test]
fn typage_opens_what_the_server_sealed_to_a_typage_hybrid_key() {
    if !typage_available() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let keys = typage(&["keygen"], b"");
    let keys = String::from_utf8(keys).unwrap();
    let (identity, recipient) = keys.trim().split_once('\n').unwrap();
    assert!(identity.starts_with("AGE-SECRET-KEY-PQ-1"), "{identity}");
    assert!(recipient.starts_with("age1pq1"), "{recipient}");
    let id_file = t.path().join("typage.key");
    std::fs::write(&id_file, format!("{identity}\n")).unwrap();
    let (data, keys_dir) = (t.path().join("data"), t.path().join("keys"));
    std::fs::create_dir_all(&keys_dir).unwrap();
    std::fs::write(keys_dir.join("typage.pub"), format!("{recipient}\n")).unwrap();

    let server = Server::start(&data, &keys_dir, &[]);
    let mut sent = BTreeMap::new();
    for (lang, body) in [("en", "x".repeat(100)), ("ar", "ع".repeat(2500))] {
        let marker = unique("TYPAGE");
        let p = report(
            &server,
            lang,
            &format!("https://{marker}.example.com/"),
            "abuse-imagery",
            &format!("{marker} {body}"),
        );
        assert_eq!(p.status, 200);
        sent.insert(marker, receipt(&p));
    }
    let bundle = t.path().join("b.tar");
    export(&data, &bundle, false);
    let blobs = blobs(&bundle);
    assert_eq!(blobs.len(), 2);
    for blob in blobs.values() {
        let text = String::from_utf8_lossy(&blob[..100]);
        assert!(
            text.starts_with("age-encryption.org/v1\n-> mlkem768x25519 "),
            "{text}"
        );
        let plain = typage(&["decrypt", id_file.to_str().unwrap()], blob);
        let bucket = plain.len();
        assert!(salama::report::BUCKETS.contains(&bucket), "{bucket}");
        assert_eq!(blob.len(), bucket + 102 + 1557, "SECURITY.md's size");
        let doc: serde_json::Value = serde_json::from_slice(&plain).unwrap();
        let description = doc["description"].as_str().unwrap();
        let marker = description.split(' ').next().unwrap();
        assert_eq!(
            doc["receipt"].as_str(),
            sent.get(marker).map(String::as_str)
        );
    }
}

#[test]
fn salama_opens_what_typage_sealed_to_a_salama_keygen_pq_key() {
    if !typage_available() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let key = t.path().join("analyst.key.age");
    let pass = [("SALAMA_PASSPHRASE", "a long test passphrase")];
    let o = salama_env(&["keygen", "--pq", "--out", key.to_str().unwrap()], &pass);
    assert!(o.status.success(), "{}", stderr(&o));
    let recipient = stdout(&o);
    assert!(recipient.starts_with("age1pq1"), "{recipient}");
    assert!(stderr(&o).contains("post-quantum"), "{}", stderr(&o));
    let public = std::fs::read_to_string(t.path().join("analyst.key.age.pub")).unwrap();
    assert_eq!(public.trim(), recipient);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&key).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let secret = std::fs::read(&key).unwrap();
    assert!(secret.starts_with(b"age-encryption.org/v1\n-> scrypt "));
    assert!(files_containing(t.path(), b"AGE-SECRET-KEY-").is_empty());

    // Two reports encoded exactly as the server does; typage seals one to
    // the new key alone and one to it and an X25519 key (typage, unlike
    // Salama's server, lets a file mix them; opening must still work).
    use salama::report::{Category, FormInput, Lang, Receipt, ReceivedDate, Report};
    let x25519 = age::x25519::Identity::generate().to_public().to_string();
    let mut bundle = salama::bundle::BundleWriter::new(Vec::new());
    let mut markers = Vec::new();
    for (n, extra) in [(1u8, None), (2, Some(x25519.as_str()))] {
        let marker = unique("FROMTYPAGE");
        let mut input = FormInput::default();
        input.urls = format!("https://{marker}.example.com/");
        input.category = "abuse-imagery".into();
        input.description = format!("{marker} sealed by typage");
        let r = Report::validate(&input, Lang::Fr, &Category::ALL).unwrap();
        let padded = r.encode_padded(&Receipt::random(), &ReceivedDate::today());
        let mut to = vec![recipient.as_str()];
        to.extend(extra);
        let mut args = vec!["encrypt"];
        args.extend(to);
        let sealed = typage(&args, padded.expose());
        bundle.add(&format!("{:032x}", n), &sealed).unwrap();
        markers.push(marker);
    }
    let salama::bundle::Finished {
        digest, out: bytes, ..
    } = bundle.finish().unwrap();
    let path = t.path().join("typage.tar");
    std::fs::write(&path, bytes).unwrap();

    let out = t.path().join("o");
    let o = open_with_passphrase(&path, &key, &out, pass[0].1);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with(&digest.to_string()),
        "{}",
        stdout(&o)
    );
    let got: Vec<String> = jsonl(&out)
        .iter()
        .map(|d| d["description"].as_str().unwrap().to_owned())
        .collect();
    for m in &markers {
        assert!(
            got.iter().any(|d| d.starts_with(m.as_str())),
            "{m} in {got:?}"
        );
    }
    // The wrong passphrase opens nothing.
    let o = open_with_passphrase(&path, &key, &t.path().join("o2"), "not it");
    assert!(!o.status.success());
}

#[test]
fn the_frozen_hybrid_bundle_still_opens_to_the_same_reports() {
    let dir = Path::new(HYBRID);
    let expected = assert_frozen_bundle_opens(dir);
    assert_eq!(expected.len(), 3);
    // Each blob is exactly bucket + 102 + 1557 bytes.
    let blobs = blobs(&dir.join("bundle.tar"));
    let mut sizes: Vec<usize> = blobs.values().map(Vec::len).collect();
    sizes.sort();
    assert_eq!(
        sizes,
        [1024 + 102 + 1557, 1024 + 102 + 1557, 4096 + 102 + 1557]
    );
    // And an implementation that shares no code with Salama agrees.
    if typage_available() {
        for (id, blob) in &blobs {
            let plain = typage(
                &["decrypt", dir.join("identity.txt").to_str().unwrap()],
                blob,
            );
            let doc: serde_json::Value = serde_json::from_slice(&plain).unwrap();
            let want = expected.iter().find(|e| e["id"] == id.as_str()).unwrap();
            assert_eq!(doc["receipt"], want["receipt"]);
        }
    }
}

#[test]
fn a_server_refuses_to_start_with_x25519_and_hybrid_keys_together() {
    let t = tempfile::tempdir().unwrap();
    let keys = t.path().join("keys");
    analyst(t.path(), &keys, "classic");
    let pq = std::fs::read_to_string(Path::new(HYBRID).join("identity.txt")).unwrap();
    let pq = pq
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_owned();
    std::fs::write(keys.join("quantum.pub"), format!("{pq}\n")).unwrap();
    let out = match Server::try_start(&t.path().join("data"), &keys, &[]) {
        Ok(_) => panic!("a server started with a mixed key set"),
        Err(out) => out,
    };
    assert!(
        out.contains("quantum.pub") && out.contains("classic.pub") && out.contains("--pq"),
        "{out}"
    );
    assert!(!t.path().join("data").join("store").exists());
    // With the X25519 key gone, the same directory is fine.
    std::fs::remove_file(keys.join("classic.pub")).unwrap();
    let server = Server::start(&t.path().join("data"), &keys, &[]);
    assert!(
        server.output().contains("1 analyst key"),
        "{}",
        server.output()
    );
}

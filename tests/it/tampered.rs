//! Tampered bundles and forged documents on the analyst's side: what
//! anyone holding a bundle (or an analyst's public key) can make `salama
//! open` do. Each bundle here is built by the test from the frozen v1
//! vector, so no server runs.

use crate::util::*;
use std::path::{Path, PathBuf};

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/v1");

fn identity() -> PathBuf {
    Path::new(VECTORS).join("identity.txt")
}

/// Every entry of a tar archive: (name, type, data).
fn entries(tar_bytes: &[u8]) -> Vec<(Vec<u8>, tar::EntryType, Vec<u8>)> {
    let mut a = tar::Archive::new(tar_bytes);
    a.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut data).unwrap();
            (e.path_bytes().into_owned(), e.header().entry_type(), data)
        })
        .collect()
}

fn header(size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_size(size);
    h.set_mode(0o600);
    h.set_entry_type(tar::EntryType::Regular);
    h
}

/// The frozen v1 bundle with `extra` (name, data) added before its
/// manifest: the manifest, and so the digest, are unchanged.
fn frozen_with(extra: &[(&[u8], &[u8])]) -> Vec<u8> {
    let original = std::fs::read(Path::new(VECTORS).join("bundle.tar")).unwrap();
    let mut b = tar::Builder::new(Vec::new());
    for (name, _, data) in entries(&original) {
        if name == b"manifest.json" {
            for (n, d) in extra {
                let mut h = header(d.len() as u64);
                // Straight into the header: `Builder` would refuse some names.
                h.as_old_mut().name[..n.len()].copy_from_slice(n);
                h.set_cksum();
                b.append(&h, *d).unwrap();
            }
        }
        let mut h = header(data.len() as u64);
        b.append_data(&mut h, std::str::from_utf8(&name).unwrap(), &data[..])
            .unwrap();
    }
    b.into_inner().unwrap()
}

/// Issue 13, item 1: a stray entry whose name holds escape sequences that
/// would erase the "could NOT be opened" lines and print a fake success.
#[test]
fn escape_sequences_in_an_entry_name_never_reach_the_terminal_or_the_outputs() {
    let t = tempfile::tempdir().unwrap();
    let digest = std::fs::read_to_string(Path::new(VECTORS).join("digest")).unwrap();
    let fake = format!(
        "\x1b[1A\x1b[2K\r\x1b[3A\x1b[Jsalama: all 3 reports opened:\n{}\x1b[8m",
        digest.trim()
    );
    // The name field holds 100 bytes: the digest is cut, the trick is not.
    let name = &fake.as_bytes()[..100];
    let bundle = t.path().join("b.tar");
    std::fs::write(&bundle, frozen_with(&[(name, b"x")])).unwrap();
    let out = t.path().join("o");
    let o = salama(&[
        "open",
        bundle.to_str().unwrap(),
        "-i",
        identity().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(o.stdout.is_empty(), "no digest to purge with");
    assert!(!o.stderr.contains(&0x1b), "{:?}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("1 entries could NOT be opened"), "{err}");
    assert!(err.contains("do not purge"), "{err}");
    // The name is shown, escaped, on one line.
    assert!(
        err.contains("\\u{1b}[1A\\u{1b}[2K\\u{d}\\u{1b}[3A"),
        "{err}"
    );
    assert_eq!(
        err.lines()
            .filter(|l| l.contains("all 3 reports opened"))
            .count(),
        1,
        "{err}"
    );
    // The reports themselves opened; no output holds an ESC byte.
    assert_eq!(jsonl(&out).len(), 3);
    for f in files_under(&out) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(!bytes.contains(&0x1b), "{}", f.display());
    }
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("1 entries could not be opened"), "{html}");
    assert!(html.contains("\\u{1b}[1A"), "{html}");
}

/// Seal `plaintext` to the v1 vector's analyst, as anyone holding the
/// public key (a compromised server, say) can.
fn seal_to_vector_analyst(plaintext: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let text = std::fs::read_to_string(identity()).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap();
    let id: age::x25519::Identity = line.parse().unwrap();
    let to = id.to_public();
    let e = age::Encryptor::with_recipients(std::iter::once(&to as &dyn age::Recipient)).unwrap();
    let mut out = Vec::new();
    let mut w = e.wrap_output(&mut out).unwrap();
    w.write_all(plaintext).unwrap();
    w.finish().unwrap();
    out
}

/// Issue 13, item 5: a forged version-1 document whose "URL" is a
/// spreadsheet formula is a bad entry; nothing of it reaches an output.
#[test]
fn a_forged_document_is_a_bad_entry_and_no_formula_reaches_an_output() {
    let t = tempfile::tempdir().unwrap();
    let original = std::fs::read(Path::new(VECTORS).join("bundle.tar")).unwrap();
    let mut w = salama::bundle::BundleWriter::new(Vec::new());
    for (name, _, data) in entries(&original) {
        let name = String::from_utf8(name).unwrap();
        if let Some(id) = name
            .strip_prefix("reports/")
            .and_then(|n| n.strip_suffix(".age"))
        {
            w.add(id, &data).unwrap();
        }
    }
    let mut doc = br#"{"v":1,"receipt":"0123-4567-89AB","received":"2026-01-01","language":"en","category":"grooming","urls":["=cmd|'/C%20calc'!A0"],"where_seen":null,"description":"=cmd|' /C calc'!A0","pad":""}"#.to_vec();
    let at = doc.len() - 2;
    doc.splice(at..at, std::iter::repeat_n(b' ', 1024 - doc.len()));
    let forged = "ffffffffffffffffffffffffffffffff";
    w.add(forged, &seal_to_vector_analyst(&doc)).unwrap();
    let bundle = t.path().join("b.tar");
    std::fs::write(&bundle, w.finish().unwrap().out).unwrap();
    let out = t.path().join("o");
    let (ok, digest, err) = open(&bundle, &[&identity()], &out);
    assert!(!ok && digest.is_empty(), "{err}");
    assert!(
        err.contains(&format!(
            "{forged}: the report's fields break the server's own rules"
        )),
        "{err}"
    );
    assert_eq!(jsonl(&out).len(), 3, "the genuine reports opened");
    for f in files_under(&out) {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(!text.contains("=cmd"), "{}: {text}", f.display());
    }
}

/// Issue 13, item 6: plaintext only into new files in a private directory.
#[test]
fn open_writes_plaintext_only_as_new_files_in_a_private_directory() {
    use std::os::unix::fs::PermissionsExt;
    let t = tempfile::tempdir().unwrap();
    let bundle = Path::new(VECTORS).join("bundle.tar");
    let mode = |p: &Path| std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777;

    // An earlier run's reports.jsonl, readable by all: kept as it is.
    let earlier = t.path().join("earlier");
    std::fs::create_dir(&earlier).unwrap();
    std::fs::set_permissions(&earlier, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(earlier.join("reports.jsonl"), "old\n").unwrap();
    std::fs::set_permissions(
        earlier.join("reports.jsonl"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let (ok, digest, err) = open(&bundle, &[&identity()], &earlier);
    assert!(!ok && digest.is_empty());
    assert!(err.contains("will not write plaintext into"), "{err}");
    assert!(err.contains("not empty"), "{err}");
    assert_eq!(
        std::fs::read_to_string(earlier.join("reports.jsonl")).unwrap(),
        "old\n"
    );

    // A symlink where an output goes: nothing written through it.
    let planted = t.path().join("planted");
    std::fs::create_dir(&planted).unwrap();
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o700)).unwrap();
    let target = t.path().join("world-readable.html");
    std::os::unix::fs::symlink(&target, planted.join("index.html")).unwrap();
    let (ok, _, err) = open(&bundle, &[&identity()], &planted);
    assert!(!ok, "{err}");
    assert!(!target.exists());
    assert!(
        files_under(&planted)
            .iter()
            .all(|f| f.ends_with("index.html"))
    );

    // An existing 0755 directory: refused, and left 0755.
    let shared = t.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (ok, _, err) = open(&bundle, &[&identity()], &shared);
    assert!(!ok);
    assert!(err.contains("mode is not 0700"), "{err}");
    assert_eq!(mode(&shared), 0o755);
    assert!(files_under(&shared).is_empty());

    // A new path: created 0700, each output 0600.
    let fresh = t.path().join("fresh");
    let (ok, digest, err) = open(&bundle, &[&identity()], &fresh);
    assert!(ok, "{err}");
    assert!(!digest.is_empty());
    assert_eq!(mode(&fresh), 0o700);
    let outputs = files_under(&fresh);
    assert_eq!(outputs.len(), 4);
    for f in outputs {
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
    // Opening again into it is refused: nothing is overwritten.
    let (ok, _, err) = open(&bundle, &[&identity()], &fresh);
    assert!(!ok && err.contains("not empty"), "{err}");
}

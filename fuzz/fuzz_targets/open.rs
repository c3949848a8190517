//! `open` on tampered copies of the frozen v1 bundle: the input is a list
//! of (offset, xor) patches. Whatever is changed, `open` never panics, and
//! every report it does accept is one of the originals, unaltered: tampering
//! can only make entries fail, never change what an analyst reads.
#![no_main]

use libfuzzer_sys::fuzz_target;
use salama::keys::{Identity, load_identities};
use std::sync::LazyLock;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/v1");

/// What an analyst reads of a report: receipt, description, URLs.
type Fingerprint = (String, String, Vec<(String, String)>);

fn fingerprint(d: &salama::report::Document) -> Fingerprint {
    let urls = d.urls().into_iter().map(|(t, u)| (t.to_owned(), u.to_owned())).collect();
    (d.receipt().to_owned(), d.description().to_owned(), urls)
}

struct Original {
    bundle: Vec<u8>,
    identities: Vec<Identity>,
    reports: Vec<Fingerprint>,
}

static ORIGINAL: LazyLock<Original> = LazyLock::new(|| {
    let bundle = std::fs::read(format!("{VECTORS}/bundle.tar")).unwrap();
    let identities =
        load_identities(format!("{VECTORS}/identity.txt").as_ref(), || unreachable!()).unwrap();
    let opened = salama::open::read_and_decrypt(&bundle[..], &identities).unwrap();
    assert!(opened.bad.is_empty());
    let reports = opened
        .good
        .iter()
        .map(|(_, d)| fingerprint(d))
        .collect();
    Original { bundle, identities, reports }
});

fuzz_target!(|patches: &[u8]| {
    let o = &*ORIGINAL;
    let mut bundle = o.bundle.clone();
    for p in patches.chunks_exact(3) {
        let at = u16::from_le_bytes([p[0], p[1]]) as usize % bundle.len();
        bundle[at] ^= p[2];
    }
    let Ok(opened) = salama::open::read_and_decrypt(&bundle[..], &o.identities) else { return };
    for (_, d) in &opened.good {
        assert!(o.reports.contains(&fingerprint(d)), "a tampered bundle produced a report that was never sent");
    }
});

//! `open` on tampered copies of the frozen v1 bundle: the input is a list
//! of (offset, xor) patches. Whatever is changed, `open` never panics, and
//! every report it does accept is one of the originals, unaltered: tampering
//! can only make entries fail, never change what an analyst reads.
#![no_main]

use libfuzzer_sys::fuzz_target;
use salama::keys::{Identity, load_identities};
use std::sync::LazyLock;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/v1");

struct Original {
    bundle: Vec<u8>,
    identities: Vec<Identity>,
    reports: Vec<(String, String, Vec<String>)>,
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
        .map(|(_, d)| (d.receipt.clone(), d.description.clone(), d.urls.clone()))
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
        let r = (d.receipt.clone(), d.description.clone(), d.urls.clone());
        assert!(o.reports.contains(&r), "a tampered bundle produced a report that was never sent");
    }
});

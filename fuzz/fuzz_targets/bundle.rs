//! The bundle reader on arbitrary bytes: an error or a verdict, never a
//! panic, and never more than the size caps in memory.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut seen = 0usize;
    if let Ok(v) = salama::bundle::read(data, |_, blob| seen += blob.len()) {
        assert!(seen <= data.len());
        assert_eq!(v.manifest.count, v.manifest.entries.len());
    }
});

//! The form parser and validator on arbitrary request bodies: never a
//! panic, and anything accepted encodes to a document that decodes back
//! (passing its own re-validation) with the same description.
#![no_main]

use libfuzzer_sys::fuzz_target;
use salama::report::{Category, Document, Lang, ReceivedDate, Receipt, Report, BUCKETS};

fuzz_target!(|body: &[u8]| {
    let Ok(input) = salama::web::form::parse(body) else { return };
    let Ok(report) = Report::validate(&input, Lang::Ar, &Category::ALL) else { return };
    let padded = report.encode_padded(&Receipt::random(), &ReceivedDate::today());
    let bytes = padded.expose();
    assert!(BUCKETS.contains(&bytes.len()));
    let doc = Document::decode(bytes).expect("what we encode, we decode");
    assert_eq!(doc.description(), input.description);
    assert_eq!(doc.category().map(|c| c.id()), Some(input.category.as_str()));
});

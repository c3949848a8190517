//! Reports that fill each padding bucket as far as it goes, for the
//! benchmarks (`benches/seal.rs` and the load generator's `pq` phase).
//!
//! The document's shape changes between versions, so no fixed lengths: the
//! report grows (description first, then URLs) and the largest one that
//! still pads to the bucket is kept, found by bisection on the real padded
//! encoding.

use salama::report::{
    BUCKETS, Category, FormInput, Lang, MAX_DESCRIPTION_CHARS, MAX_URLS, Receipt, ReceivedDate,
    Report,
};

/// Characters of each URL's path at the most (the limit is 2,048 a URL).
const URL_PATH_CHARS: usize = 2000;

/// Arabic and Latin words, so the description has 1- and 2-byte characters.
const WORDS: [&str; 4] = [
    "رأيت هذا الحساب يرسل رسائل إلى أطفال",
    "the account sends messages to children",
    "في مجموعة على تطبيق مراسلة",
    "and asks them for photos",
];

/// A report of "size" `n`: up to 4,000 description characters, then more
/// and longer URLs (up to 10, of up to 2,000 path characters each).
fn report_of_size(n: usize) -> Option<Report> {
    let chars = n.min(MAX_DESCRIPTION_CHARS);
    let description: String = WORDS
        .iter()
        .cycle()
        .flat_map(|w| w.chars().chain([' ']))
        .take(chars)
        .collect();
    let url_chars = n - chars;
    let urls: Vec<String> = (0..MAX_URLS)
        .map(|i| {
            let len =
                (url_chars / MAX_URLS + usize::from(i < url_chars % MAX_URLS)).min(URL_PATH_CHARS);
            format!("https://example.com/{i}/{}", "a".repeat(len))
        })
        .take(if url_chars == 0 { 2 } else { MAX_URLS })
        .collect();
    let mut input = FormInput::default();
    input.urls = urls.join("\n");
    input.category = "abuse-imagery".into();
    input.where_seen = "messaging-app".into();
    input.description = description.trim_end().into();
    Report::validate(&input, Lang::Ar, &Category::ALL).ok()
}

fn padded_len(r: &Report) -> usize {
    r.encode_padded(&Receipt::random(), &ReceivedDate::today())
        .expose()
        .len()
}

/// The largest report (by the measure above) whose padded document is
/// exactly `bucket` bytes.
pub fn report_filling(bucket: usize) -> Report {
    assert!(BUCKETS.contains(&bucket), "{bucket} is not a bucket");
    let fits = |n: usize| report_of_size(n).filter(|r| padded_len(r) <= bucket);
    let (mut lo, mut hi) = (
        0usize,
        MAX_DESCRIPTION_CHARS + MAX_URLS * URL_PATH_CHARS + 1,
    );
    assert!(fits(lo).is_some(), "the smallest report overflows {bucket}");
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if fits(mid).is_some() {
            lo = mid
        } else {
            hi = mid
        }
    }
    let r = fits(lo).expect("checked above");
    assert_eq!(padded_len(&r), bucket, "the report fell below {bucket}");
    r
}

//! Step 3–4 of the data path: what the reporter typed ([`FormInput`]) is
//! validated into a [`Report`], the only type [`crate::seal`] accepts, and
//! encoded as the padded, versioned JSON document that goes inside the seal.
//!
//! Nothing here derives `Debug`, `Display`, `Clone` or `Serialize` on
//! plaintext: the compiler refuses to print a report by accident. Every
//! buffer that holds report text is `Zeroizing`.

use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use url::Url;
use zeroize::{Zeroize, Zeroizing};

/// At least one URL is required, at most this many.
pub const MAX_URLS: usize = 10;
/// Per URL, in characters as typed.
pub const MAX_URL_CHARS: usize = 2048;
/// The optional description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 4000;

/// Padded plaintext sizes. Every sealed report is one of these plus the age
/// overhead, so the size of a blob says nothing about what it holds.
pub const BUCKETS: [usize; 4] = [1024, 4096, 16 * 1024, 64 * 1024];

/// Version of the plaintext document inside each seal.
pub const DOCUMENT_VERSION: u32 = 1;

/// The interface languages. The path prefix (`/ar/`) is the id.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Ar,
    Fr,
    En,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::Ar, Lang::Fr, Lang::En];

    pub fn id(self) -> &'static str {
        match self {
            Lang::Ar => "ar",
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }

    pub fn from_id(id: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.id() == id)
    }

    pub fn is_rtl(self) -> bool {
        matches!(self, Lang::Ar)
    }
}

/// What kind of harm the report is about.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum Category {
    /// Child sexual abuse images or videos.
    #[serde(rename = "abuse-imagery")]
    AbuseImagery,
    /// Grooming or sexual contact with a child.
    #[serde(rename = "grooming")]
    Grooming,
    #[serde(rename = "sextortion")]
    Sextortion,
    /// Other harm to a child online.
    #[serde(rename = "other-harm")]
    OtherHarm,
}

impl Category {
    pub const ALL: [Category; 4] = [
        Category::AbuseImagery,
        Category::Grooming,
        Category::Sextortion,
        Category::OtherHarm,
    ];

    /// The form value, the document value and the end of the translation id.
    pub fn id(self) -> &'static str {
        match self {
            Category::AbuseImagery => "abuse-imagery",
            Category::Grooming => "grooming",
            Category::Sextortion => "sextortion",
            Category::OtherHarm => "other-harm",
        }
    }

    pub fn from_id(id: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.id() == id)
    }
}

/// Where the reporter saw it (optional).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WhereSeen {
    Website,
    SocialNetwork,
    MessagingApp,
    SearchEngine,
    Other,
}

impl WhereSeen {
    pub const ALL: [WhereSeen; 5] = [
        WhereSeen::Website,
        WhereSeen::SocialNetwork,
        WhereSeen::MessagingApp,
        WhereSeen::SearchEngine,
        WhereSeen::Other,
    ];

    pub fn id(self) -> &'static str {
        match self {
            WhereSeen::Website => "website",
            WhereSeen::SocialNetwork => "social-network",
            WhereSeen::MessagingApp => "messaging-app",
            WhereSeen::SearchEngine => "search-engine",
            WhereSeen::Other => "other",
        }
    }

    pub fn from_id(id: &str) -> Option<WhereSeen> {
        WhereSeen::ALL.into_iter().find(|w| w.id() == id)
    }
}

/// The form fields exactly as the reporter typed them, kept so that an
/// invalid form can be shown again with nothing lost. Plaintext: no Debug.
#[derive(Default, Zeroize)]
#[zeroize(drop)]
pub struct FormInput {
    pub urls: String,
    pub category: String,
    pub where_seen: String,
    pub description: String,
}

/// The form fields a validation error can point at.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Field {
    Urls,
    Category,
    WhereSeen,
    Description,
}

impl Field {
    /// The `name`/`id` of the form control.
    pub fn id(self) -> &'static str {
        match self {
            Field::Urls => "urls",
            Field::Category => "category",
            Field::WhereSeen => "where_seen",
            Field::Description => "description",
        }
    }
}

/// Why a field was refused. Each maps to a translation id (`err-…`); none
/// carries the input, so an error can be logged or counted safely.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Problem {
    UrlMissing,
    TooManyUrls,
    /// The n-th URL (1-based) is not a web address.
    UrlInvalid(usize),
    /// The n-th URL uses a scheme other than http or https.
    UrlScheme(usize),
    UrlTooLong(usize),
    CategoryMissing,
    CategoryInvalid,
    WhereSeenInvalid,
    DescriptionTooLong,
    DescriptionControl,
    /// The whole report would not fit the largest padding bucket.
    ReportTooLarge,
}

impl Problem {
    pub fn field(self) -> Field {
        match self {
            Problem::UrlMissing
            | Problem::TooManyUrls
            | Problem::UrlInvalid(_)
            | Problem::UrlScheme(_)
            | Problem::UrlTooLong(_)
            | Problem::ReportTooLarge => Field::Urls,
            Problem::CategoryMissing | Problem::CategoryInvalid => Field::Category,
            Problem::WhereSeenInvalid => Field::WhereSeen,
            Problem::DescriptionTooLong | Problem::DescriptionControl => Field::Description,
        }
    }

    /// Translation id of the message shown next to the field.
    pub fn message_id(self) -> &'static str {
        match self {
            Problem::UrlMissing => "err-url-missing",
            Problem::TooManyUrls => "err-url-too-many",
            Problem::UrlInvalid(_) => "err-url-invalid",
            Problem::UrlScheme(_) => "err-url-scheme",
            Problem::UrlTooLong(_) => "err-url-too-long",
            Problem::CategoryMissing => "err-category-missing",
            Problem::CategoryInvalid => "err-category-invalid",
            Problem::WhereSeenInvalid => "err-where-invalid",
            Problem::DescriptionTooLong => "err-description-too-long",
            Problem::DescriptionControl => "err-description-control",
            Problem::ReportTooLarge => "err-report-too-large",
        }
    }

    /// The URL line the problem is about, if any (1-based).
    pub fn line(self) -> Option<usize> {
        match self {
            Problem::UrlInvalid(n) | Problem::UrlScheme(n) | Problem::UrlTooLong(n) => Some(n),
            _ => None,
        }
    }
}

/// A validated report: the only type that can be sealed. Fields are private
/// so nothing outside this module can build one without validation.
pub struct Report {
    lang: Lang,
    category: Category,
    where_seen: Option<WhereSeen>,
    /// As typed (trimmed); each one parsed as an http(s) URL.
    urls: Vec<Zeroizing<String>>,
    description: Zeroizing<String>,
    /// The padded size, known from validation: the encoding allocates
    /// exactly this once, and wipes no more than this.
    bucket: usize,
}

static_assertions::assert_not_impl_any!(Report: std::fmt::Debug, std::fmt::Display, Clone, Serialize);
static_assertions::assert_not_impl_any!(FormInput: std::fmt::Debug, std::fmt::Display, Clone, Serialize);

/// Parse a URL as a reporter would mean it: `example.com/x` is taken as
/// `http://example.com/x`. Returns the problem if it is not a web address.
pub fn parse_web_url(typed: &str, line: usize) -> Result<Url, Problem> {
    let parsed = match Url::parse(typed) {
        Ok(u) => u,
        // No scheme: reporters often copy the address bar without it.
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            Url::parse(&format!("http://{typed}")).map_err(|_| Problem::UrlInvalid(line))?
        }
        Err(_) => return Err(Problem::UrlInvalid(line)),
    };
    match parsed.scheme() {
        "http" | "https" => {}
        _ => return Err(Problem::UrlScheme(line)),
    }
    match parsed.host_str() {
        Some(h) if !h.is_empty() => Ok(parsed),
        _ => Err(Problem::UrlInvalid(line)),
    }
}

impl Report {
    /// Validate what the reporter typed. `offered` is the list of categories
    /// this hotline accepts (from the operator's config). All problems are
    /// returned at once, so the reporter can fix everything in one go.
    pub fn validate(
        input: &FormInput,
        lang: Lang,
        offered: &[Category],
    ) -> Result<Report, Vec<Problem>> {
        let mut problems = Vec::new();

        let mut urls = Vec::new();
        let typed: Vec<&str> = input.urls.split_whitespace().collect();
        if typed.is_empty() {
            problems.push(Problem::UrlMissing);
        } else if typed.len() > MAX_URLS {
            problems.push(Problem::TooManyUrls);
        } else {
            for (i, t) in typed.iter().enumerate() {
                let line = i + 1;
                if t.chars().count() > MAX_URL_CHARS {
                    problems.push(Problem::UrlTooLong(line));
                } else if t.chars().any(char::is_control) {
                    problems.push(Problem::UrlInvalid(line));
                } else {
                    match parse_web_url(t, line) {
                        Ok(_) => urls.push(Zeroizing::new((*t).to_owned())),
                        Err(p) => problems.push(p),
                    }
                }
            }
        }

        let category = match input.category.as_str() {
            "" => {
                problems.push(Problem::CategoryMissing);
                None
            }
            id => match Category::from_id(id).filter(|c| offered.contains(c)) {
                Some(c) => Some(c),
                None => {
                    problems.push(Problem::CategoryInvalid);
                    None
                }
            },
        };

        let where_seen = match input.where_seen.as_str() {
            "" => None,
            id => match WhereSeen::from_id(id) {
                Some(w) => Some(w),
                None => {
                    problems.push(Problem::WhereSeenInvalid);
                    None
                }
            },
        };

        let description = &input.description;
        if description.chars().count() > MAX_DESCRIPTION_CHARS {
            problems.push(Problem::DescriptionTooLong);
        } else if description
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            problems.push(Problem::DescriptionControl);
        }

        match category {
            Some(category) if problems.is_empty() => {
                let mut report = Report {
                    lang,
                    category,
                    where_seen,
                    urls,
                    description: Zeroizing::new(description.clone()),
                    bucket: 0,
                };
                // Only pathological input (ten 2,048-character URLs in a
                // four-byte script) can overflow the largest bucket.
                match bucket_for(report.unpadded_len()) {
                    Some(bucket) => report.bucket = bucket,
                    None => return Err(vec![Problem::ReportTooLarge]),
                }
                Ok(report)
            }
            _ => Err(problems),
        }
    }

    pub fn lang(&self) -> Lang {
        self.lang
    }

    fn document<'a>(&'a self, receipt: &'a Receipt, received: &'a str) -> DocumentRef<'a> {
        DocumentRef {
            v: DOCUMENT_VERSION,
            receipt: &receipt.0,
            received,
            language: self.lang,
            category: self.category,
            urls: self.urls.iter().map(|u| u.as_str()).collect(),
            where_seen: self.where_seen,
            description: &self.description,
            pad: "",
        }
    }

    fn unpadded_len(&self) -> usize {
        let receipt = Receipt(Zeroizing::new("XXXX-XXXX-XXXX".into()));
        let mut counter = CountingWriter(0);
        serde_json::to_writer(&mut counter, &self.document(&receipt, "2000-01-01"))
            .expect("serialising to a counter cannot fail");
        counter.0
    }

    /// Encode as the versioned JSON document, padded with spaces in the
    /// final `pad` field so its length is exactly one of [`BUCKETS`].
    pub fn encode_padded(&self, receipt: &Receipt, received: &ReceivedDate) -> Padded {
        // One allocation of the final size: growing a Vec would leave
        // copies of the plaintext in freed memory that nobody zeroizes.
        let target = self.bucket;
        let mut buf = Zeroizing::new(Vec::with_capacity(target));
        serde_json::to_writer(&mut *buf, &self.document(receipt, &received.0))
            .expect("serialising to memory cannot fail");
        assert!(
            buf.len() <= target,
            "the receipt and date placeholders must have the real lengths"
        );
        // The document ends with `"pad":""}`: put the spaces between the quotes.
        debug_assert!(buf.ends_with(b"\"pad\":\"\"}"));
        let end = buf.len() - 2;
        buf.truncate(end);
        let spaces = target - buf.len() - 2;
        buf.extend(std::iter::repeat_n(b' ', spaces));
        buf.extend_from_slice(b"\"}");
        debug_assert_eq!(buf.len(), target);
        Padded(buf)
    }
}

/// The smallest bucket that holds `len` bytes.
pub fn bucket_for(len: usize) -> Option<usize> {
    BUCKETS.into_iter().find(|&b| b >= len)
}

struct CountingWriter(usize);
impl std::io::Write for CountingWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0 += b.len();
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The padded plaintext document, ready to be sealed. Zeroized on drop.
pub struct Padded(Zeroizing<Vec<u8>>);

impl Padded {
    /// The plaintext bytes: for sealing, and for tests and fuzzing that
    /// check the encoding. Never write them anywhere.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

static_assertions::assert_not_impl_any!(Padded: std::fmt::Debug, Clone, Serialize);

/// The code shown to the reporter once, on the thank-you page, and sealed
/// inside the report: so they can refer to it if they contact the hotline.
/// 60 random bits, Crockford base32, as `XXXX-XXXX-XXXX`.
pub struct Receipt(Zeroizing<String>);

static_assertions::assert_not_impl_any!(Receipt: std::fmt::Debug, std::fmt::Display, Clone, Serialize);

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

impl Receipt {
    pub fn random() -> Receipt {
        let mut bytes = Zeroizing::new([0u8; 8]);
        getrandom::fill(&mut *bytes).expect("the operating system's random source failed");
        let bits = u64::from_le_bytes(*bytes);
        let mut code = Zeroizing::new(String::with_capacity(14));
        for i in 0..12 {
            if i > 0 && i % 4 == 0 {
                code.push('-');
            }
            code.push(CROCKFORD[((bits >> (i * 5)) & 31) as usize] as char);
        }
        Receipt(code)
    }

    /// For the thank-you page only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Is this string shaped like a receipt code? (Used by tests and `open`.)
    pub fn is_well_formed(s: &str) -> bool {
        s.len() == 14
            && s.split('-').count() == 3
            && s.split('-')
                .all(|g| g.len() == 4 && g.bytes().all(|b| CROCKFORD.contains(&b)))
    }
}

/// The day a report arrived, in UTC, as `YYYY-MM-DD`. Never finer: the
/// exact time would help link a report to a reporter's Tor circuit.
pub struct ReceivedDate(String);

impl ReceivedDate {
    pub fn today() -> ReceivedDate {
        ReceivedDate::from_date(time::OffsetDateTime::now_utc().date())
    }

    pub fn from_date(d: time::Date) -> ReceivedDate {
        let mut s = String::with_capacity(10);
        let _ = write!(
            s,
            "{:04}-{:02}-{:02}",
            d.year(),
            u8::from(d.month()),
            d.day()
        );
        ReceivedDate(s)
    }
}

/// The document as written (borrowed from a [`Report`]); field order is the
/// canonical order. `pad` must stay last: padding relies on it.
#[derive(Serialize)]
struct DocumentRef<'a> {
    v: u32,
    receipt: &'a str,
    received: &'a str,
    language: Lang,
    category: Category,
    urls: Vec<&'a str>,
    where_seen: Option<WhereSeen>,
    description: &'a str,
    pad: &'a str,
}

/// The document as the analyst reads it after decryption (see [`crate::open`]).
/// Analysts' plaintext on their own workstation: it may be serialised into
/// their outputs, but still never printed by accident.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    pub v: u32,
    pub receipt: String,
    pub received: String,
    pub language: Lang,
    pub category: Category,
    pub urls: Vec<String>,
    pub where_seen: Option<WhereSeen>,
    pub description: String,
    #[serde(skip_serializing)]
    pub pad: String,
}

impl Drop for Document {
    fn drop(&mut self) {
        self.receipt.zeroize();
        self.urls.zeroize();
        self.description.zeroize();
    }
}

static_assertions::assert_not_impl_any!(Document: std::fmt::Debug, std::fmt::Display, Clone);

/// Why a decrypted plaintext is not a document we understand.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("the report is not a Salama report document (malformed JSON)")]
    Malformed,
    #[error(
        "the report uses document version {0}, which this salama does not know; upgrade salama on the analyst workstation"
    )]
    UnknownVersion(u32),
}

impl Document {
    pub fn decode(plaintext: &[u8]) -> Result<Document, DocumentError> {
        let doc: Document =
            serde_json::from_slice(plaintext).map_err(|_| DocumentError::Malformed)?;
        if doc.v != DOCUMENT_VERSION {
            return Err(DocumentError::UnknownVersion(doc.v));
        }
        Ok(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(urls: &str, category: &str, where_seen: &str, description: &str) -> FormInput {
        FormInput {
            urls: urls.into(),
            category: category.into(),
            where_seen: where_seen.into(),
            description: description.into(),
        }
    }

    fn valid(i: &FormInput) -> Report {
        match Report::validate(i, Lang::En, &Category::ALL) {
            Ok(r) => r,
            Err(p) => panic!("expected valid, got {p:?}"),
        }
    }

    fn problems(i: &FormInput) -> Vec<Problem> {
        match Report::validate(i, Lang::En, &Category::ALL) {
            Ok(_) => panic!("expected problems"),
            Err(p) => p,
        }
    }

    #[test]
    fn padded_document_round_trips_and_fills_a_bucket() {
        for desc_len in [0usize, 10, 900, 1000, 3000, 4000] {
            let desc: String = "د".repeat(desc_len);
            let i = input(
                "https://example.com/a\nhttp://abcdefghijklmnop.onion/x",
                "grooming",
                "",
                &desc,
            );
            let r = valid(&i);
            let receipt = Receipt::random();
            let padded = r.encode_padded(&receipt, &ReceivedDate::today());
            assert!(BUCKETS.contains(&padded.expose().len()));
            let doc = Document::decode(padded.expose()).unwrap();
            assert_eq!(doc.description, desc);
            assert_eq!(doc.receipt, receipt.expose());
            assert_eq!(doc.urls.len(), 2);
            assert_eq!(doc.category, Category::Grooming);
            assert_eq!(doc.where_seen, None);
            assert!(doc.pad.bytes().all(|b| b == b' '));
        }
    }

    #[test]
    fn the_largest_legal_report_fits_the_top_bucket() {
        let url = format!("https://example.com/{}", "a".repeat(MAX_URL_CHARS - 20));
        let urls = vec![url; MAX_URLS].join("\n");
        let desc = "\u{10348}".repeat(MAX_DESCRIPTION_CHARS);
        let r = valid(&input(&urls, "sextortion", "other", &desc));
        let p = r.encode_padded(&Receipt::random(), &ReceivedDate::today());
        assert_eq!(p.expose().len(), *BUCKETS.last().unwrap());
    }

    #[test]
    fn url_rules() {
        assert_eq!(
            problems(&input("", "grooming", "", "")),
            vec![Problem::UrlMissing]
        );
        assert_eq!(
            problems(&input("   \n ", "grooming", "", "")),
            vec![Problem::UrlMissing]
        );
        let eleven = ["https://e.com/"; 11].join("\n");
        assert_eq!(
            problems(&input(&eleven, "grooming", "", "")),
            vec![Problem::TooManyUrls]
        );
        let ten = ["https://e.com/"; 10].join("\n");
        valid(&input(&ten, "grooming", "", ""));
        assert_eq!(
            problems(&input("https://ok.com\nftp://x.com/", "grooming", "", "")),
            vec![Problem::UrlScheme(2)]
        );
        assert_eq!(
            problems(&input("javascript:alert(1)", "grooming", "", "")),
            vec![Problem::UrlScheme(1)]
        );
        assert_eq!(
            problems(&input("http://", "grooming", "", "")),
            vec![Problem::UrlInvalid(1)]
        );
        let long = format!("https://e.com/{}", "a".repeat(MAX_URL_CHARS));
        assert_eq!(
            problems(&input(&long, "grooming", "", "")),
            vec![Problem::UrlTooLong(1)]
        );
        let exact = format!("https://e.com/{}", "a".repeat(MAX_URL_CHARS - 14));
        valid(&input(&exact, "grooming", "", ""));
        // No scheme: taken as http.
        valid(&input("www.example.com/path?q=1", "grooming", "", ""));
        valid(&input(
            "http://abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstu.onion/",
            "grooming",
            "",
            "",
        ));
    }

    #[test]
    fn category_where_and_description_rules() {
        assert_eq!(
            problems(&input("e.com", "", "", "")),
            vec![Problem::CategoryMissing]
        );
        assert_eq!(
            problems(&input("e.com", "bogus", "", "")),
            vec![Problem::CategoryInvalid]
        );
        assert_eq!(
            Report::validate(
                &input("e.com", "grooming", "", ""),
                Lang::Fr,
                &[Category::AbuseImagery]
            )
            .err(),
            Some(vec![Problem::CategoryInvalid])
        );
        assert_eq!(
            problems(&input("e.com", "grooming", "moon", "")),
            vec![Problem::WhereSeenInvalid]
        );
        for w in WhereSeen::ALL {
            valid(&input("e.com", "grooming", w.id(), ""));
        }
        let long = "x".repeat(MAX_DESCRIPTION_CHARS + 1);
        assert_eq!(
            problems(&input("e.com", "grooming", "", &long)),
            vec![Problem::DescriptionTooLong]
        );
        valid(&input(
            "e.com",
            "grooming",
            "",
            &"ж".repeat(MAX_DESCRIPTION_CHARS),
        ));
        valid(&input("e.com", "grooming", "", "line one\r\nline\ttwo"));
        assert_eq!(
            problems(&input("e.com", "grooming", "", "a\u{0}b")),
            vec![Problem::DescriptionControl]
        );
    }

    #[test]
    fn all_problems_are_reported_at_once() {
        let p = problems(&input("ftp://x", "", "moon", &"x".repeat(5000)));
        assert_eq!(
            p,
            vec![
                Problem::UrlScheme(1),
                Problem::CategoryMissing,
                Problem::WhereSeenInvalid,
                Problem::DescriptionTooLong
            ]
        );
    }

    #[test]
    fn receipts_are_well_formed_and_distinct() {
        let a = Receipt::random();
        let b = Receipt::random();
        assert!(Receipt::is_well_formed(a.expose()), "{}", a.expose());
        assert_ne!(a.expose(), b.expose());
        assert!(!Receipt::is_well_formed("ABCD-EFGH-IJKL")); // I and L are not Crockford
    }

    #[test]
    fn received_date_is_day_only() {
        let d = ReceivedDate::from_date(time::macros::date!(2026 - 03 - 07));
        assert_eq!(d.0, "2026-03-07");
    }

    #[test]
    fn documents_of_other_versions_are_refused() {
        let doc = br#"{"v":2,"receipt":"","received":"","language":"en","category":"grooming","urls":[],"where_seen":null,"description":"","pad":""}"#;
        assert!(matches!(
            Document::decode(doc),
            Err(DocumentError::UnknownVersion(2))
        ));
        assert!(matches!(
            Document::decode(b"{"),
            Err(DocumentError::Malformed)
        ));
    }
}

//! Step 4 of the data path: the plaintext document inside each seal,
//! defined once for every reader and writer (the server, `open`, the desk).
//!
//! A canonical JSON object, padded with spaces in a final `pad` field to
//! exactly one of [`BUCKETS`], so a sealed blob's size says nothing about
//! what it holds. Two versions exist; both open:
//!
//! - **1** (`tests/vectors/v1/`): `{"v":1,"receipt","received","language",
//!   "category","urls":[typed…],"where_seen","description","pad"}`, with
//!   60-bit receipts.
//! - **2** (`tests/vectors/v2/`): a report or a follow-up addition:
//!   `{"v":2,"kind","receipt","received","language","category","urls":
//!   [{"typed","url"}…],"platform","platform_name","accounts","demands",
//!   "where_seen","description","pad"}`. Each address as the reporter typed
//!   it and normalised (punycode); the platform and the offender's accounts
//!   for grooming and sextortion; what a sextortion offender demanded. An
//!   addition carries the original report's receipt, and no category.
//!
//! Nothing but the server writes these, but anyone holding an analyst's
//! public key can seal a document. So a decoded document is checked
//! against the format's own rules ([`Document::decode`]): both versions
//! must be in canonical form, with addresses as the form kept them; version
//! 2 with only the fields that fit its harm, within the form's limits;
//! version 1 is held to the rules of its time.

use crate::receipt;
use crate::report::address;
use crate::report::{
    ADDITION_FIELDS, Category, Demands, Kind, Lang, MAX_ACCOUNT_CHARS, MAX_ACCOUNTS,
    MAX_DESCRIPTION_CHARS, MAX_PLATFORM_NAME_CHARS, MAX_URLS, Platform, WhereSeen,
};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use zeroize::{Zeroize, Zeroizing};

/// The version the server writes.
pub const VERSION: u32 = 2;

/// Padded plaintext sizes. Every sealed report is one of these plus the age
/// overhead, so the size of a blob says nothing about what it holds.
pub const BUCKETS: [usize; 4] = [1024, 4096, 16 * 1024, 64 * 1024];

/// Stand-ins of the real lengths, to size a document before it has them.
pub(crate) const RECEIPT_PLACEHOLDER: &str = "XXXX-XXXX-XXXX-XXXX";
pub(crate) const DATE_PLACEHOLDER: &str = "2000-01-01";

/// The smallest bucket that holds `len` bytes.
pub fn bucket_for(len: usize) -> Option<usize> {
    BUCKETS.into_iter().find(|&b| b >= len)
}

/// Report text read back from a seal: a `String` that is wiped when
/// dropped. Serialises as the plain string (for the analyst's outputs).
#[derive(Deserialize, Serialize, Default, PartialEq, Eq)]
#[serde(transparent)]
pub struct Text(String);

impl Drop for Text {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

static_assertions::assert_not_impl_any!(Text: std::fmt::Debug, std::fmt::Display, Clone);

/// One address in a version-2 document.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Url<S> {
    /// As the reporter typed it (trimmed of punctuation).
    pub typed: S,
    /// Normalised, ASCII (punycode), absolute.
    pub url: S,
}

/// Version 2, the one field order that is canonical. `S` is `&str` when
/// the server writes it and [`Text`] when an analyst reads it.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct V2<S> {
    pub v: u32,
    pub kind: Kind,
    pub receipt: S,
    pub received: S,
    pub language: Lang,
    pub category: Option<Category>,
    pub urls: Vec<Url<S>>,
    pub platform: Option<Platform>,
    pub platform_name: Option<S>,
    pub accounts: Vec<S>,
    pub demands: Option<Demands>,
    pub where_seen: Option<WhereSeen>,
    pub description: S,
    /// Spaces up to the bucket; written by [`encode_padded`], last.
    #[serde(skip_serializing)]
    pub pad: S,
}

/// Version 1, as the first server wrote it (read only). Its fields in
/// this order are its canonical form.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct V1 {
    pub v: u32,
    pub receipt: Text,
    pub received: Text,
    pub language: Lang,
    pub category: Category,
    pub urls: Vec<Text>,
    pub where_seen: Option<WhereSeen>,
    pub description: Text,
    #[serde(skip_serializing)]
    pub pad: Text,
    /// Each URL normalised by the version-1 rule (computed on decoding).
    #[serde(skip)]
    normalised: Vec<Text>,
}

/// Serialised length of `doc` once padded with no spaces (`,"pad":""`).
pub(crate) fn encoded_len(doc: &V2<&str>) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    serde_json::to_writer(&mut c, doc).expect("serialising to a counter cannot fail");
    c.0 + PAD_OPEN.len() + PAD_CLOSE.len() - 1
}

const PAD_OPEN: &[u8] = b",\"pad\":\"";
const PAD_CLOSE: &[u8] = b"\"}";

/// Serialise `doc` and pad it to exactly `bucket` bytes.
pub(crate) fn encode_padded(doc: &V2<&str>, bucket: usize) -> Padded {
    // One allocation of the final size: growing a Vec would leave copies
    // of the plaintext in freed memory that nobody zeroizes.
    let mut buf = Zeroizing::new(Vec::with_capacity(bucket));
    serde_json::to_writer(&mut *buf, doc).expect("serialising to memory cannot fail");
    assert!(
        buf.len() + PAD_OPEN.len() + PAD_CLOSE.len() - 1 <= bucket,
        "the receipt and date placeholders must have the real lengths"
    );
    debug_assert_eq!(buf.last(), Some(&b'}'));
    buf.pop();
    buf.extend_from_slice(PAD_OPEN);
    let spaces = bucket - buf.len() - PAD_CLOSE.len();
    buf.extend(std::iter::repeat_n(b' ', spaces));
    buf.extend_from_slice(PAD_CLOSE);
    debug_assert_eq!(buf.len(), bucket);
    Padded(buf)
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

    /// A date as documents write it, if it is one.
    pub fn parse(s: &str) -> Option<ReceivedDate> {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let d = time::Date::parse(s, &format).ok()?;
        let r = ReceivedDate::from_date(d);
        (r.0 == s).then_some(r)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A decrypted document, as the analyst reads it (see [`crate::open`]).
/// Analysts' plaintext on their own workstation: it may be serialised into
/// their outputs (each version in its own shape), but never printed by
/// accident, and it is wiped when dropped.
#[derive(Serialize)]
#[serde(untagged)]
pub enum Document {
    V1(V1),
    V2(V2<Text>),
}

static_assertions::assert_not_impl_any!(Document: std::fmt::Debug, std::fmt::Display, Clone);

/// Why a decrypted plaintext is not a document we accept.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("the report is not a Salama report document (malformed JSON)")]
    Malformed,
    #[error(
        "the report uses document version {0}, which this salama does not know; upgrade salama on the analyst workstation"
    )]
    UnknownVersion(u32),
    #[error(
        "the report's fields break the server's own rules ({0}): it was not made by a Salama server; treat it as forged"
    )]
    Invalid(&'static str),
}

#[derive(Deserialize)]
struct VersionOnly {
    v: u32,
}

impl Document {
    /// Decode and check a decrypted plaintext.
    pub fn decode(plaintext: &[u8]) -> Result<Document, DocumentError> {
        // `VersionOnly` ignores the other fields: a failure here is JSON
        // that is not an object with a numeric `v`.
        let version = serde_json::from_slice::<VersionOnly>(plaintext)
            .map_err(|_| DocumentError::Malformed)?
            .v;
        if !BUCKETS.contains(&plaintext.len()) {
            return Err(DocumentError::Invalid("not padded to a bucket"));
        }
        match version {
            1 => {
                let mut d: V1 =
                    serde_json::from_slice(plaintext).map_err(|_| DocumentError::Malformed)?;
                d.check()?;
                // As version 2: the one spelling the server wrote.
                if !is_canonical(&d, plaintext) {
                    return Err(DocumentError::Invalid("not in the server's canonical form"));
                }
                Ok(Document::V1(d))
            }
            2 => {
                let d: V2<Text> =
                    serde_json::from_slice(plaintext).map_err(|_| DocumentError::Malformed)?;
                check_v2(&d, plaintext)?;
                Ok(Document::V2(d))
            }
            v => Err(DocumentError::UnknownVersion(v)),
        }
    }

    pub fn version(&self) -> u32 {
        match self {
            Document::V1(_) => 1,
            Document::V2(_) => 2,
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Document::V1(_) => Kind::Report,
            Document::V2(d) => d.kind,
        }
    }

    pub fn receipt(&self) -> &str {
        match self {
            Document::V1(d) => &d.receipt,
            Document::V2(d) => &d.receipt,
        }
    }

    /// `YYYY-MM-DD`, UTC.
    pub fn received(&self) -> &str {
        match self {
            Document::V1(d) => &d.received,
            Document::V2(d) => &d.received,
        }
    }

    pub fn language(&self) -> Lang {
        match self {
            Document::V1(d) => d.language,
            Document::V2(d) => d.language,
        }
    }

    /// `None` for an addition.
    pub fn category(&self) -> Option<Category> {
        match self {
            Document::V1(d) => Some(d.category),
            Document::V2(d) => d.category,
        }
    }

    /// Each address: (as typed, normalised absolute URL).
    pub fn urls(&self) -> Vec<(&str, &str)> {
        match self {
            Document::V1(d) => d
                .urls
                .iter()
                .zip(&d.normalised)
                .map(|(t, n)| (&**t, &**n))
                .collect(),
            Document::V2(d) => d.urls.iter().map(|u| (&*u.typed, &*u.url)).collect(),
        }
    }

    pub fn platform(&self) -> Option<Platform> {
        match self {
            Document::V1(_) => None,
            Document::V2(d) => d.platform,
        }
    }

    /// The name the reporter gave a platform not in the list.
    pub fn platform_name(&self) -> Option<&str> {
        match self {
            Document::V1(_) => None,
            Document::V2(d) => d.platform_name.as_deref(),
        }
    }

    pub fn accounts(&self) -> Vec<&str> {
        match self {
            Document::V1(_) => Vec::new(),
            Document::V2(d) => d.accounts.iter().map(|a| &**a).collect(),
        }
    }

    pub fn demands(&self) -> Option<Demands> {
        match self {
            Document::V1(_) => None,
            Document::V2(d) => d.demands,
        }
    }

    pub fn where_seen(&self) -> Option<WhereSeen> {
        match self {
            Document::V1(d) => d.where_seen,
            Document::V2(d) => d.where_seen,
        }
    }

    pub fn description(&self) -> &str {
        match self {
            Document::V1(d) => &d.description,
            Document::V2(d) => &d.description,
        }
    }
}

impl V1 {
    /// The rules of version 1: at least one and at most ten http(s) URLs,
    /// a 60-bit receipt, a day, a description without stray controls.
    fn check(&mut self) -> Result<(), DocumentError> {
        let bad = DocumentError::Invalid;
        if !receipt::is_well_formed_v1(&self.receipt) {
            return Err(bad("receipt"));
        }
        if ReceivedDate::parse(&self.received).is_none() {
            return Err(bad("received date"));
        }
        if self.urls.is_empty() || self.urls.len() > MAX_URLS {
            return Err(bad("number of URLs"));
        }
        for u in &self.urls {
            let parsed = address::v1_parse(u)
                .filter(|_| typed_address_ok(u))
                .ok_or(bad("a URL"))?;
            self.normalised.push(Text(parsed.into()));
        }
        check_description(&self.description)?;
        if !self.pad.bytes().all(|b| b == b' ') {
            return Err(bad("padding"));
        }
        Ok(())
    }
}

/// An address as the reporter typed it, in either version: what the form
/// keeps of a line (no controls, spaces or invisible characters, within
/// the limit). No address begins with `=`, and a spreadsheet runs a cell
/// that does (`=cmd|' /C calc'!A0`): a document holding one was forged.
fn typed_address_ok(t: &str) -> bool {
    !t.is_empty()
        && !t.starts_with('=')
        && t.chars().count() <= address::MAX_URL_CHARS
        && !t
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || address::is_invisible(c))
}

/// `plaintext` is `doc` serialised as the server does (its field order,
/// escaping, no extra space), then padded with spaces: nothing else can
/// hide in it.
fn is_canonical<T: Serialize>(doc: &T, plaintext: &[u8]) -> bool {
    // Sized once: a growing Vec would leave plaintext in freed memory.
    let mut buf = Zeroizing::new(Vec::with_capacity(plaintext.len()));
    if serde_json::to_writer(&mut *buf, doc).is_err() || buf.pop() != Some(b'}') {
        return false;
    }
    plaintext
        .strip_prefix(&buf[..])
        .and_then(|rest| rest.strip_prefix(PAD_OPEN))
        .and_then(|rest| rest.strip_suffix(PAD_CLOSE))
        .is_some_and(|spaces| spaces.iter().all(|&b| b == b' '))
}

fn check_description(d: &str) -> Result<(), DocumentError> {
    if d.chars().count() > MAX_DESCRIPTION_CHARS
        || d.chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(DocumentError::Invalid("description"));
    }
    Ok(())
}

/// Version 2 must be in the server's canonical form (serialised again, it
/// comes out byte for byte the same) and hold only what the form can
/// produce: the fields that fit its harm, within their limits, no control
/// or invisible characters, addresses that are absolute http(s) URLs in
/// normalised form. These are the format's own rules. The form's policy on
/// which hosts to accept (the Public Suffix List, local names) may tighten
/// later, so it is not re-applied: a document sealed under older rules
/// must still open.
fn check_v2(d: &V2<Text>, plaintext: &[u8]) -> Result<(), DocumentError> {
    let bad = DocumentError::Invalid;
    if !receipt::is_well_formed(&d.receipt) {
        return Err(bad("receipt"));
    }
    if ReceivedDate::parse(&d.received).is_none() {
        return Err(bad("received date"));
    }
    let fields = match (d.kind, d.category) {
        (Kind::Report, Some(c)) => c.fields(),
        (Kind::Addition, None) => ADDITION_FIELDS,
        _ => return Err(bad("kind and category")),
    };
    let clean = |s: &str, max: usize| {
        !s.is_empty()
            && s.chars().count() <= max
            && !s
                .chars()
                .any(|c| c.is_control() || address::is_invisible(c))
    };

    if d.urls.len() > MAX_URLS || (!fields.urls && !d.urls.is_empty()) {
        return Err(bad("number of addresses"));
    }
    if fields.urls_required && d.urls.is_empty() {
        return Err(bad("no address"));
    }
    for u in &d.urls {
        let normal = ::url::Url::parse(&u.url).ok().filter(|p| {
            matches!(p.scheme(), "http" | "https")
                && p.host_str().is_some_and(|h| !h.is_empty())
                && p.as_str() == &*u.url
        });
        // What the analyst reads as typed must name the host they look up.
        let host = |p: &::url::Url| p.host_str().map(|h| h.trim_end_matches('.').to_owned());
        let same_host = match (&normal, address::v1_parse(&u.typed)) {
            (Some(n), Some(t)) => host(n) == host(&t),
            _ => false,
        };
        if !same_host || !typed_address_ok(&u.typed) {
            return Err(bad("an address"));
        }
    }

    let has_accounts = d.platform.is_some() || d.platform_name.is_some() || !d.accounts.is_empty();
    if has_accounts && !fields.accounts {
        return Err(bad("accounts where they do not fit"));
    }
    if d.accounts.len() > MAX_ACCOUNTS
        || d.accounts
            .iter()
            .any(|a| !clean(a, MAX_ACCOUNT_CHARS) || a.trim() != &**a)
    {
        return Err(bad("an account"));
    }
    if let Some(name) = &d.platform_name {
        if d.platform != Some(Platform::Other)
            || !clean(name, MAX_PLATFORM_NAME_CHARS)
            || name.trim() != &**name
        {
            return Err(bad("platform name"));
        }
    }
    if d.kind == Kind::Report && fields.accounts {
        if d.accounts.is_empty() && d.urls.is_empty() {
            return Err(bad("neither account nor address"));
        }
        if !d.accounts.is_empty() && d.platform.is_none() {
            return Err(bad("accounts without a platform"));
        }
    }
    if d.demands.is_some() != (d.kind == Kind::Report && fields.demands) {
        return Err(bad("demands"));
    }
    if d.where_seen.is_some() && !fields.where_seen {
        return Err(bad("where seen"));
    }
    check_description(&d.description)?;
    if d.kind == Kind::Addition
        && d.urls.is_empty()
        && !has_accounts
        && d.description.trim().is_empty()
    {
        return Err(bad("an empty addition"));
    }

    // Canonical: the same fields serialised again give the same bytes
    // (field order, escaping, no extra spaces, padding to this bucket).
    let view = V2::<&str> {
        v: d.v,
        kind: d.kind,
        receipt: &d.receipt,
        received: &d.received,
        language: d.language,
        category: d.category,
        urls: d
            .urls
            .iter()
            .map(|u| Url {
                typed: &*u.typed,
                url: &*u.url,
            })
            .collect(),
        platform: d.platform,
        platform_name: d.platform_name.as_deref(),
        accounts: d.accounts.iter().map(|a| &**a).collect(),
        demands: d.demands,
        where_seen: d.where_seen,
        description: &d.description,
        pad: "",
    };
    if encoded_len(&view) > plaintext.len()
        || encode_padded(&view, plaintext.len()).expose() != plaintext
    {
        return Err(bad("not in the server's canonical form"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn received_dates_are_days_only_and_checked() {
        let d = ReceivedDate::from_date(time::macros::date!(2026 - 03 - 07));
        assert_eq!(d.as_str(), "2026-03-07");
        assert!(ReceivedDate::parse("2026-03-07").is_some());
        for bad in [
            "2026-3-7",
            "2026-02-30",
            "2026-03-07T10:00",
            "yesterday",
            "",
        ] {
            assert!(ReceivedDate::parse(bad).is_none(), "{bad}");
        }
    }

    /// The form's host policy may tighten (a suffix leaves the list, a
    /// rule is added); documents sealed before must still open.
    #[test]
    fn a_document_sealed_under_older_host_rules_still_opens() {
        let doc = V2::<&str> {
            v: VERSION,
            kind: Kind::Report,
            receipt: "0123-4567-89AB-CDEF",
            received: "2026-11-30",
            language: Lang::Fr,
            category: Some(Category::AbuseImagery),
            urls: vec![Url {
                typed: "example.con/x",
                url: "http://example.con/x",
            }],
            platform: None,
            platform_name: None,
            accounts: vec![],
            demands: None,
            where_seen: None,
            description: "",
            pad: "",
        };
        assert!(
            crate::report::address::parse_addresses("example.con/x")
                .0
                .is_empty()
        );
        let padded = encode_padded(&doc, 1024);
        let opened = Document::decode(padded.expose()).unwrap();
        assert_eq!(
            opened.urls(),
            vec![("example.con/x", "http://example.con/x")]
        );
    }

    /// `s` (ending `"pad":""}`) padded with spaces to 1024 bytes.
    fn pad(s: &str) -> Vec<u8> {
        let mut v = s.as_bytes().to_vec();
        let at = v.len() - 2;
        v.splice(at..at, std::iter::repeat_n(b' ', 1024 - s.len()));
        v
    }

    #[test]
    fn documents_of_other_versions_or_shapes_are_refused() {
        let doc = pad(r#"{"v":3,"pad":""}"#);
        assert!(matches!(
            Document::decode(&doc),
            Err(DocumentError::UnknownVersion(3))
        ));
        assert!(matches!(
            Document::decode(b"{"),
            Err(DocumentError::Malformed)
        ));
        // A version-1 document with a URL v1 never accepted.
        let v1 = pad(
            r#"{"v":1,"receipt":"0123-4567-89AB","received":"2026-01-01","language":"en","category":"grooming","urls":["ftp://x"],"where_seen":null,"description":"","pad":""}"#,
        );
        assert!(matches!(
            Document::decode(&v1),
            Err(DocumentError::Invalid(_))
        ));
        let v1_ok = pad(
            r#"{"v":1,"receipt":"0123-4567-89AB","received":"2026-01-01","language":"en","category":"grooming","urls":["x.example"],"where_seen":null,"description":"","pad":""}"#,
        );
        let d = Document::decode(&v1_ok).unwrap();
        assert_eq!(d.urls(), vec![("x.example", "http://x.example/")]);
        // Not padded to a bucket: not from a server.
        assert!(Document::decode(&v1_ok[..1000]).is_err());
    }

    /// Issue 13, item 5: anyone holding a public key can seal a document;
    /// version 1 is checked as version 2 is, so a forged one never reaches
    /// a spreadsheet or the triage page as a report.
    #[test]
    fn a_forged_version_1_document_is_refused() {
        let v1 = |urls: &str| {
            format!(
                r#"{{"v":1,"receipt":"0123-4567-89AB","received":"2026-01-01","language":"en","category":"grooming","urls":{urls},"where_seen":null,"description":"","pad":""}}"#
            )
        };
        for urls in [
            r#"["=cmd|' /C calc'!A0"]"#,
            r#"["=cmd|'/Ccalc'!A0"]"#,
            r#"["=x.example.com/|cmd"]"#,
            r#"["=HYPERLINK(x.example.com)"]"#,
            r#"["x\u200b.example.com"]"#,
            r#"["x.example.com\u202e"]"#,
            r#"[""]"#,
        ] {
            assert!(
                matches!(
                    Document::decode(&pad(&v1(urls))),
                    Err(DocumentError::Invalid(_))
                ),
                "{urls}"
            );
        }
        // The same fields spelled another way: not what a server wrote.
        let ok = v1(r#"["x.example.com"]"#);
        assert!(Document::decode(&pad(&ok)).is_ok());
        for other in [
            ok.replace(r#""v":1,"#, r#""v": 1,"#),
            ok.replace(
                r#""language":"en","category":"grooming""#,
                r#""category":"grooming","language":"en""#,
            ),
            ok.replace("x.example.com", r#"x.\u0065xample.com"#),
            ok.replace(
                r#""description":"""#,
                r#""description":"","description":"""#,
            ),
        ] {
            assert!(
                matches!(
                    Document::decode(&pad(&other)),
                    Err(DocumentError::Invalid(_) | DocumentError::Malformed)
                ),
                "{other}"
            );
        }
    }
}

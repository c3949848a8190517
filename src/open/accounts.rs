//! Step 8, beside `urls.csv`: the offenders' accounts across every opened
//! report, so an analyst sees at once that three reports name the same
//! Instagram account. One row per distinct platform + account, with the
//! number of reports naming it and every spelling reporters typed.
//!
//! Accounts are compared the way platforms compare them, loosely: case and
//! a leading `@` do not count, and a phone number is its digits (`+33 6 12
//! 34 56 78` and `+33612345678` are one number). An addition counts with
//! its report (same receipt), and an account added without a platform is
//! taken to be on its report's platform.

use crate::escape::csv_cell;
use crate::report::{Document, Platform};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

/// One platform + account, across reports.
pub struct AccountRow {
    pub platform: Option<Platform>,
    /// The name reporters gave a platform not in the list (folded).
    pub platform_name: String,
    /// The account as compared: see the module's doc.
    pub account: String,
    /// Distinct receipts (reports) naming it.
    pub reports: usize,
    /// Every spelling typed, in order.
    pub typed: BTreeSet<String>,
}

fn is_phone_digit(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, '\u{660}'..='\u{669}' | '\u{6f0}'..='\u{6f9}')
}

/// `٠`–`٩` and `۰`–`۹` as ASCII digits.
fn ascii_digit(c: char) -> char {
    match c {
        '\u{660}'..='\u{669}' => char::from(b'0' + (c as u32 - 0x660) as u8),
        '\u{6f0}'..='\u{6f9}' => char::from(b'0' + (c as u32 - 0x6f0) as u8),
        c => c,
    }
}

/// An account as platforms compare it.
pub fn fold(account: &str) -> String {
    let a = account.trim().trim_start_matches('@').trim();
    let digits = a.chars().filter(|c| is_phone_digit(*c)).count();
    let phone = digits >= 7
        && a.chars().all(|c| {
            is_phone_digit(c) || matches!(c, '+' | '-' | '.' | '(' | ')') || c.is_whitespace()
        });
    if phone {
        let plus = a.starts_with('+').then_some('+');
        plus.into_iter()
            .chain(a.chars().filter(|c| is_phone_digit(*c)).map(ascii_digit))
            .collect()
    } else {
        a.to_lowercase()
    }
}

/// Every distinct platform + account, most reported first.
pub fn account_counts(good: &[(String, Document)]) -> Vec<AccountRow> {
    // An addition without a platform is about its report's.
    let platform_of: BTreeMap<&str, (Option<Platform>, Option<&str>)> = good
        .iter()
        .filter(|(_, d)| d.kind() == crate::report::Kind::Report)
        .map(|(_, d)| (d.receipt(), (d.platform(), d.platform_name())))
        .collect();
    type Key = (Option<&'static str>, String, String);
    struct Seen<'a> {
        platform: Option<Platform>,
        name: &'a str,
        receipts: BTreeSet<&'a str>,
        typed: BTreeSet<String>,
    }
    let mut rows: BTreeMap<Key, Seen> = BTreeMap::new();
    for (_, doc) in good {
        let (platform, name) = match doc.platform() {
            Some(p) => (Some(p), doc.platform_name()),
            None => platform_of
                .get(doc.receipt())
                .copied()
                .unwrap_or((None, None)),
        };
        let name = name.unwrap_or("").trim();
        for typed in doc.accounts() {
            let key = (platform.map(|p| p.id()), name.to_lowercase(), fold(typed));
            let row = rows.entry(key).or_insert_with(|| Seen {
                platform,
                name,
                receipts: BTreeSet::new(),
                typed: BTreeSet::new(),
            });
            row.receipts.insert(doc.receipt());
            row.typed.insert(typed.to_owned());
        }
    }
    let mut out: Vec<AccountRow> = rows
        .into_iter()
        .map(|((_, _, account), seen)| AccountRow {
            platform: seen.platform,
            platform_name: seen.name.to_owned(),
            account,
            reports: seen.receipts.len(),
            typed: seen.typed,
        })
        .collect();
    out.sort_by(|a, b| {
        b.reports
            .cmp(&a.reports)
            .then_with(|| a.platform.map(|p| p.id()).cmp(&b.platform.map(|p| p.id())))
            .then_with(|| a.account.cmp(&b.account))
    });
    out
}

/// `accounts.csv`: `platform,platform_name,account,reports,as_typed`.
pub fn write_csv<W: Write>(out: W, rows: &[AccountRow]) -> std::io::Result<()> {
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record([
        "platform",
        "platform_name",
        "account",
        "reports",
        "as_typed",
    ])?;
    for r in rows {
        let typed = r
            .typed
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" | ");
        csv.write_record([
            csv_cell(r.platform.map(|p| p.id()).unwrap_or("")).as_ref(),
            csv_cell(&r.platform_name).as_ref(),
            csv_cell(&r.account).as_ref(),
            &r.reports.to_string(),
            csv_cell(&typed).as_ref(),
        ])?;
    }
    csv.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Category, FormInput, Lang, Receipt, ReceivedDate, Report};

    #[test]
    fn accounts_fold_as_platforms_compare_them() {
        assert_eq!(fold(" @Some.One "), "some.one");
        assert_eq!(fold("some.one"), "some.one");
        assert_eq!(fold("+33 6 12 34 56 78"), "+33612345678");
        assert_eq!(fold("06.12.34.56.78"), "0612345678");
        assert_eq!(fold("+٩٦٦ ٥٠ ١٢٣ ٤٥٦٧"), "+966501234567");
        assert_eq!(fold("(555) 010-0199"), "5550100199");
        assert_eq!(fold("أحمد_123"), "أحمد_123");
        assert_eq!(fold("Agent 007"), "agent 007");
    }

    fn doc(category: &str, platform: &str, accounts: &str, receipt: &Receipt) -> Document {
        let mut i = FormInput::default();
        i.category = category.into();
        i.platform = platform.into();
        i.accounts = accounts.into();
        let r = if category.is_empty() {
            Report::validate_addition(&i, Lang::En)
        } else {
            Report::validate(&i, Lang::En, &Category::ALL)
        };
        let padded = r
            .unwrap_or_else(|p| panic!("{p:?}"))
            .encode_padded(receipt, &ReceivedDate::today());
        Document::decode(padded.expose()).unwrap()
    }

    #[test]
    fn one_row_per_platform_and_account_counting_reports_not_mentions() {
        let (a, b, c) = (Receipt::random(), Receipt::random(), Receipt::random());
        let good: Vec<(String, Document)> = vec![
            ("1".into(), doc("grooming", "instagram", "@Some.One", &a)),
            (
                "2".into(),
                doc("sextortion", "instagram", "some.one\n+33 6 12 34 56 78", &b),
            ),
            ("3".into(), doc("grooming", "tiktok", "some.one", &c)),
            // An addition to the first report: the same account again
            // (still one report), and a new one on the report's platform.
            ("4".into(), doc("", "", "@some.one\nnew_one", &a)),
            ("5".into(), doc("grooming", "whatsapp", "+33612345678", &c)),
        ];
        let rows = account_counts(&good);
        let got: Vec<(Option<&str>, &str, usize, Vec<&str>)> = rows
            .iter()
            .map(|r| {
                (
                    r.platform.map(|p| p.id()),
                    r.account.as_str(),
                    r.reports,
                    r.typed.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    Some("instagram"),
                    "some.one",
                    2,
                    vec!["@Some.One", "@some.one", "some.one"]
                ),
                (
                    Some("instagram"),
                    "+33612345678",
                    1,
                    vec!["+33 6 12 34 56 78"]
                ),
                (Some("instagram"), "new_one", 1, vec!["new_one"]),
                (Some("tiktok"), "some.one", 1, vec!["some.one"]),
                (Some("whatsapp"), "+33612345678", 1, vec!["+33612345678"]),
            ]
        );
        let mut csv = Vec::new();
        write_csv(&mut csv, &rows).unwrap();
        let csv = String::from_utf8(csv).unwrap();
        assert!(csv.starts_with("platform,platform_name,account,reports,as_typed\n"));
        assert!(csv.contains("instagram,,some.one,2,'@Some.One | @some.one | some.one\n"));
        assert!(csv.contains("whatsapp,,'+33612345678,1,'+33612345678\n"));
    }

    #[test]
    fn cells_that_a_spreadsheet_would_run_are_neutralised() {
        for (raw, want) in [
            ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"),
            ("+33612345678", "'+33612345678"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("someone", "someone"),
            ("", ""),
        ] {
            assert_eq!(csv_cell(raw), want);
        }
    }
}

//! What leaves the desk, each written as a new file of mode 0600 (never
//! over an earlier one):
//!
//! - `iccam-DAY.csv`: one row per URL assessed illegal, in the columns
//!   hotline tools exchange through ICCAM;
//! - `by-host-DAY.csv`: the same URLs grouped by host, for notice and takedown;
//! - `answers-SALT-SEQ.txt`: the follow-up answers file (`crate::answers`),
//!   one per server salt, signed with the analyst's key;
//! - `ledger-DAY.jsonl`: the whole ledger, one JSON object a line.
//!
//! Every CSV cell goes through [`crate::escape::csv_cell`]: these files
//! are opened in spreadsheets.

use super::ledger::{Ledger, UrlEntry};
use crate::answers::{Answer, Salt};
use crate::escape::csv_cell;
use crate::keys::signing::SigningKey;
use crate::receipt::Receipt;
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The ICCAM-field CSV's columns, as hotline tools name them.
pub const ICCAM_COLUMNS: [&str; 17] = [
    "Url",
    "ClassificationID",
    "SiteTypeID",
    "ContentTypeID",
    "AgeGroupID",
    "GenderID",
    "IsVirtual",
    "IsChildModeling",
    "IsUserGC",
    "HostingCountry",
    "IWFCategory",
    "Memo",
    "AssessedOn",
    "AssessedBy",
    "Reports",
    "FirstSeen",
    "LastSeen",
];

/// The key that signs answers files, and where its sequence numbers are kept.
pub struct Signer {
    pub key: SigningKey,
    pub path: PathBuf,
}

/// Create `dir/stem.ext` new, or `stem-2.ext`, `stem-3.ext`… if taken.
fn fresh(dir: &Path, stem: &str, ext: &str) -> std::io::Result<(PathBuf, File)> {
    for n in 1.. {
        let name = if n == 1 {
            format!("{stem}.{ext}")
        } else {
            format!("{stem}-{n}.{ext}")
        };
        let path = dir.join(name);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    unreachable!("some name is free")
}

fn finish(f: BufWriter<File>) -> std::io::Result<()> {
    f.into_inner().map_err(|e| e.into_error())?.sync_all()
}

fn yes_no(b: bool) -> &'static str {
    if b { "1" } else { "0" }
}

/// URLs assessed illegal, most reported first.
fn illegal(l: &Ledger) -> Vec<&UrlEntry> {
    let mut v: Vec<&UrlEntry> = l
        .urls
        .iter()
        .filter(|e| {
            l.assessment(&e.url)
                .is_some_and(|a| a.classification.is_illegal())
        })
        .collect();
    v.sort_by(|a, b| {
        b.receipts
            .cmp(&a.receipts)
            .then_with(|| (*a.url).cmp(&*b.url))
    });
    v
}

pub fn iccam_csv(l: &Ledger, dir: &Path, day: &str) -> std::io::Result<PathBuf> {
    let (path, f) = fresh(dir, &format!("iccam-{day}"), "csv")?;
    let mut w = csv::Writer::from_writer(BufWriter::new(f));
    w.write_record(ICCAM_COLUMNS)?;
    for e in illegal(l) {
        let a = l.assessment(&e.url).expect("filtered on it");
        let receipts = e.receipts.to_string();
        let cells = [
            &*e.url,
            a.classification.term(),
            a.site_type.term(),
            a.content_type.map_or("", |x| x.term()),
            a.age_group.map_or("", |x| x.term()),
            a.gender.map_or("", |x| x.term()),
            yes_no(a.is_virtual),
            yes_no(a.child_modelling),
            yes_no(a.user_generated),
            a.hosting_country.as_deref().unwrap_or(""),
            a.iwf_category.map_or("", |x| x.term()),
            &a.note,
            &a.day,
            &a.by,
            &receipts,
            &e.first_seen,
            &e.last_seen,
        ];
        w.write_record(cells.iter().map(|c| csv_cell(c).into_owned()))?;
    }
    finish(w.into_inner().map_err(|e| e.into_error())?)?;
    Ok(path)
}

/// The host of a normalised URL (they are all absolute http(s) URLs).
fn host(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default()
}

pub fn by_host_csv(l: &Ledger, dir: &Path, day: &str) -> std::io::Result<PathBuf> {
    let mut hosts: BTreeMap<String, Vec<&UrlEntry>> = BTreeMap::new();
    for e in illegal(l) {
        hosts.entry(host(&e.url)).or_default().push(e);
    }
    let (path, f) = fresh(dir, &format!("by-host-{day}"), "csv")?;
    let mut w = csv::Writer::from_writer(BufWriter::new(f));
    w.write_record([
        "Host",
        "HostingCountry",
        "Urls",
        "Url",
        "ClassificationID",
        "SiteTypeID",
    ])?;
    for (h, urls) in &hosts {
        let n = urls.len().to_string();
        for e in urls {
            let a = l.assessment(&e.url).expect("filtered on it");
            let cells = [
                h.as_str(),
                a.hosting_country.as_deref().unwrap_or(""),
                &n,
                &e.url,
                a.classification.term(),
                a.site_type.term(),
            ];
            w.write_record(cells.iter().map(|c| csv_cell(c).into_owned()))?;
        }
    }
    finish(w.into_inner().map_err(|e| e.into_error())?)?;
    Ok(path)
}

pub fn ledger_jsonl(l: &Ledger, dir: &Path, day: &str) -> std::io::Result<PathBuf> {
    let (path, f) = fresh(dir, &format!("ledger-{day}"), "jsonl")?;
    let mut w = BufWriter::new(f);
    let line = |w: &mut BufWriter<File>, v: serde_json::Value| -> std::io::Result<()> {
        serde_json::to_writer(&mut *w, &v)?;
        w.write_all(b"\n")
    };
    for b in &l.state.bundles {
        line(&mut w, serde_json::json!({"type": "bundle", "bundle": b}))?;
    }
    for r in &l.state.reports {
        line(&mut w, serde_json::json!({"type": "report", "report": r}))?;
    }
    for e in &l.urls {
        let entries: Vec<&str> = e
            .reports
            .iter()
            .map(|&i| &*l.state.reports[i].entry)
            .collect();
        line(
            &mut w,
            serde_json::json!({
                "type": "url", "url": &*e.url, "reports": entries, "receipts": e.receipts,
                "first_seen": e.first_seen, "last_seen": e.last_seen,
                "assessment": l.assessment(&e.url),
            }),
        )?;
    }
    for (receipt, a) in &l.state.answers {
        line(
            &mut w,
            serde_json::json!({"type": "answer", "receipt": &**receipt, "answer": a}),
        )?;
    }
    finish(w)?;
    Ok(path)
}

#[derive(Debug, thiserror::Error)]
pub enum AnswersError {
    #[error("no answers for reporters yet")]
    None,
    #[error(
        "the bundles of these answers carry no follow-up salt (made before follow-up existed): the server cannot look them up"
    )]
    NoSalt,
    #[error("{0}")]
    Write(#[from] crate::answers::WriteError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// One answers file per server salt; returns the files and how many
/// answers each holds.
pub fn answers_files(
    l: &Ledger,
    dir: &Path,
    signer: &Signer,
) -> Result<Vec<(PathBuf, usize)>, AnswersError> {
    if l.state.answers.is_empty() {
        return Err(AnswersError::None);
    }
    let salts: BTreeMap<&str, &str> = l
        .state
        .bundles
        .iter()
        .filter_map(|b| b.salt.as_deref().map(|s| (b.digest.as_str(), s)))
        .collect();
    let mut by_salt: BTreeMap<&str, Vec<(Receipt, Answer)>> = BTreeMap::new();
    for (receipt, a) in &l.state.answers {
        let Some(salt) = l
            .by_receipt(receipt)
            .iter()
            .find_map(|r| salts.get(r.bundle.as_str()))
        else {
            continue;
        };
        let (Some(r), Ok(answer)) = (
            Receipt::parse(receipt),
            Answer::new(a.status, a.reply, &a.text),
        ) else {
            continue;
        };
        by_salt.entry(salt).or_default().push((r, answer));
    }
    if by_salt.is_empty() {
        return Err(AnswersError::NoSalt);
    }
    let mut out = Vec::new();
    for (salt_hex, entries) in by_salt {
        let salt = Salt::parse_hex(salt_hex).expect("checked when the bundle was read");
        for chunk in entries.chunks(crate::answers::file::MAX_ENTRIES) {
            let seq = crate::keys::signing::next_seq(&signer.path)?;
            let bytes = crate::answers::write_file(chunk, &signer.key, seq, &salt)?;
            let (path, f) = fresh(dir, &format!("answers-{}-{seq}", salt.fingerprint()), "txt")?;
            let mut w = BufWriter::new(f);
            w.write_all(&bytes)?;
            finish(w)?;
            out.push((path, chunk.len()));
        }
    }
    Ok(out)
}

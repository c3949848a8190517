//! Step 8, on the analysts' air-gapped workstation: verify a bundle,
//! decrypt each report with the analyst's identity, and write the triage
//! outputs. No network code is reachable from here (this module is in the
//! `--no-default-features` build).
//!
//! Outputs (directory mode 0700, files 0600, since they are plaintext):
//! - `reports.jsonl`: one JSON object per report, oldest day first;
//! - `urls.csv`: each distinct normalised URL with the number of reports
//!   naming it, most reported first;
//! - `accounts.csv`: each distinct platform + account with the number of
//!   reports naming it ([`accounts`]);
//! - `index.html`: a static, script-free view: the URLs and accounts by
//!   reports, then each report with its additions beside it. URLs are shown
//!   as text, never as links, so nobody opens abuse material by a stray click.

pub mod accounts;

mod parallel;

use crate::bundle::{BundleDigest, BundleError};
use crate::escape::csv_cell;
use crate::keys::Identity;
use crate::report::{Answer, Document, Kind};
use accounts::AccountRow;
use maud::{DOCTYPE, Markup, html};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot read the bundle {}: {}", shown_path(.0), .1)]
    Read(PathBuf, std::io::Error),
    #[error("{0}")]
    Bundle(#[from] BundleError),
    #[error("cannot write the outputs in {}: {}", shown_path(.0), .1)]
    Write(PathBuf, std::io::Error),
    #[error(
        "will not write plaintext into {}: {}. Give --out a path that does not exist yet: salama creates it, mode 0700",
        shown_path(.0),
        .1
    )]
    OutDir(PathBuf, &'static str),
}

/// A report as written to `reports.jsonl`: the bundle entry id, then the
/// document's fields (without padding).
#[derive(serde::Serialize)]
struct Row<'a> {
    id: &'a str,
    #[serde(flatten)]
    doc: &'a Document,
}

fn decrypt(blob: &[u8], identities: &[Identity]) -> Result<Document, String> {
    let d = age::Decryptor::new_buffered(blob).map_err(|_| "not an age file".to_owned())?;
    let mut r = d
        .decrypt(identities.iter().map(|i| i.as_age()))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => {
                "not sealed to any of the given identities".to_owned()
            }
            _ => "the seal is damaged or was altered".to_owned(),
        })?;
    let mut plain = Zeroizing::new(Vec::with_capacity(blob.len()));
    r.read_to_end(&mut plain)
        .map_err(|_| "the sealed payload is damaged or was altered".to_owned())?;
    Document::decode(&plain).map_err(|e| e.to_string())
}

/// A bundle read and decrypted in memory.
pub struct Opened {
    pub digest: BundleDigest,
    /// The follow-up salt of the server that made the bundle (version 2 on).
    pub salt: Option<crate::answers::Salt>,
    /// (entry id, report), oldest day first.
    pub good: Vec<(String, Document)>,
    /// Entries that could not be trusted or decrypted, with the reason.
    /// Both are safe to show ([`shown`]).
    pub bad: BTreeMap<String, String>,
}

/// An entry's name as it may be shown on a terminal, in a file or a page:
/// a well-formed id as it is, anything else (a tampered bundle's stray
/// entry can be named with escape sequences that rewrite the "could NOT
/// be opened" lines) escaped. Done once, here, so no output can forget it.
fn shown(name: &str) -> String {
    if crate::bundle::is_id(name) {
        name.to_owned()
    } else {
        crate::escape::terminal(name).into_owned()
    }
}

/// A path (a bundle's file name may come from the same removable medium
/// as the bundle), as it may be shown.
pub fn shown_path(path: &Path) -> String {
    crate::escape::terminal(&path.display().to_string()).into_owned()
}

/// Verify and decrypt a bundle from any reader. Only blobs the manifest
/// commits to are used; anything else is named in `bad`.
pub fn read_and_decrypt<R: Read>(input: R, identities: &[Identity]) -> Result<Opened, BundleError> {
    let (verified, mut docs) = parallel::read_and_decrypt_all(input, identities, decrypt);
    let verified = verified?;

    let mut bad: BTreeMap<String, String> = BTreeMap::new();
    for (id, p) in &verified.problems {
        bad.insert(shown(id), p.to_string());
        // A blob whose hash does not match must not be used, even if it
        // happens to decrypt: only what the manifest commits to is read.
        docs.remove(id);
    }
    let mut good: Vec<(String, Document)> = Vec::new();
    for (id, d) in docs {
        match d {
            Ok(doc) => good.push((id, doc)),
            Err(reason) => {
                bad.insert(shown(&id), reason);
            }
        }
    }
    good.sort_by(|a, b| (a.1.received(), a.1.receipt()).cmp(&(b.1.received(), b.1.receipt())));
    Ok(Opened {
        digest: verified.digest,
        salt: verified.manifest.salt(),
        good,
        bad,
    })
}

/// What `open` found in one bundle.
pub struct BundleOutcome {
    pub path: std::path::PathBuf,
    pub digest: BundleDigest,
    pub opened: usize,
    /// Entries that could not be trusted or decrypted, with the reason,
    /// both safe to show (escaped unless a well-formed id).
    pub bad: BTreeMap<String, String>,
}

impl BundleOutcome {
    /// The operator may purge a bundle only when every report in it opened.
    pub fn complete(&self) -> bool {
        self.bad.is_empty()
    }
}

/// Verify and decrypt one or more bundles (several instances behind
/// Onionbalance each export their own) and write one merged set of
/// outputs into `out`. Each bundle keeps its own digest.
pub fn open(
    bundles: &[&Path],
    identities: &[Identity],
    out: &Path,
) -> Result<Vec<BundleOutcome>, OpenError> {
    // Before the slow part: an unusable --out is said at once.
    let dir = OutDir::prepare(out)?;
    let mut all_good = Vec::new();
    let mut outcomes = Vec::new();
    let mut all_bad = BTreeMap::new();
    for path in bundles {
        let file = File::open(path).map_err(|e| OpenError::Read(path.to_path_buf(), e))?;
        let opened = read_and_decrypt(std::io::BufReader::new(file), identities)?;
        for (id, why) in &opened.bad {
            all_bad.insert(format!("{}: {id}", shown_path(path)), why.clone());
        }
        outcomes.push(BundleOutcome {
            path: path.to_path_buf(),
            digest: opened.digest,
            opened: opened.good.len(),
            bad: opened.bad,
        });
        all_good.extend(opened.good);
    }
    all_good.sort_by(|a, b| (a.1.received(), a.1.receipt()).cmp(&(b.1.received(), b.1.receipt())));
    let digests: Vec<BundleDigest> = outcomes.iter().map(|o| o.digest).collect();
    write_outputs(&dir, &all_good, &digests, &all_bad)
        .map_err(|e| OpenError::Write(out.into(), e))?;
    Ok(outcomes)
}

/// The `--out` directory, held open: every output is created inside the
/// very directory that was checked, whatever happens to its path.
///
/// Plaintext goes only into a directory that only the analyst can enter
/// and that holds nothing else: a new one (created 0700), or an existing
/// one that is already empty, the analyst's and exactly 0700. Anything
/// else is refused, never changed: chmod-ing an existing directory would
/// not revoke what others opened or learned while it was readable, and a
/// directory with files in it may hold a symlink or a hard link planted
/// where an output will go.
struct OutDir {
    fd: OwnedFd,
}

impl OutDir {
    fn prepare(out: &Path) -> Result<OutDir, OpenError> {
        use rustix::fs::{Mode, OFlags};
        let refuse = |why| OpenError::OutDir(out.into(), why);
        let io = |e: std::io::Error| OpenError::Write(out.into(), e);
        match fs::DirBuilder::new().mode(0o700).create(out) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // Missing parents are made private too.
                fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(out)
                    .map_err(io)?;
            }
            Err(e) => return Err(io(e)),
        }
        let fd = rustix::fs::open(
            out,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| match e {
            rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR => {
                refuse("it is a symbolic link or not a directory")
            }
            e => io(e.into()),
        })?;
        let st = rustix::fs::fstat(&fd).map_err(|e| io(e.into()))?;
        if st.st_uid != rustix::process::geteuid().as_raw() {
            return Err(refuse("the directory belongs to another user"));
        }
        if st.st_mode & 0o7777 != 0o700 {
            return Err(refuse(
                "the directory exists and its mode is not 0700 (salama does not change it)",
            ));
        }
        let mut entries = rustix::fs::Dir::read_from(&fd).map_err(|e| io(e.into()))?;
        for e in &mut entries {
            let e = e.map_err(|e| io(e.into()))?;
            if ![&b"."[..], b".."].contains(&e.file_name().to_bytes()) {
                return Err(refuse(
                    "the directory is not empty (an earlier run's outputs, or a link where an output goes)",
                ));
            }
        }
        Ok(OutDir { fd })
    }

    /// A new file `name`, mode 0600: never an existing file, never through
    /// a symbolic link.
    fn create(&self, name: &str) -> std::io::Result<BufWriter<File>> {
        use rustix::fs::{Mode, OFlags};
        let fd = rustix::fs::openat(
            &self.fd,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )?;
        Ok(BufWriter::new(File::from(fd)))
    }
}

/// Each distinct normalised URL and how many reports name it.
fn url_counts(good: &[(String, Document)]) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for (_, doc) in good {
        // Normalised when the document was checked on decoding.
        let mut mine: Vec<String> = doc.urls().iter().map(|(_, u)| (*u).to_owned()).collect();
        mine.sort();
        mine.dedup();
        for u in mine {
            *counts.entry(u).or_default() += 1;
        }
    }
    let mut v: Vec<(String, usize)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

/// `urls.csv`: `url,reports`. Every cell through [`csv_cell`], though a
/// checked document's addresses start with `http`: the spreadsheet rule
/// must not depend on a check made elsewhere.
fn write_urls_csv<W: Write>(out: W, urls: &[(String, usize)]) -> std::io::Result<()> {
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record(["url", "reports"])?;
    for (u, n) in urls {
        csv.write_record([csv_cell(u).as_ref(), &n.to_string()])?;
    }
    csv.flush()?;
    Ok(())
}

fn write_outputs(
    out: &OutDir,
    good: &[(String, Document)],
    digests: &[BundleDigest],
    bad: &BTreeMap<String, String>,
) -> std::io::Result<()> {
    let urls = url_counts(good);
    let accounts = accounts::account_counts(good);
    // The triage page is the slowest output to build: it is built on a
    // second core while this one writes the other files. It is still
    // written last, so a triage page on disk means every other output is
    // complete (a failed write stops before it).
    std::thread::scope(|s| {
        let page = std::thread::Builder::new()
            .name("triage-page".into())
            .spawn_scoped(s, || {
                triage_page(good, &urls, &accounts, digests, bad).into_string()
            })?;
        let mut jsonl = out.create("reports.jsonl")?;
        for (id, doc) in good {
            serde_json::to_writer(&mut jsonl, &Row { id, doc })?;
            jsonl.write_all(b"\n")?;
        }
        jsonl.flush()?;
        write_urls_csv(out.create("urls.csv")?, &urls)?;
        accounts::write_csv(out.create("accounts.csv")?, &accounts)?;
        let page = page
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let mut html = out.create("index.html")?;
        html.write_all(page.as_bytes())?;
        html.flush()
    })
}

const TRIAGE_CSS: &str = "body{font:16px/1.5 system-ui,sans-serif;margin:1rem auto;max-width:72rem;padding:0 1rem;color:#111}\
table{border-collapse:collapse;width:100%}td,th{border:1px solid #999;padding:.3rem .5rem;text-align:start;vertical-align:top}\
th{width:9rem}code{word-break:break-all}.desc{white-space:pre-wrap}.bad{color:#a00}.typed{color:#444}\
article{border-block-start:2px solid #333;margin-block:1.5rem;padding-block-start:.5rem}\
.addition{margin-block:1rem;margin-inline-start:2rem;padding-inline-start:1rem;border-inline-start:4px solid #27a}";

/// "yes", "no", "not sure", or "not said".
fn answer(a: Option<Answer>) -> &'static str {
    match a {
        Some(Answer::Yes) => "yes",
        Some(Answer::No) => "no",
        Some(Answer::Unsure) => "not sure",
        None => "not said",
    }
}

/// The rows one report or addition has: only those it carries.
fn document_rows(id: &str, d: &Document) -> Markup {
    html! {
        table {
            tr { th { "Received" } td { (d.received()) } }
            tr { th { "Language" } td { (d.language().id()) } }
            @if let Some(c) = d.category() { tr { th { "Category" } td { (c.id()) } } }
            @if let Some(w) = d.where_seen() { tr { th { "Where seen" } td { (w.id()) } } }
            @if let Some(p) = d.platform() {
                tr { th { "Platform" } td {
                    (p.id())
                    @if let Some(name) = d.platform_name() { ": " span dir="auto" { (name) } }
                } }
            }
            @if !d.accounts().is_empty() {
                tr { th { "Accounts" } td { ul { @for a in d.accounts() { li { code dir="auto" { (a) } } } } } }
            }
            @if let Some(dm) = d.demands() {
                tr { th { "Demanded" } td { "money: " (answer(dm.money)) "; more images: " (answer(dm.images)) } }
            }
            @if !d.urls().is_empty() {
                tr { th { "URLs" } td { ul { @for (typed, url) in d.urls() {
                    li {
                        code dir="ltr" { (url) }
                        // What the reporter typed, where it differs (an
                        // Arabic-script domain before punycode, say).
                        @if typed != url { br; span class="typed" { "typed: " code dir="auto" { (typed) } } }
                    }
                } } } }
            }
            tr { th { "Description" } td class="desc" lang=(d.language().id()) dir="auto" { (d.description()) } }
            tr { th { "Entry" } td { code { (id) } } }
        }
    }
}

fn triage_page(
    good: &[(String, Document)],
    urls: &[(String, usize)],
    accounts: &[AccountRow],
    digests: &[BundleDigest],
    bad: &BTreeMap<String, String>,
) -> Markup {
    // Additions grouped by receipt once: looking them up per report was
    // quadratic (~1 s of CPU for a 20,000-report bundle).
    let mut reports: Vec<&(String, Document)> = Vec::new();
    let mut additions: BTreeMap<&str, Vec<&(String, Document)>> = BTreeMap::new();
    for entry in good {
        match entry.1.kind() {
            Kind::Report => reports.push(entry),
            Kind::Addition => additions.entry(entry.1.receipt()).or_default().push(entry),
        }
    }
    let additions_to = |receipt: &str| additions.get(receipt).map_or(&[][..], Vec::as_slice);
    let reported: std::collections::BTreeSet<&str> =
        reports.iter().map(|(_, d)| d.receipt()).collect();
    let orphans: Vec<&(String, Document)> = good
        .iter()
        .filter(|(_, a)| a.kind() == Kind::Addition && !reported.contains(a.receipt()))
        .collect();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'";
                meta name="referrer" content="no-referrer";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Salama triage: " (reports.len()) " reports" }
                style { (TRIAGE_CSS) }
            }
            body {
                h1 { "Salama triage" }
                p { (reports.len()) " reports and " (good.len() - reports.len()) " additions opened from " (digests.len()) " bundle(s):" }
                ul { @for d in digests { li { code { (d) } } } }
                @if !bad.is_empty() {
                    section class="bad" {
                        h2 { (bad.len()) " entries could not be opened" }
                        p { "Do not confirm this bundle for purging: ask the operator to export it again." }
                        ul { @for (id, why) in bad { li { code { (id) } ": " (why) } } }
                    }
                }
                p { "URLs are shown as text on purpose. Never open them on this workstation." }
                h2 { "URLs by number of reports" }
                table {
                    thead { tr { th { "Reports" } th { "URL" } } }
                    tbody { @for (u, n) in urls { tr { td { (n) } td { code dir="ltr" { (u) } } } } }
                }
                h2 { "Accounts by number of reports" }
                table {
                    thead { tr { th { "Reports" } th { "Platform" } th { "Account" } th { "As typed" } } }
                    tbody { @for a in accounts { tr {
                        td { (a.reports) }
                        td { (a.platform.map(|p| p.id()).unwrap_or("not said"))
                            @if !a.platform_name.is_empty() { ": " span dir="auto" { (a.platform_name) } } }
                        td { code dir="auto" { (a.account) } }
                        td { @for (i, t) in a.typed.iter().enumerate() {
                            @if i > 0 { ", " }
                            code dir="auto" { (t) }
                        } }
                    } } }
                }
                h2 { "Reports" }
                @for (id, d) in &reports {
                    article {
                        h3 { "Receipt " code { (d.receipt()) } }
                        (document_rows(id, d))
                        @for (aid, a) in additions_to(d.receipt()) {
                            section class="addition" {
                                h4 { "Added by the reporter on " (a.received()) }
                                (document_rows(aid, a))
                            }
                        }
                    }
                }
                @if !orphans.is_empty() {
                    h2 { "Additions to reports not in these bundles" }
                    p { "Their reports were in an earlier bundle: look them up by receipt." }
                    @for (id, a) in &orphans {
                        article class="addition" {
                            h3 { "Addition to receipt " code { (a.receipt()) } }
                            (document_rows(id, a))
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
    }

    /// Issue 13, item 6: outputs only as new files in a private directory.
    #[test]
    fn outputs_go_only_into_new_files_in_a_private_directory() {
        let t = tempfile::tempdir().unwrap();
        // New, parents included: 0700.
        let new = t.path().join("a/b/out");
        let dir = OutDir::prepare(&new).unwrap();
        assert_eq!((mode(&new), mode(&t.path().join("a"))), (0o700, 0o700));
        let mut f = dir.create("reports.jsonl").unwrap();
        f.write_all(b"x").unwrap();
        drop(f);
        assert_eq!(mode(&new.join("reports.jsonl")), 0o600);
        // Never an existing file, never through a symlink (even dangling).
        assert!(dir.create("reports.jsonl").is_err());
        let elsewhere = t.path().join("elsewhere");
        std::os::unix::fs::symlink(&elsewhere, new.join("urls.csv")).unwrap();
        assert!(dir.create("urls.csv").is_err());
        assert!(!elsewhere.exists());
        fs::write(&elsewhere, "keep").unwrap();
        std::os::unix::fs::symlink(&elsewhere, new.join("index.html")).unwrap();
        assert!(dir.create("index.html").is_err());
        assert_eq!(fs::read_to_string(&elsewhere).unwrap(), "keep");
        // Now holding files: refused as a whole next time.
        assert!(matches!(
            OutDir::prepare(&new),
            Err(OpenError::OutDir(_, why)) if why.contains("not empty")
        ));
        // An existing empty directory: only if already 0700; never chmod-ed.
        let open_dir = t.path().join("shared");
        fs::create_dir(&open_dir).unwrap();
        fs::set_permissions(&open_dir, fs::Permissions::from_mode(0o755)).unwrap();
        assert!(matches!(
            OutDir::prepare(&open_dir),
            Err(OpenError::OutDir(_, why)) if why.contains("0700")
        ));
        assert_eq!(mode(&open_dir), 0o755);
        fs::set_permissions(&open_dir, fs::Permissions::from_mode(0o700)).unwrap();
        assert!(OutDir::prepare(&open_dir).is_ok());
        // --out itself a symlink to a private, empty directory: refused.
        let link = t.path().join("link");
        std::os::unix::fs::symlink(&open_dir, &link).unwrap();
        assert!(matches!(
            OutDir::prepare(&link),
            Err(OpenError::OutDir(_, why)) if why.contains("symbolic link")
        ));
    }

    #[test]
    fn urls_csv_cells_never_run_in_a_spreadsheet() {
        let rows = vec![
            ("https://a.example.com/=x".to_owned(), 3),
            ("=cmd|' /C calc'!A0".to_owned(), 1),
            ("@SUM(A1)".to_owned(), 1),
        ];
        let mut out = Vec::new();
        write_urls_csv(&mut out, &rows).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "url,reports\nhttps://a.example.com/=x,3\n'=cmd|' /C calc'!A0,1\n'@SUM(A1),1\n"
        );
    }

    fn doc(kind: Kind, receipt: &crate::receipt::Receipt, words: &str) -> Document {
        use crate::report::{Category, FormInput, Lang, ReceivedDate, Report};
        let mut input = FormInput::default();
        input.category = "grooming".into();
        input.urls = "https://example.com/x".into();
        input.description = words.into();
        let r = match kind {
            Kind::Report => Report::validate(&input, Lang::En, &Category::ALL),
            Kind::Addition => Report::validate_addition(&input, Lang::En),
        }
        .unwrap_or_else(|p| panic!("valid: {p:?}"));
        Document::decode(r.encode_padded(receipt, &ReceivedDate::today()).expose()).unwrap()
    }

    /// An addition sits under its own report's article, whatever the order
    /// the bundle held them in; one whose report is not in these bundles is
    /// listed apart, once.
    #[test]
    fn additions_sit_under_their_report_and_orphans_apart() {
        use crate::receipt::Receipt;
        let (a, b, gone) = (Receipt::random(), Receipt::random(), Receipt::random());
        let good = vec![
            ("e1".to_owned(), doc(Kind::Addition, &b, "ADDITION-TO-B")),
            ("e2".to_owned(), doc(Kind::Report, &a, "REPORT-A")),
            ("e3".to_owned(), doc(Kind::Addition, &gone, "ORPHAN")),
            ("e4".to_owned(), doc(Kind::Report, &b, "REPORT-B")),
            ("e5".to_owned(), doc(Kind::Addition, &a, "ADDITION-TO-A")),
        ];
        let page = triage_page(&good, &[], &[], &[], &BTreeMap::new()).into_string();
        let at = |s: &str| {
            assert_eq!(page.matches(s).count(), 1, "{s} once");
            page.find(s).unwrap()
        };
        assert!(page.contains("2 reports and 3 additions"));
        assert!(at("REPORT-A") < at("ADDITION-TO-A") && at("ADDITION-TO-A") < at("REPORT-B"));
        assert!(at("REPORT-B") < at("ADDITION-TO-B"));
        let apart = at("Additions to reports not in these bundles");
        assert!(at("ADDITION-TO-B") < apart && apart < at("ORPHAN"));
    }
}

//! The ledger in memory: every report imported, every normalised URL with
//! the reports that name it, every assessment and every answer for a
//! reporter. It changes only by [`Op`]s, which [`super::disk`] makes
//! durable (sealed) before they are applied, so what is on screen is
//! always what a restart reads back.
//!
//! All plaintext is held in [`Plain`], wiped when dropped.

use super::assess::Assessment;
use crate::report::{Category, Demands, Kind, Lang, Platform, WhereSeen};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::{BTreeMap, HashMap, HashSet};
use zeroize::Zeroize;

/// Text from a report or typed by an analyst: a `String` wiped when dropped,
/// never printed by accident, copied only on purpose ([`Plain::copy`]).
#[derive(Serialize, Deserialize, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(transparent)]
pub struct Plain(String);

static_assertions::assert_not_impl_any!(Plain: std::fmt::Debug, std::fmt::Display, Clone);

impl Plain {
    pub fn new(s: String) -> Plain {
        Plain(s)
    }

    pub fn copy(s: &str) -> Plain {
        Plain(s.to_owned())
    }

    pub fn dup(&self) -> Plain {
        Plain(self.0.clone())
    }
}

impl Drop for Plain {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::ops::Deref for Plain {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Plain {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// One address a report names: as typed, and normalised (the key).
#[derive(Serialize, Deserialize)]
pub struct ReportUrl {
    pub typed: Plain,
    pub url: Plain,
}

/// A report or an addition, as the ledger keeps it (either document version).
#[derive(Serialize, Deserialize)]
pub struct Report {
    /// The bundle entry it came from, and that bundle's digest.
    pub entry: String,
    pub bundle: String,
    pub kind: Kind,
    pub receipt: Plain,
    pub received: String,
    pub language: Lang,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<ReportUrl>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_name: Option<Plain>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<Plain>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub demands: Option<Demands>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub where_seen: Option<WhereSeen>,
    pub description: Plain,
    /// The ledger operation that imported it (to tell "reported again").
    pub imported: u64,
}

impl Report {
    pub fn from_document(entry: &str, bundle: &str, d: &crate::document::Document) -> Report {
        Report {
            entry: entry.to_owned(),
            bundle: bundle.to_owned(),
            kind: d.kind(),
            receipt: Plain::copy(d.receipt()),
            received: d.received().to_owned(),
            language: d.language(),
            category: d.category(),
            urls: d
                .urls()
                .into_iter()
                .map(|(typed, url)| ReportUrl {
                    typed: Plain::copy(typed),
                    url: Plain::copy(url),
                })
                .collect(),
            platform: d.platform(),
            platform_name: d.platform_name().map(Plain::copy),
            accounts: d.accounts().into_iter().map(Plain::copy).collect(),
            demands: d.demands(),
            where_seen: d.where_seen(),
            description: Plain::copy(d.description()),
            imported: 0,
        }
    }
}

/// A bundle imported, recognised again by its digest.
#[derive(Serialize, Deserialize)]
pub struct Bundle {
    pub digest: String,
    /// The day it was imported.
    pub day: String,
    pub reports: usize,
    /// Reports already in the ledger from an earlier bundle (`export --all`).
    pub duplicates: usize,
    /// The follow-up salt of the server that made it, in hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
}

/// What the reporter of one report is told through the follow-up page.
#[derive(Serialize, Deserialize)]
pub struct ReporterAnswer {
    pub status: crate::answers::Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<crate::answers::Reply>,
    pub text: Plain,
    pub by: String,
    pub day: String,
}

/// One change to the ledger; the unit of durability.
#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    Import {
        bundle: Bundle,
        reports: Vec<Report>,
    },
    Assess {
        url: Plain,
        assessment: Assessment,
    },
    Answer {
        receipt: Plain,
        answer: ReporterAnswer,
    },
}

/// What is stored: the rest is derived on load.
#[derive(Serialize, Deserialize)]
pub struct State {
    /// Keys the ids in page addresses, so an address in the browser's
    /// history says nothing about the URL or receipt behind it.
    pub id_key: Plain,
    pub bundles: Vec<Bundle>,
    pub reports: Vec<Report>,
    pub assessments: BTreeMap<Plain, Assessment>,
    pub answers: BTreeMap<Plain, ReporterAnswer>,
}

impl State {
    /// An empty ledger with a fresh id key.
    pub fn fresh() -> State {
        let mut k = [0u8; 32];
        getrandom::fill(&mut k).expect("the system's random source works");
        let hex = data_encoding::HEXLOWER.encode(&k);
        k.zeroize();
        State {
            id_key: Plain::new(hex),
            bundles: Vec::new(),
            reports: Vec::new(),
            assessments: BTreeMap::new(),
            answers: BTreeMap::new(),
        }
    }
}

/// One distinct normalised URL.
pub struct UrlEntry {
    pub url: Plain,
    pub id: String,
    /// Indices into the reports, in import order.
    pub reports: Vec<usize>,
    /// Distinct receipts among them: a report and its additions count once.
    pub receipts: usize,
    pub first_seen: String,
    pub last_seen: String,
    /// Which (category, language) pairs its reports carry ([`pair_bit`]),
    /// so a filtered queue page need not walk the reports.
    pub(crate) pairs: u16,
    /// The latest ledger operation that imported a report naming it.
    pub(crate) last_imported: u64,
    /// The operation of its assessment, if it has one (mirrors
    /// `state.assessments`, kept here so the queue need not look it up).
    pub(crate) assessed: Option<u64>,
}

/// The bit of one (category, language) pair in [`UrlEntry::pairs`].
pub(crate) fn pair_bit(category: Option<Category>, language: Lang) -> u16 {
    let c = category.map_or(0, |c| {
        1 + Category::ALL
            .iter()
            .position(|&x| x == c)
            .expect("every category is in ALL")
    });
    let g = Lang::ALL
        .iter()
        .position(|&x| x == language)
        .expect("every language is in ALL");
    1 << (c * Lang::ALL.len() + g)
}

const _: () = assert!((Category::ALL.len() + 1) * Lang::ALL.len() <= 16);

/// The ledger: the stored state and its indices.
pub struct Ledger {
    pub state: State,
    /// The last operation applied.
    pub seq: u64,
    pub urls: Vec<UrlEntry>,
    by_url: HashMap<Plain, usize>,
    by_url_id: HashMap<String, usize>,
    by_receipt: HashMap<Plain, Vec<usize>>,
    by_report_id: HashMap<String, usize>,
    /// Reports already held, by a keyed digest of their content.
    seen: HashSet<[u8; 16]>,
    /// The HMAC keyed with the id key once, cloned for each id: keying it
    /// anew for every report and URL was a large part of opening a ledger.
    keyed: Hmac<Sha256>,
}

/// Below this many items, one thread is faster than starting two.
const PARALLEL_FROM: usize = 4096;

/// `items.iter().map(f)` on every core (std threads), in order.
fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    if threads < 2 || items.len() < PARALLEL_FROM {
        return items.iter().map(f).collect();
    }
    let f = &f;
    std::thread::scope(|s| {
        let parts: Vec<_> = items
            .chunks(items.len().div_ceil(threads))
            .map(|c| s.spawn(move || c.iter().map(f).collect::<Vec<R>>()))
            .collect();
        parts
            .into_iter()
            .flat_map(|h| h.join().expect("computing ids does not panic"))
            .collect()
    })
}

impl Ledger {
    pub fn new(state: State, seq: u64) -> Ledger {
        let keyed = <Hmac<Sha256> as KeyInit>::new_from_slice(state.id_key.as_bytes())
            .expect("HMAC takes keys of any length");
        let mut l = Ledger {
            state,
            seq,
            urls: Vec::new(),
            by_url: HashMap::new(),
            by_url_id: HashMap::new(),
            by_receipt: HashMap::new(),
            by_report_id: HashMap::new(),
            seen: HashSet::new(),
            keyed,
        };
        // The keyed digests are most of the work: compute them in parallel,
        // then index in order (which report came first matters).
        let keys = par_map(&l.state.reports, |r| (l.content_key(r), l.report_id(r)));
        let n = keys.len();
        l.by_report_id.reserve(n);
        l.seen.reserve(n);
        for (i, (content, rid)) in keys.into_iter().enumerate() {
            l.seen.insert(content);
            l.index_report(i, rid, false);
        }
        let ids = par_map(&l.urls, |e| l.url_id(&e.url));
        l.by_url_id.reserve(ids.len());
        for (at, id) in ids.into_iter().enumerate() {
            l.by_url_id.insert(id.clone(), at);
            l.urls[at].id = id;
        }
        for (url, a) in &l.state.assessments {
            if let Some(&at) = l.by_url.get(&**url) {
                l.urls[at].assessed = Some(a.seq);
            }
        }
        l
    }

    fn mac(&self, tag: &[u8], parts: &[&[u8]]) -> [u8; 32] {
        let mut m = self.keyed.clone();
        m.update(tag);
        for p in parts {
            m.update(&(p.len() as u64).to_le_bytes());
            m.update(p);
        }
        m.finalize().into_bytes().into()
    }

    /// The id of a URL in page addresses.
    pub fn url_id(&self, url: &str) -> String {
        data_encoding::HEXLOWER.encode(&self.mac(b"url", &[url.as_bytes()])[..10])
    }

    /// The id of a report in page addresses.
    pub fn report_id(&self, r: &Report) -> String {
        data_encoding::HEXLOWER
            .encode(&self.mac(b"report", &[r.entry.as_bytes(), r.bundle.as_bytes()])[..10])
    }

    fn content_key(&self, r: &Report) -> [u8; 16] {
        let kind: &[u8] = match r.kind {
            Kind::Report => b"r",
            Kind::Addition => b"a",
        };
        let m = self.mac(
            b"content",
            &[
                kind,
                r.receipt.as_bytes(),
                r.received.as_bytes(),
                r.description.as_bytes(),
            ],
        );
        m[..16].try_into().expect("16 of 32 bytes")
    }

    /// Is this report already in the ledger (from another bundle)?
    pub fn holds(&self, r: &Report) -> bool {
        self.seen.contains(&self.content_key(r))
    }

    pub fn has_bundle(&self, digest: &str) -> Option<&Bundle> {
        self.state.bundles.iter().find(|b| b.digest == digest)
    }

    /// Index report `i` (its content key already in `seen`). New URLs get
    /// their id now if `url_ids`, else the caller fills them in.
    fn index_report(&mut self, i: usize, rid: String, url_ids: bool) {
        self.by_report_id.insert(rid, i);
        let r = &self.state.reports[i];
        self.by_receipt.entry(r.receipt.dup()).or_default().push(i);
        let bit = pair_bit(r.category, r.language);
        let imported = r.imported;
        let received = r.received.clone();
        let mut mine: Vec<&str> = r.urls.iter().map(|u| &*u.url).collect();
        mine.sort_unstable();
        mine.dedup();
        let mine: Vec<Plain> = mine.into_iter().map(Plain::copy).collect();
        for url in mine {
            let at = match self.by_url.get(&*url) {
                Some(&at) => at,
                None => {
                    let id = if url_ids {
                        self.url_id(&url)
                    } else {
                        String::new()
                    };
                    let at = self.urls.len();
                    if url_ids {
                        self.by_url_id.insert(id.clone(), at);
                    }
                    self.by_url.insert(url.dup(), at);
                    self.urls.push(UrlEntry {
                        url,
                        id,
                        reports: Vec::new(),
                        receipts: 0,
                        first_seen: received.clone(),
                        last_seen: received.clone(),
                        pairs: 0,
                        last_imported: 0,
                        assessed: None,
                    });
                    at
                }
            };
            let receipt = &self.state.reports[i].receipt;
            let reports = &self.state.reports;
            let e = &mut self.urls[at];
            if !e.reports.iter().any(|&j| reports[j].receipt == *receipt) {
                e.receipts += 1;
            }
            e.reports.push(i);
            e.pairs |= bit;
            e.last_imported = e.last_imported.max(imported);
            if received < e.first_seen {
                e.first_seen = received.clone();
            }
            if received > e.last_seen {
                e.last_seen = received.clone();
            }
        }
    }

    /// Apply an operation already made durable (or read back from disk).
    pub fn apply(&mut self, seq: u64, op: Op) {
        match op {
            Op::Import {
                bundle,
                mut reports,
            } => {
                self.state.bundles.push(bundle);
                for mut r in reports.drain(..) {
                    let content = self.content_key(&r);
                    if !self.seen.insert(content) {
                        continue;
                    }
                    r.imported = seq;
                    let rid = self.report_id(&r);
                    self.state.reports.push(r);
                    self.index_report(self.state.reports.len() - 1, rid, true);
                }
            }
            Op::Assess {
                url,
                mut assessment,
            } => {
                assessment.seq = seq;
                if let Some(&at) = self.by_url.get(&*url) {
                    self.urls[at].assessed = Some(seq);
                }
                self.state.assessments.insert(url, assessment);
            }
            Op::Answer { receipt, answer } => {
                self.state.answers.insert(receipt, answer);
            }
        }
        self.seq = seq;
    }

    pub fn url_by_id(&self, id: &str) -> Option<&UrlEntry> {
        self.by_url_id.get(id).map(|&i| &self.urls[i])
    }

    pub fn url(&self, url: &str) -> Option<&UrlEntry> {
        self.by_url.get(url).map(|&i| &self.urls[i])
    }

    pub fn report_by_id(&self, id: &str) -> Option<&Report> {
        self.by_report_id.get(id).map(|&i| &self.state.reports[i])
    }

    /// Every report and addition carrying `receipt`, oldest first.
    pub fn by_receipt(&self, receipt: &str) -> Vec<&Report> {
        self.by_receipt
            .get(receipt)
            .map(|v| v.iter().map(|&i| &self.state.reports[i]).collect())
            .unwrap_or_default()
    }

    pub fn assessment(&self, url: &str) -> Option<&Assessment> {
        self.state.assessments.get(url)
    }

    /// How many distinct receipts name this URL (a report and its
    /// additions count once).
    pub fn report_count(&self, e: &UrlEntry) -> usize {
        e.receipts
    }

    /// Reports naming an assessed URL that were imported after it was assessed.
    pub fn reported_again(&self, e: &UrlEntry) -> usize {
        match e.assessed {
            Some(seq) if e.last_imported > seq => e
                .reports
                .iter()
                .filter(|&&i| self.state.reports[i].imported > seq)
                .count(),
            _ => 0,
        }
    }

    /// Does any report naming `e` match both filters (of one report)?
    pub(crate) fn carries(
        e: &UrlEntry,
        category: Option<Category>,
        language: Option<Lang>,
    ) -> bool {
        let mut want = 0u16;
        for c in std::iter::once(None).chain(Category::ALL.map(Some)) {
            for g in Lang::ALL {
                if category.is_none_or(|x| c == Some(x)) && language.is_none_or(|x| g == x) {
                    want |= pair_bit(c, g);
                }
            }
        }
        e.pairs & want != 0
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn report(receipt: &str, received: &str, urls: &[&str]) -> Report {
        Report {
            entry: format!("e-{receipt}-{received}"),
            bundle: "b".into(),
            kind: Kind::Report,
            receipt: Plain::copy(receipt),
            received: received.into(),
            language: Lang::Ar,
            category: Some(Category::AbuseImagery),
            urls: urls
                .iter()
                .map(|u| ReportUrl {
                    typed: Plain::copy(u),
                    url: Plain::copy(u),
                })
                .collect(),
            platform: None,
            platform_name: None,
            accounts: Vec::new(),
            demands: None,
            where_seen: None,
            description: Plain::copy("seen"),
            imported: 0,
        }
    }

    pub fn bundle(digest: &str, n: usize) -> Bundle {
        Bundle {
            digest: digest.into(),
            day: "2026-11-30".into(),
            reports: n,
            duplicates: 0,
            salt: None,
        }
    }

    #[test]
    fn a_url_named_by_two_reports_is_one_entry_with_both_and_its_days() {
        let mut l = Ledger::new(State::fresh(), 0);
        l.apply(
            1,
            Op::Import {
                bundle: bundle("b1", 1),
                reports: vec![report(
                    "AAAA",
                    "2026-11-02",
                    &["http://a.example.com/x", "http://a.example.com/x"],
                )],
            },
        );
        l.apply(
            2,
            Op::Import {
                bundle: bundle("b2", 2),
                reports: vec![
                    report("BBBB", "2026-11-01", &["http://a.example.com/x"]),
                    report("CCCC", "2026-11-03", &["http://b.example.com/"]),
                ],
            },
        );
        assert_eq!(l.urls.len(), 2);
        let e = l.url("http://a.example.com/x").unwrap();
        assert_eq!(e.reports.len(), 2);
        assert_eq!(l.report_count(e), 2);
        assert_eq!(
            (&*e.first_seen, &*e.last_seen),
            ("2026-11-01", "2026-11-02")
        );
        assert!(
            l.url_by_id(&e.id)
                .is_some_and(|x| &*x.url == "http://a.example.com/x")
        );
        // The id says nothing without the ledger's key.
        assert!(!e.id.contains("example"));
        assert_ne!(Ledger::new(State::fresh(), 0).url_id(&e.url), e.id);
    }

    #[test]
    fn the_same_report_in_a_second_bundle_is_held_once() {
        let mut l = Ledger::new(State::fresh(), 0);
        for (seq, d) in [(1, "b1"), (2, "b2")] {
            l.apply(
                seq,
                Op::Import {
                    bundle: bundle(d, 1),
                    reports: vec![report("AAAA", "2026-11-02", &["http://a.example.com/"])],
                },
            );
        }
        assert_eq!(l.state.reports.len(), 1);
        assert_eq!(l.url("http://a.example.com/").unwrap().reports.len(), 1);
    }

    #[test]
    fn a_ledger_read_back_has_the_same_ids_and_assessed_urls() {
        // Enough reports that the ids are computed on several threads.
        let mut l = Ledger::new(State::fresh(), 0);
        let reports: Vec<Report> = (0..PARALLEL_FROM + 10)
            .map(|i| {
                report(
                    &format!("R{i}"),
                    "2026-11-02",
                    &[&format!("http://h{}.example.com/", i % 3000)],
                )
            })
            .collect();
        l.apply(
            1,
            Op::Import {
                bundle: bundle("b1", reports.len()),
                reports,
            },
        );
        let a = super::super::assess::check(
            &super::super::assess::Typed::from_pairs(
                [("classification", "not-illegal"), ("site-type", "blog")]
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned())),
            ),
            "k",
            "2026-11-30",
        )
        .ok()
        .unwrap();
        l.apply(
            2,
            Op::Assess {
                url: Plain::copy("http://h7.example.com/"),
                assessment: a,
            },
        );
        let json = serde_json::to_vec(&l.state).unwrap();
        let back = Ledger::new(serde_json::from_slice(&json).unwrap(), l.seq);
        assert_eq!(back.urls.len(), 3000);
        for (x, y) in l.urls.iter().zip(&back.urls) {
            assert_eq!((&*x.url, &x.id), (&*y.url, &y.id));
            assert_eq!(x.id, l.url_id(&x.url));
            assert_eq!(back.url_by_id(&x.id).map(|e| &*e.url), Some(&*x.url));
            assert_eq!((x.pairs, x.assessed), (y.pairs, y.assessed));
        }
        assert_eq!(
            back.url("http://h7.example.com/").unwrap().assessed,
            Some(2)
        );
        assert_eq!(back.url("http://h8.example.com/").unwrap().assessed, None);
        for r in &l.state.reports {
            let id = l.report_id(r);
            assert_eq!(back.report_by_id(&id).map(|x| &x.entry), Some(&r.entry));
        }
    }
}

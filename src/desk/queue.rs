//! The queue: URLs not yet assessed, most reported first, then oldest
//! (first seen), then by URL so the order never wobbles. Filters:
//! category and language of any report naming the URL, and status.

use super::ledger::{Ledger, UrlEntry};
use crate::report::{Category, Lang};

/// URLs on one page of the queue.
pub const PAGE: usize = 50;

#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Status {
    /// Not assessed yet (the queue proper).
    #[default]
    Unassessed,
    /// Assessed, and named again by a report imported since.
    ReportedAgain,
    Assessed,
    All,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Unassessed,
        Status::ReportedAgain,
        Status::Assessed,
        Status::All,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Status::Unassessed => "unassessed",
            Status::ReportedAgain => "reported-again",
            Status::Assessed => "assessed",
            Status::All => "all",
        }
    }

    pub fn from_id(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.id() == s)
    }
}

#[derive(Clone, Copy, Default)]
pub struct Filter {
    pub category: Option<Category>,
    pub language: Option<Lang>,
    pub status: Status,
    /// From 0.
    pub page: usize,
}

impl Filter {
    /// Read from a query string; unknown values are ignored (the filter is off).
    pub fn from_query(q: &str) -> Filter {
        let mut f = Filter::default();
        for (k, v) in form_urlencoded::parse(q.as_bytes()) {
            match &*k {
                "category" => f.category = Category::from_id(&v),
                "language" => f.language = Lang::from_id(&v),
                "status" => f.status = Status::from_id(&v).unwrap_or_default(),
                "page" => f.page = v.parse().unwrap_or(0).min(1_000_000),
                _ => {}
            }
        }
        f
    }

    /// The query string for this filter on page `page`.
    pub fn query(&self, page: usize) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        s.append_pair("status", self.status.id());
        if let Some(c) = self.category {
            s.append_pair("category", c.id());
        }
        if let Some(l) = self.language {
            s.append_pair("language", l.id());
        }
        if page > 0 {
            s.append_pair("page", &page.to_string());
        }
        s.finish()
    }
}

/// One page of the queue, and how many URLs match in all.
pub fn page<'a>(l: &'a Ledger, f: &Filter) -> (Vec<&'a UrlEntry>, usize) {
    // Each entry carries its assessment's operation and a mask of the
    // (category, language) pairs of its reports: no report is read here.
    let mut hits: Vec<&UrlEntry> = l
        .urls
        .iter()
        .filter(|e| {
            let status_ok = match f.status {
                Status::Unassessed => e.assessed.is_none(),
                Status::Assessed => e.assessed.is_some(),
                Status::ReportedAgain => e.assessed.is_some_and(|seq| e.last_imported > seq),
                Status::All => true,
            };
            status_ok
                && (f.category.is_none() && f.language.is_none()
                    || Ledger::carries(e, f.category, f.language))
        })
        .collect();
    let total = hits.len();
    let order = |a: &&UrlEntry, b: &&UrlEntry| {
        b.receipts
            .cmp(&a.receipts)
            .then_with(|| a.first_seen.cmp(&b.first_seen))
            .then_with(|| (*a.url).cmp(&*b.url))
    };
    let start = (f.page * PAGE).min(total);
    let end = (start + PAGE).min(total);
    // Only the page asked for needs its place exactly.
    if end < total {
        hits.select_nth_unstable_by(end, order);
        hits.truncate(end);
    }
    hits.sort_unstable_by(order);
    (hits.drain(start..).collect(), total)
}

#[cfg(test)]
mod tests {
    use super::super::ledger::tests::{bundle, report};
    use super::super::ledger::{Op, State};
    use super::*;

    fn urls(l: &Ledger, f: &Filter) -> Vec<String> {
        page(l, f).0.iter().map(|e| (*e.url).to_owned()).collect()
    }

    #[test]
    fn most_reported_first_then_oldest_and_assessed_ones_leave() {
        let mut l = Ledger::new(State::fresh(), 0);
        let mut grooming = report("G", "2026-10-01", &["http://c.example.com/"]);
        grooming.category = Some(Category::Grooming);
        grooming.language = Lang::Fr;
        l.apply(
            1,
            Op::Import {
                bundle: bundle("b1", 4),
                reports: vec![
                    report(
                        "A",
                        "2026-11-05",
                        &["http://a.example.com/", "http://b.example.com/"],
                    ),
                    report("B", "2026-11-06", &["http://a.example.com/"]),
                    report("C", "2026-11-01", &["http://d.example.com/"]),
                    grooming,
                ],
            },
        );
        assert_eq!(
            urls(&l, &Filter::default()),
            [
                "http://a.example.com/",
                "http://c.example.com/",
                "http://d.example.com/",
                "http://b.example.com/"
            ]
        );
        let fr = Filter {
            language: Some(Lang::Fr),
            ..Filter::default()
        };
        assert_eq!(urls(&l, &fr), ["http://c.example.com/"]);
        let q = Filter::from_query(&fr.query(0));
        assert_eq!(q.language, Some(Lang::Fr));
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
                url: super::super::ledger::Plain::copy("http://a.example.com/"),
                assessment: a,
            },
        );
        assert_eq!(urls(&l, &Filter::default())[0], "http://c.example.com/");
        let again = Filter {
            status: Status::ReportedAgain,
            ..Filter::default()
        };
        assert!(urls(&l, &again).is_empty());
        l.apply(
            3,
            Op::Import {
                bundle: bundle("b2", 1),
                reports: vec![report("Z", "2026-11-29", &["http://a.example.com/"])],
            },
        );
        assert_eq!(urls(&l, &again), ["http://a.example.com/"]);
        // Paging: the second page starts where the first ended.
        let f = Filter {
            page: 1,
            ..Filter::default()
        };
        assert!(urls(&l, &f).is_empty());
    }

    #[test]
    fn category_and_language_filters_match_one_report_not_two() {
        let mut l = Ledger::new(State::fresh(), 0);
        let mut fr = report("F", "2026-11-01", &["http://a.example.com/"]);
        fr.language = Lang::Fr;
        let mut groom = report("G", "2026-11-02", &["http://a.example.com/"]);
        groom.category = Some(Category::Grooming);
        let mut both = report("H", "2026-11-03", &["http://b.example.com/"]);
        both.category = Some(Category::Grooming);
        both.language = Lang::Fr;
        let mut none = report("N", "2026-11-04", &["http://c.example.com/"]);
        none.category = None;
        none.language = Lang::En;
        l.apply(
            1,
            Op::Import {
                bundle: bundle("b1", 4),
                reports: vec![fr, groom, both, none],
            },
        );
        let f = |category, language| Filter {
            category,
            language,
            ..Filter::default()
        };
        assert_eq!(
            urls(&l, &f(Some(Category::Grooming), Some(Lang::Fr))),
            ["http://b.example.com/"]
        );
        assert_eq!(
            urls(&l, &f(Some(Category::Grooming), None)),
            ["http://a.example.com/", "http://b.example.com/"]
        );
        assert_eq!(
            urls(&l, &f(None, Some(Lang::En))),
            ["http://c.example.com/"]
        );
        assert!(urls(&l, &f(Some(Category::Grooming), Some(Lang::En))).is_empty());
    }
}

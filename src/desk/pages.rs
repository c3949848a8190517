//! The desk's pages: functions of the ledger to [`Markup`], in the
//! reporter pages' frame and stylesheet ([`crate::ui`]). URLs are text in
//! `<code dir="ltr">`, never links. Page titles never carry report text,
//! since a browser keeps titles in its history.

use super::assess::{
    AgeGroup, Assessment, Classification, ContentType, Gender, IwfCategory, Problem, SiteType,
    Typed,
};
use super::ledger::{Ledger, Report, UrlEntry};
use super::queue::{Filter, Status};
use crate::report::{Category, Lang};
use crate::ui::frame::{Frame, Link, page};
use crate::ui::i18n::{tr, tr_args};
use maud::{Markup, html};

/// Where pages link: every address starts with the secret.
pub struct Base<'a> {
    pub secret: &'a str,
    pub lang: Lang,
}

impl Base<'_> {
    pub fn href(&self, rest: &str) -> String {
        format!("/{}/{}/{}", self.secret, self.lang.id(), rest)
    }

    fn t(&self, id: &str) -> String {
        tr(self.lang, id)
    }
}

fn frame(b: &Base<'_>, title: &str, rest: &str, main: Markup) -> Markup {
    let secret = b.secret.to_owned();
    let rest = rest.to_owned();
    let lang_href = move |l: Lang| format!("/{secret}/{}/{rest}", l.id());
    let brand = b.t("desk-brand");
    page(
        &Frame {
            lang: b.lang,
            title,
            brand: &brand,
            home: b.href(""),
            leave: None,
            lang_href: &lang_href,
            nav: vec![Link {
                href: b.href(""),
                text: b.t("desk-queue-title"),
            }],
            note: Some(b.t("desk-never-open")),
        },
        main,
    )
}

fn url_text(u: &str) -> Markup {
    html! { code class="url" dir="ltr" { (u) } }
}

/// A day (2026-11-30) isolated left to right: inside Arabic text its
/// digits would otherwise be read as Arabic numbers and its parts shown in
/// reverse order (30-11-2026).
pub fn day(d: &str) -> String {
    format!("\u{2066}{d}\u{2069}")
}

/// "Already assessed on DAY as … by …".
pub fn already(b: &Base<'_>, a: &Assessment) -> String {
    let as_ = tr(b.lang, &format!("desk-class-{}", a.classification.id()));
    tr_args(
        b.lang,
        "desk-already",
        &[
            ("day", day(&a.day).into()),
            ("as", as_.into()),
            ("by", a.by.as_str().into()),
        ],
    )
}

/// A message shown at the top of the queue after an action.
pub enum Notice {
    Saved,
    Imported(Markup),
    Failed(String),
    Exported(Vec<String>, Option<String>),
}

pub fn queue(
    b: &Base<'_>,
    l: &Ledger,
    f: &Filter,
    urls: &[&UrlEntry],
    total: usize,
    notice: Option<Notice>,
) -> Markup {
    let t = |id: &str| b.t(id);
    let selected = |on: bool| on.then_some("selected");
    let main = html! {
        h1 { (t("desk-queue-title")) }
        p class="small" { (tr_args(b.lang, "desk-bundles", &[
            ("bundles", l.state.bundles.len().into()),
            ("reports", l.state.reports.len().into()),
            ("urls", l.urls.len().into()),
            ("assessed", l.state.assessments.len().into()),
        ])) }
        @match notice {
            Some(Notice::Saved) => { p class="receipt" role="status" { (t("desk-saved")) } }
            Some(Notice::Imported(m)) => { section class="receipt" role="status" { (m) } }
            Some(Notice::Failed(why)) => {
                section class="summary" role="alert" {
                    h2 { (t("desk-import-failed")) }
                    p class="desc" dir="auto" { (why) }
                }
            }
            Some(Notice::Exported(files, skipped)) => {
                section class="receipt" role="status" {
                    p { (t("desk-export-written")) }
                    ul { @for f in &files { li { code dir="ltr" { (f) } } } }
                    @if let Some(s) = skipped { p { (s) } }
                }
            }
            None => {}
        }
        form method="get" action=(b.href("")) class="filters" {
            fieldset class="inline" {
                legend { (t("desk-filter-title")) }
                label { (t("desk-filter-status")) " "
                    select name="status" {
                        @for s in Status::ALL {
                            option value=(s.id()) selected=[selected(f.status == s)] { (t(&format!("desk-status-{}", s.id()))) }
                        }
                    }
                }
                label { (t("desk-filter-category")) " "
                    select name="category" {
                        option value="" { (t("desk-filter-any")) }
                        @for c in Category::ALL {
                            option value=(c.id()) selected=[selected(f.category == Some(c))] { (t(&format!("category-{}", c.id()))) }
                        }
                    }
                }
                label { (t("desk-filter-language")) " "
                    select name="language" {
                        option value="" { (t("desk-filter-any")) }
                        @for g in Lang::ALL {
                            option value=(g.id()) lang=(g.id()) selected=[selected(f.language == Some(g))] { (tr(g, "language-name")) }
                        }
                    }
                }
                button class="button secondary" type="submit" { (t("desk-filter-button")) }
            }
        }
        p { (tr_args(b.lang, "desk-count", &[("total", total.into())])) }
        @if urls.is_empty() {
            p { (t("desk-nothing")) }
        } @else {
            table class="queue" {
                thead { tr {
                    th scope="col" { (t("desk-col-reports")) }
                    th scope="col" { (t("desk-col-url")) }
                    th scope="col" { (t("desk-col-first")) }
                    th scope="col" { (t("desk-col-last")) }
                    th scope="col" { (t("desk-col-state")) }
                } }
                tbody {
                    @for e in urls {
                        tr {
                            td { (e.receipts) }
                            td { (url_text(&e.url)) }
                            td class="day" { (e.first_seen) }
                            td class="day" { (e.last_seen) }
                            td {
                                @if let Some(a) = l.assessment(&e.url) { (already(b, a)) " " }
                                a href=(b.href(&format!("url/{}", e.id))) { (t("desk-assess-link")) }
                            }
                        }
                    }
                }
            }
        }
        nav class="inline" {
            @if f.page > 0 { a href=(format!("{}?{}", b.href(""), f.query(f.page - 1))) { (t("desk-prev")) } }
            @if (f.page + 1) * super::queue::PAGE < total { a href=(format!("{}?{}", b.href(""), f.query(f.page + 1))) { (t("desk-next")) } }
        }
        h2 { (t("desk-import-title")) }
        form method="post" action=(b.href("import")) {
            div class="field" {
                label for="path" { (t("desk-import-path")) }
                input id="path" name="path" type="text" dir="ltr" autocomplete="off" required;
            }
            button class="button" type="submit" { (t("desk-import-button")) }
        }
        h2 { (t("desk-export-title")) }
        form method="post" action=(b.href("export")) {
            button class="button" type="submit" { (t("desk-export-button")) }
        }
    };
    frame(b, &t("desk-queue-title"), "", main)
}

fn report_rows(b: &Base<'_>, l: &Ledger, r: &Report) -> Markup {
    let t = |id: &str| b.t(id);
    html! {
        table {
            tr { th scope="row" { (t("desk-report-received")) } td { (r.received) } }
            tr { th scope="row" { (t("desk-report-language")) } td { (tr(r.language, "language-name")) } }
            @if let Some(c) = r.category { tr { th scope="row" { (t("desk-report-category")) } td { (t(&format!("category-{}", c.id()))) } } }
            @if !r.urls.is_empty() {
                tr { th scope="row" { (t("desk-col-url")) } td { ul { @for u in &r.urls {
                    li { (url_text(&u.url))
                        @if *u.typed != *u.url { br; span class="small" { (t("desk-report-typed")) ": " code dir="auto" { (&*u.typed) } } }
                    }
                } } } }
            }
            tr { th scope="row" { (t("desk-report-description")) } td class="desc" lang=(r.language.id()) dir="auto" { (&*r.description) } }
        }
        p { a href=(b.href(&format!("report/{}", l.report_id(r)))) { (t("desk-report-answer-link")) } }
    }
}

fn problems_summary(b: &Base<'_>, problems: &[Problem]) -> Markup {
    html! {
        @if !problems.is_empty() {
            section class="summary" role="alert" {
                h2 { (b.t("desk-fix")) }
                ul { @for p in problems {
                    li { a href=(format!("#{}", p.field)) { (b.t(&format!("desk-field-{}", p.field))) ": " (b.t(p.message)) } }
                } }
            }
        }
    }
}

/// One choice of the assessment form: its field, the translation ids'
/// prefix, the values, and whether "not given" is offered.
struct Choice {
    field: &'static str,
    prefix: &'static str,
    ids: Vec<&'static str>,
    none: bool,
}

fn choice<T: Copy>(
    field: &'static str,
    prefix: &'static str,
    all: &[T],
    id: fn(T) -> &'static str,
    none: bool,
) -> Choice {
    Choice {
        field,
        prefix,
        ids: all.iter().map(|v| id(*v)).collect(),
        none,
    }
}

fn radios(b: &Base<'_>, typed: &Typed, problems: &[Problem], c: Choice) -> Markup {
    let Choice {
        field,
        prefix,
        ids,
        none,
    } = c;
    let problem = problems.iter().find(|p| p.field == field);
    let current = typed.get(field).unwrap_or("");
    html! {
        fieldset class=(if problem.is_some() { "field invalid" } else { "field" }) id=(field) {
            legend { (b.t(&format!("desk-field-{field}"))) }
            @if let Some(p) = problem { p class="error" { (b.t(p.message)) } }
            div class="inline" {
                @if none {
                    label class="choice" { input type="radio" name=(field) value="" checked[current.is_empty()]; " " (b.t("desk-none")) }
                }
                @for v in ids {
                    label class="choice" {
                        input type="radio" name=(field) value=(v) checked[current == v];
                        " " (b.t(&format!("{prefix}{v}")))
                    }
                }
            }
        }
    }
}

pub fn url_page(
    b: &Base<'_>,
    l: &Ledger,
    e: &UrlEntry,
    typed: &Typed,
    problems: &[Problem],
) -> Markup {
    let t = |id: &str| b.t(id);
    let country_problem = problems.iter().find(|p| p.field == "hosting-country");
    let note_problem = problems.iter().find(|p| p.field == "note");
    let main = html! {
        h1 { (t("desk-url-title")) }
        p { (url_text(&e.url)) }
        @if let Some(a) = l.assessment(&e.url) { p class="warning" { (already(b, a)) } }
        (problems_summary(b, problems))
        form method="post" action=(b.href(&format!("url/{}", e.id))) {
            (radios(b, typed, problems, choice("classification", "desk-class-", Classification::ALL, Classification::id, false)))
            (radios(b, typed, problems, choice("site-type", "desk-site-", SiteType::ALL, SiteType::id, false)))
            (radios(b, typed, problems, choice("content-type", "desk-content-", ContentType::ALL, ContentType::id, true)))
            (radios(b, typed, problems, choice("age-group", "desk-age-", AgeGroup::ALL, AgeGroup::id, true)))
            (radios(b, typed, problems, choice("gender", "desk-gender-", Gender::ALL, Gender::id, true)))
            fieldset class="field" {
                legend { (t("desk-field-flags")) }
                @for f in ["virtual", "child-modelling", "user-generated"] {
                    label class="choice" { input type="checkbox" name=(f) value="1" checked[typed.checked(f)]; " " (t(&format!("desk-field-{f}"))) }
                }
            }
            div class=(if country_problem.is_some() { "field invalid" } else { "field" }) {
                label for="hosting-country" { (t("desk-field-hosting-country")) }
                @if let Some(p) = country_problem { p class="error" { (t(p.message)) } }
                input id="hosting-country" name="hosting-country" type="text" dir="ltr" size="3" maxlength="8" autocomplete="off" value=(typed.get("hosting-country").unwrap_or(""));
            }
            (radios(b, typed, problems, choice("iwf-category", "desk-iwf-", IwfCategory::ALL, IwfCategory::id, true)))
            div class=(if note_problem.is_some() { "field invalid" } else { "field" }) {
                label for="note" { (t("desk-field-note")) }
                @if let Some(p) = note_problem { p class="error" { (t(p.message)) } }
                textarea id="note" name="note" rows="3" dir="auto" { (typed.get("note").unwrap_or("")) }
            }
            button class="button" type="submit" { (t("desk-save")) }
        }
        h2 { (t("desk-reports-naming")) }
        @for &i in &e.reports {
            article class="guide" { (report_rows(b, l, &l.state.reports[i])) }
        }
    };
    frame(b, &t("desk-url-title"), &format!("url/{}", e.id), main)
}

pub fn report_page(
    b: &Base<'_>,
    l: &Ledger,
    r: &Report,
    typed: &Typed,
    problems: &[Problem],
) -> Markup {
    let t = |id: &str| b.t(id);
    let rid = l.report_id(r);
    let current = l.state.answers.get(&*r.receipt);
    let status = typed.get("status").unwrap_or("");
    let reply = typed.get("reply").unwrap_or("");
    let main = html! {
        h1 { (t("desk-report-title")) }
        @if let Some(a) = current {
            p class="warning" { (tr_args(b.lang, "desk-answer-current", &[("day", day(&a.day).into()), ("by", a.by.as_str().into())])) }
        }
        (problems_summary(b, problems))
        @for other in l.by_receipt(&r.receipt) {
            article class="guide" { (report_rows(b, l, other)) }
        }
        form method="post" action=(b.href(&format!("report/{rid}"))) {
            fieldset class="field" id="status" {
                legend { (t("desk-answer-status")) }
                @for s in crate::answers::Status::ALL {
                    label class="choice" { input type="radio" name="status" value=(s.id()) checked[status == s.id()]; " " (t(&format!("desk-astatus-{}", s.id()))) }
                }
            }
            fieldset class="field" id="reply" {
                legend { (t("desk-answer-reply")) }
                label class="choice" { input type="radio" name="reply" value="" checked[reply.is_empty()]; " " (t("desk-none")) }
                @for s in crate::answers::Reply::ALL {
                    label class="choice" { input type="radio" name="reply" value=(s.id()) checked[reply == s.id()]; " " (t(&format!("desk-reply-{}", s.id()))) }
                }
            }
            div class="field" {
                label for="text" { (t("desk-answer-text")) }
                textarea id="text" name="text" rows="3" dir="auto" { (typed.get("text").unwrap_or("")) }
            }
            button class="button" type="submit" { (t("desk-answer-save")) }
        }
    };
    frame(b, &t("desk-report-title"), &format!("report/{rid}"), main)
}

pub fn message(b: &Base<'_>, id: &str) -> Markup {
    let text = b.t(id);
    frame(b, &text, "", html! { h1 { (text) } })
}

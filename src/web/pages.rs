//! The pages, as functions of (language, site, data) → HTML. Every visible
//! string is a translation id; visitor data is only ever inserted through
//! maud's escaping (never `PreEscaped`). No scripts, no outside resources:
//! one stylesheet from this server.

use crate::config::Site;
use crate::report::{
    Category, Field, FormInput, Lang, MAX_DESCRIPTION_CHARS, Problem, Receipt, WhereSeen,
};
use crate::ui::frame::{self, Frame, Link, dir};
use crate::ui::i18n::{tr, tr_args};
use maud::{Markup, html};

/// The page a language link should point at, so switching language keeps
/// the reporter where they are.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Home,
    About,
    Help,
}

impl Page {
    fn path(self, lang: Lang) -> String {
        match self {
            Page::Home => format!("/{}/", lang.id()),
            Page::About => format!("/{}/about", lang.id()),
            Page::Help => format!("/{}/help", lang.id()),
        }
    }
}

/// Every reporter page: the shared frame with "Leave quickly", the
/// reporter's navigation and the privacy note.
fn layout(lang: Lang, site: &Site, page: Page, title: &str, main: Markup) -> Markup {
    let t = |id: &str| tr(lang, id);
    let lang_href = |l: Lang| page.path(l);
    let frame = Frame {
        lang,
        title,
        brand: &site.name,
        home: Page::Home.path(lang),
        leave: Some(&site.leave_url),
        lang_href: &lang_href,
        nav: [
            (Page::Home, "nav-report"),
            (Page::About, "nav-about"),
            (Page::Help, "nav-help"),
        ]
        .into_iter()
        .map(|(p, id)| Link {
            href: p.path(lang),
            text: t(id),
        })
        .collect(),
        note: Some(t("privacy-note")),
    };
    frame::page(&frame, main)
}

/// `/`: the three languages, each in its own script. The heading says
/// "choose your language" in all three, since the reporter may read only
/// one of them.
pub fn choose(site: &Site) -> Markup {
    let lang = site.default_language;
    let others = Lang::ALL.iter().copied().filter(|l| *l != lang);
    let order: Vec<Lang> = std::iter::once(lang).chain(others).collect();
    let title = order
        .iter()
        .map(|l| tr(*l, "choose-title"))
        .collect::<Vec<_>>()
        .join(" · ");
    let main = html! {
        h1 class="choose-title" {
            @for l in &order {
                span lang=(l.id()) dir=(dir(*l)) { (tr(*l, "choose-title")) }
            }
        }
        ul class="choose" {
            @for l in Lang::ALL {
                li lang=(l.id()) dir=(dir(l)) {
                    a class="button" href=(Page::Home.path(l)) hreflang=(l.id()) { (tr(l, "language-name")) }
                    p { (tr(l, "choose-intro")) }
                }
            }
        }
    };
    layout(lang, site, Page::Home, &title, main)
}

/// What the form shows: empty, or as the reporter left it plus problems.
pub struct FormState<'a> {
    pub input: Option<&'a FormInput>,
    pub problems: &'a [Problem],
}

fn problem_text(lang: Lang, p: Problem) -> String {
    tr_args(
        lang,
        p.message_id(),
        &[
            ("line", p.line().unwrap_or(0).into()),
            ("max", p.max().unwrap_or(0).into()),
        ],
    )
}

fn field_errors(lang: Lang, problems: &[Problem], field: Field) -> Option<Markup> {
    let mine: Vec<Problem> = problems
        .iter()
        .copied()
        .filter(|p| p.field() == field)
        .collect();
    if mine.is_empty() {
        return None;
    }
    Some(html! {
        p class="error" id=(format!("{}-error", field.id())) {
            @for (i, p) in mine.iter().enumerate() {
                @if i > 0 { br; }
                (problem_text(lang, *p))
            }
        }
    })
}

fn described_by(hint: Option<&str>, field: Field, has_error: bool) -> String {
    let mut ids: Vec<String> = hint.map(|h| vec![h.to_owned()]).unwrap_or_default();
    if has_error {
        ids.push(format!("{}-error", field.id()));
    }
    ids.join(" ")
}

/// `/{lang}/`: the explanation, the warning, and the form.
pub fn home(lang: Lang, site: &Site, state: FormState<'_>) -> Markup {
    form_page(lang, site, state, None)
}

/// The form again, as the reporter filled it, under a notice
/// (`{notice}-title`, `{notice}-form-body`) saying why it was not sent:
/// nothing they typed depends on the browser's Back button.
pub fn home_with_notice(lang: Lang, site: &Site, input: &FormInput, notice: &str) -> Markup {
    let state = FormState {
        input: Some(input),
        problems: &[],
    };
    form_page(lang, site, state, Some(notice))
}

fn form_page(lang: Lang, site: &Site, state: FormState<'_>, notice: Option<&str>) -> Markup {
    let t = |id: &str| tr(lang, id);
    let empty = FormInput::default();
    let input = state.input.unwrap_or(&empty);
    let problems = state.problems;
    let err = |f: Field| field_errors(lang, problems, f);
    let has = |f: Field| problems.iter().any(|p| p.field() == f);
    let main = html! {
        h1 { (t("home-title")) }
        @if let Some(n) = notice {
            section class="summary" id="problems" tabindex="-1" autofocus role="status" aria-labelledby="problems-title" {
                h2 id="problems-title" { (t(&format!("{n}-title"))) }
                p { (t(&format!("{n}-form-body"))) }
            }
        } @else if problems.is_empty() {
            p class="lead" { (t("home-intro")) }
        } @else {
            // Right under the heading and focused when the page loads (no
            // script needed), so the reporter sees at once what to fix.
            section class="summary" id="problems" tabindex="-1" autofocus aria-labelledby="problems-title" {
                h2 id="problems-title" { (t("errors-title")) }
                ul {
                    @for p in problems {
                        li { a href=(format!("#{}", p.field().id())) { (problem_text(lang, *p)) } }
                    }
                }
            }
        }
        div class="warning" role="note" aria-labelledby="never-title" {
            h2 id="never-title" { (t("never-title")) }
            p { (t("never-body")) }
        }
        form id="report-form" method="post" action=(format!("/{}/report", lang.id())) accept-charset="utf-8" {
            h2 { (t("form-title")) }
            p class="small" { (t("form-required")) }

            div class=(if has(Field::Urls) { "field invalid" } else { "field" }) {
                label for="urls" { (t("urls-label")) }
                p class="hint" id="urls-hint" { (t("urls-hint")) }
                @if let Some(e) = err(Field::Urls) { (e) }
                textarea id="urls" name="urls" rows="3" dir="ltr" required
                    spellcheck="false" autocapitalize="off" autocomplete="off"
                    aria-describedby=(described_by(Some("urls-hint"), Field::Urls, has(Field::Urls)))
                    aria-invalid=[has(Field::Urls).then_some("true")] { (input.urls) }
            }

            fieldset id="category" class=(if has(Field::Category) { "field invalid" } else { "field" })
                aria-describedby=[has(Field::Category).then_some("category-error")] {
                legend { (t("category-legend")) }
                @if let Some(e) = err(Field::Category) { (e) }
                @for c in &site.categories {
                    (radio("category", c.id(), &t(&category_id(*c)), input.category == c.id(), true))
                }
            }

            fieldset id="where_seen" class=(if has(Field::WhereSeen) { "field invalid" } else { "field" })
                aria-describedby=[has(Field::WhereSeen).then_some("where_seen-error")] {
                legend { (t("where-legend")) " " span class="small" { "(" (t("optional")) ")" } }
                @if let Some(e) = err(Field::WhereSeen) { (e) }
                @for w in WhereSeen::ALL {
                    (radio("where_seen", w.id(), &t(&format!("where-{}", w.id())), input.where_seen == w.id(), false))
                }
                (radio("where_seen", "", &t("where-not-said"), input.where_seen.is_empty(), false))
            }

            div class=(if has(Field::Description) { "field invalid" } else { "field" }) {
                label for="description" { (t("description-label")) " " span class="small" { "(" (t("optional")) ")" } }
                p class="hint" id="description-hint" {
                    (tr_args(lang, "description-hint", &[("max", MAX_DESCRIPTION_CHARS.into())]))
                }
                @if let Some(e) = err(Field::Description) { (e) }
                textarea id="description" name="description" rows="5" dir="auto"
                    maxlength=(MAX_DESCRIPTION_CHARS)
                    aria-describedby=(described_by(Some("description-hint"), Field::Description, has(Field::Description)))
                    aria-invalid=[has(Field::Description).then_some("true")] { (input.description) }
            }

            button type="submit" class="button" { (t("submit")) }
        }
    };
    let title = if let Some(n) = notice {
        format!("{} – {}", t(&format!("{n}-title")), t("home-title"))
    } else if problems.is_empty() {
        t("home-title")
    } else {
        format!("{} {}", t("error-prefix"), t("home-title"))
    };
    layout(lang, site, Page::Home, &title, main)
}

fn category_id(c: Category) -> String {
    format!("category-{}", c.id())
}

fn radio(name: &str, value: &str, label: &str, checked: bool, required: bool) -> Markup {
    let id = if value.is_empty() {
        format!("{name}-none")
    } else {
        format!("{name}-{value}")
    };
    html! {
        div class="choice" {
            input type="radio" id=(id) name=(name) value=(value) checked[checked] required[required];
            label for=(id) { (label) }
        }
    }
}

/// The answer to an accepted report: shown only after it is durable.
pub fn thanks(lang: Lang, site: &Site, receipt: &Receipt) -> Markup {
    let t = |id: &str| tr(lang, id);
    let main = html! {
        h1 { (t("thanks-title")) }
        p { (t("thanks-body")) }
        div class="receipt" {
            p { (t("receipt-label")) }
            p class="code" { strong id="receipt" dir="ltr" { (receipt.expose()) } }
            p { (tr_args(lang, "receipt-explain", &[("org", site.organisation(lang).into())])) }
        }
        p { (t("thanks-close")) }
        p { a class="button secondary" href=(Page::Home.path(lang)) { (t("thanks-another")) } }
    };
    layout(lang, site, Page::Home, &t("thanks-title"), main)
}

/// `/{lang}/about`: what happens next, what we never learn.
pub fn about(lang: Lang, site: &Site) -> Markup {
    let t = |id: &str| tr(lang, id);
    let org = [("org", site.organisation(lang).into())];
    let main = html! {
        h1 { (t("about-title")) }
        h2 { (t("about-next-title")) }
        p { (tr_args(lang, "about-next-body", &org)) }
        h2 { (t("about-never-title")) }
        p { (t("about-never-body")) }
        h2 { (t("about-lock-title")) }
        p { (t("about-lock-body")) }
        h2 { (t("about-receipt-title")) }
        p { (tr_args(lang, "about-receipt-body", &org)) }
        p { a class="button" href=(Page::Home.path(lang)) { (t("back-to-form")) } }
    };
    layout(lang, site, Page::About, &t("about-title"), main)
}

/// `/{lang}/help`: staying safe online, and where to get help.
pub fn help(lang: Lang, site: &Site) -> Markup {
    let t = |id: &str| tr(lang, id);
    let main = html! {
        h1 { (t("help-title")) }
        h2 { (t("help-children-title")) }
        ul { @for i in 1..=4 { li { (t(&format!("help-children-{i}"))) } } }
        h2 { (t("help-parents-title")) }
        ul { @for i in 1..=4 { li { (t(&format!("help-parents-{i}"))) } } }
        h2 { (t("help-where-title")) }
        p class="helpline" { (site.helpline(lang).map(str::to_owned).unwrap_or_else(|| t("help-where-default"))) }
        p { a class="button" href=(Page::Home.path(lang)) { (t("back-to-form")) } }
    };
    layout(lang, site, Page::Help, &t("help-title"), main)
}

/// A short page for errors and refusals: `{kind}-title`, `{kind}-body`.
pub fn message(lang: Lang, site: &Site, kind: &str) -> Markup {
    let title = tr(lang, &format!("{kind}-title"));
    let main = html! {
        h1 { (title) }
        p { (tr(lang, &format!("{kind}-body"))) }
        p { a class="button" href=(Page::Home.path(lang)) { (tr(lang, "back-to-form")) } }
    };
    layout(lang, site, Page::Home, &title, main)
}

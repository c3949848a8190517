//! The pages, as functions of (language, site, data) → HTML. Every visible
//! string is a translation id; visitor data is only ever inserted through
//! maud's escaping (never `PreEscaped`). No scripts, no outside resources:
//! one stylesheet from this server.
//!
//! The reporter's way through: `/{lang}/` asks what happened ([`home`]);
//! each choice is a plain link to `/{lang}/report/{category}`, whose form
//! ([`form`]) has only the fields that fit that harm
//! ([`Category::fields`]) and posts back to its own address; the answer is
//! the form again, everything kept, with the problems, or [`thanks`].

use crate::config::Site;
use crate::report::{
    Answer, Category, Field, Fields, FormInput, Lang, MAX_ACCOUNTS, MAX_DESCRIPTION_CHARS,
    MAX_PLATFORM_NAME_CHARS, Platform, Problem, Receipt, WhereSeen,
};
use crate::ui::frame::{self, Frame, Link, dir};
use crate::ui::i18n::{tr, tr_args};
use maud::{Markup, html};

/// The page a language link should point at, so switching language keeps
/// the reporter where they are.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Home,
    Report(Category),
    FollowUp,
    About,
    Help,
}

impl Page {
    pub fn path(self, lang: Lang) -> String {
        match self {
            Page::Home => format!("/{}/", lang.id()),
            Page::Report(c) => format!("/{}/report/{}", lang.id(), c.id()),
            Page::FollowUp => format!("/{}/follow-up", lang.id()),
            Page::About => format!("/{}/about", lang.id()),
            Page::Help => format!("/{}/help", lang.id()),
        }
    }
}

/// Every reporter page: the shared frame with "Leave quickly", the
/// reporter's navigation and the privacy note.
pub fn layout(lang: Lang, site: &Site, page: Page, title: &str, main: Markup) -> Markup {
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
            (Page::FollowUp, "nav-follow-up"),
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

/// "Already sent a report?": the way back, on the start page and the forms.
pub(super) fn follow_up_prompt(lang: Lang) -> Markup {
    html! {
        p class="followup" {
            (tr(lang, "followup-prompt")) " "
            a href=(Page::FollowUp.path(lang)) { (tr(lang, "followup-link")) }
        }
    }
}

/// The error summary: right under the heading and focused when the page
/// loads (no script needed), so the reporter sees at once what to fix.
/// Each line links to its field.
pub(super) fn summary(lang: Lang, problems: &[Problem], fields: Option<Fields>) -> Markup {
    html! {
        section class="summary" id="problems" tabindex="-1" autofocus aria-labelledby="problems-title" {
            h2 id="problems-title" { (tr(lang, "errors-title")) }
            ul {
                @for p in problems {
                    li { a href=(format!("#{}", p.field().id())) { (problem_text(lang, *p, fields)) } }
                }
            }
        }
    }
}

/// `/{lang}/`: what this is, and the choice of what happened. With
/// `problems` (an old-style form posted without a category), the
/// summary says what to do.
pub fn home(lang: Lang, site: &Site, problems: &[Problem]) -> Markup {
    let t = |id: &str| tr(lang, id);
    let main = html! {
        h1 { (t("home-title")) }
        @if problems.is_empty() {
            p class="lead" { (t("home-intro")) }
        } @else {
            (summary(lang, problems, None))
        }
        section id="category" aria-labelledby="harm-title" {
            h2 id="harm-title" { (t("choose-harm-title")) }
            ul class="harms" {
                @for c in &site.categories {
                    li {
                        a class="harm" href=(Page::Report(*c).path(lang)) {
                            strong { (t(&format!("category-{}", c.id()))) }
                            span { (t(&format!("choice-{}-hint", c.id()))) }
                        }
                    }
                }
            }
        }
        (follow_up_prompt(lang))
    };
    let title = if problems.is_empty() {
        t("home-title")
    } else {
        format!("{} {}", t("error-prefix"), t("home-title"))
    };
    layout(lang, site, Page::Home, &title, main)
}

/// What the form shows: empty, or as the reporter left it plus problems,
/// or plus a notice (`{notice}-title`, `{notice}-form-body`) saying why
/// it was not sent, so nothing typed depends on the browser's Back button.
pub struct FormState<'a> {
    pub input: Option<&'a FormInput>,
    pub problems: &'a [Problem],
    pub notice: Option<&'a str>,
}

/// A problem's message. `fields` says what else the form has, so that a
/// message can point at the right box (an account typed as an address).
pub fn problem_text(lang: Lang, p: Problem, fields: Option<Fields>) -> String {
    let accounts = if fields.is_some_and(|f| f.accounts) {
        "yes"
    } else {
        "no"
    };
    tr_args(
        lang,
        p.message_id(),
        &[
            ("line", p.line().unwrap_or(0).into()),
            ("max", p.max().unwrap_or(0).into()),
            ("accounts", accounts.into()),
        ],
    )
}

/// One form's problems, and how to mark its fields.
pub(super) struct Marks<'a> {
    pub(super) lang: Lang,
    pub(super) problems: &'a [Problem],
    pub(super) fields: Fields,
}

impl Marks<'_> {
    fn has(&self, f: Field) -> bool {
        self.problems.iter().any(|p| p.field() == f)
    }

    fn class(&self, f: Field) -> &'static str {
        if self.has(f) {
            "field invalid"
        } else {
            "field"
        }
    }

    /// The messages shown next to the field, just above its control.
    fn errors(&self, f: Field) -> Option<Markup> {
        let mine: Vec<Problem> = self
            .problems
            .iter()
            .copied()
            .filter(|p| p.field() == f)
            .collect();
        if mine.is_empty() {
            return None;
        }
        Some(html! {
            p class="error" id=(format!("{}-error", f.id())) {
                @for (i, p) in mine.iter().enumerate() {
                    @if i > 0 { br; }
                    (problem_text(self.lang, *p, Some(self.fields)))
                }
            }
        })
    }

    /// `aria-describedby`: the hint, then the error if there is one.
    fn described_by(&self, hint: Option<&str>, f: Field) -> Option<String> {
        let mut ids: Vec<String> = hint.map(|h| vec![h.to_owned()]).unwrap_or_default();
        if self.has(f) {
            ids.push(format!("{}-error", f.id()));
        }
        (!ids.is_empty()).then(|| ids.join(" "))
    }

    fn invalid(&self, f: Field) -> Option<&'static str> {
        self.has(f).then_some("true")
    }
}

/// `/{lang}/report/{category}`: the fields that fit this harm, empty or
/// as the reporter left them with what to fix. It posts to itself.
pub fn form(lang: Lang, site: &Site, category: Category, state: FormState<'_>) -> Markup {
    let t = |id: &str| tr(lang, id);
    let empty = FormInput::default();
    let input = state.input.unwrap_or(&empty);
    let fields = category.fields();
    let m = Marks {
        lang,
        problems: state.problems,
        fields,
    };
    let heading = t(&format!("form-title-{}", category.id()));
    let main = html! {
        h1 { (heading) }
        p class="change" { a href=(Page::Home.path(lang)) { (t("form-change")) } }
        @if let Some(n) = state.notice {
            section class="summary" id="problems" tabindex="-1" autofocus role="status" aria-labelledby="problems-title" {
                h2 id="problems-title" { (t(&format!("{n}-title"))) }
                p { (t(&format!("{n}-form-body"))) }
            }
        } @else if !m.problems.is_empty() { (summary(lang, m.problems, Some(fields))) }
        @if fields.accounts {
            div class="warning" role="note" aria-labelledby="never-title" {
                h2 id="never-title" { (t("evidence-title")) }
                p { (t("evidence-body")) }
            }
        } @else {
            div class="warning" role="note" aria-labelledby="never-title" {
                h2 id="never-title" { (t("never-title")) }
                p { (t("never-body")) }
            }
        }
        form id="report-form" method="post" action=(Page::Report(category).path(lang)) accept-charset="utf-8" {
            @if fields.accounts {
                p class="small" { (t("form-required-accounts")) }
                (platform_fields(&m, input))
                (accounts_field(&m, input))
                (urls_field(&m, input))
            } @else {
                p class="small" { (t("form-required")) }
                (urls_field(&m, input))
            }
            @if fields.where_seen { (where_field(&m, input)) }
            @if fields.demands {
                (answer_field(&m, Field::Money, "money-legend", &input.money))
                (answer_field(&m, Field::Images, "images-legend", &input.images))
            }
            (description_field(&m, input))
            button type="submit" class="button" { (t("submit")) }
        }
        (follow_up_prompt(lang))
    };
    let title = if let Some(n) = state.notice {
        format!("{} – {}", t(&format!("{n}-title")), heading)
    } else if m.problems.is_empty() {
        heading
    } else {
        format!("{} {}", t("error-prefix"), heading)
    };
    layout(lang, site, Page::Report(category), &title, main)
}

/// Web addresses: required for images and other harm, optional (links to
/// a profile or a conversation) where accounts are asked for.
pub(super) fn urls_field(m: &Marks<'_>, input: &FormInput) -> Markup {
    let t = |id: &str| tr(m.lang, id);
    let required = m.fields.urls_required;
    let hint = if required {
        t("urls-hint")
    } else {
        t("urls-hint-accounts")
    };
    html! {
        div class=(m.class(Field::Urls)) {
            label for="urls" {
                @if required { (t("urls-label")) } @else {
                    (t("urls-label-optional")) " " span class="small" { "(" (t("optional")) ")" }
                }
            }
            p class="hint" id="urls-hint" { (hint) }
            @if let Some(e) = m.errors(Field::Urls) { (e) }
            textarea id="urls" name="urls" rows="3" dir="ltr" required[required]
                spellcheck="false" autocapitalize="off" autocomplete="off"
                aria-describedby=[m.described_by(Some("urls-hint"), Field::Urls)]
                aria-invalid=[m.invalid(Field::Urls)] { (input.urls) }
        }
    }
}

/// The app or site (a translated list, and a name for one not in it).
pub(super) fn platform_fields(m: &Marks<'_>, input: &FormInput) -> Markup {
    let t = |id: &str| tr(m.lang, id);
    html! {
        div class=(m.class(Field::Platform)) {
            label for="platform" { (t("platform-label")) }
            @if let Some(e) = m.errors(Field::Platform) { (e) }
            select id="platform" name="platform"
                aria-describedby=[m.described_by(None, Field::Platform)]
                aria-invalid=[m.invalid(Field::Platform)] {
                option value="" selected[input.platform.is_empty()] { (t("platform-choose")) }
                @for p in Platform::ALL {
                    option value=(p.id()) selected[input.platform == p.id()] { (t(&format!("platform-{}", p.id()))) }
                }
            }
        }
        div class=(m.class(Field::PlatformName)) {
            label for="platform_name" { (t("platform-name-label")) " " span class="small" { "(" (t("optional")) ")" } }
            @if let Some(e) = m.errors(Field::PlatformName) { (e) }
            input type="text" id="platform_name" name="platform_name" dir="auto"
                maxlength=(MAX_PLATFORM_NAME_CHARS) autocomplete="off" value=(input.platform_name)
                aria-describedby=[m.described_by(None, Field::PlatformName)]
                aria-invalid=[m.invalid(Field::PlatformName)];
        }
    }
}

/// The offender's account names, ids or phone numbers, one per line.
pub(super) fn accounts_field(m: &Marks<'_>, input: &FormInput) -> Markup {
    let t = |id: &str| tr(m.lang, id);
    html! {
        div class=(m.class(Field::Accounts)) {
            label for="accounts" { (t("accounts-label")) }
            p class="hint" id="accounts-hint" {
                (tr_args(m.lang, "accounts-hint", &[("max", MAX_ACCOUNTS.into())]))
            }
            @if let Some(e) = m.errors(Field::Accounts) { (e) }
            textarea id="accounts" name="accounts" rows=(MAX_ACCOUNTS.min(3)) dir="auto"
                spellcheck="false" autocapitalize="off" autocomplete="off"
                aria-describedby=[m.described_by(Some("accounts-hint"), Field::Accounts)]
                aria-invalid=[m.invalid(Field::Accounts)] { (input.accounts) }
        }
    }
}

fn where_field(m: &Marks<'_>, input: &FormInput) -> Markup {
    let t = |id: &str| tr(m.lang, id);
    html! {
        fieldset id="where_seen" class=(m.class(Field::WhereSeen))
            aria-describedby=[m.described_by(None, Field::WhereSeen)] {
            legend { (t("where-legend")) " " span class="small" { "(" (t("optional")) ")" } }
            @if let Some(e) = m.errors(Field::WhereSeen) { (e) }
            @for w in WhereSeen::ALL {
                (radio("where_seen", w.id(), &t(&format!("where-{}", w.id())), input.where_seen == w.id()))
            }
            (radio("where_seen", "", &t("where-not-said"), input.where_seen.is_empty()))
        }
    }
}

/// Sextortion: yes / no / not sure. None is checked at first: not
/// answering is an answer too ("not said").
fn answer_field(m: &Marks<'_>, field: Field, legend: &str, value: &str) -> Markup {
    let t = |id: &str| tr(m.lang, id);
    html! {
        fieldset id=(field.id()) class=(m.class(field))
            aria-describedby=[m.described_by(None, field)] {
            legend { (t(legend)) " " span class="small" { "(" (t("optional")) ")" } }
            @if let Some(e) = m.errors(field) { (e) }
            div class="inline" {
                @for a in Answer::ALL {
                    (radio(field.id(), a.id(), &t(&format!("answer-{}", a.id())), value == a.id()))
                }
            }
        }
    }
}

pub(super) fn description_field(m: &Marks<'_>, input: &FormInput) -> Markup {
    let t = |id: &str| tr(m.lang, id);
    let label = if m.fields.accounts {
        "description-label-accounts"
    } else {
        "description-label"
    };
    html! {
        div class=(m.class(Field::Description)) {
            label for="description" { (t(label)) " " span class="small" { "(" (t("optional")) ")" } }
            p class="hint" id="description-hint" {
                (tr_args(m.lang, "description-hint", &[("max", MAX_DESCRIPTION_CHARS.into())]))
            }
            @if let Some(e) = m.errors(Field::Description) { (e) }
            textarea id="description" name="description" rows="5" dir="auto"
                maxlength=(MAX_DESCRIPTION_CHARS)
                aria-describedby=[m.described_by(Some("description-hint"), Field::Description)]
                aria-invalid=[m.invalid(Field::Description)] { (input.description) }
        }
    }
}

fn radio(name: &str, value: &str, label: &str, checked: bool) -> Markup {
    let id = if value.is_empty() {
        format!("{name}-none")
    } else {
        format!("{name}-{value}")
    };
    html! {
        div class="choice" {
            input type="radio" id=(id) name=(name) value=(value) checked[checked];
            label for=(id) { (label) }
        }
    }
}

/// The answer to an accepted report: shown only after it is durable. The
/// receipt comes first and big; then how to keep it and where it leads;
/// after grooming or sextortion, what to do now and who can help.
pub fn thanks(lang: Lang, site: &Site, receipt: &Receipt, category: Option<Category>) -> Markup {
    let t = |id: &str| tr(lang, id);
    let guide = match category {
        Some(Category::Sextortion) => Some("sextortion"),
        Some(Category::Grooming) => Some("grooming"),
        _ => None,
    };
    let main = html! {
        h1 { (t("thanks-title")) }
        p { (t("thanks-body")) }
        div class="receipt" {
            p { (t("receipt-label")) }
            p class="code" { strong id="receipt" dir="ltr" { (receipt.expose()) } }
            p { (t("receipt-only-way")) }
            p { strong { (t("receipt-keep")) } }
        }
        p { (t("thanks-followup")) }
        p { a class="button" href=(Page::FollowUp.path(lang)) { (t("followup-link")) } }
        @if let Some(harm) = guide {
            section class="guide" aria-labelledby="guide-title" {
                h2 id="guide-title" { (t(&format!("guide-{harm}-title"))) }
                ol { @for i in 1..=4 { li { (t(&format!("guide-{harm}-{i}"))) } } }
                p { (t("guide-adult")) }
                h2 { (t("removal-title")) }
                p { (t("removal-intro")) }
                ul class="services" {
                    @for s in ["take-it-down", "report-remove"] {
                        li {
                            (t(&format!("removal-{s}"))) " "
                            span class="site" dir="ltr" { (t(&format!("removal-{s}-site"))) }
                        }
                    }
                }
                h2 { (t("helpline-title")) }
                p class="helpline" { (helpline(lang, site)) }
            }
        }
        p { (t("thanks-close")) }
        p { a class="button secondary" href=(Page::Home.path(lang)) { (t("thanks-another")) } }
    };
    layout(lang, site, Page::Home, &t("thanks-title"), main)
}

/// The operator's helpline for this language, or the built-in advice.
fn helpline(lang: Lang, site: &Site) -> String {
    site.helpline(lang)
        .map(str::to_owned)
        .unwrap_or_else(|| tr(lang, "help-where-default"))
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
        p class="helpline" { (helpline(lang, site)) }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every problem, once. The match has no wildcard, so a new variant
    /// does not compile until it is listed here (and so translated).
    fn every_problem() -> Vec<Problem> {
        use Problem::*;
        let all = vec![
            UrlMissing,
            TooManyUrls,
            UrlNotAddress(7),
            UrlWithWords(7),
            UrlInvalid(7),
            UrlScheme(7),
            UrlTooLong(7),
            UrlSingleLabel(7),
            UrlLocal(7),
            UrlUnknownEnding(7),
            UrlOnionV2(7),
            UrlOnionInvalid(7),
            UrlAccount(7),
            UrlCut(7),
            AccountOrUrlMissing,
            TooManyAccounts,
            AccountTooLong(7),
            AccountControl(7),
            PlatformMissing,
            PlatformInvalid,
            PlatformNameTooLong,
            PlatformNameControl,
            MoneyInvalid,
            ImagesInvalid,
            CategoryMissing,
            CategoryInvalid,
            WhereSeenInvalid,
            DescriptionTooLong,
            DescriptionControl,
            AdditionEmpty,
            ReportTooLarge,
        ];
        for p in &all {
            match p {
                UrlMissing | TooManyUrls | UrlNotAddress(_) | UrlWithWords(_) | UrlInvalid(_)
                | UrlScheme(_) | UrlTooLong(_) | UrlSingleLabel(_) | UrlLocal(_)
                | UrlUnknownEnding(_) | UrlOnionV2(_) | UrlOnionInvalid(_) | UrlAccount(_)
                | UrlCut(_) | AccountOrUrlMissing | TooManyAccounts | AccountTooLong(_)
                | AccountControl(_) | PlatformMissing | PlatformInvalid | PlatformNameTooLong
                | PlatformNameControl | MoneyInvalid | ImagesInvalid | CategoryMissing
                | CategoryInvalid | WhereSeenInvalid | DescriptionTooLong | DescriptionControl
                | AdditionEmpty | ReportTooLarge => {}
            }
        }
        all
    }

    #[test]
    fn every_problem_says_what_is_wrong_in_every_language_naming_its_line_and_limit() {
        for lang in Lang::ALL {
            let mut seen = std::collections::BTreeSet::new();
            for p in every_problem() {
                for fields in [None, Some(Category::Grooming.fields())] {
                    let text = problem_text(lang, p, fields);
                    assert_ne!(
                        text,
                        p.message_id(),
                        "{}: {p:?} is not translated",
                        lang.id()
                    );
                    if p.line().is_some() {
                        assert!(
                            text.contains('7'),
                            "{}: {p:?} does not name its line: {text}",
                            lang.id()
                        );
                    }
                    if let Some(max) = p.max() {
                        assert!(
                            text.contains(&max.to_string()),
                            "{}: {p:?} does not name {max}: {text}",
                            lang.id()
                        );
                    }
                    seen.insert(text);
                }
            }
            // An account typed as an address is sent to the accounts box
            // only where the form has one.
            let p = Problem::UrlAccount(1);
            assert_ne!(
                problem_text(lang, p, None),
                problem_text(lang, p, Some(Category::Sextortion.fields()))
            );
            assert!(seen.len() > 25, "{}: messages repeat", lang.id());
        }
    }

    fn site() -> Site {
        Site::default()
    }

    fn names(html: &str) -> Vec<&str> {
        let mut v: Vec<&str> = html
            .split("name=\"")
            .skip(1)
            .filter_map(|s| s.split('"').next())
            .filter(|n| !["viewport", "referrer"].contains(n))
            .collect();
        v.dedup();
        v
    }

    #[test]
    fn each_harm_gets_the_fields_that_fit_it_and_posts_to_its_own_address() {
        let empty = || FormState {
            input: None,
            problems: &[],
            notice: None,
        };
        let page = |c| form(Lang::En, &site(), c, empty()).into_string();
        let imagery = page(Category::AbuseImagery);
        assert_eq!(names(&imagery), ["urls", "where_seen", "description"]);
        assert!(imagery.contains("action=\"/en/report/abuse-imagery\""));
        assert!(imagery.contains("name=\"urls\" rows=\"3\" dir=\"ltr\" required"));
        assert_eq!(names(&page(Category::OtherHarm)), names(&imagery));
        let grooming = page(Category::Grooming);
        assert_eq!(
            names(&grooming),
            [
                "platform",
                "platform_name",
                "accounts",
                "urls",
                "description"
            ]
        );
        assert!(!grooming.contains("required"), "nothing is required alone");
        for p in Platform::ALL {
            assert!(grooming.contains(&format!("<option value=\"{}\">", p.id())));
        }
        assert_eq!(
            names(&page(Category::Sextortion)),
            [
                "platform",
                "platform_name",
                "accounts",
                "urls",
                "money",
                "images",
                "description"
            ]
        );
        // Each page's language links keep the reporter on the same form.
        assert!(grooming.contains("href=\"/ar/report/grooming\""));
        assert!(grooming.contains("href=\"/en/follow-up\""));
    }

    #[test]
    fn what_was_typed_comes_back_escaped_and_selected() {
        let mut input = FormInput::default();
        input.platform = "other".into();
        input.platform_name = "K\"ik <b>".into();
        input.accounts = "@a</textarea><script>".into();
        input.money = "unsure".into();
        let problems = [Problem::AccountOrUrlMissing, Problem::PlatformNameControl];
        let html = form(
            Lang::Ar,
            &site(),
            Category::Sextortion,
            FormState {
                input: Some(&input),
                problems: &problems,
                notice: None,
            },
        )
        .into_string();
        assert!(html.contains("<option value=\"other\" selected>"));
        assert!(html.contains("value=\"K&quot;ik &lt;b&gt;\""));
        assert!(html.contains("@a&lt;/textarea&gt;&lt;script&gt;</textarea>"));
        assert!(html.contains("value=\"unsure\" checked"));
        assert!(html.contains("id=\"accounts-error\""));
        assert!(html.contains("aria-describedby=\"accounts-hint accounts-error\""));
        assert!(html.contains("href=\"#platform_name\""));
        assert!(!html.contains("<script>"));
    }

    #[test]
    fn the_start_page_offers_only_what_the_hotline_takes() {
        let mut s = site();
        s.categories = vec![Category::Sextortion, Category::AbuseImagery];
        let html = home(Lang::Fr, &s, &[]).into_string();
        let links: Vec<&str> = html
            .split("class=\"harm\" href=\"")
            .skip(1)
            .filter_map(|x| x.split('"').next())
            .collect();
        assert_eq!(links, ["/fr/report/sextortion", "/fr/report/abuse-imagery"]);
        assert!(html.contains("href=\"/fr/follow-up\""));
    }

    #[test]
    fn thanks_gives_the_receipt_then_help_that_fits_the_harm() {
        let mut s = site();
        s.helpline
            .insert("en".into(), "Call 116 111, free, day and night".into());
        let receipt = Receipt::random();
        let at = |html: &str, what: &str| html.find(what).unwrap_or(usize::MAX);
        for c in Category::ALL {
            let html = thanks(Lang::En, &s, &receipt, Some(c)).into_string();
            assert!(html.contains(receipt.expose()));
            assert!(at(&html, receipt.expose()) < at(&html, "the only way back"));
            assert!(html.contains("Do not take a screenshot"));
            assert!(html.contains("href=\"/en/follow-up\""));
            let guided = matches!(c, Category::Grooming | Category::Sextortion);
            for text in [
                "Take It Down",
                "Report Remove",
                "takeitdown.ncmec.org",
                "Call 116 111, free, day and night",
                "Tell an adult you trust",
            ] {
                assert_eq!(html.contains(text), guided, "{}: {text}", c.id());
            }
            assert_eq!(html.contains("Do not pay"), c == Category::Sextortion);
            // Services are named as text, never as links.
            let main = &html[at(&html, "<main")..at(&html, "</main>")];
            assert!(!main.contains("href=\"http"));
        }
        // A language without a configured helpline gets the built-in advice.
        let html = thanks(Lang::Ar, &s, &receipt, Some(Category::Grooming)).into_string();
        assert!(html.contains(&tr(Lang::Ar, "help-where-default")));
    }
}

//! The frame around every page: `<html lang dir>`, the top bar, the
//! language links (each in its own language, keeping the page), the
//! page's own content and the footer. Pages are functions of data to
//! [`Markup`]; visitor data only ever goes through maud's escaping.

use super::i18n::tr;
use crate::report::Lang;
use maud::{DOCTYPE, Markup, html};

/// `rtl` for Arabic, `ltr` otherwise.
pub fn dir(lang: Lang) -> &'static str {
    if lang.is_rtl() { "rtl" } else { "ltr" }
}

/// A link: where it goes and what it says.
pub struct Link {
    pub href: String,
    pub text: String,
}

/// What differs between the reporter pages and the desk.
pub struct Frame<'a> {
    pub lang: Lang,
    /// The page's own title; the frame appends " · brand".
    pub title: &'a str,
    /// The name in the top bar, linking to `home`.
    pub brand: &'a str,
    pub home: String,
    /// "Leave quickly" (reporter pages): a harmless page, one tap away.
    pub leave: Option<&'a str>,
    /// The same page in each language.
    pub lang_href: &'a dyn Fn(Lang) -> String,
    /// The footer's navigation.
    pub nav: Vec<Link>,
    /// A short line under the navigation.
    pub note: Option<String>,
}

/// Every page: a sticky bar with the name (and "Leave quickly" where
/// there is one, so the way out is one tap away however far down the
/// reporter is), the language links, `main`, and the footer.
pub fn page(f: &Frame<'_>, main: Markup) -> Markup {
    let lang = f.lang;
    let t = |id: &str| tr(lang, id);
    html! {
        (DOCTYPE)
        html lang=(lang.id()) dir=(dir(lang)) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (f.title) " · " (f.brand) }
                link rel="stylesheet" href=(super::STYLESHEET_PATH);
            }
            body {
                a class="skip" href="#main" { (t("skip-to-content")) }
                header class="top" {
                    p class="brand" { a href=(f.home) { (f.brand) } }
                    @if let Some(leave) = f.leave {
                        a class="leave" href=(leave) rel="noreferrer" { (t("leave-quickly")) }
                    }
                }
                nav class="langs" aria-label=(t("lang-switch-label")) {
                    ul {
                        @for l in Lang::ALL {
                            li {
                                a href=((f.lang_href)(l)) lang=(l.id()) hreflang=(l.id())
                                    aria-current=[(l == lang).then_some("page")] {
                                    (tr(l, "language-name"))
                                }
                            }
                        }
                    }
                }
                main id="main" tabindex="-1" { (main) }
                footer {
                    @if !f.nav.is_empty() {
                        nav aria-label=(t("nav-label")) {
                            ul { @for l in &f.nav { li { a href=(l.href) { (l.text) } } } }
                        }
                    }
                    @if let Some(note) = &f.note { p class="small" { (note) } }
                }
            }
        }
    }
}

//! Every visible string is a Fluent message in `locales/*.ftl`, compiled
//! into the binary: one file per language for each audience (the reporter
//! pages; the analysts' desk adds its own). A test fails if any language
//! lacks a message another one has, or if a file does not parse.

use crate::report::Lang;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use std::sync::LazyLock;

/// Each language's Fluent sources, in the order of [`Lang::ALL`].
pub const SOURCES: [(Lang, &[&str]); 3] = [
    (
        Lang::Ar,
        &[
            include_str!("locales/ar.ftl"),
            include_str!("locales/desk-ar.ftl"),
        ],
    ),
    (
        Lang::Fr,
        &[
            include_str!("locales/fr.ftl"),
            include_str!("locales/desk-fr.ftl"),
        ],
    ),
    (
        Lang::En,
        &[
            include_str!("locales/en.ftl"),
            include_str!("locales/desk-en.ftl"),
        ],
    ),
];

type Bundle = FluentBundle<FluentResource>;

static BUNDLES: LazyLock<Vec<(Lang, Bundle)>> = LazyLock::new(|| {
    SOURCES
        .iter()
        .map(|(lang, sources)| {
            let id = lang.id().parse().expect("language ids are valid");
            let mut b = FluentBundle::new_concurrent(vec![id]);
            // Pages put variable text (URLs, codes) in their own elements
            // with `dir`, so Unicode isolation marks are not needed here.
            b.set_use_isolating(false);
            for src in *sources {
                let res = FluentResource::try_new((*src).to_owned()).unwrap_or_else(|(_, errs)| {
                    panic!("a {} .ftl file does not parse: {errs:?}", lang.id())
                });
                b.add_resource(res)
                    .unwrap_or_else(|errs| panic!("{} has duplicate ids: {errs:?}", lang.id()));
            }
            (*lang, b)
        })
        .collect()
});

fn bundle(lang: Lang) -> &'static Bundle {
    &BUNDLES
        .iter()
        .find(|(l, _)| *l == lang)
        .expect("every language has a bundle")
        .1
}

/// The message `id` in `lang`, with arguments.
pub fn tr_args(lang: Lang, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
    let b = bundle(lang);
    let Some(pattern) = b.get_message(id).and_then(|m| m.value()) else {
        // A missing id is a bug the locale test catches; show the id
        // rather than an empty page.
        return id.to_owned();
    };
    let mut fargs = FluentArgs::new();
    for (k, v) in args {
        fargs.set(*k, v.clone());
    }
    let mut errors = Vec::new();
    b.format_pattern(pattern, Some(&fargs), &mut errors)
        .into_owned()
}

/// The message `id` in `lang`.
pub fn tr(lang: Lang, id: &str) -> String {
    tr_args(lang, id, &[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn ids(sources: &[&str]) -> BTreeSet<String> {
        let mut all = BTreeSet::new();
        for src in sources {
            let res = FluentResource::try_new((*src).to_owned()).expect("parses");
            all.extend(res.entries().filter_map(|e| match e {
                fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_owned()),
                _ => None,
            }));
        }
        all
    }

    #[test]
    fn every_locale_has_every_message() {
        let all: Vec<(Lang, BTreeSet<String>)> =
            SOURCES.iter().map(|(l, s)| (*l, ids(s))).collect();
        for (la, a) in &all {
            for (lb, b) in &all {
                let missing: Vec<_> = a.difference(b).collect();
                assert!(
                    missing.is_empty(),
                    "{} lacks {:?} that {} has",
                    lb.id(),
                    missing,
                    la.id()
                );
            }
        }
        assert!(all[0].1.len() > 50);
    }

    #[test]
    fn every_message_formats_without_errors_in_every_locale() {
        for (lang, src) in SOURCES {
            let b = bundle(lang);
            for id in ids(src) {
                let m = b.get_message(&id).unwrap();
                let mut errors = Vec::new();
                let mut args = FluentArgs::new();
                args.set("line", 3);
                args.set("max", 4000);
                args.set("org", "Org");
                args.set("accounts", "yes");
                // The desk's.
                for name in [
                    "added", "dupes", "total", "bundles", "reports", "urls", "assessed",
                ] {
                    args.set(name, 2);
                }
                for name in ["digest", "day", "as", "by", "why"] {
                    args.set(name, "x");
                }
                let out = b.format_pattern(m.value().unwrap(), Some(&args), &mut errors);
                assert!(errors.is_empty(), "{}:{id}: {errors:?}", lang.id());
                assert!(!out.trim().is_empty());
            }
        }
    }

    /// Counts agree with their noun in English and French ("1 bundle",
    /// "0 lot": French counts 0 as one).
    #[test]
    fn counts_agree_with_their_noun() {
        let summary = |lang, n: usize| {
            let args = [
                ("bundles", n.into()),
                ("reports", n.into()),
                ("urls", n.into()),
                ("assessed", n.into()),
            ];
            tr_args(lang, "desk-bundles", &args).replace(['\u{2068}', '\u{2069}'], "")
        };
        for (lang, n, want) in [
            (Lang::En, 1, "1 bundle, 1 report, 1 URL, 1 assessed."),
            (Lang::En, 2, "2 bundles, 2 reports, 2 URLs, 2 assessed."),
            (Lang::Fr, 0, "0 lot, 0 signalement, 0 adresse, 0 évaluée."),
            (
                Lang::Fr,
                3,
                "3 lots, 3 signalements, 3 adresses, 3 évaluées.",
            ),
        ] {
            assert_eq!(summary(lang, n), want);
        }
    }

    #[test]
    fn arguments_are_substituted() {
        let s = tr_args(Lang::Fr, "err-url-scheme", &[("line", 2.into())]);
        assert!(s.contains("ligne 2"), "{s}");
        let s = tr_args(Lang::Ar, "err-url-scheme", &[("line", 2.into())]);
        assert!(s.contains("السطر 2"), "{s}");
    }
}

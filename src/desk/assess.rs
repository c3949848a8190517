//! One URL's assessment, in the terms hotlines exchange through ICCAM
//! (INHOPE's case system): classification, site type, content type, age
//! group, gender, three flags, hosting country, a note, and optionally the
//! IWF's category (UK law's A/B/C). Read from the desk's form, checked
//! here, kept in the ledger, written to the exports.

use super::ledger::Plain;
use serde::{Deserialize, Serialize};

/// The longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;

macro_rules! choice {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $id:literal, $term:literal;)+ }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $id)] $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The form value, the ledger's value and the end of the translation id.
            pub fn id(self) -> &'static str {
                match self { $($name::$variant => $id,)+ }
            }

            /// The term hotline tools use for it (the CSV's value).
            pub fn term(self) -> &'static str {
                match self { $($name::$variant => $term,)+ }
            }

            pub fn from_id(id: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|c| c.id() == id)
            }
        }
    };
}

choice!(
    /// Is it illegal, and by whose rules: INTERPOL's baseline (illegal in
    /// every country), only under national law, or not illegal.
    Classification {
        Baseline = "baseline", "Baseline";
        National = "national", "Nationally Illegal";
        NotIllegal = "not-illegal", "Not Illegal";
    }
);

impl Classification {
    pub fn is_illegal(self) -> bool {
        self != Classification::NotIllegal
    }
}

choice!(
    SiteType {
        Website = "website", "Website";
        FileHost = "file-host", "File Host";
        ImageStore = "image-store", "Image Store";
        ImageBoard = "image-board", "Image Board";
        Forum = "forum", "Forum";
        BannerSite = "banner-site", "Banner Site";
        LinkSite = "link-site", "Link Site";
        SocialNetwork = "social-network", "Social Network";
        Redirector = "redirector", "Redirector";
        WebArchive = "web-archive", "Web Archive";
        SearchProvider = "search-provider", "Search Provider";
        ImageHosting = "image-hosting", "Image Hosting";
        Blog = "blog", "Blog";
        Webpage = "webpage", "Webpage";
    }
);

choice!(
    ContentType {
        Images = "images", "Images";
        Videos = "videos", "Videos";
        Other = "other", "Other";
    }
);

choice!(
    AgeGroup {
        Infant = "infant", "Infant";
        PrePubescent = "pre-pubescent", "Pre-pubescent";
        Pubescent = "pubescent", "Pubescent";
        NotDetermined = "not-determined", "Not Determined";
    }
);

choice!(
    Gender {
        Female = "female", "Female";
        Male = "male", "Male";
        Both = "both", "Both";
        NotDetermined = "not-determined", "Not Determined";
    }
);

choice!(
    /// The IWF's severity categories.
    IwfCategory {
        A = "a", "A";
        B = "b", "B";
        C = "c", "C";
    }
);

/// One URL's assessment.
#[derive(Serialize, Deserialize)]
pub struct Assessment {
    pub classification: Classification,
    pub site_type: SiteType,
    /// Required when the content is illegal; may be left out otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<ContentType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_group: Option<AgeGroup>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<Gender>,
    pub is_virtual: bool,
    pub child_modelling: bool,
    pub user_generated: bool,
    /// ISO 3166-1 alpha-2, upper case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosting_country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iwf_category: Option<IwfCategory>,
    pub note: Plain,
    /// Who assessed it, and on which day (never finer).
    pub by: String,
    pub day: String,
    /// The ledger operation that recorded it.
    #[serde(default)]
    pub seq: u64,
}

/// What is wrong with a filled-in form: the field, and the message id.
#[derive(Debug, PartialEq, Eq)]
pub struct Problem {
    pub field: &'static str,
    pub message: &'static str,
}

/// The form's fields, as typed (kept to show the form again on a problem).
#[derive(Default)]
pub struct Typed {
    pub fields: Vec<(String, Plain)>,
}

impl Typed {
    pub fn from_pairs(pairs: impl Iterator<Item = (String, String)>) -> Typed {
        Typed {
            fields: pairs.map(|(k, v)| (k, Plain::new(v))).collect(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| &**v)
            .filter(|v| !v.is_empty())
    }

    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The typed values for a form shown again, or the assessment's.
    pub fn from_assessment(a: &Assessment) -> Typed {
        let mut f: Vec<(String, Plain)> = vec![
            ("classification".into(), Plain::copy(a.classification.id())),
            ("site-type".into(), Plain::copy(a.site_type.id())),
            ("note".into(), a.note.dup()),
        ];
        let mut opt = |k: &str, v: Option<&str>| {
            if let Some(v) = v {
                f.push((k.into(), Plain::copy(v)));
            }
        };
        opt("content-type", a.content_type.map(|x| x.id()));
        opt("age-group", a.age_group.map(|x| x.id()));
        opt("gender", a.gender.map(|x| x.id()));
        opt("iwf-category", a.iwf_category.map(|x| x.id()));
        opt("hosting-country", a.hosting_country.as_deref());
        opt("virtual", a.is_virtual.then_some("1"));
        opt("child-modelling", a.child_modelling.then_some("1"));
        opt("user-generated", a.user_generated.then_some("1"));
        Typed { fields: f }
    }
}

/// Check a filled-in form. `by` and `day` are the analyst and today.
pub fn check(t: &Typed, by: &str, day: &str) -> Result<Assessment, Vec<Problem>> {
    let mut problems = Vec::new();
    fn pick<T>(
        t: &Typed,
        field: &'static str,
        parse: fn(&str) -> Option<T>,
        required: bool,
        problems: &mut Vec<Problem>,
    ) -> Option<T> {
        match t.get(field) {
            None if required => {
                problems.push(Problem {
                    field,
                    message: "desk-err-required",
                });
                None
            }
            None => None,
            Some(v) => {
                let p = parse(v);
                if p.is_none() {
                    problems.push(Problem {
                        field,
                        message: "desk-err-choice",
                    });
                }
                p
            }
        }
    }
    let classification = pick(
        t,
        "classification",
        Classification::from_id,
        true,
        &mut problems,
    );
    let illegal = classification.is_some_and(Classification::is_illegal);
    let site_type = pick(t, "site-type", SiteType::from_id, true, &mut problems);
    let content_type = pick(
        t,
        "content-type",
        ContentType::from_id,
        illegal,
        &mut problems,
    );
    let age_group = pick(t, "age-group", AgeGroup::from_id, illegal, &mut problems);
    let gender = pick(t, "gender", Gender::from_id, illegal, &mut problems);
    let iwf_category = pick(
        t,
        "iwf-category",
        IwfCategory::from_id,
        false,
        &mut problems,
    );
    let hosting_country = match t.get("hosting-country").map(str::trim) {
        None | Some("") => None,
        Some(c) => {
            let up = c.to_ascii_uppercase();
            if up.len() == 2 && up.bytes().all(|b| b.is_ascii_uppercase()) {
                Some(up)
            } else {
                problems.push(Problem {
                    field: "hosting-country",
                    message: "desk-err-country",
                });
                None
            }
        }
    };
    let note = t.get("note").unwrap_or("");
    if note.chars().count() > MAX_NOTE_CHARS {
        problems.push(Problem {
            field: "note",
            message: "desk-err-note-long",
        });
    }
    if iwf_category.is_some() && !illegal {
        problems.push(Problem {
            field: "iwf-category",
            message: "desk-err-iwf-not-illegal",
        });
    }
    match (classification, site_type) {
        (Some(classification), Some(site_type)) if problems.is_empty() => Ok(Assessment {
            classification,
            site_type,
            content_type,
            age_group,
            gender,
            is_virtual: t.checked("virtual"),
            child_modelling: t.checked("child-modelling"),
            user_generated: t.checked("user-generated"),
            hosting_country,
            iwf_category,
            note: Plain::copy(note.trim()),
            by: by.to_owned(),
            day: day.to_owned(),
            seq: 0,
        }),
        _ => Err(problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(pairs: &[(&str, &str)]) -> Typed {
        Typed::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn an_illegal_url_needs_content_age_and_gender() {
        let e = check(
            &typed(&[("classification", "baseline"), ("site-type", "forum")]),
            "a",
            "2026-11-30",
        )
        .err()
        .unwrap();
        let fields: Vec<&str> = e.iter().map(|p| p.field).collect();
        assert_eq!(fields, ["content-type", "age-group", "gender"]);
        let ok = check(
            &typed(&[("classification", "not-illegal"), ("site-type", "forum")]),
            "a",
            "2026-11-30",
        )
        .ok()
        .unwrap();
        assert!(!ok.classification.is_illegal());
    }

    #[test]
    fn a_full_form_is_read_back_and_shown_again_the_same() {
        let t = typed(&[
            ("classification", "national"),
            ("site-type", "image-board"),
            ("content-type", "videos"),
            ("age-group", "pubescent"),
            ("gender", "both"),
            ("virtual", "1"),
            ("user-generated", "1"),
            ("hosting-country", " nl "),
            ("iwf-category", "b"),
            ("note", "=cmd"),
        ]);
        let a = check(&t, "k1", "2026-11-30").ok().unwrap();
        assert_eq!(a.hosting_country.as_deref(), Some("NL"));
        assert!(a.is_virtual && a.user_generated && !a.child_modelling);
        assert_eq!(a.site_type.term(), "Image Board");
        let again = check(&Typed::from_assessment(&a), "k1", "2026-11-30")
            .ok()
            .unwrap();
        assert_eq!(again.gender, Some(Gender::Both));
        assert_eq!(again.iwf_category, Some(IwfCategory::B));
        assert_eq!(&*again.note, "=cmd");
    }

    #[test]
    fn bad_values_are_named() {
        let e = check(
            &typed(&[
                ("classification", "maybe"),
                ("site-type", "forum"),
                ("hosting-country", "Netherlands"),
            ]),
            "a",
            "d",
        )
        .err()
        .unwrap();
        assert_eq!(
            e,
            [
                Problem {
                    field: "classification",
                    message: "desk-err-choice"
                },
                Problem {
                    field: "hosting-country",
                    message: "desk-err-country"
                },
            ]
        );
    }
}

//! Step 3 of the data path: what the reporter typed ([`FormInput`]) is
//! validated into a [`Report`], the only type [`crate::seal`] accepts. The
//! form asks first what happened ([`Category`]), then for the details
//! that fit it: web addresses for images and videos; the platform and the
//! offender's accounts for grooming and sextortion. A follow-up addition
//! ([`Kind::Addition`]) is validated here too. The document the report
//! becomes inside the seal is [`crate::document`].
//!
//! Nothing here derives `Debug`, `Display`, `Clone` or `Serialize` on
//! plaintext: the compiler refuses to print a report by accident. Every
//! buffer that holds report text is `Zeroizing`.

pub mod address;

pub use crate::document::{BUCKETS, Document, DocumentError, Padded, ReceivedDate, bucket_for};
pub use crate::receipt::Receipt;
pub use address::{Address, MAX_URL_CHARS};

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

/// At most this many web addresses in one report.
pub const MAX_URLS: usize = 10;
/// The description ("what happened"), in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 4000;
/// The offender's account names or ids, at most this many…
pub const MAX_ACCOUNTS: usize = 5;
/// …of at most this many characters each.
pub const MAX_ACCOUNT_CHARS: usize = 200;
/// The name of a platform not in the list.
pub const MAX_PLATFORM_NAME_CHARS: usize = 100;

/// The interface languages. The path prefix (`/ar/`) is the id.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Ar,
    Fr,
    En,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::Ar, Lang::Fr, Lang::En];

    pub fn id(self) -> &'static str {
        match self {
            Lang::Ar => "ar",
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }

    pub fn from_id(id: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.id() == id)
    }

    pub fn is_rtl(self) -> bool {
        matches!(self, Lang::Ar)
    }
}

/// What kind of harm the report is about.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum Category {
    /// Child sexual abuse images or videos.
    #[serde(rename = "abuse-imagery")]
    AbuseImagery,
    /// Grooming or sexual contact with a child.
    #[serde(rename = "grooming")]
    Grooming,
    #[serde(rename = "sextortion")]
    Sextortion,
    /// Other harm to a child online.
    #[serde(rename = "other-harm")]
    OtherHarm,
}

impl Category {
    pub const ALL: [Category; 4] = [
        Category::AbuseImagery,
        Category::Grooming,
        Category::Sextortion,
        Category::OtherHarm,
    ];

    /// The form value, the document value and the end of the translation id.
    pub fn id(self) -> &'static str {
        match self {
            Category::AbuseImagery => "abuse-imagery",
            Category::Grooming => "grooming",
            Category::Sextortion => "sextortion",
            Category::OtherHarm => "other-harm",
        }
    }

    pub fn from_id(id: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.id() == id)
    }
}

/// Where the reporter saw it (optional).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WhereSeen {
    Website,
    SocialNetwork,
    MessagingApp,
    SearchEngine,
    Other,
}

impl WhereSeen {
    pub const ALL: [WhereSeen; 5] = [
        WhereSeen::Website,
        WhereSeen::SocialNetwork,
        WhereSeen::MessagingApp,
        WhereSeen::SearchEngine,
        WhereSeen::Other,
    ];

    pub fn id(self) -> &'static str {
        match self {
            WhereSeen::Website => "website",
            WhereSeen::SocialNetwork => "social-network",
            WhereSeen::MessagingApp => "messaging-app",
            WhereSeen::SearchEngine => "search-engine",
            WhereSeen::Other => "other",
        }
    }

    pub fn from_id(id: &str) -> Option<WhereSeen> {
        WhereSeen::ALL.into_iter().find(|w| w.id() == id)
    }
}

/// Where grooming or sextortion happened: the common apps and sites, and
/// "other" with a name the reporter types.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Platform {
    Instagram,
    Facebook,
    Whatsapp,
    Telegram,
    Snapchat,
    Tiktok,
    X,
    Discord,
    Youtube,
    Imo,
    Roblox,
    Game,
    Other,
}

impl Platform {
    pub const ALL: [Platform; 13] = [
        Platform::Instagram,
        Platform::Facebook,
        Platform::Whatsapp,
        Platform::Telegram,
        Platform::Snapchat,
        Platform::Tiktok,
        Platform::X,
        Platform::Discord,
        Platform::Youtube,
        Platform::Imo,
        Platform::Roblox,
        Platform::Game,
        Platform::Other,
    ];

    /// The form value, the document value and the end of the translation id.
    pub fn id(self) -> &'static str {
        match self {
            Platform::Instagram => "instagram",
            Platform::Facebook => "facebook",
            Platform::Whatsapp => "whatsapp",
            Platform::Telegram => "telegram",
            Platform::Snapchat => "snapchat",
            Platform::Tiktok => "tiktok",
            Platform::X => "x",
            Platform::Discord => "discord",
            Platform::Youtube => "youtube",
            Platform::Imo => "imo",
            Platform::Roblox => "roblox",
            Platform::Game => "game",
            Platform::Other => "other",
        }
    }

    pub fn from_id(id: &str) -> Option<Platform> {
        Platform::ALL.into_iter().find(|p| p.id() == id)
    }
}

/// A yes / no / not sure answer (sextortion: what was demanded).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Answer {
    Yes,
    No,
    Unsure,
}

impl Answer {
    pub const ALL: [Answer; 3] = [Answer::Yes, Answer::No, Answer::Unsure];

    pub fn id(self) -> &'static str {
        match self {
            Answer::Yes => "yes",
            Answer::No => "no",
            Answer::Unsure => "unsure",
        }
    }

    pub fn from_id(id: &str) -> Option<Answer> {
        Answer::ALL.into_iter().find(|a| a.id() == id)
    }
}

/// What a sextortion offender demanded; `None` where the reporter did not say.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Demands {
    pub money: Option<Answer>,
    pub images: Option<Answer>,
}

/// A report, or information added to one later through the follow-up
/// page (which carries the original report's receipt inside its seal).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Report,
    Addition,
}

/// Which fields a form shows and reads, by what the report is about.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Fields {
    /// Web addresses, and whether at least one is required.
    pub urls: bool,
    pub urls_required: bool,
    pub where_seen: bool,
    /// Platform, its name if "other", and accounts.
    pub accounts: bool,
    /// Sextortion: was money, were more images demanded.
    pub demands: bool,
}

impl Category {
    /// The fields that fit this harm.
    pub fn fields(self) -> Fields {
        match self {
            Category::AbuseImagery | Category::OtherHarm => Fields {
                urls: true,
                urls_required: true,
                where_seen: true,
                accounts: false,
                demands: false,
            },
            Category::Grooming => Fields {
                urls: true,
                urls_required: false,
                where_seen: false,
                accounts: true,
                demands: false,
            },
            Category::Sextortion => Fields {
                demands: true,
                ..Category::Grooming.fields()
            },
        }
    }
}

/// The fields of an addition: anything that helps find what was reported.
pub const ADDITION_FIELDS: Fields = Fields {
    urls: true,
    urls_required: false,
    where_seen: false,
    accounts: true,
    demands: false,
};

/// The form fields exactly as the reporter typed them, kept so that an
/// invalid form can be shown again with nothing lost. Plaintext: no Debug.
#[derive(Default, Zeroize)]
#[zeroize(drop)]
pub struct FormInput {
    pub urls: String,
    pub category: String,
    pub where_seen: String,
    pub description: String,
    pub platform: String,
    pub platform_name: String,
    /// One account name or id per line.
    pub accounts: String,
    pub money: String,
    pub images: String,
}

/// The form fields a validation error can point at.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Field {
    Urls,
    Category,
    WhereSeen,
    Description,
    Platform,
    PlatformName,
    Accounts,
    Money,
    Images,
}

impl Field {
    /// The `name`/`id` of the form control.
    pub fn id(self) -> &'static str {
        match self {
            Field::Urls => "urls",
            Field::Category => "category",
            Field::WhereSeen => "where_seen",
            Field::Description => "description",
            Field::Platform => "platform",
            Field::PlatformName => "platform_name",
            Field::Accounts => "accounts",
            Field::Money => "money",
            Field::Images => "images",
        }
    }
}

/// Why a field was refused. Each maps to a translation id (`err-…`); none
/// carries the input, so an error can be logged or counted safely. A
/// number is the line of the address or account box it is about (1-based,
/// as the reporter sees the lines).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Problem {
    UrlMissing,
    TooManyUrls,
    /// Words, not an address.
    UrlNotAddress(usize),
    /// An address with words around it on the same line.
    UrlWithWords(usize),
    /// Not parseable as an address at all.
    UrlInvalid(usize),
    /// A scheme other than http or https (or a mistyped one).
    UrlScheme(usize),
    UrlTooLong(usize),
    /// A host with no dot: not a name anyone else can reach.
    UrlSingleLabel(usize),
    /// localhost, a private or loopback address, a home-network name.
    UrlLocal(usize),
    /// A domain ending that does not exist (a typo, often).
    UrlUnknownEnding(usize),
    /// An old (version 2) onion address, which no longer works.
    UrlOnionV2(usize),
    /// An onion address of the wrong length or with a typo.
    UrlOnionInvalid(usize),
    /// An account name, e-mail address or phone number, not an address.
    UrlAccount(usize),
    /// An address cut short where an app showed it (`…`).
    UrlCut(usize),
    /// Grooming or sextortion with neither an account nor an address.
    AccountOrUrlMissing,
    TooManyAccounts,
    AccountTooLong(usize),
    AccountControl(usize),
    /// Accounts given without saying on which platform.
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
    /// An addition with nothing in it.
    AdditionEmpty,
    /// The whole report would not fit the largest padding bucket.
    ReportTooLarge,
}

impl Problem {
    pub fn field(self) -> Field {
        use Problem::*;
        match self {
            UrlMissing | TooManyUrls | UrlNotAddress(_) | UrlWithWords(_) | UrlInvalid(_)
            | UrlScheme(_) | UrlTooLong(_) | UrlSingleLabel(_) | UrlLocal(_)
            | UrlUnknownEnding(_) | UrlOnionV2(_) | UrlOnionInvalid(_) | UrlAccount(_)
            | UrlCut(_) | ReportTooLarge => Field::Urls,
            AccountOrUrlMissing | TooManyAccounts | AccountTooLong(_) | AccountControl(_) => {
                Field::Accounts
            }
            PlatformMissing | PlatformInvalid => Field::Platform,
            PlatformNameTooLong | PlatformNameControl => Field::PlatformName,
            MoneyInvalid => Field::Money,
            ImagesInvalid => Field::Images,
            CategoryMissing | CategoryInvalid => Field::Category,
            WhereSeenInvalid => Field::WhereSeen,
            DescriptionTooLong | DescriptionControl | AdditionEmpty => Field::Description,
        }
    }

    /// Translation id of the message shown next to the field.
    pub fn message_id(self) -> &'static str {
        use Problem::*;
        match self {
            UrlMissing => "err-url-missing",
            TooManyUrls => "err-url-too-many",
            UrlNotAddress(_) => "err-url-not-address",
            UrlWithWords(_) => "err-url-with-words",
            UrlInvalid(_) => "err-url-invalid",
            UrlScheme(_) => "err-url-scheme",
            UrlTooLong(_) => "err-url-too-long",
            UrlSingleLabel(_) => "err-url-single-label",
            UrlLocal(_) => "err-url-local",
            UrlUnknownEnding(_) => "err-url-unknown-ending",
            UrlOnionV2(_) => "err-url-onion-v2",
            UrlOnionInvalid(_) => "err-url-onion-invalid",
            UrlAccount(_) => "err-url-account",
            UrlCut(_) => "err-url-cut",
            AccountOrUrlMissing => "err-account-or-url-missing",
            TooManyAccounts => "err-accounts-too-many",
            AccountTooLong(_) => "err-account-too-long",
            AccountControl(_) => "err-account-control",
            PlatformMissing => "err-platform-missing",
            PlatformInvalid => "err-platform-invalid",
            PlatformNameTooLong => "err-platform-name-too-long",
            PlatformNameControl => "err-platform-name-control",
            MoneyInvalid | ImagesInvalid => "err-answer-invalid",
            CategoryMissing => "err-category-missing",
            CategoryInvalid => "err-category-invalid",
            WhereSeenInvalid => "err-where-invalid",
            DescriptionTooLong => "err-description-too-long",
            DescriptionControl => "err-description-control",
            AdditionEmpty => "err-addition-empty",
            ReportTooLarge => "err-report-too-large",
        }
    }

    /// The line the problem is about, if any (1-based).
    pub fn line(self) -> Option<usize> {
        use Problem::*;
        match self {
            UrlNotAddress(n) | UrlWithWords(n) | UrlInvalid(n) | UrlScheme(n) | UrlTooLong(n)
            | UrlSingleLabel(n) | UrlLocal(n) | UrlUnknownEnding(n) | UrlOnionV2(n)
            | UrlOnionInvalid(n) | UrlAccount(n) | UrlCut(n) | AccountTooLong(n)
            | AccountControl(n) => Some(n),
            _ => None,
        }
    }

    /// The limit the message names, if any.
    pub fn max(self) -> Option<usize> {
        use Problem::*;
        match self {
            TooManyUrls => Some(MAX_URLS),
            UrlTooLong(_) => Some(MAX_URL_CHARS),
            TooManyAccounts => Some(MAX_ACCOUNTS),
            AccountTooLong(_) => Some(MAX_ACCOUNT_CHARS),
            PlatformNameTooLong => Some(MAX_PLATFORM_NAME_CHARS),
            DescriptionTooLong => Some(MAX_DESCRIPTION_CHARS),
            _ => None,
        }
    }
}

/// A validated report or addition: the only type that can be sealed.
/// Fields are private so nothing outside this module can build one
/// without validation.
pub struct Report {
    kind: Kind,
    lang: Lang,
    category: Option<Category>,
    where_seen: Option<WhereSeen>,
    urls: Vec<Address>,
    platform: Option<Platform>,
    platform_name: Option<Zeroizing<String>>,
    accounts: Vec<Zeroizing<String>>,
    demands: Option<Demands>,
    description: Zeroizing<String>,
    /// The padded size, known from validation: the encoding allocates
    /// exactly this once, and wipes no more than this.
    bucket: usize,
}

static_assertions::assert_not_impl_any!(Report: std::fmt::Debug, std::fmt::Display, Clone, Serialize);
static_assertions::assert_not_impl_any!(FormInput: std::fmt::Debug, std::fmt::Display, Clone, Serialize);

/// Control characters a person cannot type in a text box (line breaks
/// and tabs excepted).
pub(crate) fn has_bad_control(s: &str) -> bool {
    s.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

/// Zero-width and direction-formatting characters, dropped from account
/// names: invisible, and a way to make one name look like another.
fn visible(s: &str) -> String {
    s.chars().filter(|c| !address::is_invisible(*c)).collect()
}

/// One choice among a fixed set, or none; an unknown value is `bad`.
fn choice<T>(
    value: &str,
    parse: impl Fn(&str) -> Option<T>,
    bad: Problem,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    match value {
        "" => None,
        id => {
            let got = parse(id);
            if got.is_none() {
                problems.push(bad);
            }
            got
        }
    }
}

impl Report {
    /// Validate a new report. `offered` is the list of categories this
    /// hotline accepts (the operator's config). Only the fields that fit
    /// the chosen category are read. All problems are returned at once,
    /// so the reporter can fix everything in one go.
    pub fn validate(
        input: &FormInput,
        lang: Lang,
        offered: &[Category],
    ) -> Result<Report, Vec<Problem>> {
        let mut problems = Vec::new();
        let category = match input.category.as_str() {
            "" => {
                problems.push(Problem::CategoryMissing);
                None
            }
            id => match Category::from_id(id).filter(|c| offered.contains(c)) {
                Some(c) => Some(c),
                None => {
                    problems.push(Problem::CategoryInvalid);
                    None
                }
            },
        };
        let Some(category) = category else {
            return Err(problems);
        };
        Report::validate_fields(input, lang, Kind::Report, Some(category), category.fields())
    }

    /// Validate information added to an earlier report (the follow-up
    /// page): addresses, platform and accounts, a description; at least one.
    pub fn validate_addition(input: &FormInput, lang: Lang) -> Result<Report, Vec<Problem>> {
        Report::validate_fields(input, lang, Kind::Addition, None, ADDITION_FIELDS)
    }

    fn validate_fields(
        input: &FormInput,
        lang: Lang,
        kind: Kind,
        category: Option<Category>,
        fields: Fields,
    ) -> Result<Report, Vec<Problem>> {
        let mut problems = Vec::new();

        let mut urls = Vec::new();
        if fields.urls {
            let (found, refused) = address::parse_addresses(&input.urls);
            if !refused.is_empty() {
                problems.extend(refused);
            } else if found.len() > MAX_URLS {
                problems.push(Problem::TooManyUrls);
            } else if found.is_empty() && fields.urls_required {
                problems.push(Problem::UrlMissing);
            }
            urls = found;
        }

        let where_seen = if fields.where_seen {
            choice(
                &input.where_seen,
                WhereSeen::from_id,
                Problem::WhereSeenInvalid,
                &mut problems,
            )
        } else {
            None
        };

        let (mut platform, mut platform_name, mut accounts) = (None, None, Vec::new());
        if fields.accounts {
            platform = choice(
                &input.platform,
                Platform::from_id,
                Problem::PlatformInvalid,
                &mut problems,
            );
            if platform == Some(Platform::Other) {
                let name = Zeroizing::new(visible(input.platform_name.trim()));
                if name.chars().count() > MAX_PLATFORM_NAME_CHARS {
                    problems.push(Problem::PlatformNameTooLong);
                } else if name.chars().any(char::is_control) {
                    problems.push(Problem::PlatformNameControl);
                } else if !name.is_empty() {
                    platform_name = Some(name);
                }
            }
            for (i, line) in input.accounts.lines().enumerate() {
                let account = Zeroizing::new(visible(line.trim()));
                if account.is_empty() {
                    continue;
                }
                if account.chars().count() > MAX_ACCOUNT_CHARS {
                    problems.push(Problem::AccountTooLong(i + 1));
                } else if account.chars().any(char::is_control) {
                    problems.push(Problem::AccountControl(i + 1));
                } else if !accounts.contains(&account) {
                    // The same name twice is one account.
                    accounts.push(account);
                }
            }
            if accounts.len() > MAX_ACCOUNTS {
                problems.push(Problem::TooManyAccounts);
            }
            if !accounts.is_empty() && input.platform.is_empty() && kind == Kind::Report {
                problems.push(Problem::PlatformMissing);
            }
            if kind == Kind::Report
                && accounts.is_empty()
                && urls.is_empty()
                && !problems.iter().any(|p| p.field() == Field::Urls)
            {
                problems.push(Problem::AccountOrUrlMissing);
            }
        }

        let demands = if fields.demands {
            let money = choice(
                &input.money,
                Answer::from_id,
                Problem::MoneyInvalid,
                &mut problems,
            );
            let images = choice(
                &input.images,
                Answer::from_id,
                Problem::ImagesInvalid,
                &mut problems,
            );
            Some(Demands { money, images })
        } else {
            None
        };

        let description = &input.description;
        if description.chars().count() > MAX_DESCRIPTION_CHARS {
            problems.push(Problem::DescriptionTooLong);
        } else if has_bad_control(description) {
            problems.push(Problem::DescriptionControl);
        }

        if kind == Kind::Addition
            && problems.is_empty()
            && urls.is_empty()
            && accounts.is_empty()
            && platform.is_none()
            && description.trim().is_empty()
        {
            problems.push(Problem::AdditionEmpty);
        }

        if !problems.is_empty() {
            return Err(problems);
        }
        let mut report = Report {
            kind,
            lang,
            category,
            where_seen,
            urls,
            platform,
            platform_name,
            accounts,
            demands,
            description: Zeroizing::new(description.clone()),
            bucket: 0,
        };
        // Only pathological input (ten 2,048-character addresses in a
        // four-byte script) can overflow the largest bucket.
        match bucket_for(report.unpadded_len()) {
            Some(bucket) => report.bucket = bucket,
            None => return Err(vec![Problem::ReportTooLarge]),
        }
        Ok(report)
    }

    pub fn lang(&self) -> Lang {
        self.lang
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn category(&self) -> Option<Category> {
        self.category
    }

    /// The document as written: borrowed from this report.
    fn document<'a>(&'a self, receipt: &'a str, received: &'a str) -> crate::document::V2<&'a str> {
        crate::document::V2 {
            v: crate::document::VERSION,
            kind: self.kind,
            receipt,
            received,
            language: self.lang,
            category: self.category,
            urls: self
                .urls
                .iter()
                .map(|a| crate::document::Url {
                    typed: a.typed.as_str(),
                    url: a.url.as_str(),
                })
                .collect(),
            platform: self.platform,
            platform_name: self.platform_name.as_ref().map(|n| n.as_str()),
            accounts: self.accounts.iter().map(|a| a.as_str()).collect(),
            demands: self.demands,
            where_seen: self.where_seen,
            description: &self.description,
            pad: "",
        }
    }

    fn unpadded_len(&self) -> usize {
        crate::document::encoded_len(&self.document(
            crate::document::RECEIPT_PLACEHOLDER,
            crate::document::DATE_PLACEHOLDER,
        ))
    }

    /// Encode as the versioned JSON document, padded to exactly one of
    /// [`BUCKETS`]. For an addition, `receipt` is the original report's.
    pub fn encode_padded(&self, receipt: &Receipt, received: &ReceivedDate) -> Padded {
        crate::document::encode_padded(
            &self.document(receipt.expose(), received.as_str()),
            self.bucket,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(urls: &str, category: &str, where_seen: &str, description: &str) -> FormInput {
        let mut i = FormInput::default();
        i.urls = urls.into();
        i.category = category.into();
        i.where_seen = where_seen.into();
        i.description = description.into();
        i
    }

    fn groom(urls: &str, platform: &str, accounts: &str) -> FormInput {
        let mut i = FormInput::default();
        i.urls = urls.into();
        i.category = "grooming".into();
        i.platform = platform.into();
        i.accounts = accounts.into();
        i
    }

    fn valid(i: &FormInput) -> Report {
        match Report::validate(i, Lang::En, &Category::ALL) {
            Ok(r) => r,
            Err(p) => panic!("expected valid, got {p:?}"),
        }
    }

    fn problems(i: &FormInput) -> Vec<Problem> {
        match Report::validate(i, Lang::En, &Category::ALL) {
            Ok(_) => panic!("expected problems"),
            Err(p) => p,
        }
    }

    fn round_trip(r: &Report) -> Document {
        let receipt = Receipt::random();
        let padded = r.encode_padded(&receipt, &ReceivedDate::today());
        assert!(BUCKETS.contains(&padded.expose().len()));
        let doc = Document::decode(padded.expose()).unwrap();
        assert_eq!(doc.receipt(), receipt.expose());
        doc
    }

    #[test]
    fn padded_document_round_trips_and_fills_a_bucket() {
        for desc_len in [0usize, 10, 900, 1000, 3000, 4000] {
            let desc: String = "د".repeat(desc_len);
            let onion = "http://2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion/x";
            let r = valid(&input(
                &format!("https://example.com/a\n{onion}"),
                "abuse-imagery",
                "",
                &desc,
            ));
            let doc = round_trip(&r);
            assert_eq!(doc.version(), 2);
            assert_eq!(doc.description(), desc);
            assert_eq!(doc.urls().len(), 2);
            assert_eq!(doc.category(), Some(Category::AbuseImagery));
            assert_eq!(doc.kind(), Kind::Report);
            assert_eq!(doc.where_seen(), None);
        }
    }

    #[test]
    fn the_largest_legal_report_fits_the_top_bucket() {
        let urls = (0..MAX_URLS)
            .map(|i| format!("https://example.com/{i}{}", "a".repeat(MAX_URL_CHARS - 21)))
            .collect::<Vec<_>>()
            .join("\n");
        let desc = "\u{10348}".repeat(MAX_DESCRIPTION_CHARS);
        let r = valid(&input(&urls, "other-harm", "other", &desc));
        let p = r.encode_padded(&Receipt::random(), &ReceivedDate::today());
        assert_eq!(p.expose().len(), *BUCKETS.last().unwrap());
        // The same with the most accounts, each as long as allowed.
        let mut g = groom(
            "",
            "other",
            &(0..MAX_ACCOUNTS)
                .map(|i| format!("{i}{}", "\u{10348}".repeat(MAX_ACCOUNT_CHARS - 1)))
                .collect::<Vec<_>>()
                .join("\n"),
        );
        g.category = "sextortion".into();
        g.platform_name = "\u{10348}".repeat(MAX_PLATFORM_NAME_CHARS);
        g.description = desc;
        g.urls = urls;
        let r = valid(&g);
        assert_eq!(round_trip(&r).accounts().len(), MAX_ACCOUNTS);
    }

    #[test]
    fn imagery_needs_addresses_and_grooming_an_account_or_an_address() {
        assert_eq!(
            problems(&input("", "abuse-imagery", "", "")),
            vec![Problem::UrlMissing]
        );
        assert_eq!(
            problems(&input("   \n ", "other-harm", "", "")),
            vec![Problem::UrlMissing]
        );
        let distinct = |n: usize| {
            (0..n)
                .map(|i| format!("https://e{i}.com/"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(
            problems(&input(&distinct(11), "abuse-imagery", "", "")),
            vec![Problem::TooManyUrls]
        );
        valid(&input(&distinct(10), "abuse-imagery", "", ""));
        // The same address pasted twice counts once.
        let twice = format!("{}\nhttps://e0.com/", distinct(10));
        let doc = round_trip(&valid(&input(&twice, "abuse-imagery", "", "")));
        assert_eq!(doc.urls().len(), 10);
        assert_eq!(
            problems(&input(
                "https://ok.com\nftp://x.com/",
                "abuse-imagery",
                "",
                ""
            )),
            vec![Problem::UrlScheme(2)]
        );
        // Grooming: neither → one clear message; an account alone is enough.
        assert_eq!(
            problems(&groom("", "", "")),
            vec![Problem::AccountOrUrlMissing]
        );
        let r = valid(&groom("", "instagram", "@someone\n\n  user_2  \n@someone"));
        let doc = round_trip(&r);
        assert_eq!(doc.accounts(), vec!["@someone", "user_2"]);
        assert_eq!(doc.platform(), Some(Platform::Instagram));
        assert!(doc.urls().is_empty());
        valid(&groom("https://example.com/profile", "", ""));
        // Accounts without a platform: say where.
        assert_eq!(
            problems(&groom("", "", "@someone")),
            vec![Problem::PlatformMissing]
        );
        assert_eq!(
            problems(&groom("", "myspace", "@a")),
            vec![Problem::PlatformInvalid]
        );
        assert_eq!(
            problems(&groom("", "x", "a\nb\nc\nd\ne\nf")),
            vec![Problem::TooManyAccounts]
        );
        assert_eq!(
            problems(&groom(
                "",
                "x",
                &format!("ok\n{}", "a".repeat(MAX_ACCOUNT_CHARS + 1))
            )),
            vec![Problem::AccountTooLong(2)]
        );
        // A bad address is reported as such, not as "no account or address".
        assert_eq!(
            problems(&groom("localhost", "", "")),
            vec![Problem::UrlLocal(1)]
        );
        // "Other" platform keeps its name; a listed one ignores it.
        let mut o = groom("", "other", "kid_1");
        o.platform_name = "  Kik ".into();
        assert_eq!(round_trip(&valid(&o)).platform_name(), Some("Kik"));
        o.platform = "tiktok".into();
        assert_eq!(round_trip(&valid(&o)).platform_name(), None);
    }

    #[test]
    fn only_the_fields_that_fit_the_harm_are_kept() {
        // Accounts typed into an imagery report (a crafted form) are not sealed.
        let mut i = input("https://example.com/", "abuse-imagery", "website", "");
        i.accounts = "@x".into();
        i.platform = "x".into();
        i.money = "yes".into();
        let doc = round_trip(&valid(&i));
        assert!(doc.accounts().is_empty() && doc.platform().is_none());
        assert_eq!(doc.demands(), None);
        assert_eq!(doc.where_seen(), Some(WhereSeen::Website));
        // Sextortion: what was demanded; yes/no/not sure or not said.
        let mut s = groom("", "snapchat", "@x");
        s.category = "sextortion".into();
        s.money = "yes".into();
        let doc = round_trip(&valid(&s));
        assert_eq!(
            doc.demands(),
            Some(Demands {
                money: Some(Answer::Yes),
                images: None
            })
        );
        s.images = "maybe".into();
        assert_eq!(problems(&s), vec![Problem::ImagesInvalid]);
        // Grooming ignores where_seen (the platform says where).
        let mut g = groom("", "discord", "@x");
        g.where_seen = "website".into();
        assert_eq!(round_trip(&valid(&g)).where_seen(), None);
    }

    #[test]
    fn additions_carry_anything_that_helps_and_never_nothing() {
        let empty = FormInput::default();
        assert_eq!(
            Report::validate_addition(&empty, Lang::Ar).err(),
            Some(vec![Problem::AdditionEmpty])
        );
        let mut a = FormInput::default();
        a.description = "اسم المستخدم الآخر".into();
        let r = Report::validate_addition(&a, Lang::Ar).unwrap();
        let doc = round_trip(&r);
        assert_eq!(doc.kind(), Kind::Addition);
        assert_eq!(doc.category(), None);
        a.urls = "not an address".into();
        assert_eq!(
            Report::validate_addition(&a, Lang::Ar).err(),
            Some(vec![Problem::UrlNotAddress(1)])
        );
        a.urls = "example.com/x".into();
        a.accounts = "@y".into();
        let doc = round_trip(&Report::validate_addition(&a, Lang::Ar).unwrap());
        assert_eq!(doc.accounts(), vec!["@y"]);
        assert_eq!(doc.urls(), vec![("example.com/x", "http://example.com/x")]);
    }

    #[test]
    fn category_where_and_description_rules() {
        assert_eq!(
            problems(&input("e.com", "", "", "")),
            vec![Problem::CategoryMissing]
        );
        assert_eq!(
            problems(&input("e.com", "bogus", "", "")),
            vec![Problem::CategoryInvalid]
        );
        assert_eq!(
            Report::validate(
                &input("e.com", "grooming", "", ""),
                Lang::Fr,
                &[Category::AbuseImagery]
            )
            .err(),
            Some(vec![Problem::CategoryInvalid])
        );
        assert_eq!(
            problems(&input("e.com", "abuse-imagery", "moon", "")),
            vec![Problem::WhereSeenInvalid]
        );
        for w in WhereSeen::ALL {
            valid(&input("e.com", "abuse-imagery", w.id(), ""));
        }
        let long = "x".repeat(MAX_DESCRIPTION_CHARS + 1);
        assert_eq!(
            problems(&input("e.com", "abuse-imagery", "", &long)),
            vec![Problem::DescriptionTooLong]
        );
        valid(&input(
            "e.com",
            "abuse-imagery",
            "",
            &"ж".repeat(MAX_DESCRIPTION_CHARS),
        ));
        valid(&input(
            "e.com",
            "abuse-imagery",
            "",
            "line one\r\nline\ttwo",
        ));
        assert_eq!(
            problems(&input("e.com", "abuse-imagery", "", "a\u{0}b")),
            vec![Problem::DescriptionControl]
        );
    }

    #[test]
    fn all_problems_are_reported_at_once() {
        let p = problems(&input(
            "ftp://x.com",
            "other-harm",
            "moon",
            &"x".repeat(5000),
        ));
        assert_eq!(
            p,
            vec![
                Problem::UrlScheme(1),
                Problem::WhereSeenInvalid,
                Problem::DescriptionTooLong
            ]
        );
    }

    /// A forged version-2 document (anyone with a public key can seal
    /// one) is refused unless it is exactly what the server writes.
    #[test]
    fn forged_documents_are_refused() {
        let r = valid(&groom("example.com/x", "instagram", "@a"));
        let padded = r.encode_padded(&Receipt::random(), &ReceivedDate::today());
        let good = String::from_utf8(padded.expose().to_vec()).unwrap();
        let forge = |from: &str, to: &str| {
            assert!(good.contains(from), "{from}");
            let mut f = good.replacen(from, to, 1);
            // Keep the length a bucket by taking from or adding to the pad.
            while f.len() > good.len() {
                f = f.replacen("  \"}", " \"}", 1);
            }
            while f.len() < good.len() {
                f = f.replacen(" \"}", "  \"}", 1);
            }
            assert_eq!(f.len(), good.len());
            Document::decode(f.as_bytes()).err()
        };
        for (from, to) in [
            (
                "\"url\":\"http://example.com/x\"",
                "\"url\":\"=cmd|' /C calc'!A0\"",
            ),
            (
                "\"typed\":\"example.com/x\"",
                "\"typed\":\"elsewhere.com/x\"",
            ),
            ("\"accounts\":[\"@a\"]", "\"accounts\":[\"@a\\u0007\"]"),
            (
                "\"category\":\"grooming\"",
                "\"category\":\"abuse-imagery\"",
            ),
            ("\"kind\":\"report\"", "\"kind\":\"addition\""),
            ("\"where_seen\":null", "\"where_seen\":\"website\""),
            ("\"received\":\"", "\"received\":\"9"),
            ("\"platform\":\"instagram\"", "\"platform\": \"instagram\""),
        ] {
            assert!(
                matches!(
                    forge(from, to),
                    Some(DocumentError::Invalid(_) | DocumentError::Malformed)
                ),
                "{from} -> {to} was accepted"
            );
        }
        assert!(Document::decode(good.as_bytes()).is_ok());
    }
}

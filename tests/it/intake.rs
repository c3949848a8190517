//! Intake by harm, through the real binary: what happened first, then the
//! fields that fit; grooming and sextortion by platform and account; the
//! thank-you page's help; the operator's choice of harms; and nonsense in
//! the address box answered line by line, with nothing stored.

use crate::util::*;

/// A teenager reports grooming with only what they have: the app and the
/// username. The analyst sees them in the report, in `accounts.csv` next
/// to a second report naming the same account, and on the triage page.
#[test]
fn grooming_with_only_a_platform_and_an_account_reaches_the_analyst() {
    let t = tempfile::tempdir().unwrap();
    let (data, keys) = (t.path().join("data"), t.path().join("keys"));
    let id = analyst(t.path(), &keys, "a");
    let server = Server::start(&data, &keys, &[]);
    let account = unique("kid_hunter_");

    // The start page offers the four harms; the grooming one is a link.
    let home = get(&server.url("/fr/"));
    assert_eq!(home.status, 200);
    assert!(home.body.contains("href=\"/fr/report/grooming\""));
    let form = get(&server.url("/fr/report/grooming"));
    assert_eq!(form.status, 200);
    assert!(form.body.contains("action=\"/fr/report/grooming\""));
    assert!(form.body.contains("name=\"accounts\""));

    let first = post_form(
        &server.url("/fr/report/grooming"),
        &[
            ("platform", "instagram"),
            ("platform_name", ""),
            ("accounts", &format!("@{account}\r\n")),
            ("urls", ""),
            ("description", "Il demande des photos à ma sœur."),
        ],
    );
    assert_eq!(first.status, 200, "{}", first.body);
    let first_receipt = receipt(&first);
    // Grooming: the guidance and the removal services, in French.
    assert!(first.body.contains("Arrête de répondre"));
    assert!(first.body.contains("Take It Down"));
    assert!(first.body.contains("href=\"/fr/follow-up\""));

    // A second reporter, in Arabic, names the same account differently,
    // in a sextortion report with what was demanded.
    let second = post_form(
        &server.url("/ar/report/sextortion"),
        &[
            ("platform", "instagram"),
            (
                "accounts",
                &format!("{}\n+33 6 12 34 56 78", account.to_uppercase()),
            ),
            ("money", "yes"),
            ("images", "unsure"),
            ("description", "يطلب المال"),
        ],
    );
    assert_eq!(second.status, 200, "{}", second.body);
    assert!(second.body.contains("لا تدفع شيئًا"));

    let bundle = t.path().join("b.tar");
    export(&data, &bundle, false);
    assert!(files_containing(&data, account.as_bytes()).is_empty());
    let out = t.path().join("opened");
    let (ok, _, err) = open(&bundle, &[&id], &out);
    assert!(ok, "{err}");

    let reports = jsonl(&out);
    let g = reports
        .iter()
        .find(|r| r["receipt"] == first_receipt)
        .unwrap();
    assert_eq!(g["category"], "grooming");
    assert_eq!(g["platform"], "instagram");
    assert_eq!(g["accounts"], serde_json::json!([format!("@{account}")]));
    assert_eq!(g["urls"], serde_json::json!([]));
    let s = reports
        .iter()
        .find(|r| r["category"] == "sextortion")
        .unwrap();
    assert_eq!(
        s["demands"],
        serde_json::json!({"money": "yes", "images": "unsure"})
    );

    let csv = std::fs::read_to_string(out.join("accounts.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("platform,platform_name,account,reports,as_typed")
    );
    assert!(
        csv.contains(&format!(
            "instagram,,{},2,'@{account} | {}\n",
            account.to_lowercase(),
            account.to_uppercase()
        )),
        "{csv}"
    );
    // A phone number is compared by its digits, and kept inert for spreadsheets.
    assert!(
        csv.contains("instagram,,'+33612345678,1,'+33 6 12 34 56 78\n"),
        "{csv}"
    );

    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("Accounts by number of reports"));
    assert!(html.contains(&format!("@{account}")));
    assert!(html.contains("money: yes; more images: not sure"));
    assert!(!html.contains("<script"));
}

/// The operator offers fewer harms: the others are not offered, and old
/// links to them lead to the choice of those that are.
#[test]
fn a_hotline_offers_only_the_harms_it_takes() {
    let t = tempfile::tempdir().unwrap();
    let (data, keys) = (t.path().join("data"), t.path().join("keys"));
    analyst(t.path(), &keys, "a");
    let cfg = t.path().join("c.toml");
    std::fs::write(
        &cfg,
        "[site]\ncategories = [\"abuse-imagery\", \"other-harm\"]\n",
    )
    .unwrap();
    let server = Server::start(&data, &keys, &["--config", cfg.to_str().unwrap()]);
    let home = get(&server.url("/en/"));
    assert!(home.body.contains("href=\"/en/report/abuse-imagery\""));
    assert!(!home.body.contains("/en/report/grooming"));
    let old = get(&server.url("/en/report/grooming"));
    assert_eq!(old.status, 303);
    assert_eq!(old.header("location"), Some("/en/"));
    let p = post_form(
        &server.url("/en/report/grooming"),
        &[("platform", "x"), ("accounts", "@a")],
    );
    assert_eq!(p.status, 422);
    assert!(p.body.contains("Choose one of the options listed."));
    assert!(p.body.contains("href=\"/en/report/other-harm\""));
    assert_eq!(status(&data)["pending"], 0);
    assert_eq!(
        report(&server, "en", "https://ok.example.com/", "other-harm", "").status,
        200
    );
}

/// What people paste, mistype and half-copy into the address box: each
/// gets a translated answer naming its line and what to do, the text
/// comes back as typed, and no report is stored.
#[test]
fn nonsense_in_the_address_box_gets_an_answer_and_stores_nothing() {
    let t = tempfile::tempdir().unwrap();
    let (data, keys) = (t.path().join("data"), t.path().join("keys"));
    analyst(t.path(), &keys, "a");
    let server = Server::start(&data, &keys, &[]);
    let cases = [
        ("en", "not a url at all", "Line 1 is not a web address"),
        ("en", "example", "Line 1 is not a web address"),
        (
            "en",
            "http://localhost/x",
            "only works on your own device or network",
        ),
        (
            "fr",
            "https://example.com/a\nhttp://192.168.1.1/admin",
            "L’adresse de la ligne 2 ne fonctionne que sur votre propre appareil",
        ),
        (
            "ar",
            "\u{200f}الرابط: https://example.com/x",
            "في السطر 1 كلمات إلى جانب العنوان",
        ),
        (
            "en",
            "example.con/page",
            "does not exist. Check the spelling",
        ),
        (
            "en",
            "https://t.co/a1b2…",
            "The address on line 1 is cut short",
        ),
        (
            "fr",
            "ttps://example.com/x",
            "La ligne 1 doit commencer par http://",
        ),
        ("en", "@someone", "Line 1 looks like an account name"),
        ("en", "abcdefghijklmnop.onion", "old onion address"),
        ("en", "www.example..com", "Line 1 is not a web address"),
    ];
    for (lang, urls, message) in cases {
        let p = post_form(
            &server.url(&format!("/{lang}/report/abuse-imagery")),
            &[("urls", urls), ("description", "")],
        );
        assert_eq!(p.status, 422, "{urls:?} was accepted");
        let err = p
            .body
            .find("id=\"urls-error\"")
            .unwrap_or_else(|| panic!("{urls:?}: no message next to the field"));
        assert!(
            p.body[err..].contains(message),
            "{urls:?}: expected {message:?} in\n{}",
            &p.body[err..err + 400.min(p.body.len() - err)]
        );
        let kept = urls.replace('&', "&amp;").replace('<', "&lt;");
        assert!(p.body.contains(&kept), "{urls:?} was not kept");
    }
    assert_eq!(status(&data)["pending"], 0, "a junk report was stored");
}

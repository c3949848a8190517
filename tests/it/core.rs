//! The sealed reporting core, end to end through the real binary:
//! form → seal → store → export → open → purge.

use crate::util::*;
use std::collections::BTreeSet;

#[test]
fn canary_is_nowhere_on_disk_or_in_output_but_opens_exactly() {
    let t = tempfile::tempdir().unwrap();
    let (data, keys) = (t.path().join("data"), t.path().join("keys"));
    let id = analyst(t.path(), &keys, "alice");
    let server = Server::start(&data, &keys, &[]);

    let latin = unique("CANARY");
    let arabic = format!("كناري{}", unique("ع"));
    let url = format!("https://example.com/{latin}/{arabic}?q={latin}");
    let description = format!("رأيت {arabic} هنا\r\nsaw {latin} <b>there</b> & \"quoted\"");
    let page = report(&server, "ar", &url, "abuse-imagery", &description);
    assert_eq!(page.status, 200, "{}", page.body);
    let code = receipt(&page);
    assert!(page.body.contains("lang=\"ar\" dir=\"rtl\""));

    // Export while serving: the bundle is sealed too.
    let bundle = t.path().join("bundle.tar");
    let digest = export(&data, &bundle, false);
    assert_eq!(digest.len(), 64);

    let secrets: [&[u8]; 4] = [
        latin.as_bytes(),
        arabic.as_bytes(),
        code.as_bytes(),
        b"there</b>",
    ];
    for s in secrets {
        assert_eq!(
            files_containing(&data, s),
            Vec::<std::path::PathBuf>::new(),
            "plaintext on disk"
        );
        assert!(
            files_containing(t.path(), s)
                .iter()
                .all(|p| !p.starts_with(&data) && p != &bundle)
        );
        let lower = String::from_utf8_lossy(s).to_lowercase();
        assert!(files_containing(&data, lower.as_bytes()).is_empty());
    }
    let output = server.stop();
    for s in [&latin, &arabic, &code] {
        assert!(
            !output.contains(s.as_str()),
            "server printed report data:\n{output}"
        );
    }
    assert!(!output.contains("example.com"));

    let out = t.path().join("opened");
    let (ok, open_digest, err) = open(&bundle, &[&id], &out);
    assert!(ok, "{err}");
    assert_eq!(open_digest, digest);
    let reports = jsonl(&out);
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    assert_eq!(
        r["urls"][0]["typed"].as_str().unwrap(),
        url,
        "URL must come back byte for byte"
    );
    assert_eq!(
        r["description"].as_str().unwrap(),
        description,
        "description byte for byte"
    );
    assert_eq!(r["receipt"].as_str().unwrap(), code);
    assert_eq!(r["language"], "ar");
    assert_eq!(r["category"], "abuse-imagery");
    assert_eq!(r["where_seen"], "website");
    let today = time::OffsetDateTime::now_utc().date();
    assert_eq!(r["received"].as_str().unwrap(), format!("{today}"));
    let csv = std::fs::read_to_string(out.join("urls.csv")).unwrap();
    assert!(csv.starts_with("url,reports\n"));
    assert!(
        csv.contains(&latin) && csv.trim_end().ends_with(",1"),
        "{csv}"
    );
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains(&latin) && !html.contains("<script") && !html.contains("<b>there"));
    assert!(
        !html.contains("href=\"https://example.com"),
        "URLs must not be links in triage"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(out.join("reports.jsonl"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn three_analyst_keys_each_open_everything_and_a_fourth_opens_nothing() {
    let t = tempfile::tempdir().unwrap();
    let (data, keys) = (t.path().join("data"), t.path().join("keys"));
    let ids: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|n| analyst(t.path(), &keys, n))
        .collect();
    let stranger = analyst(t.path(), &t.path().join("elsewhere"), "d");
    let server = Server::start(&data, &keys, &[]);
    assert!(server.output().contains("3 analyst key(s)"));
    let mut receipts = BTreeSet::new();
    for i in 0..5 {
        let p = report(
            &server,
            "fr",
            &format!("https://e{i}.example.com/"),
            "sextortion",
            "",
        );
        assert_eq!(p.status, 200);
        receipts.insert(receipt(&p));
    }
    let bundle = t.path().join("b.tar");
    export(&data, &bundle, false);
    for (n, id) in ids.iter().enumerate() {
        let out = t.path().join(format!("out{n}"));
        let (ok, _, err) = open(&bundle, &[id], &out);
        assert!(ok, "key {n}: {err}");
        let got: BTreeSet<String> = jsonl(&out)
            .iter()
            .map(|r| r["receipt"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(got, receipts);
    }
    let out = t.path().join("stranger");
    let (ok, digest, err) = open(&bundle, &[&stranger], &out);
    assert!(!ok, "an unrelated key must not succeed");
    assert!(
        digest.is_empty(),
        "no purge digest when reports could not be opened"
    );
    assert_eq!(
        err.matches("not sealed to any of the given identities")
            .count(),
        5,
        "{err}"
    );
    assert!(jsonl(&out).is_empty());
}

#[test]
fn invalid_forms_are_shown_again_with_input_kept_in_each_language() {
    let t = tempfile::tempdir().unwrap();
    let (data, keys) = (t.path().join("data"), t.path().join("keys"));
    analyst(t.path(), &keys, "a");
    let server = Server::start(&data, &keys, &[]);
    let typed_desc = "<script>alert(1)</script> وصف";
    let eleven: Vec<String> = (0..11)
        .map(|i| format!("https://e{i}.example.com/"))
        .collect();
    let eleven = eleven.join("\n");
    /// A form sent with a mistake: where, what was typed, the message and
    /// the field it must be next to, and what must come back as typed.
    struct Case<'a> {
        lang: &'a str,
        category: &'a str,
        typed: Vec<(&'a str, &'a str)>,
        message: &'a str,
        field: &'a str,
        kept: &'a str,
    }
    let cases = [
        Case {
            lang: "en",
            category: "abuse-imagery",
            typed: vec![
                ("urls", "ftp://bad.example.com/x"),
                ("where_seen", "messaging-app"),
            ],
            message: "Line 1 must start with http:// or https://",
            field: "urls",
            kept: "value=\"messaging-app\" checked",
        },
        Case {
            lang: "ar",
            category: "abuse-imagery",
            typed: vec![("urls", ""), ("where_seen", "messaging-app")],
            message: "أدخل عنوان صفحة واحدًا على الأقل.",
            field: "urls",
            kept: "value=\"messaging-app\" checked",
        },
        Case {
            lang: "en",
            category: "other-harm",
            typed: vec![("urls", &eleven), ("where_seen", "messaging-app")],
            message: "Enter at most 10 web addresses.",
            field: "urls",
            kept: "https://e10.example.com/",
        },
        Case {
            lang: "fr",
            category: "grooming",
            typed: vec![("platform", "instagram"), ("accounts", ""), ("urls", "")],
            message: "Indiquez au moins un nom de compte ou une adresse web",
            field: "accounts",
            kept: "<option value=\"instagram\" selected>",
        },
        Case {
            lang: "ar",
            category: "sextortion",
            typed: vec![("accounts", "@someone_1"), ("money", "yes")],
            message: "اختر التطبيق أو الموقع الذي توجد فيه هذه الحسابات.",
            field: "platform",
            kept: "value=\"yes\" checked",
        },
    ];
    for Case {
        lang,
        category,
        typed,
        message,
        field,
        kept,
    } in cases
    {
        let mut form = typed.clone();
        form.push(("description", typed_desc));
        let p = post_form(&server.url(&format!("/{lang}/report/{category}")), &form);
        assert_eq!(p.status, 422, "{lang}: {}", p.body);
        assert!(p.body.contains(&format!("lang=\"{lang}\"")));
        assert!(
            p.body
                .contains(&format!("action=\"/{lang}/report/{category}\"")),
            "the same form again"
        );
        let err_at = p
            .body
            .find(&format!("id=\"{field}-error\""))
            .expect("error next to its field");
        assert!(p.body[err_at..].contains(message), "{lang}: {message}");
        assert!(
            p.body.contains(&format!("<a href=\"#{field}\">")),
            "the summary links to the field"
        );
        // The reporter's input is kept, escaped.
        assert!(p.body.contains("&lt;script&gt;alert(1)&lt;/script&gt; وصف"));
        assert!(!p.body.contains("<script>"));
        assert!(p.body.contains(kept), "{lang} {category}: {kept}");
        for (_, value) in typed
            .iter()
            .filter(|(k, _)| ["urls", "accounts"].contains(k))
        {
            assert!(p.body.contains(value));
        }
        assert!(p.body.contains("aria-invalid=\"true\""));
    }
    // A form from before the harms had their own (category in the body)
    // still lands; without a category, the choice comes back, saying so.
    let p = post_form(
        &server.url("/fr/report"),
        &[
            ("urls", "https://ok.example.com/"),
            ("description", typed_desc),
        ],
    );
    assert_eq!(p.status, 422);
    assert!(p.body.contains("Choisissez ce que vous avez vu."));
    assert!(p.body.contains("href=\"/fr/report/grooming\""));
    let p = post_form(
        &server.url("/en/report"),
        &[
            ("urls", "ftp://x.example.com/"),
            ("category", "abuse-imagery"),
            ("description", typed_desc),
        ],
    );
    assert_eq!(p.status, 422);
    assert!(p.body.contains("action=\"/en/report/abuse-imagery\""));
    assert!(p.body.contains("&lt;script&gt;alert(1)&lt;/script&gt; وصف"));
    // Description too long, control characters, unknown where_seen.
    let long = "x".repeat(4001);
    let p = report(&server, "en", "https://e.example.com/", "grooming", &long);
    assert_eq!(p.status, 422);
    assert!(p.body.contains("Shorten this to 4000 characters or fewer."));
    assert!(
        p.body.contains(&long),
        "the long text is kept so the reporter can shorten it"
    );
    let p = post_form(
        &server.url("/en/report/abuse-imagery"),
        &[("urls", "e.example.com"), ("where_seen", "moon")],
    );
    assert_eq!(p.status, 422);
    let p = post_form(
        &server.url("/en/report/sextortion"),
        &[
            ("accounts", "x"),
            ("platform", "myspace"),
            ("money", "lots"),
        ],
    );
    assert_eq!(p.status, 422);
    assert!(p.body.contains("Choose one of the options in the list."));
    assert!(p.body.contains("Choose yes, no or not sure."));
    let p = post_form(
        &server.url("/en/report"),
        &[("urls", "e.example.com"), ("category", "no-such")],
    );
    assert_eq!(p.status, 422);
    assert_eq!(get(&server.url("/en/report/no-such")).status, 404);
    // Nothing invalid was stored.
    let o = salama(&["status", "--data", data.to_str().unwrap(), "--json"]);
    let s: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(s["pending"], 0);
}

#[test]
fn two_hundred_concurrent_reports_are_all_exported_exactly_once() {
    let t = tempfile::tempdir().unwrap();
    let (data, keys) = (t.path().join("data"), t.path().join("keys"));
    let id = analyst(t.path(), &keys, "a");
    let server = Server::start(&data, &keys, &[]);
    let base = server.url("/en/report/other-harm");
    let handles: Vec<_> = (0..200)
        .map(|i| {
            let url = base.clone();
            std::thread::spawn(move || {
                let desc = format!("report number {i}");
                let p = post_form(
                    &url,
                    &[
                        ("urls", &format!("https://r{i}.example.com/")),
                        ("description", &desc),
                    ],
                );
                assert_eq!(p.status, 200, "{}", p.body);
                (receipt(&p), desc)
            })
        })
        .collect();
    let acknowledged: Vec<(String, String)> =
        handles.into_iter().map(|h| h.join().unwrap()).collect();
    let bundle = t.path().join("b.tar");
    export(&data, &bundle, false);
    // A second export right away has nothing new.
    let bundle2 = t.path().join("b2.tar");
    export(&data, &bundle2, false);
    // And never over an earlier bundle, the only copy of its reports.
    let before = std::fs::read(&bundle).unwrap();
    let o = salama(&[
        "export",
        "--data",
        data.to_str().unwrap(),
        "--out",
        bundle.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&bundle).unwrap(), before);
    let out = t.path().join("o");
    let (ok, _, err) = open(&bundle, &[&id], &out);
    assert!(ok, "{err}");
    let got: Vec<(String, String)> = jsonl(&out)
        .iter()
        .map(|r| {
            (
                r["receipt"].as_str().unwrap().to_owned(),
                r["description"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(got.len(), 200);
    let a: BTreeSet<_> = acknowledged.into_iter().collect();
    let g: BTreeSet<_> = got.into_iter().collect();
    assert_eq!(a, g);
    let (ok, _, _) = open(&bundle2, &[&id], &t.path().join("o2"));
    assert!(ok);
    assert!(jsonl(&t.path().join("o2")).is_empty());
}

#[test]
fn export_and_purge_while_serving_and_restart_keeps_pending() {
    let t = tempfile::tempdir().unwrap();
    let (data, keys) = (t.path().join("data"), t.path().join("keys"));
    let id = analyst(t.path(), &keys, "a");
    let server = Server::start(&data, &keys, &[]);
    for i in 0..3 {
        assert_eq!(
            report(
                &server,
                "en",
                &format!("https://first{i}.example.com/"),
                "grooming",
                ""
            )
            .status,
            200
        );
    }
    let b1 = t.path().join("b1.tar");
    let d1 = export(&data, &b1, false);
    for i in 0..2 {
        assert_eq!(
            report(
                &server,
                "en",
                &format!("https://second{i}.example.com/"),
                "grooming",
                ""
            )
            .status,
            200
        );
    }
    let s = status(&data);
    assert_eq!(
        (s["pending"].as_u64(), s["exported"].as_u64()),
        (Some(2), Some(3))
    );

    // Restart: everything pending survives.
    server.stop();
    let server = Server::start(&data, &keys, &[]);
    let s = status(&data);
    assert_eq!(
        (s["pending"].as_u64(), s["exported"].as_u64()),
        (Some(2), Some(3))
    );

    // The analyst opens bundle 1; the operator purges exactly it, while serving.
    let (ok, digest, _) = open(&b1, &[&id], &t.path().join("o1"));
    assert!(ok);
    assert_eq!(digest, d1);
    let o = salama(&["purge", "--data", data.to_str().unwrap(), "--confirm", &d1]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("purged 3 reports"));
    let s = status(&data);
    assert_eq!(
        (s["pending"].as_u64(), s["exported"].as_u64()),
        (Some(2), Some(0))
    );

    // An unknown digest is refused; a repeated purge says so.
    let o = salama(&[
        "purge",
        "--data",
        data.to_str().unwrap(),
        "--confirm",
        &"ab".repeat(32),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("no bundle with digest"));
    let o = salama(&["purge", "--data", data.to_str().unwrap(), "--confirm", &d1]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("already purged"));

    // The remaining two come out in the next bundle, and the server still works.
    let b2 = t.path().join("b2.tar");
    export(&data, &b2, false);
    let (ok, _, _) = open(&b2, &[&id], &t.path().join("o2"));
    assert!(ok);
    let urls: BTreeSet<String> = jsonl(&t.path().join("o2"))
        .iter()
        .map(|r| r["urls"][0]["url"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        urls,
        [
            "https://second0.example.com/",
            "https://second1.example.com/"
        ]
        .map(String::from)
        .into()
    );
    assert_eq!(
        report(&server, "en", "https://third.example.com/", "grooming", "").status,
        200
    );

    // Offline (server stopped): the same commands open the store directly.
    server.stop();
    let s = status(&data);
    assert_eq!(s["pending"].as_u64(), Some(1));
    let b3 = t.path().join("b3.tar");
    export(&data, &b3, false);
    assert_eq!(status(&data)["pending"].as_u64(), Some(0));
}

#[test]
fn export_all_includes_exported_but_unpurged_reports() {
    let t = tempfile::tempdir().unwrap();
    let (data, keys) = (t.path().join("data"), t.path().join("keys"));
    let id = analyst(t.path(), &keys, "a");
    let server = Server::start(&data, &keys, &[]);
    assert_eq!(
        report(&server, "en", "https://one.example.com/", "grooming", "").status,
        200
    );
    export(&data, &t.path().join("lost.tar"), false);
    assert_eq!(
        report(&server, "en", "https://two.example.com/", "grooming", "").status,
        200
    );
    let again = t.path().join("again.tar");
    let d = export(&data, &again, true);
    let (ok, digest, _) = open(&again, &[&id], &t.path().join("o"));
    assert!(ok);
    assert_eq!(digest, d);
    assert_eq!(jsonl(&t.path().join("o")).len(), 2);
    let o = salama(&["purge", "--data", data.to_str().unwrap(), "--confirm", &d]);
    assert!(o.status.success());
    assert_eq!(status(&data)["exported"].as_u64(), Some(0));
    assert_eq!(status(&data)["pending"].as_u64(), Some(0));
}

#[test]
fn server_refuses_to_start_without_keys_or_with_a_secret_key() {
    let t = tempfile::tempdir().unwrap();
    let (data, keys) = (t.path().join("data"), t.path().join("keys"));
    std::fs::create_dir_all(&keys).unwrap();
    let out = Server::try_start(&data, &keys, &[])
        .err()
        .expect("no keys: must not start");
    assert!(
        out.contains("no analyst key in") && out.contains("salama keygen"),
        "{out}"
    );
    let id = analyst(t.path(), &keys, "a");
    std::fs::copy(&id, keys.join("oops.pub")).unwrap();
    let out = Server::try_start(&data, &keys, &[])
        .err()
        .expect("secret key: must not start");
    assert!(out.contains("SECRET key"), "{out}");
    let out = Server::try_start(&data, &t.path().join("missing"), &[])
        .err()
        .unwrap();
    assert!(out.contains("cannot read the keys directory"), "{out}");
    // A low-order point (all zeros: bech32 of 32 zero bytes), and a real
    // key spelled with non-zero padding bits: each named with its file.
    std::fs::remove_file(keys.join("oops.pub")).unwrap();
    let hrp = bech32::Hrp::parse("age").unwrap();
    let zero = bech32::encode_lower::<bech32::Bech32>(hrp, &[0u8; 32]).unwrap();
    assert_eq!(
        zero,
        "age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq5cu47z"
    );
    std::fs::write(keys.join("zero.pub"), format!("{zero}\n")).unwrap();
    let out = Server::try_start(&data, &keys, &[])
        .err()
        .expect("low-order key: must not start");
    assert!(
        out.contains("zero.pub") && out.contains("low-order"),
        "{out}"
    );
    std::fs::remove_file(keys.join("zero.pub")).unwrap();
    let real = std::fs::read_to_string(keys.join("a.pub")).unwrap();
    let real = real.trim();
    // The last data character before the 6-character checksum carries 4
    // padding bits; 'q' (0) → 'p' (1) changes them and only them, and the
    // checksum is computed again.
    let mut fes: Vec<bech32::Fe32> = real[4..real.len() - 6]
        .chars()
        .map(|c| bech32::Fe32::from_char(c).unwrap())
        .collect();
    let last = fes.len() - 1;
    fes[last] = bech32::Fe32::try_from(fes[last].to_u8() ^ 1).unwrap();
    use bech32::primitives::iter::Fe32IterExt;
    let other: String = fes
        .into_iter()
        .with_checksum::<bech32::Bech32>(&hrp)
        .chars()
        .collect();
    assert_ne!(other, real);
    std::fs::write(keys.join("a.pub"), format!("{other}\n")).unwrap();
    let out = Server::try_start(&data, &keys, &[])
        .err()
        .expect("non-canonical key: must not start");
    assert!(out.contains("a.pub") && out.contains("spelled"), "{out}");
}

/// An empty or short `SALAMA_PASSPHRASE` makes no key at all, of either
/// kind: nothing is written, and the message says what length is needed.
#[test]
fn keygen_refuses_empty_and_short_passphrases() {
    let t = tempfile::tempdir().unwrap();
    let key = t.path().join("analyst.key.age");
    for pq in [false, true] {
        for (pass, says) in [
            ("", "set but empty"),
            ("   ", "empty passphrase"),
            ("hunter2", "too short (7 characters)"),
            ("eleven char", "at least 12 characters"),
        ] {
            let mut args = vec!["keygen", "--out", key.to_str().unwrap()];
            if pq {
                args.push("--pq");
            }
            let o = salama_env(&args, &[("SALAMA_PASSPHRASE", pass)]);
            assert!(!o.status.success(), "{pass:?} was accepted");
            assert!(stderr(&o).contains(says), "{pass:?}: {}", stderr(&o));
            assert!(!stderr(&o).contains("hunter2"), "{}", stderr(&o));
            let left: Vec<_> = std::fs::read_dir(t.path()).unwrap().collect();
            assert!(left.is_empty(), "{pass:?} left files: {left:?}");
        }
    }
    let o = salama_env(
        &["keygen", "--out", key.to_str().unwrap()],
        &[("SALAMA_PASSPHRASE", "twelve chars")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn keygen_writes_a_protected_identity_that_opens_reports() {
    let t = tempfile::tempdir().unwrap();
    let key = t.path().join("analyst.key.age");
    let o = salama_env(
        &["keygen", "--out", key.to_str().unwrap()],
        &[("SALAMA_PASSPHRASE", "long pass phrase")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let recipient = stdout(&o);
    assert!(recipient.starts_with("age1"));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let bytes = std::fs::read(&key).unwrap();
    assert!(
        bytes.starts_with(b"age-encryption.org/v1\n-> scrypt "),
        "protected like age -p"
    );
    assert!(!String::from_utf8_lossy(&bytes).contains("AGE-SECRET-KEY"));
    let pub_file = t.path().join("analyst.key.age.pub");
    assert_eq!(
        std::fs::read_to_string(&pub_file).unwrap().trim(),
        recipient
    );
    // Never overwrites.
    let o = salama_env(
        &["keygen", "--out", key.to_str().unwrap()],
        &[("SALAMA_PASSPHRASE", "another long pass phrase")],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));

    let (data, keys) = (t.path().join("data"), t.path().join("keys"));
    std::fs::create_dir_all(&keys).unwrap();
    std::fs::copy(&pub_file, keys.join("analyst.pub")).unwrap();
    let server = Server::start(&data, &keys, &[]);
    assert_eq!(
        report(
            &server,
            "en",
            "https://k.example.com/",
            "grooming",
            "keygen"
        )
        .status,
        200
    );
    let bundle = t.path().join("b.tar");
    export(&data, &bundle, false);
    let run = |pass: &str| {
        salama_env(
            &[
                "open",
                bundle.to_str().unwrap(),
                "-i",
                key.to_str().unwrap(),
                "--out",
                t.path().join("o").to_str().unwrap(),
            ],
            &[("SALAMA_PASSPHRASE", pass)],
        )
    };
    let o = run("wrong");
    assert!(!o.status.success());
    assert!(stderr(&o).contains("wrong passphrase"));
    let o = run("long pass phrase");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(jsonl(&t.path().join("o"))[0]["description"], "keygen");
}

#[test]
fn pages_carry_strict_headers_and_no_scripts() {
    let t = tempfile::tempdir().unwrap();
    let (data, keys) = (t.path().join("data"), t.path().join("keys"));
    analyst(t.path(), &keys, "a");
    let server = Server::start(&data, &keys, &[]);
    for path in [
        "/",
        "/ar/",
        "/fr/",
        "/en/",
        "/en/about",
        "/fr/help",
        "/ar/about",
        "/static/style.css",
        "/nope",
        "/en/nope",
    ] {
        let p = get(&server.url(path));
        assert!(p.status == 200 || p.status == 404, "{path}: {}", p.status);
        assert_eq!(
            p.header("content-security-policy"),
            Some(
                "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
            )
        );
        assert_eq!(p.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(p.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(p.header("cache-control"), Some("no-store"));
        assert!(p.header("cross-origin-opener-policy").is_some());
        assert!(p.header("cross-origin-resource-policy").is_some());
        assert!(p.header("permissions-policy").is_some());
        assert!(p.header("server").is_none());
        assert!(p.header("set-cookie").is_none());
        assert!(!p.body.contains("<script"), "{path}");
        // No outside resources: nothing is loaded from anywhere but here.
        assert!(!p.body.contains(" src="), "{path}");
        assert!(!p.body.contains("url("), "{path}");
        assert_eq!(
            p.body.matches("<link").count(),
            p.body
                .matches("<link rel=\"stylesheet\" href=\"/static/style.css\">")
                .count(),
            "{path}"
        );
        assert!(
            p.body.len() < 30 * 1024,
            "{path} weighs {} bytes",
            p.body.len()
        );
    }
    let p = get(&server.url("/ar/"));
    assert!(p.body.contains("<html lang=\"ar\" dir=\"rtl\">"));
    let p = get(&server.url("/fr/about"));
    assert!(p.body.contains("<html lang=\"fr\" dir=\"ltr\">"));
    assert_eq!(get(&server.url("/en/nope")).status, 404);
    let p = get(&server.url("/fr"));
    assert_eq!(p.status, 308);
    assert_eq!(p.header("location"), Some("/fr/"));
}

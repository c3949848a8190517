//! Follow-up through the real binary, as a reporter and an analyst would
//! go through it: the receipt form (POST only), the same "no news" page for
//! a guessed, garbled or unanswered code, information added and opened
//! beside the report, `salama answer` on the workstation and `salama
//! answers import` while serving, and every answers file that must be
//! refused (tampered, replayed, unsigned, malformed, wrong server), with
//! nothing changed.

use crate::util::*;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

const PASS: &str = "a passphrase long enough for the tests";

/// An analyst made by `salama keygen` (passphrase-protected, as on the
/// workstation): identity, its `.pub` in `keys/`, and the signing key's
/// public half in `keys/signers/`. Returns the identity path.
fn keygen(dir: &Path, keys: &Path) -> PathBuf {
    let id = dir.join("analyst.key");
    let o = salama_env(
        &["keygen", "--out", id.to_str().unwrap()],
        &[("SALAMA_PASSPHRASE", PASS)],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::create_dir_all(keys.join("signers")).unwrap();
    std::fs::copy(dir.join("analyst.key.pub"), keys.join("analyst.pub")).unwrap();
    std::fs::copy(
        dir.join("analyst.key.sign.pub"),
        keys.join("signers/analyst.pub"),
    )
    .unwrap();
    id
}

fn lookup(server: &Server, lang: &str, code: &str) -> Page {
    post_form(
        &server.url(&format!("/{lang}/follow-up")),
        &[("receipt", code)],
    )
}

/// The text of the element with this id (its first text node).
fn text_of(page: &Page, id: &str) -> Option<String> {
    let at = page.body.find(&format!("id=\"{id}\""))?;
    let rest = &page.body[at..];
    let open = rest.find('>')? + 1;
    let close = rest[open..].find('<')? + open;
    Some(rest[open..close].to_owned())
}

/// `salama answer CSV --key K.sign --bundle B --out OUT` on the workstation.
fn answer(dir: &Path, csv: &str, bundle: &Path, out: &Path) -> std::process::Output {
    let input = dir.join(format!("{}.csv", unique("answers-")));
    std::fs::write(&input, csv).unwrap();
    let key = dir.join("analyst.key.sign");
    salama_env(
        &[
            "answer",
            input.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
            "--bundle",
            bundle.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[("SALAMA_PASSPHRASE", PASS)],
    )
}

fn import(data: &Path, file: &Path) -> std::process::Output {
    salama(&[
        "answers",
        "import",
        file.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ])
}

fn slots(data: &Path) -> Vec<u8> {
    std::fs::read(data.join("answers/answers.slots")).unwrap_or_default()
}

/// A code never issued, a garbled one, and a real one nobody has answered
/// get the same page: the translated "received, no news yet", 200, the
/// same size. The form is POST-only and the code never reaches a URL or
/// the server's output.
#[test]
fn guessed_garbled_and_unanswered_codes_get_the_same_page() {
    let t = tempfile::tempdir().unwrap();
    let (data, keys) = (t.path().join("data"), t.path().join("keys"));
    analyst(t.path(), &keys, "a");
    let server = Server::start(&data, &keys, &[]);

    let form = get(&server.url("/fr/follow-up"));
    assert_eq!(form.status, 200);
    assert!(
        form.body
            .contains("method=\"post\" action=\"/fr/follow-up\"")
    );
    assert!(form.body.contains("name=\"receipt\""));
    assert!(form.body.contains("Votre code de reçu"));
    assert!(!form.body.contains("method=\"get\""));
    // A bookmarked or reloaded addition form has no code: back to the form.
    let add = get(&server.url("/fr/follow-up/add"));
    assert_eq!(add.status, 303);
    assert_eq!(add.header("location"), Some("/fr/follow-up"));
    let mut put = std::net::TcpStream::connect(&server.addr).unwrap();
    put.write_all(
        b"PUT /fr/follow-up HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut answer = String::new();
    put.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");

    let real = receipt(&report(
        &server,
        "ar",
        "https://example.com/a",
        "abuse-imagery",
        "",
    ));
    let typed_badly = real.to_lowercase().replace('-', " ");
    for (lang, no_news) in [
        ("ar", "وصل: لا جديد بعد"),
        ("fr", "Reçu\u{202f}: pas encore de nouvelles"),
        ("en", "Received: no news yet"),
    ] {
        let pages: Vec<(&str, Page)> = [
            ("unanswered", real.as_str()),
            ("unanswered, typed in lower case with spaces", &typed_badly),
            ("never issued", "ZZZZ-ZZZZ-ZZZZ-ZZZ0"),
            ("garbled", "7K3M-Q9TX-2D4F"),
            ("nonsense", "<b>hello</b> & \"x\""),
            ("empty", ""),
        ]
        .into_iter()
        .map(|(what, code)| (what, lookup(&server, lang, code)))
        .collect();
        let size = pages[0].1.body.len();
        for (what, p) in &pages {
            assert_eq!(p.status, 200, "{lang}: {what}: {}", p.body);
            assert_eq!(
                text_of(p, "status-text").as_deref(),
                Some(no_news),
                "{lang}: {what}"
            );
            assert!(!p.body.contains("id=\"reply\""), "{lang}: {what}");
            assert!(!p.body.contains("id=\"answer-text\""), "{lang}: {what}");
            assert_eq!(p.body.len(), size, "{lang}: {what}: another size");
            assert!(
                p.body.contains("action=\"/"),
                "{lang}: {what}: no addition form"
            );
            assert!(p.body.contains(&format!("<html lang=\"{lang}\"")));
        }
        // The real code comes back in its canonical form, typed any way.
        assert_eq!(
            text_of(&pages[1].1, "receipt-code").as_deref(),
            Some(&*real)
        );
        // Nonsense is shown back escaped, never as markup.
        assert!(pages[4].1.body.contains("&lt;b&gt;hello&lt;/b&gt;"));
    }
    assert_eq!(size_bucket(&lookup(&server, "en", &real)), 0);
    let out = server.stop();
    assert!(
        !out.contains(&real),
        "the receipt reached the server's output"
    );
    assert!(files_containing(&data, real.as_bytes()).is_empty());
}

/// Every answer page is a whole number of 4 KiB: the remainder.
fn size_bucket(p: &Page) -> usize {
    p.body.len() % 4096
}

/// The reporter adds information: a code that is not a receipt, or nothing
/// to add, brings the form back with everything kept; a good addition is
/// acknowledged, and opens beside its report with the receipt inside.
#[test]
fn information_added_opens_beside_the_report() {
    let t = tempfile::tempdir().unwrap();
    let (data, keys) = (t.path().join("data"), t.path().join("keys"));
    let id = analyst(t.path(), &keys, "a");
    let server = Server::start(&data, &keys, &[]);
    let first = post_form(
        &server.url("/ar/report/grooming"),
        &[("platform", "instagram"), ("accounts", "@first_account")],
    );
    assert_eq!(first.status, 200, "{}", first.body);
    let code = receipt(&first);
    let account = unique("second_account_");
    let words = unique("وجدت حسابًا آخر ");
    let add = |receipt: &str, accounts: &str, description: &str| {
        post_form(
            &server.url("/ar/follow-up/add"),
            &[
                ("receipt", receipt),
                ("platform", "telegram"),
                ("platform_name", ""),
                ("accounts", accounts),
                ("urls", ""),
                ("description", description),
            ],
        )
    };

    // A code cut short: the form again, the code in a box to correct,
    // and what was typed kept.
    let short = add(&code[..14], &format!("@{account}"), &words);
    assert_eq!(short.status, 422);
    assert!(short.body.contains("id=\"receipt-error\""));
    assert!(short.body.contains("هذا ليس رمز إيصال كاملًا"));
    assert!(short.body.contains(&format!("value=\"{}\"", &code[..14])));
    assert!(short.body.contains(&format!("@{account}</textarea>")));
    assert!(short.body.contains(&words));
    assert!(short.body.contains("<option value=\"telegram\" selected>"));
    // Nothing to add: said so, in Arabic.
    let empty = post_form(
        &server.url("/ar/follow-up/add"),
        &[("receipt", &code), ("description", "  ")],
    );
    assert_eq!(empty.status, 422);
    assert!(empty.body.contains("href=\"#description\""));
    assert!(!empty.body.contains("id=\"receipt-error\""));
    assert!(
        empty
            .body
            .contains(&format!("name=\"receipt\" value=\"{code}\""))
    );

    // The code typed loosely, as a phone keyboard would.
    let loose = code.to_lowercase().replace('-', " ");
    let added = add(&loose, &format!("@{account}"), &words);
    assert_eq!(added.status, 200, "{}", added.body);
    assert!(added.body.contains("شكرًا لك. وصلت معلوماتك."));
    assert_eq!(text_of(&added, "receipt-code").as_deref(), Some(&*code));
    assert!(added.body.contains("href=\"/ar/follow-up\""));
    assert!(
        files_containing(&data, account.as_bytes()).is_empty(),
        "the addition is on disk in clear"
    );

    let bundle = t.path().join("b.tar");
    export(&data, &bundle, false);
    let out = t.path().join("opened");
    let (ok, _, err) = open(&bundle, &[&id], &out);
    assert!(ok, "{err}");
    let docs = jsonl(&out);
    assert_eq!(docs.len(), 2);
    let addition = docs.iter().find(|d| d["kind"] == "addition").unwrap();
    assert_eq!(addition["receipt"], code.as_str());
    assert_eq!(addition["language"], "ar");
    assert_eq!(addition["platform"], "telegram");
    assert_eq!(addition["accounts"][0], format!("@{account}"));
    assert_eq!(addition["description"], words.as_str());
    // On the triage page the addition sits inside its report's article.
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    let reports = &index[index.find(">Reports</h2>").unwrap()..];
    let report_at = reports.find("@first_account").unwrap();
    let addition_at = reports.find(&account).unwrap();
    assert!(report_at < addition_at);
    assert!(reports[report_at..addition_at].contains("class=\"addition\""));
    assert!(!reports[report_at..addition_at].contains("</article>"));
    let log = server.stop();
    assert!(!log.contains(&code) && !log.contains(&account));
}

/// The whole loop by hand: a report in Arabic, exported and opened; the
/// analyst answers in a CSV; `salama answer` seals and signs it; the
/// operator imports it while serving; the reporter reads the status, the
/// canned reply and the analyst's words in Arabic. Then every file that
/// must be refused is, saying why, and changes nothing.
#[test]
fn answers_go_from_the_workstation_to_the_reporter_and_bad_files_change_nothing() {
    let t = tempfile::tempdir().unwrap();
    let (data, keys) = (t.path().join("data"), t.path().join("keys"));
    let id = keygen(t.path(), &keys);
    let server = Server::start(&data, &keys, &[]);
    let sent = report(
        &server,
        "ar",
        "https://example.com/gallery/1",
        "abuse-imagery",
        "",
    );
    assert_eq!(sent.status, 200);
    let code = receipt(&sent);

    let bundle = t.path().join("b.tar");
    export(&data, &bundle, false);
    let out = t.path().join("opened");
    let o = open_with_passphrase(&bundle, &id, &out, PASS);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(jsonl(&out)[0]["receipt"], code.as_str());

    let words = unique("شكرًا لك. حُذفت الصور <b>لست وحدك</b> & \"نحن هنا\" ");
    // A spreadsheet's CSV: the text quoted, its quotes doubled.
    let field = format!("{words}\nسطر ثانٍ").replace('"', "\"\"");
    let csv = format!("receipt,status,reply,text\n{code},action-taken,removed,\"{field}\"\n");
    let file = t.path().join("answers-1");
    let o = answer(t.path(), &csv, &bundle, &file);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("file number 1"), "{}", stderr(&o));
    assert!(!file.with_extension("partial").exists());

    let before = lookup(&server, "ar", &code);
    let o = import(&data, &file);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("1 new"), "{}", stderr(&o));

    let page = lookup(&server, "ar", &code.to_lowercase());
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<html lang=\"ar\" dir=\"rtl\""));
    assert_eq!(text_of(&page, "status-text").as_deref(), Some("اتُّخذ إجراء"));
    assert!(text_of(&page, "reply").unwrap().starts_with("أُزيل المحتوى"));
    let text = text_of(&page, "answer-text").unwrap();
    assert!(
        text.contains("&lt;b&gt;لست وحدك&lt;/b&gt; &amp; &quot;نحن هنا&quot;")
            || text.contains("&lt;b&gt;لست وحدك&lt;/b&gt; &amp; \"نحن هنا\""),
        "{text}"
    );
    assert!(text.contains("\nسطر ثانٍ"));
    assert!(page.body.contains("dir=\"auto\""));
    assert_eq!(page.body.len() % 4096, 0);
    assert_ne!(page.body, before.body);
    // In French, the same answer: the canned parts translated.
    let fr = lookup(&server, "fr", &code);
    assert_eq!(
        text_of(&fr, "status-text").as_deref(),
        Some("Mesures prises")
    );
    // Any other code still gets "no news".
    let other = lookup(&server, "ar", "ZZZZ-ZZZZ-ZZZZ-ZZZ0");
    assert_eq!(
        text_of(&other, "status-text").as_deref(),
        Some("وصل: لا جديد بعد")
    );

    // Nothing readable at rest: not the receipt, not the analyst's words.
    let marker = words.rsplit(' ').next().unwrap().to_owned();
    for needle in [code.as_bytes(), marker.as_bytes()] {
        assert!(files_containing(&data, needle).is_empty());
    }

    // Refused, each saying why, and nothing changes.
    let good = std::fs::read(&file).unwrap();
    let refuse = |name: &str, bytes: &[u8], why: &str| {
        let held = slots(&data);
        assert!(!held.is_empty());
        let f = t.path().join(format!("refused-{name}"));
        std::fs::write(&f, bytes).unwrap();
        let o = import(&data, &f);
        assert!(!o.status.success(), "{name} was imported");
        let e = stderr(&o);
        assert!(e.contains("nothing was imported"), "{name}: {e}");
        assert!(e.contains(why), "{name}: {e}");
        assert!(slots(&data) == held, "{name} changed the store");
    };
    refuse("replayed", &good, "replay");
    let mut tampered = good.clone();
    let at = tampered.len() / 2;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    refuse("tampered", &tampered, "altered");
    let first_line = good.split(|&b| b == b'\n').next().unwrap();
    refuse("unsigned", &[first_line, b"\n"].concat(), "not signed");
    refuse("malformed", b"hello\nworld\n", "nothing was imported");
    // A file for another server (another salt): made with --salt.
    let elsewhere = t.path().join("elsewhere");
    let input = t.path().join("elsewhere.csv");
    std::fs::write(
        &input,
        format!("receipt,status,reply,text\n{code},received,,\n"),
    )
    .unwrap();
    let o = salama_env(
        &[
            "answer",
            input.to_str().unwrap(),
            "--key",
            t.path().join("analyst.key.sign").to_str().unwrap(),
            "--salt",
            &"ab".repeat(32),
            "--out",
            elsewhere.to_str().unwrap(),
        ],
        &[("SALAMA_PASSPHRASE", PASS)],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    refuse(
        "elsewhere",
        &std::fs::read(&elsewhere).unwrap(),
        "another deployment",
    );
    // A signer the server does not trust.
    let stranger_dir = t.path().join("stranger");
    std::fs::create_dir_all(&stranger_dir).unwrap();
    keygen(&stranger_dir, &stranger_dir.join("keys"));
    let strange = t.path().join("strange");
    let o = salama_env(
        &[
            "answer",
            input.to_str().unwrap(),
            "--key",
            stranger_dir.join("analyst.key.sign").to_str().unwrap(),
            "--bundle",
            bundle.to_str().unwrap(),
            "--out",
            strange.to_str().unwrap(),
        ],
        &[("SALAMA_PASSPHRASE", PASS)],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    refuse(
        "stranger",
        &std::fs::read(&strange).unwrap(),
        "not one of this server's signers",
    );
    let again = lookup(&server, "ar", &code);
    assert_eq!(
        text_of(&again, "status-text").as_deref(),
        Some("اتُّخذ إجراء")
    );

    // A newer file (number 3: the --salt one took 2) replaces the answer.
    let newer = t.path().join("answers-3");
    let o = answer(
        t.path(),
        &format!("receipt,status,reply,text\n{code},need-more-info,need-platform-account,\n"),
        &bundle,
        &newer,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("file number 3"), "{}", stderr(&o));
    let o = import(&data, &newer);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("1 replaced"), "{}", stderr(&o));
    let now = lookup(&server, "en", &code);
    assert_eq!(
        text_of(&now, "status-text").as_deref(),
        Some("We need more information")
    );
    assert!(!now.body.contains("id=\"answer-text\""));
    assert!(files_containing(&data, marker.as_bytes()).is_empty());
    // The older file again: refused, the newer answer stays.
    refuse("older", &good, "replay");

    let log = server.stop();
    assert!(!log.contains(&code));
    // Stopped, the import opens the store itself (given the keys).
    let o = salama(&[
        "answers",
        "import",
        newer.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--keys",
        keys.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("replay"), "{}", stderr(&o));
}

/// `salama answer` refuses what it cannot turn into a good file, naming
/// the row, and takes no sequence number for it.
#[test]
fn answer_refuses_bad_input_and_spends_no_sequence_number() {
    let t = tempfile::tempdir().unwrap();
    let keys = t.path().join("keys");
    keygen(t.path(), &keys);
    let salt = "cd".repeat(32);
    let run = |csv: &str, out: &str| {
        let input = t.path().join("in.csv");
        std::fs::write(&input, csv).unwrap();
        salama_env(
            &[
                "answer",
                input.to_str().unwrap(),
                "--key",
                t.path().join("analyst.key.sign").to_str().unwrap(),
                "--salt",
                &salt,
                "--out",
                t.path().join(out).to_str().unwrap(),
            ],
            &[("SALAMA_PASSPHRASE", PASS)],
        )
    };
    for (csv, why) in [
        ("receipt,status\n", "header"),
        ("receipt,status,reply,text\nABCD-EFGH,received,,\n", "row 2"),
        (
            "receipt,status,reply,text\nABCD-EFGH-JKMN-PQRS,done,,\n",
            "unknown status",
        ),
        ("receipt,status,reply,text\n", "no answers"),
    ] {
        let o = run(csv, "x");
        assert!(!o.status.success(), "{csv}");
        assert!(stderr(&o).contains(why), "{csv}: {}", stderr(&o));
        assert!(!t.path().join("x").exists());
    }
    assert!(!t.path().join("analyst.key.sign.seq").exists());
    let ok = "receipt,status,reply,text\nABCD-EFGH-JKMN-PQRS,received,thanks,\n";
    let o = run(ok, "first");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("file number 1"), "{}", stderr(&o));
    // An existing output is never replaced.
    let o = run(ok, "first");
    assert!(!o.status.success());
    assert!(stderr(&o).contains("already exists"));
    let o = salama_env(
        &[
            "answer",
            "nowhere.csv",
            "--key",
            "k",
            "--salt",
            "xyz",
            "--out",
            "o",
        ],
        &[],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("64 hex digits"), "{}", stderr(&o));
}

//! A full disk or a reached quota: the form answers a translated 503 "try
//! again later", every other page keeps working, `salama status` exits 2,
//! nothing acknowledged is lost, and reports are accepted again once there
//! is room.

use crate::util::*;
use std::path::Path;
use std::process::Command;

fn status_code(data: &Path) -> (i32, serde_json::Value) {
    let o = salama(&["status", "--data", data.to_str().unwrap(), "--json"]);
    (
        o.status.code().unwrap_or(-1),
        serde_json::from_str(&stdout(&o)).unwrap(),
    )
}

/// A small tmpfs, unmounted on drop.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(at: &Path, size: &str) -> Option<SmallDisk> {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        ok.then(|| SmallDisk(at.to_owned()))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_nearly_full_disk_refuses_new_reports_politely_and_recovers() {
    let t = tempfile::tempdir().unwrap();
    let Some(disk) = SmallDisk::mount(&t.path().join("disk"), "48m") else {
        return skip(
            "cannot mount a small tmpfs (needs root): the full-disk behaviour was NOT tested",
        );
    };
    let data = disk.0.join("data");
    let keys = t.path().join("keys");
    let id = analyst(t.path(), &keys, "a");
    let cfg = t.path().join("c.toml");
    std::fs::write(&cfg, "[limits]\nmin_free_bytes = 16777216\n").unwrap();
    let server = Server::start(&data, &keys, &["--config", cfg.to_str().unwrap()]);
    let mut receipts = Vec::new();
    for i in 0..5 {
        let p = report(
            &server,
            "en",
            &format!("https://before{i}.example.com/"),
            "grooming",
            "before",
        );
        assert_eq!(p.status, 200);
        receipts.push(receipt(&p));
    }

    // Fill the disk until less than min_free_bytes (16 MiB) is left.
    let free = rustix::fs::statvfs(&disk.0).unwrap();
    let free = free.f_bavail * free.f_frsize;
    let filler = disk.0.join("filler");
    std::fs::write(&filler, vec![0u8; (free - 8 * 1024 * 1024) as usize]).unwrap();
    for (lang, text) in [
        ("en", "We cannot accept reports right now"),
        ("fr", "Nous ne pouvons pas recevoir"),
        ("ar", "لا يمكننا استقبال التبليغات حاليًا"),
    ] {
        let p = report(
            &server,
            lang,
            "https://during.example.com/",
            "grooming",
            "during",
        );
        assert_eq!(p.status, 503, "{lang}");
        assert!(p.body.contains(text), "{lang}: {}", p.body);
    }
    for path in ["/", "/en/", "/ar/about", "/static/style.css"] {
        assert_eq!(get(&server.url(path)).status, 200, "{path} still works");
    }
    let (code, s) = status_code(&data);
    assert_eq!(code, 2, "status exits non-zero so an operator can alert");
    assert!(s["full"].as_str().unwrap().contains("disk"));

    // Room again: accepted again; nothing acknowledged was lost.
    std::fs::remove_file(&filler).unwrap();
    let p = report(
        &server,
        "en",
        "https://after.example.com/",
        "grooming",
        "after",
    );
    assert_eq!(p.status, 200);
    receipts.push(receipt(&p));
    assert_eq!(status_code(&data).0, 0);
    drop(server);
    let bundle = t.path().join("b.tar");
    export(&data, &bundle, false);
    let (ok, _, err) = open(&bundle, &[&id], &t.path().join("o"));
    assert!(ok, "{err}");
    let got: Vec<String> = jsonl(&t.path().join("o"))
        .iter()
        .map(|r| r["receipt"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got.len(), receipts.len());
    assert!(receipts.iter().all(|r| got.contains(r)));
}

#[test]
fn a_pending_quota_refuses_until_export() {
    let t = tempfile::tempdir().unwrap();
    let (data, keys) = (t.path().join("data"), t.path().join("keys"));
    let id = analyst(t.path(), &keys, "a");
    let cfg = t.path().join("c.toml");
    std::fs::write(&cfg, "[limits]\nmax_pending_reports = 3\n").unwrap();
    let server = Server::start(&data, &keys, &["--config", cfg.to_str().unwrap()]);
    for i in 0..3 {
        assert_eq!(
            report(
                &server,
                "fr",
                &format!("https://q{i}.example.com/"),
                "grooming",
                ""
            )
            .status,
            200
        );
    }
    let p = report(&server, "fr", "https://q3.example.com/", "grooming", "");
    assert_eq!(p.status, 503);
    assert!(p.body.contains("Nous ne pouvons pas recevoir"));
    assert_eq!(status_code(&data).0, 2);
    let bundle = t.path().join("b.tar");
    let digest = export(&data, &bundle, false);
    assert_eq!(
        report(&server, "fr", "https://q4.example.com/", "grooming", "").status,
        200
    );
    let (ok, d, _) = open(&bundle, &[&id], &t.path().join("o"));
    assert!(ok && d == digest);
    assert_eq!(jsonl(&t.path().join("o")).len(), 3);
    let o = salama(&[
        "purge",
        "--data",
        data.to_str().unwrap(),
        "--confirm",
        &digest,
    ]);
    assert!(o.status.success());
    assert_eq!(status_code(&data).0, 0);
}

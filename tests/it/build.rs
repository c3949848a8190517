//! The analyst's build (`--no-default-features`) carries no Tor and no
//! server storage at all: it runs on an air-gapped workstation. Its only
//! network code is the desk's HTTP listener on 127.0.0.1 (hyper, tokio).

use std::process::Command;

#[test]
fn the_analyst_build_has_no_network_or_storage_crates() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let o = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "--no-default-features",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let tree = String::from_utf8_lossy(&o.stdout);
    assert!(
        tree.contains("age v"),
        "the tree lists the analyst's crates:\n{tree}"
    );
    for banned in [
        "arti-client ",
        "tor-",
        "sled ",
        "rustls ",
        "reqwest ",
        "ureq ",
    ] {
        assert!(
            !tree.lines().any(|l| l.starts_with(banned)),
            "{banned}is in the analyst build:\n{tree}"
        );
    }
    // …while the server build has them, so the check above means something.
    let o = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["tree", "--offline", "-e", "normal", "--prefix", "none"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let tree = String::from_utf8_lossy(&o.stdout);
    assert!(
        tree.lines().any(|l| l.starts_with("tokio "))
            && tree.lines().any(|l| l.starts_with("sled "))
    );
}

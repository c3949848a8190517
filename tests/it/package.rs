//! The Debian packages (deploy/debian/README.md): `salama --version` names the commit, and
//! tests/package.sh checks built packages with Debian's own tools.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .arg("-C")
        .arg(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[test]
fn version_names_the_commit_and_the_build() {
    let out = Command::new(env!("CARGO_BIN_EXE_salama"))
        .arg("--version")
        .output()
        .expect("salama --version runs");
    assert!(out.status.success());
    let line = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let version = env!("CARGO_PKG_VERSION");
    let Some(head) = git(&["rev-parse", "--verify", "HEAD"]) else {
        crate::util::skip("version_names_the_commit_and_the_build: not a git checkout");
        assert!(
            line.starts_with(&format!("salama {version} (commit unknown")),
            "{line}"
        );
        return;
    };
    // The tests' binary is the default (server) build; `-modified` while files are edited.
    let clean = format!("salama {version} (commit {head}, server build)");
    let dirty = format!("salama {version} (commit {head}-modified, server build)");
    assert!(
        line == clean || line == dirty,
        "salama --version printed {line:?}, want {clean:?} (or -modified)"
    );
}

/// Runs tests/package.sh on the packages in `SALAMA_DEB_DIR` (.ci/run builds them first):
/// building the release packages inside `cargo test` would double the suite's time.
#[test]
fn built_packages_pass_the_package_checks() {
    let Some(dir) = std::env::var_os("SALAMA_DEB_DIR") else {
        crate::util::skip(
            "built_packages_pass_the_package_checks: SALAMA_DEB_DIR is not set \
             (build with `cargo deb --variant server|analyst`, then set it to the .deb directory)",
        );
        return;
    };
    let mut debs: Vec<_> = std::fs::read_dir(&dir)
        .expect("SALAMA_DEB_DIR lists")
        .map(|e| e.expect("SALAMA_DEB_DIR entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "deb"))
        .collect();
    debs.sort();
    assert!(!debs.is_empty(), "no .deb in {}", Path::new(&dir).display());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/package.sh");
    let out = Command::new("bash")
        .arg(script)
        .args(&debs)
        .output()
        .expect("tests/package.sh runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Every check's line, for the CI log (`-- --nocapture`).
    println!("{stdout}");
    assert!(
        out.status.success(),
        "tests/package.sh failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}

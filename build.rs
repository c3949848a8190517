//! `salama --version`: the package version, the commit the binary was built from and which
//! build it is (server or analyst), so an analyst can tell exactly what they carry.
//!
//! No clock and no host name: everything printed comes from the source tree (git) or from
//! the environment a reproducible build sets, so two builds of one commit print the same
//! line and embed the same bytes (deploy/reproduce.sh checks that).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    // A build from a source tarball (no .git) can name its commit explicitly.
    println!("cargo:rerun-if-env-changed=SALAMA_COMMIT");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");

    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let commit = std::env::var("SALAMA_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| git_commit(&dir));
    let build = if std::env::var_os("CARGO_FEATURE_SERVER").is_some() {
        "server build"
    } else {
        "analyst build"
    };
    let version = env("CARGO_PKG_VERSION");
    let line = match commit {
        Some(commit) => format!("{version} (commit {commit}, {build})"),
        None => format!("{version} (commit unknown: built outside git, {build})"),
    };
    println!("cargo:rustc-env=SALAMA_VERSION={line}");

    // Source changes may turn a clean tree dirty (or back): rerun on them as well as on
    // the git files that move when a commit is made or checked out.
    for path in ["src", "Cargo.toml", "Cargo.lock", "build.rs"] {
        println!("cargo:rerun-if-changed={path}");
    }
    for path in git_watch(&dir) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is set by cargo"))
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        // `git status` must not refresh the index: that write would rerun this script.
        .env("GIT_OPTIONAL_LOCKS", "0")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8(out.stdout).ok()?.trim().to_owned())
}

/// The full commit hash, with `-modified` when tracked files differ from it: such a binary
/// was not built from that commit alone, and will not match a rebuild of it.
fn git_commit(dir: &Path) -> Option<String> {
    let hash = git(dir, &["rev-parse", "--verify", "HEAD"])?;
    let status = git(dir, &["status", "--porcelain", "--untracked-files=no"])?;
    Some(if status.is_empty() {
        hash
    } else {
        format!("{hash}-modified")
    })
}

/// HEAD, the branch it points at and packed-refs, wherever this worktree keeps them.
fn git_watch(dir: &Path) -> Vec<PathBuf> {
    let mut names = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
    if let Some(branch) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
        names.push(branch);
    }
    names
        .iter()
        .filter_map(|name| {
            git(
                dir,
                &["rev-parse", "--path-format=absolute", "--git-path", name],
            )
        })
        .map(PathBuf::from)
        .filter(|path| path.exists())
        .collect()
}

//! Deployment files as tests: the sandbox of the systemd unit (`deploy/salama.service`), the
//! hardening of the C tor front (`deploy/torrc`), and no age secret key under `keys/` or
//! `deploy/`.
//!
//! Only std, so this file stands alone. A missing tool (`systemd-analyze`, `tor`) turns its
//! test into a loud `SKIPPED:` line on stderr, never a silent pass; CI installs both.
#![cfg(unix)]

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Highest acceptable `systemd-analyze security` exposure level (0.0 best, 10.0 worst).
const MAX_EXPOSURE: f64 = 2.0;
/// The same ceiling on the 0..=100 scale that `--threshold=` uses.
const THRESHOLD: &str = "--threshold=20";
/// `security --offline=` and `verify --recursive-errors=` arrived in systemd 250.
const MIN_SYSTEMD: u32 = 250;

const UNIT: &str = "deploy/salama.service";
const UNIT_EXEC_LINE: &str = "ExecStart=/usr/bin/salama serve --config /etc/salama/salama.toml";
const UNIT_EXEC_PREFIX: &str = "ExecStart=/usr/bin/salama ";

const TORRC: &str = "deploy/torrc";
const TORRC_HS_DIR_LINE: &str = "HiddenServiceDir /var/lib/tor/salama/";

/// Written in two halves so that this file never contains the markers it looks for:
/// an age identity, and an answers signing key (src/keys/signing.rs).
const SECRET_MARKERS: [&str; 2] = [
    concat!("age-secret-", "key-1"),
    concat!("salama-sign-", "secret-key-1"),
];

/// Directives `deploy/torrc` must carry, with exactly this value, exactly once.
const TORRC_REQUIRED: [(&str, &str); 11] = [
    ("SocksPort", "0"),
    ("SafeLogging", "1"),
    ("HiddenServiceDir", "/var/lib/tor/salama/"),
    ("HiddenServicePort", "80 127.0.0.1:8080"),
    ("HiddenServiceNonAnonymousMode", "0"),
    ("HiddenServiceSingleHopMode", "0"),
    ("HiddenServicePoWDefensesEnabled", "1"),
    ("HiddenServiceEnableIntroDoSDefense", "1"),
    ("HiddenServiceMaxStreamsCloseCircuit", "1"),
    // The circuit of each connection, for Salama's per-circuit limits (`proxy_protocol`).
    ("HiddenServiceExportCircuitID", "haproxy"),
    ("VanguardsLiteEnabled", "1"),
];

/// Limits `deploy/torrc` must set once to a positive number: for each of them tor reads 0 as
/// "no limit".
const TORRC_POSITIVE: [&str; 5] = [
    "HiddenServicePoWQueueRate",
    "HiddenServicePoWQueueBurst",
    "HiddenServiceEnableIntroDoSRatePerSec",
    "HiddenServiceEnableIntroDoSBurstPerSec",
    "HiddenServiceMaxStreams",
];

/// Directives `deploy/torrc` must not carry: a fixed data directory (test harnesses append
/// their own), a TCP control port.
const TORRC_FORBIDDEN: [&str; 2] = ["DataDirectory", "ControlPort"];

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    let path = manifest_dir().join(rel);
    match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => {
            let shown = path.display();
            panic!("cannot read {shown}: {e}");
        }
    }
}

fn run(cmd: &mut Command) -> Output {
    let shown = format!("{cmd:?}");
    match cmd.output() {
        Ok(out) => out,
        Err(e) => panic!("cannot run {shown}: {e}"),
    }
}

/// A private scratch directory, removed when dropped (also when the test panics).
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        // Tests of one binary share a process id, so the tag keeps them apart.
        let pid = std::process::id();
        let dir = std::env::temp_dir().join(format!("salama-deploy-{tag}-{pid}"));
        let _ = fs::remove_dir_all(&dir);
        if let Err(e) = fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
        {
            let shown = dir.display();
            panic!("cannot create {shown}: {e}");
        }
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn write(path: &Path, text: &str) {
    if let Err(e) = fs::write(path, text) {
        let shown = path.display();
        panic!("cannot write {shown}: {e}");
    }
}

// ---- systemd ---------------------------------------------------------------------------

/// The major version of the installed systemd-analyze, or `None` if it cannot be run.
fn systemd_version() -> Option<u32> {
    let out = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    // First line: "systemd 252 (252.38-1~deb12u1)".
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace().nth(1)?.parse().ok()
}

/// Whether the systemd checks can run here; says loudly why not when they cannot.
fn systemd_ready(test: &str) -> bool {
    match systemd_version() {
        None => {
            eprintln!(
                "SKIPPED: {test}: systemd-analyze not found (apt-get install systemd). \
                 {UNIT} was NOT checked."
            );
            false
        }
        Some(version) if version < MIN_SYSTEMD => {
            eprintln!(
                "SKIPPED: {test}: systemd {version} is older than {MIN_SYSTEMD}. \
                 {UNIT} was NOT checked."
            );
            false
        }
        Some(_) => true,
    }
}

/// The unit copied into `scratch` with ExecStart pointing at a binary that exists: `verify`
/// rejects a missing binary, and the binary's path plays no part in the exposure score.
fn unit_copy(scratch: &Scratch) -> PathBuf {
    let unit = read(UNIT);
    assert!(
        unit.lines().any(|line| line == UNIT_EXEC_LINE),
        "{UNIT} must start Salama with exactly: {UNIT_EXEC_LINE}"
    );
    let exec_lines = unit
        .lines()
        .filter(|line| line.starts_with("ExecStart="))
        .count();
    assert_eq!(
        exec_lines, 1,
        "{UNIT} must have exactly one ExecStart= line"
    );
    let stand_in = ["/usr/bin/true", "/bin/true"]
        .into_iter()
        .find(|candidate| Path::new(candidate).exists())
        .expect("neither /usr/bin/true nor /bin/true exists");
    let text = unit.replace(UNIT_EXEC_PREFIX, &format!("ExecStart={stand_in} "));
    let path = scratch.path("salama.service");
    write(&path, &text);
    path
}

/// The number in "→ Overall exposure level for salama.service: 1.1 OK 🙂".
fn exposure_level(report: &str) -> Option<f64> {
    let line = report
        .lines()
        .find(|line| line.contains("Overall exposure level"))?;
    let (_, rest) = line.rsplit_once(": ")?;
    rest.split_whitespace().next()?.parse().ok()
}

#[test]
fn exposure_level_is_parsed() {
    let report = "✓ UMask=    Files created by service are accessible only by ...\n\
                  → Overall exposure level for salama.service: 1.1 OK 🙂\n";
    assert_eq!(exposure_level(report), Some(1.1));
    assert_eq!(exposure_level("no summary here\n"), None);
}

#[test]
fn systemd_unit_passes_verify() {
    if !systemd_ready("systemd_unit_passes_verify") {
        return;
    }
    let scratch = Scratch::new("verify");
    let path = unit_copy(&scratch);
    let out = run(Command::new("systemd-analyze")
        .env("SYSTEMD_COLORS", "0")
        .args(["verify", "--no-pager", "--man=no", "--recursive-errors=no"])
        .arg(path));
    let stderr = String::from_utf8_lossy(&out.stderr);
    // verify exits 0 on an unknown or malformed setting ("..., ignoring."), so any message
    // about the unit itself is a failure too. Messages about other units are not ours.
    let complaints: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("salama.service"))
        .collect();
    let status = out.status;
    assert!(
        status.success() && complaints.is_empty(),
        "systemd-analyze verify {UNIT} failed ({status}):\n{stderr}"
    );
}

#[test]
fn systemd_unit_exposure_at_most_2() {
    if !systemd_ready("systemd_unit_exposure_at_most_2") {
        return;
    }
    let scratch = Scratch::new("security");
    let path = unit_copy(&scratch);
    let out = run(Command::new("systemd-analyze")
        .env("SYSTEMD_COLORS", "0")
        .args(["security", "--no-pager", "--offline=true", THRESHOLD])
        .arg(path));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let Some(level) = exposure_level(&stdout) else {
        panic!("no 'Overall exposure level' from systemd-analyze security:\n{stdout}\n{stderr}");
    };
    assert!(
        level <= MAX_EXPOSURE,
        "{UNIT}: exposure level {level} is above {MAX_EXPOSURE}; the assessment:\n{stdout}"
    );
    let status = out.status;
    assert!(
        status.success(),
        "systemd-analyze security {THRESHOLD} {UNIT} failed ({status}):\n{stdout}\n{stderr}"
    );
}

// ---- secret keys -----------------------------------------------------------------------

fn has_secret_marker(bytes: &[u8]) -> bool {
    let lower = bytes.to_ascii_lowercase();
    SECRET_MARKERS.iter().any(|marker| {
        let marker = marker.as_bytes();
        lower.windows(marker.len()).any(|window| window == marker)
    })
}

/// Every regular file under `dir`, following symlinks; nothing if `dir` does not exist.
fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    if !dir.exists() {
        return;
    }
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            let shown = dir.display();
            panic!("cannot list {shown}: {e}");
        }
    };
    for entry in entries {
        let path = match entry {
            Ok(entry) => entry.path(),
            Err(e) => {
                let shown = dir.display();
                panic!("cannot list {shown}: {e}");
            }
        };
        match fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => files_under(&path, out),
            Ok(meta) if meta.is_file() => out.push(path),
            _ => {}
        }
    }
}

#[test]
fn secret_marker_is_found_in_any_case() {
    let secret = concat!("# created: today\nAGE-SECRET-", "KEY-1QQQQ\n");
    assert!(has_secret_marker(secret.as_bytes()));
    assert!(has_secret_marker(secret.to_ascii_lowercase().as_bytes()));
    assert!(!has_secret_marker(b"age1qqqqqqqq\n"));
    let signing = concat!(
        "# public key: salamasign1qqqq\nSALAMA-SIGN-",
        "SECRET-KEY-1QQQQ\n"
    );
    assert!(has_secret_marker(signing.as_bytes()));
    assert!(has_secret_marker(signing.to_ascii_lowercase().as_bytes()));
    assert!(!has_secret_marker(b"salamasign1qqqqqqqq\n"));
}

#[test]
fn no_secret_key_under_keys_or_deploy() {
    let mut files = Vec::new();
    for dir in ["keys", "deploy"] {
        files_under(&manifest_dir().join(dir), &mut files);
    }
    let mut offenders = Vec::new();
    for path in &files {
        match fs::read(path) {
            Ok(bytes) if has_secret_marker(&bytes) => offenders.push(path.display().to_string()),
            Ok(_) => {}
            Err(e) => {
                let shown = path.display();
                panic!("cannot read {shown}: {e}");
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "a secret key (age identity or answers signing key) is in {offenders:?}. Secret keys never leave the \
         analysts' air-gapped workstation: remove the file and treat that key as compromised \
         (see keys/README.md)."
    );
}

// ---- C tor front -----------------------------------------------------------------------

/// Directives of a torrc as (lower-case key, value with single spaces); blank lines and
/// comment lines dropped.
fn torrc_directives(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (key, value) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            let value: Vec<&str> = value.split_whitespace().collect();
            (key.to_ascii_lowercase(), value.join(" "))
        })
        .collect()
}

fn torrc_values<'a>(directives: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    let key = key.to_ascii_lowercase();
    directives
        .iter()
        .filter(|(k, _)| *k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

#[test]
fn torrc_has_hardening_lines() {
    let directives = torrc_directives(&read(TORRC));
    for (key, value) in TORRC_REQUIRED {
        let found = torrc_values(&directives, key);
        assert_eq!(found, [value], "{TORRC}: want exactly one `{key} {value}`");
    }
    for key in TORRC_POSITIVE {
        let found = torrc_values(&directives, key);
        let positive = found.len() == 1 && found[0].parse::<u64>().is_ok_and(|n| n > 0);
        assert!(
            positive,
            "{TORRC}: want exactly one `{key} N` with N > 0, found {found:?}"
        );
    }
    for key in TORRC_FORBIDDEN {
        let found = torrc_values(&directives, key);
        assert!(
            found.is_empty(),
            "{TORRC}: `{key}` must not be set, found {found:?}"
        );
    }
    for line in read(TORRC).lines() {
        let line = line.trim();
        assert!(
            line.starts_with('#') || !line.contains('#'),
            "{TORRC}: comments must be whole lines, found: {line}"
        );
    }
}

#[test]
fn torrc_passes_tor_verify_config() {
    if Command::new("tor").arg("--version").output().is_err() {
        eprintln!(
            "SKIPPED: torrc_passes_tor_verify_config: tor not found (apt-get install tor). \
             {TORRC} was NOT checked by tor."
        );
        return;
    }
    // Same file with its one absolute path moved into a scratch dir, plus the DataDirectory
    // a harness would append; defaults from an empty file so the host's tor setup plays no part.
    let scratch = Scratch::new("torrc");
    let hs_dir = scratch.path("hs");
    let data_dir = scratch.path("data");
    let original = read(TORRC);
    assert!(
        original
            .lines()
            .any(|line| line.trim() == TORRC_HS_DIR_LINE),
        "{TORRC} must contain the line: {TORRC_HS_DIR_LINE}"
    );
    let hs_line = format!("HiddenServiceDir {}/", hs_dir.display());
    let mut text = original.replace(TORRC_HS_DIR_LINE, &hs_line);
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!("DataDirectory {}\n", data_dir.display()));
    let torrc = scratch.path("torrc");
    let defaults = scratch.path("defaults");
    write(&torrc, &text);
    write(&defaults, "");
    let out = run(Command::new("tor")
        .arg("--verify-config")
        .arg("--defaults-torrc")
        .arg(defaults)
        .arg("-f")
        .arg(torrc));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let status = out.status;
    assert!(
        status.success() && stdout.contains("Configuration was valid"),
        "tor --verify-config rejected {TORRC} ({status}):\n{stdout}\n{stderr}"
    );
}

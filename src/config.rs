//! The operator's configuration: a TOML file (`--config`), every option of
//! which is listed and explained in `deploy/salama.toml` (a test parses
//! that file, so the example cannot drift from the code). Command-line
//! flags override the file.

use crate::report::{Category, Lang};
use crate::store::Quota;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Data directory: the sealed store, admin socket, onion keys.
    pub data: Option<PathBuf>,
    /// Directory of analysts' public keys (`*.pub`).
    pub keys: Option<PathBuf>,
    /// Plain HTTP listeners (loopback: for a C tor front or tests).
    #[serde(default)]
    pub listen: Vec<SocketAddr>,
    /// Every connection to the `listen` addresses starts with a PROXY v1
    /// header naming its Tor circuit (C tor's `HiddenServiceExportCircuitID
    /// haproxy`); a connection without one is refused.
    #[serde(default)]
    pub proxy_protocol: bool,
    /// Run the in-process onion service (default true when built with it).
    pub onion: Option<bool>,
    /// An arti configuration file (arti's own TOML format).
    pub tor_config: Option<PathBuf>,
    #[serde(default)]
    pub site: Site,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub follow_up: FollowUpConfig,
}

/// `[follow_up]`: reporters reading the analysts' answers with their receipt.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct FollowUpConfig {
    /// Days an imported answer is kept; then it is wiped (overwritten).
    pub answer_days: u32,
    /// Lookups computed at once, each on its own low-priority thread
    /// (one Argon2id run: ~25 ms of a core and 32 MiB).
    pub lookup_threads: usize,
    /// Lookups waiting for a thread; past it, "busy", after a one-second
    /// pause.
    pub max_waiting_lookups: usize,
    /// Lookups taken per second from all circuits together, after a burst
    /// of `max_waiting_lookups` (or one second's worth, if more); past it,
    /// "busy", after a one-second pause. Per-circuit limits cannot see a flood spread over
    /// many circuits, and it slows reports whatever the threads' priority.
    pub max_lookups_per_second: u32,
    /// Answers held at most; an import past it is refused.
    pub max_answers: usize,
}

impl Default for FollowUpConfig {
    fn default() -> FollowUpConfig {
        FollowUpConfig {
            answer_days: 90,
            lookup_threads: 2,
            max_waiting_lookups: 32,
            max_lookups_per_second: 4,
            max_answers: 100_000,
        }
    }
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct Site {
    /// Shown in every page's header and title.
    pub name: String,
    /// The hotline running this service, named in "what happens next".
    /// Unset: a translated "the hotline" in each language.
    pub organisation: Option<String>,
    /// Where to get help, per language (`ar`, `fr`, `en`). A language left
    /// out gets the built-in text.
    pub helpline: BTreeMap<String, String>,
    /// The language of `/` before the reporter picks one.
    pub default_language: Lang,
    /// Which categories the form offers, in order.
    pub categories: Vec<Category>,
    /// Where "Leave quickly" goes: a harmless, common page.
    pub leave_url: String,
}

impl Default for Site {
    fn default() -> Site {
        Site {
            name: "Salama".into(),
            organisation: None,
            helpline: BTreeMap::new(),
            default_language: Lang::Ar,
            categories: Category::ALL.to_vec(),
            leave_url: "https://www.wikipedia.org/".into(),
        }
    }
}

impl Site {
    /// The organisation's name, or a translated generic one.
    pub fn organisation(&self, lang: Lang) -> String {
        match &self.organisation {
            Some(name) => name.clone(),
            None => crate::ui::i18n::tr(lang, "organisation-default"),
        }
    }

    pub fn helpline(&self, lang: Lang) -> Option<&str> {
        self.helpline.get(lang.id()).map(String::as_str)
    }
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest accepted request body. The largest legal report, fully
    /// percent-encoded, is about 150 KiB.
    pub max_body_bytes: usize,
    /// A client must send its request headers within this time.
    pub header_timeout_secs: u64,
    /// …and its body within this time (generous: Tor circuits are slow).
    pub body_timeout_secs: u64,
    /// Open connections across all listeners; past it, a short 503.
    pub max_connections: usize,
    /// Reports being sealed and committed at once; past it, a 503 page.
    pub max_inflight_submissions: usize,
    /// Concurrent streams one Tor circuit may hold open (onion only).
    pub max_streams_per_circuit: usize,
    /// Reports waiting for export; past it, the form answers 503.
    pub max_pending_reports: u64,
    pub max_pending_bytes: u64,
    /// Free disk space kept in reserve; below it, the form answers 503.
    pub min_free_bytes: u64,
    /// Reports one Tor circuit may send at once, then one more every
    /// `submission_interval_secs`; past it, a 429 "wait a moment" page.
    pub submissions_per_circuit: u32,
    pub submission_interval_secs: u64,
    /// The same for receipt lookups (follow-up).
    pub lookups_per_circuit: u32,
    pub lookup_interval_secs: u64,
    /// Circuits remembered at once for those limits (memory bound).
    pub max_tracked_circuits: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        let q = Quota::default();
        Limits {
            max_body_bytes: 256 * 1024,
            header_timeout_secs: 20,
            body_timeout_secs: 60,
            max_connections: 512,
            max_inflight_submissions: 128,
            max_streams_per_circuit: 8,
            max_pending_reports: q.max_pending_reports,
            max_pending_bytes: q.max_pending_bytes,
            min_free_bytes: q.min_free_bytes,
            submissions_per_circuit: 10,
            submission_interval_secs: 12,
            lookups_per_circuit: 10,
            lookup_interval_secs: 12,
            max_tracked_circuits: 65_536,
        }
    }
}

impl Limits {
    pub fn quota(&self) -> Quota {
        Quota {
            max_pending_reports: self.max_pending_reports,
            max_pending_bytes: self.max_pending_bytes,
            min_free_bytes: self.min_free_bytes,
        }
    }

    pub fn header_timeout(&self) -> Duration {
        Duration::from_secs(self.header_timeout_secs.max(1))
    }

    pub fn body_timeout(&self) -> Duration {
        Duration::from_secs(self.body_timeout_secs.max(1))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("the config file {0} is invalid: {1}(see deploy/salama.toml for every option)")]
    Parse(PathBuf, toml::de::Error),
    #[error("the config file {0}: site.categories must offer at least one category")]
    NoCategories(PathBuf),
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read(path.into(), e))?;
        Config::parse(&text).map_err(|e| match e {
            ConfigError::Parse(_, e) => ConfigError::Parse(path.into(), e),
            ConfigError::NoCategories(_) => ConfigError::NoCategories(path.into()),
            e => e,
        })
    }

    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let c: Config = toml::from_str(text).map_err(|e| ConfigError::Parse(PathBuf::new(), e))?;
        if c.site.categories.is_empty() {
            return Err(ConfigError::NoCategories(PathBuf::new()));
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_parses_and_sets_every_option() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/salama.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let c = Config::parse(&text).unwrap();
        assert!(c.data.is_some() && c.keys.is_some() && c.onion.is_some());
        assert!(!c.listen.is_empty());
        // Every option is spelled out in the example (commented or not).
        for key in [
            "data",
            "keys",
            "listen",
            "proxy_protocol",
            "onion",
            "tor_config",
            "name",
            "organisation",
            "helpline",
            "default_language",
            "categories",
            "leave_url",
            "max_body_bytes",
            "header_timeout_secs",
            "body_timeout_secs",
            "max_connections",
            "max_inflight_submissions",
            "max_streams_per_circuit",
            "max_pending_reports",
            "max_pending_bytes",
            "min_free_bytes",
            "answer_days",
            "lookup_threads",
            "max_waiting_lookups",
            "max_lookups_per_second",
            "max_answers",
            "submissions_per_circuit",
            "submission_interval_secs",
            "lookups_per_circuit",
            "lookup_interval_secs",
            "max_tracked_circuits",
        ] {
            assert!(
                text.lines().any(|l| l
                    .trim_start_matches(['#', ' '])
                    .starts_with(&format!("{key} ="))
                    || l.trim_start_matches(['#', ' '])
                        .starts_with(&format!("[site.{key}]"))),
                "deploy/salama.toml does not document `{key}`"
            );
        }
    }

    #[test]
    fn unknown_options_are_refused() {
        assert!(Config::parse("dta = \"/x\"").is_err());
        assert!(Config::parse("[limits]\nmax_body = 3").is_err());
        assert!(Config::parse("[site]\ncategories = []").is_err());
        assert!(
            Config::parse("[site]\ncategories = [\"grooming\"]\ndefault_language = \"fr\"").is_ok()
        );
    }
}

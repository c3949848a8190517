//! The two kinds of analyst key, and which may seal a report together.
//!
//! Public keys come as `age1…` (X25519) or `age1pq1…` (hybrid ML-KEM-768 +
//! X25519); identities as `AGE-SECRET-KEY-1…` or `AGE-SECRET-KEY-PQ-1…`.
//!
//! **The mixing rule.** The age specification (<https://c2sp.org/age>, on
//! the MLKEM768-X25519 recipient type) says: "This recipient type is secure
//! against future cryptographically-relevant quantum computers, so the same
//! file SHOULD NOT be encrypted to both this recipient type and to other
//! non-quantum-resistant recipient types." The reference implementation
//! makes that a hard error (`age.go`: a hybrid recipient carries the
//! `postquantum` label and `Encrypt` fails with "incompatible recipients:
//! can't mix post-quantum and classic recipients"), because an X25519
//! stanza beside a hybrid one would let a future quantum computer open the
//! file through the X25519 stanza. Salama does the same: a server's keys
//! are all X25519 or all hybrid, checked when the keys are loaded, before
//! anything is sealed. Opening is not restricted: the specification's
//! vectors (`hybrid_and_x25519`) expect a mixed file to open.

use super::hybrid::{HybridIdentity, HybridRecipient};
use super::{Identity, KeyError, KeyId, Recipient};
use std::path::PathBuf;
use std::str::FromStr;
use zeroize::Zeroizing;

/// One analyst's public key, of either kind.
#[derive(Clone, Debug)]
pub enum AnalystKey {
    X25519(Recipient),
    Hybrid(HybridRecipient),
}

impl From<Recipient> for AnalystKey {
    fn from(r: Recipient) -> AnalystKey {
        AnalystKey::X25519(r)
    }
}

impl From<HybridRecipient> for AnalystKey {
    fn from(r: HybridRecipient) -> AnalystKey {
        AnalystKey::Hybrid(r)
    }
}

impl AnalystKey {
    /// Parse either kind by its prefix.
    pub fn parse(s: &str) -> Result<AnalystKey, KeyError> {
        let s = s.trim();
        if s.starts_with("age1pq1") {
            HybridRecipient::parse(s)
                .map(AnalystKey::Hybrid)
                .map_err(KeyError::Hybrid)
        } else {
            Recipient::parse(s).map(AnalystKey::X25519)
        }
    }

    pub fn id(&self) -> &KeyId {
        match self {
            AnalystKey::X25519(r) => r.id(),
            AnalystKey::Hybrid(r) => r.id(),
        }
    }

    pub fn is_post_quantum(&self) -> bool {
        matches!(self, AnalystKey::Hybrid(_))
    }
}

/// Refuse a set that mixes the two kinds, naming each key by `name` (its
/// file in the keys directory, or its key id).
pub(super) fn check_not_mixed<'a>(
    keys: impl Iterator<Item = (String, &'a AnalystKey)>,
) -> Result<(), KeyError> {
    let (mut hybrid, mut classic) = (Vec::new(), Vec::new());
    for (name, key) in keys {
        if key.is_post_quantum() {
            hybrid.push(name);
        } else {
            classic.push(name);
        }
    }
    if hybrid.is_empty() || classic.is_empty() {
        Ok(())
    } else {
        Err(KeyError::Mixed {
            hybrid: hybrid.join(", "),
            classic: classic.join(", "),
        })
    }
}

/// For `load_dir`: name each key by its file.
pub(super) fn check_files_not_mixed(list: &[(PathBuf, AnalystKey)]) -> Result<(), KeyError> {
    check_not_mixed(list.iter().map(|(p, k)| (p.display().to_string(), k)))
}

/// The identities in the text of an age identity file: one key per line,
/// blank lines and `#` comments skipped, as age-keygen writes them. Each
/// line is parsed by its kind's own parser (`age` 0.11's `IdentityFile`
/// knows no hybrid keys). `None` if any line is not an identity, or there
/// is none.
pub(super) fn parse_identities(text: &[u8]) -> Option<Vec<Identity>> {
    let text = std::str::from_utf8(text).ok()?;
    let mut ids = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let upper = Zeroizing::new(line.to_ascii_uppercase());
        if upper.starts_with("AGE-SECRET-KEY-PQ-1") {
            let id = HybridIdentity::parse(line)?;
            let public = AnalystKey::parse(&id.recipient()).ok()?;
            ids.push(Identity(Box::new(id), public));
        } else if upper.starts_with("AGE-SECRET-KEY-1") {
            let id = age::x25519::Identity::from_str(line).ok()?;
            let public = AnalystKey::parse(&id.to_public().to_string()).ok()?;
            ids.push(Identity(Box::new(id), public));
        } else {
            return None;
        }
    }
    (!ids.is_empty()).then_some(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::HybridKeyError;
    use age::secrecy::ExposeSecret;

    #[test]
    fn parse_picks_the_kind_by_prefix() {
        let x = age::x25519::Identity::generate().to_public().to_string();
        let (_, pq) = super::super::hybrid::generate().unwrap();
        assert!(!AnalystKey::parse(&x).unwrap().is_post_quantum());
        assert!(AnalystKey::parse(&pq).unwrap().is_post_quantum());
        assert_eq!(AnalystKey::parse(&pq).unwrap().id(), &KeyId::of(&pq));
        assert!(matches!(
            AnalystKey::parse("age1pq1xyz"),
            Err(KeyError::Hybrid(HybridKeyError::Malformed))
        ));
    }

    #[test]
    fn mixing_is_refused_and_names_both_sides() {
        let x =
            AnalystKey::parse(&age::x25519::Identity::generate().to_public().to_string()).unwrap();
        let (_, pq) = super::super::hybrid::generate().unwrap();
        let pq = AnalystKey::parse(&pq).unwrap();
        let list = vec![
            (PathBuf::from("keys/alice.pub"), pq.clone()),
            (PathBuf::from("keys/bob.pub"), x.clone()),
            (PathBuf::from("keys/carol.pub"), pq.clone()),
        ];
        let e = check_files_not_mixed(&list).unwrap_err().to_string();
        assert!(
            e.contains("keys/alice.pub, keys/carol.pub") && e.contains("keys/bob.pub"),
            "{e}"
        );
        assert!(check_files_not_mixed(&list[..1]).is_ok());
        assert!(check_files_not_mixed(&list[1..2]).is_ok());
    }

    #[test]
    fn identity_files_of_both_kinds_and_comments() {
        let x = age::x25519::Identity::generate();
        let (pq, _) = super::super::hybrid::generate().unwrap();
        let text = format!(
            "# created: now\n# public key: …\n{}\n\n{}\n",
            x.to_string().expose_secret(),
            *pq
        );
        assert_eq!(parse_identities(text.as_bytes()).unwrap().len(), 2);
        assert!(parse_identities(b"# nothing\n").is_none());
        assert!(parse_identities(b"AGE-PLUGIN-YUBIKEY-1XYZ\n").is_none());
        let broken = format!("{}X\n", *pq);
        assert!(parse_identities(broken.as_bytes()).is_none());
    }
}

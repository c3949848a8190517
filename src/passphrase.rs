//! Where passphrases come from: the terminal (asked twice when making a
//! key), or `SALAMA_PASSPHRASE` for scripts and tests. Never an argument:
//! arguments are visible to every user through /proc.
//!
//! A passphrase that protects a new key must be at least
//! [`MIN_CHARS`] characters: whatever the source (terminal or environment),
//! and whichever key (the age identity and the answers signing key both
//! take a [`NewPassphrase`], which only [`NewPassphrase::new`] makes).
//! Opening accepts any passphrase: identity files made by `age -p`
//! elsewhere must still open.

use age::secrecy::{ExposeSecret, SecretString};
use std::io;
use zeroize::Zeroizing;

pub const ENV: &str = "SALAMA_PASSPHRASE";

/// The shortest passphrase a new key may have, in characters (not bytes:
/// an Arabic passphrase counts as many as a Latin one). A stolen identity
/// file can be attacked offline at scrypt's pace (work factor 2^18, about
/// a second per guess on one core, far less on rented hardware): four or
/// more random words, or a sentence, pass; a short password does not.
/// Twelve is the shortest length that rules out "a word and a year" and
/// stays easy to type on the air-gapped workstation.
pub const MIN_CHARS: usize = 12;

/// A passphrase that is long enough to protect a new key.
pub struct NewPassphrase(SecretString);

static_assertions::assert_not_impl_any!(NewPassphrase: std::fmt::Debug, std::fmt::Display, Clone);

/// Why a passphrase is refused for a new key. Never holds the passphrase.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum WeakPassphrase {
    #[error(
        "an empty passphrase would leave the key unprotected; choose a passphrase of at least {MIN_CHARS} characters (a few random words)"
    )]
    Empty,
    #[error(
        "that passphrase is too short ({0} characters): a stolen key file could be guessed offline. Choose at least {MIN_CHARS} characters (a few random words)"
    )]
    TooShort(usize),
}

impl NewPassphrase {
    /// Refuse empty, blank and short passphrases. Leading and trailing
    /// spaces do not count toward the length (they are easy to lose when
    /// typing the passphrase again).
    pub fn new(p: SecretString) -> Result<NewPassphrase, WeakPassphrase> {
        let n = p.expose_secret().trim().chars().count();
        if n == 0 {
            Err(WeakPassphrase::Empty)
        } else if n < MIN_CHARS {
            Err(WeakPassphrase::TooShort(n))
        } else {
            Ok(NewPassphrase(p))
        }
    }

    /// The demo's throwaway key (`salama demo`): its passphrase, `demo`, is
    /// printed on the screen and in the README, so no length would protect
    /// it; the demo says loudly never to use that key for real reports.
    pub fn published_demo() -> NewPassphrase {
        NewPassphrase(SecretString::from("demo".to_owned()))
    }

    /// The passphrase itself, to hand to age's scrypt encryptor.
    pub fn secret(&self) -> SecretString {
        self.0.clone()
    }
}

fn from_env() -> io::Result<Option<SecretString>> {
    match std::env::var(ENV) {
        Ok(p) if p.is_empty() => Err(io::Error::other(format!(
            "{ENV} is set but empty; unset it to be asked on the terminal, or set the passphrase"
        ))),
        Ok(p) => Ok(Some(SecretString::from(p))),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(io::Error::other(format!("{ENV} is not valid UTF-8")))
        }
    }
}

fn prompt(text: &str) -> io::Result<Zeroizing<String>> {
    rpassword::prompt_password(text).map(Zeroizing::new)
}

/// For opening an identity file.
pub fn ask_existing(what: &str) -> io::Result<SecretString> {
    if let Some(p) = from_env()? {
        return Ok(p);
    }
    let p = prompt(&format!("Passphrase for {what}: "))?;
    Ok(SecretString::from(p.to_string()))
}

/// For a new identity file: from `SALAMA_PASSPHRASE`, or asked twice on the
/// terminal; either way long enough ([`NewPassphrase::new`]).
pub fn ask_new() -> io::Result<NewPassphrase> {
    if let Some(p) = from_env()? {
        return NewPassphrase::new(p).map_err(|e| io::Error::other(format!("{ENV}: {e}")));
    }
    let a = prompt(&format!(
        "New passphrase for the identity file (at least {MIN_CHARS} characters): "
    ))?;
    let checked =
        NewPassphrase::new(SecretString::from(a.to_string())).map_err(io::Error::other)?;
    let b = prompt("Same passphrase again: ")?;
    if *a != *b {
        return Err(io::Error::other(
            "the two passphrases differ; run keygen again",
        ));
    }
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(s: &str) -> Result<(), WeakPassphrase> {
        NewPassphrase::new(SecretString::from(s.to_owned())).map(|_| ())
    }

    #[test]
    fn empty_blank_and_short_passphrases_are_refused() {
        assert_eq!(check(""), Err(WeakPassphrase::Empty));
        assert_eq!(check("   \t "), Err(WeakPassphrase::Empty));
        assert_eq!(check("x"), Err(WeakPassphrase::TooShort(1)));
        assert_eq!(check("pass phrase"), Err(WeakPassphrase::TooShort(11)));
        // Padding with spaces does not make it longer.
        assert_eq!(check("  hunter2    "), Err(WeakPassphrase::TooShort(7)));
        assert_eq!(check("twelve chars"), Ok(()));
        // Characters, not bytes: 11 Arabic letters are 22 bytes, still short.
        assert_eq!(check("كلمةالسرقصي"), Err(WeakPassphrase::TooShort(11)));
        assert_eq!(check("كلمة سر طويلة"), Ok(()));
    }

    #[test]
    fn the_refusal_never_repeats_the_passphrase() {
        let e = NewPassphrase::new(SecretString::from("s3cr3t".to_owned()))
            .err()
            .unwrap();
        assert!(!e.to_string().contains("s3cr3t"));
        assert!(!format!("{e:?}").contains("s3cr3t"));
    }
}

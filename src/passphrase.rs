//! Where passphrases come from: the terminal (asked twice when making a
//! key), or `SALAMA_PASSPHRASE` for scripts and tests. Never an argument:
//! arguments are visible to every user through /proc.

use age::secrecy::SecretString;
use std::io;
use zeroize::Zeroizing;

pub const ENV: &str = "SALAMA_PASSPHRASE";

fn from_env() -> Option<SecretString> {
    std::env::var(ENV).ok().map(SecretString::from)
}

fn prompt(text: &str) -> io::Result<Zeroizing<String>> {
    rpassword::prompt_password(text).map(Zeroizing::new)
}

/// For opening an identity file.
pub fn ask_existing(what: &str) -> io::Result<SecretString> {
    if let Some(p) = from_env() {
        return Ok(p);
    }
    let p = prompt(&format!("Passphrase for {what}: "))?;
    Ok(SecretString::from(p.to_string()))
}

/// For a new identity file: asked twice, must match, must not be empty.
pub fn ask_new() -> io::Result<SecretString> {
    if let Some(p) = from_env() {
        return Ok(p);
    }
    let a = prompt("New passphrase for the identity file: ")?;
    if a.is_empty() {
        return Err(io::Error::other(
            "an empty passphrase would leave the key unprotected; choose a long passphrase",
        ));
    }
    let b = prompt("Same passphrase again: ")?;
    if *a != *b {
        return Err(io::Error::other(
            "the two passphrases differ; run keygen again",
        ));
    }
    Ok(SecretString::from(a.to_string()))
}

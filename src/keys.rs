//! The analysts' keys. On the server: public keys only (`age1…` X25519 or
//! `age1pq1…` post-quantum hybrid, one per `*.pub` file in the keys
//! directory, all of one kind), the recipients every report is sealed to.
//! On the analyst's workstation: passphrase-protected age identity files,
//! made by `salama keygen [--pq]` exactly as `age-keygen [-pq] | age -p`
//! would, and read back by `salama open`.
//!
//! Secret material lives only inside the `age` crate's types, the hybrid
//! identity ([`hybrid`]) and `SecretString`s; nothing here can print it.

pub mod signing;

use crate::passphrase::NewPassphrase;
use age::secrecy::{ExposeSecret, SecretString};
use bech32::primitives::decode::CheckedHrpstring;
use bech32::{Bech32, Hrp};
use curve25519_dalek::{EdwardsPoint, MontgomeryPoint};
use sha2::{Digest, Sha256};
use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use x25519_dalek::PublicKey;
use zeroize::Zeroizing;

mod hybrid;
mod kind;
pub use hybrid::{HybridIdentity, HybridKeyError, HybridRecipient, generate as generate_hybrid};
pub use kind::AnalystKey;
pub(crate) mod stanza {
    //! The hybrid stanza's constants and HPKE suite, for the sealing side.
    pub(crate) use super::hybrid::{Aead, BODY_LEN, ENC_LEN, INFO, Kdf, Kem, TAG};
}

/// A short, stable name for a public key in operator messages: the first
/// 8 hex digits of SHA-256 over its `age1…` string. Never a secret.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct KeyId(String);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl KeyId {
    pub fn of(recipient: &str) -> KeyId {
        let h = Sha256::digest(recipient.as_bytes());
        KeyId(crate::bundle::hex(&h[..4]))
    }
}

/// One analyst's public key.
#[derive(Clone, Debug)]
pub struct Recipient {
    key: PublicKey,
    /// The same point in Edwards form, for the faster multiplication in
    /// [`crate::seal`]; `None` for a u-coordinate with no Edwards point
    /// (not a key any keygen makes), which then takes the ladder.
    edwards: Option<EdwardsPoint>,
    id: KeyId,
}

impl Recipient {
    pub fn public_key(&self) -> &PublicKey {
        &self.key
    }

    pub fn edwards(&self) -> Option<&EdwardsPoint> {
        self.edwards.as_ref()
    }

    pub fn id(&self) -> &KeyId {
        &self.id
    }

    /// Any 32 bytes as a recipient, unchecked: for tests of what sealing
    /// does with a key that [`Recipient::parse`] would refuse.
    #[cfg(test)]
    pub(crate) fn unchecked(bytes: [u8; 32]) -> Recipient {
        Recipient {
            key: PublicKey::from(bytes),
            edwards: MontgomeryPoint(bytes).to_edwards(0),
            id: KeyId(crate::bundle::hex(&bytes[..4])),
        }
    }

    /// Parse an `age1…` X25519 recipient (bech32, not bech32m, per the spec).
    pub fn parse(s: &str) -> Result<Recipient, KeyError> {
        let s = s.trim();
        let checked = CheckedHrpstring::new::<Bech32>(s).map_err(|_| KeyError::NotARecipient)?;
        if checked.hrp() != Hrp::parse_unchecked("age") || s.starts_with("AGE1") {
            return Err(KeyError::NotARecipient);
        }
        let bytes: Vec<u8> = checked.byte_iter().collect();
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| KeyError::NotARecipient)?;
        // 32 bytes leave 4 padding bits in the last character, so 16
        // strings decode to each key (with 16 key ids); age accepts only
        // the one it prints. Re-encoding gives that one.
        let canonical = bech32::encode_lower::<Bech32>(checked.hrp(), &bytes)
            .map_err(|_| KeyError::NotARecipient)?;
        if canonical != s {
            return Err(KeyError::NonCanonical);
        }
        // Every X25519 with a low-order point gives the all-zero secret:
        // age refuses to seal to it, so every report would fail.
        if hybrid::low_order(&bytes) {
            return Err(KeyError::LowOrder);
        }
        Ok(Recipient {
            key: PublicKey::from(bytes),
            edwards: MontgomeryPoint(bytes).to_edwards(0),
            id: KeyId::of(s),
        })
    }
}

/// The non-empty set of keys every report is sealed to: all X25519 or all
/// hybrid, never both (the mixing rule, in [`kind`]).
#[derive(Clone, Debug)]
pub struct Recipients(Vec<AnalystKey>);

impl Recipients {
    pub fn new<K: Into<AnalystKey>>(list: Vec<K>) -> Result<Recipients, KeyError> {
        let list: Vec<AnalystKey> = list.into_iter().map(Into::into).collect();
        if list.is_empty() {
            return Err(KeyError::Empty);
        }
        kind::check_not_mixed(list.iter().map(|k| (k.id().to_string(), k)))?;
        Ok(Recipients(list))
    }

    pub fn iter(&self) -> impl Iterator<Item = &AnalystKey> {
        self.0.iter()
    }

    /// Whether reports are sealed to hybrid (post-quantum) keys.
    pub fn is_post_quantum(&self) -> bool {
        self.0.iter().any(AnalystKey::is_post_quantum)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Load every `*.pub` file of `dir`. A secret key anywhere in the
    /// directory stops the server: it must never sit on the server at all;
    /// so does a mix of X25519 and hybrid keys.
    pub fn load_dir(dir: &Path) -> Result<Recipients, KeyError> {
        let entries = std::fs::read_dir(dir).map_err(|e| KeyError::Dir(dir.to_owned(), e))?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        paths.sort();
        let mut list = Vec::new();
        for path in paths {
            let text = std::fs::read(&path).map_err(|e| KeyError::File(path.clone(), e))?;
            let text = String::from_utf8_lossy(&text);
            if text.to_ascii_uppercase().contains("AGE-SECRET-KEY-")
                || signing::is_secret_text(&text)
            {
                return Err(KeyError::SecretOnServer(path));
            }
            if path.extension().and_then(|e| e.to_str()) != Some("pub") {
                continue; // README.md and the like
            }
            let lines: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .collect();
            match lines.as_slice() {
                [one] => match AnalystKey::parse(one) {
                    Ok(key) => list.push((path, key)),
                    Err(KeyError::NotARecipient | KeyError::Hybrid(HybridKeyError::Malformed)) => {
                        return Err(KeyError::BadPublicFile(path));
                    }
                    Err(e) => return Err(KeyError::Unusable(path, Box::new(e))),
                },
                _ => return Err(KeyError::BadPublicFile(path)),
            }
        }
        if list.is_empty() {
            return Err(KeyError::NoneIn(dir.to_owned()));
        }
        kind::check_files_not_mixed(&list)?;
        Ok(Recipients(list.into_iter().map(|(_, k)| k).collect()))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("this is not an age X25519 public key (it should start with age1)")]
    NotARecipient,
    #[error(
        "this age1… key is spelled in a form age itself refuses (non-zero padding bits): each key has one spelling, the one `salama keygen` or `age-keygen` printed"
    )]
    NonCanonical,
    #[error(
        "this age1… key is a low-order X25519 point: every report sealed to it would fail. It is not a real analyst key; make one with `salama keygen`"
    )]
    LowOrder,
    #[error("{0}: {1}. Remove or replace this file, then start again")]
    Unusable(PathBuf, Box<KeyError>),
    #[error("no analyst keys given")]
    Empty,
    #[error(
        "cannot read the keys directory {0}: {1}. Create it and put each analyst's public key in it as NAME.pub"
    )]
    Dir(PathBuf, std::io::Error),
    #[error("cannot read key file {0}: {1}")]
    File(PathBuf, std::io::Error),
    #[error(
        "{0} contains an age SECRET key. Secret keys must never be on the server: delete this file now (and consider that key compromised), then put only the analyst's public key (age1…) in a .pub file"
    )]
    SecretOnServer(PathBuf),
    #[error(
        "{0} must hold exactly one age public key (a line starting with age1, or age1pq1 for a post-quantum key, as printed by `salama keygen`); fix or remove the file"
    )]
    BadPublicFile(PathBuf),
    #[error("{0}")]
    Hybrid(HybridKeyError),
    #[error(
        "the keys directory mixes post-quantum keys (age1pq1…: {hybrid}) with X25519 keys (age1…: {classic}). A report sealed to both could be opened through its X25519 part by a future quantum computer, so the age specification says not to mix them and age refuses to. Give every analyst a post-quantum key (`salama keygen --pq`) and remove the X25519 .pub files, or remove the age1pq1 ones, then start again"
    )]
    Mixed { hybrid: String, classic: String },
    #[error(
        "no analyst key in {0}. On the analysts' offline workstation run `salama keygen --out analyst.key.age`, carry only analyst.key.age.pub to this server, copy it into {0}, then start again"
    )]
    NoneIn(PathBuf),
}

/// An analyst's decrypted identity, held only by the `age` crate, and its
/// public key (the desk seals its ledger to the analysts' own keys).
pub struct Identity(Box<dyn age::Identity + Send + Sync>, AnalystKey);

static_assertions::assert_not_impl_any!(Identity: fmt::Debug, fmt::Display, Clone);

impl Identity {
    pub fn as_age(&self) -> &dyn age::Identity {
        &*self.0
    }

    /// The public key this identity opens.
    pub fn recipient(&self) -> &AnalystKey {
        &self.1
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("cannot read identity file {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error(
        "wrong passphrase for {0}, or the file is damaged. Try again; if you use SALAMA_PASSPHRASE, check it"
    )]
    Passphrase(PathBuf),
    #[error(
        "{0} is not an age identity file (expected one made by `salama keygen` or `age-keygen`)"
    )]
    NotIdentity(PathBuf),
    #[error("{0} is encrypted to a key, not a passphrase; decrypt it with age first")]
    NotPassphrase(PathBuf),
    #[error("could not ask for the passphrase: {0}")]
    Prompt(std::io::Error),
}

/// The largest scrypt work factor (log2 N) an identity file may ask for:
/// age -p uses 18; this allows slower workstations' files and refuses
/// absurd ones (as the C2SP vector `scrypt_work_factor_23` expects).
pub const MAX_SCRYPT_WORK_FACTOR: u8 = 22;

/// Read an identity file: a passphrase-protected one (binary or armored,
/// as `age -p` writes) or a plain, unprotected age identity file. `passphrase` is
/// only called when the file is protected.
pub fn load_identities(
    path: &Path,
    passphrase: impl FnOnce() -> std::io::Result<SecretString>,
) -> Result<Vec<Identity>, IdentityError> {
    let raw = Zeroizing::new(std::fs::read(path).map_err(|e| IdentityError::Read(path.into(), e))?);
    let is_plain = raw.starts_with(b"#") || raw.starts_with(b"AGE-SECRET-KEY-");
    let text: Zeroizing<Vec<u8>> = if is_plain {
        raw
    } else {
        let reader = age::armor::ArmoredReader::new(&raw[..]);
        let d = age::Decryptor::new(reader).map_err(|_| IdentityError::NotIdentity(path.into()))?;
        if !d.is_scrypt() {
            return Err(IdentityError::NotPassphrase(path.into()));
        }
        let pass = passphrase().map_err(IdentityError::Prompt)?;
        let mut id = age::scrypt::Identity::new(pass);
        id.set_max_work_factor(MAX_SCRYPT_WORK_FACTOR);
        let mut r = d
            .decrypt(std::iter::once(&id as &dyn age::Identity))
            .map_err(|_| IdentityError::Passphrase(path.into()))?;
        let mut out = Zeroizing::new(Vec::new());
        r.read_to_end(&mut out)
            .map_err(|_| IdentityError::Passphrase(path.into()))?;
        out
    };
    kind::parse_identities(&text).ok_or_else(|| IdentityError::NotIdentity(path.into()))
}

/// A new identity, ready to be written: the passphrase-protected file and
/// the public recipient string.
pub struct NewIdentity {
    pub encrypted: Vec<u8>,
    pub recipient: String,
}

/// Which kind of key `keygen` makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    X25519,
    /// ML-KEM-768 + X25519 (`age1pq1…`), safe against a future quantum computer.
    Hybrid,
}

/// Make a new identity of `kind` and protect it with `passphrase` exactly as
/// `age-keygen [-pq] | age -p` would (scrypt recipient, binary age file).
pub fn keygen(passphrase: &NewPassphrase, kind: KeyKind) -> std::io::Result<NewIdentity> {
    let (secret, recipient) = match kind {
        KeyKind::X25519 => {
            let id = age::x25519::Identity::generate();
            let secret = Zeroizing::new(id.to_string().expose_secret().to_owned());
            (secret, id.to_public().to_string())
        }
        KeyKind::Hybrid => hybrid::generate()?,
    };
    // Whole seconds, as age-keygen writes it.
    let now = time::OffsetDateTime::now_utc();
    let created = now
        .replace_nanosecond(0)
        .unwrap_or(now)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    // Sized up front: a growing String would leave copies of the secret
    // in freed memory that nobody zeroizes.
    let mut plain = Zeroizing::new(String::with_capacity(
        created.len() + recipient.len() + secret.len() + 32,
    ));
    plain.push_str("# created: ");
    plain.push_str(&created);
    plain.push_str("\n# public key: ");
    plain.push_str(&recipient);
    plain.push('\n');
    plain.push_str(&secret);
    plain.push('\n');
    let enc = age::Encryptor::with_user_passphrase(passphrase.secret());
    let mut encrypted = Vec::new();
    let mut w = enc.wrap_output(&mut encrypted)?;
    w.write_all(plain.as_bytes())?;
    w.finish()?;
    Ok(NewIdentity {
        encrypted,
        recipient,
    })
}

/// A passphrase for tests of key files (long enough for a new key).
#[cfg(test)]
pub(crate) fn test_passphrase(p: &str) -> NewPassphrase {
    NewPassphrase::new(SecretString::from(p.to_owned())).unwrap()
}

/// Fresh in-memory keys for tests: recipients and matching age identities.
#[cfg(test)]
pub(crate) fn test_keys(n: usize) -> (Recipients, Vec<age::x25519::Identity>) {
    let ids: Vec<age::x25519::Identity> =
        (0..n).map(|_| age::x25519::Identity::generate()).collect();
    let recipients = ids
        .iter()
        .map(|i| Recipient::parse(&i.to_public().to_string()).unwrap())
        .collect();
    (Recipients::new(recipients).unwrap(), ids)
}

/// Fresh in-memory hybrid keys for tests: recipients and matching identities.
#[cfg(test)]
pub(crate) fn test_hybrid_keys(n: usize) -> (Recipients, Vec<HybridIdentity>) {
    let (secrets, publics): (Vec<_>, Vec<_>) = (0..n).map(|_| hybrid::generate().unwrap()).unzip();
    let ids = secrets
        .iter()
        .map(|s| HybridIdentity::parse(s).unwrap())
        .collect();
    let recipients = publics
        .iter()
        .map(|p| HybridRecipient::parse(p).unwrap())
        .collect();
    (Recipients::new(recipients).unwrap(), ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn parses_age_recipients_and_refuses_others() {
        let id = age::x25519::Identity::generate();
        let s = id.to_public().to_string();
        let r = Recipient::parse(&s).unwrap();
        assert_eq!(r.id(), &KeyId::of(&s));
        assert_eq!(r.id().to_string().len(), 8);
        assert!(Recipient::parse("age1xyz").is_err());
        assert!(Recipient::parse(&s.to_uppercase()).is_err());
        assert!(Recipient::parse(id.to_string().expose_secret()).is_err());
        // One character changed breaks the checksum.
        let mut bad = s.clone().into_bytes();
        let last = bad.len() - 1;
        bad[last] = if bad[last] == b'q' { b'p' } else { b'q' };
        assert!(Recipient::parse(std::str::from_utf8(&bad).unwrap()).is_err());
    }

    /// The 16 spellings of one key (4 padding bits in its last character).
    fn spellings(bytes: [u8; 32]) -> Vec<String> {
        use bech32::primitives::iter::{ByteIterExt, Fe32IterExt};
        let hrp = Hrp::parse_unchecked("age");
        (0..16u8)
            .map(|pad| {
                let mut fes: Vec<bech32::Fe32> = bytes.iter().copied().bytes_to_fes().collect();
                let last = fes.len() - 1;
                fes[last] = bech32::Fe32::try_from(fes[last].to_u8() | pad).unwrap();
                fes.into_iter()
                    .with_checksum::<Bech32>(&hrp)
                    .chars()
                    .collect()
            })
            .collect()
    }

    #[test]
    fn only_the_canonical_spelling_of_a_key_is_accepted() {
        let id = age::x25519::Identity::generate();
        let canonical = id.to_public().to_string();
        let r = Recipient::parse(&canonical).unwrap();
        let all = spellings(*r.public_key().as_bytes());
        assert_eq!(all[0], canonical);
        assert_eq!(
            all.iter().collect::<std::collections::HashSet<_>>().len(),
            16
        );
        for other in &all[1..] {
            // A valid bech32 string (the checksum holds), the same bytes...
            let checked = CheckedHrpstring::new::<Bech32>(other).unwrap();
            assert_eq!(
                checked.byte_iter().collect::<Vec<u8>>(),
                r.public_key().as_bytes()
            );
            // ...that age itself refuses, and so do we.
            assert!(age::x25519::Recipient::from_str(other).is_err(), "{other}");
            assert!(
                matches!(Recipient::parse(other), Err(KeyError::NonCanonical)),
                "{other}"
            );
        }
    }

    /// The low-order points of Curve25519 (orders 1, 2, 4 and 8, and their
    /// non-canonical encodings): each is a valid bech32 key that age would
    /// refuse to seal to; refused at parse, and named with its file at load.
    #[test]
    fn low_order_keys_are_refused_and_named() {
        let mut points: Vec<[u8; 32]> = curve25519_dalek::constants::EIGHT_TORSION
            .iter()
            .map(|p| p.to_montgomery().to_bytes())
            .collect();
        let mut p = [0xffu8; 32];
        p[31] = 0x7f;
        p[0] = 0xed; // p itself: 0 again
        points.push(p);
        p[0] = 0xee; // p + 1: 1 again
        points.push(p);
        for u in &points {
            assert!(x25519_dalek::x25519([9u8; 32], *u) == [0u8; 32], "{u:02x?}");
            let s = bech32::encode_lower::<Bech32>(Hrp::parse_unchecked("age"), u).unwrap();
            assert!(
                matches!(Recipient::parse(&s), Err(KeyError::LowOrder)),
                "{s}"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let good = age::x25519::Identity::generate().to_public().to_string();
        std::fs::write(dir.path().join("alice.pub"), format!("{good}\n")).unwrap();
        let zero = bech32::encode_lower::<Bech32>(Hrp::parse_unchecked("age"), &[0u8; 32]).unwrap();
        std::fs::write(dir.path().join("mallory.pub"), format!("{zero}\n")).unwrap();
        let e = Recipients::load_dir(dir.path()).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, KeyError::Unusable(..)), "{msg}");
        assert!(
            msg.contains("mallory.pub") && msg.contains("low-order"),
            "{msg}"
        );
        let other = spellings(*Recipient::parse(&good).unwrap().public_key().as_bytes())[5].clone();
        std::fs::write(dir.path().join("mallory.pub"), format!("{other}\n")).unwrap();
        let msg = Recipients::load_dir(dir.path()).unwrap_err().to_string();
        assert!(
            msg.contains("mallory.pub") && msg.contains("spelled"),
            "{msg}"
        );
        std::fs::remove_file(dir.path().join("mallory.pub")).unwrap();
        assert_eq!(Recipients::load_dir(dir.path()).unwrap().len(), 1);
    }

    #[test]
    fn load_dir_rules() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            Recipients::load_dir(dir.path()),
            Err(KeyError::NoneIn(_))
        ));
        std::fs::write(dir.path().join("README.md"), "only public keys here").unwrap();
        let a = age::x25519::Identity::generate();
        std::fs::write(
            dir.path().join("alice.pub"),
            format!("# alice\n{}\n", a.to_public()),
        )
        .unwrap();
        assert_eq!(Recipients::load_dir(dir.path()).unwrap().len(), 1);
        std::fs::write(dir.path().join("bob.pub"), "age1notakey").unwrap();
        assert!(matches!(
            Recipients::load_dir(dir.path()),
            Err(KeyError::BadPublicFile(_))
        ));
        std::fs::remove_file(dir.path().join("bob.pub")).unwrap();
        std::fs::write(dir.path().join("oops.txt"), a.to_string().expose_secret()).unwrap();
        assert!(matches!(
            Recipients::load_dir(dir.path()),
            Err(KeyError::SecretOnServer(_))
        ));
    }

    #[test]
    fn keygen_output_opens_with_its_passphrase_only() {
        let dir = tempfile::tempdir().unwrap();
        let new = keygen(&test_passphrase("correct horse"), KeyKind::X25519).unwrap();
        let path = dir.path().join("k.age");
        std::fs::write(&path, &new.encrypted).unwrap();
        assert!(
            new.encrypted
                .starts_with(b"age-encryption.org/v1\n-> scrypt ")
        );
        let ids =
            load_identities(&path, || Ok(SecretString::from("correct horse".to_owned()))).unwrap();
        assert_eq!(ids.len(), 1);
        assert!(matches!(
            load_identities(&path, || Ok(SecretString::from("wrong".to_owned()))),
            Err(IdentityError::Passphrase(_))
        ));
        Recipient::parse(&new.recipient).unwrap();
    }

    #[test]
    fn keygen_pq_makes_a_protected_hybrid_identity() {
        let dir = tempfile::tempdir().unwrap();
        let new = keygen(&test_passphrase("pq horse battery"), KeyKind::Hybrid).unwrap();
        assert!(new.recipient.starts_with("age1pq1"));
        assert!(
            new.encrypted
                .starts_with(b"age-encryption.org/v1\n-> scrypt ")
        );
        let path = dir.path().join("k.age");
        std::fs::write(&path, &new.encrypted).unwrap();
        let ids = load_identities(&path, || {
            Ok(SecretString::from("pq horse battery".to_owned()))
        })
        .unwrap();
        assert_eq!(ids.len(), 1);
        let key = AnalystKey::parse(&new.recipient).unwrap();
        assert!(key.is_post_quantum());
        // The identity opens what is sealed to the recipient.
        let sealed = crate::seal::encrypt(b"pq", &Recipients::new(vec![key]).unwrap()).unwrap();
        let d = age::Decryptor::new_buffered(sealed.as_bytes()).unwrap();
        let mut out = Vec::new();
        d.decrypt(ids.iter().map(Identity::as_age))
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, b"pq");
    }

    #[test]
    fn load_dir_takes_hybrid_keys_and_refuses_a_mix() {
        let dir = tempfile::tempdir().unwrap();
        let (_, pq) = hybrid::generate().unwrap();
        std::fs::write(dir.path().join("alice.pub"), format!("# alice\n{pq}\n")).unwrap();
        let rs = Recipients::load_dir(dir.path()).unwrap();
        assert!(rs.is_post_quantum());
        assert_eq!(rs.iter().next().unwrap().id(), &KeyId::of(&pq));
        let x = age::x25519::Identity::generate();
        std::fs::write(dir.path().join("bob.pub"), format!("{}\n", x.to_public())).unwrap();
        let e = Recipients::load_dir(dir.path()).unwrap_err();
        assert!(matches!(e, KeyError::Mixed { .. }), "{e}");
        let msg = e.to_string();
        assert!(
            msg.contains("alice.pub") && msg.contains("bob.pub"),
            "{msg}"
        );
        // A hybrid identity on the server is a secret key like any other.
        std::fs::remove_file(dir.path().join("bob.pub")).unwrap();
        let (secret, _) = hybrid::generate().unwrap();
        std::fs::write(dir.path().join("oops.pub"), &*secret).unwrap();
        assert!(matches!(
            Recipients::load_dir(dir.path()),
            Err(KeyError::SecretOnServer(_))
        ));
    }
}

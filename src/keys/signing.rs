//! The analysts' signing keys, which authenticate answers files on their
//! way from the offline workstation to the server ([`crate::answers::file`]).
//!
//! `salama keygen --out K` writes, beside the age identity `K` and `K.pub`:
//! - `K.sign`: the Ed25519 secret, protected exactly like the identity (an
//!   age file encrypted with the same passphrase, scrypt), holding
//!   `SALAMA-SIGN-SECRET-KEY-1…` (bech32, like age's own secret keys);
//! - `K.sign.pub`: the public half, `salamasign1…`, for the server's
//!   `keys/signers/` directory;
//! - later, `K.sign.seq`: the last sequence number used, shared by
//!   `salama answer` and the desk ([`next_seq`]).
//!
//! On the server only public halves live, one per `keys/signers/*.pub`
//! ([`Signers::load_dir`]); a secret key there (or anywhere under `keys/`)
//! stops the server, as an age secret key does.

use super::KeyId;
use crate::passphrase::NewPassphrase;
use age::secrecy::SecretString;
use bech32::primitives::decode::CheckedHrpstring;
use bech32::{Bech32, Hrp};
use ed25519_dalek::{Signature, Signer as _};
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The public half's bech32 prefix: `salamasign1…`.
pub const PUBLIC_HRP: &str = "salamasign";
const SECRET_HRP: &str = "salama-sign-secret-key-";
/// What every signing secret key starts with in its text form; the
/// "secret key on the server" checks look for it (in any case).
pub const SECRET_MARKER: &str = "SALAMA-SIGN-SECRET-KEY-";

/// Does `text` hold a signing secret key (in any letter case)?
pub fn is_secret_text(text: &str) -> bool {
    text.to_ascii_uppercase().contains(SECRET_MARKER)
}

/// An analyst's signing secret. No Debug, Display or Clone; ed25519-dalek
/// wipes it when dropped.
pub struct SigningKey(ed25519_dalek::SigningKey);

static_assertions::assert_not_impl_any!(SigningKey: std::fmt::Debug, std::fmt::Display, Clone);

impl SigningKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> SigningKey {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut *seed).expect("the operating system's random source failed");
        SigningKey(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    /// The public half, to verify what this key signs.
    pub fn public(&self) -> SignerKey {
        SignerKey::from_key(self.0.verifying_key())
    }

    /// The Ed25519 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }

    /// `SALAMA-SIGN-SECRET-KEY-1…`, for the protected key file only.
    fn to_secret_text(&self) -> Zeroizing<String> {
        let mut s = Zeroizing::new(String::with_capacity(96));
        let hrp = Hrp::parse(SECRET_HRP).expect("a valid prefix");
        bech32::encode_upper_to_fmt::<Bech32, String>(&mut s, hrp, self.0.as_bytes())
            .expect("a 32-byte key fits bech32");
        s
    }

    fn parse_secret_text(s: &str) -> Option<SigningKey> {
        let checked = CheckedHrpstring::new::<Bech32>(s.trim()).ok()?;
        if checked.hrp() != Hrp::parse_unchecked(SECRET_HRP) {
            return None;
        }
        let bytes: Zeroizing<Vec<u8>> = Zeroizing::new(checked.byte_iter().collect());
        let seed: &[u8; 32] = bytes.as_slice().try_into().ok()?;
        Some(SigningKey(ed25519_dalek::SigningKey::from_bytes(seed)))
    }
}

/// An analyst's public signing key, `salamasign1…`: what the server
/// checks answers files against. Not a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignerKey {
    key: ed25519_dalek::VerifyingKey,
    text: String,
    id: KeyId,
}

impl SignerKey {
    fn from_key(key: ed25519_dalek::VerifyingKey) -> SignerKey {
        let hrp = Hrp::parse(PUBLIC_HRP).expect("a valid prefix");
        let text =
            bech32::encode_lower::<Bech32>(hrp, key.as_bytes()).expect("a 32-byte key fits bech32");
        SignerKey {
            id: KeyId::of(&text),
            key,
            text,
        }
    }

    /// Parse `salamasign1…` in its one canonical spelling (lower case, as
    /// `keygen` writes it), refusing weak (small-order) points.
    pub fn parse(s: &str) -> Result<SignerKey, SigningKeyError> {
        let s = s.trim();
        let checked =
            CheckedHrpstring::new::<Bech32>(s).map_err(|_| SigningKeyError::NotAPublicKey)?;
        if checked.hrp() != Hrp::parse_unchecked(PUBLIC_HRP) {
            return Err(SigningKeyError::NotAPublicKey);
        }
        let bytes: Vec<u8> = checked.byte_iter().collect();
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| SigningKeyError::NotAPublicKey)?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map_err(|_| SigningKeyError::NotAPublicKey)?;
        if key.is_weak() {
            return Err(SigningKeyError::NotAPublicKey);
        }
        let k = SignerKey::from_key(key);
        if k.text != s {
            return Err(SigningKeyError::NotAPublicKey);
        }
        Ok(k)
    }

    /// `salamasign1…`
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// A short name for operator messages (8 hex digits).
    pub fn id(&self) -> &KeyId {
        &self.id
    }

    /// Does `signature` sign `message` under this key? Strict verification:
    /// no malleable signature, no small-order component passes.
    pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        self.key
            .verify_strict(message, &Signature::from_bytes(signature))
            .is_ok()
    }
}

/// The signing keys the server accepts answers files from.
#[derive(Clone, Debug, Default)]
pub struct Signers(Vec<SignerKey>);

impl Signers {
    pub fn new(list: Vec<SignerKey>) -> Signers {
        Signers(list)
    }

    pub fn iter(&self) -> impl Iterator<Item = &SignerKey> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The key spelled `s`, if it is one of these.
    pub fn find(&self, s: &str) -> Option<&SignerKey> {
        self.0.iter().find(|k| k.text == s)
    }

    /// Every `*.pub` file of `dir` (`keys/signers/`). A directory that does
    /// not exist holds no signers (answers cannot be imported until one is
    /// added). A secret key of either kind in any file stops everything.
    pub fn load_dir(dir: &Path) -> Result<Signers, SigningKeyError> {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Signers::default()),
            Err(e) => return Err(SigningKeyError::Dir(dir.to_owned(), e)),
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        paths.sort();
        let mut list = Vec::new();
        for path in paths {
            let raw = std::fs::read(&path).map_err(|e| SigningKeyError::Read(path.clone(), e))?;
            let text = String::from_utf8_lossy(&raw);
            if is_secret_text(&text) || text.to_ascii_uppercase().contains("AGE-SECRET-KEY-") {
                return Err(SigningKeyError::SecretOnServer(path));
            }
            if path.extension().and_then(|e| e.to_str()) != Some("pub") {
                continue;
            }
            let lines: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .collect();
            match lines.as_slice() {
                [one] => list
                    .push(SignerKey::parse(one).map_err(|_| SigningKeyError::BadPublicFile(path))?),
                _ => return Err(SigningKeyError::BadPublicFile(path)),
            }
        }
        Ok(Signers(list))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SigningKeyError {
    #[error("this is not a Salama signing public key (it should start with salamasign1)")]
    NotAPublicKey,
    #[error("cannot read the signers directory {0}: {1}")]
    Dir(PathBuf, io::Error),
    #[error("cannot read {0}: {1}")]
    Read(PathBuf, io::Error),
    #[error(
        "{0} contains a SECRET key. Secret keys must never be on the server: delete this file now (and consider that key compromised), then put only the public key (salamasign1… from the analyst's KEY.sign.pub) in a .pub file"
    )]
    SecretOnServer(PathBuf),
    #[error(
        "{0} must hold exactly one signing public key (a line starting with salamasign1, as in the analyst's KEY.sign.pub); fix or remove the file"
    )]
    BadPublicFile(PathBuf),
    #[error(
        "wrong passphrase for {0}, or the file is damaged. Try again; if you use SALAMA_PASSPHRASE, check it"
    )]
    Passphrase(PathBuf),
    #[error(
        "{0} is not a Salama signing key file (expected the KEY.sign that `salama keygen` wrote beside KEY)"
    )]
    NotAKeyFile(PathBuf),
    #[error("could not ask for the passphrase: {0}")]
    Prompt(io::Error),
}

/// A new signing key, ready to be written: the protected file and the
/// public key string.
pub struct NewSigningKey {
    pub encrypted: Vec<u8>,
    pub public: SignerKey,
}

/// Make a signing key and protect it with `passphrase` as `age -p` would
/// (scrypt, binary age file), like the identity `keygen` writes beside it.
pub fn keygen(passphrase: &NewPassphrase) -> io::Result<NewSigningKey> {
    let key = SigningKey::generate();
    let public = key.public();
    let created = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let mut plain = Zeroizing::new(String::with_capacity(256));
    let _ = write!(
        plain,
        "# created: {created}\n# public key: {}\n# Salama answers signing key: keep it on the offline workstation\n{}\n",
        public.as_str(),
        key.to_secret_text().as_str()
    );
    let mut encrypted = Vec::new();
    let mut w =
        age::Encryptor::with_user_passphrase(passphrase.secret()).wrap_output(&mut encrypted)?;
    w.write_all(plain.as_bytes())?;
    w.finish()?;
    Ok(NewSigningKey { encrypted, public })
}

/// Read `K.sign`: passphrase-protected as `keygen` writes it, or a plain
/// text file (for tests and scripts); `passphrase` is asked only for the first.
pub fn load(
    path: &Path,
    passphrase: impl FnOnce() -> io::Result<SecretString>,
) -> Result<SigningKey, SigningKeyError> {
    let raw =
        Zeroizing::new(std::fs::read(path).map_err(|e| SigningKeyError::Read(path.into(), e))?);
    let not_key = || SigningKeyError::NotAKeyFile(path.into());
    let text: Zeroizing<Vec<u8>> = if raw.starts_with(b"#") || raw.starts_with(b"SALAMA-") {
        raw
    } else {
        let d =
            age::Decryptor::new(age::armor::ArmoredReader::new(&raw[..])).map_err(|_| not_key())?;
        if !d.is_scrypt() {
            return Err(not_key());
        }
        let mut id = age::scrypt::Identity::new(passphrase().map_err(SigningKeyError::Prompt)?);
        // As for identities: allow slower workstations' files, refuse absurd ones.
        id.set_max_work_factor(22);
        let mut out = Zeroizing::new(Vec::new());
        d.decrypt(std::iter::once(&id as &dyn age::Identity))
            .and_then(|mut r| r.read_to_end(&mut out).map_err(Into::into))
            .map_err(|_| SigningKeyError::Passphrase(path.into()))?;
        out
    };
    let text = std::str::from_utf8(&text).map_err(|_| not_key())?;
    let mut keys = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    match (
        keys.next().and_then(SigningKey::parse_secret_text),
        keys.next(),
    ) {
        (Some(k), None) => Ok(k),
        _ => Err(not_key()),
    }
}

/// `K.sign` → `K.sign.seq`.
pub fn seq_path(key: &Path) -> PathBuf {
    let mut p = key.as_os_str().to_owned();
    p.push(".seq");
    PathBuf::from(p)
}

/// Width of the number in a `.seq` file: fixed, so it is rewritten by one
/// small write in place and a crash cannot leave half a number.
const SEQ_WIDTH: usize = 20;

/// Take the next sequence number for answers files signed with the key at
/// `key`: one more than the last, made durable before it is returned, so
/// no two files ever share one, even across a crash. `salama answer` and
/// the desk both take theirs here; a lock keeps them from racing.
pub fn next_seq(key: &Path) -> io::Result<u64> {
    let path = seq_path(key);
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)?;
    rustix::fs::flock(&f, rustix::fs::FlockOperation::LockExclusive)?;
    let last = read_seq(&f).map_err(|why| {
        io::Error::other(format!(
            "{} {why}: write the last sequence number the server accepted into it (a number alone), then try again",
            path.display()
        ))
    })?;
    let next = last + 1;
    f.write_all_at(format!("{next:0SEQ_WIDTH$}\n").as_bytes(), 0)?;
    f.set_len(SEQ_WIDTH as u64 + 1)?;
    f.sync_all()?;
    Ok(next)
}

/// The last sequence number in a `.seq` file (0 for an empty, new file).
fn read_seq(mut f: &File) -> Result<u64, &'static str> {
    let mut s = String::new();
    f.read_to_string(&mut s).map_err(|_| "cannot be read")?;
    let s = s.trim();
    if s.is_empty() {
        return Ok(0);
    }
    s.parse::<u64>()
        .ok()
        .filter(|n| *n < u64::MAX / 2)
        .ok_or("does not hold a sequence number")
}

#[cfg(test)]
mod tests {
    use super::*;
    use age::secrecy::ExposeSecret as _;

    #[test]
    fn public_keys_have_one_spelling_and_verify_strictly() {
        let k = SigningKey::generate();
        let p = k.public();
        assert!(p.as_str().starts_with("salamasign1"));
        assert_eq!(SignerKey::parse(p.as_str()).unwrap(), p);
        assert_eq!(SignerKey::parse(&format!(" {}\n", p.as_str())).unwrap(), p);
        assert!(SignerKey::parse(&p.as_str().to_uppercase()).is_err());
        assert!(SignerKey::parse("age1qqqq").is_err());
        let mut typo = p.as_str().as_bytes().to_vec();
        let last = typo.len() - 1;
        typo[last] = if typo[last] == b'q' { b'p' } else { b'q' };
        assert!(SignerKey::parse(std::str::from_utf8(&typo).unwrap()).is_err());
        // The identity point is weak: refused.
        let mut id = [0u8; 32];
        id[0] = 1;
        let weak = bech32::encode_lower::<Bech32>(Hrp::parse(PUBLIC_HRP).unwrap(), &id).unwrap();
        assert!(SignerKey::parse(&weak).is_err());

        let sig = k.sign(b"message");
        assert!(p.verify(b"message", &sig));
        assert!(!p.verify(b"messagf", &sig));
        assert!(!SigningKey::generate().public().verify(b"message", &sig));
    }

    #[test]
    fn keygen_file_opens_with_its_passphrase_and_holds_a_marked_secret() {
        let dir = tempfile::tempdir().unwrap();
        let new = keygen(&crate::keys::test_passphrase("correct horse")).unwrap();
        let path = dir.path().join("k.sign");
        std::fs::write(&path, &new.encrypted).unwrap();
        assert!(
            new.encrypted
                .starts_with(b"age-encryption.org/v1\n-> scrypt ")
        );
        let k = load(&path, || Ok(SecretString::from("correct horse".to_owned()))).unwrap();
        assert_eq!(k.public(), new.public);
        assert!(matches!(
            load(&path, || Ok(SecretString::from("wrong".to_owned()))),
            Err(SigningKeyError::Passphrase(_))
        ));
        // The plain form, as tests and scripts write it.
        let secret = k.to_secret_text();
        assert!(secret.starts_with(SECRET_MARKER));
        assert!(is_secret_text(&secret.to_lowercase()));
        let plain = dir.path().join("plain.sign");
        std::fs::write(&plain, format!("# test\n{}\n", secret.as_str())).unwrap();
        let k2 = load(&plain, || panic!("a plain file needs no passphrase")).unwrap();
        assert_eq!(k2.public(), new.public);
        // An age identity is not a signing key.
        let id = age::x25519::Identity::generate();
        std::fs::write(&plain, id.to_string().expose_secret()).unwrap();
        assert!(load(&plain, || panic!("plain")).is_err());
    }

    #[test]
    fn signers_directory_rules() {
        let dir = tempfile::tempdir().unwrap();
        let signers = dir.path().join("signers");
        assert!(Signers::load_dir(&signers).unwrap().is_empty());
        std::fs::create_dir(&signers).unwrap();
        std::fs::write(signers.join("README"), "public signing keys only").unwrap();
        let a = SigningKey::generate();
        std::fs::write(
            signers.join("alice.pub"),
            format!("# alice\n{}\n", a.public().as_str()),
        )
        .unwrap();
        let loaded = Signers::load_dir(&signers).unwrap();
        assert_eq!(loaded.len(), 1);
        assert!(loaded.find(a.public().as_str()).is_some());
        std::fs::write(signers.join("bob.pub"), "salamasign1nope").unwrap();
        assert!(matches!(
            Signers::load_dir(&signers),
            Err(SigningKeyError::BadPublicFile(_))
        ));
        std::fs::remove_file(signers.join("bob.pub")).unwrap();
        std::fs::write(signers.join("oops.txt"), a.to_secret_text().to_lowercase()).unwrap();
        assert!(matches!(
            Signers::load_dir(&signers),
            Err(SigningKeyError::SecretOnServer(_))
        ));
        std::fs::write(
            signers.join("oops.txt"),
            age::x25519::Identity::generate()
                .to_string()
                .expose_secret(),
        )
        .unwrap();
        assert!(matches!(
            Signers::load_dir(&signers),
            Err(SigningKeyError::SecretOnServer(_))
        ));
    }

    #[test]
    fn sequence_numbers_only_grow_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("a.key.age.sign");
        assert_eq!(next_seq(&key).unwrap(), 1);
        assert_eq!(next_seq(&key).unwrap(), 2);
        let text = std::fs::read_to_string(seq_path(&key)).unwrap();
        assert_eq!(text, format!("{:020}\n", 2));
        // A person may write the number the server asks for by hand.
        std::fs::write(seq_path(&key), "41\n").unwrap();
        assert_eq!(next_seq(&key).unwrap(), 42);
        std::fs::write(seq_path(&key), "forty").unwrap();
        let e = next_seq(&key).unwrap_err().to_string();
        assert!(e.contains("does not hold a sequence number"), "{e}");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(seq_path(&key))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

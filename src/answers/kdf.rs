//! From a receipt to the two keys of its answer: where the server files it
//! (the *lookup*) and what it is encrypted under (the *key*). One
//! memory-hard derivation per receipt, so a seized server's index cannot
//! be matched against guessed receipts, and every guess a visitor makes
//! costs the same as a real lookup.
//!
//! KDF version 1 (fixed; a change is a new version of the answers format):
//!
//! ```text
//! master = Argon2id v1.3 (m = 32 MiB, t = 1, p = 1, 32-byte tag)
//!            (password = the receipt's canonical text "XXXX-XXXX-XXXX-XXXX",
//!             salt = the deployment's 32-byte follow-up salt)
//! lookup = HKDF-SHA-256(IKM = master, salt = none, info = "salama follow-up v1 lookup", 32 bytes)
//! key    = HKDF-SHA-256(IKM = master, salt = none, info = "salama follow-up v1 answer", 32 bytes)
//! ```
//!
//! The salt is per deployment (`DATA/follow-up.salt`, shared by every
//! Onionbalance backend) and not secret: it travels to the analysts inside
//! each bundle's manifest. A receipt carries 80 random bits, so even with
//! the salt, guessing one receipt takes 2^79 derivations on average.

use crate::receipt::Receipt;
use argon2::{Algorithm, Argon2, Block, Params, Version};
use hkdf::Hkdf;
use sha2::{Digest as _, Sha256};
use std::fmt;
use zeroize::{Zeroize, Zeroizing};

/// Argon2id memory of KDF version 1, in KiB (32 MiB).
pub const M_COST_KIB: u32 = 32 * 1024;
/// Argon2id passes of KDF version 1.
pub const T_COST: u32 = 1;
/// Argon2id lanes of KDF version 1.
pub const P_COST: u32 = 1;

const LOOKUP_INFO: &[u8] = b"salama follow-up v1 lookup";
const KEY_INFO: &[u8] = b"salama follow-up v1 answer";

/// Bytes in a follow-up salt.
pub const SALT_LEN: usize = 32;

/// The deployment's follow-up salt. Not a secret (it is in every bundle),
/// but every backend of one onion address must share it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Salt([u8; SALT_LEN]);

impl Salt {
    /// A fresh salt from the operating system's random source.
    pub fn random() -> Salt {
        let mut b = [0u8; SALT_LEN];
        getrandom::fill(&mut b).expect("the operating system's random source failed");
        Salt(b)
    }

    pub fn from_bytes(b: [u8; SALT_LEN]) -> Salt {
        Salt(b)
    }

    pub fn as_bytes(&self) -> &[u8; SALT_LEN] {
        &self.0
    }

    /// 64 lowercase hex digits, as manifests, answers files and `--salt` write it.
    pub fn to_hex(&self) -> String {
        crate::bundle::hex(&self.0)
    }

    /// The salt as [`Salt::to_hex`] writes it (surrounding spaces allowed;
    /// upper case too, since people copy it by hand).
    pub fn parse_hex(s: &str) -> Option<Salt> {
        let s = s.trim();
        if s.len() != 2 * SALT_LEN || !s.is_ascii() {
            return None;
        }
        let mut b = [0u8; SALT_LEN];
        for (i, pair) in s.as_bytes().chunks(2).enumerate() {
            b[i] = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
        }
        Some(Salt(b))
    }

    /// Eight hex digits naming this salt in operator messages, so backends
    /// and answers files can be compared at a glance.
    pub fn fingerprint(&self) -> String {
        crate::bundle::hex(&Sha256::digest(self.0)[..4])
    }
}

impl fmt::Debug for Salt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Salt({})", self.fingerprint())
    }
}

/// Where the server files a receipt's answer: 32 bytes that say nothing
/// about the receipt without a memory-hard derivation per guess.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Lookup(pub [u8; 32]);

impl Lookup {
    pub fn to_hex(&self) -> String {
        crate::bundle::hex(&self.0)
    }

    /// 64 lowercase hex digits, exactly.
    pub fn parse_hex(s: &str) -> Option<Lookup> {
        if s.len() != 64 || s.bytes().any(|b| b.is_ascii_uppercase()) {
            return None;
        }
        Salt::parse_hex(s).map(|salt| Lookup(salt.0))
    }
}

/// What one receipt derives to. The key is secret: no Debug, no Clone,
/// wiped when dropped.
pub struct Derived {
    pub lookup: Lookup,
    key: Zeroizing<[u8; 32]>,
}

static_assertions::assert_not_impl_any!(Derived: fmt::Debug, fmt::Display, Clone);

impl Derived {
    pub(crate) fn key(&self) -> &[u8; 32] {
        &self.key
    }
}

fn params() -> Params {
    Params::new(M_COST_KIB, T_COST, P_COST, Some(32)).expect("KDF v1 parameters are valid")
}

/// Derives receipts one after another with one 32 MiB working area,
/// allocated at the first derivation and then kept (a fresh allocation per
/// derivation costs as much again in page faults), and wiped after every
/// use, since what is left in it would give the key. Not before: a server
/// whose lookup threads never serve a lookup holds none of it.
pub struct Deriver {
    memory: Vec<Block>,
}

impl Default for Deriver {
    fn default() -> Deriver {
        Deriver::new()
    }
}

impl Deriver {
    pub fn new() -> Deriver {
        Deriver { memory: Vec::new() }
    }

    /// The lookup and key of `receipt` under `salt` (one Argon2id run).
    pub fn derive(&mut self, receipt: &Receipt, salt: &Salt) -> Derived {
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params());
        if self.memory.is_empty() {
            self.memory = vec![Block::default(); params().block_count()];
        }
        let mut master = Zeroizing::new([0u8; 32]);
        let result = argon.hash_password_into_with_memory(
            receipt.expose().as_bytes(),
            &salt.0,
            &mut *master,
            &mut self.memory,
        );
        self.memory.iter_mut().zeroize();
        result.expect("a canonical receipt and a 32-byte salt are valid Argon2 inputs");
        let hk = Hkdf::<Sha256>::new(None, &*master);
        let mut lookup = [0u8; 32];
        let mut key = Zeroizing::new([0u8; 32]);
        hk.expand(LOOKUP_INFO, &mut lookup)
            .expect("32 bytes is a valid HKDF length");
        hk.expand(KEY_INFO, &mut *key)
            .expect("32 bytes is a valid HKDF length");
        Derived {
            lookup: Lookup(lookup),
            key,
        }
    }
}

/// One derivation with a working area of its own (freed and wiped after).
pub fn derive(receipt: &Receipt, salt: &Salt) -> Derived {
    Deriver::new().derive(receipt, salt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivation_is_deterministic_and_separates_receipts_salts_and_uses() {
        let r = Receipt::parse("0123-4567-89AB-CDEF").unwrap();
        let other = Receipt::parse("0123-4567-89AB-CDEG").unwrap();
        let salt = Salt::from_bytes([7; 32]);
        let mut d = Deriver::new();
        assert!(
            d.memory.is_empty(),
            "no working area before the first lookup"
        );
        let a = d.derive(&r, &salt);
        assert_eq!(d.memory.len(), params().block_count());
        let b = d.derive(&r, &salt);
        assert!(a.lookup == b.lookup && a.key() == b.key());
        assert!(a.lookup.0 != *a.key(), "lookup and key must differ");
        assert!(d.derive(&other, &salt).lookup != a.lookup);
        assert!(d.derive(&r, &Salt::from_bytes([8; 32])).lookup != a.lookup);
        // The working area holds nothing once a derivation is done.
        assert!(d.memory.iter().all(|b| b.as_ref().iter().all(|w| *w == 0)));
        // The one-shot helper agrees with the reusable one.
        assert!(derive(&r, &salt).lookup == a.lookup);
    }

    #[test]
    fn salts_and_lookups_in_text() {
        let s = Salt::random();
        assert_eq!(Salt::parse_hex(&s.to_hex()), Some(s));
        assert_eq!(
            Salt::parse_hex(&format!(" {} ", s.to_hex().to_uppercase())),
            Some(s)
        );
        assert_eq!(Salt::parse_hex(&s.to_hex()[..63]), None);
        assert_eq!(Salt::parse_hex(&format!("{}0", s.to_hex())), None);
        assert_eq!(Salt::parse_hex(&"g".repeat(64)), None);
        assert_eq!(s.fingerprint().len(), 8);
        let l = Lookup([0xab; 32]);
        assert!(Lookup::parse_hex(&l.to_hex()) == Some(l));
        assert!(Lookup::parse_hex(&l.to_hex().to_uppercase()).is_none());
        assert!(Lookup::parse_hex(&format!(" {}", &l.to_hex()[1..])).is_none());
    }
}

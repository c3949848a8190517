//! The post-quantum analyst key: age's hybrid `mlkem768x25519` recipient
//! type (ML-KEM-768 + X25519, "X-Wing"), as the age specification defines
//! it (<https://c2sp.org/age>, "The MLKEM768-X25519 (i.e. X-Wing) hybrid
//! post-quantum recipient type"). On the server: the `age1pq1…` public key
//! every report is sealed to ([`crate::seal`] writes the stanza). On the
//! analyst's workstation: the `AGE-SECRET-KEY-PQ-1…` identity that opens the
//! stanza, plugged into the `age` crate's decryptor as an [`age::Identity`]
//! (age 0.11 has no such identity of its own).
//!
//! From the specification:
//! - identity = 32 bytes from a CSPRNG, Bech32 with HRP `AGE-SECRET-KEY-PQ-`;
//! - recipient = PrivateKeyToPublicKey(identity) of the MLKEM768-X25519 KEM
//!   of draft-ietf-hpke-pq-03 / filippo.io/hpke-pq (X-Wing: a 1216-byte
//!   encapsulation key), Bech32 with HRP `age1pq`, without BIP173's
//!   90-character limit;
//! - stanza = `-> mlkem768x25519 <base64 enc>` and the HPKE SealBase
//!   ciphertext of the file key as its body, with KEM MLKEM768-X25519,
//!   KDF HKDF-SHA256, AEAD ChaCha20Poly1305,
//!   info `age-encryption.org/mlkem768x25519` and an empty aad.
//!
//! Nothing here is new cryptography: X-Wing and HPKE are RustCrypto's
//! `x-wing` and `ml-kem` through the `hpke` crate (KEM id 0x647a); this
//! module only encodes keys and checks stanzas as the specification says.
//! Secret seeds live in `Zeroizing` buffers and in `x_wing`'s key type,
//! which zeroizes itself on drop.

use super::KeyId;
use age::DecryptError;
use age_core::format::{FileKey, Stanza};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use bech32::primitives::decode::CheckedHrpstring;
use bech32::{Checksum, Hrp};
use hpke::{Deserializable as _, Serializable as _};
use std::fmt;
use zeroize::Zeroizing;

/// The HPKE suite the specification fixes for this stanza.
pub(crate) type Kem = hpke::kem::XWing;
pub(crate) type Kdf = hpke::kdf::HkdfSha256;
pub(crate) type Aead = hpke::aead::ChaCha20Poly1305;

/// The stanza's first argument, exactly (lowercase).
pub(crate) const TAG: &str = "mlkem768x25519";
/// HPKE `info`, from the specification.
pub(crate) const INFO: &[u8] = b"age-encryption.org/mlkem768x25519";
/// HPKE `enc` for MLKEM768-X25519: the ML-KEM-768 ciphertext (1088 bytes)
/// followed by the X25519 ephemeral share (32 bytes).
pub(crate) const ENC_LEN: usize = 1120;
const X25519_SHARE: std::ops::Range<usize> = 1088..1120;
/// The stanza body: the 16-byte file key and its 16-byte Poly1305 tag.
pub(crate) const BODY_LEN: usize = 32;
/// An X-Wing encapsulation key: ML-KEM-768 (1184 bytes) then X25519 (32).
const PUBLIC_LEN: usize = 1216;
const SEED_LEN: usize = 32;

const RECIPIENT_HRP: &str = "age1pq";
const IDENTITY_HRP: &str = "AGE-SECRET-KEY-PQ-";

/// Bech32 exactly as BIP173 defines it (same generator, same residue), but
/// without its length limit: the specification says "Bech32 is as specified
/// in BIP173, but without length limits on the data part", and a 1216-byte
/// key is 1946 characters. The `bech32` crate refuses anything past 1023
/// characters for its own `Bech32`, so this type only lifts that limit.
enum LongBech32 {}

impl Checksum for LongBech32 {
    type MidstateRepr = <bech32::Bech32 as Checksum>::MidstateRepr;
    const CODE_LENGTH: usize = usize::MAX;
    const CHECKSUM_LENGTH: usize = <bech32::Bech32 as Checksum>::CHECKSUM_LENGTH;
    const GENERATOR_SH: [Self::MidstateRepr; 5] = <bech32::Bech32 as Checksum>::GENERATOR_SH;
    const TARGET_RESIDUE: Self::MidstateRepr = <bech32::Bech32 as Checksum>::TARGET_RESIDUE;
}

/// Decode a Bech32 string with HRP `hrp` into exactly `N` bytes, refusing
/// non-canonical encodings (padding bits that are not zero, or more than
/// four of them), so each key has exactly one spelling.
fn decode<const N: usize>(s: &str, hrp: &str) -> Option<Zeroizing<[u8; N]>> {
    let checked = CheckedHrpstring::new::<LongBech32>(s).ok()?;
    if checked.hrp() != Hrp::parse_unchecked(hrp) || checked.validate_segwit_padding().is_err() {
        return None;
    }
    let mut out = Zeroizing::new([0u8; N]);
    let mut bytes = checked.byte_iter();
    for b in out.iter_mut() {
        *b = bytes.next()?;
    }
    bytes.next().is_none().then_some(out)
}

/// Whether an X25519 public value is a low-order point, i.e. whether every
/// X25519 key agreement with it gives the all-zero shared secret. The
/// specification's vectors (`hybrid_low_order`, `hybrid_identity`) require
/// refusing such a share, which X-Wing's combiner itself does not check.
///
/// X25519 clamps its scalar to 8·m with 2^251 ≤ m < 2^252: a multiple of
/// the cofactor, and too small to be a multiple of either prime subgroup
/// order (≈ 2^252 on the curve, ≈ 2^253 on its twist). So the output is
/// zero for exactly the points whose order divides 8, whichever scalar is
/// used. A point on the curve (every honest share) is checked on its
/// Edwards form, where the Montgomery-Edwards map keeps its order and
/// `is_small_order` is three doublings (7× cheaper here than a ladder);
/// anything else (a twist point, or u = -1) takes one X25519 with a
/// public scalar, exact by the argument above.
pub(crate) fn low_order(u: &[u8]) -> bool {
    let Ok(u) = <[u8; 32]>::try_from(u) else {
        return false;
    };
    match curve25519_dalek::MontgomeryPoint(u).to_edwards(0) {
        Some(point) => point.is_small_order(),
        None => x25519_dalek::x25519([0u8; 32], u) == [0u8; 32],
    }
}

/// An analyst's hybrid public key (`age1pq1…`), validated: 1216 bytes, an
/// ML-KEM-768 encapsulation key that passes FIPS 203's input check, and an
/// X25519 half that is not a low-order point.
#[derive(Clone)]
pub struct HybridRecipient {
    /// Boxed: 1.6 KB (the ML-KEM key is kept in NTT form), against 224
    /// bytes for an X25519 recipient.
    key: Box<<Kem as hpke::Kem>::PublicKey>,
    id: KeyId,
}

impl fmt::Debug for HybridRecipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HybridRecipient({})", self.id)
    }
}

/// Why an `age1pq1…` string is not a usable recipient.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum HybridKeyError {
    #[error(
        "this is not an age post-quantum public key (age1pq1…, all lowercase, as printed by `salama keygen --pq`)"
    )]
    Malformed,
    #[error("the ML-KEM-768 part of this age1pq1… key is invalid (FIPS 203 input check)")]
    BadMlKem,
    #[error(
        "the X25519 part of this age1pq1… key is a low-order point; it protects nothing. Make a new key with `salama keygen --pq`"
    )]
    LowOrder,
}

impl HybridRecipient {
    pub fn parse(s: &str) -> Result<HybridRecipient, HybridKeyError> {
        let s = s.trim();
        // Recipients are written in lowercase (BIP173 allows all-uppercase
        // too, but no age tool prints that, and one spelling per key keeps
        // key ids stable).
        if !s.starts_with("age1pq1") {
            return Err(HybridKeyError::Malformed);
        }
        let bytes = decode::<PUBLIC_LEN>(s, RECIPIENT_HRP).ok_or(HybridKeyError::Malformed)?;
        if low_order(&bytes[PUBLIC_LEN - 32..]) {
            return Err(HybridKeyError::LowOrder);
        }
        let key = <Kem as hpke::Kem>::PublicKey::from_bytes(&bytes[..])
            .map_err(|_| HybridKeyError::BadMlKem)?;
        Ok(HybridRecipient {
            key: Box::new(key),
            id: KeyId::of(s),
        })
    }

    pub fn id(&self) -> &KeyId {
        &self.id
    }

    pub(crate) fn public_key(&self) -> &<Kem as hpke::Kem>::PublicKey {
        &self.key
    }

    /// The `age1pq1…` encoding.
    pub fn encode(&self) -> String {
        encode_recipient(&self.key)
    }
}

fn encode_recipient(key: &<Kem as hpke::Kem>::PublicKey) -> String {
    bech32::encode_lower::<LongBech32>(Hrp::parse_unchecked(RECIPIENT_HRP), &key.to_bytes())
        .expect("LongBech32 has no length limit and the HRP is valid")
}

/// An analyst's hybrid identity (`AGE-SECRET-KEY-PQ-1…`): the 32-byte
/// X-Wing seed, held by `x_wing`'s decapsulation key (zeroized on drop).
pub struct HybridIdentity {
    key: <Kem as hpke::Kem>::PrivateKey,
}

static_assertions::assert_not_impl_any!(HybridIdentity: fmt::Debug, fmt::Display, Clone);

impl HybridIdentity {
    /// Parse one `AGE-SECRET-KEY-PQ-1…` line (either case, as Bech32 allows).
    pub fn parse(s: &str) -> Option<HybridIdentity> {
        let seed = decode::<SEED_LEN>(s.trim(), IDENTITY_HRP)?;
        let key = <Kem as hpke::Kem>::PrivateKey::from_bytes(&seed[..]).ok()?;
        Some(HybridIdentity { key })
    }

    /// The matching `age1pq1…` recipient.
    pub fn recipient(&self) -> String {
        encode_recipient(&<Kem as hpke::Kem>::sk_to_pk(&self.key))
    }
}

/// A new hybrid identity (`AGE-SECRET-KEY-PQ-1…`) and its recipient
/// (`age1pq1…`). `keys::keygen` protects it with a passphrase; the
/// unprotected form is for tests and benchmarks.
pub fn generate() -> std::io::Result<(Zeroizing<String>, String)> {
    let mut seed = Zeroizing::new([0u8; SEED_LEN]);
    getrandom::fill(&mut seed[..]).map_err(std::io::Error::other)?;
    let mut secret = Zeroizing::new(String::with_capacity(96));
    bech32::encode_upper_to_fmt::<LongBech32, String>(
        &mut secret,
        Hrp::parse_unchecked(IDENTITY_HRP),
        &seed[..],
    )
    .expect("writing to a String cannot fail");
    let identity = HybridIdentity::parse(&secret).expect("a fresh seed is a valid identity");
    Ok((secret, identity.recipient()))
}

impl age::Identity for HybridIdentity {
    /// The specification's rules, in its order: ignore any stanza whose
    /// first argument is not `mlkem768x25519`; reject (a header error, not
    /// "not mine") one with other than two arguments, an `enc` that is not
    /// canonical base64 of 1120 bytes, or a body that is not exactly 32
    /// bytes; and, as the C2SP vectors require, an X25519 share of low
    /// order. A body that does not decrypt is only "not for this key":
    /// ML-KEM's implicit rejection makes a wrong key look the same as a
    /// corrupted `enc`.
    fn unwrap_stanza(&self, stanza: &Stanza) -> Option<Result<FileKey, DecryptError>> {
        if stanza.tag != TAG {
            return None;
        }
        let [enc] = &stanza.args[..] else {
            return Some(Err(DecryptError::InvalidHeader));
        };
        // The base64 crate's standard engine refuses non-zero trailing bits
        // and `=` padding: only the canonical encoding decodes.
        let enc = match B64.decode(enc) {
            Ok(enc) if enc.len() == ENC_LEN => enc,
            _ => return Some(Err(DecryptError::InvalidHeader)),
        };
        if stanza.body.len() != BODY_LEN {
            return Some(Err(DecryptError::InvalidHeader));
        }
        if low_order(&enc[X25519_SHARE]) {
            return Some(Err(DecryptError::InvalidHeader));
        }
        let Ok(enc) = <Kem as hpke::Kem>::EncappedKey::from_bytes(&enc) else {
            return Some(Err(DecryptError::InvalidHeader));
        };
        let (sealed, tag) = stanza.body.split_at(BODY_LEN - 16);
        let tag = hpke::aead::AeadTag::<Aead>::from_bytes(tag).ok()?;
        // Decrypt straight into the file key's own zeroizing box.
        FileKey::try_init_with_mut(|file_key| {
            file_key.copy_from_slice(sealed);
            hpke::single_shot_open_inout_detached::<Aead, Kdf, Kem>(
                &hpke::OpModeR::Base,
                &self.key,
                &enc,
                INFO,
                (&mut file_key[..]).into(),
                b"",
                &tag,
            )
        })
        .ok()
        .map(Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The specification's example identity and the first and last
    /// characters of its example recipient (c2sp.org/age).
    #[test]
    fn the_specifications_example_identity_gives_its_example_recipient() {
        let id = HybridIdentity::parse(concat!(
            "AGE-SECRET-KEY-PQ-",
            "1XX76JRALNLXDMEW0CRK45QMCCH4X06SE84UN3VPM33W6HWDX0H3SK3ZQFR"
        ))
        .unwrap();
        let r = id.recipient();
        assert!(r.starts_with("age1pq1x34nzsvr0rxjsgdn8zgyhfe8j7ceq5r9rdelkjuh3y235jzxshfg87pzf5zrqtzdxz95paef6caq5aapdmwjjqpjfdyxnzr2zampc3uxy0dg4z2n2gm9su72p0pc"), "{r}");
        assert!(r.ends_with("zv49zc0k"), "{r}");
        assert_eq!(r.len(), 6 + 1 + (PUBLIC_LEN * 8).div_ceil(5) + 6);
        // Lowercase spelling of the same identity is the same key.
        let lower = HybridIdentity::parse(
            &concat!(
                "AGE-SECRET-KEY-PQ-",
                "1XX76JRALNLXDMEW0CRK45QMCCH4X06SE84UN3VPM33W6HWDX0H3SK3ZQFR"
            )
            .to_lowercase(),
        )
        .unwrap();
        assert_eq!(lower.recipient(), r);
        assert_eq!(HybridRecipient::parse(&r).unwrap().encode(), r);
    }

    #[test]
    fn generated_keys_round_trip_and_are_fresh() {
        let (secret, recipient) = generate().unwrap();
        assert!(secret.starts_with("AGE-SECRET-KEY-PQ-1"));
        assert_eq!(
            HybridIdentity::parse(&secret).unwrap().recipient(),
            recipient
        );
        let parsed = HybridRecipient::parse(&recipient).unwrap();
        assert_eq!(parsed.id(), &KeyId::of(&recipient));
        assert_ne!(generate().unwrap().1, recipient);
    }

    #[test]
    fn malformed_recipients_are_refused() {
        let (_, r) = generate().unwrap();
        // Uppercase, truncated, a changed character, another kind's HRP.
        assert_eq!(
            HybridRecipient::parse(&r.to_uppercase()).unwrap_err(),
            HybridKeyError::Malformed
        );
        assert!(HybridRecipient::parse(&r[..r.len() - 1]).is_err());
        let mut bad = r.clone().into_bytes();
        bad[100] = if bad[100] == b'q' { b'p' } else { b'q' };
        assert!(HybridRecipient::parse(std::str::from_utf8(&bad).unwrap()).is_err());
        let x = age::x25519::Identity::generate().to_public().to_string();
        assert!(HybridRecipient::parse(&x).is_err());
        // The right HRP and checksum around the wrong length.
        let short = bech32::encode_lower::<LongBech32>(
            Hrp::parse_unchecked(RECIPIENT_HRP),
            &[7u8; PUBLIC_LEN - 1],
        )
        .unwrap();
        assert_eq!(
            HybridRecipient::parse(&short).unwrap_err(),
            HybridKeyError::Malformed
        );
    }

    /// The Edwards shortcut agrees with the plain X25519 check on every
    /// low-order u-coordinate (0, 1, -1 and the two of order 8, also in
    /// their non-canonical spellings with the top bit set or + p) and on
    /// random ones, on the curve and on its twist.
    #[test]
    fn low_order_matches_x25519_everywhere() {
        let slow = |u: [u8; 32]| x25519_dalek::x25519([0u8; 32], u) == [0u8; 32];
        let mut cases: Vec<[u8; 32]> = Vec::new();
        // Points of order 1, 2, 4, 8 on the curve: the u-coordinates of
        // [k]T for the 8-torsion T = [l]B', found without listing them.
        let t = curve25519_dalek::constants::EIGHT_TORSION;
        cases.extend(t.iter().map(|p| p.to_montgomery().to_bytes()));
        let mut minus_one = [0xffu8; 32];
        minus_one[0] = 0xec;
        minus_one[31] = 0x7f;
        cases.push(minus_one);
        // p and p + 1: non-canonical spellings of 0 and 1.
        let (mut p, mut p1) = (minus_one, minus_one);
        p[0] = 0xed;
        p1[0] = 0xee;
        cases.extend([p, p1]);
        for i in 0..cases.len() {
            let mut high = cases[i];
            high[31] |= 0x80;
            cases.push(high);
        }
        for _ in 0..2000 {
            let mut u = [0u8; 32];
            getrandom::fill(&mut u).unwrap();
            cases.push(u);
        }
        let mut lows = 0;
        for u in cases {
            assert_eq!(low_order(&u), slow(u), "{u:02x?}");
            lows += usize::from(slow(u));
        }
        assert!(lows >= 10, "the low-order cases were exercised: {lows}");
    }

    /// A fresh recipient with some of its 1216 bytes changed, re-encoded
    /// with a valid checksum.
    fn altered_recipient(change: impl FnOnce(&mut [u8; PUBLIC_LEN])) -> String {
        let (_, r) = generate().unwrap();
        let mut k = *decode::<PUBLIC_LEN>(&r, RECIPIENT_HRP).unwrap();
        change(&mut k);
        bech32::encode_lower::<LongBech32>(Hrp::parse_unchecked(RECIPIENT_HRP), &k).unwrap()
    }

    #[test]
    fn a_low_order_x25519_half_is_refused() {
        let mut one = [0u8; 32];
        one[0] = 1;
        for u in [[0u8; 32], one] {
            let s = altered_recipient(|k| k[PUBLIC_LEN - 32..].copy_from_slice(&u));
            assert_eq!(
                HybridRecipient::parse(&s).unwrap_err(),
                HybridKeyError::LowOrder
            );
        }
    }

    /// ML-KEM coefficients must be below q = 3329 (FIPS 203, 7.2).
    #[test]
    fn an_out_of_range_ml_kem_key_is_refused() {
        let s = altered_recipient(|k| {
            k[0] = 0xff;
            k[1] |= 0x0f;
        });
        assert_eq!(
            HybridRecipient::parse(&s).unwrap_err(),
            HybridKeyError::BadMlKem
        );
    }

    /// A non-zero padding bit changes the string but not the bytes: only
    /// the canonical spelling is a key.
    #[test]
    fn non_canonical_bech32_is_refused() {
        use bech32::primitives::iter::{ByteIterExt, Fe32IterExt};
        let seed = [0x5au8; SEED_LEN];
        let hrp = Hrp::parse_unchecked(IDENTITY_HRP);
        let spell = |flip: u8| -> String {
            // 32 bytes are 52 five-bit groups; the last carries 4 padding bits.
            let mut fes: Vec<bech32::Fe32> = seed.iter().copied().bytes_to_fes().collect();
            let last = fes.len() - 1;
            fes[last] = bech32::Fe32::try_from(fes[last].to_u8() ^ flip).unwrap();
            fes.into_iter()
                .with_checksum::<LongBech32>(&hrp)
                .chars()
                .collect::<String>()
                .to_uppercase()
        };
        let canonical = spell(0);
        assert_eq!(*decode::<SEED_LEN>(&canonical, IDENTITY_HRP).unwrap(), seed);
        assert!(HybridIdentity::parse(&canonical).is_some());
        for flip in [1, 2, 4, 8] {
            let other = spell(flip);
            assert_ne!(other, canonical);
            assert!(
                decode::<SEED_LEN>(&other, IDENTITY_HRP).is_none(),
                "{other}"
            );
        }
    }
}

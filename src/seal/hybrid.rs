//! Step 5, for post-quantum keys: the `mlkem768x25519` recipient stanza
//! (c2sp.org/age, "mlkem768x25519 recipient stanza"). The file key is
//! sealed with HPKE SealBase (RFC 9180, 6.1): KEM MLKEM768-X25519 (X-Wing),
//! KDF HKDF-SHA256, AEAD ChaCha20Poly1305, `info` =
//! `age-encryption.org/mlkem768x25519`, empty `aad`; the stanza's arguments
//! are `mlkem768x25519` and base64(enc), its body the HPKE ciphertext.
//!
//! The `hpke` crate does all of it; the shared secret, the HPKE key
//! schedule's secrets and the encapsulation randomness are zeroized inside
//! it. What this file adds is the stanza's text and a random number source
//! that reports failure instead of panicking.

use super::{B64, SealError};
use crate::keys::HybridRecipient;
use crate::keys::stanza::{Aead, BODY_LEN, ENC_LEN, INFO, Kdf, Kem, TAG};
use base64::Engine as _;
use hpke::Serializable as _;
use hpke::rand_core::{TryCryptoRng, TryRng};
use std::convert::Infallible;

/// `-> mlkem768x25519 <enc>\n<body>\n`: 1557 bytes for every key (the
/// 1120-byte enc is 1494 base64 characters on the argument line, which the
/// format does not wrap; the 32-byte body is one 43-character line).
pub(super) const STANZA_LEN: usize =
    3 + TAG.len() + 1 + (ENC_LEN * 4).div_ceil(3) + 1 + (BODY_LEN * 4).div_ceil(3) + 1;

type Fill = fn(&mut [u8]) -> Result<(), getrandom::Error>;

/// The operating system's generator, for `hpke`, which wants an infallible
/// one. A failure (which Linux's getrandom(2) does not have once booted)
/// is remembered rather than turned into a panic, and the caller discards
/// everything computed from the zero bytes handed out instead.
struct OsRandom {
    fill: Fill,
    failed: Option<getrandom::Error>,
}

impl TryRng for OsRandom {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        if let Err(e) = (self.fill)(dst) {
            dst.fill(0);
            self.failed.get_or_insert(e);
        }
        Ok(())
    }
}

impl TryCryptoRng for OsRandom {}

/// Append the stanza wrapping `file_key` for `r` to `out`.
pub(super) fn stanza(
    r: &HybridRecipient,
    file_key: &[u8; 16],
    out: &mut Vec<u8>,
) -> Result<(), SealError> {
    stanza_with(r, file_key, out, getrandom::fill)
}

fn stanza_with(
    r: &HybridRecipient,
    file_key: &[u8; 16],
    out: &mut Vec<u8>,
    fill: Fill,
) -> Result<(), SealError> {
    let mut rng = OsRandom { fill, failed: None };
    let (enc, body) = hpke::single_shot_seal_with_rng::<Aead, Kdf, Kem>(
        &hpke::OpModeS::Base,
        r.public_key(),
        INFO,
        file_key,
        b"",
        &mut rng,
    )
    .expect("X-Wing encapsulation to a validated key and a 16-byte seal cannot fail");
    if let Some(e) = rng.failed {
        return Err(SealError::Random(e));
    }
    let start = out.len();
    out.extend_from_slice(b"-> ");
    out.extend_from_slice(TAG.as_bytes());
    out.push(b' ');
    push_b64(out, &enc.to_bytes());
    out.push(b'\n');
    push_b64(out, &body);
    out.push(b'\n');
    debug_assert_eq!(out.len() - start, STANZA_LEN);
    Ok(())
}

fn push_b64(out: &mut Vec<u8>, bytes: &[u8]) {
    let at = out.len();
    out.resize(at + (bytes.len() * 4).div_ceil(3), 0);
    B64.encode_slice(bytes, &mut out[at..])
        .expect("the slice is exactly the encoded length");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stanza_is_1557_bytes() {
        assert_eq!(STANZA_LEN, 1557);
    }

    /// A failed generator is an error, not a panic, and no stanza is written.
    #[test]
    fn a_failed_generator_is_an_error_and_writes_nothing() {
        let (rs, _) = crate::keys::test_hybrid_keys(1);
        let Some(crate::keys::AnalystKey::Hybrid(r)) = rs.iter().next() else {
            unreachable!("test_hybrid_keys makes hybrid keys")
        };
        let mut out = b"before".to_vec();
        let e = stanza_with(r, &[9u8; 16], &mut out, |_| {
            Err(getrandom::Error::UNSUPPORTED)
        });
        assert!(matches!(e, Err(SealError::Random(_))));
        assert_eq!(out, b"before");
        stanza_with(r, &[9u8; 16], &mut out, getrandom::fill).unwrap();
        assert_eq!(out.len(), 6 + STANZA_LEN);
    }
}

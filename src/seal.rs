//! Step 5 of the data path: the padded plaintext is sealed as one age v1
//! file (<https://c2sp.org/age>) with one stanza per analyst key: X25519
//! here, or the post-quantum `mlkem768x25519` stanza ([`hybrid`]).
//!
//! The server only ever encrypts, so this is a small encrypt-only age
//! writer on the project's own primitives (x25519-dalek, ChaCha20-Poly1305,
//! HKDF-SHA-256; `hpke` for the hybrid stanza), where every intermediate
//! secret is zeroized. Its output is checked against the `age` crate and
//! Debian's `age` CLI (X25519), and typage (hybrid), in the tests, so any
//! single blob can be opened by hand with `age -d -i KEY blob.age` (age
//! 1.3 or later for hybrid keys).

mod hybrid;

use crate::keys::Recipients;
use crate::keys::{AnalystKey, Recipient};
use crate::report::{Padded, Receipt, ReceivedDate, Report};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use curve25519_dalek::EdwardsPoint;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::atomic::{AtomicU64, Ordering};
use x25519_dalek::StaticSecret;
use zeroize::Zeroizing;

const INTRO: &[u8] = b"age-encryption.org/v1\n";
const X25519_LABEL: &[u8] = b"age-encryption.org/v1/X25519";
/// age's STREAM chunk size.
const CHUNK: usize = 64 * 1024;
/// `-> X25519 <share>\n<body>\n`: two 43-character base64 lines.
const X25519_STANZA_LEN: usize = 10 + 43 + 1 + 43 + 1;

/// The exact size of a sealed plaintext of `len` bytes: the version line,
/// the stanzas, the MAC line, the payload nonce, and one 16-byte tag per
/// 64 KiB chunk. For a padded report (one chunk) that is
/// `bucket + 102 + 98 × keys` (X25519) or `bucket + 102 + 1557 × keys`
/// (hybrid): SECURITY.md's figures, checked in the tests below.
pub fn sealed_len(len: usize, recipients: &Recipients) -> usize {
    let stanzas: usize = recipients
        .iter()
        .map(|k| match k {
            AnalystKey::X25519(_) => X25519_STANZA_LEN,
            AnalystKey::Hybrid(_) => hybrid::STANZA_LEN,
        })
        .sum();
    let chunks = len.div_ceil(CHUNK).max(1);
    INTRO.len() + stanzas + 4 + 43 + 1 + 16 + len + chunks * 16
}

/// One age v1 file: ciphertext only. It can be stored, exported and
/// compared, but the only way back to plaintext is an analyst's identity.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedReport(Vec<u8>);

impl SealedReport {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// Bytes read back from the store or a bundle. They are not checked here:
    /// only decryption can tell whether they are a valid seal.
    pub fn from_stored(bytes: Vec<u8>) -> SealedReport {
        SealedReport(bytes)
    }
}

impl std::fmt::Debug for SealedReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealedReport({} bytes)", self.0.len())
    }
}

/// Sealing can only fail if the operating system cannot give us randomness
/// or a recipient key is degenerate (a low-order point).
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("the operating system's random number generator failed: {0}")]
    Random(getrandom::Error),
    #[error(
        "analyst key {0} is not a usable X25519 key (low-order point); remove it from the keys directory"
    )]
    DegenerateKey(String),
}

/// Reports that could not be sealed since this process started. Each one
/// is a reporter told "try again later" and a report lost, so `salama
/// status` shows this count and fails while it is not zero. Keys are
/// checked at start (low-order and non-canonical keys are refused), so
/// what remains is the operating system's random source failing.
static FAILURES: AtomicU64 = AtomicU64::new(0);

/// How many reports failed to seal since the process started.
pub fn failures() -> u64 {
    FAILURES.load(Ordering::Relaxed)
}

/// Count a failed seal; the first one since start is also logged (with
/// the reason, never the report), so the operator's journal says why
/// without a line per reporter.
fn count_failure(e: &SealError) {
    if FAILURES.fetch_add(1, Ordering::Relaxed) == 0 {
        eprintln!(
            "salama: error: a report could not be sealed ({e}); the reporter was asked to try later. `salama status` counts every such failure"
        );
    }
}

/// Seal a validated report: pick its receipt, encode it with today's date
/// (UTC, day only), pad it and encrypt it to every recipient. The plaintext
/// exists only in zeroizing buffers inside this call. A failure is
/// counted ([`failures`]).
pub fn seal_report(
    report: &Report,
    recipients: &Recipients,
) -> Result<(SealedReport, Receipt), SealError> {
    let receipt = Receipt::random();
    let padded = report.encode_padded(&receipt, &ReceivedDate::today());
    let sealed = seal_padded(&padded, recipients).inspect_err(count_failure)?;
    Ok((sealed, receipt))
}

/// Encrypt an already padded document.
pub fn seal_padded(padded: &Padded, recipients: &Recipients) -> Result<SealedReport, SealError> {
    encrypt(padded.expose(), recipients)
}

fn random<const N: usize>() -> Result<Zeroizing<[u8; N]>, SealError> {
    let mut b = Zeroizing::new([0u8; N]);
    getrandom::fill(&mut *b).map_err(SealError::Random)?;
    Ok(b)
}

/// A fresh ephemeral X25519 share for `r`, and the secret it shares with r.
///
/// X25519(k, u) is the u-coordinate of [clamp(k)]P for a point P with
/// u-coordinate u, so the shared secret may be computed on the Edwards form
/// of the recipient's key with curve25519-dalek's `mul_clamped`, which uses
/// its AVX2 backend where the CPU has one: 31 µs against 52 µs for the
/// Montgomery ladder per key here (bench/README.md), the largest single
/// cost of a report. The test below checks it against x25519-dalek, and the
/// interop tests against the `age` CLI.
fn x25519(r: &Recipient) -> Result<([u8; 32], Zeroizing<[u8; 32]>), SealError> {
    let scalar = random::<32>()?;
    Ok(x25519_with(&scalar, r))
}

fn x25519_with(scalar: &[u8; 32], r: &Recipient) -> ([u8; 32], Zeroizing<[u8; 32]>) {
    let share = EdwardsPoint::mul_base_clamped(*scalar)
        .to_montgomery()
        .to_bytes();
    let shared = match r.edwards() {
        Some(point) => Zeroizing::new(point.mul_clamped(*scalar).to_montgomery().to_bytes()),
        None => {
            let secret = StaticSecret::from(*scalar);
            Zeroizing::new(secret.diffie_hellman(r.public_key()).to_bytes())
        }
    };
    (share, shared)
}

fn hkdf(salt: &[u8], ikm: &[u8], info: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, &mut *out)
        .expect("32 bytes is a valid HKDF-SHA-256 output length");
    out
}

/// age v1 encryption of `plaintext` to `recipients` (one kind, never both).
pub(crate) fn encrypt(
    plaintext: &[u8],
    recipients: &Recipients,
) -> Result<SealedReport, SealError> {
    let file_key = random::<16>()?;
    let mut out = Vec::with_capacity(sealed_len(plaintext.len(), recipients));

    // Header: one stanza per recipient.
    out.extend_from_slice(INTRO);
    for key in recipients.iter() {
        let r = match key {
            AnalystKey::X25519(r) => r,
            AnalystKey::Hybrid(r) => {
                hybrid::stanza(r, &file_key, &mut out)?;
                continue;
            }
        };
        let (share, shared) = x25519(r)?;
        if shared.iter().all(|&b| b == 0) {
            return Err(SealError::DegenerateKey(r.id().to_string()));
        }
        let mut salt = [0u8; 64];
        salt[..32].copy_from_slice(&share);
        salt[32..].copy_from_slice(r.public_key().as_bytes());
        let wrap_key = hkdf(&salt, &shared[..], X25519_LABEL);
        let body = ChaCha20Poly1305::new((&*wrap_key).into())
            .encrypt(&Nonce::default(), &file_key[..])
            .expect("ChaCha20-Poly1305 encryption of 16 bytes cannot fail");
        out.extend_from_slice(b"-> X25519 ");
        out.extend_from_slice(B64.encode(share).as_bytes());
        out.push(b'\n');
        // 32 bytes of body is 43 base64 characters: one short final line.
        out.extend_from_slice(B64.encode(&body).as_bytes());
        out.push(b'\n');
    }
    out.extend_from_slice(b"---");
    let mac_key = hkdf(&[], &file_key[..], b"header");
    let mut mac =
        Hmac::<Sha256>::new_from_slice(&mac_key[..]).expect("HMAC takes keys of any length");
    mac.update(&out);
    out.push(b' ');
    out.extend_from_slice(B64.encode(mac.finalize().into_bytes()).as_bytes());
    out.push(b'\n');

    // Payload: a 16-byte nonce, then STREAM-encrypted 64 KiB chunks.
    let nonce = random::<16>()?;
    out.extend_from_slice(&nonce[..]);
    let payload_key = hkdf(&nonce[..], &file_key[..], b"payload");
    let aead = ChaCha20Poly1305::new((&*payload_key).into());
    let mut pieces = plaintext.chunks(CHUNK).peekable();
    let mut counter: u64 = 0;
    // An empty plaintext is one empty final chunk.
    let empty: &[u8] = &[];
    if pieces.peek().is_none() {
        out.extend(seal_chunk(&aead, counter, true, empty));
    }
    while let Some(piece) = pieces.next() {
        let last = pieces.peek().is_none();
        out.extend(seal_chunk(&aead, counter, last, piece));
        counter += 1;
    }
    debug_assert_eq!(out.len(), sealed_len(plaintext.len(), recipients));
    Ok(SealedReport(out))
}

fn seal_chunk(aead: &ChaCha20Poly1305, counter: u64, last: bool, piece: &[u8]) -> Vec<u8> {
    // STREAM nonce: 88-bit big-endian counter, then the last-chunk flag.
    let mut n = [0u8; 12];
    n[3..11].copy_from_slice(&counter.to_be_bytes());
    n[11] = u8::from(last);
    // `encrypt` copies the piece into its output and encrypts it in place,
    // so no plaintext copy outlives this call.
    aead.encrypt(&Nonce::from(n), piece)
        .expect("ChaCha20-Poly1305 encryption of a 64 KiB chunk cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::test_keys;
    use std::io::Read;

    fn age_decrypt(blob: &[u8], id: &dyn age::Identity) -> Result<Vec<u8>, age::DecryptError> {
        let d = age::Decryptor::new_buffered(blob)?;
        let mut r = d.decrypt(std::iter::once(id))?;
        let mut out = Vec::new();
        r.read_to_end(&mut out).map_err(age::DecryptError::Io)?;
        Ok(out)
    }

    /// The Edwards-form multiplication gives exactly X25519, for the share
    /// and for the shared secret, on many random keys and scalars.
    #[test]
    fn x25519_on_the_edwards_form_is_x25519() {
        for _ in 0..300 {
            let mut k = [0u8; 32];
            let mut scalar = [0u8; 32];
            getrandom::fill(&mut k).unwrap();
            getrandom::fill(&mut scalar).unwrap();
            let pk = x25519_dalek::PublicKey::from(&StaticSecret::from(k));
            let enc =
                bech32::encode::<bech32::Bech32>(bech32::Hrp::parse("age").unwrap(), pk.as_bytes())
                    .unwrap();
            let r = Recipient::parse(&enc).unwrap();
            assert!(r.edwards().is_some());
            let (share, shared) = x25519_with(&scalar, &r);
            let reference = StaticSecret::from(scalar);
            assert_eq!(share, *x25519_dalek::PublicKey::from(&reference).as_bytes());
            assert_eq!(*shared, reference.diffie_hellman(&pk).to_bytes());
        }
    }

    #[test]
    fn age_crate_opens_what_we_seal_for_every_size_and_key() {
        let (recipients, identities) = test_keys(3);
        for len in [
            0usize,
            1,
            100,
            CHUNK - 1,
            CHUNK,
            CHUNK + 1,
            2 * CHUNK,
            3 * CHUNK + 7,
        ] {
            let plain: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let sealed = encrypt(&plain, &recipients).unwrap();
            for id in &identities {
                assert_eq!(
                    age_decrypt(sealed.as_bytes(), id).unwrap(),
                    plain,
                    "len {len}"
                );
            }
        }
    }

    #[test]
    fn an_unrelated_key_opens_nothing() {
        let (recipients, _) = test_keys(2);
        let (_, other) = test_keys(1);
        let sealed = encrypt(b"secret", &recipients).unwrap();
        assert!(age_decrypt(sealed.as_bytes(), &other[0]).is_err());
    }

    /// A low-order "key" would give an all-zero shared secret: refused, on
    /// the Edwards path (u = 0, 1) and on the ladder (u = -1 has no
    /// Edwards point), as age requires.
    #[test]
    fn a_low_order_key_is_refused() {
        let mut minus_one = [0xffu8; 32];
        minus_one[0] = 0xec;
        minus_one[31] = 0x7f;
        let mut one = [0u8; 32];
        one[0] = 1;
        for (u, edwards) in [([0u8; 32], true), (one, true), (minus_one, false)] {
            // Parsing refuses such a key (keys::tests); sealing must too.
            let enc =
                bech32::encode::<bech32::Bech32>(bech32::Hrp::parse("age").unwrap(), &u).unwrap();
            assert!(Recipient::parse(&enc).is_err());
            let r = Recipient::unchecked(u);
            assert_eq!(r.edwards().is_some(), edwards);
            let rs = Recipients::new(vec![r]).unwrap();
            assert!(matches!(
                encrypt(b"x", &rs),
                Err(SealError::DegenerateKey(_))
            ));
        }
    }

    /// A report that cannot be sealed is counted, for `salama status`.
    #[test]
    fn a_failed_seal_is_counted() {
        let mut input = crate::report::FormInput::default();
        input.urls = "https://count.example.com/a".into();
        input.category = "abuse-imagery".into();
        let report = Report::validate(
            &input,
            crate::report::Lang::En,
            &crate::report::Category::ALL,
        )
        .unwrap();
        let (good, _) = test_keys(1);
        let bad = Recipients::new(vec![Recipient::unchecked([0u8; 32])]).unwrap();
        // Other tests in this process may fail seals too: only growth counts.
        let before = failures();
        seal_report(&report, &good).unwrap();
        assert_eq!(failures(), before, "a good seal is not a failure");
        assert!(seal_report(&report, &bad).is_err());
        assert!(seal_report(&report, &bad).is_err());
        assert!(failures() >= before + 2, "{} -> {}", before, failures());
    }

    #[test]
    fn tampering_anywhere_is_detected() {
        let (x, x_ids) = test_keys(1);
        let (pq, pq_ids) = crate::keys::test_hybrid_keys(1);
        let kinds: [(&Recipients, &dyn age::Identity); 2] = [(&x, &x_ids[0]), (&pq, &pq_ids[0])];
        for (recipients, id) in kinds {
            let sealed = encrypt(&[7u8; 300], recipients).unwrap();
            let bytes = sealed.as_bytes();
            // Flip one bit at a spread of positions across header and payload.
            for pos in (0..bytes.len()).step_by(13) {
                let mut t = bytes.to_vec();
                t[pos] ^= 1;
                assert!(
                    age_decrypt(&t, id).is_err(),
                    "bit flip at {pos} went unnoticed"
                );
            }
            assert!(age_decrypt(&bytes[..bytes.len() - 1], id).is_err());
        }
    }

    #[test]
    fn two_seals_of_the_same_plaintext_differ() {
        let (recipients, _) = test_keys(1);
        let a = encrypt(b"same", &recipients).unwrap();
        let b = encrypt(b"same", &recipients).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.as_bytes().len(), b.as_bytes().len());
    }

    #[test]
    fn debug_shows_only_the_length() {
        let (recipients, _) = test_keys(1);
        let s = encrypt(b"abc", &recipients).unwrap();
        assert_eq!(
            format!("{s:?}"),
            format!("SealedReport({} bytes)", s.as_bytes().len())
        );
    }

    /// The sealed size is exactly SECURITY.md's formula, for every bucket,
    /// both kinds and several keys, so a blob's size tells only its bucket.
    #[test]
    fn sealed_size_is_bucket_plus_fixed_overhead_for_both_kinds() {
        for n in 1..=3 {
            let (x, _) = test_keys(n);
            let (pq, _) = crate::keys::test_hybrid_keys(n);
            for bucket in crate::report::BUCKETS {
                let plain = vec![b' '; bucket];
                let a = encrypt(&plain, &x).unwrap().into_bytes().len();
                let b = encrypt(&plain, &pq).unwrap().into_bytes().len();
                assert_eq!(a, bucket + 102 + 98 * n, "X25519, {n} keys");
                assert_eq!(b, bucket + 102 + 1557 * n, "hybrid, {n} keys");
                assert_eq!(sealed_len(bucket, &x), a);
                assert_eq!(sealed_len(bucket, &pq), b);
            }
        }
    }

    #[test]
    fn every_hybrid_identity_opens_what_we_seal_and_others_do_not() {
        let (recipients, ids) = crate::keys::test_hybrid_keys(3);
        let (_, others) = crate::keys::test_hybrid_keys(1);
        let (_, x25519) = test_keys(1);
        for len in [0usize, 1, 1000, CHUNK, CHUNK + 1] {
            let plain: Vec<u8> = (0..len).map(|i| (i * 11 % 253) as u8).collect();
            let sealed = encrypt(&plain, &recipients).unwrap();
            let text = String::from_utf8_lossy(&sealed.as_bytes()[..200]).into_owned();
            assert!(text.contains("\n-> mlkem768x25519 "), "{text}");
            for id in &ids {
                assert_eq!(age_decrypt(sealed.as_bytes(), id).unwrap(), plain);
            }
            assert!(matches!(
                age_decrypt(sealed.as_bytes(), &others[0]),
                Err(age::DecryptError::NoMatchingKeys)
            ));
            assert!(matches!(
                age_decrypt(sealed.as_bytes(), &x25519[0]),
                Err(age::DecryptError::NoMatchingKeys)
            ));
        }
    }
}

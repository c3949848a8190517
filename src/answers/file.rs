//! The answers file: sealed answers on their way from the analysts'
//! offline workstation to the server, signed by an analyst's key
//! ([`crate::keys::signing`]) and sequence-numbered per signer. Written by
//! [`write_file`] (`salama answer`, the desk), read by [`read_file`]
//! (`salama answers import`). Frozen vector: `tests/vectors/answers-v1/`.
//!
//! Exactly two lines, each ending in `\n`, nothing else:
//!
//! ```text
//! {"format":"salama-answers","version":1,"signer":"salamasign1…","seq":7,"salt":"<64 hex>","entries":[{"lookup":"<64 hex>","answer":"<base64>"},…]}
//! signature <base64 of the 64-byte Ed25519 signature>
//! ```
//!
//! - Line 1, the body, is canonical JSON: no spaces, fields in this order,
//!   lowercase hex, standard padded base64 of each [`SealedAnswer`] (5,500
//!   characters), entries in ascending order of lookup, no lookup twice.
//!   A reader refuses any other spelling, so one set of answers has one body.
//! - Line 2 signs `"salama answers file v1\n" ‖ line 1` (without its
//!   newline), strictly verified (RFC 8032 with no malleable encodings).
//!
//! Why this shape: the signature covers exactly the bytes a reader parses
//! and nothing else, so there is no canonicalisation step to get wrong;
//! the reader verifies before it trusts a single field; a JSON reader
//! handed the whole file fails (two values), so nobody reads it unverified
//! by accident; and it is still text an operator can look at.
//!
//! What the server learns from a file: the signer, the sequence number,
//! how many answers it holds, and for each an opaque lookup and a sealed
//! blob of one fixed size. Never a receipt or an answer's text.

use super::kdf::{Deriver, Lookup, Salt};
use super::{Answer, SEALED_LEN, SealedAnswer};
use crate::keys::KeyId;
use crate::keys::signing::{SignerKey, Signers, SigningKey};
use crate::receipt::Receipt;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

pub const FORMAT: &str = "salama-answers";
pub const VERSION: u32 = 1;
/// Answers in one file, at most (a file this full is about 56 MB).
pub const MAX_ENTRIES: usize = 10_000;
const DOMAIN: &[u8] = b"salama answers file v1\n";
const SIGNATURE_PREFIX: &str = "signature ";
/// `{"lookup":"…","answer":"…"},` for one entry.
const ENTRY_BYTES: usize = 11 + 64 + 12 + SEALED_LEN.div_ceil(3) * 4 + 2 + 1;
/// The largest file a reader accepts: a full one, with room for the rest.
pub const MAX_FILE_BYTES: usize = 1024 + MAX_ENTRIES * ENTRY_BYTES;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    format: String,
    version: u32,
    signer: String,
    seq: u64,
    salt: String,
    entries: Vec<EntryText>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryText {
    lookup: String,
    answer: String,
}

/// Why an answers file cannot be written.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WriteError {
    #[error("an answers file holds at most {MAX_ENTRIES} answers; split them over several files")]
    TooMany,
    #[error("sequence numbers start at 1")]
    ZeroSeq,
    /// Indices (from 0) of two entries for one receipt.
    #[error(
        "answers {} and {} are for the same receipt; keep one of them",
        .0 + 1,
        .1 + 1
    )]
    DuplicateReceipt(usize, usize),
}

/// Seal every answer for its receipt, sign the lot with `signer`, and
/// return the file's bytes. Each receipt costs one Argon2id derivation
/// (about 25 ms); they run on every core.
pub fn write_file(
    entries: &[(Receipt, Answer)],
    signer: &SigningKey,
    seq: u64,
    salt: &Salt,
) -> Result<Vec<u8>, WriteError> {
    if entries.len() > MAX_ENTRIES {
        return Err(WriteError::TooMany);
    }
    if seq == 0 {
        return Err(WriteError::ZeroSeq);
    }
    let mut sealed = seal_all(entries, salt);
    sealed.sort_by_key(|(lookup, _, _)| *lookup);
    if let Some(w) = sealed.windows(2).find(|w| w[0].0 == w[1].0) {
        let (a, b) = (w[0].2.min(w[1].2), w[0].2.max(w[1].2));
        return Err(WriteError::DuplicateReceipt(a, b));
    }
    let body = Body {
        format: FORMAT.into(),
        version: VERSION,
        signer: signer.public().as_str().to_owned(),
        seq,
        salt: salt.to_hex(),
        entries: sealed
            .iter()
            .map(|(lookup, answer, _)| EntryText {
                lookup: lookup.to_hex(),
                answer: B64.encode(answer.as_bytes()),
            })
            .collect(),
    };
    let mut out = serde_json::to_vec(&body).expect("serialising to memory cannot fail");
    let signature = signer.sign(&message(&out));
    out.push(b'\n');
    out.extend_from_slice(SIGNATURE_PREFIX.as_bytes());
    out.extend_from_slice(B64.encode(signature).as_bytes());
    out.push(b'\n');
    Ok(out)
}

/// (lookup, sealed answer, index in `entries`) for every entry, derived
/// on as many threads as there are cores.
fn seal_all(entries: &[(Receipt, Answer)], salt: &Salt) -> Vec<(Lookup, SealedAnswer, usize)> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(entries.len())
        .max(1);
    let chunk = entries.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let workers: Vec<_> = entries
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| {
                s.spawn(move || {
                    let mut deriver = Deriver::new();
                    part.iter()
                        .enumerate()
                        .map(|(i, (receipt, answer))| {
                            let d = deriver.derive(receipt, salt);
                            (d.lookup, answer.seal(&d), c * chunk + i)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a sealing thread panicked"))
            .collect()
    })
}

fn message(body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(DOMAIN.len() + body.len());
    m.extend_from_slice(DOMAIN);
    m.extend_from_slice(body);
    m
}

/// A file whose signature, signer, salt and form have been checked. The
/// sequence number is checked by whoever keeps the last one per signer
/// (the server's store).
pub struct Verified {
    pub signer: SignerKey,
    pub seq: u64,
    /// In ascending order of lookup, each lookup once.
    pub entries: Vec<(Lookup, SealedAnswer)>,
}

/// Why an answers file is refused. Each message says what is wrong and
/// what to do; none repeats the file's contents.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReadError {
    #[error(
        "the file is larger than any answers file can be ({MAX_FILE_BYTES} bytes): it is not an answers file"
    )]
    TooLarge,
    #[error(
        "the file is not signed (it has no signature line): it was not made by `salama answer` or the desk, or it was cut short; make it again on the workstation"
    )]
    Unsigned,
    #[error(
        "the signature does not match the file: it was altered or damaged after it was signed; make a fresh file on the workstation and carry it again"
    )]
    BadSignature,
    #[error(
        "the file is signed by key {0}, which is not one of this server's signers (keys/signers/*.pub). If that analyst is one of yours, copy their KEY.sign.pub (the public half only) into keys/signers/ and import again"
    )]
    UnknownSigner(KeyId),
    #[error(
        "the file is signed but malformed ({0}): it was made by a different version of salama; use the same version on the workstation and the server"
    )]
    Malformed(&'static str),
    #[error(
        "the file is answers format version {0}, which this salama does not know; upgrade salama on this server"
    )]
    UnknownVersion(u32),
    #[error(
        "the file was made for another deployment (follow-up salt {file}; this server's is {ours}), so its answers could never be found here. On the workstation, make it with a bundle exported from this server (`salama answer --bundle …`)"
    )]
    WrongSalt { file: String, ours: String },
    #[error("the file holds two answers for the same receipt: make it again on the workstation")]
    Duplicate,
}

/// Check an answers file against the signers this server trusts and its
/// follow-up salt. Nothing in the file is trusted before its signature is
/// verified; nothing is returned unless every check passed.
pub fn read_file(bytes: &[u8], signers: &Signers, salt: &Salt) -> Result<Verified, ReadError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge);
    }
    let (body, rest) = match bytes.iter().position(|&b| b == b'\n') {
        Some(i) => (&bytes[..i], &bytes[i + 1..]),
        None => return Err(ReadError::Unsigned),
    };
    if rest.is_empty() {
        return Err(ReadError::Unsigned);
    }
    let signature = std::str::from_utf8(rest)
        .ok()
        .and_then(|l| l.strip_suffix('\n'))
        .and_then(|l| l.strip_prefix(SIGNATURE_PREFIX))
        .and_then(|b| B64.decode(b).ok().filter(|s| B64.encode(s) == b))
        .and_then(|s| <[u8; 64]>::try_from(s).ok())
        .ok_or(ReadError::BadSignature)?;
    let msg = message(body);
    let Some(signer) = signers.iter().find(|k| k.verify(&msg, &signature)) else {
        return Err(unverified(body, signers));
    };

    // Verified: from here on the body is the signer's.
    let malformed = ReadError::Malformed;
    let b: Body = serde_json::from_slice(body).map_err(|_| malformed("not the answers JSON"))?;
    if b.format != FORMAT {
        return Err(malformed("not an answers file"));
    }
    if b.version != VERSION {
        return Err(ReadError::UnknownVersion(b.version));
    }
    if b.signer != signer.as_str() {
        return Err(malformed(
            "it names another signer than the key that signed it",
        ));
    }
    let file_salt = Salt::parse_hex(&b.salt)
        .filter(|s| s.to_hex() == b.salt)
        .ok_or(malformed("salt"))?;
    if file_salt != *salt {
        return Err(ReadError::WrongSalt {
            file: file_salt.fingerprint(),
            ours: salt.fingerprint(),
        });
    }
    if b.seq == 0 {
        return Err(malformed("sequence number 0"));
    }
    if b.entries.len() > MAX_ENTRIES {
        return Err(malformed("too many entries"));
    }
    let mut entries: Vec<(Lookup, SealedAnswer)> = Vec::with_capacity(b.entries.len());
    for e in &b.entries {
        let lookup = Lookup::parse_hex(&e.lookup).ok_or(malformed("an entry's lookup"))?;
        let answer = B64
            .decode(&e.answer)
            .ok()
            .and_then(|a| SealedAnswer::from_bytes(&a))
            .ok_or(malformed("an entry's answer"))?;
        match entries.last() {
            Some((last, _)) if *last == lookup => return Err(ReadError::Duplicate),
            Some((last, _)) if *last > lookup => return Err(malformed("entries out of order")),
            _ => {}
        }
        entries.push((lookup, answer));
    }
    // One set of answers has one spelling (spaces, escapes, base64 padding).
    if serde_json::to_vec(&b).expect("serialising to memory cannot fail") != body
        || entries
            .iter()
            .zip(&b.entries)
            .any(|((_, a), e)| B64.encode(a.as_bytes()) != e.answer)
    {
        return Err(malformed("not in canonical form"));
    }
    Ok(Verified {
        signer: signer.clone(),
        seq: b.seq,
        entries,
    })
}

/// No trusted key verifies the file: say whether it names a signer this
/// server does not know (read from the unverified body only to say so),
/// or was altered.
fn unverified(body: &[u8], signers: &Signers) -> ReadError {
    #[derive(Deserialize)]
    struct SignerOnly {
        signer: String,
    }
    match serde_json::from_slice::<SignerOnly>(body)
        .ok()
        .and_then(|b| SignerKey::parse(&b.signer).ok())
    {
        Some(k) if signers.find(k.as_str()).is_none() => ReadError::UnknownSigner(k.id().clone()),
        _ => ReadError::BadSignature,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::{Reply, Status, kdf};
    use proptest::prelude::*;

    fn receipt(n: u32) -> Receipt {
        Receipt::parse(&format!("AAAA-BBBB-{:04}-{:04}", n / 10_000, n % 10_000)).unwrap()
    }

    fn sample(n: u32) -> Vec<(Receipt, Answer)> {
        (0..n)
            .map(|i| {
                (
                    receipt(i),
                    Answer::new(Status::ActionTaken, Some(Reply::Police), &format!("#{i}"))
                        .unwrap(),
                )
            })
            .collect()
    }

    struct World {
        key: SigningKey,
        signers: Signers,
        salt: Salt,
    }

    fn world() -> World {
        let key = SigningKey::generate();
        let signers = Signers::new(vec![key.public()]);
        World {
            key,
            signers,
            salt: Salt::from_bytes([0xab; 32]),
        }
    }

    #[test]
    fn a_file_reads_back_to_what_was_written() {
        let w = world();
        let entries = sample(3);
        let bytes = write_file(&entries, &w.key, 5, &w.salt).unwrap();
        let text = std::str::from_utf8(&bytes).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(
            text.starts_with(r#"{"format":"salama-answers","version":1,"signer":"salamasign1"#)
        );
        let v = read_file(&bytes, &w.signers, &w.salt).unwrap();
        assert_eq!(v.seq, 5);
        assert_eq!(v.signer, w.key.public());
        assert_eq!(v.entries.len(), 3);
        for (r, a) in &entries {
            let d = kdf::derive(r, &w.salt);
            let (_, sealed) = v.entries.iter().find(|(l, _)| *l == d.lookup).unwrap();
            let back = sealed.open(&d).unwrap();
            assert_eq!(back.text(), a.text());
            assert_eq!(back.reply(), Some(Reply::Police));
        }
        // Nothing of the receipts or the texts is in the file.
        for (r, _) in &entries {
            assert!(!text.contains(r.expose()));
        }
        assert!(!text.contains("#1"));
    }

    #[test]
    fn writing_refuses_duplicates_zero_and_too_many() {
        let w = world();
        let mut entries = sample(3);
        entries.push((receipt(1), Answer::new(Status::Received, None, "").unwrap()));
        assert_eq!(
            write_file(&entries, &w.key, 1, &w.salt).err(),
            Some(WriteError::DuplicateReceipt(1, 3))
        );
        assert_eq!(
            write_file(&sample(1), &w.key, 0, &w.salt).err(),
            Some(WriteError::ZeroSeq)
        );
        let empty = write_file(&[], &w.key, 1, &w.salt).unwrap();
        assert!(
            read_file(&empty, &w.signers, &w.salt)
                .unwrap()
                .entries
                .is_empty()
        );
    }

    #[test]
    fn every_refusal_names_what_is_wrong() {
        let w = world();
        let good = write_file(&sample(2), &w.key, 9, &w.salt).unwrap();
        let body_end = good.iter().position(|&b| b == b'\n').unwrap();
        let read = |b: &[u8]| read_file(b, &w.signers, &w.salt).err();

        // Unsigned: the body alone, with or without its newline.
        assert_eq!(read(&good[..body_end]), Some(ReadError::Unsigned));
        assert_eq!(read(&good[..=body_end]), Some(ReadError::Unsigned));
        // Tampered: any byte of the body, or of the signature.
        for at in [2, body_end / 2, body_end - 3, good.len() - 5] {
            let mut t = good.clone();
            t[at] = if t[at] == b'A' { b'B' } else { b'A' };
            assert_eq!(read(&t), Some(ReadError::BadSignature), "byte {at}");
        }
        // A second signature line, or trailing bytes.
        let mut t = good.clone();
        t.extend_from_slice(b"more\n");
        assert_eq!(read(&t), Some(ReadError::BadSignature));
        // Signed by someone else: named, not just "bad".
        let stranger = SigningKey::generate();
        let theirs = write_file(&sample(1), &stranger, 1, &w.salt).unwrap();
        assert_eq!(
            read(&theirs),
            Some(ReadError::UnknownSigner(stranger.public().id().clone()))
        );
        // Another deployment's salt.
        let elsewhere = write_file(&sample(1), &w.key, 1, &Salt::from_bytes([4; 32])).unwrap();
        assert!(matches!(
            read(&elsewhere),
            Some(ReadError::WrongSalt { .. })
        ));
        // Too large to be one.
        assert_eq!(
            read(&vec![b' '; MAX_FILE_BYTES + 1]),
            Some(ReadError::TooLarge)
        );
    }

    /// Sign an arbitrary body with the world's key, as a buggy or hostile
    /// writer holding a real key could.
    fn signed(w: &World, body: &str) -> Vec<u8> {
        let mut out = body.as_bytes().to_vec();
        let sig = w.key.sign(&message(body.as_bytes()));
        out.push(b'\n');
        out.extend_from_slice(format!("signature {}\n", B64.encode(sig)).as_bytes());
        out
    }

    #[test]
    fn a_valid_signature_does_not_excuse_a_malformed_body() {
        let w = world();
        let good = write_file(&sample(2), &w.key, 9, &w.salt).unwrap();
        let body = std::str::from_utf8(&good[..good.iter().position(|&b| b == b'\n').unwrap()])
            .unwrap()
            .to_owned();
        assert!(read_file(&signed(&w, &body), &w.signers, &w.salt).is_ok());
        // The two entries as they are spelled in the body.
        let list = &body[body.find("[{").unwrap() + 1..body.len() - 2];
        let (e0, e1) = list.split_once("},{").unwrap();
        let (e0, e1) = (format!("{e0}}}"), format!("{{{e1}"));
        let cases: Vec<(String, ReadError)> = vec![
            (
                body.replace("\"version\":1", "\"version\":2"),
                ReadError::UnknownVersion(2),
            ),
            (
                body.replace("salama-answers", "salama-bundle"),
                ReadError::Malformed("not an answers file"),
            ),
            (
                body.replace("\"seq\":9", "\"seq\":0"),
                ReadError::Malformed("sequence number 0"),
            ),
            (
                body.replace("\"seq\":9", "\"seq\": 9"),
                ReadError::Malformed("not in canonical form"),
            ),
            (
                body.replace(&format!("{e0},{e1}"), &format!("{e1},{e0}")),
                ReadError::Malformed("entries out of order"),
            ),
            (
                body.replace(&format!("{e0},{e1}"), &format!("{e0},{e0}")),
                ReadError::Duplicate,
            ),
            (
                body.replace(&w.salt.to_hex(), &w.salt.to_hex().to_uppercase()),
                ReadError::Malformed("salt"),
            ),
            (
                body.replace(&w.key.public().as_str()[12..], "x"),
                ReadError::Malformed("it names another signer than the key that signed it"),
            ),
            (
                body.replace("\"entries\"", "\"extra\":1,\"entries\""),
                ReadError::Malformed("not the answers JSON"),
            ),
        ];
        for (b, want) in cases {
            assert!(b != body, "{want:?}: the test changed nothing");
            assert_eq!(
                read_file(&signed(&w, &b), &w.signers, &w.salt).err(),
                Some(want)
            );
        }
        // An answer of the wrong size.
        let short = {
            let a = &e0[e0.find("\"answer\":\"").unwrap() + 10..e0.len() - 2];
            body.replace(a, &a[4..])
        };
        assert_eq!(
            read_file(&signed(&w, &short), &w.signers, &w.salt).err(),
            Some(ReadError::Malformed("an entry's answer"))
        );
    }

    const VECTOR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/answers-v1");

    fn vector(name: &str) -> Vec<u8> {
        std::fs::read(format!("{VECTOR}/{name}")).unwrap()
    }

    /// The frozen file still reads, and every row of the CSV it was made
    /// from opens from it with its receipt, exactly.
    #[test]
    fn frozen_vector_v1_reads_and_opens() {
        let salt = Salt::parse_hex(std::str::from_utf8(&vector("salt")).unwrap()).unwrap();
        let signer = SignerKey::parse(std::str::from_utf8(&vector("signer.pub")).unwrap()).unwrap();
        let v = read_file(
            &vector("answers"),
            &Signers::new(vec![signer.clone()]),
            &salt,
        )
        .unwrap();
        assert_eq!(v.signer, signer);
        assert_eq!(v.seq, 7);
        let rows = crate::answers::csv::read(&vector("answers.csv")).unwrap();
        assert_eq!(v.entries.len(), rows.len());
        for (receipt, want) in &rows {
            let d = kdf::derive(receipt, &salt);
            let (_, sealed) = v.entries.iter().find(|(l, _)| *l == d.lookup).unwrap();
            let got = sealed.open(&d).unwrap();
            assert_eq!(got.status(), want.status());
            assert_eq!(got.reply(), want.reply());
            assert_eq!(got.text(), want.text());
        }
        // The lookups are what KDF v1 gives: a change of parameters shows here.
        let first = &rows[0].0;
        assert_eq!(
            kdf::derive(first, &salt).lookup.to_hex(),
            std::str::from_utf8(&vector("first-lookup")).unwrap().trim()
        );
    }

    /// How `tests/vectors/answers-v1` was made (run once; never to make a
    /// test pass): `cargo test --lib write_answers_v1_vector -- --ignored`.
    #[test]
    #[ignore]
    fn write_answers_v1_vector() {
        let key = crate::keys::signing::load(
            &std::path::PathBuf::from(format!("{VECTOR}/signer.key")),
            || panic!("the test key is plain"),
        )
        .unwrap();
        let salt = Salt::parse_hex(std::str::from_utf8(&vector("salt")).unwrap()).unwrap();
        let rows = crate::answers::csv::read(&vector("answers.csv")).unwrap();
        let bytes = write_file(&rows, &key, 7, &salt).unwrap();
        std::fs::write(format!("{VECTOR}/answers"), bytes).unwrap();
        std::fs::write(
            format!("{VECTOR}/signer.pub"),
            format!("{}\n", key.public().as_str()),
        )
        .unwrap();
        std::fs::write(
            format!("{VECTOR}/first-lookup"),
            format!("{}\n", kdf::derive(&rows[0].0, &salt).lookup.to_hex()),
        )
        .unwrap();
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        /// Any damage to a file (a byte changed, cut short, extended) is
        /// refused; it never reads as a different set of answers.
        #[test]
        fn damage_is_always_refused(at in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<bool>()) {
            let w = world();
            let good = write_file(&sample(1), &w.key, 3, &w.salt).unwrap();
            let i = at.index(good.len());
            let mut bad = good.clone();
            if cut {
                bad.truncate(i);
            } else {
                prop_assume!(bad[i] != byte);
                bad[i] = byte;
            }
            prop_assert!(read_file(&bad, &w.signers, &w.salt).is_err());
        }
    }
}

//! Follow-up answers: what the analysts tell a reporter about a report,
//! which only that report's receipt can find and read. Defined once, here,
//! for every writer (`salama answer`, the desk) and every reader
//! (`salama answers import`, the follow-up page); both builds have it.
//!
//! The path of an answer:
//!
//! ```text
//! workstation: receipt ─[kdf]→ (lookup, key) ; Answer ─[seal under key]→ SealedAnswer
//!              [(lookup, SealedAnswer)…] ─[file: signed, sequence-numbered]→ answers file
//! server:      answers file ─[file::read: signer, salt, canonical form]→ (lookup → SealedAnswer)
//! reporter:    typed receipt ─[kdf]→ lookup → SealedAnswer ─[open under key]→ Answer
//! ```
//!
//! The server never sees a receipt or an answer's text outside a lookup:
//! the workstation derives and seals, the server indexes by lookup, and
//! only a reporter typing the receipt brings the key into its memory, for
//! the length of one request.
//!
//! **Answer (plaintext), version 1**: canonical JSON, padded with spaces
//! to exactly [`PLAINTEXT_LEN`] bytes so every sealed answer has one size:
//! `{"v":1,"status":…,"reply":…|null,"text":…,"pad":"   …"}`.
//!
//! **Sealed answer**: `nonce (12 random bytes) ‖ ChaCha20-Poly1305(key,
//! nonce, plaintext, AAD = "salama answer v1" ‖ lookup)`, [`SEALED_LEN`]
//! bytes. The AAD binds an answer to its lookup (and so to its receipt and
//! salt): moved to another lookup, it no longer opens.
//!
//! The file that carries sealed answers to the server is [`file`]; the
//! derivation of lookup and key is [`kdf`].

pub mod csv;
pub mod file;
pub mod kdf;

pub use file::{ReadError, Verified, WriteError, read_file, write_file};
pub use kdf::{Derived, Deriver, Lookup, Salt};

use crate::document::Text;
use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce, Tag};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The analyst's own words, in characters.
pub const MAX_TEXT_CHARS: usize = 1000;
/// Every answer's plaintext is padded to exactly this many bytes: the
/// longest text (1000 four-byte characters) and the longest ids fit.
pub const PLAINTEXT_LEN: usize = 4096;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Every sealed answer is exactly this many bytes.
pub const SEALED_LEN: usize = NONCE_LEN + PLAINTEXT_LEN + TAG_LEN;
/// The plaintext's version field.
pub const VERSION: u32 = 1;
const AAD_PREFIX: &[u8] = b"salama answer v1";

/// Where a report stands, as the reporter is told it.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Received,
    BeingAssessed,
    /// Reported for removal and passed to the authorities.
    ActionTaken,
    /// Outside what this hotline can act on.
    OutsideRemit,
    NeedMoreInfo,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Received,
        Status::BeingAssessed,
        Status::ActionTaken,
        Status::OutsideRemit,
        Status::NeedMoreInfo,
    ];

    /// The id in files and CSVs, and the end of the translation id.
    pub fn id(self) -> &'static str {
        match self {
            Status::Received => "received",
            Status::BeingAssessed => "being-assessed",
            Status::ActionTaken => "action-taken",
            Status::OutsideRemit => "outside-remit",
            Status::NeedMoreInfo => "need-more-info",
        }
    }

    pub fn from_id(id: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.id() == id)
    }
}

/// The canned replies an analyst picks from; each is translated on the
/// reporter's page, so an Arabic-speaking analyst can answer a French
/// reporter and the other way round.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reply {
    Thanks,
    Removed,
    Police,
    NotIllegal,
    NotFound,
    NeedPlatformAccount,
    GetHelp,
    PassedAbroad,
}

impl Reply {
    pub const ALL: [Reply; 8] = [
        Reply::Thanks,
        Reply::Removed,
        Reply::Police,
        Reply::NotIllegal,
        Reply::NotFound,
        Reply::NeedPlatformAccount,
        Reply::GetHelp,
        Reply::PassedAbroad,
    ];

    /// The id in files and CSVs, and the end of the translation id.
    pub fn id(self) -> &'static str {
        match self {
            Reply::Thanks => "thanks",
            Reply::Removed => "removed",
            Reply::Police => "police",
            Reply::NotIllegal => "not-illegal",
            Reply::NotFound => "not-found",
            Reply::NeedPlatformAccount => "need-platform-account",
            Reply::GetHelp => "get-help",
            Reply::PassedAbroad => "passed-abroad",
        }
    }

    pub fn from_id(id: &str) -> Option<Reply> {
        Reply::ALL.into_iter().find(|r| r.id() == id)
    }
}

/// Why an answer cannot be made, or read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("the text is longer than {MAX_TEXT_CHARS} characters; shorten it")]
    TextTooLong,
    #[error(
        "the text contains control characters (other than line breaks); type it again without them"
    )]
    TextControl,
    /// Decryption failed: a wrong receipt, or bytes altered.
    #[error("the answer does not open with this receipt")]
    Sealed,
    /// It opened, but is not an answer this salama writes.
    #[error("the answer opened but is not in the canonical form of answers version {VERSION}")]
    NotCanonical,
}

/// One answer to one report. Plaintext the reporter will read: no Debug,
/// Display, Clone or Serialize, and its text is wiped when dropped.
pub struct Answer {
    status: Status,
    reply: Option<Reply>,
    text: Zeroizing<String>,
}

static_assertions::assert_not_impl_any!(Answer: std::fmt::Debug, std::fmt::Display, Clone, Serialize);

/// The plaintext's fields, in their one canonical order (written)…
#[derive(Serialize)]
struct PlainOut<'a> {
    v: u32,
    status: Status,
    reply: Option<Reply>,
    text: &'a str,
}

/// …and read back, into strings that are wiped when dropped.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlainIn {
    v: u32,
    status: Status,
    reply: Option<Reply>,
    text: Text,
    #[allow(dead_code)] // checked by re-encoding the whole plaintext
    pad: Text,
}

impl Answer {
    /// An answer as an analyst writes it. Line breaks become `\n`, the text
    /// is trimmed; it may be empty (a status alone is an answer too).
    pub fn new(status: Status, reply: Option<Reply>, text: &str) -> Result<Answer, AnswerError> {
        let mut t = Zeroizing::new(String::with_capacity(text.len()));
        let mut chars = text.trim().chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\r' => {
                    chars.next_if_eq(&'\n');
                    t.push('\n');
                }
                c => t.push(c),
            }
        }
        check_text(&t)?;
        Ok(Answer {
            status,
            reply,
            text: t,
        })
    }

    pub fn status(&self) -> Status {
        self.status
    }

    pub fn reply(&self) -> Option<Reply> {
        self.reply
    }

    /// The analyst's own words ("" when there are none).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The canonical padded plaintext: exactly [`PLAINTEXT_LEN`] bytes.
    fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut buf = Zeroizing::new(Vec::with_capacity(PLAINTEXT_LEN));
        let plain = PlainOut {
            v: VERSION,
            status: self.status,
            reply: self.reply,
            text: &self.text,
        };
        serde_json::to_writer(&mut *buf, &plain).expect("serialising to memory cannot fail");
        buf.pop(); // the closing brace
        buf.extend_from_slice(b",\"pad\":\"");
        let spaces = PLAINTEXT_LEN
            .checked_sub(buf.len() + 2)
            .expect("every valid answer fits the padded size");
        buf.extend(std::iter::repeat_n(b' ', spaces));
        buf.extend_from_slice(b"\"}");
        debug_assert_eq!(buf.len(), PLAINTEXT_LEN);
        buf
    }

    /// Read a plaintext back; it must be exactly what [`Answer::encode`]
    /// writes (a forged or damaged answer does not pass).
    fn decode(plain: &[u8]) -> Result<Answer, AnswerError> {
        let p: PlainIn = serde_json::from_slice(plain).map_err(|_| AnswerError::NotCanonical)?;
        if p.v != VERSION {
            return Err(AnswerError::NotCanonical);
        }
        let answer = Answer::new(p.status, p.reply, &p.text)?;
        if *answer.encode() != *plain {
            return Err(AnswerError::NotCanonical);
        }
        Ok(answer)
    }

    /// Seal this answer for the receipt that `derived` came from.
    pub fn seal(&self, derived: &Derived) -> SealedAnswer {
        let mut out = vec![0u8; SEALED_LEN].into_boxed_slice();
        getrandom::fill(&mut out[..NONCE_LEN])
            .expect("the operating system's random source failed");
        let nonce = Nonce::try_from(&out[..NONCE_LEN]).expect("12 bytes");
        let plain = self.encode();
        let body = &mut out[NONCE_LEN..NONCE_LEN + PLAINTEXT_LEN];
        body.copy_from_slice(&plain);
        let tag = ChaCha20Poly1305::new(derived.key().into())
            .encrypt_inout_detached(&nonce, &aad(&derived.lookup), body.into())
            .expect("a 4 KiB message is within ChaCha20-Poly1305's limits");
        out[NONCE_LEN + PLAINTEXT_LEN..].copy_from_slice(&tag);
        SealedAnswer(out)
    }
}

fn check_text(t: &str) -> Result<(), AnswerError> {
    if t.chars().count() > MAX_TEXT_CHARS {
        return Err(AnswerError::TextTooLong);
    }
    if t.chars().any(|c| c.is_control() && c != '\n') {
        return Err(AnswerError::TextControl);
    }
    Ok(())
}

fn aad(lookup: &Lookup) -> Vec<u8> {
    let mut a = Vec::with_capacity(AAD_PREFIX.len() + 32);
    a.extend_from_slice(AAD_PREFIX);
    a.extend_from_slice(&lookup.0);
    a
}

/// An answer as it travels and rests: [`SEALED_LEN`] bytes that open only
/// with the key derived from its receipt.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedAnswer(Box<[u8]>);

impl std::fmt::Debug for SealedAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealedAnswer({} bytes)", self.0.len())
    }
}

impl SealedAnswer {
    /// Bytes from a file or the server's store, if they have the one size.
    pub fn from_bytes(b: &[u8]) -> Option<SealedAnswer> {
        (b.len() == SEALED_LEN).then(|| SealedAnswer(b.into()))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Open with the key derived from the reporter's receipt.
    pub fn open(&self, derived: &Derived) -> Result<Answer, AnswerError> {
        let nonce = Nonce::try_from(&self.0[..NONCE_LEN]).expect("12 bytes");
        let tag = Tag::try_from(&self.0[NONCE_LEN + PLAINTEXT_LEN..]).expect("16 bytes");
        let mut plain = Zeroizing::new(self.0[NONCE_LEN..NONCE_LEN + PLAINTEXT_LEN].to_vec());
        ChaCha20Poly1305::new(derived.key().into())
            .decrypt_inout_detached(
                &nonce,
                &aad(&derived.lookup),
                plain.as_mut_slice().into(),
                &tag,
            )
            .map_err(|_| AnswerError::Sealed)?;
        Answer::decode(&plain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receipt::Receipt;
    use proptest::prelude::*;

    fn derived(code: &str) -> Derived {
        kdf::derive(&Receipt::parse(code).unwrap(), &Salt::from_bytes([1; 32]))
    }

    #[test]
    fn ids_round_trip_and_are_distinct() {
        for s in Status::ALL {
            assert_eq!(Status::from_id(s.id()), Some(s));
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.id())
            );
        }
        for r in Reply::ALL {
            assert_eq!(Reply::from_id(r.id()), Some(r));
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                format!("\"{}\"", r.id())
            );
        }
        assert_eq!(Status::from_id("done"), None);
        assert_eq!(Reply::from_id(""), None);
    }

    #[test]
    fn text_rules() {
        let a = Answer::new(Status::NeedMoreInfo, None, "  a\r\nb\rc\n  ").unwrap();
        assert_eq!(a.text(), "a\nb\nc");
        assert!(Answer::new(Status::Received, None, &"ب".repeat(MAX_TEXT_CHARS)).is_ok());
        assert_eq!(
            Answer::new(Status::Received, None, &"x".repeat(MAX_TEXT_CHARS + 1)).err(),
            Some(AnswerError::TextTooLong)
        );
        assert_eq!(
            Answer::new(Status::Received, None, "a\tb").err(),
            Some(AnswerError::TextControl)
        );
        assert_eq!(
            Answer::new(Status::Received, None, "a\u{7}").err(),
            Some(AnswerError::TextControl)
        );
    }

    #[test]
    fn the_longest_answer_fits_and_every_seal_has_one_size() {
        // 1000 four-byte characters, JSON-escaped quotes would be longer
        // per character but are one byte each in UTF-8: the worst case is
        // four-byte characters.
        let worst = Answer::new(
            Status::NeedMoreInfo,
            Some(Reply::NeedPlatformAccount),
            &"😀".repeat(MAX_TEXT_CHARS),
        )
        .unwrap();
        let quotes = Answer::new(Status::NeedMoreInfo, None, &"\"".repeat(MAX_TEXT_CHARS)).unwrap();
        let d = derived("AAAA-BBBB-CCCC-DDDD");
        for a in [&worst, &quotes] {
            assert_eq!(a.encode().len(), PLAINTEXT_LEN);
            assert_eq!(a.seal(&d).as_bytes().len(), SEALED_LEN);
        }
    }

    #[test]
    fn a_sealed_answer_opens_only_with_its_own_receipt_and_lookup() {
        let d = derived("AAAA-BBBB-CCCC-DDDD");
        let a = Answer::new(Status::ActionTaken, Some(Reply::Removed), "شكراً لك").unwrap();
        let sealed = a.seal(&d);
        let back = sealed.open(&d).unwrap();
        assert_eq!(back.status(), Status::ActionTaken);
        assert_eq!(back.reply(), Some(Reply::Removed));
        assert_eq!(back.text(), "شكراً لك");
        // Another receipt: another key.
        let other = derived("AAAA-BBBB-CCCC-DDDE");
        assert_eq!(sealed.open(&other).err(), Some(AnswerError::Sealed));
        // The right key but filed under another lookup: the AAD refuses it.
        let mut moved = derived("AAAA-BBBB-CCCC-DDDD");
        moved.lookup = other.lookup;
        assert_eq!(sealed.open(&moved).err(), Some(AnswerError::Sealed));
        // Any flipped bit anywhere.
        for i in [0, NONCE_LEN, SEALED_LEN / 2, SEALED_LEN - 1] {
            let mut b = sealed.as_bytes().to_vec();
            b[i] ^= 1;
            let bad = SealedAnswer::from_bytes(&b).unwrap();
            assert_eq!(bad.open(&d).err(), Some(AnswerError::Sealed));
        }
        // Two seals of one answer differ (random nonce).
        assert_ne!(a.seal(&d).as_bytes(), sealed.as_bytes());
        assert!(SealedAnswer::from_bytes(&[0; SEALED_LEN - 1]).is_none());
    }

    #[test]
    fn decoding_refuses_anything_but_the_canonical_form() {
        let a = Answer::new(Status::Received, Some(Reply::Thanks), "ok").unwrap();
        let good = a.encode();
        assert!(Answer::decode(&good).is_ok());
        let text = String::from_utf8(good.to_vec()).unwrap();
        for bad in [
            text.replacen("\"v\":1", "\"v\":2", 1),
            text.replacen("{\"v\":1,", "{ \"v\":1,", 1)
                .replacen("  \"}", " \"}", 1),
            text.replacen("\"ok\"", "\"ok \"", 1)
                .replacen("  \"}", " \"}", 1),
            text.replacen("\"pad\":\"  ", "\"pad\":\"x ", 1),
            text.replacen("\"thanks\"", "\"thanks\",\"x\":1", 1),
        ] {
            assert_eq!(
                Answer::decode(bad.as_bytes()).err(),
                Some(AnswerError::NotCanonical),
                "{}",
                &bad[..60]
            );
        }
        assert!(Answer::decode(&good[..PLAINTEXT_LEN - 1]).is_err());
    }

    fn any_answer() -> impl Strategy<Value = (Status, Option<Reply>, String)> {
        (
            proptest::sample::select(Status::ALL.to_vec()),
            proptest::option::of(proptest::sample::select(Reply::ALL.to_vec())),
            "[\\PC\n]{0,1000}",
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Whatever an analyst can write comes back exactly, through the
        /// plaintext encoding and through a seal.
        #[test]
        fn answers_round_trip((status, reply, text) in any_answer()) {
            let a = Answer::new(status, reply, &text).unwrap();
            let plain = a.encode();
            prop_assert_eq!(plain.len(), PLAINTEXT_LEN);
            let b = Answer::decode(&plain).unwrap();
            prop_assert_eq!(b.status(), status);
            prop_assert_eq!(b.reply(), reply);
            prop_assert_eq!(b.text(), a.text());
            let again = Answer::new(status, reply, a.text()).unwrap();
            prop_assert_eq!(a.text(), again.text());
        }
    }
}

//! The receipt: the code the reporter is shown once, on the thank-you
//! page, and the only way back to their report (its status, the analysts'
//! answer, adding information). It is a bearer secret: whoever holds it can
//! read the answer. The server never stores it readable: it is sealed
//! inside the report, and follow-up answers are found by a memory-hard KDF
//! of it ([`crate::answers`]).
//!
//! 80 random bits as 16 Crockford base32 symbols, `XXXX-XXXX-XXXX-XXXX`:
//! easy to copy, to read aloud and to type on a phone. Typing is forgiving
//! ([`Receipt::parse`]): spaces, dashes, lower case, the letters Crockford
//! reads as digits (O → 0, I and L → 1), and Arabic-Indic digits, which an
//! Arabic keyboard types.
//!
//! Document version 1 had 60-bit receipts (`XXXX-XXXX-XXXX`); they still
//! open ([`is_well_formed_v1`]) but cannot be used to follow a report up.

use zeroize::Zeroizing;

/// Symbols in a receipt.
pub const SYMBOLS: usize = 16;
/// Random bits in a receipt (5 per symbol).
pub const BITS: usize = SYMBOLS * 5;

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A receipt in its canonical form. Plaintext: never printed by accident.
pub struct Receipt(Zeroizing<String>);

static_assertions::assert_not_impl_any!(Receipt: std::fmt::Debug, std::fmt::Display, Clone, serde::Serialize);
static_assertions::const_assert!(BITS >= 80);

impl Receipt {
    /// A fresh receipt from the operating system's random source.
    pub fn random() -> Receipt {
        let mut bytes = Zeroizing::new([0u8; 10]);
        getrandom::fill(&mut *bytes).expect("the operating system's random source failed");
        let mut bits = Zeroizing::new(u128::from_le_bytes({
            let mut b = [0u8; 16];
            b[..10].copy_from_slice(&*bytes);
            b
        }));
        let mut code = Zeroizing::new(String::with_capacity(SYMBOLS + 3));
        for i in 0..SYMBOLS {
            if i > 0 && i % 4 == 0 {
                code.push('-');
            }
            code.push(CROCKFORD[(*bits & 31) as usize] as char);
            *bits >>= 5;
        }
        Receipt(code)
    }

    /// A receipt as a person typed it, or `None` if it cannot be one.
    /// Forgiving of spaces, dashes, case, O/I/L for 0/1/1 and Arabic-Indic
    /// or Persian digits; everything else must be a Crockford symbol.
    pub fn parse(typed: &str) -> Option<Receipt> {
        let mut symbols = Zeroizing::new(Vec::with_capacity(SYMBOLS));
        for c in typed.chars() {
            let s = match c {
                ' ' | '-' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\t' | '\u{a0}' => continue,
                // Invisible marks that copying from right-to-left text adds.
                '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
                    continue;
                }
                '\u{feff}' => continue,
                '0'..='9' => c as u8,
                '\u{660}'..='\u{669}' => b'0' + (c as u32 - 0x660) as u8,
                '\u{6f0}'..='\u{6f9}' => b'0' + (c as u32 - 0x6f0) as u8,
                'o' | 'O' => b'0',
                'i' | 'I' | 'l' | 'L' => b'1',
                c if c.is_ascii_alphabetic() => {
                    let up = c.to_ascii_uppercase() as u8;
                    if !CROCKFORD.contains(&up) {
                        return None;
                    }
                    up
                }
                _ => return None,
            };
            if symbols.len() == SYMBOLS {
                return None;
            }
            symbols.push(s);
        }
        if symbols.len() != SYMBOLS {
            return None;
        }
        let mut code = Zeroizing::new(String::with_capacity(SYMBOLS + 3));
        for (i, s) in symbols.iter().enumerate() {
            if i > 0 && i % 4 == 0 {
                code.push('-');
            }
            code.push(*s as char);
        }
        Some(Receipt(code))
    }

    /// The canonical text: for the thank-you page, the sealed document and
    /// the follow-up KDF. Never write it anywhere else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

fn groups_of_four(s: &str, groups: usize) -> bool {
    s.len() == groups * 5 - 1
        && s.split('-').count() == groups
        && s.split('-')
            .all(|g| g.len() == 4 && g.bytes().all(|b| CROCKFORD.contains(&b)))
}

/// Is this a receipt in canonical form (`XXXX-XXXX-XXXX-XXXX`)?
pub fn is_well_formed(s: &str) -> bool {
    groups_of_four(s, SYMBOLS / 4)
}

/// Is this a version-1 receipt (`XXXX-XXXX-XXXX`, 60 bits)?
pub fn is_well_formed_v1(s: &str) -> bool {
    groups_of_four(s, 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipts_are_canonical_distinct_and_carry_80_bits() {
        let mut seen = std::collections::HashSet::new();
        // Every symbol position takes many values: no bit is stuck.
        let mut per_position = vec![std::collections::HashSet::new(); SYMBOLS + 3];
        for _ in 0..2000 {
            let r = Receipt::random();
            assert!(is_well_formed(r.expose()), "{}", r.expose());
            for (i, b) in r.expose().bytes().enumerate() {
                per_position[i].insert(b);
            }
            assert!(seen.insert(r.expose().to_owned()));
        }
        for (i, values) in per_position.iter().enumerate() {
            let dash = i % 5 == 4;
            assert!(dash || values.len() == 32, "position {i}: {values:?}");
        }
    }

    #[test]
    fn typing_is_forgiving_but_exact() {
        let r = Receipt::random();
        let canonical = r.expose().to_owned();
        let squeezed: String = canonical.chars().filter(|c| *c != '-').collect();
        for typed in [
            canonical.clone(),
            canonical.to_lowercase(),
            squeezed.clone(),
            format!("  {} ", canonical.replace('-', " ")),
            squeezed.to_lowercase(),
            format!("\u{200f}{canonical}\u{200e}"),
        ] {
            assert_eq!(
                Receipt::parse(&typed).map(|r| r.expose().to_owned()),
                Some(canonical.clone()),
                "{typed:?}"
            );
        }
        // Crockford's look-alikes, and digits from an Arabic keyboard.
        assert_eq!(
            Receipt::parse("oIlO-0000-1111-2222").unwrap().expose(),
            "0110-0000-1111-2222"
        );
        assert_eq!(
            Receipt::parse("٠١٢٣-٤٥٦٧-۸۹AB-cdef").unwrap().expose(),
            "0123-4567-89AB-CDEF"
        );
        for bad in [
            "",
            "ABCD-EFGH-JKMN",            // a v1 receipt: too short
            "ABCD-EFGH-JKMN-PQRS-T",     // too long
            "ABCD-EFGH-JKMN-PQRU",       // U is not Crockford
            "ABCD_EFGH_JKMN_PQRS",       // underscores are not separators
            "ABCD-EFGH-JKMN-PQR\u{301}", // a combining accent
        ] {
            assert!(Receipt::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn both_receipt_generations_are_recognised() {
        assert!(is_well_formed("0123-4567-89AB-CDEF"));
        assert!(!is_well_formed("0123-4567-89AB"));
        assert!(is_well_formed_v1("0123-4567-89AB"));
        assert!(!is_well_formed_v1("ABCD-EFGH-IJKL")); // I and L are not Crockford
    }
}

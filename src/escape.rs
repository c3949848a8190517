//! Text that came from a bundle, a document or a reporter, made safe for
//! where it is shown next. Both builds have this module: the analyst tool
//! prints bundle entry names and writes spreadsheets, the server prints
//! nothing a reporter wrote but shares the CSV rules with the desk.
//!
//! - [`terminal`]: for a terminal or a log line. A tampered bundle can put
//!   escape sequences in an entry name that rewrite the lines printed
//!   before it ("could NOT be opened" turned into "all opened"); every
//!   control, bidi and other invisible formatting character is shown as
//!   `\u{…}` instead, and `\` itself as `\\` so the escaping is
//!   unambiguous.
//! - [`csv_cell`]: for a cell of a CSV file an analyst opens in a
//!   spreadsheet. A cell starting with `=`, `+`, `-`, `@`, a tab or a
//!   carriage return is a formula (or becomes one) in Excel, LibreOffice
//!   and Google Sheets; prefixing `'` makes it text (OWASP's advice).

use std::borrow::Cow;
use std::fmt::Write as _;

/// Characters that change how a terminal (or a bidi-aware viewer) shows
/// what follows: C0 and C1 controls, DEL, and Unicode's format characters
/// (bidi embeddings, overrides and isolates, zero-width joiners, BOM...).
fn unsafe_for_terminal(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}'
            | '\u{061C}'
            | '\u{115F}' | '\u{1160}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E007F}')
}

/// `s` as it may be printed to a terminal or written to a log: unchanged
/// if it holds nothing that could move the cursor, recolour, hide or
/// reorder text; otherwise with each such character (and `\`) escaped.
pub fn terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c == '\\' || unsafe_for_terminal(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c == '\\' {
            out.push_str("\\\\");
        } else if unsafe_for_terminal(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `s` as a CSV cell that a spreadsheet shows as text, never evaluates.
pub fn csv_cell(s: &str) -> Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_escapes_what_could_rewrite_the_screen() {
        assert!(matches!(terminal("r-0001.age"), Cow::Borrowed(_)));
        assert!(matches!(terminal("تقرير"), Cow::Borrowed(_)));
        // Cursor up + erase line + a fake message: all shown, none acted on.
        let evil = "x\u{1b}[1A\u{1b}[2K\rall opened\u{7}\u{9b}31m";
        let shown = terminal(evil);
        assert!(!shown.chars().any(|c| c.is_control()), "{shown}");
        assert_eq!(
            shown,
            "x\\u{1b}[1A\\u{1b}[2K\\u{d}all opened\\u{7}\\u{9b}31m"
        );
        // Bidi override and isolate reorder what follows; zero-width hides.
        assert_eq!(
            terminal("a\u{202e}b\u{2066}c\u{200b}"),
            "a\\u{202e}b\\u{2066}c\\u{200b}"
        );
        // A literal backslash-u in a name cannot pose as an escape.
        assert_eq!(terminal("\\u{1b}"), "\\\\u{1b}");
        assert_eq!(terminal("line\nbreak"), "line\\u{a}break");
    }

    #[test]
    fn csv_cells_that_a_spreadsheet_would_evaluate_become_text() {
        for (raw, want) in [
            ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
            ("+1+1", "'+1+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("https://a.example.com/=x", "https://a.example.com/=x"),
            ("", ""),
            ("واتساب", "واتساب"),
        ] {
            assert_eq!(csv_cell(raw), want, "{raw:?}");
        }
    }
}

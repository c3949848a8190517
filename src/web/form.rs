//! Step 3a: the size-capped request body becomes a [`FormInput`].
//!
//! `form_urlencoded` does the parsing, but it silently repairs what it
//! cannot decode (invalid UTF-8 becomes U+FFFD, a stray `%` is kept). A
//! report must arrive exactly as typed or not at all, so anything it would
//! have repaired is refused: stray `%`s by one scan of the body first, and
//! undecodable UTF-8 by a strict check of the body whenever a U+FFFD comes
//! out (rare: only then can a repair hide behind a character someone typed).

use crate::report::FormInput;
use percent_encoding::percent_decode;
use std::borrow::Cow;
use zeroize::Zeroizing;

#[derive(Debug, PartialEq, Eq)]
pub enum FormError {
    /// Not valid `application/x-www-form-urlencoded` UTF-8.
    Encoding,
    /// A field of the report appears more than once.
    Duplicate,
}

/// Does every `%` start a two-digit hex escape?
fn escapes_are_whole(body: &[u8]) -> bool {
    let mut i = 0;
    while let Some(at) = body[i..].iter().position(|&b| b == b'%') {
        let p = i + at;
        let ok = body.len() > p + 2
            && body[p + 1].is_ascii_hexdigit()
            && body[p + 2].is_ascii_hexdigit();
        if !ok {
            return false;
        }
        i = p + 3;
    }
    true
}

/// Does every name and value decode to UTF-8 with nothing replaced?
fn decodes_to_utf8(body: &[u8]) -> bool {
    body.split(|&b| b == b'&').all(|segment| {
        let decoded = Zeroizing::new(percent_decode(segment).collect::<Vec<u8>>());
        std::str::from_utf8(&decoded).is_ok()
    })
}

/// Parse a form body. Unknown fields (a submit button's name, say) are
/// ignored; the report's own fields may appear at most once each.
pub fn parse(body: &[u8]) -> Result<FormInput, FormError> {
    parse_into(body, None)
}

/// Parse a follow-up form: the report's fields and the `receipt` typed
/// or carried along (at most once), read as strictly as a report.
pub fn parse_follow_up(body: &[u8]) -> Result<(FormInput, Zeroizing<String>), FormError> {
    let mut receipt = Zeroizing::new(String::new());
    let input = parse_into(body, Some(&mut receipt))?;
    Ok((input, receipt))
}

fn parse_into(body: &[u8], mut receipt: Option<&mut String>) -> Result<FormInput, FormError> {
    if std::str::from_utf8(body).is_err() || !escapes_are_whole(body) {
        return Err(FormError::Encoding);
    }
    let mut input = FormInput::default();
    let mut seen = [false; 10];
    let mut checked = false;
    for (name, value) in form_urlencoded::parse(body) {
        if !checked && (name.contains('\u{FFFD}') || value.contains('\u{FFFD}')) {
            if !decodes_to_utf8(body) {
                return Err(FormError::Encoding);
            }
            checked = true;
        }
        let (slot, field) = match name.as_ref() {
            "urls" => (0, &mut input.urls),
            "category" => (1, &mut input.category),
            "where_seen" => (2, &mut input.where_seen),
            "description" => (3, &mut input.description),
            "platform" => (4, &mut input.platform),
            "platform_name" => (5, &mut input.platform_name),
            "accounts" => (6, &mut input.accounts),
            "money" => (7, &mut input.money),
            "images" => (8, &mut input.images),
            "receipt" => match receipt.as_deref_mut() {
                Some(r) => (9, r),
                None => continue,
            },
            _ => continue,
        };
        if seen[slot] {
            return Err(FormError::Duplicate);
        }
        seen[slot] = true;
        // The field is empty, and FormInput wipes it on drop: move the
        // decoded string in rather than copy it.
        match value {
            Cow::Owned(v) => *field = v,
            Cow::Borrowed(v) => field.push_str(v),
        }
    }
    Ok(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fields_exactly() {
        let f = parse(b"urls=https%3A%2F%2Fe.com%2Fa%0D%0Ahttp%3A%2F%2Fx.onion&category=grooming&where_seen=&description=%D8%B3%D9%84%D8%A7%D9%85+a%2Bb&submit=").unwrap();
        assert_eq!(f.urls, "https://e.com/a\r\nhttp://x.onion");
        assert_eq!(f.category, "grooming");
        assert_eq!(f.where_seen, "");
        assert_eq!(f.description, "سلام a+b");
    }

    #[test]
    fn refuses_what_it_would_repair() {
        assert_eq!(parse(b"description=%FF").err(), Some(FormError::Encoding));
        assert_eq!(parse(b"description=%zz").err(), Some(FormError::Encoding));
        assert_eq!(parse(b"description=50%").err(), Some(FormError::Encoding));
        assert_eq!(parse(b"description=\xff").err(), Some(FormError::Encoding));
        assert_eq!(parse(b"urls=a&urls=b").err(), Some(FormError::Duplicate));
        assert!(parse(b"").is_ok());
        assert!(parse(b"x=1&x=2&urls=a").is_ok());
        // Repairs hide behind U+FFFD in any field, known or not…
        assert_eq!(parse(b"urls=a&x=%C3").err(), Some(FormError::Encoding));
        assert_eq!(parse(b"%FF=1&urls=a").err(), Some(FormError::Encoding));
        assert_eq!(parse(b"description=%").err(), Some(FormError::Encoding));
        assert_eq!(parse(b"description=%4").err(), Some(FormError::Encoding));
        // …but a U+FFFD the reporter typed arrives as typed.
        let f = parse("description=%EF%BF%BD+\u{FFFD}".as_bytes()).unwrap();
        assert_eq!(f.description, "\u{FFFD} \u{FFFD}");
        // Field names may be escaped too.
        assert_eq!(parse(b"%75rls=a").unwrap().urls, "a");
    }

    #[test]
    fn follow_up_forms_carry_the_receipt_once() {
        let (input, receipt) =
            parse_follow_up(b"receipt=7k3m+q9tx-2d4f&description=%D8%B3").unwrap();
        assert_eq!(&*receipt, "7k3m q9tx-2d4f");
        assert_eq!(input.description, "س");
        assert_eq!(
            parse_follow_up(b"receipt=a&receipt=b").err(),
            Some(FormError::Duplicate)
        );
        assert_eq!(
            parse_follow_up(b"receipt=%FF").err(),
            Some(FormError::Encoding)
        );
        // A report's form has no receipt: one sent along is ignored.
        assert!(parse(b"receipt=a&receipt=b").is_ok());
    }
}

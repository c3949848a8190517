//! Step 3a: the size-capped request body becomes a [`FormInput`].
//!
//! `form_urlencoded` does the parsing, but it silently repairs what it
//! cannot decode (invalid UTF-8 becomes U+FFFD, a stray `%` is kept). A
//! report must arrive exactly as typed or not at all, so the body is
//! checked strictly first and anything it would have repaired is refused.

use crate::report::FormInput;
use percent_encoding::percent_decode;
use zeroize::Zeroizing;

#[derive(Debug, PartialEq, Eq)]
pub enum FormError {
    /// Not valid `application/x-www-form-urlencoded` UTF-8.
    Encoding,
    /// A field of the report appears more than once.
    Duplicate,
}

fn strictly_decodable(segment: &[u8]) -> bool {
    // Every `%` must start a two-digit hex escape…
    let mut i = 0;
    while i < segment.len() {
        if segment[i] == b'%' {
            let ok = segment.len() > i + 2
                && segment[i + 1].is_ascii_hexdigit()
                && segment[i + 2].is_ascii_hexdigit();
            if !ok {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    // …and what they decode to must be UTF-8.
    let decoded = Zeroizing::new(percent_decode(segment).collect::<Vec<u8>>());
    std::str::from_utf8(&decoded).is_ok()
}

/// Parse a form body. Unknown fields (a submit button's name, say) are
/// ignored; the report's own fields may appear at most once each.
pub fn parse(body: &[u8]) -> Result<FormInput, FormError> {
    if std::str::from_utf8(body).is_err() || !body.split(|&b| b == b'&').all(strictly_decodable) {
        return Err(FormError::Encoding);
    }
    let mut input = FormInput::default();
    let mut seen = [false; 4];
    for (name, value) in form_urlencoded::parse(body) {
        let (slot, field) = match name.as_ref() {
            "urls" => (0, &mut input.urls),
            "category" => (1, &mut input.category),
            "where_seen" => (2, &mut input.where_seen),
            "description" => (3, &mut input.description),
            _ => continue,
        };
        if seen[slot] {
            return Err(FormError::Duplicate);
        }
        seen[slot] = true;
        let mut value = value.into_owned();
        field.push_str(&value);
        zeroize::Zeroize::zeroize(&mut value);
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
    }
}

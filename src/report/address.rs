//! Step 3, for the address box: what a reporter typed, line by line, into
//! web addresses an analyst can act on, or a problem that names the line
//! and says what to do instead.
//!
//! A line is one address, or several separated by spaces; a line of words
//! is one entry, not several. An entry is accepted when it is an http(s)
//! URL, or a bare host and path that becomes one, whose host is plausibly
//! public: a domain under a suffix in the Public Suffix List (Arabic-script
//! domains too: the analyst gets both the typed form and the punycode),
//! a v3 `.onion` whose checksum holds, or a public IP address. Punctuation
//! a person adds around an address (`.`, `,`, `،`, `)` …) is trimmed, and
//! so are the invisible direction marks that copying from Arabic text adds,
//! and the numbers or bullets of a list ("1.", "-", "•").
//!
//! What people put in this box instead of an address gets its own answer:
//! words; an account name, e-mail address or phone number; an address cut
//! short where an app showed it with "…"; a mistyped `http://`. A bare
//! entry (no `http://`) must look like a host to count as an attempt at an
//! address at all, so `n/a`, `12/05/2024` or `3.14` are words, not hosts.

use super::Problem;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use url::{Host, Url};
use zeroize::Zeroizing;

/// Per address, in characters as typed.
pub const MAX_URL_CHARS: usize = 2048;

/// One accepted address: as the reporter typed it (trimmed), and as a
/// normalised absolute URL (ASCII: an internationalised domain in
/// punycode) that analysts compare and look up.
pub struct Address {
    pub typed: Zeroizing<String>,
    pub url: Zeroizing<String>,
}

/// Host names that only mean something on the reporter's own device or
/// network (RFC 6761, RFC 6762, RFC 8375, and common home-router names).
const LOCAL_SUFFIXES: [&str; 10] = [
    "localhost",
    "local",
    "localdomain",
    "internal",
    "intranet",
    "lan",
    "home",
    "home.arpa",
    "corp",
    "private",
];

/// Text around an address that is punctuation, not address: what a person
/// types after it in a sentence, or quotes it with.
const TRAILING: &[char] = &[
    '.', ',', ';', ':', '!', '?', ')', ']', '}', '>', '"', '\'', '»', '›', '…', '”', '’', '،', '؛',
    '؟', '۔', '。',
];
const LEADING: &[char] = &['(', '[', '{', '<', '"', '\'', '«', '‹', '“', '‘'];

/// Zero-width and direction-formatting characters: invisible, and a way
/// to make one address or name look like another. Dropped from what is
/// typed, and never in a document.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{feff}' | '\u{ad}')
}

/// Trim the punctuation a person puts around an address. A closing
/// bracket stays when the address opened it (`…/Foo_(bar)`).
fn trim_punctuation(token: &str) -> &str {
    let mut t = token.trim_start_matches(LEADING);
    while let Some(last) = t.chars().last() {
        if !TRAILING.contains(&last) {
            break;
        }
        let balanced = |open: char, close: char| {
            last == close && t.matches(open).count() >= t.matches(close).count()
        };
        if balanced('(', ')') || balanced('[', ']') {
            break;
        }
        t = &t[..t.len() - last.len_utf8()];
    }
    t
}

/// What one entry turned out to be.
enum Entry {
    Address(Address),
    /// Not an attempt at an address at all (a word).
    Word,
    /// An attempt at an address, refused for this reason.
    Refused(fn(usize) -> Problem),
}

/// Does this look like an attempt at an address (as opposed to a word)?
fn looks_like_address(t: &str) -> bool {
    t.contains("://") || t.contains('.') || t.contains('/') || t.contains(':')
}

/// The scheme the reporter typed, if any: `http`, `HTTPS`, `ftp`,
/// `javascript`, or a mistyped `htps`. `example.com:8080` has none.
fn typed_scheme(t: &str) -> Option<&str> {
    if let Some(i) = t.find("://") {
        return Some(&t[..i]);
    }
    let (head, _) = t.split_once(':')?;
    let is_scheme = head.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && head
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-'));
    // `host:port/…` is a host, not a scheme.
    let rest = &t[head.len() + 1..];
    let port_follows = rest.chars().next().is_some_and(|c| c.is_ascii_digit());
    (is_scheme && !port_follows).then_some(head)
}

/// `http://` with a slip of the finger or a first letter lost in copying:
/// `http//`, `http:/`, `https;//`, `ttps://`, `hxxp://`.
fn mistyped_scheme(lower: &str) -> bool {
    let slash_slip = [
        "http//", "https//", "http:/", "https:/", "http:\\", "https:\\",
    ]
    .iter()
    .any(|p| lower.starts_with(p));
    let well_formed = lower.starts_with("http://") || lower.starts_with("https://");
    let letters_then_slashes = lower.find("//").is_some_and(|i| {
        let head = lower[..i].trim_end_matches([':', ';', '.', ',', '\\']);
        (2..=6).contains(&head.len()) && head.bytes().all(|b| b.is_ascii_alphabetic())
    });
    !well_formed && (slash_slip || letters_then_slashes)
}

/// Schemes of a way to reach a person, not a page.
const CONTACT_SCHEMES: [&str; 7] = [
    "mailto", "tel", "sms", "skype", "callto", "whatsapp", "viber",
];

/// The host of an entry typed without a scheme, as typed: `example.com`
/// in `example.com:8080/x`, `[::1]` in `[::1]/`.
fn typed_host(t: &str) -> &str {
    let t = t.trim_start_matches('/');
    let authority = &t[..t.find(['/', '?', '#', '\\']).unwrap_or(t.len())];
    if authority.starts_with('[') {
        return authority.split_inclusive(']').next().unwrap_or(authority);
    }
    authority.split(':').next().unwrap_or(authority)
}

/// `192.0.2.1`: four decimal numbers, as people write an IP address.
/// `3.14` and `1.2.3` are numbers, not addresses (the URL standard would
/// read them as `3.0.0.14` and `1.2.0.3`).
fn is_dotted_quad(host: &str) -> bool {
    let parts: Vec<&str> = host.trim_end_matches('.').split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            (1..=3).contains(&p.len())
                && p.bytes().all(|b| b.is_ascii_digit())
                && p.parse::<u16>().is_ok_and(|n| n <= 255)
        })
}

fn check_entry(token: &str) -> Entry {
    if token.chars().count() > MAX_URL_CHARS {
        return Entry::Refused(Problem::UrlTooLong);
    }
    if token.chars().any(char::is_control) {
        return Entry::Refused(Problem::UrlInvalid);
    }
    if token.starts_with('@') {
        return Entry::Refused(Problem::UrlAccount);
    }
    if !looks_like_address(token) {
        // `localhost` is a word that is also a host.
        return if token.eq_ignore_ascii_case("localhost") {
            Entry::Refused(Problem::UrlLocal)
        } else {
            Entry::Word
        };
    }
    let lower = token.to_ascii_lowercase();
    if mistyped_scheme(&lower) {
        return Entry::Refused(Problem::UrlScheme);
    }
    let absolute = match typed_scheme(token) {
        Some(s) if s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https") => {
            Url::parse(token)
        }
        Some(s) if CONTACT_SCHEMES.iter().any(|c| s.eq_ignore_ascii_case(c)) => {
            return Entry::Refused(Problem::UrlAccount);
        }
        Some(_) if token.contains('@') && !token.contains("://") => {
            return Entry::Refused(Problem::UrlAccount);
        }
        Some(_) => return Entry::Refused(Problem::UrlScheme),
        None => {
            // No scheme: a host and path, or something else entirely.
            let authority = &token[..token.find(['/', '?', '#']).unwrap_or(token.len())];
            if authority.contains('@') {
                // `someone@example.com`: an e-mail address.
                return Entry::Refused(Problem::UrlAccount);
            }
            let host = typed_host(token);
            if !host.starts_with('[') {
                if !host.contains('.') {
                    return if LOCAL_SUFFIXES.iter().any(|s| host.eq_ignore_ascii_case(s)) {
                        Entry::Refused(Problem::UrlLocal)
                    } else {
                        Entry::Word
                    };
                }
                if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') && !is_dotted_quad(host) {
                    return Entry::Word;
                }
            }
            Url::parse(&format!("http://{token}"))
        }
    };
    let Ok(url) = absolute else {
        return Entry::Refused(Problem::UrlInvalid);
    };
    match check_host(&url) {
        Ok(()) => Entry::Address(Address {
            typed: Zeroizing::new(token.to_owned()),
            url: Zeroizing::new(url.into()),
        }),
        Err(p) => Entry::Refused(p),
    }
}

/// Is the URL's host one that anyone on the internet (or on Tor) can reach?
fn check_host(url: &Url) -> Result<(), fn(usize) -> Problem> {
    match url.host() {
        None => Err(Problem::UrlInvalid),
        Some(Host::Ipv4(ip)) => public_ip(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => public_ip(IpAddr::V6(ip)),
        Some(Host::Domain(d)) => check_domain(d.trim_end_matches('.')),
    }
}

fn check_domain(d: &str) -> Result<(), fn(usize) -> Problem> {
    if d.is_empty() {
        return Err(Problem::UrlInvalid);
    }
    if LOCAL_SUFFIXES
        .iter()
        .any(|s| d == *s || d.ends_with(&format!(".{s}")))
    {
        return Err(Problem::UrlLocal);
    }
    // The URL standard lets `www,example.com` and `example..com` through;
    // no resolver does. (The host is ASCII here: punycode for IDNs.
    // Underscores and edge hyphens stay: real subdomains have them.)
    let labels_ok = d.len() <= 253
        && d.split('.').all(|l| {
            (1..=63).contains(&l.len())
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if !labels_ok {
        return Err(Problem::UrlInvalid);
    }
    if !d.contains('.') {
        return Err(Problem::UrlSingleLabel);
    }
    if let Some(rest) = d.strip_suffix(".onion") {
        let name = rest.rsplit('.').next().unwrap_or(rest);
        return match name.len() {
            16 => Err(Problem::UrlOnionV2),
            56 if onion_v3_ok(name) => Ok(()),
            _ => Err(Problem::UrlOnionInvalid),
        };
    }
    match (psl::suffix(d.as_bytes()), psl::domain(d.as_bytes())) {
        (Some(s), Some(_)) if s.is_known() => Ok(()),
        (Some(s), None) if s.is_known() => Err(Problem::UrlSingleLabel),
        _ => Err(Problem::UrlUnknownEnding),
    }
}

/// A v3 onion name: base32 of public key (32) ‖ checksum (2) ‖ version
/// (1, = 3), where checksum = SHA3-256(".onion checksum" ‖ key ‖ version)[..2]
/// (Tor's rend-spec-v3). A typo breaks the checksum.
fn onion_v3_ok(name: &str) -> bool {
    use sha3::{Digest, Sha3_256};
    let Some(bytes) = data_encoding::BASE32_NOPAD
        .decode(name.to_ascii_uppercase().as_bytes())
        .ok()
    else {
        return false;
    };
    if bytes.len() != 35 || bytes[34] != 3 {
        return false;
    }
    let mut h = Sha3_256::new();
    h.update(b".onion checksum");
    h.update(&bytes[..32]);
    h.update([3u8]);
    h.finalize()[..2] == bytes[32..34]
}

fn public_ip(ip: IpAddr) -> Result<(), fn(usize) -> Problem> {
    let public = match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => public_v4(v4),
            None => public_v6(v6),
        },
    };
    if public {
        Ok(())
    } else {
        Err(Problem::UrlLocal)
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240)
}

fn public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first == 0x2001 && ip.segments()[1] == 0x0db8)) // documentation
}

/// A digit as a phone or a list types it: ASCII, Arabic-Indic or Persian.
fn is_any_digit(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, '\u{660}'..='\u{669}' | '\u{6f0}'..='\u{6f9}')
}

/// A line's first word that only numbers or bullets a list: `1.`, `2)`,
/// `٣-`, `-`, `•`.
fn is_list_marker(t: &str) -> bool {
    if matches!(t, "-" | "*" | "•" | "·" | "–" | "—" | "‣" | "◦" | "▪" | ">") {
        return true;
    }
    let Some(last) = t.chars().last() else {
        return false;
    };
    let number = &t[..t.len() - last.len_utf8()];
    matches!(last, '.' | ')' | '-' | ':')
        && (1..=3).contains(&number.chars().count())
        && number.chars().all(is_any_digit)
}

/// A line that is a phone number (`+33 6 12 34 56 78`, `06.12.34.56.78`,
/// `(555) 010-0199`): an account, for the analyst, not an address.
fn is_phone_number(line: &str) -> bool {
    let line = line.trim();
    let digits = line.chars().filter(|c| is_any_digit(*c)).count();
    let shape = line
        .chars()
        .all(|c| is_any_digit(c) || matches!(c, '+' | '-' | '(' | ')' | '.') || c.is_whitespace());
    (7..=20).contains(&digits) && shape && !is_dotted_quad(line)
}

/// Split `a.com/x,https://b.com/y`: addresses pasted one after the other
/// with only a comma (or `،`, `;`) between them. A comma inside one
/// address (`/a,b`) stays.
fn split_glued(token: &str) -> Vec<&str> {
    let starts_address = |rest: &str| {
        ["http://", "https://", "www."].iter().any(|p| {
            rest.len() >= p.len() && rest.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
        })
    };
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, c) in token.char_indices() {
        let after = i + c.len_utf8();
        if matches!(c, ',' | '،' | ';' | '؛') && starts_address(&token[after..]) {
            parts.push(&token[start..after]);
            start = after;
        }
    }
    parts.push(&token[start..]);
    parts
}

/// Was this entry cut short where an app displayed it (`…`, `...`)?
fn is_cut(raw: &str) -> bool {
    raw.contains('…')
        || raw
            .trim_end_matches(['"', '\'', ')', ']', '>', '»', '”', '’'])
            .ends_with("...")
}

/// Every address in the address box, or every problem, each naming its
/// line (1-based, counting blank lines, as the reporter sees them). An
/// address given twice is kept once.
pub fn parse_addresses(text: &str) -> (Vec<Address>, Vec<Problem>) {
    let mut found: Vec<Address> = Vec::new();
    let mut problems = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let cleaned: Zeroizing<String> =
            Zeroizing::new(raw.chars().filter(|c| !is_invisible(*c)).collect());
        if is_phone_number(&cleaned) {
            problems.push(Problem::UrlAccount(line));
            continue;
        }
        let entries: Vec<Entry> = cleaned
            .split_whitespace()
            .enumerate()
            .filter(|(k, t)| !(*k == 0 && is_list_marker(t)))
            .flat_map(|(_, t)| split_glued(t))
            .filter_map(|raw| {
                let t = trim_punctuation(raw);
                if t.is_empty() {
                    return None;
                }
                Some(match check_entry(t) {
                    Entry::Word => Entry::Word,
                    _ if is_cut(raw) => Entry::Refused(Problem::UrlCut),
                    e => e,
                })
            })
            .collect();
        let addresses = entries
            .iter()
            .filter(|e| matches!(e, Entry::Address(_)))
            .count();
        let words = entries.iter().filter(|e| matches!(e, Entry::Word)).count();
        if entries.is_empty() {
            continue;
        }
        if words == entries.len() {
            problems.push(Problem::UrlNotAddress(line));
        } else if words > 0 && addresses > 0 {
            problems.push(Problem::UrlWithWords(line));
        } else if let Some(refused) = entries.iter().find_map(|e| match e {
            Entry::Refused(p) => Some(p(line)),
            _ => None,
        }) {
            problems.push(refused);
        } else if words > 0 {
            problems.push(Problem::UrlNotAddress(line));
        } else {
            for e in entries {
                if let Entry::Address(a) = e {
                    if !found.iter().any(|f| *f.url == *a.url) {
                        found.push(a);
                    }
                }
            }
        }
    }
    (found, problems)
}

/// The rule of document version 1 (kept so version-1 documents can be
/// re-checked on opening): any http(s) URL with a host, `http://` assumed.
pub fn v1_parse(typed: &str) -> Option<Url> {
    let parsed = match Url::parse(typed) {
        Ok(u) => u,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            Url::parse(&format!("http://{typed}")).ok()?
        }
        Err(_) => return None,
    };
    (matches!(parsed.scheme(), "http" | "https")
        && parsed.host_str().is_some_and(|h| !h.is_empty()))
    .then_some(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONION: &str = "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid";

    fn ok(typed: &str) -> Vec<(String, String)> {
        let (found, problems) = parse_addresses(typed);
        assert!(problems.is_empty(), "{typed:?} refused: {problems:?}");
        found
            .into_iter()
            .map(|a| (a.typed.to_string(), a.url.to_string()))
            .collect()
    }

    fn refused(typed: &str) -> Vec<Problem> {
        let (found, problems) = parse_addresses(typed);
        assert!(
            !problems.is_empty(),
            "{typed:?} accepted as {:?}",
            found.iter().map(|a| a.url.to_string()).collect::<Vec<_>>()
        );
        problems
    }

    /// The table the issue asks for: typed input → accepted (normalised)
    /// or refused (which message).
    #[test]
    fn typed_addresses_are_accepted_normalised_or_refused_with_the_right_message() {
        let accepted: &[(&str, &[&str])] = &[
            ("https://example.com/page", &["https://example.com/page"]),
            ("example.com/page", &["http://example.com/page"]),
            ("www.example.com", &["http://www.example.com/"]),
            (
                "HTTPS://Example.COM/A?b=1#c",
                &["https://example.com/A?b=1#c"],
            ),
            ("example.com.", &["http://example.com/"]),
            ("See: example.com/x.", &[]), // words + address: refused below
            (
                "https://example.com/a, https://example.org/b",
                &["https://example.com/a", "https://example.org/b"],
            ),
            (
                "(https://en.wikipedia.org/wiki/Foo_(bar))",
                &["https://en.wikipedia.org/wiki/Foo_(bar)"],
            ),
            ("«example.co.uk/x»", &["http://example.co.uk/x"]),
            ("example.com:8080/x", &["http://example.com:8080/x"]),
            ("https://93.184.215.14/x", &["https://93.184.215.14/x"]),
            (
                "http://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/",
                &["http://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/"],
            ),
            // Arabic script: an Arabic domain under Morocco's Arabic TLD,
            // an Arabic path, an Arabic comma after it, and the invisible
            // right-to-left mark that copying from Arabic text adds.
            (
                "\u{200f}موقع.المغرب/صفحة،",
                &["http://xn--4gbrim.xn--mgbc0a9azcg/%D8%B5%D9%81%D8%AD%D8%A9"],
            ),
            ("https://مثال.مصر", &["https://xn--mgbh0fb.xn--wgbh1c/"]),
            (
                "http://example.com/بحث?q=طفل؛",
                &["http://example.com/%D8%A8%D8%AD%D8%AB?q=%D8%B7%D9%81%D9%84"],
            ),
            // An Arabic domain under a Latin ending, an Arabic path and
            // query under a Latin domain, and punycode typed as such.
            ("مثال.com", &["http://xn--mgbh0fb.com/"]),
            (
                "https://www.example.com/قسم?بحث=نعم",
                &[
                    "https://www.example.com/%D9%82%D8%B3%D9%85?%D8%A8%D8%AD%D8%AB=%D9%86%D8%B9%D9%85",
                ],
            ),
            (
                "xn--mgbh0fb.xn--wgbh1c",
                &["http://xn--mgbh0fb.xn--wgbh1c/"],
            ),
            // A numbered or bulleted list, in either script.
            ("1. https://a.example.com/x", &["https://a.example.com/x"]),
            ("• example.com/x", &["http://example.com/x"]),
            ("١) example.com/x", &["http://example.com/x"]),
            // Pasted one after the other with only a comma between; a
            // comma inside an address stays.
            (
                "https://a.example.com/x,https://b.example.com/y",
                &["https://a.example.com/x", "https://b.example.com/y"],
            ),
            (
                "example.com/x،www.example.org",
                &["http://example.com/x", "http://www.example.org/"],
            ),
            ("https://example.com/a,b", &["https://example.com/a,b"]),
            // `@` in a path is a profile, not an e-mail address.
            ("tiktok.com/@someone", &["http://tiktok.com/@someone"]),
            (
                "https://medium.com/@a/post",
                &["https://medium.com/@a/post"],
            ),
            // The same address twice is kept once.
            (
                "example.com/x\nhttp://example.com/x",
                &["http://example.com/x"],
            ),
            ("//example.com/x", &["http://example.com/x"]),
            ("8.8.8.8:53", &["http://8.8.8.8:53/"]),
        ];
        for (typed, want) in accepted {
            if want.is_empty() {
                continue;
            }
            let got: Vec<String> = ok(typed).into_iter().map(|(_, u)| u).collect();
            assert_eq!(&got, want, "{typed:?}");
        }
        let onion = format!("http://{ONION}.onion/x");
        assert_eq!(ok(&format!("{ONION}.onion/x"))[0].1, onion);
        assert_eq!(
            ok(&format!("www.{ONION}.onion"))[0].1,
            format!("http://www.{ONION}.onion/")
        );
        // What the reporter typed is kept as typed (without the punctuation).
        assert_eq!(ok("موقع.المغرب/صفحة.")[0].0, "موقع.المغرب/صفحة");

        let cases: &[(&str, Problem)] = &[
            ("not a url at all", Problem::UrlNotAddress(1)),
            ("example", Problem::UrlNotAddress(1)),
            ("لا أعرف الرابط", Problem::UrlNotAddress(1)),
            ("See: example.com/x.", Problem::UrlWithWords(1)),
            (
                "https://example.com/a is the link",
                Problem::UrlWithWords(1),
            ),
            ("http://localhost/x", Problem::UrlLocal(1)),
            ("localhost", Problem::UrlLocal(1)),
            ("printer.local/admin", Problem::UrlLocal(1)),
            ("router.home.arpa", Problem::UrlLocal(1)),
            ("http://192.168.1.1/", Problem::UrlLocal(1)),
            ("10.0.0.5/x", Problem::UrlLocal(1)),
            ("http://127.0.0.1:8080/", Problem::UrlLocal(1)),
            ("http://2130706433/", Problem::UrlLocal(1)), // 127.0.0.1 in decimal
            ("http://[::1]/", Problem::UrlLocal(1)),
            ("http://[fe80::1]/", Problem::UrlLocal(1)),
            ("http://[::ffff:10.0.0.1]/", Problem::UrlLocal(1)),
            ("http://100.64.0.1/", Problem::UrlLocal(1)),
            ("http://intranet/", Problem::UrlLocal(1)),
            ("http://fileserver/", Problem::UrlSingleLabel(1)),
            ("co.uk", Problem::UrlSingleLabel(1)),
            ("ftp://example.com/x", Problem::UrlScheme(1)),
            ("javascript:alert(1)", Problem::UrlScheme(1)),
            ("mailto:someone@example.com", Problem::UrlAccount(1)),
            ("htps://example.com", Problem::UrlScheme(1)),
            ("http//example.com", Problem::UrlScheme(1)),
            ("http:/example.com", Problem::UrlScheme(1)),
            ("example.con/page", Problem::UrlUnknownEnding(1)),
            ("www.example", Problem::UrlUnknownEnding(1)),
            ("not.a.url", Problem::UrlUnknownEnding(1)),
            ("http://abcdefghijklmnop.onion/", Problem::UrlOnionV2(1)),
            ("http://abcdefgh.onion/", Problem::UrlOnionInvalid(1)),
            ("http://", Problem::UrlInvalid(1)),
            ("https://exa mple.com", Problem::UrlSingleLabel(1)),
            // Things that are not hosts, typed without `http://`: a bare
            // word with a slash, a date, a time, numbers with dots.
            ("n/a", Problem::UrlNotAddress(1)),
            ("12/05/2024", Problem::UrlNotAddress(1)),
            ("10:30", Problem::UrlNotAddress(1)),
            ("3.14", Problem::UrlNotAddress(1)),
            ("1.2.3", Problem::UrlNotAddress(1)),
            ("/path/only", Problem::UrlNotAddress(1)),
            ("fileserver/share", Problem::UrlNotAddress(1)),
            ("je ne sais pas, un site", Problem::UrlNotAddress(1)),
            ("رابط: https://example.com/x", Problem::UrlWithWords(1)),
            (
                "https://example.com/x (الحساب الثاني)",
                Problem::UrlWithWords(1),
            ),
            // What URL parsers let through and no resolver takes.
            ("www,example.com", Problem::UrlInvalid(1)),
            ("www.example..com", Problem::UrlInvalid(1)),
            ("example[.]com", Problem::UrlInvalid(1)),
            ("https://", Problem::UrlInvalid(1)),
            // Accounts, e-mail addresses and phone numbers.
            ("@someone", Problem::UrlAccount(1)),
            ("instagram: @some.one", Problem::UrlAccount(1)),
            ("someone@example.com", Problem::UrlAccount(1)),
            ("tel:+33612345678", Problem::UrlAccount(1)),
            ("+33 6 12 34 56 78", Problem::UrlAccount(1)),
            ("06.12.34.56.78", Problem::UrlAccount(1)),
            ("+٩٦٦ ٥٠ ١٢٣ ٤٥٦٧", Problem::UrlAccount(1)),
            // Cut short where an app displayed it.
            ("https://example.com/very/lo…", Problem::UrlCut(1)),
            ("www.example.com/…/x", Problem::UrlCut(1)),
            ("https://example.com/x...", Problem::UrlCut(1)),
            // `http://` mistyped, or its first letter lost in copying.
            ("ttps://example.com", Problem::UrlScheme(1)),
            ("https;//example.com", Problem::UrlScheme(1)),
            ("hxxp://example.com", Problem::UrlScheme(1)),
            ("http:://example.com", Problem::UrlScheme(1)),
            ("http://1:30/", Problem::UrlLocal(1)),
            ("256.1.1.1", Problem::UrlNotAddress(1)),
        ];
        for (typed, want) in cases {
            assert_eq!(refused(typed), vec![*want], "{typed:?}");
        }
        // One typo in a v3 onion name breaks its checksum.
        let mut typo = ONION.to_owned();
        typo.replace_range(10..11, if &typo[10..11] == "a" { "b" } else { "a" });
        assert_eq!(
            refused(&format!("{typo}.onion")),
            vec![Problem::UrlOnionInvalid(1)]
        );
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_CHARS));
        assert_eq!(refused(&long), vec![Problem::UrlTooLong(1)]);
    }

    #[test]
    fn line_numbers_are_the_lines_the_reporter_sees() {
        let (found, problems) = parse_addresses(
            "https://example.com/1\n\n  \nfoo bar\r\nexample.org\nhttp://localhost/",
        );
        assert_eq!(found.len(), 2);
        assert_eq!(
            problems,
            vec![Problem::UrlNotAddress(4), Problem::UrlLocal(6)]
        );
        // A half-pasted list: each line gets its own answer.
        let (found, problems) = parse_addresses(
            "1. https://example.com/a\n2. ttps://example.com/b\n3. @someone\n\n5. https://t.co/xy…\n6. example.org",
        );
        assert_eq!(found.len(), 2);
        assert_eq!(
            problems,
            vec![
                Problem::UrlScheme(2),
                Problem::UrlAccount(3),
                Problem::UrlCut(5)
            ]
        );
    }

    #[test]
    fn version_1_took_any_http_address_with_a_host() {
        assert!(v1_parse("anything.example").is_some());
        assert!(v1_parse("ftp://x").is_none());
    }
}

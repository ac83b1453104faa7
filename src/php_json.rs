//! PHP's `json_encode` with default flags, for the one shape the signature covers:
//! a map from header names to header values, both strings.
//!
//! The vendor signs the output of PHP, so this has to match PHP byte for byte:
//! `/` is escaped as `\/`, every non-ASCII character becomes a lowercase `\uXXXX`
//! escape (astral characters as a surrogate pair), control bytes without a short
//! escape become `\u00XX`, DEL and `< > & '` are left alone, and an empty map is
//! encoded as a list, `[]`.

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Appends `s` to `out` as a JSON string literal, exactly as PHP writes it.
pub fn write_string(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // Runs of printable ASCII are copied as they are; only the bytes between
    // runs are looked at one by one.
    let mut run_start = 0;
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        if is_plain(byte) {
            at += 1;
            continue;
        }
        out.extend_from_slice(&bytes[run_start..at]);
        if byte.is_ascii() {
            match byte {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'/' => out.extend_from_slice(b"\\/"),
                0x08 => out.extend_from_slice(b"\\b"),
                0x0c => out.extend_from_slice(b"\\f"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                _ => write_unicode_escape(out, u16::from(byte)),
            }
            at += 1;
        } else {
            // `at` is on a character boundary: runs and escapes end on one.
            let ch = s
                .get(at..)
                .and_then(|rest| rest.chars().next())
                .unwrap_or(char::REPLACEMENT_CHARACTER);
            let mut units = [0u16; 2];
            for unit in ch.encode_utf16(&mut units) {
                write_unicode_escape(out, *unit);
            }
            at += ch.len_utf8();
        }
        run_start = at;
    }
    out.extend_from_slice(&bytes[run_start..]);
    out.push(b'"');
}

/// Printable ASCII and DEL, except the three characters PHP escapes.
fn is_plain(byte: u8) -> bool {
    matches!(byte, 0x20..=0x7f) && !matches!(byte, b'"' | b'\\' | b'/')
}

fn write_unicode_escape(out: &mut Vec<u8>, unit: u16) {
    out.extend_from_slice(b"\\u");
    for shift in [12, 8, 4, 0] {
        out.push(HEX_DIGITS[usize::from((unit >> shift) & 0xf)]);
    }
}

/// Appends the map `entries` (already in the order wanted) to `out` as PHP encodes
/// an array with string keys; an empty map is `[]`, as PHP writes an empty array.
pub fn write_map<'a, I>(out: &mut Vec<u8>, entries: I)
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let mut entries = entries.into_iter().peekable();
    if entries.peek().is_none() {
        out.extend_from_slice(b"[]");
        return;
    }
    out.push(b'{');
    for (index, (name, value)) in entries.enumerate() {
        if index > 0 {
            out.push(b',');
        }
        write_string(out, name);
        out.push(b':');
        write_string(out, value);
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(s: &str) -> String {
        let mut out = Vec::new();
        write_string(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escapes_like_php_default_flags() {
        // Expected strings were printed by PHP 8.2 `json_encode`.
        assert_eq!(encode("a/b"), r#""a\/b""#);
        assert_eq!(encode("\"\\"), r#""\"\\""#);
        assert_eq!(encode("\u{8}\u{c}\n\r\t"), r#""\b\f\n\r\t""#);
        assert_eq!(encode("\u{1}\u{1f}"), r#""\u0001\u001f""#);
        assert_eq!(encode("\u{7f}<>&'"), "\"\u{7f}<>&'\"");
        assert_eq!(encode("é€"), r#""\u00e9\u20ac""#);
        assert_eq!(encode("😀"), r#""\ud83d\ude00""#);
        assert_eq!(encode(""), r#""""#);
    }

    #[test]
    fn empty_map_is_a_list() {
        let mut out = Vec::new();
        write_map(&mut out, []);
        assert_eq!(out, b"[]");
    }

    #[test]
    fn map_has_no_spaces() {
        let mut out = Vec::new();
        write_map(&mut out, [("X-Webhook-A", "1"), ("X-Webhook-B", "2")]);
        assert_eq!(out, br#"{"X-Webhook-A":"1","X-Webhook-B":"2"}"#);
    }
}

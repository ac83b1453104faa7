//! PHP's `json_encode` with default flags, for the one shape the signature covers:
//! a map from header names to header values, both strings.
//!
//! The vendor signs the output of PHP, so this has to match PHP byte for byte:
//! `/` is escaped as `\/`, every non-ASCII character becomes a lowercase `\uXXXX`
//! escape (astral characters as a surrogate pair), control bytes without a short
//! escape become `\u00XX`, DEL and `< > & '` are left alone, and an empty map is
//! encoded as a list, `[]`.

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Where the encoder writes. PHP's output is ASCII (every other character is
/// escaped), so it can go into bytes or straight into a `String`.
pub trait JsonOut {
    /// Appends `s`, a run of the input or an escape.
    fn put_str(&mut self, s: &str);
    /// Appends one ASCII byte.
    fn put_ascii(&mut self, byte: u8);
}

impl JsonOut for Vec<u8> {
    fn put_str(&mut self, s: &str) {
        self.extend_from_slice(s.as_bytes());
    }

    fn put_ascii(&mut self, byte: u8) {
        self.push(byte);
    }
}

impl JsonOut for String {
    fn put_str(&mut self, s: &str) {
        self.push_str(s);
    }

    fn put_ascii(&mut self, byte: u8) {
        self.push(char::from(byte));
    }
}

/// `PLAIN[b]`: byte `b` is written as it is. Printable ASCII and DEL, except
/// the three characters PHP escapes (`"`, `\`, `/`).
const PLAIN: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0x20;
    while byte <= 0x7f {
        table[byte] = !matches!(byte as u8, b'"' | b'\\' | b'/');
        byte += 1;
    }
    table
};

/// True when PHP writes every byte of `bytes` as it is (printable ASCII and
/// DEL, but `"`, `\` and `/`): the JSON string literal is `bytes` in quotes.
pub(crate) fn is_plain(bytes: &[u8]) -> bool {
    bytes.iter().all(|&byte| PLAIN[usize::from(byte)])
}

/// Appends `s` to `out` as a JSON string literal, exactly as PHP writes it.
pub fn write_string<O: JsonOut + ?Sized>(out: &mut O, s: &str) {
    let bytes = s.as_bytes();
    out.put_ascii(b'"');
    // Runs of plain bytes are copied as they are; only the bytes between runs
    // are looked at one by one.
    let mut run_start = 0;
    let mut at = 0;
    loop {
        while at < bytes.len() && PLAIN[usize::from(bytes[at])] {
            at += 1;
        }
        // Runs end on ASCII bytes or at the end, so both ends are on a
        // character boundary and the slice is always there.
        out.put_str(s.get(run_start..at).unwrap_or_default());
        let Some(&byte) = bytes.get(at) else { break };
        if byte.is_ascii() {
            match byte {
                b'"' => out.put_str("\\\""),
                b'\\' => out.put_str("\\\\"),
                b'/' => out.put_str("\\/"),
                0x08 => out.put_str("\\b"),
                0x0c => out.put_str("\\f"),
                b'\n' => out.put_str("\\n"),
                b'\r' => out.put_str("\\r"),
                b'\t' => out.put_str("\\t"),
                _ => write_unicode_escape(out, u16::from(byte)),
            }
            at += 1;
        } else {
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
    out.put_ascii(b'"');
}

fn write_unicode_escape<O: JsonOut + ?Sized>(out: &mut O, unit: u16) {
    out.put_str("\\u");
    for shift in [12, 8, 4, 0] {
        out.put_ascii(HEX_DIGITS[usize::from((unit >> shift) & 0xf)]);
    }
}

/// Appends the map `entries` (already in the order wanted) to `out` as PHP encodes
/// an array with string keys; an empty map is `[]`, as PHP writes an empty array.
pub fn write_map<'a, O, I>(out: &mut O, entries: I)
where
    O: JsonOut + ?Sized,
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let mut entries = entries.into_iter().peekable();
    if entries.peek().is_none() {
        out.put_str("[]");
        return;
    }
    out.put_ascii(b'{');
    for (index, (name, value)) in entries.enumerate() {
        if index > 0 {
            out.put_ascii(b',');
        }
        write_string(out, name);
        out.put_ascii(b':');
        write_string(out, value);
    }
    out.put_ascii(b'}');
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
    fn text_and_bytes_get_the_same_output() {
        let input = "a/b \"é😀\u{1}\u{7f}";
        let mut text = String::new();
        write_string(&mut text, input);
        assert_eq!(text.as_bytes(), encode(input).as_bytes());
        assert!(text.is_ascii());
    }

    #[test]
    fn plain_is_what_is_written_as_it_is() {
        for input in ["", "plain text", "<>&'\u{7f}", "a/b", "\"", "\\", "é", "\t"] {
            let plain = is_plain(input.as_bytes());
            assert_eq!(plain, encode(input) == format!("\"{input}\""), "{input:?}");
        }
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

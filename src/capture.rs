//! Captured deliveries: header lines as saved from a proxy, a log or a test,
//! turned back into the `(name, value)` pairs the verifier takes.

use std::fmt;

/// One header as captured: raw name and value bytes.
pub type HeaderPair = (Vec<u8>, Vec<u8>);

/// A header line that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for CaptureError {}

/// Parses raw header lines, `Name: value` one per line, as HTTP/1 writes them.
///
/// Names may be in any case and any header may appear (only `X-Webhook-*`
/// matter to the verifier). Lines end in LF or CRLF; blank lines are skipped; a
/// request line (`POST /hook HTTP/1.1`) is allowed as the first line. Values
/// lose the spaces and tabs around them, as HTTP parsers do, and keep every
/// other byte. Folded (indented) continuation lines, bare CRs and NULs are
/// refused, as RFC 9112 and RFC 9110 allow.
///
/// ```
/// use webhook_guard::capture::parse_header_lines;
/// let pairs = parse_header_lines(b"POST /hooks HTTP/1.1\r\nx-webhook-entity:  product \r\n").unwrap();
/// assert_eq!(pairs, [(b"x-webhook-entity".to_vec(), b"product".to_vec())]);
/// ```
pub fn parse_header_lines(text: &[u8]) -> Result<Vec<HeaderPair>, CaptureError> {
    let mut pairs = Vec::new();
    let mut seen_line = false;
    for (index, line) in text.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let error = |reason| CaptureError {
            line: index + 1,
            reason,
        };
        if line.iter().all(|&b| b == b' ' || b == b'\t') {
            continue;
        }
        let first = !std::mem::replace(&mut seen_line, true);
        if line.contains(&b'\r') {
            // RFC 9112 lets a recipient refuse a bare CR; keeping it would make
            // the value differ from what any HTTP stack delivered.
            return Err(error("bare CR inside a line"));
        }
        if line.contains(&0) {
            // RFC 9110 §5.5: a field value with NUL must be refused or altered.
            return Err(error("NUL inside a line"));
        }
        if line[0] == b' ' || line[0] == b'\t' {
            return Err(error("folded continuation lines are not allowed"));
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            if first && is_request_line(line) {
                continue;
            }
            return Err(error("expected `Name: value`"));
        };
        let name = &line[..colon];
        if name.is_empty() || !name.iter().all(|&b| is_token_byte(b)) {
            if first && is_request_line(line) {
                continue;
            }
            return Err(error("header name is empty or not an HTTP token"));
        }
        let value = trim_ows(&line[colon + 1..]);
        pairs.push((name.to_vec(), value.to_vec()));
    }
    Ok(pairs)
}

fn is_request_line(line: &[u8]) -> bool {
    let mut parts = line.split(|&b| b == b' ');
    let method = parts.next().unwrap_or_default();
    let target = parts.next().unwrap_or_default();
    let version = parts.next().unwrap_or_default();
    parts.next().is_none()
        && !method.is_empty()
        && method.iter().all(|&b| is_token_byte(b))
        && !target.is_empty()
        && version.starts_with(b"HTTP/")
}

fn trim_ows(mut value: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = value {
        value = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = value {
        value = rest;
    }
    value
}

/// RFC 9110 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_and_values(text: &str) -> Vec<(String, String)> {
        parse_header_lines(text.as_bytes())
            .unwrap()
            .into_iter()
            .map(|(n, v)| (String::from_utf8(n).unwrap(), String::from_utf8(v).unwrap()))
            .collect()
    }

    #[test]
    fn reads_lines_in_any_case_with_crlf_and_blank_lines() {
        assert_eq!(
            names_and_values(
                "X-Webhook-Entity: product\r\n\r\ncontent-type:application/json\n\nx-webhook-action:\tadd\t\n"
            ),
            [
                ("X-Webhook-Entity".into(), "product".into()),
                ("content-type".into(), "application/json".into()),
                ("x-webhook-action".into(), "add".into()),
            ]
        );
    }

    #[test]
    fn keeps_colons_and_inner_spaces_in_values() {
        assert_eq!(
            names_and_values("X-Webhook-Error-Message: Store  down: try later\n"),
            [(
                "X-Webhook-Error-Message".into(),
                "Store  down: try later".into()
            )]
        );
    }

    #[test]
    fn request_line_only_first() {
        assert_eq!(
            names_and_values("POST http://127.0.0.1:3000/hooks HTTP/1.1\nA: b\n").len(),
            1
        );
        let err = parse_header_lines(b"A: b\nPOST /hooks HTTP/1.1\n").unwrap_err();
        assert_eq!(err.line, 2);
    }

    #[test]
    fn refuses_folds_and_bad_names() {
        assert_eq!(parse_header_lines(b"A: b\n  c\n").unwrap_err().line, 2);
        assert_eq!(parse_header_lines(b"Bad Name: x\n").unwrap_err().line, 1);
        assert_eq!(parse_header_lines(b": x\n").unwrap_err().line, 1);
        assert_eq!(parse_header_lines(b"no colon\n").unwrap_err().line, 1);
    }

    #[test]
    fn refuses_a_bare_cr() {
        // Found by the `header_file` fuzz target.
        assert_eq!(parse_header_lines(b"r:\rt").unwrap_err().line, 1);
        assert_eq!(parse_header_lines(b"a: b\nr:t\r\r\n").unwrap_err().line, 2);
        assert_eq!(parse_header_lines(b"r:t\r\n").unwrap().len(), 1);
    }

    #[test]
    fn refuses_nul() {
        assert_eq!(
            parse_header_lines(b"a: b\n\nx: b\0c\n").unwrap_err().line,
            3
        );
    }

    #[test]
    fn keeps_value_bytes_that_are_not_utf8() {
        let pairs = parse_header_lines(b"X-Webhook-A: \xff\xfe\n").unwrap();
        assert_eq!(pairs[0].1, b"\xff\xfe");
    }
}

//! Reading what the user hands over: files (or stdin) and header lines.

use std::borrow::Cow;
use std::io::{self, Read};
use std::path::Path;

use webhook_guard::capture::{HeaderPair, parse_header_lines};

use crate::CliError;

/// The file name that stands for stdin.
pub const STDIN: &str = "-";

/// True when `path` means stdin.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == STDIN
}

/// Every byte of `path`, or of stdin for `-`. `what` names the file in errors.
pub fn read_bytes(path: &Path, what: &str) -> Result<Vec<u8>, CliError> {
    let read = if is_stdin(path) {
        let mut bytes = Vec::new();
        io::stdin().lock().read_to_end(&mut bytes).map(|_| bytes)
    } else {
        std::fs::read(path)
    };
    read.map_err(|e| CliError::new(format!("cannot read {what} {}: {e}", path.display())))
}

/// Parses one `--header 'Name: value'` argument (or `Name;` for an empty value,
/// as curl writes it).
pub fn parse_header_arg(arg: &str) -> Result<(String, String), CliError> {
    let bad = |why: &str| CliError::new(format!("--header {arg:?}: {why}"));
    let line = curl_empty_header(arg.as_bytes());
    let mut pairs = parse_header_lines(&line).map_err(|e| bad(e.reason))?;
    let (name, value) = match (pairs.pop(), pairs.is_empty()) {
        (Some(pair), true) => pair,
        _ => return Err(bad("expected one `Name: value`")),
    };
    if let Some(byte) = value.iter().find(|&&b| is_forbidden_in_value(b)) {
        return Err(bad(&format!(
            "control character 0x{byte:02x} in the value; HTTP does not allow it"
        )));
    }
    // The input was a `str` and the parser splits only at ASCII bytes.
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).map_err(|_| bad("not UTF-8"));
    Ok((text(name)?, text(value)?))
}

/// Parses a captured header block: one `Name: value` per line, names in any
/// case, any other headers allowed (see `parse_header_lines`). A `Name;` line,
/// which is how curl's `-H @file` spells an empty header, counts as `Name:`.
pub fn parse_header_file(text: &[u8], path: &Path) -> Result<Vec<HeaderPair>, CliError> {
    let text = curl_empty_headers(text);
    parse_header_lines(&text)
        .map_err(|e| CliError::new(format!("headers file {}: {e}", path.display())))
}

/// A header line for curl's `-H`/`-H @file`: `Name: value`, or `Name;` when
/// the value is empty (curl drops a header written `Name:` with no value).
pub fn header_line(name: &str, value: &str) -> String {
    if value.is_empty() {
        format!("{name};")
    } else {
        format!("{name}: {value}")
    }
}

/// Rewrites every `Name;` line of `text` to `Name:`, keeping line numbers.
fn curl_empty_headers(text: &[u8]) -> Cow<'_, [u8]> {
    if !text.split(|&b| b == b'\n').any(is_curl_empty_header) {
        return Cow::Borrowed(text);
    }
    let lines: Vec<Cow<'_, [u8]>> = text.split(|&b| b == b'\n').map(curl_empty_header).collect();
    Cow::Owned(lines.join(&b'\n'))
}

/// `Name;` becomes `Name:`; any other line stays as it is.
fn curl_empty_header(line: &[u8]) -> Cow<'_, [u8]> {
    if !is_curl_empty_header(line) {
        return Cow::Borrowed(line);
    }
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let semicolon = line.len() - 1;
    let mut fixed = line[..semicolon].to_vec();
    fixed.push(b':');
    Cow::Owned(fixed)
}

/// A line that is a header name followed by `;` and nothing else.
fn is_curl_empty_header(line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match line.split_last() {
        Some((b';', name)) => !name.is_empty() && name.iter().all(|&b| is_token_byte(b)),
        _ => false,
    }
}

/// RFC 9110 `tchar`, the bytes of a header name.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Control characters other than tab: HTTP field values cannot hold them, so
/// a header line carrying one could not be sent as signed.
fn is_forbidden_in_value(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_arg_in_any_case_with_spaces_trimmed() {
        let (name, value) = parse_header_arg("x-webhook-entity:  product ").unwrap();
        assert_eq!(
            (name.as_str(), value.as_str()),
            ("x-webhook-entity", "product")
        );
    }

    #[test]
    fn header_arg_empty_value_both_ways() {
        for arg in ["X-Webhook-Error-Reason:", "X-Webhook-Error-Reason;"] {
            let (_, value) = parse_header_arg(arg).unwrap();
            assert_eq!(value, "", "{arg}");
        }
    }

    #[test]
    fn header_arg_refuses_lines_and_controls() {
        for arg in [
            "no colon",
            "A: b\nC: d",
            "A: b\rc",
            "A: \u{1b}[31m",
            "",
            "Bad Name: x",
        ] {
            assert!(parse_header_arg(arg).is_err(), "{arg:?}");
        }
    }

    #[test]
    fn curl_empty_lines_become_empty_values() {
        let pairs = parse_header_file(b"A: 1\r\nX-Empty;\r\nB: x;\n", Path::new("h")).unwrap();
        assert_eq!(
            pairs,
            [
                (b"A".to_vec(), b"1".to_vec()),
                (b"X-Empty".to_vec(), Vec::new()),
                (b"B".to_vec(), b"x;".to_vec()),
            ]
        );
    }

    #[test]
    fn header_file_errors_name_the_line() {
        let err = parse_header_file(b"A: 1\nnot a header\n", Path::new("h.txt")).unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[test]
    fn empty_values_are_written_as_curl_wants() {
        assert_eq!(header_line("A", ""), "A;");
        assert_eq!(header_line("A", "b c"), "A: b c");
    }
}

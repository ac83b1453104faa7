//! The CLI's header-file parser on arbitrary bytes: never panics; names are
//! non-empty tokens, values are trimmed and hold no CR or LF; printing the
//! pairs back as `name: value` lines parses to the same pairs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use webhook_guard::DeliveryHeaders;
use webhook_guard::capture::parse_header_lines;

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fuzz_target!(|data: &[u8]| {
    let Ok(pairs) = parse_header_lines(data) else {
        return;
    };
    let mut text = Vec::new();
    for (name, value) in &pairs {
        assert!(
            !name.is_empty() && name.iter().copied().all(is_tchar),
            "name {name:?}"
        );
        assert!(
            !value.starts_with(b" ") && !value.starts_with(b"\t"),
            "value {value:?}"
        );
        assert!(
            !value.ends_with(b" ") && !value.ends_with(b"\t"),
            "value {value:?}"
        );
        assert!(
            !value.contains(&b'\r') && !value.contains(&b'\n'),
            "value {value:?}"
        );
        text.extend_from_slice(name);
        text.extend_from_slice(b": ");
        text.extend_from_slice(value);
        text.push(b'\n');
    }
    assert_eq!(parse_header_lines(&text).as_ref(), Ok(&pairs), "{text:?}");
    let _ = DeliveryHeaders::from_pairs(pairs);
});

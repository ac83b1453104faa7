//! Header collection and canonical encoding on arbitrary (name, value) bytes:
//! never panics, refuses exactly what the rules refuse, and what it accepts
//! comes back out of its JSON as exactly the input map, in byte order.
#![no_main]

use libfuzzer_sys::fuzz_target;
use webhook_guard::{DeliveryHeaders, canonical_name};
use webhook_guard_fuzz::{expected_headers, has_prefix, php_map, vendor_case};

fuzz_target!(|pairs: Vec<(Vec<u8>, Vec<u8>)>| {
    for (name, _) in &pairs {
        if let Ok(name) = std::str::from_utf8(name) {
            let canonical = canonical_name(name);
            let want = has_prefix(name.as_bytes()).then(|| vendor_case(name));
            assert_eq!(
                canonical.as_deref(),
                want.as_deref(),
                "canonical_name({name:?})"
            );
        }
    }

    let got = DeliveryHeaders::from_pairs(pairs.iter().map(|(n, v)| (n, v)));
    let Some((map, signature)) = expected_headers(&pairs) else {
        assert!(got.is_err(), "accepted what must be refused: {got:?}");
        return;
    };
    let headers = got.expect("refused a well-formed header set");
    assert_eq!(headers.signature(), signature.as_deref());
    let signed = headers.signed();
    assert_eq!(signed.len(), map.len());
    assert_eq!(signed.is_empty(), map.is_empty());

    // Entries in strictly increasing byte order of the names, as given.
    let entries: Vec<(&str, &str)> = signed.iter().collect();
    assert!(
        entries
            .windows(2)
            .all(|w| w[0].0.as_bytes() < w[1].0.as_bytes())
    );
    let want: Vec<(&str, &str)> = map.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(entries, want);
    for (name, value) in &want {
        assert_eq!(signed.get(name), Some(*value));
    }

    // The JSON parses back to exactly the map (and equals the reference).
    let json = signed.to_json();
    if map.is_empty() {
        assert_eq!(json, b"[]");
    } else {
        // `String`'s order is byte order, so a BTreeMap also checks the order.
        let parsed: std::collections::BTreeMap<String, String> =
            serde_json::from_slice(&json).expect("to_json is not a JSON object of strings");
        assert_eq!(parsed, map);
    }
    assert_eq!(json, php_map(want).into_bytes());
});

//! The library's PHP `json_encode` against the simple reference in the fuzz
//! crate (fuzz/src/lib.rs): byte-identical for every string and every map.
#![no_main]

use libfuzzer_sys::fuzz_target;
use webhook_guard::{SignedHeaders, php_json};
use webhook_guard_fuzz::{php_map, php_string};

fuzz_target!(|input: (String, Vec<(String, String)>)| {
    let (text, entries) = input;

    let mut ours = Vec::new();
    php_json::write_string(&mut ours, &text);
    let reference = php_string(&text);
    assert_eq!(
        String::from_utf8_lossy(&ours),
        reference,
        "write_string({text:?})"
    );
    // Plain ASCII out, and JSON that decodes back to the input.
    assert!(ours.iter().all(u8::is_ascii));
    assert_eq!(serde_json::from_slice::<String>(&ours).unwrap(), text);

    let pairs = entries.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let mut ours = Vec::new();
    php_json::write_map(&mut ours, pairs.clone());
    assert_eq!(String::from_utf8_lossy(&ours), php_map(pairs));

    // The same through the header collection, under X-Webhook-* names.
    let named: Vec<(String, &str)> = entries
        .iter()
        .map(|(k, v)| (format!("x-webhook-{k}"), v.as_str()))
        .collect();
    if let Ok(signed) = SignedHeaders::from_pairs(named.iter().map(|(k, v)| (k, v))) {
        assert_eq!(
            String::from_utf8_lossy(&signed.to_json()),
            php_map(signed.iter())
        );
    }
});

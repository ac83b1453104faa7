//! Signature header decoding on arbitrary bytes: never panics, accepts only the
//! canonical encoding (encode(decode(x)) == x), and decodes every encoding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use webhook_guard::signature::{ENCODED_LEN, MAC_LEN, decode, encode};

fuzz_target!(|data: &[u8]| {
    if let Ok(mac) = decode(data) {
        assert_eq!(data.len(), ENCODED_LEN);
        assert_eq!(
            encode(&mac).as_bytes(),
            data,
            "non-canonical base64 accepted"
        );
    }
    if let Some(mac) = data.first_chunk::<MAC_LEN>() {
        let encoded = encode(mac);
        assert_eq!(encoded.len(), ENCODED_LEN);
        assert_eq!(decode(encoded.as_bytes()), Ok(*mac));
    }
});

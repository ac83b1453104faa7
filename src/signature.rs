//! The `X-Webhook-Signature` value: standard base64, with padding, of a 32-byte MAC.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Standard base64 with or without padding: for secrets as people paste them,
/// and RFC 8941 byte sequences, whose parsers "SHOULD NOT fail when `=`
/// padding is not present" (§4.2.7). Signatures stay strictly padded.
pub(crate) const PADDED_OR_NOT: base64::engine::GeneralPurpose =
    base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );

/// Length of an HMAC-SHA256 tag.
pub const MAC_LEN: usize = 32;

/// Length of its padded standard base64 encoding.
pub const ENCODED_LEN: usize = 44;

/// Decodes a signature header value into the 32 MAC bytes.
///
/// Anything but exactly 44 characters of canonical, padded, standard base64
/// encoding 32 bytes is refused with a fixed reason (for logs only).
pub fn decode(value: &[u8]) -> Result<[u8; MAC_LEN], &'static str> {
    if value.len() != ENCODED_LEN {
        return Err("signature is not 44 base64 characters");
    }
    // 44 characters decode to at most 33 bytes before padding is accounted for.
    let mut buf = [0u8; MAC_LEN + 1];
    match STANDARD.decode_slice(value, &mut buf) {
        Ok(MAC_LEN) => {
            let mut mac = [0u8; MAC_LEN];
            mac.copy_from_slice(&buf[..MAC_LEN]);
            Ok(mac)
        }
        Ok(_) => Err("signature is not 32 bytes"),
        Err(_) => Err("signature is not base64"),
    }
}

/// Encodes MAC bytes as the vendor does: standard base64 with padding.
pub fn encode(mac: &[u8; MAC_LEN]) -> String {
    STANDARD.encode(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let mac = [0xfbu8; 32];
        assert_eq!(decode(encode(&mac).as_bytes()), Ok(mac));
    }

    #[test]
    fn refuses_everything_else() {
        let good = encode(&[0u8; 32]);
        assert!(decode(&good.as_bytes()[..43]).is_err());
        assert!(decode(format!("{good}=").as_bytes()).is_err());
        // 33 bytes without padding are also 44 characters long.
        assert!(decode(STANDARD.encode([1u8; 33]).as_bytes()).is_err());
        // The URL-safe alphabet.
        let standard = encode(&[0xfb; 32]);
        assert!(standard.contains('+') && standard.contains('/'));
        assert!(decode(standard.replace('+', "-").replace('/', "_").as_bytes()).is_err());
        // Non-canonical: a set bit after the last whole byte ("...AAB=" instead of "...AAA=").
        let mut trailing = good.into_bytes();
        trailing[42] = b'B';
        assert_eq!(decode(&trailing), Err("signature is not base64"));
        assert!(decode(b"").is_err());
        assert!(decode(&[0xff; 44]).is_err());
    }
}

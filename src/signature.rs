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
///
/// Written for this one shape rather than through a general decoder: every
/// delivery pays for it, and the shape is fixed (43 characters, the last of
/// which carries 2 bits that must be zero, then one `=`). The signature is
/// the sender's, not a secret, so the table lookups need not be constant-time.
pub fn decode(value: &[u8]) -> Result<[u8; MAC_LEN], &'static str> {
    let Some((chars, b"=")) = value
        .split_last_chunk::<1>()
        .filter(|_| value.len() == ENCODED_LEN)
    else {
        return Err(match value.len() {
            // 44 characters without padding would be 33 bytes, if base64.
            ENCODED_LEN if value.iter().all(|&c| SEXTET[usize::from(c)] != INVALID) => {
                "signature is not 32 bytes"
            }
            ENCODED_LEN => "signature is not base64",
            _ => "signature is not 44 base64 characters",
        });
    };
    let mut mac = [0u8; MAC_LEN];
    let mut invalid = 0u8;
    let mut sextet = |c: u8| {
        let v = SEXTET[usize::from(c)];
        invalid |= v;
        u32::from(v & 0x3f)
    };
    // Ten groups of four characters: 30 bytes.
    for (group, out) in chars.chunks_exact(4).zip(mac.chunks_exact_mut(3)) {
        let bits = sextet(group[0]) << 18
            | sextet(group[1]) << 12
            | sextet(group[2]) << 6
            | sextet(group[3]);
        out.copy_from_slice(&bits.to_be_bytes()[1..]);
    }
    // Three characters left: 18 bits, 2 bytes and 2 bits that must be zero.
    let tail = sextet(chars[40]) << 12 | sextet(chars[41]) << 6 | sextet(chars[42]);
    mac[30] = (tail >> 10) as u8;
    mac[31] = (tail >> 2) as u8;
    if invalid & INVALID == INVALID || tail & 0b11 != 0 {
        return Err("signature is not base64");
    }
    Ok(mac)
}

/// Marks a byte outside the standard alphabet in [`SEXTET`].
const INVALID: u8 = 0xff;

/// `SEXTET[c]`: the 6-bit value of base64 character `c`, or [`INVALID`].
const SEXTET: [u8; 256] = {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < alphabet.len() {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table
};

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

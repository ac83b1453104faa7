//! RFC 3339 timestamps for the vendor's JSON (`2022-02-18T15:12:18.668452Z`)
//! from the crate's whole-second clock, without a date-time dependency.

use crate::mock::clock::utc_date_time;

/// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the years RFC 3339 can write.
const MIN: i64 = -62_167_219_200;
const MAX: i64 = 253_402_300_799;

/// `unix` seconds as RFC 3339 UTC with microseconds, the vendor's format.
///
/// The crate's [`Clock`](crate::Clock) counts whole seconds, so the
/// microseconds are always `000000`; that keeps a virtual clock's reports
/// exactly predictable. Times outside years 0000 to 9999 are clamped to them.
pub(crate) fn rfc3339_micros(unix: i64) -> String {
    utc_date_time(unix.clamp(MIN, MAX), ".000000Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(rfc3339_micros(0), "1970-01-01T00:00:00.000000Z");
        // The second of the vendor's sample report.
        assert_eq!(rfc3339_micros(1_645_197_138), "2022-02-18T15:12:18.000000Z");
        assert_eq!(rfc3339_micros(1_763_900_000), "2025-11-23T12:13:20.000000Z");
        // Leap days, the 2000 rule, and before the epoch.
        assert_eq!(rfc3339_micros(951_782_400), "2000-02-29T00:00:00.000000Z");
        assert_eq!(rfc3339_micros(1_709_251_199), "2024-02-29T23:59:59.000000Z");
        assert_eq!(rfc3339_micros(-1), "1969-12-31T23:59:59.000000Z");
        assert_eq!(
            rfc3339_micros(-2_208_988_800),
            "1900-01-01T00:00:00.000000Z"
        );
    }

    #[test]
    fn extremes_are_clamped_not_overflowed() {
        assert_eq!(rfc3339_micros(i64::MIN), "0000-01-01T00:00:00.000000Z");
        assert_eq!(rfc3339_micros(i64::MAX), "9999-12-31T23:59:59.000000Z");
    }
}

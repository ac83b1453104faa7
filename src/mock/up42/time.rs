//! RFC 3339 timestamps for the vendor's JSON (`2022-02-18T15:12:18.668452Z`)
//! from the crate's whole-second clock, without a date-time dependency.

use crate::mock::clock::civil_from_days;

/// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the years RFC 3339 can write.
const MIN: i64 = -62_167_219_200;
const MAX: i64 = 253_402_300_799;

/// `unix` seconds as RFC 3339 UTC with microseconds, the vendor's format.
///
/// The crate's [`Clock`](crate::Clock) counts whole seconds, so the
/// microseconds are always `000000`; that keeps a virtual clock's reports
/// exactly predictable. Times outside years 0000 to 9999 are clamped to them.
pub(crate) fn rfc3339_micros(unix: i64) -> String {
    let unix = unix.clamp(MIN, MAX);
    let (year, month, day) = civil_from_days(unix.div_euclid(86_400));
    let secs = unix.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.000000Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
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

    fn days_in(year: i64, month: i64) -> i64 {
        match month {
            2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }

    #[test]
    fn every_day_follows_the_last() {
        // Walks 1600..2400 day by day: dates strictly increase, months and
        // days stay in range, and each date is the day after the previous.
        let mut previous = civil_from_days(-135_140 - 1);
        for days in -135_140..157_000 {
            let (y, m, d) = civil_from_days(days);
            assert!((1..=12).contains(&m) && (1..=days_in(y, m)).contains(&d));
            let (py, pm, pd) = previous;
            let month_ended = pd == days_in(py, pm);
            let next_day = (y, m, d) == (py, pm, pd + 1);
            let next_month = (y, m, d) == (py, pm + 1, 1) && month_ended;
            let next_year = (y, m, d) == (py + 1, 1, 1) && pm == 12 && month_ended;
            assert!(
                next_day || next_month || next_year,
                "{previous:?} -> {:?}",
                (y, m, d)
            );
            previous = (y, m, d);
        }
    }
}

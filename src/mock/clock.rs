//! Calendar arithmetic on the virtual clock's Unix seconds, for the
//! vendors that print dates (API2Cart's `A2CDateTime`, UP42's RFC 3339).

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `unix` seconds as `YYYY-MM-DDTHH:MM:SS` in UTC, then `zone` as the
/// vendor writes it (`+0000`, `.000000Z`).
pub(crate) fn utc_date_time(unix: i64, zone: &str) -> String {
    let (year, month, day) = civil_from_days(unix.div_euclid(86_400));
    let secs = unix.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}{zone}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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

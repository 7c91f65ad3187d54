//! Event time: RFC 3339 parsing and formatting at millisecond precision.
//!
//! The contract (`events.md`, "Precise rules") is stricter than most date libraries: a real
//! calendar date, seconds 00–59 (no leap second), fraction digits beyond the third truncated.
//! Being exact here is what makes every evaluator agree, so the parser is written out in full.

use std::fmt;

/// A point in time: milliseconds since the Unix epoch, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

/// Why a time string was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeError;

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not an RFC 3339 date-time")
    }
}

impl std::error::Error for TimeError {}

const MS_PER_DAY: i64 = 86_400_000;

impl Timestamp {
    /// The earliest instant an RFC 3339 string can spell: `0000-01-01T00:00:00.000Z`.
    pub const MIN: Timestamp = Timestamp(-62_167_219_200_000);
    /// The latest instant an RFC 3339 string can spell: `9999-12-31T23:59:59.999Z`.
    pub const MAX: Timestamp = Timestamp(253_402_300_799_999);

    /// Milliseconds since the Unix epoch.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// Parses an RFC 3339 `date-time`, truncating the fraction to milliseconds.
    ///
    /// An offset that moves the instant outside [`Timestamp::MIN`]..=[`Timestamp::MAX`]
    /// (`9999-12-31T23:59:59-01:00`) is refused: its UTC form could not be written back.
    ///
    /// ```
    /// use tessera::time::Timestamp;
    /// let t = Timestamp::parse("2026-01-01T00:00:00.1239+01:00").unwrap();
    /// assert_eq!(t.to_string(), "2025-12-31T23:00:00.123Z");
    /// assert!(Timestamp::parse("2026-02-30T00:00:00Z").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Timestamp, TimeError> {
        let b = text.as_bytes();
        if b.len() < 20 {
            return Err(TimeError);
        }
        let year = digits(&b[0..4])?;
        expect(b[4], b'-')?;
        let month = digits(&b[5..7])?;
        expect(b[7], b'-')?;
        let day = digits(&b[8..10])?;
        if !matches!(b[10], b'T' | b't') {
            return Err(TimeError);
        }
        let hour = digits(&b[11..13])?;
        expect(b[13], b':')?;
        let minute = digits(&b[14..16])?;
        expect(b[16], b':')?;
        let second = digits(&b[17..19])?;
        if !(1..=12).contains(&month)
            || day < 1
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 59
        {
            return Err(TimeError);
        }
        let mut i = 19;
        let mut millis = 0;
        if b[i] == b'.' {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                if i - start < 3 {
                    millis = millis * 10 + i64::from(b[i] - b'0');
                }
                i += 1;
            }
            let n = i - start;
            if n == 0 {
                return Err(TimeError);
            }
            for _ in n..3 {
                millis *= 10;
            }
        }
        let offset_minutes = match b.get(i) {
            Some(b'Z' | b'z') if i + 1 == b.len() => 0,
            Some(&sign @ (b'+' | b'-')) if i + 6 == b.len() => {
                let oh = digits(&b[i + 1..i + 3])?;
                expect(b[i + 3], b':')?;
                let om = digits(&b[i + 4..i + 6])?;
                if oh > 23 || om > 59 {
                    return Err(TimeError);
                }
                let m = oh * 60 + om;
                if sign == b'-' {
                    -m
                } else {
                    m
                }
            }
            _ => return Err(TimeError),
        };
        let days = days_from_civil(year, month, day);
        let local = days * MS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1000 + millis;
        let utc = local - offset_minutes * 60_000;
        if !(Self::MIN.0..=Self::MAX.0).contains(&utc) {
            return Err(TimeError);
        }
        Ok(Timestamp(utc))
    }

    /// The civil UTC date and time: (year, month, day, hour, minute, second, millisecond).
    pub fn to_civil(self) -> (i64, i64, i64, i64, i64, i64, i64) {
        let days = self.0.div_euclid(MS_PER_DAY);
        let rem = self.0.rem_euclid(MS_PER_DAY);
        let (y, m, d) = civil_from_days(days);
        let secs = rem / 1000;
        (y, m, d, secs / 3600, secs / 60 % 60, secs % 60, rem % 1000)
    }
}

/// Formats as `YYYY-MM-DDTHH:MM:SS.mmmZ`, which parses back to the same value.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, mo, d, h, mi, s, ms) = self.to_civil();
        write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
    }
}

fn digits(b: &[u8]) -> Result<i64, TimeError> {
    let mut n = 0i64;
    for &c in b {
        if !c.is_ascii_digit() {
            return Err(TimeError);
        }
        n = n * 10 + i64::from(c - b'0');
    }
    Ok(n)
}

fn expect(got: u8, want: u8) -> Result<(), TimeError> {
    if got == want {
        Ok(())
    } else {
        Err(TimeError)
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's days-from-civil and its inverse: exact for the proleptic Gregorian calendar.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A length of time from a segment definition: `30d`, `12h`, `15m`, `2w`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Duration {
    /// The length in milliseconds.
    pub millis: i64,
}

impl Duration {
    /// Parses a non-negative integer followed by `m`, `h`, `d` or `w`.
    ///
    /// ```
    /// use tessera::time::Duration;
    /// assert_eq!(Duration::parse("2d").unwrap().millis, 172_800_000);
    /// assert!(Duration::parse("-1d").is_err() && Duration::parse("1y").is_err());
    /// assert!(Duration::parse("3В").is_err() && Duration::parse("é").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Duration, TimeError> {
        // Split before the last character, not the last byte: a multi-byte unit (`3В`) is
        // refused like any unknown one.
        let unit_at = text.char_indices().last().map_or(0, |(i, _)| i);
        let (num, unit) = text.split_at(unit_at);
        if num.is_empty() || !num.bytes().all(|c| c.is_ascii_digit()) {
            return Err(TimeError);
        }
        let n: i64 = num.parse().map_err(|_| TimeError)?;
        let unit_ms = match unit {
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => MS_PER_DAY,
            "w" => 7 * MS_PER_DAY,
            _ => return Err(TimeError),
        };
        n.checked_mul(unit_ms)
            .map(|millis| Duration { millis })
            .ok_or(TimeError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_offsets_and_fractions() {
        let t = Timestamp::parse("1970-01-01T00:00:00Z").unwrap();
        assert_eq!(t.0, 0);
        let t = Timestamp::parse("1970-01-01T01:00:00.5+01:00").unwrap();
        assert_eq!(t.0, 500);
        let t = Timestamp::parse("1969-12-31t23:59:59.999999z").unwrap();
        assert_eq!(t.0, -1);
        assert_eq!(
            Timestamp::parse("2024-02-29T12:00:00-05:30")
                .unwrap()
                .to_string(),
            "2024-02-29T17:30:00.000Z"
        );
    }

    #[test]
    fn refuses_what_is_not_rfc3339() {
        for bad in [
            "",
            "2026-01-01",
            "2026-01-01T00:00:00",
            "2026-01-01 00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:00:60Z",
            "2026-01-01T00:00:00.Z",
            "2026-01-01T00:00:00+0100",
            "2026-01-01T00:00:00Zjunk",
            "２026-01-01T00:00:00Z",
            "9999-12-31T23:59:59-00:01",
            "0000-01-01T00:00:00+00:01",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn round_trips_through_display() {
        for ms in [
            Timestamp::MIN.0,
            -86_400_001,
            0,
            1_767_225_600_123,
            Timestamp::MAX.0,
        ] {
            let t = Timestamp(ms);
            assert_eq!(Timestamp::parse(&t.to_string()).unwrap(), t);
        }
    }
}

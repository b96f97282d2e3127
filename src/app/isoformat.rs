//! `datetime.datetime.fromisoformat` as CPython 3.11 parses it (`Modules/_datetimemodule.c`), for
//! the contract's `{"datetime": "<ISO 8601>"}` arguments.
//!
//! Calendar dates (`YYYY-MM-DD`, `YYYYMMDD`) and ISO week dates (`YYYY-Www[-D]`, `YYYYWww[D]`),
//! any one separator character, the time forms of `parse_hh_mm_ss_ff` (quirks included, such as a
//! fraction right after the hour) and `Z` or `±` offsets.

/// A parsed datetime: microseconds since the Unix epoch (UTC, or as if UTC when naive), and
/// whether it had no offset (a naive `datetime`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IsoDateTime {
    pub unix_micros: i64,
    pub naive: bool,
}

/// `datetime.fromisoformat(text)`, or `None` where Python raises `ValueError`.
pub fn fromisoformat(text: &str) -> Option<IsoDateTime> {
    if text.chars().count() < 7 {
        return None;
    }
    let separator = separator_location(text.as_bytes())?;
    let days = parse_date(text.as_bytes().get(..separator)?)?;
    // The date is ASCII, so the separator starts a character; it may be any one character.
    let after_date = text.get(separator..)?;
    let (time, offset) = match after_date.chars().next() {
        Some(c) => parse_time(&after_date.as_bytes()[c.len_utf8()..])?,
        None => (Fields::default(), None),
    };
    let local = days * 86_400_000_000 + time.time_of_day()?;
    Some(IsoDateTime {
        unix_micros: local - offset.unwrap_or(0),
        naive: offset.is_none(),
    })
}

/// `_find_isoformat_datetime_separator`: where the date ends (`s` has at least 7 bytes).
fn separator_location(s: &[u8]) -> Option<usize> {
    let len = s.len();
    if len == 7 {
        return Some(7);
    }
    if s[4] == b'-' {
        if s[5] != b'W' {
            return Some(10);
        }
        if len > 8 && s[8] == b'-' {
            if len == 9 {
                return None;
            }
            // `YYYY-Www-HH…` (a hyphen separator) rather than `YYYY-Www-D…`: CPython's guess.
            return Some(if len > 10 && s[10].is_ascii_digit() {
                8
            } else {
                10
            });
        }
        return Some(8);
    }
    if s[4] != b'W' {
        return Some(8);
    }
    let digits_end = 7 + s[7..].iter().take_while(|b| b.is_ascii_digit()).count();
    Some(match digits_end {
        end if end < 9 => end,
        end if end % 2 == 0 => 7,
        _ => 8,
    })
}

/// `parse_isoformat_date` plus the checks of `datetime()`: days since 1970-01-01.
fn parse_date(s: &[u8]) -> Option<i64> {
    let year = i32::try_from(digits(s.get(..4)?)?)
        .ok()
        .filter(|&y| y >= 1)?;
    let extended = s[4] == b'-';
    let date = match &s[4 + usize::from(extended)..] {
        [b'W', rest @ ..] => week_date(year, rest, extended)?,
        rest => calendar_date(year, rest, extended)?,
    };
    Some(i64::from(date.to_julian_day()) - 2_440_588)
}

/// `MM-DD` or `MMDD`.
fn calendar_date(year: i32, s: &[u8], extended: bool) -> Option<time::Date> {
    let (month, day) = match (extended, s) {
        (true, [m1, m2, b'-', d1, d2]) | (false, [m1, m2, d1, d2]) => ([*m1, *m2], [*d1, *d2]),
        _ => return None,
    };
    let month = time::Month::try_from(u8::try_from(digits(&month)?).ok()?).ok()?;
    let day = u8::try_from(digits(&day)?).ok()?;
    time::Date::from_calendar_date(year, month, day).ok()
}

/// `ww-D`, `wwD` or `ww` (Monday) after the `W`: `date.fromisocalendar`'s checks, so week 53
/// only in years that have one.
fn week_date(year: i32, s: &[u8], extended: bool) -> Option<time::Date> {
    let (week, day) = match (extended, s) {
        (_, [w1, w2]) => ([*w1, *w2], 1),
        (true, [w1, w2, b'-', d]) | (false, [w1, w2, d]) => ([*w1, *w2], digits(&[*d])?),
        _ => return None,
    };
    let week = u8::try_from(digits(&week)?).ok()?;
    let weekday = (1..=7)
        .contains(&day)
        .then(|| time::Weekday::Sunday.nth_next(day as u8))?;
    time::Date::from_iso_week_date(year, week, weekday).ok()
}

/// The time after the separator, and its UTC offset in microseconds (`None`: naive).
fn parse_time(t: &[u8]) -> Option<(Fields, Option<i64>)> {
    let tz = t.iter().position(|b| matches!(b, b'Z' | b'+' | b'-'));
    let (time, leftover) = parse_hh_mm_ss_ff(t, 0, tz.unwrap_or(t.len()))?;
    let Some(tz) = tz else {
        return (!leftover).then_some((time, None));
    };
    if t[tz] == b'Z' {
        return (tz + 1 == t.len()).then_some((time, Some(0)));
    }
    let (offset, leftover) = parse_hh_mm_ss_ff(t, tz + 1, t.len())?;
    let sign = if t[tz] == b'-' { -1 } else { 1 };
    let offset = sign * offset.micros();
    // `timezone()` wants strictly less than a day.
    (!leftover && offset.abs() < 86_400_000_000).then_some((time, Some(offset)))
}

/// Hour, minute, second and microsecond as parsed, before any range check.
#[derive(Debug, Default, Clone, Copy)]
struct Fields([i64; 4]);

impl Fields {
    fn micros(self) -> i64 {
        let [h, m, s, us] = self.0;
        ((h * 60 + m) * 60 + s) * 1_000_000 + us
    }

    /// Microseconds since midnight, if `datetime()` accepts the fields.
    fn time_of_day(self) -> Option<i64> {
        let [h, m, s, _] = self.0;
        (h < 24 && m < 60 && s < 60).then(|| self.micros())
    }
}

/// `parse_hh_mm_ss_ff` on `t[start..end]`: `HH[:?MM[:?SS]][{.,}f…]`. Like the C code it reads
/// `t[end]` (the offset sign, or the end of the string) when a component ends there. The flag
/// says whether text is left over.
fn parse_hh_mm_ss_ff(t: &[u8], start: usize, end: usize) -> Option<(Fields, bool)> {
    let at = |i: usize| t.get(i).copied().unwrap_or(0);
    let mut fields = Fields::default();
    let mut p = start;
    let mut has_separator = true;
    for component in 0..3 {
        fields.0[component] = i64::from(digits(t.get(p..p + 2)?)?);
        let c = at(p + 2);
        p += 3;
        if component == 0 {
            has_separator = c == b':';
        }
        if p >= end {
            return Some((fields, c != 0));
        } else if has_separator && c == b':' {
            continue;
        } else if c == b'.' || c == b',' {
            break;
        } else if !has_separator {
            p -= 1;
        } else {
            return None;
        }
    }
    // Up to six fraction digits count; more digits are dropped.
    let width = (end - p).min(6);
    let fraction = digits(t.get(p..p + width)?)?;
    fields.0[3] = i64::from(fraction * 10u32.pow(6 - width as u32));
    p += width;
    while at(p).is_ascii_digit() {
        p += 1;
    }
    Some((fields, at(p) != 0))
}

/// A run of ASCII digits as a number; `None` for anything else, empty included.
fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unix(text: &str) -> Option<(f64, bool)> {
        fromisoformat(text).map(|d| (d.unix_micros as f64 / 1e6, d.naive))
    }

    #[test]
    fn calendar_dates_with_and_without_time() {
        assert_eq!(unix("2023-11-14"), Some((1_699_920_000.0, true)));
        assert_eq!(unix("20231114"), Some((1_699_920_000.0, true)));
        assert_eq!(unix("2023-11-14T22:13:20"), Some((1_700_000_000.0, true)));
        assert_eq!(unix("2023-11-14 22:13:20"), Some((1_700_000_000.0, true)));
        assert_eq!(unix("2023-11-14x221320"), Some((1_700_000_000.0, true)));
        assert_eq!(unix("2023-11-14T22"), Some((1_699_999_200.0, true)));
    }

    #[test]
    fn iso_week_dates() {
        let tuesday = Some((1_699_920_000.0, true));
        assert_eq!(unix("2023-W46-2"), tuesday);
        assert_eq!(unix("2023W462"), tuesday);
        assert_eq!(unix("2023-W46-2T22:13:20"), Some((1_700_000_000.0, true)));
        assert_eq!(unix("2023-W46"), Some((1_699_833_600.0, true)));
        assert_eq!(unix("2023W46T22"), Some((1_699_912_800.0, true)));
        assert_eq!(unix("2023-W46-22:13:20"), Some((1_699_913_600.0, true)));
        assert!(unix("2020-W53-1").is_some());
    }

    #[test]
    fn offsets_make_aware_datetimes() {
        assert_eq!(unix("2023-11-14T22:13:20Z"), Some((1_700_000_000.0, false)));
        assert_eq!(
            unix("2023-11-14T22:13:20+00:00"),
            Some((1_700_000_000.0, false))
        );
        assert_eq!(
            unix("2023-11-14T23:13:20+01:00"),
            Some((1_700_000_000.0, false))
        );
        assert_eq!(
            unix("2023-11-14T21:13:20-0100"),
            Some((1_700_000_000.0, false))
        );
        assert_eq!(
            unix("2023-11-14T22:13:20+23:59:59.999999").map(|u| u.1),
            Some(false)
        );
        assert_eq!(unix("2023-11-14T22:13:20+24:00"), None);
        assert_eq!(unix("2023-11-14T22:13:20Z1"), None);
        assert_eq!(unix("2023-11-14T22:13:20+1"), None);
    }

    #[test]
    fn fractions_as_cpython_reads_them() {
        assert_eq!(unix("2023-11-14T22:13:20.5"), Some((1_700_000_000.5, true)));
        assert_eq!(
            unix("2023-11-14T22:13:20,25"),
            Some((1_700_000_000.25, true))
        );
        assert_eq!(
            unix("2023-11-14T22:13:20.1234567"),
            Some((1_700_000_000.123_456, true))
        );
        // C quirk: a fraction may follow the hour.
        assert_eq!(unix("2023-11-14T22.5"), Some((1_699_999_200.5, true)));
        assert_eq!(unix("2023-11-14T22:13:20.12x"), None);
    }

    #[test]
    fn refusals() {
        for text in [
            "2023-11-1",
            "2023-13-01",
            "2023-02-29",
            "0000-01-01",
            "2023-11-14T",
            "2023-11-14T24:00",
            "2023-11-14T22:60",
            "2023-11-14T22:13:20junk",
            "2023-11-14T22:1320",
            "2023-W53-1",
            "2023-W46-8",
            "2023-W46-",
            "2023W46-2",
            "2023-11-14T22:13:20\u{e9}",
            "2023-11-14\u{e9}\u{e9}22:13",
            "garbage",
        ] {
            assert_eq!(fromisoformat(text), None, "{text}");
        }
    }

    /// Inputs and `datetime.fromisoformat` results as CPython 3.11.7 gives them (microseconds
    /// since the epoch, naive), where the C parser's corners show.
    #[test]
    fn agrees_with_cpython_3_11_7() {
        let cases: [(&str, Option<(i64, bool)>); 40] = [
            ("2023-11-14T22:13.5", Some((1699999980500000, true))),
            ("2023-11-14T22:13:20:12", Some((1700000000120000, true))),
            ("2023-11-14T2213.5", Some((1699999980500000, true))),
            (
                "2023-11-14T22:13:20.123456789+05:30",
                Some((1699980200123456, false)),
            ),
            (
                "2023-11-14T22:13:20+05:30:15.5",
                Some((1699980184500000, false)),
            ),
            ("2023-11-14\u{e9}22:13", Some((1699999980000000, true))),
            ("2023-11-14\u{20ac}22:13", Some((1699999980000000, true))),
            (
                "2023-11-14T22:13:20+05:30.5",
                Some((1699980199500000, false)),
            ),
            ("2023-11-14T22:13:20+05.5", Some((1699981999500000, false))),
            ("2023-11-14T22:13:20+0530:15", None),
            ("2023-11-14T221320:5", None),
            (
                "2023-11-14T22:13:20+05:30:15:12",
                Some((1699980184880000, false)),
            ),
            ("2023-11-14T22,5", Some((1699999200500000, true))),
            ("2023-W46-22:15", Some((1699913700000000, true))),
            ("2023-11-14T22:13:20Z+01", None),
            ("2023-11-14T22:75", None),
            ("2023-11-14T22:13:20+23:75", None),
            ("2023-11-14T22:13:20+99", None),
            ("2023-11-14T22:13:20.", None),
            ("2023-11-14T22:13:20Z ", None),
            ("2023-11-1422:13", None),
            ("2023-11-14T0", None),
            ("2023-11-14T22:13:2", None),
            ("2024-02-29T12", Some((1709208000000000, true))),
            ("2023-11-14t22:13:20", Some((1700000000000000, true))),
            ("0001-01-01", Some((-62135596800000000, true))),
            (
                "9999-12-31T23:59:59.999999",
                Some((253402300799999999, true)),
            ),
            ("1969-12-31T23:59:59.999999", Some((-1, true))),
            (
                "2023-11-14T22:13:20-23:59:59.999999",
                Some((1700086399999999, false)),
            ),
            ("2020-W53-7", Some((1609632000000000, true))),
            ("2023W4631", None),
            ("2023W46312", Some((1699876800000000, true))),
            ("2023-W4", None),
            ("2023-11-14T22:13:20+", None),
            ("2023-11-14T22:13:20-0", None),
            (
                "2023-11-14T22:13:20+01:00:00.0000001",
                Some((1699996400000000, false)),
            ),
            (
                "2023-11-14T22:13:20.0000005",
                Some((1700000000000000, true)),
            ),
            ("2023-11", None),
            ("2023-1114", None),
            ("2023-11-14T2213:20", None),
        ];
        for (text, expected) in cases {
            let parsed = fromisoformat(text).map(|d| (d.unix_micros, d.naive));
            assert_eq!(parsed, expected, "{text:?}");
        }
    }
}

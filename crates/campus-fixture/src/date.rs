//! Calendar dates as days since 1970-01-01, and the as-of test of a date window.

use crate::*;

/// A calendar date, as days since 1970-01-01.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(crate) struct Date(pub(crate) i32);

impl Date {
    /// Days from a civil date (H. Hinnant's algorithm).
    pub(crate) const fn ymd(y: i32, m: i32, d: i32) -> Date {
        let y = if m <= 2 { y - 1 } else { y };
        let era = if y >= 0 { y } else { y - 399 } / 400;
        let yoe = y - era * 400;
        let mp = if m > 2 { m - 3 } else { m + 9 };
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Date(era * 146_097 + doe - 719_468)
    }

    pub(crate) fn parts(self) -> (i32, i32, i32) {
        let z = self.0 + 719_468;
        let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        (yoe + era * 400 + i32::from(m <= 2), m, d)
    }

    pub(crate) fn plus(self, days: i32) -> Date {
        Date(self.0 + days)
    }

    pub(crate) fn iso(self) -> String {
        let (y, m, d) = self.parts();
        format!("{y:04}-{m:02}-{d:02}")
    }
}

/// Whether a [start, end] window (None = open) contains the as-of date.
pub(crate) fn current(start: Option<Date>, end: Option<Date>) -> bool {
    start.is_none_or(|s| s <= AS_OF) && end.is_none_or(|e| e >= AS_OF)
}

/// Not ended on the as-of date: current, or starting later. OneRoster enrollments (and
/// so the teacher role) include next term's sections, which receivers want ready before
/// the term starts.
pub(crate) fn not_ended(end: Option<Date>) -> bool {
    end.is_none_or(|e| e >= AS_OF)
}

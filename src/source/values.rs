//! Turning the fetched column buffers into rows of text: the fetch thread, the per-value
//! conversions and the [`Row`] a sink receives. These run for every value of every row.

use std::fmt::Write as _;
use std::sync::mpsc::{Receiver, SyncSender};

use anyhow::{Result, bail};
use odbc_api::Bit;
use odbc_api::Cursor;
use odbc_api::buffers::ColumnarDynBuffer;
use odbc_api::sys::{Date, Timestamp};

use crate::rows::{Row, RowSink};

/// How one result column is fetched and turned into text.
#[derive(Clone, Copy, Debug)]
pub(super) enum ColumnKind {
    /// Text fetched as UTF-16 (`SQL_C_WCHAR`).
    Utf16Text,
    /// Text fetched as UTF-8 bytes (`SQL_C_CHAR`), only where the session's encoding is UTF-8.
    Utf8Text,
    Integer,
    Float32,
    Float64,
    Bit,
    Date,
    Timestamp,
}

/// `YYYY-MM-DD HH:MM:SS`, plus the fraction when there is one, in 3, 6 or 9 digits.
fn format_timestamp(out: &mut String, t: &Timestamp) {
    push_date(out, &Date { year: t.year, month: t.month, day: t.day });
    let _ = write!(out, " {:02}:{:02}:{:02}", t.hour, t.minute, t.second);
    let ns = t.fraction;
    if ns != 0 {
        if ns.is_multiple_of(1_000_000) {
            let _ = write!(out, ".{:03}", ns / 1_000_000);
        } else if ns.is_multiple_of(1_000) {
            let _ = write!(out, ".{:06}", ns / 1_000);
        } else {
            let _ = write!(out, ".{ns:09}");
        }
    }
}

// Per-value conversions of the fetch loop. They run for every value of every row, so
// they avoid the `fmt` machinery and per-character decoding where the data allows
// (profiling a 1M-row extract put the loop at about a sixth of the extract stage).

/// The fetch thread: fills a buffer, hands it over, and takes back the one that was
/// converted meanwhile. Stops at the end of the result, at a driver error (returned), or
/// when the converting side has hung up because it failed.
pub(super) fn fetch_batches<C: Cursor>(
    cursor: C,
    first: ColumnarDynBuffer,
    full: SyncSender<ColumnarDynBuffer>,
    empty: Receiver<ColumnarDynBuffer>,
) -> Result<(), odbc_api::Error> {
    let mut block = cursor.bind_buffer(first)?;
    loop {
        if block.fetch_with_truncation_check(true)?.is_none() {
            return Ok(());
        }
        let (cursor, buffer) = block.unbind()?;
        if full.send(buffer).is_err() {
            return Ok(());
        }
        let Ok(next) = empty.recv() else { return Ok(()) };
        block = cursor.bind_buffer(next)?;
    }
}

/// Turns fetched batches into rows of text for a [`RowSink`], reusing one [`Row`].
pub(super) struct Converter {
    pub(super) kinds: Vec<ColumnKind>,
    /// Set (to the query file's name) when the last column is the SQLite NUL check of
    /// [`Source::with_nul_check`]: a value there names a column the driver would cut short.
    nul_check: Option<String>,
    row: Row,
    /// Per column: whether invalid UTF-16 or UTF-8 was replaced (warned about once, at the end).
    pub(super) replaced: Vec<bool>,
}

impl Converter {
    pub(super) fn new(kinds: Vec<ColumnKind>, nul_check: Option<String>) -> Converter {
        let mut row = Row::default();
        row.reset(kinds.len());
        Converter { replaced: vec![false; kinds.len()], kinds, row, nul_check }
    }

    /// Converts every batch the fetch thread sends, returning each buffer for refilling.
    /// Returns the number of rows; on a sink error it returns at once, which hangs up
    /// both channels and so stops the fetch thread.
    pub(super) fn drain(
        &mut self,
        full: Receiver<ColumnarDynBuffer>,
        empty: SyncSender<ColumnarDynBuffer>,
        sink: &mut dyn RowSink,
    ) -> Result<u64> {
        let mut rows = 0;
        while let Ok(batch) = full.recv() {
            rows += self.convert(&batch, sink)?;
            // The fetch thread may have finished and gone; then the buffer is simply freed.
            let _ = empty.send(batch);
        }
        Ok(rows)
    }

    fn convert(&mut self, batch: &ColumnarDynBuffer, sink: &mut dyn RowSink) -> Result<u64> {
        let Converter { kinds, row, replaced, nul_check } = self;
        for r in 0..batch.num_rows() {
            for (c, kind) in kinds.iter().enumerate() {
                let column = batch.column(c);
                let out = &mut row.values[c];
                out.clear();
                let present = match kind {
                    ColumnKind::Utf16Text => match column.as_wide_text().and_then(|t| t.get(r)) {
                        Some(units) => {
                            replaced[c] |= push_utf16(out, units);
                            true
                        }
                        None => false,
                    },
                    ColumnKind::Utf8Text => match column.as_text().and_then(|t| t.get(r)) {
                        Some(bytes) => {
                            replaced[c] |= push_utf8(out, bytes);
                            true
                        }
                        None => false,
                    },
                    ColumnKind::Integer => column
                        .as_nullable_slice::<i64>()
                        .and_then(|s| s.get(r))
                        .map(|v| out.push_str(itoa::Buffer::new().format(*v)))
                        .is_some(),
                    ColumnKind::Float32 => column
                        .as_nullable_slice::<f32>()
                        .and_then(|s| s.get(r))
                        .map(|v| write!(out, "{v}"))
                        .is_some(),
                    ColumnKind::Float64 => column
                        .as_nullable_slice::<f64>()
                        .and_then(|s| s.get(r))
                        .map(|v| push_f64(out, *v))
                        .is_some(),
                    ColumnKind::Bit => column
                        .as_nullable_slice::<Bit>()
                        .and_then(|s| s.get(r))
                        .map(|v| out.push(if v.as_bool() { '1' } else { '0' }))
                        .is_some(),
                    ColumnKind::Date => column
                        .as_nullable_slice::<Date>()
                        .and_then(|s| s.get(r))
                        .map(|d| push_date(out, d))
                        .is_some(),
                    ColumnKind::Timestamp => column
                        .as_nullable_slice::<Timestamp>()
                        .and_then(|s| s.get(r))
                        .map(|t| format_timestamp(out, t))
                        .is_some(),
                };
                row.present[c] = present;
            }
            if let Some(file) = nul_check
                && let Some(column) = row.get(kinds.len() - 1)
            {
                bail!(
                    "{file}: a value of column {column:?} holds a NUL byte, which the SQLite driver would cut short; \
                     the run stopped rather than write a different value. Remove it in the query, e.g. replace({column}, char(0), '')"
                );
            }
            sink.row(row)?;
        }
        Ok(batch.num_rows() as u64)
    }
}

/// Appends UTF-16 `units` to `out`; returns true when a lone surrogate had to be replaced
/// with U+FFFD. ASCII, the bulk of roster data, is copied without decoding.
fn push_utf16(out: &mut String, units: &[u16]) -> bool {
    out.reserve(units.len());
    let ascii = units.iter().take_while(|u| **u < 0x80).count();
    // Narrowed 64 units at a time on the stack: a loop the compiler vectorizes, where
    // pushing char by char cost 3% of an extract's CPU time.
    let mut narrow = [0u8; 64];
    for part in units[..ascii].chunks(narrow.len()) {
        for (byte, unit) in narrow.iter_mut().zip(part) {
            *byte = *unit as u8;
        }
        out.push_str(std::str::from_utf8(&narrow[..part.len()]).expect("ASCII is UTF-8"));
    }
    let mut replaced = false;
    for ch in char::decode_utf16(units[ascii..].iter().copied()) {
        out.push(ch.unwrap_or_else(|_| {
            replaced = true;
            char::REPLACEMENT_CHARACTER
        }));
    }
    replaced
}

/// Appends UTF-8 `bytes` to `out`; returns true when invalid UTF-8 had to be replaced.
fn push_utf8(out: &mut String, bytes: &[u8]) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            out.push_str(text);
            false
        }
        Err(_) => {
            out.push_str(&String::from_utf8_lossy(bytes));
            true
        }
    }
}

/// Appends the shortest text that reads back as exactly `value`: plain digits in the
/// usual range, scientific notation beyond it (1e300 is not written as 301 digits).
fn push_f64(out: &mut String, value: f64) {
    let magnitude = value.abs();
    if value == 0.0 || !value.is_finite() || (1e-5..1e16).contains(&magnitude) {
        let _ = write!(out, "{value}");
    } else {
        let _ = write!(out, "{value:e}");
    }
}

/// Appends an ISO 8601 date, YYYY-MM-DD (a year below 1000 is zero-padded, as before).
fn push_date(out: &mut String, date: &Date) {
    if !(0..=9999).contains(&date.year) {
        // Outside four digits (never from a real SIS): let fmt handle sign and width.
        let _ = write!(out, "{:04}-{:02}-{:02}", date.year, date.month, date.day);
        return;
    }
    let year = date.year as u16;
    for digit in [year / 1000, year / 100 % 10, year / 10 % 10, year % 10] {
        out.push(char::from(b'0' + digit as u8));
    }
    for (separator, part) in [('-', date.month), ('-', date.day)] {
        out.push(separator);
        out.push(char::from(b'0' + (part / 10 % 10) as u8));
        out.push(char::from(b'0' + (part % 10) as u8));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_conversions_match_the_standard_formatting() {
        let long = "roster-".repeat(30); // 210 ASCII units: several narrowing chunks
        let texts = ["", "plain ascii", "Zoë Müller", "中文 😀", "a\u{7f}\u{80}b", "O'Brien, \"Jr\"\r\n"]
            .map(String::from)
            .into_iter()
            .chain([long[..64].to_string(), long[..65].to_string(), long.clone(), format!("{long}é{long}")]);
        for text in texts {
            let units: Vec<u16> = text.encode_utf16().collect();
            let mut out = String::from("stale");
            out.clear();
            assert!(!push_utf16(&mut out, &units));
            assert_eq!(out, text);
        }
        let mut out = String::new();
        assert!(push_utf16(&mut out, &[b'a' as u16, 0xD800, b'b' as u16]));
        assert_eq!(out, "a\u{FFFD}b");
        let mut out = String::new();
        assert!(!push_utf8(&mut out, "é中😀".as_bytes()));
        assert!(push_utf8(&mut out, b"a\xffb"));
        assert_eq!(out, "é中😀a\u{FFFD}b");
        for (year, month, day) in
            [(2026, 1, 15), (999, 12, 31), (1, 2, 3), (9999, 10, 10), (-44, 3, 15), (12000, 1, 1)]
        {
            let mut out = String::new();
            push_date(&mut out, &Date { year, month, day });
            assert_eq!(out, format!("{year:04}-{month:02}-{day:02}"));
        }
        for value in [16777217.0, 0.1 + 0.2, 1e300, -2.5e-7, 0.0, 123.25, f64::MAX, f64::MIN_POSITIVE] {
            let mut out = String::new();
            push_f64(&mut out, value);
            assert_eq!(out.parse::<f64>().unwrap(), value, "{out}");
            assert!(out.len() <= 24, "{out}");
        }
        let mut out = String::new();
        let t =
            Timestamp { year: 2026, month: 1, day: 15, hour: 7, minute: 5, second: 9, fraction: 120_000_000 };
        format_timestamp(&mut out, &t);
        assert_eq!(out, "2026-01-15 07:05:09.120");
    }

    #[test]
    fn timestamps_keep_their_fraction() {
        let mut s = String::new();
        let t = Timestamp { year: 2026, month: 11, day: 23, hour: 18, minute: 30, second: 5, fraction: 0 };
        format_timestamp(&mut s, &t);
        assert_eq!(s, "2026-11-23 18:30:05");
        s.clear();
        format_timestamp(&mut s, &Timestamp { fraction: 120_000_000, ..t });
        assert_eq!(s, "2026-11-23 18:30:05.120");
        s.clear();
        format_timestamp(&mut s, &Timestamp { fraction: 123_456_000, ..t });
        assert_eq!(s, "2026-11-23 18:30:05.123456");
    }
}

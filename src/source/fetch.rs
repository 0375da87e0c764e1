//! Running a query and fetching its rows exactly: how each column is fetched (so its
//! values arrive as the server holds them), the two fetch buffers sized from the memory
//! budget, and the fetch thread that fills one while the other is turned into text.

use std::sync::mpsc::sync_channel;

use anyhow::{Context, Result, bail};
use chrono::{Datelike, NaiveDate};
use odbc_api::buffers::{BufferDesc, ColumnarDynBuffer};
use odbc_api::parameter::InputParameter;
use odbc_api::sys::Date;
use odbc_api::{DataType, IntoParameter, ResultSetMetadata};

use super::Source;
use super::explain::explain_query_error;
use super::transient;
use super::values::{ColumnKind, Converter, fetch_batches};
use crate::config::People;
use crate::query::{Placeholder, SqlDialect, SqlFile, send_form};
use crate::rows::RowSink;

/// The most rows fetched in one batch, whatever the budget allows: beyond this the driver
/// round trips no longer dominate and larger batches only cost memory.
const MAX_BATCH_ROWS: usize = 16_384;

impl Source {
    /// Runs `query` with every `?` bound to `as_of` (a date), or, for a `? /* people */`,
    /// to `people` (text), streaming its rows into `sink`. Returns the number of rows.
    ///
    /// About 110 lines: the fetch thread's scope owns the two buffers, the channels and the
    /// converter, and the errors after it are told apart by which side stopped first;
    /// split, that state would travel through a struct only this function uses.
    pub fn extract(
        &self,
        query: &SqlFile,
        as_of: NaiveDate,
        people: People,
        sink: &mut dyn RowSink,
    ) -> Result<u64> {
        // Again before every query: an earlier query of the job could have called
        // set_config('default_transaction_read_only', 'off', …) from inside a SELECT.
        self.enforce_read_only()?;
        let file = query.path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        // Text is fetched as UTF-8 bytes on the word of the session's encoding; an earlier
        // query could have changed it with set_config(…).
        if self.narrow_text_is_utf8 && self.dialect == SqlDialect::PostgreSql {
            let encoding = self.client_encoding()?;
            if !encoding.eq_ignore_ascii_case(self.session_encoding) {
                bail!(
                    "{file}: the session's client encoding was changed to {encoding:?} by an earlier query; \
                     sis-extract needs UTF8. Remove the set_config('client_encoding', …) from the job's queries"
                );
            }
        }
        let sent = query.vetted_for(self.dialect)?;
        let (text, nul_check, times_as_text) = match self.dialect {
            SqlDialect::PostgreSql => {
                let (text, cast) = self.with_times_as_server_text(&sent, &file)?;
                (text, false, cast)
            }
            SqlDialect::Sqlite => (self.with_nul_check(&sent, &file)?, true, Vec::new()),
            SqlDialect::SqlServer | SqlDialect::Generic => {
                (send_form(&sent, self.dialect), false, Vec::new())
            }
        };
        let mut statement = self.connection.preallocate()?;
        let timeout = self.config_query_timeout.as_secs() as usize;
        if timeout > 0 {
            statement.set_query_timeout_sec(timeout)?;
        }
        let date = Date { year: as_of.year() as i16, month: as_of.month() as u16, day: as_of.day() as u16 };
        let parameters: Vec<Box<dyn InputParameter>> = query
            .placeholders
            .iter()
            .map(|kind| -> Box<dyn InputParameter> {
                match kind {
                    Placeholder::AsOf => Box::new(date),
                    Placeholder::People => Box::new(people.as_str().into_parameter()),
                }
            })
            .collect();
        let cursor = if parameters.is_empty() {
            statement.execute(&text, ())
        } else {
            statement.execute(&text, &parameters[..])
        }
        .map_err(|e| {
            let explained = explain_query_error(&e, &file, self.config_query_timeout);
            transient::classify(&e, explained)
        })?;
        let Some(mut cursor) = cursor else {
            bail!("{file}: the query returned no result set; it must be a SELECT that returns columns");
        };

        let (mut names, kinds, descs) = self.describe(&mut cursor, &file, &times_as_text)?;
        // The NUL check's column is fetched and looked at, never written.
        let nul_check_column = nul_check.then(|| names.pop().expect("the check column was described"));
        sink.begin(&names)?;

        // Two fetch buffers, each half the memory budget: the driver fills one on a fetch
        // thread while this thread turns the other into text. On a 2-core server the driver's
        // work (about three quarters of the extract's CPU time) then overlaps ours.
        let row_bytes: usize = descs.iter().map(BufferDesc::bytes_per_row).sum::<usize>().max(1);
        let batch_rows = ((self.memory_budget as usize / 2) / row_bytes).clamp(1, MAX_BATCH_ROWS);
        tracing::debug!(file, batch_rows, row_bytes, "two fetch buffers sized from the memory budget");
        let allocate = || {
            ColumnarDynBuffer::try_from_descs(batch_rows, descs.iter().copied())
                .with_context(|| format!("{file}: allocating fetch buffers of {batch_rows} rows"))
        };
        let (first, second) = (allocate()?, allocate()?);

        let mut converter = Converter::new(kinds, nul_check_column.is_some().then(|| file.clone()));
        let (fetched, converted) = std::thread::scope(|scope| {
            let (full_tx, full_rx) = sync_channel(1);
            let (empty_tx, empty_rx) = sync_channel(1);
            empty_tx.send(second).expect("a new channel has room for one buffer");
            let fetcher = std::thread::Builder::new()
                .name("sis-fetch".into())
                .spawn_scoped(scope, move || fetch_batches(cursor, first, full_tx, empty_rx))
                .context("starting the fetch thread")?;
            let converted = converter.drain(full_rx, empty_tx, sink);
            let fetched = fetcher.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            anyhow::Ok((fetched, converted))
        })?;
        // A failed write (a full disk) is the first cause; the fetch thread only stopped
        // because of it. Otherwise the fetch's own error, if any, is the cause.
        let rows = converted?;
        match fetched {
            Ok(()) => {}
            Err(odbc_api::Error::TooLargeValueForBuffer { indicator, buffer_index }) => {
                let column = &names[buffer_index];
                let size = match &descs[buffer_index] {
                    BufferDesc::Text { max_str_len } => {
                        let value =
                            indicator.map(|bytes| format!("; the value has {bytes}")).unwrap_or_default();
                        format!(
                            "{} characters ({max_str_len} bytes of UTF-8{value})",
                            max_str_len / UTF8_BYTES_PER_UNIT
                        )
                    }
                    desc => {
                        let value =
                            indicator.map(|bytes| format!(" ({} characters)", bytes / 2)).unwrap_or_default();
                        format!("{} characters{value}", text_width(desc))
                    }
                };
                bail!(
                    "{file}: a value of column {column:?} is longer than its buffer of {size}; \
                     nothing was truncated and the run stopped. Raise source.max_text_length, or shorten the value in the query",
                );
            }
            Err(e) => {
                let explained = explain_query_error(&e, &file, self.config_query_timeout);
                return Err(transient::classify(&e, explained));
            }
        }
        for (c, was_replaced) in converter.replaced.iter().enumerate() {
            if *was_replaced {
                let what = match converter.kinds[c] {
                    ColumnKind::Utf8Text => "invalid UTF-8",
                    _ => "invalid UTF-16 (a lone surrogate)",
                };
                tracing::warn!(file, column = names[c].as_str(), "{what} was replaced with U+FFFD");
            }
        }
        Ok(rows)
    }

    /// Column names, how each is fetched, and the buffer for it.
    /// `times_as_text` are the (1-based) columns [`Source::with_times_as_server_text`] cast.
    fn describe(
        &self,
        cursor: &mut impl ResultSetMetadata,
        file: &str,
        times_as_text: &[u16],
    ) -> Result<(Vec<String>, Vec<ColumnKind>, Vec<BufferDesc>)> {
        let count = cursor.num_result_cols()?;
        if count <= 0 {
            bail!("{file}: the query returns no columns");
        }
        let mut names: Vec<String> = Vec::with_capacity(count as usize);
        let mut kinds = Vec::with_capacity(count as usize);
        let mut descs = Vec::with_capacity(count as usize);
        for i in 1..=count as u16 {
            let name = cursor.col_name(i)?;
            check_column_name(&names, &name, i.into(), file)?;
            let data_type = cursor.col_data_type(i)?;
            let mut display = || {
                let display = cursor.col_display_size(i).ok().flatten().map_or(0, |n| n.get());
                display.max(data_type.display_size().map_or(0, |n| n.get()))
            };
            // A cast time is `text` to the driver, which would size it as unbounded text
            // (max_text_length) and so shrink every fetch batch; its rendering has a length.
            let fetch = if times_as_text.contains(&i) {
                Fetch::Text { declared: RENDERED_TIME_CHARS }
            } else {
                self.fetch_as(data_type)
            };
            let (kind, desc) = match fetch {
                Fetch::Typed(kind, desc) => (kind, desc),
                Fetch::Text { declared } => self.text_column(self.text_units(declared)),
                // The server's own rendering of a value whose binary form could change it
                // (PostgreSQL's `infinity` dates, BC years, year 294276, float8 digits):
                // never shorter than a timestamp with time zone and an era.
                Fetch::ServerText => self.text_column(self.text_units(display().max(64))),
            };
            names.push(name);
            kinds.push(kind);
            descs.push(desc);
        }
        Ok((names, kinds, descs))
    }

    /// How a column of `data_type` is fetched from this server, so that every value
    /// arrives exactly as the server holds it.
    fn fetch_as(&self, data_type: DataType) -> Fetch {
        let text_length = |length: Option<std::num::NonZeroUsize>| length.map_or(0, |l| l.get());
        match (self.dialect, data_type) {
            // SQLite stores any value in any column whatever its declared type (text in an
            // INTEGER column, a Julian day in a DATE one), and the driver's conversions to
            // a declared type change such values silently. Its text is the value exactly as
            // the sqlite3 shell shows it, and a declared length means nothing.
            (SqlDialect::Sqlite, _) => Fetch::Text { declared: 0 },
            (_, DataType::TinyInt | DataType::SmallInt | DataType::Integer | DataType::BigInt) => {
                Fetch::Typed(ColumnKind::Integer, BufferDesc::I64 { nullable: true })
            }
            (_, DataType::Numeric { precision, scale: 0 } | DataType::Decimal { precision, scale: 0 })
                if precision < 19 =>
            {
                Fetch::Typed(ColumnKind::Integer, BufferDesc::I64 { nullable: true })
            }
            (_, DataType::Bit) => Fetch::Typed(ColumnKind::Bit, BufferDesc::Bit { nullable: true }),
            // psqlODBC's binary dates turn `infinity` into today and drop the era; its
            // float8 is reported as FLOAT(17), which reads as single precision. PostgreSQL's
            // text is exactly what psql shows.
            (
                SqlDialect::PostgreSql,
                DataType::Real
                | DataType::Float { .. }
                | DataType::Double
                | DataType::Date
                | DataType::Time { .. }
                | DataType::Timestamp { .. },
            ) => Fetch::ServerText,
            (_, DataType::Real) => Fetch::Typed(ColumnKind::Float32, BufferDesc::F32 { nullable: true }),
            // SQL_FLOAT's precision is binary digits by the standard but decimal digits by
            // some drivers: a FLOAT is always fetched as a double, which holds either.
            (_, DataType::Double | DataType::Float { .. }) => {
                Fetch::Typed(ColumnKind::Float64, BufferDesc::F64 { nullable: true })
            }
            (_, DataType::Date) => Fetch::Typed(ColumnKind::Date, BufferDesc::Date { nullable: true }),
            (_, DataType::Timestamp { .. }) => {
                Fetch::Typed(ColumnKind::Timestamp, BufferDesc::Timestamp { nullable: true })
            }
            (
                _,
                DataType::Char { length }
                | DataType::WChar { length }
                | DataType::Varchar { length }
                | DataType::WVarchar { length }
                | DataType::LongVarchar { length }
                | DataType::WLongVarchar { length },
            ) => Fetch::Text { declared: text_length(length) },
            // Decimals, times, GUIDs, binary and driver-specific types: the driver's own
            // text rendering is exact, so fetch them as text.
            _ => Fetch::ServerText,
        }
    }

    /// UTF-16 units to reserve for a text column of `declared` characters. A declared size
    /// of 0 or above the cap (`NVARCHAR(MAX)`, `TEXT`) gets the cap. Small columns get twice
    /// their size, because a character outside the Basic Multilingual Plane (an emoji in a
    /// name) takes two UTF-16 units.
    fn text_units(&self, declared: usize) -> usize {
        let cap = self.max_text_length;
        if declared == 0 || declared > cap { cap } else { (declared * 2).min(cap.max(declared)) }
    }

    /// The buffer for a text column of `units` UTF-16 units. As UTF-8 it gets three bytes a
    /// unit, the most any UTF-16 unit can take, so it holds every value the UTF-16 one would.
    fn text_column(&self, units: usize) -> (ColumnKind, BufferDesc) {
        if self.narrow_text_is_utf8 {
            (ColumnKind::Utf8Text, BufferDesc::Text { max_str_len: units * UTF8_BYTES_PER_UNIT })
        } else {
            (ColumnKind::Utf16Text, BufferDesc::WText { max_str_len: units })
        }
    }
}

/// The longest text PostgreSQL renders for a date, time or timestamp is under 48
/// characters in any DateStyle (`294276-12-31 23:59:59.999999+05:53:28 BC` is 40). A
/// longer one would stop the run naming the column, like any value too long for its
/// buffer: never be cut.
const RENDERED_TIME_CHARS: usize = 48;

/// A result column needs a name of its own: it becomes a CSV header (`number` counts
/// from 1, for the message).
pub(super) fn check_column_name(earlier: &[String], name: &str, number: usize, file: &str) -> Result<()> {
    if name.trim().is_empty() {
        bail!(
            "{file}: result column {number} has no name; give it one with AS, e.g. `SELECT count(*) AS total`"
        );
    }
    if let Some(other) = earlier.iter().position(|n| n.eq_ignore_ascii_case(name)) {
        bail!(
            "{file}: result columns {} and {number} are both named {name:?}; give each column a unique name with AS",
            other + 1
        );
    }
    Ok(())
}

/// How one column is fetched (see [`Source::fetch_as`]).
enum Fetch {
    /// In a binary C type that holds every value of the column exactly.
    Typed(ColumnKind, BufferDesc),
    /// As text of (at most) the declared length; 0 means unknown or unbounded.
    Text { declared: usize },
    /// As the driver's or server's own text rendering, sized from its display size.
    ServerText,
}

/// The most UTF-8 bytes one UTF-16 unit stands for (U+0800..U+FFFF: one unit, three bytes).
const UTF8_BYTES_PER_UNIT: usize = 3;

/// A UTF-16 text column's buffer, in characters (UTF-16 units), for error messages.
fn text_width(desc: &BufferDesc) -> usize {
    match desc {
        BufferDesc::WText { max_str_len } => *max_str_len,
        _ => 0,
    }
}

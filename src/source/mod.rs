//! The database side: the only module that uses odbc-api.
//!
//! It opens one read-only connection, runs vetted queries with the as-of date bound as an
//! ODBC parameter, and streams rows in column-wise batches to a [`RowSink`]. Batches are
//! sized from a memory budget and the column widths, so memory does not grow with the
//! number of rows. Text is fetched as UTF-16, so no code page ever touches a name, except
//! from a PostgreSQL session that sis-extract itself made UTF-8 (not on Windows): there
//! the driver's bytes are already UTF-8 and are taken as they are. A value longer than its
//! buffer is an error that names the column, never a silent truncation.
//!
//! Here: connecting, the read-only session, how each column is fetched so its values
//! arrive exactly, and running a query. Beside it: `connection_string.rs` (what is sent
//! to the driver), `values.rs` (buffers to text), `explain.rs` (driver errors to
//! messages) and `diagnose.rs` (`check`'s database steps).

use std::sync::mpsc::sync_channel;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use chrono::{Datelike, NaiveDate};
use odbc_api::buffers::{BufferDesc, ColumnarDynBuffer};
use odbc_api::sys::{ConnectionAttribute, Date, Pointer};
use odbc_api::{
    Connection, ConnectionOptions, Cursor, DataType, DriverSpecificConnectionOptions, ResultSetMetadata,
    SetConnectionAttributeArgs,
};

use crate::config::SourceConfig;
use crate::query::{SqlDialect, SqlFile, send_form, wrapped};

mod connection_string;
mod explain;
mod values;

pub use crate::rows::{Row, RowSink};
pub use connection_string::driver_name;

pub use connection_string::DriverKind;
use connection_string::full_connection_string;
pub use explain::first_line;
use explain::{explain_connect_error, explain_query_error, sql_type_name};
use values::{ColumnKind, Converter, fetch_batches};

/// The most rows fetched in one batch, whatever the budget allows: beyond this the driver
/// round trips no longer dominate and larger batches only cost memory.
const MAX_BATCH_ROWS: usize = 16_384;

/// An open, read-only database connection.
pub struct Source {
    connection: Connection<'static>,
    config_query_timeout: Duration,
    memory_budget: u64,
    max_text_length: usize,
    /// Whether the driver's narrow text is known to be UTF-8 (see [`Source::connect`]).
    narrow_text_is_utf8: bool,
    /// The PostgreSQL session's client encoding while text is fetched narrow: `UTF8`, or
    /// `SQL_ASCII` for a database of that encoding (see [`Source::accept_sql_ascii_bytes`]).
    session_encoding: &'static str,
    /// What the driver calls the database product, e.g. "PostgreSQL", "Microsoft SQL Server".
    pub dbms: String,
    /// The SQL dialect of that product: query text is vetted and sent in this dialect.
    pub dialect: SqlDialect,
}

/// Sets `SQL_ATTR_ACCESS_MODE = SQL_MODE_READ_ONLY` before connecting.
struct ReadOnlyAccess;

impl DriverSpecificConnectionOptions<'static> for ReadOnlyAccess {
    fn attributes(&self) -> impl Iterator<Item = SetConnectionAttributeArgs<'static>> {
        const SQL_MODE_READ_ONLY: usize = 1;
        const SQL_IS_UINTEGER: i32 = -5;
        // Safety: SQL_ATTR_ACCESS_MODE takes an integer passed in the pointer argument,
        // flagged with SQL_IS_UINTEGER; no memory is referenced.
        std::iter::once(unsafe {
            SetConnectionAttributeArgs::new(
                ConnectionAttribute::ACCESS_MODE,
                SQL_MODE_READ_ONLY as Pointer,
                SQL_IS_UINTEGER,
            )
        })
    }
}

impl Source {
    /// Connects read-only, with the login timeout applied.
    pub fn connect(config: &SourceConfig) -> Result<Source> {
        let env = odbc_api::environment()
            .map_err(|e| anyhow!("cannot start the ODBC driver manager: {e}. Is unixODBC installed?"))?;
        let options = ConnectionOptions {
            login_timeout_sec: Some(config.login_timeout.as_secs().clamp(1, u32::MAX as u64) as u32),
            packet_size: None,
        };
        let open = |cs: &str| {
            // Safety: SQL_ATTR_ACCESS_MODE is a standard ODBC attribute that every driver
            // accepts (drivers that cannot enforce it treat it as a hint).
            unsafe {
                env.connect_with_connection_string_and_driver_specific_options(cs, options, ReadOnlyAccess)
            }
            .map_err(|e| {
                explain_connect_error(
                    e,
                    &config.connection_string,
                    config.password.as_ref().map(|p| p.source.as_str()),
                )
            })
        };
        let driver = DriverKind::of(&config.connection_string);
        let mut guarded_sqlite = driver == DriverKind::Sqlite && crate::sqlite_guard::install();
        let mut cs = full_connection_string(config, false)?;
        let mut connection = open(&cs.text)?;
        let mut dbms = connection.database_management_system_name().unwrap_or_default();
        // A DSN hides its driver until connected. If it turns out to be PostgreSQL, connect
        // again with psqlODBC's settings: without them a large result is held in memory
        // and the session's encoding follows the locale.
        if SqlDialect::of_dbms(&dbms) == SqlDialect::PostgreSql && driver != DriverKind::PsqlOdbc {
            tracing::info!(
                "the data source is PostgreSQL: reconnecting with psqlODBC's cursor and UTF-8 session settings"
            );
            drop(connection);
            cs = full_connection_string(config, true)?;
            connection = open(&cs.text)?;
            dbms = connection.database_management_system_name().unwrap_or_default();
        }
        // Likewise a DSN that turns out to be SQLite: connect again with the guard in place.
        if SqlDialect::of_dbms(&dbms) == SqlDialect::Sqlite
            && !guarded_sqlite
            && crate::sqlite_guard::install()
        {
            drop(connection);
            connection = open(&cs.text)?;
            guarded_sqlite = true;
        }
        let dialect = SqlDialect::of_dbms(&dbms);
        let mut source = Source {
            connection,
            config_query_timeout: config.query_timeout,
            memory_budget: config.memory_budget,
            max_text_length: config.max_text_length,
            narrow_text_is_utf8: false,
            session_encoding: "UTF8",
            dbms,
            dialect,
        };
        source.enforce_read_only()?;
        if dialect == SqlDialect::Sqlite && !source.sqlite_extensions_refused() {
            tracing::warn!(
                guard_installed = guarded_sqlite,
                "this SQLite connection can load extensions (its driver does not use the system's libsqlite3); only the query vetting refuses load_extension()"
            );
        }
        source.narrow_text_is_utf8 = source
            .session_text_is_utf8(cs.sets_utf8_session)
            .context("reading the PostgreSQL session's client encoding")?;
        if source.narrow_text_is_utf8 && source.dialect == SqlDialect::PostgreSql {
            source.accept_sql_ascii_bytes()?;
        }
        Ok(source)
    }

    /// Whether text can be fetched as UTF-8 bytes: only on PostgreSQL, only when
    /// sis-extract set the session's encoding itself (then psqlODBC knows the session is
    /// UTF-8 and hands text over as the server sent it), and not on Windows, where psqlODBC
    /// converts narrow text to the code page it believes the program uses. It skips the
    /// driver's conversion to UTF-16 and ours back: about a tenth of a large extract's time.
    /// Elsewhere text stays UTF-16.
    fn session_text_is_utf8(&self, sis_extract_set_it: bool) -> Result<bool> {
        if self.dialect == SqlDialect::Sqlite {
            // The SQLite driver's narrow text is the database's own UTF-8, byte for byte:
            // an invalid byte reaches sis-extract (and becomes U+FFFD with a warning)
            // instead of being dropped by the driver's conversion to UTF-16.
            return Ok(!cfg!(windows));
        }
        if self.dialect != SqlDialect::PostgreSql {
            return Ok(false);
        }
        let encoding = self.client_encoding()?;
        if encoding.eq_ignore_ascii_case("UTF8") {
            return Ok(sis_extract_set_it && !cfg!(windows));
        }
        tracing::warn!(
            client_encoding = encoding.as_str(),
            "the PostgreSQL session's client encoding is not UTF8, so names with accents can fail to convert. \
             The connection string sets its own ConnSettings: put `set client_encoding to 'UTF8';` \
             (in exactly that form) at its start"
        );
        Ok(false)
    }

    /// A `SQL_ASCII` database holds bytes, not characters, and PostgreSQL refuses to send
    /// one that is not UTF-8 to a UTF-8 session ("invalid byte sequence"), failing the
    /// whole night. For such a database the session is switched to `SQL_ASCII` too: the
    /// server then sends the bytes as stored, psqlODBC (which still believes the session
    /// is UTF-8) hands them over, and an invalid one becomes U+FFFD with a warning.
    fn accept_sql_ascii_bytes(&mut self) -> Result<()> {
        let server = self.first_value("SELECT current_setting('server_encoding')")?.unwrap_or_default();
        if server.eq_ignore_ascii_case("SQL_ASCII") {
            self.connection
                .execute("SET client_encoding = 'SQL_ASCII'", (), None)
                .context("making the session of a SQL_ASCII database pass its bytes through")?;
            self.session_encoding = "SQL_ASCII";
        }
        Ok(())
    }

    fn client_encoding(&self) -> Result<String> {
        Ok(self.first_value("SELECT current_setting('client_encoding')")?.unwrap_or_default())
    }

    /// Drivers treat SQL_ATTR_ACCESS_MODE as a hint; where the database itself can enforce a
    /// read-only session, ask it to.
    fn enforce_read_only(&self) -> Result<()> {
        let statement = match self.dialect {
            SqlDialect::PostgreSql => "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
            SqlDialect::Sqlite => "PRAGMA query_only = 1",
            // SQL Server has no session-level read-only switch: the account must be read-only.
            SqlDialect::SqlServer | SqlDialect::Generic => return Ok(()),
        };
        self.connection
            .execute(statement, (), None)
            .with_context(|| format!("making the {} session read-only", self.dbms))?;
        Ok(())
    }

    /// Runs `query` with every `?` bound to `as_of`, streaming its rows into `sink`.
    /// Returns the number of rows.
    ///
    /// About 110 lines: the fetch thread's scope owns the two buffers, the channels and the
    /// converter, and the errors after it are told apart by which side stopped first;
    /// split, that state would travel through a struct only this function uses.
    pub fn extract(&self, query: &SqlFile, as_of: NaiveDate, sink: &mut dyn RowSink) -> Result<u64> {
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
        let parameters = vec![date; query.placeholders];
        let cursor = if parameters.is_empty() {
            statement.execute(&text, ())
        } else {
            statement.execute(&text, &parameters[..])
        }
        .map_err(|e| explain_query_error(e, &file, self.config_query_timeout))?;
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
            Err(e) => return Err(explain_query_error(e, &file, self.config_query_timeout)),
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
fn check_column_name(earlier: &[String], name: &str, number: usize, file: &str) -> Result<()> {
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

/// `"name"`, with any `"` in it doubled: a quoted identifier in PostgreSQL and SQLite.
fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn is_date_or_time(data_type: DataType) -> bool {
    matches!(data_type, DataType::Date | DataType::Time { .. } | DataType::Timestamp { .. })
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

impl Source {
    /// Prepares `query` and describes its result columns without fetching any row.
    pub fn describe_query(&self, query: &SqlFile) -> Result<Vec<(String, String)>> {
        let file = format!("{}.sql", query.name);
        let columns = self.prepared_columns(&query.text_for(self.dialect)?, &file)?;
        Ok(columns.into_iter().map(|(name, data_type)| (name, sql_type_name(data_type))).collect())
    }

    /// What the database says about the session's read-only state, where it can say.
    pub fn read_only_state(&self) -> Result<Option<String>> {
        let (query, what) = match self.dialect {
            SqlDialect::PostgreSql => ("SHOW transaction_read_only", "transaction_read_only"),
            SqlDialect::Sqlite => ("PRAGMA query_only", "query_only"),
            SqlDialect::SqlServer | SqlDialect::Generic => return Ok(None),
        };
        let value = self.first_value(query)?.unwrap_or_default();
        if value == "on" || value == "1" {
            let extensions = match self.dialect {
                SqlDialect::Sqlite if self.sqlite_extensions_refused() => "; extension loading is refused",
                SqlDialect::Sqlite => "; WARNING: extension loading is not blocked by the connection",
                _ => "",
            };
            Ok(Some(format!("the session is read-only ({what} = {value}){extensions}")))
        } else {
            bail!("the session is not read-only ({what} = {value:?})")
        }
    }

    /// psqlODBC parses date, time and timestamp values even when they are fetched as text,
    /// and writes its own rendering: `infinity` becomes `0000-00-00`, a BC date loses its
    /// era, year 294276 becomes 2942, a time zone offset is dropped. So such columns are
    /// cast to text by the server itself: `SELECT "a", "d"::text AS "d" FROM (…)`. The
    /// query (in its send form) is described first, prepared and not run, to find them.
    /// Returns the text and the (1-based) numbers of the columns cast.
    fn with_times_as_server_text(&self, sent: &str, file: &str) -> Result<(String, Vec<u16>)> {
        let plain = send_form(sent, SqlDialect::PostgreSql);
        let columns = self.prepared_columns(&plain, file)?;
        let mut names: Vec<&str> = Vec::with_capacity(columns.len());
        let mut list = Vec::with_capacity(columns.len());
        for (name, data_type) in &columns {
            if names.contains(&name.as_str()) {
                // `describe` names the duplicate; a cast would only make PostgreSQL's
                // "ambiguous" message take its place.
                return Ok((plain, Vec::new()));
            }
            names.push(name);
            let quoted = quote_identifier(name);
            list.push(if is_date_or_time(*data_type) {
                format!("{quoted}::text AS {quoted}")
            } else {
                quoted
            });
        }
        let cast: Vec<u16> = (1..)
            .zip(&columns)
            .filter(|(_, (_, data_type))| is_date_or_time(*data_type))
            .map(|(number, _)| number)
            .collect();
        if cast.is_empty() {
            return Ok((plain, cast));
        }
        Ok((wrapped(sent, &list.join(", ")), cast))
    }

    /// The SQLite driver cuts a text value at its first NUL byte, silently. So every
    /// column is checked by SQLite itself, in one extra last column that names the first
    /// column of the row holding a NUL (or is NULL): `SELECT *, CASE WHEN instr("a",
    /// char(0)) > 0 THEN 'a' … END FROM (…)`.
    fn with_nul_check(&self, sent: &str, file: &str) -> Result<String> {
        // The names as the query itself gives them: through `SELECT *` SQLite would rename
        // a duplicate `id` to `id:1`, hiding the mistake, so they are checked here.
        let mut names: Vec<String> = Vec::new();
        for (i, (name, _)) in self.prepared_columns(sent, file)?.into_iter().enumerate() {
            check_column_name(&names, &name, i + 1, file)?;
            names.push(name);
        }
        let arms: Vec<String> = names
            .iter()
            .map(|name| {
                format!(
                    "WHEN instr(sis_extract_query.{}, char(0)) > 0 THEN '{}'",
                    quote_identifier(name),
                    name.replace('\'', "''")
                )
            })
            .collect();
        Ok(wrapped(sent, &format!("*, CASE {} END AS sis_extract_nul_check", arms.join(" "))))
    }

    /// The names and types of the result columns of `sql`, prepared and not run.
    fn prepared_columns(&self, sql: &str, file: &str) -> Result<Vec<(String, DataType)>> {
        let explain = |e| explain_query_error(e, file, self.config_query_timeout);
        let mut prepared = self.connection.prepare(sql).map_err(explain)?;
        let count = prepared.num_result_cols().map_err(explain)?;
        (1..=count.max(0) as u16)
            .map(|i| {
                Ok((prepared.col_name(i).map_err(explain)?, prepared.col_data_type(i).map_err(explain)?))
            })
            .collect()
    }

    /// Whether this SQLite connection refuses `load_extension()` itself (the authorizer of
    /// [`crate::sqlite_guard`]), tried with a call that could load nothing anyway.
    fn sqlite_extensions_refused(&self) -> bool {
        match self.connection.execute("SELECT load_extension('')", (), None) {
            Ok(_) => false,
            Err(e) => e.to_string().contains("not authorized"),
        }
    }

    fn first_value(&self, sql: &str) -> Result<Option<String>> {
        let Some(mut cursor) = self.connection.execute(sql, (), None)? else { return Ok(None) };
        let Some(mut row) = cursor.next_row()? else { return Ok(None) };
        let mut buffer = Vec::new();
        row.get_text(1, &mut buffer)?;
        Ok(Some(String::from_utf8_lossy(&buffer).into_owned()))
    }
}

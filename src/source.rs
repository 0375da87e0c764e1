//! The database side: the only module that uses odbc-api.
//!
//! It opens one read-only connection, runs vetted queries with the as-of date bound as an
//! ODBC parameter, and streams rows in column-wise batches to a [`RowSink`]. Batches are
//! sized from a memory budget and the column widths, so memory does not grow with the
//! number of rows. Text is fetched as UTF-16, so no code page ever touches a name, except
//! from a PostgreSQL session that sis-extract itself made UTF-8 (not on Windows): there
//! the driver's bytes are already UTF-8 and are taken as they are. A value longer than its
//! buffer is an error that names the column, never a silent truncation.

use std::fmt::Write as _;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use chrono::{Datelike, NaiveDate};
use odbc_api::buffers::{BufferDesc, ColumnarDynBuffer};
use odbc_api::sys::{ConnectionAttribute, Date, Pointer, Timestamp};
use odbc_api::{
    Bit, Connection, ConnectionOptions, Cursor, DataType, DriverSpecificConnectionOptions, ResultSetMetadata,
    SetConnectionAttributeArgs,
};

use crate::check::{Chain, Step};
use crate::config::{SourceConfig, connection_string_pairs};
use crate::query::{SqlDialect, SqlFile, send_form, wrapped};
use crate::secret;

/// The most rows fetched in one batch, whatever the budget allows: beyond this the driver
/// round trips no longer dominate and larger batches only cost memory.
const MAX_BATCH_ROWS: usize = 16_384;

/// Receives the rows of one query.
pub trait RowSink {
    /// Called once, before any row, with the result's column names.
    fn begin(&mut self, columns: &[String]) -> Result<()>;
    /// Called for every row; the row's buffers are reused for the next one.
    fn row(&mut self, row: &Row) -> Result<()>;
}

/// One row as UTF-8 text; `None` is SQL NULL.
#[derive(Default)]
pub struct Row {
    values: Vec<String>,
    present: Vec<bool>,
}

impl Row {
    pub fn get(&self, index: usize) -> Option<&str> {
        self.present[index].then(|| self.values[index].as_str())
    }

    fn reset(&mut self, columns: usize) {
        self.values.resize_with(columns, String::new);
        self.present.resize(columns, false);
    }
}

/// How one result column is fetched and turned into text.
#[derive(Clone, Copy, Debug)]
enum ColumnKind {
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

/// The connection string sent to the driver, and whether sis-extract set the session's
/// encoding in it.
struct CompletedConnectionString {
    text: String,
    sets_utf8_session: bool,
}

/// Whether the configured connection string names the SQLite ODBC driver.
fn names_sqlite(connection_string: &str) -> bool {
    driver_name(connection_string).is_some_and(|d| d.to_ascii_lowercase().contains("sqlite"))
}

/// Whether the configured connection string names psqlODBC (by name or by library path).
fn names_psqlodbc(connection_string: &str) -> bool {
    driver_name(connection_string).is_some_and(|d| {
        let d = d.to_ascii_lowercase();
        d.contains("postgres") || d.contains("psqlodbc")
    })
}

/// The configured connection string, tuned for known driver pitfalls, plus the user and
/// password, each braced so that `;` or `}` in them is safe. `psqlodbc` says the driver is
/// psqlODBC even when the string does not name it (a DSN, found out after connecting).
fn full_connection_string(config: &SourceConfig, psqlodbc: bool) -> CompletedConnectionString {
    let mut cs = config.connection_string.trim().trim_end_matches(';').to_string();
    let pairs = connection_string_pairs(&cs);
    let has = |key: &str| pairs.iter().any(|(k, _)| k.eq_ignore_ascii_case(key));
    let driver = pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Driver"))
        .map(|(_, v)| v.to_ascii_lowercase())
        .unwrap_or_default();
    let psqlodbc = psqlodbc || names_psqlodbc(&cs);
    // psqlODBC buffers a whole result set in memory unless it uses a cursor.
    if psqlodbc && !has("UseDeclareFetch") {
        cs.push_str(";UseDeclareFetch=1;Fetch=10000");
    }
    // psqlODBC picks the session's client encoding from the process locale. Under cron or
    // any service without LANG (the C locale) that is SQL_ASCII, and then every name with
    // an accent fails with "invalid string conversion"; under a Latin-1 locale it is LATIN1.
    // UTF-8 is right whatever the locale or the database's own encoding. psqlODBC only
    // recognizes this exact form (it also tells the driver what the session now is).
    // `A6` is psqlODBC's short key for ConnSettings.
    // psqlODBC's own logging writes every message exchanged with the server, the login
    // among them, to files under /tmp (Debian's odbcinst.ini turns CommLog on). Off unless
    // the connection string asks for it explicitly. (`CX`/`B2`: their short keys.)
    if psqlodbc && !has("CommLog") && !has("CX") {
        cs.push_str(";CommLog=0");
    }
    if psqlodbc && !has("Debug") && !has("B2") {
        cs.push_str(";Debug=0");
    }
    let sets_utf8_session = psqlodbc && !has("ConnSettings") && !has("A6");
    if sets_utf8_session {
        cs.push_str(";ConnSettings={set client_encoding to 'UTF8'}");
    }
    // The SQLite driver reads a whole result before returning the first row without StepAPI.
    if driver.contains("sqlite") && !has("StepAPI") {
        cs.push_str(";StepAPI=1");
    }
    if let Some(user) = &config.user {
        let _ = write!(cs, ";UID={}", brace(user));
    }
    if let Some(password) = &config.password {
        let braced = brace(password.expose());
        secret::also_redact(&braced);
        let _ = write!(cs, ";PWD={braced}");
    }
    CompletedConnectionString { text: cs, sets_utf8_session }
}

/// ODBC attribute quoting: `{value}` with every `}` doubled, used only when the value
/// needs it, because some drivers (psqlODBC for UID) keep the braces of a plain value.
fn brace(value: &str) -> String {
    let needs_quoting = value.is_empty()
        || value.contains([';', '{', '}', '=', '[', ']', '(', ')', ',', '?', '*', '!', '@'])
        || value.trim() != value;
    if needs_quoting { format!("{{{}}}", value.replace('}', "}}")) } else { value.to_string() }
}

/// The driver named in a connection string, if any.
pub fn driver_name(connection_string: &str) -> Option<String> {
    connection_string_pairs(connection_string)
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Driver"))
        .map(|(_, v)| v)
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
            .map_err(|e| explain_connect_error(e, &config.connection_string))
        };
        let mut guarded_sqlite = names_sqlite(&config.connection_string) && crate::sqlite_guard::install();
        let mut cs = full_connection_string(config, false);
        let mut connection = open(&cs.text)?;
        let mut dbms = connection.database_management_system_name().unwrap_or_default();
        // A DSN hides its driver until connected. If it turns out to be PostgreSQL, connect
        // again with psqlODBC's settings: without them a large result is held in memory
        // and the session's encoding follows the locale.
        if dbms.to_ascii_lowercase().contains("postgres") && !names_psqlodbc(&config.connection_string) {
            tracing::info!(
                "the data source is PostgreSQL: reconnecting with psqlODBC's cursor and UTF-8 session settings"
            );
            drop(connection);
            cs = full_connection_string(config, true);
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
        let (text, nul_check) = match self.dialect {
            SqlDialect::PostgreSql => (self.with_times_as_server_text(&sent, &file)?, false),
            SqlDialect::Sqlite => (self.with_nul_check(&sent, &file)?, true),
            SqlDialect::SqlServer | SqlDialect::Generic => (send_form(&sent, self.dialect), false),
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

        let (mut names, kinds, descs) = self.describe(&mut cursor, &file)?;
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
    fn describe(
        &self,
        cursor: &mut impl ResultSetMetadata,
        file: &str,
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
            let (kind, desc) = match self.fetch_as(data_type) {
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

/// `YYYY-MM-DD HH:MM:SS`, plus the fraction when there is one, in 3, 6 or 9 digits.
fn format_timestamp(out: &mut String, t: &Timestamp) {
    push_date(out, &Date { year: t.year, month: t.month, day: t.day });
    let _ = write!(out, " {:02}:{:02}:{:02}", t.hour, t.minute, t.second);
    let ns = t.fraction;
    if ns != 0 {
        if ns % 1_000_000 == 0 {
            let _ = write!(out, ".{:03}", ns / 1_000_000);
        } else if ns % 1_000 == 0 {
            let _ = write!(out, ".{:06}", ns / 1_000);
        } else {
            let _ = write!(out, ".{ns:09}");
        }
    }
}

/// `check`'s database steps, after DNS and TCP: driver installed, login, read-only
/// session, and every query of the jobs prepared and described (never run).
pub fn diagnose(config: &SourceConfig, jobs: &[&crate::config::Job], chain: &mut Chain) {
    let started = Instant::now();
    let installed: Vec<String> = odbc_api::environment()
        .and_then(|env| env.drivers())
        .map(|drivers| drivers.into_iter().map(|d| d.description).collect())
        .unwrap_or_default();
    let step = match driver_name(&config.connection_string) {
        Some(driver) if installed.iter().any(|d| d.eq_ignore_ascii_case(&driver)) => {
            Step::pass("odbc driver", format!("{driver:?} is installed"), started)
        }
        Some(driver) => Step::fail(
            "odbc driver",
            format!(
                "{driver:?} is not installed (installed: {})",
                if installed.is_empty() { "none".to_string() } else { installed.join(", ") }
            ),
            "install that ODBC driver on this server (for Campus: Microsoft ODBC Driver 18 for SQL Server), or correct Driver= in source.connection_string",
            started,
        ),
        None => Step::pass(
            "odbc driver",
            "no Driver= in the connection string; the driver manager resolves the DSN",
            started,
        ),
    };
    if !chain.record(step) {
        return;
    }

    let started = Instant::now();
    let source = match Source::connect(config) {
        Ok(source) => source,
        Err(error) => {
            let detail = driver_message(&error).unwrap_or_else(|| error.to_string());
            chain.record(Step::fail(
                "login",
                secret::redact(&detail),
                secret::redact(&error.to_string()),
                started,
            ));
            return;
        }
    };
    let who = config.user.as_deref().map(|u| format!(" as {u}")).unwrap_or_default();
    chain.record(Step::pass("login", format!("{}{who} accepted the login", source.dbms), started));

    let started = Instant::now();
    let step = match source.read_only_state() {
        Ok(Some(state)) => Step::pass("read-only", state, started),
        Ok(None) => Step::pass(
            "read-only",
            format!(
                "SQL_ATTR_ACCESS_MODE is read-only; {} has no session-level switch, so the account's own permissions are what keeps this read-only",
                source.dbms
            ),
            started,
        ),
        Err(e) => Step::fail(
            "read-only",
            secret::redact(&e.to_string()),
            "the session could not be confirmed read-only; ask the DBA for a read-only account",
            started,
        ),
    };
    if !chain.record(step) {
        return;
    }

    for job in jobs {
        let started = Instant::now();
        let queries = match crate::query::load_dir(&job.queries) {
            Ok(queries) => queries,
            Err(e) => {
                chain.record(Step::fail(
                    "queries",
                    format!("job {}: {e}", job.name),
                    "fix the query files before the next run",
                    started,
                ));
                return;
            }
        };
        let version = crate::output::oneroster::Version::for_format(job.format);
        for query in &queries {
            let started = Instant::now();
            let file = format!("{}.sql", query.name);
            let step = match source.describe_query(query) {
                Ok(columns) => {
                    let names: Vec<String> = columns.iter().map(|(n, _)| n.clone()).collect();
                    let listed: Vec<String> = columns.iter().map(|(n, t)| format!("{n} {t}")).collect();
                    let detail = format!(
                        "job {}: {file} → {} column(s): {}",
                        job.name,
                        columns.len(),
                        listed.join(", ")
                    );
                    match version.map(|v| crate::output::oneroster::check_columns(v, &query.name, &names)) {
                        Some(Err(e)) => Step::fail(
                            "query",
                            detail,
                            format!(
                                "{e} (the format {} needs these columns)",
                                crate::config::format_name(job.format)
                            ),
                            started,
                        ),
                        _ => Step::pass("query", detail, started),
                    }
                }
                Err(error) => {
                    let detail = driver_message(&error).unwrap_or_default();
                    Step::fail(
                        "query",
                        format!("job {}: {file}: {}", job.name, secret::redact(&detail)),
                        format!(
                            "the database cannot prepare {file}: fix the table or column it names, or ask Campus support whether it changed ({})",
                            secret::redact(&error.to_string())
                        ),
                        started,
                    )
                }
            };
            if !chain.record(step) {
                return;
            }
        }
    }
}

/// The first line of the driver's own message in `error`'s cause chain, if any.
fn driver_message(error: &anyhow::Error) -> Option<String> {
    error.chain().find(|c| c.is::<crate::detail::Detail>()).map(|c| first_line(&c.to_string()).to_string())
}

impl Source {
    /// Prepares `query` and describes its result columns without fetching any row.
    pub fn describe_query(&self, query: &SqlFile) -> Result<Vec<(String, String)>> {
        let file = format!("{}.sql", query.name);
        let columns = self.prepared_columns(&query.text_for(self.dialect)?, &file)?;
        Ok(columns.into_iter().map(|(name, data_type)| (name, sql_type_name(data_type))).collect())
    }

    /// What the database says about the session's read-only state, where it can say.
    fn read_only_state(&self) -> Result<Option<String>> {
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
    fn with_times_as_server_text(&self, sent: &str, file: &str) -> Result<String> {
        let plain = send_form(sent, SqlDialect::PostgreSql);
        let columns = self.prepared_columns(&plain, file)?;
        let mut names: Vec<&str> = Vec::with_capacity(columns.len());
        let mut list = Vec::with_capacity(columns.len());
        for (name, data_type) in &columns {
            if names.contains(&name.as_str()) {
                // `describe` names the duplicate; a cast would only make PostgreSQL's
                // "ambiguous" message take its place.
                return Ok(plain);
            }
            names.push(name);
            let quoted = quote_identifier(name);
            list.push(if is_date_or_time(*data_type) {
                format!("{quoted}::text AS {quoted}")
            } else {
                quoted
            });
        }
        if !columns.iter().any(|(_, data_type)| is_date_or_time(*data_type)) {
            return Ok(plain);
        }
        Ok(wrapped(sent, &list.join(", ")))
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

/// A short SQL type name for `check`'s column listing.
fn sql_type_name(data_type: DataType) -> String {
    match data_type {
        DataType::Char { length } | DataType::WChar { length } => {
            format!("CHAR({})", length.map_or(0, |l| l.get()))
        }
        DataType::Varchar { length } | DataType::WVarchar { length } => match length {
            Some(l) => format!("VARCHAR({})", l.get()),
            None => "VARCHAR".into(),
        },
        DataType::LongVarchar { .. } | DataType::WLongVarchar { .. } => "TEXT".into(),
        DataType::Decimal { precision, scale } | DataType::Numeric { precision, scale } => {
            format!("DECIMAL({precision},{scale})")
        }
        DataType::Integer => "INTEGER".into(),
        DataType::SmallInt => "SMALLINT".into(),
        DataType::TinyInt => "TINYINT".into(),
        DataType::BigInt => "BIGINT".into(),
        DataType::Bit => "BIT".into(),
        DataType::Date => "DATE".into(),
        DataType::Time { .. } => "TIME".into(),
        DataType::Timestamp { .. } => "TIMESTAMP".into(),
        DataType::Real | DataType::Float { .. } | DataType::Double => "FLOAT".into(),
        other => format!("{other:?}").split(['{', ' ']).next().unwrap_or("OTHER").to_uppercase(),
    }
}

/// Turns a connection failure into a message that says what to do.
fn explain_connect_error(error: odbc_api::Error, connection_string: &str) -> anyhow::Error {
    let text = secret::redact(&error.to_string());
    let lower = text.to_ascii_lowercase();
    let driver = driver_name(connection_string).unwrap_or_else(|| "(none named)".into());
    let hint = if text.contains("IM002")
        || lower.contains("can't open lib")
        || lower.contains("not found, and no default driver")
    {
        let installed = odbc_api::environment()
            .and_then(|env| env.drivers())
            .map(|drivers| drivers.into_iter().map(|d| d.description).collect::<Vec<_>>().join(", "))
            .unwrap_or_default();
        format!(
            "the ODBC driver {driver:?} is not installed on this server (installed: {}). Install it, or correct Driver= in source.connection_string",
            if installed.is_empty() { "none" } else { &installed }
        )
    } else if text.contains("28000")
        || lower.contains("password authentication failed")
        || lower.contains("login failed")
    {
        "the database rejected the user name or password; check source.user and source.password".to_string()
    } else if lower.contains("connection refused") {
        "the database server refused the connection: nothing listens at that host and port; check Server= (and Port=) in source.connection_string".to_string()
    } else if lower.contains("could not translate host name")
        || lower.contains("name or service not known")
        || lower.contains("unknown host")
    {
        "the database server's name does not resolve; check Server= in source.connection_string and this server's DNS".to_string()
    } else if lower.contains("database") && lower.contains("does not exist")
        || lower.contains("cannot open database")
    {
        "the database named in source.connection_string does not exist, or this account may not open it"
            .to_string()
    } else if lower.contains("certificate") || lower.contains("ssl") || lower.contains("tls") {
        "the TLS handshake with the database failed; ODBC Driver 18 encrypts by default and rejects an untrusted certificate: install the server's CA, or add TrustServerCertificate=yes to source.connection_string if the district accepts that".to_string()
    } else if text.contains("HYT00") || lower.contains("timeout") || lower.contains("timed out") {
        "the database did not answer within source.login_timeout; check the server name and port, and that the firewall lets this server through".to_string()
    } else {
        "check source.connection_string (driver, server, port, database)".to_string()
    };
    crate::detail::explained(
        format!("connecting to the database with driver {driver:?} failed: {hint}"),
        text,
    )
}

fn explain_query_error(error: odbc_api::Error, file: &str, timeout: Duration) -> anyhow::Error {
    let text = secret::redact(&error.to_string());
    let lower = text.to_ascii_lowercase();
    if text.contains("HYT00") || lower.contains("canceling statement due to statement timeout") {
        return crate::detail::explained(
            format!(
                "{file}: the query did not finish within source.query_timeout ({}s); raise it or make the query cheaper",
                timeout.as_secs()
            ),
            text,
        );
    }
    if lower.contains("read-only transaction")
        || lower.contains("readonly database")
        || lower.contains("attempt to write a readonly")
    {
        return crate::detail::explained(
            format!("{file}: the database refused a write, because sis-extract only reads"),
            text,
        );
    }
    if lower.contains("invalid string conversion") {
        return crate::detail::explained(
            format!(
                "{file}: the driver could not convert a text value to the session's character encoding. \
                 On PostgreSQL the session must be UTF-8: leave ConnSettings out of the connection string \
                 and sis-extract sets it, or start your own with `set client_encoding to 'UTF8';` in exactly that form"
            ),
            text,
        );
    }
    crate::detail::explained(format!("{file}: the database rejected the query: {}", first_line(&text)), text)
}

/// The driver's own message from an odbc-api error text: what follows the first
/// `Message: `, without the `[vendor][driver]` tags in front of it.
fn first_line(text: &str) -> &str {
    let message = match text.find("Message: ") {
        Some(at) => &text[at + "Message: ".len()..],
        None => text,
    };
    let mut message = message.lines().find(|l| !l.trim().is_empty()).unwrap_or(message).trim();
    while message.starts_with('[') {
        match message.find(']') {
            Some(end) => message = message[end + 1..].trim_start(),
            None => break,
        }
    }
    message.trim_end_matches(';')
}

// Per-value conversions of the fetch loop. They run for every value of every row, so
// they avoid the `fmt` machinery and per-character decoding where the data allows
// (profiling a 1M-row extract put the loop at about a sixth of the extract stage).

/// The fetch thread: fills a buffer, hands it over, and takes back the one that was
/// converted meanwhile. Stops at the end of the result, at a driver error (returned), or
/// when the converting side has hung up because it failed.
fn fetch_batches<C: Cursor>(
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
struct Converter {
    kinds: Vec<ColumnKind>,
    /// Set (to the query file's name) when the last column is the SQLite NUL check of
    /// [`Source::with_nul_check`]: a value there names a column the driver would cut short.
    nul_check: Option<String>,
    row: Row,
    /// Per column: whether invalid UTF-16 or UTF-8 was replaced (warned about once, at the end).
    replaced: Vec<bool>,
}

impl Converter {
    fn new(kinds: Vec<ColumnKind>, nul_check: Option<String>) -> Converter {
        let mut row = Row::default();
        row.reset(kinds.len());
        Converter { replaced: vec![false; kinds.len()], kinds, row, nul_check }
    }

    /// Converts every batch the fetch thread sends, returning each buffer for refilling.
    /// Returns the number of rows; on a sink error it returns at once, which hangs up
    /// both channels and so stops the fetch thread.
    fn drain(
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
                        .map(|v| out.push_str(crate::decimal::i64_text(*v, &mut [0; 20])))
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
    use crate::secret::Secret;

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

    fn config(cs: &str) -> SourceConfig {
        SourceConfig {
            connection_string: cs.into(),
            user: Some("ro_user".into()),
            password: Some(Secret::new("p;a}ss".into())),
            login_timeout: Duration::from_secs(5),
            query_timeout: Duration::from_secs(5),
            memory_budget: 1 << 20,
            max_text_length: 100,
        }
    }

    #[test]
    fn credentials_are_braced_and_driver_pitfalls_handled() {
        let full = |cs: &str, psqlodbc: bool| {
            let completed = full_connection_string(&config(cs), psqlodbc);
            (completed.text, completed.sets_utf8_session)
        };
        let utf8 = "ConnSettings={set client_encoding to 'UTF8'}";
        assert_eq!(
            full("Driver={PostgreSQL Unicode};Server=h;", false),
            (
                format!(
                    "Driver={{PostgreSQL Unicode}};Server=h;UseDeclareFetch=1;Fetch=10000;CommLog=0;Debug=0;{utf8};UID=ro_user;PWD={{p;a}}}}ss}}"
                ),
                true
            )
        );
        // psqlODBC named by its library path, or found behind a DSN after connecting.
        assert_eq!(
            full("Driver=/usr/lib/x86_64-linux-gnu/odbc/psqlodbcw.so;Server=h", false).0,
            format!(
                "Driver=/usr/lib/x86_64-linux-gnu/odbc/psqlodbcw.so;Server=h;UseDeclareFetch=1;Fetch=10000;CommLog=0;Debug=0;{utf8};UID=ro_user;PWD={{p;a}}}}ss}}"
            )
        );
        assert_eq!(full("DSN=campus", false), ("DSN=campus;UID=ro_user;PWD={p;a}}ss}".into(), false));
        assert_eq!(
            full("DSN=campus", true),
            (
                format!(
                    "DSN=campus;UseDeclareFetch=1;Fetch=10000;CommLog=0;Debug=0;{utf8};UID=ro_user;PWD={{p;a}}}}ss}}"
                ),
                true
            )
        );
        // The user's own ConnSettings, under either of its keys, is left alone (the
        // connection then warns unless it makes the session UTF-8).
        for key in ["ConnSettings", "connsettings", "A6"] {
            assert_eq!(
                full(&format!("Driver={{PostgreSQL Unicode}};{key}={{set search_path to x}}"), false),
                (
                    format!(
                        "Driver={{PostgreSQL Unicode}};{key}={{set search_path to x}};UseDeclareFetch=1;Fetch=10000;CommLog=0;Debug=0;UID=ro_user;PWD={{p;a}}}}ss}}"
                    ),
                    false
                )
            );
        }
        assert_eq!(
            full("Driver=SQLite3;Database=/x.db", false).0,
            "Driver=SQLite3;Database=/x.db;StepAPI=1;UID=ro_user;PWD={p;a}}ss}"
        );
        assert_eq!(
            full("Driver={ODBC Driver 18 for SQL Server};Server=h", false),
            ("Driver={ODBC Driver 18 for SQL Server};Server=h;UID=ro_user;PWD={p;a}}ss}".into(), false)
        );
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

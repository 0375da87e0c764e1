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
//! Here: connecting and the read-only session. Beside it: `connection_string.rs` (what is
//! sent to the driver), `fetch.rs` (running a query, fetching exactly), `query_form.rs`
//! (the form a query is sent in, per server), `values.rs` (buffers to text) and
//! `explain.rs` (driver errors to messages). `check`'s steps live in check/database.rs.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use odbc_api::sys::{ConnectionAttribute, Pointer};
use odbc_api::{
    Connection, ConnectionOptions, Cursor, DriverSpecificConnectionOptions, SetConnectionAttributeArgs,
};

use crate::config::SourceConfig;
use crate::query::SqlDialect;

mod connection_string;
mod consistency;
pub mod drivers;
mod explain;
mod fetch;
mod query_form;
mod transient;
mod values;

pub use crate::rows::{Row, RowSink};
pub use connection_string::driver_name;

pub use connection_string::DriverKind;
use connection_string::full_connection_string;
pub use consistency::{SQL_SERVER_SNAPSHOT_STATE, SnapshotSupport};
use explain::explain_connect_error;
pub use explain::first_line;
pub use transient::is_transient_failure;

/// Set on every SQL Server session, whatever the driver's defaults (see [`Source::connect`]).
pub const SQL_SERVER_SESSION_SETTINGS: &str = "SET QUOTED_IDENTIFIER ON; SET ANSI_NULLS ON";

/// The SQL Server session yields to the SIS: when a deadlock has to end one transaction,
/// SQL Server ends the one with the lower priority, sis-extract's (retried, see
/// `source.retries`); and a query waits at most `source.lock_timeout` for a lock.
pub fn sql_server_yielding_settings(lock_timeout: Duration) -> String {
    format!("SET DEADLOCK_PRIORITY LOW; SET LOCK_TIMEOUT {}", lock_timeout.as_millis().min(i32::MAX as u128))
}

/// How the session names itself to the server, so that the SIS's administrators see
/// sis-extract in their activity views (`pg_stat_activity`, `sys.dm_exec_sessions`).
/// `purpose` is `job NAME` or `check`.
pub fn application_name(purpose: &str) -> String {
    format!("sis-extract {} ({purpose})", env!("CARGO_PKG_VERSION"))
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
    /// Whether the job's queries run in one snapshot transaction (see consistency.rs).
    in_snapshot: bool,
    /// The ODBC driver the driver manager loaded, and its profile (see `drivers.rs`).
    pub driver: drivers::Identified,
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
    /// Connects read-only, with the login timeout applied, named after `purpose` (`job
    /// NAME` or `check`, see [`application_name`]).
    pub fn connect(config: &SourceConfig, purpose: &str) -> Result<Source> {
        let application = application_name(purpose);
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
        let mut cs = full_connection_string(config, false, &application)?;
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
            cs = full_connection_string(config, true, &application)?;
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
            in_snapshot: false,
            driver: drivers::identify(&config.connection_string),
        };
        source.enforce_read_only()?;
        if dialect == SqlDialect::SqlServer {
            // The shipped Campus queries quote the table "identity" (a T-SQL keyword) with
            // double quotes, which SQL Server reads as an identifier only while
            // QUOTED_IDENTIFIER is ON. Microsoft's drivers turn it on; some FreeTDS set-ups
            // do not, and then `JOIN "identity"` is a syntax error. ANSI_NULLS likewise.
            let settings = format!(
                "{SQL_SERVER_SESSION_SETTINGS}; {}",
                sql_server_yielding_settings(config.lock_timeout)
            );
            source
                .connection
                .execute(&settings, (), None)
                .map_err(|e| anyhow!("setting up the SQL Server session ({settings}): {e}"))?;
        }
        if dialect == SqlDialect::PostgreSql {
            // In the connection string it would need psqlODBC's pqopt, which older
            // versions ignore without a word; a SET is understood by every version.
            let set = format!("SET application_name = '{}'", application.replace('\'', "''"));
            source.connection.execute(&set, (), None).context("naming the PostgreSQL session")?;
        }
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

//! The connection string sis-extract sends: the configured one, tuned for known driver
//! pitfalls (the settings of the driver table in `drivers.rs`, and psqlODBC's session
//! encoding), plus
//! the user and password, each quoted so that `;` or `}` in them is safe.

use std::fmt::Write as _;

use crate::config::{SourceConfig, connection_string_pairs};
use crate::secret;

/// The connection string sent to the driver, and whether sis-extract set the session's
/// encoding in it.
pub(super) struct CompletedConnectionString {
    pub(super) text: String,
    pub(super) sets_utf8_session: bool,
}

/// The kind of ODBC driver a connection string names in `Driver=` (by name, as odbcinst.ini
/// lists it, or by library path), as the driver table (`drivers.rs`) says; once connected,
/// the server's own name decides ([`crate::query::SqlDialect::of_dbms`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriverKind {
    /// psqlODBC (`PostgreSQL Unicode`, `psqlodbcw.so`).
    PsqlOdbc,
    /// The SQLite ODBC driver (`SQLite3`, `libsqlite3odbc.so`).
    Sqlite,
    /// Microsoft's ODBC Driver for SQL Server, FreeTDS or the old `SQL Server` driver.
    SqlServer,
    /// Another driver, or none named (a DSN).
    Other,
}

impl DriverKind {
    /// The kind of driver `Driver=` names, from the one driver table ([`super::drivers`]).
    pub fn of(connection_string: &str) -> DriverKind {
        super::drivers::of_connection_string(connection_string).kind
    }
}

/// The configured connection string, tuned for known driver pitfalls, plus the user and
/// password, each braced so that `;` or `}` in them is safe. `psqlodbc` says the driver is
/// psqlODBC even when the string does not name it (a DSN, found out after connecting).
pub(super) fn full_connection_string(
    config: &SourceConfig,
    psqlodbc: bool,
    application: &str,
) -> anyhow::Result<CompletedConnectionString> {
    let mut cs = config.connection_string.trim().trim_end_matches(';').to_string();
    let pairs = connection_string_pairs(&cs);
    let has = |key: &str| pairs.iter().any(|(k, _)| k.eq_ignore_ascii_case(key));
    // The settings the driver table adds for this driver (psqlODBC's cursor and log files,
    // SQLite's step API, FreeTDS's protocol version and character set), each unless the
    // string sets it itself.
    let profile = match super::drivers::of_connection_string(&cs) {
        found if found.kind == DriverKind::PsqlOdbc || !psqlodbc => found,
        _ => super::drivers::profile("psqlodbc"),
    };
    let psqlodbc = profile.kind == DriverKind::PsqlOdbc;
    for addition in profile.additions {
        if !addition.keys.iter().any(|key| has(key)) {
            cs.push(';');
            cs.push_str(addition.text);
        }
    }
    // psqlODBC picks the session's client encoding from the process locale. Under cron or
    // any service without LANG (the C locale) that is SQL_ASCII, and then every name with
    // an accent fails with "invalid string conversion"; under a Latin-1 locale it is LATIN1.
    // UTF-8 is right whatever the locale or the database's own encoding. psqlODBC only
    // recognizes this exact form (it also tells the driver what the session now is).
    // `A6` is psqlODBC's short key for ConnSettings.
    let sets_utf8_session = psqlodbc && !has("ConnSettings") && !has("A6");
    if sets_utf8_session {
        cs.push_str(";ConnSettings={set client_encoding to 'UTF8'}");
    }
    // SQL Server's drivers (Microsoft's and FreeTDS) name the session from APP=, shown
    // in sys.dm_exec_sessions.program_name. (PostgreSQL's is set by a SET once connected.)
    if profile.kind == DriverKind::SqlServer && !has("APP") {
        let _ = write!(cs, ";APP={}", brace(application));
    }
    if let Some(user) = &config.user {
        let _ = write!(cs, ";UID={}", brace(user));
    }
    if let Some(password) = &config.password {
        let braced = brace(password.get()?.expose());
        secret::also_redact(&braced);
        let _ = write!(cs, ";PWD={braced}");
    }
    Ok(CompletedConnectionString { text: cs, sets_utf8_session })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use std::time::Duration;

    fn config(cs: &str) -> SourceConfig {
        SourceConfig {
            connection_string: cs.into(),
            user: Some("ro_user".into()),
            password: Some(crate::config::SecretSetting::loaded(
                "source.password",
                "a test",
                Secret::new("p;a}ss".into()),
            )),
            login_timeout: Duration::from_secs(5),
            query_timeout: Duration::from_secs(5),
            memory_budget: 1 << 20,
            max_text_length: 100,
            lock_timeout: Duration::from_secs(30),
            retries: 2,
            retry_delay: Duration::from_secs(30),
        }
    }

    #[test]
    fn credentials_are_braced_and_driver_pitfalls_handled() {
        let full = |cs: &str, psqlodbc: bool| {
            let completed = full_connection_string(&config(cs), psqlodbc, "sis-extract 1.0 (check)").unwrap();
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
        // FreeTDS: protocol 7.4 and UTF-8, unless the string says otherwise.
        assert_eq!(
            full("Driver={FreeTDS};Server=h,1433", false).0,
            "Driver={FreeTDS};Server=h,1433;TDS_Version=7.4;ClientCharset=UTF-8;APP={sis-extract 1.0 (check)};UID=ro_user;PWD={p;a}}ss}"
        );
        assert_eq!(
            full("Driver=/usr/lib/x86_64-linux-gnu/odbc/libtdsodbc.so;Server=h;tds_version=7.3;ClientCharset=ISO-8859-1", false).0,
            "Driver=/usr/lib/x86_64-linux-gnu/odbc/libtdsodbc.so;Server=h;tds_version=7.3;ClientCharset=ISO-8859-1;APP={sis-extract 1.0 (check)};UID=ro_user;PWD={p;a}}ss}"
        );
        // Microsoft's drivers get only the session's name: encryption stays the district's decision.
        assert_eq!(
            full("Driver={ODBC Driver 18 for SQL Server};Server=h", false),
            (
                "Driver={ODBC Driver 18 for SQL Server};Server=h;APP={sis-extract 1.0 (check)};UID=ro_user;PWD={p;a}}ss}"
                    .into(),
                false
            )
        );
    }
}

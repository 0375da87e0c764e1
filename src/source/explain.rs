//! Driver errors turned into messages that say what failed and what to do (the driver's
//! own text stays attached, shown with `-v`).
//!
//! Told apart on the SQLSTATEs and words of the drivers districts use: Microsoft ODBC
//! Driver 17 and 18, the old Windows "SQL Server" driver, FreeTDS, psqlODBC and SQLite.
//! SQL Server itself cannot run here: the SQL Server texts in the tests below are the ones
//! those drivers print, as documented by Microsoft and FreeTDS and quoted in their users'
//! reports; FreeTDS's own network failures are also produced for real
//! (tests/suite/sqlserver_drivers.rs).

use odbc_api::DataType;
use std::time::Duration;

use super::drivers::{self, Identified};
use crate::secret;

/// Turns a connection failure into a message that says what to do.
/// `password_source` says where the password was read from (a variable or a file), for a
/// rejected login.
pub(super) fn explain_connect_error(
    error: odbc_api::Error,
    connection_string: &str,
    password_source: Option<&str>,
) -> anyhow::Error {
    // Told apart on the driver's own words; shown with any secret in them replaced (a weak
    // password such as "password" would otherwise hide "password authentication failed").
    let raw = error.to_string();
    let text = secret::redact_external(&raw);
    let driver = super::driver_name(connection_string).unwrap_or_else(|| "(none named)".into());
    let hint = connect_hint(&raw, &drivers::identify(connection_string), &driver, password_source);
    crate::detail::explained(
        format!("connecting to the database with driver {driver:?} failed: {hint}"),
        text,
    )
}

/// The SQLSTATEs in an odbc-api error text (`State: 08001, Native error: …`), in order.
fn states(raw: &str) -> Vec<&str> {
    raw.match_indices("State: ").filter_map(|(at, _)| raw.get(at + 7..at + 12)).collect()
}

/// The cause and the fix of a failed connection, from the driver's text.
fn connect_hint(raw: &str, driver: &Identified, named: &str, password_source: Option<&str>) -> String {
    let lower = raw.to_ascii_lowercase();
    let states = states(raw);
    let state = |s: &str| states.contains(&s);
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    if state("IM002") || has(&["can't open lib", "not found, and no default driver"]) {
        let installed = odbc_api::environment()
            .and_then(|env| env.drivers())
            .map(|drivers| drivers.into_iter().map(|d| d.description).collect::<Vec<_>>().join(", "))
            .unwrap_or_default();
        return format!(
            "the ODBC driver {named:?} is not installed on this server (installed: {}). Install it, or correct Driver= in source.connection_string",
            if installed.is_empty() { "none" } else { &installed }
        );
    }
    // Before the login check: SQL Server reports a database it cannot open (error 4060,
    // SQLSTATE 42000) together with "Login failed" (28000).
    // (FreeTDS's "Adaptive Server is unavailable or does not exist" is about the server.)
    if has(&["cannot open database"])
        || lower.contains("database") && lower.contains("does not exist") && !has(&["adaptive server"])
    {
        return "the database named in source.connection_string does not exist, or this account may not open it: \
                check Database= and ask the DBA to map the account to that database"
            .to_string();
    }
    // The old Windows driver's own words, whatever the connection string calls it.
    if has(&["secdoclienthandshake", "ssl security error"]) {
        return format!(
            "the TLS handshake with the database failed: {}",
            drivers::profile("SQLSRV32.DLL").tls_fix
        );
    }
    if has(&["unsupported protocol", "no protocols available", "wrong version number"]) {
        return "the TLS handshake with the database failed: the server offers only an old TLS version (1.0 or 1.1) \
                that this server's OpenSSL refuses. Ask the district to enable TLS 1.2 on the SQL Server (a \
                cumulative update); lowering OpenSSL's MinProtocol on this server is a last resort"
            .to_string();
    }
    let tls = || {
        format!(
            "the TLS handshake with the database failed ({} does not trust the server's certificate, or they \
             share no TLS version): {}",
            driver.profile.label, driver.profile.tls_fix
        )
    };
    if has(&["certificate", "ssl provider", "ssl routines"]) {
        return tls();
    }
    if state("28000") || has(&["password authentication failed", "login failed"]) {
        let sql_server = driver.profile.kind == super::DriverKind::SqlServer || lower.contains("sql server");
        let windows_only = if sql_server {
            "; if both are right, the server may accept only Windows logins: ask the DBA whether SQL Server authentication is on (error 18456)"
        } else {
            ""
        };
        return match password_source {
            Some(from) => format!(
                "the database rejected the user name or password; check source.user and source.password (read from {from}){windows_only}"
            ),
            None => format!(
                "the database rejected the user name or password; check source.user and source.password{windows_only}"
            ),
        };
    }
    // Other TLS words, after the login check: PostgreSQL names "SSL off" in a refusal by
    // pg_hba.conf, which is an access rule, not a handshake.
    if has(&["ssl", "tls"]) {
        return tls();
    }
    if has(&[
        "could not translate host name",
        "name or service not known",
        "unknown host",
        "0x2af9",
        "server name not found",
    ]) {
        return "the database server's name does not resolve; check Server= in source.connection_string and this server's DNS".to_string();
    }
    // Microsoft's "TCP Provider: Error code 0x274D" is Windows' connection refused (10061).
    if has(&["connection refused", "0x274d", "(10061)"]) {
        return "the database server refused the connection: nothing listens at that host and port; check Server= (and Port=) in source.connection_string".to_string();
    }
    if state("HYT00") || has(&["timeout", "timed out"]) {
        return "the database did not answer within source.login_timeout; check the server name and port, and that the firewall lets this server through (`sis-extract check` tests each)".to_string();
    }
    // FreeTDS's words. 20009 "unavailable or does not exist": no TCP connection (refused,
    // unreachable, unknown name). 20002 "connection failed": the port answered, but the
    // login handshake failed (not SQL Server there, TLS, or a protocol version it refuses).
    if has(&["adaptive server is unavailable or does not exist"]) {
        return "FreeTDS could not reach the server (08S01): check Server= and Port= in source.connection_string, \
                and that SQL Server listens there; `sis-extract check` tells a refused port from a firewall"
            .to_string();
    }
    if has(&["adaptive server connection failed", "unable to connect to data source"]) {
        return "the port answered but the SQL Server login handshake failed: it may not be SQL Server (check the \
                port; a named instance has a port of its own), the server may require encryption, or it refuses \
                TDS_Version=7.4 (SQL Server 2012 and later take it). `sis-extract check` tests the port with \
                SQL Server's PRELOGIN"
            .to_string();
    }
    if state("08S01") || has(&["communication link failure"]) {
        return "the connection broke during the login (08S01): something between here and the server closed it, or \
                the port is not SQL Server's; `sis-extract check` tests the port"
            .to_string();
    }
    if state("08001") {
        return "the driver could not open a connection (08001): check Server= (host, and port or instance) in \
                source.connection_string, and that the firewall lets this server through; `sis-extract check` \
                tests each hop"
            .to_string();
    }
    "check source.connection_string (driver, server, port, database)".to_string()
}

pub(super) fn explain_query_error(error: &odbc_api::Error, file: &str, timeout: Duration) -> anyhow::Error {
    // Told apart on the driver's own words; shown with any secret in them replaced (a weak
    // password such as "password" would otherwise hide "password authentication failed").
    let raw = error.to_string();
    let text = secret::redact_external(&raw);
    let message = query_message(&raw, &text, file, timeout)
        .unwrap_or_else(|| format!("{file}: the database rejected the query: {}", first_line(&text)));
    crate::detail::explained(message, text)
}

/// The cause and the fix of a failed query, when the driver's text says more than its
/// first line.
/// `raw` is the driver's text, `shown` the same with secrets redacted.
fn query_message(raw: &str, shown: &str, file: &str, timeout: Duration) -> Option<String> {
    let lower = raw.to_ascii_lowercase();
    let states = states(raw);
    let state = |s: &str| states.contains(&s);
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    let message = if state("HYT00") || has(&["canceling statement due to statement timeout"]) {
        format!(
            "{file}: the query did not finish within source.query_timeout ({}s); raise it or make the query cheaper",
            timeout.as_secs()
        )
    } else if has(&["read-only transaction", "readonly database", "attempt to write a readonly"]) {
        format!("{file}: the database refused a write, because sis-extract only reads")
    } else if has(&["invalid string conversion"]) {
        format!(
            "{file}: the driver could not convert a text value to the session's character encoding. \
             On PostgreSQL the session must be UTF-8: leave ConnSettings out of the connection string \
             and sis-extract sets it, or start your own with `set client_encoding to 'UTF8';` in exactly that form"
        )
    } else if state("40001") || has(&["deadlock victim", "deadlock detected"]) {
        format!(
            "{file}: the database chose this query as a deadlock victim (40001): other work held the same rows. \
             Nothing was delivered; running again is safe, and a run outside the SIS's busy hours rarely meets this"
        )
    } else if has(&["permission was denied", "permission denied"]) {
        format!(
            "{file}: the account may not read a table or view this query uses: ask the DBA to grant SELECT on it \
             to the read-only account ({})",
            first_line(shown)
        )
    } else if state("42S02") || has(&["invalid object name"]) {
        format!(
            "{file}: a table or view the query names does not exist on this server or for this account ({}): \
             check the database in source.connection_string, or ask the SIS vendor whether it was renamed",
            first_line(shown)
        )
    } else if state("42S22") || has(&["invalid column name"]) {
        format!(
            "{file}: a column the query names does not exist ({}): ask the SIS vendor whether it was renamed",
            first_line(shown)
        )
    } else if state("42000") && has(&["syntax", "is not a recognized built-in function"]) {
        format!(
            "{file}: the server cannot read the query's SQL (42000: {}). A function or syntax newer than this \
             server (the shipped queries need SQL Server 2016 or later), or a typo in an edited query",
            first_line(shown)
        )
    } else if state("08S01") || has(&["communication link failure", "server closed the connection"]) {
        format!(
            "{file}: the connection to the database broke during the query (08S01): the server or something on \
             the way closed it. Nothing was delivered; run again, and ask the DBA if it repeats"
        )
    } else {
        return None;
    };
    Some(message)
}

/// The driver's own message from an odbc-api error text: what follows the first
/// `Message: `, without the `[vendor][driver]` tags in front of it.
pub fn first_line(text: &str) -> &str {
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

/// A short SQL type name for `check`'s column listing.
pub(super) fn sql_type_name(data_type: DataType) -> String {
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

#[cfg(test)]
mod tests {
    //! SQL Server cannot run here. These are the texts the drivers print, as odbc-api shows
    //! them (`State: …, Native error: …, Message: …`), taken from Microsoft's and FreeTDS's
    //! documentation and from their users' reports; the FreeTDS network failures are also
    //! produced for real in tests/suite/sqlserver_drivers.rs.
    use super::*;

    fn odbc(records: &[(&str, i32, &str)]) -> String {
        let mut text = String::from("ODBC emitted an error calling 'SQLDriverConnect':");
        for (state, native, message) in records {
            text.push_str(&format!("\nState: {state}, Native error: {native}, Message: {message}"));
        }
        text
    }

    fn hint(driver: &str, records: &[(&str, i32, &str)]) -> String {
        let identified = Identified { shown: driver.into(), profile: drivers::profile(driver) };
        connect_hint(&odbc(records), &identified, driver, Some("the variable SIS_DB_PASSWORD"))
    }

    const DRIVER_18: &str = "ODBC Driver 18 for SQL Server";
    const DRIVER_17: &str = "ODBC Driver 17 for SQL Server";

    #[test]
    fn tls_failures_name_the_driver_and_both_fixes() {
        for (driver, records) in [
            // Driver 18 on Linux (OpenSSL 3), a self-signed certificate.
            (
                DRIVER_18,
                vec![
                    (
                        "08001",
                        -1,
                        "[Microsoft][ODBC Driver 18 for SQL Server]SSL Provider: [error:0A000086:SSL routines::certificate verify failed:self-signed certificate]",
                    ),
                    (
                        "08001",
                        -1,
                        "[Microsoft][ODBC Driver 18 for SQL Server]Client unable to establish connection. For solutions related to encryption errors, see https://go.microsoft.com/fwlink/?linkid=2226722",
                    ),
                ],
            ),
            // Driver 18 with OpenSSL 1.1.
            (
                DRIVER_18,
                vec![(
                    "08001",
                    -1,
                    "[Microsoft][ODBC Driver 18 for SQL Server]SSL Provider: [error:1416F086:SSL routines:tls_process_server_certificate:certificate verify failed:self signed certificate]",
                )],
            ),
            // Driver 18 on Windows, an internal CA this server does not trust.
            (
                DRIVER_18,
                vec![
                    (
                        "08001",
                        -2146893019,
                        "[Microsoft][ODBC Driver 18 for SQL Server]SSL Provider: The certificate chain was issued by an authority that is not trusted.\r\n",
                    ),
                    (
                        "08001",
                        -2146893019,
                        "[Microsoft][ODBC Driver 18 for SQL Server]Client unable to establish connection",
                    ),
                ],
            ),
        ] {
            let hint = hint(driver, &records);
            assert!(hint.starts_with("the TLS handshake with the database failed (Microsoft ODBC Driver 18 for SQL Server does not trust"), "{hint}");
            assert!(hint.contains("install the district's CA certificate on this server"), "{hint}");
            assert!(hint.contains("add TrustServerCertificate=yes to source.connection_string"), "{hint}");
        }
        let hint17 = hint(
            DRIVER_17,
            &[(
                "08001",
                -2146893019,
                "[Microsoft][ODBC Driver 17 for SQL Server]SSL Provider: The certificate chain was issued by an authority that is not trusted.",
            )],
        );
        assert!(hint17.contains("Microsoft ODBC Driver 17 for SQL Server does not trust"), "{hint17}");
        assert!(hint17.contains("TrustServerCertificate=yes"), "{hint17}");
        // Driver 17 against a server that offers only TLS 1.0.
        let old_tls = hint(
            DRIVER_17,
            &[(
                "08001",
                -1,
                "[Microsoft][ODBC Driver 17 for SQL Server]SSL Provider: [error:1425F102:SSL routines:ssl_choose_client_version:unsupported protocol]",
            )],
        );
        assert!(old_tls.contains("the server offers only an old TLS version (1.0 or 1.1)"), "{old_tls}");
        assert!(old_tls.contains("enable TLS 1.2 on the SQL Server"), "{old_tls}");
        // The old Windows driver, whatever the connection string calls it.
        for driver in ["SQL Server", "campus-dsn"] {
            let old = hint(
                driver,
                &[
                    ("08001", 18, "[Microsoft][ODBC SQL Server Driver][DBNETLIB]SSL Security error"),
                    (
                        "01000",
                        1,
                        "[Microsoft][ODBC SQL Server Driver][DBNETLIB]ConnectionOpen (SECDoClientHandshake()).",
                    ),
                ],
            );
            assert!(
                old.contains("the old \"SQL Server\" driver cannot speak TLS 1.2 on older Windows"),
                "{old}"
            );
            assert!(old.contains("install Microsoft ODBC Driver 18 for SQL Server"), "{old}");
        }
        let freetds = hint(
            "FreeTDS",
            &[(
                "08001",
                20017,
                "[FreeTDS][SQL Server]Unable to connect to data source: SSL routines: certificate verify failed",
            )],
        );
        assert!(freetds.contains("the `ca file` of freetds.conf"), "{freetds}");
    }

    #[test]
    fn login_failures_by_sqlstate() {
        // 28000: a wrong password, or SQL logins switched off.
        let wrong = hint(
            DRIVER_18,
            &[(
                "28000",
                18456,
                "[Microsoft][ODBC Driver 18 for SQL Server][SQL Server]Login failed for user 'extract_ro'.",
            )],
        );
        assert_eq!(
            wrong,
            "the database rejected the user name or password; check source.user and source.password (read from the variable SIS_DB_PASSWORD); \
             if both are right, the server may accept only Windows logins: ask the DBA whether SQL Server authentication is on (error 18456)"
        );
        let freetds = hint(
            "FreeTDS",
            &[
                ("28000", 18456, "[FreeTDS][SQL Server]Login failed for user 'extract_ro'."),
                ("S1000", 0, "[FreeTDS][SQL Server]Unable to connect to data source"),
            ],
        );
        assert!(freetds.starts_with("the database rejected the user name or password"), "{freetds}");
        // A database the login may not open comes with a 28000 too: the database is the cause.
        let database = hint(
            DRIVER_17,
            &[
                (
                    "42000",
                    4060,
                    "[Microsoft][ODBC Driver 17 for SQL Server][SQL Server]Cannot open database \"campus\" requested by the login. The login failed.",
                ),
                (
                    "28000",
                    18456,
                    "[Microsoft][ODBC Driver 17 for SQL Server][SQL Server]Login failed for user 'extract_ro'.",
                ),
            ],
        );
        assert!(database.starts_with("the database named in source.connection_string does not exist, or this account may not open it"), "{database}");
        // 08001: the server was not reached.
        let refused = hint(
            DRIVER_18,
            &[
                ("08001", 10061, "[Microsoft][ODBC Driver 18 for SQL Server]TCP Provider: Error code 0x274D"),
                ("HYT00", 0, "[Microsoft][ODBC Driver 18 for SQL Server]Login timeout expired"),
            ],
        );
        assert!(refused.starts_with("the database server refused the connection"), "{refused}");
        let unknown = hint(
            DRIVER_17,
            &[("08001", 11001, "[Microsoft][ODBC Driver 17 for SQL Server]TCP Provider: Error code 0x2AF9")],
        );
        assert!(unknown.starts_with("the database server's name does not resolve"), "{unknown}");
        let other = hint(
            DRIVER_18,
            &[("08001", 10054, "[Microsoft][ODBC Driver 18 for SQL Server]TCP Provider: Error code 0x2746")],
        );
        assert!(
            other.starts_with("the driver could not open a connection (08001): check Server="),
            "{other}"
        );
        // HYT00: nothing answered in time.
        let timeout = hint(
            DRIVER_18,
            &[("HYT00", 0, "[Microsoft][ODBC Driver 18 for SQL Server]Login timeout expired")],
        );
        assert!(timeout.starts_with("the database did not answer within source.login_timeout"), "{timeout}");
        // 08S01: the link broke during the login.
        let broken = hint(
            DRIVER_17,
            &[("08S01", 10054, "[Microsoft][ODBC Driver 17 for SQL Server]Communication link failure")],
        );
        assert!(broken.starts_with("the connection broke during the login (08S01)"), "{broken}");
        // FreeTDS: no TCP connection, and a port that answered but is not SQL Server.
        let unreachable = hint(
            "FreeTDS",
            &[
                ("S1000", 0, "[FreeTDS][SQL Server]Unable to connect to data source"),
                (
                    "08S01",
                    20009,
                    "[FreeTDS][SQL Server]Unable to connect: Adaptive Server is unavailable or does not exist",
                ),
            ],
        );
        assert!(unreachable.starts_with("FreeTDS could not reach the server (08S01)"), "{unreachable}");
        let not_sql_server = hint(
            "FreeTDS",
            &[
                ("S1000", 0, "[FreeTDS][SQL Server]Unable to connect to data source"),
                ("01000", 20002, "[FreeTDS][SQL Server]Adaptive Server connection failed"),
            ],
        );
        assert!(
            not_sql_server.starts_with("the port answered but the SQL Server login handshake failed"),
            "{not_sql_server}"
        );
    }

    #[test]
    fn query_failures_by_sqlstate() {
        let message = |records: &[(&str, i32, &str)]| {
            let raw = odbc(records);
            query_message(&raw, &raw, "users.sql", Duration::from_secs(1200))
        };
        let deadlock = message(&[("40001", 1205, "[Microsoft][ODBC Driver 18 for SQL Server][SQL Server]Transaction (Process ID 57) was deadlocked on lock resources with another process and has been chosen as the deadlock victim. Rerun the transaction.")]).unwrap();
        assert!(
            deadlock.starts_with("users.sql: the database chose this query as a deadlock victim (40001)"),
            "{deadlock}"
        );
        let denied = message(&[("42000", 229, "[Microsoft][ODBC Driver 18 for SQL Server][SQL Server]The SELECT permission was denied on the object 'Person', database 'campus', schema 'dbo'.")]).unwrap();
        assert_eq!(
            denied,
            "users.sql: the account may not read a table or view this query uses: ask the DBA to grant SELECT on it to the read-only account \
             (The SELECT permission was denied on the object 'Person', database 'campus', schema 'dbo'.)"
        );
        let newer = message(&[("42000", 195, "[Microsoft][ODBC Driver 17 for SQL Server][SQL Server]'STRING_AGG' is not a recognized built-in function name.")]).unwrap();
        assert!(
            newer.contains("newer than this server (the shipped queries need SQL Server 2016 or later)"),
            "{newer}"
        );
        let syntax =
            message(&[("42000", 102, "[FreeTDS][SQL Server]Incorrect syntax near 'identity'.")]).unwrap();
        assert!(
            syntax.starts_with(
                "users.sql: the server cannot read the query's SQL (42000: Incorrect syntax near 'identity'.)"
            ),
            "{syntax}"
        );
        let timeout =
            message(&[("HYT00", 0, "[Microsoft][ODBC Driver 18 for SQL Server]Query timeout expired")])
                .unwrap();
        assert!(timeout.contains("within source.query_timeout (1200s)"), "{timeout}");
        let broken = message(&[("08S01", 10054, "[Microsoft][ODBC Driver 18 for SQL Server]TCP Provider: An existing connection was forcibly closed by the remote host.\r\n"), ("08S01", 10054, "[Microsoft][ODBC Driver 18 for SQL Server]Communication link failure")]).unwrap();
        assert!(
            broken.starts_with("users.sql: the connection to the database broke during the query (08S01)"),
            "{broken}"
        );
        let missing = message(&[(
            "42S02",
            208,
            "[Microsoft][ODBC Driver 18 for SQL Server][SQL Server]Invalid object name 'Enrollment'.",
        )])
        .unwrap();
        assert!(missing.contains("a table or view the query names does not exist"), "{missing}");
        let column = message(&[(
            "42S22",
            207,
            "[Microsoft][ODBC Driver 18 for SQL Server][SQL Server]Invalid column name 'stateExclude'.",
        )])
        .unwrap();
        assert!(column.contains("(Invalid column name 'stateExclude'.)"), "{column}");
        // Anything else: the driver's own first line, as before.
        assert_eq!(message(&[("HY000", 1, "[SQLite]no such function: foo")]), None);
    }
}

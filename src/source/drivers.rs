//! The one table of ODBC drivers sis-extract knows, and what differs between them: how to
//! recognise each, the connection-string settings added for it, its server's usual port,
//! what to do when its TLS handshake fails, and its known quirks.
//!
//! A driver is recognised by its name (as odbcinst.ini lists it, `Driver={…}` in a
//! connection string) or by its library's file name, which is what ODBC's
//! `SQLGetInfo(SQL_DRIVER_NAME)` returns (`libtdsodbc.so`, `libmsodbcsql-18.3.so.2.1`,
//! `SQLSRV32.DLL`). Before connecting only the connection string is known (`check`'s TCP
//! step, the connection-string settings); after connecting, [`identify`] asks the driver
//! manager which library it loaded for that name or DSN, and the server's own name
//! (`SQL_DBMS_NAME`) says what is at the other end.
//!
//! Why not `SQLGetInfo(SQL_DRIVER_NAME)` itself: odbc-api 29 reads only `SQL_DBMS_NAME`,
//! and an open `odbc_api::Connection` does not hand out its raw handle (`into_handle`
//! consumes it, with no way back). The driver manager's own table (`SQLDrivers`,
//! `SQLDataSources`) is where it looks up the library it loads, so it names the same file.

use super::DriverKind;

/// One known driver.
#[derive(Debug, PartialEq, Eq)]
pub struct DriverProfile {
    /// What it is, for messages: "Microsoft ODBC Driver 18 for SQL Server".
    pub label: &'static str,
    pub kind: DriverKind,
    /// Lower-case pieces of its odbcinst.ini name or its library's file name.
    recognised_by: &'static [&'static str],
    /// The server's usual TCP port, for `check`'s TCP step when the string names none.
    pub default_port: u16,
    /// Settings added to the connection string unless it sets one of the keys itself.
    pub additions: &'static [Addition],
    /// What to do when the TLS handshake with the server fails.
    pub tls_fix: &'static str,
    /// What a district should know about it; `check` prints these.
    pub quirks: &'static [&'static str],
}

/// A `Key=value` added to the connection string unless one of `keys` is already there
/// (some drivers accept a short alias for a key).
#[derive(Debug, PartialEq, Eq)]
pub struct Addition {
    pub keys: &'static [&'static str],
    pub text: &'static str,
}

const INSTALL_CA: &str = "install the district's CA certificate on this server (Debian: copy it into \
     /usr/local/share/ca-certificates/ and run update-ca-certificates; Windows: import it into \
     Trusted Root Certification Authorities), or, only if the district accepts the risk of an \
     unchecked certificate, add TrustServerCertificate=yes to source.connection_string";

/// Every driver sis-extract knows, most specific first (the old driver's name "SQL Server"
/// is part of the others' names).
pub static PROFILES: &[DriverProfile] = &[
    DriverProfile {
        label: "Microsoft ODBC Driver 18 for SQL Server",
        kind: DriverKind::SqlServer,
        recognised_by: &["odbc driver 18 for sql server", "msodbcsql18", "msodbcsql-18"],
        default_port: 1433,
        additions: &[],
        tls_fix: INSTALL_CA,
        quirks: &[
            "encrypts by default (Encrypt=yes) and checks the server's certificate: a self-signed or internal certificate fails until its CA is trusted here",
        ],
    },
    DriverProfile {
        label: "Microsoft ODBC Driver 17 for SQL Server",
        kind: DriverKind::SqlServer,
        recognised_by: &["odbc driver 17 for sql server", "msodbcsql17", "msodbcsql-17"],
        default_port: 1433,
        additions: &[],
        tls_fix: "with Encrypt=yes Driver 17 checks the certificate like Driver 18: install the district's \
             CA certificate on this server, or, only if the district accepts the risk, add \
             TrustServerCertificate=yes. \"unsupported protocol\" means the server offers only TLS 1.0 or 1.1: \
             the district should enable TLS 1.2 on the SQL Server (a cumulative update)",
        quirks: &["does not encrypt unless Encrypt=yes; Microsoft supports Driver 18 for new installations"],
    },
    DriverProfile {
        label: "an older Microsoft SQL Server driver (ODBC Driver 11 or 13, SQL Server Native Client)",
        kind: DriverKind::SqlServer,
        recognised_by: &["odbc driver 1", "native client", "sqlncli", "msodbcsql"],
        default_port: 1433,
        additions: &[],
        tls_fix: "this driver predates TLS 1.2 support on many systems and is out of support: install Microsoft \
             ODBC Driver 18 for SQL Server and set Driver={ODBC Driver 18 for SQL Server} in source.connection_string",
        quirks: &["out of Microsoft's support; Microsoft ODBC Driver 18 for SQL Server replaces it"],
    },
    DriverProfile {
        label: "the old Windows \"SQL Server\" driver (SQLSRV32.DLL)",
        kind: DriverKind::SqlServer,
        recognised_by: &["sqlsrv32", "sql server"],
        default_port: 1433,
        additions: &[],
        tls_fix: "the old \"SQL Server\" driver cannot speak TLS 1.2 on older Windows, and a server that requires \
             it refuses the handshake: install Microsoft ODBC Driver 18 for SQL Server and set \
             Driver={ODBC Driver 18 for SQL Server} in source.connection_string",
        quirks: &[
            "dates arrive as text: it predates SQL Server 2008's date, time and datetime2 types",
            "no TLS 1.2 on older Windows; Microsoft ODBC Driver 18 for SQL Server replaces it",
        ],
    },
    DriverProfile {
        label: "FreeTDS",
        kind: DriverKind::SqlServer,
        recognised_by: &["freetds", "tdsodbc"],
        default_port: 1433,
        // TDS 7.4 (SQL Server 2012 and later): below 7.3 date and datetime2 arrive as
        // text. UTF-8: otherwise FreeTDS converts varchar text through the process
        // locale's character set, which under cron (the C locale) turns é into ?.
        additions: &[
            Addition { keys: &["TDS_Version"], text: "TDS_Version=7.4" },
            Addition { keys: &["ClientCharset"], text: "ClientCharset=UTF-8" },
        ],
        // FreeTDS checks a certificate only against freetds.conf's `ca file`; without one
        // it encrypts (Encryption=require) but accepts any certificate.
        tls_fix: "FreeTDS checks the server's certificate only against the `ca file` of freetds.conf: put the \
             district's CA certificate there (or install it with update-ca-certificates and set \
             `ca file = system`); if the CA is right, the server may offer only a TLS version this server \
             refuses, which the district fixes by enabling TLS 1.2 on the SQL Server",
        quirks: &[
            "sis-extract sets TDS_Version=7.4 and ClientCharset=UTF-8 unless the connection string sets them",
            "its messages are terse (\"Unable to connect to data source\"); `check`'s TCP and PRELOGIN steps say more",
        ],
    },
    DriverProfile {
        label: "psqlODBC (PostgreSQL)",
        kind: DriverKind::PsqlOdbc,
        recognised_by: &["postgres", "psqlodbc"],
        default_port: 5432,
        // Without the cursor psqlODBC holds a whole result in memory. Its logs write
        // every message exchanged with the server, the login among them, to files under
        // /tmp (Debian's odbcinst.ini turns CommLog on). `CX`/`B2`: the short keys.
        additions: &[
            Addition { keys: &["UseDeclareFetch"], text: "UseDeclareFetch=1;Fetch=10000" },
            Addition { keys: &["CommLog", "CX"], text: "CommLog=0" },
            Addition { keys: &["Debug", "B2"], text: "Debug=0" },
        ],
        tls_fix: "check SSLmode= in source.connection_string against what the server offers, and that this \
             server trusts its certificate",
        quirks: &[],
    },
    DriverProfile {
        label: "the SQLite ODBC driver",
        kind: DriverKind::Sqlite,
        recognised_by: &["sqlite"],
        default_port: 0,
        // Without StepAPI it reads a whole result before returning the first row.
        additions: &[Addition { keys: &["StepAPI"], text: "StepAPI=1" }],
        tls_fix: "",
        quirks: &[],
    },
];

/// A driver not in the table, or a DSN not resolved yet.
pub static OTHER: DriverProfile = DriverProfile {
    label: "an ODBC driver sis-extract has no notes for",
    kind: DriverKind::Other,
    recognised_by: &[],
    default_port: 1433,
    additions: &[],
    tls_fix: "check the encryption settings of source.connection_string against the driver's documentation, \
         and that this server trusts the database's certificate",
    quirks: &[],
};

/// The profile of a driver given by name or library file name; [`OTHER`] when unknown.
pub fn profile(name: &str) -> &'static DriverProfile {
    let name = name.to_ascii_lowercase();
    PROFILES.iter().find(|p| p.recognised_by.iter().any(|piece| name.contains(piece))).unwrap_or(&OTHER)
}

/// The driver a connection string names, before connecting (`Driver=` by name or by
/// library path); [`OTHER`] for a DSN.
pub fn of_connection_string(connection_string: &str) -> &'static DriverProfile {
    super::driver_name(connection_string).map_or(&OTHER, |name| profile(&name))
}

/// A driver as the driver manager resolved it.
#[derive(Debug, Clone)]
pub struct Identified {
    /// Its name and library file, e.g. "FreeTDS (libtdsodbc.so)".
    pub shown: String,
    pub profile: &'static DriverProfile,
}

/// The driver of a connection string as the driver manager resolves it: the library file
/// named for `Driver=` (or for the DSN's driver) in odbcinst.ini, or the path itself.
pub fn identify(connection_string: &str) -> Identified {
    let (shown, profile) = identify_parts(connection_string);
    Identified { shown, profile }
}

fn identify_parts(connection_string: &str) -> (String, &'static DriverProfile) {
    let pairs = crate::config::connection_string_pairs(connection_string);
    let get = |key: &str| pairs.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.clone());
    let Ok(env) = odbc_api::environment() else { return ("an unknown driver".into(), &OTHER) };
    let name = match (get("Driver"), get("DSN")) {
        (Some(driver), _) => driver,
        (None, Some(dsn)) => match env.data_sources().ok().and_then(|sources| {
            sources.into_iter().find(|s| s.server_name.eq_ignore_ascii_case(&dsn)).map(|s| s.driver)
        }) {
            Some(driver) => driver,
            None => return (format!("the driver of DSN {dsn}"), &OTHER),
        },
        (None, None) => return ("the default driver".into(), &OTHER),
    };
    let library = env.drivers().ok().and_then(|drivers| {
        drivers
            .into_iter()
            .find(|d| d.description.eq_ignore_ascii_case(&name))
            .and_then(|d| d.attributes.get("Driver").cloned())
    });
    let file = library.as_deref().unwrap_or(&name);
    let file = file.rsplit(['/', '\\']).next().unwrap_or(file).to_string();
    // The library decides (a name in odbcinst.ini can be anything); the name is a fallback.
    let by_file = profile(&file);
    let found = if by_file == &OTHER { profile(&name) } else { by_file };
    let shown = if file.eq_ignore_ascii_case(&name) { name } else { format!("{name} ({file})") };
    (shown, found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drivers_are_told_apart_by_name_or_library() {
        for (name, label) in [
            ("ODBC Driver 18 for SQL Server", "Microsoft ODBC Driver 18 for SQL Server"),
            ("libmsodbcsql-18.3.so.2.1", "Microsoft ODBC Driver 18 for SQL Server"),
            ("msodbcsql18.dll", "Microsoft ODBC Driver 18 for SQL Server"),
            ("ODBC Driver 17 for SQL Server", "Microsoft ODBC Driver 17 for SQL Server"),
            ("libmsodbcsql-17.10.so.6.1", "Microsoft ODBC Driver 17 for SQL Server"),
            (
                "SQL Server Native Client 11.0",
                "an older Microsoft SQL Server driver (ODBC Driver 11 or 13, SQL Server Native Client)",
            ),
            (
                "ODBC Driver 13 for SQL Server",
                "an older Microsoft SQL Server driver (ODBC Driver 11 or 13, SQL Server Native Client)",
            ),
            ("SQL Server", "the old Windows \"SQL Server\" driver (SQLSRV32.DLL)"),
            ("SQLSRV32.DLL", "the old Windows \"SQL Server\" driver (SQLSRV32.DLL)"),
            ("FreeTDS", "FreeTDS"),
            ("libtdsodbc.so", "FreeTDS"),
            ("/usr/lib/x86_64-linux-gnu/odbc/libtdsodbc.so", "FreeTDS"),
            ("PostgreSQL Unicode", "psqlODBC (PostgreSQL)"),
            ("psqlodbcw.so", "psqlODBC (PostgreSQL)"),
            ("SQLite3", "the SQLite ODBC driver"),
            ("libsqlite3odbc.so", "the SQLite ODBC driver"),
            ("Oracle 19 ODBC driver", "an ODBC driver sis-extract has no notes for"),
        ] {
            assert_eq!(profile(name).label, label, "{name}");
        }
        assert_eq!(of_connection_string("DSN=campus").kind, DriverKind::Other);
        assert_eq!(of_connection_string("Driver={FreeTDS};Server=h").kind, DriverKind::SqlServer);
        assert_eq!(of_connection_string("Driver={PostgreSQL Unicode};Server=h").default_port, 5432);
        // The old driver's quirks are the ones a district must hear about.
        assert!(profile("SQL Server").quirks[0].starts_with("dates arrive as text"));
        assert!(profile("ODBC Driver 18 for SQL Server").tls_fix.contains("TrustServerCertificate=yes"));
    }

    #[test]
    fn an_installed_driver_is_identified_by_its_library() {
        // The SQLite driver is installed wherever the tests run (scripts/install-deps).
        let (shown, found) = identify_parts("Driver=SQLite3;Database=/nonexistent.db");
        assert_eq!(found.kind, DriverKind::Sqlite);
        assert!(shown.starts_with("SQLite3 (libsqlite3odbc"), "{shown}");
        let (shown, found) = identify_parts("DSN=no-such-dsn-here");
        assert_eq!((shown.as_str(), found.kind), ("the driver of DSN no-such-dsn-here", DriverKind::Other));
    }
}

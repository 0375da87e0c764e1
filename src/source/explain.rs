//! Driver errors turned into messages that say what failed and what to do (the driver's
//! own text stays attached, shown with `-v`).

use odbc_api::DataType;
use std::time::Duration;

use super::driver_name;
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
    let lower = raw.to_ascii_lowercase();
    let text = secret::redact_external(&raw);
    let driver = driver_name(connection_string).unwrap_or_else(|| "(none named)".into());
    let hint = if raw.contains("IM002")
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
    } else if raw.contains("28000")
        || lower.contains("password authentication failed")
        || lower.contains("login failed")
    {
        match password_source {
            Some(from) => format!(
                "the database rejected the user name or password; check source.user and source.password (read from {from})"
            ),
            None => "the database rejected the user name or password; check source.user and source.password"
                .to_string(),
        }
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
    } else if raw.contains("HYT00") || lower.contains("timeout") || lower.contains("timed out") {
        "the database did not answer within source.login_timeout; check the server name and port, and that the firewall lets this server through".to_string()
    } else {
        "check source.connection_string (driver, server, port, database)".to_string()
    };
    crate::detail::explained(
        format!("connecting to the database with driver {driver:?} failed: {hint}"),
        text,
    )
}

pub(super) fn explain_query_error(error: &odbc_api::Error, file: &str, timeout: Duration) -> anyhow::Error {
    // Told apart on the driver's own words; shown with any secret in them replaced (a weak
    // password such as "password" would otherwise hide "password authentication failed").
    let raw = error.to_string();
    let lower = raw.to_ascii_lowercase();
    let text = secret::redact_external(&raw);
    if raw.contains("HYT00") || lower.contains("canceling statement due to statement timeout") {
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

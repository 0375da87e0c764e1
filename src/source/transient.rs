//! Database failures that are worth trying again: the server chose this session as a
//! deadlock victim, or the connection was lost (a failover, a restart, a dropped network
//! path). The run retries the whole extract from a new connection, a bounded number of
//! times (`source.retries`), because a snapshot cannot be resumed halfway.
//! A wrong password, a syntax error or a query timeout is not transient: trying again
//! would fail the same way, or load the SIS again for nothing.

/// A failure the run may retry; its text is the explained error.
#[derive(Debug)]
pub struct TransientFailure(pub String);

impl std::fmt::Display for TransientFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TransientFailure {}

/// SQLSTATEs of transient failures: deadlock victims and serialization failures (SQL
/// Server's 1205 is 40001, PostgreSQL's deadlock 40P01), the communication link failure,
/// and PostgreSQL's connection-exception class and administrator shutdowns.
const TRANSIENT_STATES: [&str; 8] = ["40001", "40P01", "08S01", "08006", "08003", "57P01", "57P02", "57P03"];

/// The same failures as some drivers word them without a matching SQLSTATE (psqlODBC
/// reports a backend that went away as a general error).
const TRANSIENT_WORDS: [&str; 7] = [
    "deadlock",
    "server closed the connection unexpectedly",
    "terminating connection due to administrator command",
    "no connection to the server",
    "communication link failure",
    "connection was lost",
    "could not receive data from server",
];

/// Whether `error` (from a query or a fetch, not the first login) is transient.
pub fn is_transient(error: &odbc_api::Error) -> bool {
    if state_of(error).is_some_and(|state| TRANSIENT_STATES.contains(&state.as_str())) {
        return true;
    }
    let lower = error.to_string().to_ascii_lowercase();
    TRANSIENT_WORDS.iter().any(|w| lower.contains(w))
}

/// `explained`, marked transient and said in plain words when `error` is, so the run can
/// tell and the admin reads what happened rather than only the driver's text.
pub fn classify(error: &odbc_api::Error, explained: anyhow::Error) -> anyhow::Error {
    if !is_transient(error) {
        return explained;
    }
    let lower = error.to_string().to_ascii_lowercase();
    let what = if lower.contains("deadlock") || state_of(error).is_some_and(|s| s.starts_with("40")) {
        "the database ended this read to resolve a deadlock with another session (sis-extract yields to the SIS)"
    } else {
        "the connection to the database was lost (a restart, a failover, a network path dropped, or an administrator ended the session)"
    };
    anyhow::Error::new(TransientFailure(format!("{what}: {explained:#}")))
}

/// The SQLSTATE of a driver error, when it has one.
fn state_of(error: &odbc_api::Error) -> Option<String> {
    match error {
        odbc_api::Error::Diagnostics { record, .. } => {
            Some(String::from_utf8_lossy(&record.state.0).into_owned())
        }
        _ => None,
    }
}

/// Whether a run's error is one [`classify`] marked transient.
pub fn is_transient_failure(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| cause.is::<TransientFailure>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use odbc_api::handles::{Record, State};

    /// A driver error as odbc-api reports it. The texts are the drivers' own (SQL Server's
    /// cannot run here; these are its documented messages for error 1205 and a lost link).
    fn driver_error(state: &[u8; 5], message: &str) -> odbc_api::Error {
        odbc_api::Error::Diagnostics {
            record: Record {
                state: State(*state),
                native_error: 0,
                // SqlChar is u8 here and u16 on Windows.
                #[allow(clippy::useless_conversion)]
                message: message.bytes().map(Into::into).collect(),
            },
            function: "SQLFetch",
        }
    }

    #[test]
    fn deadlock_victims_and_lost_connections_are_transient_and_nothing_else() {
        let deadlock = driver_error(
            b"40001",
            "[Microsoft][ODBC Driver 18 for SQL Server][SQL Server]Transaction (Process ID 52) was deadlocked on lock \
             resources with another process and has been chosen as the deadlock victim. Rerun the transaction.",
        );
        let link =
            driver_error(b"08S01", "[Microsoft][ODBC Driver 18 for SQL Server]Communication link failure");
        let terminated = driver_error(b"57P01", "FATAL: terminating connection due to administrator command");
        for error in [&deadlock, &link, &terminated] {
            assert!(is_transient(error), "{error}");
        }
        let explained = classify(&deadlock, anyhow::anyhow!("users.sql: the database rejected the query"));
        assert!(is_transient_failure(&explained));
        assert!(explained.to_string().starts_with("the database ended this read to resolve a deadlock"));
        let explained = classify(&link, anyhow::anyhow!("users.sql: x"));
        assert!(explained.to_string().starts_with("the connection to the database was lost"));

        let not_transient = [
            driver_error(b"28000", "Login failed for user 'reader'."),
            driver_error(b"42000", "Incorrect syntax near 'FROM'."),
            driver_error(b"HYT00", "Query timeout expired"),
            driver_error(b"42S02", "Invalid object name 'Person'. (port 40001)"),
        ];
        for error in &not_transient {
            assert!(!is_transient(error), "{error}");
            assert!(!is_transient_failure(&classify(error, anyhow::anyhow!("x"))));
        }
    }
}

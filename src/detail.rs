//! `Detail`: the raw diagnostic of a driver or library (an ODBC state record, an SSH
//! library's message), kept in an error's cause chain but printed only with `-v`. The
//! line a user sees is our explanation of it, which says what to do.

use std::fmt;

#[derive(Debug)]
pub struct Detail(pub String);

impl fmt::Display for Detail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Detail {}

/// `explanation`, caused by the raw `detail`.
pub fn explained(explanation: impl fmt::Display + Send + Sync + 'static, detail: String) -> anyhow::Error {
    anyhow::Error::new(Detail(detail)).context(explanation)
}

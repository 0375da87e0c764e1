//! Output formats: how the rows of one query become one file of the set.
//!
//! `csv` writes one plain CSV file per query; `oneroster` maps queries onto the OneRoster
//! files (1.1 and 1.2) and `validate` checks a finished OneRoster set; `clever` writes
//! Clever's own five-file SFTP format. Both formats sit
//! behind the same `RowSink` seam: the source streams rows, a format writes them.
//! `receivers` is the table of what each receiving system publishes, `receiver_check`
//! applies it to a set, and `findings` reports both checks grouped by rule.

pub mod clever;
pub mod csv;
pub mod findings;
pub mod oneroster;
pub mod receiver_check;
pub mod receivers;
pub mod validate;

/// What was written for one query, recorded in the run report and the history.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct FileReport {
    /// File name inside the set, e.g. `users.csv`.
    pub file: String,
    pub rows: u64,
    pub bytes: u64,
    pub header: Vec<String>,
    /// SHA-256 of the query text that produced it (empty for files sis-extract derives,
    /// such as manifest.csv).
    pub query_sha256: String,
}

//! Output formats: how the rows of one query become one file of the set.
//!
//! Only plain CSV exists so far; OneRoster will be a second format behind the same
//! `RowSink` seam (the source streams rows, a format writes them).

pub mod csv;

/// What was written for one query, recorded in the run report and the history.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct FileReport {
    /// File name inside the set, e.g. `users.csv`.
    pub file: String,
    pub rows: u64,
    pub bytes: u64,
    pub header: Vec<String>,
    /// SHA-256 of the query text that produced it.
    pub query_sha256: String,
}

//! One result row as text, and the trait of whatever receives the rows of a query: the
//! vocabulary shared by the source (which produces rows) and the outputs and progress
//! counter (which consume them), so that neither depends on the other.

use anyhow::Result;

/// One row as UTF-8 text; `None` is SQL NULL.
#[derive(Default)]
pub struct Row {
    pub(crate) values: Vec<String>,
    pub(crate) present: Vec<bool>,
}

impl Row {
    pub fn get(&self, index: usize) -> Option<&str> {
        self.present[index].then(|| self.values[index].as_str())
    }

    /// Makes room for `columns` values; their buffers are reused from row to row.
    pub(crate) fn reset(&mut self, columns: usize) {
        self.values.resize_with(columns, String::new);
        self.present.resize(columns, false);
    }
}

/// Receives the rows of one query.
pub trait RowSink {
    /// Called once, before any row, with the result's column names.
    fn begin(&mut self, columns: &[String]) -> Result<()>;
    /// Called for every row; the row's buffers are reused for the next one.
    fn row(&mut self, row: &Row) -> Result<()>;
}

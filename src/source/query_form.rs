//! The form a query is sent in, per server: PostgreSQL's date and time columns cast to
//! the server's own text, SQLite's check for NUL bytes, and describing a query without
//! running it (for `check` and for those forms).

use anyhow::Result;
use odbc_api::{DataType, ResultSetMetadata};

use super::Source;
use super::explain::{explain_query_error, sql_type_name};
use super::fetch::check_column_name;
use crate::query::{SqlDialect, SqlFile, send_form, wrapped};

impl Source {
    /// Prepares `query` and describes its result columns without fetching any row.
    pub fn describe_query(&self, query: &SqlFile) -> Result<Vec<(String, String)>> {
        let file = format!("{}.sql", query.name);
        let columns = self.prepared_columns(&query.text_for(self.dialect)?, &file)?;
        Ok(columns.into_iter().map(|(name, data_type)| (name, sql_type_name(data_type))).collect())
    }

    /// psqlODBC parses date, time and timestamp values even when they are fetched as text,
    /// and writes its own rendering: `infinity` becomes `0000-00-00`, a BC date loses its
    /// era, year 294276 becomes 2942, a time zone offset is dropped. So such columns are
    /// cast to text by the server itself: `SELECT "a", "d"::text AS "d" FROM (…)`. The
    /// query (in its send form) is described first, prepared and not run, to find them.
    /// Returns the text and the (1-based) numbers of the columns cast.
    pub(super) fn with_times_as_server_text(&self, sent: &str, file: &str) -> Result<(String, Vec<u16>)> {
        let plain = send_form(sent, SqlDialect::PostgreSql);
        let columns = self.prepared_columns(&plain, file)?;
        let mut names: Vec<&str> = Vec::with_capacity(columns.len());
        let mut list = Vec::with_capacity(columns.len());
        for (name, data_type) in &columns {
            if names.contains(&name.as_str()) {
                // `describe` names the duplicate; a cast would only make PostgreSQL's
                // "ambiguous" message take its place.
                return Ok((plain, Vec::new()));
            }
            names.push(name);
            let quoted = quote_identifier(name);
            list.push(if is_date_or_time(*data_type) {
                format!("{quoted}::text AS {quoted}")
            } else {
                quoted
            });
        }
        let cast: Vec<u16> = (1..)
            .zip(&columns)
            .filter(|(_, (_, data_type))| is_date_or_time(*data_type))
            .map(|(number, _)| number)
            .collect();
        if cast.is_empty() {
            return Ok((plain, cast));
        }
        Ok((wrapped(sent, &list.join(", ")), cast))
    }

    /// The SQLite driver cuts a text value at its first NUL byte, silently. So every
    /// column is checked by SQLite itself, in one extra last column that names the first
    /// column of the row holding a NUL (or is NULL): `SELECT *, CASE WHEN instr("a",
    /// char(0)) > 0 THEN 'a' … END FROM (…)`.
    pub(super) fn with_nul_check(&self, sent: &str, file: &str) -> Result<String> {
        // The names as the query itself gives them: through `SELECT *` SQLite would rename
        // a duplicate `id` to `id:1`, hiding the mistake, so they are checked here.
        let mut names: Vec<String> = Vec::new();
        for (i, (name, _)) in self.prepared_columns(sent, file)?.into_iter().enumerate() {
            check_column_name(&names, &name, i + 1, file)?;
            names.push(name);
        }
        let arms: Vec<String> = names
            .iter()
            .map(|name| {
                format!(
                    "WHEN instr(sis_extract_query.{}, char(0)) > 0 THEN '{}'",
                    quote_identifier(name),
                    name.replace('\'', "''")
                )
            })
            .collect();
        Ok(wrapped(sent, &format!("*, CASE {} END AS sis_extract_nul_check", arms.join(" "))))
    }

    /// The names and types of the result columns of `sql`, prepared and not run.
    pub(super) fn prepared_columns(&self, sql: &str, file: &str) -> Result<Vec<(String, DataType)>> {
        let explain = |e: odbc_api::Error| explain_query_error(&e, file, self.config_query_timeout);
        let mut prepared = self.connection.prepare(sql).map_err(explain)?;
        let count = prepared.num_result_cols().map_err(explain)?;
        (1..=count.max(0) as u16)
            .map(|i| {
                Ok((prepared.col_name(i).map_err(explain)?, prepared.col_data_type(i).map_err(explain)?))
            })
            .collect()
    }
}

/// `"name"`, with any `"` in it doubled: a quoted identifier in PostgreSQL and SQLite.
fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn is_date_or_time(data_type: DataType) -> bool {
    matches!(data_type, DataType::Date | DataType::Time { .. } | DataType::Timestamp { .. })
}

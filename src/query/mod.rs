//! Loads a job's `.sql` files and vets each one before anything is sent to the database.
//!
//! A query file must hold exactly one read-only statement: `SELECT …` or `WITH … SELECT …`
//! (comments allowed). Everything else — DML, DDL, `EXEC`, `SELECT … INTO`, `VALUES`, a
//! second statement, DML hidden in a CTE, row locks, a call to a function known to have
//! side effects (large objects, backend signals, advisory locks, `dblink`, extension
//! loading, `xp_`/`sp_` procedures, `OPENROWSET`…) — is refused with the file name and line.
//! The text is parsed with a real SQL parser (sqlparser), not scanned for keywords.
//!
//! Lexers disagree: a `\'` inside `E'…'`, a `$$…$$` string, a nested comment or a `]]` in
//! a bracket identifier can hide a `;` from one dialect and not from another. So vetting
//! happens twice: before connecting, the text must be one statement under *every* dialect
//! that can read it; once connected, it must be one read-only SELECT under the dialect of
//! the server actually connected ([`SqlDialect`]), and the text sent is prepared with that
//! same dialect. On PostgreSQL and SQLite the text is also sent wrapped as a subquery, so
//! that the server's own parser rejects anything after a `;` ([`SqlFile::text_for`]).
//! This is one of several layers: the connection is also opened read-only (see `source`),
//! and the database account itself must only be allowed to read.

use std::path::PathBuf;

use anyhow::{Result, anyhow};
use sqlparser::dialect::{Dialect, GenericDialect, MsSqlDialect, PostgreSqlDialect, SQLiteDialect};

mod load;
mod vet;

pub use load::*;
pub use vet::*;

/// The largest query file read: a real extract query is a few kilobytes, and the parser's
/// memory grows with the text, so a stray multi-megabyte file is refused before it is read.
pub const MAX_QUERY_FILE_BYTES: u64 = 1024 * 1024;

/// The SQL dialect of a database, as far as vetting and sending query text is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqlDialect {
    /// Microsoft SQL Server (Infinite Campus).
    SqlServer,
    PostgreSql,
    Sqlite,
    /// Any other database: vetted as generic SQL, and only accepted when every dialect
    /// sis-extract knows reads the text as one statement.
    Generic,
}

impl SqlDialect {
    pub const ALL: [SqlDialect; 4] =
        [SqlDialect::SqlServer, SqlDialect::PostgreSql, SqlDialect::Sqlite, SqlDialect::Generic];

    /// The dialect of a database product, from the name its ODBC driver reports
    /// (`SQL_DBMS_NAME`, e.g. "Microsoft SQL Server", "PostgreSQL", "SQLite").
    pub fn of_dbms(name: &str) -> SqlDialect {
        let name = name.to_ascii_lowercase();
        if name.contains("sql server") {
            SqlDialect::SqlServer
        } else if name.contains("postgres") {
            SqlDialect::PostgreSql
        } else if name.contains("sqlite") {
            SqlDialect::Sqlite
        } else {
            SqlDialect::Generic
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SqlDialect::SqlServer => "SQL Server",
            SqlDialect::PostgreSql => "PostgreSQL",
            SqlDialect::Sqlite => "SQLite",
            SqlDialect::Generic => "generic SQL",
        }
    }

    fn parser(self) -> &'static dyn Dialect {
        match self {
            SqlDialect::SqlServer => &MsSqlDialect {},
            SqlDialect::PostgreSql => &PostgreSqlDialect {},
            SqlDialect::Sqlite => &SQLiteDialect {},
            SqlDialect::Generic => &GenericDialect {},
        }
    }
}

/// One vetted query file.
#[derive(Debug, Clone)]
pub struct SqlFile {
    /// File stem: `users.sql` → `users`; names the output file.
    pub name: String,
    pub path: PathBuf,
    /// The file's text (without a byte-order mark), as vetted before connecting.
    pub text: String,
    /// Its `?` parameters in order: each is bound to the as-of date, or, written
    /// `? /* people */`, to the job's `people` setting ([`Placeholder`]).
    pub placeholders: Vec<Placeholder>,
    /// SHA-256 of the file's text, recorded in the history so a changed query can be traced.
    pub sha256: String,
}

impl SqlFile {
    /// The statement to send to a server of `dialect`: vetted again under that dialect's
    /// lexer and grammar, comments blanked and the final `;` dropped by that same lexer.
    /// It still has to be put in its [`send_form`] (or [`wrapped`]) before it is sent.
    pub fn vetted_for(&self, dialect: SqlDialect) -> Result<String> {
        let file = self.path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        vet_for(&self.text, dialect).map_err(|r| {
            anyhow!("{file} {r} (as {} reads it, the server this job is connected to)", dialect.label())
        })?;
        Ok(without_comments_and_final_semicolon(&self.text, dialect))
    }

    /// [`SqlFile::vetted_for`] in its [`send_form`]: the text as sent to such a server.
    pub fn text_for(&self, dialect: SqlDialect) -> Result<String> {
        Ok(send_form(&self.vetted_for(dialect)?, dialect))
    }
}

/// `sent` (one vetted statement) in the form it is sent to a server of `dialect`. On
/// PostgreSQL and SQLite, `SELECT * FROM (…) AS sis_extract_query`: a statement there
/// cannot end inside the parentheses, so even a `;` that had slipped past the vetting
/// would make the server reject the text instead of running what follows it. (SQL Server
/// does not allow `WITH` or `ORDER BY` in a derived table, so its text goes as it is.)
pub fn send_form(sent: &str, dialect: SqlDialect) -> String {
    match dialect {
        SqlDialect::PostgreSql | SqlDialect::Sqlite => wrapped(sent, "*"),
        SqlDialect::SqlServer | SqlDialect::Generic => sent.to_string(),
    }
}

/// `SELECT {select_list} FROM (sent) AS sis_extract_query`: the wrapped form of
/// [`send_form`], with a select list of the caller's over the query's columns (which it
/// names `sis_extract_query."column"`).
pub fn wrapped(sent: &str, select_list: &str) -> String {
    format!("SELECT {select_list} FROM (\n{sent}\n) AS sis_extract_query")
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn refused(sql: &str) -> Refusal {
        vet(sql).expect_err(sql)
    }

    #[test]
    fn comments_and_the_final_semicolon_are_not_sent() {
        let f = |t: &str| without_comments_and_final_semicolon(t, SqlDialect::SqlServer);
        assert_eq!(f("SELECT 'é;' AS a;\n-- end\n"), "SELECT 'é;' AS a");
        assert_eq!(f("SELECT 1 AS a\n  ;  "), "SELECT 1 AS a");
        assert_eq!(f("-- a; b\nSELECT 1 AS a -- x; y\n"), "       \nSELECT 1 AS a");
        assert_eq!(f("SELECT /* ; */ 'a -- b' AS c"), "SELECT         'a -- b' AS c");
    }

    #[test]
    fn accepts_selects_with_comments_ctes_and_parameters() {
        assert_eq!(vet("SELECT 1").unwrap().len(), 0);
        assert_eq!(
            vet("-- users\n/* block; with semicolon */\nSELECT a, 'x;y' AS b FROM t WHERE d <= ? AND e >= ?;\n")
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            vet(
                "WITH active AS (SELECT personID FROM Enrollment WHERE startDate <= ?)\nSELECT * FROM active"
            )
            .unwrap()
            .len(),
            1
        );
        vet("SELECT a FROM t UNION ALL SELECT b FROM u").unwrap();
        vet("SELECT TOP 10 p.personID FROM Person p CROSS APPLY (SELECT 1 AS x) z").unwrap();
    }

    #[test]
    fn a_people_comment_right_after_a_placeholder_makes_it_the_people_setting() {
        use Placeholder::{AsOf, People};
        let kinds = |sql: &str| vet(sql).unwrap();
        assert_eq!(
            kinds("SELECT 1 AS a WHERE ? /* people */ = 'everyone' AND d <= ? AND ?/*people*/ = 'x'"),
            [People, AsOf, People]
        );
        // Tabs and spaces may stand between; a line break, another comment or other words
        // may not, and any other comment is just a comment.
        assert_eq!(kinds("SELECT 1 AS a WHERE d <= ?\t /*  people  */"), [People]);
        assert_eq!(kinds("SELECT 1 AS a WHERE d <= ?\n/* people */"), [AsOf]);
        assert_eq!(kinds("SELECT 1 AS a WHERE d <= ? /* the as-of date */ AND e >= ?"), [AsOf, AsOf]);
        assert_eq!(kinds("SELECT 1 AS a WHERE d <= ? -- people\n"), [AsOf]);
        assert_eq!(kinds("SELECT 1 AS a WHERE d = ? /* people: who goes out */"), [AsOf]);
        assert_eq!(kinds("SELECT '? /* people */' AS a /* ? */"), Vec::<Placeholder>::new());
        // The comment is blanked from the text sent; the marker stays.
        let (sent, kinds) = prepare("SELECT 1 AS a WHERE ? /* people */ = 'everyone'").unwrap();
        assert_eq!(kinds, [People]);
        assert!(sent.contains("WHERE ?              = 'everyone'"), "{sent}");
    }

    #[test]
    fn refuses_writes_with_line_numbers() {
        let r = refused("DELETE FROM Person");
        assert_eq!(r.line, 1);
        assert!(r.reason.starts_with("DELETE is not a SELECT"), "{}", r.reason);

        let r = refused("-- header\nSELECT 1;\n\nDROP TABLE Person;");
        assert_eq!(r.line, 4);
        assert!(r.reason.contains("second statement starts here (DROP TABLE Person)"), "{}", r.reason);

        let r = refused("SELECT 1 /* */; DELETE FROM t");
        assert!(r.reason.contains("second statement"), "{}", r.reason);

        let r = refused("SELECT *\nINTO backup\nFROM Person");
        assert_eq!(r.line, 2);
        assert!(r.reason.contains("SELECT … INTO"), "{}", r.reason);

        assert!(refused("EXEC dbo.cleanup").reason.contains("procedure call"));
        assert!(refused("UPDATE t SET a = 1").reason.starts_with("UPDATE"));
        assert!(refused("INSERT INTO t VALUES (1)").reason.starts_with("INSERT"));
        assert!(refused("CREATE TABLE x (a int)").reason.contains("DDL"));
        assert!(refused("TRUNCATE TABLE x").reason.contains("TRUNCATE"));
        assert!(
            refused("MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE").reason.starts_with("MERGE")
        );
        assert!(refused("   -- nothing here\n").reason.contains("no SQL statement"));
        assert!(refused("SELEC 1 FROM").reason.contains("could not be parsed"));
    }

    #[test]
    fn refuses_dml_hidden_in_a_cte() {
        let r = refused("WITH gone AS (DELETE FROM t RETURNING *) SELECT * FROM gone");
        assert!(r.reason.contains("DELETE"), "{}", r.reason);
    }

    /// A query set: its name, and its files (name, bytes) sorted.
    type Set = (String, Vec<(String, Vec<u8>)>);

    /// Every folder of `queries/` holding .sql files.
    fn query_folders(dir: &Path, name: &str, found: &mut Vec<Set>) {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let file = path.file_name().unwrap().to_str().unwrap().to_string();
            if path.is_dir() {
                let sub = if name.is_empty() { file } else { format!("{name}/{file}") };
                query_folders(&path, &sub, found);
            } else if file.ends_with(".sql") {
                files.push((file, std::fs::read(&path).unwrap()));
            }
        }
        if !files.is_empty() {
            files.sort();
            found.push((name.to_string(), files));
        }
    }

    #[test]
    fn the_built_in_sets_are_the_query_folders_and_load_like_files() {
        let mut folders = Vec::new();
        query_folders(&Path::new(env!("CARGO_MANIFEST_DIR")).join("queries"), "", &mut folders);
        folders.sort();
        let mut built_in: Vec<Set> = BUILTIN_SETS
            .iter()
            .map(|(name, files)| {
                let mut files: Vec<_> = files.iter().map(|(f, b)| (f.to_string(), b.to_vec())).collect();
                files.sort();
                (name.to_string(), files)
            })
            .collect();
        built_in.sort();
        // A query file added to (or removed from) queries/ must be added to BUILTIN_SETS.
        assert_eq!(
            folders.iter().map(|(n, f)| (n, f.iter().map(|x| &x.0).collect::<Vec<_>>())).collect::<Vec<_>>(),
            built_in.iter().map(|(n, f)| (n, f.iter().map(|x| &x.0).collect::<Vec<_>>())).collect::<Vec<_>>(),
            "BUILTIN_SETS in src/query/load.rs must list exactly the .sql files of queries/"
        );
        assert_eq!(folders, built_in);
        for set in builtin_sets() {
            let files = load_dir(Path::new(&set)).unwrap();
            assert!(files[0].path.display().to_string().starts_with(&format!("{set}/")));
        }
        let error = load_dir(Path::new("builtin:nope")).unwrap_err().to_string();
        assert!(
            error.contains(
                "builtin:demo, builtin:infinite-campus/clever, builtin:infinite-campus/oneroster-1.1"
            ),
            "{error}"
        );
    }

    #[test]
    fn semicolons_inside_strings_are_not_statement_breaks() {
        vet("SELECT 'a; DROP TABLE t' AS x").unwrap();
    }
}

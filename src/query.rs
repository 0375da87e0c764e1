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

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};
use sha2::{Digest, Sha256};
use sqlparser::ast::{Query, SetExpr, Statement, Visit, Visitor};
use sqlparser::dialect::{Dialect, GenericDialect, MsSqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer, Whitespace};

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
    /// How many `?` parameters it has; each is bound to the as-of date.
    pub placeholders: usize,
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

/// Loads every `.sql` file of `dir`, in name order, and vets each. The folder's file names
/// are checked first, so a bad name stops the job before any query is read or run.
/// `builtin:NAME` (see [`BUILTIN_PREFIX`]) loads a query set shipped inside the binary,
/// through the very same checks (names, size, UTF-8, one read-only statement).
pub fn load_dir(dir: &Path) -> Result<Vec<SqlFile>> {
    if let Some(name) = builtin_name(dir) {
        return load_builtin(name);
    }
    let paths = list_dir(dir)?;
    paths.iter().map(|p| load_file(p)).collect()
}

/// How a job's `queries` names a query set shipped inside the binary:
/// `queries = "builtin:infinite-campus/oneroster-1.1"`. A folder that really is named
/// `builtin:…` can still be given as `./builtin:…`.
pub const BUILTIN_PREFIX: &str = "builtin:";

/// The query sets shipped inside the binary, so that an install is one file: the folders
/// of `queries/` in the source tree, file by file (a unit test checks that this table and
/// the folders hold the same files). A `queries` folder path overrides them.
const BUILTIN_SETS: &[(&str, &[BuiltinFile])] = &[
    (
        "demo",
        &[
            ("rosters.sql", include_bytes!("../queries/demo/rosters.sql")),
            ("sections.sql", include_bytes!("../queries/demo/sections.sql")),
            ("staff.sql", include_bytes!("../queries/demo/staff.sql")),
            ("students.sql", include_bytes!("../queries/demo/students.sql")),
        ],
    ),
    (
        "infinite-campus/oneroster-1.1",
        &[
            (
                "academicSessions.sql",
                include_bytes!("../queries/infinite-campus/oneroster-1.1/academicSessions.sql"),
            ),
            ("classes.sql", include_bytes!("../queries/infinite-campus/oneroster-1.1/classes.sql")),
            ("courses.sql", include_bytes!("../queries/infinite-campus/oneroster-1.1/courses.sql")),
            ("demographics.sql", include_bytes!("../queries/infinite-campus/oneroster-1.1/demographics.sql")),
            ("enrollments.sql", include_bytes!("../queries/infinite-campus/oneroster-1.1/enrollments.sql")),
            ("orgs.sql", include_bytes!("../queries/infinite-campus/oneroster-1.1/orgs.sql")),
            ("users.sql", include_bytes!("../queries/infinite-campus/oneroster-1.1/users.sql")),
        ],
    ),
];

/// One file of a built-in set: its name and its bytes.
type BuiltinFile = (&'static str, &'static [u8]);

/// The name after `builtin:` when `queries` names a built-in set.
pub fn builtin_name(queries: &Path) -> Option<&str> {
    queries.to_str()?.strip_prefix(BUILTIN_PREFIX)
}

/// Every built-in set as it is written in the config (`builtin:demo`, …).
pub fn builtin_sets() -> Vec<String> {
    BUILTIN_SETS.iter().map(|(name, _)| format!("{BUILTIN_PREFIX}{name}")).collect()
}

/// Whether `name` (without the prefix) is a built-in set.
pub fn is_builtin_set(name: &str) -> bool {
    BUILTIN_SETS.iter().any(|(set, _)| *set == name)
}

/// Loads a built-in set, with the checks [`list_dir`] and [`load_file`] make on files.
/// Each query's path reads `builtin:SET/FILE.sql`, so messages and the history name it.
fn load_builtin(name: &str) -> Result<Vec<SqlFile>> {
    let Some((_, files)) = BUILTIN_SETS.iter().find(|(set, _)| *set == name) else {
        bail!(
            "there is no built-in query set {BUILTIN_PREFIX}{name}; the built-in sets are {} (or give a folder of .sql files)",
            builtin_sets().join(", ")
        );
    };
    let dir = PathBuf::from(format!("{BUILTIN_PREFIX}{name}"));
    let mut names: Vec<&str> = files.iter().map(|(file, _)| *file).collect();
    names.sort_unstable();
    check_names(&dir, &names)?;
    names
        .iter()
        .map(|file| {
            let bytes = files.iter().find(|(f, _)| f == file).map(|(_, b)| *b).unwrap_or_default();
            if bytes.len() as u64 > MAX_QUERY_FILE_BYTES {
                bail!(
                    "query file {}/{file} is {} bytes, over the limit of {MAX_QUERY_FILE_BYTES} (1 MiB)",
                    dir.display(),
                    bytes.len()
                );
            }
            from_bytes(&PathBuf::from(format!("{}/{file}", dir.display())), bytes.to_vec())
        })
        .collect()
}

/// The `.sql` files of `dir`, in name order, after checking their names: each must be
/// UTF-8 without control characters or backslashes (it names an output file and a zip
/// entry), and no two may differ only in case (`users.sql`, `users.SQL`: on Windows and
/// in a zip they are the same file).
pub fn list_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        anyhow!(
            "cannot read the query folder {}: {e}. Check the job's `queries` setting (relative paths are relative to the config file)",
            dir.display()
        )
    })?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry?;
        let raw_name = entry.file_name();
        let is_sql = Path::new(&raw_name).extension().is_some_and(|e| e.eq_ignore_ascii_case("sql"));
        if !is_sql {
            continue;
        }
        if raw_name.to_str().is_none() {
            bail!(
                "the query folder {} holds a file whose name is not valid UTF-8 ({}); rename it: query file names become output file names",
                dir.display(),
                raw_name.to_string_lossy()
            );
        }
        paths.push(entry.path());
    }
    paths.sort();
    let names: Vec<&str> =
        paths.iter().map(|p| p.file_name().and_then(|n| n.to_str()).unwrap_or_default()).collect();
    check_names(dir, &names)?;
    Ok(paths)
}

/// The checks on a query set's file names (UTF-8 already): at least one, no control
/// characters or backslashes, no two that differ only in case. `names` are sorted.
fn check_names(dir: &Path, names: &[&str]) -> Result<()> {
    if names.is_empty() {
        bail!(
            "the query folder {} holds no .sql files; each output file needs one query file (users.sql → users.csv)",
            dir.display()
        );
    }
    for name in names {
        if let Some(bad) = name.chars().find(|c| c.is_control() || *c == '\\') {
            bail!(
                "the query folder {} holds a file whose name contains {}: {:?}; rename it to letters, digits, `-` and `_` (users.sql)",
                dir.display(),
                if bad == '\\' {
                    "a backslash".to_string()
                } else {
                    format!("the control character U+{:04X}", bad as u32)
                },
                name
            );
        }
    }
    for (i, a_name) in names.iter().enumerate() {
        for b_name in &names[i + 1..] {
            if a_name.to_lowercase() == b_name.to_lowercase() {
                bail!(
                    "the query folder {} holds {a_name:?} and {b_name:?}, which differ only in case and would write the same output file; remove one",
                    dir.display()
                );
            }
        }
    }
    Ok(())
}

/// Loads and vets one query file. It must be a regular file (a symbolic link is refused
/// without reading it, so an error can never quote another file's content), at most
/// [`MAX_QUERY_FILE_BYTES`], and UTF-8.
pub fn load_file(path: &Path) -> Result<SqlFile> {
    let metadata = std::fs::symlink_metadata(path)
        .map_err(|e| anyhow!("cannot read query file {}: {e}", path.display()))?;
    if metadata.file_type().is_symlink() {
        let target = std::fs::read_link(path).map(|t| t.display().to_string()).unwrap_or_else(|_| "?".into());
        bail!(
            "query file {} is a symbolic link (to {target}); sis-extract reads only regular files in the query folder: copy the query in instead",
            path.display()
        );
    }
    if !metadata.is_file() {
        bail!(
            "query file {} is not a regular file; the query folder must hold plain .sql text files",
            path.display()
        );
    }
    if metadata.len() > MAX_QUERY_FILE_BYTES {
        bail!(
            "query file {} is {} bytes, over the limit of {MAX_QUERY_FILE_BYTES} (1 MiB); an extract query is a few kilobytes: is this the right file?",
            path.display(),
            metadata.len()
        );
    }
    let mut bytes = Vec::new();
    {
        use std::io::Read;
        let file = std::fs::File::open(path)
            .map_err(|e| anyhow!("cannot read query file {}: {e}", path.display()))?;
        // The size was checked above; `take` also bounds a file that grows meanwhile.
        file.take(MAX_QUERY_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| anyhow!("cannot read query file {}: {e}", path.display()))?;
    }
    if bytes.len() as u64 > MAX_QUERY_FILE_BYTES {
        bail!(
            "query file {} grew over the limit of {MAX_QUERY_FILE_BYTES} bytes while it was read",
            path.display()
        );
    }
    from_bytes(path, bytes)
}

/// Vets the bytes of a query file (read from `path`, or built in and named by it): UTF-8,
/// then one read-only statement.
fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<SqlFile> {
    let text = String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..offset].iter().filter(|b| **b == b'\n').count() + 1;
        anyhow!(
            "{} line {line}: the file is not UTF-8 text (byte offset {offset}); save it as UTF-8",
            path.display()
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text).to_string();
    let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
    let placeholders = vet(&text).map_err(|v| anyhow!("{} {v}", path.display()))?;
    let sha256 = hex(&Sha256::digest(text.as_bytes()));
    Ok(SqlFile { name, path: path.to_path_buf(), text, placeholders, sha256 })
}

/// Vets `text` and returns what is sent to a SQL Server, with its number of `?` placeholders.
pub fn prepare(text: &str) -> Result<(String, usize), Refusal> {
    let placeholders = vet(text)?;
    Ok((without_comments_and_final_semicolon(text, SqlDialect::SqlServer), placeholders))
}

/// The text as it is sent to the driver: comments blanked out (line breaks kept, so the
/// driver's line numbers still match the file) and without the terminating `;` and what
/// follows it, both found by `dialect`'s lexer. Drivers differ here: SQLite's ODBC driver
/// splits statements on any `;`, even one inside a comment, and refuses text after the
/// statement's own `;`. Only called on text that `vet_for` accepted for `dialect`, so
/// there is exactly one statement.
fn without_comments_and_final_semicolon(text: &str, dialect: SqlDialect) -> String {
    let Ok(tokens) = Tokenizer::new(dialect.parser(), text).tokenize_with_location() else {
        return text.to_string();
    };
    // Byte offset of each line's start; locations are 1-based lines and character columns.
    let line_starts: Vec<usize> =
        std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
    let offset = |location: sqlparser::tokenizer::Location| -> usize {
        let Some(&start) = line_starts.get((location.line as usize).saturating_sub(1)) else {
            return text.len();
        };
        text[start..]
            .char_indices()
            .nth((location.column as usize).saturating_sub(1))
            .map_or(text.len(), |(i, _)| start + i)
    };
    let mut out = text.to_string();
    // Work backwards so earlier offsets stay valid.
    let mut end = text.len();
    if let Some(last) = tokens.iter().rev().find(|t| !is_trivia(&t.token))
        && last.token == Token::SemiColon
    {
        end = offset(last.span.start);
    }
    out.truncate(end);
    for token in tokens.iter().rev() {
        if !matches!(
            token.token,
            Token::Whitespace(Whitespace::SingleLineComment { .. } | Whitespace::MultiLineComment(_))
        ) {
            continue;
        }
        let (start, stop) = (offset(token.span.start), offset(token.span.end).min(end));
        if start >= stop {
            continue;
        }
        let blank: String = out[start..stop].chars().map(|c| if c == '\n' { '\n' } else { ' ' }).collect();
        out.replace_range(start..stop, &blank);
    }
    out.trim_end().to_string()
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Why a query was refused, and where.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal {
    pub line: u64,
    pub reason: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

const FIX: &str = "a query file must hold exactly one read-only SELECT (or WITH … SELECT)";

/// Checks, before connecting, that `text` is one read-only SELECT; returns its number of
/// `?` placeholders. Every dialect whose lexer can read the text must see one statement
/// (so a `;` hidden from one lexer by another's quoting rules is caught whatever the
/// server turns out to be); the first dialect whose grammar parses it decides the rest.
pub fn vet(text: &str) -> Result<usize, Refusal> {
    let mut readable = Vec::new();
    let mut first_error = None;
    for dialect in SqlDialect::ALL {
        match Tokenizer::new(dialect.parser(), text).tokenize_with_location() {
            Ok(tokens) => {
                one_statement(&tokens, dialect)?;
                forbidden_calls(&tokens)?;
                readable.push((dialect, tokens));
            }
            Err(e) => {
                first_error.get_or_insert(Refusal {
                    line: e.location.line,
                    reason: format!("cannot read the SQL: {}", e.message),
                });
            }
        }
    }
    let Some((_, sql_server_or_first)) = readable.first() else {
        return Err(first_error.expect("no dialect read the text, so one failed"));
    };
    let placeholders = count_placeholders(sql_server_or_first);
    let mut parse_error = None;
    for (dialect, tokens) in &readable {
        match parse(*dialect, tokens) {
            Ok(statements) => {
                read_only_select(&statements, tokens)?;
                return Ok(placeholders);
            }
            Err(e) => {
                parse_error.get_or_insert(e);
            }
        }
    }
    let first_line = statement_starts(sql_server_or_first).first().map_or(1, |t| t.span.start.line);
    Err(Refusal {
        line: first_line,
        reason: format!(
            "the SQL could not be parsed: {}; fix the syntax ({FIX})",
            parse_error.map(|e| e.to_string()).unwrap_or_default()
        ),
    })
}

/// Checks `text` under one dialect only, the server's: its lexer must see one statement
/// and its grammar must parse a read-only SELECT. (For [`SqlDialect::Generic`], a server
/// sis-extract does not know, every dialect's lexer must agree, as in [`vet`].)
pub fn vet_for(text: &str, dialect: SqlDialect) -> Result<(), Refusal> {
    if dialect == SqlDialect::Generic {
        return vet(text).map(|_| ());
    }
    let tokens = Tokenizer::new(dialect.parser(), text).tokenize_with_location().map_err(|e| Refusal {
        line: e.location.line,
        reason: format!("cannot read the SQL: {}", e.message),
    })?;
    one_statement(&tokens, dialect)?;
    forbidden_calls(&tokens)?;
    let statements = parse(dialect, &tokens).map_err(|e| Refusal {
        line: statement_starts(&tokens).first().map_or(1, |t| t.span.start.line),
        reason: format!("the SQL could not be parsed: {e}; fix the syntax ({FIX})"),
    })?;
    read_only_select(&statements, &tokens)
}

/// Exactly one statement in `tokens`, as `dialect` splits them.
fn one_statement(tokens: &[TokenWithSpan], dialect: SqlDialect) -> Result<(), Refusal> {
    let starts = statement_starts(tokens);
    match starts.len() {
        0 => Err(Refusal { line: 1, reason: format!("the file holds no SQL statement; {FIX}") }),
        1 => Ok(()),
        _ => Err(Refusal {
            line: starts[1].span.start.line,
            reason: format!(
                "a second statement starts here ({}){}; {FIX}",
                first_words(tokens, starts[1]),
                if dialect == SqlDialect::SqlServer {
                    String::new()
                } else {
                    format!(" as {} reads the text", dialect.label())
                }
            ),
        }),
    }
}

/// The parsed statements are one SELECT that neither writes nor locks.
fn read_only_select(statements: &[Statement], tokens: &[TokenWithSpan]) -> Result<(), Refusal> {
    let first_line = statement_starts(tokens).first().map_or(1, |t| t.span.start.line);
    let [statement] = statements else {
        return Err(Refusal {
            line: first_line,
            reason: format!("found {} statements; {FIX}", statements.len()),
        });
    };
    let Statement::Query(_) = statement else {
        return Err(Refusal {
            line: first_line,
            reason: format!("{} is not a SELECT; {FIX}", statement_kind(statement)),
        });
    };
    let mut checker = ReadOnlyChecker;
    if let ControlFlow::Break(reason) = statement.visit(&mut checker) {
        let line = match &reason {
            Problem::SelectInto => keyword_line(tokens, Keyword::INTO),
            Problem::Values => keyword_line(tokens, Keyword::VALUES),
            Problem::Locks => keyword_line(tokens, Keyword::FOR),
            Problem::Table => keyword_line(tokens, Keyword::TABLE),
            Problem::Nested(kind) => kind.split_whitespace().next().and_then(|word| {
                let index = sqlparser::keywords::ALL_KEYWORDS.iter().position(|k| *k == word)?;
                keyword_line(tokens, sqlparser::keywords::ALL_KEYWORDS_INDEX[index])
            }),
        }
        .unwrap_or(first_line);
        return Err(Refusal {
            line,
            reason: match reason {
                Problem::SelectInto => format!("SELECT … INTO creates a table; {FIX}"),
                Problem::Values => format!("VALUES is not a SELECT from the SIS; {FIX}"),
                Problem::Table => format!("TABLE … is not a SELECT; write SELECT … FROM instead ({FIX})"),
                Problem::Locks => {
                    format!(
                        "FOR UPDATE/SHARE locks rows of the production database; {FIX}, without row locks"
                    )
                }
                Problem::Nested(kind) => {
                    format!("the query contains {kind}, which writes; {FIX}")
                }
            },
        });
    }
    Ok(())
}

fn count_placeholders(tokens: &[TokenWithSpan]) -> usize {
    tokens.iter().filter(|t| is_odbc_marker(&t.token)).count()
}

/// An ODBC parameter marker `?`. The PostgreSQL lexer reads it as its `?` operator.
fn is_odbc_marker(token: &Token) -> bool {
    matches!(token, Token::Placeholder(p) if p == "?") || *token == Token::Question
}

/// Parses `dialect`'s own tokens of the text, with every ODBC `?` marker read as a
/// parameter (the driver replaces them; the server's grammar never sees a `?`).
fn parse(
    dialect: SqlDialect,
    tokens: &[TokenWithSpan],
) -> Result<Vec<Statement>, sqlparser::parser::ParserError> {
    let tokens: Vec<TokenWithSpan> = tokens
        .iter()
        .map(|t| match &t.token {
            token if is_odbc_marker(token) => {
                TokenWithSpan { token: Token::Placeholder("?".into()), span: t.span }
            }
            _ => t.clone(),
        })
        .collect();
    Parser::new(dialect.parser()).with_tokens_with_locations(tokens).parse_statements()
}

/// Functions that change something even in a read-only session, or reach outside the
/// database, by name (`*` ends a prefix). Read-only sessions do not stop them: on
/// PostgreSQL large objects, backend signals, advisory locks and `dblink` all work in a
/// `READ ONLY` transaction; SQLite's `load_extension` runs native code in sis-extract.
const FORBIDDEN_FUNCTIONS: &[(&str, &str)] = &[
    // PostgreSQL
    ("lo_*", "writes large objects"),
    ("loread", "reads a large object descriptor"),
    ("lowrite", "writes large objects"),
    ("pg_terminate_backend", "ends another session"),
    ("pg_cancel_backend", "cancels another session's query"),
    ("pg_signal_backend", "signals another session"),
    ("pg_reload_conf", "reloads the server's configuration"),
    ("pg_rotate_logfile", "rotates the server's log"),
    ("pg_log_backend_memory_contexts", "writes to the server's log"),
    ("pg_switch_wal", "changes the server's write-ahead log"),
    ("pg_create_*", "creates server objects (slots, restore points)"),
    ("pg_drop_*", "drops server objects"),
    ("pg_copy_*", "creates replication slots"),
    ("pg_replication_*", "changes replication state"),
    ("pg_logical_*", "consumes or emits replication messages"),
    ("pg_backup_*", "starts or stops a backup"),
    ("pg_start_backup", "starts a backup"),
    ("pg_stop_backup", "stops a backup"),
    ("pg_promote", "promotes a standby server"),
    ("pg_wal_replay_*", "pauses or resumes replication"),
    ("pg_advisory_*", "takes advisory locks"),
    ("pg_try_advisory_*", "takes advisory locks"),
    ("pg_notify", "sends notifications to other sessions"),
    ("pg_stat_reset*", "resets the server's statistics"),
    ("pg_import_system_collations", "creates collations"),
    ("pg_file_*", "writes server files"),
    ("pg_read_file", "reads server files"),
    ("pg_read_binary_file", "reads server files"),
    ("pg_ls_*", "lists server folders"),
    ("pg_stat_file", "reads server file metadata"),
    ("set_config", "changes session settings (it can turn read-only off)"),
    ("nextval", "advances a sequence"),
    ("setval", "sets a sequence"),
    ("dblink*", "opens another, writable connection"),
    ("query_to_xml*", "runs SQL text given as a string"),
    ("cursor_to_xml*", "reads a cursor by name"),
    // SQLite
    ("load_extension", "loads native code into sis-extract"),
    ("writefile", "writes files"),
    ("readfile", "reads files"),
    ("edit", "starts an editor"),
    ("fts3_tokenizer", "registers native code"),
    // SQL Server
    ("xp_*", "runs an extended stored procedure"),
    ("sp_*", "runs a system stored procedure"),
    ("openrowset", "reads from another server or file with its own credentials"),
    ("openquery", "runs a query on a linked server"),
    ("opendatasource", "connects to another server"),
];

/// The first call of a forbidden function: a word (quoted or not, schema-qualified or
/// not) followed by `(`. `NEXT VALUE FOR` (a T-SQL sequence) is refused too.
fn forbidden_calls(tokens: &[TokenWithSpan]) -> Result<(), Refusal> {
    let significant: Vec<&TokenWithSpan> = tokens.iter().filter(|t| !is_trivia(&t.token)).collect();
    for (i, token) in significant.iter().enumerate() {
        let Token::Word(word) = &token.token else { continue };
        let next = significant.get(i + 1).map(|t| &t.token);
        let name = word.value.to_ascii_lowercase();
        if next == Some(&Token::LParen)
            && let Some((pattern, why)) =
                FORBIDDEN_FUNCTIONS.iter().find(|(pattern, _)| match pattern.strip_suffix('*') {
                    Some(prefix) => name.starts_with(prefix),
                    None => name == *pattern,
                })
        {
            let _ = pattern;
            return Err(Refusal {
                line: token.span.start.line,
                reason: format!(
                    "the query calls {}(), which {why}; sis-extract refuses functions with side effects even in a read-only session ({FIX})",
                    word.value
                ),
            });
        }
        if name == "next"
            && let (Some(Token::Word(value)), Some(Token::Word(for_))) =
                (next, significant.get(i + 2).map(|t| &t.token))
            && value.value.eq_ignore_ascii_case("value")
            && for_.value.eq_ignore_ascii_case("for")
        {
            return Err(Refusal {
                line: token.span.start.line,
                reason: format!("NEXT VALUE FOR advances a sequence, which writes; {FIX}"),
            });
        }
    }
    Ok(())
}

fn is_trivia(token: &Token) -> bool {
    matches!(
        token,
        Token::Whitespace(
            Whitespace::Space
                | Whitespace::Newline
                | Whitespace::Tab
                | Whitespace::SingleLineComment { .. }
                | Whitespace::MultiLineComment(_)
        )
    ) || matches!(token, Token::EOF)
}

/// The first significant token of each statement.
fn statement_starts(tokens: &[TokenWithSpan]) -> Vec<&TokenWithSpan> {
    let mut starts = Vec::new();
    let mut in_statement = false;
    for token in tokens {
        if token.token == Token::SemiColon {
            in_statement = false;
        } else if !is_trivia(&token.token) && !in_statement {
            in_statement = true;
            starts.push(token);
        }
    }
    starts
}

fn first_words(tokens: &[TokenWithSpan], start: &TokenWithSpan) -> String {
    let position = tokens.iter().position(|t| std::ptr::eq(t, start)).unwrap_or(0);
    let words: Vec<String> = tokens[position..]
        .iter()
        .filter(|t| !is_trivia(&t.token))
        .take_while(|t| t.token != Token::SemiColon)
        .take(3)
        .map(|t| t.token.to_string())
        .collect();
    words.join(" ")
}

fn keyword_line(tokens: &[TokenWithSpan], keyword: Keyword) -> Option<u64> {
    tokens.iter().find_map(|t| match &t.token {
        Token::Word(w) if w.keyword == keyword => Some(t.span.start.line),
        _ => None,
    })
}

fn statement_kind(statement: &Statement) -> String {
    let text = statement.to_string();
    let words: Vec<&str> = text.split_whitespace().take(2).collect();
    let first = words.first().copied().unwrap_or("statement").to_ascii_uppercase();
    match first.as_str() {
        "CREATE" | "ALTER" | "DROP" | "TRUNCATE" => {
            format!("{} {} (DDL)", first, words.get(1).unwrap_or(&"").to_ascii_uppercase())
        }
        "EXEC" | "EXECUTE" | "CALL" => format!("{first} (a procedure call, which may write)"),
        _ => first,
    }
}

enum Problem {
    SelectInto,
    Values,
    Table,
    Locks,
    Nested(String),
}

#[derive(Default)]
struct ReadOnlyChecker;

impl Visitor for ReadOnlyChecker {
    type Break = Problem;

    fn pre_visit_statement(&mut self, statement: &Statement) -> ControlFlow<Problem> {
        match statement {
            Statement::Query(_) => ControlFlow::Continue(()),
            other => ControlFlow::Break(Problem::Nested(statement_kind(other))),
        }
    }

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<Problem> {
        if !query.locks.is_empty() {
            return ControlFlow::Break(Problem::Locks);
        }
        check_set_expr(&query.body)
    }
}

fn check_set_expr(body: &SetExpr) -> ControlFlow<Problem> {
    match body {
        SetExpr::Select(select) if select.into.is_some() => ControlFlow::Break(Problem::SelectInto),
        SetExpr::SetOperation { left, right, .. } => {
            check_set_expr(left)?;
            check_set_expr(right)
        }
        SetExpr::Insert(_) => ControlFlow::Break(Problem::Nested("INSERT".into())),
        SetExpr::Update(_) => ControlFlow::Break(Problem::Nested("UPDATE".into())),
        SetExpr::Delete(_) => ControlFlow::Break(Problem::Nested("DELETE".into())),
        SetExpr::Merge(_) => ControlFlow::Break(Problem::Nested("MERGE".into())),
        SetExpr::Values(_) => ControlFlow::Break(Problem::Values),
        SetExpr::Table(_) => ControlFlow::Break(Problem::Table),
        SetExpr::Select(_) | SetExpr::Query(_) => ControlFlow::Continue(()),
        // Anything newer in sqlparser's grammar is refused until someone looks at it.
        #[allow(unreachable_patterns)]
        _ => ControlFlow::Break(Problem::Nested("a statement form sis-extract does not know".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(vet("SELECT 1").unwrap(), 0);
        assert_eq!(
            vet("-- users\n/* block; with semicolon */\nSELECT a, 'x;y' AS b FROM t WHERE d <= ? AND e >= ?;\n")
                .unwrap(),
            2
        );
        assert_eq!(
            vet(
                "WITH active AS (SELECT personID FROM Enrollment WHERE startDate <= ?)\nSELECT * FROM active"
            )
            .unwrap(),
            1
        );
        vet("SELECT a FROM t UNION ALL SELECT b FROM u").unwrap();
        vet("SELECT TOP 10 p.personID FROM Person p CROSS APPLY (SELECT 1 AS x) z").unwrap();
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
            "BUILTIN_SETS in src/query.rs must list exactly the .sql files of queries/"
        );
        assert_eq!(folders, built_in);
        for set in builtin_sets() {
            let files = load_dir(Path::new(&set)).unwrap();
            assert!(files[0].path.display().to_string().starts_with(&format!("{set}/")));
        }
        let error = load_dir(Path::new("builtin:nope")).unwrap_err().to_string();
        assert!(error.contains("builtin:demo, builtin:infinite-campus/oneroster-1.1"), "{error}");
    }

    #[test]
    fn semicolons_inside_strings_are_not_statement_breaks() {
        vet("SELECT 'a; DROP TABLE t' AS x").unwrap();
    }
}

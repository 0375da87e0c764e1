//! Loads a job's `.sql` files and vets each one before anything is sent to the database.
//!
//! A query file must hold exactly one read-only statement: `SELECT …` or `WITH … SELECT …`
//! (comments allowed). Everything else — DML, DDL, `EXEC`, `SELECT … INTO`, a second
//! statement, DML hidden in a CTE — is refused with the file name and line. The text is
//! parsed with a real SQL parser (sqlparser, SQL Server dialect first, then the generic,
//! PostgreSQL and SQLite dialects for other sources) rather than scanned for keywords.
//! This is one of three layers: the connection is also opened read-only (see `source`), and
//! the database account itself must only be allowed to read.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};
use sha2::{Digest, Sha256};
use sqlparser::ast::{Query, SetExpr, Statement, Visit, Visitor};
use sqlparser::dialect::{Dialect, GenericDialect, MsSqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer, Whitespace};

/// One vetted query file.
#[derive(Debug, Clone)]
pub struct SqlFile {
    /// File stem: `users.sql` → `users`; names the output file.
    pub name: String,
    pub path: PathBuf,
    /// The text exactly as it will be sent (comments blanked, no final `;`).
    pub text: String,
    /// How many `?` parameters it has; each is bound to the as-of date.
    pub placeholders: usize,
    /// SHA-256 of the file's text, recorded in the history so a changed query can be traced.
    pub sha256: String,
}

/// Loads every `.sql` file of `dir`, in name order, and vets each.
pub fn load_dir(dir: &Path) -> Result<Vec<SqlFile>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        anyhow!(
            "cannot read the query folder {}: {e}. Check the job's `queries` setting (relative paths are relative to the config file)",
            dir.display()
        )
    })?;
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.is_file() && path.extension().is_some_and(|e| e.eq_ignore_ascii_case("sql")) {
            paths.push(path);
        }
    }
    if paths.is_empty() {
        bail!(
            "the query folder {} holds no .sql files; each output file needs one query file (users.sql → users.csv)",
            dir.display()
        );
    }
    paths.sort();
    paths.iter().map(|p| load_file(p)).collect()
}

/// Loads and vets one query file.
pub fn load_file(path: &Path) -> Result<SqlFile> {
    let bytes = std::fs::read(path).map_err(|e| anyhow!("cannot read query file {}: {e}", path.display()))?;
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
    let (sent, placeholders) = prepare(&text).map_err(|v| anyhow!("{} {v}", path.display()))?;
    let sha256 = hex(&Sha256::digest(text.as_bytes()));
    Ok(SqlFile { name, path: path.to_path_buf(), text: sent, placeholders, sha256 })
}

/// Vets `text` and returns what is sent to the driver, with its number of `?` placeholders.
pub fn prepare(text: &str) -> Result<(String, usize), Refusal> {
    let placeholders = vet(text)?;
    Ok((without_comments_and_final_semicolon(text), placeholders))
}

/// The text as it is sent to the driver: comments blanked out (line breaks kept, so the
/// driver's line numbers still match the file) and without the terminating `;` and what
/// follows it. Drivers differ here: SQLite's ODBC driver splits statements on any `;`,
/// even one inside a comment, and refuses text after the statement's own `;`. Only called
/// on text that `vet` accepted, so there is exactly one statement.
fn without_comments_and_final_semicolon(text: &str) -> String {
    let Ok(tokens) = Tokenizer::new(&MsSqlDialect {}, text).tokenize_with_location() else {
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

/// Checks that `text` is one read-only SELECT; returns its number of `?` placeholders.
pub fn vet(text: &str) -> Result<usize, Refusal> {
    let tokens = Tokenizer::new(&MsSqlDialect {}, text).tokenize_with_location().map_err(|e| Refusal {
        line: e.location.line,
        reason: format!("cannot read the SQL: {}", e.message),
    })?;

    // Statement boundaries, from the tokens, so that the line of a second statement can be
    // named even where the parser would stop earlier.
    let starts = statement_starts(&tokens);
    match starts.len() {
        0 => {
            return Err(Refusal { line: 1, reason: format!("the file holds no SQL statement; {FIX}") });
        }
        1 => {}
        _ => {
            return Err(Refusal {
                line: starts[1].span.start.line,
                reason: format!(
                    "a second statement starts here ({}); {FIX}",
                    first_words(&tokens, starts[1])
                ),
            });
        }
    }
    let first_line = starts[0].span.start.line;

    let dialects: [&dyn Dialect; 4] =
        [&MsSqlDialect {}, &GenericDialect {}, &PostgreSqlDialect {}, &SQLiteDialect {}];
    let mut first_error = None;
    let mut statements = None;
    for dialect in dialects {
        match Parser::parse_sql(dialect, text) {
            Ok(parsed) => {
                statements = Some(parsed);
                break;
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    let statements = statements.ok_or_else(|| Refusal {
        line: first_line,
        reason: format!(
            "the SQL could not be parsed: {}; fix the syntax ({FIX})",
            first_error.map(|e| e.to_string()).unwrap_or_default()
        ),
    })?;
    let [statement] = statements.as_slice() else {
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
        let line = match reason {
            Problem::SelectInto => keyword_line(&tokens, Keyword::INTO),
            Problem::Nested(ref kind) => kind.split_whitespace().next().and_then(|word| {
                let index = sqlparser::keywords::ALL_KEYWORDS.iter().position(|k| *k == word)?;
                keyword_line(&tokens, sqlparser::keywords::ALL_KEYWORDS_INDEX[index])
            }),
        }
        .unwrap_or(first_line);
        return Err(Refusal {
            line,
            reason: match reason {
                Problem::SelectInto => format!("SELECT … INTO creates a table; {FIX}"),
                Problem::Nested(kind) => {
                    format!("the query contains {kind}, which writes; {FIX}")
                }
            },
        });
    }

    Ok(tokens.iter().filter(|t| matches!(&t.token, Token::Placeholder(p) if p == "?")).count())
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
        _ => ControlFlow::Continue(()),
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
        let f = without_comments_and_final_semicolon;
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

    #[test]
    fn semicolons_inside_strings_are_not_statement_breaks() {
        vet("SELECT 'a; DROP TABLE t' AS x").unwrap();
    }
}

//! Vetting one query's text: exactly one read-only SELECT under every dialect that can
//! read it (or the connected server's), no function with side effects, and the text sent
//! without comments or the final `;`.

use std::ops::ControlFlow;

use sqlparser::ast::{Query, SetExpr, Statement, Visit, Visitor};
use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer, Whitespace};

use super::*;

/// Vets `text` and returns what is sent to a SQL Server, with its `?` placeholders in order.
pub fn prepare(text: &str) -> Result<(String, Vec<Placeholder>), Refusal> {
    let placeholders = vet(text)?;
    Ok((without_comments_and_final_semicolon(text, SqlDialect::SqlServer), placeholders))
}

/// The text as it is sent to the driver: comments blanked out (line breaks kept, so the
/// driver's line numbers still match the file) and without the terminating `;` and what
/// follows it, both found by `dialect`'s lexer. Drivers differ here: SQLite's ODBC driver
/// splits statements on any `;`, even one inside a comment, and refuses text after the
/// statement's own `;`. Only called on text that `vet_for` accepted for `dialect`, so
/// there is exactly one statement.
pub(super) fn without_comments_and_final_semicolon(text: &str, dialect: SqlDialect) -> String {
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

/// Checks, before connecting, that `text` is one read-only SELECT; returns its `?`
/// placeholders in order (what each is bound to). Every dialect whose lexer can read the text must see one statement
/// (so a `;` hidden from one lexer by another's quoting rules is caught whatever the
/// server turns out to be); the first dialect whose grammar parses it decides the rest.
pub fn vet(text: &str) -> Result<Vec<Placeholder>, Refusal> {
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
    let placeholders = placeholder_kinds(sql_server_or_first);
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

/// What a `?` placeholder is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// A plain `?`: the as-of date, bound as a date.
    AsOf,
    /// `? /* people */`: the job's `people` setting (`campus-accounts` or `everyone`),
    /// bound as text.
    People,
}

/// The comment that, right after a `?` (spaces and tabs between are allowed), makes it a
/// [`Placeholder::People`]. Any other comment there is just a comment.
const PEOPLE_MARK: &str = "people";

/// The kind of each `?` marker of `tokens`, in order.
fn placeholder_kinds(tokens: &[TokenWithSpan]) -> Vec<Placeholder> {
    let mut kinds = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        if !is_odbc_marker(&token.token) {
            continue;
        }
        let next = tokens[i + 1..]
            .iter()
            .find(|t| !matches!(t.token, Token::Whitespace(Whitespace::Space | Whitespace::Tab)));
        let people = matches!(
            next.map(|t| &t.token),
            Some(Token::Whitespace(Whitespace::MultiLineComment(comment))) if comment.trim() == PEOPLE_MARK
        );
        kinds.push(if people { Placeholder::People } else { Placeholder::AsOf });
    }
    kinds
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

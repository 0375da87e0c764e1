//! SQL Server as districts reach it, tested without a SQL Server: Microsoft SQL Server
//! cannot run here, so what is proven is everything on this side of it.
//! - Every shipped query parses as T-SQL under two independent parsers (sqlparser's MsSql
//!   dialect, which sis-extract itself uses, and sqlglot's tsql dialect through
//!   scripts/check-tsql), and calls only functions SQL Server 2016 has.
//! - The FreeTDS driver (Debian's tdsodbc, what many districts use on Linux) loads, and
//!   its failures against a refused port, a silent port and a port that is not SQL Server
//!   (the suite's sshd) each get a message that names the cause and the fix, from `check`
//!   and from `run`, with no secret printed.
//!
//! The only stand-in for SQL Server is a scripted PRELOGIN answer (`fake_sql_server`),
//! a dozen bytes, to show what `check` says when SQL Server does answer.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sqlparser::ast::{Expr, Select, TableFactor, Visit, Visitor};
use sqlparser::dialect::MsSqlDialect;
use sqlparser::parser::Parser;

use crate::support::{ConfigBuilder, JobBuilder, Run, Workspace, repo, service};

/// Every `.sql` under queries/, whatever another change adds or renames there.
fn shipped_queries() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "sql") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&repo().join("queries"), &mut files);
    files.sort();
    assert!(files.len() >= 7, "the shipped queries are missing: {files:?}");
    files
}

/// Built-in functions of SQL Server 2016 (compatibility level 130) that a read-only extract
/// might call: aggregates, ranking and analytic, string, date, math, conversion, logical,
/// JSON and a few system functions. What is not here is either newer (see
/// [`NEWER_THAN_2016`]) or not T-SQL at all; add a name only after checking Microsoft's
/// "Applies to" line for it.
const SQL_SERVER_2016: &[&str] = &[
    // Aggregates
    "AVG",
    "CHECKSUM_AGG",
    "COUNT",
    "COUNT_BIG",
    "GROUPING",
    "GROUPING_ID",
    "MAX",
    "MIN",
    "STDEV",
    "STDEVP",
    "SUM",
    "VAR",
    "VARP",
    // Ranking and analytic
    "ROW_NUMBER",
    "RANK",
    "DENSE_RANK",
    "NTILE",
    "LAG",
    "LEAD",
    "FIRST_VALUE",
    "LAST_VALUE",
    "CUME_DIST",
    "PERCENT_RANK",
    "PERCENTILE_CONT",
    "PERCENTILE_DISC",
    // String
    "ASCII",
    "CHAR",
    "CHARINDEX",
    "CONCAT",
    "DIFFERENCE",
    "FORMAT",
    "LEFT",
    "LEN",
    "LOWER",
    "LTRIM",
    "NCHAR",
    "PATINDEX",
    "QUOTENAME",
    "REPLACE",
    "REPLICATE",
    "REVERSE",
    "RIGHT",
    "RTRIM",
    "SOUNDEX",
    "SPACE",
    "STR",
    "STRING_ESCAPE",
    "STRING_SPLIT",
    "STUFF",
    "SUBSTRING",
    "UNICODE",
    "UPPER",
    // Date and time
    "CURRENT_TIMESTAMP",
    "DATEADD",
    "DATEDIFF",
    "DATEDIFF_BIG",
    "DATEFROMPARTS",
    "DATENAME",
    "DATEPART",
    "DATETIME2FROMPARTS",
    "DATETIMEFROMPARTS",
    "DATETIMEOFFSETFROMPARTS",
    "DAY",
    "EOMONTH",
    "GETDATE",
    "GETUTCDATE",
    "ISDATE",
    "MONTH",
    "SMALLDATETIMEFROMPARTS",
    "SWITCHOFFSET",
    "SYSDATETIME",
    "SYSDATETIMEOFFSET",
    "SYSUTCDATETIME",
    "TIMEFROMPARTS",
    "TODATETIMEOFFSET",
    "YEAR",
    // Math
    "ABS",
    "ACOS",
    "ASIN",
    "ATAN",
    "ATN2",
    "CEILING",
    "COS",
    "COT",
    "DEGREES",
    "EXP",
    "FLOOR",
    "LOG",
    "LOG10",
    "PI",
    "POWER",
    "RADIANS",
    "RAND",
    "ROUND",
    "SIGN",
    "SIN",
    "SQRT",
    "SQUARE",
    "TAN",
    // Conversion and logical
    "CAST",
    "CONVERT",
    "PARSE",
    "TRY_CAST",
    "TRY_CONVERT",
    "TRY_PARSE",
    "CHOOSE",
    "IIF",
    "COALESCE",
    "NULLIF",
    "ISNULL",
    "ISNUMERIC",
    // JSON (new in 2016)
    "ISJSON",
    "JSON_VALUE",
    "JSON_QUERY",
    "JSON_MODIFY",
    "OPENJSON",
    // System and identity
    "NEWID",
    "CHECKSUM",
    "BINARY_CHECKSUM",
    "HASHBYTES",
    "COMPRESS",
    "DECOMPRESS",
    "DB_NAME",
    "DB_ID",
    "OBJECT_ID",
    "OBJECT_NAME",
    "SCHEMA_NAME",
    "SUSER_SNAME",
    "USER_NAME",
    "SESSION_CONTEXT",
    "DATALENGTH",
    "COL_LENGTH",
    "SERVERPROPERTY",
    "DATABASEPROPERTYEX",
];

/// Functions districts' servers may lack, with the version that added them: the check
/// names the version so the fix is obvious (rewrite, or raise the documented minimum).
const NEWER_THAN_2016: &[(&str, &str)] = &[
    ("STRING_AGG", "SQL Server 2017"),
    ("TRIM", "SQL Server 2017"),
    ("CONCAT_WS", "SQL Server 2017"),
    ("TRANSLATE", "SQL Server 2017"),
    ("APPROX_COUNT_DISTINCT", "SQL Server 2019"),
    ("GREATEST", "SQL Server 2022"),
    ("LEAST", "SQL Server 2022"),
    ("DATE_BUCKET", "SQL Server 2022"),
    ("DATETRUNC", "SQL Server 2022"),
    ("GENERATE_SERIES", "SQL Server 2022"),
    ("JSON_OBJECT", "SQL Server 2022"),
    ("JSON_ARRAY", "SQL Server 2022"),
    ("LEFT_SHIFT", "SQL Server 2022"),
    ("BIT_COUNT", "SQL Server 2022"),
];

/// What a query's AST calls, and the constructs SQL Server 2016 does not have.
#[derive(Default)]
struct Calls {
    functions: BTreeSet<String>,
    constructs: BTreeSet<String>,
}

impl Visitor for Calls {
    type Break = ();

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        match expr {
            Expr::Function(function) => {
                // A schema-qualified name (dbo.fn) is a user function; its last part is kept.
                let name = function.name.0.last().map(|p| p.to_string()).unwrap_or_default();
                self.functions.insert(name.trim_matches(['[', ']', '"']).to_ascii_uppercase());
            }
            // sqlparser gives these their own nodes rather than Expr::Function.
            Expr::Trim { .. } => {
                self.functions.insert("TRIM".into());
            }
            Expr::IsDistinctFrom(..) | Expr::IsNotDistinctFrom(..) => {
                self.constructs.insert("IS [NOT] DISTINCT FROM (SQL Server 2022)".into());
            }
            Expr::Extract { .. } => {
                self.constructs.insert("EXTRACT (not T-SQL: use DATEPART)".into());
            }
            Expr::Position { .. } => {
                self.constructs.insert("POSITION (not T-SQL: use CHARINDEX)".into());
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        // A table-valued function in FROM (STRING_SPLIT, OPENJSON, GENERATE_SERIES).
        if let TableFactor::Table { name, args: Some(_), .. } = factor {
            let name = name.0.last().map(|p| p.to_string()).unwrap_or_default();
            self.functions.insert(name.trim_matches(['[', ']', '"']).to_ascii_uppercase());
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<()> {
        if !select.named_window.is_empty() {
            self.constructs.insert("a named WINDOW clause (SQL Server 2022)".into());
        }
        ControlFlow::Continue(())
    }
}

/// The functions and constructs of `text` that SQL Server 2016 lacks, one line each.
fn not_in_sql_server_2016(text: &str) -> Result<Vec<String>, String> {
    let statements = Parser::parse_sql(&MsSqlDialect {}, text).map_err(|e| e.to_string())?;
    let mut calls = Calls::default();
    let _ = statements.visit(&mut calls);
    let mut problems: Vec<String> = calls.constructs.into_iter().collect();
    for name in calls.functions {
        if SQL_SERVER_2016.contains(&name.as_str()) {
            continue;
        }
        match NEWER_THAN_2016.iter().find(|(newer, _)| *newer == name) {
            Some((_, since)) => problems.push(format!("{name} (new in {since})")),
            None => problems.push(format!("{name} (not a SQL Server 2016 built-in)")),
        }
    }
    Ok(problems)
}

#[test]
fn every_shipped_query_uses_only_sql_server_2016_functions() {
    // The check itself: it must catch what it is for.
    assert_eq!(
        not_in_sql_server_2016(
            "SELECT STRING_AGG(x, ',') AS a, TRIM(y) AS b, CONCAT_WS('-', x, y) AS c, \
             TRANSLATE(x, 'ab', 'cd') AS d, GREATEST(1, 2) AS e, LEAST(1, 2) AS f, \
             dbo.MyFunction(x) AS g, x IS DISTINCT FROM y AS h FROM t CROSS APPLY GENERATE_SERIES(1, 3)"
        )
        .unwrap(),
        [
            "IS [NOT] DISTINCT FROM (SQL Server 2022)",
            "CONCAT_WS (new in SQL Server 2017)",
            "GENERATE_SERIES (new in SQL Server 2022)",
            "GREATEST (new in SQL Server 2022)",
            "LEAST (new in SQL Server 2022)",
            "MYFUNCTION (not a SQL Server 2016 built-in)",
            "STRING_AGG (new in SQL Server 2017)",
            "TRANSLATE (new in SQL Server 2017)",
            "TRIM (new in SQL Server 2017)",
        ]
    );
    assert_eq!(
        not_in_sql_server_2016(
            "SELECT LTRIM(RTRIM(x)) AS a, COALESCE(NULLIF(y, ''), 'z') AS b, \
             ROW_NUMBER() OVER (PARTITION BY x ORDER BY y) AS n, CAST(g AS varchar(36)) AS c FROM t"
        )
        .unwrap(),
        Vec::<String>::new()
    );

    let mut failures = Vec::new();
    for path in shipped_queries() {
        let text = std::fs::read_to_string(&path).unwrap();
        let shown = path.strip_prefix(repo()).unwrap().display().to_string();
        match not_in_sql_server_2016(&text) {
            Ok(problems) if problems.is_empty() => {}
            Ok(problems) => failures.push(format!("{shown}: {}", problems.join(", "))),
            Err(e) => failures.push(format!("{shown}: sqlparser's MsSql dialect cannot parse it: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "shipped queries must run on SQL Server 2016 and later:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_shipped_query_parses_with_sqlglot_too() {
    // The second parser, as CI runs it. It must also refuse what is not T-SQL.
    let run = |folder: &Path| {
        std::process::Command::new(repo().join("scripts/check-tsql")).arg(folder).output().expect(
            "scripts/check-tsql runs (/usr/bin/python3; scripts/install-deps installs python3-sqlglot)",
        )
    };
    let output = run(&repo().join("queries"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "sqlglot refuses shipped queries:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(&format!("check-tsql: {} file(s) parse as T-SQL", shipped_queries().len())),
        "{stdout}"
    );

    let ws = Workspace::new();
    ws.write("bad/unclosed.sql", "SELECT a FROM t WHERE (a = 1");
    ws.write("bad/two.sql", "SELECT 1 AS a; SELECT 2 AS b");
    let output = run(&ws.path("bad"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    assert!(stdout.contains("unclosed.sql: not valid T-SQL for sqlglot"), "{stdout}");
    assert!(stdout.contains("two.sql: 2 statements, expected exactly one"), "{stdout}");
}

/// A password that must never appear in any output.
const DB_PASSWORD: &str = "tds-Secr;et}pw-7731";

/// A workspace whose source is `connection_string` (FreeTDS, as districts write it), with
/// a read-only user, the password from the environment and a short login timeout.
fn freetds_workspace(connection_string: &str) -> Workspace {
    let mut ws = Workspace::new();
    ws.write("q/users.sql", "SELECT personID AS id FROM Person");
    ConfigBuilder::new()
        .source(connection_string)
        .source_key("user", "extract_ro")
        .source_raw("password = { env = \"DB_PW\" }\nlogin_timeout = \"2s\"")
        .job(JobBuilder::csv("vendor", "q"))
        .write(&ws);
    ws.set_env("DB_PW", DB_PASSWORD);
    ws
}

/// Runs sis-extract and checks that the password was not printed, with `-v` too.
fn run(ws: &Workspace, args: &[&str]) -> Run {
    let run = ws.run(args);
    assert!(!run.both().contains(DB_PASSWORD), "the password was printed:\n{}", run.both());
    run
}

/// The `check` report's line for `step`.
#[track_caller]
fn step_line(run: &Run, step: &str) -> String {
    run.stdout
        .lines()
        .find(|l| (l.contains('✓') || l.contains('✗')) && l.contains(&format!(" {step} ")))
        .unwrap_or_else(|| panic!("no {step} step in:\n{}", run.stdout))
        .to_string()
}

/// A port on 127.0.0.1 where nothing listens: bound, then let go.
fn refused_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A listener that accepts and never writes; connections are held until the test ends.
fn silent_port() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepting = listener.try_clone().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in accepting.incoming() {
            match stream {
                Ok(stream) => held.push(stream),
                Err(_) => break,
            }
        }
    });
    (listener, port)
}

/// The one stand-in for SQL Server (which cannot run here): answers each PRELOGIN with
/// the answer of a SQL Server 2016 SP1 (13.0.4001) that requires no encryption, then
/// closes the connection instead of going on to the login.
fn fake_sql_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            std::thread::spawn(move || {
                let mut header = [0u8; 8];
                if stream.read_exact(&mut header).is_err() || header[0] != 0x12 {
                    return;
                }
                let mut rest = vec![0u8; u16::from_be_bytes([header[2], header[3]]) as usize - 8];
                let _ = stream.read_exact(&mut rest);
                // VERSION 13.0.4001.0 and ENCRYPTION 0x02 (not supported), then 0xFF.
                let payload: [u8; 18] = [
                    0x00, 0x00, 0x0b, 0x00, 0x06, 0x01, 0x00, 0x11, 0x00, 0x01, 0xff, 13, 0, 0x0f, 0xa1, 0,
                    0, 0x02,
                ];
                let mut answer = vec![0x04, 0x01, 0x00, (8 + payload.len()) as u8, 0, 0, 1, 0];
                answer.extend_from_slice(&payload);
                let _ = stream.write_all(&answer);
                std::thread::sleep(Duration::from_millis(200));
            });
        }
    });
    port
}

#[test]
fn the_freetds_driver_loads_and_says_when_nothing_listens() {
    // A run goes straight to the driver: FreeTDS loads (not "driver not installed"), tries
    // to connect and reports that nothing was reached.
    let port = refused_port();
    let ws = freetds_workspace(&format!("Driver={{FreeTDS}};Server=127.0.0.1,{port};Database=campus"));
    let result = run(&ws, &["-v", "run", "--dry-run"]);
    assert_eq!(result.code, 1, "{}", result.both());
    result.assert_stderr_contains("connecting to the database with driver \"FreeTDS\" failed: FreeTDS could not reach the server (08S01)");
    result.assert_stderr_contains(
        "[FreeTDS][SQL Server]Unable to connect: Adaptive Server is unavailable or does not exist",
    );
    assert!(!result.stderr.contains("not installed"), "{}", result.stderr);
}

#[test]
fn check_tells_a_refused_port_from_a_silent_one_and_from_one_that_is_not_sql_server() {
    // (a) Nothing listens: the TCP step says so, and the chain stops there.
    let port = refused_port();
    let ws = freetds_workspace(&format!("Driver={{FreeTDS}};Server=127.0.0.1,{port};Database=campus"));
    let refused = run(&ws, &["check", "--only", "db"]);
    refused.assert_code(4);
    assert!(
        step_line(&refused, "tcp")
            .contains(&format!("✗ tcp            127.0.0.1:{port} refused the connection")),
        "{}",
        refused.stdout
    );
    assert!(
        refused.stdout.contains("nothing listens on that port: check the port number"),
        "{}",
        refused.stdout
    );
    assert!(!refused.stdout.contains(" sql server "), "{}", refused.stdout);

    // (b) Something accepts and never speaks: no answer to PRELOGIN within login_timeout.
    let (_listener, port) = silent_port();
    let ws = freetds_workspace(&format!("Driver={{FreeTDS}};Server=127.0.0.1,{port};Database=campus"));
    let started = Instant::now();
    let silent = run(&ws, &["check", "--only", "db"]);
    silent.assert_code(4);
    assert!(started.elapsed() < Duration::from_secs(10), "the timeout fired");
    assert!(step_line(&silent, "tcp").contains('✓'), "{}", silent.stdout);
    assert!(
        step_line(&silent, "sql server").contains(&format!(
            "✗ sql server     127.0.0.1:{port} accepted the TCP connection but did not answer SQL Server's PRELOGIN within 2s (timeout)"
        )),
        "{}",
        silent.stdout
    );
    assert!(
        silent.stdout.contains("a firewall or proxy accepts connections and drops them"),
        "{}",
        silent.stdout
    );
    assert!(silent.stdout.contains("SQL Server's default is 1433"), "{}", silent.stdout);

    // (c) The suite's sshd: it answers, with an SSH banner. (FreeTDS's own form of the
    // address this time, Server= and Port=.)
    let port = service("SIS_TEST_SSH_PORT");
    let ws = freetds_workspace(&format!("Driver={{FreeTDS}};Server=127.0.0.1;Port={port};Database=campus"));
    let ssh = run(&ws, &["check", "--only", "db"]);
    ssh.assert_code(4);
    let line = step_line(&ssh, "sql server");
    assert!(
        line.contains(&format!(
            "✗ sql server     127.0.0.1:{port} answered, but not as SQL Server: it sent \"SSH-2.0-OpenSSH_"
        )),
        "{}",
        ssh.stdout
    );
    assert!(line.contains("(an SSH server)"), "{line}");
    assert!(
        ssh.stdout.contains("another service holds that port; check the port in Server=host,port"),
        "{}",
        ssh.stdout
    );
    // Three causes, three different reports.
    assert_ne!(refused.stdout, silent.stdout);
    assert_ne!(silent.stdout, ssh.stdout);
}

#[test]
fn check_and_run_past_a_sql_server_that_answers_prelogin() {
    // The stand-in answers PRELOGIN, then drops the connection: check names the server's
    // version and encryption, passes the driver step (FreeTDS, found by its library), and
    // FreeTDS's login failure gets its cause and fix.
    let port = fake_sql_server();
    let ws = freetds_workspace(&format!("Driver={{FreeTDS}};Server=127.0.0.1,{port};Database=campus"));
    let check = run(&ws, &["check", "--only", "db"]);
    check.assert_code(4);
    assert!(
        step_line(&check, "sql server").contains(&format!(
            "✓ sql server     127.0.0.1:{port} is SQL Server 2016 (13.0.4001): no encryption"
        )),
        "{}",
        check.stdout
    );
    let driver = step_line(&check, "odbc driver");
    assert!(driver.contains("\"FreeTDS\" is installed (FreeTDS (libtdsodbc.so)); sis-extract sets TDS_Version=7.4 and ClientCharset=UTF-8"), "{driver}");
    assert!(step_line(&check, "login").contains('✗'), "{}", check.stdout);
    assert!(
        check.stdout.contains("the port answered but the SQL Server login handshake failed"),
        "{}",
        check.stdout
    );

    let result = run(&ws, &["run", "--dry-run"]);
    assert_eq!(result.code, 1, "{}", result.both());
    result.assert_stderr_contains("the port answered but the SQL Server login handshake failed");
}

#[test]
fn a_run_against_a_port_that_is_not_sql_server_or_never_answers() {
    // FreeTDS against the suite's sshd: the port answered, the TDS login did not happen.
    let port = service("SIS_TEST_SSH_PORT");
    let ws = freetds_workspace(&format!("Driver={{FreeTDS}};Server=127.0.0.1,{port};Database=campus"));
    let result = run(&ws, &["-v", "run", "--dry-run"]);
    assert_eq!(result.code, 1, "{}", result.both());
    result.assert_stderr_contains("the port answered but the SQL Server login handshake failed");
    result.assert_stderr_contains("[FreeTDS][SQL Server]");

    // A silent port: the login timeout applies to FreeTDS too. FreeTDS reads both forms of
    // the address, `Server=host,port` above and `Server=host;Port=port` here.
    let (_listener, port) = silent_port();
    let ws = freetds_workspace(&format!("Driver={{FreeTDS}};Server=127.0.0.1;Port={port};Database=campus"));
    let started = Instant::now();
    let result = run(&ws, &["-v", "run", "--dry-run"]);
    assert_eq!(result.code, 1, "{}", result.both());
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "login_timeout (2s) did not apply: {:?}",
        started.elapsed()
    );
    result.assert_stderr_contains("failed: the database did not answer within source.login_timeout");
    result.assert_stderr_contains("State: HYT00");
}

#[test]
fn the_session_statements_sent_to_sql_server_parse_with_both_parsers() {
    // SQL Server cannot run here: the T-SQL that sis-extract itself sends to every SQL
    // Server session (settings, yielding, the snapshot check and start) is parsed by
    // sqlglot, one statement per file as the checker wants it.
    use sis_extract::source::{
        SQL_SERVER_SESSION_SETTINGS, SQL_SERVER_SNAPSHOT_STATE, sql_server_yielding_settings,
    };
    let ws = Workspace::new();
    let yielding = sql_server_yielding_settings(std::time::Duration::from_secs(30));
    assert_eq!(yielding, "SET DEADLOCK_PRIORITY LOW; SET LOCK_TIMEOUT 30000");
    let statements: Vec<String> = [SQL_SERVER_SESSION_SETTINGS, yielding.as_str()]
        .iter()
        .flat_map(|s| s.split("; "))
        .map(str::to_string)
        .chain([
            SQL_SERVER_SNAPSHOT_STATE.to_string(),
            "SET TRANSACTION ISOLATION LEVEL SNAPSHOT".to_string(),
        ])
        .collect();
    for (i, statement) in statements.iter().enumerate() {
        ws.write(&format!("session/{i}.sql"), statement);
    }
    let output = std::process::Command::new(repo().join("scripts/check-tsql"))
        .arg(ws.path("session"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{statements:?}\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // And the snapshot check is one read-only SELECT for sis-extract's own vetting.
    sis_extract::query::vet_for(SQL_SERVER_SNAPSHOT_STATE, sis_extract::query::SqlDialect::SqlServer)
        .expect("the snapshot check vets as a SELECT");
}

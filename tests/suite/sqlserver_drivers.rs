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
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use sqlparser::ast::{Expr, Select, TableFactor, Visit, Visitor};
use sqlparser::dialect::MsSqlDialect;
use sqlparser::parser::Parser;

use crate::support::{Workspace, repo};

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

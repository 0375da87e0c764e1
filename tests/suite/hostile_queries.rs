//! Hostile query files and hostile values against the real PostgreSQL and SQLite: the
//! read-only promise holds whichever dialect's lexer a file was written to fool, functions
//! with side effects are refused, the server itself rejects a second statement inside the
//! form sis-extract sends, SQLite cannot load extensions, and every value arrives as the
//! server holds it (compared with psql and the sqlite3 shell) or the run stops naming it.
//!
//! The corpus is `tests/hostile/queries/{postgres,sqlite,any}/*.sql`; each file's first
//! line is `-- expect: TEXT`, a part of the refusal message. The database account used
//! here may write to the victim table: only sis-extract's own walls stand in the way.

use std::path::{Path, PathBuf};

use crate::support::{Workspace, parse_csv, psql, service, sqlite, unzip_entry};

fn corpus(folder: &str) -> Vec<(PathBuf, String, String)> {
    let dir = crate::support::repo().join("tests/hostile/queries").join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let expect = text
                .lines()
                .next()
                .and_then(|l| l.strip_prefix("-- expect: "))
                .unwrap_or_else(|| panic!("{}: first line must be `-- expect: …`", path.display()))
                .to_string();
            (path, text, expect)
        })
        .collect()
}

fn owner(sql: &str) -> String {
    psql(&service("SIS_TEST_PG_OWNER_URL"), sql)
}

/// One victim table for this binary, writable by the reader (as a careless grant would make it).
fn pg_victim() -> &'static str {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        owner(&format!(
            "DROP TABLE IF EXISTS hostile_victim; CREATE TABLE hostile_victim (id int); INSERT INTO hostile_victim VALUES (1);
             GRANT ALL ON hostile_victim TO {};",
            service("SIS_TEST_PG_READER_USER")
        ));
    });
    "hostile_victim"
}

fn pg_workspace() -> Workspace {
    let mut ws = Workspace::new();
    ws.set_env("SIS_TEST_DB_PASSWORD", &service("SIS_TEST_PG_READER_PASSWORD"));
    std::fs::create_dir_all(ws.path("out")).unwrap();
    std::fs::create_dir_all(ws.path("q")).unwrap();
    ws.write(
        "config.toml",
        &format!(
            "history_file = \"history.jsonl\"\n[source]\nconnection_string = \"{}\"\nuser = \"{}\"\npassword = {{ env = \"SIS_TEST_DB_PASSWORD\" }}\n{}",
            service("SIS_TEST_PG_CONN"),
            service("SIS_TEST_PG_READER_USER"),
            crate::support::local_job("h", "q", "out")
        ),
    );
    ws
}

fn sqlite_workspace(setup: &str) -> Workspace {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path("out")).unwrap();
    std::fs::create_dir_all(ws.path("q")).unwrap();
    let db = ws.path("db.sqlite");
    sqlite(
        &db,
        &format!("CREATE TABLE hostile_victim (id int); INSERT INTO hostile_victim VALUES (1); {setup}"),
    );
    ws.write(
        "config.toml",
        &format!(
            "history_file = \"history.jsonl\"\n[source]\nconnection_string = \"Driver=SQLite3;Database={}\"\n{}",
            db.display(),
            crate::support::local_job("h", "q", "out")
        ),
    );
    ws
}

/// Runs `ws`'s job with the corpus file's text as its one query: it must be refused
/// (exit 1) with the file's expected message.
fn assert_refused(ws: &Workspace, (path, text, expect): &(PathBuf, String, String)) -> crate::support::Run {
    ws.write("q/attempt.sql", text);
    let run = ws.run(&["run"]);
    assert_eq!(run.code, 1, "{}: must be refused\n{}", path.display(), run.stderr);
    assert!(
        run.stderr.contains(expect.as_str()),
        "{}: expected {expect:?} in\n{}",
        path.display(),
        run.stderr
    );
    run
}

fn large_objects() -> String {
    owner("SELECT count(*) FROM pg_largeobject_metadata").trim().to_string()
}

#[test]
fn the_postgresql_corpus_is_refused_and_nothing_changes() {
    let victim = pg_victim();
    let objects = large_objects();
    for file in corpus("postgres") {
        let ws = pg_workspace();
        assert_refused(&ws, &file);
        let path = &file.0;
        assert_eq!(owner(&format!("SELECT count(*) FROM {victim}")).trim(), "1", "{}", path.display());
        assert_eq!(large_objects(), objects, "{}: no large object created", path.display());
        assert_eq!(ws.history()[0]["outcome"], "failed");
    }
}

#[test]
fn the_sqlite_corpus_is_refused_and_nothing_changes() {
    for file in corpus("sqlite") {
        let ws = sqlite_workspace("");
        assert_refused(&ws, &file);
        assert_eq!(sqlite(&ws.path("db.sqlite"), "SELECT count(*) FROM hostile_victim").trim(), "1");
        assert!(!Path::new("/tmp/sis-extract-hostile-written").exists());
    }
}

#[test]
fn the_dialect_independent_corpus_is_refused_before_connecting() {
    for file in corpus("any") {
        let ws = sqlite_workspace("");
        let run = assert_refused(&ws, &file);
        let path = &file.0;
        assert!(
            run.stderr.contains("attempt.sql line"),
            "{}: names file and line\n{}",
            path.display(),
            run.stderr
        );
    }
}

/// The files that hide a `;` from the SQL Server lexer really do: SQL Server's grammar
/// alone reads each as one SELECT, which is all the vetting used to ask.
#[test]
fn the_lexer_disagreements_are_real() {
    use sqlparser::dialect::MsSqlDialect;
    use sqlparser::parser::Parser;
    let hiding: Vec<_> = ["postgres", "sqlite"]
        .into_iter()
        .flat_map(corpus)
        .filter(|(path, _, _)| path.to_string_lossy().contains("hides-semicolon"))
        .collect();
    assert!(hiding.len() >= 2);
    for (path, text, _) in hiding {
        let statements = Parser::parse_sql(&MsSqlDialect {}, &text)
            .unwrap_or_else(|e| panic!("{}: SQL Server's grammar should read it: {e}", path.display()));
        assert_eq!(statements.len(), 1, "{}", path.display());
        assert!(matches!(statements[0], sqlparser::ast::Statement::Query(_)), "{}", path.display());
    }
}

/// The second wall: if a `;` ever slipped past the vetting, the form sis-extract sends
/// makes the server reject the whole text. Sent here through the real drivers, as an
/// account that may write, with no read-only session.
#[test]
fn the_server_rejects_a_second_statement_inside_the_sent_form() {
    use odbc_api::{ConnectionOptions, environment};
    use sis_extract::query::{SqlDialect, send_form};
    let victim = pg_victim();
    let env = environment().unwrap();
    let attack = format!("SELECT 1 AS a; DELETE FROM {victim}; SELECT 1 AS b");

    let pg = env
        .connect_with_connection_string(
            &format!(
                "{};UID={};PWD={{{}}}",
                service("SIS_TEST_PG_CONN"),
                service("SIS_TEST_PG_READER_USER"),
                service("SIS_TEST_PG_READER_PASSWORD").replace('}', "}}")
            ),
            ConnectionOptions::default(),
        )
        .unwrap();
    let rejected = pg.execute(&send_form(&attack, SqlDialect::PostgreSql), (), None).is_err();
    assert!(rejected, "PostgreSQL must reject the wrapped text");
    assert_eq!(owner(&format!("SELECT count(*) FROM {victim}")).trim(), "1");

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.sqlite");
    sqlite(&db, "CREATE TABLE hostile_victim (id int); INSERT INTO hostile_victim VALUES (1);");
    let lite = env
        .connect_with_connection_string(
            &format!("Driver=SQLite3;Database={}", db.display()),
            ConnectionOptions::default(),
        )
        .unwrap();
    let rejected = lite.execute(&send_form(&attack, SqlDialect::Sqlite), (), None).is_err();
    assert!(rejected, "SQLite must reject the wrapped text");
    drop(lite);
    assert_eq!(sqlite(&db, "SELECT count(*) FROM hostile_victim").trim(), "1");
}

/// SQLite connections opened by sis-extract cannot load extensions, attach files or turn
/// `query_only` off, whatever SQL reaches the driver; `check` says so.
#[test]
fn sqlite_connections_refuse_extension_loading() {
    use odbc_api::{ConnectionOptions, environment};
    assert!(sis_extract::sqlite_guard::install(), "the guard must be in place on Linux");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("g.sqlite");
    sqlite(&db, "CREATE TABLE t (id int); INSERT INTO t VALUES (1);");
    let env = environment().unwrap();
    let connection = env
        .connect_with_connection_string(
            &format!("Driver=SQLite3;Database={}", db.display()),
            ConnectionOptions::default(),
        )
        .unwrap();
    for sql in [
        "SELECT load_extension('/tmp/no-such-extension.so')",
        "ATTACH DATABASE '/tmp/sis-extract-hostile-attached.sqlite' AS other",
        "PRAGMA query_only = 0",
        "DELETE FROM t",
    ] {
        let error = connection.execute(sql, (), None).err().unwrap_or_else(|| panic!("{sql} must fail"));
        assert!(error.to_string().contains("not authorized"), "{sql}: {error}");
    }
    connection.execute("SELECT id FROM t", (), None).unwrap();
    drop(connection);
    assert!(!Path::new("/tmp/sis-extract-hostile-attached.sqlite").exists());

    let ws = sqlite_workspace("");
    ws.write("q/t.sql", "SELECT id FROM hostile_victim");
    let run = ws.run(&["check", "--only", "db"]);
    assert!(run.stdout.contains("extension loading is refused"), "{}\n{}", run.stdout, run.stderr);
}

/// Every PostgreSQL type arrives as psql shows it (booleans excepted: `1`/`0` by design).
#[test]
fn postgresql_values_arrive_as_psql_shows_them() {
    let t = format!("hostile_values_{}", std::process::id());
    owner(&format!(
        "CREATE TABLE {t} (id int, d date, f8 float8, f4 real, ts timestamp, tz timestamptz, tm time, n numeric);
         INSERT INTO {t} VALUES
          (1, 'infinity', 16777217, 0.1, 'infinity', '2026-01-15 07:05:09.12+02', '12:30:01.5', 12.50),
          (2, '-infinity', 0.30000000000000004, 1.5, '-infinity', '-infinity', '00:00', -0.0001),
          (3, '0044-03-15 BC', 1e300, 'NaN', '0044-03-15 12:00 BC', '294276-01-01 00:00+00', '23:59:59.999999', 1e-20),
          (4, '294276-01-01', 'NaN', '-Infinity', '2026-11-23 18:30:05.123456', NULL, NULL, NULL),
          (5, '2026-11-23', -2.5e-7, 3.4028235e38, '1999-12-31 23:59:59', '2026-07-01 00:00+00', '07:00', 0);
         GRANT SELECT ON {t} TO {};",
        service("SIS_TEST_PG_READER_USER")
    ));
    let query = format!("SELECT id, d, f8, f4, ts, tz, tm, n FROM {t} ORDER BY id");
    let ws = pg_workspace();
    ws.write("q/values.sql", &query);
    ws.run(&["run", "--as-of", "2026-11-23"]).assert_ok();
    let ours = parse_csv(&unzip_entry(&ws.path("out/h-20261123.zip"), "values.csv"));
    // psql on the same server, so the session's time zone is the same.
    let theirs: Vec<Vec<String>> = psql(&service("SIS_TEST_PG_OWNER_URL"), &query)
        .lines()
        .map(|l| l.split('|').map(str::to_string).collect())
        .collect();
    assert_eq!(ours[0], ["id", "d", "f8", "f4", "ts", "tz", "tm", "n"]);
    assert_eq!(&ours[1..], &theirs[..], "every value as psql shows it");
}

/// SQLite values arrive as the sqlite3 shell shows them; an invalid byte becomes U+FFFD
/// with a warning naming the column; a NUL byte, which the driver would cut, stops the run.
#[test]
fn sqlite_values_arrive_as_the_shell_shows_them() {
    let ws = sqlite_workspace(
        "CREATE TABLE v (id INTEGER, name TEXT, d DATE, f REAL, b BOOLEAN);
         INSERT INTO v VALUES (1, 'Zoë', '2026-01-15', 0.1 + 0.2, 1), ('x', 'plain', 2460000.5, 16777217.0, 'true'),
                              (3, NULL, 'infinity', 1e300, 0), (4, 'O''Brien, \"Jr\"', '-0044-03-15', -2.5e-7, NULL);",
    );
    let query = "SELECT id, name, d, f, b FROM v ORDER BY rowid";
    ws.write("q/values.sql", query);
    ws.run(&["run", "--as-of", "2026-11-23"]).assert_ok();
    let ours = parse_csv(&unzip_entry(&ws.path("out/h-20261123.zip"), "values.csv"));
    let theirs = parse_csv(&sqlite(&ws.path("db.sqlite"), &format!(".headers on\n.mode csv\n{query};")));
    assert_eq!(ours, theirs);

    let ws = sqlite_workspace(
        "CREATE TABLE v (id int, name text); INSERT INTO v VALUES (1, CAST(X'61FF62' AS TEXT));",
    );
    ws.write("q/bad.sql", "SELECT id, name FROM v");
    let run = ws.run(&["run", "--as-of", "2026-11-23"]);
    run.assert_ok().assert_stderr_contains("invalid UTF-8 was replaced with U+FFFD");
    assert!(run.stderr.contains("name"), "{}", run.stderr);
    let rows = parse_csv(&unzip_entry(&ws.path("out/h-20261123.zip"), "bad.csv"));
    assert_eq!(rows[1], ["1", "a\u{FFFD}b"]);

    let ws = sqlite_workspace(
        "CREATE TABLE v (id int, name text); INSERT INTO v VALUES (1, 'a' || char(0) || 'b');",
    );
    ws.write("q/nul.sql", "SELECT id, name AS given_name FROM v");
    ws.run(&["run"])
        .assert_code(1)
        .assert_stderr_contains("nul.sql: a value of column \"given_name\" holds a NUL byte");
    assert!(std::fs::read_dir(ws.path("out")).unwrap().next().is_none(), "nothing delivered");
}

/// A `SQL_ASCII` database can hold any byte: one that is not UTF-8 becomes U+FFFD with a
/// warning, as docs/operations.md promises, instead of failing the night's run.
#[test]
fn a_sql_ascii_database_with_a_stray_byte_is_delivered_with_a_warning() {
    let db = format!("sis_ascii_{}", std::process::id());
    let superuser = service("SIS_TEST_PG_SUPERUSER_URL");
    let reader = service("SIS_TEST_PG_READER_USER");
    psql(&superuser, &format!("DROP DATABASE IF EXISTS {db}"));
    psql(
        &superuser,
        &format!("CREATE DATABASE {db} ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"),
    );
    let in_db = superuser.replace("dbname=sis_test", &format!("dbname={db}"));
    psql(
        &in_db,
        &format!(
            "CREATE TABLE people (id int, name text); INSERT INTO people VALUES (1, 'Ren' || convert_from('\\xe9'::bytea, 'SQL_ASCII')), (2, 'plain');
             GRANT SELECT ON people TO {reader};"
        ),
    );
    let mut ws = pg_workspace();
    let config = std::fs::read_to_string(ws.path("config.toml"))
        .unwrap()
        .replace("Database=sis_test", &format!("Database={db}"));
    ws.write("config.toml", &config);
    ws.set_env("UNUSED", "");
    ws.write("q/people.sql", "SELECT id, name FROM people ORDER BY id");
    let run = ws.run(&["run", "--as-of", "2026-11-23"]);
    psql(&superuser, &format!("DROP DATABASE IF EXISTS {db}"));
    run.assert_ok().assert_stderr_contains("replaced with U+FFFD");
    let rows = parse_csv(&unzip_entry(&ws.path("out/h-20261123.zip"), "people.csv"));
    assert_eq!(rows[1], ["1", "Ren\u{FFFD}"]);
    assert_eq!(rows[2], ["2", "plain"]);
}

#[test]
fn an_as_of_date_beyond_year_9999_is_refused() {
    let ws = sqlite_workspace("");
    ws.write("q/t.sql", "SELECT id FROM hostile_victim");
    for date in ["+10000-01-01", "0000-01-01", "2026-02-30"] {
        let run = ws.run(&["run", "--as-of", date]);
        run.assert_code(2).assert_stderr_contains("YYYY-MM-DD (years 0001 to 9999)");
    }
}

/// Query file names are checked before any query runs: not UTF-8, control characters,
/// backslashes, or two names that differ only in case.
#[test]
fn bad_query_file_names_are_refused_before_any_query_runs() {
    use std::os::unix::ffi::OsStrExt;
    let names: [&[u8]; 4] = [b"bad\xff.sql", b"tab\tname.sql", b"back\\slash.sql", b"USERS.sql"];
    let expected = ["not valid UTF-8", "control character U+0009", "a backslash", "differ only in case"];
    for (name, expect) in names.iter().zip(expected) {
        let ws = sqlite_workspace("");
        ws.write("q/users.sql", "SELECT id FROM hostile_victim");
        std::fs::write(ws.path("q").join(std::ffi::OsStr::from_bytes(name)), "SELECT id FROM hostile_victim")
            .unwrap();
        let run = ws.run(&["run"]);
        assert_eq!(run.code, 1, "{expect}: {}", run.stderr);
        assert!(run.stderr.contains(expect), "{expect}: {}", run.stderr);
        assert!(!run.stderr.contains("EscapeAscii"), "{}", run.stderr);
        assert!(std::fs::read_dir(ws.path("out")).unwrap().next().is_none());
    }
}

/// A query file that is a symbolic link is refused without reading it, so its target's
/// content never appears in a message; an oversized file is refused before it is read.
#[test]
fn linked_and_oversized_query_files_are_refused_without_echoing_them() {
    let ws = sqlite_workspace("");
    let secret = ws.write("secret.txt", "TOP-SECRET-LINE; not sql at all");
    std::os::unix::fs::symlink(&secret, ws.path("q/leak.sql")).unwrap();
    let run = ws.run(&["run"]);
    run.assert_code(1).assert_stderr_contains("is a symbolic link");
    assert!(!run.both().contains("TOP-SECRET-LINE"), "{}", run.both());
    let run = ws.run(&["check"]);
    assert!(!run.both().contains("TOP-SECRET-LINE"), "{}", run.both());

    let ws = sqlite_workspace("");
    let big = format!("SELECT id FROM hostile_victim WHERE id IN ({})", vec!["1"; 600_000].join(","));
    ws.write("q/big.sql", &big);
    ws.run(&["run"]).assert_code(1).assert_stderr_contains("over the limit of 1048576");
}

/// The shipped Campus queries quote `"identity"` (a T-SQL keyword) with double quotes.
/// SQL Server reads that as an identifier only with QUOTED_IDENTIFIER ON; with it OFF (some
/// FreeTDS set-ups) the token is a string and the query fails. So sis-extract sets it ON
/// for every SQL Server session. SQL Server cannot run here, and sqlparser's T-SQL grammar
/// has no QUOTED_IDENTIFIER switch (it accepts `JOIN 'identity'` too), so this checks the
/// text: which shipped queries rely on it, and that the session setting is there.
#[test]
fn the_shipped_t_sql_needs_quoted_identifier_on_which_every_sql_server_session_gets() {
    use sqlparser::dialect::MsSqlDialect;
    use sqlparser::parser::Parser;
    let mut relying = Vec::new();
    for set in ["oneroster-1.1", "clever"] {
        let folder = crate::support::repo().join("queries/infinite-campus").join(set);
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let sql = text.replace('?', "'2026-01-15'");
            assert!(Parser::parse_sql(&MsSqlDialect {}, &sql).is_ok(), "{} parses as T-SQL", path.display());
            let code: String =
                sql.lines().map(|l| l.split("--").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
            if code.contains("\"identity\"") {
                relying.push(format!("{set}/{}", path.file_name().unwrap().to_string_lossy()));
            }
        }
    }
    relying.sort();
    assert_eq!(
        relying,
        [
            "clever/enrollments.sql",
            "clever/sections.sql",
            "clever/staff.sql",
            "clever/students.sql",
            "clever/teachers.sql",
            "oneroster-1.1/demographics.sql",
            "oneroster-1.1/enrollments.sql",
            "oneroster-1.1/users.sql"
        ],
        "queries that quote \"identity\""
    );
    assert_eq!(
        sis_extract::source::SQL_SERVER_SESSION_SETTINGS,
        "SET QUOTED_IDENTIFIER ON; SET ANSI_NULLS ON",
        "every SQL Server session turns QUOTED_IDENTIFIER on for {relying:?}"
    );
}

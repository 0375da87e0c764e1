//! The pipeline against a real PostgreSQL server through the psqlODBC (Unicode) driver,
//! connecting as a role whose password contains `;`, `}`, `{`, `=` and a space.

use crate::support::{ConfigBuilder, JobBuilder, Workspace, parse_csv, psql, service, unzip_entry};

/// A workspace whose config connects to the test PostgreSQL as the read-only role.
fn workspace(extra_source: &str) -> Workspace {
    workspace_with(&service("SIS_TEST_PG_CONN"), extra_source, None)
}

/// Like [`workspace`], with its own connection string, and run under `locale` (`LC_ALL`
/// and `LANG`) when one is given.
fn workspace_with(connection_string: &str, extra_source: &str, locale: Option<&str>) -> Workspace {
    let mut ws = Workspace::new();
    ws.set_env("SIS_TEST_DB_PASSWORD", &service("SIS_TEST_PG_READER_PASSWORD"));
    if let Some(locale) = locale {
        ws.set_env("LC_ALL", locale);
        ws.set_env("LANG", locale);
    }
    std::fs::create_dir_all(ws.path("out")).unwrap();
    std::fs::create_dir_all(ws.path("q")).unwrap();
    ConfigBuilder::new()
        .source(connection_string)
        .source_key("user", &service("SIS_TEST_PG_READER_USER"))
        .source_raw("password = { env = \"SIS_TEST_DB_PASSWORD\" }")
        .source_raw(extra_source)
        .job(JobBuilder::csv("pg", "q"))
        .write(&ws);
    ws
}

/// A table name no other test uses (tests run in parallel against one database).
fn table(test: &str) -> String {
    format!("t_{test}_{}", std::process::id())
}

fn owner(sql: &str) -> String {
    psql(&service("SIS_TEST_PG_OWNER_URL"), sql)
}

#[test]
fn awkward_values_round_trip_exactly() {
    let t = table("awkward");
    owner(&format!(
        "CREATE TABLE {t} (id int, guid uuid, amount numeric(14,4), flag boolean, seen timestamp(6),
                          born date, bell time, big bigint, note text, name varchar(10), code char(4),
                          ratio real, precise float8, small smallint);
         INSERT INTO {t} VALUES
          (1, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 12345678.5000, true, '2026-11-23 18:30:05.123456',
           '2026-11-23', '18:30:05', 9223372036854775807, E'a,\"b\"\\nc\\r\\nd', 'é中😀', 'ab', 1.5, 0.1, -1),
          (2, NULL, -0.0001, false, '1999-12-31 23:59:59', '1900-01-01', '00:00:00', -42, '', '  sp  ', NULL,
           NULL, NULL, NULL),
          (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);"
    ));
    // Under the test's own locale, and under the C locale that cron and services without
    // LANG run in: psqlODBC picks its client encoding from the locale, and under C it used
    // to fail on every non-ASCII name.
    for locale in [None, Some("C"), Some("POSIX")] {
        let ws = workspace_with(&service("SIS_TEST_PG_CONN"), "", locale);
        ws.write("q/values.sql", &format!("SELECT * FROM {t} ORDER BY id"));
        let run = ws.run(&["run", "--as-of", "2026-11-23"]);
        run.assert_ok();
        let rows = parse_csv(&unzip_entry(&ws.path("out/pg-20261123.zip"), "values.csv"));
        assert_eq!(rows, awkward_values_expected(), "locale {locale:?}");
    }
}

fn awkward_values_expected() -> Vec<Vec<&'static str>> {
    vec![
        vec![
            "id", "guid", "amount", "flag", "seen", "born", "bell", "big", "note", "name", "code", "ratio",
            "precise", "small",
        ],
        vec![
            "1",
            // psqlODBC reports uuid as SQL_GUID, whose ODBC text form is upper case, as
            // SQL Server's own rendering of a uniqueidentifier is.
            "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
            "12345678.5000",
            "1",
            "2026-11-23 18:30:05.123456",
            "2026-11-23",
            "18:30:05",
            "9223372036854775807",
            "a,\"b\"\nc\r\nd",
            "é中😀",
            "ab  ",
            "1.5",
            "0.1",
            "-1",
        ],
        vec![
            "2",
            "",
            "-0.0001",
            "0",
            "1999-12-31 23:59:59",
            "1900-01-01",
            "00:00:00",
            "-42",
            "",
            "  sp  ",
            "",
            "",
            "",
            "",
        ],
        vec!["3", "", "", "", "", "", "", "", "", "", "", "", "", ""],
    ]
}

#[test]
fn a_latin1_database_arrives_as_utf8_under_any_locale() {
    // Older SIS databases may still be LATIN1. The server converts to the session's UTF8,
    // whatever the locale of the process.
    let database = format!("latin1_{}", std::process::id());
    let superuser = service("SIS_TEST_PG_SUPERUSER_URL");
    /// Drops the test's database even when an assertion fails (errors ignored: it may be
    /// running while a panic unwinds).
    struct DropDatabase<'a>(&'a str, &'a str);
    impl Drop for DropDatabase<'_> {
        fn drop(&mut self) {
            let _ = std::process::Command::new("psql")
                .args([self.1, "-qc", &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.0)])
                .output();
        }
    }
    let reader = service("SIS_TEST_PG_READER_USER");
    psql(&superuser, &format!("DROP DATABASE IF EXISTS {database}"));
    psql(
        &superuser,
        &format!(
            "CREATE DATABASE {database} ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
        ),
    );
    let _drop = DropDatabase(&database, &superuser);
    let in_database = superuser.replace("dbname=sis_test", &format!("dbname={database}"));
    assert_ne!(in_database, superuser, "the superuser URL names the database sis_test");
    psql(
        &in_database,
        &format!(
            "SET client_encoding TO 'UTF8';
             CREATE TABLE names AS SELECT 'Zoë Ñandú-Çelik'::text AS name, 'ß'::varchar(1) AS letter;
             GRANT SELECT ON names TO \"{reader}\";"
        ),
    );
    let connection_string =
        service("SIS_TEST_PG_CONN").replace("Database=sis_test", &format!("Database={database}"));
    for locale in [None, Some("C")] {
        let ws = workspace_with(&connection_string, "", locale);
        ws.write("q/names.sql", "SELECT name, letter FROM names");
        ws.run(&["run", "--as-of", "2026-11-23"]).assert_ok();
        let rows = parse_csv(&unzip_entry(&ws.path("out/pg-20261123.zip"), "names.csv"));
        assert_eq!(rows, [vec!["name", "letter"], vec!["Zoë Ñandú-Çelik", "ß"]], "locale {locale:?}");
    }
}

#[test]
fn many_rows_stream_through_small_batches() {
    let t = table("stream");
    owner(&format!(
        "CREATE TABLE {t} AS SELECT g AS id, repeat('x', 50) AS pad FROM generate_series(1, 50000) g"
    ));
    // The smallest budget (1 MiB) over rows of ~12 KiB of buffers (a text column gets
    // three UTF-8 bytes for each of its max_text_length characters) forces hundreds of
    // batches; every row must arrive once.
    let ws = workspace("memory_budget = \"1MiB\"\n");
    ws.write("q/many.sql", &format!("SELECT id, pad FROM {t} ORDER BY id"));
    ws.run(&["run", "--as-of", "2026-11-23"]).assert_ok();
    let rows = parse_csv(&unzip_entry(&ws.path("out/pg-20261123.zip"), "many.csv"));
    assert_eq!(rows.len(), 50_001);
    assert_eq!(rows[50_000][0], "50000");
    assert_eq!(ws.history()[0]["files"][0]["rows"], 50_000);
}

#[test]
fn a_value_longer_than_its_utf8_buffer_stops_the_run() {
    // PostgreSQL text arrives as UTF-8 bytes: three bytes per character of max_text_length.
    // A longer value is an error that names the column, never a truncated value.
    let ws = workspace("max_text_length = 3\n");
    ws.write("q/long.sql", "SELECT 'abcdefghijk'::text AS body");
    ws.run(&["run", "--as-of", "2026-11-23"])
        .assert_code(1)
        .assert_stderr_contains(
            "long.sql: a value of column \"body\" is longer than its buffer of 3 characters (9 bytes of UTF-8; the value has 11)",
        )
        .assert_stderr_contains("source.max_text_length");
    assert_eq!(std::fs::read_dir(ws.path("out")).unwrap().count(), 0);
    // Nine bytes fit: three characters of up to three bytes each.
    let ws = workspace("max_text_length = 3\n");
    ws.write("q/long.sql", "SELECT 'abcdefghi'::text AS body, 'äöü'::text AS umlauts");
    ws.run(&["run", "--as-of", "2026-11-23"]).assert_ok();
    let rows = parse_csv(&unzip_entry(&ws.path("out/pg-20261123.zip"), "long.csv"));
    assert_eq!(rows, [vec!["body", "umlauts"], vec!["abcdefghi", "äöü"]]);
}

#[test]
fn writes_are_refused_and_the_table_is_unchanged() {
    let t = table("refuse");
    owner(&format!("CREATE TABLE {t} (id int); INSERT INTO {t} VALUES (1), (2);"));
    for sql in [format!("DELETE FROM {t}"), format!("SELECT 1 AS one; DROP TABLE {t}")] {
        let ws = workspace("");
        ws.write("q/bad.sql", &sql);
        ws.run(&["run"]).assert_code(1).assert_stderr_contains("bad.sql line 1");
        assert_eq!(owner(&format!("SELECT count(*) FROM {t}")).trim(), "2", "{sql}");
    }
}

#[test]
fn the_session_is_read_only_even_for_a_select_that_writes() {
    // nextval() is refused by name, but a function of the database's own can call it
    // where no parser can see: the read-only session (SET SESSION CHARACTERISTICS AS
    // TRANSACTION READ ONLY) is what stops it.
    let t = table("seq");
    owner(&format!(
        "CREATE SEQUENCE {t}; GRANT USAGE ON SEQUENCE {t} TO {reader};
         CREATE FUNCTION {t}_next() RETURNS bigint LANGUAGE sql AS $$ SELECT nextval('{t}') $$;
         GRANT EXECUTE ON FUNCTION {t}_next() TO {reader};",
        reader = service("SIS_TEST_PG_READER_USER")
    ));
    let ws = workspace("");
    ws.write("q/sneaky.sql", &format!("SELECT {t}_next() AS n"));
    ws.run(&["run"])
        .assert_code(1)
        .assert_stderr_contains("sneaky.sql: the database refused a write, because sis-extract only reads");
    assert_eq!(owner(&format!("SELECT last_value, is_called FROM {t}")).trim(), "1|f", "sequence untouched");
}

#[test]
fn a_wrong_database_password_is_named_and_never_printed() {
    let mut ws = workspace("");
    ws.set_env("SIS_TEST_DB_PASSWORD", "wrong;pass}word-7731");
    ws.write("q/x.sql", "SELECT 1 AS one");
    for args in [&["run"][..], &["-v", "run"][..]] {
        let run = ws.run(args);
        run.assert_code(1).assert_stderr_contains("the database rejected the user name or password");
        assert!(!run.both().contains("wrong;pass}word-7731"), "{}", run.both());
        assert!(!run.both().contains("pass}}word"), "not even braced: {}", run.both());
    }
    assert!(!ws.history_text().contains("wrong;pass"), "{}", ws.history_text());
}

#[test]
fn a_query_error_names_the_file_and_the_cause() {
    let ws = workspace("");
    ws.write("q/broken.sql", "SELECT no_such_column FROM pg_class");
    ws.run(&["run"])
        .assert_code(1)
        .assert_stderr_contains("broken.sql: the database rejected the query")
        .assert_stderr_contains("no_such_column");
}

#[test]
fn the_query_timeout_cancels_a_slow_query() {
    let ws = workspace("query_timeout = \"1s\"\n");
    ws.write("q/slow.sql", "SELECT pg_sleep(30) AS slept");
    let started = std::time::Instant::now();
    ws.run(&["run"]).assert_code(1).assert_stderr_contains("slow.sql");
    assert!(started.elapsed() < std::time::Duration::from_secs(25), "cancelled, not waited out");
}

#[test]
fn every_write_form_is_refused_or_fails_read_only_and_the_table_checksum_is_unchanged() {
    let t = table("corpus");
    let reader = service("SIS_TEST_PG_READER_USER");
    owner(&format!(
        "CREATE TABLE {t} (id int PRIMARY KEY, name text); INSERT INTO {t} SELECT g, 'n' || g FROM generate_series(1, 50) g;
         CREATE SEQUENCE {t}_seq; GRANT USAGE ON SEQUENCE {t}_seq TO {reader};
         CREATE PROCEDURE {t}_wipe() LANGUAGE sql AS $$ DELETE FROM {t} $$;
         CREATE FUNCTION {t}_wipe_fn() RETURNS int LANGUAGE sql AS $$ DELETE FROM {t} RETURNING 1 $$;
         GRANT EXECUTE ON PROCEDURE {t}_wipe() TO {reader}; GRANT EXECUTE ON FUNCTION {t}_wipe_fn() TO {reader};
         GRANT INSERT, UPDATE, DELETE, TRUNCATE ON {t} TO {reader};"
    ));
    // The reader may even write the table: only sis-extract's own guards stand in the way.
    let checksum = || owner(&format!("SELECT md5(string_agg(id || ':' || name, ',' ORDER BY id)) FROM {t}"));
    let before = checksum();
    let corpus = [
        format!("INSERT INTO {t} VALUES (99, 'x')"),
        format!("UPDATE {t} SET name = 'x'"),
        format!("DELETE FROM {t}"),
        format!("MERGE INTO {t} USING (SELECT 1 AS id) s ON {t}.id = s.id WHEN MATCHED THEN DELETE"),
        format!("TRUNCATE {t}"),
        format!("DROP TABLE {t}"),
        format!("ALTER TABLE {t} ADD COLUMN extra int"),
        "CREATE TABLE sneaky (a int)".to_string(),
        format!("SELECT * INTO sneaky FROM {t}"),
        format!("CALL {t}_wipe()"),
        format!("EXEC {t}_wipe"),
        format!("SELECT 1 AS a; DELETE FROM {t}"),
        format!("SELECT 1 /* */; DELETE FROM {t}"),
        format!("SELECT ';' AS a; DELETE FROM {t}"),
        format!("-- ;\nDELETE FROM {t}"),
        format!("/* SELECT */ DELETE FROM {t}"),
        format!("WITH d AS (DELETE FROM {t} RETURNING id) SELECT id FROM d"),
        format!("SELECT {t}_wipe_fn() AS n"),
        format!("SELECT nextval('{t}_seq') AS n"),
        format!("COPY {t} FROM '/etc/hostname'"),
    ];
    for sql in &corpus {
        let ws = workspace("");
        ws.write("q/attempt.sql", sql);
        let run = ws.run(&["run"]);
        assert_eq!(run.code, 1, "{sql:?} must fail:\n{}", run.stderr);
        assert!(
            run.stderr.contains("attempt.sql line")
                || run.stderr.contains("refused a write, because sis-extract only reads"),
            "{sql:?}: {}",
            run.stderr
        );
    }
    // A SELECT that switches the session back to read-write (set_config is refused by
    // name, so through a function of the database's own), then a writing SELECT in the
    // next file: the session is made read-only again before every query.
    owner(&format!(
        "CREATE FUNCTION {t}_unlock() RETURNS text LANGUAGE sql
           AS $$ SELECT set_config('default_transaction_read_only', 'off', false) $$;
         GRANT EXECUTE ON FUNCTION {t}_unlock() TO {};",
        service("SIS_TEST_PG_READER_USER")
    ));
    let ws = workspace("");
    ws.write("q/1-unlock.sql", &format!("SELECT {t}_unlock() AS unlocked"));
    ws.write("q/2-write.sql", &format!("SELECT {t}_wipe_fn() AS n"));
    ws.run(&["run"]).assert_code(1).assert_stderr_contains("2-write.sql: the database refused a write");
    assert_eq!(checksum(), before, "the table is unchanged");
    assert_eq!(owner(&format!("SELECT last_value, is_called FROM {t}_seq")).trim(), "1|f");
}

// Memory on a large result (2M rows of the debug build took most of the suite's time) is
// measured by scripts/bench on the release build, which fails when a run's peak RSS
// exceeds 96 MiB at 1M or 10M rows.

#[test]
fn own_conn_settings_without_utf8_are_explained_under_the_c_locale() {
    // A connection string with its own ConnSettings is left as written; under the C locale
    // psqlODBC then opens an SQL_ASCII session, which cannot carry an accented name. The
    // run must stop, say why and how to fix it, and deliver nothing.
    let ws = workspace_with(
        &format!("{};ConnSettings={{set search_path to public}}", service("SIS_TEST_PG_CONN")),
        "",
        Some("C"),
    );
    ws.write("q/names.sql", "SELECT 'Zoë'::text AS name");
    let run = ws.run(&["run", "--as-of", "2026-11-23"]);
    run.assert_code(1)
        // The warning when connecting, then the error with its fix.
        .assert_stderr_contains("client encoding is not UTF8")
        .assert_stderr_contains("could not convert a text value")
        .assert_stderr_contains("leave ConnSettings out of the connection string and sis-extract sets it");
    assert_eq!(std::fs::read_dir(ws.path("out")).unwrap().count(), 0);
}

#[test]
fn a_dsn_that_turns_out_to_be_postgresql_gets_the_psqlodbc_settings() {
    // A DSN hides its driver until connected; sis-extract then reconnects with psqlODBC's
    // settings. Under the C locale, without them, the accented name below would fail.
    let mut ws = workspace_with("DSN=campus", "", Some("C"));
    // odbc.ini names the host `Servername`, where a connection string says `Server`.
    let ini = ws.write(
        "odbc.ini",
        &format!(
            "[campus]\nDriver = PostgreSQL Unicode\nServername = 127.0.0.1\nPort = {}\nDatabase = sis_test\n",
            service("SIS_TEST_PG_PORT")
        ),
    );
    ws.set_env("ODBCINI", ini.to_str().unwrap());
    ws.write(
        "q/names.sql",
        "SELECT 'Zoë Ñandú'::text AS name, current_setting('client_encoding') AS encoding",
    );
    ws.run(&["-v", "run", "--as-of", "2026-11-23"])
        .assert_ok()
        .assert_stderr_contains("reconnecting with psqlODBC's cursor and UTF-8 session settings");
    let rows = parse_csv(&unzip_entry(&ws.path("out/pg-20261123.zip"), "names.csv"));
    assert_eq!(rows, [vec!["name", "encoding"], vec!["Zoë Ñandú", "UTF8"]]);
}

#[test]
fn a_query_that_changes_the_client_encoding_stops_the_next_one() {
    // Text is fetched as UTF-8 bytes on the word of the session's encoding, so a query
    // that changes it (set_config is refused by name, but a function of the database's
    // own can call it) must not leave the next query reading LATIN1 bytes as UTF-8.
    let t = table("encoding");
    owner(&format!(
        "CREATE FUNCTION {t}_latin1() RETURNS text LANGUAGE sql
           AS $$ SELECT set_config('client_encoding', 'LATIN1', false) $$;
         GRANT EXECUTE ON FUNCTION {t}_latin1() TO {};",
        service("SIS_TEST_PG_READER_USER")
    ));
    let ws = workspace("");
    ws.write("q/a_first.sql", &format!("SELECT {t}_latin1() AS encoding"));
    ws.write("q/b_second.sql", "SELECT 'Zoë'::text AS name");
    ws.run(&["run", "--as-of", "2026-11-23"])
        .assert_code(1)
        .assert_stderr_contains("b_second.sql: the session's client encoding was changed to \"LATIN1\"");
    assert_eq!(std::fs::read_dir(ws.path("out")).unwrap().count(), 0);
}

//! The pipeline end to end against the real SQLite ODBC driver through unixODBC, into a
//! local folder: awkward values, the as-of parameter, write refusal, truncation, dry run,
//! --keep, BOM and line endings.

use crate::support::{ConfigBuilder, JobBuilder, Workspace, parse_csv, sqlite, unzip_entry, zip_names};

/// A workspace with a SQLite database `db.sqlite` holding `setup`, a query folder `q`
/// and a config whose only job writes into `out`.
fn workspace(setup: &str, extra_source: &str, extra_job: &str) -> Workspace {
    let ws = Workspace::new();
    let db = ws.path("db.sqlite");
    sqlite(&db, setup);
    std::fs::create_dir_all(ws.path("out")).unwrap();
    std::fs::create_dir_all(ws.path("q")).unwrap();
    ConfigBuilder::new()
        .top("work_dir", "work")
        .sqlite(&db)
        .source_raw(extra_source)
        .job(JobBuilder::csv("t", "q").raw(extra_job))
        .write(&ws);
    ws
}

const AWKWARD: &str = "
CREATE TABLE people (id integer, name varchar(100), note text, born date, seen timestamp,
                     big bigint, score real, active smallint);
INSERT INTO people VALUES
 (1, 'O''Brien, \"Jo\"', 'line one
line two', '2010-05-01', '2026-11-23 18:30:05', 9007199254740993, 12.5, 1),
 (2, 'José ñ ü 中文 😀', NULL, '2011-01-02', '2026-01-02 03:04:05.123', -9223372036854775808, -0.25, 0),
 (3, '  padded  ', '', NULL, NULL, NULL, NULL, NULL);
";

#[test]
fn awkward_values_round_trip_exactly() {
    let ws = workspace(AWKWARD, "", "");
    ws.write("q/people.sql", "-- every awkward value\nSELECT id, name, note, born, seen, big, score, active FROM people ORDER BY id\n");
    let run = ws.run(&["run", "--as-of", "2026-11-23"]);
    run.assert_ok();
    let zip = ws.path("out/t-20261123.zip");
    assert_eq!(zip_names(&zip), ["people.csv"]);
    let text = unzip_entry(&zip, "people.csv");
    assert!(
        text.starts_with("id,name,note,born,seen,big,score,active\r\n"),
        "CRLF and header by default:\n{text}"
    );
    assert!(!text.starts_with('\u{feff}'), "no BOM by default");
    let rows = parse_csv(&text);
    assert_eq!(
        rows[1..],
        [
            vec![
                "1",
                "O'Brien, \"Jo\"",
                "line one\nline two",
                "2010-05-01",
                "2026-11-23 18:30:05",
                "9007199254740993",
                "12.5",
                "1"
            ],
            vec![
                "2",
                "José ñ ü 中文 😀",
                "",
                "2011-01-02",
                "2026-01-02 03:04:05.123",
                "-9223372036854775808",
                "-0.25",
                "0"
            ],
            vec!["3", "  padded  ", "", "", "", "", "", ""],
        ]
    );
    // RFC 4180 quoting on the wire, not just something our parser accepts.
    assert!(text.contains("1,\"O'Brien, \"\"Jo\"\"\",\"line one\nline two\","), "{text}");
    let history = ws.history();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["outcome"], "success");
    assert_eq!(history[0]["files"][0]["rows"], 3);
    assert_eq!(history[0]["files"][0]["header"][1], "name");
    assert_eq!(history[0]["zip_bytes"], std::fs::metadata(&zip).unwrap().len());
    assert_eq!(history[0]["zip_sha256"].as_str().unwrap().len(), 64);
    // Nothing left behind but the zip, and it is private.
    let names: Vec<String> = std::fs::read_dir(ws.path("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into())
        .collect();
    assert_eq!(names, ["t-20261123.zip"]);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&zip).unwrap().permissions().mode() & 0o777, 0o600);
}

#[test]
fn the_as_of_date_is_a_bound_parameter() {
    let ws = workspace(
        "CREATE TABLE enrollment (id integer, startDate date, endDate date);
         INSERT INTO enrollment VALUES (1,'2025-08-20',NULL),(2,'2025-08-20','2025-12-19'),(3,'2026-01-05',NULL);",
        "",
        "",
    );
    ws.write(
        "q/enrollments.sql",
        "SELECT id FROM enrollment WHERE startDate <= ? AND (endDate IS NULL OR endDate >= ?) ORDER BY id",
    );
    ws.run(&["run", "--as-of", "2025-12-01"]).assert_ok();
    ws.run(&["run", "--as-of", "2026-02-01"]).assert_ok();
    let december = parse_csv(&unzip_entry(&ws.path("out/t-20251201.zip"), "enrollments.csv"));
    let february = parse_csv(&unzip_entry(&ws.path("out/t-20260201.zip"), "enrollments.csv"));
    assert_eq!(december, [["id"], ["1"], ["2"]]);
    assert_eq!(february, [["id"], ["1"], ["3"]]);
}

#[test]
fn queries_that_write_are_refused_before_they_are_sent() {
    for (file, sql, line) in [
        ("delete.sql", "-- tidy up\n\nDELETE FROM people", "line 3"),
        ("two.sql", "SELECT 1 AS one;\nDROP TABLE people", "line 2"),
        ("into.sql", "SELECT * INTO copy FROM people", "line 1"),
        ("update.sql", "WITH x AS (SELECT 1 AS a)\nUPDATE people SET name = 'x'", "line 2"),
    ] {
        let ws = workspace(AWKWARD, "", "");
        ws.write(&format!("q/{file}"), sql);
        let run = ws.run(&["run"]);
        run.assert_code(1).assert_stderr_contains(file).assert_stderr_contains(line);
        assert!(run.stderr.contains("refused") || run.stderr.contains("only"), "{}", run.stderr);
        assert_eq!(
            sqlite(&ws.path("db.sqlite"), "SELECT count(*) FROM people").trim(),
            "3",
            "{file}: table unchanged"
        );
        assert!(std::fs::read_dir(ws.path("out")).unwrap().next().is_none(), "{file}: nothing delivered");
        let history = ws.history();
        assert_eq!(history[0]["outcome"], "failed");
        assert!(history[0]["error"].as_str().unwrap().contains(file));
    }
}

#[test]
fn the_sqlite_session_itself_is_read_only() {
    // The second line of defence behind query vetting: the session refuses writes even if
    // a statement got through. SQLite has no SELECT that writes, so read the setting.
    let ws = workspace(AWKWARD, "", "");
    ws.write("q/mode.sql", "SELECT query_only AS read_only FROM pragma_query_only");
    ws.run(&["run", "--as-of", "2026-11-23"]).assert_ok();
    let rows = parse_csv(&unzip_entry(&ws.path("out/t-20261123.zip"), "mode.csv"));
    assert_eq!(rows, [["read_only"], ["1"]]);
}

#[test]
fn a_value_longer_than_its_buffer_is_an_error_naming_the_column() {
    let ws = workspace(
        "CREATE TABLE notes (id integer, body text); INSERT INTO notes VALUES (1, 'short'), (2, 'this value is far longer than twenty characters, and longer than sixty bytes of UTF-8 too');",
        "max_text_length = 20\n",
        "",
    );
    ws.write("q/notes.sql", "SELECT id, body FROM notes ORDER BY id");
    let run = ws.run(&["run"]);
    run.assert_code(1)
        .assert_stderr_contains(
            "notes.sql: a value of column \"body\" is longer than its buffer of 20 characters",
        )
        .assert_stderr_contains("source.max_text_length");
    assert!(std::fs::read_dir(ws.path("out")).unwrap().next().is_none(), "nothing delivered");
}

#[test]
fn a_missing_odbc_driver_lists_the_installed_ones() {
    let ws = workspace(AWKWARD, "", "");
    let config = std::fs::read_to_string(ws.path("config.toml"))
        .unwrap()
        .replace("Driver=SQLite3", "Driver={No Such Driver}");
    ws.write("config.toml", &config);
    ws.write("q/people.sql", "SELECT id FROM people");
    let run = ws.run(&["run"]);
    run.assert_code(1)
        .assert_stderr_contains(
            "the ODBC driver \"No Such Driver\" is not installed on this server (installed: ",
        )
        .assert_stderr_contains("SQLite3");
}

#[test]
fn dry_run_builds_the_zip_and_says_where_it_is() {
    let ws = workspace(AWKWARD, "", "");
    ws.write("q/people.sql", "SELECT id, name FROM people ORDER BY id");
    let run = ws.run(&["run", "--dry-run", "--as-of", "2026-11-23"]);
    run.assert_ok();
    assert!(std::fs::read_dir(ws.path("out")).unwrap().next().is_none(), "a dry run delivers nothing");
    let line = run.stdout.lines().next().unwrap();
    let zip = line.split("the zip is at ").nth(1).unwrap_or_else(|| panic!("no location in {line:?}"));
    assert!(zip.ends_with("t-20261123.zip"));
    assert_eq!(parse_csv(&unzip_entry(std::path::Path::new(zip), "people.csv")).len(), 4);
    assert_eq!(ws.history()[0]["outcome"], "dry_run");
}

#[test]
fn keep_bom_and_lf_line_endings() {
    let ws = workspace(AWKWARD, "", "bom = true\nline_ending = \"lf\"\n");
    ws.write("q/people.sql", "SELECT id, name FROM people ORDER BY id");
    ws.write("q/count.sql", "SELECT count(*) AS people FROM people");
    ws.run(&["run", "--keep", "kept", "--as-of", "2026-11-23"]).assert_ok();
    let kept = std::fs::read_to_string(ws.path("kept/people.csv")).unwrap();
    assert!(kept.starts_with("\u{feff}id,name\n1,"), "{kept:?}");
    assert!(!kept.contains('\r'));
    assert!(ws.path("kept/count.csv").exists() && ws.path("kept/t-20261123.zip").exists());
    assert_eq!(
        zip_names(&ws.path("out/t-20261123.zip")),
        ["count.csv", "people.csv"],
        "name order, names only"
    );
}

#[test]
fn unnamed_or_duplicate_columns_are_errors() {
    let ws = workspace(AWKWARD, "", "");
    ws.write("q/dup.sql", "SELECT id, id FROM people");
    ws.run(&["run"])
        .assert_code(1)
        .assert_stderr_contains("dup.sql: result columns 1 and 2 are both named \"id\"");
}

#[test]
fn a_missing_destination_folder_is_an_error_not_created() {
    let ws = workspace(AWKWARD, "", "");
    std::fs::remove_dir(ws.path("out")).unwrap();
    ws.write("q/people.sql", "SELECT id FROM people");
    ws.run(&["run"])
        .assert_code(1)
        .assert_stderr_contains("the destination folder")
        .assert_stderr_contains("does not exist");
    assert!(!ws.path("out").exists());
}

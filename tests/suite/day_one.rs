//! A district admin's first day (issue 23): the mistakes a new admin makes with secrets,
//! paths and moved configs end in a recorded failure and a message that names the cause,
//! never in a silent night.

use std::path::PathBuf;
use std::process::Command;

use crate::support::{Workspace, service, sqlite};

/// A workspace reading PostgreSQL with the password from `password_line`, into a folder.
fn pg_workspace(password_line: &str, extra_top: &str) -> Workspace {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path("out")).unwrap();
    ws.write("q/one.sql", "SELECT 1 AS one");
    ws.write(
        "config.toml",
        &format!(
            "history_file = \"history.jsonl\"\n{extra_top}\n[source]\nconnection_string = \"{}\"\nuser = \"{}\"\n{password_line}\n{}",
            service("SIS_TEST_PG_CONN"),
            service("SIS_TEST_PG_READER_USER"),
            crate::support::local_job("pg", "q", "out")
        ),
    );
    ws
}

#[test]
fn a_missing_password_variable_fails_the_run_on_the_record_and_runs_the_hook() {
    // A scheduled task that lost its environment: the variable is not set.
    let hook_marker = tempfile::NamedTempFile::new().unwrap().into_temp_path().to_path_buf();
    let ws = pg_workspace(
        "password = { env = \"SIS_DAY_ONE_UNSET_PASSWORD\" }",
        &format!("on_failure = [\"sh\", \"-c\", \"echo called > {}\"]", hook_marker.display()),
    );
    let run = ws.run(&["run"]);
    assert_eq!(run.code, 1, "a failed run, not a config error: {}", run.both());
    assert!(
        run.stderr.contains("environment variable SIS_DAY_ONE_UNSET_PASSWORD is not set"),
        "{}",
        run.stderr
    );
    let history = ws.history();
    assert_eq!(history.len(), 1, "the night is on the record");
    assert_eq!(history[0]["outcome"], "failed");
    assert!(history[0]["error"].as_str().unwrap().contains("SIS_DAY_ONE_UNSET_PASSWORD"));
    assert_eq!(std::fs::read_to_string(&hook_marker).unwrap_or_default().trim(), "called", "on_failure ran");
    let _ = std::fs::remove_file(&hook_marker);

    // A helpdesk colleague without the secret can still look.
    ws.run(&["history"]).assert_ok();
    let config = ws.run(&["config"]);
    config.assert_ok();
    assert!(
        config
            .stdout
            .contains("NOT AVAILABLE to this account (environment variable SIS_DAY_ONE_UNSET_PASSWORD)"),
        "{}",
        config.stdout
    );
}

#[test]
fn a_rejected_password_names_where_it_was_read_and_the_tools_own_words_stay_intact() {
    // "password" is a weak secret: sis-extract warns, and must not turn its own
    // "check source.password" into "check source.***" (which would give it away).
    let mut ws = pg_workspace("password = { env = \"SIS_DAY_ONE_PW\" }", "");
    ws.set_env("SIS_DAY_ONE_PW", "password");
    let config = ws.run(&["config"]);
    config.assert_ok();
    assert!(
        config.stderr.contains("source.password (environment variable SIS_DAY_ONE_PW) is a common password"),
        "{}",
        config.stderr
    );
    let run = ws.run(&["run"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains(
            "check source.user and source.password (read from environment variable SIS_DAY_ONE_PW)"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.both().contains("source.***"), "{}", run.both());
}

#[test]
fn a_secret_file_saved_by_powershell_with_a_bom_and_crlf_works() {
    let ws = pg_workspace("password = { file = \"db-password.txt\" }", "");
    let mut bytes = "\u{feff}".as_bytes().to_vec();
    bytes.extend_from_slice(service("SIS_TEST_PG_READER_PASSWORD").as_bytes());
    bytes.extend_from_slice(b"\r\n");
    std::fs::write(ws.path("db-password.txt"), bytes).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(ws.path("db-password.txt"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let run = ws.run(&["run"]);
    assert_eq!(run.code, 0, "{}", run.both());
}

#[test]
fn a_windows_path_in_double_quotes_is_explained() {
    let ws = Workspace::new();
    ws.write("config.toml", "history_file = \"C:\\ProgramData\\sis-extract\\history.jsonl\"\n");
    let run = ws.run(&["config"]);
    run.assert_code(2)
        .assert_stderr_contains("looks like a Windows path")
        .assert_stderr_contains("('C:\\ProgramData\\sis-extract\\history.jsonl')")
        .assert_stderr_contains("C:/ProgramData/sis-extract/history.jsonl");
}

#[test]
fn a_missing_config_file_is_named_by_its_absolute_path() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(crate::support::bin())
        .current_dir(dir.path())
        .args(["-c", "not-here.toml", "config"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let absolute: PathBuf = dir.path().canonicalize().unwrap().join("not-here.toml");
    assert!(
        stderr.contains(&absolute.display().to_string())
            || stderr.contains(&dir.path().join("not-here.toml").display().to_string()),
        "{stderr}"
    );
}

#[test]
fn a_first_run_without_a_history_file_says_where_it_looked_in_its_report() {
    // The config moved: its relative history_file now points into a new folder.
    let ws = Workspace::new();
    let db = ws.path("db.sqlite");
    sqlite(&db, "CREATE TABLE t (id integer); INSERT INTO t VALUES (1);");
    ws.write("q/t.sql", "SELECT id FROM t");
    std::fs::create_dir_all(ws.path("out")).unwrap();
    ws.write(
        "config.toml",
        &format!(
            "history_file = \"history.jsonl\"\n[source]\nconnection_string = \"Driver=SQLite3;Database={}\"\n{}",
            db.display(),
            crate::support::local_job("moved", "q", "out")
        ),
    );
    // The report says so (a genuine first night is not warned about: nothing is wrong).
    let run = ws.run(&["run"]);
    run.assert_ok();
    let looked = format!("(no history file at {})", ws.path("history.jsonl").display());
    assert!(run.stdout.contains(&looked), "{}", run.both());
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    // The second night has its history and compares with the first.
    let again = ws.run(&["run"]);
    again.assert_ok();
    assert!(!again.both().contains("no history file"), "{}", again.both());
}

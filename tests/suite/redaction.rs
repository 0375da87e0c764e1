//! The secret redactor end to end: a password that also appears, as plain text, in a
//! message sis-extract prints or records (the user name the database echoes back, the
//! host the SFTP error names). The message really holds the text, so the test sees the
//! redactor at work: `***` where the text was, and the text nowhere, not in stdout,
//! stderr (with -v, the driver's own message too), the history, the log file or the
//! failure hook's report.

use crate::support::{Run, Workspace, service, sqlite};

/// Every place a run writes text to: its stdout and stderr, then the history, the log
/// files and the report the failure hook received.
fn everything_written(ws: &Workspace, run: &Run) -> Vec<(String, String)> {
    let mut places =
        vec![("stdout".to_string(), run.stdout.clone()), ("stderr".to_string(), run.stderr.clone())];
    places.push(("history".into(), ws.history_text()));
    let logs: Vec<_> = std::fs::read_dir(ws.path("logs")).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(!logs.is_empty(), "a log file was written");
    for log in logs {
        places.push((log.display().to_string(), std::fs::read_to_string(&log).unwrap()));
    }
    places.push(("hook report".into(), std::fs::read_to_string(ws.path("hook.json")).unwrap()));
    places
}

fn assert_nowhere(places: &[(String, String)], secret: &str) {
    for (place, text) in places {
        assert!(!text.contains(secret), "the secret {secret:?} appears in the {place}:\n{text}");
    }
}

const TOP: &str = "history_file = \"history.jsonl\"\nlog_file = \"logs/sis-extract.log\"\n\
                   on_failure = [\"sh\", \"-c\", \"cat > hook.json\"]\n";

#[test]
fn a_database_password_equal_to_the_user_name_is_redacted_where_the_server_echoes_the_user() {
    let user = service("SIS_TEST_PG_READER_USER");
    let mut ws = Workspace::new();
    std::fs::create_dir_all(ws.path("out")).unwrap();
    ws.write("q/t.sql", "SELECT 1 AS one");
    ws.write(
        "config.toml",
        &format!(
            "{TOP}[source]\nconnection_string = \"{}\"\nuser = \"{user}\"\npassword = {{ env = \"DB_PW\" }}\n\n{}",
            service("SIS_TEST_PG_CONN"),
            crate::support::local_job("j", "q", "out")
        ),
    );
    // A wrong password, and the worst one: the user name itself. PostgreSQL answers
    // `password authentication failed for user "<user>"`.
    ws.set_env("DB_PW", &user);
    let run = ws.run(&["-v", "run"]);
    run.assert_code(1).assert_stderr_contains("the database rejected the user name or password");
    // The message held the user name (= the password): it is there, as ***.
    assert!(run.stderr.contains("password authentication failed for user \"***\""), "{}", run.stderr);
    let history = ws.history();
    assert_eq!(history[0]["outcome"], "failed");
    assert!(
        history[0]["error"].as_str().unwrap().contains("password authentication failed for user \"***\""),
        "{}",
        history[0]["error"]
    );
    assert_nowhere(&everything_written(&ws, &run), &user);
}

#[test]
fn an_sftp_password_equal_to_the_host_is_redacted_from_every_message_naming_the_server() {
    let host = "127.0.0.1";
    let mut ws = Workspace::new();
    let db = ws.path("db.sqlite");
    sqlite(&db, "CREATE TABLE t (id integer); INSERT INTO t VALUES (1);");
    ws.write("q/t.sql", "SELECT id FROM t");
    ws.write(
        "config.toml",
        &format!(
            "{TOP}[source]\nconnection_string = \"Driver=SQLite3;Database={}\"\n\n\
             [[job]]\nname = \"j\"\nqueries = \"q\"\nformat = \"csv\"\narchive = \"j.zip\"\n\n\
             [job.destination]\nkind = \"sftp\"\nhost = \"{host}\"\nport = {}\nuser = \"{}\"\npassword = {{ env = \"PW\" }}\n\
             host_key = \"{}\"\nremote_dir = \"incoming\"\ntimeout = \"5s\"\nattempts = 1\n",
            db.display(),
            service("SIS_TEST_SSH_PORT"),
            service("SIS_TEST_SSH_USER"),
            service("SIS_TEST_SSH_HOSTKEY_ED25519"),
        ),
    );
    // A wrong password equal to the host name: every message naming the server holds it.
    ws.set_env("PW", host);
    let run = ws.run(&["-v", "run"]);
    run.assert_code(1).assert_stderr_contains("rejected the password");
    let user = service("SIS_TEST_SSH_USER");
    let port = service("SIS_TEST_SSH_PORT");
    assert!(run.stderr.contains(&format!("{user}@***:{port}")), "{}", run.stderr);
    let history = ws.history();
    assert_eq!(history[0]["outcome"], "failed");
    assert!(history[0]["error"].as_str().unwrap().contains(&format!("{user}@***:{port}")), "{}", history[0]);
    assert_nowhere(&everything_written(&ws, &run), host);
}

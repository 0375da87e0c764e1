//! Issue 18 as a hostile tester tried it, for the parts that live in the config, the
//! failure hook, `validate` and the log: every mistake in `tests/hostile/configs/` is
//! refused at `config` time with exit 2; the hook never sees a secret; `validate` stays in
//! bounded memory on a zip bomb and never follows a symlink; `--log-format json` is JSON to
//! the last line, and the log file records the fatal error.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{Workspace, service};

fn hostile(folder: &str) -> PathBuf {
    crate::support::repo().join("tests/hostile").join(folder)
}

/// Every file in `tests/hostile/configs/` is one mistake; its first line says
/// `# expect: MESSAGE`. `sis-extract -c FILE config` must exit 2 with that message, on one
/// line.
#[test]
fn every_hostile_config_is_refused_at_config_time() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(hostile("configs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "the corpus is incomplete: {files:?}");
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{}: the first line must be `# expect: MESSAGE`", file.display()));
        // A copy, so the check for "changed by other users" does not depend on the checkout.
        let ws = Workspace::new();
        let copy = ws.write("config.toml", &text);
        let output = Command::new(crate::support::bin())
            .current_dir(ws.dir.path())
            .arg("-c")
            .arg(&copy)
            .arg("config")
            .env("HOSTILE_SFTP_PW", "hostile-sftp-pw")
            .env_remove("SIS_EXTRACT_CONFIG")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.code() != Some(2) || !stderr.contains(expect) || stderr.lines().count() != 1 {
            failures.push(format!(
                "{}: exit {:?}, expected 2 and {expect:?}; stderr: {stderr}",
                file.file_name().unwrap().to_string_lossy(),
                output.status.code()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} refused wrongly:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

const LOCAL_SOURCE: &str = "[source]\nconnection_string = \"Driver=SQLite3;Database=x.db\"\n";

#[test]
fn a_config_file_larger_than_1_mib_is_refused_before_it_is_read_whole() {
    let ws = Workspace::new();
    let padding = "# padding\n".repeat(120_000);
    ws.write(
        "config.toml",
        &format!("{LOCAL_SOURCE}{}{padding}", crate::support::local_job("a", "q", "out")),
    );
    let run = ws.run(&["config"]);
    run.assert_code(2).assert_stderr_contains("is larger than 1 MiB, the limit for a config file");
}

/// A FIFO named as a secret file would block `open` for ever; it is refused instead.
#[test]
fn a_fifo_as_secret_file_is_refused_not_waited_on() {
    let ws = Workspace::new();
    let fifo = ws.path("pw.fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    ws.write("q/one.sql", "SELECT 1 AS one");
    ws.write(
        "config.toml",
        &format!(
            "[source]\nconnection_string = \"Driver=SQLite3;Database=x.db\"\npassword = {{ file = \"pw.fifo\" }}\n{}",
            crate::support::local_job("a", "q", "out")
        ),
    );
    let mut child = Command::new(crate::support::bin())
        .current_dir(ws.dir.path())
        .arg("-c")
        .arg(ws.path("config.toml"))
        .arg("run")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(20) {
            child.kill().unwrap();
            panic!("sis-extract hung opening a FIFO named as a secret file");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The secret is needed to connect: the run fails (on the record), it does not hang.
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("source.password: cannot read the secret file") && stderr.contains("FIFO"),
        "{stderr}"
    );
}

/// The failing job's hook dumps its environment: neither password, nor the variables they
/// came from, nor another variable holding the same password reaches it.
#[test]
fn the_failure_hook_receives_no_secret() {
    let db_password = service("SIS_TEST_PG_READER_PASSWORD");
    let sftp_password = "hook-test-sftp-pw;}{=x";
    let mut ws = Workspace::new();
    ws.set_env("HOSTILE_DB_PW", &db_password);
    ws.set_env("HOSTILE_SFTP_PW", sftp_password);
    // The same password exported for psql under another name.
    ws.set_env("PGPASSWORD", &db_password);
    ws.set_env("HOSTILE_HARMLESS", "still-here");
    std::fs::create_dir_all(ws.path("q")).unwrap();
    ws.write("q/users.sql", "SELECT id FROM no_such_table_hostile_hook\n");
    let dump = ws.path("hook-env.txt");
    ws.write(
        "config.toml",
        &format!(
            "history_file = \"history.jsonl\"\n[source]\nconnection_string = \"{}\"\nuser = \"{}\"\npassword = {{ env = \"HOSTILE_DB_PW\" }}\n\n\
             [[job]]\nname = \"v\"\nqueries = \"q\"\nformat = \"csv\"\narchive = \"v.zip\"\non_failure = [\"/bin/sh\", \"-c\", \"env > '{}'\"]\n\n\
             [job.destination]\nkind = \"sftp\"\nhost = \"127.0.0.1\"\nport = 1\nuser = \"u\"\npassword = {{ env = \"HOSTILE_SFTP_PW\" }}\n\
             host_key = \"SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\"\nattempts = 1\n",
            service("SIS_TEST_PG_CONN"),
            service("SIS_TEST_PG_READER_USER"),
            dump.display()
        ),
    );
    let run = ws.run(&["run"]);
    run.assert_code(1).assert_stderr_contains("no_such_table_hostile_hook");
    let env = std::fs::read_to_string(&dump).expect("the hook ran and wrote its environment");
    assert!(env.contains("SIS_EXTRACT_JOB=v") && env.contains("HOSTILE_HARMLESS=still-here"), "{env}");
    for secret in [db_password.as_str(), sftp_password] {
        assert!(!env.contains(secret), "a password reached the hook:\n{env}");
    }
    for name in ["HOSTILE_DB_PW=", "HOSTILE_SFTP_PW=", "PGPASSWORD=", "SIS_TEST_PG_READER_PASSWORD="] {
        assert!(!env.lines().any(|l| l.starts_with(name)), "{name} reached the hook:\n{env}");
    }
}

/// Runs `sis-extract ARGS…` in `dir` with a time limit (a FIFO must not hang it).
fn run_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> crate::support::Run {
    let mut command = Command::new(crate::support::bin());
    command.current_dir(dir).args(args).env_remove("SIS_EXTRACT_CONFIG").env_remove("SIS_EXTRACT_LOG");
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child =
        command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("sis-extract {args:?} hung");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    crate::support::Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Every zip in `tests/hostile/zips/` is refused as `expectations.txt` says, and nothing
/// of it is reported as a validated set.
#[test]
fn every_hostile_zip_is_refused() {
    let dir = hostile("zips");
    let expectations = std::fs::read_to_string(dir.join("expectations.txt")).unwrap();
    let expected: Vec<(&str, &str)> = expectations
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split_once(": ").unwrap())
        .collect();
    let mut zips: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".zip"))
        .collect();
    zips.sort();
    let mut listed: Vec<String> = expected.iter().map(|(z, _)| z.to_string()).collect();
    listed.sort();
    assert_eq!(zips, listed, "every zip has one expectation");
    let mut failures = Vec::new();
    for (zip, message) in &expected {
        let run = run_in(&dir, &["validate", zip], &[]);
        if run.code != 1 || !run.stderr.contains(message) || run.stdout.contains("OneRoster 1.") {
            failures.push(format!(
                "{zip}: exit {}, expected 1 and {message:?}\n{}{}",
                run.code, run.stdout, run.stderr
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The peak resident memory of a command, from GNU time's "Maximum resident set size".
fn peak_rss_kib(dir: &Path, args: &[&str]) -> (u64, crate::support::Run) {
    let mut full = vec!["-v", crate::support::bin()];
    full.extend_from_slice(args);
    let output =
        Command::new("/usr/bin/time").current_dir(dir).args(&full).output().expect("GNU time installed");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let kib = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes): "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak RSS in: {stderr}"));
    let run = crate::support::Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr,
    };
    (kib, run)
}

/// A 256 KiB zip holding one quoted 256 MiB field: validate used to buffer the field
/// (about 800 MB peak); now it stops at the 1 MiB record limit in bounded memory.
#[test]
fn validate_of_a_field_bomb_stays_in_bounded_memory() {
    let dir = hostile("zips");
    assert!(std::fs::metadata(dir.join("field-bomb.zip")).unwrap().len() < 1024 * 1024);
    let (kib, run) = peak_rss_kib(&dir, &["validate", "field-bomb.zip"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("longer than 1 MiB, the limit for one row"), "{}", run.stderr);
    assert!(kib < 100 * 1024, "validate of the field bomb peaked at {kib} KiB");
}

/// The same bound for a set folder: one 200 MiB record in users.csv.
#[test]
fn validate_of_a_folder_with_a_giant_record_stays_in_bounded_memory() {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path("set")).unwrap();
    let zip = hostile("zips/field-bomb.zip");
    assert!(
        Command::new("unzip").arg("-q").arg(&zip).arg("-d").arg(ws.path("set")).status().unwrap().success()
    );
    let (kib, run) = peak_rss_kib(ws.dir.path(), &["validate", "set"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("validating set: users.csv: the record starting on line 2 is longer than 1 MiB"),
        "{}",
        run.stderr
    );
    assert!(kib < 100 * 1024, "validate peaked at {kib} KiB");
}

const SECRET_CONTENT: &str = "root-only-secret-line,do-not-echo";

/// A set folder whose users.csv is a link to a file the attacker wants to read: refused,
/// and not one byte of the target appears in the output.
#[test]
fn validate_refuses_symlinks_and_fifos_in_a_set_folder() {
    let ws = Workspace::new();
    let secret = ws.write("private/secret.csv", &format!("{SECRET_CONTENT}\n{SECRET_CONTENT}\n"));
    std::fs::create_dir_all(ws.path("set")).unwrap();
    ws.write("set/manifest.csv", "propertyName,value\nmanifest.version,1.0\n");
    std::os::unix::fs::symlink(&secret, ws.path("set/users.csv")).unwrap();
    let run = run_in(ws.dir.path(), &["validate", "set"], &[]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("users.csv is a symbolic link (to ")
            && run.stderr.contains("does not follow links"),
        "{}",
        run.stderr
    );
    assert!(!run.both().contains("root-only-secret"), "the link's target was echoed:\n{}", run.both());

    // A link as the manifest, too.
    std::fs::remove_file(ws.path("set/users.csv")).unwrap();
    std::fs::remove_file(ws.path("set/manifest.csv")).unwrap();
    std::os::unix::fs::symlink(&secret, ws.path("set/manifest.csv")).unwrap();
    let run = run_in(ws.dir.path(), &["validate", "set"], &[]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("manifest.csv is a symbolic link"), "{}", run.stderr);
    assert!(!run.both().contains("root-only-secret"), "{}", run.both());

    // A FIFO would block the read for ever.
    std::fs::remove_file(ws.path("set/manifest.csv")).unwrap();
    assert!(Command::new("mkfifo").arg(ws.path("set/manifest.csv")).status().unwrap().success());
    let run = run_in(ws.dir.path(), &["validate", "set"], &[]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("manifest.csv is not a regular file"), "{}", run.stderr);
}

/// A symbolic link as PATH is refused, naming the target to pass instead.
#[test]
fn validate_refuses_a_symlink_path_and_names_its_target() {
    let ws = Workspace::new();
    let secret = ws.write("private/secret.csv", &format!("{SECRET_CONTENT}\n"));
    std::os::unix::fs::symlink(&secret, ws.path("set.zip")).unwrap();
    let run = run_in(ws.dir.path(), &["validate", "set.zip"], &[]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "set.zip is a symbolic link to {}; validate does not follow links: pass {} itself",
            secret.display(),
            secret.display()
        )),
        "{}",
        run.stderr
    );
    assert!(!run.both().contains("root-only-secret"));
    // A folder link too.
    std::os::unix::fs::symlink("private", ws.path("set")).unwrap();
    let run = run_in(ws.dir.path(), &["validate", "set"], &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains(
            "set is a symbolic link to private; validate does not follow links: pass private itself"
        ),
        "{}",
        run.stderr
    );
}

/// A workspace with a SQLite database, a query folder `q` holding `query` as `t.sql`, a
/// log file under `logs/`, and one local job.
fn log_workspace(query: &str) -> Workspace {
    let ws = Workspace::new();
    crate::support::sqlite(&ws.path("db.sqlite"), "CREATE TABLE t (id integer); INSERT INTO t VALUES (1);");
    std::fs::create_dir_all(ws.path("out")).unwrap();
    ws.write("q/t.sql", query);
    ws.write(
        "config.toml",
        &format!(
            "history_file = \"history.jsonl\"\nlog_file = \"logs/sis-extract.log\"\n[source]\nconnection_string = \"Driver=SQLite3;Database={}\"\n{}",
            ws.path("db.sqlite").display(),
            crate::support::local_job("j", "q", "out")
        ),
    );
    ws
}

/// Today's log file (tracing-appender's naming, kept: the UTC date).
fn todays_log(ws: &Workspace) -> PathBuf {
    ws.path(&format!("logs/sis-extract.{}.log", chrono::Utc::now().format("%Y-%m-%d")))
}

/// With `--log-format json` every stderr line is JSON, the fatal error included (a
/// warning printed before logging starts too); the log file records the error.
#[test]
fn json_logs_are_json_to_the_last_line_and_the_log_file_has_the_error() {
    let ws = log_workspace("SELECT id FROM no_such_table_json\n");
    // Writable by others: a warning that is printed while the config is read.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(ws.path("config.toml"), std::fs::Permissions::from_mode(0o664)).unwrap();
    let run = ws.run(&["--log-format", "json", "-v", "run"]);
    run.assert_code(1);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(lines.len() >= 3, "{}", run.stderr);
    for line in &lines {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}\n{}", run.stderr));
        assert!(value["level"].is_string() && value["fields"]["message"].is_string(), "{line}");
    }
    let fatal: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["level"] == "ERROR")
        .collect();
    assert_eq!(fatal.len(), 1, "{}", run.stderr);
    let message = fatal[0]["fields"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("job \"j\" failed: t.sql") && message.contains("no_such_table_json"),
        "{message}"
    );
    assert!(
        lines.iter().any(|l| l.contains("can be changed by other users") && l.contains("\"WARN\"")),
        "{}",
        run.stderr
    );

    let log = std::fs::read_to_string(todays_log(&ws)).unwrap();
    assert!(log.lines().any(|l| l.contains("ERROR") && l.contains("job \"j\" failed: t.sql")), "{log}");
}

/// Text mode: the fatal error on stderr exactly once, and in the log file.
#[test]
fn the_log_file_records_the_fatal_error_in_text_mode_too() {
    let ws = log_workspace("SELECT id FROM no_such_table_text\n");
    let run = ws.run(&["run"]);
    run.assert_code(1);
    assert_eq!(run.stderr.matches("no_such_table_text").count(), 1, "{}", run.stderr);
    assert!(run.stderr.starts_with("sis-extract: error: job \"j\" failed: t.sql"), "{}", run.stderr);
    let log = std::fs::read_to_string(todays_log(&ws)).unwrap();
    assert!(log.lines().any(|l| l.contains("ERROR") && l.contains("no_such_table_text")), "{log}");
}

/// The log file is created 0600; a symbolic link or FIFO planted at its path is refused
/// with a warning (the run goes on, logging to stderr only), never written through or
/// waited on.
#[test]
fn the_log_file_is_private_and_never_a_planted_link_or_fifo() {
    let ws = log_workspace("SELECT id FROM t\n");
    ws.run(&["run", "--as-of", "2026-01-15"]).assert_ok();
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(todays_log(&ws)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "log file mode {mode:o}");

    // Another user's planted link, pointing at a file they would read.
    let ws = log_workspace("SELECT id FROM t\n");
    std::fs::create_dir_all(ws.path("logs")).unwrap();
    let victim = ws.write("elsewhere/collected.txt", "");
    std::os::unix::fs::symlink(&victim, todays_log(&ws)).unwrap();
    let run = run_in(ws.dir.path(), &["-c", "config.toml", "run", "--as-of", "2026-01-15"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("is a symbolic link; sis-extract does not write its log through one"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "", "the log was written through the link");

    // A FIFO: opening it for writing would wait for a reader for ever.
    let ws = log_workspace("SELECT id FROM t\n");
    std::fs::create_dir_all(ws.path("logs")).unwrap();
    assert!(Command::new("mkfifo").arg(todays_log(&ws)).status().unwrap().success());
    let run = run_in(ws.dir.path(), &["-c", "config.toml", "run", "--as-of", "2026-01-15"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("is not a regular file"), "{}", run.stderr);
}

/// `schedule --log-format json`: a failed run and the missed-run notice are JSON lines on
/// stderr, and the failure is in the log file.
#[test]
fn schedule_failed_runs_are_json_and_logged() {
    let ws = log_workspace("SELECT id FROM no_such_table_schedule\n");
    let config = std::fs::read_to_string(ws.path("config.toml")).unwrap();
    ws.write(
        "config.toml",
        &config.replace("format = \"csv\"", "format = \"csv\"\nschedule = \"30 18 * * *\"\ncatch_up = true"),
    );
    ws.write("history.jsonl", &crate::support::success_a_week_ago("j"));
    let mut child = Command::new(crate::support::bin())
        .current_dir(ws.dir.path())
        .args(["-c", "config.toml", "--log-format", "json", "schedule"])
        .env_remove("SIS_EXTRACT_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !ws.history().iter().any(|r| r["outcome"] == "failed") {
        if started.elapsed() > std::time::Duration::from_secs(30) {
            child.kill().unwrap();
            panic!("no failed catch-up run: {}", ws.history_text());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // The failure is logged right after the history line is written.
    std::thread::sleep(std::time::Duration::from_millis(300));
    // SIGKILL, not SIGTERM: the stop notice is written by src/stop.rs's signal handler,
    // which is not part of this test.
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    for line in stderr.lines() {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}\n{stderr}"));
        assert!(value["fields"]["message"].is_string(), "{line}");
    }
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("\"level\":\"ERROR\"")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("run failed") && errors[0].contains("no_such_table_schedule"), "{stderr}");
    assert!(stderr.contains("a scheduled run was missed"), "{stderr}");
    let log = std::fs::read_to_string(todays_log(&ws)).unwrap();
    assert!(log.lines().any(|l| l.contains("ERROR") && l.contains("no_such_table_schedule")), "{log}");
}

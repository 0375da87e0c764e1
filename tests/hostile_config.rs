//! Issue 18 as a hostile tester tried it, for the parts that live in the config, the
//! failure hook, `validate` and the log: every mistake in `tests/hostile/configs/` is
//! refused at `config` time with exit 2; the hook never sees a secret; `validate` stays in
//! bounded memory on a zip bomb and never follows a symlink; `--log-format json` is JSON to
//! the last line, and the log file records the fatal error.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Workspace, service};

fn hostile(folder: &str) -> PathBuf {
    common::repo().join("tests/hostile").join(folder)
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
        // A copy, so the check for "readable by other users" does not depend on the checkout.
        let ws = Workspace::new();
        let copy = ws.write("config.toml", &text);
        let output = Command::new(common::bin())
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
    ws.write("config.toml", &format!("{LOCAL_SOURCE}{}{padding}", common::local_job("a", "q", "out")));
    let run = ws.run(&["config"]);
    run.assert_code(2).assert_stderr_contains("is larger than 1 MiB, the limit for a config file");
}

/// A FIFO named as a secret file would block `open` for ever; it is refused instead.
#[test]
fn a_fifo_as_secret_file_is_refused_not_waited_on() {
    let ws = Workspace::new();
    let fifo = ws.path("pw.fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    ws.write(
        "config.toml",
        &format!(
            "[source]\nconnection_string = \"Driver=SQLite3;Database=x.db\"\npassword = {{ file = \"pw.fifo\" }}\n{}",
            common::local_job("a", "q", "out")
        ),
    );
    let mut child = Command::new(common::bin())
        .current_dir(ws.dir.path())
        .arg("-c")
        .arg(ws.path("config.toml"))
        .arg("config")
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
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("source.password: cannot read secret file") && stderr.contains("FIFO"),
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

/// `Path` helper for messages.
#[allow(dead_code)]
fn show(path: &Path) -> String {
    path.display().to_string()
}

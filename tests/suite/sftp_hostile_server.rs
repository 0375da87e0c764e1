//! A hostile or broken SFTP server (issue 24, item 6): the real binary against
//! tests/hostile/sftp_servers/hostile_sftp.py, a paramiko SSH server whose `sftp`
//! subsystem answers with scripted bytes. Absurd length fields, answers to ids never sent,
//! an answer that never comes, one byte per second, a VERSION that lies, listings with
//! `..`, and (raw TCP) a banner that never ends.
//!
//! Each must end in a bounded time, with a named error, no panic, and nothing under the
//! final name in the server's folder. The server serves a real folder and logs every
//! request, so the test sees what the client asked for, not only what it printed.
//!
//! Needs /usr/bin/python3 with paramiko (Debian's python3-paramiko), not the test services.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Run, Workspace, sqlite};

/// The longest any hostile mode may hold a run with `timeout = "3s"` and one attempt: the
/// handshake, the request that hangs, the cleanup on a fresh session, the goodbye.
const BOUND: Duration = Duration::from_secs(45);
const PASSWORD: &str = "hostile-pw";
const FINAL_NAME: &str = "roster-20261123.zip";

/// The scripted server, killed when dropped (a failed assertion included).
struct Hostile {
    child: Child,
    port: u16,
    fingerprint: String,
    dir: tempfile::TempDir,
}

impl Hostile {
    /// Starts the server in `mode`, its trap on the first request of kind `at` in each SFTP
    /// session (`init`, `stat`, `open`, `write`, `fsync`, `close`, `posix-rename`...).
    fn start(mode: &str, at: &str) -> Hostile {
        let dir = tempfile::tempdir().unwrap();
        let script = crate::support::repo().join("tests/hostile/sftp_servers/hostile_sftp.py");
        let mut child = Command::new("/usr/bin/python3")
            .arg(script)
            .args(["--mode", mode, "--at", at, "--password", PASSWORD, "--lifetime", "240", "--dir"])
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("/usr/bin/python3 runs");
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut hostile = Hostile { child, port: 0, fingerprint: String::new(), dir };
        while hostile.port == 0 || hostile.fingerprint.is_empty() {
            let line = receiver.recv_timeout(Duration::from_secs(30)).expect(
                "the hostile server says its port and key within 30 s (is python3-paramiko installed?)",
            );
            if let Some(port) = line.strip_prefix("PORT ") {
                hostile.port = port.parse().unwrap();
            } else if let Some(fingerprint) = line.strip_prefix("FINGERPRINT ") {
                hostile.fingerprint = fingerprint.to_string();
            }
        }
        std::fs::create_dir_all(hostile.folder()).unwrap();
        hostile
    }

    /// The served copy of the remote folder `incoming`.
    fn folder(&self) -> PathBuf {
        self.dir.path().join("root/incoming")
    }

    fn listing(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.folder())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Every request the server received, as logged: one JSON object each.
    fn requests(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.dir.path().join("requests.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn requests_text(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("requests.log")).unwrap_or_default()
    }

    /// A workspace with a tiny SQLite source and one SFTP job to this server.
    fn workspace(&self) -> Workspace {
        let mut ws = Workspace::new();
        let db = ws.path("db.sqlite");
        sqlite(&db, "CREATE TABLE users (id integer, name text); INSERT INTO users VALUES (1, 'Zoë');");
        ws.write("q/users.sql", "SELECT id, name FROM users ORDER BY id");
        ws.write(
            "config.toml",
            &format!(
                "history_file = \"history.jsonl\"\n[source]\nconnection_string = \"Driver=SQLite3;Database={}\"\n\n\
                 [[job]]\nname = \"vendor\"\nqueries = \"q\"\nformat = \"csv\"\narchive = \"roster-{{date}}.zip\"\n\n\
                 [job.destination]\nkind = \"sftp\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"vendor\"\n\
                 password = {{ env = \"VENDOR_PW\" }}\nhost_key = \"{}\"\nremote_dir = \"incoming\"\n\
                 timeout = \"3s\"\nattempts = 1\n",
                db.display(),
                self.port,
                self.fingerprint,
            ),
        );
        ws.set_env("VENDOR_PW", PASSWORD);
        ws
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `sis-extract ARGS…` in the workspace, killing it (and failing) past `BOUND`.
fn run_bounded(ws: &Workspace, args: &[&str]) -> (Run, Duration) {
    let (out, err) = (ws.path("stdout.txt"), ws.path("stderr.txt"));
    let mut command = Command::new(crate::support::bin());
    command
        .current_dir(ws.dir.path())
        .arg("-c")
        .arg(ws.path("config.toml"))
        .args(args)
        .env_remove("SIS_EXTRACT_CONFIG")
        .env_remove("SIS_EXTRACT_LOG")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap());
    for (k, v) in &ws.env {
        command.env(k, v);
    }
    let started = Instant::now();
    let mut child = command.spawn().expect("run sis-extract");
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > BOUND {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "sis-extract {args:?} still ran after {BOUND:?}: a hostile server holds it\nstderr so far:\n{}",
                std::fs::read_to_string(&err).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: std::fs::read_to_string(&out).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err).unwrap_or_default(),
    };
    (run, started.elapsed())
}

/// Runs the job against a server in `mode` trapping at `at`; asserts the common outcome:
/// a failure within `BOUND`, naming `message`, without a panic, with nothing under the
/// final name and no hidden partial file left in the folder. Returns the run and server.
fn fails_cleanly(mode: &str, at: &str, message: &str) -> (Run, Hostile) {
    let hostile = Hostile::start(mode, at);
    let ws = hostile.workspace();
    let (run, took) = run_bounded(&ws, &["run", "--as-of", "2026-11-23"]);
    let context = format!(
        "mode {mode} at {at}, took {took:?}\nstderr:\n{}\nrequests:\n{}",
        run.stderr,
        hostile.requests_text()
    );
    assert_eq!(run.code, 1, "the run fails: {context}");
    assert!(run.stderr.contains(message), "the error names the problem ({message:?}): {context}");
    assert!(!run.both().contains("panicked"), "no panic: {context}");
    assert!(!hostile.folder().join(FINAL_NAME).exists(), "nothing under the final name: {context}");
    assert!(
        !hostile.requests().iter().any(|r| r["request"] == "posix-rename" || r["request"] == "rename"),
        "no rename was even asked for: {context}"
    );
    let history = ws.history();
    assert_eq!(history.last().map(|h| h["outcome"].clone()), Some("failed".into()), "{context}");
    eprintln!("mode {mode} at {at}: exit {} after {took:?}", run.code);
    (run, hostile)
}

/// Asserts that the hidden `.NAME.partial` was removed (or never made).
fn no_partial_left(hostile: &Hostile) {
    assert_eq!(
        hostile.listing(),
        Vec::<String>::new(),
        "the partial file is cleaned up\nrequests:\n{}",
        hostile.requests_text()
    );
}

#[test]
fn the_scripted_server_is_honest_outside_its_trap() {
    // A trap on a request the client never sends: the delivery must work, or the failures
    // below would prove nothing about the trap.
    let hostile = Hostile::start("no-reply", "mkdir");
    let ws = hostile.workspace();
    let (run, _) = run_bounded(&ws, &["run", "--as-of", "2026-11-23"]);
    run.assert_ok();
    assert_eq!(hostile.listing(), [FINAL_NAME], "{}", hostile.requests_text());
}

#[test]
fn an_absurd_length_field_is_an_implausible_packet_not_a_4_gib_allocation() {
    let (_, hostile) = fails_cleanly("absurd-length", "write", "an implausible packet length");
    no_partial_left(&hostile);
    let (run, _) = fails_cleanly("absurd-length", "stat", "an implausible packet length");
    run.assert_stderr_contains("reading the remote folder incoming");
    let (run, _) = fails_cleanly("absurd-length", "init", "an implausible packet length");
    run.assert_stderr_contains("starting the SFTP subsystem");
}

#[test]
fn an_answer_to_an_id_never_sent_is_refused() {
    let (_, hostile) = fails_cleanly("wrong-id", "write", "an unexpected answer to a write");
    no_partial_left(&hostile);
    let (_, hostile) = fails_cleanly("wrong-id", "open", "an answer to another request");
    no_partial_left(&hostile);
    // After the upload: the CLOSE of the partial file answered for another id.
    let (_, hostile) = fails_cleanly("wrong-id", "close", "an answer to another request");
    no_partial_left(&hostile);
}

#[test]
fn an_answer_that_never_comes_times_out() {
    let (run, hostile) =
        fails_cleanly("no-reply", "write", "the server acknowledged nothing for 3s (timeout)");
    run.assert_stderr_contains("uploading to incoming/.roster-20261123.zip.partial");
    no_partial_left(&hostile);
    let (run, hostile) = fails_cleanly("no-reply", "open", "no answer within 3s (timeout)");
    run.assert_stderr_contains("creating incoming/.roster-20261123.zip.partial");
    no_partial_left(&hostile);
    let (run, _) = fails_cleanly("no-reply", "init", "no answer within 3s (timeout)");
    run.assert_stderr_contains("starting the SFTP subsystem");
}

#[test]
fn one_byte_per_second_times_out() {
    // A 13-byte status at one byte a second: each request's answer must come whole within
    // the timeout, and the upload must see an acknowledgement within it.
    let (_, hostile) = fails_cleanly("slow", "write", "the server acknowledged nothing for 3s (timeout)");
    no_partial_left(&hostile);
    let (run, _) = fails_cleanly("slow", "stat", "no answer within 3s (timeout)");
    run.assert_stderr_contains("reading the remote folder incoming");
    fails_cleanly("slow", "init", "no answer within 3s (timeout)");
}

#[test]
fn a_version_with_a_lying_extension_list_is_a_truncated_packet() {
    let (run, _) = fails_cleanly("bad-version", "init", "a truncated packet");
    run.assert_stderr_contains("starting the SFTP subsystem");
}

#[test]
fn an_endless_banner_ends_the_handshake_within_the_timeout() {
    // Lines that never become an SSH identification: named as another service, at once.
    for mode in ["endless-banner", "endless-line"] {
        fails_cleanly(mode, "init", "is not an SSH server: it answered");
    }
    // One byte a second: the handshake's own timeout.
    let (run, _) = fails_cleanly("slow-banner", "init", "the SSH handshake with 127.0.0.1");
    assert!(run.stderr.contains("no answer within 3s (timeout)"), "{}", run.stderr);
}

/// sis-extract never sends REALPATH (it names every remote path itself, from
/// `remote_dir` and the archive name) and reads nothing but the count of a listing, so a
/// server's `..` cannot steer it. This pins that down: against a server whose listings
/// and REALPATH answers point out of the folder, every path the client names, for `run`
/// and for `check`, stays in `incoming/`.
#[test]
fn names_with_dotdot_from_the_server_do_not_move_any_write() {
    let hostile = Hostile::start("dotdot-names", "none");
    let ws = hostile.workspace();
    let (run, _) = run_bounded(&ws, &["run", "--as-of", "2026-11-23"]);
    run.assert_ok();
    assert_eq!(hostile.listing(), [FINAL_NAME]);
    let (check, _) = run_bounded(&ws, &["check", "--only", "sftp"]);
    assert!(!check.both().contains("panicked"), "{}", check.both());
    assert!(check.stdout.contains("listable (4 entries)"), "check counted the listing: {}", check.both());
    let requests = hostile.requests();
    assert!(requests.iter().any(|r| r["request"] == "readdir"), "check listed the folder");
    for request in &requests {
        for path in request["paths"].as_array().into_iter().flatten() {
            let path = path.as_str().unwrap();
            if path.ends_with("@openssh.com") {
                continue;
            }
            assert!(
                path == "incoming" || (path.starts_with("incoming/") && !path.contains("..")),
                "{path} is outside the configured folder\nrequests:\n{}",
                hostile.requests_text()
            );
        }
        assert_ne!(request["note"], "escape", "{request}");
    }
    assert_eq!(hostile.listing(), [FINAL_NAME], "check cleaned up its probe");
}

/// `check` once read the banner on a connection of its own, line after line with no
/// overall deadline: a server that sent lines forever held `check` forever. It now reads
/// what the handshake itself received, which is bounded.
#[test]
fn check_against_an_endless_banner_ends_within_the_timeout() {
    let hostile = Hostile::start("endless-banner", "init");
    let ws = hostile.workspace();
    let (run, took) = run_bounded(&ws, &["check", "--only", "sftp"]);
    assert_ne!(run.code, 0, "{}", run.both());
    assert!(run.both().contains("not an SSH server"), "{}", run.both());
    assert!(took < Duration::from_secs(20), "took {took:?}");
}

/// `check` lists the folder and writes, renames and deletes a probe: the same traps on
/// its requests end its SFTP steps within the timeout, named, and leave no probe.
#[test]
fn check_against_a_hostile_sftp_subsystem_ends_each_step_in_time() {
    for (mode, at, message) in [
        ("no-reply", "opendir", "cannot be listed: no answer within 3s (timeout)"),
        ("absurd-length", "readdir", "cannot be listed: SFTP protocol error: an implausible packet length"),
        (
            "wrong-id",
            "open",
            "cannot create a file in incoming: SFTP protocol error: an answer to another request",
        ),
        ("slow", "write", "cannot create a file in incoming: no answer within 3s (timeout)"),
    ] {
        let hostile = Hostile::start(mode, at);
        let ws = hostile.workspace();
        let (run, took) = run_bounded(&ws, &["check", "--only", "sftp"]);
        let context = format!(
            "check, {mode} at {at}, took {took:?}\n{}\nrequests:\n{}",
            run.both(),
            hostile.requests_text()
        );
        assert_ne!(run.code, 0, "{context}");
        assert!(run.both().contains(message), "names it ({message:?}): {context}");
        assert!(!run.both().contains("panicked"), "{context}");
        eprintln!("check, {mode} at {at}: exit {} after {took:?}, left {:?}", run.code, hostile.listing());
    }
}

/// When the write probe fails after the server created the file (its OPEN answered for
/// another id, or its WRITE never acknowledged), `check` returns at once (`sftp_steps` in
/// src/destination/sftp.rs) and leaves `.sis-extract-check-PID` in the vendor's folder;
/// the session is out of step by then, so removing it takes a fresh one, as `upload_on`
/// does for `.NAME.partial`. It once left the probe behind.
#[test]
fn check_leaves_no_probe_behind_when_the_write_probe_fails() {
    for (mode, at) in [("wrong-id", "open"), ("no-reply", "write")] {
        let hostile = Hostile::start(mode, at);
        let ws = hostile.workspace();
        let (run, _) = run_bounded(&ws, &["check", "--only", "sftp"]);
        assert_ne!(run.code, 0, "{}", run.both());
        assert_eq!(hostile.listing(), Vec::<String>::new(), "{mode} at {at}\n{}", hostile.requests_text());
    }
}

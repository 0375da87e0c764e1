//! Nightly operation with the real binary: fire times across daylight-saving changes (a
//! controllable clock via `schedule --next --now`), the scheduler service with a missed
//! run caught up and a clean stop on SIGTERM, the job lock, the failure hook, the
//! history table, the rotated log file, and the service definitions that ship.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{ConfigBuilder, JobBuilder, Workspace, sqlite};

/// A workspace with a tiny SQLite source and one job `j` into `out`; `job_extra` goes
/// into the [[job]] table, `top_extra` at the top of the file.
fn workspace(top_extra: &str, job_extra: &str) -> Workspace {
    let ws = Workspace::new();
    let db = ws.path("db.sqlite");
    sqlite(&db, "CREATE TABLE t (id integer, name text); INSERT INTO t VALUES (1, 'a'), (2, 'b');");
    ws.write("q/t.sql", "SELECT id, name FROM t ORDER BY id");
    std::fs::create_dir_all(ws.path("out")).unwrap();
    ConfigBuilder::new()
        .top_raw(top_extra)
        .sqlite(&db)
        .job(JobBuilder::csv("j", "q").raw(job_extra))
        .write(&ws);
    ws
}

fn next_times(schedule: &str, tz: &str, now: &str, count: &str) -> String {
    let ws = workspace("", &format!("schedule = \"{schedule}\"\ntimezone = \"{tz}\"\n"));
    let run = ws.run(&["schedule", "--next", count, "--now", now]);
    run.assert_ok();
    run.stdout
}

#[test]
fn fire_times_across_spring_forward() {
    // 2026-03-08 02:00 → 03:00 in both zones: a 02:30 job runs once, at 03:00.
    let chicago = next_times("30 2 * * *", "America/Chicago", "2026-03-06T12:00:00Z", "4");
    assert!(chicago.contains("2026-03-07 02:30 CST (2026-03-07 08:30 UTC)"), "{chicago}");
    assert!(chicago.contains("2026-03-08 03:00 CDT (2026-03-08 08:00 UTC)"), "{chicago}");
    assert!(chicago.contains("2026-03-09 02:30 CDT (2026-03-09 07:30 UTC)"), "{chicago}");
    assert_eq!(
        chicago.matches("2026-03-08").count(),
        2,
        "once that night (local and UTC columns):\n{chicago}"
    );
    let new_york = next_times("30 2 * * *", "America/New_York", "2026-03-06T12:00:00Z", "4");
    assert!(new_york.contains("2026-03-08 03:00 EDT (2026-03-08 07:00 UTC)"), "{new_york}");
}

#[test]
fn fire_times_across_fall_back() {
    // 2026-11-01 01:00-02:00 happens twice: a 01:30 job runs once, at the first 01:30,
    // and next at 01:30 the day after. The whole list is compared: an extra fire time
    // anywhere that night (the second 01:30, or 02:00 after the repeated hour) fails.
    for (tz, fires) in [
        (
            "America/Chicago",
            [
                "2026-11-01 01:30 CDT (2026-11-01 06:30 UTC)",
                "2026-11-02 01:30 CST (2026-11-02 07:30 UTC)",
                "2026-11-03 01:30 CST (2026-11-03 07:30 UTC)",
                "2026-11-04 01:30 CST (2026-11-04 07:30 UTC)",
            ],
        ),
        (
            "America/New_York",
            [
                "2026-11-01 01:30 EDT (2026-11-01 05:30 UTC)",
                "2026-11-02 01:30 EST (2026-11-02 06:30 UTC)",
                "2026-11-03 01:30 EST (2026-11-03 06:30 UTC)",
                "2026-11-04 01:30 EST (2026-11-04 06:30 UTC)",
            ],
        ),
    ] {
        let out = next_times("30 1 * * *", tz, "2026-10-31T12:00:00Z", "4");
        let listed: Vec<&str> = out.lines().skip(1).map(str::trim).collect();
        assert_eq!(listed, fires, "{tz}:\n{out}");
        assert_eq!(out.lines().next(), Some(format!("j (\"30 1 * * *\", {tz})").as_str()), "{out}");
    }
}

#[test]
fn an_evening_job_stays_at_1830_local() {
    let out = next_times("30 18 * * *", "America/Chicago", "2026-10-30T12:00:00Z", "5");
    for line in ["2026-10-31 18:30 CDT (2026-10-31 23:30 UTC)", "2026-11-01 18:30 CST (2026-11-02 00:30 UTC)"]
    {
        assert!(out.contains(line), "{out}");
    }
    assert_eq!(out.matches(" 18:30 C").count(), 5, "{out}");
}

#[test]
fn a_bad_cron_expression_is_a_config_error() {
    let ws = workspace("", "schedule = \"30 18 * *\"\n");
    ws.run(&["schedule", "--next", "1"])
        .assert_code(2)
        .assert_stderr_contains("job[0].schedule: expected a 5-field cron expression");
}

#[test]
fn the_service_catches_up_a_missed_run_and_stops_cleanly_on_sigterm() {
    let ws = workspace("", "schedule = \"30 18 * * *\"\ntimezone = \"America/Chicago\"\ncatch_up = true\n");
    // The job last ran a week ago: at least one 18:30 was missed since.
    ws.write("history.jsonl", &crate::support::success_a_week_ago("j"));
    let mut child = Command::new(crate::support::bin())
        .current_dir(ws.dir.path())
        .args(["-c", "config.toml", "schedule"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the caught-up run to land in the history.
    let started = Instant::now();
    while ws.history().iter().filter(|r| r["outcome"] == "success").count() < 2 {
        assert!(started.elapsed() < Duration::from_secs(30), "no catch-up run: {}", ws.history_text());
        std::thread::sleep(Duration::from_millis(100));
    }
    let stop = Instant::now();
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let status = child.wait().unwrap();
    assert!(stop.elapsed() < Duration::from_secs(5), "stopped within a bounded time");
    assert!(status.success(), "a requested stop is a clean exit: {status}");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("a scheduled run was missed while sis-extract was not running"), "{stderr}");
    assert!(stderr.contains("stopping: no new runs"), "{stderr}");
    let outcomes: Vec<String> =
        ws.history().iter().map(|r| r["outcome"].as_str().unwrap().to_string()).collect();
    assert_eq!(outcomes, ["success", "missed", "success"]);
    assert!(
        ws.path("lock").parent().unwrap().read_dir().unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".lock")),
        "lock released"
    );
}

#[test]
fn a_second_run_while_the_first_holds_the_lock_is_refused_and_a_stale_lock_taken_over() {
    let ws = workspace("", "");
    // A live process holds the lock: an OS lock (flock) on the file, as a run holds it;
    // the pid in the file is only for the message.
    let lock = ws.path(".sis-extract-j.lock");
    std::fs::write(&lock, "").unwrap();
    let mut holder =
        Command::new("flock").args(["-o", "-x"]).arg(&lock).args(["sleep", "30"]).spawn().unwrap();
    std::fs::write(&lock, format!("{} 2026-11-23T18:30:00Z\n", holder.id())).unwrap();
    while Command::new("flock").args(["-n", "-E", "99"]).arg(&lock).arg("true").status().unwrap().code()
        != Some(99)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let run = ws.run(&["run"]);
    run.assert_code(1).assert_stderr_contains(&format!(
        "job \"j\" is already running (process {}, since 2026-11-23T18:30:00Z); a job never runs twice at once",
        holder.id()
    ));
    assert!(std::fs::read_dir(ws.path("out")).unwrap().next().is_none());
    holder.kill().unwrap();
    holder.wait().unwrap();
    // Its process is gone, so is its OS lock: the lock file is taken over.
    let run = ws.run(&["run"]);
    run.assert_ok().assert_stderr_contains(&format!("took over the lock left by process {}", holder.id()));
    assert!(!ws.path(".sis-extract-j.lock").exists(), "released after the run");
}

#[test]
fn the_failure_hook_gets_the_report() {
    let ws = workspace(
        "",
        "on_failure = [\"sh\", \"-c\", \"cat > hook.json; env | grep '^SIS_EXTRACT_' | sort > hook.env\"]\n",
    );
    ws.write("q/t.sql", "SELECT no_such_column FROM t");
    ws.run(&["run"]).assert_code(1);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.path("hook.json")).unwrap()).unwrap();
    assert_eq!(report["outcome"], "failed");
    assert!(report["error"].as_str().unwrap().contains("t.sql"));
    let env = std::fs::read_to_string(ws.path("hook.env")).unwrap();
    assert!(env.contains("SIS_EXTRACT_JOB=j\n") && env.contains("SIS_EXTRACT_OUTCOME=failed\n"), "{env}");
    assert!(env.contains("SIS_EXTRACT_ERROR=") && env.contains("SIS_EXTRACT_RUN_ID="), "{env}");
    // A successful run does not call it.
    std::fs::remove_file(ws.path("hook.json")).unwrap();
    ws.write("q/t.sql", "SELECT id FROM t");
    ws.run(&["run"]).assert_ok();
    assert!(!ws.path("hook.json").exists());
}

#[test]
fn history_shows_a_mix_of_runs_and_survives_a_truncated_line() {
    let ws = workspace("", "");
    ws.run(&["run", "--as-of", "2026-01-15"]).assert_ok();
    ws.write("q/t.sql", "SELECT nope FROM t");
    ws.run(&["run"]).assert_code(1);
    ws.write("q/t.sql", "SELECT id, name FROM t");
    ws.run(&["run", "--dry-run"]).assert_ok();
    // Half the rows gone: a safety guard stops the next delivery.
    sqlite(&ws.path("db.sqlite"), "DELETE FROM t WHERE id = 2;");
    ws.run(&["run", "--as-of", "2026-01-16"]).assert_code(3);
    let mut text = ws.history_text();
    text.push_str("{\"run_id\":\"cut-off\",\"jo");
    ws.write("history.jsonl", &text);
    let run = ws.run(&["history"]);
    run.assert_ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].starts_with("START (job's time zone)")
            && lines[0].contains("OUTCOME")
            && lines[0].contains("DESTINATION / ERROR")
    );
    assert_eq!(lines.len(), 5, "{}", run.stdout);
    assert!(
        lines[1].contains("success") && lines[1].contains("t 2") && lines[1].contains("out/j-20260115.zip")
    );
    assert!(lines[2].contains("failed") && lines[2].contains("t.sql"));
    assert!(lines[3].contains("dry_run"));
    assert!(
        lines[4].contains("guarded")
            && lines[4].contains("t 1")
            && lines[4].contains("a safety guard stopped"),
        "{}",
        lines[4]
    );
    assert!(run.stderr.contains("skipped an unreadable record"), "{}", run.stderr);
    let json = ws.run(&["history", "--json", "--limit", "2"]);
    let records: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(records.as_array().unwrap().len(), 2);
    assert_eq!(records[1]["outcome"], "guarded");
    let only = ws.run(&["history", "--job", "other"]);
    assert_eq!(only.stdout, "no runs recorded yet\n");
}

#[test]
fn the_log_file_rotates_daily_and_holds_each_stage() {
    let mut ws = workspace("log_file = \"logs/sis-extract.log\"\nlog_keep = 3\n", "");
    ws.set_env("UNUSED_SECRET", "x");
    ws.run(&["run", "--as-of", "2026-01-15"]).assert_ok();
    let logs: Vec<std::path::PathBuf> =
        std::fs::read_dir(ws.path("logs")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(logs.len(), 1);
    let name = logs[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("sis-extract.") && name.ends_with(".log"), "{name}");
    let text = std::fs::read_to_string(&logs[0]).unwrap();
    for stage in ["run started", "connected read-only", "extracted", "zipped", "delivered"] {
        assert!(text.contains(stage), "{stage} missing from the log:\n{text}");
    }
    assert!(text.contains("job=\"j\"") && text.contains("run_id="), "{text}");
    assert!(text.contains("rows=2"), "{text}");
}

#[test]
fn the_service_definitions_that_ship_are_valid() {
    let repo = crate::support::repo();
    let ws = Workspace::new();
    // systemd: verify the units with the real binary in place of /usr/local/bin. The
    // tool is required (scripts/install-deps installs the systemd package): a machine
    // without it fails here rather than passing without verifying anything.
    let version = Command::new("systemd-analyze").arg("--version").output().unwrap_or_else(|e| {
        panic!("systemd-analyze is not installed ({e}); run scripts/install-deps (Debian package systemd)")
    });
    assert!(
        version.status.success(),
        "systemd-analyze --version: {}",
        String::from_utf8_lossy(&version.stderr)
    );
    for unit in ["sis-extract.service", "sis-extract-run@.service"] {
        let shipped = std::fs::read_to_string(repo.join("examples/linux").join(unit)).unwrap();
        assert!(shipped.contains("ExecStart=/usr/local/bin/sis-extract -c /etc/sis-extract/config.toml"));
        // The credential lines ship commented (a missing file fails the unit's start);
        // verified as an admin uncomments them too.
        assert!(
            shipped
                .contains("\n#LoadCredential=sis-db-password:/etc/sis-extract/credentials/sis-db-password\n")
        );
        for (variant, text) in [
            ("", shipped.clone()),
            ("credentials-", shipped.replace("\n#LoadCredential", "\nLoadCredential")),
        ] {
            let local = ws.write(
                &format!("{variant}{}", unit.replace("@.", "@demo.")),
                &text
                    .replace("/usr/local/bin/sis-extract", crate::support::bin())
                    .replace("User=sis-extract\n", "")
                    .replace("Group=sis-extract\n", ""),
            );
            let output = Command::new("systemd-analyze").arg("verify").arg(&local).output().unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            let complaints: Vec<&str> = stderr
                .lines()
                .filter(|l| {
                    l.contains(&*local.file_name().unwrap().to_string_lossy()) && !l.contains("Documentation")
                })
                .collect();
            assert!(complaints.is_empty(), "{variant}{unit}: {stderr}");
        }
    }
    let timer = std::fs::read_to_string(repo.join("examples/linux/sis-extract-run@.timer")).unwrap();
    assert!(timer.contains("OnCalendar=*-*-* 18:30:00 America/Chicago"));
    let output = Command::new("systemd-analyze")
        .args(["calendar", "*-*-* 18:30:00 America/Chicago"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let cron = std::fs::read_to_string(repo.join("examples/linux/crontab")).unwrap();
    let line = cron.lines().find(|l| !l.starts_with('#')).unwrap();
    assert!(
        line.starts_with("30 18 * * * /usr/local/bin/sis-extract")
            && line.ends_with("run --job schoolstatus")
    );
    // Task Scheduler XML: well-formed, and it runs `sis-extract.exe … run`.
    let xml = repo.join("examples/windows/sis-extract-task.xml");
    let output =
        Command::new("xmllint").arg("--noout").arg(&xml).output().expect("xmllint (libxml2-utils) installed");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = std::fs::read_to_string(&xml).unwrap();
    assert!(text.contains("<Command>C:\\Program Files\\sis-extract\\sis-extract.exe</Command>"));
    assert!(text.contains("run --job schoolstatus</Arguments>"));
    assert!(text.contains("<MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>"));
}

#[test]
fn progress_shows_on_a_terminal_and_never_in_logs() {
    let ws = workspace("", "");
    // Not a terminal (a pipe, as under cron or CI): no progress at all.
    let run = ws.run(&["run", "--as-of", "2026-01-15"]);
    run.assert_ok();
    assert!(!run.stderr.contains('\r') && !run.stderr.contains("t.sql: "), "{:?}", run.stderr);
    // On a terminal (a pseudo-terminal from util-linux `script`): the progress line appears.
    let command = format!("{} -c config.toml run --as-of 2026-01-16", crate::support::bin());
    let output = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(ws.dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("\r\x1b[2K  t.sql: running"), "{text:?}");
}

#[test]
fn files_readable_by_others_are_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let ws = workspace("", "");
    // Readable by others is fine for the config (it holds no secret); writable is not.
    std::fs::set_permissions(ws.path("config.toml"), std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(!ws.run(&["config"]).assert_ok().stderr.contains("warning"));
    std::fs::set_permissions(ws.path("config.toml"), std::fs::Permissions::from_mode(0o664)).unwrap();
    let run = ws.run(&["config"]);
    run.assert_ok().assert_stderr_contains("can be changed by other users (mode 664)");
    run.assert_stderr_contains("run `chmod 600");
    let zip_dir = ws.path("out");
    ws.run(&["run", "--as-of", "2026-01-15"]).assert_ok();
    for entry in std::fs::read_dir(zip_dir).unwrap() {
        let mode = entry.unwrap().metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "output files are private");
    }
    let history = std::fs::metadata(ws.path("history.jsonl")).unwrap().permissions().mode() & 0o777;
    assert_eq!(history, 0o600, "the history file is private");
}

#[test]
fn two_processes_appending_to_one_history_file_do_not_corrupt_it() {
    let ws = workspace("", "");
    // A second job on the same queries and history.
    let config = std::fs::read_to_string(ws.path("config.toml")).unwrap();
    let second = config[config.find("[[job]]").unwrap()..]
        .replace("name = \"j\"", "name = \"k\"")
        .replace("j-{date}", "k-{date}");
    ws.write("config.toml", &format!("{config}\n{second}"));
    for round in 0..5 {
        let children: Vec<_> = ["j", "k"]
            .iter()
            .map(|job| {
                Command::new(crate::support::bin())
                    .current_dir(ws.dir.path())
                    .args(["-c", "config.toml", "run", "--dry-run", "--job", job])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut child in children {
            assert!(child.wait().unwrap().success(), "round {round}");
        }
    }
    let text = ws.history_text();
    assert_eq!(text.lines().count(), 10);
    for line in text.lines() {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("corrupt line {line:?}: {e}"));
    }
}

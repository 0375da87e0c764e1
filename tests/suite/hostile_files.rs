//! Issue 18, items 4 and 7, as a hostile local user and an impatient admin would test
//! them: links and FIFOs planted where sis-extract writes its temporary, lock and history
//! files, the modes of what it creates, and runs that are stopped (SIGTERM, SIGINT),
//! killed (`kill -9`), blocked by a stale lock, or started twice. The fixed inputs are in
//! tests/hostile/files/.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{ConfigBuilder, JobBuilder, Run, Workspace, sqlite};

const AS_OF: &str = "2026-01-15";
const ZIP: &str = "j-20260115.zip";

fn corpus(name: &str) -> String {
    std::fs::read_to_string(crate::support::repo().join("tests/hostile/files").join(name)).unwrap()
}

/// A CSV job `j` reading `query` (a file of the corpus) from an empty SQLite database
/// into the local folder `out`, with its work folder in `work` and a failure hook that
/// appends each record it gets to `hooks.jsonl`.
fn workspace(query: &str, extra: &str) -> Workspace {
    let ws = Workspace::new();
    let db = ws.path("db.sqlite");
    sqlite(&db, "CREATE TABLE unused (x integer);");
    ws.write("q/t.sql", &corpus(query));
    std::fs::create_dir_all(ws.path("out")).unwrap();
    ConfigBuilder::new()
        .top("work_dir", "work")
        .top_raw("on_failure = [\"sh\", \"-c\", \"cat >> hooks.jsonl\"]")
        .top_raw(extra)
        .sqlite(&db)
        .job(JobBuilder::csv("j", "q"))
        .write(&ws);
    ws
}

fn lock_path(ws: &Workspace) -> PathBuf {
    ws.path(".sis-extract-j.lock")
}

fn hooks(ws: &Workspace) -> Vec<serde_json::Value> {
    std::fs::read_to_string(ws.path("hooks.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("the hook got JSON"))
        .collect()
}

fn spawn(ws: &Workspace, args: &[&str]) -> Child {
    Command::new(crate::support::bin())
        .current_dir(ws.dir.path())
        .args(["-c", "config.toml"])
        .args(args)
        .env_remove("SIS_EXTRACT_CONFIG")
        .env_remove("SIS_EXTRACT_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// A run in the background, killed if the test ends early (a failed assertion), so no
/// extract keeps running after its test.
struct Running(Option<Child>);

impl Running {
    fn start(ws: &Workspace, args: &[&str]) -> Running {
        Running(Some(spawn(ws, args)))
    }

    fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("still running")
    }

    fn finish(mut self, limit: Duration) -> Run {
        finish(self.0.take().expect("still running"), limit)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Waits for `child` at most `limit`; a run that hangs is killed and fails the test.
fn finish(mut child: Child, limit: Duration) -> Run {
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!(
                "sis-extract hung for {limit:?} and was killed\nstderr:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A run of `args` that must end within 30 seconds.
fn run_bounded(ws: &Workspace, args: &[&str]) -> Run {
    finish(spawn(ws, args), Duration::from_secs(30))
}

fn mkfifo(path: &Path) {
    assert!(Command::new("mkfifo").arg(path).status().unwrap().success());
}

fn symlink(target: &Path, link: &Path) {
    std::os::unix::fs::symlink(target, link).unwrap();
}

/// A file outside every folder sis-extract was told about, as another user's would be.
fn victim(ws: &Workspace, text: &str) -> PathBuf {
    let path = ws.path("elsewhere/victim");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

/// The CSV files being written under the work folder, with their sizes.
fn work_csv_bytes(ws: &Workspace) -> u64 {
    let Ok(runs) = std::fs::read_dir(ws.path("work")) else { return 0 };
    runs.flatten()
        .filter_map(|run| std::fs::read_dir(run.path().join("set")).ok())
        .flat_map(|files| files.flatten())
        .map(|f| f.metadata().map(|m| m.len()).unwrap_or(0))
        .sum()
}

/// Waits until the running extract has written at least `bytes` of CSV.
fn wait_for_extract(ws: &Workspace, child: &mut Child, bytes: u64) {
    let started = Instant::now();
    while work_csv_bytes(ws) < bytes {
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it was stopped");
        assert!(started.elapsed() < Duration::from_secs(30), "the extract never started");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn work_entries(ws: &Workspace) -> Vec<String> {
    std::fs::read_dir(ws.path("work"))
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default()
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
}

#[track_caller]
fn assert_delivered_regular_zip(ws: &Workspace) {
    let zip = ws.path("out").join(ZIP);
    let meta = std::fs::symlink_metadata(&zip).unwrap();
    assert!(meta.file_type().is_file(), "{ZIP} is a regular file, not {:?}", meta.file_type());
    assert_eq!(crate::support::zip_names(&zip), ["t.csv"]);
    assert_eq!(mode(&zip), 0o600);
    let left: Vec<String> = std::fs::read_dir(ws.path("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, [ZIP], "nothing else in the destination");
}

// ---- item 4: files opened safely ----

#[test]
fn a_symlink_planted_at_the_partial_name_is_not_followed() {
    let ws = workspace("fast.sql", "");
    let victim = victim(&ws, "another user's file\n");
    symlink(&victim, &ws.path("out").join(format!(".{ZIP}.partial")));
    let run = run_bounded(&ws, &["run", "--as-of", AS_OF]);
    run.assert_ok();
    assert_eq!(std::fs::read(&victim).unwrap(), b"another user's file\n", "the link was followed");
    assert_delivered_regular_zip(&ws);
}

#[test]
fn a_fifo_planted_at_the_partial_name_does_not_hang_the_run() {
    let ws = workspace("fast.sql", "");
    mkfifo(&ws.path("out").join(format!(".{ZIP}.partial")));
    run_bounded(&ws, &["run", "--as-of", AS_OF]).assert_ok();
    assert_delivered_regular_zip(&ws);
}

#[test]
fn a_symlink_at_the_lock_path_is_neither_read_nor_written_through() {
    let ws = workspace("fast.sql", "");
    // Through the link, the "lock" names a live process (pid 1): read, it blocks the job.
    let victim = victim(&ws, "1 2026-01-01T00:00:00Z\n");
    symlink(&victim, &lock_path(&ws));
    let run = run_bounded(&ws, &["run", "--as-of", AS_OF]);
    run.assert_ok().assert_stderr_contains("lock");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "1 2026-01-01T00:00:00Z\n");
    assert!(std::fs::symlink_metadata(lock_path(&ws)).is_err(), "no lock left");
    assert_delivered_regular_zip(&ws);
}

#[test]
fn a_fifo_at_the_lock_path_does_not_hang_the_run() {
    let ws = workspace("fast.sql", "");
    mkfifo(&lock_path(&ws));
    let run = run_bounded(&ws, &["run", "--as-of", AS_OF]);
    run.assert_ok().assert_stderr_contains("lock");
    assert!(std::fs::symlink_metadata(lock_path(&ws)).is_err(), "no lock left");
    assert_delivered_regular_zip(&ws);
}

#[test]
fn a_symlinked_history_file_is_refused_before_anything_runs_and_never_written_through() {
    let ws = workspace("fast.sql", "");
    let victim = victim(&ws, "another user's file\n");
    symlink(&victim, &ws.path("history.jsonl"));
    let run = run_bounded(&ws, &["run", "--as-of", AS_OF]);
    run.assert_code(1).assert_stderr_contains("history file").assert_stderr_contains("symbolic link");
    assert_eq!(std::fs::read(&victim).unwrap(), b"another user's file\n", "written through");
    assert!(std::fs::read_dir(ws.path("out")).unwrap().next().is_none(), "nothing delivered");
    // The hook still hears of it, although the history could not record it.
    assert_eq!(hooks(&ws)[0]["outcome"], "failed");
}

#[test]
fn a_fifo_at_the_history_path_fails_clearly_and_does_not_hang() {
    let ws = workspace("fast.sql", "");
    mkfifo(&ws.path("history.jsonl"));
    let run = run_bounded(&ws, &["run", "--as-of", AS_OF]);
    run.assert_code(1).assert_stderr_contains("history file").assert_stderr_contains("FIFO");
    assert!(std::fs::read_dir(ws.path("out")).unwrap().next().is_none(), "nothing delivered");
    // `history` reads it without hanging, and says the same.
    run_bounded(&ws, &["history"]).assert_code(1).assert_stderr_contains("FIFO");
}

#[test]
fn every_file_sis_extract_creates_is_private() {
    let ws = workspace("fast.sql", "log_file = \"logs/sis.log\"\n");
    run_bounded(&ws, &["run", "--as-of", AS_OF]).assert_ok();
    let logs: Vec<PathBuf> = std::fs::read_dir(ws.path("logs")).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(!logs.is_empty(), "a log file was written");
    for log in &logs {
        assert_eq!(mode(log), 0o600, "{}", log.display());
    }
    assert_eq!(mode(&ws.path("logs")), 0o700);
    assert_eq!(mode(&ws.path("history.jsonl")), 0o600);
    assert_eq!(mode(&ws.path("work")), 0o700);
    assert_delivered_regular_zip(&ws);
    // A dry run keeps its work folder: private, and its files too.
    run_bounded(&ws, &["run", "--dry-run", "--as-of", AS_OF]).assert_ok();
    let kept = work_entries(&ws);
    assert_eq!(kept.len(), 1, "{kept:?}");
    let kept = ws.path("work").join(&kept[0]);
    assert_eq!(mode(&kept), 0o700);
    assert_eq!(mode(&kept.join(ZIP)), 0o600);
    assert_eq!(mode(&kept.join("set/t.csv")), 0o600);
}

// ---- item 7: interrupted, killed, stale and concurrent runs ----

#[test]
fn sigterm_mid_extract_records_interrupted_runs_the_hook_and_leaves_nothing() {
    let ws = workspace("slow.sql", "");
    let mut child = Running::start(&ws, &["run", "--as-of", AS_OF]);
    wait_for_extract(&ws, child.child(), 200_000);
    // The lock exists while the run holds it, and is private.
    assert_eq!(mode(&lock_path(&ws)), 0o600);
    let pid = child.child().id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let run = child.finish(Duration::from_secs(20));
    run.assert_code(143).assert_stderr_contains("interrupted");
    let history = ws.history();
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0]["outcome"], "interrupted");
    assert!(history[0]["error"].as_str().unwrap().contains("SIGTERM"), "{history:?}");
    let hooks = hooks(&ws);
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0]["outcome"], "interrupted");
    assert!(std::fs::symlink_metadata(lock_path(&ws)).is_err(), "the lock was released");
    assert_eq!(work_entries(&ws), Vec::<String>::new(), "the work files were removed");
    assert!(std::fs::read_dir(ws.path("out")).unwrap().next().is_none(), "nothing delivered");
}

#[test]
fn a_killed_run_is_cleaned_up_and_accounted_for_by_the_next_run() {
    let ws = workspace("slow.sql", "");
    let mut child = Running::start(&ws, &["run", "--as-of", AS_OF]);
    wait_for_extract(&ws, child.child(), 200_000);
    child.child().kill().unwrap(); // SIGKILL: nothing can run
    child.child().wait().unwrap();
    let left = work_entries(&ws);
    assert_eq!(left.len(), 1, "the killed run left its work folder: {left:?}");
    assert!(ws.history().is_empty());

    // Beside it, things under the same name pattern that are not a run's folder (a FIFO,
    // a link to another folder holding a marker) are neither opened nor removed.
    let elsewhere = ws.path("elsewhere/dir");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(elsewhere.join(".in-progress"), "{}").unwrap();
    std::fs::write(elsewhere.join("keep-me"), "x").unwrap();
    symlink(&elsewhere, &ws.path("work/sis-extract-j-linked"));
    mkfifo(&ws.path("work/sis-extract-j-fifo"));

    ws.write("q/t.sql", &corpus("fast.sql"));
    let run = run_bounded(&ws, &["run", "--as-of", AS_OF]);
    run.assert_ok().assert_stderr_contains("removed").assert_stderr_contains(&left[0]);
    let mut now = work_entries(&ws);
    now.sort();
    assert_eq!(now, ["sis-extract-j-fifo", "sis-extract-j-linked"], "the leftovers are gone");
    assert!(elsewhere.join("keep-me").exists());
    for planted in now {
        std::fs::remove_file(ws.path("work").join(planted)).unwrap();
    }
    let history = ws.history();
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(history[0]["outcome"], "interrupted");
    let error = history[0]["error"].as_str().unwrap();
    let second = history[1]["run_id"].as_str().unwrap();
    assert!(error.contains(second), "names the run that cleaned up: {error}");
    assert!(error.contains("killed"), "{error}");
    assert_eq!(history[1]["outcome"], "success");
    assert_delivered_regular_zip(&ws);
    // A kept dry-run folder is not taken for a killed run's leftovers.
    run_bounded(&ws, &["run", "--dry-run", "--as-of", AS_OF]).assert_ok();
    run_bounded(&ws, &["run", "--as-of", AS_OF]).assert_ok();
    assert_eq!(work_entries(&ws).len(), 1, "the dry run's folder is kept");
    assert_eq!(ws.history().len(), 4);
}

#[test]
fn a_lock_naming_a_live_unrelated_process_does_not_block_the_job() {
    let ws = workspace("fast.sql", "");
    let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
    std::fs::write(lock_path(&ws), format!("{} 2026-01-01T00:00:00Z\n", sleeper.id())).unwrap();
    let run = run_bounded(&ws, &["run", "--as-of", AS_OF]);
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    run.assert_ok();
    assert!(std::fs::symlink_metadata(lock_path(&ws)).is_err(), "no lock left");
    assert_eq!(ws.history()[0]["outcome"], "success");
}

#[test]
fn a_second_run_of_a_running_job_is_refused_recorded_and_reported_to_the_hook() {
    let ws = workspace("slow.sql", "");
    let mut first = Running::start(&ws, &["run", "--as-of", AS_OF]);
    wait_for_extract(&ws, first.child(), 100_000);
    let pid = first.child().id();
    let second = run_bounded(&ws, &["run", "--as-of", AS_OF]);
    second.assert_code(1).assert_stderr_contains(&format!("already running (process {pid}"));
    let history = ws.history();
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0]["outcome"], "refused");
    assert!(history[0]["error"].as_str().unwrap().contains(&format!("process {pid}")));
    assert_eq!(hooks(&ws)[0]["outcome"], "refused");
    // The refusal did not disturb the running job, which Ctrl-C then stops cleanly.
    assert!(first.child().try_wait().unwrap().is_none());
    assert!(Command::new("kill").args(["-INT", &pid.to_string()]).status().unwrap().success());
    first.finish(Duration::from_secs(20)).assert_code(130);
    let history = ws.history();
    assert_eq!(history[1]["outcome"], "interrupted");
    assert!(history[1]["error"].as_str().unwrap().contains("SIGINT"));
    assert!(std::fs::symlink_metadata(lock_path(&ws)).is_err(), "the lock was released");
    assert_eq!(work_entries(&ws), Vec::<String>::new());
}

//! The failure hook: a district's own command (mail, a pager, a ticket), run when a job
//! fails, with the run's history record as JSON on stdin and a few environment variables:
//! SIS_EXTRACT_JOB, SIS_EXTRACT_RUN_ID, SIS_EXTRACT_OUTCOME, SIS_EXTRACT_ERROR.
//! It inherits sis-extract's environment without the variables the config reads secrets
//! from (and without any variable holding a loaded secret).

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::history::RunRecord;

/// How long the hook may take before it is killed: a hung mail command must not hold up
/// the next night.
const HOOK_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `command` for the failed run `record`; problems with the hook are logged, never
/// fatal (the run has already failed and been recorded).
pub fn on_failure(command: &[String], record: &RunRecord) {
    let Some((program, args)) = command.split_first() else { return };
    let json = crate::secret::redact(&serde_json::to_string(record).unwrap_or_default());
    let outcome = serde_json::to_value(record.outcome)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let mut command = Command::new(program);
    // The hook gets the environment sis-extract was started with, minus every secret.
    crate::secret::scrub_child_env(&mut command);
    let spawned = command
        .args(args)
        .env("SIS_EXTRACT_JOB", &record.job)
        .env("SIS_EXTRACT_RUN_ID", &record.run_id)
        .env("SIS_EXTRACT_OUTCOME", outcome)
        .env("SIS_EXTRACT_ERROR", crate::secret::redact(record.error.as_deref().unwrap_or_default()))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            tracing::error!(
                job = record.job.as_str(),
                "the on_failure command {program:?} could not start: {e}"
            );
            return;
        }
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(json.as_bytes());
        let _ = stdin.write_all(b"\n");
    }
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => {
                tracing::info!(job = record.job.as_str(), "on_failure command ran");
                return;
            }
            Ok(Some(status)) => {
                tracing::error!(
                    job = record.job.as_str(),
                    "the on_failure command {program:?} failed: {status}"
                );
                return;
            }
            Ok(None) if started.elapsed() > HOOK_TIMEOUT => {
                let _ = child.kill();
                tracing::error!(
                    job = record.job.as_str(),
                    "the on_failure command {program:?} took over 120 s and was stopped"
                );
                return;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => {
                tracing::error!(job = record.job.as_str(), "waiting for the on_failure command: {e}");
                return;
            }
        }
    }
}

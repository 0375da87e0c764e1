//! One run of a job at a time: a lock file next to the history file holding the owner's
//! process id. A lock left by a process that no longer exists (a crash, a power cut) is
//! detected and taken over, with a warning.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// Held while a job runs; removes the lock file when dropped.
pub struct JobLock {
    path: PathBuf,
}

impl Drop for JobLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The lock file of `job`, beside the history file.
pub fn path_for(history_file: &Path, job: &str) -> PathBuf {
    let dir = history_file.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    dir.join(format!(".sis-extract-{job}.lock"))
}

/// Takes the lock of `job`, or says who holds it.
pub fn acquire(history_file: &Path, job: &str) -> Result<JobLock> {
    let path = path_for(history_file, job);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    for _ in 0..2 {
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut file) => {
                let stamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                file.write_all(format!("{} {stamp}\n", std::process::id()).as_bytes())
                    .with_context(|| format!("writing the lock file {}", path.display()))?;
                return Ok(JobLock { path });
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let mut fields = text.split_whitespace();
                let pid: Option<u32> = fields.next().and_then(|p| p.parse().ok());
                let since = fields.next().unwrap_or("an unknown time").to_string();
                match pid {
                    Some(pid) if pid != std::process::id() && process_alive(pid) => bail!(
                        "job {job:?} is already running (process {pid}, since {since}); a job never runs twice at once. \
                         Wait for it to finish, or stop that process"
                    ),
                    _ => {
                        tracing::warn!(
                            job,
                            lock = %path.display(),
                            "taking over a stale lock left by process {} (started {since}), which no longer exists",
                            pid.map_or_else(|| "?".to_string(), |p| p.to_string())
                        );
                        let _ = std::fs::remove_file(&path);
                    }
                }
            }
            Err(e) => return Err(e).with_context(|| format!("creating the lock file {}", path.display())),
        }
    }
    bail!("could not take the lock {}: another process keeps re-creating it", path.display())
}

#[cfg(target_os = "linux")]
fn process_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(all(unix, not(target_os = "linux")))]
fn process_alive(pid: u32) -> bool {
    std::process::Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[cfg(windows)]
fn process_alive(pid: u32) -> bool {
    std::process::Command::new("tasklist")
        .args(["/FI", &format!("PID eq {pid}"), "/NH"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(&pid.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_refused_and_a_stale_one_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let history = dir.path().join("h.jsonl");
        let lock = path_for(&history, "j");
        // PID 1 always exists: a live holder.
        std::fs::write(&lock, "1 2026-11-23T00:00:00Z\n").unwrap();
        let error = acquire(&history, "j").err().unwrap().to_string();
        assert!(error.contains("job \"j\" is already running (process 1"), "{error}");
        // A PID that cannot exist: stale.
        std::fs::write(&lock, "4294967 2026-11-23T00:00:00Z\n").unwrap();
        let held = acquire(&history, "j").unwrap();
        assert!(std::fs::read_to_string(&lock).unwrap().starts_with(&std::process::id().to_string()));
        drop(held);
        assert!(!lock.exists());
    }
}

//! One run of a job at a time: a lock file next to the history file, held with an OS lock
//! (`flock`) for the run's duration. The kernel releases that lock when the holder ends,
//! however it ends (a crash, `kill -9`, a power cut), so a dead holder never blocks the
//! job, whatever process has its old pid now. The pid and start time written in the file
//! are only for the message that names a live holder.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// Held while a job runs; removes the lock file, then releases the OS lock, when dropped.
pub struct JobLock {
    path: PathBuf,
    file: std::fs::File,
}

impl Drop for JobLock {
    fn drop(&mut self) {
        // Removed while still locked, so nobody can lock this file and then lose it. A
        // process that opened it just before sees it replaced and starts over (acquire).
        if crate::fsutil::is_same_file(&self.path, &self.file) {
            let _ = std::fs::remove_file(&self.path);
        }
        // Closing the file (dropping it, right after this) releases the OS lock.
    }
}

/// The refusal when another live process runs the job.
#[derive(Debug)]
pub struct AlreadyRunning(pub String);

impl std::fmt::Display for AlreadyRunning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AlreadyRunning {}

/// The lock file of `job`, beside the history file.
pub fn path_for(history_file: &Path, job: &str) -> PathBuf {
    let dir = history_file.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    dir.join(format!(".sis-extract-{job}.lock"))
}

/// "pid since" as the holder wrote it, for messages.
fn holder(file: &mut std::fs::File) -> Option<(String, String)> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    Read::by_ref(file).take(256).read_to_string(&mut text).ok()?;
    let mut fields = text.split_whitespace();
    let pid = fields.next().filter(|p| p.bytes().all(|b| b.is_ascii_digit()))?.to_string();
    Some((pid, fields.next().unwrap_or("an unknown time").to_string()))
}

/// Removes a non-regular thing planted at the lock path (a link, a FIFO): it is never a
/// lock of ours. Only removed if it is still the same thing that was looked at.
fn remove_planted(path: &Path, meta: &std::fs::Metadata, job: &str) -> Result<()> {
    tracing::warn!(
        job,
        lock = %path.display(),
        "the lock path was {}, not a lock file sis-extract made; removed it without following or opening it",
        crate::fsutil::kind(meta.file_type())
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match std::fs::symlink_metadata(path) {
            Ok(now) if now.dev() == meta.dev() && now.ino() == meta.ino() => {}
            _ => return Ok(()),
        }
    }
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {} from the lock path", path.display())),
    }
}

/// Takes the lock of `job`, or says who holds it ([`AlreadyRunning`]).
pub fn acquire(history_file: &Path, job: &str) -> Result<JobLock> {
    let path = path_for(history_file, job);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    for _ in 0..3 {
        let mut options = crate::fsutil::safe_options();
        options.read(true).write(true).create(true);
        let mut file = match options.open(&path) {
            Ok(file) => file,
            Err(e) => match std::fs::symlink_metadata(&path) {
                Ok(meta) if !meta.is_file() && !meta.is_dir() => {
                    remove_planted(&path, &meta, job)?;
                    continue;
                }
                _ => return Err(e).with_context(|| format!("cannot open the lock file {}", path.display())),
            },
        };
        let meta = file.metadata().with_context(|| format!("reading the lock file {}", path.display()))?;
        if !meta.is_file() {
            drop(file);
            remove_planted(&path, &meta, job)?;
            continue;
        }
        match crate::fsutil::try_lock(&file) {
            Ok(true) => {}
            Ok(false) => {
                let (pid, since) =
                    holder(&mut file).unwrap_or_else(|| ("?".into(), "an unknown time".into()));
                return Err(AlreadyRunning(format!(
                    "job {job:?} is already running (process {pid}, since {since}); a job never runs twice at once. \
                     Wait for it to finish, or stop that process"
                ))
                .into());
            }
            Err(e) => {
                return Err(e).with_context(|| {
                    format!(
                        "cannot lock {}; put history_file on a local file system that supports file locks",
                        path.display()
                    )
                });
            }
        }
        // The holder before us may have removed the file between our open and our lock:
        // then this is a lock on a file nobody else will find. Start over.
        if !crate::fsutil::is_same_file(&path, &file) {
            continue;
        }
        if let Some((pid, since)) = holder(&mut file) {
            tracing::warn!(
                job,
                lock = %path.display(),
                "took over the lock left by process {pid} (started {since}), which ended without releasing it \
                 (a crash, kill -9 or a power cut)"
            );
        }
        let stamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        file.set_len(0)
            .and_then(|_| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(format!("{} {stamp}\n", std::process::id()).as_bytes()))
            .with_context(|| format!("writing the lock file {}", path.display()))?;
        return Ok(JobLock { path, file });
    }
    bail!("could not take the lock {}: another process keeps replacing it; find that process", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_refused_and_a_dead_holders_is_taken_over_whatever_its_pid() {
        let dir = tempfile::tempdir().unwrap();
        let history = dir.path().join("h.jsonl");
        let lock = path_for(&history, "j");
        // PID 1 always exists, but it holds no lock on the file: taken over.
        std::fs::write(&lock, "1 2026-11-23T00:00:00Z\n").unwrap();
        let held = acquire(&history, "j").unwrap();
        assert!(std::fs::read_to_string(&lock).unwrap().starts_with(&std::process::id().to_string()));
        // Held (a lock is per open file, so this process is a second holder here).
        let error = acquire(&history, "j").err().unwrap();
        assert!(error.is::<AlreadyRunning>());
        let text = error.to_string();
        assert!(
            text.contains(&format!("job \"j\" is already running (process {}", std::process::id())),
            "{text}"
        );
        drop(held);
        assert!(!lock.exists());
        drop(acquire(&history, "j").unwrap());
    }
}

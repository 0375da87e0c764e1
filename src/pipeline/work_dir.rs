//! A run's private work folder: created and marked in progress, kept on purpose (a dry
//! run, a set that may not be delivered) or removed, and the clean-up of what killed runs
//! and old kept sets left behind.

use super::*;

/// The name of the file that marks a run's work folder as in progress. It holds the
/// [`Marker`] and is locked (`flock`) by the live run; it is removed when the folder is
/// kept on purpose (a dry run, a set that failed validation or tripped a guard).
const IN_PROGRESS: &str = ".in-progress";

/// What a work folder's marker says about the run that made it.
#[derive(Debug, Serialize, Deserialize)]
struct Marker {
    job: String,
    run_id: String,
    started: String,
    as_of: String,
    pid: u32,
    history_file: String,
}

/// A run's private work folder (`WORK_DIR/sis-extract-JOB-XXXXXX`), removed when dropped
/// (an error, an interruption) unless kept. While it exists it is marked in progress, so
/// that if the run is killed, the next run of the job finds and removes it.
pub(super) struct WorkDir {
    dir: tempfile::TempDir,
    marker: std::fs::File,
}

impl WorkDir {
    pub(super) fn create(config: &Config, job: &Job, progress: &Progress) -> Result<WorkDir> {
        crate::fsutil::create_private_dir(&config.work_dir)?;
        let dir = tempfile::Builder::new()
            .prefix(&format!("sis-extract-{}-", job.name))
            .tempdir_in(&config.work_dir)
            .with_context(|| format!("creating a work folder in {}", config.work_dir.display()))?;
        let path = dir.path().join(IN_PROGRESS);
        let mut marker = crate::fsutil::create_new_private(&path)
            .with_context(|| format!("creating {}", path.display()))?;
        // Locked for the run's life: a live run's folder is never taken for a dead one's.
        if !crate::fsutil::try_lock(&marker).with_context(|| format!("locking {}", path.display()))? {
            bail!("{} is locked by another process; it was created just now", path.display());
        }
        let text = serde_json::to_string(&Marker {
            job: job.name.clone(),
            run_id: progress.run_id.clone(),
            started: progress.started.to_rfc3339_opts(SecondsFormat::Secs, true),
            as_of: progress.as_of.to_string(),
            pid: std::process::id(),
            history_file: config.history_file.display().to_string(),
        })?;
        std::io::Write::write_all(&mut marker, text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(WorkDir { dir, marker })
    }

    pub(super) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Keeps the folder on purpose: no longer in progress, so not taken for a killed run's;
    /// its marker becomes [`KEPT`], and runs of the job remove it after
    /// [`KEPT_SET_DAYS`] days ([`remove_expired_kept_sets`]).
    pub(super) fn keep(self) -> PathBuf {
        drop(self.marker);
        let path = self.dir.path();
        if std::fs::rename(path.join(IN_PROGRESS), path.join(KEPT)).is_err() {
            let _ = std::fs::remove_file(path.join(IN_PROGRESS));
        }
        self.dir.keep()
    }
}

/// The marker of a work folder kept on purpose (a dry run's set, a set that failed
/// validation or tripped a guard): the run's [`Marker`], under another name.
const KEPT: &str = ".kept";

/// Days a kept set stays in the work folder. Each holds a night's student data, and a
/// dry run is made to be looked at soon: `--keep DIR` keeps a copy for longer.
pub const KEPT_SET_DAYS: i64 = 7;

/// Removes the sets this job's runs kept ([`KEPT`]) more than [`KEPT_SET_DAYS`] days ago,
/// so that dry runs do not pile up student data in the work folder. Called at the start
/// of every run, with the job's lock held. Only real folders whose marker names this job
/// and history file are touched.
pub(super) fn remove_expired_kept_sets(config: &Config, job: &Job) {
    let prefix = format!("sis-extract-{}-", job.name);
    let Ok(entries) = std::fs::read_dir(&config.work_dir) else { return };
    let now = Utc::now();
    for entry in entries.flatten() {
        if !entry.file_name().to_str().is_some_and(|n| n.starts_with(&prefix)) {
            continue;
        }
        let folder = entry.path();
        if !std::fs::symlink_metadata(&folder).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        let Ok(Some(file)) = crate::fsutil::open_existing(&folder.join(KEPT), "a kept set's marker") else {
            continue;
        };
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut std::io::Read::take(file, 64 * 1024), &mut text);
        let Ok(marker) = serde_json::from_str::<Marker>(&text) else { continue };
        if marker.job != job.name || marker.history_file != config.history_file.display().to_string() {
            continue;
        }
        let Ok(started) = chrono::DateTime::parse_from_rfc3339(&marker.started) else { continue };
        if now.signed_duration_since(started) < chrono::Duration::days(KEPT_SET_DAYS) {
            continue;
        }
        match std::fs::remove_dir_all(&folder) {
            Ok(()) => tracing::info!(
                "removed {}, the set kept by run {} of {} (sets are kept {KEPT_SET_DAYS} days)",
                folder.display(),
                marker.run_id,
                marker.started
            ),
            Err(e) => tracing::warn!(
                "cannot remove {}, the set kept by run {} more than {KEPT_SET_DAYS} days ago: {e}; remove it by hand",
                folder.display(),
                marker.run_id
            ),
        }
    }
}

/// Removes the work folders of this job's runs that were killed (`kill -9`, a crash, a
/// power cut) before they could clean up, and records each as `interrupted`. Called with
/// the job's lock held. Only real folders (not links) whose marker names this job and
/// history file and is not locked by a live process are touched.
pub(super) fn clean_up_killed_runs(config: &Config, job: &Job, run_id: &str, hook: &[String]) {
    let prefix = format!("sis-extract-{}-", job.name);
    let Ok(entries) = std::fs::read_dir(&config.work_dir) else { return };
    for entry in entries.flatten() {
        if !entry.file_name().to_str().is_some_and(|n| n.starts_with(&prefix)) {
            continue;
        }
        let folder = entry.path();
        if !std::fs::symlink_metadata(&folder).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        let marker_path = folder.join(IN_PROGRESS);
        let Ok(Some(mut file)) = crate::fsutil::open_existing(&marker_path, "the work-folder marker") else {
            continue;
        };
        if !crate::fsutil::try_lock(&file).unwrap_or(false) {
            continue; // a live run's (of another config using the same work folder)
        }
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut std::io::Read::take(&mut file, 64 * 1024), &mut text);
        let Ok(marker) = serde_json::from_str::<Marker>(&text) else { continue };
        if marker.job != job.name || marker.history_file != config.history_file.display().to_string() {
            continue;
        }
        let bytes = crate::fsutil::tree_bytes(&folder);
        if let Err(e) = std::fs::remove_dir_all(&folder) {
            tracing::warn!(
                "cannot remove {}, left by the killed run {}: {e}; remove it by hand",
                folder.display(),
                marker.run_id
            );
            continue;
        }
        tracing::warn!(
            "removed {} ({bytes} bytes of extract files), left by run {} (process {}, started {}), which was killed \
             before it finished; it is recorded in the history as interrupted",
            folder.display(),
            marker.run_id,
            marker.pid,
            marker.started
        );
        let record = RunRecord {
            as_of: marker.as_of,
            ..RunRecord::bare(
                marker.run_id,
                &job.name,
                marker.started,
                Outcome::Interrupted,
                Some(format!(
                    "the run was killed before it finished (kill -9, a crash or a power cut) and recorded nothing; \
             nothing was delivered. Its work folder {} ({bytes} bytes) was found and removed by run {run_id}",
                    folder.display()
                )),
            )
        };
        if let Err(e) = history::append(&config.history_file, &record) {
            tracing::error!("cannot record the killed run: {e:#}");
        }
        crate::hooks::on_failure(hook, &record);
    }
}

//! One run of one job: queries → source → output files → zip → destination → history.
//!
//! A dry run is this same pipeline with the destination swapped for [`DryRun`]; there is
//! no second code path to drift apart from the real one.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use chrono::{NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::archive::{self, Archive};
use crate::config::{Config, Format, Job};
use crate::destination::{self, Deliver, Delivery, DryRun};
use crate::guards::{self, GuardTripped, Verdict};
use crate::history::{self, Outcome, RunRecord};
use crate::output::FileReport;
use crate::output::csv::CsvFile;
use crate::output::findings::SetReport;
use crate::output::oneroster::{self, OneRosterFile, Version};
use crate::output::receivers::Severity;
use crate::output::{receiver_check, validate};
use crate::progress::Counting;
use crate::query::{self, SqlFile};
use crate::source::Source;

mod set_files;
mod work_dir;

use set_files::*;
pub use work_dir::KEPT_SET_DAYS;
use work_dir::*;

/// What the user asked for on the command line.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub dry_run: bool,
    /// Deliver even when a safety guard trips (recorded as forced).
    pub force: bool,
    pub keep: Option<PathBuf>,
    pub as_of: Option<NaiveDate>,
}

/// The result of a successful run.
#[derive(Debug)]
pub struct RunReport {
    pub job: String,
    pub run_id: String,
    pub as_of: NaiveDate,
    pub files: Vec<FileReport>,
    pub archive_name: String,
    pub archive: Archive,
    pub delivery: Delivery,
    pub dry_run: bool,
    /// Where `--keep` (or a dry run) left the produced files.
    pub kept: Option<PathBuf>,
    /// What the safety guards compared the set with, in words.
    pub guard_note: String,
    /// Whether the queries read one snapshot or each their own moment, and why.
    pub consistency: String,
    /// Extracts retried after a transient database failure.
    pub extract_retries: u32,
    /// The receiver's rules that the set breaks as warnings, one line each (delivered anyway).
    pub warnings: Vec<String>,
}

/// Everything known about a run so far, so that a failure is recorded as fully as a success.
struct Progress {
    run_id: String,
    started: chrono::DateTime<Utc>,
    as_of: NaiveDate,
    files: Vec<FileReport>,
    archive_name: String,
    archive: Option<Archive>,
    delivery: Option<Delivery>,
    guard_note: String,
    guard_reasons: Vec<String>,
    forced: bool,
    consistency: Option<String>,
    extract_retries: u32,
    warnings: Vec<String>,
}

pub fn run_job(config: &Config, job: &Job, options: &RunOptions) -> Result<RunReport> {
    let started = Utc::now();
    let run_id = format!("{}-{}", started.format("%Y%m%dT%H%M%SZ"), std::process::id());
    let hook = if job.on_failure.is_empty() { &config.on_failure } else { &job.on_failure };
    // A job never runs twice at once (a manual run while the scheduled one is going). A
    // refusal is recorded and reported like any run that did not deliver.
    let _lock = match crate::lock::acquire(&config.history_file, &job.name) {
        Ok(lock) => lock,
        Err(error) => return Err(record_refusal(config, job, hook, run_id, started, error)),
    };
    let as_of = options.as_of.unwrap_or_else(|| job.today());
    let _span = tracing::info_span!("run", job = job.name.as_str(), run_id = run_id.as_str()).entered();
    // Holding the lock, no other run of this job is alive: any of its work folders still
    // marked in progress belongs to a run that was killed.
    clean_up_killed_runs(config, job, &run_id, hook);
    remove_expired_kept_sets(config, job);
    let mut progress = Progress {
        run_id,
        started,
        as_of,
        files: Vec::new(),
        archive_name: job.archive_name(as_of),
        archive: None,
        delivery: None,
        guard_note: String::new(),
        guard_reasons: Vec::new(),
        forced: false,
        consistency: None,
        extract_retries: 0,
        warnings: Vec::new(),
    };
    tracing::info!(%as_of, dry_run = options.dry_run, "run started");

    let result = execute(config, job, options, &mut progress);
    // A run that failed after a stop signal was stopped by it, whatever the last error.
    let interrupted = match (&result, crate::stop::check()) {
        (Err(_), Err(stop)) => Some(stop),
        _ => None,
    };
    let outcome = match (&result, options.dry_run) {
        _ if interrupted.is_some() => Outcome::Interrupted,
        (Err(e), _) if e.is::<GuardTripped>() => Outcome::Guarded,
        (Err(_), _) => Outcome::Failed,
        (Ok(_), true) => Outcome::DryRun,
        (Ok(_), false) => Outcome::Success,
    };
    let record = history_record(job, &progress, as_of, outcome, &result, &interrupted);
    // A run whose history cannot be written is a failed run: the audit trail is a promise.
    let recorded = history::append(&config.history_file, &record);
    if let Err(e) = &recorded {
        tracing::error!(job = job.name.as_str(), "cannot record the run: {e:#}");
    }
    if matches!(record.outcome, Outcome::Failed | Outcome::Guarded | Outcome::Interrupted | Outcome::Refused)
    {
        crate::hooks::on_failure(hook, &record);
    }
    let (kept, archive) = match (result, interrupted) {
        (Err(e), Some(stop)) if !e.chain().any(|c| c.is::<crate::stop::Interrupted>()) => {
            return Err(e.context(stop));
        }
        (result, _) => result?,
    };
    recorded?;
    Ok(RunReport {
        job: job.name.clone(),
        run_id: progress.run_id,
        as_of,
        files: progress.files,
        archive_name: progress.archive_name,
        archive,
        delivery: progress.delivery.unwrap_or_default(),
        dry_run: options.dry_run,
        kept,
        guard_note: progress.guard_note,
        consistency: progress.consistency.unwrap_or_default(),
        extract_retries: progress.extract_retries,
        warnings: progress.warnings,
    })
}

/// The history line of a run that got as far as holding its lock.
fn history_record(
    job: &Job,
    progress: &Progress,
    as_of: NaiveDate,
    outcome: Outcome,
    result: &Result<(Option<PathBuf>, Archive)>,
    interrupted: &Option<crate::stop::Interrupted>,
) -> RunRecord {
    RunRecord {
        run_id: progress.run_id.clone(),
        job: job.name.clone(),
        started: progress.started.to_rfc3339_opts(SecondsFormat::Secs, true),
        finished: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        outcome,
        error: result.as_ref().err().map(|e| match interrupted {
            Some(stop) if !e.chain().any(|c| c.is::<crate::stop::Interrupted>()) => format!("{stop}: {e:#}"),
            _ => format!("{e:#}"),
        }),
        as_of: as_of.to_string(),
        files: progress.files.clone(),
        zip_name: progress.archive.as_ref().map(|_| progress.archive_name.clone()),
        zip_bytes: progress.archive.as_ref().map(|a| a.bytes),
        zip_sha256: progress.archive.as_ref().map(|a| a.sha256.clone()),
        destination: progress.delivery.as_ref().map(|d| d.location.clone()),
        host_key: progress.delivery.as_ref().and_then(|d| d.host_key.clone()),
        attempts: progress.delivery.as_ref().map_or(0, |d| d.attempts),
        forced: progress.forced,
        guard_reasons: progress.guard_reasons.clone(),
        consistency: progress.consistency.clone(),
        extract_retries: progress.extract_retries,
        warnings: progress.warnings.clone(),
    }
}

/// A run that could not take its job's lock (another run holds it, or the lock file is
/// unusable): recorded, and the failure hook told, like any run that did not deliver.
fn record_refusal(
    config: &Config,
    job: &Job,
    hook: &[String],
    run_id: String,
    started: chrono::DateTime<Utc>,
    error: anyhow::Error,
) -> anyhow::Error {
    let outcome = if error.is::<crate::lock::AlreadyRunning>() { Outcome::Refused } else { Outcome::Failed };
    let record = RunRecord::bare(
        run_id,
        &job.name,
        started.to_rfc3339_opts(SecondsFormat::Secs, true),
        outcome,
        Some(format!("{error:#}")),
    );
    if let Err(e) = history::append(&config.history_file, &record) {
        tracing::error!(job = job.name.as_str(), "cannot record the refused run: {e:#}");
    }
    crate::hooks::on_failure(hook, &record);
    error
}

/// One run, as the stages it goes through; each stage checks for a stop request first.
fn execute(
    config: &Config,
    job: &Job,
    options: &RunOptions,
    progress: &mut Progress,
) -> Result<(Option<PathBuf>, Archive)> {
    crate::stop::check()?;
    // The history is read first: a history file that cannot be written (a link, a FIFO)
    // stops the run before any student data is read, not after.
    let history_records = history::read(&config.history_file)?;
    let queries = load_and_vet_queries(job)?;
    let work = WorkDir::create(config, job, progress)?;
    let set_dir = work.path().join("set");
    // The zip's entries are compressed on other threads while the files are written;
    // entries made ahead and any made at the end carry the same time stamp.
    let zip_time = job.now_local();
    let (produced, entries) = extract_with_retries(config, job, &queries, &work, zip_time, progress)?;
    let work = validate_set(job, options, work, &set_dir, &produced, progress)?;
    let work = apply_guards(config, job, options, work, &history_records, &produced, progress)?;
    let archive = zip_set(&work, &produced, zip_time, entries, progress)?;
    // `_work` holds the work folder (and the zip in it) until the delivery is done.
    let (kept, archive, _work) =
        keep_requested_copies(options, work, &produced, archive, &progress.archive_name)?;
    // The files to send with `send = "files"`: the kept copies when the set was kept.
    let files: Vec<PathBuf> = match &kept {
        Some(dir) => produced.iter().filter_map(|f| f.file_name()).map(|n| dir.join(n)).collect(),
        None => produced.clone(),
    };
    deliver_archive(job, options, &archive, &files, progress)?;
    Ok((kept, archive))
}

/// Every query of the job, loaded and vetted before connecting: a refused query should
/// not even open a session.
fn load_and_vet_queries(job: &Job) -> Result<Vec<SqlFile>> {
    let queries = query::load_dir(&job.queries)?;
    if let Some(version) = job.format.oneroster_version() {
        check_oneroster_queries(&queries, version, &job.queries)?;
    }
    if job.format == Format::Clever {
        check_clever_queries(&queries, &job.queries)?;
    }
    Ok(queries)
}

/// [`extract_set`], again from a new connection and an empty set folder after a
/// transient database failure (a deadlock victim, a lost connection), at most
/// `source.retries` times, waiting `source.retry_delay` and then twice as long each time.
/// The whole set is read again: a snapshot cannot be resumed halfway.
fn extract_with_retries(
    config: &Config,
    job: &Job,
    queries: &[SqlFile],
    work: &WorkDir,
    zip_time: chrono::NaiveDateTime,
    progress: &mut Progress,
) -> Result<(Vec<PathBuf>, archive::EntryStore)> {
    let set_dir = work.path().join("set");
    let mut delay = config.source.retry_delay;
    for attempt in 0.. {
        let entries_dir = work.path().join(format!("entries-{attempt}"));
        crate::fsutil::create_private_dir(&set_dir)?;
        let entries = archive::EntryStore::new(&entries_dir, zip_time)?;
        progress.files.clear();
        match extract_set(config, job, queries, &set_dir, &entries, progress) {
            Ok(produced) => return Ok((produced, entries)),
            Err(e) if crate::source::is_transient_failure(&e) && attempt < config.source.retries => {
                tracing::warn!(
                    attempt = attempt + 1,
                    retries = config.source.retries,
                    "a transient database failure stopped the extract: {e:#}; reading the whole set again \
                     from a new connection in {}s",
                    delay.as_secs()
                );
                drop(entries);
                for dir in [&set_dir, &entries_dir] {
                    match std::fs::remove_dir_all(dir) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                            return Err(e)
                                .with_context(|| format!("clearing {} for the retry", dir.display()));
                        }
                        _ => {}
                    }
                }
                progress.extract_retries += 1;
                crate::stop::sleep(delay)?;
                delay = delay.saturating_mul(2);
            }
            Err(e) if crate::source::is_transient_failure(&e) => {
                return Err(e.context(format!(
                    "the extract stopped on a transient database failure {} time(s), and source.retries = {} \
                     allows no more; nothing was delivered. If it keeps happening, run at a quieter hour or ask \
                     the database administrator what ends the session",
                    attempt + 1,
                    config.source.retries
                )));
            }
            Err(e) => return Err(e),
        }
    }
    unreachable!("the loop returns")
}

/// Connects read-only, starts the job's consistent read, and writes one file per query
/// (plain CSV, or the OneRoster set).
fn extract_set(
    config: &Config,
    job: &Job,
    queries: &[SqlFile],
    set_dir: &Path,
    entries: &archive::EntryStore,
    progress: &mut Progress,
) -> Result<Vec<PathBuf>> {
    let stage = Instant::now();
    crate::stop::check()?;
    let mut source = Source::connect(&config.source, &format!("job {}", job.name))?;
    tracing::info!(
        dbms = source.dbms.as_str(),
        elapsed_ms = stage.elapsed().as_millis() as u64,
        "connected read-only"
    );
    let consistency = source.begin_consistent_read(job.consistency, &job.name)?;
    tracing::info!(consistency = consistency.as_str(), "the queries read the database");
    progress.consistency = Some(consistency);
    let produced = match (job.format, job.format.oneroster_version()) {
        (Format::Clever, _) => write_clever_set(&source, queries, job, set_dir, entries, progress),
        (_, None) => write_csv_files(&source, queries, job, set_dir, entries, progress),
        (_, Some(version)) => write_oneroster_set(&source, queries, job, version, set_dir, entries, progress),
    }?;
    source.end_consistent_read()?;
    Ok(produced)
}

/// A OneRoster set must pass validation, and any set its receiver's rules marked error, or
/// it is kept (with its report) and not delivered; the receiver's warnings are logged and
/// recorded, and the set goes on.
fn validate_set(
    job: &Job,
    options: &RunOptions,
    work: WorkDir,
    set_dir: &Path,
    produced: &[PathBuf],
    progress: &mut Progress,
) -> Result<WorkDir> {
    crate::stop::check()?;
    let stage = Instant::now();
    let version = job.format.oneroster_version();
    let spec = version.map(|_| validate::validate_dir(set_dir)).transpose()?;
    let kind = match version {
        Some(version) => receiver_check::SetKind::OneRoster(version),
        None => receiver_check::SetKind::Csv,
    };
    let receiver = receiver_check::check(set_dir, job.receiver, kind)?;
    let report = SetReport { spec, receiver };
    tracing::info!(
        problems = report.errors(),
        warnings = report.warnings(),
        receiver = job.receiver.name(),
        elapsed_ms = stage.elapsed().as_millis() as u64,
        "validated"
    );
    for line in report.warning_lines() {
        tracing::warn!("{line}; delivered anyway (a warning)");
        progress.warnings.push(line);
    }
    if report.errors() == 0 {
        return Ok(work);
    }
    let kept = keep_undelivered_set(options, work, produced)?;
    let report_path = kept.join("validation-report.txt");
    report.write(&report_path)?;
    if let Some(spec) = report.spec.as_ref().filter(|s| !s.is_valid()) {
        bail!(
            "the OneRoster set failed validation with {} problem(s), so nothing was delivered:\n{}The full list is in {}; the set is kept in {}",
            spec.total_problems,
            report.text(),
            report_path.display(),
            kept.display()
        );
    }
    bail!(
        "the set breaks {} of {}'s published rules that stop a delivery ({} row(s)), so nothing was delivered:\n{}The full list is in {}; the set is kept in {}",
        report.receiver.findings.iter().filter(|f| f.rule.severity == Severity::Error).count(),
        job.receiver.name(),
        report.receiver.count(Severity::Error),
        report.receiver_errors_text(),
        report_path.display(),
        kept.display()
    );
}

/// Safety guards: compare with this job's last successful delivery before anything is
/// zipped. A tripped guard keeps the set and stops, unless `--force`.
fn apply_guards(
    config: &Config,
    job: &Job,
    options: &RunOptions,
    work: WorkDir,
    history_records: &[RunRecord],
    produced: &[PathBuf],
    progress: &mut Progress,
) -> Result<WorkDir> {
    crate::stop::check()?;
    match guards::check(&job.name, &job.guards, history_records, &progress.files) {
        Verdict::FirstRun => {
            progress.guard_note =
                "first run of this job: there was no earlier delivery to compare with".into();
            // A config moved to another folder with a relative history_file starts a new,
            // empty history: the guards then lose their baseline without a word. Said in
            // the run's report (and the service's log), not as a warning: on a genuine
            // first night, as in the demo, there is nothing wrong.
            if !config.history_file.exists() {
                let absolute =
                    std::path::absolute(&config.history_file).unwrap_or_else(|_| config.history_file.clone());
                tracing::info!(
                    "there is no history file at {}: if this job has delivered before, its history is elsewhere \
                     (a relative history_file follows the config file's folder) and the safety guards have no \
                     earlier delivery to compare with tonight; set history_file to an absolute path",
                    absolute.display()
                );
                progress.guard_note.push_str(&format!(" (no history file at {})", absolute.display()));
            }
        }
        Verdict::Passed { run_id } => {
            progress.guard_note =
                format!("row counts and headers are within the limits of the last good run {run_id}");
        }
        Verdict::Tripped { run_id, reasons } if options.force => {
            tracing::warn!(
                reasons = reasons.join("; ").as_str(),
                "safety guards tripped; delivering anyway because of --force"
            );
            progress.guard_note =
                format!("FORCED past the safety guards (compared with run {run_id}): {}", reasons.join("; "));
            progress.guard_reasons = reasons;
            progress.forced = true;
        }
        Verdict::Tripped { run_id, reasons } => {
            let kept = keep_undelivered_set(options, work, produced)?;
            let listed = reasons.iter().map(|r| format!("  {r}")).collect::<Vec<_>>().join("\n");
            progress.guard_reasons = reasons;
            return Err(GuardTripped(format!(
                "a safety guard stopped the delivery; compared with the last good run {run_id}:\n{listed}\n\
                 The set is kept in {} for inspection. If the change is expected (a new school year, a \
                 cleaned-up roster), run again with --force",
                kept.display()
            ))
            .into());
        }
    }
    Ok(work)
}

/// The zip, from the entries compressed while the files were written.
fn zip_set(
    work: &WorkDir,
    produced: &[PathBuf],
    zip_time: chrono::NaiveDateTime,
    entries: archive::EntryStore,
    progress: &Progress,
) -> Result<Archive> {
    let stage = Instant::now();
    crate::stop::check()?;
    let archive =
        archive::create(&work.path().join(&progress.archive_name), produced, zip_time, Some(&entries))?;
    drop(entries);
    tracing::info!(
        zip = progress.archive_name.as_str(),
        bytes = archive.bytes,
        sha256 = archive.sha256.as_str(),
        elapsed_ms = stage.elapsed().as_millis() as u64,
        "zipped"
    );
    Ok(archive)
}

/// The produced files stay when asked to (`--keep`), and always on a dry run (that is
/// its point); the archive to deliver is then the kept copy. Returns the work folder
/// unless it was kept: removed when dropped, so the caller holds it until delivered.
fn keep_requested_copies(
    options: &RunOptions,
    work: WorkDir,
    produced: &[PathBuf],
    archive: Archive,
    archive_name: &str,
) -> Result<(Option<PathBuf>, Archive, Option<WorkDir>)> {
    let (kept, work) = match (&options.keep, options.dry_run) {
        (Some(dir), _) => {
            keep_copies(dir, produced, Some(&archive.path))?;
            (Some(dir.clone()), Some(work))
        }
        (None, true) => {
            let dir = work.keep();
            tracing::info!(
                "dry run: the set (student data) is kept in {}; runs of this job remove it after {KEPT_SET_DAYS} days",
                dir.display()
            );
            (Some(dir), None)
        }
        (None, false) => (None, Some(work)),
    };
    let archive = match &kept {
        Some(dir) => Archive { path: dir.join(archive_name), ..archive },
        None => archive,
    };
    Ok((kept, archive, work))
}

/// Delivers the zip, or the set's files (a dry run leaves them where they are). The last stop check: an SFTP
/// upload, once started, runs to its end (the local copy checks on every MiB).
fn deliver_archive(
    job: &Job,
    options: &RunOptions,
    archive: &Archive,
    files: &[PathBuf],
    progress: &mut Progress,
) -> Result<()> {
    crate::stop::check()?;
    let stage = Instant::now();
    let deliver: Box<dyn Deliver> =
        if options.dry_run { Box::new(DryRun) } else { destination::for_config(&job.destination) };
    let send = job.destination.send();
    let what = match send {
        crate::config::Payload::Zip => progress.archive_name.clone(),
        crate::config::Payload::Files => format!("the {} files of the set", files.len()),
    };
    let delivery =
        destination::deliver_set(deliver.as_ref(), send, &archive.path, &progress.archive_name, files)
            .with_context(|| format!("delivering {what} to {}", job.destination))?;
    tracing::info!(
        to = delivery.location.as_str(),
        elapsed_ms = stage.elapsed().as_millis() as u64,
        "delivered"
    );
    progress.archive = Some(archive.clone());
    progress.delivery = Some(delivery);
    Ok(())
}

/// Keeps a set that may not be delivered (failed validation, a tripped guard) for
/// inspection: copied into `--keep DIR`, or else the work folder is left in place.
fn keep_undelivered_set(options: &RunOptions, work: WorkDir, produced: &[PathBuf]) -> Result<PathBuf> {
    match &options.keep {
        Some(dir) => {
            keep_copies(dir, produced, None)?;
            Ok(dir.clone())
        }
        None => Ok(work.keep().join("set")),
    }
}

/// Copies the set (and the zip, once there is one) into `dir` for inspection (`--keep`).
fn keep_copies(dir: &Path, files: &[PathBuf], zip: Option<&Path>) -> Result<()> {
    crate::fsutil::create_private_dir(dir)?;
    for file in files.iter().map(PathBuf::as_path).chain(zip) {
        crate::stop::check()?;
        let name = file.file_name().context("a produced file has no name")?;
        let target = dir.join(name);
        let mut input = std::fs::File::open(file).with_context(|| format!("reading {}", file.display()))?;
        let mut output = crate::fsutil::create_private(&target)?;
        std::io::copy(&mut input, &mut output).with_context(|| format!("writing {}", target.display()))?;
        output.sync_all().with_context(|| format!("writing {}", target.display()))?;
    }
    Ok(())
}

//! One run of one job: queries → source → output files → zip → destination → history.
//!
//! A dry run is this same pipeline with the destination swapped for [`DryRun`]; there is
//! no second code path to drift apart from the real one.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use chrono::{NaiveDate, SecondsFormat, Utc};

use crate::archive::{self, Archive};
use crate::config::{Config, Job};
use crate::destination::{self, Deliver, Delivery, DryRun};
use crate::guards::{self, GuardTripped, Verdict};
use crate::history::{self, Outcome, RunRecord};
use crate::output::FileReport;
use crate::output::csv::CsvFile;
use crate::output::oneroster::{self, OneRosterFile, Version};
use crate::output::validate;
use crate::progress::Counting;
use crate::query::{self, SqlFile};
use crate::source::Source;

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
}

pub fn run_job(config: &Config, job: &Job, options: &RunOptions) -> Result<RunReport> {
    // A job never runs twice at once (a manual run while the scheduled one is going).
    let _lock = crate::lock::acquire(&config.history_file, &job.name)?;
    let started = Utc::now();
    let as_of = options.as_of.unwrap_or_else(|| job.today());
    let mut progress = Progress {
        run_id: format!("{}-{}", started.format("%Y%m%dT%H%M%SZ"), std::process::id()),
        started,
        as_of,
        files: Vec::new(),
        archive_name: job.archive_name(as_of),
        archive: None,
        delivery: None,
        guard_note: String::new(),
        guard_reasons: Vec::new(),
        forced: false,
    };
    let _span =
        tracing::info_span!("run", job = job.name.as_str(), run_id = progress.run_id.as_str()).entered();
    tracing::info!(%as_of, dry_run = options.dry_run, "run started");

    let result = execute(config, job, options, &mut progress);
    let outcome = match (&result, options.dry_run) {
        (Err(e), _) if e.is::<GuardTripped>() => Outcome::Guarded,
        (Err(_), _) => Outcome::Failed,
        (Ok(_), true) => Outcome::DryRun,
        (Ok(_), false) => Outcome::Success,
    };
    let record = RunRecord {
        run_id: progress.run_id.clone(),
        job: job.name.clone(),
        started: progress.started.to_rfc3339_opts(SecondsFormat::Secs, true),
        finished: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        outcome,
        error: result.as_ref().err().map(|e| format!("{e:#}")),
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
    };
    // A run whose history cannot be written is a failed run: the audit trail is a promise.
    let recorded = history::append(&config.history_file, &record);
    if matches!(record.outcome, Outcome::Failed | Outcome::Guarded) {
        let command = if job.on_failure.is_empty() { &config.on_failure } else { &job.on_failure };
        crate::hooks::on_failure(command, &record);
    }
    let (kept, archive) = result?;
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
    })
}

fn execute(
    config: &Config,
    job: &Job,
    options: &RunOptions,
    progress: &mut Progress,
) -> Result<(Option<PathBuf>, Archive)> {
    // Vet every query before connecting: a refused query should not even open a session.
    let queries = query::load_dir(&job.queries)?;
    if let Some(version) = Version::for_format(job.format) {
        check_oneroster_queries(&queries, version, &job.queries)?;
    }

    crate::fsutil::create_private_dir(&config.work_dir)?;
    let work = tempfile::Builder::new()
        .prefix(&format!("sis-extract-{}-", job.name))
        .tempdir_in(&config.work_dir)
        .with_context(|| format!("creating a work folder in {}", config.work_dir.display()))?;
    let set_dir = work.path().join("set");
    crate::fsutil::create_private_dir(&set_dir)?;
    // The zip's entries are compressed on other threads while the files are written;
    // entries made ahead and any made at the end carry the same time stamp.
    let zip_time = job.now_local();
    let entries = archive::EntryStore::new(&work.path().join("entries"), zip_time)?;

    let stage = Instant::now();
    let source = Source::connect(&config.source)?;
    tracing::info!(
        dbms = source.dbms.as_str(),
        elapsed_ms = stage.elapsed().as_millis() as u64,
        "connected read-only"
    );

    let produced = match Version::for_format(job.format) {
        None => write_csv_files(&source, &queries, job, &set_dir, &entries, progress)?,
        Some(version) => write_oneroster_set(&source, &queries, job, version, &set_dir, &entries, progress)?,
    };
    drop(source);

    if Version::for_format(job.format).is_some() {
        let stage = Instant::now();
        let report = validate::validate_dir(&set_dir)?;
        tracing::info!(
            problems = report.total_problems,
            elapsed_ms = stage.elapsed().as_millis() as u64,
            "validated"
        );
        if !report.is_valid() {
            let kept = keep_undelivered_set(options, work, &produced)?;
            let report_path = kept.join("validation-report.txt");
            report.write(&report_path)?;
            bail!(
                "the OneRoster set failed validation with {} problem(s), so nothing was delivered:\n{}\nThe full list is in {}; the set is kept in {}",
                report.total_problems,
                report.summary(10),
                report_path.display(),
                kept.display()
            );
        }
    }

    // Safety guards: compare with the last successful delivery before anything is zipped.
    let history_records = history::read(&config.history_file)?;
    match guards::check(&job.name, &job.guards, &history_records, &progress.files) {
        Verdict::FirstRun => {
            progress.guard_note =
                "first run of this job: there was no earlier delivery to compare with".into();
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
            let kept = keep_undelivered_set(options, work, &produced)?;
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

    let stage = Instant::now();
    let archive =
        archive::create(&work.path().join(&progress.archive_name), &produced, zip_time, Some(&entries))?;
    drop(entries);
    tracing::info!(
        zip = progress.archive_name.as_str(),
        bytes = archive.bytes,
        sha256 = archive.sha256.as_str(),
        elapsed_ms = stage.elapsed().as_millis() as u64,
        "zipped"
    );

    // The produced files stay when asked to, and always on a dry run (that is its point).
    let kept = match (&options.keep, options.dry_run) {
        (Some(dir), _) => {
            keep_copies(dir, &produced, Some(&archive.path))?;
            Some(dir.clone())
        }
        (None, true) => Some(work.keep()),
        (None, false) => None,
    };
    let archive = match &kept {
        Some(dir) => Archive { path: dir.join(&progress.archive_name), ..archive },
        None => archive,
    };

    let stage = Instant::now();
    let deliver: Box<dyn Deliver> =
        if options.dry_run { Box::new(DryRun) } else { destination::for_config(&job.destination) };
    let delivery = deliver
        .deliver(&archive.path, &progress.archive_name)
        .with_context(|| format!("delivering {} to {}", progress.archive_name, job.destination))?;
    tracing::info!(
        to = delivery.location.as_str(),
        elapsed_ms = stage.elapsed().as_millis() as u64,
        "delivered"
    );
    progress.archive = Some(archive.clone());
    progress.delivery = Some(delivery);
    Ok((kept, archive))
}

/// Keeps a set that may not be delivered (failed validation, a tripped guard) for
/// inspection: copied into `--keep DIR`, or else the work folder is left in place.
fn keep_undelivered_set(
    options: &RunOptions,
    work: tempfile::TempDir,
    produced: &[PathBuf],
) -> Result<PathBuf> {
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
        let name = file.file_name().context("a produced file has no name")?;
        let target = dir.join(name);
        let mut input = std::fs::File::open(file).with_context(|| format!("reading {}", file.display()))?;
        let mut output = crate::fsutil::create_private(&target)?;
        std::io::copy(&mut input, &mut output).with_context(|| format!("writing {}", target.display()))?;
        output.sync_all().with_context(|| format!("writing {}", target.display()))?;
    }
    Ok(())
}

/// Plain CSV: one file per query, named after it.
fn write_csv_files(
    source: &Source,
    queries: &[SqlFile],
    job: &Job,
    set_dir: &Path,
    entries: &archive::EntryStore,
    progress: &mut Progress,
) -> Result<Vec<PathBuf>> {
    let mut produced = Vec::new();
    for query in queries {
        let stage = Instant::now();
        let file_name = format!("{}.csv", query.name);
        let path = set_dir.join(&file_name);
        let mut csv = CsvFile::create(&path, job.bom, job.line_ending, Some(entries))?;
        let file_label = format!("{}.sql", query.name);
        source.extract(
            query,
            progress.as_of,
            &mut Counting { inner: &mut csv, file: &file_label, rows: 0 },
        )?;
        crate::progress::clear();
        let (rows, bytes, header) = csv.finish()?;
        tracing::info!(
            file = file_name.as_str(),
            rows,
            bytes,
            elapsed_ms = stage.elapsed().as_millis() as u64,
            "extracted"
        );
        progress.files.push(FileReport {
            file: file_name,
            rows,
            bytes,
            header,
            query_sha256: query.sha256.clone(),
        });
        produced.push(path);
    }
    Ok(produced)
}

/// Every query must name a OneRoster file, and every required file needs its query.
fn check_oneroster_queries(queries: &[SqlFile], version: Version, dir: &Path) -> Result<()> {
    let names: Vec<&str> =
        oneroster::files(version).iter().map(|f| f.name).filter(|n| *n != "roles").collect();
    for query in queries {
        if version == Version::V1_2 && query.name.eq_ignore_ascii_case("roles") {
            bail!(
                "{}: for OneRoster 1.2, roles.csv is built from users.sql (its role and orgSourcedIds columns); remove roles.sql",
                query.path.display()
            );
        }
        if oneroster::file_spec(version, &query.name).is_none() {
            bail!(
                "{}: {:?} is not a OneRoster {} file; the query files must be named {}",
                query.path.display(),
                query.name,
                version.number(),
                names.iter().map(|n| format!("{n}.sql")).collect::<Vec<_>>().join(", ")
            );
        }
    }
    for spec in oneroster::files(version).iter().filter(|f| f.required_file && f.name != "roles") {
        if !queries.iter().any(|q| q.name.eq_ignore_ascii_case(spec.name)) {
            bail!(
                "{} has no {}.sql; a OneRoster set needs {}.csv (the required files are {})",
                dir.display(),
                spec.name,
                spec.name,
                names.iter().filter(|n| **n != "demographics").copied().collect::<Vec<_>>().join(", ")
            );
        }
    }
    Ok(())
}

/// OneRoster: each query becomes its file, then manifest.csv lists the set.
fn write_oneroster_set(
    source: &Source,
    queries: &[SqlFile],
    job: &Job,
    version: Version,
    set_dir: &Path,
    entries: &archive::EntryStore,
    progress: &mut Progress,
) -> Result<Vec<PathBuf>> {
    let mut produced = Vec::new();
    let mut names = Vec::new();
    for query in queries {
        let stage = Instant::now();
        let spec = oneroster::file_spec(version, &query.name).expect("checked before connecting");
        let path = set_dir.join(format!("{}.csv", spec.name));
        let mut file = OneRosterFile::create(
            &path,
            spec,
            version,
            job.bom,
            job.line_ending,
            &job.grade_map,
            Some(entries),
        )?;
        let file_label = format!("{}.sql", query.name);
        source.extract(
            query,
            progress.as_of,
            &mut Counting { inner: &mut file, file: &file_label, rows: 0 },
        )?;
        crate::progress::clear();
        for written in file.finish()? {
            if written.rows == 0 && !spec.required_file {
                // OneRoster permits no empty files: an optional file without rows is left
                // out and marked absent in the manifest.
                std::fs::remove_file(set_dir.join(&written.file))
                    .with_context(|| format!("removing the empty {}", written.file))?;
                tracing::info!(file = written.file.as_str(), "no rows; left out and marked absent");
                continue;
            }
            tracing::info!(
                file = written.file.as_str(),
                rows = written.rows,
                bytes = written.bytes,
                elapsed_ms = stage.elapsed().as_millis() as u64,
                "extracted"
            );
            names.push(written.file.trim_end_matches(".csv").to_string());
            produced.push(set_dir.join(&written.file));
            progress.files.push(FileReport {
                file: written.file,
                rows: written.rows,
                bytes: written.bytes,
                header: written.header,
                query_sha256: query.sha256.clone(),
            });
        }
    }
    let manifest = set_dir.join("manifest.csv");
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    oneroster::write_manifest(&manifest, version, &name_refs, &job.source_system, job.bom, job.line_ending)?;
    produced.insert(0, manifest);
    Ok(produced)
}

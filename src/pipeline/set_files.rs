//! The set's files, one writer per format (plain CSV, Clever, OneRoster with its
//! manifest), and the checks that a job's query files name the files its format needs.

use super::*;

/// Plain CSV: one file per query, named after it.
pub(super) fn write_csv_files(
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
            job.people,
            &mut Counting { inner: &mut csv, file: &file_label, rows: 0 },
        )?;
        crate::progress::clear();
        record_extracted(progress, file_name, query, stage, csv.finish()?);
        produced.push(path);
    }
    Ok(produced)
}

/// Every query must name a Clever file, and each of the five files Clever requires needs
/// its query.
pub(super) fn check_clever_queries(queries: &[SqlFile], dir: &Path) -> Result<()> {
    use crate::output::clever;
    for query in queries {
        if clever::file_spec(&query.name).is_none() {
            bail!(
                "{}: {:?} is not a Clever file; the query files must be named {}",
                query.path.display(),
                query.name,
                clever::query_names()
            );
        }
    }
    for spec in clever::FILES.iter().filter(|f| f.required_file) {
        if !queries.iter().any(|q| q.name.eq_ignore_ascii_case(spec.name)) {
            bail!(
                "{} has no {}.sql; Clever requires {}.csv (its five files are schools, students, teachers, sections and enrollments)",
                dir.display(),
                spec.name,
                spec.name
            );
        }
    }
    Ok(())
}

/// Clever: one file per query, under Clever's own file name, with Clever's headers.
pub(super) fn write_clever_set(
    source: &Source,
    queries: &[SqlFile],
    job: &Job,
    set_dir: &Path,
    entries: &archive::EntryStore,
    progress: &mut Progress,
) -> Result<Vec<PathBuf>> {
    use crate::output::clever::{self, CleverFile};
    let mut produced = Vec::new();
    for query in queries {
        let stage = Instant::now();
        let spec = clever::file_spec(&query.name).expect("checked before connecting");
        let file_name = format!("{}.csv", spec.name);
        let path = set_dir.join(&file_name);
        let mut file =
            CleverFile::create(&path, spec, job.bom, job.line_ending, &job.grade_map, Some(entries))?;
        let file_label = format!("{}.sql", query.name);
        source.extract(
            query,
            progress.as_of,
            job.people,
            &mut Counting { inner: &mut file, file: &file_label, rows: 0 },
        )?;
        crate::progress::clear();
        record_extracted(progress, file_name, query, stage, file.finish()?);
        produced.push(path);
    }
    Ok(produced)
}

/// Logs a file the extract finished and records it for the run report and the history.
fn record_extracted(
    progress: &mut Progress,
    file_name: String,
    query: &SqlFile,
    stage: Instant,
    (rows, bytes, header): (u64, u64, Vec<String>),
) {
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
}

/// Every query must name a OneRoster file, and every required file needs its query.
pub(super) fn check_oneroster_queries(queries: &[SqlFile], version: Version, dir: &Path) -> Result<()> {
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
pub(super) fn write_oneroster_set(
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
            oneroster::WriterSettings {
                bom: job.bom,
                line_ending: job.line_ending,
                grade_map: &job.grade_map,
                enrollment_end_date: job.enrollment_end_date,
            },
            Some(entries),
        )?;
        let file_label = format!("{}.sql", query.name);
        source.extract(
            query,
            progress.as_of,
            job.people,
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

//! The run history: an append-only JSON Lines file, one record per job run. It is the
//! audit trail ("what did we send the vendor on the 14th?") and what later runs compare
//! themselves with.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::output::FileReport;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Extracted and delivered.
    Success,
    /// Extracted and zipped, not delivered, on purpose (`run --dry-run`).
    DryRun,
    /// Stopped by an error; nothing (or nothing new) was delivered.
    Failed,
    /// A scheduled run that did not happen (sis-extract was not running at the time).
    Missed,
    /// Stopped by a safety guard before delivery (exit 3); the set was kept locally.
    Guarded,
    /// Stopped by a signal (SIGINT, SIGTERM) before delivery and cleaned up; or killed
    /// (`kill -9`, a crash) and recorded by the next run, which removed its work files.
    Interrupted,
    /// Not started: the job was already running in another process.
    Refused,
}

/// One job run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    pub job: String,
    /// RFC 3339, UTC.
    pub started: String,
    pub finished: String,
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The date bound to the queries' `?` parameters.
    pub as_of: String,
    pub files: Vec<FileReport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip_sha256: Option<String>,
    /// Where the zip was delivered (or, for a dry run, where it was left).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// The SFTP server's host key as verified, `SHA256:…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_key: Option<String>,
    #[serde(default)]
    pub attempts: u32,
    /// Delivered with `--force` although a guard tripped.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forced: bool,
    /// Why the guards tripped (for `guarded` and forced runs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub guard_reasons: Vec<String>,
    /// Whether the queries read one snapshot or each their own moment, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistency: Option<String>,
    /// Extracts read again after a transient database failure.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub extract_retries: u32,
    /// The receiver's rules the set broke as warnings (it was delivered anyway), one line each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl RunRecord {
    /// A record with nothing extracted or delivered (yet): a refusal, a missed or a
    /// killed run.
    pub fn bare(run_id: String, job: &str, started: String, outcome: Outcome, error: Option<String>) -> Self {
        RunRecord {
            run_id,
            job: job.to_string(),
            finished: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            started,
            outcome,
            error,
            as_of: String::new(),
            files: Vec::new(),
            zip_name: None,
            zip_bytes: None,
            zip_sha256: None,
            destination: None,
            host_key: None,
            attempts: 0,
            forced: false,
            guard_reasons: Vec::new(),
            consistency: None,
            extract_retries: 0,
            warnings: Vec::new(),
        }
    }
}

/// What the history file is called in messages.
const WHAT: &str = "the history file";

/// Appends `record` as one line. The line is written with a single `write` on a file
/// opened for appending, so concurrent writers do not interleave within a line.
pub fn append(path: &Path, record: &RunRecord) -> Result<()> {
    let mut line = serde_json::to_string(record).context("encoding the history record")?;
    // Belt and braces: no secret may reach the file, whatever an error message held.
    line = crate::secret::redact(&line);
    line.push('\n');
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the history folder {}", dir.display()))?;
    }
    // Never through a link, never blocked by a FIFO: the audit trail is ours alone.
    let mut file = crate::fsutil::open_append(path, WHAT).context("check config key history_file")?;
    // A crash can leave a last line without its newline; start a fresh line after it.
    if ends_without_newline(&mut file) {
        line.insert(0, '\n');
    }
    file.write_all(line.as_bytes())
        .and_then(|_| file.sync_data())
        .with_context(|| format!("writing the history file {}", path.display()))
}

fn ends_without_newline(file: &mut std::fs::File) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let mut last = [0u8; 1];
    file.seek(SeekFrom::End(-1)).is_ok() && file.read_exact(&mut last).is_ok() && last[0] != b'\n'
}

/// Records a scheduled run that was missed; the start is the fire time.
pub fn record_missed(path: &Path, job: &crate::config::Job, fire_time: chrono::DateTime<chrono::Utc>) {
    let time = fire_time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let record = RunRecord {
        finished: time.clone(),
        ..RunRecord::bare(
            format!("missed-{}", fire_time.format("%Y%m%dT%H%M%SZ")),
            &job.name,
            time,
            Outcome::Missed,
            Some("the scheduled run did not happen: sis-extract was not running".into()),
        )
    };
    if let Err(e) = append(path, &record) {
        tracing::error!("cannot record the missed run: {e:#}");
    }
}

/// Reads every readable record; a damaged line (say, the last one after a crash) is
/// skipped with a warning rather than hiding the rest of the history.
/// A link or a FIFO at `path` is refused, never followed or waited on.
pub fn read(path: &Path) -> Result<Vec<RunRecord>> {
    use std::io::Read;
    let Some(mut file) = crate::fsutil::open_existing(path, WHAT).context("check config key history_file")?
    else {
        return Ok(Vec::new());
    };
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).with_context(|| format!("reading the history file {}", path.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    Ok(parse_records(&text, &path.display().to_string()))
}

/// The records of history text; `source` names the file in warnings about skipped lines.
pub fn parse_records(text: &str, source: &str) -> Vec<RunRecord> {
    let mut records = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(record) => records.push(record),
            Err(e) => tracing::warn!("{source} line {}: skipped an unreadable record ({e})", number + 1),
        }
    }
    records
}

/// [`render_table_in_zones`] without the config's jobs: every start in the server's zone.
pub fn render_table(records: &[RunRecord]) -> String {
    render_table_in_zones(records, &[])
}

/// Runs as a table for people: start, duration, outcome, rows per file, zip size,
/// destination or error. Each start is shown in its job's `timezone` from `jobs` (the
/// zone the schedule and `{date}` use) with the zone's abbreviation, `2026-11-22 18:30:00
/// CST`; a job without one (or no longer in the config) in the server's zone.
pub fn render_table_in_zones(records: &[RunRecord], jobs: &[crate::config::Job]) -> String {
    if records.is_empty() {
        return "no runs recorded yet\n".to_string();
    }
    let mut out = format!(
        "{:<25}  {:>8}  {:<11}  {:<14}  {:<40}  {:>9}  {}\n",
        "START (job's time zone)", "DURATION", "OUTCOME", "JOB", "ROWS", "ZIP", "DESTINATION / ERROR"
    );
    let server = server_zone();
    for record in records {
        let started = chrono::DateTime::parse_from_rfc3339(&record.started).ok();
        let finished = chrono::DateTime::parse_from_rfc3339(&record.finished).ok();
        let zone = jobs.iter().find(|j| j.name == record.job).and_then(|j| j.timezone).or(server);
        let start = started
            .map(|t| start_time(t.with_timezone(&chrono::Utc), zone))
            .unwrap_or_else(|| record.started.clone());
        let duration = match (started, finished) {
            (Some(s), Some(f)) => {
                let secs = (f - s).num_seconds().max(0);
                if secs >= 60 { format!("{}m{:02}s", secs / 60, secs % 60) } else { format!("{secs}s") }
            }
            _ => "?".into(),
        };
        let outcome = serde_json::to_value(record.outcome)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let rows: Vec<String> =
            record.files.iter().map(|f| format!("{} {}", f.file.trim_end_matches(".csv"), f.rows)).collect();
        let mut rows = rows.join(", ");
        if rows.chars().count() > 40 {
            rows = rows.chars().take(39).collect::<String>() + "…";
        }
        let zip = record.zip_bytes.map(human_bytes).unwrap_or_default();
        let last = match (&record.error, &record.destination) {
            (Some(error), _) => error.lines().next().unwrap_or_default().to_string(),
            (None, Some(destination)) => destination.clone(),
            (None, None) => String::new(),
        };
        let last = match record.warnings.len() {
            0 => last,
            n => format!("{last} ({n} receiver warning(s): history --json)"),
        };
        out.push_str(&format!(
            "{start:<25}  {duration:>8}  {outcome:<11}  {:<14}  {rows:<40}  {zip:>9}  {last}\n",
            record.job
        ));
    }
    out
}

/// `2026-11-22 18:30:00 CST`: the time in `zone` with its abbreviation; without a known
/// zone, in the server's local time with its UTC offset (`+01:00`), which is all chrono
/// can tell of it.
fn start_time(time: chrono::DateTime<chrono::Utc>, zone: Option<chrono_tz::Tz>) -> String {
    match zone {
        Some(zone) => time.with_timezone(&zone).format("%Y-%m-%d %H:%M:%S %Z").to_string(),
        None => time.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M:%S %:z").to_string(),
    }
}

/// The server's IANA time zone, when it can be named: `TZ` (as `Europe/Berlin` or
/// `:Europe/Berlin`), else the zone `/etc/localtime` links to. `None` on Windows, or
/// with a POSIX rule in `TZ` that is no IANA name.
fn server_zone() -> Option<chrono_tz::Tz> {
    match std::env::var("TZ") {
        Ok(tz) => tz.trim_start_matches(':').parse().ok(),
        Err(_) => {
            let target = std::fs::read_link("/etc/localtime").ok()?;
            let target = target.to_str()?;
            target.split_once("zoneinfo/")?.1.parse().ok()
        }
    }
}

fn human_bytes(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(job: &str) -> RunRecord {
        RunRecord {
            run_id: "r1".into(),
            job: job.into(),
            started: "2026-11-23T00:30:00Z".into(),
            finished: "2026-11-23T00:31:00Z".into(),
            outcome: Outcome::Success,
            error: None,
            as_of: "2026-11-22".into(),
            files: vec![],
            zip_name: Some("x.zip".into()),
            zip_bytes: Some(10),
            zip_sha256: Some("ab".into()),
            destination: None,
            host_key: None,
            attempts: 1,
            forced: false,
            guard_reasons: Vec::new(),
            consistency: None,
            extract_retries: 0,
            warnings: Vec::new(),
        }
    }

    #[test]
    fn appends_and_survives_a_truncated_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.jsonl");
        append(&path, &record("a")).unwrap();
        append(&path, &record("b")).unwrap();
        let mut file = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"{\"run_id\":\"r3\",\"jo").unwrap();
        let records = read(&path).unwrap();
        assert_eq!(records.iter().map(|r| r.job.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        append(&path, &record("c")).unwrap();
        let records = read(&path).unwrap();
        assert_eq!(records.iter().map(|r| r.job.as_str()).collect::<Vec<_>>(), ["a", "b", "c"]);
    }
}

//! `check`'s database steps, after DNS and TCP: driver installed, login, read-only
//! session, and every query of the jobs prepared and described (never run).

use std::time::Instant;

use crate::config::SourceConfig;
use crate::diagnosis::{Chain, Step};
use crate::secret;
use crate::source::{Source, driver_name, first_line};

/// `check`'s database steps, after DNS and TCP: driver installed, login, read-only
/// session, and every query of the jobs prepared and described (never run).
pub fn diagnose(config: &SourceConfig, jobs: &[&crate::config::Job], chain: &mut Chain) {
    if !chain.record(driver_step(config)) {
        return;
    }
    let Some(source) = login_step(config, chain) else { return };
    if !chain.record(read_only_step(&source)) {
        return;
    }
    if !chain.record(consistency_step(&source, jobs)) {
        return;
    }
    for job in jobs {
        let started = Instant::now();
        let queries = match crate::query::load_dir(&job.queries) {
            Ok(queries) => queries,
            Err(e) => {
                chain.record(Step::fail(
                    "queries",
                    format!("job {}: {e}", job.name),
                    "fix the query files before the next run",
                    started,
                ));
                return;
            }
        };
        for query in &queries {
            if !chain.record(query_step(&source, job, query)) {
                return;
            }
        }
    }
}

/// The ODBC driver the connection string names is installed.
fn driver_step(config: &SourceConfig) -> Step {
    let started = Instant::now();
    let installed: Vec<String> = odbc_api::environment()
        .and_then(|env| env.drivers())
        .map(|drivers| drivers.into_iter().map(|d| d.description).collect())
        .unwrap_or_default();
    match driver_name(&config.connection_string) {
        Some(driver) if installed.iter().any(|d| d.eq_ignore_ascii_case(&driver)) => {
            let identified = crate::source::drivers::identify(&config.connection_string);
            let notes: String = identified.profile.quirks.iter().map(|quirk| format!("; {quirk}")).collect();
            let what = if identified.shown.starts_with(identified.profile.label) {
                identified.shown
            } else {
                format!("{}: {}", identified.shown, identified.profile.label)
            };
            Step::pass("odbc driver", format!("{driver:?} is installed ({what}){notes}"), started)
        }
        Some(driver) => Step::fail(
            "odbc driver",
            format!(
                "{driver:?} is not installed (installed: {})",
                if installed.is_empty() { "none".to_string() } else { installed.join(", ") }
            ),
            "install that ODBC driver on this server (for Campus: Microsoft ODBC Driver 18 for SQL Server, or FreeTDS: Debian's tdsodbc), or correct Driver= in source.connection_string",
            started,
        ),
        None => Step::pass(
            "odbc driver",
            "no Driver= in the connection string; the driver manager resolves the DSN",
            started,
        ),
    }
}

/// The login, as the run does it (read-only, the same connection string).
fn login_step(config: &SourceConfig, chain: &mut Chain) -> Option<Source> {
    let started = Instant::now();
    let source = match Source::connect(config, "check") {
        Ok(source) => source,
        Err(error) => {
            let detail = driver_message(&error).unwrap_or_else(|| error.to_string());
            chain.record(Step::fail(
                "login",
                secret::redact_external(&detail),
                secret::redact_external(&error.to_string()),
                started,
            ));
            return None;
        }
    };
    let who = config.user.as_deref().map(|u| format!(" as {u}")).unwrap_or_default();
    chain.record(Step::pass(
        "login",
        format!("{} (through {}){who} accepted the login", source.dbms, source.driver.shown),
        started,
    ));
    Some(source)
}

/// The session is read-only, as far as the server can say.
fn read_only_step(source: &Source) -> Step {
    let started = Instant::now();
    match source.read_only_state() {
        Ok(Some(state)) => Step::pass("read-only", state, started),
        Ok(None) => Step::pass(
            "read-only",
            format!(
                "SQL_ATTR_ACCESS_MODE is read-only; {} has no session-level switch, so the account's own permissions are what keeps this read-only",
                source.dbms
            ),
            started,
        ),
        Err(e) => Step::fail(
            "read-only",
            secret::redact_external(&e.to_string()),
            "the session could not be confirmed read-only; ask the DBA for a read-only account",
            started,
        ),
    }
}

/// Whether each job's queries would read one snapshot, and a job that insists on one
/// where the database has none fails here rather than at night.
fn consistency_step(source: &Source, jobs: &[&crate::config::Job]) -> Step {
    use crate::config::Consistency;
    use crate::source::SnapshotSupport;
    let started = Instant::now();
    let support = match source.snapshot_support() {
        Ok(support) => support,
        Err(e) => {
            return Step::fail(
                "consistency",
                secret::redact_external(&format!("{e:#}")),
                "the account may not read sys.databases; a run will read each query on its own unless a job sets consistency = \"snapshot\"",
                started,
            );
        }
    };
    let mut lines = Vec::new();
    for job in jobs {
        let line = match (&support, job.consistency) {
            (_, Consistency::PerQuery) => "per query (consistency = \"per-query\")".to_string(),
            (SnapshotSupport::Available { how }, _) => format!("snapshot: {how}"),
            (SnapshotSupport::Unavailable { why }, Consistency::Snapshot) => {
                return Step::fail(
                    "consistency",
                    format!("job {} asks for consistency = \"snapshot\", but {why}", job.name),
                    "ask the database administrator to allow snapshot isolation (SQL Server: ALTER DATABASE … SET ALLOW_SNAPSHOT_ISOLATION ON), or set consistency = \"per-query\" for this job",
                    started,
                );
            }
            (SnapshotSupport::Unavailable { why }, _) => format!("per query: {why}"),
        };
        lines.push(format!("job {}: {line}", job.name));
    }
    if lines.is_empty() {
        lines.push(match support {
            SnapshotSupport::Available { how } => format!("snapshot available: {how}"),
            SnapshotSupport::Unavailable { why } => format!("no snapshot: {why}"),
        });
    }
    Step::pass("consistency", lines.join("; "), started)
}

/// One query prepared and described (never run), its columns checked against the
/// job's format.
fn query_step(source: &Source, job: &crate::config::Job, query: &crate::query::SqlFile) -> Step {
    let version = job.format.oneroster_version();
    let started = Instant::now();
    let file = format!("{}.sql", query.name);
    match source.describe_query(query) {
        Ok(columns) => {
            let names: Vec<String> = columns.iter().map(|(n, _)| n.clone()).collect();
            let listed: Vec<String> = columns.iter().map(|(n, t)| format!("{n} {t}")).collect();
            let detail =
                format!("job {}: {file} → {} column(s): {}", job.name, columns.len(), listed.join(", "));
            let checked = match (job.format, version) {
                (crate::config::Format::Clever, _) => {
                    Some(crate::output::clever::check_columns(&query.name, &names))
                }
                (_, version) => {
                    version.map(|v| crate::output::oneroster::check_columns(v, &query.name, &names))
                }
            };
            match checked {
                Some(Err(e)) => Step::fail(
                    "query",
                    detail,
                    format!(
                        "{e} (the format {} needs these columns)",
                        crate::config::format_name(job.format)
                    ),
                    started,
                ),
                _ => Step::pass("query", detail, started),
            }
        }
        Err(error) => {
            let detail = driver_message(&error).unwrap_or_default();
            Step::fail(
                "query",
                format!("job {}: {file}: {}", job.name, secret::redact_external(&detail)),
                format!(
                    "the database cannot prepare {file}: fix the table or column it names, or ask Campus support whether it changed ({})",
                    secret::redact_external(&error.to_string())
                ),
                started,
            )
        }
    }
}

/// The first line of the driver's own message in `error`'s cause chain, if any.
fn driver_message(error: &anyhow::Error) -> Option<String> {
    error.chain().find(|c| c.is::<crate::detail::Detail>()).map(|c| first_line(&c.to_string()).to_string())
}

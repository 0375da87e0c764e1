//! Command-line types only (clap). They are turned into validated settings once, in
//! `main`; the rest of the program never sees them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "sis-extract",
    version,
    about = "Nightly SIS extracts: read-only ODBC queries → CSV → zip → SFTP or a local folder",
    long_about = "Runs the SQL extract queries of each configured job against the student information \
system over a read-only ODBC connection, writes one CSV file per query, zips the set and \
delivers it to the vendor's SFTP drop or a local folder.\n\n\
Start with `sis-extract config` to see what a config file resolves to, then \
`sis-extract run --dry-run` to build a set without sending it.",
    after_help = "Exit codes: 0 success, 1 a run failed, 2 usage or configuration error, \
3 a safety guard stopped the upload, 4 a connectivity check failed."
)]
pub struct Cli {
    /// Configuration file (TOML). See config.example.toml for every key.
    #[arg(
        short,
        long,
        global = true,
        value_name = "PATH",
        env = "SIS_EXTRACT_CONFIG",
        default_value = "config.toml"
    )]
    pub config: PathBuf,

    /// More detail: -v shows the cause of errors and stage timings, -vv debug logs.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Only print errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Log line format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

pub use crate::logging::LogFormat;

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Extract, zip and deliver now (what an admin or the OS scheduler runs).
    Run(RunArgs),
    /// Diagnose connectivity step by step (DNS, TCP, ODBC login, queries described, SSH
    /// banner, algorithms, host key, authentication, SFTP folder and a probe file); sends
    /// no student data. Exit 4 when a step fails.
    Check(CheckArgs),
    /// Run as a long-lived service: fire each job on its cron schedule in its time zone.
    /// `--next N` prints the next fire times instead.
    Schedule(ScheduleArgs),
    /// Past runs: when, outcome, rows per file, zip size, destination, error.
    History(HistoryArgs),
    /// Print the effective configuration, with every secret shown as ***.
    Config,
    /// Check a OneRoster zip or folder (ours or another system's): manifest, headers,
    /// required fields, enumerations, formats, unique ids and references; with --for, also
    /// a receiver's published rules. Exit 1 when it has errors.
    Validate(ValidateArgs),
    /// Write a commented config.toml for a vendor profile, to fill in.
    Init(InitArgs),
    /// Windows: install, remove or show the Windows service that runs `schedule` (the
    /// config given with -c). On Linux the systemd unit does this instead.
    Service(ServiceArgs),
    /// Windows: store or delete a `{ credential = "NAME" }` secret in the Windows Credential
    /// Manager of the account running this command. On Linux systemd passes credentials.
    Secret(SecretArgs),
}

#[derive(Args, Debug)]
pub struct ServiceArgs {
    #[command(subcommand)]
    pub action: ServiceAction,
}

#[derive(Subcommand, Debug)]
pub enum ServiceAction {
    /// Create the service "sis-extract": starts with Windows (delayed), runs
    /// `sis-extract -c CONFIG schedule` as ACCOUNT, restarts a minute after a failure.
    /// Needs an administrator's console.
    Install(ServiceInstallArgs),
    /// Stop the service (a run in progress finishes first) and remove it.
    Uninstall,
    /// Whether the service is installed and running, its account, command, failure
    /// actions and log file. Exit 1 when it is not installed.
    Status,
    /// What the Service Control Manager starts; not for a console.
    #[command(hide = true)]
    Run,
}

#[derive(Args, Debug)]
pub struct ServiceInstallArgs {
    /// The account the service runs as: a domain or local account (DISTRICT\svc-sisextract,
    /// .\sisextract) or a gMSA (DISTRICT\gmsa-sis$). Default: the service's own virtual
    /// account, NT SERVICE\sis-extract (no password). The account needs "Log on as a service".
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,

    /// Read --account's password from this environment variable instead of a prompt.
    #[arg(long, value_name = "VAR", requires = "account")]
    pub password_env: Option<String>,
}

#[derive(Args, Debug)]
pub struct SecretArgs {
    #[command(subcommand)]
    pub action: SecretAction,
}

#[derive(Subcommand, Debug)]
pub enum SecretAction {
    /// Prompt for the secret (no echo, twice) and store it as the generic credential NAME;
    /// from a pipe, the first line read. Run it as the account that runs sis-extract.
    Set {
        /// The name the config gives: password = { credential = "NAME" }.
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Delete the generic credential NAME.
    Delete {
        #[arg(value_name = "NAME")]
        name: String,
    },
}

#[derive(Args, Debug)]
pub struct ScheduleArgs {
    /// Print the next N fire times of each scheduled job (local time and UTC) and exit.
    #[arg(long, value_name = "N")]
    pub next: Option<usize>,

    /// With --next: pretend the current time is this (RFC 3339, e.g.
    /// 2026-03-07T12:00:00-06:00), to see how a schedule crosses a daylight-saving change.
    #[arg(long, value_name = "TIME", requires = "next", value_parser = parse_time)]
    pub now: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// Only this job's runs.
    #[arg(long = "job", value_name = "NAME")]
    pub job: Option<String>,

    /// How many of the most recent runs to show.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub limit: usize,

    /// Print the records as JSON.
    #[arg(long)]
    pub json: bool,
}

fn parse_time(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|_| format!("expected an RFC 3339 time such as 2026-03-07T12:00:00Z, found {text:?}"))
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Check only this job's destination (and the queries of this job).
    #[arg(long = "job", value_name = "NAME")]
    pub job: Option<String>,

    /// Check only the database chain, or only the SFTP chains.
    #[arg(long, value_enum)]
    pub only: Option<crate::check::Only>,

    /// Print the steps as JSON (for a support ticket).
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// A OneRoster zip, or a folder holding manifest.csv and the CSV files.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,

    /// Also write every problem found to this file.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    /// Also check the rules this receiver publishes (docs/receivers.md): errors fail the
    /// set as a run would, warnings are listed. Default: generic (the OneRoster binding only).
    #[arg(long = "for", value_enum, value_name = "RECEIVER", default_value_t = crate::output::receivers::Receiver::Generic)]
    pub receiver: crate::output::receivers::Receiver,

    /// Print the report as JSON (for a ticket): findings grouped by rule, each with a
    /// count and the first rows. Shape in docs/receivers.md.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// The vendor profile.
    #[arg(long, value_enum)]
    pub vendor: crate::profiles::Vendor,

    /// Where to write it (default: the -c path, config.toml).
    #[arg(long, short = 'o', value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// Replace an existing file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Run only this job (repeat for several). Default: every job in the config.
    #[arg(long = "job", value_name = "NAME")]
    pub jobs: Vec<String>,

    /// Do everything except the delivery; print where the zip is.
    #[arg(long)]
    pub dry_run: bool,

    /// Deliver even if a safety guard trips (a big drop in rows, a changed header, a
    /// missing or empty file); the run is recorded as forced.
    #[arg(long, visible_alias = "accept-changes")]
    pub force: bool,

    /// Keep the produced CSV files and zip in this folder (created if missing).
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,

    /// The date bound to every `?` in the queries. Default: today in the job's time zone.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub as_of: Option<chrono::NaiveDate>,
}

/// Exactly `YYYY-MM-DD` with a four-digit year from 0001 to 9999: the range every SQL
/// date type holds (chrono alone would also take `+10000-01-01`, which the driver's date
/// structure cannot carry).
fn parse_date(text: &str) -> Result<chrono::NaiveDate, String> {
    let shaped = text.len() == 10
        && text
            .bytes()
            .enumerate()
            .all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    shaped
        .then(|| chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten()
        .filter(|date| chrono::Datelike::year(date) >= 1)
        .ok_or_else(|| {
            format!("expected a date as YYYY-MM-DD (years 0001 to 9999), e.g. 2026-11-23, found {text:?}")
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn as_of_dates_are_four_digit_years_only() {
        assert!(super::parse_date("2026-11-23").is_ok());
        assert!(super::parse_date("9999-12-31").is_ok());
        for bad in [
            "+10000-01-01",
            "10000-01-01",
            "0000-01-01",
            "2026-1-5",
            "2026-02-30",
            " 2026-11-23",
            "-2026-11-23",
        ] {
            assert!(super::parse_date(bad).is_err(), "{bad}");
        }
    }
}

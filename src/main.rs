//! `sis-extract`: parse the command line, run the command, and be the one place that
//! prints a fatal error and picks the exit code.
//!
//! Exit codes: 0 success; 1 a run failed; 2 usage or configuration error; 3 a safety guard
//! stopped the upload; 4 a connectivity check failed.

use sis_extract::{
    archive, check, cli, config, credential, detail, fsutil, guards, history, logging, output, pipeline,
    progress, schedule, secret, service, stop,
};

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Parser;

use cli::{
    CheckArgs, Cli, Command, HistoryArgs, InitArgs, RunArgs, ScheduleArgs, SecretAction, SecretArgs,
    ServiceAction, ServiceArgs, ValidateArgs,
};
use config::ConfigError;

fn main() -> ExitCode {
    // Everything sis-extract creates is its owner's alone: files 0600, folders 0700, also
    // those made by libraries (the daily log files, temporary folders).
    #[cfg(unix)]
    // SAFETY: umask(2) only sets the process's file-creation mask.
    unsafe {
        libc::umask(0o077);
    }
    let cli = Cli::parse();
    // The commands that run jobs read the config before logging starts, because the
    // config names the log file.
    let under_scm = matches!(&cli.command, Command::Service(ServiceArgs { action: ServiceAction::Run }));
    let preloaded = (matches!(cli.command, Command::Run(_) | Command::Schedule(_)) || under_scm)
        .then(|| config::load(&cli.config));
    let loaded = preloaded.as_ref().and_then(|loaded| loaded.as_ref().ok());
    let log_file = if under_scm {
        // A service has no console: its log file always exists (src/service.rs).
        Some((service::log_file(&cli.config, loaded), loaded.map_or(14, |c| c.log_keep)))
    } else {
        loaded.and_then(|c| c.log_file.clone().map(|file| (file, c.log_keep)))
    };
    let service = matches!(&cli.command, Command::Schedule(args) if args.next.is_none()) || under_scm;
    let verbosity = logging::Verbosity { quiet: cli.quiet, verbose: cli.verbose, format: cli.log_format };
    logging::init(verbosity, log_file, service);
    progress::init(cli.quiet || service);
    match dispatch(&cli, preloaded) {
        Ok(code) => code,
        Err(error) => {
            report_fatal(&error, cli.verbose > 0);
            exit_code_for(&error)
        }
    }
}

fn dispatch(cli: &Cli, preloaded: Option<Result<config::Config>>) -> Result<ExitCode> {
    if let Command::Service(args) = &cli.command {
        return service_command(cli, args, preloaded);
    }
    let loaded = || preloaded.unwrap_or_else(|| config::load(&cli.config));
    match &cli.command {
        Command::Config => {
            let config = config::load(&cli.config)?;
            let text = config::render(&config)?;
            println!(
                "# effective configuration read from {}; secrets are shown as ***",
                config.path.display()
            );
            print!("{}", secret::redact(&text));
            Ok(ExitCode::SUCCESS)
        }
        Command::Run(args) => run(cli, args, loaded()?),
        Command::Schedule(args) => schedule(cli, args, loaded()?),
        Command::History(args) => history(cli, args),
        Command::Check(args) => check(cli, args),
        Command::Validate(args) => validate(args),
        Command::Init(args) => init(cli, args),
        Command::Service(_) => unreachable!("dispatched above"),
        Command::Secret(args) => secret_command(args),
    }
}

/// `service install|uninstall|status|run`: the Windows service (src/service.rs).
#[cfg(windows)]
fn service_command(
    cli: &Cli,
    args: &ServiceArgs,
    preloaded: Option<Result<config::Config>>,
) -> Result<ExitCode> {
    match &args.action {
        ServiceAction::Install(install) => {
            let config = config::load(&cli.config)?;
            let path = std::path::absolute(&cli.config)?;
            let credentials = service::credential_secrets(&config);
            if install.account.is_none() && !credentials.is_empty() {
                bail!(ConfigError(format!(
                    "{} come(s) from the Windows Credential Manager, which belongs to one account, and nobody can \
                     log on as the default account {} to store them: install with --account DISTRICT\\svc-sisextract \
                     and store them as that account (`runas /user:DISTRICT\\svc-sisextract \"sis-extract secret set \
                     NAME\"`), or use {{ file = \"…\" }} secrets readable by {}",
                    credentials.join(", "),
                    service::DEFAULT_ACCOUNT,
                    service::DEFAULT_ACCOUNT
                )));
            }
            let password = match (&install.account, &install.password_env) {
                (Some(_), Some(var)) => Some(secret::Secret::new(std::env::var(var).map_err(|_| {
                    ConfigError(format!("--password-env {var}: the environment variable is not set"))
                })?)),
                (Some(account), None)
                    if !(account.ends_with('$')
                        || account.to_ascii_uppercase().starts_with("NT SERVICE\\")
                        || account.to_ascii_uppercase().starts_with("NT AUTHORITY\\")) =>
                {
                    Some(secret::Secret::new(credential::prompt(&format!("password of {account}"))?))
                }
                _ => None,
            };
            let account = install.account.clone();
            let notes =
                service::install(&service::InstallOptions { config: path.clone(), account, password })?;
            let account = install.account.as_deref().unwrap_or(service::DEFAULT_ACCOUNT);
            for note in notes {
                eprintln!("sis-extract: {note}");
            }
            let log = service::log_file(&path, Some(&config));
            println!(
                "installed service {} running `sis-extract -c {} schedule` as {account}",
                service::NAME,
                path.display()
            );
            println!("  it starts with Windows (delayed start) and a minute after a failure");
            println!("  its log: {} (daily files)", log.display());
            println!(
                "  {account} needs to read the config, queries and secret files and to write the history, work and log \
                 folders, e.g.: icacls \"{}\" /grant \"{account}:(OI)(CI)M\"",
                path.parent().unwrap_or(&path).display()
            );
            println!("  start it now: sc start {}   (then: sis-extract service status)", service::NAME);
            Ok(ExitCode::SUCCESS)
        }
        ServiceAction::Uninstall => {
            println!("{}", service::uninstall()?);
            Ok(ExitCode::SUCCESS)
        }
        ServiceAction::Status => match service::status()? {
            Some(lines) => {
                println!("{}", secret::redact(&lines.join("\n")));
                Ok(ExitCode::SUCCESS)
            }
            None => {
                println!(
                    "service {} is not installed; install it with `sis-extract -c CONFIG service install`",
                    service::NAME
                );
                Ok(ExitCode::from(1))
            }
        },
        ServiceAction::Run => {
            let config = preloaded.unwrap_or_else(|| config::load(&cli.config));
            service::run_under_scm(Box::new(move || serve_schedule(&config?)))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(not(windows))]
fn service_command(
    _cli: &Cli,
    _args: &ServiceArgs,
    _preloaded: Option<Result<config::Config>>,
) -> Result<ExitCode> {
    bail!(ConfigError(service::not_on_this_system()))
}

/// `secret set|delete NAME`: the Windows Credential Manager (src/credential.rs).
fn secret_command(args: &SecretArgs) -> Result<ExitCode> {
    let (SecretAction::Set { name } | SecretAction::Delete { name }) = &args.action;
    if let Some(why) = credential::invalid_name(name) {
        bail!(ConfigError(why));
    }
    if let Some(instead) = credential::no_store_here(name) {
        bail!(ConfigError(instead));
    }
    match &args.action {
        SecretAction::Set { name } => {
            credential::set(name)?;
            println!(
                "stored credential {name} in the Windows Credential Manager of this account; the config names it as \
                 password = {{ credential = \"{name}\" }}"
            );
        }
        SecretAction::Delete { name } => {
            if credential::delete(name)? {
                println!("deleted credential {name}");
            } else {
                println!("there was no credential {name} for this account");
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `schedule`: the service loop, or `--next N`.
fn schedule(_cli: &Cli, args: &ScheduleArgs, config: config::Config) -> Result<ExitCode> {
    if let Some(count) = args.next {
        let now = args.now.unwrap_or_else(chrono::Utc::now);
        print!("{}", schedule::print_next(&config, count, now)?);
        return Ok(ExitCode::SUCCESS);
    }
    serve_schedule(&config)?;
    Ok(ExitCode::SUCCESS)
}

/// The scheduler loop of `schedule` and of the Windows service, until a stop.
fn serve_schedule(config: &config::Config) -> Result<()> {
    // A first stop signal lets the current run finish and starts no new one.
    stop::install(stop::Mode::FinishRuns)?;
    let options = pipeline::RunOptions::default();
    let run_one = |job: &config::Job| match pipeline::run_job(config, job, &options) {
        Ok(report) => tracing::info!(
            job = report.job.as_str(),
            run_id = report.run_id.as_str(),
            to = report.delivery.location.as_str(),
            "run succeeded"
        ),
        // One event, on stderr in the chosen format and in the log file; the causes
        // (drivers' own messages) included, as a service has no -v to re-run with.
        Err(error) => {
            let text = secret::redact(&format!("{error:#}"));
            tracing::error!(job = job.name.as_str(), "run failed: {text}");
        }
    };
    schedule::serve(config, &run_one)
}

/// `history`: past runs as a table (or JSON).
fn history(cli: &Cli, args: &HistoryArgs) -> Result<ExitCode> {
    let config = config::load(&cli.config)?;
    let mut records = history::read(&config.history_file)?;
    if let Some(job) = &args.job {
        records.retain(|r| &r.job == job);
    }
    let skip = records.len().saturating_sub(args.limit);
    let records = &records[skip..];
    if args.json {
        println!("{}", secret::redact(&serde_json::to_string_pretty(records)?));
    } else {
        print!("{}", secret::redact(&history::render_table_in_zones(records, &config.jobs)));
    }
    Ok(ExitCode::SUCCESS)
}

/// `check`: every hop, step by step; exit 4 when one fails.
fn check(cli: &Cli, args: &CheckArgs) -> Result<ExitCode> {
    let config = config::load_for_check(&cli.config)?;
    let jobs: Vec<&config::Job> = match &args.job {
        Some(name) => match config.jobs.iter().find(|j| &j.name == name) {
            Some(job) => vec![job],
            None => {
                let known: Vec<&str> = config.jobs.iter().map(|j| j.name.as_str()).collect();
                bail!(ConfigError(format!(
                    "--job {name:?}: no such job; the jobs are: {}",
                    known.join(", ")
                )));
            }
        },
        None => config.jobs.iter().collect(),
    };
    let chains = check::run(&config, &jobs, args.only);
    let text = if args.json {
        let ok = chains.iter().all(check::Chain::ok);
        serde_json::to_string_pretty(&serde_json::json!({ "ok": ok, "chains": chains }))? + "\n"
    } else {
        check::render_text(&chains)
    };
    print!("{}", secret::redact(&text));
    Ok(if chains.iter().all(check::Chain::ok) { ExitCode::SUCCESS } else { ExitCode::from(4) })
}

/// `validate PATH`: the same checks a run makes before delivery, on any set.
/// A symbolic link as PATH is refused (naming its target, to pass instead): validate
/// quotes what it reads, and must not be a way to show another file's content.
fn validate(args: &ValidateArgs) -> Result<ExitCode> {
    let metadata = match std::fs::symlink_metadata(&args.path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!(ConfigError(format!("{}: no such file or folder", args.path.display())))
        }
        Err(e) => bail!(ConfigError(format!("{}: {e}", args.path.display()))),
    };
    if metadata.file_type().is_symlink() {
        let target = std::fs::read_link(&args.path).unwrap_or_default();
        let resolved = match args.path.parent() {
            Some(parent) if target.is_relative() => parent.join(&target),
            _ => target.clone(),
        };
        bail!(ConfigError(format!(
            "{} is a symbolic link to {}; validate does not follow links: pass {} itself",
            args.path.display(),
            target.display(),
            resolved.display()
        )));
    }
    let unpacked;
    let dir = if metadata.is_dir() {
        args.path.clone()
    } else if metadata.is_file() {
        unpacked = tempfile::tempdir()?;
        archive::extract_flat(&args.path, unpacked.path())?;
        unpacked.path().to_path_buf()
    } else {
        bail!(ConfigError(format!(
            "{} is not a regular file or folder (a FIFO, socket or device); pass a OneRoster zip or folder",
            args.path.display()
        )));
    };
    let context = || format!("validating {}", args.path.display());
    let spec = output::validate::validate_dir(&dir).with_context(context)?;
    let version = spec.version;
    let receiver = output::receiver_check::check(
        &dir,
        args.receiver,
        output::receiver_check::SetKind::OneRoster(version),
    )
    .with_context(context)?;
    let report = output::findings::SetReport { spec: Some(spec), receiver };
    if let Some(path) = &args.report {
        report.write(path)?;
    }
    let code = if report.errors() == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) };
    let mut out = std::io::stdout().lock();
    if args.json {
        let text = serde_json::to_string_pretty(&report.to_json(&args.path.display().to_string()))?;
        let _ = writeln!(out, "{text}");
        return Ok(code);
    }
    let spec = report.spec.as_ref().expect("a OneRoster set");
    let for_receiver = match args.receiver {
        output::receivers::Receiver::Generic => String::new(),
        receiver => format!(", checked for {}", receiver.name()),
    };
    let _ = writeln!(out, "OneRoster {} set {}{for_receiver}", version.number(), args.path.display());
    for (file, rows) in &spec.files {
        let bad = spec.problems.iter().filter(|p| &p.file == file).count();
        let mark = if bad == 0 { '✓' } else { '✗' };
        let _ = writeln!(out, "  {mark} {file:<22} {rows:>9} rows");
    }
    let _ = write!(out, "{}", report.text());
    match (report.errors(), report.warnings()) {
        (0, 0) => {
            let _ = writeln!(out, "valid: no problems found");
        }
        (0, warnings) => {
            let _ = writeln!(
                out,
                "valid, with {warnings} warning(s): a run delivers it and records the warnings"
            );
        }
        (errors, _) => {
            let _ = writeln!(out, "not valid: {errors} problem(s) that stop a delivery");
            if let Some(path) = &args.report {
                let _ = writeln!(out, "the full list is in {}", path.display());
            }
        }
    }
    Ok(code)
}

/// `init --vendor NAME`: writes the vendor's commented profile, never over an existing file.
/// Printed by `init`: ids are what a receiver matches records on.
const IDS_WARNING: &str = "WARNING: if this vendor already receives this district's roster (from Campus's own \
OneRoster feed or another extract), compare the sourcedIds before the first run: sis-extract \
sends personGUID for users and schoolGUID for schools (as Campus's feed usually does) and \
integer-based ids for classes, courses, terms and enrollments (see docs/oneroster.md, \
\"Ids and what a vendor already has\"). Changed ids make the vendor create every user and class \
a second time.";

fn init(cli: &Cli, args: &InitArgs) -> Result<ExitCode> {
    let path = args.output.clone().unwrap_or_else(|| cli.config.clone());
    if path.exists() && !args.force {
        bail!(ConfigError(format!(
            "{} already exists; choose another file with -o PATH, or pass --force to replace it",
            path.display()
        )));
    }
    let mut file = fsutil::create_private(&path)?;
    file.write_all(args.vendor.config_text().as_bytes())?;
    file.sync_all()?;
    if !cli.quiet {
        println!(
            "wrote {}: fill in the lines marked FILL IN, then run `sis-extract -c {} config` and `run --dry-run`",
            path.display(),
            path.display()
        );
    }
    // Not silenced by -q: getting this wrong duplicates every user and class at the vendor.
    eprintln!("{}", IDS_WARNING);
    Ok(ExitCode::SUCCESS)
}

fn run(cli: &Cli, args: &RunArgs, config: config::Config) -> Result<ExitCode> {
    for name in &args.jobs {
        if !config.jobs.iter().any(|j| &j.name == name) {
            let known: Vec<&str> = config.jobs.iter().map(|j| j.name.as_str()).collect();
            bail!(ConfigError(format!(
                "--job {name:?}: no such job in {}; the jobs are: {}",
                cli.config.display(),
                known.join(", ")
            )));
        }
    }
    let options = pipeline::RunOptions {
        dry_run: args.dry_run,
        force: args.force,
        keep: args.keep.clone(),
        as_of: args.as_of,
    };
    // SIGINT/SIGTERM/SIGHUP stop the run cleanly (recorded `interrupted`, hook, lock and
    // work files released) and exit 128 + the signal: 130, 143, 129.
    stop::install(stop::Mode::InterruptRuns)?;
    let mut failed = Vec::new();
    let mut guarded = 0;
    let mut stopped = None;
    for job in config.jobs.iter().filter(|j| args.jobs.is_empty() || args.jobs.contains(&j.name)) {
        if let Some(signal) = stop::requested() {
            eprintln!(
                "sis-extract: job {:?} not started: stopped by {}",
                job.name,
                stop::signal_name(signal)
            );
            stopped = Some(signal);
            continue;
        }
        match pipeline::run_job(&config, job, &options) {
            Ok(report) => {
                if !cli.quiet {
                    print_report(&report);
                }
            }
            Err(error) => {
                if error.is::<guards::GuardTripped>() {
                    guarded += 1;
                }
                if let Some(signal) = stop::requested() {
                    stopped = Some(signal);
                }
                report_fatal(&error.context(format!("job {:?} failed", job.name)), cli.verbose > 0);
                failed.push(job.name.clone());
            }
        }
    }
    if let Some(signal) = stopped {
        return Ok(ExitCode::from(stop::exit_code(signal)));
    }
    if failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        if config.jobs.len() > 1 {
            eprintln!("sis-extract: {} job(s) failed: {}", failed.len(), failed.join(", "));
        }
        // 3 when only safety guards stopped deliveries, 1 when anything else failed.
        Ok(ExitCode::from(if guarded == failed.len() { 3 } else { 1 }))
    }
}

fn print_report(report: &pipeline::RunReport) {
    let rows: u64 = report.files.iter().map(|f| f.rows).sum();
    let mut out = std::io::stdout().lock();
    let verb = if report.dry_run { "dry run, not delivered; the zip is at" } else { "delivered to" };
    let _ = writeln!(
        out,
        "{}: {} as of {} ({} files, {} rows, {} bytes, sha256 {}) {} {}",
        report.job,
        report.archive_name,
        report.as_of,
        report.files.len(),
        rows,
        report.archive.bytes,
        report.archive.sha256,
        verb,
        if report.dry_run {
            report.archive.path.display().to_string()
        } else {
            report.delivery.location.clone()
        }
    );
    for file in &report.files {
        let _ = writeln!(out, "  {:<28} {:>10} rows  {:>12} bytes", file.file, file.rows, file.bytes);
    }
    let _ = writeln!(out, "  database read: {}", report.consistency);
    if report.extract_retries > 0 {
        let _ = writeln!(
            out,
            "  read again {} time(s) after a transient database failure (see the log)",
            report.extract_retries
        );
    }
    for warning in &report.warnings {
        let _ = writeln!(out, "  warning, delivered anyway: {warning}");
    }
    let _ = writeln!(out, "  safety guards: {}", report.guard_note);
    let _ = writeln!(out, "  run {} recorded in the history", report.run_id);
    if let Some(kept) = &report.kept {
        let _ = writeln!(out, "  files kept in {}", kept.display());
    }
}

/// One line that says what failed and what to do (our explanations, outermost first);
/// with `-v`, the raw diagnostics of drivers and libraries below it. With
/// `--log-format json` it is one JSON line; with a log file it is recorded there too.
fn report_fatal(error: &anyhow::Error, verbose: bool) {
    let explained: Vec<String> =
        error.chain().filter(|cause| !cause.is::<detail::Detail>()).map(|cause| cause.to_string()).collect();
    let details: Vec<String> =
        error.chain().filter(|cause| cause.is::<detail::Detail>()).map(|cause| cause.to_string()).collect();
    let message = explained.join(": ");
    if verbose {
        logging::fatal(&message, &details, None);
    } else if details.is_empty() {
        logging::fatal(&message, &[], None);
    } else {
        logging::fatal(&message, &[], Some("run with -v to see the driver's own message"));
    }
}

fn exit_code_for(error: &anyhow::Error) -> ExitCode {
    if error.chain().any(|cause| cause.is::<ConfigError>()) {
        ExitCode::from(2)
    } else if error.chain().any(|cause| cause.is::<guards::GuardTripped>()) {
        ExitCode::from(3)
    } else {
        ExitCode::from(1)
    }
}

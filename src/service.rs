//! `sis-extract service install|uninstall|status`: `schedule` as a native Windows service
//! under the Service Control Manager, with no third-party wrapper.
//!
//! The SCM starts `sis-extract.exe -c CONFIG service run`, which hands the scheduler loop
//! to the SCM's dispatcher. A stop (or shutdown) from the SCM is SIGTERM by another name
//! (src/stop.rs): no new run starts, a run in progress finishes within its own timeouts,
//! and meanwhile the service reports "stop pending" with a fresh checkpoint every few
//! seconds so that the SCM keeps waiting. A failure (the loop ending in an error, or the
//! process dying) makes the SCM restart the service after a minute (its failure actions).
//! The service writes to the config's `log_file`, or by default to `logs\sis-extract.log`
//! beside the config (daily files); `service status` prints which.
//!
//! The default account is the service's own virtual account, `NT SERVICE\sis-extract`:
//! no password to keep, a SID of its own that the ACLs of the config, secret files and
//! folders can name (LocalService is shared by many services, and LocalSystem can do
//! anything), and the computer's identity on the network. `--account` takes a domain or
//! local account (or a gMSA, `DOMAIN\name$`, without a password) instead; that is the way
//! when the config's secrets are `{ credential = … }` ones, because the Credential Manager
//! belongs to one account and nobody can log on as a virtual account to fill it.
//!
//! On Linux the systemd unit (examples/linux/sis-extract.service) does all this: `service`
//! says so and exits 2.

use std::path::{Path, PathBuf};

use crate::config::{Config, Destination, SftpAuth};

/// The service's name in the SCM (`sc query sis-extract`, `services.msc`).
pub const NAME: &str = "sis-extract";

/// The account the service runs as when `--account` is not given.
pub const DEFAULT_ACCOUNT: &str = "NT SERVICE\\sis-extract";

/// The log file of the service: the config's `log_file`, else `logs\sis-extract.log`
/// beside the config (written as daily files `sis-extract.YYYY-MM-DD.log`).
pub fn log_file(config_path: &Path, config: Option<&Config>) -> PathBuf {
    if let Some(file) = config.and_then(|c| c.log_file.clone()) {
        return file;
    }
    let absolute = std::path::absolute(config_path).unwrap_or_else(|_| config_path.to_path_buf());
    absolute.parent().unwrap_or(Path::new(".")).join("logs").join("sis-extract.log")
}

/// The config keys whose secret comes from the Credential Manager.
pub fn credential_secrets(config: &Config) -> Vec<String> {
    let mut settings = vec![config.source.password.as_ref()];
    for job in &config.jobs {
        if let Destination::Sftp(sftp) = &job.destination {
            settings.push(match &sftp.auth {
                SftpAuth::Password { password } => Some(password),
                SftpAuth::Key { key_passphrase, .. } => key_passphrase.as_ref(),
            });
        }
    }
    let prefix = crate::credential::describe("");
    settings.into_iter().flatten().filter(|s| s.source.starts_with(&prefix)).map(|s| s.key.clone()).collect()
}

/// What `service` says on a system without the SCM.
pub fn not_on_this_system() -> String {
    "`sis-extract service` installs a Windows service; on Linux the systemd unit is the way: \
     /lib/systemd/system/sis-extract.service from the .deb (examples/linux/sis-extract.service in the \
     source and the release), then `systemctl enable --now sis-extract`; see docs/operations.md"
        .to_string()
}

/// Splits a service's command line (as the SCM keeps it) into its arguments: quoted
/// parts may hold spaces. Enough for the command lines `install` writes.
pub fn split_command_line(line: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            ' ' | '\t' if !quoted => {
                if any {
                    args.push(std::mem::take(&mut current));
                    any = false;
                }
            }
            _ => {
                current.push(c);
                any = true;
            }
        }
    }
    if any {
        args.push(current);
    }
    args
}

/// The config file a service's command line names (`-c PATH` or `--config PATH`).
pub fn config_of(command_line: &str) -> Option<PathBuf> {
    let args = split_command_line(command_line);
    args.windows(2).find(|w| w[0] == "-c" || w[0] == "--config").map(|w| PathBuf::from(&w[1]))
}

#[cfg(windows)]
pub use scm::{install, run_under_scm, status, uninstall};

/// `service install`'s choices, from the command line.
pub struct InstallOptions {
    /// The absolute path of the config the service reads.
    pub config: PathBuf,
    /// `--account`; `None` for [`DEFAULT_ACCOUNT`].
    pub account: Option<String>,
    /// The account's password, when it has one.
    pub password: Option<crate::secret::Secret>,
}

#[cfg(windows)]
mod scm {
    use std::ffi::OsString;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use anyhow::{Context, Result, bail};
    use windows_service::service::{
        ServiceAccess, ServiceAction, ServiceActionType, ServiceControl, ServiceControlAccept,
        ServiceErrorControl, ServiceExitCode, ServiceFailureActions, ServiceFailureResetPeriod, ServiceInfo,
        ServiceStartType, ServiceState, ServiceStatus, ServiceType,
    };
    use windows_service::service_control_handler::{self, ServiceControlHandlerResult};
    use windows_service::service_dispatcher;
    use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};

    use super::*;

    const RESTART_AFTER: Duration = Duration::from_secs(60);
    const ERROR_SERVICE_DOES_NOT_EXIST: i32 = 1060;
    const ERROR_FAILED_SERVICE_CONTROLLER_CONNECT: i32 = 1063;
    const ERROR_SERVICE_EXISTS: i32 = 1073;
    const ERROR_ACCESS_DENIED: i32 = 5;

    /// The crate's error with the system's own words ("IO error in winapi call" alone says
    /// nothing).
    fn explain(error: &windows_service::Error) -> String {
        match error {
            windows_service::Error::Winapi(e) => e.to_string(),
            other => other.to_string(),
        }
    }

    fn os_error(error: &windows_service::Error) -> Option<i32> {
        match error {
            windows_service::Error::Winapi(e) => e.raw_os_error(),
            _ => None,
        }
    }

    fn manager(access: ServiceManagerAccess) -> Result<ServiceManager> {
        ServiceManager::local_computer(None::<&str>, access).map_err(|e| {
            if os_error(&e) == Some(ERROR_ACCESS_DENIED) {
                anyhow::anyhow!(
                    "the Service Control Manager refused access: run this from a console opened with \
                     \"Run as administrator\""
                )
            } else {
                anyhow::Error::new(e).context("connecting to the Service Control Manager")
            }
        })
    }

    /// `service install`: creates the service (automatic start, delayed until the network
    /// is up), its description and its failure actions.
    pub fn install(options: &InstallOptions) -> Result<Vec<String>> {
        let mut notes = Vec::new();
        let executable = std::env::current_exe().context("finding sis-extract.exe's own path")?;
        let account = options.account.clone().unwrap_or_else(|| DEFAULT_ACCOUNT.to_string());
        let info = ServiceInfo {
            name: NAME.into(),
            display_name: "sis-extract (nightly SIS extracts)".into(),
            service_type: ServiceType::OWN_PROCESS,
            start_type: ServiceStartType::AutoStart,
            error_control: ServiceErrorControl::Normal,
            executable_path: executable.clone(),
            launch_arguments: vec![
                "-c".into(),
                options.config.clone().into_os_string(),
                "service".into(),
                "run".into(),
            ],
            dependencies: vec![],
            account_name: Some(account.clone().into()),
            account_password: options.password.as_ref().map(|p| OsString::from(p.expose())),
        };
        let manager = manager(ServiceManagerAccess::CONNECT | ServiceManagerAccess::CREATE_SERVICE)?;
        let service = manager
            .create_service(&info, ServiceAccess::CHANGE_CONFIG | ServiceAccess::QUERY_STATUS)
            .map_err(|e| match os_error(&e) {
                Some(ERROR_SERVICE_EXISTS) => anyhow::anyhow!(
                    "service {NAME} is already installed; `sis-extract service uninstall` first to change it"
                ),
                _ => anyhow::Error::new(e).context(format!("creating service {NAME} to run as {account}")),
            })?;
        // The optional settings: each one that fails is said, not fatal (Wine implements
        // only some of them; real Windows all).
        let mut optional = |what: &str, result: windows_service::Result<()>| {
            if let Err(e) = result {
                notes.push(format!("warning: could not set {what}: {}", explain(&e)));
            }
        };
        optional(
            "the description",
            service.set_description(
                "Runs the nightly SIS extracts of the config on their schedules (sis-extract schedule).",
            ),
        );
        optional("the delayed start (after the network is up)", service.set_delayed_auto_start(true));
        let restart = ServiceAction { action_type: ServiceActionType::Restart, delay: RESTART_AFTER };
        optional(
            "the failure actions (restart after a minute)",
            service.update_failure_actions(ServiceFailureActions {
                reset_period: ServiceFailureResetPeriod::After(Duration::from_secs(24 * 3600)),
                reboot_msg: None,
                command: None,
                actions: Some(vec![restart.clone(), restart.clone(), restart]),
            }),
        );
        optional(
            "the failure actions for a service that stops with an error",
            service.set_failure_actions_on_non_crash_failures(true),
        );
        Ok(notes)
    }

    /// `service uninstall`: asks a running service to stop (a run in progress finishes
    /// first), waits up to a minute, and deletes it; the SCM removes it once it stopped.
    pub fn uninstall() -> Result<String> {
        let manager = manager(ServiceManagerAccess::CONNECT)?;
        let service = manager
            .open_service(NAME, ServiceAccess::QUERY_STATUS | ServiceAccess::STOP | ServiceAccess::DELETE)
            .map_err(|e| match os_error(&e) {
                Some(ERROR_SERVICE_DOES_NOT_EXIST) => anyhow::anyhow!("service {NAME} is not installed"),
                _ => anyhow::Error::new(e).context(format!("opening service {NAME}")),
            })?;
        let mut said = String::new();
        if service.query_status().map(|s| s.current_state != ServiceState::Stopped).unwrap_or(false) {
            let _ = service.stop();
            let until = std::time::Instant::now() + Duration::from_secs(60);
            while std::time::Instant::now() < until
                && service.query_status().map(|s| s.current_state != ServiceState::Stopped).unwrap_or(false)
            {
                std::thread::sleep(Duration::from_millis(500));
            }
            if service.query_status().map(|s| s.current_state != ServiceState::Stopped).unwrap_or(false) {
                said = "; it is still finishing a run and goes when that run ends".to_string();
            }
        }
        service.delete().with_context(|| format!("deleting service {NAME}"))?;
        Ok(format!("service {NAME} removed{said}"))
    }

    /// `service status`: the state and what the service is set to do, as lines.
    pub fn status() -> Result<Option<Vec<String>>> {
        let manager = manager(ServiceManagerAccess::CONNECT)?;
        let service =
            match manager.open_service(NAME, ServiceAccess::QUERY_STATUS | ServiceAccess::QUERY_CONFIG) {
                Ok(service) => service,
                Err(e) if os_error(&e) == Some(ERROR_SERVICE_DOES_NOT_EXIST) => return Ok(None),
                Err(e) => return Err(anyhow::Error::new(e).context(format!("opening service {NAME}"))),
            };
        let status = service.query_status().with_context(|| format!("querying service {NAME}"))?;
        let config = service.query_config().with_context(|| format!("reading service {NAME}'s settings"))?;
        let state = match status.current_state {
            ServiceState::Stopped => "stopped".to_string(),
            ServiceState::StartPending => "starting".to_string(),
            ServiceState::StopPending => "stopping (a run in progress finishes first)".to_string(),
            ServiceState::Running => "running".to_string(),
            other => format!("{other:?}").to_lowercase(),
        };
        let pid = status.process_id.filter(|p| *p != 0).map(|p| format!(" (pid {p})")).unwrap_or_default();
        let mut lines = vec![format!("service {NAME}: {state}{pid}")];
        if status.current_state == ServiceState::Stopped
            && let ServiceExitCode::ServiceSpecific(code) = status.exit_code
        {
            lines.push(format!("  last exit:   failed (service-specific code {code}): see the log file"));
        }
        let command = config.executable_path.to_string_lossy().into_owned();
        lines.push(format!(
            "  account:     {}",
            config
                .account_name
                .map(|a| a.to_string_lossy().into_owned())
                .unwrap_or_else(|| "LocalSystem".into())
        ));
        let start = match config.start_type {
            ServiceStartType::AutoStart => "automatic",
            ServiceStartType::OnDemand => "manual",
            ServiceStartType::Disabled => "disabled",
            _ => "at boot",
        };
        lines.push(format!("  start:       {start}"));
        lines.push(format!("  command:     {command}"));
        lines.push(match service.get_failure_actions() {
            Ok(ServiceFailureActions { actions: Some(actions), .. }) if !actions.is_empty() => format!(
                "  on failure:  {}",
                actions
                    .iter()
                    .map(|a| format!("{:?} after {} s", a.action_type, a.delay.as_secs()).to_lowercase())
                    .collect::<Vec<_>>()
                    .join(", then ")
            ),
            Ok(_) => "  on failure:  nothing (no failure actions set)".to_string(),
            Err(e) => format!("  on failure:  unknown: cannot read them ({})", explain(&e)),
        });
        match config_of(&command) {
            Some(path) => {
                let loaded = crate::config::load(&path).ok();
                let log = log_file(&path, loaded.as_ref());
                lines.push(format!("  config:      {}", path.display()));
                lines.push(format!(
                    "  log file:    {} (daily files {}.YYYY-MM-DD.{})",
                    log.display(),
                    log.file_stem().unwrap_or_default().to_string_lossy(),
                    log.extension().unwrap_or_default().to_string_lossy()
                ));
            }
            None => lines
                .push("  config:      not named on the command line (not installed by sis-extract?)".into()),
        }
        Ok(Some(lines))
    }

    type Body = Box<dyn FnOnce() -> Result<()> + Send>;
    static BODY: Mutex<Option<Body>> = Mutex::new(None);
    static OUTCOME: Mutex<Option<Result<()>>> = Mutex::new(None);

    windows_service::define_windows_service!(ffi_service_main, service_main);

    /// `service run`: what the SCM starts. Runs `body` (the scheduler loop) as the service
    /// and returns its outcome once the SCM has been told the service stopped.
    pub fn run_under_scm(body: Body) -> Result<()> {
        *BODY.lock().unwrap_or_else(|e| e.into_inner()) = Some(body);
        service_dispatcher::start(NAME, ffi_service_main).map_err(|e| {
            if os_error(&e) == Some(ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
                anyhow::Error::new(crate::config::ConfigError(
                    "`service run` is what the Service Control Manager starts; to run the scheduler in this console \
                     use `sis-extract schedule`, and to start the service `sc start sis-extract`"
                        .into(),
                ))
            } else {
                anyhow::Error::new(e).context("starting the service dispatcher")
            }
        })?;
        OUTCOME.lock().unwrap_or_else(|e| e.into_inner()).take().unwrap_or(Ok(()))
    }

    fn service_main(_arguments: Vec<OsString>) {
        let body = BODY.lock().unwrap_or_else(|e| e.into_inner()).take();
        let outcome = serve(body);
        *OUTCOME.lock().unwrap_or_else(|e| e.into_inner()) = Some(outcome);
    }

    fn serve(body: Option<Body>) -> Result<()> {
        crate::stop::install_for_service();
        let handler = service_control_handler::register(NAME, |control| match control {
            ServiceControl::Stop | ServiceControl::Shutdown | ServiceControl::Preshutdown => {
                crate::stop::request_service_stop();
                ServiceControlHandlerResult::NoError
            }
            ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
            _ => ServiceControlHandlerResult::NotImplemented,
        })
        .context("registering with the Service Control Manager")?;
        let status = |state, exit_code, checkpoint, wait_hint| ServiceStatus {
            service_type: ServiceType::OWN_PROCESS,
            current_state: state,
            controls_accepted: if state == ServiceState::Running {
                ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN
            } else {
                ServiceControlAccept::empty()
            },
            exit_code,
            checkpoint,
            wait_hint,
            process_id: None,
        };
        handler.set_service_status(status(
            ServiceState::Running,
            ServiceExitCode::NO_ERROR,
            0,
            Duration::ZERO,
        ))?;
        tracing::info!(service = NAME, "service started");
        // While a stop waits for the run in progress, "stop pending" with a new checkpoint
        // every 5 s keeps the SCM waiting (it gives up on a service whose checkpoint stalls
        // past the wait hint).
        let done = Arc::new(AtomicBool::new(false));
        let heartbeat = {
            let done = Arc::clone(&done);
            std::thread::spawn(move || {
                let mut checkpoint = 0;
                let mut last_report = std::time::Instant::now();
                while !done.load(Ordering::SeqCst) {
                    if crate::stop::requested().is_some()
                        && (checkpoint == 0 || last_report.elapsed() >= Duration::from_secs(5))
                    {
                        if checkpoint == 0 {
                            tracing::info!(
                                service = NAME,
                                "stop asked for: no new runs; a run in progress finishes first"
                            );
                        }
                        checkpoint += 1;
                        last_report = std::time::Instant::now();
                        let _ = handler.set_service_status(status(
                            ServiceState::StopPending,
                            ServiceExitCode::NO_ERROR,
                            checkpoint,
                            Duration::from_secs(30),
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
            })
        };
        let outcome = match body {
            Some(body) => body(),
            None => Err(anyhow::anyhow!("the service started without its scheduler")),
        };
        done.store(true, Ordering::SeqCst);
        let _ = heartbeat.join();
        let exit = match &outcome {
            Ok(()) => {
                tracing::info!(service = NAME, "service stopped");
                ServiceExitCode::NO_ERROR
            }
            Err(error) => {
                let text = crate::secret::redact(&format!("{error:#}"));
                tracing::error!(service = NAME, "service stopped by an error: {text}");
                // Non-zero: the SCM's failure actions restart the service.
                ServiceExitCode::ServiceSpecific(1)
            }
        };
        handler.set_service_status(status(ServiceState::Stopped, exit, 0, Duration::ZERO))?;
        if outcome.is_err() {
            bail!("the service stopped by an error (see the log)")
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_config_is_found_on_the_service_command_line() {
        let line = r#""C:\Program Files\sis-extract\sis-extract.exe" -c "C:\ProgramData\sis extract\config.toml" service run"#;
        assert_eq!(
            super::config_of(line).unwrap().to_string_lossy(),
            r"C:\ProgramData\sis extract\config.toml"
        );
        assert_eq!(super::split_command_line(r#"a "b c" d"#), ["a", "b c", "d"]);
        assert!(super::config_of("sis-extract.exe schedule").is_none());
    }
}

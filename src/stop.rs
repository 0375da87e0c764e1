//! Stop signals, one flag for the whole process: SIGINT (Ctrl-C), SIGTERM (a service
//! manager's stop, `kill`) and SIGHUP (a closed terminal); Ctrl-C and the console events
//! on Windows.
//!
//! The first signal only sets the flag (and says on stderr what will happen). During
//! `sis-extract run` the pipeline checks it between stages, on every row and during a
//! local copy, and stops the run cleanly: recorded `interrupted`, hook run, lock released,
//! work files removed, exit 128 + the signal (130 SIGINT, 143 SIGTERM, 129 SIGHUP).
//! `schedule` starts no new run and lets the current one finish. A second signal exits
//! at once with the same code; the next run then removes what was left (src/pipeline/work_dir.rs).
//!
//! The Windows service (src/service.rs) sets the same flag when the Service Control
//! Manager asks it to stop ([`request_service_stop`]): it is SIGTERM under another name.

use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use anyhow::Result;

/// The first stop signal received, 0 before any.
static SIGNAL: AtomicI32 = AtomicI32::new(0);
/// Whether a stop signal interrupts the run in progress (`run`) or lets it finish
/// (`schedule`).
static INTERRUPT_RUNS: AtomicBool = AtomicBool::new(true);
static INSTALL: Once = Once::new();

const SIGINT: i32 = 2;
const SIGHUP: i32 = 1;
const SIGTERM: i32 = 15;

/// What the first signal does to a run in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `run`: stop it cleanly as `interrupted`.
    InterruptRuns,
    /// `schedule`: let it finish, start no new one.
    FinishRuns,
}

/// A run stopped by a signal; `main` exits with [`exit_code`].
#[derive(Debug)]
pub struct Interrupted {
    pub signal: i32,
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "interrupted by {} before anything was delivered; the run's work files were removed and it is recorded as \"interrupted\"",
            signal_name(self.signal)
        )
    }
}

impl std::error::Error for Interrupted {}

pub fn signal_name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT (Ctrl-C)",
        SIGTERM => "SIGTERM",
        SIGHUP => "SIGHUP",
        _ => "a stop signal",
    }
}

/// The conventional exit code of a process stopped by `signal`: 128 + its number.
pub fn exit_code(signal: i32) -> u8 {
    (128 + signal.clamp(1, 127)) as u8
}

/// The first stop signal received, if any.
pub fn requested() -> Option<i32> {
    match SIGNAL.load(Ordering::Relaxed) {
        0 => None,
        signal => Some(signal),
    }
}

/// Called between stages and on every row: an error once a stop was asked for and runs
/// are to be interrupted.
#[inline]
pub fn check() -> Result<(), Interrupted> {
    match SIGNAL.load(Ordering::Relaxed) {
        0 => Ok(()),
        signal if INTERRUPT_RUNS.load(Ordering::Relaxed) => Err(Interrupted { signal }),
        _ => Ok(()),
    }
}

/// Waits `duration` (a retry's back-off), and stops waiting at once when a stop is asked
/// for, with [`check`]'s error.
pub fn sleep(duration: std::time::Duration) -> Result<(), Interrupted> {
    let until = std::time::Instant::now() + duration;
    loop {
        check()?;
        let left = until.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        std::thread::sleep(left.min(std::time::Duration::from_millis(200)));
    }
}

/// A stop asked for by the Windows Service Control Manager: the same as SIGTERM from
/// systemd (no new runs; a run in progress finishes). Several requests count as one: the
/// SCM repeats its stop at shutdown, and that must not cut a run short.
pub fn request_service_stop() {
    let _ = SIGNAL.compare_exchange(0, SIGTERM, Ordering::SeqCst, Ordering::SeqCst);
}

/// For the Windows service: the SCM's stop ([`request_service_stop`]) is its only stop,
/// and a first stop lets the run in progress finish. No console handler is installed (a
/// later [`install`] only sets the mode): Windows sends CTRL_LOGOFF_EVENT to every
/// service's handler whenever any user logs off, which must not stop the service.
pub fn install_for_service() {
    INTERRUPT_RUNS.store(false, Ordering::SeqCst);
    INSTALL.call_once(|| {});
}

/// Installs the handler (once per process) and sets what a first signal does.
pub fn install(mode: Mode) -> Result<()> {
    INTERRUPT_RUNS.store(mode == Mode::InterruptRuns, Ordering::SeqCst);
    let mut result = Ok(());
    INSTALL.call_once(|| result = platform::install());
    result
}

fn first_signal_message() -> &'static [u8] {
    if INTERRUPT_RUNS.load(Ordering::Relaxed) {
        b"sis-extract: stopping: the run stops at the next row or stage, is recorded as interrupted and cleans up (send again to exit at once)\n"
    } else {
        b"sis-extract: stopping: no new runs; a run in progress finishes first (send again to exit at once)\n"
    }
}

const SECOND_SIGNAL_MESSAGE: &[u8] =
    b"sis-extract: second stop signal, exiting now; the next run removes what this one left\n";

#[cfg(unix)]
mod platform {
    use super::*;

    /// Only async-signal-safe work: atomics, write(2) and _exit(2).
    extern "C" fn on_signal(signal: libc::c_int) {
        let first = SIGNAL.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst).is_ok();
        let message = if first { first_signal_message() } else { SECOND_SIGNAL_MESSAGE };
        // SAFETY: write(2) on stderr with a static buffer, and _exit(2), are
        // async-signal-safe; nothing else is touched.
        unsafe {
            libc::write(2, message.as_ptr().cast(), message.len());
            if !first {
                libc::_exit(128 + signal);
            }
        }
    }

    pub fn install() -> Result<()> {
        // SAFETY: a zeroed sigaction is valid; the handler only does async-signal-safe work.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            // System calls in progress (the driver's socket reads) resume rather than fail.
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                if libc::sigaction(signal, &action, std::ptr::null_mut()) != 0 {
                    return Err(anyhow::Error::new(std::io::Error::last_os_error())
                        .context("installing the stop-signal handler"));
                }
            }
        }
        Ok(())
    }
}

#[cfg(not(unix))]
mod platform {
    use super::*;

    pub fn install() -> Result<()> {
        use anyhow::Context;
        ctrlc::set_handler(|| {
            use std::io::Write;
            if SIGNAL.compare_exchange(0, SIGINT, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
                let _ = std::io::stderr().write_all(first_signal_message());
            } else {
                let _ = std::io::stderr().write_all(SECOND_SIGNAL_MESSAGE);
                std::process::exit(128 + SIGINT);
            }
        })
        .context("installing the stop-signal handler")
    }
}

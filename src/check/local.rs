//! `check`'s local steps: the folders a run writes on this server (the history file, the
//! job lock beside it, the log folder, the work folder) and each local destination are
//! writable by the account running `check`. Each is tested the way the run will use it:
//! a uniquely named file is created exclusively in the folder (never through a link) and
//! removed again; an existing history or lock file is opened as the run opens it, without
//! being written or locked.
//!
//! A run creates a missing history, log or work folder (and their parents), so a missing
//! one passes when its nearest existing parent is writable; a missing local destination
//! is an error for the run (an unmounted share), and so it is here.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::config::{Config, Job};
use crate::diagnosis::{Chain, Step};

/// What a folder is for, for the hints: the config key that moves it, and where it should
/// go under the shipped systemd unit.
struct Place {
    key: &'static str,
    under_unit: &'static str,
}

const HISTORY: Place = Place {
    key: "history_file",
    under_unit: "set history_file to an absolute path under /var/lib/sis-extract, e.g. \
                 \"/var/lib/sis-extract/history.jsonl\" (the job locks go beside it)",
};
const LOG: Place = Place {
    key: "log_file",
    under_unit: "set log_file to an absolute path under /var/log/sis-extract, e.g. \
                 \"/var/log/sis-extract/sis-extract.log\"",
};
const WORK: Place = Place {
    key: "work_dir",
    under_unit: "leave work_dir unset (the unit's private /tmp) or set it to an absolute path under \
                 /var/lib/sis-extract",
};

/// The "local state" chain: history file, lock, log folder, work folder. Every step runs,
/// whatever the one before found: they test different folders.
pub fn diagnose(config: &Config, jobs: &[&Job]) -> Chain {
    let mut chain = Chain::new("local state".into(), account());
    let config_dir = absolute(&parent(&config.path));
    let history = absolute(&config.history_file);
    let history_dir = parent(&history);

    let started = Instant::now();
    chain.record(match folder_probe(&history_dir, &HISTORY, &config_dir) {
        Err(failure) => failure.step("history file", started),
        Ok(folder) => match existing_file(&history, Access::Append) {
            Err(e) => Step::fail(
                "history file",
                format!("cannot open {} to append to it: {e}", history.display()),
                file_hint(&history, &e, &HISTORY, &config_dir),
                started,
            ),
            Ok(existing) => Step::pass(
                "history file",
                format!("{}; {folder}{}", existing.describe(&history), etc_note(&history_dir, &config_dir)),
                started,
            ),
        },
    });

    let started = Instant::now();
    let locks: Vec<PathBuf> = jobs.iter().map(|job| crate::lock::path_for(&history, &job.name)).collect();
    let lock_dir = locks.first().map_or_else(|| history_dir.clone(), |l| parent(l));
    chain.record(match folder_probe(&lock_dir, &HISTORY, &config_dir) {
        Err(failure) => failure.step("lock", started),
        Ok(folder) => {
            let mut step = None;
            for lock in &locks {
                if let Err(e) = existing_file(lock, Access::Lock) {
                    step = Some(Step::fail(
                        "lock",
                        format!("cannot open the lock file {} to lock it: {e}", lock.display()),
                        file_hint(lock, &e, &HISTORY, &config_dir),
                        started,
                    ));
                    break;
                }
            }
            let names: Vec<String> = locks
                .iter()
                .map(|l| l.file_name().unwrap_or_default().to_string_lossy().into_owned())
                .collect();
            step.unwrap_or_else(|| {
                Step::pass("lock", format!("{} can be created; {folder}", names.join(", ")), started)
            })
        }
    });

    if let Some(log_file) = &config.log_file {
        let started = Instant::now();
        let log_dir = parent(&absolute(log_file));
        chain.record(match folder_probe(&log_dir, &LOG, &config_dir) {
            Err(failure) => failure.step("log folder", started),
            Ok(folder) => Step::pass("log folder", folder, started),
        });
    }

    let started = Instant::now();
    let work_dir = absolute(&config.work_dir);
    chain.record(match folder_probe(&work_dir, &WORK, &config_dir) {
        Err(failure) => failure.step("work folder", started),
        Ok(folder) => Step::pass("work folder", folder, started),
    });
    chain
}

/// The local destination's write step, after its "folder" step: a file can be created
/// there (the run copies the zip in under a temporary name, then renames it).
pub fn destination_step(path: &Path) -> Step {
    let started = Instant::now();
    let folder = absolute(path);
    match probe(&folder) {
        Ok(()) => Step::pass(
            "write probe",
            format!("this account can create files in {}", folder.display()),
            started,
        ),
        Err(e) => {
            let hint = if e.kind() == ErrorKind::ReadOnlyFilesystem {
                format!(
                    "{} is on a file system mounted read-only here (under the shipped systemd unit, \
                     ProtectSystem=strict makes every folder but its ReadWritePaths= read-only: add this folder \
                     to ReadWritePaths=); or fix job.destination.path",
                    folder.display()
                )
            } else if e.kind() == ErrorKind::PermissionDenied {
                format!("{}, or fix job.destination.path", grant_hint(&folder))
            } else {
                "check the folder and its file system (full? a share that went away?), or fix job.destination.path"
                    .to_string()
            };
            Step::fail(
                "write probe",
                format!("cannot create a file in {}: {e}", folder.display()),
                hint,
                started,
            )
        }
    }
}

/// A folder that cannot take the run's files: its path, the OS error, the hint.
struct Failure {
    detail: String,
    hint: String,
}

impl Failure {
    fn step(self, name: &str, started: Instant) -> Step {
        Step::fail(name, self.detail, self.hint, started)
    }
}

/// Tests that a file can be created in `folder`, or, when it is missing, that the run can
/// create it (its nearest existing parent takes a file). Returns what was seen.
fn folder_probe(folder: &Path, place: &Place, config_dir: &Path) -> Result<String, Failure> {
    let existing = folder.ancestors().find(|a| std::fs::symlink_metadata(a).is_ok()).unwrap_or(folder);
    let meta = std::fs::metadata(existing);
    if !meta.as_ref().is_ok_and(|m| m.is_dir()) {
        let what = match &meta {
            Ok(m) => crate::fsutil::kind(m.file_type()),
            Err(_) => "a broken link",
        };
        return Err(Failure {
            detail: if existing == folder {
                format!("{} is {what}, not a folder", folder.display())
            } else {
                format!(
                    "cannot create the folder {}: {} is {what}, not a folder",
                    folder.display(),
                    existing.display()
                )
            },
            hint: format!("set {} to a path in a real folder", place.key),
        });
    }
    match probe(existing) {
        Ok(()) if existing == folder => Ok(format!("this account can create files in {}", folder.display())),
        Ok(()) => Ok(format!(
            "{} does not exist yet; the run creates it in {}, where this account can create files",
            folder.display(),
            existing.display()
        )),
        Err(e) => Err(Failure {
            detail: if existing == folder {
                format!("cannot create a file in {}: {e}", folder.display())
            } else {
                format!(
                    "{} does not exist and cannot be created: cannot create anything in {}: {e}",
                    folder.display(),
                    existing.display()
                )
            },
            hint: folder_hint(existing, &e, place, config_dir),
        }),
    }
}

/// Creates a uniquely named file in `folder` (exclusively, never through a link) and
/// removes it.
fn probe(folder: &Path) -> std::io::Result<()> {
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let path = folder.join(format!(".sis-extract-check-{}-{}.tmp", std::process::id(), stamp.as_nanos()));
    let file = crate::fsutil::create_new_private(&path)?;
    drop(file);
    std::fs::remove_file(&path)
}

#[derive(Clone, Copy)]
enum Access {
    /// The history file: opened to append.
    Append,
    /// A lock file: opened to read and write (the lock itself is not taken).
    Lock,
}

/// What is at a history or lock path.
enum Existing {
    Missing,
    File,
    /// A link, FIFO or device: the run removes it from a lock path, and refuses it as
    /// the history file (reported as an error before this).
    Replaced(&'static str),
}

impl Existing {
    fn describe(&self, path: &Path) -> String {
        match self {
            Existing::Missing => format!("{} does not exist yet; the run creates it", path.display()),
            Existing::File => format!("{} can be opened to append", path.display()),
            Existing::Replaced(kind) => format!("{} is {kind}; the run replaces it", path.display()),
        }
    }
}

/// Opens an existing history or lock file as the run will (never through a link, never
/// blocking on a FIFO), without writing to or locking it.
fn existing_file(path: &Path, access: Access) -> std::io::Result<Existing> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Existing::Missing),
        Err(e) => return Err(e),
    };
    let kind = meta.file_type();
    if !kind.is_file() {
        return match access {
            Access::Lock if !kind.is_dir() => Ok(Existing::Replaced(crate::fsutil::kind(kind))),
            _ => {
                Err(std::io::Error::other(format!("it is {}, not a regular file", crate::fsutil::kind(kind))))
            }
        };
    }
    let mut options = crate::fsutil::safe_options();
    match access {
        Access::Append => options.read(true).append(true),
        Access::Lock => options.read(true).write(true),
    };
    options.open(path).map(|_| Existing::File)
}

/// The hint for a folder that refused a file: by the OS error, and, when the folder is one
/// the shipped systemd unit cannot write (or the file system is read-only here), where to
/// move it.
fn folder_hint(folder: &Path, error: &std::io::Error, place: &Place, config_dir: &Path) -> String {
    let read_only = error.kind() == ErrorKind::ReadOnlyFilesystem;
    let base = match error.kind() {
        ErrorKind::ReadOnlyFilesystem => {
            format!("{} is on a file system mounted read-only here", folder.display())
        }
        ErrorKind::PermissionDenied => grant_hint(folder),
        _ => "check the folder and its file system (full?)".to_string(),
    };
    if read_only || in_config_area(folder, config_dir) {
        format!(
            "{base}; the config folder is read-only under the shipped systemd unit (ProtectSystem=strict, \
             writable: /var/lib/sis-extract and /var/log/sis-extract only): {}",
            place.under_unit
        )
    } else {
        format!("{base}; or set {} to a folder this account can write", place.key)
    }
}

/// The hint for an existing history or lock file that cannot be opened.
fn file_hint(path: &Path, error: &std::io::Error, place: &Place, config_dir: &Path) -> String {
    match error.kind() {
        ErrorKind::PermissionDenied => format!(
            "the file belongs to another account (was the job run once by hand as another user?): \
             chown it to this account (Linux: chown sis-extract {}; Windows: icacls \"{}\" /grant ACCOUNT:M), \
             or remove it if it is a lock file",
            path.display(),
            path.display()
        ),
        ErrorKind::ReadOnlyFilesystem => folder_hint(&parent(path), error, place, config_dir),
        _ => format!("remove or rename {}, or set {} to another path", path.display(), place.key),
    }
}

fn grant_hint(folder: &Path) -> String {
    format!(
        "grant this account write access to {f} (Linux: chown sis-extract {f}, and check `lsattr -d` for \
         an immutable flag; Windows: icacls \"{f}\" /grant ACCOUNT:(OI)(CI)M)",
        f = folder.display()
    )
}

/// A pass's warning when a file the run writes is where the shipped systemd unit cannot
/// write, which `check` run from a shell does not see.
fn etc_note(folder: &Path, config_dir: &Path) -> String {
    if in_config_area(folder, config_dir) {
        " (but it is in the config folder or under /etc, which the shipped systemd unit makes read-only: \
         set history_file under /var/lib/sis-extract if you use the unit)"
            .into()
    } else {
        String::new()
    }
}

/// The config folder, or anything under /etc: read-only under the shipped systemd unit.
fn in_config_area(folder: &Path, config_dir: &Path) -> bool {
    folder == config_dir || (cfg!(unix) && folder.starts_with("/etc"))
}

/// Who runs `check`: the folders are tested for this account only.
fn account() -> String {
    #[cfg(unix)]
    {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let uid = unsafe { libc::geteuid() };
        format!("this server, as uid {uid}")
    }
    #[cfg(not(unix))]
    {
        match std::env::var("USERNAME") {
            Ok(name) => format!("this server, as {name}"),
            Err(_) => "this server".into(),
        }
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn parent(path: &Path) -> PathBuf {
    path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf()
}

//! Logging with `tracing`: human-readable (or JSON) lines on stderr, and optionally a
//! daily-rotated log file with a retention count. Every line passes through the secret
//! redactor before it is written, so a password that slipped into a driver's error
//! message still never reaches a log.
//!
//! With `--log-format json` every line sis-extract writes on stderr is one JSON object,
//! the fatal error included ([`fatal`]); the log file, when configured, records the fatal
//! error too. The log file is opened by [`DailyFile`], not by tracing-appender: mode 0600,
//! never through a symbolic link, never a FIFO or another user's file.
//!
//! Colours only on a terminal, and not with `NO_COLOR` ([`colour`]); the log file never
//! has any.

use std::fs::File;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use tracing::Level;
use tracing_subscriber::filter::{FilterExt, filter_fn};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Events with this target go to the log file only: the fatal error, which [`fatal`]
/// prints on stderr itself.
const FILE_ONLY: &str = "sis_extract::file_only";

/// 0: not initialised yet; 1: text; 2: JSON.
static FORMAT: AtomicU8 = AtomicU8::new(0);

/// Whether stderr lines are JSON. Before [`init`] (while the config is read, before the
/// log file is known) the command line is consulted directly.
pub fn json() -> bool {
    match FORMAT.load(Ordering::Relaxed) {
        0 => {
            let args: Vec<String> = std::env::args().collect();
            args.iter().any(|a| a == "--log-format=json")
                || args.windows(2).any(|w| w[0] == "--log-format" && w[1] == "json")
        }
        format => format == 2,
    }
}

/// How messages on stderr look (`--log-format`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// What the command line asked for: `-q`, `-v`/`-vv` and `--log-format`.
pub struct Verbosity {
    pub quiet: bool,
    pub verbose: u8,
    pub format: LogFormat,
}

/// Stderr: `-q` errors only; default warnings (info for the `schedule` service); `-v`
/// stage progress; `-vv` debug. `SIS_EXTRACT_LOG` (an `EnvFilter` directive) overrides.
/// The log file, when configured, always gets info and above.
pub fn init(verbosity: Verbosity, log_file: Option<(PathBuf, usize)>, service: bool) {
    FORMAT.store(if verbosity.format == LogFormat::Json { 2 } else { 1 }, Ordering::Relaxed);
    let level = match (verbosity.quiet, verbosity.verbose, service) {
        (true, _, _) => "error",
        (false, 0, false) => "warn",
        (false, 0, true) | (false, 1, _) => "info",
        _ => "debug",
    };
    // Library chatter (the ODBC version notice, the SQL parser's tracing) is not for users.
    let quiet_libraries = "odbc_api=error,sqlparser=warn";
    let stderr_filter = EnvFilter::try_from_env("SIS_EXTRACT_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("{level},{quiet_libraries}")));
    let not_file_only = filter_fn(|metadata| metadata.target() != FILE_ONLY);
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(Redacting(StderrTarget))
        .with_ansi(colour(std::io::stderr().is_terminal(), std::env::var_os("NO_COLOR")))
        .with_target(false);
    let stderr = match verbosity.format {
        LogFormat::Text => stderr.boxed(),
        LogFormat::Json => stderr.json().boxed(),
    };

    let mut file_problem = None;
    let file_layer = log_file.and_then(|(path, keep)| match DailyFile::open(&path, keep) {
        Ok(file) => Some(
            tracing_subscriber::fmt::layer()
                .with_writer(Redacting(FileTarget(Arc::new(file))))
                .with_ansi(false)
                .with_target(false)
                .with_filter(EnvFilter::new(format!("info,{quiet_libraries}"))),
        ),
        Err(e) => {
            file_problem =
                Some(format!("cannot open the log file {}: {e}; logging to stderr only", path.display()));
            None
        }
    });
    let result = tracing_subscriber::registry()
        .with(stderr.with_filter(stderr_filter.and(not_file_only)))
        .with(file_layer)
        .try_init();
    if let Err(e) = result {
        print(Level::ERROR, &format!("cannot start logging: {e}"));
    }
    if let Some(problem) = file_problem {
        tracing::warn!("{problem}");
    }
}

/// Whether stderr lines get ANSI colours: only on a terminal, and never when `NO_COLOR` is
/// set to anything but the empty string (<https://no-color.org>). Under Task Scheduler, a
/// service wrapper or systemd, stderr is a file or pipe, and escape codes there would be
/// `\x1b[2m…` noise in every line of the log the admin reads.
fn colour(stderr_is_terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|value| value.is_empty())
}

/// One line on stderr that is not a tracing event (a warning before logging starts, the
/// stop signal): `sis-extract: warning: …` as text, or a JSON object shaped like the
/// tracing lines. Redacted.
pub fn print(level: Level, message: &str) {
    let message = crate::secret::redact(message);
    let line = if json() {
        json_line(level, &message, &[])
    } else {
        let prefix = match level {
            Level::ERROR => "error: ",
            Level::WARN => "warning: ",
            _ => "",
        };
        format!("sis-extract: {prefix}{message}\n")
    };
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// The fatal error of a command or a job: on stderr once, as text (`message`, then the
/// `causes` as "caused by:" lines, or `hint`) or as one JSON object with level ERROR; and
/// in the log file, when one is configured, with its causes.
pub fn fatal(message: &str, causes: &[String], hint: Option<&str>) {
    let message = crate::secret::redact(message);
    let causes: Vec<String> = causes.iter().map(|c| crate::secret::redact(c)).collect();
    let text = if json() {
        let mut extra = Vec::new();
        if !causes.is_empty() {
            extra.push(("caused_by", serde_json::json!(causes)));
        }
        if let Some(hint) = hint {
            extra.push(("hint", serde_json::json!(hint)));
        }
        json_line(Level::ERROR, &message, &extra)
    } else {
        let mut text = format!("sis-extract: error: {message}\n");
        for cause in &causes {
            for line in cause.lines().filter(|l| !l.trim().is_empty()) {
                text.push_str(&format!("  caused by: {}\n", line.trim_end()));
            }
        }
        if let Some(hint) = hint {
            text.push_str(&format!("sis-extract: ({hint})\n"));
        }
        text
    };
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
    if causes.is_empty() {
        tracing::error!(target: FILE_ONLY, "{message}");
    } else {
        tracing::error!(target: FILE_ONLY, caused_by = causes.join(" | ").as_str(), "{message}");
    }
}

/// `{"timestamp":…,"level":…,"fields":{"message":…,…}}`, as tracing-subscriber's JSON
/// lines are shaped.
fn json_line(level: Level, message: &str, extra: &[(&str, serde_json::Value)]) -> String {
    let mut fields = serde_json::Map::new();
    fields.insert("message".into(), serde_json::Value::String(message.to_string()));
    for (key, value) in extra {
        fields.insert((*key).into(), value.clone());
    }
    let timestamp = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    format!(
        "{{\"timestamp\":{},\"level\":{},\"fields\":{}}}\n",
        serde_json::Value::String(timestamp),
        serde_json::Value::String(level.to_string()),
        serde_json::Value::Object(fields)
    )
}

/// The log file: `sis-extract.log` in the config becomes `sis-extract.2026-11-23.log`
/// (the UTC date), one file per day, keeping the newest `keep`.
///
/// Each file is opened with `O_NOFOLLOW` and `O_NONBLOCK`, created mode 0600, and used only
/// if it is a regular file of this user with no other hard link; a looser mode is
/// tightened to 0600. So a symbolic link or FIFO planted at its path by another user of a
/// shared folder is refused (with a warning), never written through or waited on.
struct DailyFile {
    dir: PathBuf,
    prefix: String,
    suffix: String,
    keep: usize,
    current: Mutex<Option<(String, File)>>,
    warned: AtomicBool,
}

impl DailyFile {
    fn open(path: &Path, keep: usize) -> Result<DailyFile, String> {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        crate::fsutil::create_private_dir(dir).map_err(|e| format!("{e:#}"))?;
        let prefix = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "sis-extract".into());
        let suffix =
            path.extension().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "log".into());
        let daily = DailyFile {
            dir: dir.to_path_buf(),
            prefix,
            suffix,
            keep: keep.max(1),
            current: Mutex::new(None),
            warned: AtomicBool::new(false),
        };
        // Open today's file now, so that a problem is reported at start.
        let today = Self::today();
        let file = open_log_file(&daily.path_for(&today))?;
        *daily.current.lock().unwrap_or_else(|e| e.into_inner()) = Some((today, file));
        daily.prune();
        Ok(daily)
    }

    fn today() -> String {
        chrono::Utc::now().format("%Y-%m-%d").to_string()
    }

    fn path_for(&self, date: &str) -> PathBuf {
        self.dir.join(format!("{}.{date}.{}", self.prefix, self.suffix))
    }

    fn write_line(&self, bytes: &[u8]) {
        let today = Self::today();
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if current.as_ref().is_none_or(|(date, _)| *date != today) {
            match open_log_file(&self.path_for(&today)) {
                Ok(file) => {
                    *current = Some((today, file));
                    self.prune();
                }
                Err(e) => {
                    *current = None;
                    if !self.warned.swap(true, Ordering::Relaxed) {
                        print(
                            Level::WARN,
                            &format!("cannot open today's log file: {e}; logging to stderr only"),
                        );
                    }
                    return;
                }
            }
        }
        if let Some((_, file)) = current.as_mut() {
            let _ = file.write_all(bytes);
        }
    }

    /// Removes the oldest daily files beyond `keep` (regular files only).
    fn prune(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return };
        let (head, tail) = (format!("{}.", self.prefix), format!(".{}", self.suffix));
        let mut dated: Vec<(String, PathBuf)> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let date = name.strip_prefix(&head)?.strip_suffix(&tail)?.to_string();
                let is_date = chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d").is_ok();
                let regular = e.file_type().is_ok_and(|t| t.is_file());
                (is_date && regular).then(|| (date, e.path()))
            })
            .collect();
        dated.sort();
        let excess = dated.len().saturating_sub(self.keep);
        for (_, path) in dated.into_iter().take(excess) {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Opens (or creates, mode 0600) one day's log file for appending, refusing anything
/// but a regular file of this user with a single link.
fn open_log_file(path: &Path) -> Result<File, String> {
    let mut options = crate::fsutil::safe_options();
    options.append(true).create(true);
    #[cfg(not(unix))]
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(format!(
            "{} is a symbolic link; sis-extract does not write its log through one",
            path.display()
        ));
    }
    let file = options.open(path).map_err(|e| match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            format!(
                "{} is a symbolic link; sis-extract does not write its log through one: remove it",
                path.display()
            )
        }
        Ok(m) if !m.is_file() => format!(
            "{} is not a regular file (a FIFO or device?); remove it or choose another log_file",
            path.display()
        ),
        _ => format!("{}: {e}", path.display()),
    })?;
    let metadata = file.metadata().map_err(|e| format!("{}: {e}", path.display()))?;
    if !metadata.is_file() {
        return Err(format!(
            "{} is not a regular file (a FIFO or device?); remove it or choose another log_file",
            path.display()
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        #[cfg(target_os = "linux")]
        {
            // SAFETY: geteuid has no preconditions and cannot fail.
            let me = unsafe { libc::geteuid() };
            if metadata.uid() != me {
                return Err(format!(
                    "{} belongs to another user (uid {}); remove it or choose a log folder only this account can write to",
                    path.display(),
                    metadata.uid()
                ));
            }
        }
        if metadata.nlink() > 1 {
            return Err(format!(
                "{} has {} hard links; a log file has one: remove it",
                path.display(),
                metadata.nlink()
            ));
        }
        if metadata.permissions().mode() & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(|e| format!("making {} private (chmod 600): {e}", path.display()))?;
        }
    }
    Ok(file)
}

/// Where redacted lines go.
trait Target: Clone {
    fn write_line(&self, bytes: &[u8]);
}

#[derive(Clone)]
struct StderrTarget;

impl Target for StderrTarget {
    fn write_line(&self, bytes: &[u8]) {
        let _ = std::io::stderr().lock().write_all(bytes);
    }
}

#[derive(Clone)]
struct FileTarget(Arc<DailyFile>);

impl Target for FileTarget {
    fn write_line(&self, bytes: &[u8]) {
        self.0.write_line(bytes);
    }
}

/// Hands out writers that buffer one event and write it redacted, in one piece.
struct Redacting<T>(T);

impl<'a, T: Target + 'static> MakeWriter<'a> for Redacting<T> {
    type Writer = RedactingLine<T>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingLine { buffer: Vec::new(), target: self.0.clone() }
    }
}

struct RedactingLine<T: Target> {
    buffer: Vec<u8>,
    target: T,
}

impl<T: Target> Write for RedactingLine<T> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<T: Target> Drop for RedactingLine<T> {
    fn drop(&mut self) {
        let text = crate::secret::redact(&String::from_utf8_lossy(&self.buffer));
        self.target.write_line(text.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::colour;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(colour(true, Some("".into())), "an empty NO_COLOR does not count (no-color.org)");
        assert!(!colour(true, Some("1".into())));
        assert!(!colour(false, None), "a pipe or file (Task Scheduler, a service wrapper) gets no escapes");
        assert!(!colour(false, Some("1".into())));
    }
}

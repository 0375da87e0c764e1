//! Logging with `tracing`: human-readable (or JSON) lines on stderr, and optionally a
//! daily-rotated log file with a retention count. Every line passes through the secret
//! redactor before it is written, so a password that slipped into a driver's error
//! message still never reaches a log.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::cli::{Cli, LogFormat};

/// Stderr: `-q` errors only; default warnings (info for the `schedule` service); `-v`
/// stage progress; `-vv` debug. `SIS_EXTRACT_LOG` (an `EnvFilter` directive) overrides.
/// The log file, when configured, always gets info and above.
pub fn init(cli: &Cli, log_file: Option<(PathBuf, usize)>, service: bool) {
    let level = match (cli.quiet, cli.verbose, service) {
        (true, _, _) => "error",
        (false, 0, false) => "warn",
        (false, 0, true) | (false, 1, _) => "info",
        _ => "debug",
    };
    // Library chatter (the ODBC version notice, the SQL parser's tracing) is not for users.
    let quiet_libraries = "odbc_api=error,sqlparser=warn";
    let stderr_filter = EnvFilter::try_from_env("SIS_EXTRACT_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("{level},{quiet_libraries}")));
    let stderr = tracing_subscriber::fmt::layer().with_writer(Redacting(StderrTarget)).with_target(false);
    let stderr = match cli.log_format {
        LogFormat::Text => stderr.boxed(),
        LogFormat::Json => stderr.json().boxed(),
    };

    let mut file_problem = None;
    let file_layer = log_file.and_then(|(path, keep)| match rolling_file(&path, keep) {
        Ok(appender) => Some(
            tracing_subscriber::fmt::layer()
                .with_writer(Redacting(FileTarget(Arc::new(appender))))
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
    let result =
        tracing_subscriber::registry().with(stderr.with_filter(stderr_filter)).with(file_layer).try_init();
    if let Err(e) = result {
        eprintln!("sis-extract: cannot start logging: {e}");
    }
    if let Some(problem) = file_problem {
        tracing::warn!("{problem}");
    }
}

/// `sis-extract.log` in `dir` becomes `sis-extract.2026-11-23.log`, one file per day,
/// keeping the newest `keep`.
fn rolling_file(path: &std::path::Path, keep: usize) -> Result<RollingFileAppender, String> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let stem =
        path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "sis-extract".into());
    let suffix = path.extension().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "log".into());
    RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(stem)
        .filename_suffix(suffix)
        .max_log_files(keep)
        .build(dir)
        .map_err(|e| e.to_string())
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
struct FileTarget(Arc<RollingFileAppender>);

impl Target for FileTarget {
    fn write_line(&self, bytes: &[u8]) {
        let _ = self.0.make_writer().write_all(bytes);
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

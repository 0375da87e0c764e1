//! Logging with `tracing`: human-readable (or JSON) lines on stderr. Every line passes
//! through the secret redactor before it is written, so a password that slipped into an
//! error message from a driver still never reaches a log.

use std::io::Write;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::cli::{Cli, LogFormat};

/// `-q`: errors only; default: warnings; `-v`: stage progress; `-vv`: debug.
/// `SIS_EXTRACT_LOG` (an `EnvFilter` directive such as `debug`) overrides.
pub fn init(cli: &Cli) {
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_env("SIS_EXTRACT_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("{level},odbc_api=error,sqlparser=warn")));
    let builder =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(RedactingStderr).with_target(false);
    let result = match cli.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    if let Err(e) = result {
        eprintln!("sis-extract: cannot start logging: {e}");
    }
}

/// Hands out writers that buffer one event and write it redacted, in one piece.
struct RedactingStderr;

impl<'a> MakeWriter<'a> for RedactingStderr {
    type Writer = RedactingLine;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingLine(Vec::new())
    }
}

struct RedactingLine(Vec<u8>);

impl Write for RedactingLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for RedactingLine {
    fn drop(&mut self) {
        let text = crate::secret::redact(&String::from_utf8_lossy(&self.0));
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }
}

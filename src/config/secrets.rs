//! Secrets named by the config: read from a file (bounded, never a FIFO), the
//! environment or the system's credential store (src/credential.rs), and the warning about
//! files others may read or change (mode bits on Unix, the ACL on Windows: `acl.rs`).

use super::*;

/// Warns (on stderr, before logging starts) about a file holding secrets that others may
/// read: the config file, key files and secret files should be readable by their owner only.
pub fn warn_if_readable_by_others(path: &Path, what: &str) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Only regular files: a device (say /dev/null named by mistake) is refused elsewhere.
        if let Ok(metadata) = std::fs::metadata(path)
            && metadata.is_file()
            && metadata.permissions().mode() & 0o077 != 0
        {
            crate::logging::print(
                tracing::Level::WARN,
                &format!(
                    "{what} {} is readable by other users (mode {:o}); run `chmod 600 {}`",
                    path.display(),
                    metadata.permissions().mode() & 0o777,
                    path.display()
                ),
            );
        }
    }
    #[cfg(windows)]
    if let Some(exposure) =
        std::fs::metadata(path).ok().filter(|m| m.is_file()).and_then(|_| super::acl::exposure(path))
        && !exposure.readers.is_empty()
    {
        crate::logging::print(
            tracing::Level::WARN,
            &format!(
                "{what} {} is readable by other users ({} in its ACL); run `{}`",
                path.display(),
                exposure.readers.join(", "),
                icacls_private(path)
            ),
        );
    }
    #[cfg(not(any(unix, windows)))]
    let _ = (path, what);
}

/// The `icacls` line that leaves a file to SYSTEM, the Administrators and the account
/// running sis-extract (the service's or task's account when that is who runs it).
#[cfg(windows)]
fn icacls_private(path: &Path) -> String {
    let account = std::env::var("USERNAME").unwrap_or_else(|_| "ACCOUNT".to_string());
    format!(
        "icacls \"{}\" /inheritance:r /grant:r \"SYSTEM:F\" \"BUILTIN\\Administrators:F\" \"{account}:F\"",
        path.display()
    )
}

/// Warns (on stderr, before logging starts) about a config file that other users may
/// change: it names the commands run on failure and where student data goes. Others may
/// read it: it cannot hold a secret (inline secrets and PWD= are refused), and a checkout
/// or `cp config.example.toml` makes it readable, so a warning there would greet every
/// first run without a risk behind it.
pub fn warn_if_writable_by_others(path: &Path, what: &str) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(metadata) = std::fs::metadata(path)
            && metadata.is_file()
            && metadata.permissions().mode() & 0o022 != 0
        {
            crate::logging::print(
                tracing::Level::WARN,
                &format!(
                    "{what} {} can be changed by other users (mode {:o}): it decides which commands run on failure \
                     and where student data goes; run `chmod 600 {}`",
                    path.display(),
                    metadata.permissions().mode() & 0o777,
                    path.display()
                ),
            );
        }
    }
    #[cfg(windows)]
    if let Some(exposure) =
        std::fs::metadata(path).ok().filter(|m| m.is_file()).and_then(|_| super::acl::exposure(path))
        && !exposure.writers.is_empty()
    {
        crate::logging::print(
            tracing::Level::WARN,
            &format!(
                "{what} {} can be changed by other users ({} in its ACL): it decides which commands run on failure \
                 and where student data goes; run `{}`",
                path.display(),
                exposure.writers.join(", "),
                icacls_private(path)
            ),
        );
    }
    #[cfg(not(any(unix, windows)))]
    let _ = (path, what);
}

/// A secret file holds one password; anything larger than this is the wrong file (or a
/// device such as /dev/zero, which would never end).
pub(super) const SECRET_FILE_MAX_BYTES: u64 = 64 * 1024;

pub(super) fn read_secret_file(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    refuse_fifo_or_socket(path)?;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(SECRET_FILE_MAX_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > SECRET_FILE_MAX_BYTES {
        return Err(std::io::Error::other(format!(
            "it is larger than {} KiB; it should hold only the secret",
            SECRET_FILE_MAX_BYTES / 1024
        )));
    }
    String::from_utf8(bytes).map_err(|_| std::io::Error::other("it is not UTF-8 text"))
}

/// Opening a FIFO waits for a writer (for ever), and a socket cannot be opened at all:
/// refuse both with a message instead.
pub(super) fn refuse_fifo_or_socket(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let kind = std::fs::metadata(path)?.file_type();
        if kind.is_fifo() || kind.is_socket() {
            return Err(std::io::Error::other("it is a FIFO or socket, not a regular file"));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

pub(super) fn load_secret(
    r: SecretRef,
    key: &str,
    resolve: &dyn Fn(&str) -> PathBuf,
    secret_env_vars: &mut Vec<String>,
) -> Result<SecretSetting> {
    // Mistakes in the config itself (a bad variable name, a bad path) are config errors;
    // a secret that is not there for this account is kept as an error for the command
    // that needs it: `history` and `config` need none, and a `run` records the failure
    // in the history and runs the hook instead of vanishing with exit 2.
    let (source, value) = match r {
        SecretRef::Env(name) => {
            if name.is_empty() || name.contains('=') || name.chars().any(char::is_control) {
                return Err(config_error(
                    key,
                    format!("{name:?} is not an environment variable name; use letters, digits and '_'"),
                ));
            }
            // Remembered even before it is read, so that no child process gets it.
            crate::secret::register_env_name(&name);
            if !secret_env_vars.contains(&name) {
                secret_env_vars.push(name.clone());
            }
            let value = std::env::var(&name).map_err(|_| {
                format!(
                    "environment variable {name} is not set (or not UTF-8) for the account that runs sis-extract; \
                     set it there (a scheduled task or service does not see variables set in an interactive shell)"
                )
            });
            (format!("environment variable {name}"), value)
        }
        SecretRef::File(file) => {
            checked_path(key, &file)?;
            let file = resolve(&file);
            warn_if_readable_by_others(&file, &format!("the secret file of {key}"));
            let value = read_secret_file(&file)
                .map(|text| secret_file_text(&text).to_string())
                .map_err(|e| format!("cannot read the secret file {}: {e}", file.display()));
            (format!("file {}", file.display()), value)
        }
        SecretRef::Credential(name) => {
            if let Some(why) = crate::credential::invalid_name(&name) {
                return Err(config_error(key, why));
            }
            (crate::credential::describe(&name), crate::credential::read(&name))
        }
    };
    let value = value.and_then(|v| if v.is_empty() { Err("the secret is empty".to_string()) } else { Ok(v) });
    if let Ok(v) = &value
        && let Some(why) = crate::secret::weakness(v)
    {
        crate::logging::print(
            tracing::Level::WARN,
            &format!(
                "{key} ({source}) is {why}: such a password is easy to guess, and sis-extract cannot replace it with *** \
                 everywhere without rewriting its own words (which would give it away); use a long random one"
            ),
        );
    }
    Ok(SecretSetting { key: key.to_string(), source, value: value.map(Secret::new) })
}

/// The secret in a secret file: without a UTF-8 byte-order mark (PowerShell 5.1's
/// `Out-File -Encoding utf8` writes one) and without the trailing line end of
/// `echo pw > file` or Notepad.
pub(super) fn secret_file_text(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text).trim_end_matches(['\r', '\n'])
}

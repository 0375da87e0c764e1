//! Secrets (database and SFTP passwords, key passphrases) and the redaction net behind them.
//!
//! A [`Secret`] never prints its value: `Debug`, `Display` and `Serialize` all give `***`.
//! Code that must hand the value to a driver calls [`Secret::expose`], and nothing else.
//!
//! As a second line of defence every loaded secret is registered with a process-wide
//! redactor; the error printer, the log writer and the history writer pass their text
//! through [`redact`], so even a driver that echoes a password back in an error message
//! cannot leak it.

use std::fmt;
use std::sync::{Mutex, OnceLock};

/// A secret value loaded from the environment or a file.
#[derive(Clone)]
pub struct Secret {
    value: String,
}

impl Secret {
    /// Wraps `value` and registers it for redaction.
    pub fn new(value: String) -> Self {
        register(&value);
        Secret { value }
    }

    /// The secret itself, for handing to a driver. Never format the result.
    pub fn expose(&self) -> &str {
        &self.value
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("***")
    }
}

/// Every secret loaded, with whether the safety net replaces it ([`redact`]).
fn registry() -> &'static Mutex<Vec<(String, bool)>> {
    static REGISTRY: OnceLock<Mutex<Vec<(String, bool)>>> = OnceLock::new();
    REGISTRY.get_or_init(|| Mutex::new(Vec::new()))
}

/// Secrets shorter than this are not redacted from free text: replacing every "a" in a
/// message would make it unreadable, and such a password is reported as too weak anyway.
const MIN_REDACTABLE_LEN: usize = 4;

/// Registers a text derived from a secret (e.g. its escaped form inside a connection
/// string) so that it is redacted too.
pub fn also_redact(derived: &str) {
    register(derived)
}

fn register(value: &str) {
    if value.len() < MIN_REDACTABLE_LEN {
        return;
    }
    let mut secrets = registry().lock().unwrap_or_else(|e| e.into_inner());
    if !secrets.iter().any(|(s, _)| s == value) {
        secrets.push((value.to_owned(), weakness(value).is_none()));
        // Longest first, so a secret that contains another is replaced whole.
        secrets.sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
    }
}

fn env_names() -> &'static Mutex<Vec<String>> {
    static NAMES: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    NAMES.get_or_init(|| Mutex::new(Vec::new()))
}

/// Records that a secret was read from the environment variable `name`, so that no child
/// process sis-extract starts receives it (see [`scrub_child_env`]).
pub fn register_env_name(name: &str) {
    let mut names = env_names().lock().unwrap_or_else(|e| e.into_inner());
    if !names.iter().any(|n| n == name) {
        names.push(name.to_owned());
    }
}

/// Removes from `command`'s environment every variable a secret was read from, and every
/// variable whose value holds a loaded secret (the same password exported under another
/// name, e.g. `PGPASSWORD`). Every child process sis-extract starts goes through this:
/// a district's hook script has no business with the database or SFTP password.
pub fn scrub_child_env(command: &mut std::process::Command) {
    for name in env_names().lock().unwrap_or_else(|e| e.into_inner()).iter() {
        command.env_remove(name);
    }
    let secrets = registry().lock().unwrap_or_else(|e| e.into_inner());
    for (name, value) in std::env::vars_os() {
        let value = value.to_string_lossy();
        if secrets.iter().any(|(s, _)| value.contains(s.as_str())) {
            command.env_remove(name);
        }
    }
}

/// Secrets shorter than this, or common ones, are "weak": see [`weakness`].
pub const NET_MIN_CHARS: usize = 8;

/// Why a secret is too weak for the safety net, if it is. A strong secret is replaced in
/// everything sis-extract prints or logs ([`redact`]). A weak one only in text that comes
/// from outside ([`redact_external`]): replacing `wrong` or `password` in sis-extract's own
/// words ("a wrong credential", "check source.password") would print "a *** credential"
/// and so give the password away. The config warns about a weak secret.
pub fn weakness(value: &str) -> Option<&'static str> {
    const COMMON: [&str; 12] = [
        "password", "passw0rd", "welcome", "changeme", "secret", "letmein", "admin", "root", "test", "sftp",
        "qwerty", "123456",
    ];
    let lower = value.to_ascii_lowercase();
    if value.chars().count() < NET_MIN_CHARS {
        Some("shorter than 8 characters")
    } else if COMMON.iter().any(|c| lower.starts_with(c) && lower.len() <= c.len() + 4) {
        Some("a common password")
    } else if lower.chars().all(|c| c.is_ascii_alphabetic()) {
        Some("a single word")
    } else {
        None
    }
}

/// The safety net over everything printed, logged, recorded or handed to a hook: every
/// registered strong secret becomes `***`.
pub fn redact(text: &str) -> String {
    replace_secrets(text, false)
}

/// For text from outside sis-extract (a driver's or server's message, a file's content)
/// before it is put into a message: every registered secret becomes `***`, weak or not.
pub fn redact_external(text: &str) -> String {
    replace_secrets(text, true)
}

fn replace_secrets(text: &str, weak_too: bool) -> String {
    let secrets = registry().lock().unwrap_or_else(|e| e.into_inner());
    let mut out = text.to_owned();
    for (secret, net) in secrets.iter() {
        if (*net || weak_too) && out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), "***");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_its_value() {
        let s = Secret::new("hunter2-unit".into());
        assert_eq!(format!("{s} {s:?}"), "*** ***");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"***\"");
        assert_eq!(s.expose(), "hunter2-unit");
    }

    #[test]
    fn redacts_registered_values_from_text() {
        let _s = Secret::new("pa;ss}word-unit".into());
        also_redact("{pa;ss}}word-unit}");
        assert_eq!(
            redact("login failed for PWD={pa;ss}}word-unit} and pa;ss}word-unit"),
            "login failed for PWD=*** and ***"
        );
    }

    #[test]
    fn child_processes_do_not_inherit_secret_variables() {
        register_env_name("SIS_EXTRACT_UNIT_SECRET_NAME");
        let mut command = std::process::Command::new("true");
        command.env("SIS_EXTRACT_UNIT_SECRET_NAME", "x");
        scrub_child_env(&mut command);
        let removed: Vec<_> =
            command.get_envs().filter(|(_, v)| v.is_none()).map(|(k, _)| k.to_owned()).collect();
        assert!(removed.iter().any(|k| k == "SIS_EXTRACT_UNIT_SECRET_NAME"), "{removed:?}");
    }
}

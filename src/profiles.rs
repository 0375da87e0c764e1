//! Vendor profiles for `sis-extract init`: commented config files for the vendors
//! districts meet. The texts live in `examples/profiles/` (and are parsed by a test).
//!
//! A profile is safe to fill in: every value the admin must supply is a placeholder whose
//! text contains [`FILL_IN`], and a config that still holds one is warned about, naming
//! the key, each time it is read ([`warn_placeholders`]). No profile carries a host-key
//! pin: a made-up fingerprint would make `check` report a changed host key (an attack
//! warning) on day one; without one, `check` prints the server's key and the exact line
//! to add. Every profile carries a schedule and time zone: the vendor's documented one
//! (SchoolStatus: 18:30 Central), else a nightly default said to be one. State paths
//! (history, log, work folder) are absolute, in the folders the
//! shipped service definitions may write: `/var/lib/sis-extract` and `/var/log/sis-extract`
//! on Linux (examples/linux), `C:/ProgramData/sis-extract` on Windows (examples/windows).

use clap::ValueEnum;

/// The marker of a value still to be filled in.
pub const FILL_IN: &str = "FILL IN";

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vendor {
    /// SchoolStatus: OneRoster 1.1 zip by SFTP, nightly 18:30 America/Chicago.
    Schoolstatus,
    /// Empower (its own ODBC pull is the documented path; this is the OneRoster fallback).
    Empower,
    /// Schoology (normally pulls over the OneRoster API; this is the CSV-by-SFTP route).
    Schoology,
    /// ClassLink Roster Server: OneRoster 1.1 into DailyImport by SFTP.
    Classlink,
    /// Clever: its own five CSV files (not OneRoster), loose in the SFTP home folder.
    Clever,
    /// Any OneRoster receiver by SFTP.
    GenericOneroster,
}

impl Vendor {
    /// The profile as `init` writes it on this platform.
    pub fn config_text(self) -> String {
        for_platform(self.template(), cfg!(windows))
    }

    /// The profile as written in `examples/profiles/` (Linux paths).
    pub fn template(self) -> &'static str {
        match self {
            Vendor::Schoolstatus => include_str!("../examples/profiles/schoolstatus.toml"),
            Vendor::Empower => include_str!("../examples/profiles/empower.toml"),
            Vendor::Schoology => include_str!("../examples/profiles/schoology.toml"),
            Vendor::Classlink => include_str!("../examples/profiles/classlink.toml"),
            Vendor::Clever => include_str!("../examples/profiles/clever.toml"),
            Vendor::GenericOneroster => include_str!("../examples/profiles/generic-oneroster.toml"),
        }
    }
}

/// The Linux folders of a profile, and their Windows equivalents (under ProgramData, where
/// examples/windows/sis-extract-task.xml runs with the config). Forward slashes: TOML
/// basic strings would read a backslash as an escape.
const PLATFORM_PATHS: [(&str, &str); 3] = [
    ("/var/lib/sis-extract", "C:/ProgramData/sis-extract"),
    ("/var/log/sis-extract", "C:/ProgramData/sis-extract/logs"),
    ("/etc/sis-extract", "C:/ProgramData/sis-extract"),
];

/// A profile template with its paths for Windows (`windows`) or as written (Linux).
pub fn for_platform(template: &str, windows: bool) -> String {
    if !windows {
        return template.to_string();
    }
    PLATFORM_PATHS.iter().fold(template.to_string(), |text, (linux, windows)| text.replace(linux, windows))
}

/// Whether a config value is still a profile's placeholder.
pub fn is_placeholder(value: &str) -> bool {
    value.contains(FILL_IN)
}

/// The keys of `text` (a config file) whose values are still placeholders, named as
/// configuration errors name them (`job[0].destination.host`), with their values.
/// Comments are not values: a `# FILL IN` note left beside a filled-in value is fine.
pub fn placeholders(text: &str) -> Vec<(String, String)> {
    fn walk(value: &toml::Value, key: &str, found: &mut Vec<(String, String)>) {
        match value {
            toml::Value::String(s) if is_placeholder(s) => found.push((key.to_string(), s.clone())),
            toml::Value::Table(table) => {
                for (name, value) in table {
                    let sub = if key.is_empty() { name.clone() } else { format!("{key}.{name}") };
                    walk(value, &sub, found);
                }
            }
            toml::Value::Array(items) => {
                for (i, value) in items.iter().enumerate() {
                    walk(value, &format!("{key}[{i}]"), found);
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    // A file that does not parse is reported by the config's own parser.
    if let Ok(table) = text.parse::<toml::Table>() {
        walk(&toml::Value::Table(table), "", &mut found);
    }
    found
}

/// Warns on stderr (before logging starts, as `run` reads its config first) about every
/// placeholder left in the config file `path`. A warning, not an error: `config`, `check`
/// of the database and `run --dry-run` are useful before the vendor has sent its
/// details; a real run fails at the step that uses the value (a placeholder host cannot
/// be resolved, nor a placeholder login used).
pub fn warn_placeholders(text: &str, path: &std::path::Path) {
    for (key, value) in placeholders(text) {
        crate::logging::print(
            tracing::Level::WARN,
            &format!(
                "{key} in {} is still a placeholder ({value:?}); replace it before a real run, which cannot work with it",
                path.display()
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_named_by_their_keys_and_comments_are_not_values() {
        let text = "a = \"x\" # FILL IN\n[source]\nuser = \"FILL IN: your account\"\n\
                    [[job]]\nname = \"j\"\n[job.destination]\nhost = \"FILL IN\"\n";
        assert_eq!(
            placeholders(text),
            vec![
                ("job[0].destination.host".to_string(), "FILL IN".to_string()),
                ("source.user".to_string(), "FILL IN: your account".to_string())
            ]
        );
    }

    #[test]
    fn profiles_have_no_pin_and_absolute_state_paths_on_each_platform() {
        for vendor in Vendor::value_variants() {
            let template = vendor.template();
            assert!(
                !template.lines().any(|l| l.trim_start().starts_with("host_key")),
                "{vendor:?}: no host_key value"
            );
            assert!(!placeholders(template).is_empty(), "{vendor:?}: marks what to fill in");
            for (windows, prefixes) in [
                (false, ["/var/lib/sis-extract/", "/var/log/sis-extract/"]),
                (true, ["C:/ProgramData/sis-extract/"; 2]),
            ] {
                let text = for_platform(template, windows);
                let table: toml::Table = text.parse().unwrap();
                for key in ["history_file", "work_dir", "log_file"] {
                    let value = table[key].as_str().unwrap();
                    assert!(prefixes.iter().any(|p| value.starts_with(p)), "{vendor:?} {key} = {value}");
                }
                assert_eq!(windows, !text.contains("/var/") && !text.contains("/etc/"), "{vendor:?}");
                let job = &table["job"].as_array().unwrap()[0];
                for key in ["schedule", "timezone"] {
                    assert!(job.get(key).and_then(|v| v.as_str()).is_some(), "{vendor:?}: job.{key}");
                }
            }
        }
    }
}

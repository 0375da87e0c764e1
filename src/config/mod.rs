//! The configuration file: TOML types as written by a district admin, and their one-time
//! validation into the types the rest of the program uses.
//!
//! Parsing happens in two steps, as ripgrep and rustic do it. First the file is read into
//! `Raw*` structs that mirror the TOML exactly (unknown keys are errors). Then
//! [`validate`] turns them into [`Config`], loading secrets and checking every value, so no
//! other module re-checks anything. Every error names the key path, e.g.
//! `job[0].destination.port: expected an integer 1-65535, found "twenty-two"`.
//!
//! Here: the validated types and loading. Beside it: `raw.rs` (the TOML shapes),
//! `validate.rs`, `secrets.rs` and `connection_string.rs`.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// A configuration error: exit code 2, message names the key path.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

fn config_error(path: &str, message: impl fmt::Display) -> anyhow::Error {
    ConfigError(format!("{path}: {message}")).into()
}

#[cfg(windows)]
mod acl;
mod connection_string;
mod raw;
mod secrets;
mod validate;

pub use connection_string::connection_string_pairs;
pub use raw::{Guards, RowDrop};
pub use secrets::{warn_if_readable_by_others, warn_if_writable_by_others};
pub use validate::ARCHIVE_NAME_MAX_BYTES;

use raw::*;
use secrets::*;
use validate::*;

// ---------------------------------------------------------------------------------------
// Validated configuration
// ---------------------------------------------------------------------------------------

/// The whole validated configuration.
#[derive(Debug, Serialize)]
pub struct Config {
    /// The file it was read from; relative paths inside it are relative to its folder.
    #[serde(skip)]
    pub path: PathBuf,
    pub history_file: PathBuf,
    /// Where runs build their files before zipping (default: the system's temp folder).
    pub work_dir: PathBuf,
    /// A log file, rotated daily (`NAME.YYYY-MM-DD`), besides stderr.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_file: Option<PathBuf>,
    /// Daily log files kept.
    pub log_keep: usize,
    /// Command run when any job fails (a job's own `on_failure` takes precedence).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub on_failure: Vec<String>,
    pub source: SourceConfig,
    #[serde(rename = "job")]
    pub jobs: Vec<Job>,
    /// The environment variables secrets were read from (`{ env = "NAME" }`): no child
    /// process (the failure hook) receives them.
    #[serde(skip)]
    pub secret_env_vars: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct SourceConfig {
    pub connection_string: String,
    pub user: Option<String>,
    pub password: Option<SecretSetting>,
    #[serde(serialize_with = "serialize_duration")]
    pub login_timeout: Duration,
    /// Zero means no limit.
    #[serde(serialize_with = "serialize_duration")]
    pub query_timeout: Duration,
    /// Upper bound for the fetch buffers of one query, in bytes.
    pub memory_budget: u64,
    /// Characters allowed per value of a column whose declared size is unbounded or larger.
    pub max_text_length: usize,
    /// SQL Server: how long a query waits for a lock held by the SIS before it gives up
    /// (`SET LOCK_TIMEOUT`), so that sis-extract, never the SIS application, waits.
    #[serde(serialize_with = "serialize_duration")]
    pub lock_timeout: Duration,
    /// How many times a transient database failure (a deadlock victim, a lost
    /// connection) is retried, the whole extract from a new connection each time.
    pub retries: u32,
    /// The wait before the first retry; it doubles for each further one.
    #[serde(serialize_with = "serialize_duration")]
    pub retry_delay: Duration,
}

/// How a OneRoster set writes `enrollments.endDate`. The queries return Campus's last
/// day of the enrollment; OneRoster's information model (1.1 and 1.2) says the end date is
/// exclusive ("the end date for the enrollment (exclusive)"), so by default the day after
/// is written. A receiver that documents the inclusive reading can ask for it.
#[derive(Debug, Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum EnrollmentEndDate {
    /// The day after the last day, as the OneRoster standard reads it.
    #[default]
    Exclusive,
    /// The last day itself.
    Inclusive,
}

/// Whether a job's queries see the database at one moment or each at its own.
#[derive(Debug, Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Consistency {
    /// A snapshot where the database offers one, else per query (said in the report).
    #[default]
    Auto,
    /// One snapshot for all the job's queries, or the run fails.
    Snapshot,
    /// Each query sees the database as it is when that query starts.
    PerQuery,
}

#[derive(Debug, Serialize, Deserialize, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One plain CSV file per query.
    #[serde(rename = "csv")]
    Csv,
    /// A OneRoster 1.1 CSV set with manifest.csv.
    #[serde(rename = "oneroster-1.1")]
    OneRoster11,
    /// A OneRoster 1.2 CSV set with manifest.csv.
    #[serde(rename = "oneroster-1.2")]
    OneRoster12,
    /// Clever's own SFTP format: schools, students, teachers, sections, enrollments (and
    /// staff) .csv with Clever's headers, grade words and MM/DD/YYYY dates.
    #[serde(rename = "clever")]
    Clever,
}

impl Format {
    /// The OneRoster version a format writes; `None` for plain CSV.
    pub fn oneroster_version(self) -> Option<crate::output::oneroster::spec::Version> {
        use crate::output::oneroster::spec::Version;
        match self {
            Format::Csv | Format::Clever => None,
            Format::OneRoster11 => Some(Version::V1_1),
            Format::OneRoster12 => Some(Version::V1_2),
        }
    }
}

/// Which people a OneRoster job's queries send (`people` in `[[job]]`). The queries see it
/// through a `? /* people */` placeholder, bound to [`People::as_str`].
#[derive(Debug, Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum People {
    /// As Campus's own feed: students and staff with an enabled Campus account (its
    /// username), guardians with an enabled parent-portal account.
    #[default]
    CampusAccounts,
    /// Everyone current, with a username derived when there is no account.
    Everyone,
}

impl People {
    /// The text bound to a `? /* people */` placeholder.
    pub fn as_str(self) -> &'static str {
        match self {
            People::CampusAccounts => "campus-accounts",
            People::Everyone => "everyone",
        }
    }
}

#[derive(Debug, Serialize, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LineEnding {
    Crlf,
    Lf,
}

#[derive(Debug, Serialize)]
pub struct Job {
    pub name: String,
    pub queries: PathBuf,
    pub format: Format,
    /// File name template with an optional `{date}` (yyyymmdd in the job's time zone).
    pub archive: String,
    /// IANA time zone; `None` means the server's local time zone.
    #[serde(serialize_with = "serialize_timezone")]
    pub timezone: Option<chrono_tz::Tz>,
    pub bom: bool,
    pub line_ending: LineEnding,
    /// OneRoster and Clever: the district's own grade names → CEDS codes, on top of the
    /// built-in ones.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub grade_map: std::collections::BTreeMap<String, String>,
    /// OneRoster: how `enrollments.endDate` reads (see [`EnrollmentEndDate`]).
    pub enrollment_end_date: EnrollmentEndDate,
    /// OneRoster: `source.systemName` in manifest.csv.
    pub source_system: String,
    /// Which people the queries send: bound to every `? /* people */` placeholder.
    pub people: People,
    /// The system the set is for: its published rules are checked before anything is
    /// zipped (errors stop the delivery, warnings are recorded). `generic` adds none.
    pub receiver: crate::output::receivers::Receiver,
    /// 5-field cron expression for `schedule`, in the job's time zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// `schedule`: run at once on start when the last scheduled run was missed.
    pub catch_up: bool,
    /// Command run when this job fails, with the run's record as JSON on stdin.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub on_failure: Vec<String>,
    pub guards: Guards,
    /// Whether the job's queries run in one snapshot (see [`Consistency`]).
    pub consistency: Consistency,
    pub destination: Destination,
}

#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
// One per job, built once: the size difference between the variants costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum Destination {
    Local {
        path: PathBuf,
        #[serde(skip_serializing_if = "Payload::is_zip")]
        send: Payload,
    },
    Sftp(SftpDestination),
}

/// What a destination receives (`send` in `[job.destination]`).
#[derive(Debug, Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Payload {
    /// The zip of the set (the default).
    #[default]
    Zip,
    /// The set's files themselves, each under its own name, no zip: Clever takes its CSV
    /// files loose in the SFTP home folder. The zip is still built, recorded and kept
    /// by `--keep` and dry runs.
    Files,
}

impl Payload {
    pub fn is_zip(&self) -> bool {
        *self == Payload::Zip
    }
}

impl Destination {
    /// What this destination receives.
    pub fn send(&self) -> Payload {
        match self {
            Destination::Local { send, .. } => *send,
            Destination::Sftp(sftp) => sftp.send,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct SftpDestination {
    pub host: String,
    pub port: u16,
    pub user: String,
    #[serde(flatten)]
    pub auth: SftpAuth,
    /// Unpinned (a profile's placeholder host, or `check`) renders as no key at all.
    #[serde(flatten, skip_serializing_if = "HostKeyPin::is_unpinned")]
    pub host_key: HostKeyPin,
    pub remote_dir: String,
    /// Limit for each network operation (connect, handshake, each read or write).
    #[serde(serialize_with = "serialize_duration")]
    pub timeout: Duration,
    /// Connection and transfer attempts before giving up.
    pub attempts: u32,
    /// Algorithms weaker than OpenSSH's client accepts by default, each enabled by name
    /// for a server too old for the others.
    pub legacy_algorithms: Vec<LegacyAlgorithm>,
    /// Permissions of the delivered file on the server (its umask may remove bits).
    #[serde(serialize_with = "serialize_mode")]
    pub file_mode: u32,
    /// The zip, or the set's files.
    #[serde(skip_serializing_if = "Payload::is_zip")]
    pub send: Payload,
}

/// An algorithm class OpenSSH's client no longer offers by default, which a destination
/// may enable by name (`legacy_algorithms`). Never on by default; docs/sftp.md says the
/// risk of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LegacyAlgorithm {
    /// diffie-hellman-group14-sha1 and diffie-hellman-group-exchange-sha1.
    Sha1KeyExchange,
    /// `ssh-rsa` host-key signatures (RSA with SHA-1).
    SshRsaHostKey,
    /// aes128-cbc, aes192-cbc, aes256-cbc.
    CbcCiphers,
}

impl LegacyAlgorithm {
    pub const ALL: [LegacyAlgorithm; 3] =
        [LegacyAlgorithm::Sha1KeyExchange, LegacyAlgorithm::SshRsaHostKey, LegacyAlgorithm::CbcCiphers];

    /// The name in the config file.
    pub fn name(self) -> &'static str {
        match self {
            LegacyAlgorithm::Sha1KeyExchange => "sha1-key-exchange",
            LegacyAlgorithm::SshRsaHostKey => "ssh-rsa-host-key",
            LegacyAlgorithm::CbcCiphers => "cbc-ciphers",
        }
    }
}

fn serialize_mode<S: serde::Serializer>(mode: &u32, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format!("{mode:04o}"))
}

/// The default `file_mode` of a delivered file: the owner (the vendor's SFTP account)
/// reads and writes, its group reads (a vendor's pickup process commonly runs in the
/// account's group), nobody else: on a shared server another district's account must not
/// read students' data.
pub const DEFAULT_FILE_MODE: u32 = 0o640;

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum SftpAuth {
    Password { password: SecretSetting },
    Key { key_file: PathBuf, key_passphrase: Option<SecretSetting> },
}

#[derive(Debug, Clone, Serialize)]
pub enum HostKeyPin {
    /// OpenSSH-style `SHA256:<base64, no padding>` fingerprint, optionally after the key's
    /// type (`ssh-ed25519 SHA256:…`), which lets a connection offer only that type.
    #[serde(rename = "host_key")]
    Fingerprint(String),
    #[serde(rename = "known_hosts")]
    KnownHosts(PathBuf),
    /// No pin: only `check` loads such a config, to print the key to pin.
    #[serde(skip)]
    Unpinned,
}

/// A secret the config names (`{ env = "NAME" }`, `{ file = "path" }` or `{ credential =
/// "NAME" }`), read when the config is loaded. If it could not be read, the error waits
/// for the command that needs it (connecting): `config` and `history` need no secret.
pub struct SecretSetting {
    /// The config key, e.g. `source.password`.
    pub key: String,
    /// Where it comes from, e.g. "environment variable SIS_DB_PASSWORD", for messages.
    pub source: String,
    value: std::result::Result<Secret, String>,
}

impl SecretSetting {
    /// A secret already in hand (for tests of the code that uses one).
    pub fn loaded(key: &str, source: &str, secret: Secret) -> SecretSetting {
        SecretSetting { key: key.to_string(), source: source.to_string(), value: Ok(secret) }
    }

    /// The secret, or why it is not there (naming the key and its source).
    pub fn get(&self) -> Result<&Secret> {
        self.value.as_ref().map_err(|why| anyhow::anyhow!("{}: {why}", self.key))
    }
}

impl std::fmt::Debug for SecretSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "*** ({})", self.source)
    }
}

impl Serialize for SecretSetting {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match &self.value {
            Ok(_) => serializer.serialize_str(&format!("*** (from {})", self.source)),
            Err(_) => serializer.serialize_str(&format!("NOT AVAILABLE to this account ({})", self.source)),
        }
    }
}

impl HostKeyPin {
    pub fn is_unpinned(&self) -> bool {
        matches!(self, HostKeyPin::Unpinned)
    }

    /// The pinned key's type, when the pin names it (`ssh-rsa SHA256:…`).
    pub fn key_type(&self) -> Option<&str> {
        match self {
            HostKeyPin::Fingerprint(pin) => pin.split_once(' ').map(|(key_type, _)| key_type),
            _ => None,
        }
    }

    /// The `SHA256:…` part of a fingerprint pin.
    pub fn fingerprint(&self) -> Option<&str> {
        match self {
            HostKeyPin::Fingerprint(pin) => Some(pin.rsplit(' ').next().unwrap_or(pin)),
            _ => None,
        }
    }
}

/// The key types a typed pin may name, as OpenSSH writes them (`ssh-keygen -l` shows the
/// type in brackets; `ssh-keyscan` and known_hosts lines start with it).
pub const PINNABLE_KEY_TYPES: [&str; 5] =
    ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa"];

/// Set by `check`, which must load a config without a host-key pin so it can show the
/// server's key and the line to add; every other command refuses such a config.
static ALLOW_UNPINNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The format's name as written in the config.
pub fn format_name(format: Format) -> &'static str {
    match format {
        Format::Csv => "csv",
        Format::OneRoster11 => "oneroster-1.1",
        Format::OneRoster12 => "oneroster-1.2",
        Format::Clever => "clever",
    }
}

/// Loads the config for `check`: like [`load`], but an SFTP destination may lack its pin.
pub fn load_for_check(path: &Path) -> Result<Config> {
    ALLOW_UNPINNED.store(true, std::sync::atomic::Ordering::Relaxed);
    load(path)
}

fn serialize_duration<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&describe_duration(*d))
}

fn serialize_timezone<S: serde::Serializer>(tz: &Option<chrono_tz::Tz>, s: S) -> Result<S::Ok, S::Error> {
    match tz {
        Some(tz) => s.serialize_str(tz.name()),
        None => s.serialize_str("local"),
    }
}

impl Job {
    /// The archive's file name for a run on `date`.
    pub fn archive_name(&self, date: chrono::NaiveDate) -> String {
        self.archive.replace("{date}", &date.format("%Y%m%d").to_string())
    }

    /// Today's date in the job's time zone.
    pub fn today(&self) -> chrono::NaiveDate {
        self.now_local().date()
    }

    /// The wall-clock time now in the job's time zone.
    pub fn now_local(&self) -> chrono::NaiveDateTime {
        let now = chrono::Utc::now();
        match self.timezone {
            Some(tz) => now.with_timezone(&tz).naive_local(),
            None => now.with_timezone(&chrono::Local).naive_local(),
        }
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Destination::Local { path, .. } => write!(f, "local folder {}", path.display()),
            Destination::Sftp(s) => write!(f, "sftp://{}@{}:{}/{}", s.user, s.host, s.port, {
                s.remote_dir.trim_start_matches('/')
            }),
        }
    }
}

/// Reads, parses and validates the configuration file at `path`.
pub fn load(path: &Path) -> Result<Config> {
    warn_if_writable_by_others(path, "the config file");
    let text = read_config_file(path)?;
    let text = String::from_utf8(text).map_err(|_| {
        ConfigError(format!("config file {} is not UTF-8 text; save it as UTF-8", path.display()))
    })?;
    crate::profiles::warn_placeholders(&text, path);
    parse(&text, path)
}

/// A config file is a few KiB; anything larger than this is the wrong file (or a device
/// such as /dev/zero, which would never end), and is refused before it fills memory.
pub const CONFIG_FILE_MAX_BYTES: u64 = 1024 * 1024;

fn read_config_file(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    // The absolute path, so that "which folder was it looking in?" needs no guessing (a
    // scheduled task starts in another folder than an admin's shell).
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let cannot = |e: &dyn fmt::Display| {
        ConfigError(format!(
            "cannot read config file {}: {e}. Pass the right file with -c PATH, or copy config.example.toml",
            absolute.display()
        ))
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(CONFIG_FILE_MAX_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| cannot(&e))?;
    if bytes.len() as u64 > CONFIG_FILE_MAX_BYTES {
        return Err(ConfigError(format!(
            "config file {} is larger than {} MiB, the limit for a config file; pass the right file with -c PATH",
            path.display(),
            CONFIG_FILE_MAX_BYTES / (1024 * 1024)
        ))
        .into());
    }
    Ok(bytes)
}

/// Parses and validates configuration text; `path` resolves relative paths and names the
/// file in messages.
pub fn parse(text: &str, path: &Path) -> Result<Config> {
    let raw = parse_raw(text, path)?;
    validate(raw, path)
}

fn parse_raw(text: &str, path: &Path) -> Result<RawConfig> {
    let deserializer = toml::Deserializer::parse(text).map_err(|e| {
        ConfigError(format!("{}: {}", path.display(), toml_error_text(text, e.message(), e.span())))
    })?;
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.message().trim_end_matches('\n').to_string();
        let key = if key == "." { "config".to_string() } else { key };
        ConfigError(format!("{key}: {}", tidy_serde_message(&message))).into()
    })
}

/// Serde says "unknown field `foo`, expected one of `a`, `b`"; admins need to know that the
/// key is not recognised and which ones are.
fn tidy_serde_message(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("unknown field ") {
        return format!("unknown key {rest}");
    }
    if let Some(rest) = message.strip_prefix("missing field ") {
        return format!("missing required key {rest}");
    }
    message.to_string()
}

fn toml_error_text(text: &str, message: &str, span: Option<std::ops::Range<usize>>) -> String {
    let message = message.trim_end();
    match span {
        Some(span) => {
            let line_no = text[..span.start.min(text.len())].matches('\n').count() + 1;
            let line = text.lines().nth(line_no - 1).unwrap_or_default();
            format!("line {line_no}: invalid TOML: {message}{}", windows_path_hint(line))
        }
        None => format!("invalid TOML: {message}"),
    }
}

/// TOML reads `\` in a "double-quoted" string as an escape, so a Windows path written the
/// way Windows shows it (`"C:\ProgramData\…"`) is an invalid escape: say how to write it.
fn windows_path_hint(line: &str) -> String {
    let Some((_, value)) = line.split_once('=') else { return String::new() };
    let value = value.trim();
    let Some(inner) = value.strip_prefix('"') else { return String::new() };
    let inner = inner.split('"').next().unwrap_or_default();
    let bytes = inner.as_bytes();
    let drive = bytes.len() > 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' && bytes[2] == b'\\';
    if !(drive || inner.starts_with("\\\\")) {
        return String::new();
    }
    format!(
        ". This looks like a Windows path in a \"double-quoted\" string, where TOML reads each \\ as an escape: \
         write it in single quotes ('{inner}') or with forward slashes ({})",
        inner.replace('\\', "/")
    )
}

/// Renders the effective configuration as TOML, secrets as `***`.
pub fn render(config: &Config) -> Result<String> {
    toml::to_string_pretty(config).context("rendering the configuration")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes() {
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("20m"), Some(Duration::from_secs(1200)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_byte_size("64MiB"), Some(64 << 20));
        assert_eq!(parse_byte_size("16 MiB"), Some(16 << 20));
        assert_eq!(parse_byte_size("lots"), None);
    }

    #[test]
    fn connection_string_pairs_honour_braces() {
        let pairs = connection_string_pairs("Driver={PostgreSQL Unicode};Server=h;PWD={a;b}}c};X=1");
        assert_eq!(
            pairs,
            vec![
                ("Driver".into(), "PostgreSQL Unicode".into()),
                ("Server".into(), "h".into()),
                ("PWD".into(), "a;b}c".into()),
                ("X".into(), "1".into())
            ]
        );
    }

    #[test]
    fn fingerprints_are_normalised() {
        let fp = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU";
        assert_eq!(parse_fingerprint(fp).as_deref(), Some(fp));
        assert_eq!(parse_fingerprint(&format!("{fp}=")).as_deref(), Some(fp));
        assert_eq!(parse_fingerprint("MD5:aa:bb"), None);
        assert_eq!(parse_fingerprint("SHA256:tooshort"), None);
    }
}

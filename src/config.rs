//! The configuration file: TOML types as written by a district admin, and their one-time
//! validation into the types the rest of the program uses.
//!
//! Parsing happens in two steps, as ripgrep and rustic do it. First the file is read into
//! `Raw*` structs that mirror the TOML exactly (unknown keys are errors). Then
//! [`validate`] turns them into [`Config`], loading secrets and checking every value, so no
//! other module re-checks anything. Every error names the key path, e.g.
//! `job[0].destination.port: expected an integer 1-65535, found "twenty-two"`.

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

// ---------------------------------------------------------------------------------------
// Raw TOML shapes
// ---------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    source: RawSource,
    history_file: Option<String>,
    work_dir: Option<String>,
    log_file: Option<String>,
    log_keep: Option<BoundedInt<1, 3650>>,
    on_failure: Option<Vec<String>>,
    #[serde(rename = "job", default)]
    jobs: Vec<RawJob>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    connection_string: String,
    user: Option<String>,
    password: Option<SecretRef>,
    login_timeout: Option<DurationValue>,
    query_timeout: Option<DurationValue>,
    memory_budget: Option<ByteSize>,
    max_text_length: Option<BoundedInt<1, 1_048_576>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJob {
    name: String,
    queries: String,
    format: Format,
    archive: String,
    timezone: Option<String>,
    bom: Option<bool>,
    line_ending: Option<LineEnding>,
    grade_map: Option<std::collections::BTreeMap<String, String>>,
    source_system: Option<String>,
    schedule: Option<String>,
    catch_up: Option<bool>,
    on_failure: Option<Vec<String>>,
    guards: Option<RawGuards>,
    destination: RawDestination,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGuards {
    max_row_drop: Option<RowDrop>,
    files: Option<std::collections::BTreeMap<String, RowDrop>>,
}

/// How far a file's row count may fall below the last good run's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum RowDrop {
    /// Percent of the last good run's rows, e.g. `"10%"`.
    Percent(f64),
    /// Rows, e.g. `500`.
    Rows(u64),
}

impl<'de> Deserialize<'de> for RowDrop {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = toml::Value::deserialize(deserializer)?;
        let parsed = match &value {
            toml::Value::Integer(i) if *i >= 0 => Some(RowDrop::Rows(*i as u64)),
            toml::Value::String(s) => s
                .trim()
                .strip_suffix('%')
                .and_then(|p| p.trim().parse::<f64>().ok())
                .filter(|p| (0.0..=100.0).contains(p))
                .map(RowDrop::Percent),
            _ => None,
        };
        parsed.ok_or_else(|| {
            de::Error::custom(format!(
                "expected a percentage such as \"10%\" or a row count such as 500, found {}",
                describe(&value)
            ))
        })
    }
}

/// Safety guards: how much a run may differ from the last good one before delivery stops.
#[derive(Debug, Clone, Serialize)]
pub struct Guards {
    pub max_row_drop: RowDrop,
    /// Per-file limits, by file name without `.csv` (`users`), overriding `max_row_drop`.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub files: std::collections::BTreeMap<String, RowDrop>,
}

/// One flat shape for every destination kind, so that each key keeps its own path in error
/// messages (serde's tagged enums lose it); [`validate_destination`] checks which keys belong
/// to which kind.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDestination {
    kind: DestinationKind,
    path: Option<String>,
    host: Option<String>,
    port: Option<BoundedInt<1, 65535>>,
    user: Option<String>,
    password: Option<SecretRef>,
    key_file: Option<String>,
    key_passphrase: Option<SecretRef>,
    host_key: Option<String>,
    known_hosts: Option<String>,
    remote_dir: Option<String>,
    timeout: Option<DurationValue>,
    attempts: Option<BoundedInt<1, 10>>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum DestinationKind {
    Local,
    Sftp,
}

/// Where a secret comes from: `{ env = "NAME" }` or `{ file = "path" }`. Inline text is
/// refused, so that config files can be shared in a ticket without leaking anything.
enum SecretRef {
    Env(String),
    File(String),
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = toml::Value::deserialize(deserializer)?;
        let hint = "use { env = \"NAME\" } or { file = \"path\" }";
        match value {
            toml::Value::String(_) => Err(de::Error::custom(format!(
                "secrets may not be written inline in the config file: {hint}"
            ))),
            toml::Value::Table(table) => {
                let mut entries = table.into_iter();
                match (entries.next(), entries.next()) {
                    (Some((key, toml::Value::String(v))), None) if key == "env" => Ok(SecretRef::Env(v)),
                    (Some((key, toml::Value::String(v))), None) if key == "file" => Ok(SecretRef::File(v)),
                    _ => Err(de::Error::custom(format!("expected exactly one of env or file: {hint}"))),
                }
            }
            other => Err(de::Error::custom(format!("expected {hint}, found {}", describe(&other)))),
        }
    }
}

/// An integer that must lie in `MIN..=MAX`, with an error message that says so.
#[derive(Clone, Copy)]
struct BoundedInt<const MIN: i64, const MAX: i64>(i64);

impl<'de, const MIN: i64, const MAX: i64> Deserialize<'de> for BoundedInt<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = toml::Value::deserialize(deserializer)?;
        match value {
            toml::Value::Integer(i) if (MIN..=MAX).contains(&i) => Ok(BoundedInt(i)),
            other => {
                Err(de::Error::custom(format!("expected an integer {MIN}-{MAX}, found {}", describe(&other))))
            }
        }
    }
}

/// `"30s"`, `"20m"`, `"2h"`, `"500ms"`.
#[derive(Clone, Copy)]
struct DurationValue(Duration);

impl<'de> Deserialize<'de> for DurationValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = toml::Value::deserialize(deserializer)?;
        let parsed = match &value {
            toml::Value::String(s) => parse_duration(s),
            _ => None,
        };
        parsed.map(DurationValue).ok_or_else(|| {
            de::Error::custom(format!(
                "expected a duration such as \"30s\", \"20m\" or \"2h\", found {}",
                describe(&value)
            ))
        })
    }
}

fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let seconds = match unit.trim() {
        "ms" => return Some(Duration::from_millis(number)),
        "s" => number,
        "m" | "min" => number.checked_mul(60)?,
        "h" => number.checked_mul(3600)?,
        _ => return None,
    };
    Some(Duration::from_secs(seconds))
}

/// `"64MiB"`, `"512KiB"`, `"1GiB"`, or a plain number of bytes.
#[derive(Clone, Copy)]
struct ByteSize(u64);

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = toml::Value::deserialize(deserializer)?;
        let parsed = match &value {
            toml::Value::Integer(i) if *i > 0 => Some(*i as u64),
            toml::Value::String(s) => parse_byte_size(s),
            _ => None,
        };
        match parsed {
            Some(bytes) if bytes >= 1024 * 1024 => Ok(ByteSize(bytes)),
            _ => Err(de::Error::custom(format!(
                "expected a size of at least 1MiB such as \"64MiB\", found {}",
                describe(&value)
            ))),
        }
    }
}

fn parse_byte_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let factor = match unit.trim() {
        "" | "B" => 1,
        "KiB" | "KB" | "K" => 1024,
        "MiB" | "MB" | "M" => 1024 * 1024,
        "GiB" | "GB" | "G" => 1024 * 1024 * 1024,
        _ => return None,
    };
    number.checked_mul(factor)
}

/// How a TOML value reads in an error message: strings quoted, tables and arrays named.
fn describe(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => format!("{s:?}"),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Datetime(d) => d.to_string(),
        toml::Value::Array(_) => "an array".into(),
        toml::Value::Table(_) => "a table".into(),
    }
}

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
    pub password: Option<Secret>,
    #[serde(serialize_with = "serialize_duration")]
    pub login_timeout: Duration,
    /// Zero means no limit.
    #[serde(serialize_with = "serialize_duration")]
    pub query_timeout: Duration,
    /// Upper bound for the fetch buffers of one query, in bytes.
    pub memory_budget: u64,
    /// Characters allowed per value of a column whose declared size is unbounded or larger.
    pub max_text_length: usize,
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
    /// OneRoster: the district's own grade names → CEDS codes, on top of the built-in ones.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub grade_map: std::collections::BTreeMap<String, String>,
    /// OneRoster: `source.systemName` in manifest.csv.
    pub source_system: String,
    /// 5-field cron expression for `schedule`, in the job's time zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// `schedule`: run at once on start when the last scheduled run was missed.
    pub catch_up: bool,
    /// Command run when this job fails, with the run's record as JSON on stdin.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub on_failure: Vec<String>,
    pub guards: Guards,
    pub destination: Destination,
}

#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Destination {
    Local { path: PathBuf },
    Sftp(SftpDestination),
}

#[derive(Debug, Serialize)]
pub struct SftpDestination {
    pub host: String,
    pub port: u16,
    pub user: String,
    #[serde(flatten)]
    pub auth: SftpAuth,
    #[serde(flatten)]
    pub host_key: HostKeyPin,
    pub remote_dir: String,
    /// Limit for each network operation (connect, handshake, each read or write).
    #[serde(serialize_with = "serialize_duration")]
    pub timeout: Duration,
    /// Connection and transfer attempts before giving up.
    pub attempts: u32,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum SftpAuth {
    Password { password: Secret },
    Key { key_file: PathBuf, key_passphrase: Option<Secret> },
}

#[derive(Debug, Clone, Serialize)]
pub enum HostKeyPin {
    /// OpenSSH-style `SHA256:<base64, no padding>` fingerprint.
    #[serde(rename = "host_key")]
    Fingerprint(String),
    #[serde(rename = "known_hosts")]
    KnownHosts(PathBuf),
    /// No pin: only `check` loads such a config, to print the key to pin.
    #[serde(skip)]
    Unpinned,
}

/// Set by `check`, which must load a config without a host-key pin so it can show the
/// server's key and the line to add; every other command refuses such a config.
static ALLOW_UNPINNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The format's name as written in the config.
pub fn format_name(format: Format) -> &'static str {
    match format {
        Format::Csv => "csv",
        Format::OneRoster11 => "oneroster-1.1",
        Format::OneRoster12 => "oneroster-1.2",
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
            Destination::Local { path } => write!(f, "local folder {}", path.display()),
            Destination::Sftp(s) => write!(f, "sftp://{}@{}:{}/{}", s.user, s.host, s.port, {
                s.remote_dir.trim_start_matches('/')
            }),
        }
    }
}

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
    #[cfg(not(unix))]
    let _ = (path, what);
}

/// Reads, parses and validates the configuration file at `path`.
pub fn load(path: &Path) -> Result<Config> {
    warn_if_readable_by_others(path, "the config file");
    let text = read_config_file(path)?;
    let text = String::from_utf8(text).map_err(|_| {
        ConfigError(format!("config file {} is not UTF-8 text; save it as UTF-8", path.display()))
    })?;
    parse(&text, path)
}

/// A config file is a few KiB; anything larger than this is the wrong file (or a device
/// such as /dev/zero, which would never end), and is refused before it fills memory.
pub const CONFIG_FILE_MAX_BYTES: u64 = 1024 * 1024;

fn read_config_file(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let cannot = |e: &dyn fmt::Display| {
        ConfigError(format!(
            "cannot read config file {}: {e}. Pass the right file with -c PATH, or copy config.example.toml",
            path.display()
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
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: invalid TOML: {message}")
        }
        None => format!("invalid TOML: {message}"),
    }
}

fn validate(raw: RawConfig, path: &Path) -> Result<Config> {
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    let base_dir = if base_dir.as_os_str().is_empty() { PathBuf::from(".") } else { base_dir };
    let resolve = |p: &str| -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() { p.to_path_buf() } else { base_dir.join(p) }
    };

    let mut secret_env_vars = Vec::new();
    let source = validate_source(raw.source, &resolve, &mut secret_env_vars)?;
    if raw.jobs.is_empty() {
        return Err(config_error("job", "no [[job]] is defined; add at least one (see config.example.toml)"));
    }
    let mut names: HashSet<String> = HashSet::new();
    let mut jobs: Vec<Job> = Vec::new();
    for (index, raw_job) in raw.jobs.into_iter().enumerate() {
        let key = format!("job[{index}]");
        let job = validate_job(raw_job, &key, &resolve, &mut secret_env_vars)?;
        // Case-insensitively: job names name lock files, and Windows folders ignore case.
        if !names.insert(job.name.to_ascii_lowercase()) {
            return Err(config_error(
                &format!("{key}.name"),
                format!(
                    "another job is already named {:?} (names are compared ignoring case); names must be unique",
                    job.name
                ),
            ));
        }
        if let Some((other_index, other)) =
            jobs.iter().enumerate().find(|(_, other)| same_archive_place(other, &job))
        {
            return Err(config_error(
                &format!("{key}.archive"),
                format!(
                    "job {:?} delivers {:?} to {}, where job[{other_index}] {:?} already delivers {:?}: one upload would silently replace the other; give one of them another archive name or destination",
                    job.name, job.archive, job.destination, other.name, other.archive
                ),
            ));
        }
        jobs.push(job);
    }

    let path_key = |key: &str, value: Option<String>| -> Result<Option<PathBuf>> {
        value.map(|v| checked_path(key, &v).map(|()| resolve(&v))).transpose()
    };
    Ok(Config {
        path: path.to_path_buf(),
        history_file: path_key("history_file", raw.history_file)?
            .unwrap_or_else(|| base_dir.join("sis-extract-history.jsonl")),
        work_dir: path_key("work_dir", raw.work_dir)?.unwrap_or_else(std::env::temp_dir),
        log_file: path_key("log_file", raw.log_file)?,
        log_keep: raw.log_keep.map_or(14, |n| n.0 as usize),
        on_failure: validate_command(raw.on_failure, "on_failure")?,
        source,
        jobs,
        secret_env_vars,
    })
}

/// A path in the config: not empty (an empty path would mean the config's own folder),
/// no NUL or other control characters (which no file system takes).
fn checked_path(key: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(config_error(key, "is empty; give a path, or leave the key out for the default"));
    }
    if value.chars().any(char::is_control) {
        return Err(config_error(key, format!("contains a control character: {value:?}")));
    }
    Ok(())
}

/// Text that ends up in a network protocol or a file name: no control characters.
fn checked_text(key: &str, value: &str) -> Result<()> {
    if value.chars().any(char::is_control) {
        return Err(config_error(
            key,
            format!("contains a control character (NUL, newline, tab …): {value:?}"),
        ));
    }
    Ok(())
}

/// A duration that must be whole seconds (ODBC counts in seconds; "1500ms" would silently
/// become 1 s, and "500ms" 0 s, which means no limit at all) within `min..=max`.
fn checked_duration(
    key: &str,
    value: Duration,
    whole_seconds: bool,
    min: Duration,
    max: Duration,
    zero_note: &str,
) -> Result<Duration> {
    let shown = |d: Duration| {
        if d.subsec_millis() != 0 { format!("{}ms", d.as_millis()) } else { format!("{}s", d.as_secs()) }
    };
    if whole_seconds && value.subsec_nanos() != 0 {
        return Err(config_error(
            key,
            format!(
                "expected whole seconds such as \"30s\", found {}; this limit is counted in seconds",
                shown(value)
            ),
        ));
    }
    if value < min || value > max {
        let zero = if value.is_zero() { zero_note } else { "" };
        return Err(config_error(
            key,
            format!(
                "expected a duration from {} to {}, found {}{zero}",
                describe_duration(min),
                describe_duration(max),
                shown(value)
            ),
        ));
    }
    Ok(value)
}

/// A duration in the config's own notation (`500ms`, `90s`, `5m`, `2h`), for `config`
/// and for messages.
fn describe_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if d.subsec_millis() != 0 {
        format!("{}ms", d.as_millis())
    } else if secs != 0 && secs % 3600 == 0 {
        format!("{}h", secs / 3600)
    } else if secs != 0 && secs % 60 == 0 {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

/// The longest archive name: the upload is written as `.NAME.partial` first, and that name
/// must fit the 255-byte limit of common file systems too.
pub const ARCHIVE_NAME_MAX_BYTES: usize = 255 - ".".len() - ".partial".len();

/// Whether `a` and `b` can write an archive of the same name to the same place: same
/// local folder, or same SFTP server and folder, and names that match for some date
/// (compared ignoring case, as Windows and many SFTP servers do).
fn same_archive_place(a: &Job, b: &Job) -> bool {
    let same_place = match (&a.destination, &b.destination) {
        (Destination::Local { path: pa }, Destination::Local { path: pb }) => {
            normalize_local(pa) == normalize_local(pb)
        }
        (Destination::Sftp(sa), Destination::Sftp(sb)) => {
            let dir = |s: &SftpDestination| {
                let d = s.remote_dir.trim_end_matches('/');
                let d = d.strip_prefix("./").unwrap_or(d);
                let d = if d.is_empty() && s.remote_dir.starts_with('/') { "/" } else { d };
                let d = if d.is_empty() { "." } else { d };
                // A relative folder is relative to the login folder, which depends on the user.
                if d.starts_with('/') { d.to_string() } else { format!("{}:{d}", s.user) }
            };
            sa.host.eq_ignore_ascii_case(&sb.host) && sa.port == sb.port && dir(sa) == dir(sb)
        }
        _ => false,
    };
    same_place && archive_templates_collide(&a.archive, &b.archive)
}

/// A local folder as a comparable path: canonical when it exists, else with `.` parts
/// dropped.
fn normalize_local(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| {
        path.components().filter(|c| !matches!(c, std::path::Component::CurDir)).collect()
    })
}

/// Whether two archive name templates can render to the same name (ignoring case).
fn archive_templates_collide(a: &str, b: &str) -> bool {
    let (a, b) = (a.to_lowercase(), b.to_lowercase());
    let sample = "20260101";
    a.replace("{date}", sample) == b.replace("{date}", sample)
        || template_matches(&a, &b.replace("{date}", sample))
        || template_matches(&b, &a.replace("{date}", sample))
}

/// Whether `name` is what `template` renders for some date (`{date}` = 8 digits).
fn template_matches(template: &str, name: &str) -> bool {
    match template.split_once("{date}") {
        None => template == name,
        Some((head, tail)) => name.strip_prefix(head).is_some_and(|rest| {
            rest.len() >= 8
                && rest.is_char_boundary(8)
                && rest[..8].bytes().all(|b| b.is_ascii_digit())
                && template_matches(tail, &rest[8..])
        }),
    }
}

fn validate_source(
    raw: RawSource,
    resolve: &dyn Fn(&str) -> PathBuf,
    secret_env_vars: &mut Vec<String>,
) -> Result<SourceConfig> {
    let cs = raw.connection_string.trim().to_string();
    checked_text("source.connection_string", &cs)?;
    if let Some(user) = &raw.user {
        checked_text("source.user", user)?;
    }
    if cs.is_empty() {
        return Err(config_error(
            "source.connection_string",
            "is empty; give the ODBC connection string, e.g. \"Driver={ODBC Driver 18 for SQL Server};Server=host,1433;Database=campus\"",
        ));
    }
    for (key, _) in connection_string_pairs(&cs) {
        let upper = key.to_ascii_uppercase();
        if upper == "PWD" || upper == "PASSWORD" {
            return Err(config_error(
                "source.connection_string",
                format!(
                    "contains {key}=; remove it and set source.password = {{ env = \"NAME\" }} or {{ file = \"path\" }} so the password is never stored inline"
                ),
            ));
        }
        if (upper == "UID" || upper == "USER") && raw.user.is_some() {
            return Err(config_error(
                "source.connection_string",
                format!("contains {key}= and source.user is also set; keep only source.user"),
            ));
        }
    }
    let password =
        raw.password.map(|r| load_secret(r, "source.password", resolve, secret_env_vars)).transpose()?;
    let hour = Duration::from_secs(3600);
    Ok(SourceConfig {
        connection_string: cs,
        user: raw.user,
        password,
        login_timeout: checked_duration(
            "source.login_timeout",
            raw.login_timeout.map_or(Duration::from_secs(30), |d| d.0),
            true,
            Duration::from_secs(1),
            hour,
            " (ODBC drivers read 0 as \"wait for ever\")",
        )?,
        // Zero is allowed here: it is the documented "no limit".
        query_timeout: checked_duration(
            "source.query_timeout",
            raw.query_timeout.map_or(Duration::from_secs(20 * 60), |d| d.0),
            true,
            Duration::ZERO,
            24 * hour,
            "",
        )?,
        // 16 MiB measured faster than 64 MiB (3.6 s vs 5.8 s for 1M rows from PostgreSQL) as
        // well as smaller (40 vs 89 MiB peak): big, mostly empty text buffers cost page
        // faults and cache misses, and the driver already fetches ahead on its own.
        memory_budget: raw.memory_budget.map_or(16 * 1024 * 1024, |b| b.0),
        max_text_length: raw.max_text_length.map_or(4000, |n| n.0 as usize),
    })
}

/// Splits `key=value;key={va;lue}` into pairs, honouring ODBC's `{...}` quoting.
pub fn connection_string_pairs(cs: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut chars = cs.chars().peekable();
    loop {
        let mut key = String::new();
        for c in chars.by_ref() {
            if c == '=' {
                break;
            }
            key.push(c);
        }
        let mut value = String::new();
        if chars.peek() == Some(&'{') {
            chars.next();
            while let Some(c) = chars.next() {
                if c == '}' {
                    if chars.peek() == Some(&'}') {
                        chars.next();
                        value.push('}');
                        continue;
                    }
                    break;
                }
                value.push(c);
            }
            // Skip to the separator.
            for c in chars.by_ref() {
                if c == ';' {
                    break;
                }
            }
        } else {
            for c in chars.by_ref() {
                if c == ';' {
                    break;
                }
                value.push(c);
            }
        }
        let key = key.trim().to_string();
        if !key.is_empty() {
            pairs.push((key, value));
        }
        if chars.peek().is_none() {
            break;
        }
    }
    pairs
}

/// A secret file holds one password; anything larger than this is the wrong file (or a
/// device such as /dev/zero, which would never end).
const SECRET_FILE_MAX_BYTES: u64 = 64 * 1024;

fn read_secret_file(path: &Path) -> std::io::Result<String> {
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
fn refuse_fifo_or_socket(path: &Path) -> std::io::Result<()> {
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

fn load_secret(
    r: SecretRef,
    key: &str,
    resolve: &dyn Fn(&str) -> PathBuf,
    secret_env_vars: &mut Vec<String>,
) -> Result<Secret> {
    let value = match r {
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
            std::env::var(&name).map_err(|_| {
                config_error(
                    key,
                    format!("environment variable {name} is not set (or not UTF-8); set it for the account that runs sis-extract"),
                )
            })?
        }
        SecretRef::File(file) => {
            checked_path(key, &file)?;
            let file = resolve(&file);
            warn_if_readable_by_others(&file, &format!("the secret file of {key}"));
            let text = read_secret_file(&file)
                .map_err(|e| config_error(key, format!("cannot read secret file {}: {e}", file.display())))?;
            // A trailing newline from `echo pw > file` is not part of the secret.
            text.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    if value.is_empty() {
        return Err(config_error(key, "the secret is empty"));
    }
    Ok(Secret::new(value))
}

/// Job names become lock and work-folder names; this keeps those within file-name limits.
const JOB_NAME_MAX_CHARS: usize = 100;

fn validate_job(
    raw: RawJob,
    key: &str,
    resolve: &dyn Fn(&str) -> PathBuf,
    secret_env_vars: &mut Vec<String>,
) -> Result<Job> {
    let name = raw.name.trim().to_string();
    if name.is_empty()
        || name.len() > JOB_NAME_MAX_CHARS
        || name.chars().all(|c| c == '.')
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    {
        return Err(config_error(
            &format!("{key}.name"),
            format!(
                "expected up to {JOB_NAME_MAX_CHARS} letters, digits, '-', '_' or '.' (not only dots), found {:?}",
                raw.name
            ),
        ));
    }
    let archive = raw.archive.trim().to_string();
    let archive_key = format!("{key}.archive");
    if let Some(c) = archive.chars().find(|c| c.is_control() || *c == '/' || *c == '\\') {
        return Err(config_error(
            &archive_key,
            format!(
                "contains {}: an archive name is a plain file name, without folders or control characters; found {:?}",
                match c {
                    '/' | '\\' => format!("{c:?} (a folder separator)"),
                    '\0' => "a NUL byte".to_string(),
                    _ => format!("the control character {c:?}"),
                },
                raw.archive
            ),
        ));
    }
    let without_placeholder = archive.replace("{date}", "");
    if !archive.to_ascii_lowercase().ends_with(".zip")
        || without_placeholder.contains(['{', '}'])
        || without_placeholder.len() <= 4
    {
        return Err(config_error(
            &archive_key,
            format!(
                "expected a file name ending in .zip, optionally with {{date}}, e.g. \"oneroster-{{date}}.zip\"; found {:?}",
                raw.archive
            ),
        ));
    }
    // {date} renders as 8 digits.
    let rendered_len = without_placeholder.len() + 8 * archive.matches("{date}").count();
    if rendered_len > ARCHIVE_NAME_MAX_BYTES {
        return Err(config_error(
            &archive_key,
            format!(
                "is {rendered_len} bytes long once {{date}} is filled in; the limit is {ARCHIVE_NAME_MAX_BYTES} (file systems allow 255, and the upload's temporary name .NAME.partial adds 9); choose a shorter name"
            ),
        ));
    }
    let timezone = match raw.timezone.as_deref() {
        None => None,
        Some(tz) => Some(tz.parse::<chrono_tz::Tz>().map_err(|_| {
            config_error(
                &format!("{key}.timezone"),
                format!("expected an IANA time zone such as \"America/Chicago\", found {tz:?}"),
            )
        })?),
    };
    let grade_map = raw.grade_map.unwrap_or_default();
    for (name, code) in &grade_map {
        if !crate::output::oneroster::CEDS_GRADES.contains(&code.as_str()) {
            return Err(config_error(
                &format!("{key}.grade_map.{name}"),
                format!(
                    "expected a CEDS grade code ({}), found {code:?}",
                    crate::output::oneroster::CEDS_GRADES.join(", ")
                ),
            ));
        }
    }
    if raw.format == Format::Csv && (!grade_map.is_empty() || raw.source_system.is_some()) {
        return Err(config_error(
            &format!("{key}.format"),
            "grade_map and source_system only apply to the OneRoster formats".to_string(),
        ));
    }
    if let Some(expression) = &raw.schedule {
        let cron = crate::schedule::parse(expression)
            .map_err(|e| config_error(&format!("{key}.schedule"), e.to_string()))?;
        crate::schedule::check_fires(&cron, expression, timezone)
            .map_err(|e| config_error(&format!("{key}.schedule"), e.to_string()))?;
    }
    checked_path(&format!("{key}.queries"), &raw.queries)?;
    if let Some(system) = &raw.source_system {
        checked_text(&format!("{key}.source_system"), system)?;
    }
    let on_failure = validate_command(raw.on_failure, &format!("{key}.on_failure"))?;
    let destination =
        validate_destination(raw.destination, &format!("{key}.destination"), resolve, secret_env_vars)?;
    Ok(Job {
        name,
        queries: resolve(&raw.queries),
        format: raw.format,
        archive,
        timezone,
        bom: raw.bom.unwrap_or(false),
        line_ending: raw.line_ending.unwrap_or(LineEnding::Crlf),
        grade_map,
        source_system: raw.source_system.unwrap_or_else(|| "Infinite Campus".to_string()),
        schedule: raw.schedule.map(|s| s.trim().to_string()),
        catch_up: raw.catch_up.unwrap_or(false),
        on_failure,
        guards: Guards {
            max_row_drop: raw.guards.as_ref().and_then(|g| g.max_row_drop).unwrap_or(RowDrop::Percent(10.0)),
            files: raw.guards.and_then(|g| g.files).unwrap_or_default(),
        },
        destination,
    })
}

/// A command as `["program", "arg", …]`: not empty, no empty program name.
fn validate_command(raw: Option<Vec<String>>, key: &str) -> Result<Vec<String>> {
    match raw {
        Some(command) if command.first().is_none_or(|p| p.trim().is_empty()) => Err(config_error(
            key,
            "expected a command as a list, e.g. [\"/usr/local/bin/notify\", \"--to\", \"it@district.example\"]",
        )),
        // A NUL byte cannot be passed to a program: the hook would fail to start, at the
        // worst moment.
        Some(command) if command.iter().any(|a| a.contains('\0')) => {
            Err(config_error(key, "contains a NUL byte, which cannot be passed to a program"))
        }
        Some(command) => Ok(command),
        None => Ok(Vec::new()),
    }
}

fn validate_destination(
    raw: RawDestination,
    key: &str,
    resolve: &dyn Fn(&str) -> PathBuf,
    secret_env_vars: &mut Vec<String>,
) -> Result<Destination> {
    let sftp_only: [(&str, bool); 11] = [
        ("host", raw.host.is_some()),
        ("port", raw.port.is_some()),
        ("user", raw.user.is_some()),
        ("password", raw.password.is_some()),
        ("key_file", raw.key_file.is_some()),
        ("key_passphrase", raw.key_passphrase.is_some()),
        ("host_key", raw.host_key.is_some()),
        ("known_hosts", raw.known_hosts.is_some()),
        ("remote_dir", raw.remote_dir.is_some()),
        ("timeout", raw.timeout.is_some()),
        ("attempts", raw.attempts.is_some()),
    ];
    match raw.kind {
        DestinationKind::Local => {
            if let Some((k, _)) = sftp_only.iter().find(|(_, present)| *present) {
                return Err(config_error(
                    &format!("{key}.{k}"),
                    "only applies to kind = \"sftp\"; this destination is kind = \"local\"",
                ));
            }
            let path = raw.path.ok_or_else(|| {
                config_error(&format!("{key}.path"), "missing; a local destination needs path = \"folder\"")
            })?;
            checked_path(&format!("{key}.path"), &path)?;
            Ok(Destination::Local { path: resolve(&path) })
        }
        DestinationKind::Sftp => {
            if raw.path.is_some() {
                return Err(config_error(
                    &format!("{key}.path"),
                    "only applies to kind = \"local\"; for SFTP use remote_dir",
                ));
            }
            let host = raw.host.filter(|h| !h.trim().is_empty()).ok_or_else(|| {
                config_error(&format!("{key}.host"), "missing; give the vendor's SFTP host name")
            })?;
            let host_trimmed = host.trim();
            if host_trimmed.chars().any(|c| c.is_whitespace() || c.is_control() || c == '/' || c == '@') {
                return Err(config_error(
                    &format!("{key}.host"),
                    format!(
                        "expected a host name or IP address only (no sftp://, user@, folder or spaces; the user, port and remote_dir have keys of their own), found {host:?}"
                    ),
                ));
            }
            let user = raw.user.filter(|u| !u.is_empty()).ok_or_else(|| {
                config_error(&format!("{key}.user"), "missing; give the SFTP user name the vendor issued")
            })?;
            checked_text(&format!("{key}.user"), &user)?;
            let remote_dir = match raw.remote_dir {
                None => ".".to_string(),
                Some(dir) if dir.trim().is_empty() => {
                    return Err(config_error(
                        &format!("{key}.remote_dir"),
                        "is empty; use remote_dir = \".\" for the login folder (the default when the key is left out), or name the folder",
                    ));
                }
                Some(dir) => {
                    checked_text(&format!("{key}.remote_dir"), &dir)?;
                    dir
                }
            };
            let timeout = checked_duration(
                &format!("{key}.timeout"),
                raw.timeout.map_or(Duration::from_secs(30), |d| d.0),
                false,
                Duration::from_secs(1),
                Duration::from_secs(3600),
                " (every network operation would time out at once)",
            )?;
            let auth = match (raw.password, raw.key_file) {
                (Some(_), Some(_)) => {
                    return Err(config_error(
                        key,
                        "both password and key_file are set; keep the one the vendor gave you",
                    ));
                }
                (None, None) => {
                    return Err(config_error(
                        key,
                        "no credentials: set password = { env = \"NAME\" } or key_file = \"path\"",
                    ));
                }
                (Some(password), None) => {
                    if raw.key_passphrase.is_some() {
                        return Err(config_error(
                            &format!("{key}.key_passphrase"),
                            "only applies together with key_file",
                        ));
                    }
                    SftpAuth::Password {
                        password: load_secret(
                            password,
                            &format!("{key}.password"),
                            resolve,
                            secret_env_vars,
                        )?,
                    }
                }
                (None, Some(key_file)) => SftpAuth::Key {
                    key_file: {
                        checked_path(&format!("{key}.key_file"), &key_file)?;
                        let path = resolve(&key_file);
                        if let Err(e) = refuse_fifo_or_socket(&path).and_then(|()| std::fs::File::open(&path))
                        {
                            return Err(config_error(
                                &format!("{key}.key_file"),
                                format!("cannot read the private key {}: {e}", path.display()),
                            ));
                        }
                        warn_if_readable_by_others(&path, &format!("the private key of {key}"));
                        path
                    },
                    key_passphrase: raw
                        .key_passphrase
                        .map(|p| load_secret(p, &format!("{key}.key_passphrase"), resolve, secret_env_vars))
                        .transpose()?,
                },
            };
            let host_key = match (raw.host_key, raw.known_hosts) {
                (Some(_), Some(_)) => {
                    return Err(config_error(
                        key,
                        "both host_key and known_hosts are set; keep one",
                    ));
                }
                (None, None) if ALLOW_UNPINNED.load(std::sync::atomic::Ordering::Relaxed) => HostKeyPin::Unpinned,
                (None, None) => {
                    return Err(config_error(
                        &format!("{key}.host_key"),
                        "missing: the server's host key must be pinned. Ask the vendor for its SHA256 fingerprint, or read it with `ssh-keyscan -p PORT HOST | ssh-keygen -lf -`, and add host_key = \"SHA256:...\" (or known_hosts = \"path\")",
                    ));
                }
                (Some(fp), None) => HostKeyPin::Fingerprint(parse_fingerprint(&fp).ok_or_else(|| {
                    config_error(
                        &format!("{key}.host_key"),
                        format!("expected an OpenSSH fingerprint like \"SHA256:Ke9c3Ry...\" (43 base64 characters after SHA256:), found {fp:?}"),
                    )
                })?),
                (None, Some(file)) => {
                    checked_path(&format!("{key}.known_hosts"), &file)?;
                    HostKeyPin::KnownHosts(resolve(&file))
                }
            };
            Ok(Destination::Sftp(SftpDestination {
                host: host.trim().to_string(),
                port: raw.port.map_or(22, |p| p.0 as u16),
                user,
                auth,
                host_key,
                remote_dir,
                timeout,
                attempts: raw.attempts.map_or(3, |a| a.0 as u32),
            }))
        }
    }
}

/// Normalises `SHA256:abc…` (padding optional) to OpenSSH's form without padding.
fn parse_fingerprint(text: &str) -> Option<String> {
    let b64 = text.trim().strip_prefix("SHA256:")?.trim_end_matches('=');
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD.decode(b64).ok()?;
    (bytes.len() == 32).then(|| format!("SHA256:{b64}"))
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

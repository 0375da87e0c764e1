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
    let secs = d.as_secs();
    let text = if d.subsec_millis() != 0 {
        format!("{}ms", d.as_millis())
    } else if secs != 0 && secs % 3600 == 0 {
        format!("{}h", secs / 3600)
    } else if secs != 0 && secs % 60 == 0 {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    };
    s.serialize_str(&text)
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
            eprintln!(
                "sis-extract: warning: {what} {} is readable by other users (mode {:o}); run `chmod 600 {}`",
                path.display(),
                metadata.permissions().mode() & 0o777,
                path.display()
            );
        }
    }
    #[cfg(not(unix))]
    let _ = (path, what);
}

/// Reads, parses and validates the configuration file at `path`.
pub fn load(path: &Path) -> Result<Config> {
    warn_if_readable_by_others(path, "the config file");
    let text = std::fs::read(path).map_err(|e| {
        ConfigError(format!(
            "cannot read config file {}: {e}. Pass the right file with -c PATH, or copy config.example.toml",
            path.display()
        ))
    })?;
    let text = String::from_utf8(text).map_err(|_| {
        ConfigError(format!("config file {} is not UTF-8 text; save it as UTF-8", path.display()))
    })?;
    parse(&text, path)
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

    let source = validate_source(raw.source, &resolve)?;
    if raw.jobs.is_empty() {
        return Err(config_error("job", "no [[job]] is defined; add at least one (see config.example.toml)"));
    }
    let mut names = HashSet::new();
    let mut jobs = Vec::new();
    for (index, raw_job) in raw.jobs.into_iter().enumerate() {
        let key = format!("job[{index}]");
        let job = validate_job(raw_job, &key, &resolve)?;
        if !names.insert(job.name.clone()) {
            return Err(config_error(
                &format!("{key}.name"),
                format!("another job is already named {:?}; names must be unique", job.name),
            ));
        }
        jobs.push(job);
    }

    Ok(Config {
        path: path.to_path_buf(),
        history_file: raw
            .history_file
            .as_deref()
            .map(resolve)
            .unwrap_or_else(|| base_dir.join("sis-extract-history.jsonl")),
        work_dir: raw.work_dir.as_deref().map(resolve).unwrap_or_else(std::env::temp_dir),
        log_file: raw.log_file.as_deref().map(resolve),
        log_keep: raw.log_keep.map_or(14, |n| n.0 as usize),
        on_failure: validate_command(raw.on_failure, "on_failure")?,
        source,
        jobs,
    })
}

fn validate_source(raw: RawSource, resolve: &dyn Fn(&str) -> PathBuf) -> Result<SourceConfig> {
    let cs = raw.connection_string.trim().to_string();
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
    let password = raw.password.map(|r| load_secret(r, "source.password", resolve)).transpose()?;
    Ok(SourceConfig {
        connection_string: cs,
        user: raw.user,
        password,
        login_timeout: raw.login_timeout.map_or(Duration::from_secs(30), |d| d.0),
        query_timeout: raw.query_timeout.map_or(Duration::from_secs(20 * 60), |d| d.0),
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

fn load_secret(r: SecretRef, key: &str, resolve: &dyn Fn(&str) -> PathBuf) -> Result<Secret> {
    let value = match r {
        SecretRef::Env(name) => std::env::var(&name).map_err(|_| {
            config_error(
                key,
                format!("environment variable {name} is not set (or not UTF-8); set it for the account that runs sis-extract"),
            )
        })?,
        SecretRef::File(file) => {
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

fn validate_job(raw: RawJob, key: &str, resolve: &dyn Fn(&str) -> PathBuf) -> Result<Job> {
    let name = raw.name.trim().to_string();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    {
        return Err(config_error(
            &format!("{key}.name"),
            format!("expected letters, digits, '-', '_' or '.', found {:?}", raw.name),
        ));
    }
    let archive = raw.archive.trim().to_string();
    let without_placeholder = archive.replace("{date}", "");
    if !archive.to_ascii_lowercase().ends_with(".zip")
        || without_placeholder.contains(['/', '\\', '{', '}'])
        || without_placeholder.len() <= 4
    {
        return Err(config_error(
            &format!("{key}.archive"),
            format!(
                "expected a file name ending in .zip, optionally with {{date}}, e.g. \"oneroster-{{date}}.zip\"; found {:?}",
                raw.archive
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
        crate::schedule::parse(expression)
            .map_err(|e| config_error(&format!("{key}.schedule"), e.to_string()))?;
    }
    let on_failure = validate_command(raw.on_failure, &format!("{key}.on_failure"))?;
    let destination = validate_destination(raw.destination, &format!("{key}.destination"), resolve)?;
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
        Some(command) => Ok(command),
        None => Ok(Vec::new()),
    }
}

fn validate_destination(
    raw: RawDestination,
    key: &str,
    resolve: &dyn Fn(&str) -> PathBuf,
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
            let user = raw.user.filter(|u| !u.is_empty()).ok_or_else(|| {
                config_error(&format!("{key}.user"), "missing; give the SFTP user name the vendor issued")
            })?;
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
                        password: load_secret(password, &format!("{key}.password"), resolve)?,
                    }
                }
                (None, Some(key_file)) => SftpAuth::Key {
                    key_file: {
                        let path = resolve(&key_file);
                        if let Err(e) = std::fs::File::open(&path) {
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
                        .map(|p| load_secret(p, &format!("{key}.key_passphrase"), resolve))
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
                (None, Some(file)) => HostKeyPin::KnownHosts(resolve(&file)),
            };
            Ok(Destination::Sftp(SftpDestination {
                host: host.trim().to_string(),
                port: raw.port.map_or(22, |p| p.0 as u16),
                user,
                auth,
                host_key,
                remote_dir: raw.remote_dir.unwrap_or_else(|| ".".to_string()),
                timeout: raw.timeout.map_or(Duration::from_secs(30), |d| d.0),
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

//! The TOML shapes exactly as a district admin writes them (unknown keys are errors), and
//! the value types with their own messages: bounded integers, durations, byte sizes,
//! secret references.

use super::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) source: RawSource,
    pub(super) history_file: Option<String>,
    pub(super) work_dir: Option<String>,
    pub(super) log_file: Option<String>,
    pub(super) log_keep: Option<BoundedInt<1, 3650>>,
    pub(super) on_failure: Option<Vec<String>>,
    #[serde(rename = "job", default)]
    pub(super) jobs: Vec<RawJob>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSource {
    pub(super) connection_string: String,
    pub(super) user: Option<String>,
    pub(super) password: Option<SecretRef>,
    pub(super) login_timeout: Option<DurationValue>,
    pub(super) query_timeout: Option<DurationValue>,
    pub(super) memory_budget: Option<ByteSize>,
    pub(super) max_text_length: Option<BoundedInt<1, 1_048_576>>,
    pub(super) lock_timeout: Option<DurationValue>,
    pub(super) retries: Option<BoundedInt<0, 5>>,
    pub(super) retry_delay: Option<DurationValue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawJob {
    pub(super) name: String,
    pub(super) queries: String,
    pub(super) format: Format,
    pub(super) archive: String,
    pub(super) timezone: Option<String>,
    pub(super) bom: Option<bool>,
    pub(super) line_ending: Option<LineEnding>,
    pub(super) grade_map: Option<std::collections::BTreeMap<String, String>>,
    pub(super) enrollment_end_date: Option<EnrollmentEndDate>,
    pub(super) source_system: Option<String>,
    pub(super) people: Option<People>,
    pub(super) receiver: Option<crate::output::receivers::Receiver>,
    pub(super) schedule: Option<String>,
    pub(super) catch_up: Option<bool>,
    pub(super) on_failure: Option<Vec<String>>,
    pub(super) guards: Option<RawGuards>,
    pub(super) consistency: Option<Consistency>,
    pub(super) destination: RawDestination,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGuards {
    pub(super) max_row_drop: Option<RowDrop>,
    pub(super) files: Option<std::collections::BTreeMap<String, RowDrop>>,
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
pub(super) struct RawDestination {
    pub(super) kind: DestinationKind,
    pub(super) path: Option<String>,
    pub(super) host: Option<String>,
    pub(super) port: Option<BoundedInt<1, 65535>>,
    pub(super) user: Option<String>,
    pub(super) password: Option<SecretRef>,
    pub(super) key_file: Option<String>,
    pub(super) key_passphrase: Option<SecretRef>,
    pub(super) host_key: Option<String>,
    pub(super) known_hosts: Option<String>,
    pub(super) remote_dir: Option<String>,
    pub(super) timeout: Option<DurationValue>,
    pub(super) attempts: Option<BoundedInt<1, 10>>,
    pub(super) legacy_algorithms: Option<Vec<String>>,
    pub(super) file_mode: Option<String>,
    pub(super) send: Option<Payload>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(super) enum DestinationKind {
    Local,
    Sftp,
}

/// Where a secret comes from: `{ env = "NAME" }`, `{ file = "path" }` or `{ credential =
/// "NAME" }` (the system's credential store: src/credential.rs). Inline text is refused,
/// so that config files can be shared in a ticket without leaking anything.
pub(super) enum SecretRef {
    Env(String),
    File(String),
    Credential(String),
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = toml::Value::deserialize(deserializer)?;
        let hint = "use { env = \"NAME\" }, { file = \"path\" } or { credential = \"NAME\" }";
        match value {
            toml::Value::String(_) => Err(de::Error::custom(format!(
                "secrets may not be written inline in the config file: {hint}"
            ))),
            toml::Value::Table(table) => {
                let mut entries = table.into_iter();
                match (entries.next(), entries.next()) {
                    (Some((key, toml::Value::String(v))), None) if key == "env" => Ok(SecretRef::Env(v)),
                    (Some((key, toml::Value::String(v))), None) if key == "file" => Ok(SecretRef::File(v)),
                    (Some((key, toml::Value::String(v))), None) if key == "credential" => {
                        Ok(SecretRef::Credential(v))
                    }
                    _ => Err(de::Error::custom(format!(
                        "expected exactly one of env, file or credential: {hint}"
                    ))),
                }
            }
            other => Err(de::Error::custom(format!("expected {hint}, found {}", describe(&other)))),
        }
    }
}

/// An integer that must lie in `MIN..=MAX`, with an error message that says so.
#[derive(Clone, Copy)]
pub(super) struct BoundedInt<const MIN: i64, const MAX: i64>(pub(super) i64);

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
pub(super) struct DurationValue(pub(super) Duration);

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

pub(super) fn parse_duration(text: &str) -> Option<Duration> {
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
pub(super) struct ByteSize(pub(super) u64);

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

pub(super) fn parse_byte_size(text: &str) -> Option<u64> {
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
pub(super) fn describe(value: &toml::Value) -> String {
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

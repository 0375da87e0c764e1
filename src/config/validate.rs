//! The one-time validation of the raw TOML into [`Config`]: every value checked, every
//! path resolved, every secret loaded, so no other module re-checks anything. Every error
//! names the key path.

use super::*;

pub(super) fn validate(raw: RawConfig, path: &Path) -> Result<Config> {
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
                    "job {:?} delivers {} to {}, where job[{other_index}] {:?} already delivers {}: one upload would silently replace the other; give one of them another {} or destination",
                    job.name,
                    delivered(&job),
                    job.destination,
                    other.name,
                    delivered(other),
                    if job.destination.send() == Payload::Files {
                        "destination folder"
                    } else {
                        "archive name"
                    }
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
pub(super) fn checked_path(key: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(config_error(key, "is empty; give a path, or leave the key out for the default"));
    }
    if value.chars().any(char::is_control) {
        return Err(config_error(key, format!("contains a control character: {value:?}")));
    }
    Ok(())
}

/// Text that ends up in a network protocol or a file name: no control characters.
pub(super) fn checked_text(key: &str, value: &str) -> Result<()> {
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
pub(super) fn checked_duration(
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
pub(super) fn describe_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if d.subsec_millis() != 0 {
        format!("{}ms", d.as_millis())
    } else if secs != 0 && secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else if secs != 0 && secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

/// What a job delivers, for messages: its archive name, or its files.
fn delivered(job: &Job) -> String {
    match job.destination.send() {
        Payload::Zip => format!("{:?}", job.archive),
        Payload::Files => "its files (send = \"files\")".to_string(),
    }
}

/// The longest archive name: the upload is written as `.NAME.partial` first, and that name
/// must fit the 255-byte limit of common file systems too.
pub const ARCHIVE_NAME_MAX_BYTES: usize = 255 - ".".len() - ".partial".len();

/// Whether `a` and `b` can write an archive of the same name to the same place: same
/// local folder, or same SFTP server and folder, and names that match for some date
/// (compared ignoring case, as Windows and many SFTP servers do).
pub(super) fn same_archive_place(a: &Job, b: &Job) -> bool {
    let same_place = match (&a.destination, &b.destination) {
        (Destination::Local { path: pa, .. }, Destination::Local { path: pb, .. }) => {
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
    // Two jobs sending loose files to one place would replace each other's files of the
    // same name (say, two Clever jobs' students.csv).
    same_place
        && match (a.destination.send(), b.destination.send()) {
            (Payload::Zip, Payload::Zip) => archive_templates_collide(&a.archive, &b.archive),
            (Payload::Files, Payload::Files) => true,
            _ => false,
        }
}

/// A local folder as a comparable path: canonical when it exists, else with `.` parts
/// dropped.
pub(super) fn normalize_local(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| {
        path.components().filter(|c| !matches!(c, std::path::Component::CurDir)).collect()
    })
}

/// Whether two archive name templates can render to the same name (ignoring case).
pub(super) fn archive_templates_collide(a: &str, b: &str) -> bool {
    let (a, b) = (a.to_lowercase(), b.to_lowercase());
    let sample = "20260101";
    a.replace("{date}", sample) == b.replace("{date}", sample)
        || template_matches(&a, &b.replace("{date}", sample))
        || template_matches(&b, &a.replace("{date}", sample))
}

/// Whether `name` is what `template` renders for some date (`{date}` = 8 digits).
pub(super) fn template_matches(template: &str, name: &str) -> bool {
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

pub(super) fn validate_source(
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
        // Long enough for the SIS's own short transactions to finish, short enough that a
        // nightly extract stuck behind a long one gives up and is retried.
        lock_timeout: checked_duration(
            "source.lock_timeout",
            raw.lock_timeout.map_or(Duration::from_secs(30), |d| d.0),
            false,
            Duration::ZERO,
            hour,
            "",
        )?,
        retries: raw.retries.map_or(2, |n| n.0 as u32),
        retry_delay: checked_duration(
            "source.retry_delay",
            raw.retry_delay.map_or(Duration::from_secs(30), |d| d.0),
            false,
            Duration::from_secs(1),
            hour,
            "",
        )?,
    })
}

/// Job names become lock and work-folder names; this keeps those within file-name limits.
pub(super) const JOB_NAME_MAX_CHARS: usize = 100;

pub(super) fn validate_job(
    raw: RawJob,
    key: &str,
    resolve: &dyn Fn(&str) -> PathBuf,
    secret_env_vars: &mut Vec<String>,
) -> Result<Job> {
    let name = job_name(&raw.name, key)?;
    let archive = archive_name(&raw.archive, key)?;
    let timezone = match raw.timezone.as_deref() {
        None => None,
        Some(tz) => Some(tz.parse::<chrono_tz::Tz>().map_err(|_| {
            config_error(
                &format!("{key}.timezone"),
                format!("expected an IANA time zone such as \"America/Chicago\", found {tz:?}"),
            )
        })?),
    };
    let grade_map = grade_map(raw.grade_map, key)?;
    if raw.format == Format::Csv
        && (!grade_map.is_empty() || raw.source_system.is_some() || raw.enrollment_end_date.is_some())
    {
        return Err(config_error(
            &format!("{key}.format"),
            "grade_map, source_system and enrollment_end_date only apply to the OneRoster formats"
                .to_string(),
        ));
    }
    if raw.format == Format::Clever && raw.source_system.is_some() {
        return Err(config_error(
            &format!("{key}.source_system"),
            "only applies to the OneRoster formats (it names the system in manifest.csv; Clever's files have no manifest)",
        ));
    }
    if let Some(expression) = &raw.schedule {
        let cron = crate::cron::parse(expression)
            .map_err(|e| config_error(&format!("{key}.schedule"), e.to_string()))?;
        crate::cron::check_fires(&cron, expression, timezone)
            .map_err(|e| config_error(&format!("{key}.schedule"), e.to_string()))?;
    }
    let queries = queries_setting(&raw.queries, &format!("{key}.queries"), resolve)?;
    if let Some(system) = &raw.source_system {
        checked_text(&format!("{key}.source_system"), system)?;
    }
    let on_failure = validate_command(raw.on_failure, &format!("{key}.on_failure"))?;
    let destination =
        validate_destination(raw.destination, &format!("{key}.destination"), resolve, secret_env_vars)?;
    Ok(Job {
        name,
        queries,
        format: raw.format,
        archive,
        timezone,
        bom: raw.bom.unwrap_or(false),
        line_ending: raw.line_ending.unwrap_or(LineEnding::Crlf),
        grade_map,
        enrollment_end_date: raw.enrollment_end_date.unwrap_or_default(),
        source_system: raw.source_system.unwrap_or_else(|| "Infinite Campus".to_string()),
        people: raw.people.unwrap_or_default(),
        receiver: raw.receiver.unwrap_or_default(),
        schedule: raw.schedule.map(|s| s.trim().to_string()),
        catch_up: raw.catch_up.unwrap_or(false),
        on_failure,
        guards: Guards {
            max_row_drop: raw.guards.as_ref().and_then(|g| g.max_row_drop).unwrap_or(RowDrop::Percent(10.0)),
            files: raw.guards.and_then(|g| g.files).unwrap_or_default(),
        },
        consistency: raw.consistency.unwrap_or_default(),
        destination,
    })
}

/// `queries`: a folder of .sql files (relative to the config file), or a set built into
/// the binary, `builtin:NAME`, kept as it is written (`query::load_dir` reads it).
fn queries_setting(raw: &str, key: &str, resolve: &dyn Fn(&str) -> PathBuf) -> Result<PathBuf> {
    checked_path(key, raw)?;
    let Some(name) = raw.trim().strip_prefix(crate::query::BUILTIN_PREFIX) else {
        return Ok(resolve(raw));
    };
    if !crate::query::is_builtin_set(name) {
        return Err(config_error(
            key,
            format!(
                "there is no built-in query set {raw:?}; the built-in sets are {}, or give a folder of .sql files (a folder really named builtin:… as \"./builtin:…\")",
                crate::query::builtin_sets().join(", ")
            ),
        ));
    }
    Ok(PathBuf::from(format!("{}{name}", crate::query::BUILTIN_PREFIX)))
}

/// A job's name: it names the lock, the work folder and history lines.
fn job_name(raw: &str, key: &str) -> Result<String> {
    let name = raw.trim().to_string();
    if name.is_empty()
        || name.len() > JOB_NAME_MAX_CHARS
        || name.chars().all(|c| c == '.')
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    {
        return Err(config_error(
            &format!("{key}.name"),
            format!(
                "expected up to {JOB_NAME_MAX_CHARS} letters, digits, '-', '_' or '.' (not only dots), found {:?}",
                raw
            ),
        ));
    }
    Ok(name)
}

/// The archive's file name, `{date}` allowed: a plain name ending in .zip that fits a
/// file system once dated and given the upload's temporary prefix and suffix.
fn archive_name(raw: &str, key: &str) -> Result<String> {
    let archive = raw.trim().to_string();
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
                raw
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
                raw
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
    Ok(archive)
}

/// `grade_map`: every value a CEDS grade code.
fn grade_map(
    raw: Option<std::collections::BTreeMap<String, String>>,
    key: &str,
) -> Result<std::collections::BTreeMap<String, String>> {
    let grade_map = raw.unwrap_or_default();
    for (name, code) in &grade_map {
        if !crate::output::oneroster::spec::CEDS_GRADES.contains(&code.as_str()) {
            return Err(config_error(
                &format!("{key}.grade_map.{name}"),
                format!(
                    "expected a CEDS grade code ({}), found {code:?}",
                    crate::output::oneroster::spec::CEDS_GRADES.join(", ")
                ),
            ));
        }
    }
    Ok(grade_map)
}

/// A command as `["program", "arg", …]`: not empty, no empty program name.
pub(super) fn validate_command(raw: Option<Vec<String>>, key: &str) -> Result<Vec<String>> {
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

pub(super) fn validate_destination(
    raw: RawDestination,
    key: &str,
    resolve: &dyn Fn(&str) -> PathBuf,
    secret_env_vars: &mut Vec<String>,
) -> Result<Destination> {
    let sftp_only: [(&str, bool); 13] = [
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
        ("legacy_algorithms", raw.legacy_algorithms.is_some()),
        ("file_mode", raw.file_mode.is_some()),
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
            Ok(Destination::Local { path: resolve(&path), send: raw.send.unwrap_or_default() })
        }
        DestinationKind::Sftp => validate_sftp(raw, key, resolve, secret_env_vars),
    }
}

/// An SFTP destination, every key checked.
fn validate_sftp(
    raw: RawDestination,
    key: &str,
    resolve: &dyn Fn(&str) -> PathBuf,
    secret_env_vars: &mut Vec<String>,
) -> Result<Destination> {
    if raw.path.is_some() {
        return Err(config_error(
            &format!("{key}.path"),
            "only applies to kind = \"local\"; for SFTP use remote_dir",
        ));
    }
    let host = raw
        .host
        .filter(|h| !h.trim().is_empty())
        .ok_or_else(|| config_error(&format!("{key}.host"), "missing; give the vendor's SFTP host name"))?;
    let host_trimmed = host.trim();
    // A vendor profile's `FILL IN` host is accepted (and warned about when the file is
    // read), so `config`, `check` of the database and `run --dry-run` work before the
    // vendor has sent its details; a real run cannot connect to it.
    let placeholder = crate::profiles::is_placeholder(host_trimmed);
    if !placeholder
        && host_trimmed.chars().any(|c| c.is_whitespace() || c.is_control() || c == '/' || c == '@')
    {
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
    let auth = sftp_auth(raw.password, raw.key_file, raw.key_passphrase, key, resolve, secret_env_vars)?;
    let host_key = host_key_pin(raw.host_key, raw.known_hosts, key, resolve, placeholder)?;
    let legacy_algorithms = legacy_algorithms(raw.legacy_algorithms, key)?;
    let file_mode = file_mode(raw.file_mode, key)?;
    Ok(Destination::Sftp(SftpDestination {
        host: host.trim().to_string(),
        port: raw.port.map_or(22, |p| p.0 as u16),
        user,
        auth,
        host_key,
        remote_dir,
        timeout,
        attempts: raw.attempts.map_or(3, |a| a.0 as u32),
        legacy_algorithms,
        file_mode,
        send: raw.send.unwrap_or_default(),
    }))
}

/// The credential: a password or a private key (with its passphrase), never both.
fn sftp_auth(
    password: Option<SecretRef>,
    key_file: Option<String>,
    key_passphrase: Option<SecretRef>,
    key: &str,
    resolve: &dyn Fn(&str) -> PathBuf,
    secret_env_vars: &mut Vec<String>,
) -> Result<SftpAuth> {
    Ok(match (password, key_file) {
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
            if key_passphrase.is_some() {
                return Err(config_error(
                    &format!("{key}.key_passphrase"),
                    "only applies together with key_file",
                ));
            }
            SftpAuth::Password {
                password: load_secret(password, &format!("{key}.password"), resolve, secret_env_vars)?,
            }
        }
        (None, Some(key_file)) => SftpAuth::Key {
            key_file: {
                checked_path(&format!("{key}.key_file"), &key_file)?;
                let path = resolve(&key_file);
                if let Err(e) = refuse_fifo_or_socket(&path).and_then(|()| std::fs::File::open(&path)) {
                    return Err(config_error(
                        &format!("{key}.key_file"),
                        format!("cannot read the private key {}: {e}", path.display()),
                    ));
                }
                warn_if_readable_by_others(&path, &format!("the private key of {key}"));
                path
            },
            key_passphrase: key_passphrase
                .map(|p| load_secret(p, &format!("{key}.key_passphrase"), resolve, secret_env_vars))
                .transpose()?,
        },
    })
}

/// The host-key pin: `host_key` (a fingerprint, optionally typed) or `known_hosts`.
fn host_key_pin(
    host_key: Option<String>,
    known_hosts: Option<String>,
    key: &str,
    resolve: &dyn Fn(&str) -> PathBuf,
    placeholder_host: bool,
) -> Result<HostKeyPin> {
    Ok(match (host_key, known_hosts) {
        (Some(_), Some(_)) => {
            return Err(config_error(key, "both host_key and known_hosts are set; keep one"));
        }
        // No key to pin before the host is known; nothing ever connects unpinned.
        (None, None) if placeholder_host || ALLOW_UNPINNED.load(std::sync::atomic::Ordering::Relaxed) => {
            HostKeyPin::Unpinned
        }
        (None, None) => {
            return Err(config_error(
                &format!("{key}.host_key"),
                "missing: the server's host key must be pinned. Run `sis-extract check`: it shows the server's key and the exact host_key line to add, to confirm with the vendor (or read it with `ssh-keyscan -p PORT HOST | ssh-keygen -lf -`, or use known_hosts = \"path\")",
            ));
        }
        (Some(fp), None) => HostKeyPin::Fingerprint(
            parse_pin(&fp)
                .map_err(|why| config_error(&format!("{key}.host_key"), format!("{why}, found {fp:?}")))?,
        ),
        (None, Some(file)) => {
            checked_path(&format!("{key}.known_hosts"), &file)?;
            HostKeyPin::KnownHosts(resolve(&file))
        }
    })
}

/// `legacy_algorithms`: known names only, each once.
fn legacy_algorithms(names: Option<Vec<String>>, key: &str) -> Result<Vec<LegacyAlgorithm>> {
    let mut legacy_algorithms = Vec::new();
    for name in names.unwrap_or_default() {
        let Some(algorithm) = LegacyAlgorithm::ALL.into_iter().find(|a| a.name() == name) else {
            let known: Vec<_> = LegacyAlgorithm::ALL.iter().map(|a| format!("{:?}", a.name())).collect();
            return Err(config_error(
                &format!("{key}.legacy_algorithms"),
                format!(
                    "unknown name {name:?}; expected any of {} (see docs/sftp.md for what each enables and its risk)",
                    known.join(", ")
                ),
            ));
        };
        if !legacy_algorithms.contains(&algorithm) {
            legacy_algorithms.push(algorithm);
        }
    }
    Ok(legacy_algorithms)
}

/// `file_mode`: octal, the owner reads and writes, nobody else writes.
fn file_mode(text: Option<String>, key: &str) -> Result<u32> {
    Ok(match text {
        None => DEFAULT_FILE_MODE,
        Some(text) => u32::from_str_radix(text.trim().trim_start_matches("0o"), 8)
            .ok()
            .filter(|mode| *mode <= 0o777 && mode & 0o600 == 0o600 && mode & 0o002 == 0)
            .ok_or_else(|| {
                config_error(
                    &format!("{key}.file_mode"),
                    format!(
                        "expected an octal mode like \"0640\" that lets the owner read and write and others not write (e.g. \"0600\", \"0640\", \"0644\"), found {text:?}"
                    ),
                )
            })?,
    })
}

/// A `host_key` pin: a fingerprint, optionally after the key's type
/// (`ssh-ed25519 SHA256:…`, as `ssh-keygen -l` and `check` show it), normalised.
pub(super) fn parse_pin(text: &str) -> Result<String, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let expected = "expected an OpenSSH fingerprint like \"SHA256:Ke9c3Ry...\" (43 base64 characters after SHA256:), optionally after the key's type (\"ssh-ed25519 SHA256:...\")";
    match words.as_slice() {
        [fingerprint] => parse_fingerprint(fingerprint).ok_or_else(|| expected.to_string()),
        [key_type, fingerprint] => {
            if !PINNABLE_KEY_TYPES.contains(key_type) {
                return Err(format!(
                    "unknown key type {key_type:?} (expected one of {})",
                    PINNABLE_KEY_TYPES.join(", ")
                ));
            }
            let fingerprint = parse_fingerprint(fingerprint).ok_or_else(|| expected.to_string())?;
            Ok(format!("{key_type} {fingerprint}"))
        }
        _ => Err(expected.to_string()),
    }
}

/// Normalises `SHA256:abc…` (padding optional) to OpenSSH's form without padding.
pub(super) fn parse_fingerprint(text: &str) -> Option<String> {
    let b64 = text.trim().strip_prefix("SHA256:")?.trim_end_matches('=');
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD.decode(b64).ok()?;
    (bytes.len() == 32).then(|| format!("SHA256:{b64}"))
}

//! Validation of a OneRoster CSV set (ours before it may leave the machine, or anyone's
//! with `sis-extract validate`): manifest, exact headers, required fields, enumerations,
//! formats, unique `sourcedId`s and referential integrity.
//!
//! Two streaming passes over the files: the first collects every file's ids, the second
//! checks each row. Memory holds the id sets, not the rows: a record (a row, with its
//! quoted line breaks) longer than [`MAX_RECORD_BYTES`] stops validation with an error,
//! and problem messages are cut to [`MAX_MESSAGE_BYTES`], so one giant field cannot fill
//! memory. Set files that are symbolic links or not regular files are refused, never
//! followed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::oneroster::spec::is_id_char_1_2 as is_id_char;
use super::oneroster::{self, BOOLEAN_FIELDS, CEDS_GRADES, DATE_FIELDS, FileSpec, Version};

mod set_files;

use set_files::*;
pub(crate) use set_files::{fatal_error, open_set_file};

/// Problems kept in memory for the report; beyond this only the count grows.
const MAX_KEPT: usize = 100_000;

/// The longest CSV record (header or row, including quoted line breaks) validate reads.
/// OneRoster rows are a few hundred bytes; a longer one is not a roster, or a quote that
/// is never closed.
pub const MAX_RECORD_BYTES: u64 = 1024 * 1024;

/// Problem messages quote values; a longer message keeps its start and end.
pub const MAX_MESSAGE_BYTES: usize = 512;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    /// Line in the file: 1 is the header, 2 the first data row; 0 for the whole file.
    pub row: u64,
    pub column: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.row, self.column.is_empty()) {
            (0, true) => write!(f, "{}: {}", self.file, self.message),
            (0, false) => write!(f, "{}, {}: {}", self.file, self.column, self.message),
            (row, true) => write!(f, "{} row {row}: {}", self.file, self.message),
            (row, false) => write!(f, "{} row {row}, {}: {}", self.file, self.column, self.message),
        }
    }
}

#[derive(Debug)]
pub struct Report {
    pub version: Version,
    /// Files checked, with their data rows.
    pub files: Vec<(String, u64)>,
    pub problems: Vec<Problem>,
    pub total_problems: u64,
}

impl Report {
    pub fn is_valid(&self) -> bool {
        self.total_problems == 0
    }

    /// Writes every kept problem to `path`, one per line.
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = self.text();
        let mut file = crate::fsutil::create_private(path)?;
        std::io::Write::write_all(&mut file, text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))
    }

    /// Every kept problem, one per line, under a heading.
    pub fn text(&self) -> String {
        let mut text =
            format!("OneRoster {} validation: {} problem(s)\n", self.version.number(), self.total_problems);
        for problem in &self.problems {
            text.push_str(&problem.to_string());
            text.push('\n');
        }
        if self.total_problems as usize > self.problems.len() {
            text.push_str(&format!(
                "… and {} more not listed\n",
                self.total_problems as usize - self.problems.len()
            ));
        }
        text
    }
}

struct Collector {
    problems: Vec<Problem>,
    total: u64,
}

impl Collector {
    fn add(&mut self, file: &str, row: u64, column: &str, message: String) {
        self.total += 1;
        if self.problems.len() < MAX_KEPT {
            let message = shorten(message, MAX_MESSAGE_BYTES);
            self.problems.push(Problem { file: file.to_string(), row, column: column.to_string(), message });
        }
    }
}

/// `text` cut to about `max` bytes: its start and its end, with what was left out counted.
fn shorten(text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let half = max / 2;
    let mut head = half;
    while !text.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = text.len() - half;
    while !text.is_char_boundary(tail) {
        tail += 1;
    }
    format!("{} …({} bytes left out)… {}", &text[..head], tail - head, &text[tail..])
}

/// Allowed values of an enumerated field.
pub fn allowed_values(version: Version, file: &str, field: &str) -> Option<&'static [&'static str]> {
    Some(match (file, field, version) {
        ("orgs", "type", _) => &["department", "school", "district", "local", "state", "national"],
        ("academicSessions", "type", _) => &["gradingPeriod", "semester", "schoolYear", "term"],
        ("classes", "classType", _) => &["homeroom", "scheduled"],
        ("users", "role", Version::V1_1) => {
            &["administrator", "aide", "guardian", "parent", "proctor", "relative", "student", "teacher"]
        }
        // Unchanged in 1.2 (1EdTech's 1.2 rostering OpenAPI keeps these four).
        ("enrollments", "role", _) => &["administrator", "proctor", "student", "teacher"],
        ("roles", "role", Version::V1_2) => &[
            "aide",
            "counselor",
            "districtAdministrator",
            "guardian",
            "parent",
            "principal",
            "proctor",
            "relative",
            "siteAdministrator",
            "student",
            "systemAdministrator",
            "teacher",
        ],
        ("roles", "roleType", Version::V1_2) => &["primary", "secondary"],
        ("demographics", "sex", Version::V1_1) => &["male", "female"],
        ("demographics", "sex", Version::V1_2) => &["male", "female", "other", "unspecified"],
        _ => return None,
    })
}

/// The file a reference field points into.
pub fn reference_target(file: &str, field: &str) -> Option<&'static str> {
    Some(match (file, field) {
        ("orgs", "parentSourcedId") => "orgs",
        ("academicSessions", "parentSourcedId") => "academicSessions",
        ("courses", "schoolYearSourcedId") => "academicSessions",
        ("courses", "orgSourcedId") => "orgs",
        ("classes", "courseSourcedId") => "courses",
        ("classes", "schoolSourcedId") => "orgs",
        ("classes", "termSourcedIds") => "academicSessions",
        ("users", "orgSourcedIds") | ("users", "primaryOrgSourcedId") => "orgs",
        ("users", "agentSourcedIds") => "users",
        ("enrollments", "classSourcedId") => "classes",
        ("enrollments", "schoolSourcedId") => "orgs",
        ("enrollments", "userSourcedId") => "users",
        ("roles", "userSourcedId") => "users",
        ("roles", "orgSourcedId") => "orgs",
        ("demographics", "sourcedId") => "users",
        _ => return None,
    })
}

/// Validates the OneRoster set in `dir` (CSV files at its root).
///
/// About 90 lines: one streaming pass per file, then the cross-file references, in the
/// order a report lists them; the per-row work is in [`check_value`].
pub fn validate_dir(dir: &Path) -> Result<Report> {
    check_set_folder(dir)?;
    let mut out = Collector { problems: Vec::new(), total: 0 };
    let (version, modes) = read_manifest(dir, &mut out)?;

    // Which files are there, and is that what the manifest says?
    let mut present: Vec<&'static FileSpec> = Vec::new();
    for spec in oneroster::files(version) {
        let exists = set_file_exists(dir, spec.name)?;
        let mode = modes.get(spec.name).map(String::as_str);
        match (exists, mode) {
            (true, Some("bulk" | "delta")) => present.push(spec),
            (true, Some("absent") | None) => {
                out.add(
                    "manifest.csv",
                    0,
                    "",
                    format!(
                        "{}.csv is in the set but the manifest does not list it as bulk or delta",
                        spec.name
                    ),
                );
                present.push(spec);
            }
            (false, Some("bulk" | "delta")) => out.add(
                "manifest.csv",
                0,
                "",
                format!(
                    "the manifest lists file.{} as {} but {}.csv is missing",
                    spec.name,
                    mode.unwrap_or_default(),
                    spec.name
                ),
            ),
            (false, _) if spec.required_file => out.add(
                &format!("{}.csv", spec.name),
                0,
                "",
                "missing: a rostering set needs this file".to_string(),
            ),
            _ => {}
        }
    }

    // Pass 1: every file's ids (and duplicates).
    let mut ids: HashMap<&'static str, HashSet<String>> = HashMap::new();
    for spec in &present {
        let file = format!("{}.csv", spec.name);
        let mut set = HashSet::new();
        let mut reader = open(dir, spec.name)?;
        let sourced_id = match reader.headers() {
            Ok(h) => h.iter().position(|c| c == "sourcedId"),
            Err(e) => match fatal(&e) {
                Some(error) => return Err(error),
                None => None,
            },
        };
        if let Some(column) = sourced_id {
            for (index, record) in reader.records().enumerate() {
                let record = match record {
                    Ok(record) => record,
                    Err(e) => match fatal(&e) {
                        Some(error) => return Err(error),
                        None => continue,
                    },
                };
                let id = record.get(column).unwrap_or_default();
                if !id.is_empty() && !set.insert(id.to_string()) {
                    out.add(
                        &file,
                        index as u64 + 2,
                        "sourcedId",
                        format!("{id:?} appears more than once in the file"),
                    );
                }
            }
        }
        ids.insert(spec.name, set);
    }

    // Pass 2: every row.
    let mut counts = Vec::new();
    for spec in &present {
        let mode = modes.get(spec.name).cloned().unwrap_or_else(|| "bulk".into());
        let rows = check_file(dir, spec, version, &mode, &ids, &mut out)?;
        counts.push((format!("{}.csv", spec.name), rows));
    }
    Ok(Report { version, files: counts, problems: out.problems, total_problems: out.total })
}

/// Reads manifest.csv: the version and each file's mode.
fn read_manifest(dir: &Path, out: &mut Collector) -> Result<(Version, BTreeMap<String, String>)> {
    let mut modes = BTreeMap::new();
    if !set_file_exists(dir, "manifest")? {
        out.add("manifest.csv", 0, "", "missing: every OneRoster set starts with manifest.csv".to_string());
        return Ok((Version::V1_1, modes));
    }
    let mut reader = open(dir, "manifest")?;
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|c| strip_bom(c).to_string()).collect(),
        Err(e) => match fatal(&e) {
            Some(error) => return Err(error),
            None => Vec::new(),
        },
    };
    if headers != ["propertyName", "value"] {
        out.add(
            "manifest.csv",
            1,
            "",
            format!("the header must be propertyName,value; found {}", headers.join(",")),
        );
    }
    let mut properties = BTreeMap::new();
    for (index, record) in reader.records().enumerate() {
        match record {
            Ok(r) => {
                properties.insert(
                    r.get(0).unwrap_or_default().to_string(),
                    (index as u64 + 2, r.get(1).unwrap_or_default().to_string()),
                );
            }
            Err(e) => match fatal(&e) {
                Some(error) => return Err(error),
                None => out.add("manifest.csv", index as u64 + 2, "", format!("unreadable row: {e}")),
            },
        }
    }
    let version = match properties.get("oneroster.version").map(|(_, v)| v.as_str()) {
        Some("1.1") => Version::V1_1,
        Some("1.2") => Version::V1_2,
        other => {
            out.add("manifest.csv", 0, "oneroster.version", format!("expected 1.1 or 1.2, found {other:?}"));
            Version::V1_1
        }
    };
    match properties.get("manifest.version") {
        Some((_, v)) if v == "1.0" => {}
        Some((row, v)) => {
            out.add("manifest.csv", *row, "manifest.version", format!("expected 1.0, found {v:?}"))
        }
        None => out.add("manifest.csv", 0, "manifest.version", "missing".to_string()),
    }
    for file in oneroster::manifest_files(version) {
        match properties.get(&format!("file.{file}")) {
            Some((_, mode)) if ["bulk", "delta", "absent"].contains(&mode.as_str()) => {
                modes.insert(file.to_string(), mode.clone());
            }
            Some((row, mode)) => out.add(
                "manifest.csv",
                *row,
                &format!("file.{file}"),
                format!("expected bulk, delta or absent, found {mode:?}"),
            ),
            None => out.add(
                "manifest.csv",
                0,
                &format!("file.{file}"),
                "missing; every file must be listed (absent when not sent)".to_string(),
            ),
        }
    }
    for key in ["source.systemName", "source.systemCode"] {
        if !properties.contains_key(key) {
            out.add("manifest.csv", 0, key, "missing".to_string());
        }
    }
    Ok((version, modes))
}

/// Checks every row of one file; returns its data-row count.
fn check_file(
    dir: &Path,
    spec: &FileSpec,
    version: Version,
    mode: &str,
    ids: &HashMap<&'static str, HashSet<String>>,
    out: &mut Collector,
) -> Result<u64> {
    let file = format!("{}.csv", spec.name);
    let mut reader = open(dir, spec.name)?;
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => {
            h.iter().enumerate().map(|(i, c)| if i == 0 { strip_bom(c) } else { c }.to_string()).collect()
        }
        Err(e) => {
            if let Some(error) = fatal(&e) {
                return Err(error);
            }
            out.add(&file, 1, "", format!("unreadable header: {e}"));
            return Ok(0);
        }
    };
    // A 1.2 set may follow the 1.2 text (users.csv with resourceSourcedIds) or 1.2.1
    // (without): both say oneroster.version 1.2.
    let spec = match oneroster::spec::older_layout(version, spec.name) {
        Some(older)
            if headers.len() >= older.headers.len() && headers[..older.headers.len()] == *older.headers =>
        {
            older
        }
        _ => spec,
    };
    if let Some(problem) = header_problem(spec, version, &headers) {
        out.add(&file, 1, "", problem);
        return Ok(0);
    }
    let mut rows = 0;
    let mut records = reader.records().peekable();
    if records.peek().is_none() {
        out.add(
            &file,
            0,
            "",
            "has no data rows; OneRoster does not permit empty files, and a receiver may read one as “delete everyone”".to_string(),
        );
    }
    for (index, record) in records.enumerate() {
        let row = index as u64 + 2;
        rows += 1;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                if let Some(error) = fatal(&e) {
                    return Err(error);
                }
                out.add(&file, row, "", format!("unreadable row: {e}"));
                continue;
            }
        };
        if record.len() != headers.len() {
            out.add(&file, row, "", format!("has {} fields, the header has {}", record.len(), headers.len()));
            continue;
        }
        for (field, value) in spec.headers.iter().zip(record.iter()) {
            check_value(&file, spec, version, mode, row, field, value, ids, out);
        }
    }
    Ok(rows)
}

/// What is wrong with a file's header row, if anything. It must be `spec`'s columns in
/// order, optionally followed by extension columns: both the 1.1 and the 1.2 binding allow
/// `metadata.*` columns to the right of the defined ones, each named once.
fn header_problem(spec: &FileSpec, version: Version, headers: &[String]) -> Option<String> {
    let defined = spec.headers.len().min(headers.len());
    let is_extension = |c: &str| c.len() > "metadata.".len() && c.starts_with("metadata.");
    let mut seen = HashSet::new();
    let repeated: Vec<&str> =
        headers.iter().filter(|c| !seen.insert(c.as_str())).map(String::as_str).collect();
    if headers[..defined] == *spec.headers
        && headers[defined..].iter().all(|c| is_extension(c.as_str()))
        && repeated.is_empty()
    {
        return None;
    }
    let missing: Vec<&str> =
        spec.headers.iter().filter(|h| !headers.iter().any(|c| c == *h)).copied().collect();
    let unknown: Vec<&str> = headers
        .iter()
        .filter(|c| !spec.headers.contains(&c.as_str()) && !is_extension(c.as_str()))
        .map(String::as_str)
        .collect();
    let last_defined = headers.iter().rposition(|c| spec.headers.contains(&c.as_str()));
    let misplaced: Vec<&str> = headers
        .iter()
        .enumerate()
        .filter(|(i, c)| is_extension(c.as_str()) && last_defined.is_some_and(|last| *i < last))
        .map(|(_, c)| c.as_str())
        .collect();
    let list = |label: &str, names: &[&str]| {
        if names.is_empty() { String::new() } else { format!("; {label}: {}", names.join(", ")) }
    };
    Some(format!(
        "the header must be exactly {} (OneRoster {}), optionally followed by extension columns named metadata.*{}{}{}{}",
        spec.headers.join(","),
        version.number(),
        list("missing", &missing),
        list("unknown", &unknown),
        list("extension columns before a defined column (they go to the right of all of them)", &misplaced),
        list("named more than once", &repeated),
    ))
}

/// One value against every rule of its field.
///
/// One function of about 100 lines on purpose: the rules are a flat list read top to
/// bottom (empty, id, date, boolean, grade, enumeration, list), each a few lines, and a
/// reviewer compares them with the OneRoster tables in that order.
#[allow(clippy::too_many_arguments)]
fn check_value(
    file: &str,
    spec: &FileSpec,
    version: Version,
    mode: &str,
    row: u64,
    field: &str,
    value: &str,
    ids: &HashMap<&'static str, HashSet<String>>,
    out: &mut Collector,
) {
    match field {
        "status" => {
            match (mode, value) {
                ("bulk", "") | ("delta", "active" | "tobedeleted") => {}
                ("bulk", v) => {
                    out.add(file, row, field, format!("must be empty in a bulk file, found {v:?}"))
                }
                (_, v) => out.add(
                    file,
                    row,
                    field,
                    format!("must be active or tobedeleted in a delta file, found {v:?}"),
                ),
            }
            return;
        }
        "dateLastModified" => {
            let is_datetime = chrono::DateTime::parse_from_rfc3339(value).is_ok() && value.ends_with('Z');
            match (mode, value.is_empty()) {
                ("bulk", true) => {}
                ("bulk", false) => {
                    out.add(file, row, field, format!("must be empty in a bulk file, found {value:?}"))
                }
                (_, _) if !is_datetime => out.add(
                    file,
                    row,
                    field,
                    format!(
                        "expected an ISO 8601 UTC date-time such as 2026-11-23T18:30:00.000Z, found {value:?}"
                    ),
                ),
                _ => {}
            }
            return;
        }
        _ => {}
    }
    if field == "sourcedId" && version == Version::V1_2 && !value.chars().all(is_id_char) {
        let bad: String = value
            .chars()
            .filter(|c| !is_id_char(*c))
            .collect::<std::collections::BTreeSet<char>>()
            .into_iter()
            .collect();
        out.add(
            file,
            row,
            field,
            format!(
                "{value:?} has characters the OneRoster 1.2 binding does not allow in an id ({bad:?}); ids use only 0-9 a-z A-Z . - _ / @"
            ),
        );
    }
    if value.is_empty() {
        if spec.required.contains(&field) {
            out.add(file, row, field, "required, but empty".to_string());
        }
        return;
    }
    let parts: Vec<&str> = if oneroster::is_list(field) { value.split(',').collect() } else { vec![value] };
    for part in &parts {
        let part = *part;
        if part.trim().is_empty() {
            out.add(file, row, field, format!("empty entry in the list {value:?}"));
            continue;
        }
        if DATE_FIELDS.contains(&field) && oneroster::normalize_date(part).as_deref() != Some(part) {
            out.add(file, row, field, format!("expected a date as YYYY-MM-DD, found {part:?}"));
        } else if BOOLEAN_FIELDS.contains(&field) && part != "true" && part != "false" {
            out.add(file, row, field, format!("expected true or false, found {part:?}"));
        } else if field == "grades" && !CEDS_GRADES.contains(&part) {
            out.add(
                file,
                row,
                field,
                format!(
                    "{part:?} is not a CEDS grade code ({}); map it with the job's grade_map",
                    CEDS_GRADES.join(", ")
                ),
            );
        } else if field == "schoolYear" && !(part.len() == 4 && part.bytes().all(|b| b.is_ascii_digit())) {
            out.add(
                file,
                row,
                field,
                format!("expected the four-digit year the school year ends in, found {part:?}"),
            );
        } else if field == "userIds" && !(part.starts_with('{') && part.ends_with('}') && part.contains(':'))
        {
            out.add(file, row, field, format!("expected entries like {{type:value}}, found {part:?}"));
        }
        if let Some(allowed) = allowed_values(version, spec.name, field)
            && !allowed.contains(&part)
        {
            out.add(file, row, field, format!("{part:?} is not one of: {}", allowed.join(", ")));
        }
        if let Some(target) = reference_target(spec.name, field) {
            match ids.get(target) {
                Some(set) if set.contains(part) => {}
                Some(_) => out.add(file, row, field, format!("{part:?} is not a sourcedId in {target}.csv")),
                None => out.add(file, row, field, format!("refers to {target}.csv, which is not in the set")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_limited(text: &[u8]) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut RecordLimit::new(text, "t.csv".into()), &mut out)?;
        Ok(out)
    }

    #[test]
    fn records_are_limited_not_files() {
        let row = format!("{},x\r\n", "a".repeat(1000));
        // Many short records: fine, however long the file.
        assert!(read_limited(row.repeat(5000).as_bytes()).is_ok());
        // One long unquoted record.
        let long = format!("id\n{}\n", "a".repeat(MAX_RECORD_BYTES as usize + 1));
        let error = read_limited(long.as_bytes()).unwrap_err().to_string();
        assert!(error.contains("t.csv: the record starting on line 2 is longer than 1 MiB"), "{error}");
        // Line breaks inside quotes do not end a record; "" does not close the quotes.
        let quoted = format!("id\n\"{}\"\n", "a\"\"\n".repeat(MAX_RECORD_BYTES as usize / 4 + 1));
        let error = read_limited(quoted.as_bytes()).unwrap_err().to_string();
        assert!(error.contains("starting on line 2"), "{error}");
        // A quote inside an unquoted field is a plain character (as the csv crate reads it):
        // it opens nothing, so the records after it are short ones.
        let stray = format!("id,name\n1,O\"Brien\n{}", row.repeat(2000));
        assert!(read_limited(stray.as_bytes()).is_ok());
    }

    #[test]
    fn long_messages_keep_their_start_and_end() {
        let message = format!("{:?} is not one of: a, b", "x".repeat(10_000));
        let short = shorten(message, MAX_MESSAGE_BYTES);
        assert!(short.len() < MAX_MESSAGE_BYTES + 40, "{}", short.len());
        assert!(short.starts_with("\"xxx") && short.ends_with("is not one of: a, b"), "{short}");
    }

    #[test]
    fn problems_read_well() {
        let p = Problem { file: "users.csv".into(), row: 7, column: "role".into(), message: "bad".into() };
        assert_eq!(p.to_string(), "users.csv row 7, role: bad");
    }
}

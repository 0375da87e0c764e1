//! Applies a receiver's published rules (the table in `receivers.rs`) to a finished set,
//! on top of the OneRoster binding's validation: one streaming pass per file, findings
//! grouped by rule with a count and the first rows, so that an admin fixes the data in
//! the SIS instead of reading thousands of lines.
//!
//! OneRoster sets and plain CSV sets are both checked: a plain set for Clever in Clever's
//! own format (`sections.csv` with `Section_id` and `Teacher_id`, `enrollments.csv` with
//! `Section_id`) gets Clever's section rules too.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use super::oneroster::Version;
use super::receivers::{self, Applies, CLEVER_MAX_ID, Receiver, Rule};
use super::validate;

/// Rows of a finding kept in memory (and in the report file); screens and JSON show fewer.
pub const KEPT_EXAMPLES: usize = 100;

/// What kind of set is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetKind {
    OneRoster(Version),
    Csv,
}

/// One row that breaks a rule.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Example {
    pub file: String,
    /// Line in the file where the row starts (1 is the header).
    pub line: u64,
    pub column: String,
    pub value: String,
}

/// Every row that breaks one rule: how many, and the first [`KEPT_EXAMPLES`].
#[derive(Debug, Clone)]
pub struct RuleFindings {
    pub rule: &'static Rule,
    pub count: u64,
    pub examples: Vec<Example>,
}

/// The findings of one receiver's rules on one set, in table order; rules with no
/// finding are left out.
#[derive(Debug, Clone)]
pub struct ReceiverReport {
    pub receiver: Receiver,
    /// The ids of the rules that were checked (a rule that cannot apply to this kind of set
    /// is not).
    pub checked: Vec<&'static str>,
    pub findings: Vec<RuleFindings>,
}

impl ReceiverReport {
    pub fn count(&self, severity: receivers::Severity) -> u64 {
        self.findings.iter().filter(|f| f.rule.severity == severity).map(|f| f.count).sum()
    }
}

struct Collector {
    active: Vec<&'static Rule>,
    found: BTreeMap<usize, RuleFindings>,
}

impl Collector {
    fn on(&self, id: &str) -> bool {
        self.active.iter().any(|r| r.id == id)
    }

    fn add(&mut self, id: &str, file: &str, line: u64, column: &str, value: &str) {
        let Some(index) = receivers::RULES.iter().position(|r| r.id == id) else { return };
        if !self.on(id) {
            return;
        }
        let entry = self.found.entry(index).or_insert_with(|| RuleFindings {
            rule: &receivers::RULES[index],
            count: 0,
            examples: Vec::new(),
        });
        entry.count += 1;
        if entry.examples.len() < KEPT_EXAMPLES {
            entry.examples.push(Example {
                file: file.to_string(),
                line,
                column: column.to_string(),
                value: shorten(value),
            });
        }
    }
}

fn shorten(value: &str) -> String {
    const MAX: usize = 200;
    if value.len() <= MAX {
        return value.to_string();
    }
    let mut cut = MAX;
    while !value.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} bytes)", &value[..cut], value.len())
}

/// A class (section) as Clever's rules see it.
#[derive(Default)]
struct Section {
    file: String,
    line: u64,
    students: u64,
    primary_teachers: u64,
}

/// What one pass over the files gathers for the rules that span files.
#[derive(Default)]
struct Gathered {
    /// 1.2: users with a student or teacher role (from roles.csv, read before users.csv).
    students_and_teachers: HashSet<String>,
    /// Sections in file order, and enrolment counts by section id.
    sections: Vec<(String, Section)>,
    counts: HashMap<String, (u64, u64)>,
}

/// Checks the set in `dir` against `receiver`'s rules.
pub fn check(dir: &Path, receiver: Receiver, kind: SetKind) -> Result<ReceiverReport> {
    let active: Vec<&'static Rule> = receiver
        .rules()
        .filter(|rule| {
            matches!(
                (rule.applies, kind),
                (Applies::Any, _)
                    | (Applies::OneRoster, SetKind::OneRoster(_))
                    | (Applies::Csv, SetKind::Csv)
            )
        })
        // A 1.2 set's ids are held to the binding's characters by the validation itself.
        .filter(|rule| !(rule.id == "id-characters" && kind == SetKind::OneRoster(Version::V1_2)))
        .collect();
    let checked = active.iter().map(|r| r.id).collect();
    let mut out = Collector { active, found: BTreeMap::new() };
    if !out.active.is_empty() {
        let mut gathered = Gathered::default();
        // Name order: roles.csv comes before users.csv, classes.csv before enrollments.csv.
        for name in set_files(dir)? {
            check_file(dir, &name, kind, &mut gathered, &mut out)?;
        }
        for (id, section) in &gathered.sections {
            let (students, primary) = gathered.counts.get(id).copied().unwrap_or_default();
            let (students, primary) = (students + section.students, primary + section.primary_teachers);
            if students == 0 {
                out.add("clever-section-without-students", &section.file, section.line, "", id);
            }
            if primary != 1 {
                let value = format!("{id} ({primary} primary teachers)");
                out.add("clever-primary-teacher", &section.file, section.line, "", &value);
            }
        }
    }
    Ok(ReceiverReport { receiver, checked, findings: out.found.into_values().collect() })
}

/// The set's CSV files, by name.
fn set_files(dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".csv") {
            names.push(stem.to_string());
        }
    }
    names.sort();
    Ok(names)
}

/// One pass over one file, every active rule at once.
fn check_file(
    dir: &Path,
    name: &str,
    kind: SetKind,
    gathered: &mut Gathered,
    out: &mut Collector,
) -> Result<()> {
    let file = format!("{name}.csv");
    let mut reader = validate::open_set_file(dir, name)?;
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|c| c.trim_start_matches('\u{feff}').to_string()).collect(),
        // An unreadable header is the validation's to report (or the query's).
        Err(e) => return validate::fatal_error(&e).map_or(Ok(()), Err),
    };
    let col = |field: &str| headers.iter().position(|h| h == field);
    let oneroster = matches!(kind, SetKind::OneRoster(_));
    let version = match kind {
        SetKind::OneRoster(v) => Some(v),
        SetKind::Csv => None,
    };
    let sourced_id = if oneroster && name != "manifest" { col("sourcedId") } else { None };
    // Clever's own format names its columns differently from OneRoster's.
    let section_id = if oneroster { None } else { col("Section_id") };
    let mut rows = 0u64;
    // The line each row starts on: the next line after the previous row and the line
    // breaks inside its values (the csv crate's own count is off with CRLF endings).
    let mut next_line = 2u64;
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(e) => match validate::fatal_error(&e) {
                Some(error) => return Err(error),
                None => continue,
            },
        };
        rows += 1;
        let line = next_line;
        next_line += 1 + record.iter().map(|v| v.bytes().filter(|b| *b == b'\n').count() as u64).sum::<u64>();
        let get = |field: &str| col(field).and_then(|i| record.get(i)).unwrap_or_default();
        if out.on("no-line-breaks") {
            for (header, value) in headers.iter().zip(record.iter()) {
                if value.contains(['\n', '\r']) {
                    out.add("no-line-breaks", &file, line, header, value);
                }
            }
        }
        if let Some(id) = sourced_id.and_then(|i| record.get(i)).filter(|id| !id.is_empty()) {
            if !id.chars().all(receivers::is_id_char_1_2) {
                out.add("id-characters", &file, line, "sourcedId", id);
            }
            if id.chars().count() > CLEVER_MAX_ID {
                out.add("clever-id-length", &file, line, "sourcedId", id);
            }
        }
        match (version, name) {
            (Some(_), "manifest") if get("propertyName").starts_with("file.") && get("value") == "delta" => {
                out.add("sds-bulk-only", &file, line, "value", get("propertyName"));
            }
            (Some(_), "roles") => {
                let role = get("role");
                if matches!(role, "student" | "teacher") {
                    gathered.students_and_teachers.insert(get("userSourcedId").to_string());
                }
                if matches!(role, "guardian" | "parent" | "siteAdministrator") {
                    out.add("sds-roles", &file, line, "role", role);
                }
            }
            (Some(version), "users") => {
                let username = get("username");
                if username.contains(char::is_whitespace) {
                    out.add("username-spaces", &file, line, "username", username);
                }
                let role = get("role");
                if version == Version::V1_1 && matches!(role, "guardian" | "parent") {
                    out.add("sds-roles", &file, line, "role", role);
                }
                let student_or_teacher = match version {
                    Version::V1_1 => matches!(role, "student" | "teacher"),
                    Version::V1_2 => gathered.students_and_teachers.contains(get("sourcedId")),
                };
                if student_or_teacher && get("email").trim().is_empty() {
                    let who = format!("{} {} ({})", get("givenName"), get("familyName"), get("sourcedId"));
                    out.add("email-missing", &file, line, "email", &who);
                }
            }
            (Some(_), "classes") => {
                let section = Section { file: file.clone(), line, ..Section::default() };
                gathered.sections.push((get("sourcedId").to_string(), section));
            }
            (Some(_), "enrollments") => {
                let counts = gathered.counts.entry(get("classSourcedId").to_string()).or_default();
                match (get("role"), get("primary")) {
                    ("student", _) => counts.0 += 1,
                    ("teacher", "true") => counts.1 += 1,
                    _ => {}
                }
            }
            (None, "sections") if section_id.is_some() => {
                let teacher = u64::from(!get("Teacher_id").trim().is_empty());
                let section =
                    Section { file: file.clone(), line, primary_teachers: teacher, ..Section::default() };
                gathered.sections.push((get("Section_id").to_string(), section));
            }
            (None, "enrollments") if section_id.is_some() => {
                gathered.counts.entry(get("Section_id").to_string()).or_default().0 += 1;
            }
            _ => {}
        }
    }
    if rows == 0 {
        out.add("no-empty-files", &file, 1, "", "(a header, no rows)");
    }
    Ok(())
}

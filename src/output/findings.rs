//! The report on a set checked for a receiver: the OneRoster binding's problems and the
//! receiver's rules (`receiver_check.rs`), grouped by rule with a count and the first
//! rows, so that an admin fixes the data in the SIS rather than reads 3,000 lines. As text
//! for the screen, as JSON for a ticket (`validate --json`, shape in docs/receivers.md), as
//! the report file a run keeps with a set it did not deliver, and as one line per warning
//! for the log and the history.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use super::receiver_check::{ReceiverReport, RuleFindings};
use super::receivers::Severity;
use super::validate::{self, Problem};

/// Rows of each group shown on screen and in JSON.
pub const SHOWN: usize = 5;

/// A set's checks: the binding's (OneRoster sets only) and the receiver's.
pub struct SetReport {
    /// `None` for a plain CSV set: there is no binding to check it against.
    pub spec: Option<validate::Report>,
    pub receiver: ReceiverReport,
}

/// The binding's problems of one kind: same file, column and message but for the values.
struct Group<'a> {
    heading: String,
    problems: Vec<&'a Problem>,
}

impl SetReport {
    /// Problems that stop a delivery: every binding problem, and the receiver's errors.
    pub fn errors(&self) -> u64 {
        self.spec.as_ref().map_or(0, |s| s.total_problems) + self.receiver.count(Severity::Error)
    }

    pub fn warnings(&self) -> u64 {
        self.receiver.count(Severity::Warning)
    }

    fn spec_groups(&self) -> Vec<Group<'_>> {
        let Some(spec) = &self.spec else { return Vec::new() };
        let mut groups: BTreeMap<(String, String, String), Vec<&Problem>> = BTreeMap::new();
        let mut order = Vec::new();
        for problem in &spec.problems {
            let key = (problem.file.clone(), problem.column.clone(), shape(&problem.message).0);
            if !groups.contains_key(&key) {
                order.push(key.clone());
            }
            groups.entry(key).or_default().push(problem);
        }
        order
            .into_iter()
            .map(|key| {
                let problems = groups.remove(&key).unwrap_or_default();
                let (file, column, message) = key;
                let heading = if column.is_empty() {
                    format!("{file}: {message}")
                } else {
                    format!("{file}, {column}: {message}")
                };
                Group { heading, problems }
            })
            .collect()
    }

    fn receiver_findings(&self, severity: Severity) -> impl Iterator<Item = &RuleFindings> {
        self.receiver.findings.iter().filter(move |f| f.rule.severity == severity)
    }

    /// The grouped report for the screen, after the list of files.
    pub fn text(&self) -> String {
        let mut text = String::new();
        if let Some(spec) = &self.spec
            && spec.total_problems > 0
        {
            let _ = writeln!(
                text,
                "{} problem(s) against the OneRoster {} binding, by kind:",
                spec.total_problems,
                spec.version.number()
            );
            for group in self.spec_groups() {
                let _ = writeln!(text, "  ✗ {} ({} row(s))", group.heading, group.problems.len());
                for problem in group.problems.iter().take(SHOWN) {
                    let _ = writeln!(text, "      {problem}");
                }
                if group.problems.len() > SHOWN {
                    let _ = writeln!(text, "      … and {} more", group.problems.len() - SHOWN);
                }
            }
            if spec.total_problems as usize > spec.problems.len() {
                let _ = writeln!(
                    text,
                    "  … and {} more not grouped",
                    spec.total_problems as usize - spec.problems.len()
                );
            }
        }
        let receiver = self.receiver.receiver;
        if !self.receiver.checked.is_empty() {
            let _ = writeln!(
                text,
                "{}'s published rules ({} checked): {} error(s), {} warning(s)",
                receiver.name(),
                self.receiver.checked.len(),
                self.receiver.count(Severity::Error),
                self.warnings()
            );
            for id in &self.receiver.checked {
                if !self.receiver.findings.iter().any(|f| f.rule.id == *id) {
                    let _ = writeln!(text, "  ✓ {id}");
                }
            }
            for severity in [Severity::Error, Severity::Warning] {
                for finding in self.receiver_findings(severity) {
                    text.push_str(&finding_text(finding, SHOWN));
                }
            }
        }
        text
    }

    /// One line per warning rule, for the log, the run report and the history.
    pub fn warning_lines(&self) -> Vec<String> {
        self.receiver_findings(Severity::Warning)
            .map(|f| one_line(self.receiver.receiver.name(), f))
            .collect()
    }

    /// The receiver's errors, grouped, for a run's failure message.
    pub fn receiver_errors_text(&self) -> String {
        self.receiver_findings(Severity::Error).map(|f| finding_text(f, SHOWN)).collect()
    }

    /// The report as JSON: see docs/receivers.md, "validate --json".
    pub fn to_json(&self, path: &str) -> Value {
        let mut findings = Vec::new();
        for group in self.spec_groups() {
            findings.push(json!({
                "rule": "oneroster-binding",
                "severity": "error",
                "receivers": [],
                "what": group.heading,
                "fix": Value::Null,
                "source": self.spec.as_ref().map(|s| format!("OneRoster {} CSV binding", s.version.number())),
                "count": group.problems.len(),
                "examples": group.problems.iter().take(SHOWN).map(|p| {
                    json!({
                        "file": p.file,
                        "line": p.row,
                        "column": p.column,
                        "value": shape(&p.message).1,
                        "message": p.message,
                    })
                }).collect::<Vec<_>>(),
            }));
        }
        for severity in [Severity::Error, Severity::Warning] {
            for finding in self.receiver_findings(severity) {
                let rule = finding.rule;
                findings.push(json!({
                    "rule": rule.id,
                    "severity": rule.severity,
                    "receivers": rule.receivers.iter().map(|r| r.name()).collect::<Vec<_>>(),
                    "what": rule.what,
                    "fix": rule.fix,
                    "source": rule.source,
                    "count": finding.count,
                    "examples": finding.examples.iter().take(SHOWN).collect::<Vec<_>>(),
                }));
            }
        }
        json!({
            "path": path,
            "format": self.spec.as_ref().map_or("csv".to_string(), |s| format!("oneroster-{}", s.version.number())),
            "receiver": self.receiver.receiver.name(),
            "valid": self.errors() == 0,
            "errors": self.errors(),
            "warnings": self.warnings(),
            "files": self.spec.as_ref().map(|s| s.files.iter().map(|(file, rows)| json!({"file": file, "rows": rows})).collect::<Vec<_>>()).unwrap_or_default(),
            "rules_checked": self.receiver.checked,
            "findings": findings,
        })
    }

    /// Writes the full report: every binding problem kept, one per line, then each
    /// receiver rule with every row kept.
    pub fn write(&self, path: &Path) -> Result<()> {
        let mut text = String::new();
        if let Some(spec) = &self.spec {
            text.push_str(&spec.text());
        }
        if !self.receiver.checked.is_empty() {
            let _ = writeln!(
                text,
                "{}'s published rules: {} error(s), {} warning(s)",
                self.receiver.receiver.name(),
                self.receiver.count(Severity::Error),
                self.warnings()
            );
            for finding in &self.receiver.findings {
                text.push_str(&finding_text(finding, usize::MAX));
            }
        }
        let mut file = crate::fsutil::create_private(path)?;
        std::io::Write::write_all(&mut file, text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))
    }
}

/// A rule's findings: heading, the first `shown` rows, the fix and the source.
fn finding_text(finding: &RuleFindings, shown: usize) -> String {
    let rule = finding.rule;
    let mark = match rule.severity {
        Severity::Error => '✗',
        Severity::Warning => '!',
    };
    let mut text =
        format!("  {mark} {} ({}): {}: {}\n", rule.id, rule.severity.as_str(), rule.what, finding.count);
    for example in finding.examples.iter().take(shown) {
        let column = if example.column.is_empty() { String::new() } else { format!(", {}", example.column) };
        let _ = writeln!(text, "      {} line {}{column}: {:?}", example.file, example.line, example.value);
    }
    let listed = finding.examples.len().min(shown) as u64;
    if finding.count > listed {
        let _ = writeln!(text, "      … and {} more", finding.count - listed);
    }
    let _ = writeln!(text, "      fix: {}\n      source: {}", rule.fix, rule.source);
    text
}

/// A rule's findings in one line: receiver, rule, count, the first row.
fn one_line(receiver: &str, finding: &RuleFindings) -> String {
    let first = finding
        .examples
        .first()
        .map(|e| format!("; first: {} line {}: {:?}", e.file, e.line, e.value))
        .unwrap_or_default();
    format!(
        "{receiver} {} ({}): {} × {}{first}",
        finding.rule.id,
        finding.rule.severity.as_str(),
        finding.rule.what,
        finding.count
    )
}

/// A problem message with its quoted values replaced by `"…"`, and the first value: the
/// problems of one kind share the shape.
fn shape(message: &str) -> (String, Option<String>) {
    let mut shaped = String::with_capacity(message.len());
    let mut first = None;
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            shaped.push(c);
            continue;
        }
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => value.extend(chars.next()),
                '"' => break,
                c => value.push(c),
            }
        }
        shaped.push_str("\"…\"");
        first.get_or_insert(value);
    }
    (shaped, first)
}

#[cfg(test)]
mod tests {
    use super::shape;

    #[test]
    fn quoted_values_are_shaped_away() {
        let (shaped, first) = shape(r#""Ten" is not a CEDS grade code; found "a\"b""#);
        assert_eq!(shaped, r#""…" is not a CEDS grade code; found "…""#);
        assert_eq!(first.as_deref(), Some("Ten"));
        assert_eq!(shape("required, but empty"), ("required, but empty".to_string(), None));
    }
}

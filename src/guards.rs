//! Safety guards: before a set may leave the machine, compare it with the job's last
//! successful delivery. An empty file where there were rows, a drop in rows beyond the
//! limit, a changed header or a file that disappeared stops the delivery, because a
//! vendor reads such a set as "delete these students". `run --force` delivers anyway.

use crate::config::{Guards, RowDrop};
use crate::history::{Outcome, RunRecord};
use crate::output::FileReport;

/// What the guards found.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// No earlier successful delivery to compare with (the first run).
    FirstRun,
    /// Compared with the run `run_id`; nothing out of bounds.
    Passed { run_id: String },
    /// Out of bounds: the reasons, one per problem.
    Tripped { run_id: String, reasons: Vec<String> },
}

/// The typed error of a tripped guard, so `main` can exit with code 3.
#[derive(Debug)]
pub struct GuardTripped(pub String);

impl std::fmt::Display for GuardTripped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GuardTripped {}

/// Compares `files` with the job's last successful delivery in `history`.
pub fn check(job: &str, guards: &Guards, history: &[RunRecord], files: &[FileReport]) -> Verdict {
    let Some(last) = history.iter().rev().find(|r| r.job == job && r.outcome == Outcome::Success) else {
        return Verdict::FirstRun;
    };
    let mut reasons = Vec::new();
    for before in &last.files {
        let Some(now) = files.iter().find(|f| f.file == before.file) else {
            reasons.push(format!(
                "{} disappeared (the last good run sent it with {} rows)",
                before.file, before.rows
            ));
            continue;
        };
        if now.header != before.header {
            let removed: Vec<&String> = before.header.iter().filter(|h| !now.header.contains(h)).collect();
            let added: Vec<&String> = now.header.iter().filter(|h| !before.header.contains(h)).collect();
            let what = match (removed.is_empty(), added.is_empty()) {
                (true, true) => "columns reordered".to_string(),
                _ => format!(
                    "{}{}",
                    if removed.is_empty() { String::new() } else { format!("removed {removed:?} ") },
                    if added.is_empty() { String::new() } else { format!("added {added:?}") }
                ),
            };
            reasons.push(format!("{}: the header changed ({})", now.file, what.trim()));
        }
        if before.rows > 0 && now.rows == 0 {
            reasons.push(format!("{} is empty; the last good run sent {} rows", now.file, before.rows));
            continue;
        }
        let stem = now.file.trim_end_matches(".csv");
        let limit = guards.files.get(stem).copied().unwrap_or(guards.max_row_drop);
        let drop = before.rows.saturating_sub(now.rows);
        let too_many = match limit {
            RowDrop::Percent(percent) => {
                before.rows > 0 && (drop as f64) * 100.0 > percent * before.rows as f64
            }
            RowDrop::Rows(rows) => drop > rows,
        };
        if too_many {
            let allowed = match limit {
                RowDrop::Percent(p) => format!("{p}%"),
                RowDrop::Rows(r) => format!("{r} rows"),
            };
            reasons.push(format!(
                "{}: {} rows, {} fewer than the last good run's {} ({:.1}%; the limit is {allowed})",
                now.file,
                now.rows,
                drop,
                before.rows,
                drop as f64 * 100.0 / before.rows as f64
            ));
        }
    }
    if reasons.is_empty() {
        Verdict::Passed { run_id: last.run_id.clone() }
    } else {
        Verdict::Tripped { run_id: last.run_id.clone(), reasons }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn file(name: &str, rows: u64, header: &[&str]) -> FileReport {
        FileReport {
            file: name.into(),
            rows,
            bytes: 0,
            header: header.iter().map(|h| h.to_string()).collect(),
            query_sha256: String::new(),
        }
    }

    fn run(files: Vec<FileReport>) -> RunRecord {
        RunRecord {
            run_id: "good".into(),
            job: "j".into(),
            started: String::new(),
            finished: String::new(),
            outcome: Outcome::Success,
            error: None,
            as_of: String::new(),
            files,
            zip_name: None,
            zip_bytes: None,
            zip_sha256: None,
            destination: None,
            host_key: None,
            attempts: 1,
            forced: false,
            guard_reasons: Vec::new(),
            consistency: None,
            extract_retries: 0,
            warnings: Vec::new(),
        }
    }

    fn guards(files: &[(&str, RowDrop)]) -> Guards {
        Guards {
            max_row_drop: RowDrop::Percent(10.0),
            files: files.iter().map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<_, _>>(),
        }
    }

    #[test]
    fn first_run_passes_and_says_so() {
        assert_eq!(check("j", &guards(&[]), &[], &[file("users.csv", 0, &["id"])]), Verdict::FirstRun);
    }

    #[test]
    fn each_guard_trips() {
        let history = [run(vec![file("users.csv", 1000, &["id", "name"]), file("classes.csv", 50, &["id"])])];
        let reasons = |files: Vec<FileReport>, g: Guards| match check("j", &g, &history, &files) {
            Verdict::Tripped { reasons, .. } => reasons,
            other => panic!("{other:?}"),
        };
        let r = reasons(
            vec![file("users.csv", 899, &["id", "name"]), file("classes.csv", 50, &["id"])],
            guards(&[]),
        );
        assert_eq!(
            r,
            ["users.csv: 899 rows, 101 fewer than the last good run's 1000 (10.1%; the limit is 10%)"]
        );
        let r = reasons(
            vec![file("users.csv", 1000, &["id", "name"]), file("classes.csv", 0, &["id"])],
            guards(&[]),
        );
        assert_eq!(r, ["classes.csv is empty; the last good run sent 50 rows"]);
        let r = reasons(vec![file("users.csv", 1000, &["id", "login"])], guards(&[]));
        assert!(
            r.contains(&"users.csv: the header changed (removed [\"name\"] added [\"login\"])".to_string()),
            "{r:?}"
        );
        assert!(
            r.contains(&"classes.csv disappeared (the last good run sent it with 50 rows)".to_string()),
            "{r:?}"
        );
        let r = reasons(
            vec![file("users.csv", 990, &["id", "name"]), file("classes.csv", 50, &["id"])],
            guards(&[("users", RowDrop::Rows(5))]),
        );
        assert_eq!(
            r,
            ["users.csv: 990 rows, 10 fewer than the last good run's 1000 (1.0%; the limit is 5 rows)"]
        );
    }

    #[test]
    fn within_limits_passes() {
        let history = [run(vec![file("users.csv", 1000, &["id"])])];
        let now = [file("users.csv", 900, &["id"])];
        assert_eq!(check("j", &guards(&[]), &history, &now), Verdict::Passed { run_id: "good".into() });
    }
}

//! The writer that turns a query's rows into one OneRoster file (and, for 1.2 users,
//! roles.csv): maps columns, merges consecutive rows of one `sourcedId`, normalises values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::Datelike;

use super::columns::{Target, map_columns};
use super::normalize::{normalize_bool, normalize_date, normalize_grade, normalize_id, normalize_sex};
use super::spec::{BOOLEAN_FIELDS, DATE_FIELDS, FileSpec, LIST_FIELDS, Version, is_id, is_list};
use crate::archive::EntryStore;
use crate::config::{EnrollmentEndDate, LineEnding};
use crate::rows::{Row, RowSink};

/// One output row being assembled from one or more consecutive query rows.
struct Group {
    sourced_id: String,
    values: Vec<Vec<String>>,
    first_query_row: u64,
    /// 1.2 users only: the role and organisations for roles.csv.
    role: Option<String>,
    orgs: Vec<String>,
}

/// OneRoster 1.2 moved a user's role and organisations into roles.csv; it is written
/// alongside users.csv from the same query.
struct RolesFile {
    path: PathBuf,
    writer: crate::output::csv::SetCsvWriter,
    rows: u64,
}

/// A file written, for the run report.
pub struct Written {
    pub file: String,
    pub rows: u64,
    pub bytes: u64,
    pub header: Vec<String>,
}

/// The job's settings a OneRoster file is written with.
#[derive(Clone, Copy)]
pub struct WriterSettings<'a> {
    /// Start the file with a UTF-8 byte-order mark.
    pub bom: bool,
    pub line_ending: LineEnding,
    /// The district's own grade names → CEDS codes.
    pub grade_map: &'a BTreeMap<String, String>,
    /// How `enrollments.endDate` is written.
    pub enrollment_end_date: EnrollmentEndDate,
}

/// Writes one OneRoster file as rows arrive.
pub struct OneRosterFile<'a> {
    spec: &'static FileSpec,
    version: Version,
    path: PathBuf,
    writer: crate::output::csv::SetCsvWriter,
    targets: Vec<Target>,
    grade_map: &'a BTreeMap<String, String>,
    /// enrollments.csv: write the day after Campus's last day (OneRoster's exclusive end).
    exclusive_end_date: bool,
    group: Option<Group>,
    query_rows: u64,
    rows: u64,
    record: Vec<String>,
    roles: Option<RolesFile>,
}

impl<'a> OneRosterFile<'a> {
    pub fn create(
        path: &Path,
        spec: &'static FileSpec,
        version: Version,
        settings: WriterSettings<'a>,
        entries: Option<&EntryStore>,
    ) -> Result<OneRosterFile<'a>> {
        let WriterSettings { bom, line_ending, grade_map, enrollment_end_date } = settings;
        let mut writer = crate::output::csv::open_writer(path, bom, line_ending, entries)?;
        writer.write_record(spec.headers).with_context(|| format!("writing {}", path.display()))?;
        let roles = if version == Version::V1_2 && spec.name == "users" {
            let roles_path = path.with_file_name("roles.csv");
            let mut roles_writer = crate::output::csv::open_writer(&roles_path, bom, line_ending, entries)?;
            roles_writer
                .write_record(super::spec::ROLES_1_2.headers)
                .with_context(|| format!("writing {}", roles_path.display()))?;
            Some(RolesFile { path: roles_path, writer: roles_writer, rows: 0 })
        } else {
            None
        };
        Ok(OneRosterFile {
            spec,
            version,
            path: path.to_path_buf(),
            writer,
            targets: Vec::new(),
            grade_map,
            exclusive_end_date: spec.name == "enrollments"
                && enrollment_end_date == EnrollmentEndDate::Exclusive,
            group: None,
            query_rows: 0,
            rows: 0,
            record: vec![String::new(); spec.headers.len()],
            roles,
        })
    }

    /// Writes the last row, flushes and syncs; returns what was written (users.csv and,
    /// for 1.2, roles.csv).
    pub fn finish(mut self) -> Result<Vec<Written>> {
        self.flush_group()?;
        let mut written = vec![Written {
            file: format!("{}.csv", self.spec.name),
            rows: self.rows,
            bytes: crate::output::csv::close_writer(self.writer, &self.path)?,
            header: self.spec.headers.iter().map(|h| h.to_string()).collect(),
        }];
        if let Some(roles) = self.roles {
            written.push(Written {
                file: "roles.csv".into(),
                rows: roles.rows,
                bytes: crate::output::csv::close_writer(roles.writer, &roles.path)?,
                header: super::spec::ROLES_1_2.headers.iter().map(|h| h.to_string()).collect(),
            });
        }
        Ok(written)
    }

    fn file_name(&self) -> String {
        format!("{}.sql", self.spec.name)
    }

    fn flush_group(&mut self) -> Result<()> {
        let Some(mut group) = self.group.take() else { return Ok(()) };
        if self.roles.is_some()
            && let Some(primary) = self.spec.headers.iter().position(|h| *h == "primaryOrgSourcedId")
            && group.values[primary].is_empty()
        {
            group.values[primary].extend(group.orgs.first().cloned());
        }
        for (field, values) in self.record.iter_mut().zip(&group.values) {
            field.clear();
            field.push_str(&values.join(","));
        }
        self.writer.write_record(&self.record).with_context(|| format!("writing {}", self.path.display()))?;
        self.rows += 1;
        if let Some(roles) = &mut self.roles {
            let role = role_1_2(group.role.as_deref().unwrap_or_default());
            for (index, org) in group.orgs.iter().enumerate() {
                let role_type = if index == 0 { "primary" } else { "secondary" };
                // `.`: the 1.2 binding allows no `:` in an id (only 0-9 a-z A-Z . - _ / @).
                let id = format!("{}.{org}", group.sourced_id);
                let record = [id.as_str(), "", "", &group.sourced_id, role_type, role, "", "", org, ""];
                roles
                    .writer
                    .write_record(record)
                    .with_context(|| format!("writing {}", roles.path.display()))?;
                roles.rows += 1;
            }
        }
        Ok(())
    }

    /// The normalised value of `field` from one query value.
    fn normalise(&self, field: &str, raw: &str) -> String {
        let normalised = if field == "endDate" && self.exclusive_end_date {
            normalize_date(raw).map(|last_day| day_after(&last_day).unwrap_or(last_day))
        } else if DATE_FIELDS.contains(&field) {
            normalize_date(raw)
        } else if BOOLEAN_FIELDS.contains(&field) {
            normalize_bool(raw).map(str::to_string)
        } else if field == "grades" {
            normalize_grade(raw, self.grade_map)
        } else if field == "sex" {
            normalize_sex(raw, self.version).map(str::to_string)
        } else if is_id(field) || field == "username" {
            // Usernames too: where Campus has none, the queries fall back to the GUID.
            Some(normalize_id(raw))
        } else {
            None
        };
        // A value that cannot be normalised is written as it came, and the validation
        // that follows names it with its file, row and column.
        normalised.unwrap_or_else(|| raw.to_string())
    }
}

impl RowSink for OneRosterFile<'_> {
    fn begin(&mut self, columns: &[String]) -> Result<()> {
        self.targets = map_columns(self.spec, self.version, self.roles.is_some(), columns)?;
        Ok(())
    }

    // About 90 lines: the per-row hot path (every value of every row), kept in one piece
    // so that its branches (merge with the previous row, split to roles.csv, normalise)
    // are read, and profiled, together.
    fn row(&mut self, row: &Row) -> Result<()> {
        self.query_rows += 1;
        let headers = self.spec.headers;
        let mut prefixes: Vec<Option<&str>> = vec![None; headers.len()];
        let mut user_ids_type = None;
        let mut orgs_prefix = None;
        let (mut role, mut org) = (None, None);
        for (i, target) in self.targets.iter().enumerate() {
            let value = row.get(i).filter(|v| !v.trim().is_empty());
            match target {
                Target::PrefixOf(field) => prefixes[*field] = value,
                Target::UserIdsType => user_ids_type = value,
                Target::OrgsPrefix => orgs_prefix = value,
                Target::Role => role = value.map(str::to_string),
                Target::Orgs => org = value.map(normalize_id),
                Target::Field(_) => {}
            }
        }
        if let (Some(prefix), Some(org)) = (orgs_prefix, org.as_mut()) {
            org.insert_str(0, prefix);
        }
        let mut values: Vec<Option<String>> = vec![None; headers.len()];
        for (i, target) in self.targets.iter().enumerate() {
            let Target::Field(field) = *target else { continue };
            let Some(raw) = row.get(i).filter(|v| !v.trim().is_empty()) else { continue };
            let name = headers[field];
            let mut value = self.normalise(name, raw);
            if let Some(prefix) = prefixes[field] {
                value.insert_str(0, prefix);
            }
            if name == "userIds"
                && let Some(kind) = user_ids_type
            {
                value = format!("{{{kind}:{value}}}");
            }
            values[field] = Some(value);
        }
        let sourced_id = values[0].clone().unwrap_or_default();

        let continues =
            self.group.as_ref().is_some_and(|g| !sourced_id.is_empty() && g.sourced_id == sourced_id);
        if !continues {
            self.flush_group()?;
            self.group = Some(Group {
                sourced_id,
                values: values.into_iter().map(|v| v.into_iter().collect()).collect(),
                first_query_row: self.query_rows,
                role,
                orgs: org.into_iter().collect(),
            });
            return Ok(());
        }
        let file = self.file_name();
        let query_row = self.query_rows;
        let group = self.group.as_mut().expect("checked above");
        if let Some(org) = org
            && !group.orgs.contains(&org)
        {
            group.orgs.push(org);
        }
        if group.role.is_none() {
            group.role = role;
        }
        for (field, value) in values.into_iter().enumerate() {
            let Some(value) = value else { continue };
            let name = headers[field];
            let existing = &mut group.values[field];
            if is_list(name) {
                if !existing.contains(&value) {
                    existing.push(value);
                }
            } else if existing.is_empty() {
                existing.push(value);
            } else if existing[0] != value {
                bail!(
                    "{file}: rows {} and {query_row} both have sourcedId {:?} but different {name} ({:?} and {value:?}); \
                     only list fields ({}) may differ between the rows of one {}",
                    group.first_query_row,
                    group.sourced_id,
                    existing[0],
                    LIST_FIELDS.join(", "),
                    self.spec.name.trim_end_matches('s'),
                );
            }
        }
        Ok(())
    }
}

/// The day after `date` (YYYY-MM-DD), for OneRoster's exclusive enrollment end; `None`
/// for 9999-12-31, which has no day after in the format and is written as it is.
fn day_after(date: &str) -> Option<String> {
    let day = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    day.succ_opt().filter(|next| next.year() <= 9999).map(|next| next.format("%Y-%m-%d").to_string())
}

/// A 1.1 user role in 1.2's vocabulary (1.2 splits `administrator` by level; a school
/// administrator is the usual meaning in a roster extract).
fn role_1_2(role: &str) -> &str {
    match role {
        "administrator" => "siteAdministrator",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::day_after;

    #[test]
    fn the_exclusive_end_is_the_day_after_the_last_day() {
        assert_eq!(day_after("2026-06-05").as_deref(), Some("2026-06-06"));
        assert_eq!(day_after("2026-12-31").as_deref(), Some("2027-01-01"));
        assert_eq!(day_after("2028-02-28").as_deref(), Some("2028-02-29"));
        assert_eq!(day_after("9999-12-31"), None);
    }
}

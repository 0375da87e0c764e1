//! OneRoster CSV output: the spec's files and headers, and the writer that turns a query's
//! rows into one OneRoster file.
//!
//! The contract with the SQL (see README, "Writing OneRoster queries"):
//! - result columns are matched to the file's headers case-insensitively, in any order;
//!   an unknown column or a missing required one is an error naming the file and column;
//! - `<field>_prefix` columns are prepended to `<field>`'s values (ids built from integer
//!   keys, where portable SQL cannot concatenate), `userIds_type` formats `{type:value}`;
//! - consecutive rows with the same `sourcedId` are merged: list fields collect their
//!   distinct values, other fields must agree;
//! - dates, booleans, grades, sex and GUID case are normalised here, not in SQL.
//!
//! Validation of the finished set lives in `validate.rs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::archive::EntryStore;
use crate::config::{Format, LineEnding};
use crate::rows::{Row, RowSink};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1_1,
    V1_2,
}

impl Version {
    pub fn for_format(format: Format) -> Option<Version> {
        match format {
            Format::Csv => None,
            Format::OneRoster11 => Some(Version::V1_1),
            Format::OneRoster12 => Some(Version::V1_2),
        }
    }

    pub fn number(self) -> &'static str {
        match self {
            Version::V1_1 => "1.1",
            Version::V1_2 => "1.2",
        }
    }
}

/// One OneRoster file: its name (without `.csv`), headers in spec order, and the
/// fields that must have a value.
#[derive(Debug)]
pub struct FileSpec {
    pub name: &'static str,
    pub headers: &'static [&'static str],
    pub required: &'static [&'static str],
    /// A rostering set is incomplete without it.
    pub required_file: bool,
}

// OneRoster v1.1 CSV tables (1EdTech "OneRoster v1.1 CSV Tables", section 2), in spec
// order; cross-checked against the reference notes in shared/reference/oneroster-csv.md.
pub(super) const ORGS_1_1: FileSpec = FileSpec {
    name: "orgs",
    headers: &["sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"],
    required: &["sourcedId", "name", "type"],
    required_file: true,
};
pub(super) const SESSIONS_1_1: FileSpec = FileSpec {
    name: "academicSessions",
    headers: &[
        "sourcedId",
        "status",
        "dateLastModified",
        "title",
        "type",
        "startDate",
        "endDate",
        "parentSourcedId",
        "schoolYear",
    ],
    required: &["sourcedId", "title", "type", "startDate", "endDate", "schoolYear"],
    required_file: true,
};
pub(super) const COURSES_1_1: FileSpec = FileSpec {
    name: "courses",
    headers: &[
        "sourcedId",
        "status",
        "dateLastModified",
        "schoolYearSourcedId",
        "title",
        "courseCode",
        "grades",
        "orgSourcedId",
        "subjects",
        "subjectCodes",
    ],
    required: &["sourcedId", "title", "orgSourcedId"],
    required_file: true,
};
pub(super) const CLASSES_1_1: FileSpec = FileSpec {
    name: "classes",
    headers: &[
        "sourcedId",
        "status",
        "dateLastModified",
        "title",
        "grades",
        "courseSourcedId",
        "classCode",
        "classType",
        "location",
        "schoolSourcedId",
        "termSourcedIds",
        "subjects",
        "subjectCodes",
        "periods",
    ],
    required: &["sourcedId", "title", "courseSourcedId", "classType", "schoolSourcedId", "termSourcedIds"],
    required_file: true,
};
const USERS_1_1: FileSpec = FileSpec {
    name: "users",
    headers: &[
        "sourcedId",
        "status",
        "dateLastModified",
        "enabledUser",
        "orgSourcedIds",
        "role",
        "username",
        "userIds",
        "givenName",
        "familyName",
        "middleName",
        "identifier",
        "email",
        "sms",
        "phone",
        "agentSourcedIds",
        "grades",
        "password",
    ],
    required: &["sourcedId", "enabledUser", "orgSourcedIds", "role", "username", "givenName", "familyName"],
    required_file: true,
};
pub(super) const ENROLLMENTS_1_1: FileSpec = FileSpec {
    name: "enrollments",
    headers: &[
        "sourcedId",
        "status",
        "dateLastModified",
        "classSourcedId",
        "schoolSourcedId",
        "userSourcedId",
        "role",
        "primary",
        "beginDate",
        "endDate",
    ],
    required: &["sourcedId", "classSourcedId", "schoolSourcedId", "userSourcedId", "role"],
    required_file: true,
};
pub(super) const DEMOGRAPHICS_1_1: FileSpec = FileSpec {
    name: "demographics",
    headers: &[
        "sourcedId",
        "status",
        "dateLastModified",
        "birthDate",
        "sex",
        "americanIndianOrAlaskaNative",
        "asian",
        "blackOrAfricanAmerican",
        "nativeHawaiianOrOtherPacificIslander",
        "white",
        "demographicRaceTwoOrMoreRaces",
        "hispanicOrLatinoEthnicity",
        "countryOfBirthCode",
        "stateOfBirthAbbreviation",
        "cityOfBirth",
        "publicSchoolResidenceStatus",
    ],
    required: &["sourcedId"],
    required_file: false,
};

static FILES_1_1: [&FileSpec; 7] =
    [&ORGS_1_1, &SESSIONS_1_1, &COURSES_1_1, &CLASSES_1_1, &USERS_1_1, &ENROLLMENTS_1_1, &DEMOGRAPHICS_1_1];

/// The rostering files sis-extract produces for `version`.
pub fn files(version: Version) -> &'static [&'static FileSpec] {
    match version {
        Version::V1_1 => &FILES_1_1,
        Version::V1_2 => super::oneroster_1_2::files(),
    }
}

pub fn file_spec(version: Version, name: &str) -> Option<&'static FileSpec> {
    files(version).iter().copied().find(|f| f.name.eq_ignore_ascii_case(name))
}

/// Every `file.*` entry of manifest.csv, in the order written.
pub fn manifest_files(version: Version) -> &'static [&'static str] {
    match version {
        Version::V1_1 => &[
            "academicSessions",
            "categories",
            "classes",
            "classResources",
            "courses",
            "courseResources",
            "demographics",
            "enrollments",
            "lineItems",
            "orgs",
            "resources",
            "results",
            "users",
        ],
        Version::V1_2 => super::oneroster_1_2::manifest_files(),
    }
}

/// Fields whose value is a comma-separated list.
pub const LIST_FIELDS: &[&str] = &[
    "grades",
    "orgSourcedIds",
    "termSourcedIds",
    "subjects",
    "subjectCodes",
    "periods",
    "agentSourcedIds",
    "userIds",
    "resourceSourcedIds",
];
pub const DATE_FIELDS: &[&str] = &["startDate", "endDate", "beginDate", "birthDate"];
pub const BOOLEAN_FIELDS: &[&str] = &[
    "enabledUser",
    "primary",
    "americanIndianOrAlaskaNative",
    "asian",
    "blackOrAfricanAmerican",
    "nativeHawaiianOrOtherPacificIslander",
    "white",
    "demographicRaceTwoOrMoreRaces",
    "hispanicOrLatinoEthnicity",
];
/// CEDS grade-level codes as OneRoster uses them.
pub const CEDS_GRADES: &[&str] = &[
    "IT", "PR", "PK", "TK", "KG", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12",
    "13", "PS", "UG", "Other",
];

pub fn is_list(field: &str) -> bool {
    LIST_FIELDS.contains(&field)
}

/// Id fields: `sourcedId` and every `…SourcedId(s)`.
pub fn is_id(field: &str) -> bool {
    field == "sourcedId" || field.ends_with("SourcedId") || field.ends_with("SourcedIds")
}

/// `2026-01-15`, `2026-01-15 00:00:00` or `2026-01-15T…` → `2026-01-15`.
pub fn normalize_date(value: &str) -> Option<String> {
    let head = value.get(..10)?;
    let rest = &value[10..];
    if !(rest.is_empty() || rest.starts_with(' ') || rest.starts_with('T')) {
        return None;
    }
    chrono::NaiveDate::parse_from_str(head, "%Y-%m-%d").ok().map(|_| head.to_string())
}

pub fn normalize_bool(value: &str) -> Option<&'static str> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "t" | "y" | "yes" => Some("true"),
        "0" | "false" | "f" | "n" | "no" => Some("false"),
        _ => None,
    }
}

/// A Campus grade name → a CEDS code: the district's own map first, then the usual forms.
pub fn normalize_grade(value: &str, grade_map: &BTreeMap<String, String>) -> Option<String> {
    let value = value.trim();
    if let Some(code) = grade_map.get(value) {
        return Some(code.clone());
    }
    if let Some(code) = CEDS_GRADES.iter().find(|c| c.eq_ignore_ascii_case(value)) {
        return Some((*code).to_string());
    }
    match value.to_ascii_uppercase().as_str() {
        "K" | "0" | "00" | "KF" | "KH" => return Some("KG".into()),
        "P" | "P3" | "P4" | "PRE-K" | "PREK" => return Some("PK".into()),
        _ => {}
    }
    match value.parse::<u8>() {
        Ok(n @ 1..=13) => Some(format!("{n:02}")),
        _ => None,
    }
}

pub fn normalize_sex(value: &str, version: Version) -> Option<&'static str> {
    match (value.trim().to_ascii_lowercase().as_str(), version) {
        ("m" | "male", _) => Some("male"),
        ("f" | "female", _) => Some("female"),
        ("x" | "o" | "other" | "n", Version::V1_2) => Some("other"),
        ("u" | "unspecified", Version::V1_2) => Some("unspecified"),
        _ => None,
    }
}

/// A GUID in any case → lower case, so an id is the same whichever database rendered it.
pub fn normalize_id(value: &str) -> String {
    let is_guid = value.len() == 36
        && value
            .char_indices()
            .all(|(i, c)| if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_hexdigit() });
    if is_guid { value.to_ascii_lowercase() } else { value.to_string() }
}

/// Where one query column goes.
#[derive(Debug, Clone, Copy)]
enum Target {
    Field(usize),
    PrefixOf(usize),
    UserIdsType,
    /// 1.2 users: the 1.1-style `role` column, which goes to roles.csv.
    Role,
    /// 1.2 users: the 1.1-style `orgSourcedIds` column, which goes to roles.csv.
    Orgs,
    /// A `_prefix` column for `orgSourcedIds` in a 1.2 users query.
    OrgsPrefix,
}

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
    writer: super::csv::SetCsvWriter,
    rows: u64,
}

/// A file written, for the run report.
pub struct Written {
    pub file: String,
    pub rows: u64,
    pub bytes: u64,
    pub header: Vec<String>,
}

/// Writes one OneRoster file as rows arrive.
pub struct OneRosterFile<'a> {
    spec: &'static FileSpec,
    version: Version,
    path: PathBuf,
    writer: super::csv::SetCsvWriter,
    targets: Vec<Target>,
    grade_map: &'a BTreeMap<String, String>,
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
        bom: bool,
        line_ending: LineEnding,
        grade_map: &'a BTreeMap<String, String>,
        entries: Option<&EntryStore>,
    ) -> Result<OneRosterFile<'a>> {
        let mut writer = super::csv::open_writer(path, bom, line_ending, entries)?;
        writer.write_record(spec.headers).with_context(|| format!("writing {}", path.display()))?;
        let roles = if version == Version::V1_2 && spec.name == "users" {
            let roles_path = path.with_file_name("roles.csv");
            let mut roles_writer = super::csv::open_writer(&roles_path, bom, line_ending, entries)?;
            roles_writer
                .write_record(super::oneroster_1_2::ROLES.headers)
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
            bytes: super::csv::close_writer(self.writer, &self.path)?,
            header: self.spec.headers.iter().map(|h| h.to_string()).collect(),
        }];
        if let Some(roles) = self.roles {
            written.push(Written {
                file: "roles.csv".into(),
                rows: roles.rows,
                bytes: super::csv::close_writer(roles.writer, &roles.path)?,
                header: super::oneroster_1_2::ROLES.headers.iter().map(|h| h.to_string()).collect(),
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
                let id = format!("{}:{org}", group.sourced_id);
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
        let normalised = if DATE_FIELDS.contains(&field) {
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

/// How a query's columns map onto `spec`'s fields; an unknown column or a missing
/// required one is an error naming the file and column.
fn map_columns(
    spec: &FileSpec,
    version: Version,
    derives_roles: bool,
    columns: &[String],
) -> Result<Vec<Target>> {
    let file = format!("{}.sql", spec.name);
    let find = |name: &str| spec.headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let mut targets = Vec::with_capacity(columns.len());
    for column in columns {
        let target = if derives_roles && column.eq_ignore_ascii_case("role") {
            Target::Role
        } else if derives_roles && column.eq_ignore_ascii_case("orgSourcedIds") {
            Target::Orgs
        } else if derives_roles && column.eq_ignore_ascii_case("orgSourcedIds_prefix") {
            Target::OrgsPrefix
        } else if column.eq_ignore_ascii_case("userIds_type") && find("userIds").is_some() {
            Target::UserIdsType
        } else if let Some(field) = column.len().checked_sub(7).and_then(|cut| {
            column[cut..].eq_ignore_ascii_case("_prefix").then(|| find(&column[..cut])).flatten()
        }) {
            Target::PrefixOf(field)
        } else if let Some(field) = find(column) {
            Target::Field(field)
        } else {
            bail!(
                "{file}: column {column:?} is not a field of {}.csv (OneRoster {}); its fields are: {}. \
                 Rename it with AS to one of them, or remove it",
                spec.name,
                version.number(),
                spec.headers.join(", ")
            );
        };
        targets.push(target);
    }
    for required in spec.required {
        let present = targets.iter().any(|t| matches!(t, Target::Field(i) if spec.headers[*i] == *required));
        if !present {
            bail!(
                "{file}: the query has no column {required:?}, which {}.csv requires; add it (e.g. `… AS {required}`)",
                spec.name
            );
        }
    }
    if derives_roles {
        for (needed, present) in [
            ("role", targets.iter().any(|t| matches!(t, Target::Role))),
            ("orgSourcedIds", targets.iter().any(|t| matches!(t, Target::Orgs))),
        ] {
            if !present {
                bail!(
                    "{file}: the query has no column {needed:?}; for OneRoster 1.2 sis-extract builds roles.csv from the users query's role and orgSourcedIds columns"
                );
            }
        }
    }
    Ok(targets)
}

/// `check`: do these result columns fit the OneRoster file the query is named after?
pub fn check_columns(version: Version, query_name: &str, columns: &[String]) -> Result<()> {
    let Some(spec) = file_spec(version, query_name) else {
        bail!("{query_name}.sql is not a OneRoster {} file", version.number());
    };
    let derives_roles = version == Version::V1_2 && spec.name == "users";
    map_columns(spec, version, derives_roles, columns).map(|_| ())
}

/// A 1.1 user role in 1.2's vocabulary (1.2 splits `administrator` by level; a school
/// administrator is the usual meaning in a roster extract).
fn role_1_2(role: &str) -> &str {
    match role {
        "administrator" => "siteAdministrator",
        other => other,
    }
}

/// Writes manifest.csv: every file the version knows, `bulk` when produced, else `absent`.
pub fn write_manifest(
    path: &Path,
    version: Version,
    produced: &[&str],
    system_name: &str,
    bom: bool,
    line_ending: LineEnding,
) -> Result<()> {
    // The manifest is a few hundred bytes: it is compressed when the zip is made.
    let mut writer = super::csv::open_writer(path, bom, line_ending, None)?;
    let context = || format!("writing {}", path.display());
    writer.write_record(["propertyName", "value"]).with_context(context)?;
    writer.write_record(["manifest.version", "1.0"]).with_context(context)?;
    writer.write_record(["oneroster.version", version.number()]).with_context(context)?;
    for file in manifest_files(version) {
        let mode = if produced.iter().any(|p| p == file) { "bulk" } else { "absent" };
        writer.write_record([format!("file.{file}").as_str(), mode]).with_context(context)?;
    }
    writer.write_record(["source.systemName", system_name]).with_context(context)?;
    writer
        .write_record(["source.systemCode", concat!("sis-extract ", env!("CARGO_PKG_VERSION"))])
        .with_context(context)?;
    super::csv::close_writer(writer, path).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_normalised() {
        assert_eq!(normalize_date("2026-01-15 00:00:00").as_deref(), Some("2026-01-15"));
        assert_eq!(normalize_date("2026-02-30"), None);
        assert_eq!(normalize_date("15/01/2026"), None);
        assert_eq!(normalize_bool("Y"), Some("true"));
        assert_eq!(normalize_bool("0"), Some("false"));
        assert_eq!(normalize_bool("maybe"), None);
        let map = BTreeMap::from([("Kinder".to_string(), "KG".to_string())]);
        assert_eq!(normalize_grade("9", &map).as_deref(), Some("09"));
        assert_eq!(normalize_grade("K", &map).as_deref(), Some("KG"));
        assert_eq!(normalize_grade("Kinder", &map).as_deref(), Some("KG"));
        assert_eq!(normalize_grade("12", &map).as_deref(), Some("12"));
        assert_eq!(normalize_grade("other", &map).as_deref(), Some("Other"));
        assert_eq!(normalize_grade("14", &map), None);
        assert_eq!(normalize_sex("F", Version::V1_1), Some("female"));
        assert_eq!(normalize_sex("X", Version::V1_1), None);
        assert_eq!(normalize_sex("X", Version::V1_2), Some("other"));
        assert_eq!(
            normalize_id("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"),
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
        );
        assert_eq!(normalize_id("TERM-12"), "TERM-12");
    }
}

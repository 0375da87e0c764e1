//! Clever's own SFTP format (`format = "clever"`): five flat CSV files (schools, students,
//! teachers, sections, enrollments) and the optional staff.csv, with Clever's header
//! names, Clever's grade words and dates as MM/DD/YYYY. Not OneRoster: no manifest, no
//! `status` column, guardians are `Contact_*` columns on the student rows.
//!
//! What Clever documents and what is only corroborated is in docs/clever.md (from
//! Clever's support pages and its "SFTP Instructions" PDF, and public district exporters
//! for the column names); the tables below mark each column that is not confirmed from a
//! Clever-authored page. The query names its columns in any case (PostgreSQL folds
//! unquoted aliases to lower case); this writer gives each its exact Clever spelling,
//! refuses a column Clever does not know, formats dates and grades here rather than in
//! SQL (so one query serves every database), and refuses a row that lacks a value
//! Clever needs, naming the file, column and row.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::oneroster::{normalize_date, normalize_grade, normalize_id};
use crate::archive::EntryStore;
use crate::config::LineEnding;
use crate::rows::{Row, RowSink};

/// How a column's values are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// As the query gives it.
    Text,
    /// An id: a GUID is written in lower case, so an id is the same from every database.
    Id,
    /// A date, written MM/DD/YYYY (the query gives a date or an ISO `YYYY-MM-DD` text).
    Date,
    /// A grade: the district's Campus grade (through `grade_map` and the usual forms, as
    /// for OneRoster) written as Clever's word (`Kindergarten`, `1` … `12`).
    Grade,
}

/// One column of a Clever file.
#[derive(Debug)]
pub struct Column {
    /// The header exactly as Clever spells it.
    pub name: &'static str,
    /// Every row needs a value.
    pub required: bool,
    pub kind: Kind,
}

/// One Clever file.
#[derive(Debug)]
pub struct FileSpec {
    pub name: &'static str,
    /// One of the five files Clever requires (staff.csv is optional).
    pub required_file: bool,
    pub columns: &'static [Column],
}

const fn c(name: &'static str, required: bool, kind: Kind) -> Column {
    Column { name, required, kind }
}

use Kind::{Date, Grade, Id, Text};

/// The files and columns. Which names Clever confirms and which only public exporters
/// corroborate: docs/clever.md. `required` marks what the shipped queries always send and
/// the exporters treat as required; Clever's own required list is in the district's
/// "SFTP Instructions" PDF.
pub const FILES: &[FileSpec] = &[
    FileSpec {
        name: "schools",
        required_file: true,
        columns: &[
            c("School_id", true, Id),
            c("School_name", true, Text),
            c("School_number", true, Text),
            c("State_id", false, Text),
            c("Low_grade", false, Grade),
            c("High_grade", false, Grade),
            c("Principal", false, Text),
            c("Principal_email", false, Text),
            c("School_address", false, Text),
            c("School_city", false, Text),
            c("School_state", false, Text),
            c("School_zip", false, Text),
            c("School_phone", false, Text),
        ],
    },
    FileSpec {
        name: "students",
        required_file: true,
        columns: &[
            c("School_id", true, Id),
            c("Student_id", true, Id),
            c("Student_number", true, Text),
            c("State_id", false, Text),
            c("Last_name", true, Text),
            c("Middle_name", false, Text),
            c("First_name", true, Text),
            c("Grade", false, Grade),
            c("Gender", false, Text),
            c("Graduation_year", false, Text),
            c("DOB", false, Date),
            c("Race", false, Text),
            c("Hispanic_Latino", false, Text),
            c("Home_language", false, Text),
            c("Ell_status", false, Text),
            c("Frl_status", false, Text),
            c("IEP_status", false, Text),
            c("Student_street", false, Text),
            c("Student_city", false, Text),
            c("Student_state", false, Text),
            c("Student_zip", false, Text),
            c("Student_email", false, Text),
            c("Contact_relationship", false, Text),
            c("Contact_type", false, Text),
            c("Contact_name", false, Text),
            c("Contact_phone", false, Text),
            c("Contact_email", false, Text),
            c("Contact_sis_id", false, Id),
            c("Username", false, Text),
            c("Password", false, Text),
        ],
    },
    FileSpec {
        name: "teachers",
        required_file: true,
        columns: &[
            c("School_id", true, Id),
            c("Teacher_id", true, Id),
            c("Teacher_number", false, Text),
            c("State_teacher_id", false, Text),
            c("Teacher_email", false, Text),
            c("First_name", true, Text),
            c("Middle_name", false, Text),
            c("Last_name", true, Text),
            c("Title", false, Text),
            c("Username", false, Text),
            c("Password", false, Text),
        ],
    },
    FileSpec {
        name: "sections",
        required_file: true,
        columns: &[
            c("School_id", true, Id),
            c("Section_id", true, Id),
            c("Teacher_id", true, Id),
            c("Teacher_2_id", false, Id),
            c("Teacher_3_id", false, Id),
            c("Teacher_4_id", false, Id),
            c("Teacher_5_id", false, Id),
            c("Name", false, Text),
            c("Section_number", false, Text),
            c("Grade", false, Grade),
            c("Course_name", false, Text),
            c("Course_number", false, Text),
            c("Course_description", false, Text),
            c("Period", false, Text),
            c("Subject", false, Text),
            c("Term_name", false, Text),
            c("Term_start", false, Date),
            c("Term_end", false, Date),
        ],
    },
    FileSpec {
        name: "enrollments",
        required_file: true,
        columns: &[c("School_id", true, Id), c("Section_id", true, Id), c("Student_id", true, Id)],
    },
    FileSpec {
        name: "staff",
        required_file: false,
        columns: &[
            c("School_id", true, Id),
            c("Staff_id", true, Id),
            c("Staff_email", false, Text),
            c("First_name", true, Text),
            c("Last_name", true, Text),
            c("Department", false, Text),
            c("Title", false, Text),
            c("Username", false, Text),
            c("Password", false, Text),
            c("Role", false, Text),
        ],
    },
];

/// The spec of the Clever file a query (`students.sql`) writes.
pub fn file_spec(query_name: &str) -> Option<&'static FileSpec> {
    FILES.iter().find(|f| f.name.eq_ignore_ascii_case(query_name))
}

/// The names of the query files a Clever folder may hold, for messages.
pub fn query_names() -> String {
    FILES.iter().map(|f| format!("{}.sql", f.name)).collect::<Vec<_>>().join(", ")
}

/// Clever's grade word for a CEDS code (Clever's student `grade` values on
/// dev.clever.com: `InfantToddler` … `Kindergarten`, `1` … `13`, `PostGraduate`,
/// `Ungraded`, `Other`).
pub fn clever_grade(ceds: &str) -> Option<&'static str> {
    Some(match ceds {
        "IT" => "InfantToddler",
        "PR" => "Preschool",
        "PK" => "PreKindergarten",
        "TK" => "TransitionalKindergarten",
        "KG" => "Kindergarten",
        "01" => "1",
        "02" => "2",
        "03" => "3",
        "04" => "4",
        "05" => "5",
        "06" => "6",
        "07" => "7",
        "08" => "8",
        "09" => "9",
        "10" => "10",
        "11" => "11",
        "12" => "12",
        "13" => "13",
        "PS" => "PostGraduate",
        "UG" => "Ungraded",
        "Other" => "Other",
        _ => return None,
    })
}

/// `2026-01-15` (or a timestamp on that day) → `01/15/2026`.
pub fn clever_date(value: &str) -> Option<String> {
    let iso = normalize_date(value)?;
    Some(format!("{}/{}/{}", &iso[5..7], &iso[8..10], &iso[..4]))
}

/// Maps a query's columns onto `spec`: the spec entry of each column, in query order.
fn map_columns(spec: &'static FileSpec, columns: &[String]) -> Result<Vec<&'static Column>> {
    let mut mapped: Vec<&'static Column> = Vec::new();
    for column in columns {
        let Some(target) = spec.columns.iter().find(|c| c.name.eq_ignore_ascii_case(column)) else {
            bail!(
                "{}.sql: column {column:?} is not a Clever {}.csv column; the columns are {}",
                spec.name,
                spec.name,
                spec.columns.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
            );
        };
        if mapped.iter().any(|t| t.name == target.name) {
            bail!("{}.sql: column {} is given twice", spec.name, target.name);
        }
        mapped.push(target);
    }
    if let Some(missing) =
        spec.columns.iter().find(|c| c.required && !mapped.iter().any(|t| t.name == c.name))
    {
        bail!(
            "{}.sql has no column {}; Clever's {}.csv needs it (the required columns are {})",
            spec.name,
            missing.name,
            spec.name,
            spec.columns.iter().filter(|c| c.required).map(|c| c.name).collect::<Vec<_>>().join(", ")
        );
    }
    Ok(mapped)
}

/// The check `check` makes on a described query: its columns fit the Clever file.
pub fn check_columns(query_name: &str, columns: &[String]) -> Result<()> {
    let Some(spec) = file_spec(query_name) else {
        bail!("{query_name}.sql is not a Clever file; the query files are {}", query_names());
    };
    map_columns(spec, columns).map(|_| ())
}

/// Writes one Clever file as rows arrive. Call [`CleverFile::finish`].
pub struct CleverFile<'a> {
    spec: &'static FileSpec,
    path: PathBuf,
    writer: crate::output::csv::SetCsvWriter,
    columns: Vec<&'static Column>,
    header: Vec<String>,
    grade_map: &'a BTreeMap<String, String>,
    record: Vec<String>,
    rows: u64,
}

impl<'a> CleverFile<'a> {
    pub fn create(
        path: &Path,
        spec: &'static FileSpec,
        bom: bool,
        line_ending: LineEnding,
        grade_map: &'a BTreeMap<String, String>,
        entries: Option<&EntryStore>,
    ) -> Result<CleverFile<'a>> {
        Ok(CleverFile {
            spec,
            path: path.to_path_buf(),
            writer: crate::output::csv::open_writer(path, bom, line_ending, entries)?,
            columns: Vec::new(),
            header: Vec::new(),
            grade_map,
            record: Vec::new(),
            rows: 0,
        })
    }

    /// Flushes, syncs to disk and returns (rows, bytes, header).
    pub fn finish(self) -> Result<(u64, u64, Vec<String>)> {
        let bytes = crate::output::csv::close_writer(self.writer, &self.path)?;
        Ok((self.rows, bytes, self.header))
    }

    fn value(&self, column: &Column, raw: Option<&str>) -> Result<String> {
        let raw = raw.map(str::trim).unwrap_or_default();
        let row = self.rows;
        let file = self.spec.name;
        if raw.is_empty() {
            if column.required {
                bail!(
                    "{file}.csv row {row}: {} is empty, and Clever needs it on every row; fix {file}.sql (or the record in the SIS)",
                    column.name
                );
            }
            return Ok(String::new());
        }
        Ok(match column.kind {
            Text => raw.to_string(),
            Id => normalize_id(raw),
            Date => clever_date(raw).with_context(|| {
                format!("{file}.csv row {row}: {} = {raw:?} is not a date (expected YYYY-MM-DD from the query)", column.name)
            })?,
            Grade => normalize_grade(raw, self.grade_map)
                .and_then(|ceds| clever_grade(&ceds))
                .with_context(|| {
                    format!(
                        "{file}.csv row {row}: {} = {raw:?} is not a grade sis-extract knows; add it to the job's grade_map \
                         (e.g. grade_map = {{ \"{raw}\" = \"KG\" }}, a CEDS code), which Clever's word is then made from",
                        column.name
                    )
                })?
                .to_string(),
        })
    }
}

impl RowSink for CleverFile<'_> {
    fn begin(&mut self, columns: &[String]) -> Result<()> {
        self.columns = map_columns(self.spec, columns)?;
        self.header = self.columns.iter().map(|c| c.name.to_string()).collect();
        self.writer.write_record(&self.header).with_context(|| format!("writing {}", self.path.display()))
    }

    fn row(&mut self, row: &Row) -> Result<()> {
        self.rows += 1;
        let mut record = std::mem::take(&mut self.record);
        record.clear();
        for (i, column) in self.columns.iter().enumerate() {
            record.push(self.value(column, row.get(i))?);
        }
        let written =
            self.writer.write_record(&record).with_context(|| format!("writing {}", self.path.display()));
        self.record = record;
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grades_and_dates_are_clevers() {
        let map = BTreeMap::from([("Kinder".to_string(), "KG".to_string())]);
        for (campus, word) in [
            ("KG", "Kindergarten"),
            ("K", "Kindergarten"),
            ("Kinder", "Kindergarten"),
            ("09", "9"),
            ("12", "12"),
            ("PK", "PreKindergarten"),
        ] {
            let ceds = normalize_grade(campus, &map).unwrap();
            assert_eq!(clever_grade(&ceds), Some(word), "{campus}");
        }
        assert_eq!(clever_date("2010-03-07").as_deref(), Some("03/07/2010"));
        assert_eq!(clever_date("2010-03-07 00:00:00").as_deref(), Some("03/07/2010"));
        assert_eq!(clever_date("03/07/2010"), None);
    }

    #[test]
    fn columns_map_in_any_case_and_unknown_ones_are_refused() {
        let spec = file_spec("students").unwrap();
        let columns: Vec<String> =
            ["school_id", "student_id", "student_number", "last_name", "first_name", "contact_name"]
                .map(String::from)
                .to_vec();
        let mapped = map_columns(spec, &columns).unwrap();
        let names: Vec<&str> = mapped.iter().map(|c| c.name).collect();
        assert_eq!(
            names,
            ["School_id", "Student_id", "Student_number", "Last_name", "First_name", "Contact_name"]
        );
        let error = map_columns(spec, &["School_id".into(), "grade_level".into()]).unwrap_err();
        assert!(error.to_string().contains("\"grade_level\" is not a Clever students.csv column"), "{error}");
        let error = map_columns(spec, &["School_id".into()]).unwrap_err();
        assert!(error.to_string().contains("students.sql has no column Student_id"), "{error}");
    }
}

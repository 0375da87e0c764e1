//! Clever's own SFTP format (`format = "clever"`, the built-in Campus query set
//! `builtin:infinite-campus/clever`), run by the real binary against the Campus-like
//! fixture on SQLite and PostgreSQL: exactly the rows the generator's model says
//! (crates/campus-fixture/src/expected.rs), Clever's header names, grade words and
//! MM/DD/YYYY dates, every reference resolving, identical on both databases; the CSV
//! files delivered loose (`send = "files"`) to the real sshd and to a local folder, as
//! Clever takes them; and the messages for a query that does not fit the format.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{
    ConfigBuilder, JobBuilder, Workspace, listing, parse_csv, psql, service, sqlite, unzip_entry, zip_names,
};

const QUERIES: &str = "builtin:infinite-campus/clever";

/// The files of the set, in the order the zip holds them (the queries' name order).
const FILES: [&str; 6] =
    ["enrollments.csv", "schools.csv", "sections.csv", "staff.csv", "students.csv", "teachers.csv"];

fn sqlite_fixture() -> PathBuf {
    let db = tempfile::tempdir().unwrap().keep().join("campus.db");
    sqlite(&db, campus_fixture::SCHEMA);
    sqlite(&db, &crate::support::generated_fixture().0);
    db
}

fn expected(key: &str) -> usize {
    crate::support::generated_fixture().1[key].as_u64().unwrap_or_else(|| panic!("{key} in expected"))
        as usize
}

/// A workspace whose one Clever job reads `queries` into the local folder `out`.
fn workspace(source: impl FnOnce(ConfigBuilder) -> ConfigBuilder, queries: &str, extra: &str) -> Workspace {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path("out")).unwrap();
    let job = JobBuilder::csv("clever", queries).key("format", "clever").key("archive", "clever-{date}.zip");
    let job = if extra.is_empty() { job } else { job.raw(extra) };
    source(ConfigBuilder::new()).job(job).write(&ws);
    ws
}

/// Rows of one CSV in the zip, as maps from header to value, and the header.
fn records(zip: &Path, file: &str) -> (Vec<String>, Vec<HashMap<String, String>>) {
    let rows = parse_csv(&unzip_entry(zip, file));
    let header = rows[0].clone();
    let records = rows[1..].iter().map(|r| header.iter().cloned().zip(r.iter().cloned()).collect()).collect();
    (header, records)
}

fn column<'a>(rows: &'a [HashMap<String, String>], name: &str) -> BTreeSet<&'a str> {
    rows.iter().map(|r| r[name].as_str()).filter(|v| !v.is_empty()).collect()
}

fn is_us_date(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() == 10
        && b[2] == b'/'
        && b[5] == b'/'
        && b.iter().enumerate().all(|(i, c)| i == 2 || i == 5 || c.is_ascii_digit())
        && chrono::NaiveDate::parse_from_str(value, "%m/%d/%Y").is_ok()
}

#[test]
fn the_clever_set_has_the_generators_counts_clevers_headers_grades_and_dates() {
    let db = sqlite_fixture();
    let ws = workspace(|c| c.sqlite(&db), QUERIES, "");
    ws.run(&["run", "--as-of", "2026-01-15"]).assert_ok();
    let zip = ws.path("out/clever-20260115.zip");
    assert_eq!(zip_names(&zip), FILES, "six flat files, no manifest");

    let (header, schools) = records(&zip, "schools.csv");
    assert_eq!(
        header,
        [
            "School_id",
            "School_name",
            "School_number",
            "Principal",
            "Principal_email",
            "School_address",
            "School_city",
            "School_state",
            "School_zip",
            "School_phone"
        ]
    );
    let (header, students) = records(&zip, "students.csv");
    assert_eq!(
        header,
        [
            "School_id",
            "Student_id",
            "Student_number",
            "State_id",
            "Last_name",
            "First_name",
            "Middle_name",
            "Grade",
            "Gender",
            "DOB",
            "Hispanic_Latino",
            "Student_email",
            "Username",
            "Contact_type",
            "Contact_relationship",
            "Contact_name",
            "Contact_phone",
            "Contact_email",
            "Contact_sis_id"
        ]
    );
    let (header, teachers) = records(&zip, "teachers.csv");
    assert_eq!(
        header,
        [
            "School_id",
            "Teacher_id",
            "Teacher_number",
            "State_teacher_id",
            "Teacher_email",
            "First_name",
            "Middle_name",
            "Last_name",
            "Title",
            "Username"
        ]
    );
    let (header, sections) = records(&zip, "sections.csv");
    assert_eq!(
        header,
        [
            "School_id",
            "Section_id",
            "Teacher_id",
            "Teacher_2_id",
            "Teacher_3_id",
            "Teacher_4_id",
            "Teacher_5_id",
            "Section_number",
            "Course_name",
            "Course_number",
            "Term_name",
            "Term_start",
            "Term_end"
        ]
    );
    let (header, enrollments) = records(&zip, "enrollments.csv");
    assert_eq!(header, ["School_id", "Section_id", "Student_id"]);
    let (header, staff) = records(&zip, "staff.csv");
    assert_eq!(
        header,
        ["School_id", "Staff_id", "Staff_email", "First_name", "Last_name", "Title", "Username", "Role"]
    );

    // Exact counts, from the generator's own model.
    assert_eq!(schools.len(), expected("included_schools"), "schools.csv");
    assert_eq!(students.len(), expected("clever_students"), "students.csv: one row per student and contact");
    assert_eq!(column(&students, "Student_id").len(), expected("oneroster_students"), "distinct students");
    assert_eq!(teachers.len(), expected("clever_teachers"), "teachers.csv: one row per teacher and school");
    assert_eq!(column(&teachers, "Teacher_id").len(), expected("teachers"), "distinct teachers");
    assert!(teachers.len() > expected("teachers"), "the itinerant band director is at two schools");
    assert_eq!(staff.len(), expected("clever_staff"), "staff.csv");
    assert_eq!(column(&staff, "Staff_id").len(), expected("administrators") + expected("aides"));
    assert_eq!(sections.len(), expected("clever_sections"), "sections.csv");
    assert_eq!(enrollments.len(), expected("clever_enrollments"), "enrollments.csv");
    assert!(sections.len() < expected("active_sections"), "sections without teacher or student are left out");

    // Clever's grade words, never CEDS codes; dates as MM/DD/YYYY.
    let grades = column(&students, "Grade");
    let words: BTreeSet<&str> =
        ["Kindergarten", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"].into();
    assert!(grades.is_subset(&words), "{grades:?}");
    assert!(grades.contains("Kindergarten") && grades.contains("9"), "{grades:?}");
    for date in column(&students, "DOB")
        .into_iter()
        .chain(column(&sections, "Term_start"))
        .chain(column(&sections, "Term_end"))
    {
        assert!(is_us_date(date), "{date:?} is not MM/DD/YYYY");
    }
    assert!(!column(&students, "DOB").is_empty() && !column(&sections, "Term_start").is_empty());

    // Contacts on the student rows: a student with two guardians has two rows.
    let mut rows_per_student: HashMap<&str, usize> = HashMap::new();
    for s in &students {
        *rows_per_student.entry(s["Student_id"].as_str()).or_default() += 1;
    }
    assert!(rows_per_student.values().any(|&n| n >= 2), "some student has two contacts");
    for s in students.iter().filter(|s| !s["Contact_sis_id"].is_empty()) {
        assert_eq!(s["Contact_type"], "Parent/Guardian");
        assert!(
            ["Parent", "Grandparent", "Aunt", "Uncle", "Other"].contains(&s["Contact_relationship"].as_str())
        );
        assert!(
            s["Contact_name"].contains(' ') && !s["Contact_name"].starts_with(' '),
            "{:?}",
            s["Contact_name"]
        );
    }
    // The account rules of the OneRoster set: no account of their own, not sent.
    let names: BTreeSet<String> =
        students.iter().map(|s| format!("{} {}", s["First_name"], s["Last_name"])).collect();
    for absent in ["Chloe Martin", "Elijah White", "Henry Taylor"] {
        assert!(!names.contains(absent), "{absent} must not be in students.csv");
    }
    assert!(names.contains("Aarav Patel"));

    // Every reference resolves, and every section has its primary teacher.
    let school_ids = column(&schools, "School_id");
    let student_ids = column(&students, "Student_id");
    let teacher_ids = column(&teachers, "Teacher_id");
    let section_ids = column(&sections, "Section_id");
    for (file, rows) in [
        ("students", &students),
        ("teachers", &teachers),
        ("sections", &sections),
        ("enrollments", &enrollments),
        ("staff", &staff),
    ] {
        assert!(column(rows, "School_id").is_subset(&school_ids), "{file}.csv names an unknown school");
    }
    assert!(column(&enrollments, "Student_id").is_subset(&student_ids));
    assert_eq!(column(&enrollments, "Section_id"), section_ids, "every section has a student");
    for name in ["Teacher_id", "Teacher_2_id", "Teacher_3_id"] {
        assert!(column(&sections, name).is_subset(&teacher_ids), "{name}");
    }
    assert!(sections.iter().all(|s| !s["Teacher_id"].is_empty()));
    assert!(sections.iter().any(|s| !s["Teacher_2_id"].is_empty()), "co-teachers are Teacher_2_id");
    assert!(teacher_ids.is_disjoint(&column(&staff, "Staff_id")), "a person is a teacher or staff");
}

#[test]
fn sqlite_and_postgresql_give_identical_clever_sets() {
    let db = sqlite_fixture();
    let database = format!("clever_{}", std::process::id());
    let superuser = service("SIS_TEST_PG_SUPERUSER_URL");
    let reader = service("SIS_TEST_PG_READER_USER");
    psql(&superuser, &format!("DROP DATABASE IF EXISTS {database}"));
    psql(
        &superuser,
        &format!("CREATE DATABASE {database} OWNER sis_owner ENCODING 'UTF8' TEMPLATE template0"),
    );
    let owner_url = service("SIS_TEST_PG_OWNER_URL").replace("/sis_test", &format!("/{database}"));
    psql(&owner_url, campus_fixture::SCHEMA);
    psql(&owner_url, &crate::support::generated_fixture().0);
    psql(&owner_url, &format!("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {reader}"));
    let pg_connection =
        service("SIS_TEST_PG_CONN").replace("Database=sis_test", &format!("Database={database}"));
    let on_sqlite = workspace(|c| c.sqlite(&db), QUERIES, "");
    on_sqlite.run(&["run", "--as-of", "2026-01-15"]).assert_ok();
    let mut on_pg = workspace(
        |c| c.source(&pg_connection).source_key("user", &reader).source_raw("password = { env = \"DB_PW\" }"),
        QUERIES,
        "",
    );
    on_pg.set_env("DB_PW", &service("SIS_TEST_PG_READER_PASSWORD"));
    let run = on_pg.run(&["run", "--as-of", "2026-01-15"]);
    psql(&superuser, &format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"));
    run.assert_ok();
    let zip = |ws: &Workspace| ws.path("out/clever-20260115.zip");
    for file in FILES {
        assert_eq!(unzip_entry(&zip(&on_pg), file), unzip_entry(&zip(&on_sqlite), file), "{file} differs");
    }
}

/// An empty remote folder owned by the SFTP user; returns (absolute path, path relative
/// to the user's login folder).
fn remote_folder(test: &str) -> (PathBuf, String) {
    let relative = format!("incoming/{test}-{}", std::process::id());
    let absolute = PathBuf::from(service("SIS_TEST_SSH_HOME")).join(&relative);
    let _ = std::fs::remove_dir_all(&absolute);
    let user = service("SIS_TEST_SSH_USER");
    let status = Command::new("install")
        .args(["-d", "-o", &user, "-g", &user, "-m", "755"])
        .arg(&absolute)
        .status()
        .unwrap();
    assert!(status.success());
    (absolute, relative)
}

/// A tiny Clever folder (every required column) over a tiny SQLite database, so the
/// delivery tests do not depend on the fixture.
fn tiny_clever(ws: &Workspace, grade: &str) -> PathBuf {
    let db = ws.path("tiny.db");
    sqlite(&db, "CREATE TABLE t (n integer); INSERT INTO t VALUES (1);");
    let students = format!(
        "SELECT 's1' AS School_id, 'p1' AS Student_id, '1001' AS Student_number, 'Doe' AS Last_name, \
         'Jo' AS First_name, '{grade}' AS Grade, '2014-03-07' AS DOB FROM t"
    );
    let queries = [
        ("schools", "SELECT 's1' AS School_id, 'Lincoln' AS School_name, '101' AS School_number FROM t"),
        ("students", students.as_str()),
        (
            "teachers",
            "SELECT 's1' AS School_id, 't1' AS Teacher_id, 'Ann' AS First_name, 'Lee' AS Last_name FROM t",
        ),
        ("sections", "SELECT 's1' AS School_id, 'c1' AS Section_id, 't1' AS Teacher_id FROM t"),
        ("enrollments", "SELECT 's1' AS School_id, 'c1' AS Section_id, 'p1' AS Student_id FROM t"),
    ];
    for (name, sql) in queries {
        ws.write(&format!("q/{name}.sql"), sql);
    }
    db
}

#[test]
fn send_files_delivers_the_csv_files_loose_to_sftp_and_replaces_them_the_next_night() {
    let (remote, relative) = remote_folder("clever-files");
    let mut ws = Workspace::new();
    let db = tiny_clever(&ws, "K");
    let destination = format!(
        "kind = \"sftp\"\nhost = \"{}\"\nport = {}\nuser = \"{}\"\npassword = {{ env = \"VENDOR_PW\" }}\n\
         host_key = \"{}\"\nremote_dir = \"{relative}\"\ntimeout = \"10s\"\nsend = \"files\"",
        service("SIS_TEST_SSH_HOST"),
        service("SIS_TEST_SSH_PORT"),
        service("SIS_TEST_SSH_USER"),
        service("SIS_TEST_SSH_HOSTKEY_ED25519"),
    );
    ConfigBuilder::new()
        .sqlite(&db)
        .job(
            JobBuilder::csv("clever", "q")
                .key("format", "clever")
                .key("archive", "clever.zip")
                .destination_raw(&destination),
        )
        .write(&ws);
    ws.set_env("VENDOR_PW", &service("SIS_TEST_SSH_PASSWORD"));
    for night in ["2026-01-15", "2026-01-16"] {
        let keep = format!("kept-{night}");
        let run = ws.run(&["run", "--as-of", night, "--keep", &keep]);
        run.assert_ok();
        assert_eq!(
            listing(&remote),
            ["enrollments.csv", "schools.csv", "sections.csv", "students.csv", "teachers.csv"],
            "the files themselves, no zip and no hidden name left"
        );
        for file in ["schools.csv", "students.csv"] {
            assert_eq!(
                std::fs::read(remote.join(file)).unwrap(),
                std::fs::read(ws.path(&format!("kept-{night}/{file}"))).unwrap(),
                "{file} byte for byte"
            );
        }
    }
    let students = std::fs::read_to_string(remote.join("students.csv")).unwrap();
    assert_eq!(
        students,
        "School_id,Student_id,Student_number,Last_name,First_name,Grade,DOB\r\ns1,p1,1001,Doe,Jo,Kindergarten,03/07/2014\r\n"
    );
    let history = ws.history();
    assert_eq!(history.len(), 2);
    let destination = history[1]["destination"].as_str().unwrap();
    assert!(
        destination.contains(&format!("{relative}/ (5 files: enrollments.csv, schools.csv")),
        "{destination}"
    );
    assert!(history[1]["zip_sha256"].is_string(), "the zip is still built and recorded");
}

#[test]
fn send_files_into_a_local_folder_and_the_config_shows_it() {
    let ws = Workspace::new();
    let db = tiny_clever(&ws, "09");
    std::fs::create_dir_all(ws.path("out")).unwrap();
    ConfigBuilder::new()
        .sqlite(&db)
        .job(
            JobBuilder::csv("clever", "q")
                .key("format", "clever")
                .key("archive", "clever.zip")
                .destination_raw("kind = \"local\"\npath = \"out\"\nsend = \"files\""),
        )
        .write(&ws);
    let config = ws.run(&["config"]);
    config.assert_ok();
    assert!(config.stdout.contains("send = \"files\"") && config.stdout.contains("format = \"clever\""));
    ws.run(&["run", "--as-of", "2026-01-15"]).assert_ok();
    assert_eq!(
        listing(&ws.path("out")),
        ["enrollments.csv", "schools.csv", "sections.csv", "students.csv", "teachers.csv"]
    );
    assert!(std::fs::read_to_string(ws.path("out/students.csv")).unwrap().contains(",9,03/07/2014"));
    // A second job sending its files into the same folder would overwrite them.
    let files_job = |name: &str| {
        JobBuilder::csv(name, "q")
            .key("format", "clever")
            .key("archive", &format!("{name}.zip"))
            .destination_raw("kind = \"local\"\npath = \"out\"\nsend = \"files\"")
    };
    let two = Workspace::new();
    ConfigBuilder::new().sqlite(&db).job(files_job("a")).job(files_job("b")).write(&two);
    two.run(&["config"]).assert_code(2).assert_stderr_contains(
        "job[1].archive: job \"b\" delivers its files (send = \"files\") to local folder",
    );
    // A dry run sends nothing anywhere.
    std::fs::remove_dir_all(ws.path("out")).unwrap();
    std::fs::create_dir_all(ws.path("out")).unwrap();
    ws.run(&["run", "--dry-run", "--as-of", "2026-01-15"]).assert_ok();
    assert!(listing(&ws.path("out")).is_empty());
}

#[test]
fn a_query_that_does_not_fit_clevers_format_is_named_with_the_fix() {
    // An unknown grade: the grade_map fix is named.
    let ws = Workspace::new();
    let db = tiny_clever(&ws, "Kinder");
    std::fs::create_dir_all(ws.path("out")).unwrap();
    let write = |extra: &str| {
        let job = JobBuilder::csv("clever", "q").key("format", "clever").key("archive", "clever.zip");
        let job = if extra.is_empty() { job } else { job.raw(extra) };
        ConfigBuilder::new().sqlite(&db).job(job).write(&ws);
    };
    write("");
    ws.run(&["run", "--as-of", "2026-01-15"]).assert_code(1).assert_stderr_contains(
        "students.csv row 1: Grade = \"Kinder\" is not a grade sis-extract knows; add it to the job's grade_map",
    );
    write("grade_map = { \"Kinder\" = \"KG\" }");
    ws.run(&["run", "--as-of", "2026-01-15"]).assert_ok();

    // A column Clever does not know, and a required one missing.
    ws.write(
        "q/teachers.sql",
        "SELECT 's1' AS School_id, 't1' AS Teacher_id, 'Ann' AS FirstName, 'Lee' AS Last_name FROM t",
    );
    ws.run(&["run", "--as-of", "2026-01-15"]).assert_code(1).assert_stderr_contains(
        "teachers.sql: column \"FirstName\" is not a Clever teachers.csv column; the columns are School_id, Teacher_id",
    );
    ws.write("q/teachers.sql", "SELECT 's1' AS School_id, 't1' AS Teacher_id, 'Lee' AS Last_name FROM t");
    ws.run(&["run", "--as-of", "2026-01-15"])
        .assert_code(1)
        .assert_stderr_contains("teachers.sql has no column First_name; Clever's teachers.csv needs it");

    // A required value that is empty, a file Clever does not have, a missing required file.
    ws.write(
        "q/teachers.sql",
        "SELECT 's1' AS School_id, NULL AS Teacher_id, 'Ann' AS First_name, 'Lee' AS Last_name FROM t",
    );
    ws.run(&["run", "--as-of", "2026-01-15"])
        .assert_code(1)
        .assert_stderr_contains("teachers.csv row 1: Teacher_id is empty, and Clever needs it on every row");
    ws.write("q/admins.sql", "SELECT 1 AS a FROM t");
    ws.run(&["run", "--as-of", "2026-01-15"]).assert_code(1).assert_stderr_contains(
        "\"admins\" is not a Clever file; the query files must be named schools.sql, students.sql, teachers.sql, sections.sql, enrollments.sql, staff.sql",
    );
    std::fs::remove_file(ws.path("q/admins.sql")).unwrap();
    std::fs::remove_file(ws.path("q/sections.sql")).unwrap();
    ws.run(&["run", "--as-of", "2026-01-15"])
        .assert_code(1)
        .assert_stderr_contains("has no sections.sql; Clever requires sections.csv");
    // source_system names the OneRoster manifest's system: not for Clever.
    write("source_system = \"Campus\"");
    ws.run(&["config"])
        .assert_code(2)
        .assert_stderr_contains("job[0].source_system: only applies to the OneRoster formats");
}

//! The demo query set against the Campus-like fixture: it runs end to end on SQLite (what
//! `scripts/demo` does), applies the exclusions it promises, and the very same query files
//! give byte-identical CSV files on PostgreSQL, so the fixture and the queries really are
//! portable.

use std::path::Path;

use crate::support::{
    ConfigBuilder, JobBuilder, Workspace, parse_csv, psql, service, sqlite, unzip_entry, zip_names,
};

const FILES: [&str; 4] = ["rosters.csv", "sections.csv", "staff.csv", "students.csv"];

/// A workspace whose one job runs `queries/demo` from the repository into `out`.
/// The demo job; `source` sets up the `[source]`.
fn workspace(source: impl FnOnce(ConfigBuilder) -> ConfigBuilder) -> Workspace {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path("out")).unwrap();
    let queries = crate::support::repo().join("queries/demo");
    source(ConfigBuilder::new()).job(JobBuilder::csv("demo", &queries.display().to_string())).write(&ws);
    ws
}

fn sqlite_workspace() -> Workspace {
    let dir = tempfile::tempdir().unwrap().keep();
    let db = dir.join("campus.db");
    sqlite(&db, campus_fixture::SCHEMA);
    sqlite(&db, &crate::support::generated_fixture().0);
    workspace(|config| config.sqlite(&db))
}

fn read_set(zip: &Path) -> Vec<(String, String)> {
    FILES.iter().map(|f| (f.to_string(), unzip_entry(zip, f))).collect()
}

#[test]
fn the_demo_runs_on_the_sqlite_fixture_and_applies_its_filters() {
    let ws = sqlite_workspace();
    ws.run(&["run", "--as-of", "2026-01-15"]).assert_ok();
    let zip = ws.path("out/demo-20260115.zip");
    assert_eq!(zip_names(&zip), FILES);
    let students = parse_csv(&unzip_entry(&zip, "students.csv"));
    assert_eq!(students[0][0], "person_guid");
    // Exactly the students the generator says a correct extract holds on 2026-01-15: each
    // exclusion filter of students.sql removes at least one planted student, so dropping
    // any of them changes the count (289 instead of 280 without the five flag filters).
    let expected = &crate::support::generated_fixture().1;
    assert_eq!(expected["as_of"], "2026-01-15");
    assert_eq!(
        (students.len() - 1) as u64,
        expected["active_students"].as_u64().unwrap(),
        "students.csv has the fixture's number of active students"
    );
    // And the very students each exclusion is there for are absent.
    for reason in [
        "no_show",
        "state_exclude",
        "excluded_school",
        "excluded_calendar",
        "next_year_only",
        "withdrawn_before_as_of",
        "not_started_by_as_of",
        "orphans",
    ] {
        for guid in expected["must_be_absent"][reason].as_array().unwrap() {
            let guid = guid.as_str().unwrap();
            assert!(
                !students.iter().any(|row| row[0].eq_ignore_ascii_case(guid)),
                "{reason}: student {guid} must not be in students.csv"
            );
        }
    }
    // Every student appears once, whatever the number of enrollments.
    let mut guids: Vec<&String> = students[1..].iter().map(|r| &r[0]).collect();
    let total = guids.len();
    guids.sort();
    guids.dedup();
    assert_eq!(guids.len(), total, "no duplicate students");
    for file in FILES {
        let rows = parse_csv(&unzip_entry(&zip, file));
        assert!(rows.len() > 1, "{file} has rows");
    }
}

#[test]
fn sqlite_and_postgresql_give_identical_files() {
    let ws = sqlite_workspace();
    ws.run(&["run", "--as-of", "2026-01-15"]).assert_ok();
    let on_sqlite = read_set(&ws.path("out/demo-20260115.zip"));

    // A database of its own on the test server, owned by the owner role, readable by the
    // read-only role sis-extract connects as.
    let database = format!("campus_{}", std::process::id());
    let superuser = service("SIS_TEST_PG_SUPERUSER_URL");
    let reader = service("SIS_TEST_PG_READER_USER");
    psql(&superuser, &format!("DROP DATABASE IF EXISTS {database}"));
    psql(&superuser, &format!("CREATE DATABASE {database} OWNER sis_owner"));
    let owner_url = service("SIS_TEST_PG_OWNER_URL").replace("/sis_test", &format!("/{database}"));
    psql(&owner_url, campus_fixture::SCHEMA);
    psql(&owner_url, &crate::support::generated_fixture().0);
    psql(&owner_url, &format!("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {reader}"));

    let connection =
        service("SIS_TEST_PG_CONN").replace("Database=sis_test", &format!("Database={database}"));
    let mut ws = workspace(|config| {
        config.source(&connection).source_key("user", &reader).source_raw("password = { env = \"DB_PW\" }")
    });
    ws.set_env("DB_PW", &service("SIS_TEST_PG_READER_PASSWORD"));
    let run = ws.run(&["run", "--as-of", "2026-01-15"]);
    psql(&superuser, &format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"));
    run.assert_ok();
    let on_postgres = read_set(&ws.path("out/demo-20260115.zip"));
    for ((file, sqlite_text), (_, postgres_text)) in on_sqlite.iter().zip(&on_postgres) {
        assert_eq!(sqlite_text, postgres_text, "{file} differs between SQLite and PostgreSQL");
    }
}

/// The README's demo (`scripts/demo`) is a first run: its run command, on a layout like
/// the repository's with examples/demo.toml as a checkout leaves it (mode 0644) and no
/// history yet, prints no warning at all.
#[test]
fn the_readmes_demo_command_prints_no_warning_on_a_first_run() {
    use std::os::unix::fs::PermissionsExt;
    let ws = Workspace::new();
    let repo = crate::support::repo();
    let demo = std::fs::read_to_string(repo.join("examples/demo.toml")).unwrap();
    let config = ws.path("examples/demo.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, demo).unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    // The query folders demo.toml names, copied (a folder of links would be another test).
    for set in ["queries/demo", "queries/infinite-campus/oneroster-1.1"] {
        std::fs::create_dir_all(ws.path(set)).unwrap();
        for entry in std::fs::read_dir(repo.join(set)).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), ws.path(set).join(entry.file_name())).unwrap();
        }
    }
    // What scripts/demo makes before it runs: the database and the output folder.
    std::fs::create_dir_all(ws.path("target/demo/out")).unwrap();
    let db = ws.path("target/demo/campus.db");
    sqlite(&db, campus_fixture::SCHEMA);
    sqlite(&db, &crate::support::generated_fixture().0);
    // scripts/demo's command, from the repository root.
    let output = std::process::Command::new(crate::support::bin())
        .current_dir(ws.dir.path())
        .args(["-c", "examples/demo.toml", "run", "--as-of", "2026-01-15"])
        .env_remove("SIS_EXTRACT_CONFIG")
        .env_remove("SIS_EXTRACT_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.to_lowercase().contains("warn"), "a first run prints no warning:\n{stderr}");
    assert!(ws.path("target/demo/out/oneroster-20260115.zip").exists());
}

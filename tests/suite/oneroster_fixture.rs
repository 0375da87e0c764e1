//! The shipped Infinite Campus OneRoster query set, run by the real binary against the
//! Campus-like fixture on SQLite and on PostgreSQL: the set passes validation (a run
//! refuses to deliver otherwise), has what the fixture says it must, carries every name
//! byte for byte, and is identical on both databases. Also: the column-mapping errors.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::support::{
    ConfigBuilder, JobBuilder, Workspace, parse_csv, psql, service, sqlite, unzip_entry, zip_names,
};

fn shipped_queries() -> String {
    crate::support::repo().join("queries/infinite-campus/oneroster-1.1").display().to_string()
}

fn sqlite_fixture() -> PathBuf {
    let db = tempfile::tempdir().unwrap().keep().join("campus.db");
    sqlite(&db, campus_fixture::SCHEMA);
    sqlite(&db, &crate::support::generated_fixture().0);
    db
}

/// A workspace whose one job writes `format` from `queries` into `out`.
/// A OneRoster job reading `queries` in `format`; `source` sets up the `[source]`.
fn workspace(source: impl FnOnce(ConfigBuilder) -> ConfigBuilder, queries: &str, format: &str) -> Workspace {
    workspace_for(source, queries, format, None)
}

/// [`workspace`] with the job's `people` setting (`None`: not written, the default).
fn workspace_for(
    source: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
    queries: &str,
    format: &str,
    people: Option<&str>,
) -> Workspace {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path("out")).unwrap();
    let mut job = JobBuilder::csv("or", queries).key("format", format).key("archive", "oneroster-{date}.zip");
    if let Some(people) = people {
        job = job.key("people", people);
    }
    source(ConfigBuilder::new()).job(job).write(&ws);
    ws
}

/// The user of users.csv with this given and family name.
fn user<'a>(users: &'a [HashMap<String, String>], given: &str, family: &str) -> &'a HashMap<String, String> {
    users
        .iter()
        .find(|u| u["givenName"] == given && u["familyName"] == family)
        .unwrap_or_else(|| panic!("{given} {family} is not in users.csv"))
}

/// A SQLite database file as the source.
fn sqlite_source(db: &Path) -> impl FnOnce(ConfigBuilder) -> ConfigBuilder + '_ {
    move |config| config.sqlite(db)
}

/// Rows of one CSV in the zip, as maps from header to value.
fn records(zip: &Path, file: &str) -> Vec<HashMap<String, String>> {
    let rows = parse_csv(&unzip_entry(zip, file));
    let header = rows[0].clone();
    rows[1..].iter().map(|r| header.iter().cloned().zip(r.iter().cloned()).collect()).collect()
}

#[test]
fn the_shipped_queries_give_a_valid_complete_set_on_sqlite() {
    let db = sqlite_fixture();
    let ws = workspace(sqlite_source(&db), &shipped_queries(), "oneroster-1.1");
    ws.run(&["run", "--as-of", "2026-01-15"]).assert_ok();
    let zip = ws.path("out/oneroster-20260115.zip");
    assert_eq!(
        zip_names(&zip),
        [
            "manifest.csv",
            "academicSessions.csv",
            "classes.csv",
            "courses.csv",
            "demographics.csv",
            "enrollments.csv",
            "orgs.csv",
            "users.csv"
        ]
    );
    // Our own validator said yes (or the run would have failed); `validate` agrees.
    let check = ws.run(&["validate", zip.to_str().unwrap()]);
    check.assert_ok();

    let users = records(&zip, "users.csv");
    let students = users.iter().filter(|u| u["role"] == "student").count();
    assert_eq!(
        students,
        crate::support::generated_fixture().1["oneroster_students"].as_u64().unwrap() as usize
    );

    // The traps the fixture documents.
    let names: Vec<String> =
        users.iter().map(|u| format!("{} {}", u["givenName"], u["familyName"])).collect();
    for absent in [
        "Henry Taylor",
        "Julian Cook",
        "Daniel Scott",
        "Amelia Clark",
        "Maya Cooper",
        "Hazel Howard",
        "Ezra Ward",
        "Victor Alvarez",
    ] {
        assert!(!names.contains(&absent.to_string()), "{absent} must not be in users.csv");
    }
    for present in ["Aarav Patel", "Owen Parker", "Anna Sokolova"] {
        assert!(names.contains(&present.to_string()), "{present} must be in users.csv");
    }
    // Campus's feed: no enabled account of their own, no user (a missing account, a
    // disabled one); a locked account is still enabled. A guardian needs an enabled
    // parent-portal account: Patrick O'Brien has no account, Giulia D'Amico's is disabled.
    for absent in ["Chloe Martin", "Elijah White", "Patrick O'Brien", "Giulia D'Amico"] {
        assert!(!names.contains(&absent.to_string()), "{absent} has no enabled account: not in users.csv");
    }
    assert_eq!(user(&users, "Emily", "Green")["username"], "s100129", "locked, still sent");
    // A teacher who is also a parent has two accounts, the parent one with the lower
    // userID: he is sent with his work account, and still linked to his daughter.
    let becker = user(&users, "Thomas", "Becker");
    assert_eq!((becker["role"].as_str(), becker["username"].as_str()), ("teacher", "thomas.becker"));
    assert!(becker["agentSourcedIds"].contains(&user(&users, "Lily", "Becker")["sourcedId"]));
    // José Ramírez also has a secondary enrollment at another school: his orgs are his
    // primary school only, while his class there is kept (the row names its own school).
    let jose = user(&users, "José", "Ramírez");
    assert_eq!(jose["orgSourcedIds"].split(',').count(), 1, "primary school only");
    let enrollments = records(&zip, "enrollments.csv");
    let jose_schools: std::collections::BTreeSet<&str> = enrollments
        .iter()
        .filter(|e| e["userSourcedId"] == jose["sourcedId"])
        .map(|e| e["schoolSourcedId"].as_str())
        .collect();
    assert_eq!(jose_schools.len(), 2, "classes at the secondary school are kept: {jose_schools:?}");
    let co_teachers =
        enrollments.iter().filter(|e| e["role"] == "teacher" && e["primary"] == "false").count();
    assert!(co_teachers >= 3, "co-taught sections keep their co-teachers: {co_teachers}");
    let guardians: Vec<_> = users.iter().filter(|u| u["role"] == "guardian").collect();
    assert!(
        guardians
            .iter()
            .any(|g| g["familyName"] == "O'Brien" && g["agentSourcedIds"].split(',').count() == 2),
        "a guardian of two students links to both"
    );
    // Every user's name is exactly what Campus holds, accents, scripts, quotes and commas included.
    let stored: HashMap<String, (String, String)> = sqlite(
        &db,
        ".mode list\n.separator \"\\t\"\nSELECT p.personGUID, i.firstName, i.lastName FROM Person p JOIN \"identity\" i ON i.identityID = p.currentIdentityID;",
    )
    .lines()
    .map(|l| {
        let f: Vec<&str> = l.split('\t').collect();
        (f[0].to_string(), (f[1].to_string(), f[2].to_string()))
    })
    .collect();
    for user in &users {
        let (first, last) = &stored[&user["sourcedId"]];
        assert_eq!((&user["givenName"], &user["familyName"]), (first, last));
    }
    let all = names.join("|");
    for awkward in ["O'Brien", "Zoë", "Nguyễn", "小明", "Иванов"] {
        assert!(all.contains(awkward), "{awkward} reaches users.csv");
    }
}

#[test]
fn row_counts_match_what_the_generator_put_in() {
    let expected = &crate::support::generated_fixture().1;
    let count =
        |key: &str| expected[key].as_u64().unwrap_or_else(|| panic!("expected.json has no {key}")) as usize;
    let db = sqlite_fixture();
    let ws = workspace(sqlite_source(&db), &shipped_queries(), "oneroster-1.1");
    ws.run(&["run", "--as-of", "2026-01-15"]).assert_ok();
    let zip = ws.path("out/oneroster-20260115.zip");
    assert_eq!(records(&zip, "orgs.csv").len(), count("orgs"));
    assert_eq!(records(&zip, "academicSessions.csv").len(), count("academic_sessions"));
    assert_eq!(records(&zip, "courses.csv").len(), count("active_courses"));
    assert_eq!(records(&zip, "classes.csv").len(), count("active_sections"));
    let users = records(&zip, "users.csv");
    assert_eq!(users.len(), count("users"));
    let role = |r: &str| users.iter().filter(|u| u["role"] == r).count();
    assert_eq!(role("student"), count("oneroster_students"));
    assert_eq!(role("teacher"), count("teachers"));
    assert_eq!(role("administrator"), count("administrators"));
    assert_eq!(role("aide"), count("aides"));
    assert_eq!(role("guardian"), count("guardians"));
    let enrollments = records(&zip, "enrollments.csv");
    let of = |r: &str, primary: &str| {
        enrollments.iter().filter(|e| e["role"] == r && e["primary"] == primary).count()
    };
    // primary is "applicable only to teachers": students leave it blank.
    assert_eq!(of("student", ""), count("student_enrollments"));
    assert_eq!(of("student", "false") + of("student", "true"), 0);
    assert_eq!(of("teacher", "true"), count("teacher_enrollments"));
    assert_eq!(of("teacher", "false"), count("co_teacher_enrollments"), "co-teachers present");
    // Every trap the generator lists is absent, and every showcase person present.
    let ids: std::collections::HashSet<&str> = users.iter().map(|u| u["sourcedId"].as_str()).collect();
    let classes: std::collections::HashSet<String> =
        records(&zip, "classes.csv").into_iter().map(|c| c["sourcedId"].clone()).collect();
    for (trap, values) in expected["must_be_absent"].as_object().unwrap() {
        for value in values.as_array().unwrap() {
            let present = match value {
                // Draft-trial and inactive-course sections, by section id.
                serde_json::Value::Number(section) => classes.contains(&format!("class-{section}")),
                value => ids.contains(value.as_str().unwrap()),
            };
            assert!(!present, "{trap} {value} must be absent");
        }
    }
    for (kind, values) in expected["must_be_present"].as_object().unwrap() {
        for value in values.as_array().unwrap() {
            let found = match value {
                // Sections without anyone enrolled are still classes.
                serde_json::Value::Number(section) => classes.contains(&format!("class-{section}")),
                value => {
                    let value = value.as_str().unwrap();
                    ids.contains(value) || users.iter().any(|u| u.values().any(|field| field == value))
                }
            };
            assert!(found, "{kind} {value} must be present");
        }
    }
}

#[test]
fn people_everyone_also_sends_those_without_an_account_with_derived_usernames() {
    let expected = &crate::support::generated_fixture().1;
    let db = sqlite_fixture();
    let default = workspace(sqlite_source(&db), &shipped_queries(), "oneroster-1.1");
    default.run(&["run", "--as-of", "2026-01-15"]).assert_ok();
    let everyone = workspace_for(sqlite_source(&db), &shipped_queries(), "oneroster-1.1", Some("everyone"));
    // The set still passes validation: enrollments and demographics follow users.
    everyone.run(&["run", "--as-of", "2026-01-15"]).assert_ok();
    let zip = everyone.path("out/oneroster-20260115.zip");
    let users = records(&zip, "users.csv");
    let before = records(&default.path("out/oneroster-20260115.zip"), "users.csv");
    assert_eq!(before.len() as u64, expected["users"].as_u64().unwrap());
    assert!(users.len() > before.len(), "everyone: {} users, default: {}", users.len(), before.len());
    // Every person the default leaves out for want of an (enabled, portal) account is sent.
    let ids: std::collections::HashSet<&str> = users.iter().map(|u| u["sourcedId"].as_str()).collect();
    for list in [
        "students_without_account",
        "student_accounts_disabled",
        "guardians_without_portal",
        "staff_accounts_disabled",
    ] {
        let guids = expected["must_be_absent"][list].as_array().unwrap();
        assert!(!guids.is_empty(), "{list}");
        for guid in guids {
            assert!(ids.contains(guid.as_str().unwrap()), "everyone: {list} {guid} is sent");
        }
    }
    // Usernames: the account's (even a disabled one), else the student number, else the
    // e-mail, else the GUID; a staff member who is also a parent still gets the work account.
    assert_eq!(user(&users, "Elijah", "White")["username"], "s100119", "disabled account's username");
    let chloe = user(&users, "Chloe", "Martin");
    assert_eq!(chloe["username"], chloe["identifier"], "no account: the student number");
    assert_eq!(
        user(&users, "Patrick", "O'Brien")["username"],
        user(&users, "Patrick", "O'Brien")["sourcedId"]
    );
    assert_eq!(user(&users, "Thomas", "Becker")["username"], "thomas.becker");
    // Still no secondary-only students: they have no primary school to belong to.
    for guid in expected["must_be_absent"]["secondary_only"].as_array().unwrap() {
        assert!(!ids.contains(guid.as_str().unwrap()), "secondary only {guid}");
    }
}

/// The one time rule: everything follows the active school year, and people and
/// enrollments are those current on the as-of date moved into that year. A run in July
/// before the active year starts sends the year as of its first day; a run after its
/// last day (before the next year is made active) sends it as of its last day. Never
/// classes without anyone in them.
#[test]
fn a_run_outside_the_active_year_sends_it_as_of_its_first_or_last_day() {
    let db = sqlite_fixture();
    let run = |as_of: &str| {
        let ws = workspace(sqlite_source(&db), &shipped_queries(), "oneroster-1.1");
        ws.run(&["run", "--as-of", as_of]).assert_ok();
        let zip = ws.path(&format!("out/oneroster-{}.zip", as_of.replace('-', "")));
        zip_names(&zip).into_iter().map(|name| (unzip_entry(&zip, &name), name)).collect::<Vec<_>>()
    };
    // The active year (2025-26) runs from 2025-08-20 to 2026-06-05 in the fixture.
    for (outside, inside) in [("2025-07-15", "2025-08-20"), ("2026-07-15", "2026-06-05")] {
        let (a, b) = (run(outside), run(inside));
        assert_eq!(a.len(), b.len());
        for ((text, name), (same, _)) in a.iter().zip(&b) {
            assert!(text == same, "{outside}: {name} differs from the run as of {inside}");
        }
        let enrollments = &a.iter().find(|(_, name)| name == "enrollments.csv").unwrap().0;
        let students = enrollments.lines().filter(|l| l.contains(",student,")).count();
        assert!(students > 1000, "{outside}: classes have their students ({students} student enrollments)");
    }
}

#[test]
fn sqlite_and_postgresql_give_identical_sets_in_both_versions() {
    let db = sqlite_fixture();
    let database = format!("oneroster_{}", std::process::id());
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
    let pg_source = |config: ConfigBuilder| {
        config.source(&pg_connection).source_key("user", &reader).source_raw("password = { env = \"DB_PW\" }")
    };
    let mut results = Vec::new();
    // Both versions with the default people setting, and 1.1 with people = "everyone".
    for (format, people) in
        [("oneroster-1.1", None), ("oneroster-1.2", None), ("oneroster-1.1", Some("everyone"))]
    {
        let on_sqlite = workspace_for(sqlite_source(&db), &shipped_queries(), format, people);
        on_sqlite.run(&["run", "--as-of", "2026-01-15"]).assert_ok();
        let mut on_pg = workspace_for(pg_source, &shipped_queries(), format, people);
        on_pg.set_env("DB_PW", &service("SIS_TEST_PG_READER_PASSWORD"));
        results.push((format, on_pg.run(&["run", "--as-of", "2026-01-15"]), on_sqlite, on_pg));
    }
    psql(&superuser, &format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"));
    for (format, run, on_sqlite, on_pg) in results {
        run.assert_ok();
        let a = on_sqlite.path("out/oneroster-20260115.zip");
        let b = on_pg.path("out/oneroster-20260115.zip");
        let names = zip_names(&a);
        assert_eq!(names, zip_names(&b));
        for name in &names {
            assert_eq!(
                unzip_entry(&a, name),
                unzip_entry(&b, name),
                "{format}: {name} differs between SQLite and PostgreSQL"
            );
        }
        if format == "oneroster-1.2" {
            assert!(names.contains(&"roles.csv".to_string()));
            let users = unzip_entry(&a, "users.csv");
            assert!(
                users.starts_with("sourcedId,status,dateLastModified,enabledUser,username,userIds,"),
                "1.2 users header"
            );
            // 1.2.1: no resourceSourcedIds; ids only of 0-9 a-z A-Z . - _ / @ (no `user:org`).
            assert!(!users.lines().next().unwrap().contains("resourceSourcedIds"), "1.2.1 users header");
            let roles = parse_csv(&unzip_entry(&a, "roles.csv"));
            assert!(roles.len() > 1);
            for role in &roles[1..] {
                assert_eq!(role[0], format!("{}.{}", role[3], role[8]), "roles.csv sourcedId is user.org");
            }
            let manifest = unzip_entry(&a, "manifest.csv");
            assert!(manifest.contains("oneroster.version,1.2") && manifest.contains("file.roles,bulk"));
        }
    }
}

#[test]
fn column_mapping_errors_name_the_file_and_column() {
    let db = sqlite_fixture();
    let ws = Workspace::new();
    let queries = ws.path("q");
    std::fs::create_dir_all(&queries).unwrap();
    for entry in std::fs::read_dir(shipped_queries()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, queries.join(path.file_name().unwrap())).unwrap();
    }
    let cases: [(&str, &str, &str); 4] = [
        (
            "orgs.sql",
            "SELECT 'd1' AS sourcedId, 'D' AS name, 'district' AS type, 'x' AS colour",
            "orgs.sql: column \"colour\" is not a field of orgs.csv (OneRoster 1.1)",
        ),
        (
            "orgs.sql",
            "SELECT 'd1' AS sourcedId, 'D' AS name",
            "orgs.sql: the query has no column \"type\", which orgs.csv requires",
        ),
        (
            "orgs.sql",
            "SELECT 'd1' AS sourcedId, 'D' AS name, 'district' AS type UNION ALL SELECT 'd1', 'E', 'district'",
            "orgs.sql: rows 1 and 2 both have sourcedId \"d1\" but different name (\"D\" and \"E\")",
        ),
        (
            "students.sql",
            "SELECT 1 AS a",
            "\"students\" is not a OneRoster 1.1 file; the query files must be named orgs.sql, academicSessions.sql",
        ),
    ];
    for (file, sql, message) in cases {
        let saved = std::fs::read_to_string(queries.join(file)).ok();
        std::fs::write(queries.join(file), sql).unwrap();
        let ws2 = workspace(sqlite_source(&db), &queries.display().to_string(), "oneroster-1.1");
        ws2.run(&["run", "--as-of", "2026-01-15"]).assert_code(1).assert_stderr_contains(message);
        match saved {
            Some(text) => std::fs::write(queries.join(file), text).unwrap(),
            None => std::fs::remove_file(queries.join(file)).unwrap(),
        }
    }
    std::fs::remove_file(queries.join("users.sql")).unwrap();
    let ws3 = workspace(sqlite_source(&db), &queries.display().to_string(), "oneroster-1.1");
    ws3.run(&["run"])
        .assert_code(1)
        .assert_stderr_contains("has no users.sql; a OneRoster set needs users.csv");
}

#[test]
fn a_set_that_fails_validation_is_not_delivered_and_is_kept_with_a_report() {
    let db = sqlite_fixture();
    let ws = Workspace::new();
    let queries = ws.path("q");
    std::fs::create_dir_all(&queries).unwrap();
    for entry in std::fs::read_dir(shipped_queries()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, queries.join(path.file_name().unwrap())).unwrap();
    }
    // Enrollments that point at a class that is not in classes.csv.
    let enrollments = std::fs::read_to_string(queries.join("enrollments.sql")).unwrap();
    std::fs::write(
        queries.join("enrollments.sql"),
        "SELECT 'e1' AS sourcedId, 'class-404' AS classSourcedId, 'district-1' AS schoolSourcedId, 'nobody' AS userSourcedId, 'student' AS role",
    )
    .unwrap();
    let ws2 = workspace(sqlite_source(&db), &queries.display().to_string(), "oneroster-1.1");
    let run = ws2.run(&["run", "--as-of", "2026-01-15"]);
    run.assert_code(1)
        .assert_stderr_contains(
            "the OneRoster set failed validation with 2 problem(s), so nothing was delivered",
        )
        .assert_stderr_contains(
            "enrollments.csv row 2, classSourcedId: \"class-404\" is not a sourcedId in classes.csv",
        )
        .assert_stderr_contains("validation-report.txt");
    assert!(std::fs::read_dir(ws2.path("out")).unwrap().next().is_none(), "nothing delivered");
    let kept = run.stderr.split("the set is kept in ").nth(1).unwrap().trim();
    assert!(Path::new(kept).join("enrollments.csv").exists());
    assert!(
        std::fs::read_to_string(Path::new(kept).join("validation-report.txt"))
            .unwrap()
            .contains("userSourcedId")
    );
    assert_eq!(ws2.history()[0]["outcome"], "failed");
    drop(enrollments);
}

#[test]
fn init_writes_each_vendor_profile_and_never_overwrites() {
    for vendor in ["schoolstatus", "empower", "schoology", "classlink", "generic-oneroster"] {
        let mut ws = Workspace::new();
        ws.set_env("SIS_DB_PASSWORD", "x");
        ws.set_env("VENDOR_SFTP_PASSWORD", "x");
        ws.run(&["init", "--vendor", vendor]).assert_ok();
        let run = ws.run(&["config"]);
        assert_eq!(run.code, 0, "{vendor}: {}", run.stderr);
        assert!(run.stdout.contains("format = \"oneroster-1."), "{vendor}");
        ws.run(&["init", "--vendor", vendor]).assert_code(2).assert_stderr_contains("already exists");
    }
    let ws = Workspace::new();
    let run = ws.run(&["init", "--vendor", "schoolstatus"]);
    run.assert_ok();
    let text = std::fs::read_to_string(ws.path("config.toml")).unwrap();
    assert!(text.contains("timezone = \"America/Chicago\"") && text.contains("archive = \"oneroster.zip\""));
}

/// The OneRoster semantics of issue 25: exclusive enrollment ends, `primary` for teachers
/// only, next term's sections, grades and subjects of courses and classes, and term
/// titles that name their school, each checked against what Campus (the fixture) holds.
#[test]
fn the_set_follows_oneroster_semantics_exclusive_ends_teacher_primary_upcoming_grades_subjects_titles() {
    let db = sqlite_fixture();
    let ws = workspace(sqlite_source(&db), &shipped_queries(), "oneroster-1.1");
    ws.run(&["run", "--as-of", "2026-01-15"]).assert_ok();
    let zip = ws.path("out/oneroster-20260115.zip");
    let enrollments = records(&zip, "enrollments.csv");
    let day_after = |date: &str| {
        let d = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
        d.succ_opt().unwrap().format("%Y-%m-%d").to_string()
    };
    // Student rows with an explicit Roster end: the file holds the day after it.
    let roster_ends: HashMap<String, String> = sqlite(
        &db,
        ".mode list\n.separator \"\\t\"\nSELECT rosterID, endDate FROM Roster WHERE endDate IS NOT NULL;",
    )
    .lines()
    .map(|l| {
        let (id, end) = l.split_once('\t').unwrap();
        (format!("enr-s-{id}"), end.to_string())
    })
    .collect();
    let mut checked = 0;
    for e in enrollments.iter().filter(|e| roster_ends.contains_key(&e["sourcedId"])) {
        assert_eq!(e["endDate"], day_after(&roster_ends[&e["sourcedId"]]), "{e:?}");
        checked += 1;
    }
    assert!(checked > 0, "some rosters end on a given day");
    // primary: teachers only.
    assert!(enrollments.iter().filter(|e| e["role"] == "student").all(|e| e["primary"].is_empty()));
    assert!(
        enrollments
            .iter()
            .filter(|e| e["role"] == "teacher")
            .all(|e| e["primary"] == "true" || e["primary"] == "false")
    );
    // Next term's sections are in, with their later beginDate.
    let upcoming = enrollments.iter().filter(|e| e["beginDate"].as_str() > "2026-01-15").count();
    assert!(upcoming > 0, "enrollments that begin after the as-of date are sent");

    // The inclusive reading, for a receiver that documents it: Campus's last day itself.
    let config = std::fs::read_to_string(ws.path("config.toml")).unwrap();
    ws.write(
        "config.toml",
        &config.replace(
            "format = \"oneroster-1.1\"",
            "format = \"oneroster-1.1\"\nenrollment_end_date = \"inclusive\"",
        ),
    );
    std::fs::remove_dir_all(ws.path("out")).unwrap();
    std::fs::create_dir_all(ws.path("out")).unwrap();
    ws.run(&["run", "--as-of", "2026-01-15", "--force"]).assert_ok();
    let inclusive = records(&zip, "enrollments.csv");
    for e in inclusive.iter().filter(|e| roster_ends.contains_key(&e["sourcedId"])) {
        assert_eq!(e["endDate"], roster_ends[&e["sourcedId"]], "{e:?}");
    }

    // Grades from who is scheduled into the course, subjects from its SCED state code.
    let courses = records(&zip, "courses.csv");
    let algebra = courses.iter().find(|c| c["title"] == "Algebra I").expect("Algebra I is a course");
    assert_eq!(algebra["subjects"], "Mathematics");
    assert_eq!(algebra["subjectCodes"], "02052");
    assert!(!algebra["grades"].is_empty(), "{algebra:?}");
    let with_grades = courses.iter().filter(|c| !c["grades"].is_empty()).count();
    assert!(with_grades * 2 > courses.len(), "most courses have students, so grades: {with_grades}");
    let classes = records(&zip, "classes.csv");
    let algebra_class = classes.iter().find(|c| c["courseSourcedId"] == algebra["sourcedId"]).unwrap();
    assert_eq!(
        (algebra_class["subjects"].as_str(), algebra_class["subjectCodes"].as_str()),
        ("Mathematics", "02052")
    );
    assert!(!algebra_class["grades"].is_empty(), "{algebra_class:?}");
    // A subject name holds no comma: it would split in OneRoster's comma-separated list.
    assert!(classes.iter().all(|c| c["subjects"].split(',').count() <= 1), "one subject per class");
    // Terms name their school; ids stay Campus's termIDs.
    let sessions = records(&zip, "academicSessions.csv");
    let terms: Vec<_> = sessions.iter().filter(|s| s["type"] == "term").collect();
    assert!(!terms.is_empty());
    for term in &terms {
        assert!(term["sourcedId"].starts_with("term-"), "{term:?}");
        assert!(term["title"].ends_with(')') && term["title"].contains(" ("), "{term:?}");
    }
    let titles: std::collections::HashSet<&str> = terms.iter().map(|t| t["title"].as_str()).collect();
    let same_dates: std::collections::HashSet<(&str, &str)> =
        terms.iter().map(|t| (t["startDate"].as_str(), t["endDate"].as_str())).collect();
    assert!(titles.len() > same_dates.len(), "schools sharing term dates are told apart by title");
}

//! Receivers' published rules (`validate --for`, a job's `receiver`), with the real
//! binary: each rule class fires with the right count on hand-made sets, `--json` parses
//! and groups by rule, the Campus-like fixture sent to Schoology is delivered with its
//! warnings recorded, and a rule marked error keeps the set and delivers nothing.

use std::path::PathBuf;

use serde_json::Value;

use crate::oneroster_validation::{SCHOOL, STUDENT, TEACHER, edit, valid_set, write_set};
use crate::support::{ConfigBuilder, JobBuilder, Workspace, sqlite, unzip_entry};

type Set = Vec<(&'static str, String)>;

/// `validate set --for RECEIVER` on the valid set after `change`: (exit code, stdout).
fn validate_for(receiver: &str, change: impl FnOnce(&mut Set)) -> (i32, String) {
    let ws = Workspace::new();
    let mut set = valid_set();
    change(&mut set);
    write_set(&ws.path("set"), &set);
    let run = ws.run(&["validate", "set", "--for", receiver]);
    (run.code, run.stdout)
}

/// The same with `--json`: (exit code, the parsed report).
fn json_for(receiver: &str, change: impl FnOnce(&mut Set)) -> (i32, Value) {
    let ws = Workspace::new();
    let mut set = valid_set();
    change(&mut set);
    write_set(&ws.path("set"), &set);
    let run = ws.run(&["validate", "set", "--for", receiver, "--json"]);
    let report = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout));
    (run.code, report)
}

/// The finding of `rule` in a JSON report.
fn finding<'a>(report: &'a Value, rule: &str) -> Option<&'a Value> {
    report["findings"].as_array().unwrap().iter().find(|f| f["rule"] == rule)
}

#[track_caller]
fn count(report: &Value, rule: &str) -> u64 {
    finding(report, rule).map_or(0, |f| f["count"].as_u64().unwrap())
}

/// Appends `rows` to `file` of the set.
fn append(set: &mut Set, file: &str, rows: &str) {
    set.iter_mut().find(|(n, _)| *n == file).unwrap().1.push_str(rows);
}

#[test]
fn a_clean_set_passes_for_every_receiver() {
    for receiver in ["generic", "schoolstatus", "schoology", "classlink", "clever"] {
        let (code, stdout) = validate_for(receiver, |_| {});
        assert_eq!(code, 0, "{receiver}:\n{stdout}");
        assert!(stdout.contains("valid: no problems found"), "{receiver}:\n{stdout}");
    }
    // The valid set's student has no e-mail: SDS and Canvas key users on it.
    for receiver in ["sds", "canvas"] {
        let (code, stdout) = validate_for(receiver, |_| {});
        assert_eq!(code, 0, "{receiver}:\n{stdout}");
        assert!(stdout.contains("valid, with 1 warning(s)"), "{receiver}:\n{stdout}");
        assert!(
            stdout.contains("! email-missing (warning): a student or teacher has no e-mail: 1"),
            "{stdout}"
        );
    }
    let (_, stdout) = validate_for("generic", |_| {});
    assert!(!stdout.contains("published rules"), "generic adds no rules:\n{stdout}");
}

#[test]
fn schoology_usernames_with_spaces_are_warnings_with_a_count() {
    let change = |s: &mut Set| {
        edit(s, "users.csv", ",zoe.obrien,", ",zoe o brien,");
        edit(s, "users.csv", ",a.lee,", ",a\tlee,");
    };
    let (code, stdout) = validate_for("schoology", change);
    assert_eq!(code, 0, "a warning does not fail the set:\n{stdout}");
    assert!(stdout.contains("! username-spaces (warning): a username contains a space: 2"), "{stdout}");
    assert!(stdout.contains("users.csv line 2, username: \"zoe o brien\""), "{stdout}");
    assert!(stdout.contains("source: Schoology"), "{stdout}");
    // Other receivers do not have the rule.
    let (_, report) = json_for("classlink", change);
    assert_eq!(count(&report, "username-spaces"), 0);
}

#[test]
fn clever_sections_need_students_and_one_primary_teacher() {
    let (code, report) = json_for("clever", |s| {
        append(
            s,
            "classes.csv",
            &format!(
                "class-2,,,Empty,09,course-1,E-1,scheduled,,{SCHOOL},term-1,,,\n\
                 class-3,,,Two leads,09,course-1,T-1,scheduled,,{SCHOOL},term-1,,,\n"
            ),
        );
        append(
            s,
            "enrollments.csv",
            &format!(
                "enr-3,,,class-3,{SCHOOL},{STUDENT},student,false,,\n\
                 enr-4,,,class-3,{SCHOOL},{TEACHER},teacher,true,,\n\
                 enr-5,,,class-3,{SCHOOL},{TEACHER},teacher,true,,\n"
            ),
        );
    });
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["errors"], 0);
    assert_eq!(report["warnings"], 3);
    let without = finding(&report, "clever-section-without-students").unwrap();
    assert_eq!(without["count"], 1);
    assert_eq!(without["examples"][0]["value"], "class-2");
    assert_eq!(without["examples"][0]["file"], "classes.csv");
    assert_eq!(without["examples"][0]["line"], 3);
    let primary = finding(&report, "clever-primary-teacher").unwrap();
    assert_eq!(primary["count"], 2);
    assert_eq!(primary["examples"][0]["value"], "class-2 (0 primary teachers)");
    assert_eq!(primary["examples"][1]["value"], "class-3 (2 primary teachers)");
    assert_eq!(primary["severity"], "warning");
    assert!(primary["source"].as_str().unwrap().starts_with("https://dev.clever.com/"));
}

#[test]
fn sds_and_canvas_count_students_and_teachers_without_email() {
    for receiver in ["sds", "canvas"] {
        let (code, report) = json_for(receiver, |s| edit(s, "users.csv", "a.lee@example.org", ""));
        assert_eq!(code, 0);
        assert_eq!(count(&report, "email-missing"), 2, "{receiver}: {report:#}");
        let examples = &finding(&report, "email-missing").unwrap()["examples"];
        assert_eq!(examples[1]["value"], format!("Ann Lee ({TEACHER})"));
    }
    let (_, report) = json_for("schoology", |s| edit(s, "users.csv", "a.lee@example.org", ""));
    assert_eq!(count(&report, "email-missing"), 0);
}

#[test]
fn sds_errors_fail_the_set_and_its_warnings_do_not() {
    // A line break inside a quoted value: legal CSV, misread by School Data Sync.
    let line_break = |s: &mut Set| edit(s, "orgs.csv", "\"Cedar Ridge, Middle\"", "\"Cedar Ridge\nMiddle\"");
    let (code, stdout) = validate_for("sds", line_break);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("✗ no-line-breaks (error): a value contains a line break: 1"), "{stdout}");
    assert!(stdout.contains("orgs.csv line 3, name: \"Cedar Ridge\\nMiddle\""), "{stdout}");
    assert!(stdout.contains("not valid: 1 problem(s) that stop a delivery"), "{stdout}");
    let (code, _) = validate_for("generic", line_break);
    assert_eq!(code, 0, "the binding allows it");

    // Delta files: valid OneRoster, but SDS takes bulk only.
    let (code, report) = json_for("sds", |s| {
        edit(s, "manifest.csv", "file.orgs,bulk", "file.orgs,delta");
        edit(s, "orgs.csv", "district-1,,,Maple", "district-1,active,2026-11-23T18:30:00.000Z,Maple");
        edit(s, "orgs.csv", &format!("{SCHOOL},,,"), &format!("{SCHOOL},active,2026-11-23T18:30:00.000Z,"));
    });
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(count(&report, "sds-bulk-only"), 1);
    assert_eq!(report["valid"], false);

    // A guardian: SDS has no such role; a warning.
    let (code, report) = json_for("sds", |s| {
        append(
            s,
            "users.csv",
            &format!("guardian-1,,,true,{SCHOOL},guardian,m.obrien,,Maeve,O'Brien,,,m@example.org,,,,,\n"),
        )
    });
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(count(&report, "sds-roles"), 1);
}

#[test]
fn ids_outside_a_receivers_characters_or_length() {
    // A 1.1 set: the binding sets no character rule, the receivers do.
    let hash = |s: &mut Set| {
        edit(s, "courses.csv", "\ncourse-1,", "\ncourse#1,");
        edit(s, "classes.csv", ",course-1,", ",course#1,");
    };
    assert_eq!(validate_for("generic", hash).0, 0);
    let (code, report) = json_for("schoolstatus", hash);
    assert_eq!(code, 0);
    assert_eq!(count(&report, "id-characters"), 1);
    assert_eq!(finding(&report, "id-characters").unwrap()["examples"][0]["value"], "course#1");

    let long = "c".repeat(256);
    let (code, report) = json_for("clever", |s| {
        edit(s, "courses.csv", "\ncourse-1,", &format!("\n{long},"));
        edit(s, "classes.csv", ",course-1,", &format!(",{long},"));
    });
    assert_eq!(code, 0);
    assert_eq!(count(&report, "clever-id-length"), 1);
}

#[test]
fn json_groups_the_bindings_problems_by_kind() {
    let ws = Workspace::new();
    let mut set = valid_set();
    edit(&mut set, "courses.csv", "\"09,10\"", "\"Ten,Eleven\"");
    edit(&mut set, "users.csv", ",zoe.obrien,", ",zoe o brien,");
    write_set(&ws.path("set"), &set);
    let run = ws.run(&["validate", "set", "--for", "schoology", "--json", "--report", "report.txt"]);
    run.assert_code(1);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    for key in
        ["path", "format", "receiver", "valid", "errors", "warnings", "files", "rules_checked", "findings"]
    {
        assert!(report.get(key).is_some(), "no {key}: {report:#}");
    }
    assert_eq!(report["format"], "oneroster-1.1");
    assert_eq!(report["receiver"], "schoology");
    assert_eq!(report["errors"], 2);
    assert_eq!(report["warnings"], 1);
    let grades = finding(&report, "oneroster-binding").unwrap();
    assert_eq!(grades["count"], 2, "two bad grades, one kind: {grades:#}");
    assert_eq!(grades["severity"], "error");
    assert_eq!(grades["examples"][0]["value"], "Ten");
    assert_eq!(grades["examples"][1]["value"], "Eleven");
    assert!(
        grades["what"].as_str().unwrap().starts_with("courses.csv, grades: \"…\" is not a CEDS grade code")
    );
    assert_eq!(count(&report, "username-spaces"), 1);
    let file = std::fs::read_to_string(ws.path("report.txt")).unwrap();
    assert!(file.contains("username-spaces (warning)"), "{file}");
}

fn sqlite_fixture() -> PathBuf {
    let db = tempfile::tempdir().unwrap().keep().join("campus.db");
    sqlite(&db, campus_fixture::SCHEMA);
    sqlite(&db, &crate::support::generated_fixture().0);
    db
}

#[test]
fn the_fixture_sent_to_schoology_is_delivered_with_its_warnings_recorded() {
    let db = sqlite_fixture();
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path("out")).unwrap();
    let queries = crate::support::repo().join("queries/infinite-campus/oneroster-1.1");
    let job = JobBuilder::csv("or", &queries.display().to_string())
        .key("format", "oneroster-1.1")
        .key("archive", "oneroster-{date}.zip")
        .key("receiver", "schoology");
    ConfigBuilder::new().sqlite(&db).job(job).write(&ws);
    let run = ws.run(&["run", "--as-of", "2026-01-15"]);
    run.assert_ok();
    let zip = ws.path("out/oneroster-20260115.zip");
    assert!(zip.exists(), "delivered despite the warnings");
    let spaced = crate::support::parse_csv(&unzip_entry(&zip, "users.csv"))
        .iter()
        .skip(1)
        .filter(|row| row[6].contains(' '))
        .count();
    // Guardians whose Campus Parent login is their name (Maeve O'Brien, …): counted here
    // from the delivered file, independently of the rule.
    assert_eq!(spaced, 10, "the fixture's guardians with spaced logins, as of 2026-01-15");
    assert!(
        run.stdout.contains(&format!(
            "warning, delivered anyway: schoology username-spaces (warning): a username contains a space × {spaced}; first: users.csv line "
        )),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("username-spaces"), "logged:\n{}", run.stderr);
    let history = ws.history();
    let last = history.last().unwrap();
    assert_eq!(last["outcome"], "success");
    assert!(last["warnings"][0].as_str().unwrap().contains("username-spaces"), "{last:#}");
    let table = ws.run(&["history"]);
    assert!(table.stdout.contains("(1 receiver warning(s): history --json)"), "{}", table.stdout);

    let check = ws.run(&["validate", zip.to_str().unwrap(), "--for", "schoology", "--json"]);
    check.assert_ok();
    let report: Value = serde_json::from_str(&check.stdout).unwrap();
    assert_eq!(count(&report, "username-spaces"), spaced as u64);

    // For Clever: the classes without a student enrolled, counted here from the files.
    let classes = crate::support::parse_csv(&unzip_entry(&zip, "classes.csv"));
    let enrollments = crate::support::parse_csv(&unzip_entry(&zip, "enrollments.csv"));
    let empty = classes[1..]
        .iter()
        .filter(|class| !enrollments[1..].iter().any(|e| e[3] == class[0] && e[6] == "student"))
        .count();
    let check = ws.run(&["validate", zip.to_str().unwrap(), "--for", "clever", "--json"]);
    check.assert_ok();
    let report: Value = serde_json::from_str(&check.stdout).unwrap();
    assert_eq!(count(&report, "clever-section-without-students"), empty as u64);
    assert_eq!(report["errors"], 0, "Clever's rules are warnings");
}

/// A plain-CSV job for `receiver` whose queries are `queries` (name, SQL), on a SQLite file.
fn csv_workspace(receiver: &str, queries: &[(&str, &str)]) -> Workspace {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path("out")).unwrap();
    let db = ws.path("school.db");
    sqlite(
        &db,
        "CREATE TABLE t (id INTEGER); CREATE TABLE n (id INTEGER, note TEXT);\n\
         INSERT INTO n VALUES (1, 'two' || char(10) || 'lines');",
    );
    for (name, sql) in queries {
        ws.write(&format!("q/{name}.sql"), sql);
    }
    let job = JobBuilder::csv("feed", "q").key("receiver", receiver);
    ConfigBuilder::new().sqlite(&db).job(job).write(&ws);
    ws
}

#[test]
fn a_receiver_error_keeps_the_set_and_delivers_nothing() {
    let ws = csv_workspace("sds", &[("notes", "SELECT id, note FROM n")]);
    let run = ws.run(&["run", "--keep", "kept"]);
    run.assert_code(1)
        .assert_stderr_contains("the set breaks 1 of sds's published rules that stop a delivery");
    assert!(run.stderr.contains("no-line-breaks"), "{}", run.stderr);
    assert!(crate::support::listing(&ws.path("out")).is_empty(), "nothing delivered");
    let report = std::fs::read_to_string(ws.path("kept/validation-report.txt")).unwrap();
    assert!(report.contains("notes.csv line 2, note: \"two\\nlines\""), "{report}");
    assert!(ws.path("kept/notes.csv").exists());
    assert_eq!(ws.history().last().unwrap()["outcome"], "failed");

    // The same set for a receiver without the rule is delivered.
    let ws = csv_workspace("generic", &[("notes", "SELECT id, note FROM n")]);
    ws.run(&["run"]).assert_ok();

    // An empty data file, for a named receiver.
    let ws = csv_workspace("clever", &[("students", "SELECT id AS Student_id FROM t")]);
    let run = ws.run(&["run"]);
    run.assert_code(1).assert_stderr_contains("no-empty-files");
    assert!(crate::support::listing(&ws.path("out")).is_empty());
}

#[test]
fn clevers_own_format_gets_the_section_rules_as_warnings() {
    let ws = csv_workspace(
        "clever",
        &[
            (
                "sections",
                "SELECT 's1' AS Section_id, 't1' AS Teacher_id UNION ALL SELECT 's2', '' ORDER BY 1",
            ),
            ("enrollments", "SELECT 's1' AS Section_id, 'st1' AS Student_id"),
        ],
    );
    let run = ws.run(&["run"]);
    run.assert_ok();
    assert_eq!(crate::support::listing(&ws.path("out")).len(), 1, "delivered");
    let warnings = ws.history().last().unwrap()["warnings"].clone();
    let text = warnings.to_string();
    assert!(text.contains("clever-section-without-students") && text.contains("× 1"), "{text}");
    assert!(text.contains("clever-primary-teacher") && text.contains("s2 (0 primary teachers)"), "{text}");
}

#[test]
fn an_unknown_receiver_is_a_configuration_error() {
    let ws = Workspace::new();
    let job = JobBuilder::csv("feed", "q").key("receiver", "moodle");
    ConfigBuilder::new().source("Driver=SQLite3;Database=x.db").job(job).write(&ws);
    let run = ws.run(&["config"]);
    run.assert_code(2).assert_stderr_contains("receiver");
    assert!(run.stderr.contains("schoology"), "lists the receivers:\n{}", run.stderr);
    let run = ws.run(&["validate", "set", "--for", "moodle"]);
    run.assert_code(2);
    assert!(run.stderr.contains("schoology"), "{}", run.stderr);
}

#[test]
fn the_fixture_in_clevers_own_format_gets_the_section_rules_without_false_alarms() {
    let db = sqlite_fixture();
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path("out")).unwrap();
    let job = JobBuilder::csv("clever", "builtin:infinite-campus/clever")
        .key("format", "clever")
        .key("archive", "clever-{date}.zip")
        .key("receiver", "clever");
    ConfigBuilder::new().sqlite(&db).job(job).write(&ws);
    ws.run(&["run", "--as-of", "2026-01-15"]).assert_ok();
    let zip = ws.path("out/clever-20260115.zip");
    // Sections without a row in enrollments.csv, counted here from the files.
    let sections = crate::support::parse_csv(&unzip_entry(&zip, "sections.csv"));
    let enrollments = crate::support::parse_csv(&unzip_entry(&zip, "enrollments.csv"));
    let id = sections[0].iter().position(|h| h == "Section_id").unwrap();
    let enrolled = enrollments[0].iter().position(|h| h == "Section_id").unwrap();
    let empty =
        sections[1..].iter().filter(|s| !enrollments[1..].iter().any(|e| e[enrolled] == s[id])).count();
    let warnings = ws.history().last().unwrap()["warnings"].clone();
    // No warning at all: the history record has no `warnings`.
    let without = warnings
        .as_array()
        .map(|w| w.as_slice())
        .unwrap_or_default()
        .iter()
        .filter_map(|w| w.as_str())
        .find(|w| w.contains("clever-section-without-students"));
    match empty {
        0 => assert!(without.is_none(), "{warnings}"),
        n => assert!(without.is_some_and(|w| w.contains(&format!("× {n};"))), "{n}: {warnings}"),
    }
}

//! `sis-extract validate`: a small valid OneRoster 1.1 set passes, and each rule catches
//! a set broken in exactly one way, with a message naming file, row and column.

use std::path::Path;
use std::process::Command;

use crate::support::Workspace;

pub(crate) const DISTRICT: &str = "district-1";
pub(crate) const SCHOOL: &str = "0b0e2f3a-1111-4c2b-9d6e-000000000001";
pub(crate) const STUDENT: &str = "0b0e2f3a-2222-4c2b-9d6e-000000000002";
pub(crate) const TEACHER: &str = "0b0e2f3a-3333-4c2b-9d6e-000000000003";

/// A minimal valid OneRoster 1.1 set, file name → content.
pub(crate) fn valid_set() -> Vec<(&'static str, String)> {
    let manifest = "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\n\
        file.academicSessions,bulk\nfile.categories,absent\nfile.classes,bulk\nfile.classResources,absent\n\
        file.courses,bulk\nfile.courseResources,absent\nfile.demographics,bulk\nfile.enrollments,bulk\n\
        file.lineItems,absent\nfile.orgs,bulk\nfile.resources,absent\nfile.results,absent\nfile.users,bulk\n\
        source.systemName,Test\nsource.systemCode,test\n";
    vec![
        ("manifest.csv", manifest.to_string()),
        (
            "orgs.csv",
            format!(
                "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n\
                 {DISTRICT},,,Maple Valley,district,417,\n{SCHOOL},,,\"Cedar Ridge, Middle\",school,205,{DISTRICT}\n"
            ),
        ),
        (
            "academicSessions.csv",
            "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\n\
             sy-2026,,,2025-2026,schoolYear,2025-08-20,2026-06-05,,2026\n\
             term-1,,,S1,semester,2025-08-20,2026-01-16,sy-2026,2026\n"
                .to_string(),
        ),
        (
            "courses.csv",
            format!(
                "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes\n\
                 course-1,,,sy-2026,Algebra I,ALG1,\"09,10\",{SCHOOL},,\n"
            ),
        ),
        (
            "classes.csv",
            format!(
                "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\n\
                 class-1,,,Algebra I - 1,09,course-1,ALG1-1,scheduled,Room 5,{SCHOOL},term-1,,,\"1,2\"\n"
            ),
        ),
        (
            "users.csv",
            format!(
                "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n\
                 {STUDENT},,,true,{SCHOOL},student,zoe.obrien,{{studentNumber:1001}},Zoë,O'Brien,,1001,,,,,09,\n\
                 {TEACHER},,,true,{SCHOOL},teacher,a.lee,{{staffNumber:7}},Ann,Lee,,7,a.lee@example.org,,,,,\n"
            ),
        ),
        (
            "enrollments.csv",
            format!(
                "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\n\
                 enr-1,,,class-1,{SCHOOL},{STUDENT},student,false,2025-08-20,\n\
                 enr-2,,,class-1,{SCHOOL},{TEACHER},teacher,true,,\n"
            ),
        ),
        (
            "demographics.csv",
            format!(
                "sourcedId,status,dateLastModified,birthDate,sex,americanIndianOrAlaskaNative,asian,blackOrAfricanAmerican,nativeHawaiianOrOtherPacificIslander,white,demographicRaceTwoOrMoreRaces,hispanicOrLatinoEthnicity,countryOfBirthCode,stateOfBirthAbbreviation,cityOfBirth,publicSchoolResidenceStatus\n\
                 {STUDENT},,,2011-04-02,female,false,false,false,false,true,false,false,,,,\n"
            ),
        ),
    ]
}

pub(crate) fn write_set(dir: &Path, set: &[(&str, String)]) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, text) in set {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

/// Validates `set` after `change` and returns (exit code, stdout).
fn validate_with(change: impl FnOnce(&mut Vec<(&'static str, String)>)) -> (i32, String) {
    let ws = Workspace::new();
    let mut set = valid_set();
    change(&mut set);
    write_set(&ws.path("set"), &set);
    let run = ws.run(&["validate", "set"]);
    (run.code, run.stdout)
}

pub(crate) fn edit(set: &mut [(&'static str, String)], file: &str, from: &str, to: &str) {
    let entry = set.iter_mut().find(|(n, _)| *n == file).unwrap();
    assert!(entry.1.contains(from), "{file} lacks {from:?}");
    entry.1 = entry.1.replacen(from, to, 1);
}

#[track_caller]
fn assert_caught(change: impl FnOnce(&mut Vec<(&'static str, String)>), message: &str) {
    let (code, stdout) = validate_with(change);
    assert_eq!(code, 1, "expected the broken set to fail:\n{stdout}");
    assert!(stdout.contains(message), "output lacks {message:?}:\n{stdout}");
}

#[test]
fn a_valid_set_passes_as_folder_and_as_zip() {
    let (code, stdout) = validate_with(|_| {});
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("valid: no problems found"));
    assert!(stdout.contains("✓ users.csv"));

    let ws = Workspace::new();
    write_set(&ws.path("set"), &valid_set());
    let status = Command::new("zip")
        .arg("-qj")
        .arg(ws.path("set.zip"))
        .args(std::fs::read_dir(ws.path("set")).unwrap().map(|e| e.unwrap().path()))
        .status()
        .unwrap();
    assert!(status.success());
    ws.run(&["validate", "set.zip"]).assert_ok();
}

#[test]
fn manifest_rules() {
    assert_caught(
        |s| s.retain(|(n, _)| *n != "manifest.csv"),
        "manifest.csv: missing: every OneRoster set starts with manifest.csv",
    );
    assert_caught(
        |s| edit(s, "manifest.csv", "oneroster.version,1.1", "oneroster.version,2.0"),
        "oneroster.version: expected 1.1 or 1.2",
    );
    assert_caught(
        |s| edit(s, "manifest.csv", "file.lineItems,absent\n", ""),
        "file.lineItems: missing; every file must be listed",
    );
    assert_caught(
        |s| edit(s, "manifest.csv", "file.demographics,bulk", "file.demographics,absent"),
        "demographics.csv is in the set but the manifest does not list it as bulk or delta",
    );
    assert_caught(
        |s| s.retain(|(n, _)| *n != "demographics.csv"),
        "the manifest lists file.demographics as bulk but demographics.csv is missing",
    );
    assert_caught(
        |s| edit(s, "manifest.csv", "file.users,bulk", "file.users,full"),
        "file.users: expected bulk, delta or absent",
    );
    assert_caught(|s| edit(s, "manifest.csv", "source.systemCode,test\n", ""), "source.systemCode: missing");
}

#[test]
fn header_rules() {
    assert_caught(
        |s| edit(s, "users.csv", "givenName,familyName", "familyName,givenName"),
        "users.csv row 1: the header must be exactly sourcedId,status,dateLastModified,enabledUser",
    );
    assert_caught(
        |s| edit(s, "orgs.csv", ",parentSourcedId", ",parentId"),
        "missing: parentSourcedId; unknown: parentId",
    );
}

#[test]
fn required_fields_and_unique_ids() {
    assert_caught(
        |s| edit(s, "users.csv", ",zoe.obrien,", ",,"),
        "users.csv row 2, username: required, but empty",
    );
    assert_caught(
        |s| edit(s, "enrollments.csv", "enr-2,", "enr-1,"),
        "enrollments.csv row 3, sourcedId: \"enr-1\" appears more than once in the file",
    );
    assert_caught(
        |s| edit(s, "enrollments.csv", "\nenr-1,,,class-1", "\n,,,class-1"),
        "enrollments.csv row 2, sourcedId: required, but empty",
    );
    assert_caught(
        |s| edit(s, "classes.csv", "term-1,,,\"1,2\"", ",,,\"1,2\""),
        "classes.csv row 2, termSourcedIds: required, but empty",
    );
}

#[test]
fn enumerations_and_formats() {
    assert_caught(
        |s| edit(s, "orgs.csv", ",school,", ",campus,"),
        "orgs.csv row 3, type: \"campus\" is not one of: department, school, district",
    );
    assert_caught(
        |s| edit(s, "users.csv", ",student,zoe", ",pupil,zoe"),
        "users.csv row 2, role: \"pupil\" is not one of",
    );
    assert_caught(
        |s| edit(s, "enrollments.csv", ",teacher,true", ",aide,true"),
        "enrollments.csv row 3, role: \"aide\" is not one of: administrator, proctor, student, teacher",
    );
    assert_caught(
        |s| edit(s, "classes.csv", ",scheduled,", ",lecture,"),
        "classType: \"lecture\" is not one of: homeroom, scheduled",
    );
    assert_caught(
        |s| edit(s, "academicSessions.csv", ",semester,", ",quarter,"),
        "type: \"quarter\" is not one of",
    );
    assert_caught(
        |s| edit(s, "demographics.csv", ",female,", ",F,"),
        "demographics.csv row 2, sex: \"F\" is not one of: male, female",
    );
    assert_caught(
        |s| edit(s, "academicSessions.csv", "2025-08-20,2026-06-05", "08/20/2025,2026-06-05"),
        "startDate: expected a date as YYYY-MM-DD, found \"08/20/2025\"",
    );
    assert_caught(
        |s| edit(s, "enrollments.csv", "student,false", "student,no"),
        "primary: expected true or false, found \"no\"",
    );
    assert_caught(
        |s| edit(s, "users.csv", "true,0b0e2f3a-1111", "1,0b0e2f3a-1111"),
        "enabledUser: expected true or false, found \"1\"",
    );
    assert_caught(
        |s| edit(s, "courses.csv", "\"09,10\"", "\"09,Ten\""),
        "grades: \"Ten\" is not a CEDS grade code",
    );
    assert_caught(
        |s| edit(s, "academicSessions.csv", ",,2026\n", ",,26\n"),
        "schoolYear: expected the four-digit year",
    );
    assert_caught(
        |s| edit(s, "users.csv", "{studentNumber:1001}", "1001"),
        "userIds: expected entries like {type:value}, found \"1001\"",
    );
    assert_caught(
        |s| edit(s, "orgs.csv", "district-1,,,Maple", "district-1,active,,Maple"),
        "status: must be empty in a bulk file, found \"active\"",
    );
    assert_caught(
        |s| edit(s, "orgs.csv", "district-1,,,Maple", "district-1,,2026-01-01,Maple"),
        "dateLastModified: must be empty in a bulk file",
    );
}

#[test]
fn delta_files_need_status_and_a_utc_datetime() {
    let (code, stdout) = validate_with(|s| {
        edit(s, "manifest.csv", "file.orgs,bulk", "file.orgs,delta");
        edit(s, "orgs.csv", "district-1,,,Maple", "district-1,active,2026-11-23T18:30:00.000Z,Maple");
        edit(s, "orgs.csv", &format!("{SCHOOL},,,"), &format!("{SCHOOL},gone,2026-11-23,"));
    });
    assert_eq!(code, 1);
    assert!(
        stdout.contains(
            "orgs.csv row 3, status: must be active or tobedeleted in a delta file, found \"gone\""
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("orgs.csv row 3, dateLastModified: expected an ISO 8601 UTC date-time"),
        "{stdout}"
    );
    assert!(!stdout.contains("orgs.csv row 2"), "row 2 is a valid delta row:\n{stdout}");
}

#[test]
fn referential_integrity() {
    assert_caught(
        |s| edit(s, "enrollments.csv", "enr-1,,,class-1", "enr-1,,,class-9"),
        "enrollments.csv row 2, classSourcedId: \"class-9\" is not a sourcedId in classes.csv",
    );
    assert_caught(
        |s| {
            edit(
                s,
                "enrollments.csv",
                &format!("{TEACHER},teacher"),
                "0b0e2f3a-9999-4c2b-9d6e-000000000009,teacher",
            )
        },
        "userSourcedId: \"0b0e2f3a-9999-4c2b-9d6e-000000000009\" is not a sourcedId in users.csv",
    );
    assert_caught(
        |s| edit(s, "classes.csv", ",course-1,", ",course-2,"),
        "classes.csv row 2, courseSourcedId: \"course-2\" is not a sourcedId in courses.csv",
    );
    assert_caught(
        |s| edit(s, "classes.csv", "term-1,,,", "term-2,,,"),
        "termSourcedIds: \"term-2\" is not a sourcedId in academicSessions.csv",
    );
    assert_caught(
        |s| edit(s, "courses.csv", "course-1,,,sy-2026", "course-1,,,sy-2027"),
        "schoolYearSourcedId: \"sy-2027\" is not a sourcedId in academicSessions.csv",
    );
    assert_caught(
        |s| edit(s, "orgs.csv", &format!(",school,205,{DISTRICT}"), ",school,205,district-2"),
        "orgs.csv row 3, parentSourcedId: \"district-2\" is not a sourcedId in orgs.csv",
    );
    assert_caught(
        |s| edit(s, "academicSessions.csv", ",sy-2026,2026\n", ",sy-2025,2026\n"),
        "parentSourcedId: \"sy-2025\" is not a sourcedId in academicSessions.csv",
    );
    assert_caught(
        |s| {
            edit(
                s,
                "users.csv",
                &format!("true,{SCHOOL},student"),
                &format!("true,\"{SCHOOL},school-x\",student"),
            )
        },
        "users.csv row 2, orgSourcedIds: \"school-x\" is not a sourcedId in orgs.csv",
    );
    assert_caught(
        |s| edit(s, "users.csv", ",,,,,09,", ",,,,parent-1,09,"),
        "agentSourcedIds: \"parent-1\" is not a sourcedId in users.csv",
    );
    assert_caught(
        |s| edit(s, "demographics.csv", &format!("\n{STUDENT},,,"), "\nnobody,,,"),
        "demographics.csv row 2, sourcedId: \"nobody\" is not a sourcedId in users.csv",
    );
}

#[test]
fn missing_and_empty_files() {
    assert_caught(
        |s| {
            s.retain(|(n, _)| *n != "enrollments.csv");
            edit(s, "manifest.csv", "file.enrollments,bulk", "file.enrollments,absent");
        },
        "enrollments.csv: missing: a rostering set needs this file",
    );
    assert_caught(
        |s| {
            let users = s.iter_mut().find(|(n, _)| *n == "enrollments.csv").unwrap();
            users.1 = users.1.lines().next().unwrap().to_string() + "\n";
        },
        "enrollments.csv: has no data rows",
    );
}

#[test]
fn a_zip_with_folders_is_refused() {
    let ws = Workspace::new();
    write_set(&ws.path("set/inner"), &valid_set());
    let status = Command::new("zip")
        .current_dir(ws.path("set"))
        .args(["-qr", "../nested.zip", "inner"])
        .status()
        .unwrap();
    assert!(status.success());
    let run = ws.run(&["validate", "nested.zip"]);
    run.assert_code(1)
        .assert_stderr_contains("is inside a folder; OneRoster files must be at the root of the zip");
}

#[test]
fn the_report_file_lists_every_problem() {
    let ws = Workspace::new();
    let mut set = valid_set();
    // Fifteen bad grades: more than the 10 shown on screen.
    edit(&mut set, "courses.csv", "\"09,10\"", &format!("\"{}\"", vec!["X"; 15].join(",")));
    write_set(&ws.path("set"), &set);
    let run = ws.run(&["validate", "set", "--report", "report.txt"]);
    run.assert_code(1);
    assert!(run.stdout.contains("15 problem(s)"), "{}", run.stdout);
    let report = std::fs::read_to_string(ws.path("report.txt")).unwrap();
    assert_eq!(report.lines().filter(|l| l.contains("is not a CEDS grade code")).count(), 15);
}

/// Adds a column named `header` with `value` on every row, at the end of `file`.
fn add_column(set: &mut [(&'static str, String)], file: &str, header: &str, value: &str) {
    let entry = set.iter_mut().find(|(n, _)| *n == file).unwrap();
    let mut lines = entry.1.lines();
    let mut text = format!("{},{header}\n", lines.next().unwrap());
    for line in lines {
        text.push_str(&format!("{line},{value}\n"));
    }
    entry.1 = text;
}

/// The valid set in OneRoster 1.2.1: the 21-entry manifest, users.csv without role and
/// orgs (22 columns), and roles.csv.
fn valid_set_1_2() -> Vec<(&'static str, String)> {
    let mut set = valid_set();
    let absent = [
        "categories",
        "classResources",
        "courseResources",
        "lineItemLearningObjectiveIds",
        "lineItems",
        "lineItemScoreScales",
        "resources",
        "resultLearningObjectiveIds",
        "results",
        "resultScoreScales",
        "scoreScales",
        "userProfiles",
        "userResources",
    ];
    let bulk =
        ["academicSessions", "classes", "courses", "demographics", "enrollments", "orgs", "roles", "users"];
    let mut manifest = "propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\n".to_string();
    for file in absent {
        manifest.push_str(&format!("file.{file},absent\n"));
    }
    for file in bulk {
        manifest.push_str(&format!("file.{file},bulk\n"));
    }
    manifest.push_str("source.systemName,Test\nsource.systemCode,test\n");
    set.retain(|(n, _)| !matches!(*n, "manifest.csv" | "users.csv"));
    set.push(("manifest.csv", manifest));
    set.push((
        "users.csv",
        format!(
            "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,preferredGivenName,preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns\n\
             {STUDENT},,,true,zoe.obrien,{{studentNumber:1001}},Zoë,O'Brien,,1001,,,,,09,,,,,,{SCHOOL},\n\
             {TEACHER},,,true,a.lee,{{staffNumber:7}},Ann,Lee,,7,a.lee@example.org,,,,,,,,,,{SCHOOL},\n"
        ),
    ));
    set.push((
        "roles.csv",
        format!(
            "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId,userProfileSourcedId\n\
             {STUDENT}.{SCHOOL},,,{STUDENT},primary,student,,,{SCHOOL},\n\
             {TEACHER}.{SCHOOL},,,{TEACHER},primary,teacher,,,{SCHOOL},\n"
        ),
    ));
    set
}

/// Validates the 1.2 set after `change`: (exit code, stdout).
fn validate_1_2_with(change: impl FnOnce(&mut Vec<(&'static str, String)>)) -> (i32, String) {
    let ws = Workspace::new();
    let mut set = valid_set_1_2();
    change(&mut set);
    write_set(&ws.path("set"), &set);
    let run = ws.run(&["validate", "set"]);
    (run.code, run.stdout)
}

#[test]
fn a_1_2_1_set_passes_and_1_2_ids_keep_to_the_bindings_characters() {
    let (code, stdout) = validate_1_2_with(|_| {});
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.starts_with("OneRoster 1.2 set"), "{stdout}");
    // The `<user>:<org>` ids sis-extract wrote before: a colon is not an id character in 1.2.
    let (code, stdout) = validate_1_2_with(|s| {
        edit(s, "roles.csv", &format!("{STUDENT}.{SCHOOL}"), &format!("{STUDENT}:{SCHOOL}"));
    });
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains(&format!(
            "roles.csv row 2, sourcedId: \"{STUDENT}:{SCHOOL}\" has characters the OneRoster 1.2 binding does not allow in an id (\":\"); ids use only 0-9 a-z A-Z . - _ / @"
        )),
        "{stdout}"
    );
    // `/` and `@` are allowed.
    let (code, stdout) = validate_1_2_with(|s| {
        edit(s, "roles.csv", &format!("{STUDENT}.{SCHOOL}"), "r/1@x_y-z");
    });
    assert_eq!(code, 0, "{stdout}");
    // 1.1 has no such rule.
    let (code, stdout) = validate_with(|s| {
        edit(s, "enrollments.csv", "\nenr-1,", "\nenr:1,");
    });
    assert_eq!(code, 0, "{stdout}");
}

#[test]
fn users_csv_in_the_1_2_text_is_accepted_and_1_2_1_has_no_resource_column() {
    // The 1.2 text (before 1.2.1) has resourceSourcedIds after userMasterIdentifier.
    let (code, stdout) = validate_1_2_with(|s| {
        edit(
            s,
            "users.csv",
            "userMasterIdentifier,preferredGivenName",
            "userMasterIdentifier,resourceSourcedIds,preferredGivenName",
        );
        edit(s, "users.csv", &format!(",09,,,,,,{SCHOOL},"), &format!(",09,,,,,,,{SCHOOL},"));
        edit(s, "users.csv", &format!(",,,,,,,,,,{SCHOOL},"), &format!(",,,,,,,,,,,{SCHOOL},"));
    });
    assert_eq!(code, 0, "{stdout}");
    // Anywhere else it is an unknown column.
    let (code, stdout) = validate_1_2_with(|s| add_column(s, "users.csv", "resourceSourcedIds", ""));
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("unknown: resourceSourcedIds"), "{stdout}");
}

#[test]
fn metadata_extension_columns_are_accepted_last_and_uniquely_named() {
    // 1.1 and 1.2 allow `metadata.*` columns to the right of the defined ones.
    let (code, stdout) = validate_with(|s| {
        add_column(s, "users.csv", "metadata.homeroom", "101");
        add_column(s, "users.csv", "metadata.campus.lunchCode", "");
        add_column(s, "orgs.csv", "metadata.nces", "\"1,2\"");
    });
    assert_eq!(code, 0, "{stdout}");
    let (code, stdout) = validate_1_2_with(|s| add_column(s, "roles.csv", "metadata.source", "campus"));
    assert_eq!(code, 0, "{stdout}");
    // Among the defined columns, it is refused.
    assert_caught(
        |s| {
            edit(s, "orgs.csv", "name,type", "name,metadata.x,type");
            edit(s, "orgs.csv", "Maple Valley,district", "Maple Valley,x,district");
            edit(s, "orgs.csv", "Middle\",school", "Middle\",x,school");
        },
        "extension columns before a defined column (they go to the right of all of them): metadata.x",
    );
    // Named twice, it is refused.
    assert_caught(
        |s| {
            add_column(s, "orgs.csv", "metadata.x", "1");
            add_column(s, "orgs.csv", "metadata.x", "2");
        },
        "named more than once: metadata.x",
    );
    // Any other extra column is still unknown, and rows must match the header.
    assert_caught(|s| add_column(s, "orgs.csv", "nces", "1"), "unknown: nces");
    assert_caught(
        |s| {
            add_column(s, "orgs.csv", "metadata.x", "1");
            edit(s, "orgs.csv", "205,district-1,1", "205,district-1");
        },
        "orgs.csv row 3: has 7 fields, the header has 8",
    );
}

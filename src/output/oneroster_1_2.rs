//! OneRoster 1.2 CSV files: headers and required fields.
//!
//! Source: the 1EdTech OneRoster v1.2 CSV binding (see README for the cross-checks). In
//! 1.2 a user's roles and organisations move from users.csv to roles.csv; sis-extract
//! derives roles.csv from the same users query as 1.1 (its `role` and `orgSourcedIds`
//! columns), so one query set serves both versions.

// orgs, academicSessions, courses, classes, enrollments and demographics keep their 1.1
// headers and required fields in 1.2 (1EdTech's 1.2 model and two implementations agree).
use super::oneroster::{
    CLASSES_1_1 as CLASSES, COURSES_1_1 as COURSES, DEMOGRAPHICS_1_1 as DEMOGRAPHICS,
    ENROLLMENTS_1_1 as ENROLLMENTS, FileSpec, ORGS_1_1 as ORGS, SESSIONS_1_1 as SESSIONS,
};

pub const USERS: FileSpec = FileSpec {
    name: "users",
    headers: &[
        "sourcedId",
        "status",
        "dateLastModified",
        "enabledUser",
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
        "userMasterIdentifier",
        "resourceSourcedIds",
        "preferredGivenName",
        "preferredMiddleName",
        "preferredFamilyName",
        "primaryOrgSourcedId",
        "pronouns",
    ],
    required: &["sourcedId", "enabledUser", "username", "givenName", "familyName"],
    required_file: true,
};
pub const ROLES: FileSpec = FileSpec {
    name: "roles",
    headers: &[
        "sourcedId",
        "status",
        "dateLastModified",
        "userSourcedId",
        "roleType",
        "role",
        "beginDate",
        "endDate",
        "orgSourcedId",
        "userProfileSourcedId",
    ],
    required: &["sourcedId", "userSourcedId", "roleType", "role", "orgSourcedId"],
    required_file: true,
};

static FILES: [&FileSpec; 8] =
    [&ORGS, &SESSIONS, &COURSES, &CLASSES, &USERS, &ROLES, &ENROLLMENTS, &DEMOGRAPHICS];

pub fn files() -> &'static [&'static FileSpec] {
    &FILES
}

pub fn manifest_files() -> &'static [&'static str] {
    &[
        "academicSessions",
        "categories",
        "classes",
        "classResources",
        "courses",
        "courseResources",
        "demographics",
        "enrollments",
        "lineItemLearningObjectiveIds",
        "lineItems",
        "lineItemScoreScales",
        "orgs",
        "resources",
        "resultLearningObjectiveIds",
        "results",
        "resultScoreScales",
        "roles",
        "scoreScales",
        "userProfiles",
        "userResources",
        "users",
    ]
}

//! OneRoster 1.2 CSV files: headers and required fields.
//!
//! Source: the 1EdTech OneRoster v1.2 CSV binding (see README for the cross-checks). In
//! 1.2 a user's roles and organisations move from users.csv to roles.csv; sis-extract
//! derives roles.csv from the same users query as 1.1 (its `role` and `orgSourcedIds`
//! columns), so one query set serves both versions.

use super::oneroster::FileSpec;

const ORGS: FileSpec = FileSpec {
    name: "orgs",
    headers: &["sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"],
    required: &["sourcedId", "name", "type"],
    required_file: true,
};
const SESSIONS: FileSpec = FileSpec {
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
const COURSES: FileSpec = FileSpec {
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
const CLASSES: FileSpec = FileSpec {
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
const ENROLLMENTS: FileSpec = FileSpec {
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
const DEMOGRAPHICS: FileSpec = FileSpec {
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

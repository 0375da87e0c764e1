//! The OneRoster CSV binding as data: versions, files, headers, required fields, and the
//! field classes (lists, dates, booleans, grades, ids). No logic beyond lookups: the
//! config, the writer, the validation and `check` all read it.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1_1,
    V1_2,
}

impl Version {
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
const ORGS_1_1: FileSpec = FileSpec {
    name: "orgs",
    headers: &["sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"],
    required: &["sourcedId", "name", "type"],
    required_file: true,
};
const SESSIONS_1_1: FileSpec = FileSpec {
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
const COURSES_1_1: FileSpec = FileSpec {
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
const CLASSES_1_1: FileSpec = FileSpec {
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
const ENROLLMENTS_1_1: FileSpec = FileSpec {
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
const DEMOGRAPHICS_1_1: FileSpec = FileSpec {
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
        Version::V1_2 => v1_2::files(),
    }
}

pub fn file_spec(version: Version, name: &str) -> Option<&'static FileSpec> {
    files(version).iter().copied().find(|f| f.name.eq_ignore_ascii_case(name))
}

/// An older layout of a file that the same manifest version also announces: 1.2's
/// users.csv before 1.2.1 removed `resourceSourcedIds`. `validate` accepts it; sis-extract
/// writes the current one.
pub fn older_layout(version: Version, name: &str) -> Option<&'static FileSpec> {
    match (version, name) {
        (Version::V1_2, "users") => Some(&v1_2::USERS_1_2_0),
        _ => None,
    }
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
        Version::V1_2 => v1_2::manifest_files(),
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

/// Whether the OneRoster 1.2 and 1.2.1 CSV bindings allow `c` in an identifier: only
/// `0-9 a-z A-Z . - _ / @` (a colon, a space or a comma is not allowed). 1.1 sets no such
/// rule; some 1.1 receivers do (see `output::receivers`).
pub fn is_id_char_1_2(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '@')
}

/// Id fields: `sourcedId` and every `…SourcedId(s)`.
pub fn is_id(field: &str) -> bool {
    field == "sourcedId" || field.ends_with("SourcedId") || field.ends_with("SourcedIds")
}

// ---------------------------------------------------------------------------------------
// OneRoster 1.2
// ---------------------------------------------------------------------------------------
// OneRoster 1.2 CSV files: headers and required fields.
//
// Source: the 1EdTech OneRoster v1.2.1 CSV binding (the text 1EdTech's address serves today;
// a public copy of the 1.2 and 1.2.1 texts is in the imsjapan/github.io repository, see
// docs/oneroster.md). In
// 1.2 a user's roles and organisations move from users.csv to roles.csv; sis-extract
// derives roles.csv from the same users query as 1.1 (its `role` and `orgSourcedIds`
// columns), so one query set serves both versions.

// orgs, academicSessions, courses, classes, enrollments and demographics keep their 1.1
// headers and required fields in 1.2 (1EdTech's 1.2 model and two implementations agree).
pub(super) use v1_2::ROLES as ROLES_1_2;

mod v1_2 {
    use super::{
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
            "preferredGivenName",
            "preferredMiddleName",
            "preferredFamilyName",
            "primaryOrgSourcedId",
            "pronouns",
        ],
        required: &["sourcedId", "enabledUser", "username", "givenName", "familyName"],
        required_file: true,
    };
    /// users.csv as the 1.2 text (before 1.2.1) has it, with `resourceSourcedIds` after
    /// `userMasterIdentifier`. 1.2.1 removed that column ("has been REMOVED", its revision
    /// history); sis-extract writes 1.2.1 and `validate` accepts either.
    pub const USERS_1_2_0: FileSpec = FileSpec {
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
        required: USERS.required,
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
}

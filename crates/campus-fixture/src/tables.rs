//! The fixture tables written to: their names and columns with each text column's varchar(n).

pub(crate) struct Col {
    pub(crate) name: &'static str,
    /// Maximum characters of a text value (varchar(n) / char(n)); 0 = not limited.
    pub(crate) max: usize,
}

pub(crate) const fn c(name: &'static str, max: usize) -> Col {
    Col { name, max }
}

pub(crate) struct Table {
    pub(crate) name: &'static str,
    pub(crate) cols: &'static [Col],
}

pub(crate) const T_DISTRICT: Table = Table {
    name: "District",
    cols: &[
        c("districtID", 0),
        c("number", 10),
        c("name", 100),
        c("address", 100),
        c("city", 50),
        c("state", 2),
        c("zip", 10),
        c("phone", 25),
    ],
};
pub(crate) const T_SCHOOL: Table = Table {
    name: "School",
    cols: &[
        c("schoolID", 0),
        c("districtID", 0),
        c("number", 10),
        c("name", 100),
        c("schoolGUID", 36),
        c("principalName", 100),
        c("principalEmail", 100),
        c("address", 100),
        c("city", 50),
        c("state", 2),
        c("zip", 10),
        c("phone", 25),
        c("entityID", 0),
        c("exclude", 0),
    ],
};
pub(crate) const T_SCHOOL_YEAR: Table =
    Table { name: "SchoolYear", cols: &[c("endYear", 0), c("label", 10), c("startYear", 0), c("active", 0)] };
pub(crate) const T_CALENDAR: Table = Table {
    name: "Calendar",
    cols: &[
        c("calendarID", 0),
        c("schoolID", 0),
        c("districtID", 0),
        c("endYear", 0),
        c("name", 50),
        c("number", 10),
        c("startDate", 0),
        c("endDate", 0),
        c("exclude", 0),
        c("summerSchool", 0),
    ],
};
pub(crate) const T_STRUCTURE: Table = Table {
    name: "ScheduleStructure",
    cols: &[c("structureID", 0), c("calendarID", 0), c("name", 50), c("active", 0)],
};
pub(crate) const T_GRADE_LEVEL: Table = Table {
    name: "GradeLevel",
    cols: &[
        c("calendarID", 0),
        c("structureID", 0),
        c("name", 4),
        c("stateGrade", 4),
        c("excludeEnrollment", 0),
    ],
};
pub(crate) const T_PERSON: Table = Table {
    name: "Person",
    cols: &[
        c("personID", 0),
        c("currentIdentityID", 0),
        c("personGUID", 36),
        c("stateID", 15),
        c("studentNumber", 15),
        c("staffStateID", 20),
        c("staffNumber", 15),
    ],
};
pub(crate) const T_IDENTITY: Table = Table {
    name: "\"identity\"",
    cols: &[
        c("identityID", 0),
        c("personID", 0),
        c("identityGUID", 36),
        c("districtID", 0),
        c("lastName", 50),
        c("firstName", 50),
        c("middleName", 50),
        c("suffix", 50),
        c("gender", 1),
        c("birthdate", 0),
        c("raceEthnicityFed", 0),
        c("raceEthnicity", 10),
        c("hispanicEthnicity", 1),
        c("homePrimaryLanguage", 10),
        c("birthCountry", 10),
        c("dateEnteredUS", 0),
        c("dateEnteredUSSchool", 0),
        c("legalFirstName", 50),
        c("legalLastName", 50),
    ],
};
pub(crate) const T_CONTACT: Table = Table {
    name: "Contact",
    cols: &[
        c("personID", 0),
        c("districtID", 0),
        c("email", 100),
        c("secondaryEmail", 100),
        c("homePhone", 25),
        c("workPhone", 25),
        c("cellPhone", 25),
        c("pager", 25),
        c("communicationLanguage", 15),
    ],
};
pub(crate) const T_USER_ACCOUNT: Table = Table {
    name: "UserAccount",
    cols: &[
        c("userID", 0),
        c("personID", 0),
        c("username", 50),
        c("homepage", 100),
        c("isSAMLAccount", 0),
        c("samlConfigurationID", 0),
        c("disable", 0),
        c("lock", 0),
        c("legacyKey", 100),
        c("modifiedDate", 0),
    ],
};
pub(crate) const T_RELATED_PAIR: Table = Table {
    name: "RelatedPair",
    cols: &[
        c("pairID", 0),
        c("personID1", 0),
        c("personID2", 0),
        c("name", 50),
        c("guardian", 0),
        c("seq", 0),
        c("startDate", 0),
        c("endDate", 0),
        c("portal", 0),
        c("mailing", 0),
        c("messenger", 0),
        c("private", 0),
        c("secondary", 0),
    ],
};
pub(crate) const T_EMPLOYMENT: Table = Table {
    name: "Employment",
    cols: &[c("employmentID", 0), c("personID", 0), c("districtID", 0), c("startDate", 0), c("endDate", 0)],
};
pub(crate) const T_ASSIGNMENT: Table = Table {
    name: "EmploymentAssignment",
    cols: &[
        c("assignmentID", 0),
        c("personID", 0),
        c("schoolID", 0),
        c("districtID", 0),
        c("startDate", 0),
        c("endDate", 0),
        c("title", 50),
        c("teacher", 0),
        c("supervisor", 0),
        c("counselor", 0),
    ],
};
pub(crate) const T_ENROLLMENT: Table = Table {
    name: "Enrollment",
    cols: &[
        c("enrollmentID", 0),
        c("personID", 0),
        c("calendarID", 0),
        c("structureID", 0),
        c("grade", 4),
        c("serviceType", 1),
        c("startDate", 0),
        c("endDate", 0),
        c("startStatus", 10),
        c("endStatus", 10),
        c("noShow", 0),
        c("stateExclude", 0),
        c("endYear", 0),
        c("active", 0),
        c("nextCalendar", 0),
        c("nextStructureID", 0),
        c("nextGrade", 4),
        c("residentDistrict", 10),
        c("residentSchool", 10),
        c("specialEdStatus", 10),
        c("disability1", 10),
        c("section504", 0),
    ],
};
pub(crate) const T_TRIAL: Table = Table {
    name: "Trial",
    cols: &[c("trialID", 0), c("calendarID", 0), c("structureID", 0), c("name", 50), c("active", 0)],
};
pub(crate) const T_TERM_SCHEDULE: Table =
    Table { name: "TermSchedule", cols: &[c("termScheduleID", 0), c("structureID", 0), c("name", 50)] };
pub(crate) const T_TERM: Table = Table {
    name: "Term",
    cols: &[
        c("termID", 0),
        c("termScheduleID", 0),
        c("name", 30),
        c("startDate", 0),
        c("endDate", 0),
        c("seq", 0),
    ],
};
pub(crate) const T_PERIOD_SCHEDULE: Table =
    Table { name: "PeriodSchedule", cols: &[c("periodScheduleID", 0), c("structureID", 0), c("name", 50)] };
pub(crate) const T_PERIOD: Table = Table {
    name: "Period",
    cols: &[
        c("periodID", 0),
        c("periodScheduleID", 0),
        c("name", 20),
        c("seq", 0),
        c("startTime", 0),
        c("endTime", 0),
    ],
};
pub(crate) const T_ROOM: Table =
    Table { name: "Room", cols: &[c("roomID", 0), c("schoolID", 0), c("name", 50)] };
pub(crate) const T_COURSE: Table = Table {
    name: "Course",
    cols: &[
        c("courseID", 0),
        c("calendarID", 0),
        c("number", 20),
        c("name", 100),
        c("active", 0),
        c("stateCode", 20),
        c("homeroom", 0),
        c("departmentID", 0),
    ],
};
pub(crate) const T_SECTION: Table = Table {
    name: "Section",
    cols: &[
        c("sectionID", 0),
        c("courseID", 0),
        c("trialID", 0),
        c("number", 0),
        c("teacherPersonID", 0),
        c("teacherDisplay", 100),
        c("roomID", 0),
        c("homeroomSection", 0),
    ],
};
pub(crate) const T_PLACEMENT: Table = Table {
    name: "SectionPlacement",
    cols: &[c("sectionID", 0), c("trialID", 0), c("termID", 0), c("periodID", 0)],
};
pub(crate) const T_STAFF_HISTORY: Table = Table {
    name: "SectionStaffHistory",
    cols: &[
        c("historyID", 0),
        c("sectionID", 0),
        c("trialID", 0),
        c("personID", 0),
        c("staffType", 1),
        c("startDate", 0),
        c("endDate", 0),
        c("createdDate", 0),
    ],
};
pub(crate) const T_ROSTER: Table = Table {
    name: "Roster",
    cols: &[
        c("rosterID", 0),
        c("personID", 0),
        c("sectionID", 0),
        c("trialID", 0),
        c("startDate", 0),
        c("endDate", 0),
        c("modifiedDate", 0),
    ],
};

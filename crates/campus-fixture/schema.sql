-- Campus-like fixture schema for sis-extract tests.
--
-- What it is: a small subset of the Infinite Campus (IC) `dbo` schema, enough to run the
-- extract queries in queries/ against SQLite 3 and PostgreSQL 15 instead of SQL Server.
-- Table and column names mirror the real IC names (see shared/reference/infinite-campus.md);
-- the types are portable stand-ins, not IC's own:
--   int                -> integer           bit / tinyint -> smallint (flags are 0/1, may be NULL)
--   uniqueidentifier   -> char(36)          (GUIDs stored as 36-char lower-case text)
--   smalldatetime/date -> date              (birthdate and all date windows; no time part)
--   datetime (audit)   -> timestamp
-- In SQLite, date/timestamp columns hold ISO 'YYYY-MM-DD' text, compared as text.
--
-- Conventions:
--   * Names are unquoted, so PostgreSQL folds them to lower case; queries use unquoted
--     names too. The one exception is the table "identity": IDENTITY is reserved in T-SQL,
--     so it is always written double-quoted, in lower case ("identity"), which matches the
--     folded PostgreSQL name and IC's own Identity table on SQL Server (case-insensitive
--     collation; QUOTED_IDENTIFIER ON under ODBC).
--   * Primary keys only, no foreign keys: IC data has orphans (e.g. Person rows whose
--     currentIdentityID is NULL after a merge) and tests may want to create more.
--   * Columns marked [A] are assumed (normal IC but not confirmed by the reference sources).
--     GUID columns the sources never show (districtGUID, calendarGUID, courseGUID,
--     sectionGUID, termGUID) are deliberately absent: queries must not rely on them.
--   * Views (Student, staffMember, activeTrial, v_OneRoster*) are not modelled; queries
--     read the base tables.

-- 1. Schools and years ---------------------------------------------------------------

CREATE TABLE District (
    districtID      integer      NOT NULL PRIMARY KEY,
    number          varchar(10),
    name            varchar(100) NOT NULL,
    address         varchar(100),
    city            varchar(50),
    state           char(2),
    zip             varchar(10),
    phone           varchar(25)
);

CREATE TABLE School (
    schoolID        integer      NOT NULL PRIMARY KEY,
    districtID      integer      NOT NULL,
    number          varchar(10),
    name            varchar(100) NOT NULL,
    schoolGUID      char(36)     NOT NULL,
    principalName   varchar(100),
    principalEmail  varchar(100),
    address         varchar(100),
    city            varchar(50),
    state           char(2),
    zip             varchar(10),
    phone           varchar(25),
    entityID        integer,
    exclude         smallint                      -- 1 = leave out of extracts
);

CREATE TABLE SchoolYear (
    endYear         integer      NOT NULL PRIMARY KEY,   -- 2026 = the 2025-26 year
    label           varchar(10),                         -- [A]
    startYear       integer,                             -- [A]
    active          smallint                             -- exactly one row has active = 1
);

CREATE TABLE Calendar (
    calendarID      integer      NOT NULL PRIMARY KEY,
    schoolID        integer      NOT NULL,
    districtID      integer      NOT NULL,
    endYear         integer      NOT NULL,
    name            varchar(50)  NOT NULL,
    number          varchar(10),
    startDate       date,
    endDate         date,
    exclude         smallint,
    summerSchool    smallint
);

CREATE TABLE ScheduleStructure (
    structureID     integer      NOT NULL PRIMARY KEY,
    calendarID      integer      NOT NULL,
    name            varchar(50),                         -- [A]
    active          smallint                             -- [A]
);

-- Join: calendarID + structureID + (name = Enrollment.grade). No ID column is documented.
CREATE TABLE GradeLevel (
    calendarID      integer      NOT NULL,
    structureID     integer      NOT NULL,
    name            varchar(4)   NOT NULL,               -- local code, e.g. 'K', '7'
    stateGrade      varchar(4),                          -- e.g. 'KG', '07'
    excludeEnrollment smallint,
    PRIMARY KEY (calendarID, structureID, name)
);

-- 2. People --------------------------------------------------------------------------

CREATE TABLE Person (
    personID          integer     NOT NULL PRIMARY KEY,
    currentIdentityID integer,                           -- NULL on orphans left by a merge
    personGUID        char(36)    NOT NULL UNIQUE,
    stateID           varchar(15),
    studentNumber     varchar(15),
    staffStateID      varchar(20),
    staffNumber       varchar(15)
);

CREATE TABLE "identity" (
    identityID          integer     NOT NULL PRIMARY KEY,
    personID            integer     NOT NULL,
    identityGUID        char(36)    NOT NULL,
    districtID          integer,
    lastName            varchar(50) NOT NULL,
    firstName           varchar(50),
    middleName          varchar(50),
    suffix              varchar(50),
    gender              char(1),
    birthdate           date,
    raceEthnicityFed    smallint,                        -- federal code 1-7
    raceEthnicity       varchar(10),
    hispanicEthnicity   char(1),                         -- 'Y' / 'N'
    homePrimaryLanguage varchar(10),                     -- ISO 639-2, e.g. 'eng'
    birthCountry        varchar(10),
    dateEnteredUS       date,
    dateEnteredUSSchool date,
    legalFirstName      varchar(50),
    legalLastName       varchar(50)
);

-- One row per person and district: join on both.
CREATE TABLE Contact (
    personID              integer      NOT NULL,
    districtID            integer      NOT NULL,
    email                 varchar(100),
    secondaryEmail        varchar(100),
    homePhone             varchar(25),
    workPhone             varchar(25),
    cellPhone             varchar(25),
    pager                 varchar(25),
    communicationLanguage varchar(15),
    PRIMARY KEY (personID, districtID)
);

CREATE TABLE UserAccount (
    userID              integer      NOT NULL PRIMARY KEY,
    personID            integer      NOT NULL,
    username            varchar(50)  NOT NULL,
    homepage            varchar(100),                    -- parent-portal value marks parents
    isSAMLAccount       smallint,
    samlConfigurationID integer,
    disable             smallint,
    lock                smallint,
    legacyKey           varchar(100),
    modifiedDate        timestamp
);

-- personID1 = the student, personID2 = the related person.
CREATE TABLE RelatedPair (
    pairID          integer      NOT NULL PRIMARY KEY,   -- [A]
    personID1       integer      NOT NULL,
    personID2       integer      NOT NULL,
    name            varchar(50),                         -- 'Mother', 'Sibling', ...
    guardian        smallint,
    seq             smallint,                            -- tinyint in IC; may be NULL
    startDate       date,
    endDate         date,
    portal          smallint,                            -- [A] on this table
    mailing         smallint,                            -- [A]
    messenger       smallint,                            -- [A]
    private         smallint,                            -- [A]
    secondary       smallint                             -- [A]
);

CREATE TABLE Employment (                                -- [A] except personID
    employmentID    integer      NOT NULL PRIMARY KEY,
    personID        integer      NOT NULL,
    districtID      integer,
    startDate       date,
    endDate         date
);

-- A staff member's assignment to a school: one row per assignment, a person may have several.
CREATE TABLE EmploymentAssignment (
    assignmentID    integer      NOT NULL PRIMARY KEY,
    personID        integer      NOT NULL,
    schoolID        integer      NOT NULL,
    districtID      integer      NOT NULL,
    startDate       date,
    endDate         date,
    title           varchar(50),
    teacher         smallint,                            -- [A] on this table
    supervisor      smallint                             -- [A] on this table
);

-- 3. Enrollment ----------------------------------------------------------------------

CREATE TABLE Enrollment (
    enrollmentID     integer      NOT NULL PRIMARY KEY,
    personID         integer      NOT NULL,
    calendarID       integer      NOT NULL,
    structureID      integer      NOT NULL,
    grade            varchar(4),                         -- local code; map via GradeLevel
    serviceType      char(1),                            -- 'P' primary, 'S' secondary [A]
    startDate        date         NOT NULL,
    endDate          date,                               -- NULL = open
    startStatus      varchar(10),
    endStatus        varchar(10),
    noShow           smallint,                           -- may be NULL
    stateExclude     smallint,                           -- may be NULL
    endYear          integer,
    active           smallint,
    nextCalendar     integer,
    nextStructureID  integer,
    nextGrade        varchar(4),
    residentDistrict varchar(10),
    residentSchool   varchar(10),
    specialEdStatus  varchar(10),
    disability1      varchar(10),
    section504       smallint
);

-- 4. Scheduling ----------------------------------------------------------------------

CREATE TABLE Trial (
    trialID         integer      NOT NULL PRIMARY KEY,
    calendarID      integer      NOT NULL,
    structureID     integer      NOT NULL,
    name            varchar(50),                         -- [A]
    active          smallint                             -- 1 = the real schedule
);

CREATE TABLE TermSchedule (
    termScheduleID  integer      NOT NULL PRIMARY KEY,
    structureID     integer      NOT NULL,
    name            varchar(50)                          -- [A]
);

CREATE TABLE Term (
    termID          integer      NOT NULL PRIMARY KEY,
    termScheduleID  integer      NOT NULL,
    name            varchar(30)  NOT NULL,
    startDate       date,
    endDate         date,
    seq             smallint                             -- [A]
);

CREATE TABLE PeriodSchedule (
    periodScheduleID integer     NOT NULL PRIMARY KEY,
    structureID      integer,                            -- [A]
    name             varchar(50)
);

CREATE TABLE Period (
    periodID         integer     NOT NULL PRIMARY KEY,
    periodScheduleID integer     NOT NULL,
    name             varchar(20) NOT NULL,
    seq              smallint,
    startTime        time,
    endTime          time
);

CREATE TABLE Room (
    roomID          integer      NOT NULL PRIMARY KEY,
    schoolID        integer,                             -- [A]
    name            varchar(50)  NOT NULL
);

-- One row per course per calendar (so per school and year).
CREATE TABLE Course (
    courseID        integer      NOT NULL PRIMARY KEY,
    calendarID      integer      NOT NULL,
    number          varchar(20)  NOT NULL,
    name            varchar(100) NOT NULL,
    active          smallint,
    stateCode       varchar(20),
    homeroom        smallint,
    departmentID    integer                              -- [A]
);

CREATE TABLE Section (
    sectionID       integer      NOT NULL PRIMARY KEY,
    courseID        integer      NOT NULL,
    trialID         integer      NOT NULL,
    number          integer      NOT NULL,               -- type [A]
    teacherPersonID integer,                             -- shortcut to one primary teacher
    teacherDisplay  varchar(100),
    roomID          integer,
    homeroomSection smallint
);

-- When a section meets: one row per term x period.
CREATE TABLE SectionPlacement (
    sectionID       integer      NOT NULL,
    trialID         integer      NOT NULL,
    termID          integer      NOT NULL,
    periodID        integer      NOT NULL,
    PRIMARY KEY (sectionID, trialID, termID, periodID)
);

-- Teachers of each section over time. staffType 'P' = primary, 'T' = additional teacher.
CREATE TABLE SectionStaffHistory (
    historyID       integer      NOT NULL PRIMARY KEY,
    sectionID       integer      NOT NULL,
    trialID         integer      NOT NULL,
    personID        integer      NOT NULL,
    staffType       char(1)      NOT NULL,
    startDate       date,                                -- NULL = from the start
    endDate         date,                                -- NULL = open
    createdDate     timestamp
);

-- A student in a section.
CREATE TABLE Roster (
    rosterID        integer      NOT NULL PRIMARY KEY,
    personID        integer      NOT NULL,
    sectionID       integer      NOT NULL,
    trialID         integer      NOT NULL,
    startDate       date,                                -- NULL = from the start
    endDate         date,                                -- NULL = open
    modifiedDate    timestamp
);

-- Indexes on the join columns, as Campus has them: without them a large generated
-- district (1M students) cannot be extracted in reasonable time on SQLite. Plain
-- CREATE INDEX works unchanged on SQLite and PostgreSQL.
CREATE INDEX ix_enrollment_person ON Enrollment (personID, calendarID);
CREATE INDEX ix_enrollment_calendar ON Enrollment (calendarID);
CREATE INDEX ix_identity_person ON "identity" (personID);
CREATE INDEX ix_roster_section ON Roster (sectionID, trialID);
CREATE INDEX ix_roster_person ON Roster (personID);
CREATE INDEX ix_ssh_section ON SectionStaffHistory (sectionID, trialID);
CREATE INDEX ix_ssh_person ON SectionStaffHistory (personID);
CREATE INDEX ix_placement_section ON SectionPlacement (sectionID, trialID);
CREATE INDEX ix_relatedpair_person1 ON RelatedPair (personID1);
CREATE INDEX ix_relatedpair_person2 ON RelatedPair (personID2);
CREATE INDEX ix_contact_person ON Contact (personID);
CREATE INDEX ix_useraccount_person ON UserAccount (personID);
CREATE INDEX ix_assignment_person ON EmploymentAssignment (personID);
CREATE INDEX ix_section_course ON Section (courseID);
CREATE INDEX ix_course_calendar ON Course (calendarID);

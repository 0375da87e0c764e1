-- courses.sql (OneRoster 1.1, Infinite Campus): the active courses of the active school year.
--
-- Returns one row per Course (Campus keeps one Course row per calendar, so per school and
-- year, and OneRoster courses are per school year too):
--   sourcedId = prefix course- plus Course.courseID (Campus has no course GUID),
--   schoolYearSourcedId = sy- plus Calendar.endYear (the schoolYear session of
--   academicSessions.sql), title = Course.name, courseCode = Course.number,
--   orgSourcedId = School.schoolGUID of the calendar school.
--   grades = the state grade levels (GradeLevel.stateGrade, else the local Enrollment.grade)
--     of the students on the rosters of the course's sections in the active trial, by their
--     enrollment in the course's calendar: Campus keeps no grade range on Course, so the
--     grades are those of who takes it. The tool maps them to CEDS codes and merges the
--     rows of a course into one list. A course nobody is scheduled into has no grades.
--   subjects = the SCED subject area named by the first two digits of Course.stateCode
--     (01 English Language and Literature … 24 World Languages, and 51-58 for the
--     prior-to-secondary codes; written without commas, which would split the name in
--     OneRoster's comma-separated list), subjectCodes = Course.stateCode itself. Campus's stateCode
--     is the state course code, which in most states is (or starts with) the NCES SCED
--     course code that OneRoster's subjectCodes names; a state whose codes are not SCED
--     gets a blank or wrong subject here, and the job can leave both out by copying this
--     file and removing the two columns. Blank when stateCode is NULL.
-- Reads:   Course, Calendar, SchoolYear, School, Section, Trial, Roster, Enrollment,
--          GradeLevel
-- Filters, and why:
--   * Course.active = 1: inactive courses are leftovers and their sections are not sent.
--   * Included calendars only: Calendar.endYear = the active SchoolYear.endYear, not
--     Calendar.exclude = 1, not Calendar.summerSchool = 1, school not School.exclude = 1
--     (NULL flags count as 0). Next year courses already exist and must not leak.
--   Courses without sections are kept (they are part of the catalogue of the year).
--   The as-of date is not used here.
--   (One time rule for the folder: everything follows the active year; people and
--   enrollments the as-of date moved into it. See users.sql.)
-- Id scheme: course- plus courseID, sy- plus endYear, schoolGUID for the org (the same as in
--   orgs.sql, academicSessions.sql and classes.sql).
-- Order: by courseID, then grade: the rows of a course (one per grade) are consecutive.
-- Portability: common subset of T-SQL, PostgreSQL and SQLite. schoolGUID is cast to
--   varchar(36).
WITH crs AS (
    SELECT c.courseID,
           c.name,
           c.number,
           c.stateCode,
           cal.calendarID,
           cal.endYear,
           CAST(sch.schoolGUID AS varchar(36)) AS schoolGUID
    FROM Course c
    JOIN Calendar cal ON cal.calendarID = c.calendarID
    JOIN SchoolYear sy ON sy.endYear = cal.endYear AND sy.active = 1
    JOIN School sch ON sch.schoolID = cal.schoolID
    WHERE c.active = 1
      AND (sch.exclude IS NULL OR sch.exclude = 0)
      AND (cal.exclude IS NULL OR cal.exclude = 0)
      AND (cal.summerSchool IS NULL OR cal.summerSchool = 0)
),
grd AS (
    -- The grade levels of the students scheduled into the course (see the header).
    SELECT DISTINCT crs.courseID,
           NULLIF(LTRIM(RTRIM(COALESCE(gl.stateGrade, e.grade))), '') AS grade
    FROM crs
    JOIN Section s ON s.courseID = crs.courseID
    JOIN Trial t ON t.trialID = s.trialID AND t.active = 1
                 -- a CASE, not a plain comparison, for PostgreSQL's row estimate (users.sql)
                 AND CASE WHEN t.calendarID = crs.calendarID THEN 1 END IS NOT NULL
    JOIN Roster r ON r.sectionID = s.sectionID
                  AND CASE WHEN r.trialID = s.trialID THEN 1 END IS NOT NULL
    JOIN Enrollment e ON e.personID = r.personID
                      AND CASE WHEN e.calendarID = crs.calendarID THEN 1 END IS NOT NULL
    LEFT JOIN GradeLevel gl ON gl.calendarID = e.calendarID
                           AND gl.structureID = e.structureID
                           AND gl.name = e.grade
    WHERE (e.noShow IS NULL OR e.noShow = 0)
      AND (e.stateExclude IS NULL OR e.stateExclude = 0)
)
SELECT 'course-'                             AS sourcedId_prefix,
       crs.courseID                          AS sourcedId,
       'sy-'                                 AS schoolYearSourcedId_prefix,
       crs.endYear                           AS schoolYearSourcedId,
       crs.name                              AS title,
       crs.number                            AS courseCode,
       grd.grade                             AS grades,
       crs.schoolGUID                        AS orgSourcedId,
       CASE SUBSTRING(crs.stateCode, 1, 2)
            WHEN '01' THEN 'English Language and Literature'
            WHEN '02' THEN 'Mathematics'
            WHEN '03' THEN 'Life and Physical Sciences'
            WHEN '04' THEN 'Social Sciences and History'
            WHEN '05' THEN 'Fine and Performing Arts'
            WHEN '06' THEN 'Foreign Language and Literature'
            WHEN '07' THEN 'Religious Education and Theology'
            WHEN '08' THEN 'Physical Health and Safety Education'
            WHEN '09' THEN 'Military Science'
            WHEN '10' THEN 'Information Technology'
            WHEN '11' THEN 'Communication and Audio/Visual Technology'
            WHEN '12' THEN 'Business and Marketing'
            WHEN '13' THEN 'Manufacturing'
            WHEN '14' THEN 'Health Care Sciences'
            WHEN '15' THEN 'Public Protective and Government Service'
            WHEN '16' THEN 'Hospitality and Tourism'
            WHEN '17' THEN 'Architecture and Construction'
            WHEN '18' THEN 'Agriculture Food and Natural Resources'
            WHEN '19' THEN 'Human Services'
            WHEN '20' THEN 'Transportation Distribution and Logistics'
            WHEN '21' THEN 'Engineering and Technology'
            WHEN '22' THEN 'Miscellaneous'
            WHEN '23' THEN 'Non-Subject-Specific'
            WHEN '24' THEN 'World Languages'
            WHEN '51' THEN 'English Language and Literature'
            WHEN '52' THEN 'Mathematics'
            WHEN '53' THEN 'Life and Physical Sciences'
            WHEN '54' THEN 'Social Sciences and History'
            WHEN '55' THEN 'Fine and Performing Arts'
            WHEN '56' THEN 'Foreign Language and Literature'
            WHEN '57' THEN 'Religious Education and Theology'
            WHEN '58' THEN 'Physical Health and Safety Education'
       END AS subjects,
       NULLIF(LTRIM(RTRIM(crs.stateCode)), '') AS subjectCodes
FROM crs
LEFT JOIN grd ON grd.courseID = crs.courseID
ORDER BY crs.courseID, COALESCE(grd.grade, '');

-- sections.sql (Clever SFTP, Infinite Campus): sections.csv, one row per section.
--
-- Which: the classes of the OneRoster set (../oneroster-1.1/classes.sql: the active
--   trial's sections of active courses in included calendars) that Clever can take: at
--   least one student on the date (a row of enrollments.csv) and at least one teacher on
--   the date (dev.clever.com, data-model quirks: "a section needs at least one student and
--   has exactly one primary teacher", confirmed). Sections without either are left out,
--   with their enrollments.
-- Teachers: those of enrollments.sql's teacher rows (SectionStaffHistory staffType P or T
--   of the active trial, current on the date, the people setting's account rule, a current
--   identity), ordered primary (staffType P) first, then by personID. Teacher_id = the
--   first (Clever's one primary teacher), Teacher_2_id … Teacher_5_id = the next (co-
--   teachers; a sixth and later are not sent). Every one is a row of teachers.csv.
-- Columns (3P = header corroborated by public district exporters, not confirmed from a
--   Clever page; U = value format unconfirmed):
--   School_id = School.schoolGUID (3P). Section_id = Section.sectionID (Campus has no
--   section GUID; the OneRoster classes.sql sends the same number as class-<id>) (3P).
--   Teacher_id, Teacher_2_id … = Person.personGUID (3P).
--   Course_name, Course_number = Course.name, number; Section_number = Section.number
--   (3P). Clever builds a section's display name from course, teacher and period, so Name
--   is not sent.
--   Term_name, Term_start, Term_end: the terms the section is placed in
--   (SectionPlacement of the section's trial → Term): the first start and the last end,
--   and the term's name when all placements are in one term, else the calendar's name
--   (Calendar.name); a section without placements gets the calendar's name and dates. The
--   tool writes the dates MM/DD/YYYY (3P, U: the date format). Clever makes a term only
--   when one of them is sent (dev.clever.com v2.1 quirks).
-- Reads:   Section, Trial, Course, Calendar, SchoolYear, School, SectionPlacement, Term,
--          Roster, Enrollment, SectionStaffHistory, UserAccount, Person, "identity"
-- Parameters: `? /* people */` is the job's people setting; every other question mark is
--   the as-of date (moved into the active school year, as in users.sql).
-- Order: Section_id.
-- Portability: common subset of T-SQL, PostgreSQL and SQLite.
WITH opt AS (
    SELECT CASE WHEN ? /* people */ = 'everyone' THEN 1 ELSE 0 END AS everyone
),
cal AS (
    SELECT c.calendarID,
           c.schoolID,
           c.startDate,
           c.endDate
    FROM Calendar c
    JOIN SchoolYear sy ON sy.endYear = c.endYear AND sy.active = 1
    JOIN School sch ON sch.schoolID = c.schoolID
    WHERE (sch.exclude IS NULL OR sch.exclude = 0)
      AND (c.exclude IS NULL OR c.exclude = 0)
      AND (c.summerSchool IS NULL OR c.summerSchool = 0)
),
yr AS (
    -- The as-of date moved into the active school year, as in users.sql.
    SELECT CASE WHEN ? < MIN(cal.startDate) THEN MIN(cal.startDate)
                WHEN ? > MAX(cal.endDate) THEN MAX(cal.endDate)
                ELSE ? END AS asOf
    FROM cal
),
wacct AS (
    -- Persons with an enabled account that is not a parent-portal one, as in users.sql.
    SELECT DISTINCT ua.personID
    FROM UserAccount ua
    WHERE NULLIF(LTRIM(RTRIM(ua.username)), '') IS NOT NULL
      AND COALESCE(ua.disable, 0) = 0
      AND CASE WHEN ua.homepage LIKE 'nav-wrapper/parent/portal/parent%' THEN 1 ELSE 0 END = 0
),
ppl AS (
    SELECT p.personID
    FROM Person p
    JOIN "identity" i ON i.identityID = p.currentIdentityID
    WHERE CASE WHEN i.personID = p.personID THEN 1 END IS NOT NULL
),
pupil AS (
    -- The students of students.sql.
    SELECT DISTINCT e.personID
    FROM Enrollment e
    JOIN cal ON cal.calendarID = e.calendarID
    JOIN ppl ON ppl.personID = e.personID
    CROSS JOIN yr
    CROSS JOIN opt
    WHERE e.serviceType = 'P'
      AND (e.noShow IS NULL OR e.noShow = 0)
      AND (e.stateExclude IS NULL OR e.stateExclude = 0)
      AND e.startDate <= yr.asOf
      AND (e.endDate IS NULL OR e.endDate >= yr.asOf)
      AND (opt.everyone = 1 OR e.personID IN (SELECT wacct.personID FROM wacct))
),
sec AS (
    SELECT s.sectionID,
           s.trialID,
           s.number,
           c.name                              AS courseName,
           c.number                            AS courseNumber,
           cal.calendarID,
           cal.name                            AS calendarName,
           cal.startDate                       AS calStart,
           cal.endDate                         AS calEnd,
           CAST(sch.schoolGUID AS varchar(36)) AS schoolGUID
    FROM Section s
    JOIN Trial t ON t.trialID = s.trialID AND t.active = 1
    JOIN Course c ON c.courseID = s.courseID
                    AND CASE WHEN c.calendarID = t.calendarID THEN 1 END IS NOT NULL
    JOIN Calendar cal ON cal.calendarID = c.calendarID
    JOIN SchoolYear sy ON sy.endYear = cal.endYear AND sy.active = 1
    JOIN School sch ON sch.schoolID = cal.schoolID
    WHERE c.active = 1
      AND (sch.exclude IS NULL OR sch.exclude = 0)
      AND (cal.exclude IS NULL OR cal.exclude = 0)
      AND (cal.summerSchool IS NULL OR cal.summerSchool = 0)
),
stu AS (
    -- Students on the section's roster on the date, as enrollments.sql: a current Roster
    -- row of the section's trial, and a current counting Enrollment (any serviceType) in
    -- the section's calendar.
    SELECT DISTINCT r.personID,
           r.sectionID
    FROM Roster r
    JOIN sec ON sec.sectionID = r.sectionID
            AND CASE WHEN sec.trialID = r.trialID THEN 1 END IS NOT NULL
    JOIN pupil ON pupil.personID = r.personID
    CROSS JOIN yr
    WHERE (r.startDate IS NULL OR r.startDate <= yr.asOf)
      AND (r.endDate IS NULL OR r.endDate >= yr.asOf)
      AND EXISTS (SELECT 1
                  FROM Enrollment e
                  WHERE e.personID = r.personID
                    AND CASE WHEN e.calendarID = sec.calendarID THEN 1 END IS NOT NULL
                    AND (e.noShow IS NULL OR e.noShow = 0)
                    AND (e.stateExclude IS NULL OR e.stateExclude = 0)
                    AND e.startDate <= yr.asOf
                    AND (e.endDate IS NULL OR e.endDate >= yr.asOf))
),
tch AS (
    -- Teachers of the section on the date, as enrollments.sql (staffType P or T, the
    -- people setting's account rule, a current identity); primary = 1 when any of their
    -- current rows is P.
    SELECT h.personID,
           h.sectionID,
           MAX(CASE WHEN h.staffType = 'P' THEN 1 ELSE 0 END) AS isPrimary
    FROM SectionStaffHistory h
    JOIN sec ON sec.sectionID = h.sectionID
            AND CASE WHEN sec.trialID = h.trialID THEN 1 END IS NOT NULL
    JOIN ppl ON ppl.personID = h.personID
    CROSS JOIN yr
    CROSS JOIN opt
    WHERE h.staffType IN ('P', 'T')
      AND (h.startDate IS NULL OR h.startDate <= yr.asOf)
      AND (h.endDate IS NULL OR h.endDate >= yr.asOf)
      AND (opt.everyone = 1 OR h.personID IN (SELECT wacct.personID FROM wacct))
    GROUP BY h.personID, h.sectionID
),
sent AS (
    -- The sections Clever can take: at least one student and a teacher (dev.clever.com,
    -- "a section needs at least one student and has exactly one primary teacher").
    SELECT sec.sectionID
    FROM sec
    WHERE EXISTS (SELECT 1 FROM stu WHERE stu.sectionID = sec.sectionID)
      AND EXISTS (SELECT 1 FROM tch WHERE tch.sectionID = sec.sectionID)
),
span AS (
    SELECT sec.sectionID,
           MIN(tm.startDate) AS termStart,
           MAX(tm.endDate)   AS termEnd,
           CASE WHEN MIN(tm.name) = MAX(tm.name) THEN MIN(tm.name) END AS termName
    FROM sec
    JOIN SectionPlacement sp ON sp.sectionID = sec.sectionID AND sp.trialID = sec.trialID
    JOIN Term tm ON tm.termID = sp.termID
    GROUP BY sec.sectionID
),
rt AS (
    SELECT tch.sectionID,
           CAST(p.personGUID AS varchar(36)) AS personGUID,
           ROW_NUMBER() OVER (PARTITION BY tch.sectionID
                              ORDER BY tch.isPrimary DESC, tch.personID) AS rn
    FROM tch
    JOIN Person p ON p.personID = tch.personID
),
tt AS (
    SELECT rt.sectionID,
           MAX(CASE WHEN rt.rn = 1 THEN rt.personGUID END) AS t1,
           MAX(CASE WHEN rt.rn = 2 THEN rt.personGUID END) AS t2,
           MAX(CASE WHEN rt.rn = 3 THEN rt.personGUID END) AS t3,
           MAX(CASE WHEN rt.rn = 4 THEN rt.personGUID END) AS t4,
           MAX(CASE WHEN rt.rn = 5 THEN rt.personGUID END) AS t5
    FROM rt
    GROUP BY rt.sectionID
)
SELECT sec.schoolGUID                                      AS "School_id",
       CAST(sec.sectionID AS varchar(20))                  AS "Section_id",
       tt.t1                                               AS "Teacher_id",
       tt.t2                                               AS "Teacher_2_id",
       tt.t3                                               AS "Teacher_3_id",
       tt.t4                                               AS "Teacher_4_id",
       tt.t5                                               AS "Teacher_5_id",
       CAST(sec.number AS varchar(20))                     AS "Section_number",
       sec.courseName                                      AS "Course_name",
       sec.courseNumber                                    AS "Course_number",
       COALESCE(span.termName, sec.calendarName)           AS "Term_name",
       COALESCE(span.termStart, sec.calStart)              AS "Term_start",
       COALESCE(span.termEnd, sec.calEnd)                  AS "Term_end"
FROM sec
JOIN sent ON sent.sectionID = sec.sectionID
JOIN tt ON tt.sectionID = sec.sectionID
LEFT JOIN span ON span.sectionID = sec.sectionID
ORDER BY sec.sectionID;

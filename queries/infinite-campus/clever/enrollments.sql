-- enrollments.sql (Clever SFTP, Infinite Campus): enrollments.csv, one row per student and
-- section.
--
-- Which: the student rows of the OneRoster enrollments.sql (a current Roster row of the
--   section's trial, the student being a student of students.sql and holding a current
--   counting Enrollment, any serviceType, in the section's calendar), one per (section,
--   student), for the sections of sections.sql only (those with a teacher and a student),
--   so that every row names a section, a student and a school Clever has.
--   Teachers are not enrolled: Clever links them through sections.csv (3P).
--   A student may be enrolled in a section of a school where they are only secondary (a
--   shared programme): the row names the section's school, as OneRoster does; whether
--   Clever accepts a School_id other than the student's is UNCONFIRMED (compare with the
--   "SFTP Instructions" PDF on the Clever dashboard).
-- Columns (3P = header corroborated by public district exporters): School_id =
--   School.schoolGUID of the section, Section_id = Section.sectionID, Student_id =
--   Person.personGUID.
-- Reads:   Section, Trial, Course, Calendar, SchoolYear, School, Roster, Enrollment,
--          SectionStaffHistory, UserAccount, Person, "identity"
-- Parameters: `? /* people */` is the job's people setting; every other question mark is
--   the as-of date (moved into the active school year, as in users.sql).
-- Order: Section_id, Student_id.
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
)
SELECT sec.schoolGUID                                      AS "School_id",
       CAST(sec.sectionID AS varchar(20))                  AS "Section_id",
       CAST(p.personGUID AS varchar(36))                   AS "Student_id"
FROM stu
JOIN sent ON sent.sectionID = stu.sectionID
JOIN sec ON sec.sectionID = stu.sectionID
JOIN Person p ON p.personID = stu.personID
ORDER BY sec.sectionID, "Student_id";

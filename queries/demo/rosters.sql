-- rosters.sql: who is in each section on the as-of date: students and their teachers.
--
-- Returns: section_id, person_guid, role
--   role = 'student'    a Roster row (one row per section and student, however many
--                       Roster history rows qualify);
--          'teacher'    a SectionStaffHistory row with staffType = 'P' (primary);
--          'co-teacher' any other staffType (e.g. 'T'); a person who is both primary and
--                       co-teacher of a section is listed once, as 'teacher'.
--   section_id matches sections.sql; person_guid matches students.sql / staff.sql.
-- Reads:   Section, Trial, Course, Calendar, SchoolYear, School, Roster, Enrollment,
--          SectionStaffHistory, Person
-- Filters, and why:
--   * Sections: exactly those of sections.sql (active trial, active year, Course.active = 1,
--     School.exclude / Calendar.exclude / summerSchool left out). Roster and
--     SectionStaffHistory rows must carry the trialID of the section, or draft-trial rows
--     appear.
--   * Date windows on Roster and SectionStaffHistory: startDate NULL or <= as-of, endDate
--     NULL or >= as-of, so dropped classes and replaced teachers are not reported.
--   * Students must also hold an enrollment in the calendar of the section, current on
--     the as-of date and not noShow = 1 / stateExclude = 1 (NULL counts as 0): IC keeps
--     the rosters of no-shows and state-excluded students. Secondary enrollments count.
-- Parameters: every question-mark placeholder is the as-of date, bound as a date.
-- Portability: common subset of T-SQL, PostgreSQL and SQLite. personGUID is cast to
--   varchar(36).
WITH sec AS (
    SELECT s.sectionID,
           s.trialID,
           cal.calendarID
    FROM Section s
    JOIN Trial t ON t.trialID = s.trialID AND t.active = 1
    JOIN Course c ON c.courseID = s.courseID
                    -- the trial must be of the course's calendar; a CASE, not a plain
                    -- comparison, keeps PostgreSQL's row estimate (see the Campus users.sql)
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
    SELECT DISTINCT r.sectionID, r.personID
    FROM Roster r
    JOIN sec ON sec.sectionID = r.sectionID
            AND CASE WHEN sec.trialID = r.trialID THEN 1 END IS NOT NULL
    WHERE (r.startDate IS NULL OR r.startDate <= ?)
      AND (r.endDate IS NULL OR r.endDate >= ?)
      AND EXISTS (SELECT 1
                  FROM Enrollment e
                  WHERE e.personID = r.personID
                    -- a CASE, not a second correlated column, so that PostgreSQL
                    -- does not start from every (calendar, enrolled person) pair
                    AND CASE WHEN e.calendarID = sec.calendarID THEN 1 END IS NOT NULL
                    AND (e.noShow IS NULL OR e.noShow = 0)
                    AND (e.stateExclude IS NULL OR e.stateExclude = 0)
                    AND e.startDate <= ?
                    AND (e.endDate IS NULL OR e.endDate >= ?))
),
tch AS (
    SELECT h.sectionID,
           h.personID,
           CASE WHEN h.staffType = 'P' THEN 'teacher' ELSE 'co-teacher' END AS staffRole,
           ROW_NUMBER() OVER (PARTITION BY h.sectionID, h.personID
                              ORDER BY CASE WHEN h.staffType = 'P' THEN 0 ELSE 1 END,
                                       h.historyID DESC) AS rn
    FROM SectionStaffHistory h
    JOIN sec ON sec.sectionID = h.sectionID
            AND CASE WHEN sec.trialID = h.trialID THEN 1 END IS NOT NULL
    WHERE (h.startDate IS NULL OR h.startDate <= ?)
      AND (h.endDate IS NULL OR h.endDate >= ?)
)
SELECT stu.sectionID                     AS section_id,
       CAST(p.personGUID AS varchar(36)) AS person_guid,
       'student'                         AS role
FROM stu
JOIN Person p ON p.personID = stu.personID
UNION ALL
SELECT tch.sectionID                     AS section_id,
       CAST(p.personGUID AS varchar(36)) AS person_guid,
       tch.staffRole                     AS role
FROM tch
JOIN Person p ON p.personID = tch.personID
WHERE tch.rn < 2
ORDER BY section_id, role, person_guid;

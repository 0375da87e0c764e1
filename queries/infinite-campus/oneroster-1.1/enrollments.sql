-- enrollments.sql (OneRoster 1.1, Infinite Campus): students and teachers of each class on
-- the as-of date, and those already scheduled into a class that starts later in the
-- school year (next term's sections), which receivers want ready before the term.
--
-- Returns one row per enrollment:
--   * students: one per (section, student) from Roster.
--     sourcedId = prefix enr-s- plus Roster.rosterID. When several Roster rows of the same
--     student and section are current (overlapping history rows), the lowest rosterID is
--     used, so adding a newer row does not change the id. role = student, primary empty:
--     OneRoster 1.1 says primary is "applicable only to teachers", so a student row leaves
--     it blank rather than claiming false.
--     beginDate / endDate = Roster.startDate / endDate of that row. A NULL date (Campus
--     meaning: from the start, or open) falls back to the first start / last end date of
--     the terms the section is placed in, then to the Calendar dates.
--   * teachers: one per (section, person) from SectionStaffHistory rows of staffType P
--     (primary teacher) or T (teacher); other section staff (an aide listed on a section)
--     get no teacher enrollment, as in Campus's own feed.
--     sourcedId = prefix enr-t- plus the lowest SectionStaffHistory.historyID of the current
--     rows of that person in that section (history rows repeat a person, e.g. a duplicated
--     primary row). role = teacher, primary = 1 when any of those rows has staffType = P
--     (primary teacher), else 0 (co-teacher, e.g. staffType T). Dates as for students, from
--     the history row that gives the id.
--   classSourcedId = class- plus sectionID, schoolSourcedId = School.schoolGUID,
--   userSourcedId = Person.personGUID (the same ids as classes.sql, orgs.sql and users.sql).
-- Reads:   Section, Trial, Course, Calendar, SchoolYear, School, SectionPlacement, Term,
--          Roster, Enrollment, SectionStaffHistory, UserAccount, Person, "identity"
-- Filters, and why:
--   * Sections: exactly those of classes.sql (active trial, Course.active = 1, included
--     calendars of the active year, no School.exclude / Calendar.exclude / summerSchool).
--     Roster and SectionStaffHistory rows must carry the trialID of the section, or the rows
--     of draft trials appear.
--   * The date is the as-of date moved into the active school year (the one time rule of
--     users.sql: before the year's first day it counts as the first day, after its last day
--     as the last day).
--   * Date windows on Roster and SectionStaffHistory: endDate NULL or not before the date,
--     so dropped classes and replaced teachers are not sent; a row that starts after the
--     date (next term's section, a teacher taking over later) is sent with its beginDate,
--     so the receiver has the class ready on its first day. endDate is Campus's last day;
--     the tool writes OneRoster's exclusive end (the day after) unless the job sets
--     enrollment_end_date = "inclusive".
--   * Only the users of users.sql, under the same people setting: a student must be a
--     student user (a current primary enrollment in an included calendar and, by default,
--     an enabled account of their own that is not a parent-portal one); a teacher must,
--     by default, have such an account (their work account). Otherwise the enrollment would
--     name a user that is not in users.csv, and the set would fail validation.
--   * Students must also hold an Enrollment in the calendar of the section that is current on
--     the date (startDate not after it, endDate NULL or not before it) and is not
--     noShow = 1 or stateExclude = 1 (NULL counts as 0): Campus keeps the rosters of
--     no-shows and state-excluded students. Here a secondary (or service) enrollment
--     counts: a student whose primary school is one school and who takes a class at
--     another (a career centre, a shared programme) is on that class's roster in Campus,
--     and the teacher must see them. Only the student's orgs (users.sql) follow the primary
--     enrollment; this row names the class's own school, which OneRoster allows.
--   * The person must have a current identity (Person.currentIdentityID): users.sql drops
--     orphans left by a merge, so their enrollments would not resolve.
-- Parameters: the placeholder written `? /* people */` is bound to the job's people setting
--   as text ('campus-accounts' or 'everyone'), see users.sql; every other question-mark
--   placeholder is the as-of date, bound as a date.
-- Order: by prefix (enr-s- before enr-t-), then id. Every enrollment is one row.
-- Written for row estimates: correlated second conditions are CASE WHEN a = b THEN 1 END IS
--   NOT NULL and the first row of a window is rn < 2, not rn = 1. Same meaning; PostgreSQL
--   estimated one row for the plain forms and joined 600 000 enrollments by nested loops
--   (minutes at 100 000 students, 6 s now). See users.sql.
-- Portability: common subset of T-SQL, PostgreSQL and SQLite. primary is a reserved word
--   and is written as a double-quoted lower-case alias. GUIDs are cast to varchar(36).
WITH opt AS (
    -- The job's people setting: everyone = 1 for 'everyone', 0 for 'campus-accounts'.
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
pupil AS (
    -- The students of users.sql: a current primary enrollment in an included calendar
    -- (and, unless people = everyone, an account of their own).
    SELECT DISTINCT e.personID
    FROM Enrollment e
    JOIN cal ON cal.calendarID = e.calendarID
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
           cal.calendarID,
           cal.startDate                       AS calStart,
           cal.endDate                         AS calEnd,
           CAST(sch.schoolGUID AS varchar(36)) AS schoolGUID
    FROM Section s
    JOIN Trial t ON t.trialID = s.trialID AND t.active = 1
    JOIN Course c ON c.courseID = s.courseID
                    -- the trial must be of the course's calendar; a CASE, not a plain
                    -- comparison, keeps PostgreSQL's row estimate (see users.sql)
                    AND CASE WHEN c.calendarID = t.calendarID THEN 1 END IS NOT NULL
    JOIN Calendar cal ON cal.calendarID = c.calendarID
    JOIN SchoolYear sy ON sy.endYear = cal.endYear AND sy.active = 1
    JOIN School sch ON sch.schoolID = cal.schoolID
    WHERE c.active = 1
      AND (sch.exclude IS NULL OR sch.exclude = 0)
      AND (cal.exclude IS NULL OR cal.exclude = 0)
      AND (cal.summerSchool IS NULL OR cal.summerSchool = 0)
),
span AS (
    SELECT sec.sectionID,
           MIN(tm.startDate) AS termStart,
           MAX(tm.endDate)   AS termEnd
    FROM sec
    JOIN SectionPlacement sp ON sp.sectionID = sec.sectionID AND sp.trialID = sec.trialID
    JOIN Term tm ON tm.termID = sp.termID
    GROUP BY sec.sectionID
),
stu AS (
    SELECT r.rosterID,
           r.personID,
           r.sectionID,
           r.startDate,
           r.endDate,
           ROW_NUMBER() OVER (PARTITION BY r.sectionID, r.personID
                              ORDER BY r.rosterID) AS rn
    FROM Roster r
    JOIN sec ON sec.sectionID = r.sectionID
            AND CASE WHEN sec.trialID = r.trialID THEN 1 END IS NOT NULL
    JOIN pupil ON pupil.personID = r.personID
    CROSS JOIN yr
    WHERE (r.endDate IS NULL OR r.endDate >= yr.asOf)
      AND EXISTS (SELECT 1
                  FROM Enrollment e
                  WHERE e.personID = r.personID
                    -- a CASE, not a second correlated column, so that PostgreSQL
                    -- does not start from every (calendar, enrolled person) pair
                    AND CASE WHEN e.calendarID = sec.calendarID THEN 1 END IS NOT NULL
                    AND (e.noShow IS NULL OR e.noShow = 0)
                    AND (e.stateExclude IS NULL OR e.stateExclude = 0)
                    AND e.startDate <= yr.asOf
                    AND (e.endDate IS NULL OR e.endDate >= yr.asOf))
),
tch AS (
    SELECT h.historyID,
           h.personID,
           h.sectionID,
           h.startDate,
           h.endDate,
           MAX(CASE WHEN h.staffType = 'P' THEN 1 ELSE 0 END)
               OVER (PARTITION BY h.sectionID, h.personID) AS isPrimary,
           ROW_NUMBER() OVER (PARTITION BY h.sectionID, h.personID
                              ORDER BY h.historyID) AS rn
    FROM SectionStaffHistory h
    JOIN sec ON sec.sectionID = h.sectionID
            AND CASE WHEN sec.trialID = h.trialID THEN 1 END IS NOT NULL
    CROSS JOIN yr
    CROSS JOIN opt
    WHERE h.staffType IN ('P', 'T')
      AND (h.endDate IS NULL OR h.endDate >= yr.asOf)
      AND (opt.everyone = 1 OR h.personID IN (SELECT wacct.personID FROM wacct))
),
enr AS (
    SELECT 'enr-s-'                            AS sourcedId_prefix,
           stu.rosterID                        AS sourcedId,
           stu.sectionID                       AS sectionID,
           stu.personID                        AS personID,
           'student'                           AS role,
           CAST(NULL AS int)                   AS isPrimary,
           stu.startDate                       AS startDate,
           stu.endDate                         AS endDate
    FROM stu
    WHERE stu.rn < 2
    UNION ALL
    SELECT 'enr-t-'                            AS sourcedId_prefix,
           tch.historyID                       AS sourcedId,
           tch.sectionID                       AS sectionID,
           tch.personID                        AS personID,
           'teacher'                           AS role,
           tch.isPrimary                       AS isPrimary,
           tch.startDate                       AS startDate,
           tch.endDate                         AS endDate
    FROM tch
    WHERE tch.rn < 2
)
SELECT enr.sourcedId_prefix,
       enr.sourcedId,
       'class-'                                AS classSourcedId_prefix,
       enr.sectionID                           AS classSourcedId,
       sec.schoolGUID                          AS schoolSourcedId,
       CAST(p.personGUID AS varchar(36))       AS userSourcedId,
       enr.role                                AS role,
       enr.isPrimary                           AS "primary",
       COALESCE(enr.startDate, span.termStart, sec.calStart) AS beginDate,
       COALESCE(enr.endDate, span.termEnd, sec.calEnd)       AS endDate
FROM enr
JOIN sec ON sec.sectionID = enr.sectionID
LEFT JOIN span ON span.sectionID = enr.sectionID
JOIN Person p ON p.personID = enr.personID
JOIN "identity" i ON i.identityID = p.currentIdentityID
-- The identity must be the person's own; a CASE, not a second join column, for
-- PostgreSQL's row estimates (see users.sql).
WHERE CASE WHEN i.personID = p.personID THEN 1 END IS NOT NULL
ORDER BY enr.sourcedId_prefix, enr.sourcedId;

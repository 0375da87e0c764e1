-- teachers.sql (Clever SFTP, Infinite Campus): teachers.csv, one row per teacher and school.
--
-- Who: the users of role teacher in the OneRoster set (../oneroster-1.1/users.sql), under
--   the same rules and the same `people` setting (`? /* people */`): a person who teaches
--   an included section on the date (SectionStaffHistory staffType P or T of the active
--   trial, date window), or else has a current EmploymentAssignment with teacher = 1 and no
--   non-teaching flag at an included school; (people = campus-accounts, the default) with
--   an enabled work account; with a current identity; never a student. Administrators and
--   aides go to staff.csv.
-- One row per (teacher, school): the schools of their sections and of their current
--   assignments. UNCONFIRMED how Clever takes a teacher at several schools (its S2 page
--   covers it, not read): the public exporters repeat the row per school; compare with the
--   "SFTP Instructions" PDF on the Clever dashboard.
-- Columns (3P = header corroborated by public district exporters, not confirmed from a
--   Clever page):
--   School_id = School.schoolGUID (3P). Teacher_id = Person.personGUID, the OneRoster
--   sourcedId, also Teacher_id in sections.csv (3P). Teacher_number = Person.staffNumber
--   (3P). State_teacher_id = Person.staffStateID (3P; one exporter spells it
--   "State teacher id": UNCONFIRMED spelling). Teacher_email = Contact.email (3P; most
--   Clever apps sign teachers in with it). First_name, Middle_name, Last_name = the current
--   identity (3P). Title = EmploymentAssignment.title at that school (3P). Username = the
--   work account's username, as users.sql (3P).
-- Reads:   Calendar, SchoolYear, School, Enrollment, Section, Trial, Course,
--          SectionStaffHistory, EmploymentAssignment, UserAccount, Person, "identity", Contact
-- Parameters: `? /* people */` is the job's people setting; every other question mark is
--   the as-of date (moved into the active school year, as in users.sql).
-- Order: Teacher_id, School_id.
-- Portability: common subset of T-SQL, PostgreSQL and SQLite.
WITH opt AS (
    SELECT CASE WHEN ? /* people */ = 'everyone' THEN 1 ELSE 0 END AS everyone
),
cal AS (
    SELECT c.calendarID,
           c.schoolID,
           c.districtID,
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
acct AS (
    SELECT ua.userID,
           ua.personID,
           NULLIF(LTRIM(RTRIM(ua.username)), '') AS username,
           CASE WHEN ua.homepage LIKE 'nav-wrapper/parent/portal/parent%' THEN 1 ELSE 0 END AS portal,
           CASE WHEN COALESCE(ua.disable, 0) = 0 THEN 1 ELSE 0 END AS enabled
    FROM UserAccount ua
    WHERE NULLIF(LTRIM(RTRIM(ua.username)), '') IS NOT NULL
),
wacct AS (
    SELECT DISTINCT acct.personID FROM acct WHERE acct.enabled = 1 AND acct.portal = 0
),
ppl AS (
    SELECT p.personID
    FROM Person p
    JOIN "identity" i ON i.identityID = p.currentIdentityID
    WHERE CASE WHEN i.personID = p.personID THEN 1 END IS NOT NULL
),
enr AS (
    -- Students (users.sql): a student is never also sent as staff.
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
           cal.schoolID
    FROM Section s
    JOIN Trial t ON t.trialID = s.trialID AND t.active = 1
    JOIN Course c ON c.courseID = s.courseID
                    AND CASE WHEN c.calendarID = t.calendarID THEN 1 END IS NOT NULL
    JOIN cal ON cal.calendarID = c.calendarID
    WHERE c.active = 1
),
tch AS (
    SELECT DISTINCT h.personID,
           sec.schoolID
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
),
asg AS (
    SELECT ea.personID,
           ea.schoolID,
           NULLIF(LTRIM(RTRIM(ea.title)), '') AS title,
           CASE WHEN COALESCE(ea.supervisor, 0) = 1 OR COALESCE(ea.counselor, 0) = 1
                  OR COALESCE(ea.health, 0) = 1 OR COALESCE(ea.specialEd, 0) = 1
                  OR COALESCE(ea.program, 0) = 1 OR COALESCE(ea.behavior, 0) = 1
                  OR COALESCE(ea.rti, 0) = 1 OR COALESCE(ea.advisor, 0) = 1
                  OR COALESCE(ea.foodService, 0) = 1 THEN 3
                WHEN COALESCE(ea.teacher, 0) = 1 THEN 4
                ELSE 5 END AS pri
    FROM EmploymentAssignment ea
    JOIN ppl ON ppl.personID = ea.personID
    CROSS JOIN yr
    CROSS JOIN opt
    WHERE (ea.startDate IS NULL OR ea.startDate <= yr.asOf)
      AND (ea.endDate IS NULL OR ea.endDate >= yr.asOf)
      AND EXISTS (SELECT 1 FROM cal WHERE cal.schoolID = ea.schoolID)
      AND (opt.everyone = 1 OR ea.personID IN (SELECT wacct.personID FROM wacct))
),
cand AS (
    SELECT personID, 1 AS pri FROM enr
    UNION ALL
    SELECT personID, 2 AS pri FROM tch
    UNION ALL
    SELECT personID, pri FROM asg
),
usr AS (
    SELECT cand.personID,
           CASE cand.pri WHEN 1 THEN 'student'
                         WHEN 2 THEN 'teacher'
                         WHEN 3 THEN 'administrator'
                         WHEN 4 THEN 'teacher'
                         ELSE 'aide' END AS role,
           ROW_NUMBER() OVER (PARTITION BY cand.personID ORDER BY cand.pri) AS rn
    FROM cand
),
usr1 AS (
    SELECT usr.personID, usr.role FROM usr WHERE usr.rn = 1
),
uorg AS (
    -- The schools of a staff user, as users.sql: of their sections and their assignments.
    SELECT u.personID, tch.schoolID
    FROM usr1 u JOIN tch ON tch.personID = u.personID
    UNION
    SELECT u.personID, asg.schoolID
    FROM usr1 u JOIN asg ON asg.personID = u.personID
),
uacct AS (
    -- The work account (not a parent-portal one), an enabled one first, then the lowest
    -- userID, as users.sql for staff.
    SELECT acct.personID,
           acct.username,
           ROW_NUMBER() OVER (PARTITION BY acct.personID
                              ORDER BY acct.portal, 1 - acct.enabled, acct.userID) AS rn
    FROM acct
),
ct AS (
    SELECT c.personID,
           NULLIF(LTRIM(RTRIM(c.email)), '') AS email,
           ROW_NUMBER() OVER (PARTITION BY c.personID
                              ORDER BY CASE WHEN NULLIF(LTRIM(RTRIM(c.email)), '') IS NULL
                                            THEN 1 ELSE 0 END,
                                       c.districtID) AS rn
    FROM Contact c
    WHERE c.districtID IN (SELECT cal.districtID FROM cal)
),
ttl AS (
    -- The title of the person's current assignment at that school (the lowest, when several).
    SELECT asg.personID, asg.schoolID, MIN(asg.title) AS title
    FROM asg
    GROUP BY asg.personID, asg.schoolID
)
SELECT CAST(sch.schoolGUID AS varchar(36))        AS "School_id",
       CAST(p.personGUID AS varchar(36))          AS "Teacher_id",
       NULLIF(LTRIM(RTRIM(p.staffNumber)), '')    AS "Teacher_number",
       NULLIF(LTRIM(RTRIM(p.staffStateID)), '')   AS "State_teacher_id",
       ct.email                                   AS "Teacher_email",
       i.firstName                                AS "First_name",
       NULLIF(LTRIM(RTRIM(i.middleName)), '')     AS "Middle_name",
       i.lastName                                 AS "Last_name",
       ttl.title                                  AS "Title",
       ua.username                                AS "Username"
FROM usr1 u
JOIN uorg ON uorg.personID = u.personID
JOIN School sch ON sch.schoolID = uorg.schoolID
JOIN Person p ON p.personID = u.personID
JOIN "identity" i ON i.identityID = p.currentIdentityID
LEFT JOIN ttl ON ttl.personID = u.personID AND ttl.schoolID = uorg.schoolID
LEFT JOIN uacct ua ON ua.personID = u.personID AND ua.rn = 1
LEFT JOIN ct ON ct.personID = u.personID AND ct.rn = 1
WHERE u.role = 'teacher'
ORDER BY "Teacher_id", "School_id";

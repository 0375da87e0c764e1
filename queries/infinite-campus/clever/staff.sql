-- staff.sql (Clever SFTP, Infinite Campus): staff.csv (optional), one row per staff member
-- and school.
--
-- Who: the users of role administrator or aide in the OneRoster set
--   (../oneroster-1.1/users.sql), under the same rules and `people` setting: a current
--   EmploymentAssignment at an included school, administrator when it has any non-teaching
--   flag (supervisor, counselor, health, specialEd, program, behavior, rti, advisor,
--   foodService), else aide when it has not teacher = 1; never someone who teaches a
--   section or is a student (they are in teachers.csv / students.csv).
-- staff.csv replaces Clever's deprecated admins.csv. Only the file's existence is
--   confirmed (Clever "SFTP Instructions" v2.1.1, table of contents); EVERY COLUMN NAME
--   HERE IS UNCONFIRMED: compare with the "SFTP Instructions" PDF on the Clever dashboard
--   before sending it, or delete this file from a copy of the folder (staff.csv is
--   optional).
-- One row per (person, school): the schools of their current assignments.
-- Columns (U): School_id = School.schoolGUID. Staff_id = Person.personGUID (the OneRoster
--   sourcedId). Staff_email = Contact.email. First_name, Last_name = the current identity.
--   Title = EmploymentAssignment.title at that school. Username = the work account's
--   username. Role = the OneRoster role (administrator or aide).
-- Reads:   as teachers.sql.
-- Parameters: `? /* people */` is the job's people setting; every other question mark is
--   the as-of date (moved into the active school year, as in users.sql).
-- Order: Staff_id, School_id.
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
       CAST(p.personGUID AS varchar(36))          AS "Staff_id",
       ct.email                                   AS "Staff_email",
       i.firstName                                AS "First_name",
       i.lastName                                 AS "Last_name",
       ttl.title                                  AS "Title",
       ua.username                                AS "Username",
       u.role                                     AS "Role"
FROM usr1 u
JOIN uorg ON uorg.personID = u.personID
JOIN School sch ON sch.schoolID = uorg.schoolID
JOIN Person p ON p.personID = u.personID
JOIN "identity" i ON i.identityID = p.currentIdentityID
LEFT JOIN ttl ON ttl.personID = u.personID AND ttl.schoolID = uorg.schoolID
LEFT JOIN uacct ua ON ua.personID = u.personID AND ua.rn = 1
LEFT JOIN ct ON ct.personID = u.personID AND ct.rn = 1
WHERE u.role IN ('administrator', 'aide')
ORDER BY "Staff_id", "School_id";

-- users.sql (OneRoster 1.1, Infinite Campus): students, staff and guardians on the as-of date.
--
-- Returns one OneRoster user per person, as one row per (org, agent) pair of that person.
-- The tool merges the rows of a person, collecting orgSourcedIds and agentSourcedIds as
-- lists. sourcedId = Person.personGUID for everybody.
-- Which people go out is the job's `people` setting, read through the placeholder
-- written `? /* people */` (see Parameters):
--   * campus-accounts (the default), as Campus's own OneRoster feed: only users with an
--     enabled Campus account, and guardians only with access to Campus Parent (Campus
--     knowledge base, "OneRoster 1.1 data models" and "OneRoster prerequisites"). An account
--     is a UserAccount row with a non-blank username; enabled = not disable = 1 (NULL counts
--     as 0). UserAccount.lock is not looked at: it marks a login locked after failed
--     passwords, which Campus clears again, not an account taken away, and a roster that
--     dropped a student for a mistyped password would delete them at the vendor.
--     A parent-portal account is one whose homepage is the parent portal page
--     ('nav-wrapper/parent/portal/parent', matched as a prefix), which is how public
--     Campus SQL finds parents' accounts. Students and staff need an enabled account that
--     is NOT a parent-portal one (their own, or work, account); guardians need an enabled
--     parent-portal one. RelatedPair.portal is not used: it is only seen as a column of the
--     contact view, not confirmed on the table.
--   * everyone: every current person below, whatever their accounts.
-- Who is a user (on the as-of date moved into the active year, see Filters):
--   * student: holds a primary (serviceType P) Enrollment current on the date in an
--     included calendar, not noShow = 1 and not stateExclude = 1 (NULL counts as 0).
--     Secondary and service-only enrollments add no student and no school, as vendor
--     extracts of Campus do (serviceType = 'P'): a student enrolled only as secondary at an
--     included school (primary at an excluded one) is not sent. orgSourcedIds = the schools
--     of the student's current primary enrollments. (Their classes at a school where they
--     are only secondary are still sent by enrollments.sql: each enrollment names its own
--     school.)
--     grades = GradeLevel.stateGrade (else the local Enrollment.grade) of ONE of those
--     enrollments: the latest startDate, then the highest enrollmentID. The tool maps the
--     value to a CEDS code.
--   * teacher: teaches an included section on the date or later in the year
--     (SectionStaffHistory row of the active trial, not ended on the date, staffType P
--     (primary teacher) or T (teacher): other
--     section staff, such as aides listed on a section, do not teach), the same rule as
--     the teacher rows of enrollments.sql.
--   * staff with an EmploymentAssignment current on the date at an included school:
--     administrator when the assignment has any non-teaching flag (supervisor, counselor,
--     health, specialEd, program, behavior, rti, advisor, foodService: Campus's own feed
--     maps each to administrator), else teacher when it has teacher = 1, else aide (e.g.
--     paraprofessionals).
--     orgSourcedIds of a staff user = the schools of their included sections plus the schools
--     of their current assignments at included schools.
--   * guardian: RelatedPair.personID2 of a pair with guardian = 1, current on the date
--     (startDate NULL or not after it, endDate NULL or not before it), whose personID1 is a
--     student user. Role guardian (not parent), orgSourcedIds = the schools of the students.
--   With campus-accounts each role needs its account (above), so a teacher whose work
--   account is disabled but who has portal access is sent as a guardian.
--   A person with several roles gets ONE role (OneRoster 1.1 has one role per user), the
--   first of: student, teacher of a section, administrator, teacher by assignment, aide,
--   guardian. The orgs are those of the chosen role.
--   agentSourcedIds: a student lists the personGUIDs of their current guardians, a guardian
--   lists their students. The links are kept whatever role the other person got, so a
--   teacher who is also a guardian (with portal access) lists the student, and the student
--   lists the teacher.
-- Fields:
--   enabledUser = 1 for every user: everybody sent is current on the date (and, by
--     default, has an enabled account).
--   username = UserAccount.username of the account of the user's role: a parent-portal
--     account for a guardian, any other account for students and staff, so a staff member
--     who is also a parent (two accounts) gets the work account whatever the userIDs; then
--     an enabled account first, then the lowest userID. With people = everyone a person may
--     have no account: then, for students, Person.studentNumber, for staff
--     Person.staffNumber, then (and for guardians) the Contact e-mail, and last the
--     personGUID, because username is required.
--   userIds = studentNumber (userIds_type studentNumber) for students, staffNumber
--     (userIds_type staffNumber) for staff, none for guardians. identifier = the same value.
--   givenName, familyName, middleName = firstName, lastName, middleName of the current
--     identity (Person.currentIdentityID). Persons without one (orphans left by a merge) are
--     dropped, in every role.
--   email = Contact.email (NULL when missing or blank), from the Contact row of the person in
--     a district that owns an included calendar, a non-blank e-mail first, then the lowest
--     districtID.
--   Blank strings are turned into NULL (Campus keeps blanks that are not NULL).
-- Reads:   Calendar, SchoolYear, School, Enrollment, GradeLevel, Section, Trial, Course,
--          SectionStaffHistory, EmploymentAssignment, RelatedPair, Person, "identity",
--          UserAccount, Contact
-- Filters, and why: included calendars are those of the active SchoolYear (active = 1), not
--   Calendar.exclude = 1, not Calendar.summerSchool = 1, of schools not School.exclude = 1
--   (NULL flags count as 0), so next year, excluded schools and summer school never leak in.
--   Sections are those of classes.sql (active trial, Course.active = 1).
--   One time rule for the whole folder: everything is scoped to the active school year, as
--   Campus scopes its feed; people and enrollments are, in addition, those current on the
--   as-of date moved into that year: a date before the year's first day (the earliest
--   startDate of its included calendars) counts as that first day, a date after its last day
--   (the latest endDate) as that last day. So a run in July before the year starts sends the
--   year as it will be on its first day (pre-enrolled students, their schedules), and a run
--   after the last day, before Campus is switched to the next year, sends the year as it was
--   on its last day, never classes without students. Inside the year the date windows drop
--   withdrawn students, future starts, ended assignments, replaced teachers and ended
--   guardian links.
-- Parameters: the placeholder written `? /* people */` (the comment right after the
--   question mark) is bound to the job's people setting as text ('campus-accounts' or
--   'everyone'); every other question-mark placeholder is the as-of date, bound as a date.
-- Order: by sourcedId (all rows are GUIDs without prefix), then org and agent, so the rows of
--   a user are consecutive.
-- Portability: common subset of T-SQL, PostgreSQL and SQLite. GUIDs are cast to varchar(36).
--   Blank tests use NULLIF(LTRIM(RTRIM(x)), empty string). The account tests are written
--   x IN (SELECT ...) inside an OR, which PostgreSQL runs as one hashed subplan.
WITH opt AS (
    -- The job's people setting: everyone = 1 for 'everyone', 0 for 'campus-accounts'.
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
    -- The as-of date moved into the active school year: before its first day (the earliest
    -- start of its included calendars) it counts as that first day, after its last day (the
    -- latest end) as that last day. The same in every query of this folder.
    SELECT CASE WHEN ? < MIN(cal.startDate) THEN MIN(cal.startDate)
                WHEN ? > MAX(cal.endDate) THEN MAX(cal.endDate)
                ELSE ? END AS asOf
    FROM cal
),
acct AS (
    -- Campus logins with a username. portal = 1 marks a parent-portal account (homepage
    -- is the parent portal page, as Campus's own SQL finds parents' accounts).
    SELECT ua.userID,
           ua.personID,
           NULLIF(LTRIM(RTRIM(ua.username)), '') AS username,
           CASE WHEN ua.homepage LIKE 'nav-wrapper/parent/portal/parent%' THEN 1 ELSE 0 END AS portal,
           CASE WHEN COALESCE(ua.disable, 0) = 0 THEN 1 ELSE 0 END AS enabled
    FROM UserAccount ua
    WHERE NULLIF(LTRIM(RTRIM(ua.username)), '') IS NOT NULL
),
wacct AS (
    -- Persons with an enabled account that is not a parent-portal one (a student's or a
    -- staff member's own account).
    SELECT DISTINCT acct.personID FROM acct WHERE acct.enabled = 1 AND acct.portal = 0
),
pacct AS (
    -- Persons with an enabled parent-portal account.
    SELECT DISTINCT acct.personID FROM acct WHERE acct.enabled = 1 AND acct.portal = 1
),
ppl AS (
    -- Persons with a current identity: the only ones who can be users.
    SELECT p.personID
    FROM Person p
    JOIN "identity" i ON i.identityID = p.currentIdentityID
    -- The identity must be the person's own. Written as a CASE, not as a second join
    -- column: PostgreSQL multiplies the selectivities of the two correlated columns,
    -- estimates one person in the district and then picks nested loops over whole
    -- CTEs (minutes at 20 000 students). SQL Server and SQLite read it the same way.
    WHERE CASE WHEN i.personID = p.personID THEN 1 END IS NOT NULL
),
enr AS (
    SELECT e.personID,
           cal.schoolID,
           NULLIF(LTRIM(RTRIM(COALESCE(gl.stateGrade, e.grade))), '') AS grade,
           ROW_NUMBER() OVER (PARTITION BY e.personID
                              ORDER BY e.startDate DESC,
                                       e.enrollmentID DESC) AS rn
    FROM Enrollment e
    JOIN cal ON cal.calendarID = e.calendarID
    JOIN ppl ON ppl.personID = e.personID
    CROSS JOIN yr
    CROSS JOIN opt
    LEFT JOIN GradeLevel gl ON gl.calendarID = e.calendarID
                           AND gl.structureID = e.structureID
                           AND gl.name = e.grade
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
                    -- the trial must be of the course's calendar; a CASE, not a plain
                    -- comparison, keeps PostgreSQL's row estimate (see users.sql)
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
      AND (h.endDate IS NULL OR h.endDate >= yr.asOf)
      AND (opt.everyone = 1 OR h.personID IN (SELECT wacct.personID FROM wacct))
),
asg AS (
    SELECT ea.personID,
           ea.schoolID,
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
gp AS (
    SELECT DISTINCT rp.personID1 AS studentID,
           rp.personID2 AS guardianID
    FROM RelatedPair rp
    JOIN ppl ON ppl.personID = rp.personID2
    CROSS JOIN yr
    CROSS JOIN opt
    WHERE rp.guardian = 1
      AND rp.personID1 <> rp.personID2
      AND (rp.startDate IS NULL OR rp.startDate <= yr.asOf)
      AND (rp.endDate IS NULL OR rp.endDate >= yr.asOf)
      AND EXISTS (SELECT 1 FROM enr WHERE enr.personID = rp.personID1)
      AND (opt.everyone = 1 OR rp.personID2 IN (SELECT pacct.personID FROM pacct))
),
cand AS (
    SELECT personID, 1 AS pri FROM enr
    UNION ALL
    SELECT personID, 2 AS pri FROM tch
    UNION ALL
    SELECT personID, pri FROM asg
    UNION ALL
    SELECT guardianID AS personID, 6 AS pri FROM gp
),
usr AS (
    SELECT cand.personID,
           CASE cand.pri WHEN 1 THEN 'student'
                         WHEN 2 THEN 'teacher'
                         WHEN 3 THEN 'administrator'
                         WHEN 4 THEN 'teacher'
                         WHEN 5 THEN 'aide'
                         ELSE 'guardian' END AS role,
           ROW_NUMBER() OVER (PARTITION BY cand.personID ORDER BY cand.pri) AS rn
    FROM cand
),
usr1 AS (
    SELECT usr.personID, usr.role FROM usr WHERE usr.rn = 1
),
uorg AS (
    SELECT u.personID, enr.schoolID
    FROM usr1 u JOIN enr ON enr.personID = u.personID
    WHERE u.role = 'student'
    UNION
    SELECT u.personID, tch.schoolID
    FROM usr1 u JOIN tch ON tch.personID = u.personID
    WHERE u.role IN ('teacher', 'administrator', 'aide')
    UNION
    SELECT u.personID, asg.schoolID
    FROM usr1 u JOIN asg ON asg.personID = u.personID
    WHERE u.role IN ('teacher', 'administrator', 'aide')
    UNION
    SELECT u.personID, enr.schoolID
    FROM usr1 u
    JOIN gp ON gp.guardianID = u.personID
    JOIN enr ON enr.personID = gp.studentID
    WHERE u.role = 'guardian'
),
agt AS (
    SELECT gp.studentID AS personID, gp.guardianID AS agentID FROM gp
    UNION
    SELECT gp.guardianID AS personID, gp.studentID AS agentID FROM gp
),
uacct AS (
    -- The account whose username is sent: of the kind of the user's role (a parent-portal
    -- account for a guardian, any other account for a student or staff member, so a staff
    -- member who is also a parent gets the work account), then an enabled one, then the
    -- lowest userID.
    SELECT u.personID,
           acct.username,
           ROW_NUMBER() OVER (PARTITION BY u.personID
                              ORDER BY CASE WHEN acct.portal = CASE WHEN u.role = 'guardian'
                                                                    THEN 1 ELSE 0 END
                                            THEN 0 ELSE 1 END,
                                       1 - acct.enabled,
                                       acct.userID) AS rn
    FROM usr1 u
    JOIN acct ON acct.personID = u.personID
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
num AS (
    -- Names and numbers come from the base tables, not from ppl: a planner knows that
    -- Person.personID is unique, while it has no statistics for a CTE and would expect
    -- each user to match hundreds of rows (PostgreSQL then compiles the query with JIT
    -- for seconds). Every person in usr1 passed the identity check of ppl.
    SELECT u.personID,
           u.role,
           CAST(p.personGUID AS varchar(36))              AS personGUID,
           i.firstName,
           i.lastName,
           NULLIF(LTRIM(RTRIM(i.middleName)), '')         AS middleName,
           CASE WHEN u.role = 'student' THEN NULLIF(LTRIM(RTRIM(p.studentNumber)), '')
                WHEN u.role = 'guardian' THEN NULL
                ELSE NULLIF(LTRIM(RTRIM(p.staffNumber)), '') END AS number
    FROM usr1 u
    JOIN Person p ON p.personID = u.personID
    JOIN "identity" i ON i.identityID = p.currentIdentityID
)
SELECT num.personGUID                                  AS sourcedId,
       1                                               AS enabledUser,
       CAST(sch.schoolGUID AS varchar(36))             AS orgSourcedIds,
       num.role                                        AS role,
       COALESCE(uacct.username, num.number, ct.email, num.personGUID) AS username,
       CASE WHEN num.number IS NULL THEN NULL
            WHEN num.role = 'student' THEN 'studentNumber'
            ELSE 'staffNumber' END                     AS userIds_type,
       num.number                                      AS userIds,
       num.firstName                                   AS givenName,
       num.lastName                                    AS familyName,
       num.middleName                                  AS middleName,
       num.number                                      AS identifier,
       ct.email                                        AS email,
       CAST(ag.personGUID AS varchar(36))              AS agentSourcedIds,
       CASE WHEN num.role = 'student' THEN g.grade END AS grades
FROM num
JOIN uorg ON uorg.personID = num.personID
JOIN School sch ON sch.schoolID = uorg.schoolID
LEFT JOIN agt ON agt.personID = num.personID
LEFT JOIN Person ag ON ag.personID = agt.agentID
LEFT JOIN uacct ON uacct.personID = num.personID AND uacct.rn = 1
LEFT JOIN ct ON ct.personID = num.personID AND ct.rn = 1
LEFT JOIN enr g ON g.personID = num.personID AND g.rn = 1
ORDER BY sourcedId, orgSourcedIds, agentSourcedIds;

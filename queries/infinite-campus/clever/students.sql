-- students.sql (Clever SFTP, Infinite Campus): students.csv, one row per student and contact.
--
-- Who: exactly the students of the OneRoster set (../oneroster-1.1/users.sql, role
--   student), under the same rules and the same job `people` setting (`? /* people */`):
--   a current primary (serviceType P) Enrollment in an included calendar, not noShow = 1
--   and not stateExclude = 1, a current identity, and (people = campus-accounts, the
--   default) an enabled Campus account of their own that is not a parent-portal one.
--   The as-of date is moved into the active school year, as in every Campus query here.
-- Contacts: Clever takes a student's contacts as Contact_* columns on the student's row,
--   one contact per row (clever-sftp notes, Clever's S2 page "How do I format multiple
--   student contacts?" was not read: UNCONFIRMED that a second row of the same student
--   adds a second contact; compare with the "SFTP Instructions" PDF on the Clever
--   dashboard). So a student with N current guardians gets N rows, identical but for
--   the Contact_* columns; a student without one gets one row with them empty.
--   A contact is a guardian of users.sql: RelatedPair.guardian = 1, current on the date,
--   personID2 with a current identity and (people = campus-accounts) an enabled
--   parent-portal account, as Campus's own feed sends guardians.
-- Columns (header names: 3P = corroborated by public district exporters, not confirmed
--   from a Clever page; U = value format unconfirmed):
--   School_id = School.schoolGUID of the student's primary enrollment (the latest
--     startDate, then the highest enrollmentID), as OneRoster orgs (3P).
--   Student_id = Person.personGUID, the OneRoster sourcedId, so an app that already has
--     the OneRoster feed matches the same ids (3P).
--   Student_number = Person.studentNumber, else the personGUID (Clever needs a value) (3P).
--   State_id = Person.stateID (3P). Last_name, First_name, Middle_name = the current
--     identity (3P).
--   Grade = GradeLevel.stateGrade, else Enrollment.grade, of that enrollment; the tool
--     writes Clever's word (Kindergarten, 1 … 12, PreKindergarten) (3P, U: the values).
--   Gender = identity.gender (M, F, X as Campus keeps it) (3P, U).
--   DOB = identity.birthdate; the tool writes MM/DD/YYYY (3P, U: the format is what a
--     public exporter writes, not Clever's own words).
--   Hispanic_Latino = identity.hispanicEthnicity (Y / N) (3P, U).
--   Student_email = Contact.email, as OneRoster users email (3P).
--   Username = the student's own Campus username, as OneRoster users (3P).
--   Contact_type = 'Parent/Guardian' for every guardian (U: a value SchoolStatus's Clever
--     guide names; Clever's list not read).
--   Contact_relationship from RelatedPair.name: Mother, Father, Parent, Stepmother,
--     Stepfather → Parent; Grandmother, Grandfather, Grandparent → Grandparent; Aunt,
--     Uncle as is; anything else (Guardian, Foster …) → Other (U: Clever's list not read).
--   Contact_name = first and last name of the guardian's current identity, built with
--     REPLACE on a template (no string concatenation shared by T-SQL, PostgreSQL, SQLite).
--   Contact_phone = Contact.cellPhone, else homePhone, else workPhone (3P).
--   Contact_email = the guardian's Contact.email (3P).
--   Contact_sis_id = the guardian's Person.personGUID (their OneRoster sourcedId) (3P).
--   Blank strings are turned into NULL (Campus keeps blanks that are not NULL).
-- Reads:   Calendar, SchoolYear, School, Enrollment, GradeLevel, UserAccount, Person,
--          "identity", RelatedPair, Contact
-- Filters: included calendars as in users.sql (active SchoolYear, no Calendar.exclude,
--   summerSchool or School.exclude).
-- Parameters: `? /* people */` is the job's people setting; every other question mark is
--   the as-of date.
-- Order: by Student_id, then Contact_sis_id, so a student's rows are together.
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
pacct AS (
    SELECT DISTINCT acct.personID FROM acct WHERE acct.enabled = 1 AND acct.portal = 1
),
ppl AS (
    SELECT p.personID
    FROM Person p
    JOIN "identity" i ON i.identityID = p.currentIdentityID
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
gp AS (
    -- The student's current guardians, as users.sql's gp; one row per pair (the lowest
    -- pairID when a pair is recorded twice).
    SELECT rp.personID1 AS studentID,
           rp.personID2 AS guardianID,
           NULLIF(LTRIM(RTRIM(rp.name)), '') AS relation,
           ROW_NUMBER() OVER (PARTITION BY rp.personID1, rp.personID2 ORDER BY rp.pairID) AS rn
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
uacct AS (
    -- The student's own account: not a parent-portal one, an enabled one first, then the
    -- lowest userID (as users.sql for a student).
    SELECT acct.personID,
           acct.username,
           ROW_NUMBER() OVER (PARTITION BY acct.personID
                              ORDER BY acct.portal, 1 - acct.enabled, acct.userID) AS rn
    FROM acct
    WHERE acct.personID IN (SELECT enr.personID FROM enr WHERE enr.rn = 1)
),
ct AS (
    SELECT c.personID,
           NULLIF(LTRIM(RTRIM(c.email)), '') AS email,
           COALESCE(NULLIF(LTRIM(RTRIM(c.cellPhone)), ''),
                    NULLIF(LTRIM(RTRIM(c.homePhone)), ''),
                    NULLIF(LTRIM(RTRIM(c.workPhone)), '')) AS phone,
           ROW_NUMBER() OVER (PARTITION BY c.personID
                              ORDER BY CASE WHEN NULLIF(LTRIM(RTRIM(c.email)), '') IS NULL
                                            THEN 1 ELSE 0 END,
                                       c.districtID) AS rn
    FROM Contact c
    WHERE c.districtID IN (SELECT cal.districtID FROM cal)
)
SELECT CAST(sch.schoolGUID AS varchar(36))                 AS "School_id",
       CAST(p.personGUID AS varchar(36))                   AS "Student_id",
       COALESCE(NULLIF(LTRIM(RTRIM(p.studentNumber)), ''),
                CAST(p.personGUID AS varchar(36)))         AS "Student_number",
       NULLIF(LTRIM(RTRIM(p.stateID)), '')                 AS "State_id",
       i.lastName                                          AS "Last_name",
       i.firstName                                         AS "First_name",
       NULLIF(LTRIM(RTRIM(i.middleName)), '')              AS "Middle_name",
       e.grade                                             AS "Grade",
       NULLIF(LTRIM(RTRIM(i.gender)), '')                  AS "Gender",
       i.birthdate                                         AS "DOB",
       NULLIF(LTRIM(RTRIM(i.hispanicEthnicity)), '')       AS "Hispanic_Latino",
       sct.email                                           AS "Student_email",
       ua.username                                         AS "Username",
       CASE WHEN gp.guardianID IS NOT NULL THEN 'Parent/Guardian' END AS "Contact_type",
       CASE WHEN gp.guardianID IS NULL THEN NULL
            WHEN LOWER(gp.relation) IN ('mother', 'father', 'parent', 'stepmother', 'stepfather')
                THEN 'Parent'
            WHEN LOWER(gp.relation) IN ('grandmother', 'grandfather', 'grandparent')
                THEN 'Grandparent'
            WHEN LOWER(gp.relation) = 'aunt' THEN 'Aunt'
            WHEN LOWER(gp.relation) = 'uncle' THEN 'Uncle'
            ELSE 'Other' END                               AS "Contact_relationship",
       CASE WHEN gp.guardianID IS NOT NULL THEN
            LTRIM(RTRIM(REPLACE(REPLACE('#first# #last#',
                                        '#last#', COALESCE(gi.lastName, '')),
                                '#first#', COALESCE(gi.firstName, ''))))
       END                                                 AS "Contact_name",
       gct.phone                                           AS "Contact_phone",
       gct.email                                           AS "Contact_email",
       CAST(gpp.personGUID AS varchar(36))                 AS "Contact_sis_id"
FROM enr e
JOIN Person p ON p.personID = e.personID
JOIN "identity" i ON i.identityID = p.currentIdentityID
JOIN School sch ON sch.schoolID = e.schoolID
LEFT JOIN uacct ua ON ua.personID = e.personID AND ua.rn = 1
LEFT JOIN ct sct ON sct.personID = e.personID AND sct.rn = 1
LEFT JOIN gp ON gp.studentID = e.personID AND gp.rn = 1
LEFT JOIN Person gpp ON gpp.personID = gp.guardianID
LEFT JOIN "identity" gi ON gi.identityID = gpp.currentIdentityID
LEFT JOIN ct gct ON gct.personID = gp.guardianID AND gct.rn = 1
WHERE e.rn = 1
ORDER BY "Student_id", "Contact_sis_id";

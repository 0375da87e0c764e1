-- staff.sql: one row per staff member and school, for assignments current on the as-of date.
--
-- Returns: person_guid, staff_number, last_name, first_name, email, school_number, title
--   A person assigned to two schools gets two rows. title is EmploymentAssignment.title;
--   when a person has several current assignments at one school, the one with the latest
--   startDate wins (then the highest assignmentID). email is the Contact e-mail of the
--   person in the district of the assignment (NULL when there is none). All staff are
--   listed, teachers or not (principals, aides, ...).
-- Reads:   EmploymentAssignment, School, Calendar, SchoolYear, Person, "identity", Contact
-- Filters, and why:
--   * Date window: startDate (NULL = always) <= as-of and (endDate IS NULL or endDate >=
--     as-of): staff who left or have not started yet are not listed.
--   * School.exclude = 1 schools are left out.
--   * Active year: the school must have a calendar in the active SchoolYear (active = 1)
--     that is not Calendar.exclude = 1 and not summerSchool = 1, so staff of schools that
--     are not running this year are not listed.
--   * Names come from the current identity (Person.currentIdentityID).
-- Parameters: every question-mark placeholder is the as-of date, bound as a date.
-- Portability: common subset of T-SQL, PostgreSQL and SQLite. NULL startDates sort as
--   1900-01-01 (dialects order NULLs differently). personGUID is cast to varchar(36).
WITH asg AS (
    SELECT ea.personID,
           ea.schoolID,
           ea.districtID,
           ea.title,
           ROW_NUMBER() OVER (PARTITION BY ea.personID, ea.schoolID
                              ORDER BY COALESCE(ea.startDate, '1900-01-01') DESC,
                                       ea.assignmentID DESC) AS rn
    FROM EmploymentAssignment ea
    JOIN School sch ON sch.schoolID = ea.schoolID
    WHERE (sch.exclude IS NULL OR sch.exclude = 0)
      AND (ea.startDate IS NULL OR ea.startDate <= ?)
      AND (ea.endDate IS NULL OR ea.endDate >= ?)
      AND EXISTS (SELECT 1
                  FROM Calendar cal
                  JOIN SchoolYear sy ON sy.endYear = cal.endYear AND sy.active = 1
                  WHERE cal.schoolID = ea.schoolID
                    AND (cal.exclude IS NULL OR cal.exclude = 0)
                    AND (cal.summerSchool IS NULL OR cal.summerSchool = 0))
)
SELECT CAST(p.personGUID AS varchar(36)) AS person_guid,
       p.staffNumber                     AS staff_number,
       i.lastName                        AS last_name,
       i.firstName                       AS first_name,
       ct.email                          AS email,
       sch.number                        AS school_number,
       asg.title                         AS title
FROM asg
JOIN School sch ON sch.schoolID = asg.schoolID
JOIN Person p ON p.personID = asg.personID
JOIN "identity" i ON i.identityID = p.currentIdentityID
                   -- the person's own identity; a CASE for PostgreSQL's row estimate
                   -- (see the Campus users.sql)
                   AND CASE WHEN i.personID = p.personID THEN 1 END IS NOT NULL
LEFT JOIN Contact ct ON ct.personID = p.personID AND ct.districtID = asg.districtID
WHERE asg.rn < 2
ORDER BY school_number, staff_number, person_guid;

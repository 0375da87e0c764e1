-- students.sql: one row per student enrolled on the as-of date in the active school year.
--
-- Returns: person_guid, student_number, last_name, first_name, middle_name, birth_date,
--          grade, school_number, email
--   grade is GradeLevel.stateGrade (e.g. 'KG', '07') for the local grade code of the
--   enrollment, or the local code when no GradeLevel row matches. email is the Contact
--   e-mail of the student in the district of the enrollment (NULL when there is none).
-- Reads:   SchoolYear, Calendar, School, Enrollment, GradeLevel, Person, "identity", Contact
-- Filters, and why:
--   * SchoolYear.active = 1 (Calendar.endYear = SchoolYear.endYear): the year comes from the
--     active flag, never from calendar dates, which find nothing in the summer gap.
--   * School.exclude = 1, Calendar.exclude = 1 and Calendar.summerSchool = 1 are left out:
--     excluded schools/calendars are not reported, and summer school is not the real year.
--   * Enrollment.noShow = 1 and Enrollment.stateExclude = 1 are left out. IC flags can be
--     NULL; NULL counts as 0.
--   * Enrollment.serviceType = 'P': only primary enrollments choose the school and grade
--     of a student; a secondary (partial / cross-enrolled) enrollment never does.
--   * Date window: startDate <= as-of and (endDate IS NULL or endDate >= as-of), so
--     withdrawn students drop out after their end date and future starts are not yet in.
--   * One row per person: when several primary enrollments qualify (transfers, re-entries)
--     the latest startDate wins, then the highest enrollmentID.
--   * Names come from the current identity (Person.currentIdentityID); a person without
--     one (an orphan left by a merge) is dropped.
-- Parameters: every question-mark placeholder is the as-of date, bound as a date.
-- Portability: common subset of T-SQL, PostgreSQL and SQLite. personGUID is cast to
--   varchar(36); SQL Server prints GUIDs in upper case, the tool normalises the case.
--   birth_date keeps the native type of the column (smalldatetime on SQL Server, date on
--   PostgreSQL, 'YYYY-MM-DD' text on SQLite); the tool formats it.
WITH enr AS (
    SELECT e.personID,
           e.calendarID,
           e.structureID,
           e.grade,
           cal.districtID,
           sch.number AS schoolNumber,
           ROW_NUMBER() OVER (PARTITION BY e.personID
                              ORDER BY e.startDate DESC, e.enrollmentID DESC) AS rn
    FROM Enrollment e
    JOIN Calendar cal ON cal.calendarID = e.calendarID
    JOIN SchoolYear sy ON sy.endYear = cal.endYear AND sy.active = 1
    JOIN School sch ON sch.schoolID = cal.schoolID
    WHERE (sch.exclude IS NULL OR sch.exclude = 0)
      AND (cal.exclude IS NULL OR cal.exclude = 0)
      AND (cal.summerSchool IS NULL OR cal.summerSchool = 0)
      AND (e.noShow IS NULL OR e.noShow = 0)
      AND (e.stateExclude IS NULL OR e.stateExclude = 0)
      AND e.serviceType = 'P'
      AND e.startDate <= ?
      AND (e.endDate IS NULL OR e.endDate >= ?)
)
SELECT CAST(p.personGUID AS varchar(36)) AS person_guid,
       p.studentNumber                   AS student_number,
       i.lastName                        AS last_name,
       i.firstName                       AS first_name,
       i.middleName                      AS middle_name,
       i.birthdate                       AS birth_date,
       COALESCE(gl.stateGrade, enr.grade) AS grade,
       enr.schoolNumber                  AS school_number,
       ct.email                          AS email
FROM enr
JOIN Person p ON p.personID = enr.personID
JOIN "identity" i ON i.identityID = p.currentIdentityID
                   -- the person's own identity; a CASE for PostgreSQL's row estimate
                   -- (see the Campus users.sql)
                   AND CASE WHEN i.personID = p.personID THEN 1 END IS NOT NULL
LEFT JOIN GradeLevel gl ON gl.calendarID = enr.calendarID
                       AND gl.structureID = enr.structureID
                       AND gl.name = enr.grade
LEFT JOIN Contact ct ON ct.personID = p.personID AND ct.districtID = enr.districtID
WHERE enr.rn < 2
ORDER BY student_number, person_guid;

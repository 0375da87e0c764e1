-- schools.sql (Clever SFTP, Infinite Campus): schools.csv, one row per school.
--
-- Which: the schools of the OneRoster orgs.sql: a school with a calendar of the active
--   SchoolYear that is not Calendar.exclude = 1 nor summerSchool = 1, the school not
--   School.exclude = 1 (NULL flags count as 0).
-- Columns (3P = header corroborated by public district exporters, not confirmed from a
--   Clever page):
--   School_id = School.schoolGUID, the OneRoster sourcedId of the school (3P).
--   School_name = School.name (3P). School_number = School.number, else School.schoolID
--   (Clever needs a value) (3P). Principal, Principal_email = School.principalName,
--   principalEmail (3P). School_address, School_city, School_state, School_zip,
--   School_phone = School.address, city, state, zip, phone (3P).
--   Low_grade and High_grade are not sent: Campus's grade codes do not sort, and both are
--   optional.
-- Reads:   School, Calendar, SchoolYear
-- Parameters: none (the as-of date is not used: a school of the active year is sent all
--   year).
-- Order: School_id.
-- Portability: common subset of T-SQL, PostgreSQL and SQLite.
SELECT CAST(s.schoolGUID AS varchar(36))                      AS "School_id",
       s.name                                                 AS "School_name",
       COALESCE(NULLIF(LTRIM(RTRIM(s.number)), ''),
                CAST(s.schoolID AS varchar(20)))              AS "School_number",
       NULLIF(LTRIM(RTRIM(s.principalName)), '')              AS "Principal",
       NULLIF(LTRIM(RTRIM(s.principalEmail)), '')             AS "Principal_email",
       NULLIF(LTRIM(RTRIM(s.address)), '')                    AS "School_address",
       NULLIF(LTRIM(RTRIM(s.city)), '')                       AS "School_city",
       NULLIF(LTRIM(RTRIM(s.state)), '')                      AS "School_state",
       NULLIF(LTRIM(RTRIM(s.zip)), '')                        AS "School_zip",
       NULLIF(LTRIM(RTRIM(s.phone)), '')                      AS "School_phone"
FROM School s
WHERE (s.exclude IS NULL OR s.exclude = 0)
  AND EXISTS (SELECT 1
              FROM Calendar cal
              JOIN SchoolYear sy ON sy.endYear = cal.endYear AND sy.active = 1
              WHERE cal.schoolID = s.schoolID
                AND (cal.exclude IS NULL OR cal.exclude = 0)
                AND (cal.summerSchool IS NULL OR cal.summerSchool = 0))
ORDER BY "School_id";

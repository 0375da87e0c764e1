-- demographics.sql (OneRoster 1.1, Infinite Campus): one row per student user.
--
-- Returns, for every student of users.sql:
--   sourcedId = Person.personGUID (the sourcedId of the user, as OneRoster requires),
--   birthDate = birthdate of the current identity (native type, the tool keeps the date),
--   sex = gender of the current identity when it is M or F (any case), else NULL: OneRoster
--     1.1 only knows male and female, the tool maps M / F to them,
--   race flags from the federal single code "identity".raceEthnicityFed:
--     1 Hispanic/Latino, 2 American Indian or Alaska Native, 3 Asian, 4 Black or African
--     American, 5 Native Hawaiian or Other Pacific Islander, 6 White, 7 Two or more races.
--     Code 2 to 6: that race flag 1, the other race flags 0, demographicRaceTwoOrMoreRaces 0.
--     Code 7: demographicRaceTwoOrMoreRaces 1, the single race flags NULL (the code does not
--     say which races).
--     Code 1 or NULL (or any other value): all race flags NULL (the code for Hispanic does
--     not give a race, and separate per-race columns are not a confirmed Campus column).
--   hispanicOrLatinoEthnicity = 1 when hispanicEthnicity = Y, 0 when it is N, else 1 when
--     raceEthnicityFed = 1, else NULL.
--   countryOfBirthCode, stateOfBirthAbbreviation, cityOfBirth and
--   publicSchoolResidenceStatus are not returned (formats unverified or not in Campus).
-- Reads:   Calendar, SchoolYear, School, Enrollment, UserAccount, Person, "identity"
-- Filters, and why: the same student rule as users.sql, under the same people setting: a
--   primary (serviceType P) Enrollment current on the as-of date moved into the active year
--   (startDate not after it, endDate NULL or not before it; see users.sql for the one time
--   rule) in a calendar of the active SchoolYear that is not Calendar.exclude = 1 or
--   summerSchool = 1, of a school that is not School.exclude = 1, and not noShow = 1 or
--   stateExclude = 1 (NULL counts as 0); by default (people = campus-accounts) also an
--   enabled account of their own that is not a parent-portal one. Only persons with a
--   current identity (Person.currentIdentityID) are sent.
--   A student who is also staff or guardian is still a student in users.sql (student role
--   comes first), so every row here matches a user.
-- Parameters: the placeholder written `? /* people */` is bound to the job's people setting
--   as text ('campus-accounts' or 'everyone'), see users.sql; every other question-mark
--   placeholder is the as-of date, bound as a date.
-- Order: by sourcedId (GUIDs, no prefix). Every student is one row.
-- Portability: common subset of T-SQL, PostgreSQL and SQLite. personGUID is cast to
--   varchar(36). The race codes are compared as quoted literals so that the query works
--   whether raceEthnicityFed is a number (fixture) or a character column: a number literal
--   would make SQL Server convert a character column to int and fail on any odd value.
WITH opt AS (
    -- The job's people setting: everyone = 1 for 'everyone', 0 for 'campus-accounts'.
    SELECT CASE WHEN ? /* people */ = 'everyone' THEN 1 ELSE 0 END AS everyone
),
cal AS (
    SELECT c.calendarID,
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
stu AS (
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
)
SELECT CAST(p.personGUID AS varchar(36))                        AS sourcedId,
       i.birthdate                                              AS birthDate,
       CASE WHEN UPPER(i.gender) = 'M' THEN 'M'
            WHEN UPPER(i.gender) = 'F' THEN 'F' END             AS sex,
       CASE WHEN i.raceEthnicityFed = '2' THEN 1
            WHEN i.raceEthnicityFed IN ('3', '4', '5', '6') THEN 0 END  AS americanIndianOrAlaskaNative,
       CASE WHEN i.raceEthnicityFed = '3' THEN 1
            WHEN i.raceEthnicityFed IN ('2', '4', '5', '6') THEN 0 END  AS asian,
       CASE WHEN i.raceEthnicityFed = '4' THEN 1
            WHEN i.raceEthnicityFed IN ('2', '3', '5', '6') THEN 0 END  AS blackOrAfricanAmerican,
       CASE WHEN i.raceEthnicityFed = '5' THEN 1
            WHEN i.raceEthnicityFed IN ('2', '3', '4', '6') THEN 0 END  AS nativeHawaiianOrOtherPacificIslander,
       CASE WHEN i.raceEthnicityFed = '6' THEN 1
            WHEN i.raceEthnicityFed IN ('2', '3', '4', '5') THEN 0 END  AS white,
       CASE WHEN i.raceEthnicityFed = '7' THEN 1
            WHEN i.raceEthnicityFed IN ('2', '3', '4', '5', '6') THEN 0 END AS demographicRaceTwoOrMoreRaces,
       CASE WHEN UPPER(i.hispanicEthnicity) = 'Y' THEN 1
            WHEN UPPER(i.hispanicEthnicity) = 'N' THEN 0
            WHEN i.raceEthnicityFed = '1' THEN 1 END              AS hispanicOrLatinoEthnicity
FROM stu
JOIN Person p ON p.personID = stu.personID
JOIN "identity" i ON i.identityID = p.currentIdentityID
                   -- the person's own identity; a CASE for PostgreSQL's row estimate
                   -- (see users.sql)
                   AND CASE WHEN i.personID = p.personID THEN 1 END IS NOT NULL
ORDER BY sourcedId;

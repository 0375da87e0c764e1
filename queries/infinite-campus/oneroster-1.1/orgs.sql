-- orgs.sql (OneRoster 1.1, Infinite Campus): the district and its schools.
--
-- Returns one row per org:
--   * each District that owns an included school (see below), type district.
--     Campus has no district GUID, so sourcedId = prefix district- plus District.districtID
--     (e.g. district-1), identifier = District.number.
--   * each included school, type school. sourcedId = School.schoolGUID (no prefix),
--     identifier = School.number, parentSourcedId = district- plus School.districtID.
-- Reads:   District, School, Calendar, SchoolYear
-- Filters, and why:
--   * A school is included when it is not School.exclude = 1 and has at least one calendar
--     in the active school year (SchoolYear.active = 1, Calendar.endYear = SchoolYear.endYear)
--     that is neither Calendar.exclude = 1 nor Calendar.summerSchool = 1. Schools that only
--     have next-year or past-year calendars are not sent. NULL flags count as 0.
--   * A district is included when it owns an included school, so every parentSourcedId
--     resolves.
--   The as-of date is not used here: org membership follows the active year.
--   (One time rule for the folder: everything follows the active year; people and
--   enrollments the as-of date moved into it. See users.sql.)
-- Id scheme (shared by all files of this folder): district- plus districtID for districts,
--   schoolGUID for schools. The district id is cast to varchar so that both branches of the
--   union have the same type.
-- Order: districts first (by prefix and id), then schools (NULL prefix) by sourcedId. Every
--   org is one row, so no rows are merged.
-- Portability: common subset of T-SQL, PostgreSQL and SQLite. schoolGUID is cast to
--   varchar(36) (SQL Server prints upper case, the tool writes GUIDs in lower case).
WITH sch AS (
    SELECT s.schoolID,
           s.districtID,
           s.number,
           s.name,
           CAST(s.schoolGUID AS varchar(36)) AS schoolGUID
    FROM School s
    WHERE (s.exclude IS NULL OR s.exclude = 0)
      AND EXISTS (SELECT 1
                  FROM Calendar cal
                  JOIN SchoolYear sy ON sy.endYear = cal.endYear AND sy.active = 1
                  WHERE cal.schoolID = s.schoolID
                    AND (cal.exclude IS NULL OR cal.exclude = 0)
                    AND (cal.summerSchool IS NULL OR cal.summerSchool = 0))
),
org AS (
    SELECT 'district-'                          AS sourcedId_prefix,
           CAST(d.districtID AS varchar(36))    AS sourcedId,
           d.name                               AS name,
           'district'                           AS type,
           d.number                             AS identifier,
           NULL                                 AS parentSourcedId_prefix,
           NULL                                 AS parentSourcedId
    FROM District d
    WHERE EXISTS (SELECT 1 FROM sch WHERE sch.districtID = d.districtID)
    UNION ALL
    SELECT NULL                                 AS sourcedId_prefix,
           sch.schoolGUID                       AS sourcedId,
           sch.name                             AS name,
           'school'                             AS type,
           sch.number                           AS identifier,
           'district-'                          AS parentSourcedId_prefix,
           sch.districtID                       AS parentSourcedId
    FROM sch
)
SELECT org.sourcedId_prefix,
       org.sourcedId,
       org.name,
       org.type,
       org.identifier,
       org.parentSourcedId_prefix,
       org.parentSourcedId
FROM org
ORDER BY CASE WHEN org.sourcedId_prefix IS NULL THEN 1 ELSE 0 END,
         org.sourcedId_prefix,
         org.sourcedId;

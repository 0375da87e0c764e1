-- courses.sql (OneRoster 1.1, Infinite Campus): the active courses of the active school year.
--
-- Returns one row per Course (Campus keeps one Course row per calendar, so per school and
-- year, and OneRoster courses are per school year too):
--   sourcedId = prefix course- plus Course.courseID (Campus has no course GUID),
--   schoolYearSourcedId = sy- plus Calendar.endYear (the schoolYear session of
--   academicSessions.sql), title = Course.name, courseCode = Course.number,
--   orgSourcedId = School.schoolGUID of the calendar school.
--   grades, subjects and subjectCodes are not returned: Campus keeps no grade range on the
--   Course table, and departments (departmentID) are not a confirmed table column.
-- Reads:   Course, Calendar, SchoolYear, School
-- Filters, and why:
--   * Course.active = 1: inactive courses are leftovers and their sections are not sent.
--   * Included calendars only: Calendar.endYear = the active SchoolYear.endYear, not
--     Calendar.exclude = 1, not Calendar.summerSchool = 1, school not School.exclude = 1
--     (NULL flags count as 0). Next year courses already exist and must not leak.
--   Courses without sections are kept (they are part of the catalogue of the year).
--   The as-of date is not used here.
--   (One time rule for the folder: everything follows the active year; people and
--   enrollments the as-of date moved into it. See users.sql.)
-- Id scheme: course- plus courseID, sy- plus endYear, schoolGUID for the org (the same as in
--   orgs.sql, academicSessions.sql and classes.sql).
-- Order: by courseID. Every course is one row.
-- Portability: common subset of T-SQL, PostgreSQL and SQLite. schoolGUID is cast to
--   varchar(36).
SELECT 'course-'                             AS sourcedId_prefix,
       c.courseID                            AS sourcedId,
       'sy-'                                 AS schoolYearSourcedId_prefix,
       cal.endYear                           AS schoolYearSourcedId,
       c.name                                AS title,
       c.number                              AS courseCode,
       CAST(sch.schoolGUID AS varchar(36))   AS orgSourcedId
FROM Course c
JOIN Calendar cal ON cal.calendarID = c.calendarID
JOIN SchoolYear sy ON sy.endYear = cal.endYear AND sy.active = 1
JOIN School sch ON sch.schoolID = cal.schoolID
WHERE c.active = 1
  AND (sch.exclude IS NULL OR sch.exclude = 0)
  AND (cal.exclude IS NULL OR cal.exclude = 0)
  AND (cal.summerSchool IS NULL OR cal.summerSchool = 0)
ORDER BY c.courseID;

-- classes.sql (OneRoster 1.1, Infinite Campus): the sections of the active schedule.
--
-- Returns one OneRoster class per Section, as one row per (term, period) placement of the
-- section. The tool merges the rows of a section into one class, collecting termSourcedIds
-- and periods as lists:
--   sourcedId = prefix class- plus Section.sectionID (Campus has no section GUID),
--   title = Course.name and Section.number, written as  Biology - 2  (built with REPLACE, no
--     string concatenation, so that two sections of one course are told apart),
--   courseSourcedId = course- plus Course.courseID (courses.sql),
--   classCode = Course.number and Section.number, written as  BIO-2,
--   classType = homeroom when Section.homeroomSection = 1 or Course.homeroom = 1, else
--     scheduled,
--   location = Room.name of Section.roomID (may be NULL),
--   schoolSourcedId = School.schoolGUID,
--   termSourcedIds = term- plus SectionPlacement.termID (academicSessions.sql). A section
--     without any placement gets the schoolYear session (sy- plus Calendar.endYear) instead,
--     because termSourcedIds is required,
--   periods = Period.name of SectionPlacement.periodID.
-- Reads:   Section, Trial, Course, Calendar, SchoolYear, School, SectionPlacement, Term,
--          Period, Room
-- Filters, and why:
--   * Trial.active = 1 and Course.calendarID = Trial.calendarID: only the real schedule.
--     Draft trials hold copies of sections with other sectionIDs.
--   * SectionPlacement must carry the trialID of the section (placements of draft trials
--     are ignored).
--   * Course.active = 1 (sections of inactive courses are leftovers).
--   * Included calendars only: active SchoolYear, not Calendar.exclude = 1, not
--     Calendar.summerSchool = 1, school not School.exclude = 1 (NULL flags count as 0).
--   Sections without teachers or students are kept.
--   The as-of date is not used here.
--   (One time rule for the folder: everything follows the active year; people and
--   enrollments the as-of date moved into it. See users.sql.)
-- Order: by sectionID (all rows share the prefix class-), then term start date, termID,
--   period seq and periodID, so the rows of a class are consecutive and the term and period
--   lists come out in time order.
-- Portability: common subset of T-SQL, PostgreSQL and SQLite. NULL dates and seqs sort as
--   1900-01-01 and 0 (dialects order NULLs differently). schoolGUID is cast to varchar(36).
--   title and classCode are built by REPLACE on a template with #course# / #section#
--   markers (string concatenation differs between dialects, CONCAT is missing from SQLite
--   3.40). The section number is put in first and the course text last, so a course name
--   that happens to contain a marker is not altered. The markers avoid curly braces, which
--   ODBC reserves for escapes.
WITH sec AS (
    SELECT s.sectionID,
           s.trialID,
           s.number                            AS sectionNumber,
           s.roomID,
           s.homeroomSection,
           c.courseID,
           c.number                            AS courseNumber,
           c.name                              AS courseName,
           c.homeroom,
           cal.endYear,
           CAST(sch.schoolGUID AS varchar(36)) AS schoolGUID
    FROM Section s
    JOIN Trial t ON t.trialID = s.trialID AND t.active = 1
    JOIN Course c ON c.courseID = s.courseID
                    -- the trial must be of the course's calendar; a CASE, not a plain
                    -- comparison, keeps PostgreSQL's row estimate (see users.sql)
                    AND CASE WHEN c.calendarID = t.calendarID THEN 1 END IS NOT NULL
    JOIN Calendar cal ON cal.calendarID = c.calendarID
    JOIN SchoolYear sy ON sy.endYear = cal.endYear AND sy.active = 1
    JOIN School sch ON sch.schoolID = cal.schoolID
    WHERE c.active = 1
      AND (sch.exclude IS NULL OR sch.exclude = 0)
      AND (cal.exclude IS NULL OR cal.exclude = 0)
      AND (cal.summerSchool IS NULL OR cal.summerSchool = 0)
)
SELECT 'class-'                                AS sourcedId_prefix,
       sec.sectionID                           AS sourcedId,
       REPLACE(REPLACE('#course# - #section#',
                       '#section#', CAST(sec.sectionNumber AS varchar(10))),
               '#course#', sec.courseName)     AS title,
       'course-'                               AS courseSourcedId_prefix,
       sec.courseID                            AS courseSourcedId,
       REPLACE(REPLACE('#course#-#section#',
                       '#section#', CAST(sec.sectionNumber AS varchar(10))),
               '#course#', sec.courseNumber)   AS classCode,
       CASE WHEN COALESCE(sec.homeroomSection, 0) = 1 OR COALESCE(sec.homeroom, 0) = 1
            THEN 'homeroom' ELSE 'scheduled' END AS classType,
       rm.name                                 AS location,
       sec.schoolGUID                          AS schoolSourcedId,
       CASE WHEN sp.termID IS NULL THEN 'sy-' ELSE 'term-' END AS termSourcedIds_prefix,
       COALESCE(sp.termID, sec.endYear)        AS termSourcedIds,
       pd.name                                 AS periods
FROM sec
LEFT JOIN SectionPlacement sp ON sp.sectionID = sec.sectionID AND sp.trialID = sec.trialID
LEFT JOIN Term tm ON tm.termID = sp.termID
LEFT JOIN Period pd ON pd.periodID = sp.periodID
LEFT JOIN Room rm ON rm.roomID = sec.roomID
ORDER BY sec.sectionID,
         COALESCE(tm.startDate, '1900-01-01'),
         sp.termID,
         COALESCE(pd.seq, 0),
         sp.periodID;

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
--   periods = Period.name of SectionPlacement.periodID,
--   grades = the state grade levels (GradeLevel.stateGrade, else the local Enrollment.grade)
--     of the students on the section's roster in its trial, by their enrollment in the
--     section's calendar (Campus keeps no grade range on Section or Course); merged into
--     a list like termSourcedIds. A section nobody is scheduled into has no grades.
--   subjects = the SCED subject area named by the first two digits of Course.stateCode
--     (01 English Language and Literature … 24 World Languages, and 51-58 for the
--     prior-to-secondary codes; written without commas, which would split the name in
--     OneRoster's comma-separated list), subjectCodes = Course.stateCode itself. Campus's stateCode
--     is the state course code, which in most states is (or starts with) the NCES SCED
--     course code that OneRoster's subjectCodes names; a state whose codes are not SCED
--     gets a blank or wrong subject here, and the job can leave both out by copying this
--     file and removing the two columns. Blank when stateCode is NULL.
-- Reads:   Section, Trial, Course, Calendar, SchoolYear, School, SectionPlacement, Term,
--          Period, Room, Roster, Enrollment, GradeLevel
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
--   period seq, periodID and grade, so the rows of a class are consecutive and the term
--   and period lists come out in time order.
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
           c.stateCode,
           cal.calendarID,
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
),
grd AS (
    -- The grade levels of the students on the section's roster (see the header).
    SELECT DISTINCT sec.sectionID,
           NULLIF(LTRIM(RTRIM(COALESCE(gl.stateGrade, e.grade))), '') AS grade
    FROM sec
    JOIN Roster r ON r.sectionID = sec.sectionID
                  AND CASE WHEN r.trialID = sec.trialID THEN 1 END IS NOT NULL
    JOIN Enrollment e ON e.personID = r.personID
                      -- a CASE, not a plain comparison, for PostgreSQL's row estimate
                      AND CASE WHEN e.calendarID = sec.calendarID THEN 1 END IS NOT NULL
    LEFT JOIN GradeLevel gl ON gl.calendarID = e.calendarID
                           AND gl.structureID = e.structureID
                           AND gl.name = e.grade
    WHERE (e.noShow IS NULL OR e.noShow = 0)
      AND (e.stateExclude IS NULL OR e.stateExclude = 0)
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
       pd.name                                 AS periods,
       grd.grade                               AS grades,
       CASE SUBSTRING(sec.stateCode, 1, 2)
            WHEN '01' THEN 'English Language and Literature'
            WHEN '02' THEN 'Mathematics'
            WHEN '03' THEN 'Life and Physical Sciences'
            WHEN '04' THEN 'Social Sciences and History'
            WHEN '05' THEN 'Fine and Performing Arts'
            WHEN '06' THEN 'Foreign Language and Literature'
            WHEN '07' THEN 'Religious Education and Theology'
            WHEN '08' THEN 'Physical Health and Safety Education'
            WHEN '09' THEN 'Military Science'
            WHEN '10' THEN 'Information Technology'
            WHEN '11' THEN 'Communication and Audio/Visual Technology'
            WHEN '12' THEN 'Business and Marketing'
            WHEN '13' THEN 'Manufacturing'
            WHEN '14' THEN 'Health Care Sciences'
            WHEN '15' THEN 'Public Protective and Government Service'
            WHEN '16' THEN 'Hospitality and Tourism'
            WHEN '17' THEN 'Architecture and Construction'
            WHEN '18' THEN 'Agriculture Food and Natural Resources'
            WHEN '19' THEN 'Human Services'
            WHEN '20' THEN 'Transportation Distribution and Logistics'
            WHEN '21' THEN 'Engineering and Technology'
            WHEN '22' THEN 'Miscellaneous'
            WHEN '23' THEN 'Non-Subject-Specific'
            WHEN '24' THEN 'World Languages'
            WHEN '51' THEN 'English Language and Literature'
            WHEN '52' THEN 'Mathematics'
            WHEN '53' THEN 'Life and Physical Sciences'
            WHEN '54' THEN 'Social Sciences and History'
            WHEN '55' THEN 'Fine and Performing Arts'
            WHEN '56' THEN 'Foreign Language and Literature'
            WHEN '57' THEN 'Religious Education and Theology'
            WHEN '58' THEN 'Physical Health and Safety Education'
       END AS subjects,
       NULLIF(LTRIM(RTRIM(sec.stateCode)), '') AS subjectCodes
FROM sec
LEFT JOIN SectionPlacement sp ON sp.sectionID = sec.sectionID AND sp.trialID = sec.trialID
LEFT JOIN Term tm ON tm.termID = sp.termID
LEFT JOIN Period pd ON pd.periodID = sp.periodID
LEFT JOIN Room rm ON rm.roomID = sec.roomID
LEFT JOIN grd ON grd.sectionID = sec.sectionID
ORDER BY sec.sectionID,
         COALESCE(tm.startDate, '1900-01-01'),
         sp.termID,
         COALESCE(pd.seq, 0),
         sp.periodID,
         COALESCE(grd.grade, '');

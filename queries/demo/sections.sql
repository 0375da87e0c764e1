-- sections.sql: one row per section of the active schedule in the active school year.
--
-- Returns: section_id, course_number, course_name, section_number, school_number,
--          teacher_person_guid
--   section_id is Section.sectionID (IC has no section GUID; vendors use the int id).
--   teacher_person_guid is the personGUID of the primary teacher on the as-of date: the
--   SectionStaffHistory row with staffType = 'P' current on that date, the latest startDate
--   winning (then the highest historyID). NULL when the section has no current primary
--   teacher. Section.teacherPersonID is not used: it holds one teacher and no history.
-- Reads:   Section, Trial, Course, Calendar, SchoolYear, School, SectionStaffHistory, Person
-- Filters, and why:
--   * Trial.active = 1, and Course.calendarID = Trial.calendarID: only the real schedule,
--     never draft trials (their sections are copies with other sectionIDs).
--   * SchoolYear.active = 1 (Calendar.endYear = SchoolYear.endYear): the schedule of next year
--     already exists in the same tables and must not leak in.
--   * Course.active = 1: sections of inactive courses are leftovers.
--   * School.exclude = 1, Calendar.exclude = 1 and Calendar.summerSchool = 1 are left out.
--   * SectionStaffHistory date window: startDate NULL or <= as-of, endDate NULL or >= as-of,
--     so a teacher replaced mid-year is not reported.
--   Sections without students are kept.
-- Parameters: every question-mark placeholder is the as-of date, bound as a date.
-- Portability: common subset of T-SQL, PostgreSQL and SQLite. NULL startDates sort as
--   1900-01-01 (dialects order NULLs differently). personGUID is cast to varchar(36).
WITH pt AS (
    SELECT h.sectionID,
           h.trialID,
           h.personID,
           ROW_NUMBER() OVER (PARTITION BY h.sectionID, h.trialID
                              ORDER BY COALESCE(h.startDate, '1900-01-01') DESC,
                                       h.historyID DESC) AS rn
    FROM SectionStaffHistory h
    JOIN Trial t ON t.trialID = h.trialID AND t.active = 1
    WHERE h.staffType = 'P'
      AND (h.startDate IS NULL OR h.startDate <= ?)
      AND (h.endDate IS NULL OR h.endDate >= ?)
)
SELECT s.sectionID                       AS section_id,
       c.number                          AS course_number,
       c.name                            AS course_name,
       s.number                          AS section_number,
       sch.number                        AS school_number,
       CAST(p.personGUID AS varchar(36)) AS teacher_person_guid
FROM Section s
JOIN Trial t ON t.trialID = s.trialID AND t.active = 1
JOIN Course c ON c.courseID = s.courseID
                -- the trial must be of the course's calendar; a CASE, not a plain
                -- comparison, keeps PostgreSQL's row estimate (see the Campus users.sql)
                AND CASE WHEN c.calendarID = t.calendarID THEN 1 END IS NOT NULL
JOIN Calendar cal ON cal.calendarID = c.calendarID
JOIN SchoolYear sy ON sy.endYear = cal.endYear AND sy.active = 1
JOIN School sch ON sch.schoolID = cal.schoolID
LEFT JOIN pt ON pt.sectionID = s.sectionID AND pt.trialID = s.trialID AND pt.rn < 2
LEFT JOIN Person p ON p.personID = pt.personID
WHERE c.active = 1
  AND (sch.exclude IS NULL OR sch.exclude = 0)
  AND (cal.exclude IS NULL OR cal.exclude = 0)
  AND (cal.summerSchool IS NULL OR cal.summerSchool = 0)
ORDER BY section_id;

-- academicSessions.sql (OneRoster 1.1, Infinite Campus): the active school year and its terms.
--
-- Returns:
--   * one schoolYear session for the active year (SchoolYear.active = 1):
--     sourcedId = prefix sy- plus SchoolYear.endYear (e.g. sy-2026), title = startYear-endYear
--     written as 2025-2026 (built with REPLACE from endYear, no string concatenation),
--     startDate / endDate = the earliest Calendar.startDate and the latest Calendar.endDate of
--     the included calendars of that year, schoolYear = endYear, no parent.
--   * one term session for each Term of the included calendars of the active year:
--     sourcedId = prefix term- plus Term.termID, title = Term.name and the name of the
--     term's school, written as  Q1 (Lincoln Elementary)  : OneRoster 1.1 sessions carry no
--     org, so two schools' terms with the same name and dates would be indistinguishable
--     to a receiver mapping them by title. (The school is the one of the calendar of the
--     term's schedule structure; the id stays term- plus termID, so it does not change.)
--     startDate / endDate = Term dates, parentSourcedId = the schoolYear session (sy-endYear),
--     schoolYear = Calendar.endYear.
--     Type is always term: Campus terms carry no reliable kind (quarter, semester, trimester
--     are district names only) and OneRoster expects a gradingPeriod to sit under a term.
-- Reads:   SchoolYear, Calendar, School, Trial, TermSchedule, Term, Section, Course,
--          SectionPlacement, ScheduleStructure
-- Filters, and why:
--   * Included calendars: Calendar.endYear = the active SchoolYear.endYear, not
--     Calendar.exclude = 1, not Calendar.summerSchool = 1, school not School.exclude = 1
--     (NULL flags count as 0). Next year calendars already exist in Campus and must not leak.
--   * Terms come from the term schedule of the structure of the active trial of each included
--     calendar (Trial.active = 1, TermSchedule.structureID = Trial.structureID), so draft
--     trials and unused structures add nothing. Terms used by a SectionPlacement of an active
--     section (same filters as classes.sql) are added too, so that every termSourcedIds value
--     of classes.sql resolves even when a placement points at another term schedule.
--     UNION removes the duplicates.
--   The as-of date is not used here: sessions follow the active year.
--   (One time rule for the folder: everything follows the active year; people and
--   enrollments the as-of date moved into it. See users.sql.)
-- Id scheme: sy- plus endYear, term- plus termID (the same prefixes as in classes.sql and
--   courses.sql).
-- Order: by prefix, then id (sy- sorts before term-). Every session is one row.
-- Portability: common subset of T-SQL, PostgreSQL and SQLite. Dates keep the native type of
--   the columns, the tool formats them. The title is built by REPLACE on a template with
--   #start# / #end# markers, a term's with #term# / #school# (string concatenation differs
--   between dialects, CONCAT is missing from SQLite 3.40). The markers avoid curly braces,
--   which ODBC reserves for escapes. The term name is put in first, so a school name that
--   happens to contain a marker is not altered.
WITH cal AS (
    SELECT c.calendarID,
           c.endYear,
           c.startDate,
           c.endDate
    FROM Calendar c
    JOIN SchoolYear sy ON sy.endYear = c.endYear AND sy.active = 1
    JOIN School sch ON sch.schoolID = c.schoolID
    WHERE (sch.exclude IS NULL OR sch.exclude = 0)
      AND (c.exclude IS NULL OR c.exclude = 0)
      AND (c.summerSchool IS NULL OR c.summerSchool = 0)
),
trm AS (
    SELECT tm.termID,
           tm.name,
           tm.startDate,
           tm.endDate,
           cal.endYear
    FROM cal
    JOIN Trial t ON t.calendarID = cal.calendarID AND t.active = 1
    JOIN TermSchedule ts ON ts.structureID = t.structureID
    JOIN Term tm ON tm.termScheduleID = ts.termScheduleID
    UNION
    SELECT tm.termID,
           tm.name,
           tm.startDate,
           tm.endDate,
           cal.endYear
    FROM cal
    JOIN Trial t ON t.calendarID = cal.calendarID AND t.active = 1
    JOIN Course c ON c.calendarID = cal.calendarID AND c.active = 1
    JOIN Section s ON s.courseID = c.courseID AND s.trialID = t.trialID
    JOIN SectionPlacement sp ON sp.sectionID = s.sectionID AND sp.trialID = s.trialID
    JOIN Term tm ON tm.termID = sp.termID
),
named AS (
    -- Each term with the name of its own school (through its schedule structure's calendar).
    SELECT trm.termID,
           REPLACE(REPLACE('#term# (#school#)', '#term#', trm.name), '#school#', sch.name) AS title
    FROM trm
    JOIN Term tm ON tm.termID = trm.termID
    JOIN TermSchedule ts ON ts.termScheduleID = tm.termScheduleID
    JOIN ScheduleStructure ss ON ss.structureID = ts.structureID
    JOIN Calendar c ON c.calendarID = ss.calendarID
    JOIN School sch ON sch.schoolID = c.schoolID
),
sess AS (
    SELECT 'sy-'                                AS sourcedId_prefix,
           cal.endYear                          AS sourcedId,
           REPLACE(REPLACE('#start#-#end#',
                           '#start#', CAST(cal.endYear - 1 AS varchar(4))),
                   '#end#', CAST(cal.endYear AS varchar(4)))
                                                AS title,
           'schoolYear'                         AS type,
           MIN(cal.startDate)                   AS startDate,
           MAX(cal.endDate)                     AS endDate,
           NULL                                 AS parentSourcedId_prefix,
           NULL                                 AS parentSourcedId,
           cal.endYear                          AS schoolYear
    FROM cal
    GROUP BY cal.endYear
    UNION ALL
    SELECT 'term-'                              AS sourcedId_prefix,
           trm.termID                           AS sourcedId,
           COALESCE(named.title, trm.name)      AS title,
           'term'                               AS type,
           trm.startDate                        AS startDate,
           trm.endDate                          AS endDate,
           'sy-'                                AS parentSourcedId_prefix,
           trm.endYear                          AS parentSourcedId,
           trm.endYear                          AS schoolYear
    FROM trm
    LEFT JOIN named ON named.termID = trm.termID
)
SELECT sess.sourcedId_prefix,
       sess.sourcedId,
       sess.title,
       sess.type,
       sess.startDate,
       sess.endDate,
       sess.parentSourcedId_prefix,
       sess.parentSourcedId,
       sess.schoolYear
FROM sess
ORDER BY sess.sourcedId_prefix, sess.sourcedId;

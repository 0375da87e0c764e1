//! The expected summary of what a correct extract holds, counted while the data is written.
//!
//! Counts, all as of AS_OF (2026-01-15), with "included calendar" meaning: a Calendar of the
//! active SchoolYear (2026) that is not Calendar.exclude = 1 nor summerSchool = 1, of a school
//! that is not School.exclude = 1; "active section": a Section of the active Trial of an
//! included calendar whose Course.active = 1; "current": startDate NULL or <= as-of and endDate
//! NULL or >= as-of; "counting enrollment": current and not noShow = 1 / stateExclude = 1.
//!   included_schools       schools with an included calendar (orgs.sql rows of type school);
//!                          orgs = included_schools + 1 (the district).
//!   academic_sessions      1 school year + the Terms of the active trials' structures of the
//!                          included calendars (academicSessions.sql rows).
//!   active_courses         Course.active = 1 in included calendars (courses.sql rows).
//!   active_sections        active sections (sections.sql rows, classes.sql classes); sections
//!                          without teacher or students included.
//!   active_students        persons with a counting PRIMARY ('P') enrollment in an included
//!                          calendar (students.sql rows).
//!   oneroster_students     the same, with an enabled account of their own (UserAccount not
//!                          disable = 1; lock does not matter): users.sql role student and
//!                          demographics.sql rows with the default people = "campus-accounts".
//!                          Secondary enrollments add no student and no school.
//!   staff                  distinct (person, school) with a current EmploymentAssignment at an
//!                          included school (staff.sql rows).
//!   student_enrollments    distinct (active section, student) with a Roster row not ended on
//!                          the as-of date (current, or starting later: next term) of the
//!                          section's trial, the student being a oneroster_students student
//!                          and holding a counting enrollment (any serviceType) in the
//!                          section's calendar (enrollments.sql student rows).
//!   teacher_enrollments    distinct (active section, person) with a SectionStaffHistory row
//!                          not ended on the as-of date of the section's trial with staffType
//!                          'P' (enrollments.sql rows with primary true).
//!   co_teacher_enrollments the same with such rows of other teaching staffTypes only
//!                          (enrollments.sql teacher rows with primary false). (The demo's
//!                          rosters.sql still sends current rows only; no count checks it.)
//!   section_teachers       distinct persons of teacher_enrollments and co_teacher_enrollments.
//!   users, and per role    users.sql after merging, people = "campus-accounts": one role per
//!                          person, the first of student (oneroster_students), teacher of an
//!                          active section, administrator (current assignment at an included
//!                          school with supervisor = 1 or another non-teaching flag), teacher
//!                          (such an assignment with teacher = 1), aide (any other such
//!                          assignment), guardian (RelatedPair.guardian = 1, current, of a
//!                          OneRoster student, with an enabled parent-portal account). Staff
//!                          roles need an enabled work account (one staff member's is
//!                          disabled). Orphans (no current identity) are never users.
//!   guardians              users.sql role guardian (a guardian who is also staff is a teacher).
//!   clever_students        Clever students.csv rows: per oneroster_students student, one row
//!                          per distinct guardian linked in users.sql (a contact), or one row
//!                          without contacts.
//!   clever_sections        Clever sections.csv rows: active sections with a teacher
//!                          enrollment (teacher_enrollments or co_teacher_enrollments) and at
//!                          least one student_enrollments row.
//!   clever_enrollments     Clever enrollments.csv rows: student_enrollments in those sections.
//!   clever_teachers        Clever teachers.csv rows: distinct (person, school) of the
//!                          teachers (users.sql role teacher), the schools of their active
//!                          sections on the as-of date and of their current assignments at
//!                          included schools (an itinerant teacher has two).
//!   clever_staff           Clever staff.csv rows: the same for administrators and aides.
//! Lists (each holds at most LIST_LIMIT entries, in generation order; list_totals has the full
//! count). must_be_absent: persons (personGUID) absent from users.sql and enrollments.sql
//! (and from students.sql, except the account lists: the demo queries do not look at
//! accounts), or sectionIDs absent from sections.sql and classes.sql. The account lists
//! (students_without_account, student_accounts_disabled, guardians_without_portal,
//! staff_accounts_disabled) are present with people = "everyone".
//! must_be_present: persons present in users.sql (students also in students.sql), section
//! ids present in sections.sql, and names present among the first/last names of
//! students.sql and users.sql.

use crate::*;

#[derive(Clone, Copy)]
pub(crate) enum L {
    NoShow,
    StateExclude,
    ExcludedSchool,
    ExcludedCalendar,
    NextYearOnly,
    WithdrawnBefore,
    NotStarted,
    LeftDistrict,
    Orphans,
    DepartedStaff,
    FutureStaff,
    ExcludedSchoolStaff,
    NonGuardians,
    GuardiansNotCurrent,
    DraftSections,
    InactiveCourseSections,
    CoTeachers,
    ReplacementTeachers,
    MultiStudentGuardians,
    StaffGuardians,
    AwkwardNames,
    ReEntered,
    Transferred,
    WithdrawnAfter,
    StartedByAsOf,
    SecondaryEnrollment,
    SecondaryOnly,
    EmptySections,
    StudentsWithoutAccount,
    StudentAccountsDisabled,
    GuardiansWithoutPortal,
    StaffAccountsDisabled,
    LockedAccounts,
}

/// Name of each list, and whether it is a must_be_absent list.
pub(crate) const LISTS: [(&str, bool); 33] = [
    ("no_show", true),
    ("state_exclude", true),
    ("excluded_school", true),
    ("excluded_calendar", true),
    ("next_year_only", true),
    ("withdrawn_before_as_of", true),
    ("not_started_by_as_of", true),
    ("left_district", true),
    ("orphans", true),
    ("departed_staff", true),
    ("future_staff", true),
    ("excluded_school_staff", true),
    ("non_guardian_relatives", true),
    ("guardians_without_current_link", true),
    ("draft_trial_sections", true),
    ("inactive_course_sections", true),
    ("co_teachers", false),
    ("replacement_teachers", false),
    ("multi_student_guardians", false),
    ("staff_guardians", false),
    ("awkward_names", false),
    ("re_entered", false),
    ("transferred", false),
    ("withdrawn_after_as_of", false),
    ("started_by_as_of", false),
    ("secondary_enrollment", false),
    ("secondary_only", true),
    ("empty_sections", false),
    ("students_without_account", true),
    ("student_accounts_disabled", true),
    ("guardians_without_portal", true),
    ("staff_accounts_disabled", true),
    ("locked_accounts", false),
];

/// One guardian = 1 pair.
pub(crate) struct Link {
    pub(crate) pid: u32,
    /// The guardian has an enabled parent-portal account.
    pub(crate) portal: bool,
    /// The pair is current, its student a OneRoster student and the guardian has portal
    /// access: linked in users.sql by default.
    pub(crate) linked: bool,
    /// The pair is current and its student would be sent with people = "everyone".
    pub(crate) anyone: bool,
}

#[derive(Default)]
pub(crate) struct List {
    pub(crate) items: Vec<String>,
    pub(crate) total: u64,
}

#[derive(Default)]
pub(crate) struct Expected {
    pub(crate) included_schools: u64,
    pub(crate) academic_sessions: u64,
    pub(crate) active_courses: u64,
    pub(crate) active_sections: u64,
    pub(crate) active_students: u64,
    pub(crate) oneroster_students: u64,
    pub(crate) staff: u64,
    pub(crate) student_enrollments: u64,
    pub(crate) teacher_enrollments: u64,
    pub(crate) co_teacher_enrollments: u64,
    /// Active sections with a teacher user on the as-of date.
    pub(crate) taught_sections: std::collections::HashSet<u32>,
    /// Clever: students.csv rows, sections.csv sections, enrollments.csv rows.
    pub(crate) clever_student_rows: u64,
    pub(crate) clever_sections: std::collections::HashSet<u32>,
    pub(crate) clever_enrollments: u64,
    /// (staff person, school index) of every staff role: a taught active section or a
    /// current assignment at an included school, with an enabled work account.
    pub(crate) staff_schools: std::collections::BTreeSet<(u32, usize)>,
    /// Per staff serial: best users.sql priority (2 section teacher, 3 administrator,
    /// 4 teacher by assignment, 5 aide), NONE if not a staff user.
    pub(crate) staff_priority: Vec<u8>,
    pub(crate) co_teachers: Vec<u32>,
    /// One per guardian = 1 pair.
    pub(crate) guardian_links: Vec<Link>,
    /// The staff member without an enabled work account.
    pub(crate) disabled_staff: u32,
    pub(crate) awkward: Vec<String>,
    pub(crate) lists: Vec<List>,
}

pub(crate) const NONE: u8 = u8::MAX;

pub(crate) struct Totals {
    pub(crate) section_teachers: u64,
    pub(crate) teachers: u64,
    pub(crate) administrators: u64,
    pub(crate) aides: u64,
    pub(crate) guardians: u64,
}

pub(crate) fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl Expected {
    pub(crate) fn new(plan: &Plan) -> Expected {
        Expected {
            staff_priority: vec![NONE; plan.staff_total as usize],
            disabled_staff: plan.disabled_staff(),
            lists: LISTS.iter().map(|_| List::default()).collect(),
            ..Expected::default()
        }
    }

    pub(crate) fn add(&mut self, list: L, item: String) {
        let list = &mut self.lists[list as usize];
        list.total += 1;
        if list.items.len() < LIST_LIMIT {
            list.items.push(item);
        }
    }

    pub(crate) fn add_person(&mut self, list: L, plan: &Plan, pid: u32) {
        self.add(list, json_string(&plan.person_guid(pid)));
    }

    /// Records a staff role of `pid`; false (and nothing recorded) when they have no
    /// enabled work account, so no staff role.
    pub(crate) fn staff_role(&mut self, pid: u32, priority: u8) -> bool {
        if pid == self.disabled_staff {
            return false;
        }
        let slot = &mut self.staff_priority[(pid - FIRST_PERSON) as usize];
        *slot = (*slot).min(priority);
        true
    }

    /// Settles what needs every table: guardians, roles, staff lists.
    pub(crate) fn finish(mut self, plan: &Plan) -> (Expected, Totals) {
        let mut links = std::mem::take(&mut self.guardian_links);
        links.sort_by_key(|l| l.pid);
        let mut guardians = 0;
        for group in links.chunk_by(|a, b| a.pid == b.pid) {
            let pid = group[0].pid;
            let linked = group.iter().filter(|l| l.linked).count();
            let staff = pid < plan.student_base;
            if !group.iter().any(|l| l.anyone) {
                if !staff {
                    self.add_person(L::GuardiansNotCurrent, plan, pid);
                }
                continue;
            }
            if !group[0].portal && !staff {
                self.add_person(L::GuardiansWithoutPortal, plan, pid);
            }
            if linked == 0 {
                continue;
            }
            if linked >= 2 {
                self.add_person(L::MultiStudentGuardians, plan, pid);
            }
            if staff {
                self.add_person(L::StaffGuardians, plan, pid);
            }
            if !staff || self.staff_priority[(pid - FIRST_PERSON) as usize] == NONE {
                guardians += 1;
            }
        }
        let mut co = std::mem::take(&mut self.co_teachers);
        co.sort_unstable();
        co.dedup();
        for pid in co {
            self.add_person(L::CoTeachers, plan, pid);
        }
        for (s, school) in plan.schools.iter().enumerate() {
            for idx in 0..school.nstaff {
                let role = school.role(idx);
                let pid = plan.staff_pid(s, role);
                let is_user = self.staff_priority[(pid - FIRST_PERSON) as usize] != NONE;
                let list = match role {
                    _ if school.online => Some(L::ExcludedSchoolStaff),
                    _ if pid == self.disabled_staff => Some(L::StaffAccountsDisabled),
                    Role::Teacher(School::RETIRING) if school.retire => Some(L::DepartedStaff),
                    Role::FutureHire => Some(L::FutureStaff),
                    _ => None,
                };
                if let Some(list) = list {
                    debug_assert!(!is_user, "staff {pid} must be absent");
                    self.add_person(list, plan, pid);
                } else if role == Role::Replacement {
                    debug_assert!(is_user, "replacement {pid} must be present");
                    self.add_person(L::ReplacementTeachers, plan, pid);
                }
            }
        }
        let count = |p: &[u8]| self.staff_priority.iter().filter(|x| p.contains(x)).count() as u64;
        let totals = Totals {
            section_teachers: count(&[2]),
            teachers: count(&[2, 4]),
            administrators: count(&[3]),
            aides: count(&[5]),
            guardians,
        };
        let awkward = std::mem::take(&mut self.awkward);
        for name in awkward {
            self.add(L::AwkwardNames, json_string(&name));
        }
        (self, totals)
    }
}

pub(crate) fn write_json(plan: &Plan, (e, t): (Expected, Totals), out: &mut dyn Write) -> io::Result<()> {
    let users = e.oneroster_students + t.teachers + t.administrators + t.aides + t.guardians;
    let mut j = String::new();
    j.push_str(&format!(
        "{{\n  \"as_of\": \"{}\",\n  \"seed\": {},\n  \"students\": {},\n  \"active_year\": {},\n",
        AS_OF.iso(),
        plan.d.seed,
        plan.d.n,
        YEARS[ACTIVE]
    ));
    let pairs = |roles: &[u8]| {
        e.staff_schools
            .iter()
            .filter(|(pid, _)| roles.contains(&e.staff_priority[(pid - FIRST_PERSON) as usize]))
            .count() as u64
    };
    let (clever_teachers, clever_staff) = (pairs(&[2, 4]), pairs(&[3, 5]));
    let counts: [(&str, u64); 25] = [
        ("elementary_schools", u64::from(plan.d.n_elem)),
        ("middle_high_schools", u64::from(plan.d.n_high)),
        ("included_schools", e.included_schools),
        ("orgs", e.included_schools + 1),
        ("academic_sessions", e.academic_sessions),
        ("active_courses", e.active_courses),
        ("active_sections", e.active_sections),
        ("active_students", e.active_students),
        ("oneroster_students", e.oneroster_students),
        ("staff", e.staff),
        ("section_teachers", t.section_teachers),
        ("teachers", t.teachers),
        ("administrators", t.administrators),
        ("aides", t.aides),
        ("guardians", t.guardians),
        ("users", users),
        ("student_enrollments", e.student_enrollments),
        ("teacher_enrollments", e.teacher_enrollments),
        ("co_teacher_enrollments", e.co_teacher_enrollments),
        ("clever_students", e.clever_student_rows),
        ("clever_sections", e.clever_sections.len() as u64),
        ("clever_enrollments", e.clever_enrollments),
        ("clever_teachers", clever_teachers),
        ("clever_staff", clever_staff),
        ("list_limit", LIST_LIMIT as u64),
    ];
    for (name, value) in counts {
        j.push_str(&format!("  \"{name}\": {value},\n"));
    }
    for (group, absent) in [("must_be_absent", true), ("must_be_present", false)] {
        j.push_str(&format!("  \"{group}\": {{\n"));
        let entries: Vec<String> = LISTS
            .iter()
            .zip(&e.lists)
            .filter(|((_, a), _)| *a == absent)
            .map(|((name, _), list)| format!("    \"{name}\": [{}]", list.items.join(", ")))
            .collect();
        j.push_str(&entries.join(",\n"));
        j.push_str("\n  },\n");
    }
    let totals: Vec<String> = LISTS
        .iter()
        .zip(&e.lists)
        .map(|((name, _), list)| format!("    \"{name}\": {}", list.total))
        .collect();
    j.push_str(&format!("  \"list_totals\": {{\n{}\n  }}\n}}\n", totals.join(",\n")));
    out.write_all(j.as_bytes())?;
    out.flush()
}

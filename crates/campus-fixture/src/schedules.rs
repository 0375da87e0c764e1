//! Schedules: terms, periods, rooms, courses, sections, staff history and rosters.

use crate::*;

/// Term dates of a calendar: trimesters (elementary) or quarters.
pub(crate) fn terms_of(level: Level, year: usize) -> Vec<(&'static str, Date, Date)> {
    let y1 = YEARS[year];
    let y0 = y1 - 1;
    let (start, end) = (YEAR_START[year], YEAR_END[year]);
    match level {
        Level::Elem => vec![
            ("T1", start, Date::ymd(y0, 11, 21)),
            ("T2", Date::ymd(y0, 12, 1), Date::ymd(y1, 3, 6)),
            ("T3", Date::ymd(y1, 3, 9), end),
        ],
        Level::High => vec![
            ("Q1", start, Date::ymd(y0, 10, 24)),
            ("Q2", Date::ymd(y0, 10, 27), Date::ymd(y1, 1, 16)),
            ("Q3", Date::ymd(y1, 1, 20), Date::ymd(y1, 3, 27)),
            ("Q4", Date::ymd(y1, 3, 30), end),
        ],
    }
}

pub(crate) fn period_name(level: Level, p: u32) -> String {
    match (level, p) {
        (Level::Elem, 0) => "HR".to_string(),
        (Level::Elem, p) => p.to_string(),
        (Level::High, p) => (p + 1).to_string(),
    }
}

pub(crate) fn write_schedule_frame(plan: &Plan, w: &mut Sql, exp: &mut Expected) -> io::Result<()> {
    let scheduled = || plan.cals.iter().filter_map(|c| c.sched.as_ref().map(|s| (c, s)));
    w.start(Some(&T_TRIAL))?;
    for (cal, sched) in scheduled() {
        w.row().int(sched.trial).int(cal.id).int(cal.structure).text("Master Schedule").int(1).end()?;
        if let Some((draft, _)) = cal.layout.as_ref().and_then(|l| l.draft) {
            w.row()
                .int(draft)
                .int(cal.id)
                .int(cal.structure)
                .text("Draft - Semester 2 rebuild")
                .int(0)
                .end()?;
        }
    }
    w.start(Some(&T_TERM_SCHEDULE))?;
    for (cal, sched) in scheduled() {
        let level = plan.schools[cal.school].level;
        let name = if level == Level::Elem { "Trimesters" } else { "Quarters" };
        w.row().int(sched.term_schedule).int(cal.structure).text(name).end()?;
    }
    w.start(Some(&T_TERM))?;
    for (cal, sched) in scheduled() {
        let school = &plan.schools[cal.school];
        let terms = terms_of(school.level, cal.year);
        debug_assert_eq!(terms.len() as u32, sched.nterms);
        for (k, (name, start, end)) in terms.into_iter().enumerate() {
            w.row()
                .int(sched.first_term + k as u32)
                .int(sched.term_schedule)
                .text(name)
                .date(start)
                .date(end)
                .int(k as u32 + 1)
                .end()?;
        }
        if cal.year == ACTIVE && cal.place == Place::Regular && !school.online {
            exp.academic_sessions += u64::from(sched.nterms);
        }
    }
    exp.academic_sessions += 1;
    w.start(Some(&T_PERIOD_SCHEDULE))?;
    for (cal, sched) in scheduled() {
        let level = plan.schools[cal.school].level;
        let name = if level == Level::Elem { "Elementary Day" } else { "Bell Schedule" };
        w.row().int(sched.period_schedule).int(cal.structure).text(name).end()?;
    }
    w.start(Some(&T_PERIOD))?;
    for (cal, sched) in scheduled() {
        let level = plan.schools[cal.school].level;
        for p in 0..sched.nperiods {
            let start = 8 * 60 + p * 55;
            w.row()
                .int(sched.first_period + p)
                .int(sched.period_schedule)
                .text(&period_name(level, p))
                .int(p + 1)
                .text(&format!("{:02}:{:02}:00", start / 60, start % 60))
                .text(&format!("{:02}:{:02}:00", (start + 50) / 60, (start + 50) % 60))
                .end()?;
        }
    }
    w.start(Some(&T_ROOM))?;
    for school in &plan.schools {
        for r in 0..school.pool + 2 {
            let name = match (school.online, school.level, r) {
                (true, _, r) => format!("Virtual Classroom {}", r + 1),
                (_, _, r) if r == school.pool => "Gym".to_string(),
                (_, _, r) if r == school.pool + 1 => "Library".to_string(),
                (_, Level::Elem, r) => format!("Room {}", 101 + r),
                (_, Level::High, r) => format!("{}-{}", ["A", "B", "C", "D"][(r % 4) as usize], 101 + r / 4),
            };
            w.row().int(school.room_base + r).int(school.id).text(&name).end()?;
        }
    }
    Ok(())
}

/// One SectionStaffHistory row.
pub(crate) struct StaffRow {
    pub(crate) pid: u32,
    pub(crate) primary: bool,
    pub(crate) start: Option<Date>,
    pub(crate) end: Option<Date>,
}

/// One section of a calendar's layout.
pub(crate) struct SectionRef<'p> {
    pub(crate) cal: &'p Cal,
    pub(crate) layout: &'p Layout,
    pub(crate) course: usize,
    pub(crate) k: u32,
}

impl SectionRef<'_> {
    pub(crate) fn ordinal(&self) -> u32 {
        self.layout.offset[self.course] + self.k
    }
    pub(crate) fn id(&self) -> u32 {
        self.layout.first_section + self.ordinal()
    }
    pub(crate) fn trial(&self) -> u32 {
        self.cal.sched.as_ref().expect("a trial").trial
    }
}

pub(crate) fn sections(plan: &Plan) -> impl Iterator<Item = SectionRef<'_>> {
    plan.cals.iter().filter_map(|cal| cal.layout.as_ref().map(|layout| (cal, layout))).flat_map(
        |(cal, layout)| {
            (0..layout.nsec.len()).flat_map(move |course| {
                (0..layout.nsec[course]).map(move |k| SectionRef { cal, layout, course, k })
            })
        },
    )
}

/// Whether a section of the active trial is in sections.sql.
pub(crate) fn section_active(plan: &Plan, sec: &SectionRef) -> bool {
    let school = &plan.schools[sec.cal.school];
    sec.cal.year == ACTIVE && !school.online && course_def(school.level, sec.course).active
}

pub(crate) fn staff_rows(plan: &Plan, sec: &SectionRef) -> Vec<StaffRow> {
    let s = sec.cal.school;
    let school = &plan.schools[s];
    if !course_def(school.level, sec.course).taught {
        return Vec::new();
    }
    let year = sec.cal.year;
    let ordinal = sec.ordinal();
    let t = plan.pool_teacher(s, ordinal);
    let mut r = Rng::new(plan.seed(), ST_SECTION, u64::from(sec.id()));
    let window = match year {
        0 => (Some(YEAR_START[0]), Some(YEAR_END[0])),
        ACTIVE => (r.per_mille(750).then_some(YEAR_START[ACTIVE]), None),
        _ => (None, None),
    };
    let row = |pid: u32, primary: bool, (start, end): (Option<Date>, Option<Date>)| StaffRow {
        pid,
        primary,
        start,
        end,
    };
    let mut rows = Vec::new();
    let teacher = plan.staff_pid(s, Role::Teacher(t));
    if school.retire && t == School::RETIRING {
        let replacement = plan.staff_pid(s, Role::Replacement);
        match year {
            0 => rows.push(row(teacher, true, window)),
            ACTIVE => {
                rows.push(row(teacher, true, (Some(YEAR_START[ACTIVE]), Some(BREAK_START))));
                rows.push(row(replacement, true, (Some(BREAK_END), None)));
            }
            _ => rows.push(row(replacement, true, window)),
        }
    } else {
        rows.push(row(teacher, true, window));
    }
    if ordinal == 0 || r.below(8) == 0 {
        rows.push(row(plan.staff_pid(s, Role::Co), false, window));
    }
    if school.chair && year == ACTIVE {
        match ordinal {
            2 => rows.push(row(teacher, true, window)),
            3 => rows.push(row(teacher, false, window)),
            _ => {}
        }
    }
    rows
}

pub(crate) fn write_courses_and_sections(plan: &Plan, w: &mut Sql, exp: &mut Expected) -> io::Result<()> {
    w.start(Some(&T_COURSE))?;
    for cal in &plan.cals {
        let Some(layout) = &cal.layout else { continue };
        let school = &plan.schools[cal.school];
        for c in 0..layout.nsec.len() {
            let def = course_def(school.level, c);
            w.row()
                .int(layout.first_course + c as u32)
                .int(cal.id)
                .text(&def.number)
                .text(&def.name)
                .flag(def.active)
                .opt_text(def.state_code)
                .flag(def.homeroom)
                .int(def.dept)
                .end()?;
            if def.active && cal.year == ACTIVE && !school.online {
                exp.active_courses += 1;
            }
        }
    }

    // Sections, then their copies in the draft trial.
    let draft_copies = |sec: &SectionRef| -> Option<(u32, u32)> {
        let (trial, first) = sec.layout.draft?;
        let j = DRAFT_COPIES.iter().position(|&(c, k)| c == sec.course && k == sec.k)?;
        Some((trial, first + j as u32))
    };
    w.start(Some(&T_SECTION))?;
    for sec in sections(plan) {
        let school = &plan.schools[sec.cal.school];
        let def = course_def(school.level, sec.course);
        let staff = staff_rows(plan, &sec);
        let teacher = staff.iter().find(|r| r.primary).map(|r| r.pid);
        let display = teacher.map(|pid| {
            let idx = pid - FIRST_PERSON - school.staff_base;
            let rec = staff_person(plan, sec.cal.school, idx).rec;
            format!("{}, {}", rec.last, rec.first)
        });
        let room = match teacher {
            Some(_) => school.room_base + plan.pool_teacher(sec.cal.school, sec.ordinal()),
            None => school.room_base + school.pool + 1,
        };
        let copies = [Some((sec.trial(), sec.id())), draft_copies(&sec)];
        for (trial, id) in copies.into_iter().flatten() {
            w.row()
                .int(id)
                .int(sec.layout.first_course + sec.course as u32)
                .int(trial)
                .int(sec.k + 1)
                .opt_int(teacher)
                .opt_text(display.as_deref())
                .int(room)
                .flag(def.homeroom)
                .end()?;
        }
        if section_active(plan, &sec) {
            exp.active_sections += 1;
            if teacher.is_none() {
                exp.add(L::EmptySections, sec.id().to_string());
            }
        } else if sec.cal.year == ACTIVE && !school.online {
            exp.add(L::InactiveCourseSections, sec.id().to_string());
        }
        if let Some((_, copy)) = draft_copies(&sec) {
            exp.add(L::DraftSections, copy.to_string());
        }
    }

    w.start(Some(&T_PLACEMENT))?;
    for sec in sections(plan) {
        let school = &plan.schools[sec.cal.school];
        let def = course_def(school.level, sec.course);
        let sched = sec.cal.sched.as_ref().expect("a schedule");
        let ordinal = sec.ordinal();
        let half = sched.nterms / 2;
        let terms = match def.terms {
            Terms::All => 0..sched.nterms,
            Terms::FirstHalf => 0..half,
            Terms::SecondHalf => half..sched.nterms,
        };
        let period = match school.level {
            Level::Elem if def.homeroom => 0,
            Level::Elem => 1 + ordinal % 3,
            Level::High => ordinal % 6,
        };
        let periods = if def.double { vec![period, (period + 1) % 6] } else { vec![period] };
        let copies = [Some((sec.trial(), sec.id())), draft_copies(&sec)];
        for (trial, id) in copies.into_iter().flatten() {
            for term in terms.clone() {
                for &p in &periods {
                    w.row()
                        .int(id)
                        .int(trial)
                        .int(sched.first_term + term)
                        .int(sched.first_period + p)
                        .end()?;
                }
            }
        }
    }

    w.start(Some(&T_STAFF_HISTORY))?;
    let mut id = 7001u32;
    for sec in sections(plan) {
        let rows = staff_rows(plan, &sec);
        let created = YEAR_START[sec.cal.year].plus(-20);
        for row in &rows {
            w.row()
                .int(id)
                .int(sec.id())
                .int(sec.trial())
                .int(row.pid)
                .text(if row.primary { "P" } else { "T" })
                .opt_date(row.start)
                .opt_date(row.end)
                .stamp(row.start.unwrap_or(created).max(created), 9 * 60 + id % 60)
                .end()?;
            id += 1;
        }
        if let Some((trial, copy)) = draft_copies(&sec)
            && let Some(first) = rows.iter().find(|r| r.primary)
        {
            w.row()
                .int(id)
                .int(copy)
                .int(trial)
                .int(first.pid)
                .text("P")
                .null()
                .null()
                .stamp(Date::ymd(2025, 12, 1), 10 * 60)
                .end()?;
            id += 1;
        }
        if section_active(plan, &sec) {
            let mut now: Vec<(u32, bool)> =
                rows.iter().filter(|r| not_ended(r.end)).map(|r| (r.pid, !r.primary)).collect();
            now.sort_unstable();
            now.dedup_by_key(|x| x.0);
            for (pid, co) in now {
                if !exp.staff_role(pid, 2) {
                    // No enabled work account: not a user, so no enrollment either.
                    continue;
                }
                exp.taught_sections.insert(sec.id());
                exp.staff_schools.insert((pid, sec.cal.school));
                if co {
                    exp.co_teacher_enrollments += 1;
                    exp.co_teachers.push(pid);
                } else {
                    exp.teacher_enrollments += 1;
                }
            }
        }
    }
    // Other section staff (staffType 'N', here the school's instructional aide on every
    // ninth active section that has teachers): Campus keeps them in SectionStaffHistory,
    // but only 'P' and 'T' teach. They get no teacher enrollment and keep their own role,
    // so nothing is added to the expected counts.
    for sec in sections(plan) {
        if !section_active(plan, &sec) || sec.id() % 9 != 0 || staff_rows(plan, &sec).is_empty() {
            continue;
        }
        w.row()
            .int(id)
            .int(sec.id())
            .int(sec.trial())
            .int(plan.staff_pid(sec.cal.school, Role::Aide))
            .text("N")
            .null()
            .null()
            .stamp(YEAR_START[sec.cal.year].plus(-20), 11 * 60 + id % 60)
            .end()?;
        id += 1;
    }
    Ok(())
}

/// One Roster row of a student.
pub(crate) struct RosterRow {
    pub(crate) section: u32,
    pub(crate) trial: u32,
    pub(crate) start: Option<Date>,
    pub(crate) end: Option<Date>,
    /// The section is in sections.sql (active trial): (school) for the enrollment check.
    pub(crate) active_at: Option<usize>,
}

pub(crate) fn roster_rows(plan: &Plan, st: &Student, enrs: &[Enr]) -> Vec<RosterRow> {
    let mut out = Vec::new();
    let mut r = Rng::new(plan.seed(), ST_ROSTER, u64::from(st.i));
    for e in enrs.iter().filter(|e| e.place == Place::Regular) {
        let cal = plan.cal_of(e);
        let Some(layout) = &cal.layout else { continue };
        let picks = match e.roster {
            RosterSpec::Full => plan.schedule(st.i, e.year, e.school, e.grade),
            RosterSpec::One(c) => vec![(c, 0)],
            RosterSpec::Nothing => continue,
        };
        let mut picks: Vec<(usize, u32, bool)> = picks.into_iter().map(|(c, k)| (c, k, false)).collect();
        let level = plan.schools[e.school].level;
        let open_year = e.start == YEAR_START[ACTIVE] && e.end.is_none();
        if st.latin && e.year == ACTIVE && level == Level::High && open_year && layout.nsec.len() > LATIN {
            picks.push((LATIN, 0, false));
        }
        if st.switch && e.year == ACTIVE && open_year && e.roster == RosterSpec::Full && level == Level::High
        {
            // The first elective (position 4) changes section at the winter break.
            picks[4].2 = true;
        }
        for (c, k, switch) in picks {
            let sec = SectionRef { cal, layout, course: c, k };
            let (start, end) = match e.year {
                0 => (Some(e.start), Some(e.end.unwrap_or(YEAR_END[0]))),
                ACTIVE if e.start == YEAR_START[ACTIVE] => {
                    (if r.below(3) == 0 { None } else { Some(e.start) }, e.end)
                }
                ACTIVE => (Some(e.start), e.end),
                _ => (None, None),
            };
            let active_at = section_active(plan, &sec).then_some(e.school);
            if switch {
                let later = SectionRef { cal, layout, course: c, k: (k + 1) % layout.nsec[c] };
                out.push(RosterRow {
                    section: sec.id(),
                    trial: sec.trial(),
                    start,
                    end: Some(BREAK_START),
                    active_at,
                });
                out.push(RosterRow {
                    section: later.id(),
                    trial: later.trial(),
                    start: Some(BREAK_END),
                    end,
                    active_at,
                });
            } else {
                out.push(RosterRow { section: sec.id(), trial: sec.trial(), start, end, active_at });
            }
            if let Some((trial, first)) = layout.draft
                && let Some(j) = DRAFT_COPIES.iter().position(|&(dc, dk)| dc == c && dk == k)
            {
                out.push(RosterRow {
                    section: first + j as u32,
                    trial,
                    start: None,
                    end: None,
                    active_at: None,
                });
            }
        }
    }
    out
}

pub(crate) fn write_rosters(plan: &Plan, w: &mut Sql, exp: &mut Expected) -> io::Result<()> {
    let d = &plan.d;
    w.start(Some(&T_ROSTER))?;
    let mut id = 60_001u32;
    for i in 0..d.n {
        let st = student(d, i);
        let enrs = enrollments(d, &st);
        let pid = plan.student_pid(i);
        let rows = roster_rows(plan, &st, &enrs);
        let user = oneroster_user(d, &st, &enrs);
        let mut now = Vec::new();
        for row in &rows {
            let modified = match row.start {
                Some(start) if start >= BREAK_END => start,
                _ => Date::ymd(2025, 8, 15),
            };
            w.row()
                .int(id)
                .int(pid)
                .int(row.section)
                .int(row.trial)
                .opt_date(row.start)
                .opt_date(row.end)
                .stamp(modified, 6 * 60 + id % 60)
                .end()?;
            id += 1;
            if let Some(school) = row.active_at {
                let enrolled = enrs.iter().any(|e| {
                    e.year == ACTIVE && e.place == Place::Regular && e.school == school && e.counts()
                });
                if user && enrolled && not_ended(row.end) {
                    now.push(row.section);
                }
            }
        }
        now.sort_unstable();
        now.dedup();
        exp.student_enrollments += now.len() as u64;
        // Clever takes a section only with a teacher (and then a student): enrollments in
        // sections without a teacher user are not sent.
        for section in now.iter().filter(|s| exp.taught_sections.contains(s)) {
            exp.clever_enrollments += 1;
            exp.clever_sections.insert(*section);
        }
    }
    Ok(())
}

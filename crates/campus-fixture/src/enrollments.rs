//! Enrollments: a student's enrollments over the three years, and which ones count.

use crate::*;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    Regular,
    /// The scheduling sandbox calendar (Calendar.exclude = 1).
    Sandbox,
    /// The summer-school calendar (Calendar.summerSchool = 1).
    Summer,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum RosterSpec {
    /// The whole schedule of the grade.
    Full,
    /// Section 1 of this course.
    One(usize),
    Nothing,
}

#[derive(Clone, Copy)]
pub(crate) struct Enr {
    pub(crate) year: usize,
    pub(crate) school: usize,
    pub(crate) place: Place,
    pub(crate) grade: i8,
    pub(crate) primary: bool,
    pub(crate) start: Date,
    pub(crate) end: Option<Date>,
    pub(crate) start_status: &'static str,
    pub(crate) end_status: Option<&'static str>,
    pub(crate) no_show: Option<u8>,
    pub(crate) state_exclude: Option<u8>,
    /// The school of the pre-enrollment for the next year (Enrollment.nextCalendar).
    pub(crate) next: Option<usize>,
    pub(crate) roster: RosterSpec,
}

impl Enr {
    /// Current on the as-of date and not noShow / stateExclude (NULL counts as 0).
    pub(crate) fn counts(&self) -> bool {
        self.no_show != Some(1) && self.state_exclude != Some(1) && current(Some(self.start), self.end)
    }
}

/// Course index (middle-high catalogue) of the English course of a grade, Concert Band and
/// Computer Science Principles.
pub(crate) fn english(grade: i8) -> usize {
    (grade as usize - 6) * 4
}
pub(crate) const BAND: usize = 28 + 3;
pub(crate) const CSP: usize = 28 + 6;

pub(crate) fn enrollments(d: &Dims, st: &Student) -> Vec<Enr> {
    let g = st.grade;
    let base = |year: usize, school: usize, grade: i8| Enr {
        year,
        school,
        place: Place::Regular,
        grade,
        primary: true,
        start: YEAR_START[year],
        end: None,
        start_status: "E1",
        end_status: None,
        no_show: Some(0),
        state_exclude: Some(0),
        next: None,
        roster: RosterSpec::Full,
    };
    let last_year = |school: usize, grade: i8, next: Option<usize>| Enr {
        end: Some(YEAR_END[0]),
        end_status: Some("S1"),
        next,
        ..base(0, school, grade)
    };
    let mut out = Vec::with_capacity(5);
    match st.kind {
        Kind::ExcludedSchool | Kind::SecondaryOnly => {
            out.push(last_year(d.online(), g - 1, Some(d.online())));
            out.push(base(ACTIVE, d.online(), g));
            if st.kind == Kind::SecondaryOnly {
                let here = d.high(st.high);
                out.push(Enr { primary: false, roster: RosterSpec::One(CSP), ..base(ACTIVE, here, g) });
            }
            return out;
        }
        Kind::ExcludedCalendar => {
            let here = d.high(st.high);
            out.push(Enr { place: Place::Sandbox, roster: RosterSpec::Nothing, ..base(ACTIVE, here, g) });
            return out;
        }
        Kind::LeftNeverClosed => {
            out.push(base(0, d.high(st.high), 12));
            return out;
        }
        Kind::NextYearOnly => {
            out.push(base(2, d.elem(st.elem), 0));
            return out;
        }
        _ => {}
    }
    let here = d.school_for(st, g);
    let new = matches!(st.kind, Kind::LateStartBefore | Kind::LateStartAfter | Kind::StartsOnAsOf);
    if g >= 1 && !new {
        out.push(last_year(d.school_for(st, g - 1), g - 1, Some(here)));
    }
    let other = if g <= 5 { d.elem((st.elem + 1) % d.n_elem) } else { d.high((st.high + 1) % d.n_high) };
    let goes_on = g < 12
        && !matches!(st.kind, Kind::NoShow | Kind::WithdrawnBefore | Kind::WithdrawnAfter | Kind::EndsOnAsOf);
    // Next year: the same school, except after grade 5 (the student's middle-high school).
    let next = |from: usize| goes_on.then(|| if g == 5 { d.school_for(st, g + 1) } else { from });
    let plain = base(ACTIVE, here, g);
    let cur = if st.null_flags { Enr { no_show: None, state_exclude: None, ..plain } } else { plain };
    match st.kind {
        Kind::NoShow => out.push(Enr { no_show: Some(1), ..cur }),
        Kind::StateExclude => out.push(Enr { state_exclude: Some(1), next: next(here), ..cur }),
        Kind::WithdrawnBefore | Kind::WithdrawnAfter | Kind::EndsOnAsOf => {
            let status = if st.kind == Kind::WithdrawnBefore { "W2" } else { "W1" };
            out.push(Enr { end: Some(st.a), end_status: Some(status), ..cur });
        }
        Kind::LateStartBefore | Kind::LateStartAfter | Kind::StartsOnAsOf => {
            out.push(Enr { start: st.a, start_status: "E2", next: next(here), ..cur });
        }
        Kind::ReEntry => {
            out.push(Enr { end: Some(st.a), end_status: Some("W1"), ..cur });
            out.push(Enr { start: st.b, start_status: "R1", next: next(here), ..cur });
        }
        Kind::TransferBefore | Kind::TransferAfter => {
            out.push(Enr { end: Some(st.a), end_status: Some("T1"), ..cur });
            out.push(Enr { school: other, start: st.b, start_status: "E2", next: next(other), ..cur });
        }
        _ => out.push(Enr { next: next(here), ..cur }),
    }
    match st.kind {
        Kind::SecondaryHere => out.push(Enr {
            school: d.high((st.high + 1) % d.n_high),
            primary: false,
            start: SECONDARY_START,
            roster: RosterSpec::One(BAND),
            ..plain
        }),
        Kind::SecondaryExcluded => {
            out.push(Enr { school: d.online(), primary: false, roster: RosterSpec::One(english(g)), ..plain })
        }
        Kind::SummerSchool => out.push(Enr {
            place: Place::Summer,
            primary: false,
            start: SUMMER.0,
            end: Some(SUMMER.1),
            end_status: Some("S1"),
            roster: RosterSpec::Nothing,
            ..plain
        }),
        _ => {}
    }
    if let Some(school) = out.iter().rev().find_map(|e| if e.year == ACTIVE { e.next } else { None }) {
        out.push(base(2, school, g + 1));
    }
    out
}

/// In an included calendar of the active year (the school is not the excluded one).
pub(crate) fn included(d: &Dims, e: &Enr) -> bool {
    e.year == ACTIVE && e.place == Place::Regular && e.school != d.online()
}

/// Row of students.sql: a primary enrollment in an included calendar, current on the as-of
/// date, not noShow / stateExclude.
pub(crate) fn primary_active(d: &Dims, enrs: &[Enr]) -> bool {
    enrs.iter().any(|e| included(d, e) && e.primary && e.counts())
}

/// A OneRoster student (users.sql, people = "campus-accounts"): the same, with an enabled
/// account of their own. With people = "everyone", primary_active alone.
pub(crate) fn oneroster_user(d: &Dims, st: &Student, enrs: &[Enr]) -> bool {
    primary_active(d, enrs) && st.account.enabled()
}

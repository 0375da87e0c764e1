//! Deterministic generator of a realistic, Campus-like school district of any size, for load
//! tests and end-to-end tests of sis-extract, and for its demo (the `campus-fixture` binary).
//!
//! It fills the fixture schema ([`SCHEMA`], schema.sql beside this crate: real Infinite Campus table
//! and column names) with a district of `students` students and, in proportion, schools (about
//! 500 students each), staff (about one teacher per 20 students), courses, sections (about six
//! per student), guardians and three school years, and writes next to the SQL a JSON summary of
//! what a correct extract as of 2026-01-15 must contain, computed from what was generated.
//!
//! Design (a port of the one-off Python generator that first produced the demo data):
//! * Deterministic: every value derives from (seed, kind of thing, index) through SplitMix64,
//!   so the same options give byte-identical output and nothing depends on memory layout.
//! * Streaming: rows are written table by table as multi-row INSERTs of at most 500 rows, all in
//!   one BEGIN/COMMIT (SQLite and PostgreSQL both accept that). A student's data is recomputed
//!   from its index whenever a table needs it; what stays in memory is a plan of schools,
//!   calendars and section counts, plus the ids the summary needs (guardians, staff).
//! * The first 67 students are a hand-made showcase: the demo's students and their traps
//!   (O'Brien siblings sharing guardians, Zoë Müller's older identity, a no-show, a re-entry,
//!   ...), plus a few more. The others are drawn at random; about 10% of them carry a trap of
//!   the same kinds. Schools, staff and sections have rule-based traps (co-teachers, a teacher
//!   replaced mid-year, draft trials, an inactive course, ...). With at least 67 students every
//!   trap is present.
//! * Every text value is checked against its varchar(n) while it is written (PostgreSQL
//!   enforces the lengths); a value that does not fit is an error, never truncated.
//!
//! District layout: district 1; `n_elem` elementary schools (K-5) and `n_high` middle-high
//! schools (6-12), at least two of each, then one online school with School.exclude = 1.
//! School years 2025 (previous), 2026 (active: 2025-08-20 to 2026-06-05) and 2027 (next:
//! calendars, pre-enrollments and schedules already built).
//!
//! Not part of the shipped tool: a `publish = false` member of the workspace, used by the
//! tests as a library and by scripts/demo through its binary (`cargo run -p campus-fixture`).
//! The modules follow the generation's own stages: the fixed facts (constants), dates and
//! random numbers, names, students and their enrollments, the course catalogue, the plan of
//! the district, the expected summary, and the SQL writer with the tables it fills.

mod constants;
mod courses;
mod date;
mod district;
mod enrollments;
mod expected;
mod names;
mod people;
mod plan;
mod rng;
mod schedules;
mod sql;
mod students;
mod tables;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::io::{self, Write};

// One namespace, as in the single file the modules were split from: each module starts
// with `use crate::*` and sees the others' pub(crate) items. The split is by concept, for
// reading; nothing outside the crate sees more than `generate`, `Options` and `SCHEMA`.
use constants::*;
use courses::*;
use date::*;
use district::*;
use enrollments::*;
use expected::*;
use names::*;
use people::*;
use plan::*;
use rng::*;
use schedules::*;
use sql::*;
use students::*;
use tables::*;

/// The fixture schema the generated INSERTs load into (CREATE TABLE statements for SQLite 3
/// and PostgreSQL): load it first, then the output of [`generate`].
pub const SCHEMA: &str = include_str!("../schema.sql");

/// What to generate.
pub struct Options {
    /// Number of student persons, the trap students that a correct extract leaves out included.
    pub students: u64,
    /// Seed of every random choice.
    pub seed: u64,
}

/// Writes INSERT statements for the fixture schema to `sql`, and a JSON summary of what a
/// correct extract must contain to `expected`.
pub fn generate(options: &Options, sql: &mut dyn Write, expected: &mut dyn Write) -> io::Result<()> {
    let n = u32::try_from(options.students).ok().filter(|&n| n <= MAX_STUDENTS).ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, format!("at most {MAX_STUDENTS} students"))
    })?;
    let plan = Plan::new(options.seed, n);
    let mut exp = Expected::new(&plan);
    let mut w = Sql::new(sql);
    write_header(&plan, &mut w);
    w.raw("BEGIN;\n");
    write_district(&plan, &mut w, &mut exp)?;
    write_calendars(&plan, &mut w)?;
    write_people(&plan, &mut w, &mut exp)?;
    write_related_pairs(&plan, &mut w, &mut exp)?;
    write_employment(&plan, &mut w, &mut exp)?;
    write_enrollments(&plan, &mut w, &mut exp)?;
    write_schedule_frame(&plan, &mut w, &mut exp)?;
    write_courses_and_sections(&plan, &mut w, &mut exp)?;
    write_rosters(&plan, &mut w, &mut exp)?;
    w.start(None)?;
    w.raw("\nCOMMIT;\n");
    w.flush()?;
    write_json(&plan, exp.finish(&plan), expected)
}

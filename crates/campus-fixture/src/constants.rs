//! The fixed facts of the district: its dates, sizes and random streams.

use crate::*;

/// The date the data is designed to be extracted as of.
pub(crate) const AS_OF: Date = Date::ymd(2026, 1, 15);
/// SchoolYear.endYear of the three years present; index ACTIVE is SchoolYear.active = 1.
pub(crate) const YEARS: [i32; 3] = [2025, 2026, 2027];
pub(crate) const ACTIVE: usize = 1;
pub(crate) const YEAR_START: [Date; 3] =
    [Date::ymd(2024, 8, 21), Date::ymd(2025, 8, 20), Date::ymd(2026, 8, 19)];
pub(crate) const YEAR_END: [Date; 3] = [Date::ymd(2025, 6, 6), Date::ymd(2026, 6, 5), Date::ymd(2027, 6, 4)];
pub(crate) const SUMMER: (Date, Date) = (Date::ymd(2026, 6, 15), Date::ymd(2026, 7, 24));
/// Start of the secondary (partial) enrollments at another school.
pub(crate) const SECONDARY_START: Date = Date::ymd(2025, 9, 2);
/// Last day before the winter break, and first day after it (schedule changes, new staff).
pub(crate) const BREAK_START: Date = Date::ymd(2025, 12, 19);
pub(crate) const BREAK_END: Date = Date::ymd(2026, 1, 5);
/// Start of staff hired for later in the year, and of guardian links not yet in force.
pub(crate) const LATER_HIRE: Date = Date::ymd(2026, 2, 1);
pub(crate) const LATER_LINK: Date = Date::ymd(2026, 3, 1);

pub(crate) const DISTRICT_ID: u32 = 1;
pub(crate) const DOMAIN: &str = "maplevalley.example.org";
/// Rows per INSERT statement.
pub(crate) const CHUNK: usize = 500;
/// Entries kept in each list of the JSON summary (its total is always given).
pub(crate) const LIST_LIMIT: usize = 1000;
/// Keeps every id below 2^31 (PostgreSQL integer).
pub(crate) const MAX_STUDENTS: u32 = 50_000_000;
pub(crate) const STUDENTS_PER_SCHOOL: u64 = 500;
pub(crate) const ELEM_CLASS: u32 = 22;
pub(crate) const HIGH_CLASS: u32 = 25;
/// Sections taught by one teacher.
pub(crate) const ELEM_LOAD: u32 = 6;
pub(crate) const HIGH_LOAD: u32 = 5;
pub(crate) const FIRST_PERSON: u32 = 10_001;

/// Streams of the random generator, one per kind of thing.
pub(crate) const ST_STUDENT: u64 = 1;
pub(crate) const ST_NAME: u64 = 2;
pub(crate) const ST_FAMILY: u64 = 3;
pub(crate) const ST_BLOCK: u64 = 4;
pub(crate) const ST_SCHEDULE: u64 = 5;
pub(crate) const ST_STAFF: u64 = 6;
pub(crate) const ST_GUARDIAN: u64 = 7;
pub(crate) const ST_SECTION: u64 = 8;
pub(crate) const ST_ROSTER: u64 = 9;
pub(crate) const ST_CONTACT: u64 = 10;
pub(crate) const ST_GUID_PERSON: u64 = 11;
pub(crate) const ST_GUID_IDENTITY: u64 = 12;
pub(crate) const ST_GUID_SCHOOL: u64 = 13;
pub(crate) const ST_ACCOUNT: u64 = 14;

/// UserAccount.homepage of parent-portal and student-portal accounts, as Campus stores it
/// (staff accounts have none here).
pub(crate) const PARENT_HOME: &str = "nav-wrapper/parent/portal/parent";
pub(crate) const STUDENT_HOME: &str = "nav-wrapper/student/portal/student";

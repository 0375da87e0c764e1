//! The course catalogue: courses per level, school year and online school.

use crate::*;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    Elem,
    High,
}

/// Courses per calendar: 36 grade courses (6 per grade K-5, or 4 core per grade 6-12 plus 8
/// electives), plus in the active year an empty course (and, middle-high, an inactive one).
pub(crate) const BASE_COURSES: usize = 36;
pub(crate) const ELEM_SUBJECTS: [(&str, &str, &str, u32); 6] = [
    ("HR", "Homeroom", "", 10),
    ("ELA", "Reading & Writing", "51001", 40),
    ("MATH", "Math", "52001", 30),
    ("MUS", "General Music", "55001", 20),
    ("ART", "Art", "55101", 20),
    ("PE", "Physical Education", "58001", 80),
];
pub(crate) const HIGH_CORE: [(&str, &str, u32, [&str; 7]); 4] = [
    (
        "ENG",
        "01001",
        40,
        [
            "English 6",
            "English 7",
            "English 8",
            "English 9, Honors",
            "English 10",
            "English 11: American Literature",
            "English 12: World Literature",
        ],
    ),
    (
        "MATH",
        "02052",
        30,
        ["Math 6", "Math 7", "Math 6–8 Accelerated", "Algebra I", "Geometry", "Algebra II", "Pre-Calculus"],
    ),
    (
        "SCI",
        "03051",
        50,
        [
            "Science 6",
            "Life Science",
            "Physical Science",
            "Biology",
            "Chemistry",
            "Physics",
            "Environmental Science",
        ],
    ),
    (
        "SOC",
        "04101",
        60,
        [
            "World Geography",
            "World History I",
            "U.S. History to 1877",
            "Civics & Economics",
            "World History II",
            "U.S. History",
            "Government",
        ],
    ),
];
pub(crate) const ELECTIVES: [(&str, &str, &str, u32); 8] = [
    ("SPAN1", "Español I", "06101", 70),
    ("FREN1", "Français I", "06201", 70),
    ("CHIN1", "中文 I (Mandarin)", "06501", 70),
    ("BAND", "Concert Band", "05101", 20),
    ("ART1", "Art & Design", "05154", 20),
    ("PE", "Physical Education", "08001", 80),
    ("CSP", "Computer Science Principles", "10019", 90),
    ("HLTH", "Health", "08051", 80),
];
/// Sections copied into the draft trial: ENG09 and SCI09, section 1.
pub(crate) const DRAFT_COPIES: [(usize, u32); 2] = [(12, 0), (14, 0)];
/// The inactive course (middle-high, active year).
pub(crate) const LATIN: usize = 37;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Terms {
    All,
    FirstHalf,
    SecondHalf,
}

pub(crate) struct CourseDef {
    pub(crate) number: Cow<'static, str>,
    pub(crate) name: Cow<'static, str>,
    pub(crate) active: bool,
    pub(crate) state_code: Option<&'static str>,
    pub(crate) homeroom: bool,
    pub(crate) dept: u32,
    /// Has a teacher (the empty course has none).
    pub(crate) taught: bool,
    /// Meets in two consecutive periods.
    pub(crate) double: bool,
    pub(crate) terms: Terms,
}

pub(crate) fn grade_code(g: i8) -> Cow<'static, str> {
    if g == 0 { Cow::Borrowed("K") } else { Cow::Owned(g.to_string()) }
}

pub(crate) fn state_grade(g: i8) -> String {
    if g == 0 { "KG".to_string() } else { format!("{g:02}") }
}

pub(crate) fn course_count(level: Level, online: bool, year: usize) -> usize {
    match (level, year == ACTIVE && !online) {
        (_, false) => BASE_COURSES,
        (Level::Elem, true) => BASE_COURSES + 1,
        (Level::High, true) => BASE_COURSES + 2,
    }
}

pub(crate) fn course_def(level: Level, c: usize) -> CourseDef {
    let def = |number: Cow<'static, str>, name: Cow<'static, str>, code: &'static str, dept: u32| CourseDef {
        number,
        name,
        active: true,
        state_code: (!code.is_empty()).then_some(code),
        homeroom: false,
        dept,
        taught: true,
        double: false,
        terms: Terms::All,
    };
    match (level, c) {
        (Level::Elem, 0..BASE_COURSES) => {
            let g = (c / 6) as i8;
            let (number, name, code, dept) = ELEM_SUBJECTS[c % 6];
            let gc = grade_code(g);
            CourseDef {
                homeroom: c.is_multiple_of(6),
                ..def(format!("{number}-{gc}").into(), format!("{name} {gc}").into(), code, dept)
            }
        }
        (Level::Elem, _) => CourseDef { taught: false, ..def("LIB".into(), "Library Skills".into(), "", 10) },
        (Level::High, 0..28) => {
            let (number, code, dept, names) = HIGH_CORE[c % 4];
            def(format!("{number}{:02}", 6 + c / 4).into(), names[c / 4].into(), code, dept)
        }
        (Level::High, c) if c < BASE_COURSES => {
            let e = c - 28;
            let (number, name, code, dept) = ELECTIVES[e];
            CourseDef {
                double: number == "BAND",
                terms: match number {
                    "HLTH" => Terms::FirstHalf,
                    "PE" => Terms::SecondHalf,
                    _ => Terms::All,
                },
                ..def(number.into(), name.into(), code, dept)
            }
        }
        (Level::High, LATIN) => {
            CourseDef { active: false, ..def("LAT1".into(), "Latin I".into(), "06301", 70) }
        }
        (Level::High, _) => CourseDef { taught: false, ..def("STUDY".into(), "Study Hall".into(), "", 10) },
    }
}

/// Two distinct electives, drawn first from the student's schedule stream of the year.
pub(crate) fn electives(r: &mut Rng) -> (usize, usize) {
    let e1 = r.below(8) as usize;
    let e2 = (e1 + 1 + r.below(7) as usize) % 8;
    (e1, e2)
}

pub(crate) fn schedule_rng(d: &Dims, i: u32, year: usize) -> Rng {
    Rng::new(d.seed, ST_SCHEDULE, u64::from(i) * 4 + year as u64)
}

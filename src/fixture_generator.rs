//! Deterministic generator of a realistic, Campus-like school district of any size, for load
//! tests and end-to-end tests of the extract (the hidden dev subcommand `generate-fixture`).
//!
//! It fills the fixture schema (tests/fixtures/campus/schema.sql, real Infinite Campus table
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

use std::borrow::Cow;
use std::io::{self, Write};

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

// ------------------------------------------------------------------------------------------
// Constants

/// The date the data is designed to be extracted as of.
const AS_OF: Date = Date::ymd(2026, 1, 15);
/// SchoolYear.endYear of the three years present; index ACTIVE is SchoolYear.active = 1.
const YEARS: [i32; 3] = [2025, 2026, 2027];
const ACTIVE: usize = 1;
const YEAR_START: [Date; 3] = [Date::ymd(2024, 8, 21), Date::ymd(2025, 8, 20), Date::ymd(2026, 8, 19)];
const YEAR_END: [Date; 3] = [Date::ymd(2025, 6, 6), Date::ymd(2026, 6, 5), Date::ymd(2027, 6, 4)];
const SUMMER: (Date, Date) = (Date::ymd(2026, 6, 15), Date::ymd(2026, 7, 24));
/// Start of the secondary (partial) enrollments at another school.
const SECONDARY_START: Date = Date::ymd(2025, 9, 2);
/// Last day before the winter break, and first day after it (schedule changes, new staff).
const BREAK_START: Date = Date::ymd(2025, 12, 19);
const BREAK_END: Date = Date::ymd(2026, 1, 5);
/// Start of staff hired for later in the year, and of guardian links not yet in force.
const LATER_HIRE: Date = Date::ymd(2026, 2, 1);
const LATER_LINK: Date = Date::ymd(2026, 3, 1);

const DISTRICT_ID: u32 = 1;
const DOMAIN: &str = "maplevalley.example.org";
/// Rows per INSERT statement.
const CHUNK: usize = 500;
/// Entries kept in each list of the JSON summary (its total is always given).
const LIST_LIMIT: usize = 1000;
/// Keeps every id below 2^31 (PostgreSQL integer).
const MAX_STUDENTS: u32 = 50_000_000;
const STUDENTS_PER_SCHOOL: u64 = 500;
const ELEM_CLASS: u32 = 22;
const HIGH_CLASS: u32 = 25;
/// Sections taught by one teacher.
const ELEM_LOAD: u32 = 6;
const HIGH_LOAD: u32 = 5;
const FIRST_PERSON: u32 = 10_001;

/// Streams of the random generator, one per kind of thing.
const ST_STUDENT: u64 = 1;
const ST_NAME: u64 = 2;
const ST_FAMILY: u64 = 3;
const ST_BLOCK: u64 = 4;
const ST_SCHEDULE: u64 = 5;
const ST_STAFF: u64 = 6;
const ST_GUARDIAN: u64 = 7;
const ST_SECTION: u64 = 8;
const ST_ROSTER: u64 = 9;
const ST_CONTACT: u64 = 10;
const ST_GUID_PERSON: u64 = 11;
const ST_GUID_IDENTITY: u64 = 12;
const ST_GUID_SCHOOL: u64 = 13;

// ------------------------------------------------------------------------------------------
// Dates and random numbers

/// A calendar date, as days since 1970-01-01.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
struct Date(i32);

impl Date {
    /// Days from a civil date (H. Hinnant's algorithm).
    const fn ymd(y: i32, m: i32, d: i32) -> Date {
        let y = if m <= 2 { y - 1 } else { y };
        let era = if y >= 0 { y } else { y - 399 } / 400;
        let yoe = y - era * 400;
        let mp = if m > 2 { m - 3 } else { m + 9 };
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Date(era * 146_097 + doe - 719_468)
    }

    fn parts(self) -> (i32, i32, i32) {
        let z = self.0 + 719_468;
        let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        (yoe + era * 400 + i32::from(m <= 2), m, d)
    }

    fn plus(self, days: i32) -> Date {
        Date(self.0 + days)
    }

    fn iso(self) -> String {
        let (y, m, d) = self.parts();
        format!("{y:04}-{m:02}-{d:02}")
    }
}

/// Whether a [start, end] window (None = open) contains the as-of date.
fn current(start: Option<Date>, end: Option<Date>) -> bool {
    start.is_none_or(|s| s <= AS_OF) && end.is_none_or(|e| e >= AS_OF)
}

const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// The SplitMix64 finaliser: a bijection of u64 with good avalanche.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// SplitMix64, started from (seed, stream, index): one independent sequence per thing.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64, index: u64) -> Rng {
        Rng(mix64(mix64(seed ^ mix64(stream.wrapping_mul(GOLDEN))) ^ index))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix64(self.0)
    }

    /// Uniform in 0..n (0 when n is 0).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    fn below32(&mut self, n: u32) -> u32 {
        self.below(u64::from(n)) as u32
    }

    fn per_mille(&mut self, p: u64) -> bool {
        self.below(1000) < p
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// A date in [from, to].
    fn date(&mut self, from: Date, to: Date) -> Date {
        Date(from.0 + self.below((to.0 - from.0 + 1) as u64) as i32)
    }
}

/// A version-4-shaped GUID, 36 lower-case characters, derived from (seed, stream, id).
fn guid(seed: u64, stream: u64, id: u32) -> String {
    let mut r = Rng::new(seed, stream, u64::from(id));
    let hi = (r.next() & !0xf000) | 0x4000;
    let lo = (r.next() & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xffff,
        lo >> 48,
        lo & 0xffff_ffff_ffff
    )
}

// ------------------------------------------------------------------------------------------
// Names

struct Culture {
    weight: u64,
    /// Identity.homePrimaryLanguage (ISO 639-2) and Contact.communicationLanguage.
    lang: &'static str,
    language: &'static str,
    /// Federal race code (1 Hispanic, 3 Asian, 4 Black, 6 White).
    race: u8,
    /// Per mille of students born abroad, and where.
    abroad: u64,
    country: &'static str,
    /// Family names take -а for women (Russian).
    gendered: bool,
    female: &'static [&'static str],
    male: &'static [&'static str],
    last: &'static [&'static str],
}

const EN: usize = 0;
const IE: usize = 1;
const ES: usize = 2;
const VI: usize = 3;
const ZH: usize = 4;
const RU: usize = 5;
const FR: usize = 6;
const DE: usize = 7;
const WA: usize = 8;
const AA: usize = 9;
const IN: usize = 10;
const AR: usize = 11;
const JP: usize = 12;

const fn culture(
    weight: u64,
    (lang, language): (&'static str, &'static str),
    race: u8,
    (abroad, country): (u64, &'static str),
    female: &'static [&'static str],
    male: &'static [&'static str],
    last: &'static [&'static str],
) -> Culture {
    Culture { weight, lang, language, race, abroad, country, gendered: false, female, male, last }
}

static CULTURES: [Culture; 13] = [
    culture(
        45,
        ("eng", "English"),
        6,
        (5, "CA"),
        &[
            "Emma",
            "Olivia",
            "Ava",
            "Sophia",
            "Isabella",
            "Mia",
            "Charlotte",
            "Amelia",
            "Harper",
            "Evelyn",
            "Abigail",
            "Emily",
            "Ella",
            "Elizabeth",
            "Avery",
            "Scarlett",
            "Grace",
            "Chloe",
            "Victoria",
            "Riley",
            "Mary-Kate",
            "Zoë",
            "Renée",
            "Nora",
            "Hazel",
            "Lily",
        ],
        &[
            "Liam",
            "Noah",
            "Oliver",
            "Elijah",
            "James",
            "William",
            "Benjamin",
            "Lucas",
            "Henry",
            "Alexander",
            "Mason",
            "Michael",
            "Ethan",
            "Daniel",
            "Jacob",
            "Logan",
            "Jackson",
            "Levi",
            "Jack",
            "Owen",
            "Wyatt",
            "Caleb",
            "Isaac",
            "Ryan",
            "Jean-Luc",
            "Gabriel",
        ],
        &[
            "Smith",
            "Johnson",
            "Williams",
            "Brown",
            "Jones",
            "Miller",
            "Davis",
            "Wilson",
            "Anderson",
            "Taylor",
            "Thomas",
            "Moore",
            "Martin",
            "Thompson",
            "White",
            "Harris",
            "Clark",
            "Lewis",
            "Walker",
            "Young",
            "Allen",
            "King",
            "Wright",
            "Scott",
            "Hill",
            "Green",
            "Adams",
            "Baker",
            "Nelson",
            "Carter",
            "Mitchell",
            "Roberts",
            "Turner",
            "Phillips",
            "Campbell",
            "Parker",
            "Evans",
            "Edwards",
            "Collins",
            "Stewart",
            "Morris",
            "Rogers",
            "Reed",
            "Cook",
            "Morgan",
            "Bell",
            "Murphy",
            "Bailey",
            "Cooper",
            "Cox",
            "Howard",
            "Ward",
            "Adams-Baker",
            "Smith-Jones",
            "St. John",
            "van der Berg",
            "McAllister",
        ],
    ),
    culture(
        5,
        ("eng", "English"),
        6,
        (30, "IE"),
        &["Siobhán", "Saoirse", "Aoife", "Niamh", "Caoimhe", "Maeve", "Róisín"],
        &["Seán", "Pádraig", "Ciarán", "Eoin", "Cillian", "Darragh"],
        &["O'Brien", "O'Malley", "O'Sullivan", "O'Connor", "Ó Briain", "McCarthy", "Kelly", "D'Arcy"],
    ),
    culture(
        16,
        ("spa", "Spanish"),
        1,
        (150, "MX"),
        &["Sofía", "María José", "Camila", "Valentina", "Lucía", "Ximena", "Guadalupe", "Renata"],
        &["José", "Mateo", "Santiago", "Nicolás", "Sebastián", "Diego", "Tomás", "Juan Carlos"],
        &[
            "García",
            "Hernández-López",
            "Martínez",
            "Rodríguez",
            "López",
            "González",
            "Pérez",
            "Sánchez",
            "Ramírez",
            "Núñez",
            "Fernández de la Cruz",
            "Peña",
            "Muñoz",
            "Ortiz",
            "Reyes",
            "Ibáñez",
        ],
    ),
    culture(
        3,
        ("vie", "Vietnamese"),
        3,
        (200, "VN"),
        &["Thảo", "Linh", "Ngọc Anh", "Phương", "Hương"],
        &["Bảo", "Minh", "Đức", "Khoa", "Huy"],
        &["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Võ", "Đặng"],
    ),
    culture(
        3,
        ("chi", "Chinese"),
        3,
        (300, "CN"),
        &["丽", "静", "婷", "雪梅", "欣怡"],
        &["伟", "小明", "浩然", "子轩", "俊杰"],
        &["王", "李", "张", "刘", "陈", "欧阳"],
    ),
    Culture {
        gendered: true,
        ..culture(
            2,
            ("rus", "Russian"),
            6,
            (300, "RU"),
            &["Анна", "Ольга", "Наталья", "Екатерина", "Мария"],
            &["Дмитрий", "Алексей", "Иван", "Сергей", "Михаил"],
            &["Иванов", "Смирнов", "Кузнецов", "Попов", "Соколов", "Лебедев", "Новиков"],
        )
    },
    culture(
        2,
        ("fre", "French"),
        6,
        (100, "FR"),
        &["Léa", "Chloé", "Manon", "Élodie", "Camille", "Inès"],
        &["Théo", "Hugo", "Noé", "François", "Émile", "Jérôme"],
        &["Dubois", "Lefèvre", "Marchand", "Girard", "Bonnet", "Faure", "Mercier", "Lemaître"],
    ),
    culture(
        2,
        ("ger", "German"),
        6,
        (80, "DE"),
        &["Katharina", "Jördis", "Lena", "Anneliese", "Zoë"],
        &["Jürgen", "Björn", "Lukas", "Jonas", "Günther"],
        &["Müller", "Schmidt", "Schäfer", "Groß", "Lindqvist", "Becker", "Fischer", "Weiß"],
    ),
    culture(
        3,
        ("eng", "English"),
        4,
        (200, "NG"),
        &["Ngozi", "Amara", "Chiamaka", "Adaeze", "Folake"],
        &["Chinedu", "Emeka", "Oluwaseun", "Kwame", "Tobenna"],
        &["Okafor", "Nwosu", "Adeyemi", "Okonkwo", "Mensah", "Adébáyọ̀"],
    ),
    culture(
        10,
        ("eng", "English"),
        4,
        (0, "US"),
        &["Aaliyah", "Keisha", "Imani", "Destiny", "Jasmine"],
        &["Jaylen", "DeShawn", "Malik", "Darius", "Andre"],
        &["Washington", "Jefferson", "Robinson", "Jackson", "Harris", "Johnson", "Coleman"],
    ),
    culture(
        4,
        ("hin", "Hindi"),
        3,
        (250, "IN"),
        &["Priya", "Ananya", "Diya", "Aadhya", "Saanvi"],
        &["Aarav", "Vihaan", "Arjun", "Rohan", "Krishna"],
        &["Patel", "Sharma", "Raman", "Gupta", "Iyer", "Reddy"],
    ),
    culture(
        3,
        ("ara", "Arabic"),
        6,
        (300, "EG"),
        &["Fatima", "Layla", "Mariam", "Noor", "Yasmin"],
        &["Omar", "Yusuf", "Karim", "Ahmed", "Tariq"],
        &["Al-Sayed", "Haddad", "Khalil", "El-Amin", "Nasser"],
    ),
    culture(
        2,
        ("jpn", "Japanese"),
        3,
        (150, "JP"),
        &["Yuki", "Sakura", "Aiko", "Hana"],
        &["Haruto", "Ren", "Sota", "Yuto"],
        &["Tanaka", "Suzuki", "Takahashi", "Watanabe"],
    ),
];

fn pick_culture(r: &mut Rng) -> usize {
    let total: u64 = CULTURES.iter().map(|c| c.weight).sum();
    let mut x = r.below(total);
    for (i, c) in CULTURES.iter().enumerate() {
        if x < c.weight {
            return i;
        }
        x -= c.weight;
    }
    EN
}

/// The family name as a person of this gender carries it.
fn gendered_last(culture: usize, last: &'static str, gender: u8) -> Cow<'static, str> {
    if CULTURES[culture].gendered && gender == b'F' {
        Cow::Owned(format!("{last}а"))
    } else {
        Cow::Borrowed(last)
    }
}

/// Letters of `s` as ASCII for an e-mail or login: lower case, accents removed, other scripts
/// and punctuation dropped (hyphens kept).
fn slug(s: &str) -> String {
    const FOLD: [(&str, &str); 17] = [
        ("a", "àáâãäåāăąạảấầẩẫậắằẳẵặ"),
        ("ae", "æ"),
        ("c", "çćč"),
        ("d", "đď"),
        ("e", "èéêëēėęěẹẻẽếềểễệ"),
        ("g", "ğ"),
        ("i", "ìíîïīįịỉĩ"),
        ("l", "ł"),
        ("n", "ñńň"),
        ("o", "òóôõöøōőơọỏốồổỗộớờởỡợ"),
        ("oe", "œ"),
        ("r", "ř"),
        ("s", "śšș"),
        ("ss", "ß"),
        ("t", "ťț"),
        ("u", "ùúûüūůűųưụủứừửữự"),
        ("y", "ýÿỳỵỷỹ"),
    ];
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() || c == '-' {
            out.push(c);
        } else if let Some((to, _)) = FOLD.iter().find(|(_, from)| from.contains(c)) {
            out.push_str(to);
        }
    }
    out
}

// ------------------------------------------------------------------------------------------
// Students: kinds of trap and the showcase

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Normal,
    /// Enrollment.noShow = 1 (still has rosters): absent.
    NoShow,
    /// Enrollment.stateExclude = 1 (still has rosters): absent.
    StateExclude,
    /// Withdrew before the as-of date: absent.
    WithdrawnBefore,
    /// Withdraws after the as-of date: present.
    WithdrawnAfter,
    /// Enrollment endDate = the as-of date: present (last day counts).
    EndsOnAsOf,
    /// New to the district, starts on the as-of date: present.
    StartsOnAsOf,
    /// New to the district, started mid-year before the as-of date: present.
    LateStartBefore,
    /// New to the district, starts after the as-of date: absent.
    LateStartAfter,
    /// Withdrew and re-entered the same school before the as-of date: present once.
    ReEntry,
    /// Moved to another school of the district before the as-of date: present, at the new one.
    TransferBefore,
    /// Moves to another school after the as-of date: present, at the old one.
    TransferAfter,
    /// Extra secondary enrollment (serviceType 'S') at another included school: present once.
    SecondaryHere,
    /// Extra secondary enrollment at the excluded school: present once.
    SecondaryExcluded,
    /// Primary enrollment at the excluded school, secondary at an included one: not in
    /// students.sql (primary only), but a OneRoster student (any service type).
    SecondaryOnly,
    /// Extra enrollment in a summer-school calendar: present once.
    SummerSchool,
    /// Only at the excluded school: absent.
    ExcludedSchool,
    /// Only in an excluded calendar (Calendar.exclude = 1): absent.
    ExcludedCalendar,
    /// Left after last year with the enrollment never closed (endDate NULL): absent.
    LeftNeverClosed,
    /// Only pre-enrolled for next year (a kindergartner to be): absent.
    NextYearOnly,
}

/// Per-mille rates of the traps among generated (non-showcase) students.
const KIND_RATES: [(Kind, u64); 19] = [
    (Kind::NoShow, 5),
    (Kind::StateExclude, 5),
    (Kind::WithdrawnBefore, 10),
    (Kind::WithdrawnAfter, 10),
    (Kind::EndsOnAsOf, 1),
    (Kind::StartsOnAsOf, 1),
    (Kind::LateStartBefore, 5),
    (Kind::LateStartAfter, 5),
    (Kind::ReEntry, 5),
    (Kind::TransferBefore, 8),
    (Kind::TransferAfter, 5),
    (Kind::SecondaryHere, 5),
    (Kind::SecondaryExcluded, 3),
    (Kind::SecondaryOnly, 2),
    (Kind::SummerSchool, 10),
    (Kind::ExcludedSchool, 8),
    (Kind::ExcludedCalendar, 2),
    (Kind::LeftNeverClosed, 3),
    (Kind::NextYearOnly, 10),
];

/// How a showcase student's own e-mail is set.
#[derive(Clone, Copy, PartialEq, Eq)]
enum StudentEmail {
    /// The general rule: name-based for grades 3 and up, else none.
    Auto,
    /// A blank ('') e-mail, not NULL.
    Blank,
    /// A Contact row (with a phone) whose e-mail is NULL.
    NullRow,
    /// This local part.
    Local(&'static str),
}

/// How a guardian's e-mail is set.
#[derive(Clone, Copy, PartialEq, Eq)]
enum GuardianEmail {
    Auto,
    Given(&'static str),
    Blank,
    /// A Contact row whose e-mail is NULL.
    NullRow,
    /// No Contact row at all.
    NoRow,
}

#[derive(Clone, Copy)]
struct ShowGuardian {
    first: &'static str,
    last: &'static str,
    gender: u8,
    rel: &'static str,
    guardian: bool,
    seq: Option<u8>,
    start: Option<Date>,
    end: Option<Date>,
    email: GuardianEmail,
    language: &'static str,
    /// Portal login is the name, with a space, instead of the e-mail.
    spaced_login: bool,
    /// The staff member at slot (first middle-high school, teacher 0) instead of a new person.
    staff: bool,
}

const LINKED: Date = Date::ymd(2019, 8, 1);

const fn gd(first: &'static str, last: &'static str, gender: u8, rel: &'static str, seq: u8) -> ShowGuardian {
    ShowGuardian {
        first,
        last,
        gender,
        rel,
        guardian: true,
        seq: Some(seq),
        start: Some(LINKED),
        end: None,
        email: GuardianEmail::Auto,
        language: "English",
        spaced_login: false,
        staff: false,
    }
}

impl ShowGuardian {
    const fn email(mut self, email: GuardianEmail) -> Self {
        self.email = email;
        self
    }
    const fn language(mut self, language: &'static str) -> Self {
        self.language = language;
        self
    }
    const fn window(mut self, start: Option<Date>, end: Option<Date>) -> Self {
        self.start = start;
        self.end = end;
        self
    }
}

const F: u8 = b'F';
const M: u8 = b'M';

static G_OBRIEN: [ShowGuardian; 2] = [
    ShowGuardian { spaced_login: true, ..gd("Maeve", "O'Brien", F, "Mother", 1) }
        .email(GuardianEmail::Given("maeve.obrien@example.com")),
    gd("Patrick", "O'Brien", M, "Father", 2).email(GuardianEmail::NoRow),
];
static G_MULLER: [ShowGuardian; 2] = [
    gd("Katharina", "Müller", F, "Mother", 1).email(GuardianEmail::Given("katharina.mueller@example.com")),
    ShowGuardian { guardian: false, ..gd("Ingrid", "Schmidt", F, "Grandmother", 3) }
        .window(None, None)
        .email(GuardianEmail::NoRow),
];
static G_HERNANDEZ: [ShowGuardian; 1] =
    [gd("Rosa", "Hernández", F, "Mother", 1).email(GuardianEmail::Blank).language("Spanish")];
static G_NGUYEN: [ShowGuardian; 1] = [gd("Thanh", "Nguyễn", F, "Mother", 1)
    .email(GuardianEmail::Given("thanh.nguyen@example.com"))
    .language("Vietnamese")];
static G_WANG: [ShowGuardian; 2] = [
    gd("伟", "王", M, "Father", 1).email(GuardianEmail::Given("wei.wang@example.com")).language("Chinese"),
    gd("丽", "李", F, "Mother", 2).email(GuardianEmail::NoRow).language("Chinese"),
];
static G_FOSTER: [ShowGuardian; 2] = [
    gd("Dana", "Reed", F, "Foster Parent", 1)
        .window(Some(Date::ymd(2023, 2, 1)), Some(Date::ymd(2025, 9, 30)))
        .email(GuardianEmail::Given("dana.reed@example.com")),
    ShowGuardian { seq: None, ..gd("Carla", "Jackson", F, "Guardian", 1) }
        .window(Some(Date::ymd(2025, 10, 1)), None)
        .email(GuardianEmail::Given("carla.jackson@example.com")),
];
static G_IVANOVA: [ShowGuardian; 1] = [gd("Ольга", "Иванова", F, "Mother", 1)
    .email(GuardianEmail::Given("olga.ivanova@example.com"))
    .language("Russian")];
static G_WASHINGTON: [ShowGuardian; 1] =
    [gd("Marcus", "Washington, Sr.", M, "Father", 1)
        .email(GuardianEmail::Given("mwashington.sr@example.com"))];
static G_RAMIREZ: [ShowGuardian; 1] = [gd("María José", "Ramírez", F, "Mother", 1)
    .email(GuardianEmail::Given("mjramirez@example.com"))
    .language("Spanish")];
static G_BECKER: [ShowGuardian; 2] = [
    ShowGuardian { staff: true, ..gd("Thomas", "Becker", M, "Father", 1) },
    gd("Katrin", "Becker", F, "Mother", 2),
];
static G_DAMICO: [ShowGuardian; 1] =
    [gd("Giulia", "D'Amico", F, "Mother", 1).email(GuardianEmail::Given("giulia.damico@example.com"))];

/// A hand-made student of the showcase.
#[derive(Clone, Copy)]
struct Show {
    first: &'static str,
    middle: Option<&'static str>,
    last: &'static str,
    gender: u8,
    /// Grade in 2025-26: -1 = kindergarten next year, 13 = left after grade 12 last year.
    grade: i8,
    kind: Kind,
    culture: usize,
    race: Option<u8>,
    /// Same family as the student before.
    sibling: bool,
    prior_last: Option<&'static str>,
    abroad: Option<(&'static str, Date)>,
    a: Date,
    b: Date,
    email: StudentEmail,
    switch: bool,
    latin: bool,
    guardians: &'static [ShowGuardian],
}

const fn s(first: &'static str, last: &'static str, gender: u8, grade: i8) -> Show {
    Show {
        first,
        middle: None,
        last,
        gender,
        grade,
        kind: Kind::Normal,
        culture: EN,
        race: None,
        sibling: false,
        prior_last: None,
        abroad: None,
        a: AS_OF,
        b: AS_OF,
        email: StudentEmail::Auto,
        switch: false,
        latin: false,
        guardians: &[],
    }
}

impl Show {
    const fn mid(mut self, middle: &'static str) -> Self {
        self.middle = Some(middle);
        self
    }
    const fn of(mut self, culture: usize) -> Self {
        self.culture = culture;
        self
    }
    const fn race(mut self, race: u8) -> Self {
        self.race = Some(race);
        self
    }
    const fn is(mut self, kind: Kind, a: Date, b: Date) -> Self {
        self.kind = kind;
        self.a = a;
        self.b = b;
        self
    }
    const fn kind(self, kind: Kind) -> Self {
        self.is(kind, AS_OF, AS_OF)
    }
    const fn email(mut self, email: StudentEmail) -> Self {
        self.email = email;
        self
    }
    const fn guardians(mut self, guardians: &'static [ShowGuardian]) -> Self {
        self.guardians = guardians;
        self
    }
}

const fn ymd(y: i32, m: i32, day: i32) -> Date {
    Date::ymd(y, m, day)
}

/// The showcase: students 0.. of every district, at the first elementary school (grades
/// K-5) or the first middle-high school (6-12) unless their kind says otherwise.
static SHOW: [Show; SHOW_COUNT] = [
    s("Liam", "O'Brien", M, 0).mid("Patrick").of(IE).guardians(&G_OBRIEN),
    Show { sibling: true, ..s("Saoirse", "O'Brien", F, 8).of(IE) },
    Show { prior_last: Some("Schmidt"), ..s("Zoë", "Müller", F, 0).of(DE).guardians(&G_MULLER) },
    s("Mateo", "García", M, 0).of(ES),
    s("Ava", "Thompson", F, 0).mid("Grace"),
    s("Noah", "Williams", M, 0).race(4),
    s("Sofía", "Hernández-López", F, 1).of(ES).guardians(&G_HERNANDEZ),
    s("Bảo", "Nguyễn", M, 1).mid("Minh").of(VI).guardians(&G_NGUYEN),
    s("Chloe", "Martin", F, 1),
    s("Jackson", "Davis", M, 1).mid("Lee").race(4),
    s("Amelia", "Clark", F, 1).is(Kind::LateStartAfter, ymd(2026, 2, 2), AS_OF),
    Show { abroad: Some(("CN", ymd(2023, 7, 15))), ..s("小明", "王", M, 2).of(ZH).guardians(&G_WANG) },
    s("Olivia", "Brown", F, 2),
    s("Lucas", "Wilson", M, 2),
    s("Isabella", "Moore", F, 2).mid("Rose"),
    s("Henry", "Taylor", M, 2).kind(Kind::StateExclude),
    s("Robert \"Bobby\"", "Anderson", M, 3).mid("James"),
    s("Mia", "Jackson", F, 3).race(4).guardians(&G_FOSTER),
    s("Elijah", "White", M, 3),
    s("Harper", "Harris", F, 3).email(StudentEmail::NullRow),
    s("Benjamin", "Lewis", M, 3).email(StudentEmail::Blank),
    Show {
        abroad: Some(("RU", ymd(2022, 1, 10))),
        ..s("Дмитрий", "Иванов", M, 4)
            .mid("Сергеевич")
            .of(RU)
            .email(StudentEmail::Local("dmitry.ivanov"))
            .guardians(&G_IVANOVA)
    },
    s("Evelyn", "Walker", F, 4),
    s("Alexander", "Young", M, 4),
    s("Abigail", "King", F, 4),
    s("Daniel", "Scott", M, 4).is(Kind::WithdrawnBefore, ymd(2025, 10, 31), AS_OF),
    s("Mary-Kate", "Adams-Baker", F, 5),
    s("Marcus", "Washington, Jr.", M, 5).mid("Anthony").of(AA).guardians(&G_WASHINGTON),
    s("Emily", "Green", F, 5),
    s("Aaliyah", "Robinson", F, 5).of(AA),
    s("Sebastián", "Ortiz", M, 5).mid("").of(ES),
    s("Camille", "Lefèvre", F, 3).of(FR).is(Kind::TransferBefore, ymd(2025, 11, 14), ymd(2025, 11, 17)),
    s("José", "Ramírez", M, 6).mid("Luis").of(ES).kind(Kind::SecondaryHere).guardians(&G_RAMIREZ),
    s("Lily", "Becker", F, 6).guardians(&G_BECKER),
    s("Caleb", "Turner", M, 6),
    s("Grace", "Phillips", F, 6),
    s("Nicolás", "D'Amico", M, 7).guardians(&G_DAMICO),
    s("Hannah", "Campbell", F, 7),
    s("Owen", "Parker", M, 7).is(Kind::WithdrawnAfter, ymd(2026, 2, 13), AS_OF),
    s("Léa", "Dubois", F, 8).of(FR),
    s("Wyatt", "Evans", M, 8),
    s("Jack", "Collins", M, 8),
    s("Ngozi", "Okafor", F, 9).of(WA),
    s("Ryan", "O'Malley", M, 9).of(IE).is(Kind::ReEntry, ymd(2025, 10, 3), ymd(2025, 11, 3)),
    Show { switch: true, ..s("Ella", "Stewart", F, 9) },
    s("Gabriel", "Sanchez", M, 9).race(1).kind(Kind::SummerSchool),
    s("Aarav", "Patel", M, 10).of(IN).is(Kind::LateStartBefore, ymd(2026, 1, 5), AS_OF),
    Show { latin: true, ..s("Victoria", "Morris", F, 10) },
    Show { latin: true, ..s("Isaac", "Rogers", M, 10) },
    s("Amara", "Nwosu", F, 10).of(WA),
    s("Camila", "Reyes", F, 11).of(ES),
    s("Julian", "Cook", M, 11).kind(Kind::NoShow),
    s("Penelope", "Morgan", F, 11),
    s("Lucas", "Bell", M, 11).race(7),
    s("Nora", "Murphy", F, 12),
    Show { latin: true, ..s("Levi", "Bailey", M, 12) },
    s("Stella", "Rivera", F, 12).race(1).kind(Kind::SecondaryExcluded),
    s("Seán", "Ó Briain", M, 10).of(IE).is(Kind::TransferAfter, ymd(2026, 2, 27), ymd(2026, 3, 2)),
    s("Yuki", "Tanaka", F, 11).of(JP).kind(Kind::EndsOnAsOf),
    s("Fatima", "Al-Sayed", F, 7).of(AR).kind(Kind::StartsOnAsOf),
    s("Noor", "Haddad", F, 10).of(AR).kind(Kind::SecondaryOnly),
    s("Maya", "Cooper", F, 10).kind(Kind::ExcludedSchool),
    s("Leo", "Richardson", M, 8).kind(Kind::ExcludedSchool),
    s("Ruby", "Cox", F, 11).kind(Kind::ExcludedSchool),
    s("Hazel", "Howard", F, 9).kind(Kind::ExcludedCalendar),
    s("Ezra", "Ward", M, 13).kind(Kind::LeftNeverClosed),
    s("Oliver", "Nguyen-Smith", M, -1).kind(Kind::NextYearOnly),
];
const SHOW_COUNT: usize = 67;
const SHOW_LEN: u32 = SHOW_COUNT as u32;

/// A student as far as enrollment is concerned (names are in `student_person`).
struct Student {
    i: u32,
    kind: Kind,
    /// Grade in 2025-26 (see Show::grade).
    grade: i8,
    /// Index of the student's elementary and middle-high school within their level.
    elem: u32,
    high: u32,
    /// noShow / stateExclude NULL instead of 0 on the active enrollment.
    null_flags: bool,
    /// Changes sections of the first elective at the winter break.
    switch: bool,
    /// Also rostered in the section of the inactive course Latin I.
    latin: bool,
    /// Dates of the kind (withdrawal, start, transfer...).
    a: Date,
    b: Date,
}

fn student(d: &Dims, i: u32) -> Student {
    let mut r = Rng::new(d.seed, ST_STUDENT, u64::from(i));
    let elem = r.below32(d.n_elem);
    let high = r.below32(d.n_high);
    if let Some(sh) = SHOW.get(i as usize) {
        return Student {
            i,
            kind: sh.kind,
            grade: sh.grade,
            elem: 0,
            high: 0,
            null_flags: sh.kind == Kind::Normal && (i + 1) % 7 == 0,
            switch: sh.switch,
            latin: sh.latin,
            a: sh.a,
            b: sh.b,
        };
    }
    let mut x = r.below(1000);
    let mut kind = Kind::Normal;
    for (k, rate) in KIND_RATES {
        if x < rate {
            kind = k;
            break;
        }
        x -= rate;
    }
    let grade = match kind {
        // At the excluded (6-12) school last year too.
        Kind::ExcludedSchool | Kind::SecondaryOnly => 7 + r.below(6) as i8,
        Kind::SecondaryHere | Kind::SecondaryExcluded | Kind::SummerSchool | Kind::ExcludedCalendar => {
            6 + r.below(7) as i8
        }
        Kind::LeftNeverClosed => 13,
        Kind::NextYearOnly => -1,
        _ => r.below(13) as i8,
    };
    let (a, b) = match kind {
        Kind::WithdrawnBefore => (r.date(ymd(2025, 9, 2), ymd(2026, 1, 14)), AS_OF),
        Kind::WithdrawnAfter => (r.date(ymd(2026, 1, 16), ymd(2026, 5, 29)), AS_OF),
        Kind::LateStartBefore => (r.date(ymd(2025, 8, 21), ymd(2026, 1, 14)), AS_OF),
        Kind::LateStartAfter => (r.date(ymd(2026, 1, 16), ymd(2026, 5, 1)), AS_OF),
        Kind::ReEntry => {
            let a = r.date(ymd(2025, 9, 15), ymd(2025, 11, 30));
            (a, a.plus(7 + r.below(24) as i32))
        }
        Kind::TransferBefore => {
            let a = r.date(ymd(2025, 9, 15), ymd(2026, 1, 9));
            (a, a.plus(3))
        }
        Kind::TransferAfter => {
            let a = r.date(ymd(2026, 1, 16), ymd(2026, 4, 30));
            (a, a.plus(3))
        }
        _ => (AS_OF, AS_OF),
    };
    let high = if kind == Kind::ExcludedCalendar { high - high % 10 } else { high };
    let null_flags = r.below(7) == 0;
    let normal_high = kind == Kind::Normal && grade >= 6;
    let switch = normal_high && r.per_mille(25);
    let latin = normal_high && r.per_mille(40);
    Student { i, kind, grade, elem, high, null_flags, switch, latin, a, b }
}

/// First member and size of a student's family. Showcase families are marked in SHOW; the
/// others come in blocks of four students split into families of 1 to 3.
fn family(d: &Dims, i: u32) -> (u32, u32) {
    let (head, len) = if i < SHOW_LEN {
        let mut head = i;
        while head > 0 && SHOW[head as usize].sibling {
            head -= 1;
        }
        let mut len = 1;
        while head + len < SHOW_LEN && SHOW[(head + len) as usize].sibling {
            len += 1;
        }
        (head, len)
    } else {
        let j = i - SHOW_LEN;
        let parts: &[u32] = match Rng::new(d.seed, ST_BLOCK, u64::from(j / 4)).below(100) {
            0..70 => &[1, 1, 1, 1],
            70..85 => &[2, 1, 1],
            85..95 => &[2, 2],
            _ => &[3, 1],
        };
        let mut start = 0;
        let mut found = (i, 1);
        for &len in parts {
            if j % 4 < start + len {
                found = (SHOW_LEN + j / 4 * 4 + start, len);
                break;
            }
            start += len;
        }
        found
    };
    (head, len.min(d.n - head))
}

/// Culture and family name of the family whose first member is `head`.
fn family_name(d: &Dims, head: u32) -> (usize, &'static str) {
    if let Some(sh) = SHOW.get(head as usize) {
        return (sh.culture, sh.last);
    }
    let mut r = Rng::new(d.seed, ST_FAMILY, u64::from(head));
    let culture = pick_culture(&mut r);
    (culture, r.pick(CULTURES[culture].last))
}

// ------------------------------------------------------------------------------------------
// Enrollments

#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Regular,
    /// The scheduling sandbox calendar (Calendar.exclude = 1).
    Sandbox,
    /// The summer-school calendar (Calendar.summerSchool = 1).
    Summer,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RosterSpec {
    /// The whole schedule of the grade.
    Full,
    /// Section 1 of this course.
    One(usize),
    Nothing,
}

#[derive(Clone, Copy)]
struct Enr {
    year: usize,
    school: usize,
    place: Place,
    grade: i8,
    primary: bool,
    start: Date,
    end: Option<Date>,
    start_status: &'static str,
    end_status: Option<&'static str>,
    no_show: Option<u8>,
    state_exclude: Option<u8>,
    /// The school of the pre-enrollment for the next year (Enrollment.nextCalendar).
    next: Option<usize>,
    roster: RosterSpec,
}

impl Enr {
    /// Current on the as-of date and not noShow / stateExclude (NULL counts as 0).
    fn counts(&self) -> bool {
        self.no_show != Some(1) && self.state_exclude != Some(1) && current(Some(self.start), self.end)
    }
}

/// Course index (middle-high catalogue) of the English course of a grade, Concert Band and
/// Computer Science Principles.
fn english(grade: i8) -> usize {
    (grade as usize - 6) * 4
}
const BAND: usize = 28 + 3;
const CSP: usize = 28 + 6;

fn enrollments(d: &Dims, st: &Student) -> Vec<Enr> {
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
fn included(d: &Dims, e: &Enr) -> bool {
    e.year == ACTIVE && e.place == Place::Regular && e.school != d.online()
}

/// Row of students.sql: a primary enrollment in an included calendar, current on the as-of
/// date, not noShow / stateExclude.
fn primary_active(d: &Dims, enrs: &[Enr]) -> bool {
    enrs.iter().any(|e| included(d, e) && e.primary && e.counts())
}

/// A OneRoster student (users.sql): the same with any service type.
fn oneroster_active(d: &Dims, enrs: &[Enr]) -> bool {
    enrs.iter().any(|e| included(d, e) && e.counts())
}

// ------------------------------------------------------------------------------------------
// Course catalogue

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Elem,
    High,
}

/// Courses per calendar: 36 grade courses (6 per grade K-5, or 4 core per grade 6-12 plus 8
/// electives), plus in the active year an empty course (and, middle-high, an inactive one).
const BASE_COURSES: usize = 36;
const ELEM_SUBJECTS: [(&str, &str, &str, u32); 6] = [
    ("HR", "Homeroom", "", 10),
    ("ELA", "Reading & Writing", "51001", 40),
    ("MATH", "Math", "52001", 30),
    ("MUS", "General Music", "55001", 20),
    ("ART", "Art", "55101", 20),
    ("PE", "Physical Education", "58001", 80),
];
const HIGH_CORE: [(&str, &str, u32, [&str; 7]); 4] = [
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
const ELECTIVES: [(&str, &str, &str, u32); 8] = [
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
const DRAFT_COPIES: [(usize, u32); 2] = [(12, 0), (14, 0)];
/// The inactive course (middle-high, active year).
const LATIN: usize = 37;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Terms {
    All,
    FirstHalf,
    SecondHalf,
}

struct CourseDef {
    number: Cow<'static, str>,
    name: Cow<'static, str>,
    active: bool,
    state_code: Option<&'static str>,
    homeroom: bool,
    dept: u32,
    /// Has a teacher (the empty course has none).
    taught: bool,
    /// Meets in two consecutive periods.
    double: bool,
    terms: Terms,
}

fn grade_code(g: i8) -> Cow<'static, str> {
    if g == 0 { Cow::Borrowed("K") } else { Cow::Owned(g.to_string()) }
}

fn state_grade(g: i8) -> String {
    if g == 0 { "KG".to_string() } else { format!("{g:02}") }
}

fn course_count(level: Level, online: bool, year: usize) -> usize {
    match (level, year == ACTIVE && !online) {
        (_, false) => BASE_COURSES,
        (Level::Elem, true) => BASE_COURSES + 1,
        (Level::High, true) => BASE_COURSES + 2,
    }
}

fn course_def(level: Level, c: usize) -> CourseDef {
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
                homeroom: c % 6 == 0,
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
fn electives(r: &mut Rng) -> (usize, usize) {
    let e1 = r.below(8) as usize;
    let e2 = (e1 + 1 + r.below(7) as usize) % 8;
    (e1, e2)
}

fn schedule_rng(d: &Dims, i: u32, year: usize) -> Rng {
    Rng::new(d.seed, ST_SCHEDULE, u64::from(i) * 4 + year as u64)
}

// ------------------------------------------------------------------------------------------
// The plan: schools, calendars, section counts, staff and id ranges

struct Dims {
    seed: u64,
    n: u32,
    n_elem: u32,
    n_high: u32,
}

impl Dims {
    fn schools(&self) -> usize {
        (self.n_elem + self.n_high + 1) as usize
    }
    fn online(&self) -> usize {
        (self.n_elem + self.n_high) as usize
    }
    fn elem(&self, k: u32) -> usize {
        k as usize
    }
    fn high(&self, k: u32) -> usize {
        (self.n_elem + k) as usize
    }
    fn level(&self, school: usize) -> Level {
        if school < self.n_elem as usize { Level::Elem } else { Level::High }
    }
    fn school_for(&self, st: &Student, grade: i8) -> usize {
        if grade <= 5 { self.elem(st.elem) } else { self.high(st.high) }
    }
}

const PLACES: [&str; 32] = [
    "Maple Valley",
    "Cedar Ridge",
    "Lake Wilderness",
    "Rock Creek",
    "Glacier Park",
    "Tahoma",
    "Shadow Lake",
    "Summit Trail",
    "O'Hara Creek",
    "Peña Heights",
    "Four Corners",
    "Elk Run",
    "Ravensdale",
    "Hobart",
    "Wilderness Peak",
    "Lake Desire",
    "Sawyer Woods",
    "Spring Lake",
    "Kent Meridian",
    "Covington",
    "Jenkins Creek",
    "Timberline",
    "Green River",
    "Pine Tree",
    "Crestwood",
    "Saint Mary's Bay",
    "Lakeside",
    "Meadow Ridge",
    "Soos Creek",
    "Big Rock",
    "Fernwood",
    "Issaquah Valley",
];
const STREETS: [&str; 8] = [
    "Orchard Ln",
    "Ridge Rd",
    "Cedar St NE",
    "Lakeview Dr",
    "Kent-Kangley Rd",
    "SE 240th St",
    "Witte Rd SE",
    "Maple Ave",
];

struct School {
    id: u32,
    level: Level,
    /// Index within the level (0 for the online school).
    k: u32,
    online: bool,
    number: String,
    name: String,
    /// Used in calendar names (at most 35 characters).
    short: String,
    /// Teachers of the pool, staff serial of the principal (staff index 0), staff count.
    pool: u32,
    staff_base: u32,
    nstaff: u32,
    room_base: u32,
    /// A teacher (pool index 1) leaves at the winter break; a replacement takes over.
    retire: bool,
    /// Pool teacher 2 also has a later, second assignment at this school.
    chair: bool,
    /// Pool teacher 0 also works at this middle-high school.
    itinerant: Option<usize>,
    /// A teacher hired to start after the as-of date.
    future_hire: bool,
    /// The active-year calendar has a draft trial, and there is a sandbox calendar.
    draft: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Principal,
    Teacher(u32),
    /// Paraprofessional (elementary) or special-education teacher: the co-teacher.
    Co,
    /// An instructional aide without sections (the aide role of users.sql).
    Aide,
    Replacement,
    FutureHire,
}

impl School {
    fn role(&self, idx: u32) -> Role {
        match idx {
            0 => Role::Principal,
            i if i <= self.pool => Role::Teacher(i - 1),
            i if i == self.pool + 1 => Role::Co,
            i if i == self.pool + 2 => Role::Aide,
            i if i == self.pool + 3 && self.retire => Role::Replacement,
            _ => Role::FutureHire,
        }
    }
    fn idx(&self, role: Role) -> u32 {
        match role {
            Role::Principal => 0,
            Role::Teacher(t) => 1 + t,
            Role::Co => self.pool + 1,
            Role::Aide => self.pool + 2,
            Role::Replacement => self.pool + 3,
            Role::FutureHire => self.pool + 3 + u32::from(self.retire),
        }
    }
    fn load(&self) -> u32 {
        if self.level == Level::Elem { ELEM_LOAD } else { HIGH_LOAD }
    }
    /// Pool index of the teacher who leaves at the winter break.
    const RETIRING: u32 = 1;
}

struct Sched {
    trial: u32,
    term_schedule: u32,
    first_term: u32,
    nterms: u32,
    period_schedule: u32,
    first_period: u32,
    nperiods: u32,
}

struct Layout {
    first_course: u32,
    first_section: u32,
    /// Sections of each course, and the ordinal of its first section in the calendar.
    nsec: Vec<u32>,
    offset: Vec<u32>,
    /// The draft trial, and the id of its first copied section.
    draft: Option<(u32, u32)>,
}

struct Cal {
    id: u32,
    school: usize,
    year: usize,
    place: Place,
    structure: u32,
    sched: Option<Sched>,
    layout: Option<Layout>,
}

struct Plan {
    d: Dims,
    schools: Vec<School>,
    cals: Vec<Cal>,
    /// Regular calendar of each (school, year).
    regular: Vec<[Option<usize>; 3]>,
    sandbox: Vec<Option<usize>>,
    summer: Vec<Option<usize>>,
    staff_total: u32,
    student_base: u32,
    guardian_base: u32,
    orphan_base: u32,
    orphans: u32,
}

/// Next value of an id sequence.
fn take(counter: &mut u32, n: u32) -> u32 {
    let id = *counter;
    *counter += n;
    id
}

fn round_up(x: u32, to: u32) -> u32 {
    x.div_ceil(to) * to
}

impl Plan {
    fn new(seed: u64, n: u32) -> Plan {
        let share = |grades: u64| {
            let students = u64::from(n) * grades / 13;
            ((students + STUDENTS_PER_SCHOOL / 2) / STUDENTS_PER_SCHOOL).max(2) as u32
        };
        let d = Dims { seed, n, n_elem: share(6), n_high: share(7) };
        let ns = d.schools();

        // Pre-pass: how many students each calendar has per grade, and per elective.
        let mut cohort = vec![[0u32; 13]; 3 * ns];
        let mut takers = vec![[0u32; 8]; 3 * ns];
        for i in 0..n {
            let st = student(&d, i);
            let mut last = None;
            for e in enrollments(&d, &st) {
                if e.place != Place::Regular || !e.primary || e.roster != RosterSpec::Full {
                    continue;
                }
                if last == Some((e.year, e.school)) {
                    continue;
                }
                last = Some((e.year, e.school));
                let slot = e.year * ns + e.school;
                cohort[slot][e.grade as usize] += 1;
                if d.level(e.school) == Level::High {
                    let (a, b) = electives(&mut schedule_rng(&d, i, e.year));
                    takers[slot][a] += 1;
                    takers[slot][b] += 1;
                }
            }
        }

        let mut schools: Vec<School> = (0..ns)
            .map(|s| {
                let online = s == d.online();
                let level = d.level(s);
                let k = match level {
                    _ if online => 0,
                    Level::Elem => s as u32,
                    Level::High => s as u32 - d.n_elem,
                };
                // Elementary schools take the even places, middle-high schools the odd ones.
                let half = PLACES.len() / 2;
                let place = PLACES[(k as usize % half) * 2 + usize::from(level == Level::High)];
                let round = k as usize / half;
                let base = if round == 0 { place.to_string() } else { format!("{place} {}", round + 1) };
                let (name, short) = match level {
                    _ if online => ("Maple Valley Online Academy".to_string(), "Online Academy".to_string()),
                    Level::Elem => (format!("{base} Elementary School"), format!("{base} Elementary")),
                    Level::High => (format!("{base} Middle-High School"), format!("{base} Middle-High")),
                };
                School {
                    id: 11 + s as u32,
                    level,
                    k,
                    online,
                    number: (101 + s).to_string(),
                    name,
                    short,
                    pool: 0,
                    staff_base: 0,
                    nstaff: 0,
                    room_base: 0,
                    retire: false,
                    chair: false,
                    itinerant: None,
                    future_hire: false,
                    draft: level == Level::High && !online && k % 10 == 0,
                }
            })
            .collect();

        // Calendars, in id order: each year's regular calendars, then the active year's
        // sandbox and summer-school calendars.
        let mut ids = [101u32, 1001, 2001, 3001, 3101, 3501, 3601, 4001, 5001];
        let [cal_id, structure_id, trial_id, ts_id, term_id, ps_id, period_id, course_id, section_id] =
            &mut ids;
        let mut cals = Vec::new();
        let mut regular = vec![[None; 3]; ns];
        let mut sandbox = vec![None; ns];
        let mut summer = vec![None; ns];
        for (year, _) in YEARS.iter().enumerate() {
            let mut wanted: Vec<(usize, Place)> =
                (0..ns).filter(|&s| !(year == 2 && schools[s].online)).map(|s| (s, Place::Regular)).collect();
            if year == ACTIVE {
                wanted.extend((0..ns).filter(|&s| schools[s].draft).map(|s| (s, Place::Sandbox)));
                wanted.extend(
                    (0..ns)
                        .filter(|&s| schools[s].level == Level::High && !schools[s].online)
                        .map(|s| (s, Place::Summer)),
                );
            }
            for (s, place) in wanted {
                let school = &schools[s];
                let sched = (place != Place::Summer).then(|| {
                    let (nterms, nperiods) = if school.level == Level::Elem { (3, 4) } else { (4, 6) };
                    Sched {
                        trial: take(trial_id, 1),
                        term_schedule: take(ts_id, 1),
                        first_term: take(term_id, nterms),
                        nterms,
                        period_schedule: take(ps_id, 1),
                        first_period: take(period_id, nperiods),
                        nperiods,
                    }
                });
                let layout = (place == Place::Regular).then(|| {
                    let slot = year * ns + s;
                    let count = course_count(school.level, school.online, year);
                    let nsec: Vec<u32> = (0..count)
                        .map(|c| {
                            let (students, size) = match (school.level, c) {
                                (Level::Elem, 0..BASE_COURSES) => (cohort[slot][c / 6], ELEM_CLASS),
                                (Level::High, 0..28) => (cohort[slot][6 + c / 4], HIGH_CLASS),
                                (Level::High, 28..BASE_COURSES) => (takers[slot][c - 28], HIGH_CLASS),
                                _ => (0, 1),
                            };
                            students.div_ceil(size).max(1)
                        })
                        .collect();
                    let offset: Vec<u32> = nsec
                        .iter()
                        .scan(0, |acc, &x| {
                            let at = *acc;
                            *acc += x;
                            Some(at)
                        })
                        .collect();
                    let total: u32 = nsec.iter().sum();
                    let with_draft = year == ACTIVE && school.draft;
                    let first_course = take(course_id, count as u32);
                    let first_section = take(section_id, total);
                    let draft =
                        with_draft.then(|| (take(trial_id, 1), take(section_id, DRAFT_COPIES.len() as u32)));
                    Layout { first_course, first_section, nsec, offset, draft }
                });
                let index = cals.len();
                match place {
                    Place::Regular => regular[s][year] = Some(index),
                    Place::Sandbox => sandbox[s] = Some(index),
                    Place::Summer => summer[s] = Some(index),
                }
                cals.push(Cal {
                    id: take(cal_id, 1),
                    school: s,
                    year,
                    place,
                    structure: take(structure_id, 1),
                    sched,
                    layout,
                });
            }
        }

        // Staff: a pool of teachers sized on the active year's sections, and the special roles.
        let mut staff_total = 0;
        let mut room_next = 301;
        for (s, school) in schools.iter_mut().enumerate() {
            let layout = regular[s][ACTIVE].and_then(|c| cals[c].layout.as_ref()).expect("active calendar");
            let taught: u32 = (0..layout.nsec.len())
                .filter(|&c| course_def(school.level, c).taught)
                .map(|c| layout.nsec[c])
                .sum();
            school.pool = taught.div_ceil(school.load()).max(2);
            let regular_school = !school.online;
            school.retire = regular_school && school.level == Level::High && school.k % 4 == 0;
            school.chair =
                regular_school && school.level == Level::High && school.k % 6 == 0 && school.pool >= 3;
            school.future_hire = regular_school && school.k % 3 == 0;
            school.itinerant = (regular_school && school.level == Level::Elem && school.k % 5 == 0)
                .then(|| d.high(school.k % d.n_high));
            school.nstaff = school.idx(Role::FutureHire) + u32::from(school.future_hire);
            school.staff_base = staff_total;
            staff_total += school.nstaff;
            school.room_base = room_next;
            room_next += school.pool + 2;
        }

        let student_base = round_up(FIRST_PERSON + staff_total, 1000) + 1;
        let guardian_base = round_up(student_base + n, 1000) + 1;
        let orphan_base = round_up(guardian_base + 8 * n, 1000) + 1;
        Plan {
            orphans: 1 + n / 1000,
            d,
            schools,
            cals,
            regular,
            sandbox,
            summer,
            staff_total,
            student_base,
            guardian_base,
            orphan_base,
        }
    }

    fn seed(&self) -> u64 {
        self.d.seed
    }

    fn cal(&self, year: usize, school: usize) -> Option<&Cal> {
        self.regular[school][year].map(|c| &self.cals[c])
    }

    fn cal_of(&self, e: &Enr) -> &Cal {
        let index = match e.place {
            Place::Regular => self.regular[e.school][e.year],
            Place::Sandbox => self.sandbox[e.school],
            Place::Summer => self.summer[e.school],
        };
        &self.cals[index.expect("calendar of an enrollment")]
    }

    fn student_pid(&self, i: u32) -> u32 {
        self.student_base + i
    }

    fn staff_pid(&self, school: usize, role: Role) -> u32 {
        let s = &self.schools[school];
        FIRST_PERSON + s.staff_base + s.idx(role)
    }

    fn guardian_pid(&self, head: u32, slot: u32) -> u32 {
        self.guardian_base + head * 8 + slot
    }

    fn person_guid(&self, pid: u32) -> String {
        guid(self.seed(), ST_GUID_PERSON, pid)
    }

    /// The teacher in charge of the section with this ordinal in its calendar.
    fn pool_teacher(&self, school: usize, ordinal: u32) -> u32 {
        let s = &self.schools[school];
        (ordinal / s.load()) % s.pool
    }

    /// Sections (course, section index) of a student with a full schedule in a calendar.
    fn schedule(&self, i: u32, year: usize, school: usize, grade: i8) -> Vec<(usize, u32)> {
        let layout = self.cal(year, school).and_then(|c| c.layout.as_ref()).expect("layout");
        let mut r = schedule_rng(&self.d, i, year);
        let (e1, e2) = electives(&mut r);
        match self.d.level(school) {
            Level::Elem => {
                let g = grade as usize;
                let group = r.below32(layout.nsec[g * 6]);
                (0..6).map(|j| (g * 6 + j, group)).collect()
            }
            Level::High => {
                let g = grade as usize - 6;
                let mut out: Vec<(usize, u32)> = (0..4)
                    .map(|j| {
                        let c = g * 4 + j;
                        (c, r.below32(layout.nsec[c]))
                    })
                    .collect();
                for e in [e1, e2] {
                    let c = 28 + e;
                    out.push((c, r.below32(layout.nsec[c])));
                }
                out
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// The expected summary
//
// Counts, all as of AS_OF (2026-01-15), with "included calendar" meaning: a Calendar of the
// active SchoolYear (2026) that is not Calendar.exclude = 1 nor summerSchool = 1, of a school
// that is not School.exclude = 1; "active section": a Section of the active Trial of an
// included calendar whose Course.active = 1; "current": startDate NULL or <= as-of and endDate
// NULL or >= as-of; "counting enrollment": current and not noShow = 1 / stateExclude = 1.
//   included_schools       schools with an included calendar (orgs.sql rows of type school);
//                          orgs = included_schools + 1 (the district).
//   academic_sessions      1 school year + the Terms of the active trials' structures of the
//                          included calendars (academicSessions.sql rows).
//   active_courses         Course.active = 1 in included calendars (courses.sql rows).
//   active_sections        active sections (sections.sql rows, classes.sql classes); sections
//                          without teacher or students included.
//   active_students        persons with a counting PRIMARY ('P') enrollment in an included
//                          calendar (students.sql rows).
//   oneroster_students     the same with any serviceType (users.sql role student,
//                          demographics.sql rows).
//   staff                  distinct (person, school) with a current EmploymentAssignment at an
//                          included school (staff.sql rows).
//   student_enrollments    distinct (active section, student) with a current Roster row of the
//                          section's trial, the student holding a counting enrollment (any
//                          serviceType) in the section's calendar (rosters.sql 'student' rows,
//                          enrollments.sql student rows).
//   teacher_enrollments    distinct (active section, person) with a current SectionStaffHistory
//                          row of the section's trial with staffType 'P' (rosters.sql
//                          'teacher' rows, enrollments.sql rows with primary true).
//   co_teacher_enrollments the same with current rows of other staffTypes only (rosters.sql
//                          'co-teacher' rows, enrollments.sql teacher rows with primary false).
//   section_teachers       distinct persons of teacher_enrollments and co_teacher_enrollments.
//   users, and per role    users.sql after merging: one role per person, the first of student
//                          (oneroster_students), teacher of an active section, administrator
//                          (current assignment at an included school with supervisor = 1),
//                          teacher (such an assignment with teacher = 1), aide (any other such
//                          assignment), guardian (RelatedPair.guardian = 1, current, of a
//                          OneRoster student). Orphans (no current identity) are never users.
//   guardians              users.sql role guardian (a guardian who is also staff is a teacher).
// Lists (each holds at most LIST_LIMIT entries, in generation order; list_totals has the full
// count). must_be_absent: persons (personGUID) absent from students.sql, users.sql and
// enrollments.sql, or sectionIDs absent from sections.sql and classes.sql.
// must_be_present: persons present in users.sql (students also in students.sql, except
// secondary_only, who are only OneRoster students), section ids present in sections.sql, and
// names present among the first/last names of students.sql and users.sql.

#[derive(Clone, Copy)]
enum L {
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
}

/// Name of each list, and whether it is a must_be_absent list.
const LISTS: [(&str, bool); 28] = [
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
    ("secondary_only", false),
    ("empty_sections", false),
];

#[derive(Default)]
struct List {
    items: Vec<String>,
    total: u64,
}

#[derive(Default)]
struct Expected {
    included_schools: u64,
    academic_sessions: u64,
    active_courses: u64,
    active_sections: u64,
    active_students: u64,
    oneroster_students: u64,
    staff: u64,
    student_enrollments: u64,
    teacher_enrollments: u64,
    co_teacher_enrollments: u64,
    /// Per staff serial: best users.sql priority (2 section teacher, 3 administrator,
    /// 4 teacher by assignment, 5 aide), NONE if not a staff user.
    staff_priority: Vec<u8>,
    co_teachers: Vec<u32>,
    /// (guardian person, linked): one per guardian = 1 pair; linked when the pair is current
    /// and its student a OneRoster student.
    guardian_links: Vec<(u32, bool)>,
    awkward: Vec<String>,
    lists: Vec<List>,
}

const NONE: u8 = u8::MAX;

struct Totals {
    section_teachers: u64,
    teachers: u64,
    administrators: u64,
    aides: u64,
    guardians: u64,
}

fn json_string(s: &str) -> String {
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
    fn new(plan: &Plan) -> Expected {
        Expected {
            staff_priority: vec![NONE; plan.staff_total as usize],
            lists: LISTS.iter().map(|_| List::default()).collect(),
            ..Expected::default()
        }
    }

    fn add(&mut self, list: L, item: String) {
        let list = &mut self.lists[list as usize];
        list.total += 1;
        if list.items.len() < LIST_LIMIT {
            list.items.push(item);
        }
    }

    fn add_person(&mut self, list: L, plan: &Plan, pid: u32) {
        self.add(list, json_string(&plan.person_guid(pid)));
    }

    fn staff_role(&mut self, pid: u32, priority: u8) {
        let slot = &mut self.staff_priority[(pid - FIRST_PERSON) as usize];
        *slot = (*slot).min(priority);
    }

    /// Settles what needs every table: guardians, roles, staff lists.
    fn finish(mut self, plan: &Plan) -> (Expected, Totals) {
        let mut links = std::mem::take(&mut self.guardian_links);
        links.sort_unstable();
        let mut guardians = 0;
        for group in links.chunk_by(|a, b| a.0 == b.0) {
            let pid = group[0].0;
            let linked = group.iter().filter(|l| l.1).count();
            let staff = pid < plan.student_base;
            if linked == 0 {
                if !staff {
                    self.add_person(L::GuardiansNotCurrent, plan, pid);
                }
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

fn write_json(plan: &Plan, (e, t): (Expected, Totals), out: &mut dyn Write) -> io::Result<()> {
    let users = e.oneroster_students + t.teachers + t.administrators + t.aides + t.guardians;
    let mut j = String::new();
    j.push_str(&format!(
        "{{\n  \"as_of\": \"{}\",\n  \"seed\": {},\n  \"students\": {},\n  \"active_year\": {},\n",
        AS_OF.iso(),
        plan.d.seed,
        plan.d.n,
        YEARS[ACTIVE]
    ));
    let counts: [(&str, u64); 20] = [
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

// ------------------------------------------------------------------------------------------
// SQL writing

struct Col {
    name: &'static str,
    /// Maximum characters of a text value (varchar(n) / char(n)); 0 = not limited.
    max: usize,
}

const fn c(name: &'static str, max: usize) -> Col {
    Col { name, max }
}

struct Table {
    name: &'static str,
    cols: &'static [Col],
}

const T_DISTRICT: Table = Table {
    name: "District",
    cols: &[
        c("districtID", 0),
        c("number", 10),
        c("name", 100),
        c("address", 100),
        c("city", 50),
        c("state", 2),
        c("zip", 10),
        c("phone", 25),
    ],
};
const T_SCHOOL: Table = Table {
    name: "School",
    cols: &[
        c("schoolID", 0),
        c("districtID", 0),
        c("number", 10),
        c("name", 100),
        c("schoolGUID", 36),
        c("principalName", 100),
        c("principalEmail", 100),
        c("address", 100),
        c("city", 50),
        c("state", 2),
        c("zip", 10),
        c("phone", 25),
        c("entityID", 0),
        c("exclude", 0),
    ],
};
const T_SCHOOL_YEAR: Table =
    Table { name: "SchoolYear", cols: &[c("endYear", 0), c("label", 10), c("startYear", 0), c("active", 0)] };
const T_CALENDAR: Table = Table {
    name: "Calendar",
    cols: &[
        c("calendarID", 0),
        c("schoolID", 0),
        c("districtID", 0),
        c("endYear", 0),
        c("name", 50),
        c("number", 10),
        c("startDate", 0),
        c("endDate", 0),
        c("exclude", 0),
        c("summerSchool", 0),
    ],
};
const T_STRUCTURE: Table = Table {
    name: "ScheduleStructure",
    cols: &[c("structureID", 0), c("calendarID", 0), c("name", 50), c("active", 0)],
};
const T_GRADE_LEVEL: Table = Table {
    name: "GradeLevel",
    cols: &[
        c("calendarID", 0),
        c("structureID", 0),
        c("name", 4),
        c("stateGrade", 4),
        c("excludeEnrollment", 0),
    ],
};
const T_PERSON: Table = Table {
    name: "Person",
    cols: &[
        c("personID", 0),
        c("currentIdentityID", 0),
        c("personGUID", 36),
        c("stateID", 15),
        c("studentNumber", 15),
        c("staffStateID", 20),
        c("staffNumber", 15),
    ],
};
const T_IDENTITY: Table = Table {
    name: "\"identity\"",
    cols: &[
        c("identityID", 0),
        c("personID", 0),
        c("identityGUID", 36),
        c("districtID", 0),
        c("lastName", 50),
        c("firstName", 50),
        c("middleName", 50),
        c("suffix", 50),
        c("gender", 1),
        c("birthdate", 0),
        c("raceEthnicityFed", 0),
        c("raceEthnicity", 10),
        c("hispanicEthnicity", 1),
        c("homePrimaryLanguage", 10),
        c("birthCountry", 10),
        c("dateEnteredUS", 0),
        c("dateEnteredUSSchool", 0),
        c("legalFirstName", 50),
        c("legalLastName", 50),
    ],
};
const T_CONTACT: Table = Table {
    name: "Contact",
    cols: &[
        c("personID", 0),
        c("districtID", 0),
        c("email", 100),
        c("secondaryEmail", 100),
        c("homePhone", 25),
        c("workPhone", 25),
        c("cellPhone", 25),
        c("pager", 25),
        c("communicationLanguage", 15),
    ],
};
const T_USER_ACCOUNT: Table = Table {
    name: "UserAccount",
    cols: &[
        c("userID", 0),
        c("personID", 0),
        c("username", 50),
        c("homepage", 100),
        c("isSAMLAccount", 0),
        c("samlConfigurationID", 0),
        c("disable", 0),
        c("lock", 0),
        c("legacyKey", 100),
        c("modifiedDate", 0),
    ],
};
const T_RELATED_PAIR: Table = Table {
    name: "RelatedPair",
    cols: &[
        c("pairID", 0),
        c("personID1", 0),
        c("personID2", 0),
        c("name", 50),
        c("guardian", 0),
        c("seq", 0),
        c("startDate", 0),
        c("endDate", 0),
        c("portal", 0),
        c("mailing", 0),
        c("messenger", 0),
        c("private", 0),
        c("secondary", 0),
    ],
};
const T_EMPLOYMENT: Table = Table {
    name: "Employment",
    cols: &[c("employmentID", 0), c("personID", 0), c("districtID", 0), c("startDate", 0), c("endDate", 0)],
};
const T_ASSIGNMENT: Table = Table {
    name: "EmploymentAssignment",
    cols: &[
        c("assignmentID", 0),
        c("personID", 0),
        c("schoolID", 0),
        c("districtID", 0),
        c("startDate", 0),
        c("endDate", 0),
        c("title", 50),
        c("teacher", 0),
        c("supervisor", 0),
    ],
};
const T_ENROLLMENT: Table = Table {
    name: "Enrollment",
    cols: &[
        c("enrollmentID", 0),
        c("personID", 0),
        c("calendarID", 0),
        c("structureID", 0),
        c("grade", 4),
        c("serviceType", 1),
        c("startDate", 0),
        c("endDate", 0),
        c("startStatus", 10),
        c("endStatus", 10),
        c("noShow", 0),
        c("stateExclude", 0),
        c("endYear", 0),
        c("active", 0),
        c("nextCalendar", 0),
        c("nextStructureID", 0),
        c("nextGrade", 4),
        c("residentDistrict", 10),
        c("residentSchool", 10),
        c("specialEdStatus", 10),
        c("disability1", 10),
        c("section504", 0),
    ],
};
const T_TRIAL: Table = Table {
    name: "Trial",
    cols: &[c("trialID", 0), c("calendarID", 0), c("structureID", 0), c("name", 50), c("active", 0)],
};
const T_TERM_SCHEDULE: Table =
    Table { name: "TermSchedule", cols: &[c("termScheduleID", 0), c("structureID", 0), c("name", 50)] };
const T_TERM: Table = Table {
    name: "Term",
    cols: &[
        c("termID", 0),
        c("termScheduleID", 0),
        c("name", 30),
        c("startDate", 0),
        c("endDate", 0),
        c("seq", 0),
    ],
};
const T_PERIOD_SCHEDULE: Table =
    Table { name: "PeriodSchedule", cols: &[c("periodScheduleID", 0), c("structureID", 0), c("name", 50)] };
const T_PERIOD: Table = Table {
    name: "Period",
    cols: &[
        c("periodID", 0),
        c("periodScheduleID", 0),
        c("name", 20),
        c("seq", 0),
        c("startTime", 0),
        c("endTime", 0),
    ],
};
const T_ROOM: Table = Table { name: "Room", cols: &[c("roomID", 0), c("schoolID", 0), c("name", 50)] };
const T_COURSE: Table = Table {
    name: "Course",
    cols: &[
        c("courseID", 0),
        c("calendarID", 0),
        c("number", 20),
        c("name", 100),
        c("active", 0),
        c("stateCode", 20),
        c("homeroom", 0),
        c("departmentID", 0),
    ],
};
const T_SECTION: Table = Table {
    name: "Section",
    cols: &[
        c("sectionID", 0),
        c("courseID", 0),
        c("trialID", 0),
        c("number", 0),
        c("teacherPersonID", 0),
        c("teacherDisplay", 100),
        c("roomID", 0),
        c("homeroomSection", 0),
    ],
};
const T_PLACEMENT: Table = Table {
    name: "SectionPlacement",
    cols: &[c("sectionID", 0), c("trialID", 0), c("termID", 0), c("periodID", 0)],
};
const T_STAFF_HISTORY: Table = Table {
    name: "SectionStaffHistory",
    cols: &[
        c("historyID", 0),
        c("sectionID", 0),
        c("trialID", 0),
        c("personID", 0),
        c("staffType", 1),
        c("startDate", 0),
        c("endDate", 0),
        c("createdDate", 0),
    ],
};
const T_ROSTER: Table = Table {
    name: "Roster",
    cols: &[
        c("rosterID", 0),
        c("personID", 0),
        c("sectionID", 0),
        c("trialID", 0),
        c("startDate", 0),
        c("endDate", 0),
        c("modifiedDate", 0),
    ],
};

/// Streams multi-row INSERT statements of at most CHUNK rows. Values are appended to the
/// current row with the typed methods; `end` closes the row and reports any error (a text
/// longer than its column, a wrong number of values).
struct Sql<'w> {
    out: &'w mut dyn Write,
    buf: Vec<u8>,
    table: Option<&'static Table>,
    in_statement: usize,
    col: usize,
    error: Option<String>,
}

impl<'w> Sql<'w> {
    fn new(out: &'w mut dyn Write) -> Sql<'w> {
        Sql { out, buf: Vec::with_capacity(1 << 17), table: None, in_statement: 0, col: 0, error: None }
    }

    fn raw(&mut self, s: &str) {
        self.buf.extend_from_slice(s.as_bytes());
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    /// Ends the current statement and starts writing rows of `table`.
    fn start(&mut self, table: Option<&'static Table>) -> io::Result<()> {
        if self.in_statement > 0 {
            self.raw(";\n");
            self.in_statement = 0;
        }
        self.table = table;
        if let Some(t) = table {
            self.raw(&format!("\n-- {}\n", t.name.trim_matches('"')));
        }
        self.flush()
    }

    fn row(&mut self) -> &mut Self {
        let table = self.table.expect("a table");
        if self.in_statement == 0 {
            let cols: Vec<&str> = table.cols.iter().map(|c| c.name).collect();
            self.raw(&format!("INSERT INTO {} ({}) VALUES\n    (", table.name, cols.join(", ")));
        } else {
            self.raw(",\n    (");
        }
        self.col = 0;
        self
    }

    /// Moves to the next column; its character limit.
    fn next_col(&mut self) -> usize {
        let table = self.table.expect("a table");
        let max = match table.cols.get(self.col) {
            Some(col) => col.max,
            None => {
                self.error.get_or_insert_with(|| format!("{}: too many values", table.name));
                0
            }
        };
        if self.col > 0 {
            self.raw(", ");
        }
        self.col += 1;
        max
    }

    fn int(&mut self, v: impl Into<i64>) -> &mut Self {
        self.next_col();
        let v: i64 = v.into();
        self.buf.extend_from_slice(crate::decimal::i64_text(v, &mut [0; 20]).as_bytes());
        self
    }

    fn null(&mut self) -> &mut Self {
        self.next_col();
        self.raw("NULL");
        self
    }

    fn opt_int(&mut self, v: Option<impl Into<i64>>) -> &mut Self {
        match v {
            Some(v) => self.int(v),
            None => self.null(),
        }
    }

    fn flag(&mut self, v: bool) -> &mut Self {
        self.int(u8::from(v))
    }

    fn text(&mut self, s: &str) -> &mut Self {
        let max = self.next_col();
        if max > 0 && s.len() > max && s.chars().count() > max {
            let table = self.table.expect("a table");
            let col = table.cols[self.col - 1].name;
            self.error.get_or_insert_with(|| format!("{}.{col}: {s:?} is longer than {max}", table.name));
        }
        self.buf.push(b'\'');
        for &b in s.as_bytes() {
            if b == b'\'' {
                self.buf.push(b'\'');
            }
            self.buf.push(b);
        }
        self.buf.push(b'\'');
        self
    }

    fn opt_text(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => self.text(s),
            None => self.null(),
        }
    }

    fn date(&mut self, date: Date) -> &mut Self {
        self.next_col();
        let (y, m, d) = date.parts();
        self.raw(&format!("'{y:04}-{m:02}-{d:02}'"));
        self
    }

    fn opt_date(&mut self, date: Option<Date>) -> &mut Self {
        match date {
            Some(date) => self.date(date),
            None => self.null(),
        }
    }

    /// A timestamp at the given minute of a day.
    fn stamp(&mut self, date: Date, minute: u32) -> &mut Self {
        self.next_col();
        let (y, m, d) = date.parts();
        self.raw(&format!("'{y:04}-{m:02}-{d:02} {:02}:{:02}:00'", minute / 60 % 24, minute % 60));
        self
    }

    fn end(&mut self) -> io::Result<()> {
        self.buf.push(b')');
        let table = self.table.expect("a table");
        if self.col != table.cols.len() && self.error.is_none() {
            self.error =
                Some(format!("{}: {} values for {} columns", table.name, self.col, table.cols.len()));
        }
        if let Some(error) = self.error.take() {
            return Err(io::Error::new(io::ErrorKind::InvalidData, error));
        }
        self.in_statement += 1;
        if self.in_statement == CHUNK {
            self.raw(";\n");
            self.in_statement = 0;
            if self.buf.len() >= 1 << 16 {
                self.flush()?;
            }
        }
        Ok(())
    }
}

fn write_header(plan: &Plan, w: &mut Sql) {
    let d = &plan.d;
    w.raw(&format!(
        "-- Campus-like district generated by sis-extract's fixture generator\n\
         -- (src/fixture_generator.rs), seed {seed}, {n} students. Do not edit: regenerate.\n\
         -- Load after tests/fixtures/campus/schema.sql, on SQLite 3 or PostgreSQL (UTF-8).\n\
         --\n\
         -- District {DISTRICT_ID}, Maple Valley School District No. 417: {e} elementary schools\n\
         -- (K-5), {h} middle-high schools (6-12), and Maple Valley Online Academy with\n\
         -- School.exclude = 1. SchoolYear 2026 is active (2025-08-20 to 2026-06-05); 2025 and\n\
         -- 2027 (calendars, pre-enrollments and schedules) exist too. Designed to be extracted\n\
         -- as of {as_of}: the JSON written with this file says what a correct extract holds.\n\
         --\n\
         -- Traps, as of {as_of} (the first {show} students are a fixed showcase, the others\n\
         -- carry the same traps at random, about 10% of them):\n\
         --   noShow = 1 / stateExclude = 1 enrollments that keep their rosters (Julian Cook,\n\
         --   Henry Taylor); withdrawals before and after the date and on it (Daniel Scott,\n\
         --   Owen Parker, Yuki Tanaka); starts before, on and after it (Aarav Patel, Fatima\n\
         --   Al-Sayed, Amelia Clark); a re-entry (Ryan O'Malley); transfers between schools\n\
         --   before and after it (Camille Lefèvre, Seán Ó Briain); secondary enrollments at an\n\
         --   included school, at the excluded school and in summer school (José Ramírez, Stella\n\
         --   Rivera, Gabriel Sanchez); a primary enrollment at the excluded school with a\n\
         --   secondary one at an included school (Noor Haddad); students only at the excluded\n\
         --   school or in an excluded calendar (Maya Cooper, Hazel Howard); an enrollment never\n\
         --   closed after last year (Ezra Ward); a kindergartner of next year only (Oliver\n\
         --   Nguyen-Smith); NULL noShow/stateExclude on ordinary enrollments; an older identity\n\
         --   (Zoë Müller, née Schmidt); orphan persons (currentIdentityID NULL).\n\
         --   Sections: co-teachers (staffType T), a teacher replaced at the winter break\n\
         --   (Section.teacherPersonID still names the one who left), a duplicated primary row,\n\
         --   a teacher who is also co-teacher of the same section, an empty section with no\n\
         --   teacher, an inactive course with rosters, draft trials (Trial.active = 0) with copies\n\
         --   of sections, next year's rosters with NULL dates, a student who changes sections at\n\
         --   the break. Staff: a teacher who leaves at the break, hires starting after the date,\n\
         --   a teacher at two schools, two assignments at one school, staff of the excluded school.\n\
         --   Guardians shared by siblings, a teacher who is a guardian, non-guardian relatives,\n\
         --   an ended foster link, links not yet in force, guardians without e-mail, usernames\n\
         --   with spaces, and names such as O'Brien, Zoë, Nguyễn, 王小明, Иванов, 'Washington,\n\
         --   Jr.' and 'Robert \"Bobby\"'.\n",
        seed = d.seed,
        n = d.n,
        e = d.n_elem,
        h = d.n_high,
        as_of = AS_OF.iso(),
        show = SHOW_LEN,
    ));
}

// ------------------------------------------------------------------------------------------
// Tables: district, schools, years, calendars

fn write_district(plan: &Plan, w: &mut Sql, exp: &mut Expected) -> io::Result<()> {
    w.start(Some(&T_DISTRICT))?;
    w.row()
        .int(DISTRICT_ID)
        .text("0417")
        .text("Maple Valley School District No. 417")
        .text("1200 Cedar St NE")
        .text("Maple Valley")
        .text("WA")
        .text("98038")
        .text("555-010-4170")
        .end()?;
    w.start(Some(&T_SCHOOL))?;
    for (s, school) in plan.schools.iter().enumerate() {
        let principal = staff_person(plan, s, 0);
        let name = format!("{} {}", principal.rec.first, principal.rec.last);
        let street = STREETS[s % STREETS.len()];
        w.row()
            .int(school.id)
            .int(DISTRICT_ID)
            .text(&school.number)
            .text(&school.name)
            .text(&guid(plan.seed(), ST_GUID_SCHOOL, school.id))
            .opt_text((!school.online).then_some(name.as_str()))
            .opt_text(if school.online { None } else { principal.email.as_deref() })
            .text(&format!("{} {street}", 100 + (s * 37) % 9000))
            .text("Maple Valley")
            .text("WA")
            .text("98038")
            .opt_text((!school.online).then(|| format!("555-010-{:04}", 1000 + s % 9000)).as_deref())
            .int(school.id)
            .flag(school.online)
            .end()?;
        if !school.online {
            exp.included_schools += 1;
        }
    }
    w.start(Some(&T_SCHOOL_YEAR))?;
    for (y, year) in YEARS.iter().enumerate() {
        w.row()
            .int(*year)
            .text(&format!("{:02}-{:02}", (year - 1) % 100, year % 100))
            .int(year - 1)
            .flag(y == ACTIVE)
            .end()?;
    }
    Ok(())
}

fn cal_name(plan: &Plan, cal: &Cal) -> String {
    let school = &plan.schools[cal.school];
    let year = YEARS[cal.year];
    let label = format!("{:02}-{:02}", (year - 1) % 100, year % 100);
    match cal.place {
        Place::Regular => format!("{label} {}", school.short),
        Place::Sandbox => format!("{label} {} Sandbox", school.short),
        Place::Summer => format!("{label} {} Summer", school.short),
    }
}

fn grades_of(level: Level) -> std::ops::RangeInclusive<i8> {
    if level == Level::Elem { 0..=5 } else { 6..=12 }
}

fn write_calendars(plan: &Plan, w: &mut Sql) -> io::Result<()> {
    w.start(Some(&T_CALENDAR))?;
    for cal in &plan.cals {
        let (start, end) = match cal.place {
            Place::Summer => SUMMER,
            _ => (YEAR_START[cal.year], YEAR_END[cal.year]),
        };
        w.row()
            .int(cal.id)
            .int(plan.schools[cal.school].id)
            .int(DISTRICT_ID)
            .int(YEARS[cal.year])
            .text(&cal_name(plan, cal))
            .text(&cal.id.to_string())
            .date(start)
            .date(end)
            .flag(cal.place == Place::Sandbox)
            .flag(cal.place == Place::Summer)
            .end()?;
    }
    w.start(Some(&T_STRUCTURE))?;
    for cal in &plan.cals {
        let name = if plan.schools[cal.school].level == Level::Elem { "Elementary" } else { "Secondary" };
        w.row().int(cal.structure).int(cal.id).text(name).int(1).end()?;
    }
    w.start(Some(&T_GRADE_LEVEL))?;
    for cal in &plan.cals {
        for g in grades_of(plan.schools[cal.school].level) {
            w.row().int(cal.id).int(cal.structure).text(&grade_code(g)).text(&state_grade(g)).int(0).end()?;
        }
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------
// People

struct ContactRec {
    email: Option<String>,
    phone: Option<String>,
    language: &'static str,
}

struct AccountRec {
    username: String,
    parent: bool,
    saml: bool,
    disable: bool,
}

/// Everything the Person, "identity", Contact and UserAccount rows of one person need.
struct PersonRec {
    pid: u32,
    /// Person.currentIdentityID is set (false for orphans).
    identity: bool,
    first: Cow<'static, str>,
    middle: Option<Cow<'static, str>>,
    last: Cow<'static, str>,
    /// Family name of an older identity.
    prior_last: Option<&'static str>,
    gender: u8,
    birth: Option<Date>,
    race: Option<u8>,
    lang: Option<&'static str>,
    country: Option<&'static str>,
    entered_us: Option<Date>,
    student_number: Option<u32>,
    staff_number: Option<u32>,
    contact: Option<ContactRec>,
    account: Option<AccountRec>,
}

impl PersonRec {
    fn bare(pid: u32, first: Cow<'static, str>, last: Cow<'static, str>, gender: u8) -> PersonRec {
        PersonRec {
            pid,
            identity: true,
            first,
            middle: None,
            last,
            prior_last: None,
            gender,
            birth: None,
            race: None,
            lang: None,
            country: None,
            entered_us: None,
            student_number: None,
            staff_number: None,
            contact: None,
            account: None,
        }
    }
}

fn identity_id(pid: u32, current: bool) -> u32 {
    pid * 2 + u32::from(current)
}

struct Assignment {
    school: usize,
    title: &'static str,
    teacher: bool,
    supervisor: bool,
    start: Date,
    end: Option<Date>,
}

struct StaffRec {
    rec: PersonRec,
    email: Option<String>,
    assignments: Vec<Assignment>,
}

/// Fixed names of the showcase staff: (first, middle, last, gender, birth, race).
type StaffName = (&'static str, Option<&'static str>, &'static str, u8, Date, u8);

fn staff_name(plan: &Plan, s: usize, role: Role) -> Option<StaffName> {
    let d = &plan.d;
    if s == 0 {
        return match role {
            Role::Principal => Some(("Hannah", Some("Marie"), "Lindqvist", F, Date::ymd(1975, 3, 14), 6)),
            Role::Teacher(0) => Some(("Rafael", None, "Núñez", M, Date::ymd(1979, 4, 17), 1)),
            Role::Teacher(1) => Some(("Élodie", None, "Marchand", F, Date::ymd(1988, 6, 21), 6)),
            Role::Teacher(2) => Some(("Siobhán", None, "O'Sullivan", F, Date::ymd(1990, 1, 30), 6)),
            Role::Teacher(3) => Some(("David", Some("J"), "Kim", M, Date::ymd(1983, 9, 9), 3)),
            Role::Co => Some(("Jordan", None, "Lee", M, Date::ymd(1998, 8, 8), 7)),
            _ => None,
        };
    }
    if s == d.high(0) {
        return match role {
            Role::Principal => Some(("Marcus", None, "Whitfield-Obi", M, Date::ymd(1971, 11, 2), 1)),
            Role::Teacher(0) => Some(("Thomas", Some("A"), "Becker", M, Date::ymd(1982, 7, 28), 6)),
            Role::Teacher(1) => Some(("Gregory", None, "Hall", M, Date::ymd(1962, 2, 11), 6)),
            Role::Teacher(2) => Some(("Priya", None, "Raman", F, Date::ymd(1986, 12, 5), 3)),
            Role::Teacher(3) => Some(("Lucía", None, "Fernández de la Cruz", F, Date::ymd(1987, 10, 19), 1)),
            Role::Co => Some(("Rebecca", None, "Stone", F, Date::ymd(1985, 3, 23), 6)),
            Role::Replacement => Some(("Anna", None, "Sokolova", F, Date::ymd(1993, 5, 3), 6)),
            Role::FutureHire => Some(("Naomi", None, "Fischer", F, Date::ymd(1996, 6, 30), 6)),
            Role::Teacher(_) | Role::Aide => None,
        };
    }
    if s == d.online() && role == Role::Teacher(0) {
        return Some(("Victor", None, "Alvarez", M, Date::ymd(1980, 1, 1), 1));
    }
    None
}

fn staff_person(plan: &Plan, s: usize, idx: u32) -> StaffRec {
    let school = &plan.schools[s];
    let role = school.role(idx);
    let serial = school.staff_base + idx;
    let pid = FIRST_PERSON + serial;
    let mut r = Rng::new(plan.seed(), ST_STAFF, u64::from(pid));
    let culture = pick_culture(&mut r);
    let cu = &CULTURES[culture];
    let gender = if r.below(100) < 70 { F } else { M };
    let (first, middle, last, birth, race, fixed) = match staff_name(plan, s, role) {
        Some((first, middle, last, gender, birth, race)) => {
            (first, middle, gendered_last(EN, last, gender), birth, race, Some(gender))
        }
        None => {
            let first = r.pick(if gender == F { cu.female } else { cu.male });
            let middle = r.per_mille(300).then(|| r.pick(if gender == F { cu.female } else { cu.male }));
            let last = gendered_last(culture, r.pick(cu.last), gender);
            let birth = r.date(Date::ymd(1960, 1, 1), Date::ymd(1999, 12, 31));
            (first, middle, last, birth, cu.race, None)
        }
    };
    let gender = fixed.unwrap_or(gender);
    let no_email = (role == Role::Co && school.level == Level::Elem) || (fixed.is_none() && r.per_mille(20));
    let (f, l) = (slug(first), slug(&last));
    let local = match (f.is_empty() || l.is_empty(), fixed.is_some()) {
        (true, _) => format!("staff{serial}"),
        (false, true) => format!("{f}.{l}"),
        (false, false) => format!("{f}.{l}{serial}"),
    };
    let email = (!no_email).then(|| format!("{local}@{DOMAIN}"));
    let since = r.date(Date::ymd(2003, 8, 1), Date::ymd(2025, 8, 1));
    let teacher_title = if school.online { "Online Teacher" } else { "Teacher" };
    let asg = |title: &'static str, teacher: bool, supervisor: bool, start: Date| Assignment {
        school: s,
        title,
        teacher,
        supervisor,
        start,
        end: None,
    };
    let mut assignments = vec![match role {
        Role::Principal => {
            asg("Principal", false, true, r.date(Date::ymd(2010, 7, 1), Date::ymd(2024, 7, 1)))
        }
        Role::Teacher(t) => Assignment {
            end: (school.retire && t == School::RETIRING).then_some(BREAK_START),
            ..asg(teacher_title, true, false, since)
        },
        Role::Co if school.level == Level::Elem => asg("Paraprofessional", false, false, since),
        Role::Co => asg("Special Education Teacher", true, false, since),
        Role::Aide => asg("Instructional Aide", false, false, since),
        Role::Replacement => asg("Teacher", true, false, BREAK_END),
        Role::FutureHire => asg("Teacher", true, false, LATER_HIRE),
    }];
    if role == Role::Teacher(0) {
        if let Some(other) = school.itinerant {
            assignments.push(Assignment { school: other, ..asg("Band Director", true, false, since) });
        }
    }
    if role == Role::Teacher(2) && school.chair {
        assignments.push(asg("Math Department Chair", true, false, Date::ymd(2025, 8, 1)));
    }
    let rec = PersonRec {
        middle: middle.map(Cow::Borrowed),
        birth: Some(birth),
        race: Some(race),
        lang: Some("eng"),
        country: Some("US"),
        staff_number: Some(7001 + serial),
        contact: Some(ContactRec {
            email: email.clone(),
            phone: Some(format!("555-020-{:04}", serial % 10_000)),
            language: "English",
        }),
        account: Some(AccountRec { username: local, parent: false, saml: true, disable: false }),
        ..PersonRec::bare(pid, Cow::Borrowed(first), last, gender)
    };
    StaffRec { rec, email, assignments }
}

fn student_person(plan: &Plan, st: &Student) -> PersonRec {
    let d = &plan.d;
    let i = st.i;
    let pid = plan.student_pid(i);
    let mut r = Rng::new(d.seed, ST_NAME, u64::from(i));
    let number = 100_101 + i;
    let (first, middle, last, gender, culture, race, prior_last, email_rule) = match SHOW.get(i as usize) {
        Some(sh) => (
            Cow::Borrowed(sh.first),
            sh.middle.map(Cow::Borrowed),
            Cow::Borrowed(sh.last),
            sh.gender,
            sh.culture,
            sh.race.unwrap_or(CULTURES[sh.culture].race),
            sh.prior_last,
            sh.email,
        ),
        None => {
            let (culture, family) = family_name(d, family(d, i).0);
            let cu = &CULTURES[culture];
            let gender = if r.below(2) == 0 { F } else { M };
            let names = if gender == F { cu.female } else { cu.male };
            let first = r.pick(names);
            let middle = match r.below(1000) {
                0..10 => Some(Cow::Borrowed("")),
                10..300 => Some(Cow::Borrowed(r.pick(names))),
                _ => None,
            };
            let mut last = gendered_last(culture, family, gender);
            if gender == M && matches!(culture, EN | AA) && r.per_mille(3) {
                last = Cow::Owned(format!("{last}, Jr."));
            }
            let race = if r.per_mille(50) { 7 } else { cu.race };
            let prior = r.per_mille(10).then(|| r.pick(CULTURES[EN].last));
            (Cow::Borrowed(first), middle, last, gender, culture, race, prior, StudentEmail::Auto)
        }
    };
    let cu = &CULTURES[culture];
    // Born in the school year of the grade (September to August).
    let grade = i32::from(st.grade);
    let birth = Date::ymd(2019 - grade, 9, 1).plus(r.below(365) as i32);
    let abroad = match SHOW.get(i as usize) {
        Some(sh) => sh.abroad,
        None => r.per_mille(cu.abroad).then(|| (cu.country, r.date(birth.plus(365), Date::ymd(2025, 8, 1)))),
    };
    let local = || {
        let (f, l) = (slug(first.split(' ').next().unwrap_or("")), slug(&last));
        if f.is_empty() || l.is_empty() { format!("s{number}") } else { format!("{f}.{l}{number}") }
    };
    let mut rc = Rng::new(d.seed, ST_CONTACT, u64::from(i));
    let email = match email_rule {
        StudentEmail::Blank => Some(Some(String::new())),
        StudentEmail::NullRow => Some(None),
        StudentEmail::Local(l) => Some(Some(format!("{l}@students.{DOMAIN}"))),
        StudentEmail::Auto if st.grade >= 3 => Some(Some(format!("{}@students.{DOMAIN}", local()))),
        StudentEmail::Auto => (rc.below(2) == 0).then_some(None),
    };
    let phone = (email_rule == StudentEmail::NullRow).then(|| format!("555-030-{:04}", i % 10_000));
    let account = matches!(email, Some(Some(_))).then(|| AccountRec {
        username: format!("s{number}"),
        parent: false,
        saml: false,
        disable: matches!(st.kind, Kind::WithdrawnBefore | Kind::LeftNeverClosed),
    });
    PersonRec {
        middle,
        prior_last,
        birth: Some(birth),
        race: Some(race),
        lang: Some(cu.lang),
        country: Some(abroad.map_or("US", |a| a.0)),
        entered_us: abroad.map(|a| a.1),
        student_number: Some(number),
        contact: email.map(|email| ContactRec { email, phone, language: cu.language }),
        account,
        ..PersonRec::bare(pid, first, last, gender)
    }
}

/// A related adult of a family: a guardian or not, a new person (`person`) or staff.
struct Rel {
    pid: u32,
    person: Option<PersonRec>,
    name: &'static str,
    guardian: bool,
    seq: Option<u8>,
    start: Option<Date>,
    end: Option<Date>,
}

fn guardian_person(
    pid: u32,
    (first, last, gender): (Cow<'static, str>, Cow<'static, str>, u8),
    email: GuardianEmail,
    language: &'static str,
    spaced_login: bool,
) -> PersonRec {
    let auto = || {
        let (f, l) = (slug(&first), slug(&last));
        if f.is_empty() || l.is_empty() {
            format!("parent{pid}@example.com")
        } else {
            format!("{f}.{l}{pid}@example.com")
        }
    };
    let email = match email {
        GuardianEmail::Auto => Some(Some(auto())),
        GuardianEmail::Given(e) => Some(Some(e.to_string())),
        GuardianEmail::Blank => Some(Some(String::new())),
        GuardianEmail::NullRow => Some(None),
        GuardianEmail::NoRow => None,
    };
    let account = match &email {
        Some(Some(e)) if !e.is_empty() => Some(AccountRec {
            username: if spaced_login { format!("{first} {last}") } else { e.clone() },
            parent: true,
            saml: false,
            disable: false,
        }),
        _ => None,
    };
    let contact = email.map(|email| ContactRec {
        email,
        phone: Some(format!("555-{:03}-{:04}", 100 + pid / 10_000 % 900, pid % 10_000)),
        language,
    });
    PersonRec { contact, account, ..PersonRec::bare(pid, first, last, gender) }
}

/// The related adults of the family whose first member is `head`.
fn family_rels(plan: &Plan, head: u32) -> Vec<Rel> {
    let d = &plan.d;
    if let Some(sh) = SHOW.get(head as usize).filter(|sh| !sh.guardians.is_empty()) {
        return sh
            .guardians
            .iter()
            .enumerate()
            .map(|(slot, g)| {
                let (pid, person) = if g.staff {
                    (plan.staff_pid(d.high(0), Role::Teacher(0)), None)
                } else {
                    let pid = plan.guardian_pid(head, slot as u32);
                    let names = (Cow::Borrowed(g.first), Cow::Borrowed(g.last), g.gender);
                    (pid, Some(guardian_person(pid, names, g.email, g.language, g.spaced_login)))
                };
                Rel { pid, person, name: g.rel, guardian: g.guardian, seq: g.seq, start: g.start, end: g.end }
            })
            .collect();
    }
    let mut r = Rng::new(d.seed, ST_GUARDIAN, u64::from(head));
    let (culture, family) = family_name(d, head);
    let cu = &CULTURES[culture];
    let adult = |r: &mut Rng,
                 slot: u32,
                 names: (Cow<'static, str>, Cow<'static, str>, u8),
                 rel: &'static str| {
        let email = match r.below(100) {
            0..2 => GuardianEmail::Blank,
            2..12 => GuardianEmail::NullRow,
            12..22 => GuardianEmail::NoRow,
            _ => GuardianEmail::Auto,
        };
        let spaced = r.per_mille(50);
        let pid = plan.guardian_pid(head, slot);
        let start =
            if r.below(2) == 0 { None } else { Some(r.date(Date::ymd(2012, 8, 1), Date::ymd(2025, 8, 15))) };
        let person = guardian_person(pid, names, email, cu.language, spaced);
        Rel { pid, person: Some(person), name: rel, guardian: true, seq: None, start, end: None }
    };
    if r.per_mille(5) {
        // Foster care ended last autumn; a legal guardian since.
        let en = &CULTURES[EN];
        let foster = (Cow::Borrowed(r.pick(en.female)), Cow::Borrowed(r.pick(en.last)), F);
        let foster = Rel {
            seq: Some(1),
            start: Some(Date::ymd(2023, 2, 1)),
            end: Some(Date::ymd(2025, 9, 30)),
            ..adult(&mut r, 3, foster, "Foster Parent")
        };
        let legal = (Cow::Borrowed(r.pick(en.female)), Cow::Borrowed(r.pick(en.last)), F);
        let legal = Rel { start: Some(Date::ymd(2025, 10, 1)), ..adult(&mut r, 4, legal, "Guardian") };
        return vec![foster, legal];
    }
    let mut rels = Vec::new();
    let mother = (Cow::Borrowed(r.pick(cu.female)), gendered_last(culture, family, F), F);
    rels.push(Rel { seq: Some(1), ..adult(&mut r, 0, mother, "Mother") });
    if r.per_mille(600) {
        if r.per_mille(2) {
            // A teacher of the district.
            let s = r.below32(d.n_elem + d.n_high) as usize;
            let pid = plan.staff_pid(s, Role::Teacher(0));
            rels.push(Rel {
                pid,
                person: None,
                name: "Father",
                guardian: true,
                seq: Some(2),
                start: None,
                end: None,
            });
        } else {
            let father = (Cow::Borrowed(r.pick(cu.male)), Cow::Borrowed(family), M);
            rels.push(Rel { seq: Some(2), ..adult(&mut r, 1, father, "Father") });
        }
    }
    if r.per_mille(50) {
        let grandmother = (Cow::Borrowed(r.pick(cu.female)), gendered_last(culture, family, F), F);
        rels.push(Rel {
            guardian: false,
            seq: Some(3),
            start: None,
            ..adult(&mut r, 2, grandmother, "Grandmother")
        });
    }
    if r.per_mille(7) {
        // A link that starts after the as-of date.
        let step = (Cow::Borrowed(r.pick(cu.male)), Cow::Borrowed(r.pick(cu.last)), M);
        rels.push(Rel { seq: Some(4), start: Some(LATER_LINK), ..adult(&mut r, 5, step, "Stepparent") });
    }
    rels
}

/// Calls `f` with every person: staff, students, guardians and other relatives, orphans.
fn for_each_person(plan: &Plan, f: &mut dyn FnMut(&PersonRec) -> io::Result<()>) -> io::Result<()> {
    for (s, school) in plan.schools.iter().enumerate() {
        for idx in 0..school.nstaff {
            f(&staff_person(plan, s, idx).rec)?;
        }
    }
    for i in 0..plan.d.n {
        f(&student_person(plan, &student(&plan.d, i)))?;
    }
    for i in 0..plan.d.n {
        if family(&plan.d, i).0 == i {
            for rel in family_rels(plan, i) {
                if let Some(person) = &rel.person {
                    f(person)?;
                }
            }
        }
    }
    for o in 0..plan.orphans {
        // A duplicate of a student left by a merge: an identity, but no current one.
        let twin = if plan.d.n > 0 { (o * 997) % plan.d.n } else { 0 };
        let mut rec = student_person(plan, &student(&plan.d, twin));
        rec.pid = plan.orphan_base + o;
        rec.identity = false;
        rec.prior_last = None;
        rec.student_number = None;
        rec.contact = None;
        rec.account = None;
        f(&rec)?;
    }
    Ok(())
}

fn write_people(plan: &Plan, w: &mut Sql, exp: &mut Expected) -> io::Result<()> {
    let seed = plan.seed();
    w.start(Some(&T_PERSON))?;
    for_each_person(plan, &mut |p| {
        if !p.identity {
            exp.add_person(L::Orphans, plan, p.pid);
        }
        let state_id = match (p.student_number, p.staff_number) {
            (Some(_), _) => Some(format!("91{:08}", p.pid)),
            (_, Some(_)) => Some(format!("81{:08}", p.pid)),
            _ => None,
        };
        w.row()
            .int(p.pid)
            .opt_int(p.identity.then(|| identity_id(p.pid, true)))
            .text(&guid(seed, ST_GUID_PERSON, p.pid))
            .opt_text(state_id.as_deref())
            .opt_text(p.student_number.map(|n| n.to_string()).as_deref())
            .opt_text(p.staff_number.and(state_id.as_deref()))
            .opt_text(p.staff_number.map(|n| n.to_string()).as_deref())
            .end()
    })?;
    w.start(Some(&T_IDENTITY))?;
    for_each_person(plan, &mut |p| {
        let identities =
            [p.prior_last.map(|prior| (false, Cow::Borrowed(prior))), Some((true, p.last.clone()))];
        for (current, last) in identities.into_iter().flatten() {
            let id = identity_id(p.pid, current);
            let hispanic = p.race.map(|r| if r == 1 { "Y" } else { "N" });
            w.row()
                .int(id)
                .int(p.pid)
                .text(&guid(seed, ST_GUID_IDENTITY, id))
                .int(DISTRICT_ID)
                .text(&last)
                .text(&p.first)
                .opt_text(p.middle.as_deref())
                .null()
                .text(&char::from(p.gender).to_string())
                .opt_date(p.birth)
                .opt_int(p.race)
                .null()
                .opt_text(hispanic)
                .opt_text(p.lang)
                .opt_text(p.country)
                .opt_date(p.entered_us)
                .opt_date(p.entered_us)
                .null()
                .null()
                .end()?;
        }
        Ok(())
    })?;
    w.start(Some(&T_CONTACT))?;
    for_each_person(plan, &mut |p| {
        let Some(contact) = &p.contact else { return Ok(()) };
        w.row()
            .int(p.pid)
            .int(DISTRICT_ID)
            .opt_text(contact.email.as_deref())
            .null()
            .opt_text(contact.phone.as_deref())
            .null()
            .null()
            .null()
            .text(contact.language)
            .end()
    })?;
    w.start(Some(&T_USER_ACCOUNT))?;
    let mut user_id = 901u32;
    for_each_person(plan, &mut |p| {
        let Some(account) = &p.account else { return Ok(()) };
        user_id += 1;
        w.row()
            .int(user_id - 1)
            .int(p.pid)
            .text(&account.username)
            .opt_text(account.parent.then_some("nav-wrapper/parent/portal/parent/home"))
            .flag(account.saml)
            .opt_int(account.saml.then_some(1))
            .flag(account.disable)
            .int(0)
            .null()
            .stamp(Date::ymd(2025, 8, 1), 7 * 60 + 30)
            .end()
    })?;
    Ok(())
}

fn write_related_pairs(plan: &Plan, w: &mut Sql, exp: &mut Expected) -> io::Result<()> {
    let d = &plan.d;
    w.start(Some(&T_RELATED_PAIR))?;
    let mut pair_id = 1501u32;
    for i in 0..d.n {
        let st = student(d, i);
        let oneroster = oneroster_active(d, &enrollments(d, &st));
        let (head, len) = family(d, i);
        let mut rels = family_rels(plan, head);
        for rel in &rels {
            if rel.guardian {
                exp.guardian_links.push((rel.pid, oneroster && current(rel.start, rel.end)));
            } else if i == head {
                exp.add_person(L::NonGuardians, plan, rel.pid);
            }
        }
        rels.extend((head..head + len).filter(|&j| j != i).map(|j| Rel {
            pid: plan.student_pid(j),
            person: None,
            name: "Sibling",
            guardian: false,
            seq: None,
            start: None,
            end: None,
        }));
        for rel in rels {
            w.row()
                .int(pair_id)
                .int(plan.student_pid(i))
                .int(rel.pid)
                .text(rel.name)
                .flag(rel.guardian)
                .opt_int(rel.seq)
                .opt_date(rel.start)
                .opt_date(rel.end)
                .flag(rel.guardian)
                .flag(rel.guardian)
                .flag(rel.guardian)
                .int(0)
                .int(0)
                .end()?;
            pair_id += 1;
        }
    }
    Ok(())
}

fn write_employment(plan: &Plan, w: &mut Sql, exp: &mut Expected) -> io::Result<()> {
    w.start(Some(&T_EMPLOYMENT))?;
    let mut id = 601u32;
    for (s, school) in plan.schools.iter().enumerate() {
        for idx in 0..school.nstaff {
            let staff = staff_person(plan, s, idx);
            let start = staff.assignments.iter().map(|a| a.start).min().expect("an assignment");
            let end = staff.assignments[0].end;
            w.row().int(id).int(staff.rec.pid).int(DISTRICT_ID).date(start).opt_date(end).end()?;
            id += 1;
        }
    }
    w.start(Some(&T_ASSIGNMENT))?;
    let mut id = 701u32;
    for (s, school) in plan.schools.iter().enumerate() {
        for idx in 0..school.nstaff {
            let staff = staff_person(plan, s, idx);
            let mut rows_at = Vec::new();
            for a in &staff.assignments {
                w.row()
                    .int(id)
                    .int(staff.rec.pid)
                    .int(plan.schools[a.school].id)
                    .int(DISTRICT_ID)
                    .date(a.start)
                    .opt_date(a.end)
                    .text(a.title)
                    .flag(a.teacher)
                    .flag(a.supervisor)
                    .end()?;
                id += 1;
                if current(Some(a.start), a.end) && !plan.schools[a.school].online {
                    rows_at.push(a.school);
                    let priority = match (a.supervisor, a.teacher) {
                        (true, _) => 3,
                        (false, true) => 4,
                        (false, false) => 5,
                    };
                    exp.staff_role(staff.rec.pid, priority);
                }
            }
            rows_at.sort_unstable();
            rows_at.dedup();
            exp.staff += rows_at.len() as u64;
        }
    }
    Ok(())
}

fn write_enrollments(plan: &Plan, w: &mut Sql, exp: &mut Expected) -> io::Result<()> {
    let d = &plan.d;
    w.start(Some(&T_ENROLLMENT))?;
    let mut id = 20_001u32;
    for i in 0..d.n {
        let st = student(d, i);
        let enrs = enrollments(d, &st);
        let pid = plan.student_pid(i);
        let mut r = Rng::new(d.seed, ST_CONTACT, u64::from(i) | (1 << 40));
        let sped = r.per_mille(120);
        for e in &enrs {
            let cal = plan.cal_of(e);
            let next = e.next.and_then(|s| plan.cal(e.year + 1, s));
            w.row()
                .int(id)
                .int(pid)
                .int(cal.id)
                .int(cal.structure)
                .text(&grade_code(e.grade))
                .text(if e.primary { "P" } else { "S" })
                .date(e.start)
                .opt_date(e.end)
                .text(e.start_status)
                .opt_text(e.end_status)
                .opt_int(e.no_show)
                .opt_int(e.state_exclude)
                .int(YEARS[e.year])
                .flag(e.year == ACTIVE)
                .opt_int(next.map(|c| c.id))
                .opt_int(next.map(|c| c.structure))
                .opt_text(next.map(|_| grade_code(e.grade + 1)).as_deref())
                .text("0417")
                .null()
                .opt_text(sped.then_some("1"))
                .opt_text(sped.then_some("SLD"))
                .flag(r.per_mille(30))
                .end()?;
            id += 1;
        }
        let primary = primary_active(d, &enrs);
        let oneroster = oneroster_active(d, &enrs);
        exp.active_students += u64::from(primary);
        exp.oneroster_students += u64::from(oneroster);
        let list = match st.kind {
            Kind::NoShow => L::NoShow,
            Kind::StateExclude => L::StateExclude,
            Kind::ExcludedSchool => L::ExcludedSchool,
            Kind::ExcludedCalendar => L::ExcludedCalendar,
            Kind::NextYearOnly => L::NextYearOnly,
            Kind::WithdrawnBefore => L::WithdrawnBefore,
            Kind::LateStartAfter => L::NotStarted,
            Kind::LeftNeverClosed => L::LeftDistrict,
            Kind::ReEntry => L::ReEntered,
            Kind::TransferBefore | Kind::TransferAfter => L::Transferred,
            Kind::WithdrawnAfter | Kind::EndsOnAsOf => L::WithdrawnAfter,
            Kind::LateStartBefore | Kind::StartsOnAsOf => L::StartedByAsOf,
            Kind::SecondaryHere | Kind::SecondaryExcluded | Kind::SummerSchool => L::SecondaryEnrollment,
            Kind::SecondaryOnly => L::SecondaryOnly,
            Kind::Normal => {
                if primary && i < SHOW_LEN {
                    let sh = &SHOW[i as usize];
                    for name in [sh.first, sh.last] {
                        if !name.chars().all(|c| c.is_ascii_alphanumeric())
                            && !exp.awkward.iter().any(|a| a == name)
                        {
                            exp.awkward.push(name.to_string());
                        }
                    }
                }
                continue;
            }
        };
        let absent = LISTS[list as usize].1;
        let expected_present = !absent && (primary || list as usize == L::SecondaryOnly as usize);
        debug_assert!(if absent { !oneroster } else { expected_present && oneroster }, "student {i}");
        exp.add_person(list, plan, pid);
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------
// Schedules

/// Term dates of a calendar: trimesters (elementary) or quarters.
fn terms_of(level: Level, year: usize) -> Vec<(&'static str, Date, Date)> {
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

fn period_name(level: Level, p: u32) -> String {
    match (level, p) {
        (Level::Elem, 0) => "HR".to_string(),
        (Level::Elem, p) => p.to_string(),
        (Level::High, p) => (p + 1).to_string(),
    }
}

fn write_schedule_frame(plan: &Plan, w: &mut Sql, exp: &mut Expected) -> io::Result<()> {
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
struct StaffRow {
    pid: u32,
    primary: bool,
    start: Option<Date>,
    end: Option<Date>,
}

/// One section of a calendar's layout.
struct SectionRef<'p> {
    cal: &'p Cal,
    layout: &'p Layout,
    course: usize,
    k: u32,
}

impl SectionRef<'_> {
    fn ordinal(&self) -> u32 {
        self.layout.offset[self.course] + self.k
    }
    fn id(&self) -> u32 {
        self.layout.first_section + self.ordinal()
    }
    fn trial(&self) -> u32 {
        self.cal.sched.as_ref().expect("a trial").trial
    }
}

fn sections(plan: &Plan) -> impl Iterator<Item = SectionRef<'_>> {
    plan.cals.iter().filter_map(|cal| cal.layout.as_ref().map(|layout| (cal, layout))).flat_map(
        |(cal, layout)| {
            (0..layout.nsec.len()).flat_map(move |course| {
                (0..layout.nsec[course]).map(move |k| SectionRef { cal, layout, course, k })
            })
        },
    )
}

/// Whether a section of the active trial is in sections.sql.
fn section_active(plan: &Plan, sec: &SectionRef) -> bool {
    let school = &plan.schools[sec.cal.school];
    sec.cal.year == ACTIVE && !school.online && course_def(school.level, sec.course).active
}

fn staff_rows(plan: &Plan, sec: &SectionRef) -> Vec<StaffRow> {
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

fn write_courses_and_sections(plan: &Plan, w: &mut Sql, exp: &mut Expected) -> io::Result<()> {
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
        if let Some((trial, copy)) = draft_copies(&sec) {
            if let Some(first) = rows.iter().find(|r| r.primary) {
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
        }
        if section_active(plan, &sec) {
            let mut now: Vec<(u32, bool)> =
                rows.iter().filter(|r| current(r.start, r.end)).map(|r| (r.pid, !r.primary)).collect();
            now.sort_unstable();
            now.dedup_by_key(|x| x.0);
            for (pid, co) in now {
                exp.staff_role(pid, 2);
                if co {
                    exp.co_teacher_enrollments += 1;
                    exp.co_teachers.push(pid);
                } else {
                    exp.teacher_enrollments += 1;
                }
            }
        }
    }
    Ok(())
}

/// One Roster row of a student.
struct RosterRow {
    section: u32,
    trial: u32,
    start: Option<Date>,
    end: Option<Date>,
    /// The section is in sections.sql (active trial): (school) for the enrollment check.
    active_at: Option<usize>,
}

fn roster_rows(plan: &Plan, st: &Student, enrs: &[Enr]) -> Vec<RosterRow> {
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
            if let Some((trial, first)) = layout.draft {
                if let Some(j) = DRAFT_COPIES.iter().position(|&(dc, dk)| dc == c && dk == k) {
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
    }
    out
}

fn write_rosters(plan: &Plan, w: &mut Sql, exp: &mut Expected) -> io::Result<()> {
    let d = &plan.d;
    w.start(Some(&T_ROSTER))?;
    let mut id = 60_001u32;
    for i in 0..d.n {
        let st = student(d, i);
        let enrs = enrollments(d, &st);
        let pid = plan.student_pid(i);
        let rows = roster_rows(plan, &st, &enrs);
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
                if enrolled && current(row.start, row.end) {
                    now.push(row.section);
                }
            }
        }
        now.sort_unstable();
        now.dedup();
        exp.student_enrollments += now.len() as u64;
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    fn run(students: u64, seed: u64) -> (String, String) {
        let (mut sql, mut json) = (Vec::new(), Vec::new());
        generate(&Options { students, seed }, &mut sql, &mut json).expect("generate");
        (String::from_utf8(sql).expect("utf-8"), String::from_utf8(json).expect("utf-8"))
    }

    #[test]
    fn same_seed_gives_the_same_bytes_and_another_seed_does_not() {
        let a = run(300, 1);
        assert_eq!(a, run(300, 1));
        let b = run(300, 2);
        assert_ne!(a.0, b.0);
        assert_ne!(a.1, b.1);
    }

    #[test]
    fn the_traps_are_there() {
        let (sql, json) = run(300, 7);
        for needle in [
            "'O''Brien'",
            "'Zoë'",
            "'Nguyễn'",
            "'小明'",
            "'Иванов'",
            "'Washington, Jr.'",
            "'Robert \"Bobby\"'",
            "'Maeve O''Brien'",
            "'Draft - Semester 2 rebuild', 0)",
            "'Maple Valley Online Academy'",
            "'English 9, Honors'",
            "'Math 6–8 Accelerated'",
            "'Latin I', 0,",
        ] {
            assert!(sql.contains(needle), "{needle} is missing");
        }
        assert!(sql.starts_with("--") && sql.contains("\nBEGIN;\n") && sql.ends_with("\nCOMMIT;\n"));
        for list in LISTS.iter().map(|l| l.0) {
            let total = json
                .split(&format!("    \"{list}\": "))
                .nth(2)
                .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|n| n.parse::<u64>().ok());
            assert!(total.is_some_and(|n| n > 0), "list {list} is empty: {total:?}");
        }
    }

    #[test]
    fn statements_are_chunked_and_every_size_works() {
        for students in [0, 1, 66, 67, 5000] {
            let (sql, json) = run(students, 3);
            assert!(json.contains(&format!("\"students\": {students},")));
            let mut rows = 0;
            for line in sql.lines() {
                if line.starts_with("INSERT INTO") {
                    rows = 0;
                } else if line.starts_with("    (") {
                    rows += 1;
                    assert!(rows <= CHUNK);
                }
            }
        }
    }

    #[test]
    fn dates_round_trip() {
        for (y, m, d) in [(1970, 1, 1), (2000, 2, 29), (2026, 1, 15), (1960, 12, 31), (2027, 6, 4)] {
            assert_eq!(Date::ymd(y, m, d).parts(), (y, m, d));
        }
        assert_eq!(Date::ymd(1970, 1, 1), Date(0));
        assert_eq!(Date::ymd(2026, 1, 15).plus(17).iso(), "2026-02-01");
    }

    #[test]
    fn text_is_quoted_and_checked() {
        let mut out = Vec::new();
        let mut w = Sql::new(&mut out);
        w.start(Some(&T_ROOM)).unwrap();
        w.row().int(1).int(2).text("it's 'quoted'").end().unwrap();
        let long = "x".repeat(51);
        assert!(w.row().int(1).int(2).text(&long).end().is_err());
        w.start(None).unwrap();
        drop(w);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("(1, 2, 'it''s ''quoted''')"), "{text}");
    }
}

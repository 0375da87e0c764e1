//! Students: the kinds of trap, the 67-student showcase, and a student from its index.

use crate::*;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
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
pub(crate) const KIND_RATES: [(Kind, u64); 19] = [
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
pub(crate) enum StudentEmail {
    /// The general rule: name-based for grades 3 and up, else none.
    Auto,
    /// A blank ('') e-mail, not NULL.
    Blank,
    /// A Contact row (with a phone) whose e-mail is NULL.
    NullRow,
    /// This local part.
    Local(&'static str),
}

/// A student's own Campus login (UserAccount, homepage the student portal).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Acct {
    Enabled,
    /// Locked (lock = 1) after failed log-ins, but not disabled: still sent.
    Locked,
    /// disable = 1: not sent by default (people = "campus-accounts").
    Disabled,
    /// No UserAccount row at all: not sent by default.
    Missing,
}

impl Acct {
    /// What Campus's own feed needs: an enabled account.
    pub(crate) fn enabled(self) -> bool {
        matches!(self, Acct::Enabled | Acct::Locked)
    }
}

/// Per-mille rates of the account traps among generated students of Kind::Normal:
/// (missing, disabled, locked).
pub(crate) const ACCOUNT_RATES: (u64, u64, u64) = (8, 8, 4);

/// How a guardian's e-mail is set.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum GuardianEmail {
    Auto,
    Given(&'static str),
    Blank,
    /// A Contact row whose e-mail is NULL.
    NullRow,
    /// No Contact row at all.
    NoRow,
}

#[derive(Clone, Copy)]
pub(crate) struct ShowGuardian {
    pub(crate) first: &'static str,
    pub(crate) last: &'static str,
    pub(crate) gender: u8,
    pub(crate) rel: &'static str,
    pub(crate) guardian: bool,
    pub(crate) seq: Option<u8>,
    pub(crate) start: Option<Date>,
    pub(crate) end: Option<Date>,
    pub(crate) email: GuardianEmail,
    pub(crate) language: &'static str,
    /// Portal login is the name, with a space, instead of the e-mail.
    pub(crate) spaced_login: bool,
    /// The staff member at slot (first middle-high school, teacher 0) instead of a new person.
    pub(crate) staff: bool,
    /// The parent-portal account is disabled (disable = 1): no portal access.
    pub(crate) portal_disabled: bool,
}

pub(crate) const LINKED: Date = Date::ymd(2019, 8, 1);

pub(crate) const fn gd(
    first: &'static str,
    last: &'static str,
    gender: u8,
    rel: &'static str,
    seq: u8,
) -> ShowGuardian {
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
        portal_disabled: false,
    }
}

impl ShowGuardian {
    pub(crate) const fn email(mut self, email: GuardianEmail) -> Self {
        self.email = email;
        self
    }
    pub(crate) const fn language(mut self, language: &'static str) -> Self {
        self.language = language;
        self
    }
    pub(crate) const fn window(mut self, start: Option<Date>, end: Option<Date>) -> Self {
        self.start = start;
        self.end = end;
        self
    }
}

pub(crate) const F: u8 = b'F';
pub(crate) const M: u8 = b'M';

pub(crate) static G_OBRIEN: [ShowGuardian; 2] = [
    ShowGuardian { spaced_login: true, ..gd("Maeve", "O'Brien", F, "Mother", 1) }
        .email(GuardianEmail::Given("maeve.obrien@example.com")),
    gd("Patrick", "O'Brien", M, "Father", 2).email(GuardianEmail::NoRow),
];
pub(crate) static G_MULLER: [ShowGuardian; 2] = [
    gd("Katharina", "Müller", F, "Mother", 1).email(GuardianEmail::Given("katharina.mueller@example.com")),
    ShowGuardian { guardian: false, ..gd("Ingrid", "Schmidt", F, "Grandmother", 3) }
        .window(None, None)
        .email(GuardianEmail::NoRow),
];
pub(crate) static G_HERNANDEZ: [ShowGuardian; 1] =
    [gd("Rosa", "Hernández", F, "Mother", 1).email(GuardianEmail::Blank).language("Spanish")];
pub(crate) static G_NGUYEN: [ShowGuardian; 1] = [gd("Thanh", "Nguyễn", F, "Mother", 1)
    .email(GuardianEmail::Given("thanh.nguyen@example.com"))
    .language("Vietnamese")];
pub(crate) static G_WANG: [ShowGuardian; 2] = [
    gd("伟", "王", M, "Father", 1).email(GuardianEmail::Given("wei.wang@example.com")).language("Chinese"),
    gd("丽", "李", F, "Mother", 2).email(GuardianEmail::NoRow).language("Chinese"),
];
pub(crate) static G_FOSTER: [ShowGuardian; 2] = [
    gd("Dana", "Reed", F, "Foster Parent", 1)
        .window(Some(Date::ymd(2023, 2, 1)), Some(Date::ymd(2025, 9, 30)))
        .email(GuardianEmail::Given("dana.reed@example.com")),
    ShowGuardian { seq: None, ..gd("Carla", "Jackson", F, "Guardian", 1) }
        .window(Some(Date::ymd(2025, 10, 1)), None)
        .email(GuardianEmail::Given("carla.jackson@example.com")),
];
pub(crate) static G_IVANOVA: [ShowGuardian; 1] = [gd("Ольга", "Иванова", F, "Mother", 1)
    .email(GuardianEmail::Given("olga.ivanova@example.com"))
    .language("Russian")];
pub(crate) static G_WASHINGTON: [ShowGuardian; 1] =
    [gd("Marcus", "Washington, Sr.", M, "Father", 1)
        .email(GuardianEmail::Given("mwashington.sr@example.com"))];
pub(crate) static G_RAMIREZ: [ShowGuardian; 1] = [gd("María José", "Ramírez", F, "Mother", 1)
    .email(GuardianEmail::Given("mjramirez@example.com"))
    .language("Spanish")];
pub(crate) static G_BECKER: [ShowGuardian; 2] = [
    ShowGuardian { staff: true, ..gd("Thomas", "Becker", M, "Father", 1) },
    gd("Katrin", "Becker", F, "Mother", 2),
];
pub(crate) static G_DAMICO: [ShowGuardian; 1] = [ShowGuardian {
    portal_disabled: true,
    ..gd("Giulia", "D'Amico", F, "Mother", 1).email(GuardianEmail::Given("giulia.damico@example.com"))
}];

/// A hand-made student of the showcase.
#[derive(Clone, Copy)]
pub(crate) struct Show {
    pub(crate) first: &'static str,
    pub(crate) middle: Option<&'static str>,
    pub(crate) last: &'static str,
    pub(crate) gender: u8,
    /// Grade in 2025-26: -1 = kindergarten next year, 13 = left after grade 12 last year.
    pub(crate) grade: i8,
    pub(crate) kind: Kind,
    pub(crate) culture: usize,
    pub(crate) race: Option<u8>,
    /// Same family as the student before.
    pub(crate) sibling: bool,
    pub(crate) prior_last: Option<&'static str>,
    pub(crate) abroad: Option<(&'static str, Date)>,
    pub(crate) a: Date,
    pub(crate) b: Date,
    pub(crate) email: StudentEmail,
    pub(crate) switch: bool,
    pub(crate) latin: bool,
    pub(crate) guardians: &'static [ShowGuardian],
    pub(crate) account: Acct,
}

pub(crate) const fn s(first: &'static str, last: &'static str, gender: u8, grade: i8) -> Show {
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
        account: Acct::Enabled,
    }
}

impl Show {
    pub(crate) const fn account(mut self, account: Acct) -> Self {
        self.account = account;
        self
    }
    pub(crate) const fn mid(mut self, middle: &'static str) -> Self {
        self.middle = Some(middle);
        self
    }
    pub(crate) const fn of(mut self, culture: usize) -> Self {
        self.culture = culture;
        self
    }
    pub(crate) const fn race(mut self, race: u8) -> Self {
        self.race = Some(race);
        self
    }
    pub(crate) const fn is(mut self, kind: Kind, a: Date, b: Date) -> Self {
        self.kind = kind;
        self.a = a;
        self.b = b;
        self
    }
    pub(crate) const fn kind(self, kind: Kind) -> Self {
        self.is(kind, AS_OF, AS_OF)
    }
    pub(crate) const fn email(mut self, email: StudentEmail) -> Self {
        self.email = email;
        self
    }
    pub(crate) const fn guardians(mut self, guardians: &'static [ShowGuardian]) -> Self {
        self.guardians = guardians;
        self
    }
}

pub(crate) const fn ymd(y: i32, m: i32, day: i32) -> Date {
    Date::ymd(y, m, day)
}

/// The showcase: students 0.. of every district, at the first elementary school (grades
/// K-5) or the first middle-high school (6-12) unless their kind says otherwise.
pub(crate) static SHOW: [Show; SHOW_COUNT] = [
    s("Liam", "O'Brien", M, 0).mid("Patrick").of(IE).guardians(&G_OBRIEN),
    Show { sibling: true, ..s("Saoirse", "O'Brien", F, 8).of(IE) },
    Show { prior_last: Some("Schmidt"), ..s("Zoë", "Müller", F, 0).of(DE).guardians(&G_MULLER) },
    s("Mateo", "García", M, 0).of(ES),
    s("Ava", "Thompson", F, 0).mid("Grace"),
    s("Noah", "Williams", M, 0).race(4),
    s("Sofía", "Hernández-López", F, 1).of(ES).guardians(&G_HERNANDEZ),
    s("Bảo", "Nguyễn", M, 1).mid("Minh").of(VI).guardians(&G_NGUYEN),
    s("Chloe", "Martin", F, 1).account(Acct::Missing),
    s("Jackson", "Davis", M, 1).mid("Lee").race(4),
    s("Amelia", "Clark", F, 1).is(Kind::LateStartAfter, ymd(2026, 2, 2), AS_OF),
    Show { abroad: Some(("CN", ymd(2023, 7, 15))), ..s("小明", "王", M, 2).of(ZH).guardians(&G_WANG) },
    s("Olivia", "Brown", F, 2),
    s("Lucas", "Wilson", M, 2),
    s("Isabella", "Moore", F, 2).mid("Rose"),
    s("Henry", "Taylor", M, 2).kind(Kind::StateExclude),
    s("Robert \"Bobby\"", "Anderson", M, 3).mid("James"),
    s("Mia", "Jackson", F, 3).race(4).guardians(&G_FOSTER),
    s("Elijah", "White", M, 3).account(Acct::Disabled),
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
    s("Emily", "Green", F, 5).account(Acct::Locked),
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
pub(crate) const SHOW_COUNT: usize = 67;
pub(crate) const SHOW_LEN: u32 = SHOW_COUNT as u32;

/// A student as far as enrollment is concerned (names are in `student_person`).
pub(crate) struct Student {
    pub(crate) i: u32,
    pub(crate) kind: Kind,
    /// Grade in 2025-26 (see Show::grade).
    pub(crate) grade: i8,
    /// Index of the student's elementary and middle-high school within their level.
    pub(crate) elem: u32,
    pub(crate) high: u32,
    /// noShow / stateExclude NULL instead of 0 on the active enrollment.
    pub(crate) null_flags: bool,
    /// Changes sections of the first elective at the winter break.
    pub(crate) switch: bool,
    /// Also rostered in the section of the inactive course Latin I.
    pub(crate) latin: bool,
    /// Dates of the kind (withdrawal, start, transfer...).
    pub(crate) a: Date,
    pub(crate) b: Date,
    /// The student's own Campus login.
    pub(crate) account: Acct,
}

pub(crate) fn student(d: &Dims, i: u32) -> Student {
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
            null_flags: sh.kind == Kind::Normal && (i + 1).is_multiple_of(7),
            switch: sh.switch,
            latin: sh.latin,
            a: sh.a,
            b: sh.b,
            account: account_of(d, i, sh.kind, sh.account),
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
    let account = account_of(d, i, kind, Acct::Enabled);
    Student { i, kind, grade, elem, high, null_flags, switch, latin, a, b, account }
}

/// A student's account: disabled once they left (withdrawn, or gone with the enrollment
/// never closed); for generated students of Kind::Normal, at ACCOUNT_RATES, missing,
/// disabled or locked (its own random stream, so nothing else changes); else `given`.
fn account_of(d: &Dims, i: u32, kind: Kind, given: Acct) -> Acct {
    if matches!(kind, Kind::WithdrawnBefore | Kind::LeftNeverClosed) {
        return Acct::Disabled;
    }
    if i < SHOW_LEN || kind != Kind::Normal {
        return given;
    }
    let (missing, disabled, locked) = ACCOUNT_RATES;
    match Rng::new(d.seed, ST_ACCOUNT, u64::from(i)).below(1000) {
        x if x < missing => Acct::Missing,
        x if x < missing + disabled => Acct::Disabled,
        x if x < missing + disabled + locked => Acct::Locked,
        _ => Acct::Enabled,
    }
}

/// First member and size of a student's family. Showcase families are marked in SHOW; the
/// others come in blocks of four students split into families of 1 to 3.
pub(crate) fn family(d: &Dims, i: u32) -> (u32, u32) {
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
pub(crate) fn family_name(d: &Dims, head: u32) -> (usize, &'static str) {
    if let Some(sh) = SHOW.get(head as usize) {
        return (sh.culture, sh.last);
    }
    let mut r = Rng::new(d.seed, ST_FAMILY, u64::from(head));
    let culture = pick_culture(&mut r);
    (culture, r.pick(CULTURES[culture].last))
}

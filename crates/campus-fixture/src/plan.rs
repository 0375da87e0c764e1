//! The plan: schools, calendars, section counts, staff and id ranges.

use crate::*;

pub(crate) struct Dims {
    pub(crate) seed: u64,
    pub(crate) n: u32,
    pub(crate) n_elem: u32,
    pub(crate) n_high: u32,
}

impl Dims {
    pub(crate) fn schools(&self) -> usize {
        (self.n_elem + self.n_high + 1) as usize
    }
    pub(crate) fn online(&self) -> usize {
        (self.n_elem + self.n_high) as usize
    }
    pub(crate) fn elem(&self, k: u32) -> usize {
        k as usize
    }
    pub(crate) fn high(&self, k: u32) -> usize {
        (self.n_elem + k) as usize
    }
    pub(crate) fn level(&self, school: usize) -> Level {
        if school < self.n_elem as usize { Level::Elem } else { Level::High }
    }
    pub(crate) fn school_for(&self, st: &Student, grade: i8) -> usize {
        if grade <= 5 { self.elem(st.elem) } else { self.high(st.high) }
    }
}

pub(crate) const PLACES: [&str; 32] = [
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
pub(crate) const STREETS: [&str; 8] = [
    "Orchard Ln",
    "Ridge Rd",
    "Cedar St NE",
    "Lakeview Dr",
    "Kent-Kangley Rd",
    "SE 240th St",
    "Witte Rd SE",
    "Maple Ave",
];

pub(crate) struct School {
    pub(crate) id: u32,
    pub(crate) level: Level,
    /// Index within the level (0 for the online school).
    pub(crate) k: u32,
    pub(crate) online: bool,
    pub(crate) number: String,
    pub(crate) name: String,
    /// Used in calendar names (at most 35 characters).
    pub(crate) short: String,
    /// Teachers of the pool, staff serial of the principal (staff index 0), staff count.
    pub(crate) pool: u32,
    pub(crate) staff_base: u32,
    pub(crate) nstaff: u32,
    pub(crate) room_base: u32,
    /// A teacher (pool index 1) leaves at the winter break; a replacement takes over.
    pub(crate) retire: bool,
    /// Pool teacher 2 also has a later, second assignment at this school.
    pub(crate) chair: bool,
    /// Pool teacher 0 also works at this middle-high school.
    pub(crate) itinerant: Option<usize>,
    /// A teacher hired to start after the as-of date.
    pub(crate) future_hire: bool,
    /// The active-year calendar has a draft trial, and there is a sandbox calendar.
    pub(crate) draft: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
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
    pub(crate) fn role(&self, idx: u32) -> Role {
        match idx {
            0 => Role::Principal,
            i if i <= self.pool => Role::Teacher(i - 1),
            i if i == self.pool + 1 => Role::Co,
            i if i == self.pool + 2 => Role::Aide,
            i if i == self.pool + 3 && self.retire => Role::Replacement,
            _ => Role::FutureHire,
        }
    }
    pub(crate) fn idx(&self, role: Role) -> u32 {
        match role {
            Role::Principal => 0,
            Role::Teacher(t) => 1 + t,
            Role::Co => self.pool + 1,
            Role::Aide => self.pool + 2,
            Role::Replacement => self.pool + 3,
            Role::FutureHire => self.pool + 3 + u32::from(self.retire),
        }
    }
    pub(crate) fn load(&self) -> u32 {
        if self.level == Level::Elem { ELEM_LOAD } else { HIGH_LOAD }
    }
    /// Pool index of the teacher who leaves at the winter break.
    pub(crate) const RETIRING: u32 = 1;
}

pub(crate) struct Sched {
    pub(crate) trial: u32,
    pub(crate) term_schedule: u32,
    pub(crate) first_term: u32,
    pub(crate) nterms: u32,
    pub(crate) period_schedule: u32,
    pub(crate) first_period: u32,
    pub(crate) nperiods: u32,
}

pub(crate) struct Layout {
    pub(crate) first_course: u32,
    pub(crate) first_section: u32,
    /// Sections of each course, and the ordinal of its first section in the calendar.
    pub(crate) nsec: Vec<u32>,
    pub(crate) offset: Vec<u32>,
    /// The draft trial, and the id of its first copied section.
    pub(crate) draft: Option<(u32, u32)>,
}

pub(crate) struct Cal {
    pub(crate) id: u32,
    pub(crate) school: usize,
    pub(crate) year: usize,
    pub(crate) place: Place,
    pub(crate) structure: u32,
    pub(crate) sched: Option<Sched>,
    pub(crate) layout: Option<Layout>,
}

pub(crate) struct Plan {
    pub(crate) d: Dims,
    pub(crate) schools: Vec<School>,
    pub(crate) cals: Vec<Cal>,
    /// Regular calendar of each (school, year).
    pub(crate) regular: Vec<[Option<usize>; 3]>,
    pub(crate) sandbox: Vec<Option<usize>>,
    pub(crate) summer: Vec<Option<usize>>,
    pub(crate) staff_total: u32,
    pub(crate) student_base: u32,
    pub(crate) guardian_base: u32,
    pub(crate) orphan_base: u32,
    pub(crate) orphans: u32,
}

/// Next value of an id sequence.
pub(crate) fn take(counter: &mut u32, n: u32) -> u32 {
    let id = *counter;
    *counter += n;
    id
}

pub(crate) fn round_up(x: u32, to: u32) -> u32 {
    x.div_ceil(to) * to
}

impl Plan {
    pub(crate) fn new(seed: u64, n: u32) -> Plan {
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

    pub(crate) fn seed(&self) -> u64 {
        self.d.seed
    }

    pub(crate) fn cal(&self, year: usize, school: usize) -> Option<&Cal> {
        self.regular[school][year].map(|c| &self.cals[c])
    }

    pub(crate) fn cal_of(&self, e: &Enr) -> &Cal {
        let index = match e.place {
            Place::Regular => self.regular[e.school][e.year],
            Place::Sandbox => self.sandbox[e.school],
            Place::Summer => self.summer[e.school],
        };
        &self.cals[index.expect("calendar of an enrollment")]
    }

    pub(crate) fn student_pid(&self, i: u32) -> u32 {
        self.student_base + i
    }

    /// The staff member whose work account is disabled: the first school's aide.
    pub(crate) fn disabled_staff(&self) -> u32 {
        self.staff_pid(0, Role::Aide)
    }
    /// The staff member who also has a parent-portal account: the guardian of the showcase
    /// student Lily Becker (first middle-high school, teacher 0).
    pub(crate) fn portal_staff(&self) -> u32 {
        self.staff_pid(self.d.high(0), Role::Teacher(0))
    }
    pub(crate) fn staff_pid(&self, school: usize, role: Role) -> u32 {
        let s = &self.schools[school];
        FIRST_PERSON + s.staff_base + s.idx(role)
    }

    pub(crate) fn guardian_pid(&self, head: u32, slot: u32) -> u32 {
        self.guardian_base + head * 8 + slot
    }

    pub(crate) fn person_guid(&self, pid: u32) -> String {
        guid(self.seed(), ST_GUID_PERSON, pid)
    }

    /// The teacher in charge of the section with this ordinal in its calendar.
    pub(crate) fn pool_teacher(&self, school: usize, ordinal: u32) -> u32 {
        let s = &self.schools[school];
        (ordinal / s.load()) % s.pool
    }

    /// Sections (course, section index) of a student with a full schedule in a calendar.
    pub(crate) fn schedule(&self, i: u32, year: usize, school: usize, grade: i8) -> Vec<(usize, u32)> {
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

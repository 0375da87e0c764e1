//! People: persons, identities, contacts, accounts, guardians, staff, employment and enrollments.

use crate::*;

pub(crate) struct ContactRec {
    pub(crate) email: Option<String>,
    pub(crate) phone: Option<String>,
    pub(crate) language: &'static str,
}

pub(crate) struct AccountRec {
    pub(crate) username: String,
    /// UserAccount.homepage: PARENT_HOME for parent-portal accounts, STUDENT_HOME for
    /// students, none for staff.
    pub(crate) homepage: Option<&'static str>,
    pub(crate) saml: bool,
    pub(crate) disable: bool,
    pub(crate) lock: bool,
}

impl AccountRec {
    /// An enabled parent-portal account: what Campus's feed needs to send a guardian.
    pub(crate) fn portal_access(&self) -> bool {
        self.homepage == Some(PARENT_HOME) && !self.disable
    }
}

/// Everything the Person, "identity", Contact and UserAccount rows of one person need.
pub(crate) struct PersonRec {
    pub(crate) pid: u32,
    /// Person.currentIdentityID is set (false for orphans).
    pub(crate) identity: bool,
    pub(crate) first: Cow<'static, str>,
    pub(crate) middle: Option<Cow<'static, str>>,
    pub(crate) last: Cow<'static, str>,
    /// Family name of an older identity.
    pub(crate) prior_last: Option<&'static str>,
    pub(crate) gender: u8,
    pub(crate) birth: Option<Date>,
    pub(crate) race: Option<u8>,
    pub(crate) lang: Option<&'static str>,
    pub(crate) country: Option<&'static str>,
    pub(crate) entered_us: Option<Date>,
    pub(crate) student_number: Option<u32>,
    pub(crate) staff_number: Option<u32>,
    pub(crate) contact: Option<ContactRec>,
    pub(crate) account: Option<AccountRec>,
    /// A second, parent-portal account of a staff member who is also a parent. Its userID
    /// is lower than the work account's, so "the lowest userID" would pick it.
    pub(crate) parent_account: Option<AccountRec>,
}

impl PersonRec {
    pub(crate) fn bare(pid: u32, first: Cow<'static, str>, last: Cow<'static, str>, gender: u8) -> PersonRec {
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
            parent_account: None,
        }
    }
}

pub(crate) fn identity_id(pid: u32, current: bool) -> u32 {
    pid * 2 + u32::from(current)
}

pub(crate) struct Assignment {
    pub(crate) school: usize,
    pub(crate) title: &'static str,
    pub(crate) teacher: bool,
    pub(crate) supervisor: bool,
    /// A non-teaching staff flag other than supervisor (Campus has counselor, health,
    /// specialEd, program, behavior, rti, advisor, foodService…): the column it sets.
    pub(crate) flag: Option<&'static str>,
    pub(crate) start: Date,
    pub(crate) end: Option<Date>,
}

pub(crate) struct StaffRec {
    pub(crate) rec: PersonRec,
    pub(crate) email: Option<String>,
    pub(crate) assignments: Vec<Assignment>,
}

/// Fixed names of the showcase staff: (first, middle, last, gender, birth, race).
pub(crate) type StaffName = (&'static str, Option<&'static str>, &'static str, u8, Date, u8);

pub(crate) fn staff_name(plan: &Plan, s: usize, role: Role) -> Option<StaffName> {
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

pub(crate) fn staff_person(plan: &Plan, s: usize, idx: u32) -> StaffRec {
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
        flag: None,
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
        // A high school's counselor: Campus's own feed makes any non-teaching flag an
        // administrator; sis-extract once sent counselors as aides.
        Role::Aide if school.level == Level::High => {
            Assignment { flag: Some("counselor"), ..asg("School Counselor", false, false, since) }
        }
        Role::Aide => asg("Instructional Aide", false, false, since),
        Role::Replacement => asg("Teacher", true, false, BREAK_END),
        Role::FutureHire => asg("Teacher", true, false, LATER_HIRE),
    }];
    if role == Role::Teacher(0)
        && let Some(other) = school.itinerant
    {
        assignments.push(Assignment { school: other, ..asg("Band Director", true, false, since) });
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
        account: Some(AccountRec {
            username: local,
            homepage: None,
            saml: true,
            // One aide's account was disabled (on leave): Campus's feed leaves her out.
            disable: pid == plan.disabled_staff(),
            lock: false,
        }),
        // The teacher who is also a parent (Lily Becker's father) has a parent-portal
        // account too, created before his work account.
        parent_account: (pid == plan.portal_staff()).then(|| AccountRec {
            username: format!("{}.home@example.com", slug(&last)),
            homepage: Some(PARENT_HOME),
            saml: false,
            disable: false,
            lock: false,
        }),
        ..PersonRec::bare(pid, Cow::Borrowed(first), last, gender)
    };
    StaffRec { rec, email, assignments }
}

pub(crate) fn student_person(plan: &Plan, st: &Student) -> PersonRec {
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
    // Every student has a portal account, whatever their e-mail, unless it is missing.
    let account = (st.account != Acct::Missing).then(|| AccountRec {
        username: format!("s{number}"),
        homepage: Some(STUDENT_HOME),
        saml: false,
        disable: st.account == Acct::Disabled,
        lock: st.account == Acct::Locked,
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
pub(crate) struct Rel {
    pub(crate) pid: u32,
    pub(crate) person: Option<PersonRec>,
    pub(crate) name: &'static str,
    pub(crate) guardian: bool,
    pub(crate) seq: Option<u8>,
    pub(crate) start: Option<Date>,
    pub(crate) end: Option<Date>,
}

pub(crate) fn guardian_person(
    pid: u32,
    (first, last, gender): (Cow<'static, str>, Cow<'static, str>, u8),
    email: GuardianEmail,
    language: &'static str,
    spaced_login: bool,
    portal_disabled: bool,
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
            homepage: Some(PARENT_HOME),
            saml: false,
            disable: portal_disabled,
            lock: false,
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
pub(crate) fn family_rels(plan: &Plan, head: u32) -> Vec<Rel> {
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
                    let person =
                        guardian_person(pid, names, g.email, g.language, g.spaced_login, g.portal_disabled);
                    (pid, Some(person))
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
        let person = guardian_person(pid, names, email, cu.language, spaced, false);
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
pub(crate) fn for_each_person(
    plan: &Plan,
    f: &mut dyn FnMut(&PersonRec) -> io::Result<()>,
) -> io::Result<()> {
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
        rec.parent_account = None;
        f(&rec)?;
    }
    Ok(())
}

pub(crate) fn write_people(plan: &Plan, w: &mut Sql, exp: &mut Expected) -> io::Result<()> {
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
    let account_row = |w: &mut Sql, user_id: u32, pid: u32, account: &AccountRec| {
        w.row()
            .int(user_id)
            .int(pid)
            .text(&account.username)
            .opt_text(account.homepage)
            .flag(account.saml)
            .opt_int(account.saml.then_some(1))
            .flag(account.disable)
            .flag(account.lock)
            .null()
            .stamp(Date::ymd(2025, 8, 1), 7 * 60 + 30)
            .end()
    };
    // Staff members' parent accounts first, so their userIDs are the lower ones.
    let mut user_id = 801u32;
    for_each_person(plan, &mut |p| {
        let Some(account) = &p.parent_account else { return Ok(()) };
        user_id += 1;
        account_row(w, user_id - 1, p.pid, account)
    })?;
    let mut user_id = 901u32;
    for_each_person(plan, &mut |p| {
        let Some(account) = &p.account else { return Ok(()) };
        user_id += 1;
        account_row(w, user_id - 1, p.pid, account)
    })?;
    Ok(())
}

pub(crate) fn write_related_pairs(plan: &Plan, w: &mut Sql, exp: &mut Expected) -> io::Result<()> {
    let d = &plan.d;
    w.start(Some(&T_RELATED_PAIR))?;
    let mut pair_id = 1501u32;
    for i in 0..d.n {
        let st = student(d, i);
        let enrs = enrollments(d, &st);
        // A user by default (people = "campus-accounts"), and with people = "everyone".
        let (user, anyone) = (oneroster_user(d, &st, &enrs), primary_active(d, &enrs));
        let (head, len) = family(d, i);
        let mut rels = family_rels(plan, head);
        // Clever: one students.csv row per contact (a guardian of users.sql), or one row.
        let mut contacts: Vec<u32> = Vec::new();
        for rel in &rels {
            if rel.guardian {
                let portal = match &rel.person {
                    Some(person) => person.account.as_ref().is_some_and(AccountRec::portal_access),
                    None => rel.pid == plan.portal_staff(),
                };
                let now = current(rel.start, rel.end);
                exp.guardian_links.push(Link {
                    pid: rel.pid,
                    portal,
                    linked: portal && now && user,
                    anyone: now && anyone,
                });
                if portal && now && user {
                    contacts.push(rel.pid);
                }
            } else if i == head {
                exp.add_person(L::NonGuardians, plan, rel.pid);
            }
        }
        if user {
            contacts.sort_unstable();
            contacts.dedup();
            exp.clever_student_rows += contacts.len().max(1) as u64;
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

pub(crate) fn write_employment(plan: &Plan, w: &mut Sql, exp: &mut Expected) -> io::Result<()> {
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
                    .flag(a.flag == Some("counselor"))
                    .end()?;
                id += 1;
                if current(Some(a.start), a.end) && !plan.schools[a.school].online {
                    rows_at.push(a.school);
                    let priority = match (a.supervisor || a.flag.is_some(), a.teacher) {
                        (true, _) => 3,
                        (false, true) => 4,
                        (false, false) => 5,
                    };
                    if exp.staff_role(staff.rec.pid, priority) {
                        exp.staff_schools.insert((staff.rec.pid, a.school));
                    }
                }
            }
            rows_at.sort_unstable();
            rows_at.dedup();
            exp.staff += rows_at.len() as u64;
        }
    }
    Ok(())
}

pub(crate) fn write_enrollments(plan: &Plan, w: &mut Sql, exp: &mut Expected) -> io::Result<()> {
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
        let oneroster = oneroster_user(d, &st, &enrs);
        exp.active_students += u64::from(primary);
        exp.oneroster_students += u64::from(oneroster);
        if st.kind == Kind::Normal {
            let list = match st.account {
                Acct::Missing => Some(L::StudentsWithoutAccount),
                Acct::Disabled => Some(L::StudentAccountsDisabled),
                Acct::Locked => Some(L::LockedAccounts),
                Acct::Enabled => None,
            };
            if let Some(list) = list {
                debug_assert_eq!(oneroster, st.account.enabled(), "student {i}");
                exp.add_person(list, plan, pid);
            }
        }
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
                if oneroster && i < SHOW_LEN {
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
        let expected_present = !absent && primary;
        debug_assert!(if absent { !oneroster } else { expected_present && oneroster }, "student {i}");
        exp.add_person(list, plan, pid);
    }
    Ok(())
}

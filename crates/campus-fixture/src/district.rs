//! Tables: district, schools, years, calendars.

use crate::*;

pub(crate) fn write_district(plan: &Plan, w: &mut Sql, exp: &mut Expected) -> io::Result<()> {
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

pub(crate) fn cal_name(plan: &Plan, cal: &Cal) -> String {
    let school = &plan.schools[cal.school];
    let year = YEARS[cal.year];
    let label = format!("{:02}-{:02}", (year - 1) % 100, year % 100);
    match cal.place {
        Place::Regular => format!("{label} {}", school.short),
        Place::Sandbox => format!("{label} {} Sandbox", school.short),
        Place::Summer => format!("{label} {} Summer", school.short),
    }
}

pub(crate) fn grades_of(level: Level) -> std::ops::RangeInclusive<i8> {
    if level == Level::Elem { 0..=5 } else { 6..=12 }
}

pub(crate) fn write_calendars(plan: &Plan, w: &mut Sql) -> io::Result<()> {
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

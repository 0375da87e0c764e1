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

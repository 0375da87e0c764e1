//! One consistent snapshot per set, against a writer that keeps committing related rows
//! (a person and their enrollment, in one transaction) all through a slow extract; the
//! session naming itself to the server; and a lost connection retried.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::{ConfigBuilder, JobBuilder, Workspace, parse_csv, psql, service, sqlite};

fn owner(sql: &str) -> String {
    psql(&service("SIS_TEST_PG_OWNER_URL"), sql)
}

/// A name no other test uses (tests run in parallel against one database).
fn table(test: &str) -> String {
    format!("t_{test}_{}", std::process::id())
}

/// A workspace whose job `pairs` reads the PostgreSQL test database as the read-only role.
fn pg_workspace(job: JobBuilder, extra_source: &str) -> Workspace {
    let mut ws = Workspace::new();
    ws.set_env("SIS_TEST_DB_PASSWORD", &service("SIS_TEST_PG_READER_PASSWORD"));
    std::fs::create_dir_all(ws.path("out")).unwrap();
    ConfigBuilder::new()
        .source(&service("SIS_TEST_PG_CONN"))
        .source_key("user", &service("SIS_TEST_PG_READER_USER"))
        .source_raw("password = { env = \"SIS_TEST_DB_PASSWORD\" }")
        .source_raw(extra_source)
        .job(job)
        .write(&ws);
    ws
}

/// People `1..=40`, each with one enrollment.
fn create_pairs(people: &str, enrollments: &str) {
    owner(&format!(
        "CREATE TABLE {people} (id int PRIMARY KEY);
         CREATE TABLE {enrollments} (person_id int);
         INSERT INTO {people} SELECT g FROM generate_series(1, 40) g;
         INSERT INTO {enrollments} SELECT g FROM generate_series(1, 40) g;"
    ));
}

/// A PostgreSQL writer that, every 20 ms for about 4 s, adds person `k` with their
/// enrollment and removes person `k - 40` with theirs, each pair in one transaction.
fn start_pg_writer(people: &str, enrollments: &str) -> Child {
    let sql = format!(
        "DO $$ BEGIN FOR k IN 41..240 LOOP
           INSERT INTO {people} VALUES (k); INSERT INTO {enrollments} VALUES (k);
           DELETE FROM {enrollments} WHERE person_id = k - 40; DELETE FROM {people} WHERE id = k - 40;
           COMMIT; PERFORM pg_sleep(0.02);
         END LOOP; END $$;"
    );
    Command::new("psql")
        .args([service("SIS_TEST_PG_OWNER_URL").as_str(), "-q", "-v", "ON_ERROR_STOP=1", "-c", &sql])
        .stdout(Stdio::null())
        .spawn()
        .expect("start psql")
}

/// The ids in the first column of `file` in the kept set.
fn ids(ws: &Workspace, file: &str) -> BTreeSet<i64> {
    let text = std::fs::read_to_string(ws.path("kept").join(file)).unwrap();
    parse_csv(&text).into_iter().skip(1).map(|row| row[0].parse().unwrap()).collect()
}

/// Three queries: the people, a slow one (1.5 s), then the enrollments. The writer
/// changes about 75 pairs while the slow one runs.
fn write_pair_queries(ws: &Workspace, people: &str, enrollments: &str, slow: &str) {
    ws.write("q/a_people.sql", &format!("SELECT id FROM {people} ORDER BY id"));
    ws.write("q/b_slow.sql", slow);
    ws.write("q/c_enrollments.sql", &format!("SELECT person_id FROM {enrollments} ORDER BY person_id"));
}

/// Runs the job while `writer` writes; the writer must still be running when the run
/// ends (so it wrote all through the extract), and is then waited for.
fn run_during(ws: &Workspace, mut writer: Child, args: &[&str]) -> crate::support::Run {
    std::thread::sleep(Duration::from_millis(300));
    assert!(writer.try_wait().unwrap().is_none(), "the writer ended before the run started");
    let run = ws.run(args);
    assert!(writer.try_wait().unwrap().is_none(), "the writer ended before the run did: {}", run.both());
    assert!(writer.wait().unwrap().success(), "the writer failed");
    run
}

#[test]
fn postgres_snapshot_sees_every_pair_whole_and_per_query_does_not() {
    let (people, enrollments) = (table("snap_people"), table("snap_enr"));
    create_pairs(&people, &enrollments);
    let slow = "SELECT 1 AS waited FROM pg_sleep(1.5)";

    let ws = pg_workspace(JobBuilder::csv("pairs", "q").key("archive", "pairs.zip"), "");
    write_pair_queries(&ws, &people, &enrollments, slow);
    let run = run_during(&ws, start_pg_writer(&people, &enrollments), &["run", "--keep", "kept"]);
    run.assert_ok();
    assert!(
        run.stdout.contains("database read: snapshot: one REPEATABLE READ READ ONLY transaction"),
        "{}",
        run.stdout
    );
    let (seen_people, seen_enrollments) = (ids(&ws, "a_people.csv"), ids(&ws, "c_enrollments.csv"));
    assert_eq!(seen_people.len(), 40);
    assert_eq!(seen_people, seen_enrollments, "every enrollment's person, and only those, in one snapshot");
    let history = ws.history();
    assert!(history[0]["consistency"].as_str().unwrap().starts_with("snapshot: "), "{history:?}");

    // The same job reading per query: the writer's pairs fall apart between the queries.
    create_pairs(&format!("{people}_b"), &format!("{enrollments}_b"));
    let (people, enrollments) = (format!("{people}_b"), format!("{enrollments}_b"));
    let ws = pg_workspace(
        JobBuilder::csv("pairs", "q").key("archive", "pairs.zip").key("consistency", "per-query"),
        "",
    );
    write_pair_queries(&ws, &people, &enrollments, slow);
    let run = run_during(&ws, start_pg_writer(&people, &enrollments), &["run", "--keep", "kept"]);
    run.assert_ok();
    assert!(run.stdout.contains("database read: per query (consistency = \"per-query\")"), "{}", run.stdout);
    let (seen_people, seen_enrollments) = (ids(&ws, "a_people.csv"), ids(&ws, "c_enrollments.csv"));
    assert!(
        seen_enrollments.difference(&seen_people).count() > 0,
        "per query, some enrollments point to people the first query did not see: {seen_people:?} {seen_enrollments:?}"
    );
}

/// A minimal OneRoster 1.1 set whose users and enrollments come from the writer's tables;
/// `orgs.sql` runs between `enrollments.sql` and `users.sql` (the files run in name order)
/// and takes 1.5 s.
fn write_oneroster_pair_queries(ws: &Workspace, people: &str, enrollments: &str) {
    let files = [
        (
            "academicSessions",
            "SELECT 't1' AS sourcedId, 'Year' AS title, 'schoolYear' AS type, \
             CAST('2026-08-01' AS date) AS startDate, CAST('2027-06-30' AS date) AS endDate, '2027' AS schoolYear",
        ),
        (
            "classes",
            "SELECT 'c1' AS sourcedId, 'Class' AS title, 'k1' AS courseSourcedId, 'scheduled' AS classType, \
             'o1' AS schoolSourcedId, 't1' AS termSourcedIds",
        ),
        ("courses", "SELECT 'k1' AS sourcedId, 'Course' AS title, 'o1' AS orgSourcedId"),
        (
            "enrollments",
            &format!(
                "SELECT 'e' || person_id AS sourcedId, 'c1' AS classSourcedId, 'o1' AS schoolSourcedId, \
                 'u' || person_id AS userSourcedId, 'student' AS role FROM {enrollments}"
            ),
        ),
        ("orgs", "SELECT 'o1' AS sourcedId, 'School' AS name, 'school' AS type FROM pg_sleep(1.5)"),
        (
            "users",
            &format!(
                "SELECT 'u' || id AS sourcedId, 1 AS enabledUser, 'o1' AS orgSourcedIds, 'student' AS role, \
                 'user' || id AS username, 'Given' AS givenName, 'Family' AS familyName FROM {people}"
            ),
        ),
    ];
    for (name, sql) in files {
        ws.write(&format!("q/{name}.sql"), sql);
    }
}

#[test]
fn per_query_reading_lets_validation_catch_a_dangling_enrollment_and_nothing_is_delivered() {
    let (people, enrollments) = (table("or_people"), table("or_enr"));
    create_pairs(&people, &enrollments);
    let job = JobBuilder::csv("roster", "q")
        .key("format", "oneroster-1.1")
        .key("archive", "roster.zip")
        .key("consistency", "per-query");
    let ws = pg_workspace(job, "");
    write_oneroster_pair_queries(&ws, &people, &enrollments);
    let run = run_during(&ws, start_pg_writer(&people, &enrollments), &["run"]);
    run.assert_code(1).assert_stderr_contains("failed validation");
    assert!(run.stderr.contains("userSourcedId"), "{}", run.stderr);
    assert!(crate::support::listing(&ws.path("out")).is_empty(), "nothing delivered");

    // The default reads one snapshot: the same set under the same writer is whole.
    let (people, enrollments) = (format!("{people}_b"), format!("{enrollments}_b"));
    create_pairs(&people, &enrollments);
    let job = JobBuilder::csv("roster", "q").key("format", "oneroster-1.1").key("archive", "roster.zip");
    let ws = pg_workspace(job, "");
    write_oneroster_pair_queries(&ws, &people, &enrollments);
    let run = run_during(&ws, start_pg_writer(&people, &enrollments), &["run"]);
    run.assert_ok();
    assert_eq!(crate::support::listing(&ws.path("out")), ["roster.zip"]);
}

/// A SQLite writer in its own process: WAL mode, so that it can commit while the
/// extract's read transaction is open (in rollback-journal mode it would wait for it).
fn start_sqlite_writer(db: &Path) -> Child {
    let script = "PRAGMA busy_timeout = 5000;\n".to_string()
        + &(41..240)
            .map(|k| {
                format!(
                    "BEGIN; INSERT INTO people VALUES ({k}); INSERT INTO enrollments VALUES ({k}); \
                     DELETE FROM enrollments WHERE person_id = {old}; DELETE FROM people WHERE id = {old}; COMMIT;\n\
                     SELECT 1 FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60000) SELECT count(*) FROM n);\n",
                    old = k - 40
                )
            })
            .collect::<String>();
    let mut child = Command::new("sqlite3")
        .arg(db)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("start sqlite3");
    let mut stdin = child.stdin.take().unwrap();
    std::thread::spawn(move || std::io::Write::write_all(&mut stdin, script.as_bytes()));
    child
}

#[test]
fn sqlite_reads_one_snapshot_while_a_writer_commits() {
    let ws = Workspace::new();
    let db = ws.path("sis.db");
    sqlite(
        &db,
        "PRAGMA journal_mode = WAL;
         CREATE TABLE people (id int PRIMARY KEY); CREATE TABLE enrollments (person_id int);
         WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 40)
         INSERT INTO people SELECT i FROM g;
         INSERT INTO enrollments SELECT id FROM people;",
    );
    // About a second of work for SQLite, between the two reads.
    let slow = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000) \
                SELECT count(*) AS counted FROM n";
    std::fs::create_dir_all(ws.path("out")).unwrap();
    for (consistency, whole) in [("auto", true), ("per-query", false)] {
        let _ = std::fs::remove_dir_all(ws.path("kept"));
        let _ = std::fs::remove_file(ws.path("history.jsonl"));
        ConfigBuilder::new()
            .sqlite(&db)
            .job(JobBuilder::csv("pairs", "q").key("archive", "pairs.zip").key("consistency", consistency))
            .write(&ws);
        write_pair_queries(&ws, "people", "enrollments", slow);
        let run = run_during(&ws, start_sqlite_writer(&db), &["run", "--keep", "kept", "--force"]);
        run.assert_ok();
        let (seen_people, seen_enrollments) = (ids(&ws, "a_people.csv"), ids(&ws, "c_enrollments.csv"));
        if whole {
            assert!(run.stdout.contains("snapshot: one SQLite read transaction"), "{}", run.stdout);
            assert_eq!(seen_people, seen_enrollments, "one snapshot");
        } else {
            assert_ne!(seen_people, seen_enrollments, "per query, the pairs fall apart");
        }
        // Reset the tables for the next round.
        sqlite(
            &db,
            "DELETE FROM people; DELETE FROM enrollments;
             WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 40)
             INSERT INTO people SELECT i FROM g;
             INSERT INTO enrollments SELECT id FROM people;",
        );
    }
}

#[test]
fn an_unknown_consistency_is_a_config_error_that_lists_the_choices() {
    // (A job that sets "snapshot" where the database has none, SQL Server without
    // ALLOW_SNAPSHOT_ISOLATION, cannot be made here: PostgreSQL and SQLite always have one.)
    let ws = Workspace::new();
    ConfigBuilder::new()
        .sqlite(&ws.path("x.db"))
        .job(JobBuilder::csv("j", "q").key("consistency", "sometimes"))
        .write(&ws);
    let run = ws.run(&["config"]);
    run.assert_code(2);
    for word in ["consistency", "snapshot", "per-query"] {
        assert!(run.stderr.contains(word), "{}", run.stderr);
    }
}

#[test]
fn the_session_names_itself_and_reads_read_only() {
    let ws = pg_workspace(JobBuilder::csv("schoolstatus", "q").key("archive", "s.zip"), "");
    ws.write(
        "q/session.sql",
        "SELECT application_name, current_setting('transaction_isolation') AS isolation, \
         current_setting('transaction_read_only') AS read_only \
         FROM pg_stat_activity WHERE pid = pg_backend_pid()",
    );
    ws.run(&["run", "--keep", "kept"]).assert_ok();
    let text = std::fs::read_to_string(ws.path("kept/session.csv")).unwrap();
    let rows = parse_csv(&text);
    assert_eq!(
        rows[1],
        [
            format!("sis-extract {} (job schoolstatus)", env!("CARGO_PKG_VERSION")),
            "repeatable read".to_string(),
            "on".to_string()
        ]
    );
    let check = ws.run(&["check"]);
    assert!(
        check.stdout.contains("consistency") && check.stdout.contains("job schoolstatus: snapshot"),
        "{}",
        check.stdout
    );
}

#[test]
fn a_lost_connection_is_retried_from_a_new_connection_and_a_second_loss_fails_clearly() {
    let reader = service("SIS_TEST_PG_READER_USER");
    let marker = table("retry");
    // The first query sleeps; while it does, the test ends its session from outside, as
    // a failover or a restarted server would.
    let job = JobBuilder::csv("retry", "q").key("archive", "retry.zip");
    let ws = pg_workspace(job, "retry_delay = \"1s\"");
    ws.write("q/slow.sql", &format!("SELECT '{marker}' AS marker FROM pg_sleep(2)"));
    let terminate = format!(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE usename = '{reader}' AND query LIKE '%{marker}%' AND query NOT LIKE '%pg_stat_activity%'"
    );
    let killer = {
        let terminate = terminate.clone();
        std::thread::spawn(move || {
            // Once: the session of the first attempt.
            for _ in 0..40 {
                std::thread::sleep(Duration::from_millis(100));
                if psql(&service("SIS_TEST_PG_SUPERUSER_URL"), &terminate).trim() == "1" {
                    return true;
                }
            }
            false
        })
    };
    let run = ws.run(&["run"]);
    assert!(killer.join().unwrap(), "the test never found the session to end");
    run.assert_ok();
    assert!(run.stderr.contains("transient database failure"), "{}", run.stderr);
    assert!(run.stdout.contains("read again 1 time(s)"), "{}", run.stdout);
    assert_eq!(ws.history()[0]["extract_retries"], 1);

    // With no retries left, the same loss fails the run and says so.
    let ws = pg_workspace(JobBuilder::csv("retry", "q").key("archive", "retry.zip"), "retries = 0");
    ws.write("q/slow.sql", &format!("SELECT '{marker}' AS marker FROM pg_sleep(2)"));
    let killer = std::thread::spawn(move || {
        for _ in 0..40 {
            std::thread::sleep(Duration::from_millis(100));
            if psql(&service("SIS_TEST_PG_SUPERUSER_URL"), &terminate).trim() == "1" {
                return true;
            }
        }
        false
    });
    let run = ws.run(&["run"]);
    assert!(killer.join().unwrap());
    run.assert_code(1);
    assert!(!run.stderr.contains("reading the whole set again"), "{}", run.stderr);
    assert_eq!(ws.history()[0]["outcome"], "failed");
}

//! Safety guards with the real binary: a run is compared with the job's last successful
//! delivery, and a suspicious set is kept locally, recorded as `guarded`, and exits 3.

use crate::support::{ConfigBuilder, JobBuilder, Workspace, sqlite};

/// A SQLite table `t` with `rows` rows, a query per file in `files`, and one job into `out`.
fn workspace(guards: &str) -> Workspace {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path("out")).unwrap();
    ConfigBuilder::new()
        .sqlite(&ws.path("db.sqlite"))
        .job(JobBuilder::csv("j", "q").raw("on_failure = [\"sh\", \"-c\", \"cat > hook.json\"]").raw(guards))
        .write(&ws);
    ws
}

fn set_rows(ws: &Workspace, users: u32, classes: u32) {
    let mut sql = String::from(
        "DROP TABLE IF EXISTS users; DROP TABLE IF EXISTS classes; CREATE TABLE users (id integer, name text); CREATE TABLE classes (id integer);",
    );
    for i in 0..users {
        sql.push_str(&format!("INSERT INTO users VALUES ({i}, 'u{i}');"));
    }
    for i in 0..classes {
        sql.push_str(&format!("INSERT INTO classes VALUES ({i});"));
    }
    sqlite(&ws.path("db.sqlite"), &sql);
}

fn queries(ws: &Workspace) {
    ws.write("q/users.sql", "SELECT id, name FROM users ORDER BY id");
    ws.write("q/classes.sql", "SELECT id FROM classes ORDER BY id");
}

fn delivered(ws: &Workspace) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(ws.path("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn the_first_run_delivers_and_says_there_was_nothing_to_compare_with() {
    let ws = workspace("");
    set_rows(&ws, 100, 10);
    queries(&ws);
    let run = ws.run(&["run", "--as-of", "2026-01-01"]);
    run.assert_ok();
    assert!(
        run.stdout
            .contains("safety guards: first run of this job: there was no earlier delivery to compare with")
    );
    let run = ws.run(&["run", "--as-of", "2026-01-02"]);
    run.assert_ok();
    assert!(
        run.stdout
            .contains("safety guards: row counts and headers are within the limits of the last good run")
    );
}

#[test]
fn a_big_drop_stops_delivery_keeps_the_set_and_exits_3_until_forced() {
    let ws = workspace("");
    set_rows(&ws, 100, 10);
    queries(&ws);
    ws.run(&["run", "--as-of", "2026-01-01"]).assert_ok();
    set_rows(&ws, 80, 10);
    let run = ws.run(&["run", "--as-of", "2026-01-02"]);
    run.assert_code(3)
        .assert_stderr_contains("a safety guard stopped the delivery")
        .assert_stderr_contains(
            "users.csv: 80 rows, 20 fewer than the last good run's 100 (20.0%; the limit is 10%)",
        )
        .assert_stderr_contains("run again with --force");
    assert_eq!(delivered(&ws), ["j-20260101.zip"], "nothing new delivered");
    let kept =
        run.stderr.split("The set is kept in ").nth(1).unwrap().split(" for inspection").next().unwrap();
    assert!(std::path::Path::new(kept).join("users.csv").exists(), "kept set at {kept}");
    let history = ws.history();
    assert_eq!(history[1]["outcome"], "guarded");
    assert!(history[1]["guard_reasons"][0].as_str().unwrap().contains("20 fewer"));
    let hook: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.path("hook.json")).unwrap()).unwrap();
    assert_eq!(hook["outcome"], "guarded", "the failure hook hears about guarded runs too");

    // Still guarded: the guarded run is not a new baseline.
    ws.run(&["run", "--as-of", "2026-01-03"]).assert_code(3);
    let run = ws.run(&["run", "--as-of", "2026-01-03", "--force"]);
    run.assert_ok();
    assert!(run.stdout.contains("safety guards: FORCED past the safety guards"));
    assert_eq!(delivered(&ws), ["j-20260101.zip", "j-20260103.zip"]);
    let last = ws.history().pop().unwrap();
    assert_eq!(last["outcome"], "success");
    assert_eq!(last["forced"], true);
    // The forced delivery is the new baseline.
    ws.run(&["run", "--as-of", "2026-01-04"]).assert_ok();
}

#[test]
fn an_empty_file_a_changed_header_and_a_missing_file_each_trip() {
    let ws = workspace("");
    set_rows(&ws, 100, 10);
    queries(&ws);
    ws.run(&["run", "--as-of", "2026-01-01"]).assert_ok();

    set_rows(&ws, 100, 0);
    ws.run(&["run", "--as-of", "2026-01-02"])
        .assert_code(3)
        .assert_stderr_contains("classes.csv is empty; the last good run sent 10 rows");

    set_rows(&ws, 100, 10);
    ws.write("q/users.sql", "SELECT id, name AS full_name FROM users ORDER BY id");
    ws.run(&["run", "--as-of", "2026-01-02"])
        .assert_code(3)
        .assert_stderr_contains("users.csv: the header changed (removed [\"name\"] added [\"full_name\"])");

    queries(&ws);
    std::fs::remove_file(ws.path("q/classes.sql")).unwrap();
    ws.run(&["run", "--as-of", "2026-01-02"])
        .assert_code(3)
        .assert_stderr_contains("classes.csv disappeared (the last good run sent it with 10 rows)");
    assert_eq!(delivered(&ws), ["j-20260101.zip"]);
}

#[test]
fn limits_per_file_as_a_percentage_or_a_count() {
    let ws = workspace("guards = { max_row_drop = \"50%\", files = { classes = 1 } }\n");
    set_rows(&ws, 100, 10);
    queries(&ws);
    ws.run(&["run", "--as-of", "2026-01-01"]).assert_ok();
    set_rows(&ws, 60, 9);
    ws.run(&["run", "--as-of", "2026-01-02"]).assert_ok();
    set_rows(&ws, 60, 7);
    ws.run(&["run", "--as-of", "2026-01-03"]).assert_code(3).assert_stderr_contains(
        "classes.csv: 7 rows, 2 fewer than the last good run's 9 (22.2%; the limit is 1 rows)",
    );
}

#[test]
fn a_bad_guard_setting_is_a_config_error() {
    let ws = workspace("guards = { max_row_drop = \"ten percent\" }\n");
    ws.run(&["config"]).assert_code(2).assert_stderr_contains(
        "job[0].guards.max_row_drop: expected a percentage such as \"10%\" or a row count such as 500, found \"ten percent\"",
    );
}

/// Two guarded jobs in one config and one history: each is compared with its own last
/// good run, never with the other job's, even when the other ran more recently.
#[test]
fn each_job_is_compared_with_its_own_last_run_not_another_jobs() {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path("out")).unwrap();
    let db = ws.path("db.sqlite");
    let mut job_blocks = String::new();
    for job in ["big", "small"] {
        ws.write(&format!("q-{job}/users.sql"), &format!("SELECT id FROM users_{job} ORDER BY id"));
        job_blocks.push_str(&format!(
            "[[job]]\nname = \"{job}\"\nqueries = \"q-{job}\"\nformat = \"csv\"\narchive = \"{job}-{{date}}.zip\"\n\
             guards = {{ max_row_drop = \"10%\" }}\n\n[job.destination]\nkind = \"local\"\npath = \"out\"\n\n"
        ));
    }
    ws.write(
        "config.toml",
        &format!(
            "history_file = \"history.jsonl\"\n[source]\nconnection_string = \"Driver=SQLite3;Database={}\"\n\n{job_blocks}",
            db.display()
        ),
    );
    let fill = |job: &str, rows: u32| {
        let mut sql = format!("DROP TABLE IF EXISTS users_{job}; CREATE TABLE users_{job} (id integer);");
        for i in 0..rows {
            sql.push_str(&format!("INSERT INTO users_{job} VALUES ({i});"));
        }
        sqlite(&db, &sql);
    };
    fill("big", 100);
    fill("small", 10);
    let last_success = |ws: &Workspace, job: &str| -> String {
        let history = ws.history();
        let record = history.iter().rev().find(|r| r["job"] == job && r["outcome"] == "success").unwrap();
        record["run_id"].as_str().unwrap().to_string()
    };

    let run = ws.run(&["run", "--job", "big", "--as-of", "2026-01-01"]);
    run.assert_ok();
    assert!(run.stdout.contains("safety guards: first run of this job"), "{}", run.stdout);
    // small has never run: 10 rows is its first run, not a 90% drop from big's 100.
    let run = ws.run(&["run", "--job", "small", "--as-of", "2026-01-01"]);
    run.assert_ok();
    assert!(run.stdout.contains("safety guards: first run of this job"), "{}", run.stdout);

    // big again, after small ran: compared with big's own run (100 rows), by its run id.
    let big_first = last_success(&ws, "big");
    let run = ws.run(&["run", "--job", "big", "--as-of", "2026-01-02"]);
    run.assert_ok();
    assert!(
        run.stdout.contains(&format!("within the limits of the last good run {big_first}")),
        "compared with {big_first}:\n{}",
        run.stdout
    );

    // big drops to 85 rows: 15% fewer than its own 100 trips the guard, although it is
    // far more than small's 10.
    fill("big", 85);
    ws.run(&["run", "--job", "big", "--as-of", "2026-01-03"]).assert_code(3).assert_stderr_contains(
        "users.csv: 85 rows, 15 fewer than the last good run's 100 (15.0%; the limit is 10%)",
    );

    // small drops to 5 rows: tripped against its own 10, and the message says so.
    let small_first = last_success(&ws, "small");
    fill("small", 5);
    ws.run(&["run", "--job", "small", "--as-of", "2026-01-03"])
        .assert_code(3)
        .assert_stderr_contains(&format!("compared with the last good run {small_first}"))
        .assert_stderr_contains(
            "users.csv: 5 rows, 5 fewer than the last good run's 10 (50.0%; the limit is 10%)",
        );
    // small back to 10: within its own limits again.
    fill("small", 10);
    let run = ws.run(&["run", "--job", "small", "--as-of", "2026-01-04"]);
    run.assert_ok();
    assert!(
        run.stdout.contains(&format!("within the limits of the last good run {small_first}")),
        "{}",
        run.stdout
    );
}

//! A new admin's first day with a vendor profile (issue 23): `init`, fill in what is
//! marked, `config`, `check`, `run --dry-run`. Each test is a mistake or a fright that
//! the profiles used to cause: a made-up host-key pin that made `check` cry "host key
//! changed", a placeholder left in silently, a query folder that was not there, and dry
//! runs piling student data up in the temp folder.

use std::path::{Path, PathBuf};

use crate::support::{Workspace, generated_fixture, local_job, service, sqlite, unzip_entry};

/// `init --vendor schoolstatus` in a fresh workspace; returns the text it wrote.
fn init_schoolstatus(ws: &Workspace) -> String {
    ws.run(&["init", "--vendor", "schoolstatus"]).assert_ok();
    std::fs::read_to_string(ws.path("config.toml")).unwrap()
}

/// The profile as an admin fills it in for the test sshd: the SFTP host and user, the
/// state folders moved into the workspace (no /var/lib here); the database lines are
/// left as they are unless `database` is true.
fn filled_in(ws: &Workspace, text: &str, database: bool) -> String {
    let mut text = text
        .replace("FILL IN: the SFTP host SchoolStatus gave you", &service("SIS_TEST_SSH_HOST"))
        .replace("FILL IN: the SFTP user SchoolStatus gave you", &service("SIS_TEST_SSH_USER"))
        .replace("port = 22", &format!("port = {}", service("SIS_TEST_SSH_PORT")))
        .replace("remote_dir = \".\"", "remote_dir = \"incoming\"")
        .replace("/var/lib/sis-extract", &ws.path("state").display().to_string())
        .replace("/var/log/sis-extract", &ws.path("log").display().to_string());
    if database {
        text = text
            .replace("FILL IN: database host", "campusdb.district.example")
            .replace("FILL IN: database name", "campus")
            .replace("FILL IN: the read-only database account", "extract_ro");
    }
    text
}

fn profile_workspace() -> Workspace {
    let mut ws = Workspace::new();
    ws.set_env("SIS_DB_PASSWORD", "not-used-by-these-checks");
    ws.set_env("VENDOR_SFTP_PASSWORD", &service("SIS_TEST_SSH_PASSWORD"));
    ws
}

#[test]
fn the_schoolstatus_profile_has_no_pin_and_check_prints_the_line_to_add() {
    let ws = profile_workspace();
    let text = init_schoolstatus(&ws);
    assert!(
        !text.lines().any(|l| l.trim_start().starts_with("host_key")),
        "the profile must not pin a made-up host key:\n{text}"
    );
    // Absolute state paths in the folders the systemd units may write.
    for line in [
        "history_file = \"/var/lib/sis-extract/history.jsonl\"",
        "work_dir = \"/var/lib/sis-extract/work\"",
        "log_file = \"/var/log/sis-extract/sis-extract.log\"",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    let units =
        std::fs::read_to_string(crate::support::repo().join("examples/linux/sis-extract-run@.service"))
            .unwrap();
    assert!(units.contains("ReadWritePaths=/var/lib/sis-extract /var/log/sis-extract"));

    ws.write("config.toml", &filled_in(&ws, &text, true));
    // Every other command refuses an unpinned destination, and says how to get the pin.
    ws.run(&["config"])
        .assert_code(2)
        .assert_stderr_contains("job[0].destination.host_key: missing")
        .assert_stderr_contains("Run `sis-extract check`");

    let run = ws.run(&["check", "--only", "sftp"]);
    run.assert_code(4);
    let pin = format!("host_key = \"ssh-ed25519 {}\"", service("SIS_TEST_SSH_HOSTKEY_ED25519"));
    assert!(run.stdout.contains(&pin), "check prints the line to add:\n{}", run.both());
    for fright in ["HOST KEY HAS CHANGED", "intercept", "does not match"] {
        assert!(!run.both().contains(fright), "a false alarm on day one ({fright}):\n{}", run.both());
    }

    // The admin adds that line (after confirming it with the vendor): all green.
    let text = std::fs::read_to_string(ws.path("config.toml")).unwrap();
    std::fs::create_dir_all(ws.path("state")).unwrap();
    ws.write(
        "config.toml",
        &text.replace("remote_dir = \"incoming\"", &format!("{pin}\nremote_dir = \"incoming\"")),
    );
    let run = ws.run(&["check", "--only", "sftp"]);
    run.assert_ok();
    assert!(!run.stderr.contains("placeholder"), "nothing left to fill in:\n{}", run.stderr);
}

#[test]
fn a_fill_in_left_in_warns_naming_the_key() {
    let ws = profile_workspace();
    let text = init_schoolstatus(&ws);
    // Fresh from init: `config` works and lists what is still to fill in.
    let run = ws.run(&["config"]);
    run.assert_ok();
    for key in
        ["source.connection_string", "source.user", "job[0].destination.host", "job[0].destination.user"]
    {
        run.assert_stderr_contains(&format!("warning: {key} in "));
    }
    // Everything filled in but the database account.
    let text =
        filled_in(&ws, &text, true).replace("user = \"extract_ro\"", "user = \"FILL IN: the account\"");
    ws.write("config.toml", &text);
    for args in [&["config"][..], &["check", "--only", "sftp"][..]] {
        let run = ws.run(args);
        run.assert_stderr_contains("warning: source.user in ")
            .assert_stderr_contains("is still a placeholder (\"FILL IN: the account\")");
        assert_eq!(run.stderr.matches("placeholder").count(), 1, "{args:?}: only that key:\n{}", run.stderr);
    }
    // A `# FILL IN` note left beside a value that was filled in is not a placeholder.
    let text = text.replace("user = \"FILL IN: the account\"", "user = \"extract_ro\" # FILL IN: done");
    ws.write("config.toml", &text);
    let run = ws.run(&["check", "--only", "sftp"]);
    assert!(!run.stderr.contains("placeholder"), "{}", run.stderr);
}

/// A workspace whose one job reads the SQLite fixture with the given `queries`.
fn sqlite_workspace(queries: &str, extra: &str) -> Workspace {
    let ws = Workspace::new();
    let db = ws.path("campus.db");
    sqlite(&db, campus_fixture::SCHEMA);
    sqlite(&db, &generated_fixture().0);
    std::fs::create_dir_all(ws.path("out")).unwrap();
    ws.write(
        "config.toml",
        &format!(
            "history_file = \"history.jsonl\"\n{extra}[source]\nconnection_string = \"Driver=SQLite3;Database={}\"\n{}",
            db.display(),
            local_job("demo", queries, "out")
        ),
    );
    ws
}

#[test]
fn a_built_in_query_set_runs_and_an_unknown_one_is_a_config_error() {
    let builtin = sqlite_workspace("builtin:demo", "");
    builtin.run(&["run", "--as-of", "2026-01-15"]).assert_ok();
    let folder = sqlite_workspace(&crate::support::repo().join("queries/demo").display().to_string(), "");
    folder.run(&["run", "--as-of", "2026-01-15"]).assert_ok();
    for file in ["rosters.csv", "sections.csv", "staff.csv", "students.csv"] {
        let zip = |ws: &Workspace| ws.path("out/demo-20260115.zip");
        assert_eq!(unzip_entry(&zip(&builtin), file), unzip_entry(&zip(&folder), file), "{file}");
    }

    let ws = sqlite_workspace("builtin:infinite-campus/oneroster-1.0", "");
    ws.run(&["config"]).assert_code(2).assert_stderr_contains(
        "job[0].queries: there is no built-in query set \"builtin:infinite-campus/oneroster-1.0\"; the built-in sets are builtin:demo, builtin:infinite-campus/clever, builtin:infinite-campus/oneroster-1.1",
    );
    ws.run(&["run"]).assert_code(2).assert_stderr_contains("job[0].queries: there is no built-in query set");
}

/// The folder a dry run kept, from its "files kept in DIR" line.
fn kept_folder(stdout: &str) -> PathBuf {
    let line = stdout.lines().find_map(|l| l.trim().strip_prefix("files kept in ")).expect(stdout);
    PathBuf::from(line.trim())
}

/// Rewrites a kept set's marker as if its run had started `days` ago.
fn age(folder: &Path, days: i64) {
    let marker = folder.join(".kept");
    let mut value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&marker).unwrap()).unwrap();
    value["started"] = (chrono::Utc::now() - chrono::Duration::days(days))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        .into();
    std::fs::write(&marker, value.to_string()).unwrap();
}

#[test]
fn old_dry_run_folders_are_removed_at_the_start_of_a_run() {
    let ws = sqlite_workspace("builtin:demo", "work_dir = \"work\"\n");
    let first = ws.run(&["run", "--dry-run", "--as-of", "2026-01-15"]);
    first.assert_ok();
    let first = kept_folder(&first.stdout);
    assert!(
        first.starts_with(ws.path("work")),
        "the dry run's set is in the work folder: {}",
        first.display()
    );
    assert!(first.join("set/students.csv").exists() && first.join(".kept").exists());
    age(&first, 8);
    // A set kept by a job of the same name in another config (another history file)
    // sharing the work folder is not this job's to remove.
    let other = ws.path("work/sis-extract-demo-another-config");
    std::fs::create_dir_all(&other).unwrap();
    let marker =
        std::fs::read_to_string(first.join(".kept")).unwrap().replace("history.jsonl", "other.jsonl");
    std::fs::write(other.join(".kept"), marker).unwrap();

    let second = ws.run(&["run", "--dry-run", "--as-of", "2026-01-15"]);
    second.assert_ok();
    let second = kept_folder(&second.stdout);
    assert!(!first.exists(), "a dry run's set older than 7 days is removed by the next run");
    assert!(second.exists(), "the new one stays");
    assert!(other.exists(), "another job's set stays");

    // Six days old: still kept.
    age(&second, 6);
    let third = ws.run(&["run", "--dry-run", "--as-of", "2026-01-15"]);
    third.assert_ok();
    assert!(second.exists() && kept_folder(&third.stdout).exists());
}

/// `init` warns that ids decide whether the vendor sees the same records or a second copy
/// of every user and class, even under `-q`.
#[test]
fn init_warns_that_changed_ids_duplicate_records_at_the_vendor() {
    for quiet in [false, true] {
        let ws = Workspace::new();
        let mut args = vec!["init", "--vendor", "schoolstatus"];
        if quiet {
            args.insert(0, "-q");
        }
        let run = ws.run(&args);
        run.assert_ok();
        assert!(
            run.stderr.contains("WARNING: if this vendor already receives this district's roster"),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains("a second time"), "{}", run.stderr);
    }
}

/// Every vendor `init` knows, with the time its profile schedules (the vendor's own, or
/// the nightly default where a vendor documents none).
const VENDORS: [(&str, &str); 6] = [
    ("schoolstatus", "18:30"),
    ("empower", "19:00"),
    ("schoology", "19:00"),
    ("classlink", "19:00"),
    ("clever", "19:00"),
    ("generic-oneroster", "19:00"),
];

/// Runs `sis-extract -c config.toml ARGS…` in `ws` with none of the profiles' secret
/// variables set: a helpdesk colleague's shell, or a service that lost its environment.
fn without_secrets(ws: &Workspace, args: &[&str]) -> crate::support::Run {
    let output = std::process::Command::new(crate::support::bin())
        .current_dir(ws.dir.path())
        .arg("-c")
        .arg(ws.path("config.toml"))
        .args(args)
        .env_remove("SIS_EXTRACT_CONFIG")
        .env_remove("SIS_EXTRACT_LOG")
        .env_remove("SIS_DB_PASSWORD")
        .env_remove("VENDOR_SFTP_PASSWORD")
        .output()
        .unwrap();
    crate::support::Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[test]
fn every_profile_schedules_its_vendors_night_and_only_connecting_needs_the_secrets() {
    for (vendor, time) in VENDORS {
        let ws = Workspace::new();
        ws.run(&["init", "--vendor", vendor]).assert_ok();
        // Only the state folders move into the workspace (there is no /var/lib here).
        let text = std::fs::read_to_string(ws.path("config.toml"))
            .unwrap()
            .replace("/var/lib/sis-extract", &ws.path("state").display().to_string())
            .replace("/var/log/sis-extract", &ws.path("log").display().to_string());
        ws.write("config.toml", &text);
        for folder in ["state", "log"] {
            std::fs::create_dir_all(ws.path(folder)).unwrap();
        }

        let run = without_secrets(&ws, &["schedule", "--next", "2", "--now", "2026-03-07T12:00:00-06:00"]);
        run.assert_ok();
        assert!(!run.stdout.contains("no job has a schedule"), "{vendor}: {}", run.stdout);
        assert!(run.stdout.contains("America/Chicago"), "{vendor}: {}", run.stdout);
        // Saturday 7 March, then Sunday 8 March (the spring-forward day), at the same hour.
        assert!(
            run.stdout.contains(&format!("2026-03-07 {time}"))
                && run.stdout.contains(&format!("2026-03-08 {time}")),
            "{vendor} runs nightly at {time} Central:\n{}",
            run.stdout
        );

        let config = without_secrets(&ws, &["config"]);
        config.assert_ok();
        assert!(
            config.stdout.contains("NOT AVAILABLE to this account (environment variable SIS_DB_PASSWORD)"),
            "{vendor}: {}",
            config.stdout
        );
        without_secrets(&ws, &["history"]).assert_ok();
        // validate reads no config at all: an empty folder is a OneRoster problem, not a secret one.
        std::fs::create_dir_all(ws.path("empty-set")).unwrap();
        let validate = without_secrets(&ws, &["validate", "empty-set"]);
        assert_ne!(validate.code, 2, "{vendor}: {}", validate.both());
        for run in [&config, &validate] {
            assert!(!run.stderr.contains("is not set"), "{vendor}: {}", run.stderr);
        }
        // Connecting is what needs them: a dry run fails on the record, naming the variable.
        let dry = without_secrets(&ws, &["run", "--dry-run"]);
        assert_eq!(dry.code, 1, "{vendor}: {}", dry.both());
        dry.assert_stderr_contains("environment variable SIS_DB_PASSWORD is not set");
    }
}

#[test]
fn the_clever_profile_sends_clevers_files_loose_and_points_at_the_sftp_instructions() {
    let ws = Workspace::new();
    ws.run(&["init", "--vendor", "clever"]).assert_ok();
    let text = std::fs::read_to_string(ws.path("config.toml")).unwrap();
    for line in [
        "queries = \"builtin:infinite-campus/clever\"",
        "format = \"clever\"",
        "send = \"files\"",
        "remote_dir = \".\"",
        "schedule = \"0 19 * * *\"",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    assert!(text.contains("\"SFTP Instructions\" PDF"), "tells the admin to compare the columns");
    let config = ws.run(&["config"]);
    config.assert_ok();
    assert!(config.stdout.contains("send = \"files\""), "{}", config.stdout);
}

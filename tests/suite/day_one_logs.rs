//! A new admin's first day (issue 23): logs read under Task Scheduler or a service wrapper
//! carry no colour codes; `config.example.toml` shows every key the config accepts, and its
//! connection-string examples are accepted; `history` shows start times in the job's time
//! zone.

use std::collections::BTreeSet;
use std::process::Command;

use crate::support::{Workspace, bin, repo, sqlite};

/// A workspace with a SQLite database holding one table, a query folder `q` with one
/// query, and a config whose job `t` (plus `extra_job`) writes into `out`.
fn sqlite_workspace(extra_job: &str) -> Workspace {
    let ws = Workspace::new();
    let db = ws.path("db.sqlite");
    sqlite(&db, "CREATE TABLE people (id integer, name text); INSERT INTO people VALUES (1, 'Ann');");
    std::fs::create_dir_all(ws.path("out")).unwrap();
    ws.write("q/people.sql", "SELECT id, name FROM people\n");
    ws.write(
        "config.toml",
        &format!(
            "history_file = \"history.jsonl\"\nwork_dir = \"work\"\n[source]\nconnection_string = \"Driver=SQLite3;Database={}\"\n\n[[job]]\nname = \"t\"\nqueries = \"q\"\nformat = \"csv\"\narchive = \"t-{{date}}.zip\"\n[job.destination]\nkind = \"local\"\npath = \"out\"\n{extra_job}",
            db.display()
        ),
    );
    ws
}

/// An ANSI SGR sequence (`ESC [ … m`), as tracing-subscriber colours levels and fields.
fn has_colour_codes(text: &str) -> bool {
    text.match_indices("\x1b[").any(|(at, _)| {
        let rest = &text[at + 2..];
        let params = rest.chars().take_while(|c| c.is_ascii_digit() || *c == ';').count();
        rest[params..].starts_with('m')
    })
}

/// A history line the reader cannot parse: `history` warns about it (a tracing event).
const DAMAGED_HISTORY: &str = "{\"run_id\":\"r1\",\"jo\n";

/// Under Task Scheduler, NSSM or systemd stderr is a file or pipe: a verbose run, a failing
/// run and a warning there must be plain text, with or without NO_COLOR.
#[test]
fn log_lines_on_a_pipe_carry_no_escape_codes() {
    let mut ws = sqlite_workspace("");
    let verbose = ws.run(&["-v", "run"]);
    verbose.assert_ok();
    assert!(verbose.stderr.contains("INFO"), "expected info lines with -v:\n{}", verbose.stderr);
    assert!(!verbose.stderr.contains('\x1b'), "escape codes on a pipe:\n{:?}", verbose.stderr);

    ws.write("q/people.sql", "SELECT id, no_such_column FROM people\n");
    let failing = ws.run(&["-v", "run"]);
    failing.assert_code(1).assert_stderr_contains("no such column");
    assert!(failing.stderr.contains("INFO"), "expected info lines with -v:\n{}", failing.stderr);
    assert!(!failing.stderr.contains('\x1b'), "escape codes on a pipe:\n{:?}", failing.stderr);

    ws.write("history.jsonl", DAMAGED_HISTORY);
    let warned = ws.run(&["history"]);
    warned.assert_ok().assert_stderr_contains("skipped an unreadable record");
    assert!(!warned.stderr.contains('\x1b'), "escape codes on a pipe:\n{:?}", warned.stderr);

    ws.set_env("NO_COLOR", "1");
    let no_color = ws.run(&["-v", "run"]);
    no_color.assert_code(1);
    assert!(no_color.stderr.contains("INFO"), "{}", no_color.stderr);
    assert!(!no_color.stderr.contains('\x1b'), "escape codes with NO_COLOR:\n{:?}", no_color.stderr);
}

/// On a terminal (a pseudo-terminal from `script`) the levels are coloured, unless
/// NO_COLOR is set to something.
#[test]
fn colours_on_a_terminal_unless_no_color() {
    let ws = sqlite_workspace("");
    ws.write("history.jsonl", DAMAGED_HISTORY);
    let on_terminal = |no_color: Option<&str>| {
        let inner = format!("{} -c {} history", bin(), ws.path("config.toml").display());
        let mut command = Command::new("script");
        command.args(["-qec", &inner, "/dev/null"]).current_dir(ws.dir.path()).env("TERM", "xterm");
        command.env_remove("NO_COLOR").env_remove("SIS_EXTRACT_LOG");
        if let Some(value) = no_color {
            command.env("NO_COLOR", value);
        }
        let output = command.output().expect("script (util-linux) installed");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(text.contains("skipped an unreadable record"), "{text:?}");
        text
    };
    assert!(has_colour_codes(&on_terminal(None)), "a terminal should get colours");
    assert!(has_colour_codes(&on_terminal(Some(""))), "an empty NO_COLOR does not count");
    let plain = on_terminal(Some("1"));
    assert!(!has_colour_codes(&plain), "NO_COLOR=1 on a terminal:\n{plain:?}");
}

/// Every key the config accepts, as `table.key` paths (`job.destination.host_key`),
/// read from the serde structs in src/config/raw.rs: each `pub(super) NAME: TYPE` field
/// of a `Raw…` struct, renamed by `#[serde(rename = "…")]`, descending into fields whose
/// type is another `Raw…` struct. Also returns the keys that are such tables of keys
/// (`source`, `job.destination`): other tables (a `grade_map`, a `{ env = "…" }` secret)
/// hold names of the admin's choosing.
fn accepted_keys() -> (BTreeSet<String>, BTreeSet<String>) {
    let source = std::fs::read_to_string(repo().join("src/config/raw.rs")).unwrap();
    let mut structs: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let (mut inside, mut rename) = (false, None);
    for raw_line in source.lines() {
        let line = raw_line.trim();
        if let Some(rest) = line.strip_prefix("pub(super) struct ") {
            if let Some(name) = rest.strip_suffix(" {").filter(|n| n.starts_with("Raw")) {
                structs.push((name.to_string(), Vec::new()));
                inside = true;
            }
        } else if raw_line == "}" {
            (inside, rename) = (false, None);
        } else if !inside {
            continue;
        } else if line.starts_with("#[serde(") && line.contains("rename = \"") {
            rename = line.split("rename = \"").nth(1).and_then(|r| r.split('"').next()).map(str::to_string);
        } else if let Some(field) = line.strip_prefix("pub(super) ")
            && let Some((name, ty)) = field.split_once(": ")
            && let Some((_, fields)) = structs.last_mut()
        {
            fields.push((rename.take().unwrap_or_else(|| name.to_string()), ty.trim_end_matches(',').into()));
        }
    }
    assert!(
        structs.len() >= 5,
        "expected RawConfig, RawSource, RawJob, RawGuards, RawDestination: {structs:?}"
    );
    fn walk(
        structs: &[(String, Vec<(String, String)>)],
        name: &str,
        prefix: &str,
        keys: &mut BTreeSet<String>,
        tables: &mut BTreeSet<String>,
    ) {
        let (_, fields) =
            structs.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no struct {name}"));
        for (key, ty) in fields {
            let path = format!("{prefix}{key}");
            keys.insert(path.clone());
            let inner = structs.iter().find(|(n, _)| {
                ty.split(|c: char| !c.is_ascii_alphanumeric() && c != '_').any(|word| word == n)
            });
            if let Some((inner, _)) = inner {
                tables.insert(path.clone());
                walk(structs, inner, &format!("{path}."), keys, tables);
            }
        }
    }
    let (mut keys, mut tables) = (BTreeSet::new(), BTreeSet::new());
    walk(&structs, "RawConfig", "", &mut keys, &mut tables);
    (keys, tables)
}

/// The keys `config.example.toml` shows, set or commented out (`# key = value`), as
/// `table.key` paths, inline tables included. A commented-out assignment must be valid
/// TOML on its own line, so that an admin who uncomments it gets a working line.
fn example_keys(tables: &BTreeSet<String>) -> (BTreeSet<String>, Vec<String>) {
    let text = std::fs::read_to_string(repo().join("config.example.toml")).unwrap();
    let (mut keys, mut broken) = (BTreeSet::new(), Vec::new());
    let mut table = String::new();
    fn add(prefix: &str, value: &toml::Table, tables: &BTreeSet<String>, keys: &mut BTreeSet<String>) {
        for (key, value) in value {
            let path = format!("{prefix}{key}");
            keys.insert(path.clone());
            if let toml::Value::Table(inner) = value
                && tables.contains(&path)
            {
                add(&format!("{path}."), inner, tables, keys);
            }
        }
    }
    for (number, raw_line) in text.lines().enumerate() {
        let line = raw_line.trim();
        let line = line.strip_prefix('#').map(str::trim).unwrap_or(line);
        let header = line.trim_start_matches('[').trim_end_matches(']');
        if line.starts_with('[') && header.chars().all(|c| c.is_ascii_lowercase() || c == '_' || c == '.') {
            table = header.to_string();
            keys.insert(table.clone());
            continue;
        }
        let Some((key, _)) = line.split_once('=') else { continue };
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
            continue;
        }
        match line.parse::<toml::Table>() {
            Ok(parsed) => add(
                &if table.is_empty() { String::new() } else { format!("{table}.") },
                &parsed,
                tables,
                &mut keys,
            ),
            Err(e) => broken.push(format!("line {}: {raw_line}\n  {e}", number + 1)),
        }
    }
    (keys, broken)
}

/// "config.example.toml documents every key": each key the config accepts appears in it
/// (set, or commented out with why), and it shows no key the config would refuse. Before
/// issue 23 it left out schedule, catch_up, guards, on_failure, log_file, log_keep,
/// grade_map and source_system, so an admin copying it never learnt of the guards or the
/// failure hook.
#[test]
fn example_config_shows_every_accepted_key() {
    let (accepted, tables) = accepted_keys();
    for key in ["history_file", "source.connection_string", "job.schedule", "job.guards.max_row_drop"] {
        assert!(accepted.contains(key), "the scan of raw.rs lost {key}: {accepted:?}");
    }
    let (shown, broken) = example_keys(&tables);
    assert!(
        broken.is_empty(),
        "config.example.toml lines that are not valid TOML once uncommented:\n{}",
        broken.join("\n")
    );
    let missing: Vec<&String> = accepted.difference(&shown).collect();
    let unknown: Vec<&String> = shown.difference(&accepted).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "config.example.toml does not match src/config/raw.rs\n  keys the config accepts that the example does not show: {missing:?}\n  keys the example shows that the config refuses: {unknown:?}"
    );
}

/// The `connection_string = "…"` values config.example.toml shows, commented or not.
fn example_connection_strings() -> Vec<String> {
    let text = std::fs::read_to_string(repo().join("config.example.toml")).unwrap();
    text.lines()
        .map(|l| l.trim().trim_start_matches('#').trim())
        .filter(|l| l.starts_with("connection_string"))
        .map(|l| {
            let table: toml::Table = l.parse().unwrap_or_else(|e| panic!("{l}: {e}"));
            table["connection_string"].as_str().unwrap().to_string()
        })
        .collect()
}

/// The example's connection strings for SQL Server, PostgreSQL, SQLite and FreeTDS are
/// each accepted by `config` as the source (no password in them), and the PostgreSQL and
/// SQLite ones name the drivers installed here; the SQLite one, pointed at a real file,
/// logs in.
#[test]
fn example_connection_strings_are_accepted() {
    let strings = example_connection_strings();
    for driver in ["ODBC Driver 18 for SQL Server", "PostgreSQL Unicode", "SQLite3", "FreeTDS"] {
        assert!(
            strings.iter().any(|s| s.contains(&format!("Driver={{{driver}}}"))),
            "config.example.toml shows no connection string for {driver}: {strings:?}"
        );
    }
    let docs = std::fs::read_to_string(repo().join("docs/operations.md")).unwrap();
    for cs in &strings {
        assert!(docs.contains(&format!("`{cs}`")), "docs/operations.md's connection strings lack {cs}");
    }
    let installed = std::fs::read_to_string("/etc/odbcinst.ini").unwrap_or_default();
    for driver in ["PostgreSQL Unicode", "SQLite3"] {
        assert!(installed.contains(&format!("[{driver}]")), "the example names {driver}, not installed here");
    }
    for cs in &strings {
        let ws = sqlite_workspace("");
        let config = std::fs::read_to_string(ws.path("config.toml")).unwrap();
        let start = config.find("connection_string").unwrap();
        let end = start + config[start..].find('\n').unwrap();
        let quoted = toml::Value::String(cs.clone()).to_string();
        ws.write(
            "config.toml",
            &format!("{}connection_string = {quoted}{}", &config[..start], &config[end..]),
        );
        ws.run(&["config"]).assert_ok();
    }
    let sqlite_example = strings.iter().find(|s| s.contains("{SQLite3}")).unwrap();
    let ws = sqlite_workspace("");
    let (before, _) = sqlite_example.split_once("Database=").unwrap();
    let cs = format!("{before}Database={}", ws.path("db.sqlite").display());
    let config = std::fs::read_to_string(ws.path("config.toml")).unwrap();
    let old_line = config.lines().find(|l| l.starts_with("connection_string")).unwrap().to_string();
    ws.write("config.toml", &config.replace(&old_line, &format!("connection_string = \"{cs}\"")));
    ws.run(&["check", "--only", "db"]).assert_ok();
}

/// Every ```toml block of docs/operations.md is valid TOML, so that the Windows guide's
/// paths (literal strings: `"C:\ProgramData"` would be a bad escape) can be pasted as
/// they are.
#[test]
fn operations_guide_toml_snippets_parse() {
    let docs = std::fs::read_to_string(repo().join("docs/operations.md")).unwrap();
    let blocks: Vec<&str> = docs.split("```toml\n").skip(1).map(|b| b.split("```").next().unwrap()).collect();
    assert!(blocks.iter().any(|b| b.contains("on_failure = ['powershell.exe'")), "{blocks:?}");
    for block in blocks {
        if let Err(e) = block.parse::<toml::Table>() {
            panic!("docs/operations.md has a toml block that does not parse:\n{block}\n{e}");
        }
    }
}

/// One history record of `job`, started at `started` (UTC), a minute long.
fn record(job: &str, started: &str) -> String {
    let finished = chrono::DateTime::parse_from_rfc3339(started).unwrap() + chrono::Duration::minutes(1);
    serde_json::json!({
        "run_id": format!("{job}-{started}"), "job": job, "started": started,
        "finished": finished.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "outcome": "success", "as_of": "2026-11-22", "files": [], "attempts": 1,
    })
    .to_string()
}

/// `history` on a UTC server for a Chicago job: 00:30 UTC is the 18:30 run of the day
/// before. Each start is shown in the job's time zone with its abbreviation (CST in
/// winter, CDT in summer); a job without a time zone, or one no longer configured, in the
/// server's.
#[test]
fn history_shows_each_start_in_its_jobs_time_zone() {
    let extra = "\n[[job]]\nname = \"chicago\"\nqueries = \"q\"\nformat = \"csv\"\narchive = \"c-{date}.zip\"\ntimezone = \"America/Chicago\"\n[job.destination]\nkind = \"local\"\npath = \"out\"\n";
    let mut ws = sqlite_workspace(extra);
    let lines = [
        record("chicago", "2026-11-23T00:30:00Z"),
        record("chicago", "2026-07-01T23:30:00Z"),
        record("t", "2026-11-23T00:30:00Z"),
        record("removed", "2026-11-23T00:30:00Z"),
    ];
    ws.write("history.jsonl", &(lines.join("\n") + "\n"));
    ws.set_env("TZ", "UTC");
    let run = ws.run(&["history"]);
    run.assert_ok();
    let rows: Vec<&str> = run.stdout.lines().collect();
    assert!(rows[0].starts_with("START (job's time zone)"), "{}", run.stdout);
    assert!(
        rows[1].starts_with("2026-11-22 18:30:00 CST ") && rows[1].contains(" chicago "),
        "{}",
        run.stdout
    );
    assert!(
        rows[2].starts_with("2026-07-01 18:30:00 CDT ") && rows[2].contains(" chicago "),
        "{}",
        run.stdout
    );
    assert!(rows[3].starts_with("2026-11-23 00:30:00 UTC ") && rows[3].contains(" t "), "{}", run.stdout);
    assert!(
        rows[4].starts_with("2026-11-23 00:30:00 UTC ") && rows[4].contains(" removed "),
        "{}",
        run.stdout
    );

    ws.env.retain(|(name, _)| name != "TZ");
    ws.set_env("TZ", "Europe/Berlin");
    let run = ws.run(&["history", "--job", "t"]);
    run.assert_ok();
    assert!(run.stdout.contains("2026-11-23 01:30:00 CET "), "the server's zone: {}", run.stdout);
}

/// The README's first configuration is a whole config: `sis-extract config` accepts it as
/// written (its secrets need not be set for that).
#[test]
fn the_readmes_first_configuration_is_accepted() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let block = readme.split("```toml\n").nth(1).and_then(|b| b.split("```").next()).expect("a toml block");
    let ws = crate::support::Workspace::new();
    ws.write("config.toml", block);
    let run = ws.run(&["config"]);
    assert_eq!(run.code, 0, "the README's config:\n{block}\n{}", run.both());
}

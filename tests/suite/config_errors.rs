//! Every kind of configuration mistake gets a message naming the key and what is expected,
//! and exit code 2; every example config that ships is parsed.

use crate::support::Workspace;

const SOURCE: &str = "[source]\nconnection_string = \"Driver=SQLite3;Database=x.db\"\n";

fn sftp_job(destination_extra: &str) -> String {
    format!(
        "[[job]]\nname = \"v\"\nqueries = \"q\"\nformat = \"csv\"\narchive = \"v-{{date}}.zip\"\n\n[job.destination]\nkind = \"sftp\"\nhost = \"h\"\nuser = \"u\"\npassword = {{ env = \"SFTP_PW\" }}\nhost_key = \"SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\"\n{destination_extra}"
    )
}

/// Writes `config` and asserts that `sis-extract config` fails with exit 2 and `message`.
#[track_caller]
fn assert_config_error(config: &str, message: &str) {
    let mut ws = Workspace::new();
    // A strong test password: a weak one adds a warning line of its own.
    ws.set_env("SFTP_PW", "test-pw-4f9c-2b");
    ws.write("config.toml", config);
    let run = ws.run(&["config"]);
    run.assert_code(2).assert_stderr_contains(message);
    assert_eq!(run.stderr.lines().count(), 1, "one line, no cause chain without -v:\n{}", run.stderr);
}

#[test]
fn port_of_the_wrong_type_names_the_key_path() {
    assert_config_error(
        &format!("{SOURCE}{}", sftp_job("port = \"twenty-two\"\n")),
        "job[0].destination.port: expected an integer 1-65535, found \"twenty-two\"",
    );
    assert_config_error(
        &format!("{SOURCE}{}", sftp_job("port = 70000\n")),
        "job[0].destination.port: expected an integer 1-65535, found 70000",
    );
}

#[test]
fn unknown_keys_are_errors() {
    assert_config_error(
        &format!("{SOURCE}{}", sftp_job("hots = \"x\"\n")),
        "job[0].destination.hots: unknown key `hots`, expected one of `kind`",
    );
    assert_config_error(
        &format!("[source]\nconnection_string = \"x\"\nconection_timeout = \"1s\"\n{}", sftp_job("")),
        "source.conection_timeout: unknown key `conection_timeout`",
    );
}

#[test]
fn inline_secrets_are_refused() {
    assert_config_error(
        &format!(
            "{SOURCE}{}",
            sftp_job("").replace("password = { env = \"SFTP_PW\" }", "password = \"hunter2\"")
        ),
        "job[0].destination.password: secrets may not be written inline in the config file: use { env = \"NAME\" }, { file = \"path\" } or { credential = \"NAME\" }",
    );
    assert_config_error(
        &format!("[source]\nconnection_string = \"Driver=X;PWD=hunter2\"\n{}", sftp_job("")),
        "source.connection_string: contains PWD=",
    );
}

#[test]
fn secrets_from_missing_places_say_where_they_were_looked_for() {
    // A secret that is not there for this account fails only what needs it: `config`
    // says so and exits 0; `run` fails on the record (tests/suite/day_one.rs).
    for (reference, said) in [
        (
            "{ env = \"NOT_SET_ANYWHERE_42\" }",
            "NOT AVAILABLE to this account (environment variable NOT_SET_ANYWHERE_42)",
        ),
        ("{ file = \"no-such-file\" }", "NOT AVAILABLE to this account (file "),
        // A device or a big file named by mistake is refused, not read forever.
        ("{ file = \"/dev/zero\" }", "NOT AVAILABLE to this account (file /dev/zero)"),
    ] {
        let ws = Workspace::new();
        ws.write(
            "config.toml",
            &format!("{SOURCE}{}", sftp_job("").replace("{ env = \"SFTP_PW\" }", reference)),
        );
        let run = ws.run(&["config"]);
        run.assert_ok();
        assert!(run.stdout.contains(said), "{reference}: {}", run.stdout);
    }
    // The reason is in the message of whatever needs the secret: here the run's login.
    let ws = Workspace::new();
    ws.write(
        "config.toml",
        &format!(
            "{SOURCE}password = {{ file = \"/dev/zero\" }}\n{}",
            crate::support::local_job("v", "q", "out")
        ),
    );
    ws.write("q/one.sql", "SELECT 1 AS one");
    std::fs::create_dir_all(ws.path("out")).unwrap();
    let run = ws.run(&["run"]);
    assert_eq!(run.code, 1, "{}", run.both());
    assert!(
        run.stderr
            .contains("source.password: cannot read the secret file /dev/zero: it is larger than 64 KiB"),
        "{}",
        run.stderr
    );
}

#[test]
fn sftp_without_a_host_key_pin_is_refused() {
    assert_config_error(
        &format!(
            "{SOURCE}{}",
            sftp_job("").replace("host_key = \"SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\"\n", "")
        ),
        "job[0].destination.host_key: missing: the server's host key must be pinned",
    );
    assert_config_error(
        &format!(
            "{SOURCE}{}",
            sftp_job("").replace("SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU", "md5:aa")
        ),
        "job[0].destination.host_key:",
    );
}

#[test]
fn missing_and_wrong_values() {
    assert_config_error(SOURCE, "no [[job]] is defined");
    assert_config_error(
        "[[job]]\nname = \"a\"\nqueries = \"q\"\nformat = \"csv\"\narchive = \"a.zip\"\n[job.destination]\nkind = \"local\"\npath = \"o\"\n",
        "missing required key `source`",
    );
    assert_config_error(
        &format!("{SOURCE}{}", sftp_job("").replace("format = \"csv\"", "format = \"xlsx\"")),
        "job[0].format: unknown variant `xlsx`",
    );
    assert_config_error(
        &format!("{SOURCE}{}", sftp_job("").replace("archive = \"v-{date}.zip\"", "archive = \"v.tar\"")),
        "job[0].archive:",
    );
    // Which people a OneRoster job sends: a closed list, named in the message.
    assert_config_error(
        &format!("{SOURCE}{}", sftp_job("").replace("name = \"v\"", "name = \"v\"\npeople = \"all\"")),
        "job[0].people: unknown variant `all`, expected `campus-accounts` or `everyone`",
    );
    assert_config_error(
        &format!("{SOURCE}{}", sftp_job("timeout = \"soon\"\n")),
        "job[0].destination.timeout:",
    );
    assert_config_error(
        &format!(
            "{SOURCE}{}",
            sftp_job("").replace("name = \"v\"", "name = \"v\"\ntimezone = \"America/Chicgo\"")
        ),
        "job[0].timezone:",
    );
    assert_config_error(
        &format!("{SOURCE}{}", sftp_job("path = \"/tmp\"\n")),
        "job[0].destination.path: only applies to kind = \"local\"",
    );
    assert_config_error(
        &format!("{SOURCE}{}{}", sftp_job(""), sftp_job("")),
        "job[1].name: another job is already named",
    );
}

#[test]
fn broken_toml_names_the_line() {
    assert_config_error(&format!("{SOURCE}[[job]\nname = 1\n"), "line 3: invalid TOML");
}

#[test]
fn a_missing_config_file_says_how_to_get_one() {
    let ws = Workspace::new();
    ws.run(&["config"]).assert_code(2).assert_stderr_contains("cannot read config file");
}

#[test]
fn unknown_job_names_list_the_jobs() {
    let mut ws = Workspace::new();
    ws.set_env("SFTP_PW", "pw");
    ws.write("config.toml", &format!("{SOURCE}{}", sftp_job("")));
    ws.run(&["run", "--job", "nope"])
        .assert_code(2)
        .assert_stderr_contains("--job \"nope\": no such job")
        .assert_stderr_contains("the jobs are: v");
}

#[test]
fn a_bad_as_of_date_is_a_usage_error() {
    let ws = Workspace::new();
    let run = ws.run(&["run", "--as-of", "11/23/2026"]);
    run.assert_code(2).assert_stderr_contains("expected a date as YYYY-MM-DD");
}

#[test]
fn config_prints_secrets_as_stars() {
    let mut ws = Workspace::new();
    ws.set_env("SFTP_PW", "vendor-secret-value");
    ws.write("config.toml", &format!("{SOURCE}{}", sftp_job("")));
    let run = ws.run(&["config"]);
    run.assert_ok();
    assert!(run.stdout.contains("password = \"*** (from environment variable SFTP_PW)\""), "{}", run.stdout);
    assert!(!run.both().contains("vendor-secret-value"));
}

/// Every config file that ships parses, with its secrets provided.
#[test]
fn every_shipped_example_config_parses() {
    let mut configs = vec![crate::support::repo().join("config.example.toml")];
    for dir in ["examples", "scripts"] {
        if let Ok(entries) = std::fs::read_dir(crate::support::repo().join(dir)) {
            configs.extend(
                entries.map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "toml")),
            );
        }
    }
    assert!(configs.len() >= 2, "expected the example and the demo config, found {configs:?}");
    for config in configs {
        let output = std::process::Command::new(crate::support::bin())
            .arg("-c")
            .arg(&config)
            .arg("config")
            .env("SIS_DB_PASSWORD", "x")
            .env("VENDOR_SFTP_PASSWORD", "x")
            .output()
            .unwrap();
        assert!(output.status.success(), "{}: {}", config.display(), String::from_utf8_lossy(&output.stderr));
    }
}

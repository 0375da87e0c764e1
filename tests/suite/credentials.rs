//! `{ credential = "NAME" }` secrets on Linux: read from systemd's credentials directory
//! (`$CREDENTIALS_DIRECTORY/NAME`, as `LoadCredential=` fills it), end to end against the
//! real PostgreSQL and sshd; a missing credential is a clear error naming it and how to
//! pass it; the secrets appear in no output and no history line. And the Windows-only
//! commands (`secret`, `service`) say what to do on Linux instead.

use std::path::PathBuf;
use std::process::Command;

use crate::support::{ConfigBuilder, JobBuilder, Workspace, listing, service};

/// An empty remote folder owned by the SFTP user; (absolute, relative to its home).
fn remote_folder(test: &str) -> (PathBuf, String) {
    let relative = format!("incoming/credential-{test}-{}", std::process::id());
    let absolute = PathBuf::from(service("SIS_TEST_SSH_HOME")).join(&relative);
    let _ = std::fs::remove_dir_all(&absolute);
    let user = service("SIS_TEST_SSH_USER");
    let status = Command::new("install")
        .args(["-d", "-o", &user, "-g", &user, "-m", "755"])
        .arg(&absolute)
        .status()
        .unwrap();
    assert!(status.success());
    (absolute, relative)
}

/// PostgreSQL as the source and the test sshd as the destination, both passwords given as
/// systemd credentials; the credentials directory holds them as systemd writes them.
fn workspace(test: &str) -> (Workspace, PathBuf) {
    let (remote, relative) = remote_folder(test);
    let mut ws = Workspace::new();
    ws.write("q/one.sql", "SELECT 1 AS one, 'credential' AS how");
    ws.write("credentials/sis-db-password", &format!("{}\n", service("SIS_TEST_PG_READER_PASSWORD")));
    ws.write("credentials/vendor-sftp-password", &service("SIS_TEST_SSH_PASSWORD"));
    ws.set_env("CREDENTIALS_DIRECTORY", &ws.path("credentials").to_string_lossy());
    ConfigBuilder::new()
        .source(&service("SIS_TEST_PG_CONN"))
        .source_key("user", &service("SIS_TEST_PG_READER_USER"))
        .source_raw("password = { credential = \"sis-db-password\" }")
        .job(JobBuilder::csv("vendor", "q").destination_raw(&format!(
            "kind = \"sftp\"\nhost = \"{}\"\nport = {}\nuser = \"{}\"\n\
             password = {{ credential = \"vendor-sftp-password\" }}\nhost_key = \"{}\"\nremote_dir = \"{relative}\"\n\
             timeout = \"10s\"",
            service("SIS_TEST_SSH_HOST"),
            service("SIS_TEST_SSH_PORT"),
            service("SIS_TEST_SSH_USER"),
            service("SIS_TEST_SSH_HOSTKEY_ED25519"),
        )))
        .write(&ws);
    (ws, remote)
}

fn assert_no_secret(text: &str) {
    for secret in [service("SIS_TEST_PG_READER_PASSWORD"), service("SIS_TEST_SSH_PASSWORD")] {
        assert!(!text.contains(&secret), "a secret leaked: {text}");
    }
}

#[test]
fn a_run_reads_both_passwords_from_the_credentials_directory() {
    let (ws, remote) = workspace("run");
    let config = ws.run(&["config"]);
    config.assert_ok();
    assert!(
        config.stdout.contains("password = \"*** (from systemd credential sis-db-password)\""),
        "{}",
        config.stdout
    );
    assert!(config.stdout.contains("password = \"*** (from systemd credential vendor-sftp-password)\""));
    let run = ws.run(&["run", "--as-of", "2026-11-23"]);
    run.assert_ok();
    assert_eq!(listing(&remote), ["vendor-20261123.zip"]);
    assert_eq!(ws.history()[0]["outcome"], "success");
    assert_no_secret(&format!("{}{}{}", config.both(), run.both(), ws.history_text()));
}

#[test]
fn a_missing_credential_names_itself_and_how_to_pass_it() {
    let (mut ws, remote) = workspace("missing");
    std::fs::remove_file(ws.path("credentials/vendor-sftp-password")).unwrap();
    let run = ws.run(&["run", "--as-of", "2026-11-23"]);
    run.assert_code(1);
    run.assert_stderr_contains(
        "job[0].destination.password: credential vendor-sftp-password is not in $CREDENTIALS_DIRECTORY",
    );
    run.assert_stderr_contains(
        "add `LoadCredential=vendor-sftp-password:/etc/sis-extract/credentials/vendor-sftp-password`",
    );
    assert_eq!(ws.history()[0]["outcome"], "failed");
    assert!(listing(&remote).is_empty());
    assert_no_secret(&format!("{}{}", run.both(), ws.history_text()));

    // Outside a unit that passes credentials at all.
    ws.set_env("CREDENTIALS_DIRECTORY", "");
    let run = ws.run(&["run", "--as-of", "2026-11-23"]);
    run.assert_code(1);
    run.assert_stderr_contains(
        "source.password: credential sis-db-password: $CREDENTIALS_DIRECTORY is not set",
    );
    assert_no_secret(&format!("{}{}", run.both(), ws.history_text()));
}

#[test]
fn a_bad_credential_name_is_a_config_error() {
    let ws = Workspace::new();
    ConfigBuilder::new()
        .source("Driver=SQLite3;Database=x.db")
        .source_raw("password = { credential = \"../etc/shadow\" }")
        .job(JobBuilder::csv("j", "q"))
        .write(&ws);
    ws.run(&["config"])
        .assert_code(2)
        .assert_stderr_contains("source.password: \"../etc/shadow\" is not a credential name");
}

#[test]
fn the_windows_commands_say_what_linux_does_instead() {
    let ws = Workspace::new();
    let set = ws.run(&["secret", "set", "sis-db-password"]);
    set.assert_code(2);
    set.assert_stderr_contains("systemd-creds encrypt --name=sis-db-password");
    set.assert_stderr_contains("LoadCredential=sis-db-password:/etc/sis-extract/credentials/sis-db-password");
    for action in ["install", "status", "uninstall"] {
        let service = ws.run(&["service", action]);
        service.assert_code(2);
        service.assert_stderr_contains(
            "on Linux the systemd unit is the way: /lib/systemd/system/sis-extract.service",
        );
    }
}

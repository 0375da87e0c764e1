//! What sis-extract offers an SSH server and how it says so when they disagree, against
//! OpenSSH instances of their own (on 127.0.0.1, each limited to some algorithms, started
//! and stopped by the test): every class without a common algorithm named at once, the
//! legacy classes only when the config names them, one connection per run when the pin
//! names its key type, and the delivered file's permissions.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

use crate::support::{Sshd, Workspace, service, sqlite};

/// An empty folder in the SFTP user's home; (absolute, relative).
fn remote_folder(test: &str) -> (PathBuf, String) {
    let relative = format!("incoming/negotiation-{test}-{}", std::process::id());
    let absolute = PathBuf::from(service("SIS_TEST_SSH_HOME")).join(&relative);
    let _ = std::fs::remove_dir_all(&absolute);
    let user = service("SIS_TEST_SSH_USER");
    assert!(
        Command::new("install")
            .args(["-d", "-o", &user, "-g", &user, "-m", "755"])
            .arg(&absolute)
            .status()
            .unwrap()
            .success()
    );
    (absolute, relative)
}

fn workspace(port: u16, relative: &str, pin: &str, extra: &str) -> Workspace {
    let mut ws = Workspace::new();
    let db = ws.path("db.sqlite");
    sqlite(&db, "CREATE TABLE users (id integer, name text); INSERT INTO users VALUES (1, 'Zoë');");
    ws.write("q/users.sql", "SELECT id, name FROM users");
    ws.write(
        "config.toml",
        &format!(
            "history_file = \"history.jsonl\"\n[source]\nconnection_string = \"Driver=SQLite3;Database={}\"\n\n\
             [[job]]\nname = \"vendor\"\nqueries = \"q\"\nformat = \"csv\"\narchive = \"roster.zip\"\n\n\
             [job.destination]\nkind = \"sftp\"\nhost = \"127.0.0.1\"\nport = {port}\nuser = \"{}\"\n\
             password = {{ env = \"VENDOR_PW\" }}\n{pin}\nremote_dir = \"{relative}\"\ntimeout = \"10s\"\nattempts = 1\n{extra}",
            db.display(),
            service("SIS_TEST_SSH_USER"),
        ),
    );
    ws.set_env("VENDOR_PW", &service("SIS_TEST_SSH_PASSWORD"));
    ws
}

fn pin(variable: &str) -> String {
    format!("host_key = \"{}\"", service(variable))
}

#[test]
fn an_old_server_is_refused_naming_every_class_and_reached_with_the_named_legacy_algorithms() {
    let sshd = Sshd::start(
        "KexAlgorithms diffie-hellman-group14-sha1\nHostKeyAlgorithms ssh-rsa\nCiphers aes128-cbc\nMACs hmac-sha1",
    );
    let (remote, relative) = remote_folder("old");
    let ws = workspace(sshd.port, &relative, &pin("SIS_TEST_SSH_HOSTKEY_RSA"), "");
    let check = ws.run(&["check", "--only", "sftp"]);
    assert_ne!(check.code, 0);
    let out = check.both();
    for class in ["key exchange", "host key", "cipher"] {
        assert!(out.contains(&format!("no common {class} algorithm")), "{class}: {out}");
    }
    for legacy in ["\"sha1-key-exchange\"", "\"ssh-rsa-host-key\"", "\"cbc-ciphers\""] {
        assert!(out.contains(&format!("legacy_algorithms = [{legacy}]")), "{legacy}: {out}");
    }
    assert!(!out.contains("no common MAC"), "hmac-sha1 is offered by default: {out}");
    assert!(!out.contains("firewall"), "a mismatch is not the network's fault: {out}");

    let run = ws.run(&["run"]);
    assert_eq!(run.code, 1, "{}", run.both());
    assert!(run.stderr.contains("Not retried"), "{}", run.stderr);
    assert!(!remote.join("roster.zip").exists());

    let ws = workspace(
        sshd.port,
        &relative,
        &pin("SIS_TEST_SSH_HOSTKEY_RSA"),
        "legacy_algorithms = [\"sha1-key-exchange\", \"ssh-rsa-host-key\", \"cbc-ciphers\"]",
    );
    let check = ws.run(&["check", "--only", "sftp"]);
    assert_eq!(check.code, 0, "{}", check.both());
    assert!(
        check
            .stdout
            .contains("kex diffie-hellman-group14-sha1, host key ssh-rsa, cipher aes128-cbc, MAC hmac-sha1"),
        "{}",
        check.stdout
    );
    ws.run(&["run"]).assert_ok();
    assert!(remote.join("roster.zip").exists());
}

#[test]
fn a_mac_mismatch_is_reported_with_the_cipher_that_needs_it() {
    let sshd = Sshd::start("Ciphers aes128-ctr\nMACs hmac-md5");
    let (_, relative) = remote_folder("mac");
    let ws = workspace(sshd.port, &relative, &pin("SIS_TEST_SSH_HOSTKEY_ED25519"), "");
    let check = ws.run(&["check", "--only", "sftp"]);
    assert_ne!(check.code, 0);
    let out = check.both();
    assert!(out.contains("no common MAC algorithm: the server offers hmac-md5"), "{out}");
    assert!(!out.contains("no common cipher"), "{out}");
}

#[test]
fn a_pin_with_its_key_type_connects_once_and_a_bare_one_only_to_the_types_the_server_has() {
    // The server prefers ed25519 (sis-extract's first choice); the pin is its RSA key.
    let sshd = Sshd::start("");
    let (_, relative) = remote_folder("connections");
    let fingerprint = service("SIS_TEST_SSH_HOSTKEY_RSA");

    let typed = workspace(sshd.port, &relative, &format!("host_key = \"ssh-rsa {fingerprint}\""), "");
    for command in [&["run"][..], &["check", "--only", "sftp"][..]] {
        sshd.forget_connections();
        let run = typed.run(command);
        assert_eq!(run.code, 0, "{command:?}: {}", run.both());
        assert_eq!(sshd.connections(), 1, "{command:?} with a typed pin");
    }

    let bare = workspace(sshd.port, &relative, &format!("host_key = \"{fingerprint}\""), "");
    sshd.forget_connections();
    bare.run(&["run"]).assert_ok();
    // ed25519 (mismatch), ecdsa (mismatch), rsa: the three types this server has.
    assert_eq!(sshd.connections(), 3, "bare pin of the server's third key type");
    sshd.forget_connections();
    let check = bare.run(&["check", "--only", "sftp"]);
    assert_eq!(check.code, 0, "{}", check.both());
    assert_eq!(sshd.connections(), 3);
    assert!(
        check.stdout.contains(&format!("host_key = \\\"ssh-rsa {fingerprint}\\\""))
            || check.stdout.contains(&format!("host_key = \"ssh-rsa {fingerprint}\"")),
        "check suggests the typed pin: {}",
        check.stdout
    );

    // A server that has only an ECDSA key: a bare ed25519-first attempt learns that from
    // the server's KEXINIT and never tries types it does not offer.
    let ecdsa_only = Sshd::start("HostKeyAlgorithms ecdsa-sha2-nistp256");
    let ws = workspace(ecdsa_only.port, &relative, &pin("SIS_TEST_SSH_HOSTKEY_ECDSA"), "");
    ecdsa_only.forget_connections();
    ws.run(&["run"]).assert_ok();
    assert_eq!(ecdsa_only.connections(), 1);
}

#[test]
fn the_delivered_file_is_readable_by_the_owners_group_by_default_and_as_configured() {
    let sshd = Sshd::start("");
    let (remote, relative) = remote_folder("mode");
    let ws = workspace(sshd.port, &relative, &pin("SIS_TEST_SSH_HOSTKEY_ED25519"), "");
    ws.run(&["run"]).assert_ok();
    let mode = std::fs::metadata(remote.join("roster.zip")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640, "default file_mode");
    std::fs::remove_file(remote.join("roster.zip")).unwrap();

    let ws = workspace(sshd.port, &relative, &pin("SIS_TEST_SSH_HOSTKEY_ED25519"), "file_mode = \"0644\"");
    ws.run(&["run"]).assert_ok();
    let mode = std::fs::metadata(remote.join("roster.zip")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);

    let ws = workspace(sshd.port, &relative, &pin("SIS_TEST_SSH_HOSTKEY_ED25519"), "file_mode = \"0666\"");
    ws.run(&["config"]).assert_code(2).assert_stderr_contains("file_mode");
}

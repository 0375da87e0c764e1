//! Delivery to a real OpenSSH sshd (internal-sftp) on 127.0.0.1: password and key
//! authentication, host-key pinning (checked before any credential is sent), atomic
//! replacement of an existing file, no temporary file left behind, clear failures, and no
//! secret in any output or history line.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::Command;

use crate::support::{Workspace, listing, service, sqlite};

/// An empty remote folder for one test, owned by the SFTP user; returns (absolute path,
/// path relative to the user's login folder).
fn remote_folder(test: &str) -> (PathBuf, String) {
    let relative = format!("incoming/{test}-{}", std::process::id());
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

/// A workspace with a tiny SQLite source and one SFTP job; `auth` and `pin` are the
/// destination's credential and host-key lines.
fn workspace(remote_dir: &str, auth: &str, pin: &str, extra: &str) -> Workspace {
    let ws = Workspace::new();
    let db = ws.path("db.sqlite");
    sqlite(
        &db,
        "CREATE TABLE users (id integer, name text); INSERT INTO users VALUES (1, 'Zoë'), (2, 'O''Neil');",
    );
    ws.write("q/users.sql", "SELECT id, name FROM users ORDER BY id");
    ws.write(
        "config.toml",
        &format!(
            "history_file = \"history.jsonl\"\n[source]\nconnection_string = \"Driver=SQLite3;Database={}\"\n\n\
             [[job]]\nname = \"vendor\"\nqueries = \"q\"\nformat = \"csv\"\narchive = \"roster-{{date}}.zip\"\n\n\
             [job.destination]\nkind = \"sftp\"\nhost = \"{}\"\nport = {}\nuser = \"{}\"\n{auth}\n{pin}\nremote_dir = \"{remote_dir}\"\ntimeout = \"10s\"\n{extra}",
            db.display(),
            service("SIS_TEST_SSH_HOST"),
            service("SIS_TEST_SSH_PORT"),
            service("SIS_TEST_SSH_USER"),
        ),
    );
    ws
}

fn password_ws(remote_dir: &str, pin: &str, extra: &str) -> Workspace {
    let mut ws = workspace(remote_dir, "password = { env = \"VENDOR_PW\" }", pin, extra);
    ws.set_env("VENDOR_PW", &service("SIS_TEST_SSH_PASSWORD"));
    ws
}

fn pinned() -> String {
    format!("host_key = \"{}\"", service("SIS_TEST_SSH_HOSTKEY_ED25519"))
}

#[test]
fn password_authentication_delivers_the_zip_and_leaves_nothing_else() {
    let (remote, relative) = remote_folder("password");
    let ws = password_ws(&relative, &pinned(), "");
    let run = ws.run(&["run", "--as-of", "2026-11-23", "--keep", "kept"]);
    run.assert_ok();
    assert_eq!(listing(&remote), ["roster-20261123.zip"], "no temporary name left behind");
    let sent = std::fs::read(remote.join("roster-20261123.zip")).unwrap();
    assert_eq!(sent, std::fs::read(ws.path("kept/roster-20261123.zip")).unwrap(), "byte for byte");
    let history = ws.history();
    assert_eq!(history[0]["outcome"], "success");
    assert_eq!(history[0]["host_key"], service("SIS_TEST_SSH_HOSTKEY_ED25519"));
    assert_eq!(history[0]["zip_bytes"], sent.len());
    assert!(
        history[0]["destination"].as_str().unwrap().ends_with(&format!("{relative}/roster-20261123.zip"))
    );
    let password = service("SIS_TEST_SSH_PASSWORD");
    assert!(!run.both().contains(&password) && !ws.history_text().contains(&password));
}

#[test]
fn key_authentication_with_every_key_type() {
    for (variable, passphrase) in [
        ("SIS_TEST_SSH_KEY_ED25519", false),
        ("SIS_TEST_SSH_KEY_ECDSA", false),
        ("SIS_TEST_SSH_KEY_RSA", false),
        ("SIS_TEST_SSH_KEY_ECDSA_PEM", false),
        ("SIS_TEST_SSH_KEY_RSA_PEM", false),
        ("SIS_TEST_SSH_KEY_PROTECTED", true),
    ] {
        let (remote, relative) = remote_folder(&format!("key-{}", variable.to_lowercase()));
        let mut auth = format!("key_file = \"{}\"", service(variable));
        if passphrase {
            auth.push_str("\nkey_passphrase = { env = \"KEY_PASS\" }");
        }
        let mut ws = workspace(&relative, &auth, &pinned(), "");
        ws.set_env("KEY_PASS", &service("SIS_TEST_SSH_KEY_PASSPHRASE"));
        let run = ws.run(&["run", "--as-of", "2026-11-23"]);
        assert_eq!(run.code, 0, "{variable}: {}", run.stderr);
        assert_eq!(listing(&remote), ["roster-20261123.zip"], "{variable}");
        assert!(!run.both().contains(&service("SIS_TEST_SSH_KEY_PASSPHRASE")));
    }
}

#[test]
fn a_wrong_password_is_named_not_retried_and_never_printed() {
    let (remote, relative) = remote_folder("wrong-password");
    let mut ws = password_ws(&relative, &pinned(), "attempts = 3\n");
    ws.set_env("VENDOR_PW", "Wr0ng;pass}word-5521");
    for args in [&["run"][..], &["-v", "run"][..]] {
        let started = std::time::Instant::now();
        let run = ws.run(args);
        run.assert_code(1)
            .assert_stderr_contains("rejected the password")
            .assert_stderr_contains("check job.destination.password")
            .assert_stderr_contains(
                "The server offers: publickey,password. Not retried: a wrong credential does not fix itself",
            );
        assert!(started.elapsed().as_secs() < 5, "credentials are not retried");
        assert!(!run.both().contains("Wr0ng;pass}word-5521"), "{}", run.both());
    }
    assert!(!ws.history_text().contains("Wr0ng"), "history: {}", ws.history_text());
    assert_eq!(ws.history()[0]["outcome"], "failed");
    assert!(listing(&remote).is_empty());
}

#[test]
fn a_key_the_server_does_not_know_is_named() {
    let (_, relative) = remote_folder("unknown-key");
    let ws = workspace(
        &relative,
        &format!("key_file = \"{}\"", service("SIS_TEST_SSH_KEY_UNAUTHORIZED")),
        &pinned(),
        "",
    );
    ws.run(&["run"])
        .assert_code(1)
        .assert_stderr_contains("did not accept the key")
        .assert_stderr_contains(".pub");
}

#[test]
fn a_host_key_that_does_not_match_is_refused_before_authenticating() {
    let (remote, relative) = remote_folder("hostkey");
    // A user name that appears nowhere else: if any authentication were attempted, sshd
    // would log "Invalid user <name>".
    let user = format!("hostkeyprobe{}", std::process::id());
    let ws = password_ws(&relative, "host_key = \"SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\"", "");
    let config = std::fs::read_to_string(ws.path("config.toml")).unwrap();
    ws.write(
        "config.toml",
        &config
            .replace(&format!("user = \"{}\"", service("SIS_TEST_SSH_USER")), &format!("user = \"{user}\"")),
    );
    let run = ws.run(&["run"]);
    run.assert_code(1)
        .assert_stderr_contains("presented a host key that does not match the pinned job.destination.host_key SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU")
        .assert_stderr_contains("refusing to send credentials")
        .assert_stderr_contains("Not retried. THE HOST KEY HAS CHANGED")
        .assert_stderr_contains(&format!("ssh-ed25519 {}", service("SIS_TEST_SSH_HOSTKEY_ED25519")))
        .assert_stderr_contains(&service("SIS_TEST_SSH_HOSTKEY_RSA"));
    assert!(listing(&remote).is_empty());
    let log = std::fs::read_to_string(service("SIS_TEST_SSHD_LOG")).unwrap();
    assert!(!log.contains(&user), "sshd saw an authentication attempt for {user}");
}

#[test]
fn a_pin_of_any_of_the_servers_keys_is_accepted() {
    for variable in ["SIS_TEST_SSH_HOSTKEY_RSA", "SIS_TEST_SSH_HOSTKEY_ECDSA"] {
        let (remote, relative) = remote_folder(&format!("pin-{}", variable.to_lowercase()));
        let ws = password_ws(&relative, &format!("host_key = \"{}\"", service(variable)), "");
        let run = ws.run(&["run", "--as-of", "2026-11-23"]);
        assert_eq!(run.code, 0, "{variable}: {}", run.stderr);
        assert_eq!(listing(&remote), ["roster-20261123.zip"]);
        assert_eq!(ws.history()[0]["host_key"], service(variable));
    }
}

#[test]
fn a_known_hosts_file_pins_the_host() {
    let (remote, relative) = remote_folder("known-hosts");
    let ws =
        password_ws(&relative, &format!("known_hosts = \"{}\"", service("SIS_TEST_SSH_KNOWN_HOSTS")), "");
    ws.run(&["run", "--as-of", "2026-11-23"]).assert_ok();
    assert_eq!(listing(&remote), ["roster-20261123.zip"]);

    // A known_hosts file that does not list this host:port is a refusal too.
    let other = ws.write(
        "other_known_hosts",
        "[127.0.0.1]:1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n",
    );
    let ws = password_ws(&relative, &format!("known_hosts = \"{}\"", other.display()), "");
    ws.run(&["run"]).assert_code(1).assert_stderr_contains("does not match any key for this host in");
}

#[test]
fn a_missing_remote_folder_is_named() {
    let ws = password_ws("incoming/does-not-exist-anywhere", &pinned(), "");
    ws.run(&["run"]).assert_code(1).assert_stderr_contains(
        "the remote folder incoming/does-not-exist-anywhere does not exist on 127.0.0.1",
    );
}

#[test]
fn an_existing_file_is_replaced_by_rename_not_rewritten() {
    let (remote, _) = remote_folder("replace");
    let target = remote.join("roster-20261123.zip");
    std::fs::write(&target, b"last night's file").unwrap();
    let old_inode = std::fs::metadata(&target).unwrap().ino();
    // An absolute remote folder this time.
    let ws = password_ws(&remote.display().to_string(), &pinned(), "");
    ws.run(&["run", "--as-of", "2026-11-23", "--keep", "kept"]).assert_ok();
    assert_eq!(listing(&remote), ["roster-20261123.zip"]);
    assert_eq!(std::fs::read(&target).unwrap(), std::fs::read(ws.path("kept/roster-20261123.zip")).unwrap());
    // A new inode: the file was swapped in whole by the rename, never truncated and
    // rewritten in place where the vendor could read half of it.
    assert_ne!(std::fs::metadata(&target).unwrap().ino(), old_inode);
}

#[test]
fn a_leftover_temporary_file_from_a_failed_night_is_reused_and_removed() {
    let (remote, relative) = remote_folder("leftover");
    let leftover = remote.join(".roster-20261123.zip.partial");
    std::fs::write(&leftover, b"half an upload").unwrap();
    let user = service("SIS_TEST_SSH_USER");
    assert!(Command::new("chown").arg(format!("{user}:{user}")).arg(&leftover).status().unwrap().success());
    let ws = password_ws(&relative, &pinned(), "");
    ws.run(&["run", "--as-of", "2026-11-23"]).assert_ok();
    assert_eq!(listing(&remote), ["roster-20261123.zip"]);
}

#[test]
fn a_refused_port_is_retried_then_reported() {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    let ws = password_ws("incoming", &pinned(), "attempts = 2\n");
    let config = std::fs::read_to_string(ws.path("config.toml")).unwrap();
    ws.write("config.toml", &config.replace(&format!("port = {}", service("SIS_TEST_SSH_PORT")), "port = 1"));
    let run = ws.run(&["run"]);
    run.assert_code(1)
        .assert_stderr_contains(
            "the connection was refused: the host is reachable but nothing listens on that port",
        )
        .assert_stderr_contains("failed after 2 attempt(s)");
    assert!(run.stderr.contains("will retry"), "the first failure is logged as retried: {}", run.stderr);
}

#[test]
fn a_server_that_never_speaks_times_out_instead_of_hanging() {
    // A real TCP listener that accepts and then says nothing, like a firewall appliance
    // or a half-dead service.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let holder = std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().take(1).map(|s| s.unwrap()).collect();
        std::thread::sleep(std::time::Duration::from_secs(6));
        drop(held);
    });
    let ws = password_ws("incoming", &pinned(), "attempts = 1\n");
    let config = std::fs::read_to_string(ws.path("config.toml")).unwrap();
    ws.write(
        "config.toml",
        &config
            .replace(&format!("port = {}", service("SIS_TEST_SSH_PORT")), &format!("port = {port}"))
            .replace("timeout = \"10s\"", "timeout = \"2s\""),
    );
    let started = std::time::Instant::now();
    ws.run(&["run"]).assert_code(1).assert_stderr_contains("the SSH handshake with 127.0.0.1");
    assert!(started.elapsed().as_secs() < 7, "gave up after the 2 s timeout, took {:?}", started.elapsed());
    holder.join().unwrap();
}

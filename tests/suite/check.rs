//! `sis-extract check` against real services: every failure is produced for real (a
//! dropped SYN inside a network namespace made here, a listener that is not SSH, a wrong
//! pin, a read-only folder…) and its message asserted; and the all-green path.

use std::io::Write;
use std::net::TcpListener;
use std::process::Command;

use crate::support::{Run, Workspace, local_job, service};

/// Settings of one check config; each test changes what it breaks.
struct Setup {
    connection_string: String,
    db_password: String,
    queries: String,
    host: String,
    port: String,
    auth: String,
    pin: String,
    remote_dir: String,
    sftp_password: String,
    /// Top-level keys (history_file, work_dir, log_file).
    top: String,
    /// More `[[job]]` blocks after the SFTP job.
    more_jobs: String,
}

impl Setup {
    fn green() -> Setup {
        Setup {
            connection_string: service("SIS_TEST_PG_CONN"),
            db_password: service("SIS_TEST_PG_READER_PASSWORD"),
            queries: String::new(),
            host: service("SIS_TEST_SSH_HOST"),
            port: service("SIS_TEST_SSH_PORT"),
            auth: "password = { env = \"SFTP_PW\" }".into(),
            pin: format!("host_key = \"{}\"", service("SIS_TEST_SSH_HOSTKEY_ED25519")),
            remote_dir: "incoming".into(),
            sftp_password: service("SIS_TEST_SSH_PASSWORD"),
            top: "history_file = \"h.jsonl\"\n".into(),
            more_jobs: String::new(),
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        self.check(&self.workspace(), args)
    }

    /// The workspace with config and queries written, to be changed before `check`.
    fn workspace(&self) -> Workspace {
        let mut ws = Workspace::new();
        let queries = if self.queries.is_empty() {
            ws.write("q/pupils.sql", "-- a harmless query\nSELECT relname AS name, relpages AS pages FROM pg_class WHERE relpages >= 0");
            "q".to_string()
        } else {
            self.queries.clone()
        };
        ws.write(
            "config.toml",
            &format!(
                "{}[source]\nconnection_string = \"{}\"\nuser = \"{}\"\npassword = {{ env = \"DB_PW\" }}\nlogin_timeout = \"3s\"\n\n\
                 [[job]]\nname = \"vendor\"\nqueries = \"{queries}\"\nformat = \"csv\"\narchive = \"x.zip\"\n\n\
                 [job.destination]\nkind = \"sftp\"\nhost = \"{}\"\nport = {}\nuser = \"{}\"\n{}\n{}\nremote_dir = \"{}\"\ntimeout = \"2s\"\n\n{}",
                self.top,
                self.connection_string,
                service("SIS_TEST_PG_READER_USER"),
                self.host,
                self.port,
                service("SIS_TEST_SSH_USER"),
                self.auth,
                self.pin,
                self.remote_dir,
                self.more_jobs
            ),
        );
        ws.set_env("DB_PW", &self.db_password);
        ws.set_env("SFTP_PW", &self.sftp_password);
        ws
    }

    fn check(&self, ws: &Workspace, args: &[&str]) -> Run {
        let run = ws.run(args);
        for secret in [
            service("SIS_TEST_SSH_PASSWORD"),
            service("SIS_TEST_PG_READER_PASSWORD"),
            self.db_password.clone(),
            self.sftp_password.clone(),
        ] {
            assert!(!run.both().contains(&secret), "a secret was printed:\n{}", run.both());
        }
        run
    }
}

/// The line of `step` in the text report.
#[track_caller]
fn step_line(run: &Run, step: &str) -> String {
    run.stdout
        .lines()
        .find(|l| {
            let rest: String = l.trim_start().chars().skip(1).collect();
            (l.contains('✓') || l.contains('✗')) && rest.trim_start().starts_with(step)
        })
        .unwrap_or_else(|| panic!("no {step} step in:\n{}", run.stdout))
        .to_string()
}

#[track_caller]
fn assert_fails_at(run: &Run, step: &str, message: &str) {
    assert_eq!(run.code, 4, "expected exit 4:\n{}\n{}", run.stdout, run.stderr);
    let line = step_line(run, step);
    assert!(line.contains('✗'), "{step} should fail: {line}");
    assert!(run.stdout.contains(message), "output lacks {message:?}:\n{}", run.stdout);
}

/// The lines of the chain whose header starts with `name`: its header and its steps.
#[track_caller]
fn chain_text(run: &Run, name: &str) -> String {
    let mut lines = run.stdout.lines().skip_while(|l| !l.starts_with(name));
    let header = lines.next().unwrap_or_else(|| panic!("no chain {name} in:\n{}", run.stdout));
    let steps: Vec<&str> = lines.take_while(|l| l.starts_with(' ')).collect();
    format!("{header}\n{}\n", steps.join("\n"))
}

/// `chattr +i` on a folder while the guard lives: no file can be created in it, even by
/// root (the tests run as root, for whom permission bits do not apply). Undone on drop.
struct Immutable(std::path::PathBuf);

impl Immutable {
    fn new(path: &std::path::Path) -> Immutable {
        let status = Command::new("chattr").arg("+i").arg(path).status().expect("chattr");
        assert!(status.success(), "chattr +i {}", path.display());
        Immutable(path.to_path_buf())
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

#[test]
fn all_green_against_the_real_postgresql_and_sshd() {
    let green = Setup {
        top: "history_file = \"h.jsonl\"\nlog_file = \"logs/sis.log\"\nwork_dir = \"work\"\n".into(),
        more_jobs: local_job("copy", "q", "out"),
        ..Setup::green()
    };
    let ws = green.workspace();
    std::fs::create_dir(ws.path("out")).unwrap();
    std::fs::create_dir(ws.path("work")).unwrap();
    let run = green.check(&ws, &["check"]);
    run.assert_ok();
    let root = ws.dir.path().display().to_string();
    let local = chain_text(&run, "local state (this server, as uid ");
    for (step, seen) in [
        (
            "history file",
            format!(
                "{root}/h.jsonl does not exist yet; the run creates it; this account can create files in {root}"
            ),
        ),
        (
            "lock",
            format!(
                ".sis-extract-vendor.lock, .sis-extract-copy.lock can be created; this account can create files in {root}"
            ),
        ),
        (
            "log folder",
            format!(
                "{root}/logs does not exist yet; the run creates it in {root}, where this account can create files"
            ),
        ),
        ("work folder", format!("this account can create files in {root}/work")),
    ] {
        let line = local
            .lines()
            .find(|l| l.contains(&format!(" {step} ")))
            .unwrap_or_else(|| panic!("{step}:\n{local}"));
        assert!(line.contains('✓') && line.contains(&seen), "{step}: {line}");
    }
    // Beside the config file: fine from this shell, not under the shipped systemd unit.
    assert!(local.contains("which the shipped systemd unit makes read-only"), "{local}");
    let copy = chain_text(&run, "job copy → local folder");
    assert!(
        copy.contains(&format!("✓ write probe    this account can create files in {root}/out")),
        "{copy}"
    );
    // The probes leave nothing behind, and the missing log folder is not created by check.
    for folder in ["", "out", "work"] {
        assert!(
            !std::fs::read_dir(ws.path(folder)).unwrap().any(|e| e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains("sis-extract-check")),
            "a probe file was left in {folder:?}"
        );
    }
    assert!(!ws.path("logs").exists());
    assert!(!ws.path("h.jsonl").exists());

    let run = Setup::green().run(&["check"]);
    run.assert_ok();
    for step in [
        "dns",
        "tcp",
        "odbc driver",
        "login",
        "read-only",
        "query",
        "ssh banner",
        "key exchange",
        "host key",
        "authentication",
        "sftp",
        "remote folder",
        "write probe",
        "rename probe",
        "delete probe",
    ] {
        assert!(step_line(&run, step).contains('✓'), "{step}:\n{}", run.stdout);
    }
    assert!(run.stdout.contains("the session is read-only (transaction_read_only = on)"));
    assert!(run.stdout.contains("pupils.sql → 2 column(s): name"), "{}", run.stdout);
    assert!(run.stdout.contains("SSH-2.0-OpenSSH"));
    assert!(run.stdout.ends_with("all checks passed\n"));
    // No probe file is left behind.
    let incoming = std::path::Path::new(&service("SIS_TEST_SSH_HOME")).join("incoming");
    assert!(
        !std::fs::read_dir(incoming).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains("sis-extract-check"))
    );

    let json = Setup::green().run(&["check", "--json"]);
    json.assert_ok();
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(value["ok"], true);
    assert_eq!(value["chains"][0]["steps"][3]["step"], "login");
    assert!(value["chains"][1]["steps"].as_array().unwrap().len() >= 11);
    assert_eq!(value["chains"][2]["name"], "local state");
    assert_eq!(value["chains"][2]["steps"][0]["step"], "history file");
}

#[test]
fn a_history_file_in_a_folder_the_run_cannot_write() {
    // The issue: a relative history_file puts the history and the job lock beside the
    // config, in a folder the run cannot write (under the shipped systemd unit it is
    // read-only). The network chains are green; the run would fail creating its lock.
    let setup = Setup::green();
    let ws = setup.workspace();
    let root = ws.dir.path().display().to_string();
    let frozen = Immutable::new(ws.dir.path());
    let run = setup.check(&ws, &["check"]);
    assert_fails_at(
        &run,
        "history file",
        &format!("cannot create a file in {root}: Operation not permitted"),
    );
    assert!(step_line(&run, "lock").contains('✗'), "{}", run.stdout);
    assert!(step_line(&run, "work folder").contains('✓'), "{}", run.stdout);
    let local = chain_text(&run, "local state");
    assert!(local.contains(&format!("grant this account write access to {root}")), "{local}");
    assert!(
        local.contains("the config folder is read-only under the shipped systemd unit (ProtectSystem=strict"),
        "{local}"
    );
    assert!(local.contains("set history_file to an absolute path under /var/lib/sis-extract"), "{local}");
    assert!(run.stdout.ends_with("1 of 3 chain(s) failed\n"), "{}", run.stdout);
    // `--only` narrows the check to one network side and leaves the local state out.
    setup.check(&ws, &["check", "--only", "sftp"]).assert_ok();
    // The run fails where check said it would.
    let real = ws.run(&["run", "--job", "vendor"]);
    assert_ne!(real.code, 0);
    assert!(real.stderr.contains(&format!("{root}/.sis-extract-vendor.lock")), "{}", real.stderr);
    drop(frozen);
}

#[test]
fn a_work_folder_that_cannot_be_created() {
    // work_dir on a path the run cannot create (an unmounted disk, a folder this account
    // may not write): the run would fail creating its work folder.
    let setup =
        Setup { top: "history_file = \"h.jsonl\"\nwork_dir = \"scratch/sis\"\n".into(), ..Setup::green() };
    let ws = setup.workspace();
    let root = ws.dir.path().display().to_string();
    std::fs::create_dir(ws.path("scratch")).unwrap();
    let frozen = Immutable::new(&ws.path("scratch"));
    let run = setup.check(&ws, &["check"]);
    assert_fails_at(
        &run,
        "work folder",
        &format!(
            "{root}/scratch/sis does not exist and cannot be created: cannot create anything in {root}/scratch: Operation not permitted"
        ),
    );
    assert!(run.stdout.contains("or set work_dir to a folder this account can write"), "{}", run.stdout);
    assert!(step_line(&run, "history file").contains('✓'));
    drop(frozen);

    // Under a file, not a folder: no account can create it.
    let setup = Setup { top: "work_dir = \"notes.txt/sis\"\n".into(), ..Setup::green() };
    let ws = setup.workspace();
    ws.write("notes.txt", "not a folder");
    let run = setup.check(&ws, &["check"]);
    let root = ws.dir.path().display().to_string();
    assert_fails_at(
        &run,
        "work folder",
        &format!(
            "cannot create the folder {root}/notes.txt/sis: {root}/notes.txt is a regular file, not a folder"
        ),
    );

    // A missing one the run can create passes.
    let run = Setup { top: "work_dir = \"new/sis\"\n".into(), ..Setup::green() }.run(&["check"]);
    run.assert_ok();
    assert!(step_line(&run, "work folder").contains("new/sis does not exist yet; the run creates it"));
}

#[test]
fn a_local_destination_that_is_missing_or_not_writable() {
    let setup = Setup { more_jobs: local_job("copy", "q", "out"), ..Setup::green() };
    let ws = setup.workspace();
    let root = ws.dir.path().display().to_string();
    // Missing (an unmounted share): the run does not create it.
    let run = setup.check(&ws, &["check", "--only", "sftp"]);
    assert_fails_at(&run, "folder", &format!("{root}/out does not exist"));
    // There, but this account cannot write into it: the folder step alone said ✓.
    std::fs::create_dir(ws.path("out")).unwrap();
    let frozen = Immutable::new(&ws.path("out"));
    let run = setup.check(&ws, &["check", "--only", "sftp"]);
    assert_eq!(run.code, 4, "{}", run.stdout);
    let copy = chain_text(&run, "job copy → local folder");
    assert!(copy.contains(&format!("✓ folder         {root}/out exists")), "{copy}");
    assert!(
        copy.contains(&format!(
            "✗ write probe    cannot create a file in {root}/out: Operation not permitted"
        )),
        "{copy}"
    );
    assert!(copy.contains(&format!("grant this account write access to {root}/out")), "{copy}");
    assert!(copy.contains("or fix job.destination.path"), "{copy}");
    drop(frozen);
}

#[test]
fn an_unresolvable_name() {
    let run =
        Setup { host: "no-such-host.invalid".into(), ..Setup::green() }.run(&["check", "--only", "sftp"]);
    assert_fails_at(&run, "dns", "no-such-host.invalid does not resolve");
}

#[test]
fn a_refused_port() {
    let run = Setup { port: "1".into(), ..Setup::green() }.run(&["check", "--only", "sftp"]);
    assert_fails_at(&run, "tcp", "127.0.0.1:1 refused the connection");
    assert!(run.stdout.contains("nothing listens on that port"));
}

/// A network namespace whose firewall drops every incoming SYN to port 22.
struct Firewalled {
    namespace: String,
    host_side: String,
}

impl Firewalled {
    fn new() -> (Firewalled, String) {
        let id = std::process::id() % 200 + 20;
        let namespace = format!("sischk{id}");
        let host_side = format!("sischk{id}h");
        let inner = format!("sischk{id}n");
        let sh = |script: &str| {
            let status = Command::new("sh").arg("-ec").arg(script).status().unwrap();
            assert!(status.success(), "network setup failed: {script}");
        };
        let _ = Command::new("ip").args(["netns", "del", &namespace]).status();
        let _ = Command::new("ip").args(["link", "del", &host_side]).status();
        sh(&format!(
            "ip netns add {namespace}
             ip link add {host_side} type veth peer name {inner}
             ip link set {inner} netns {namespace}
             ip addr add 10.213.{id}.1/24 dev {host_side}
             ip link set {host_side} up
             ip netns exec {namespace} ip addr add 10.213.{id}.2/24 dev {inner}
             ip netns exec {namespace} ip link set {inner} up
             ip netns exec {namespace} ip link set lo up
             ip netns exec {namespace} iptables -A INPUT -p tcp --dport 22 -j DROP"
        ));
        (Firewalled { namespace, host_side }, format!("10.213.{id}.2"))
    }
}

impl Drop for Firewalled {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.host_side]).status();
        let _ = Command::new("ip").args(["netns", "del", &self.namespace]).status();
    }
}

#[test]
fn a_dropped_syn_times_out_and_names_the_source_address() {
    let (_firewall, address) = Firewalled::new();
    let id = address.split('.').nth(2).unwrap().to_string();
    let started = std::time::Instant::now();
    let run = Setup { host: address.clone(), port: "22".into(), ..Setup::green() }
        .run(&["check", "--only", "sftp"]);
    assert_fails_at(&run, "tcp", &format!("no answer from {address}:22 within 2s (timeout)"));
    assert!(run.stdout.contains(&format!("This server connects from 10.213.{id}.1")), "{}", run.stdout);
    assert!(started.elapsed().as_secs() < 10, "the timeout fired");
}

/// A listener on 127.0.0.1 that greets with `greeting` (or stays silent) and holds on.
fn fake_server(greeting: Option<&'static str>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(2) {
            let mut stream = stream.unwrap();
            if let Some(text) = greeting {
                let _ = stream.write_all(text.as_bytes());
            }
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_secs(5));
                drop(stream);
            });
        }
    });
    port
}

#[test]
fn a_tcp_service_that_is_not_ssh() {
    let port = fake_server(Some("220 mail.example.org ESMTP ready\r\n"));
    let run = Setup { port: port.to_string(), ..Setup::green() }.run(&["check", "--only", "sftp"]);
    assert_fails_at(
        &run,
        "ssh banner",
        "not an SSH server: it answered \"220 mail.example.org ESMTP ready\"",
    );
}

#[test]
fn a_server_that_accepts_but_never_speaks() {
    let port = fake_server(None);
    let run = Setup { port: port.to_string(), ..Setup::green() }.run(&["check", "--only", "sftp"]);
    assert_fails_at(&run, "ssh banner", "accepted the TCP connection but sent nothing within 2s (timeout)");
}

#[test]
fn a_wrong_host_key() {
    let run = Setup {
        pin: "host_key = \"SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\"".into(),
        ..Setup::green()
    }
    .run(&["check", "--only", "sftp"]);
    assert_fails_at(&run, "host key", "does not match the pinned job.destination.host_key");
    assert!(!run.stdout.contains("authentication"), "the chain stops before authenticating");
}

#[test]
fn a_missing_pin_prints_the_line_to_add() {
    let run = Setup { pin: String::new(), ..Setup::green() }.run(&["check", "--only", "sftp"]);
    assert_fails_at(&run, "host key", "no host key is pinned; the server presents: ssh-ed25519");
    assert!(
        // With the key's type, so that every run offers only that type and connects once.
        run.stdout
            .contains(&format!("host_key = \"ssh-ed25519 {}\"", service("SIS_TEST_SSH_HOSTKEY_ED25519"))),
        "{}",
        run.stdout
    );
}

#[test]
fn a_wrong_password_says_what_the_server_offers() {
    let run = Setup { sftp_password: "not-the-password-9912".into(), ..Setup::green() }
        .run(&["check", "--only", "sftp"]);
    assert_fails_at(&run, "authentication", "rejected the password");
    assert!(run.stdout.contains("The server offers: publickey,password"));
}

#[test]
fn a_key_that_is_not_accepted() {
    let run = Setup {
        auth: format!("key_file = \"{}\"", service("SIS_TEST_SSH_KEY_UNAUTHORIZED")),
        ..Setup::green()
    }
    .run(&["check", "--only", "sftp"]);
    assert_fails_at(&run, "authentication", "did not accept the key");
}

#[test]
fn a_missing_remote_folder() {
    let run =
        Setup { remote_dir: "incoming/not-there".into(), ..Setup::green() }.run(&["check", "--only", "sftp"]);
    assert_fails_at(&run, "remote folder", "incoming/not-there does not exist on 127.0.0.1");
}

#[test]
fn a_folder_without_write_permission() {
    // Owned by root, readable by everyone: the SFTP user can list it but not write.
    let folder = std::path::Path::new(&service("SIS_TEST_SSH_HOME"))
        .join(format!("incoming/readonly-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    let run = Setup {
        remote_dir: format!("incoming/{}", folder.file_name().unwrap().to_string_lossy()),
        ..Setup::green()
    }
    .run(&["check", "--only", "sftp"]);
    assert!(step_line(&run, "remote folder").contains('✓'));
    assert_fails_at(&run, "write probe", "cannot create a file in incoming/readonly-");
    assert!(run.stdout.contains("permission denied"));
}

#[test]
fn a_missing_odbc_driver() {
    let run = Setup {
        connection_string: "Driver={ODBC Driver 18 for SQL Server};Server=127.0.0.1,1;Database=campus".into(),
        ..Setup::green()
    }
    .run(&["check", "--only", "db"]);
    // The TCP step comes first and fails on port 1; the driver step is tested with a
    // networkless connection string.
    assert_fails_at(&run, "tcp", "127.0.0.1:1 refused the connection");
    let run = Setup {
        connection_string: "Driver={ODBC Driver 18 for SQL Server};Database=campus".into(),
        ..Setup::green()
    }
    .run(&["check", "--only", "db"]);
    assert_fails_at(&run, "odbc driver", "\"ODBC Driver 18 for SQL Server\" is not installed (installed: ");
    assert!(run.stdout.contains("PostgreSQL Unicode"));
}

#[test]
fn a_wrong_database_password() {
    let run =
        Setup { db_password: "wrong;db}pass-4410".into(), ..Setup::green() }.run(&["check", "--only", "db"]);
    assert_fails_at(&run, "login", "the database rejected the user name or password");
}

#[test]
fn a_query_referencing_a_missing_column() {
    let ws = Workspace::new();
    ws.write("q/broken.sql", "SELECT relname AS name, no_such_column AS x FROM pg_class");
    let run = Setup { queries: ws.path("q").display().to_string(), ..Setup::green() }
        .run(&["check", "--only", "db"]);
    assert_fails_at(&run, "query", "broken.sql: ERROR: column \"no_such_column\" does not exist");
}

#[test]
fn a_tls_failure_and_a_missing_database_are_told_apart() {
    // The test server has no TLS: demanding it is a real TLS failure.
    let run = Setup {
        connection_string: format!("{};SSLmode=require", service("SIS_TEST_PG_CONN")),
        ..Setup::green()
    }
    .run(&["check", "--only", "db"]);
    assert_fails_at(&run, "login", "the TLS handshake with the database failed");
    let run = Setup {
        connection_string: service("SIS_TEST_PG_CONN").replace("Database=sis_test", "Database=no_such_db"),
        ..Setup::green()
    }
    .run(&["check", "--only", "db"]);
    assert_fails_at(&run, "login", "the database named in source.connection_string does not exist");
}

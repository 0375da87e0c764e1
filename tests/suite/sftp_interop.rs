//! SFTP interop matrix: the real binary delivers a multi-MiB zip to other SFTP servers
//! than the suite's one OpenSSH sshd (issue 24, items 1 and 7). Each test starts its own
//! server on a free 127.0.0.1 port, with host keys made for this run and pinned by their
//! SHA256 fingerprint, and stops it by pid when it ends (also on a panic):
//!
//! - OpenSSH (second `sshd -D` instances): modern defaults; an RSA host key only; an
//!   ECDSA host key only; a chroot with `ForceCommand internal-sftp -d /incoming` and a
//!   relative `remote_dir = "."`;
//! - ProFTPD with mod_sftp;
//! - Dropbear at its default (24 KiB) receive window, with OpenSSH's `sftp-server`;
//! - paramiko (tests/interop/paramiko_sftp_server.py) with a 64 KiB window, and without
//!   the posix-rename/fsync extensions and with SFTP v3 rename semantics.
//!
//! For each: `check` by password and by key file, a first night by password, a second
//! night by key file that replaces the first night's file (same archive name, new
//! content), the remote file equal to the local zip byte for byte, and nothing else left
//! in the remote folder. Every invocation of the binary has a wall-clock limit, so an
//! upload that stalls fails the test instead of hanging CI. A missing server program fails
//! the test (never a silent skip): CI installs them with scripts/install-deps.
//!
//! Deliberately not asserted (they may change): the remote file's mode, and the warnings
//! about rename fallbacks on a server without posix-rename.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Run, Workspace, listing, service, sqlite};

/// The archive name: fixed (no `{date}`), so the second night replaces the first.
const ARCHIVE: &str = "roster.zip";
/// Rows of 600 random bytes as hex: a ~4.4 MiB zip (hex compresses to about half).
const ROWS: u32 = 7000;
/// Wall-clock limit for one invocation of the binary; its own network timeout is 10 s.
const DEADLINE: Duration = Duration::from_secs(90);

// ------------------------------------------------------------------ server programs

const SSHD: &str = "/usr/sbin/sshd";
const DROPBEAR: &str = "/usr/sbin/dropbear";
const DROPBEARKEY: &str = "/usr/bin/dropbearkey";
const SFTP_SERVER: &str = "/usr/lib/sftp-server";
const PROFTPD: &str = "/usr/sbin/proftpd";
const PROFTPD_MOD_SFTP: &str = "/usr/lib/proftpd/mod_sftp.so";
const PYTHON: &str = "/usr/bin/python3";

/// Fails (never skips) when a program the matrix needs is not installed.
#[track_caller]
fn require(path: &str, package: &str) {
    assert!(
        Path::new(path).exists(),
        "{path} is missing: the SFTP interop tests need Debian's {package}; run scripts/install-deps (CI does)"
    );
}

fn require_paramiko() {
    require(PYTHON, "python3");
    let ok = Command::new(PYTHON).args(["-c", "import paramiko"]).status().is_ok_and(|s| s.success());
    assert!(
        ok,
        "{PYTHON} cannot import paramiko: install Debian's python3-paramiko with scripts/install-deps (CI does)"
    );
}

fn interop_dir() -> PathBuf {
    crate::support::repo().join("tests/interop")
}

/// Runs a setup command and returns its stdout; panics with its stderr if it fails.
#[track_caller]
fn output(command: &mut Command) -> String {
    let out = command.output().unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(out.status.success(), "{command:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A new folder owned by the SFTP test user (it must be able to write there).
fn user_folder(path: &Path) {
    let user = service("SIS_TEST_SSH_USER");
    output(Command::new("install").args(["-d", "-o", &user, "-g", &user, "-m", "755"]).arg(path));
}

/// The `SHA256:…` fingerprint of a public key file, as `ssh-keygen -lf` prints it.
fn fingerprint(public: &Path) -> String {
    let line = output(Command::new("ssh-keygen").arg("-lf").arg(public));
    line.split_whitespace().nth(1).expect("ssh-keygen -lf prints the fingerprint second").to_string()
}

/// Makes an OpenSSH host key pair; `pem` writes the private key in the older PEM format
/// (what ProFTPD reads). Returns the private key's path.
fn host_key(dir: &Path, kind: &str, pem: bool) -> PathBuf {
    let key = dir.join(format!("host_{kind}{}", if pem { "_pem" } else { "" }));
    let mut command = Command::new("ssh-keygen");
    command.args(["-q", "-t", kind, "-N", "", "-C", &format!("sis-interop-{kind}"), "-f"]).arg(&key);
    if kind == "rsa" {
        command.args(["-b", "2048"]);
    }
    if pem {
        command.args(["-m", "PEM"]);
    }
    output(&mut command);
    key
}

fn pub_of(key: &Path) -> PathBuf {
    PathBuf::from(format!("{}.pub", key.display()))
}

/// The client keys the tests log in with (made by scripts/test-services).
fn ed25519_key() -> PathBuf {
    PathBuf::from(service("SIS_TEST_SSH_KEY_ED25519"))
}

fn rsa_key() -> PathBuf {
    PathBuf::from(service("SIS_TEST_SSH_KEY_RSA"))
}

/// An OpenSSH authorized_keys file with the test user's public keys, readable by all (sshd
/// reads it as the user).
fn authorized_keys(dir: &Path) -> PathBuf {
    let path = dir.join("authorized_keys");
    let mut text = String::new();
    for key in [ed25519_key(), rsa_key()] {
        text.push_str(&std::fs::read_to_string(pub_of(&key)).unwrap());
    }
    std::fs::write(&path, text).unwrap();
    chmod(&path, 0o644);
    path
}

/// A temporary folder for one server's config, keys and logs. World-traversable: sshd
/// reads the authorized_keys file in it as the SFTP user.
fn server_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("sis-interop-").tempdir().unwrap();
    chmod(dir.path(), 0o755);
    dir
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| format!("(cannot read: {e})"));
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

// ------------------------------------------------------------------- server guard

/// A server process this test started, in a process group of its own. Dropping it (also
/// while unwinding from a panic) stops the group by the child's pid: SIGTERM, then
/// SIGKILL after 5 s.
struct Server {
    /// The program and variant, for messages (e.g. "sshd openssh-rsa").
    name: String,
    child: Child,
    port: u16,
    log: PathBuf,
    /// The child was waited for: its pid may belong to someone else now, never signal it.
    reaped: bool,
}

impl Server {
    /// Starts `command` (stdout and stderr to `log`) and waits until `port` answers with
    /// an SSH banner. `port` is None when the server picks its own and writes it to
    /// `port_file`. Returns Err when the process ended early (e.g. a port race), so the
    /// caller can try another port.
    fn start(
        name: &str,
        mut command: Command,
        port: Option<u16>,
        port_file: Option<&Path>,
        log: &Path,
    ) -> Result<Server, String> {
        let file = std::fs::File::create(log).unwrap();
        command.stdin(Stdio::null()).stdout(file.try_clone().unwrap()).stderr(file).process_group(0);
        let child = command.spawn().unwrap_or_else(|e| panic!("cannot start {name} ({command:?}): {e}"));
        let mut server = Server {
            name: name.to_string(),
            child,
            port: port.unwrap_or(0),
            log: log.to_path_buf(),
            reaped: false,
        };
        let started = Instant::now();
        loop {
            if let Some(status) = server.child.try_wait().unwrap() {
                server.reaped = true;
                return Err(format!("{name} exited ({status}) before it listened; its log:\n{}", tail(log)));
            }
            if server.port == 0
                && let Some(port) = port_file.and_then(|f| std::fs::read_to_string(f).ok())
            {
                server.port = port.trim().parse().expect("a port number in the port file");
            }
            if server.port != 0 && banner(server.port).is_some() {
                return Ok(server);
            }
            if started.elapsed() > Duration::from_secs(15) {
                // server is dropped here: it is stopped.
                panic!(
                    "{name} did not answer with an SSH banner on 127.0.0.1:{} within 15 s; its log:\n{}",
                    server.port,
                    tail(log)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `start` with a free port chosen here, tried up to three times (another program
    /// may take the port between our check and the server's bind).
    fn start_on_free_port(name: &str, log: &Path, make: impl Fn(u16) -> Command) -> Server {
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port();
            match Server::start(name, make(port), Some(port), None, log) {
                Ok(server) => return server,
                Err(why) => last = why,
            }
        }
        panic!("{last}");
    }

    fn log_tail(&self) -> String {
        format!("---- last lines of {}'s log {} ----\n{}", self.name, self.log.display(), tail(&self.log))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.reaped {
            return;
        }
        let pid = self.child.id() as libc::pid_t;
        // The child leads its own process group (process_group(0)): signal the group, so
        // per-connection children the server forked go too.
        unsafe { libc::kill(-pid, libc::SIGTERM) };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        unsafe { libc::kill(-pid, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

/// The server's identification line, if it sends one within a second. The probe answers
/// with its own before it leaves, so servers log a short disconnect, not a bad banner.
fn banner(port: u16) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line).ok()?;
    let _ = stream.write_all(b"SSH-2.0-sis_interop_probe\r\n");
    line.starts_with("SSH-").then_some(line)
}

// ----------------------------------------------------------------------- targets

/// One running server and where its uploads land, with everything to clean up after.
struct Target {
    server: Server,
    /// The destination's `host_key = "SHA256:…"` pin.
    host_key: String,
    /// The client key file for the key-file nights (the server accepts it).
    key_file: PathBuf,
    /// `remote_dir` as the config says it.
    remote_dir: String,
    /// The same folder on this machine's disk.
    remote: PathBuf,
    /// Held until the test ends: removed after the server stopped (fields drop in order).
    _cleanup: Vec<Cleanup>,
}

enum Cleanup {
    /// Removed when dropped; never read.
    Dir(#[allow(dead_code)] tempfile::TempDir),
    Folder(PathBuf),
    /// Lines this test added to the SFTP user's `~/.ssh/authorized_keys`.
    AuthorizedLines(Vec<String>),
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        match self {
            Cleanup::Dir(_) => {}
            Cleanup::Folder(path) => {
                let _ = std::fs::remove_dir_all(path);
            }
            Cleanup::AuthorizedLines(lines) => {
                edit_user_authorized_keys(&[], lines);
            }
        }
    }
}

/// A fresh folder for this test under the SFTP user's `incoming`, owned by the user;
/// returns (absolute path, path relative to the login folder).
fn incoming_folder(variant: &str) -> (PathBuf, String) {
    let relative = format!("incoming/interop-{variant}-{}", std::process::id());
    let absolute = PathBuf::from(service("SIS_TEST_SSH_HOME")).join(&relative);
    let _ = std::fs::remove_dir_all(&absolute);
    user_folder(&absolute);
    (absolute, relative)
}

/// A second OpenSSH sshd (`sshd -D -f CONFIG -E LOG`) with the given host keys and extra
/// config lines.
fn openssh(variant: &str, kinds: &[&str], extra: &str) -> (Server, tempfile::TempDir, Vec<PathBuf>) {
    require(SSHD, "openssh-server");
    let dir = server_dir();
    let keys: Vec<PathBuf> = kinds.iter().map(|k| host_key(dir.path(), k, false)).collect();
    let authorized = authorized_keys(dir.path());
    let config = dir.path().join("sshd_config");
    let log = dir.path().join("sshd.log");
    let d = dir.path().display();
    let host_keys: String = keys.iter().map(|k| format!("HostKey {}\n", k.display())).collect();
    std::fs::create_dir_all("/run/sshd").unwrap(); // the privilege-separation folder
    let server = Server::start_on_free_port(&format!("sshd {variant}"), &log, |port| {
        std::fs::write(
            &config,
            format!(
                "# sis-extract interop test: OpenSSH {variant}\nListenAddress 127.0.0.1\nPort {port}\n{host_keys}\
                 PidFile {d}/sshd.pid\nSubsystem sftp internal-sftp\nAllowUsers {user}\nPermitRootLogin no\n\
                 PasswordAuthentication yes\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n\
                 AuthorizedKeysFile {authorized}\nStrictModes no\nUsePAM no\nLogLevel VERBOSE\nMaxStartups 100\n{extra}",
                user = service("SIS_TEST_SSH_USER"),
                authorized = authorized.display(),
            ),
        )
        .unwrap();
        let mut command = Command::new(SSHD);
        command.arg("-D").arg("-f").arg(&config).arg("-E").arg(&log);
        command
    });
    (server, dir, keys)
}

fn openssh_in_home(variant: &str, kinds: &[&str], extra: &str, key_file: PathBuf) -> Target {
    let (server, dir, keys) = openssh(variant, kinds, extra);
    let (remote, remote_dir) = incoming_folder(variant);
    Target {
        server,
        host_key: fingerprint(&pub_of(&keys[0])),
        key_file,
        remote_dir,
        remote: remote.clone(),
        _cleanup: vec![Cleanup::Folder(remote), Cleanup::Dir(dir)],
    }
}

/// A root-owned folder no one else can write to, on a path whose every component is
/// so too, as sshd's ChrootDirectory demands (so not under /tmp, which is 1777).
fn chroot_base() -> tempfile::TempDir {
    use std::os::unix::fs::MetadataExt;
    let suitable = |base: &Path| {
        base.ancestors().all(|p| std::fs::metadata(p).is_ok_and(|m| m.uid() == 0 && m.mode() & 0o022 == 0))
    };
    let candidates = [PathBuf::from(env!("CARGO_TARGET_TMPDIR")), PathBuf::from("/run")];
    let base = candidates.iter().find(|b| suitable(b)).unwrap_or_else(|| {
        panic!("no root-owned, not group/world-writable folder for the chroot among {candidates:?}")
    });
    let dir = tempfile::Builder::new().prefix("sis-interop-chroot-").tempdir_in(base).unwrap();
    chmod(dir.path(), 0o755);
    dir
}

fn proftpd() -> Target {
    require(PROFTPD, "proftpd-core");
    require(PROFTPD_MOD_SFTP, "proftpd-mod-crypto");
    let dir = server_dir();
    let rsa = host_key(dir.path(), "rsa", true);
    let ecdsa = host_key(dir.path(), "ecdsa", true);
    // mod_sftp reads authorized keys in RFC 4716 format.
    let authorized = dir.path().join("authorized_keys.rfc4716");
    let mut rfc4716 = String::new();
    for key in [ed25519_key(), rsa_key()] {
        rfc4716.push_str(&output(Command::new("ssh-keygen").arg("-e").arg("-f").arg(pub_of(&key))));
    }
    std::fs::write(&authorized, rfc4716).unwrap();
    chmod(&authorized, 0o644);
    let (remote, remote_dir) = incoming_folder("proftpd");
    let folder = Cleanup::Folder(remote.clone()); // removed even if the start fails
    let config = dir.path().join("proftpd.conf");
    let log = dir.path().join("proftpd.log");
    let d = dir.path().display();
    let server = Server::start_on_free_port("proftpd", &log, |port| {
        std::fs::write(
            &config,
            format!(
                "# sis-extract interop test: ProFTPD mod_sftp\nServerType standalone\nDefaultServer off\nPort 0\n\
                 UseIPv6 off\nUseReverseDNS off\nWtmpLog off\n\
                 PidFile {d}/proftpd.pid\nScoreboardFile {d}/proftpd.scoreboard\nDelayTable {d}/proftpd.delay\n\
                 SystemLog {d}/proftpd.system.log\nTransferLog {d}/proftpd.xfer.log\n\
                 ModulePath /usr/lib/proftpd\nLoadModule mod_sftp.c\n\
                 <VirtualHost 127.0.0.1>\n  Port {port}\n  SFTPEngine on\n  SFTPLog {d}/sftp.log\n\
                 SFTPHostKey {rsa}\n  SFTPHostKey {ecdsa}\n  SFTPAuthMethods publickey password\n\
                 SFTPAuthorizedUserKeys file:{authorized}\n  RequireValidShell off\n  AuthOrder mod_auth_unix.c\n\
                 DefaultRoot ~\n</VirtualHost>\n",
                rsa = rsa.display(),
                ecdsa = ecdsa.display(),
                authorized = authorized.display(),
            ),
        )
        .unwrap();
        let mut command = Command::new(PROFTPD);
        command.arg("-n").arg("-c").arg(&config);
        command
    });
    Target {
        server,
        // It offers both; sis-extract negotiates ECDSA with it.
        host_key: fingerprint(&pub_of(&ecdsa)),
        key_file: ed25519_key(),
        remote_dir,
        remote,
        _cleanup: vec![folder, Cleanup::Dir(dir)],
    }
}

/// Dropbear reads only `~/.ssh/authorized_keys`: adds `add` to the SFTP user's and takes
/// `remove` out of it, under the lock scripts/test-services uses for that user (other test
/// runs share it); returns the lines it added. An emptied file is removed, and `~/.ssh`
/// with it when nothing else is in there.
fn edit_user_authorized_keys(add: &[String], remove: &[String]) -> Vec<String> {
    use std::os::fd::AsRawFd;
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open("/run/lock/sis-test-services.lock")
        .expect("open the test user's lock file");
    unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }; // released when `lock` closes
    let user = service("SIS_TEST_SSH_USER");
    let ssh = PathBuf::from(service("SIS_TEST_SSH_HOME")).join(".ssh");
    let file = ssh.join("authorized_keys");
    let old = std::fs::read_to_string(&file).unwrap_or_default();
    let mut lines: Vec<String> =
        old.lines().filter(|l| !remove.iter().any(|r| r == l)).map(String::from).collect();
    let mut added = Vec::new();
    for line in add {
        if !lines.contains(line) {
            lines.push(line.clone());
            added.push(line.clone());
        }
    }
    if lines.is_empty() {
        let _ = std::fs::remove_file(&file);
        let _ = std::fs::remove_dir(&ssh); // only if empty
    } else {
        if !ssh.exists() {
            output(Command::new("install").args(["-d", "-o", &user, "-g", &user, "-m", "700"]).arg(&ssh));
        }
        std::fs::write(&file, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
        chmod(&file, 0o600);
        output(Command::new("chown").arg(format!("{user}:{user}")).arg(&file));
    }
    added
}

fn dropbear() -> Target {
    require(DROPBEAR, "dropbear-bin");
    require(DROPBEARKEY, "dropbear-bin");
    require(SFTP_SERVER, "openssh-sftp-server");
    let dir = server_dir();
    let key = dir.path().join("dropbear_ed25519_host_key");
    output(Command::new(DROPBEARKEY).args(["-t", "ed25519", "-f"]).arg(&key));
    let public = output(Command::new(DROPBEARKEY).arg("-y").arg("-f").arg(&key));
    let line = public.lines().find(|l| l.starts_with("ssh-")).expect("dropbearkey -y prints the public key");
    let public_file = dir.path().join("dropbear_ed25519_host_key.pub");
    std::fs::write(&public_file, format!("{line}\n")).unwrap();
    let keys: Vec<String> = [ed25519_key(), rsa_key()]
        .iter()
        .map(|k| std::fs::read_to_string(pub_of(k)).unwrap().trim().to_string())
        .collect();
    // Both removed again even if the start fails.
    let authorized = Cleanup::AuthorizedLines(edit_user_authorized_keys(&keys, &[]));
    let (remote, remote_dir) = incoming_folder("dropbear");
    let folder = Cleanup::Folder(remote.clone());
    let log = dir.path().join("dropbear.log");
    let pid_file = dir.path().join("dropbear.pid");
    // Default receive window (24 KiB): no -W on purpose.
    let server = Server::start_on_free_port("dropbear", &log, |port| {
        let mut command = Command::new(DROPBEAR);
        command
            .args(["-F", "-E", "-p", &format!("127.0.0.1:{port}"), "-r"])
            .arg(&key)
            .arg("-P")
            .arg(&pid_file);
        command
    });
    Target {
        server,
        host_key: fingerprint(&public_file),
        key_file: ed25519_key(),
        remote_dir,
        remote,
        _cleanup: vec![folder, authorized, Cleanup::Dir(dir)],
    }
}

fn paramiko(options: &[&str]) -> Target {
    require_paramiko();
    let dir = server_dir();
    let key = host_key(dir.path(), "ed25519", false);
    let authorized = authorized_keys(dir.path());
    let root = dir.path().join("root");
    let remote = root.join("incoming");
    std::fs::create_dir_all(&remote).unwrap();
    let log = dir.path().join("paramiko.log");
    let port_file = dir.path().join("port");
    let mut command = Command::new(PYTHON);
    command
        .arg(interop_dir().join("paramiko_sftp_server.py"))
        .arg("--root")
        .arg(&root)
        .arg("--host-key")
        .arg(&key)
        .args(["--user", &service("SIS_TEST_SSH_USER")])
        .arg("--authorized-keys")
        .arg(&authorized)
        .arg("--port-file")
        .arg(&port_file)
        .arg("--pid-file")
        .arg(dir.path().join("pid"))
        .args(options)
        .env("SFTP_STUB_PASSWORD", service("SIS_TEST_SSH_PASSWORD"));
    let server =
        Server::start("paramiko", command, None, Some(&port_file), &log).unwrap_or_else(|e| panic!("{e}"));
    Target {
        server,
        host_key: fingerprint(&pub_of(&key)),
        key_file: ed25519_key(),
        remote_dir: "incoming".into(),
        remote,
        _cleanup: vec![Cleanup::Dir(dir)],
    }
}

// -------------------------------------------------------------------- the nights

enum Auth {
    Password,
    KeyFile,
}

/// Fills the source with ROWS rows of fresh random hex: a few MiB that barely compress,
/// and different content every time it is called.
fn fill_source(db: &Path) {
    sqlite(
        db,
        &format!(
            "CREATE TABLE IF NOT EXISTS blobs (id integer PRIMARY KEY, payload text); DELETE FROM blobs;\n\
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ROWS})\n\
             INSERT INTO blobs SELECT i, hex(randomblob(600)) FROM n;"
        ),
    );
}

fn write_config(ws: &Workspace, target: &Target, auth: &Auth) {
    let credential = match auth {
        Auth::Password => "password = { env = \"VENDOR_PW\" }".to_string(),
        Auth::KeyFile => format!("key_file = \"{}\"", target.key_file.display()),
    };
    ws.write(
        "config.toml",
        &format!(
            "history_file = \"history.jsonl\"\n[source]\nconnection_string = \"Driver=SQLite3;Database={db}\"\n\n\
             [[job]]\nname = \"vendor\"\nqueries = \"q\"\nformat = \"csv\"\narchive = \"{ARCHIVE}\"\n\n\
             [job.destination]\nkind = \"sftp\"\nhost = \"127.0.0.1\"\nport = {port}\nuser = \"{user}\"\n{credential}\n\
             host_key = \"{host_key}\"\nremote_dir = \"{remote_dir}\"\ntimeout = \"10s\"\nattempts = 1\n",
            db = ws.path("db.sqlite").display(),
            port = target.server.port,
            user = service("SIS_TEST_SSH_USER"),
            host_key = target.host_key,
            remote_dir = target.remote_dir,
        ),
    );
}

/// Runs `sis-extract -c config.toml ARGS…` in the workspace like `Workspace::run`, but
/// kills it after DEADLINE: a stalled upload fails the test with what it printed so far.
fn run_bounded(ws: &Workspace, target: &Target, args: &[&str]) -> Run {
    let mut command = Command::new(crate::support::bin());
    command.current_dir(ws.dir.path()).arg("-c").arg(ws.path("config.toml")).args(args);
    command.env_remove("SIS_EXTRACT_CONFIG").env_remove("SIS_EXTRACT_LOG");
    command.envs(ws.env.iter().map(|(k, v)| (k, v)));
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("run sis-extract");
    let reader = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = reader(Box::new(child.stdout.take().unwrap()));
    let stderr = reader(Box::new(child.stderr.take().unwrap()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill(); // our own child, by its pid
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    let Some(status) = status else {
        panic!(
            "`sis-extract {}` against {} did not finish within {} s and was killed: the upload stalled\n\
             stdout:\n{stdout}\nstderr:\n{stderr}\n{}",
            args.join(" "),
            target.server.name,
            DEADLINE.as_secs(),
            target.server.log_tail()
        );
    };
    Run { code: status.code().unwrap_or(-1), stdout, stderr }
}

#[track_caller]
fn assert_ok(run: &Run, what: &str, target: &Target) {
    assert_eq!(
        run.code,
        0,
        "{what} against {} failed\nstdout:\n{}\nstderr:\n{}\n{}",
        target.server.name,
        run.stdout,
        run.stderr,
        target.server.log_tail()
    );
}

/// `check` by password and by key file, a first night by password, a second night by key
/// file that replaces the first night's file: each time the remote file equals the local
/// zip and nothing else is left in the remote folder.
fn two_nights(target: Target) {
    let started = Instant::now();
    let mut ws = Workspace::new();
    ws.set_env("VENDOR_PW", &service("SIS_TEST_SSH_PASSWORD"));
    ws.write("q/blobs.sql", "SELECT id, payload FROM blobs ORDER BY id");
    fill_source(&ws.path("db.sqlite"));

    for auth in [Auth::KeyFile, Auth::Password] {
        write_config(&ws, &target, &auth);
        let run = run_bounded(&ws, &target, &["check"]);
        assert_ok(&run, "check", &target);
    }
    assert!(listing(&target.remote).is_empty(), "check leaves nothing on the server");

    let mut previous: Option<Vec<u8>> = None;
    for (night, auth) in [(1, Auth::Password), (2, Auth::KeyFile)] {
        if night == 2 {
            fill_source(&ws.path("db.sqlite"));
        }
        write_config(&ws, &target, &auth);
        let kept = format!("kept{night}");
        let run = run_bounded(&ws, &target, &["run", "--keep", &kept]);
        assert_ok(&run, &format!("night {night}: run"), &target);
        let local = std::fs::read(ws.path(&kept).join(ARCHIVE)).unwrap();
        assert!(local.len() > 4 << 20, "a multi-MiB zip: {} bytes", local.len());
        assert_eq!(
            listing(&target.remote),
            [ARCHIVE],
            "night {night}: only the zip in {} (no .{ARCHIVE}.partial or other leftovers)",
            target.remote.display()
        );
        let remote = std::fs::read(target.remote.join(ARCHIVE)).unwrap();
        assert!(
            remote == local,
            "night {night}: the remote file ({} bytes) equals the local zip ({} bytes) byte for byte",
            remote.len(),
            local.len()
        );
        if let Some(previous) = &previous {
            assert!(*previous != remote, "night 2 replaced night 1's file (their contents differ)");
        }
        previous = Some(remote);
    }
    let history = ws.history();
    assert_eq!(history.len(), 2, "two runs recorded");
    assert!(history.iter().all(|h| h["outcome"] == "success" && h["host_key"] == target.host_key.as_str()));
    eprintln!("{}: two nights in {:.1} s", target.server.name, started.elapsed().as_secs_f64());
}

// ------------------------------------------------------------------------ the matrix

#[test]
fn openssh_modern() {
    two_nights(openssh_in_home("openssh-modern", &["ed25519", "ecdsa", "rsa"], "", ed25519_key()));
}

#[test]
fn openssh_rsa_host_key_only() {
    two_nights(openssh_in_home(
        "openssh-rsa",
        &["rsa"],
        "HostKeyAlgorithms rsa-sha2-512,rsa-sha2-256\n",
        rsa_key(),
    ));
}

#[test]
fn openssh_ecdsa_host_key_only() {
    two_nights(openssh_in_home(
        "openssh-ecdsa",
        &["ecdsa"],
        "HostKeyAlgorithms ecdsa-sha2-nistp256\n",
        ed25519_key(),
    ));
}

#[test]
fn openssh_chroot_with_a_relative_remote_dir() {
    let base = chroot_base();
    let chroot = base.path().join("chroot");
    std::fs::create_dir(&chroot).unwrap();
    chmod(&chroot, 0o755);
    let incoming = chroot.join("incoming");
    user_folder(&incoming);
    let (server, dir, keys) = openssh(
        "openssh-chroot",
        &["ed25519"],
        &format!("ChrootDirectory {}\nForceCommand internal-sftp -d /incoming\n", chroot.display()),
    );
    two_nights(Target {
        server,
        host_key: fingerprint(&pub_of(&keys[0])),
        key_file: ed25519_key(),
        remote_dir: ".".into(),
        remote: incoming,
        _cleanup: vec![Cleanup::Dir(dir), Cleanup::Dir(base)],
    });
}

#[test]
fn proftpd_mod_sftp() {
    two_nights(proftpd());
}

/// Issue 24 item 1: Dropbear's default receive window is 24 KiB.
#[test]
fn dropbear_at_its_default_window_with_openssh_sftp_server() {
    two_nights(dropbear());
}

/// Issue 24 item 1: a server offering a small SSH window.
#[test]
fn paramiko_with_a_64_kib_window() {
    two_nights(paramiko(&["--window", "65536"]));
}

/// No posix-rename@openssh.com, no fsync@openssh.com, and SSH_FXP_RENAME refuses an
/// existing target: the second night must still replace the first night's file.
#[test]
fn paramiko_without_extensions_and_with_sftp_v3_rename() {
    two_nights(paramiko(&["--no-extensions", "--refuse-existing-rename"]));
}

//! All-or-nothing delivery under real faults: a full remote disk, a rename that fails, a
//! database connection killed mid-query, an SSH session killed mid-upload, Ctrl-C, and a
//! history file that cannot be written. Each time: last night's file is untouched,
//! nothing half-written is visible to the vendor, the history says what happened, and a
//! re-run succeeds. And without a fault, last night's file is replaced in one atomic
//! rename, never removed first.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Sshd, Workspace, listing, psql, service, sqlite};

const OLD: &[u8] = b"last night's zip";

/// The SFTP fault tests run one at a time: one of them kills the SFTP user's sessions,
/// and another throttles the port.
static SFTP: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SFTP.lock().unwrap_or_else(|e| e.into_inner())
}

/// A fresh remote folder owned by the SFTP user, holding last night's file.
fn remote_folder(test: &str) -> (PathBuf, String) {
    let relative = format!("incoming/fault-{test}-{}", std::process::id());
    let absolute = PathBuf::from(service("SIS_TEST_SSH_HOME")).join(&relative);
    let _ = Command::new("umount").arg(&absolute).stderr(Stdio::null()).status();
    let _ = std::fs::remove_dir_all(&absolute);
    std::fs::create_dir_all(&absolute).unwrap();
    (absolute, relative)
}

fn chown_to_sftp_user(path: &Path) {
    let user = service("SIS_TEST_SSH_USER");
    assert!(
        Command::new("chown").arg("-R").arg(format!("{user}:{user}")).arg(path).status().unwrap().success()
    );
}

/// A job reading `rows` rows of incompressible text from SQLite into the SFTP folder.
fn sftp_workspace(remote_dir: &str, rows: u32) -> Workspace {
    let port: u16 = service("SIS_TEST_SSH_PORT").parse().unwrap();
    sftp_workspace_on(remote_dir, rows, port)
}

/// [`sftp_workspace`] delivering to an sshd on `port`.
fn sftp_workspace_on(remote_dir: &str, rows: u32, port: u16) -> Workspace {
    let mut ws = Workspace::new();
    let db = ws.path("db.sqlite");
    sqlite(
        &db,
        &format!(
            "CREATE TABLE t (id integer, noise text);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
             INSERT INTO t SELECT i, hex(randomblob(400)) FROM n;"
        ),
    );
    ws.write("q/t.sql", "SELECT id, noise FROM t ORDER BY id");
    ws.write(
        "config.toml",
        &format!(
            "history_file = \"history.jsonl\"\n[source]\nconnection_string = \"Driver=SQLite3;Database={}\"\nmax_text_length = 1000\n\n\
             [[job]]\nname = \"v\"\nqueries = \"q\"\nformat = \"csv\"\narchive = \"roster.zip\"\n\n\
             [job.destination]\nkind = \"sftp\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"{}\"\npassword = {{ env = \"PW\" }}\n\
             host_key = \"{}\"\nremote_dir = \"{remote_dir}\"\ntimeout = \"5s\"\nattempts = 1\n",
            db.display(),
            port,
            service("SIS_TEST_SSH_USER"),
            service("SIS_TEST_SSH_HOSTKEY_ED25519"),
        ),
    );
    ws.set_env("PW", &service("SIS_TEST_SSH_PASSWORD"));
    ws
}

#[test]
fn a_full_remote_disk_leaves_last_nights_file_and_no_temporary_file() {
    let _serial = serial();
    let (remote, relative) = remote_folder("full");
    assert!(
        Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
            .arg(&remote)
            .status()
            .unwrap()
            .success()
    );
    // Unmounted however the test ends: a failed assertion must not leave the tmpfs over
    // the folder for the next run of the suite (test-services cannot clean a mount).
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).stderr(Stdio::null()).status();
        }
    }
    let mounted = Unmount(remote.clone());
    std::fs::write(remote.join("roster.zip"), OLD).unwrap();
    chown_to_sftp_user(&remote);
    // About 1.6 MB of hex text: its zip cannot fit in 256 KiB.
    let ws = sftp_workspace(&relative, 2000);
    let run = ws.run(&["run"]);
    run.assert_code(1).assert_stderr_contains("uploading to");
    assert_eq!(listing(&remote), ["roster.zip"], "no temporary file left");
    assert_eq!(std::fs::read(remote.join("roster.zip")).unwrap(), OLD, "last night's file untouched");
    assert_eq!(ws.history()[0]["outcome"], "failed");
    // Room again: the re-run delivers.
    assert!(Command::new("umount").arg(&remote).status().unwrap().success());
    drop(mounted);
    std::fs::write(remote.join("roster.zip"), OLD).unwrap();
    chown_to_sftp_user(&remote);
    ws.run(&["run"]).assert_ok();
    assert_eq!(listing(&remote), ["roster.zip"]);
    assert_ne!(std::fs::read(remote.join("roster.zip")).unwrap(), OLD);
}

#[test]
fn a_rename_that_fails_leaves_no_temporary_file() {
    let _serial = serial();
    let (remote, relative) = remote_folder("rename");
    // A non-empty folder where the zip should go: the rename onto it fails.
    std::fs::create_dir_all(remote.join("roster.zip/inside")).unwrap();
    chown_to_sftp_user(&remote);
    let ws = sftp_workspace(&relative, 10);
    ws.run(&["run"]).assert_code(1).assert_stderr_contains("renaming");
    assert_eq!(listing(&remote), ["roster.zip"]);
    assert!(remote.join("roster.zip").is_dir(), "untouched");
    assert_eq!(ws.history()[0]["outcome"], "failed");
    std::fs::remove_dir_all(remote.join("roster.zip")).unwrap();
    ws.run(&["run"]).assert_ok();
    assert!(remote.join("roster.zip").is_file());
}

/// Drops loopback packets to the test sshd above a rate, so an upload takes seconds.
struct Throttle(String);

impl Throttle {
    fn new(port: &str) -> Throttle {
        let rule = format!(
            "-o lo -p tcp --dport {port} -m hashlimit --hashlimit-above 300/sec --hashlimit-mode dstport --hashlimit-name sisx{port} -j DROP"
        );
        let args: Vec<&str> = rule.split(' ').collect();
        assert!(Command::new("iptables").args(["-I", "OUTPUT"]).args(&args).status().unwrap().success());
        Throttle(rule)
    }
}

impl Drop for Throttle {
    fn drop(&mut self) {
        let args: Vec<&str> = self.0.split(' ').collect();
        let _ = Command::new("iptables").args(["-D", "OUTPUT"]).args(&args).status();
    }
}

/// Every process below `pid` (children, their children…), from /proc.
fn descendants(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
            // The parent pid is the second field after the command's closing parenthesis.
            let ppid = stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()?;
            Some((p, ppid))
        })
        .collect();
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(parents.iter().filter(|(_, pp)| *pp == parent).map(|(p, _)| *p));
        i += 1;
    }
    found.remove(0);
    found
}

#[test]
fn an_ssh_session_killed_mid_upload_leaves_only_a_hidden_temporary_file_that_the_next_run_replaces() {
    let _serial = serial();
    let (remote, relative) = remote_folder("killed");
    std::fs::write(remote.join("roster.zip"), OLD).unwrap();
    chown_to_sftp_user(&remote);
    // An sshd of this test's own: its throttle and the killed session touch no other
    // test's connections (every test of the suite runs in one binary, in parallel).
    let sshd = Sshd::start("");
    let ws = sftp_workspace_on(&relative, 4000, sshd.port);
    let throttle = Throttle::new(&sshd.port.to_string());
    let child = Command::new(crate::support::bin())
        .current_dir(ws.dir.path())
        .args(["-c", "config.toml", "run"])
        .env("PW", service("SIS_TEST_SSH_PASSWORD"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the upload has started, then kill the user's sshd session process.
    let partial = remote.join(".roster.zip.partial");
    let started = Instant::now();
    while !partial.exists() || std::fs::metadata(&partial).map(|m| m.size()).unwrap_or(0) == 0 {
        assert!(started.elapsed() < Duration::from_secs(30), "the upload never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Each connection is served by a child of the listener and that child's own child
    // (OpenSSH's privilege separation): kill both, not the listener.
    for pid in descendants(sshd.pid()) {
        let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
    }
    let output = child.wait_with_output().unwrap();
    drop(throttle);
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(std::fs::read(remote.join("roster.zip")).unwrap(), OLD, "last night's file untouched");
    // Only the hidden, clearly named temporary file can remain; never a half-written roster.zip.
    assert!(
        listing(&remote).iter().all(|n| n == "roster.zip" || n == ".roster.zip.partial"),
        "{:?}",
        listing(&remote)
    );
    assert_eq!(ws.history()[0]["outcome"], "failed");
    ws.run(&["run"]).assert_ok();
    assert_eq!(listing(&remote), ["roster.zip"], "the re-run replaced and removed the temporary file");
    assert_ne!(std::fs::read(remote.join("roster.zip")).unwrap(), OLD);
}

fn pg_workspace(query: &str) -> Workspace {
    let mut ws = Workspace::new();
    std::fs::create_dir_all(ws.path("out")).unwrap();
    ws.write("q/slow.sql", query);
    ws.write(
        "config.toml",
        &format!(
            "history_file = \"history.jsonl\"\n[source]\nconnection_string = \"{}\"\nuser = \"{}\"\npassword = {{ env = \"DB_PW\" }}\n\n{}",
            service("SIS_TEST_PG_CONN"),
            service("SIS_TEST_PG_READER_USER"),
            crate::support::local_job("p", "q", "out")
        ),
    );
    ws.set_env("DB_PW", &service("SIS_TEST_PG_READER_PASSWORD"));
    ws
}

#[test]
fn a_database_connection_killed_mid_query_fails_cleanly() {
    let marker = format!("fault_{}", std::process::id());
    let ws = pg_workspace(&format!("SELECT pg_sleep(20) IS NULL AS {marker}"));
    // Not retried (consistency.rs tests the retry): the run must fail as it is.
    let config = std::fs::read_to_string(ws.path("config.toml")).unwrap();
    ws.write("config.toml", &config.replace("[source]\n", "[source]\nretries = 0\n"));
    let child = Command::new(crate::support::bin())
        .current_dir(ws.dir.path())
        .args(["-c", "config.toml", "run"])
        .env("DB_PW", service("SIS_TEST_PG_READER_PASSWORD"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        let killed = psql(
            &service("SIS_TEST_PG_SUPERUSER_URL"),
            &format!(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE '%{marker}%' AND pid <> pg_backend_pid()"
            ),
        );
        if killed.trim() == "1" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "the query never showed up");
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("slow.sql"), "{stderr}");
    assert!(stderr.contains("the connection to the database was lost"), "{stderr}");
    assert!(stderr.contains("source.retries = 0"), "{stderr}");
    assert!(std::fs::read_dir(ws.path("out")).unwrap().next().is_none(), "nothing delivered");
    assert_eq!(ws.history()[0]["outcome"], "failed");
    ws.write("q/slow.sql", "SELECT 1 AS one");
    ws.run(&["run"]).assert_ok();
}

#[test]
fn ctrl_c_mid_run_removes_the_files_already_written_and_leaves_nothing_under_a_final_name() {
    let ws = pg_workspace("SELECT pg_sleep(4) IS NULL AS slept");
    // a.sql runs first and is complete before slow.sql starts: real extract files exist
    // in the work folder when the signal comes.
    ws.write("q/a.sql", "SELECT 1 AS one, 'first file' AS what");
    let config = std::fs::read_to_string(ws.path("config.toml")).unwrap();
    ws.write("config.toml", &format!("work_dir = \"work\"\n{config}"));
    let child = Command::new(crate::support::bin())
        .current_dir(ws.dir.path())
        .args(["-c", "config.toml", "run", "--keep", "kept"])
        .env("DB_PW", service("SIS_TEST_PG_READER_PASSWORD"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until a.csv is written and slow.csv started: the run is inside the slow query.
    let started = Instant::now();
    let work_folder = loop {
        let folder = std::fs::read_dir(ws.path("work")).ok().and_then(|entries| {
            entries.flatten().map(|e| e.path()).find(|p| p.join("set/slow.csv").exists())
        });
        if let Some(folder) = folder {
            break folder;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "the slow query never started");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(std::fs::metadata(work_folder.join("set/a.csv")).unwrap().len() > 0, "a.csv was written");
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "128 + SIGINT\n{stderr}");
    assert!(stderr.contains("interrupted by SIGINT (Ctrl-C)"), "{stderr}");
    // What stop.rs promises: work files removed, lock released, recorded interrupted.
    assert!(!work_folder.exists(), "the work folder {} (with a.csv) was removed", work_folder.display());
    assert_eq!(listing(&ws.path("work")), Vec::<String>::new(), "nothing left in the work folder");
    assert!(!ws.path(".sis-extract-p.lock").exists(), "lock released");
    assert_eq!(ws.history()[0]["outcome"], "interrupted");
    assert!(std::fs::read_dir(ws.path("out")).unwrap().next().is_none(), "nothing in the destination");
    assert!(!ws.path("kept").exists(), "nothing kept under a final name");
}

/// Makes a file immutable (`chattr +i`): not even root may write it. Undone on drop, so
/// the temporary folder can be removed however the test ends.
struct Immutable(PathBuf);

impl Immutable {
    fn new(path: &Path) -> Immutable {
        let status =
            Command::new("chattr").arg("+i").arg(path).status().expect("chattr (e2fsprogs) installed");
        assert!(
            status.success(),
            "chattr +i {}: the test needs a file system with immutable files",
            path.display()
        );
        Immutable(path.to_path_buf())
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

#[test]
fn a_history_file_that_cannot_be_written_fails_the_run() {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path("out")).unwrap();
    let db = ws.path("db.sqlite");
    sqlite(&db, "CREATE TABLE t (id integer); INSERT INTO t VALUES (1), (2);");
    ws.write("q/t.sql", "SELECT id FROM t ORDER BY id");
    ws.write(
        "config.toml",
        &format!(
            "history_file = \"history.jsonl\"\n[source]\nconnection_string = \"Driver=SQLite3;Database={}\"\n\n{}",
            db.display(),
            crate::support::local_job("h", "q", "out")
        ),
    );
    ws.run(&["run", "--as-of", "2026-01-14"]).assert_ok();
    let before = ws.history_text();
    assert_eq!(before.lines().count(), 1);
    // Readable but not writable: the run reads it, extracts and delivers, then cannot
    // record itself. The audit trail is a promise (src/pipeline/mod.rs): the run fails.
    let history = ws.path("history.jsonl");
    let _immutable = Immutable::new(&history);
    let run = ws.run(&["run", "--as-of", "2026-01-15"]);
    run.assert_code(1)
        .assert_stderr_contains("cannot record the run")
        .assert_stderr_contains(&format!("the history file {}", history.display()));
    assert!(!run.stdout.contains("recorded in the history"), "{}", run.stdout);
    assert_eq!(ws.history_text(), before, "the history file is untouched");
}

/// inotify on one folder: what happened to its entries, in order.
struct Watch(std::os::fd::OwnedFd);

impl Watch {
    fn new(dir: &Path) -> Watch {
        use std::os::fd::FromRawFd;
        use std::os::unix::ffi::OsStrExt;
        // SAFETY: plain system calls; the descriptor is owned by the returned value.
        unsafe {
            let fd = libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC);
            assert!(fd >= 0, "inotify_init1: {}", std::io::Error::last_os_error());
            let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).unwrap();
            let mask = libc::IN_CREATE | libc::IN_DELETE | libc::IN_MOVED_FROM | libc::IN_MOVED_TO;
            assert!(
                libc::inotify_add_watch(fd, path.as_ptr(), mask) >= 0,
                "{}",
                std::io::Error::last_os_error()
            );
            Watch(std::os::fd::OwnedFd::from_raw_fd(fd))
        }
    }

    /// The events so far as ("deleted" | "created" | "moved from" | "moved to", name).
    fn events(&self) -> Vec<(&'static str, String)> {
        use std::os::fd::AsRawFd;
        let mut events = Vec::new();
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            // SAFETY: reads into a buffer of the given length.
            let n = unsafe { libc::read(self.0.as_raw_fd(), buffer.as_mut_ptr().cast(), buffer.len()) };
            if n <= 0 {
                return events;
            }
            let mut at = 0;
            while at < n as usize {
                let mask = u32::from_ne_bytes(buffer[at + 4..at + 8].try_into().unwrap());
                let len = u32::from_ne_bytes(buffer[at + 12..at + 16].try_into().unwrap()) as usize;
                let name = &buffer[at + 16..at + 16 + len];
                let name = String::from_utf8_lossy(name).trim_end_matches('\0').to_string();
                let what = match mask {
                    m if m & libc::IN_DELETE != 0 => "deleted",
                    m if m & libc::IN_CREATE != 0 => "created",
                    m if m & libc::IN_MOVED_FROM != 0 => "moved from",
                    m if m & libc::IN_MOVED_TO != 0 => "moved to",
                    _ => "other",
                };
                events.push((what, name));
                at += 16 + len;
            }
        }
    }
}

#[test]
fn last_nights_file_is_replaced_in_one_rename_never_removed_first() {
    let _serial = serial();
    let (remote, relative) = remote_folder("replace");
    std::fs::write(remote.join("roster.zip"), OLD).unwrap();
    chown_to_sftp_user(&remote);
    let ws = sftp_workspace(&relative, 10);
    let watch = Watch::new(&remote);
    let run = ws.run(&["run"]);
    run.assert_ok();
    let events = watch.events();
    assert_ne!(std::fs::read(remote.join("roster.zip")).unwrap(), OLD, "replaced");
    // OpenSSH has posix-rename: the vendor's previous file is replaced atomically, so at
    // no moment is the folder without a roster.zip. A removal would show as a deletion.
    assert!(
        !events.iter().any(|(what, name)| *what == "deleted" && name == "roster.zip"),
        "last night's roster.zip was removed before the new one arrived: {events:?}"
    );
    assert!(
        events.contains(&("moved to", "roster.zip".to_string()))
            && events.contains(&("moved from", ".roster.zip.partial".to_string())),
        "the new file arrived by renaming the temporary file: {events:?}"
    );
    assert!(!run.both().contains("was removed, then replaced"), "{}", run.both());
    assert_eq!(listing(&remote), ["roster.zip"]);
}

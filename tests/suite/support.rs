//! Shared helpers for the integration tests: run the real `sis-extract` binary in a
//! temporary folder, and find the real services `scripts/test` started on 127.0.0.1.
#![allow(dead_code)] // each test file uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_sis-extract")
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The value of a variable that `scripts/test-services` exports. Missing means the test
/// was started without the services: fail loudly rather than pass without testing.
pub fn service(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: these tests need the real PostgreSQL and sshd; run them with scripts/test")
    })
}

/// The result of one run of the binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn both(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        assert_eq!(self.code, 0, "expected success\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "unexpected exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn assert_stderr_contains(&self, text: &str) -> &Self {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}\nstderr:\n{}\nstdout:\n{}",
            self.stderr,
            self.stdout
        );
        self
    }
}

/// A temporary folder holding one test's config, queries, outputs and history.
pub struct Workspace {
    pub dir: tempfile::TempDir,
    pub env: Vec<(String, String)>,
}

impl Workspace {
    pub fn new() -> Workspace {
        Workspace { dir: tempfile::tempdir().expect("temp dir"), env: Vec::new() }
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    pub fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        // As a careful admin would: config and secret files readable by their owner only.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    }

    pub fn set_env(&mut self, name: &str, value: &str) {
        self.env.push((name.into(), value.into()));
    }

    /// Runs `sis-extract -c config.toml ARGS…` in the workspace.
    pub fn run(&self, args: &[&str]) -> Run {
        let mut command = Command::new(bin());
        command.current_dir(self.dir.path()).arg("-c").arg(self.path("config.toml")).args(args);
        command.env_remove("SIS_EXTRACT_CONFIG").env_remove("SIS_EXTRACT_LOG");
        for (k, v) in &self.env {
            command.env(k, v);
        }
        let Output { status, stdout, stderr } = command.output().expect("run sis-extract");
        Run {
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }

    pub fn history(&self) -> Vec<serde_json::Value> {
        let path = self.path("history.jsonl");
        let text = std::fs::read_to_string(path).unwrap_or_default();
        text.lines().map(|l| serde_json::from_str(l).expect("history line is JSON")).collect()
    }

    pub fn history_text(&self) -> String {
        std::fs::read_to_string(self.path("history.jsonl")).unwrap_or_default()
    }
}

/// Reads one entry of a zip by shelling out to `unzip -p` (the test does not trust our
/// own zip code to check our own zip code).
pub fn unzip_entry(zip: &Path, entry: &str) -> String {
    let output = Command::new("unzip").arg("-p").arg(zip).arg(entry).output().expect("unzip installed");
    assert!(
        output.status.success(),
        "unzip -p {} {entry}: {}",
        zip.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 CSV")
}

/// The names in a zip, via `unzip -Z1`.
pub fn zip_names(zip: &Path) -> Vec<String> {
    let output = Command::new("unzip").arg("-Z1").arg(zip).output().expect("unzip installed");
    assert!(output.status.success());
    String::from_utf8_lossy(&output.stdout).lines().map(str::to_string).collect()
}

/// Parses CSV text with the csv crate (RFC 4180) into rows of fields.
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(text.as_bytes());
    reader.records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect()
}

/// Runs SQL as a privileged PostgreSQL user with psql (test setup only; sis-extract
/// itself connects as the read-only role through ODBC). The SQL goes in on stdin.
pub fn psql(url: &str, sql: &str) -> String {
    use std::io::Write;
    let mut child = Command::new("psql")
        .arg(url)
        .args(["-v", "ON_ERROR_STOP=1", "-qAt", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("psql installed");
    child.stdin.take().unwrap().write_all(sql.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "psql failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs SQL against a SQLite file with the sqlite3 shell (test setup only). The SQL goes
/// in on stdin: as an argument, text starting with `--` would read as an option.
pub fn sqlite(db: &Path, sql: &str) -> String {
    use std::io::Write;
    let mut child = Command::new("sqlite3")
        .arg("-bail")
        .arg(db)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("sqlite3 installed");
    child.stdin.take().unwrap().write_all(sql.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "sqlite3 failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The `[[job]]` block for a CSV job with a local destination.
pub fn local_job(name: &str, queries: &str, out: &str) -> String {
    JobBuilder::csv(name, queries).local(out).render()
}

/// The seeded Campus-like district (300 students, seed 1) from the fixture crate
/// (crates/campus-fixture), generated once per test binary: (the INSERTs, the summary of
/// what a correct extract as of 2026-01-15 contains).
pub fn generated_fixture() -> &'static (String, serde_json::Value) {
    static FIXTURE: std::sync::OnceLock<(String, serde_json::Value)> = std::sync::OnceLock::new();
    FIXTURE.get_or_init(|| {
        let (mut sql, mut expected) = (Vec::new(), Vec::new());
        campus_fixture::generate(
            &campus_fixture::Options { students: 300, seed: 1 },
            &mut sql,
            &mut expected,
        )
        .expect("generating the fixture");
        (String::from_utf8(sql).unwrap(), serde_json::from_slice(&expected).unwrap())
    })
}

/// A history line: job `job` last succeeded a week ago (so a daily schedule has missed runs).
pub fn success_a_week_ago(job: &str) -> String {
    let week_ago =
        (chrono::Utc::now() - chrono::Duration::days(7)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    format!(
        "{{\"run_id\":\"old\",\"job\":\"{job}\",\"started\":\"{week_ago}\",\"finished\":\"{week_ago}\",\"outcome\":\"success\",\"as_of\":\"2026-01-01\",\"files\":[]}}\n"
    )
}

/// A second OpenSSH sshd, configured like the suite's but on a port of its own, with a
/// log of its own (to count connections), stopped on drop.
pub struct Sshd {
    pub port: u16,
    log: PathBuf,
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl Sshd {
    pub fn start(extra: &str) -> Sshd {
        let dir = tempfile::tempdir().unwrap();
        let base = std::fs::read_to_string(
            PathBuf::from(service("SIS_TEST_SSHD_LOG")).with_file_name("sshd_config"),
        )
        .expect("the suite's sshd_config beside its log");
        let port = free_port();
        let log = dir.path().join("sshd.log");
        let config: String = base
            .lines()
            .filter(|line| !line.starts_with("Port ") && !line.starts_with("PidFile "))
            .map(|line| format!("{line}\n"))
            .collect::<String>()
            + &format!("Port {port}\nPidFile \"{}\"\n{extra}\n", dir.path().join("sshd.pid").display());
        let config_path = dir.path().join("sshd_config");
        std::fs::write(&config_path, config).unwrap();
        let child = std::process::Command::new("/usr/sbin/sshd")
            .args(["-D", "-f"])
            .arg(&config_path)
            .arg("-E")
            .arg(&log)
            .spawn()
            .expect("sshd (scripts/install-deps installs openssh-server)");
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(10),
                "sshd did not start: {:?}",
                std::fs::read_to_string(&log)
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        // That probe was a connection too: count from here.
        std::thread::sleep(std::time::Duration::from_millis(200));
        let sshd = Sshd { port, log, child, _dir: dir };
        sshd.forget_connections();
        sshd
    }

    pub fn forget_connections(&self) {
        std::fs::write(&self.log, "").unwrap();
    }

    /// The listener's pid: each connection is served by a child of it.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn connections(&self) -> usize {
        let text = std::fs::read_to_string(&self.log).unwrap();
        text.lines().filter(|line| line.contains("Connection from")).count()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A TOML string literal of `text` (quoted and escaped as TOML requires).
pub fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// A test's config file, built key by key instead of formatted by hand. String values are
/// quoted by the builder; `*_raw` takes TOML lines as they are (other value types, or a
/// test's own extra keys).
pub struct ConfigBuilder {
    top: Vec<String>,
    source: Vec<String>,
    jobs: Vec<JobBuilder>,
}

impl ConfigBuilder {
    /// `history_file = "history.jsonl"` beside the config, and nothing else yet.
    pub fn new() -> ConfigBuilder {
        ConfigBuilder { top: Vec::new(), source: Vec::new(), jobs: Vec::new() }
            .top("history_file", "history.jsonl")
    }

    pub fn top(mut self, key: &str, value: &str) -> ConfigBuilder {
        self.top.push(format!("{key} = {}", toml_string(value)));
        self
    }

    pub fn top_raw(mut self, lines: &str) -> ConfigBuilder {
        self.top.push(lines.trim_end().to_string());
        self
    }

    /// The source: `connection_string` (and whatever `source_raw` adds).
    pub fn source(mut self, connection_string: &str) -> ConfigBuilder {
        self.source.push(format!("connection_string = {}", toml_string(connection_string)));
        self
    }

    /// A SQLite database file as the source.
    pub fn sqlite(self, db: &Path) -> ConfigBuilder {
        self.source(&format!("Driver=SQLite3;Database={}", db.display()))
    }

    pub fn source_key(mut self, key: &str, value: &str) -> ConfigBuilder {
        self.source.push(format!("{key} = {}", toml_string(value)));
        self
    }

    pub fn source_raw(mut self, lines: &str) -> ConfigBuilder {
        self.source.push(lines.trim_end().to_string());
        self
    }

    pub fn job(mut self, job: JobBuilder) -> ConfigBuilder {
        self.jobs.push(job);
        self
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for line in self.top.iter().filter(|l| !l.is_empty()) {
            out.push_str(line);
            out.push('\n');
        }
        if !self.source.is_empty() {
            out.push_str("\n[source]\n");
            for line in self.source.iter().filter(|l| !l.is_empty()) {
                out.push_str(line);
                out.push('\n');
            }
        }
        for job in &self.jobs {
            out.push_str(&job.render());
        }
        out
    }

    /// Writes the config as the workspace's `config.toml`.
    pub fn write(&self, ws: &Workspace) -> PathBuf {
        ws.write("config.toml", &self.render())
    }
}

/// One `[[job]]` of a [`ConfigBuilder`].
pub struct JobBuilder {
    keys: Vec<String>,
    destination: Vec<String>,
}

impl JobBuilder {
    /// A plain-CSV job `name` reading `queries`, zipped as `NAME-{date}.zip` into the local
    /// folder `out`.
    pub fn csv(name: &str, queries: &str) -> JobBuilder {
        JobBuilder { keys: Vec::new(), destination: Vec::new() }
            .key("name", name)
            .key("queries", queries)
            .key("format", "csv")
            .key("archive", &format!("{name}-{{date}}.zip"))
            .local("out")
    }

    /// Sets (or replaces) a string key of the job.
    pub fn key(mut self, key: &str, value: &str) -> JobBuilder {
        let prefix = format!("{key} = ");
        self.keys.retain(|line| !line.starts_with(&prefix));
        self.keys.push(format!("{prefix}{}", toml_string(value)));
        self
    }

    pub fn raw(mut self, lines: &str) -> JobBuilder {
        self.keys.push(lines.trim_end().to_string());
        self
    }

    /// Delivers to the local folder `path`.
    pub fn local(mut self, path: &str) -> JobBuilder {
        self.destination = vec!["kind = \"local\"".to_string(), format!("path = {}", toml_string(path))];
        self
    }

    /// The destination's keys as TOML lines (an SFTP destination, say).
    pub fn destination_raw(mut self, lines: &str) -> JobBuilder {
        self.destination = vec![lines.trim_end().to_string()];
        self
    }

    fn render(&self) -> String {
        let mut out = String::from("\n[[job]]\n");
        for line in self.keys.iter().filter(|l| !l.is_empty()) {
            out.push_str(line);
            out.push('\n');
        }
        out.push_str("\n[job.destination]\n");
        for line in &self.destination {
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

/// The names in `dir`, sorted (what a vendor would see in its folder).
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

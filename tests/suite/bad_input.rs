//! A corpus of bad inputs, each with the exit code and the words of the message it must
//! produce; and a bounded, seeded mutation "fuzz" of config files and query files that
//! asserts the binary never panics.

use std::process::Command;

use crate::support::{Workspace, sqlite};

const GOOD_SOURCE: &str = "[source]\nconnection_string = \"Driver=SQLite3;Database=DB\"\n";

/// One case: a config (DB is replaced by the workspace's SQLite file), files to write
/// (path, bytes), arguments, the expected exit code and words of stderr.
struct Case {
    name: &'static str,
    config: String,
    files: Vec<(&'static str, Vec<u8>)>,
    args: Vec<&'static str>,
    code: i32,
    words: Vec<&'static str>,
}

fn job(extra: &str) -> String {
    format!(
        "[[job]]\nname = \"j\"\nqueries = \"q\"\nformat = \"csv\"\narchive = \"j.zip\"\n{extra}\n[job.destination]\nkind = \"local\"\npath = \"out\"\n"
    )
}

fn case(
    name: &'static str,
    config: String,
    files: Vec<(&'static str, &[u8])>,
    code: i32,
    words: Vec<&'static str>,
) -> Case {
    Case {
        name,
        config,
        files: files.into_iter().map(|(p, b)| (p, b.to_vec())).collect(),
        args: vec!["run"],
        code,
        words,
    }
}

fn good_query() -> Vec<(&'static str, &'static [u8])> {
    vec![("q/t.sql", b"SELECT id, name FROM t")]
}

fn cases() -> Vec<Case> {
    let base = format!("{GOOD_SOURCE}{}", job(""));
    vec![
        case("malformed TOML", "[source\n".into(), vec![], 2, vec!["line 1: invalid TOML"]),
        case(
            "wrong type",
            base.replace("archive = \"j.zip\"", "archive = 5"),
            good_query(),
            2,
            vec!["job[0].archive", "expected a string"],
        ),
        case(
            "unknown key",
            base.replace("[source]", "[source]\ndriver = \"x\""),
            good_query(),
            2,
            vec!["source.driver: unknown key"],
        ),
        case(
            "missing query folder",
            base.replace("queries = \"q\"", "queries = \"nowhere\""),
            vec![],
            1,
            vec!["cannot read the query folder", "nowhere"],
        ),
        case(
            "unreadable key file",
            format!(
                "{GOOD_SOURCE}[[job]]\nname = \"j\"\nqueries = \"q\"\nformat = \"csv\"\narchive = \"j.zip\"\n[job.destination]\nkind = \"sftp\"\nhost = \"127.0.0.1\"\nuser = \"u\"\nkey_file = \"no-such-key\"\nhost_key = \"SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\"\nport = 1\nattempts = 1\n"
            ),
            good_query(),
            2,
            vec!["job[0].destination.key_file: cannot read the private key", "no-such-key"],
        ),
        case(
            "empty query file",
            base.clone(),
            vec![("q/t.sql", b"")],
            1,
            vec!["t.sql line 1: the file holds no SQL statement"],
        ),
        case(
            "only a comment",
            base.clone(),
            vec![("q/t.sql", b"-- nothing here\n")],
            1,
            vec!["the file holds no SQL statement"],
        ),
        case(
            "syntax error",
            base.clone(),
            vec![("q/t.sql", b"SELECT id FROM t WHERE")],
            1,
            vec!["t.sql", "could not be parsed"],
        ),
        case(
            "the database's own syntax message",
            base.clone(),
            vec![("q/t.sql", b"SELECT id FROM t ORDER BY nosuchcolumn")],
            1,
            vec!["t.sql: the database rejected the query", "nosuchcolumn"],
        ),
        case(
            "duplicate column names",
            base.clone(),
            vec![("q/t.sql", b"SELECT id, id FROM t")],
            1,
            vec!["both named \"id\""],
        ),
        case(
            "a OneRoster set without its required files",
            base.replace("format = \"csv\"", "format = \"oneroster-1.1\""),
            vec![("q/orgs.sql", b"SELECT 'a' AS sourcedId, 'A' AS name, 'school' AS type, 1 AS colour")],
            1,
            vec!["has no academicSessions.sql"],
        ),
        case(
            "non-UTF-8 query file",
            base.clone(),
            vec![("q/t.sql", b"SELECT 'caf\xe9' AS x")],
            1,
            vec!["t.sql line 1: the file is not UTF-8 text"],
        ),
        case(
            "a value longer than the cap",
            base.replace("[source]", "[source]\nmax_text_length = 3"),
            vec![("q/t.sql", b"SELECT name FROM t")],
            1,
            vec!["longer than its buffer of 3 characters"],
        ),
        case(
            "a query that writes",
            base.clone(),
            vec![("q/t.sql", b"DELETE FROM t")],
            1,
            vec!["t.sql line 1", "DELETE"],
        ),
        case(
            "an unreachable database file",
            base.replace("Database=DB", "Database=/nonexistent/dir/x.db"),
            good_query(),
            1,
            vec!["connecting to the database"],
        ),
        case("an unknown job", base.clone(), good_query(), 2, vec!["--job \"other\": no such job"]),
    ]
}

#[test]
fn every_bad_input_gets_its_exit_code_and_message() {
    for mut case in cases() {
        let ws = Workspace::new();
        let db = ws.path("db.sqlite");
        sqlite(&db, "CREATE TABLE t (id integer, name text); INSERT INTO t VALUES (1, 'José Ramírez');");
        std::fs::create_dir_all(ws.path("out")).unwrap();
        ws.write("config.toml", &case.config.replace("Database=DB", &format!("Database={}", db.display())));
        for (path, bytes) in &case.files {
            let full = ws.path(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, bytes).unwrap();
        }
        if case.name == "an unknown job" {
            case.args = vec!["run", "--job", "other"];
        }
        let run = ws.run(&case.args);
        assert_eq!(run.code, case.code, "{}: exit code\n{}", case.name, run.stderr);
        for word in &case.words {
            assert!(run.stderr.contains(word), "{}: stderr lacks {word:?}:\n{}", case.name, run.stderr);
        }
        assert!(!run.stderr.contains("panicked"), "{}: {}", case.name, run.stderr);
        assert!(
            std::fs::read_dir(ws.path("out")).unwrap().next().is_none(),
            "{}: nothing delivered",
            case.name
        );
    }
}

/// A full local disk: the work folder on a 64 KiB tmpfs.
#[test]
fn a_full_local_disk_is_a_clear_error() {
    let ws = Workspace::new();
    let db = ws.path("db.sqlite");
    sqlite(
        &db,
        "CREATE TABLE t (id integer, noise text);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
         INSERT INTO t SELECT i, hex(randomblob(200)) FROM n;",
    );
    std::fs::create_dir_all(ws.path("tiny")).unwrap();
    std::fs::create_dir_all(ws.path("out")).unwrap();
    assert!(
        Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
            .arg(ws.path("tiny"))
            .status()
            .unwrap()
            .success()
    );
    ws.write("q/t.sql", "SELECT id, noise FROM t");
    ws.write(
        "config.toml",
        &format!("work_dir = \"tiny\"\nhistory_file = \"h.jsonl\"\n[source]\nconnection_string = \"Driver=SQLite3;Database={}\"\n{}", db.display(), job("")),
    );
    let run = ws.run(&["run"]);
    let _ = Command::new("umount").arg(ws.path("tiny")).status();
    run.assert_code(1).assert_stderr_contains("No space left on device");
    assert!(std::fs::read_dir(ws.path("out")).unwrap().next().is_none());
}

/// A read-only destination folder (root ignores file modes, so a read-only mount).
#[test]
fn a_read_only_output_folder_is_a_clear_error() {
    let ws = Workspace::new();
    let db = ws.path("db.sqlite");
    sqlite(&db, "CREATE TABLE t (id integer, name text); INSERT INTO t VALUES (1, 'a');");
    std::fs::create_dir_all(ws.path("out")).unwrap();
    assert!(
        Command::new("mount")
            .args(["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs"])
            .arg(ws.path("out"))
            .status()
            .unwrap()
            .success()
    );
    ws.write("q/t.sql", "SELECT id, name FROM t");
    ws.write(
        "config.toml",
        &format!(
            "history_file = \"h.jsonl\"\n[source]\nconnection_string = \"Driver=SQLite3;Database={}\"\n{}",
            db.display(),
            job("")
        ),
    );
    let run = ws.run(&["run"]);
    let _ = Command::new("umount").arg(ws.path("out")).status();
    run.assert_code(1)
        .assert_stderr_contains("copying the zip into")
        .assert_stderr_contains("Read-only file system");
}

/// A small deterministic PRNG (SplitMix64), so the "fuzz" is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Mutates `seed` a few times: flip, insert, delete or duplicate bytes, or splice in
/// tokens that matter to the parsers.
fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    const TOKENS: &[&[u8]] = &[
        b"\"",
        b"'",
        b"[",
        b"]]",
        b"{",
        b"}",
        b"=",
        b";",
        b"--",
        b"/*",
        b"*/",
        b"\n",
        b"\xff",
        b"\x00",
        b"?",
        b"$$",
        b"SELECT",
        b"INTO",
        b"DELETE",
        b"WITH",
        b"99999999999999999999",
        b"-1",
        b"\xe2\x80\xae",
    ];
    let mut bytes = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = if bytes.is_empty() { 0 } else { rng.below(bytes.len()) };
        match rng.below(4) {
            0 if !bytes.is_empty() => bytes[at] ^= 1 << rng.below(8),
            1 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                bytes.splice(at..at, token.iter().copied());
            }
            2 if !bytes.is_empty() => {
                let end = (at + 1 + rng.below(8)).min(bytes.len());
                bytes.drain(at..end);
            }
            _ => {
                let end = (at + rng.below(16)).min(bytes.len());
                let copy = bytes[at..end].to_vec();
                bytes.splice(at..at, copy);
            }
        }
    }
    bytes
}

/// 300 mutated configs and 300 mutated query files: every run ends with an exit code
/// and a message, never a panic.
#[test]
fn mutated_configs_and_queries_never_panic() {
    let seed_config = std::fs::read(crate::support::repo().join("config.example.toml")).unwrap();
    let ws = Workspace::new();
    let db = ws.path("db.sqlite");
    sqlite(&db, "CREATE TABLE t (id integer, name text); INSERT INTO t VALUES (1, 'a');");
    std::fs::create_dir_all(ws.path("out")).unwrap();
    let mut rng = Rng(0x5EED_2026_1123);
    for i in 0..300 {
        let config = mutate(&mut rng, &seed_config);
        std::fs::write(ws.path("config.toml"), &config).unwrap();
        let output = Command::new(crate::support::bin())
            .current_dir(ws.dir.path())
            .args(["-c", "config.toml", "config"])
            .env("SIS_DB_PASSWORD", "x")
            .env("VENDOR_SFTP_PASSWORD", "x")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !stderr.contains("panicked") && output.status.code().is_some(),
            "config mutation {i} crashed: {stderr}\n{config:?}"
        );
    }
    ws.write(
        "config.toml",
        &format!(
            "history_file = \"h.jsonl\"\n[source]\nconnection_string = \"Driver=SQLite3;Database={}\"\n{}",
            db.display(),
            job("")
        ),
    );
    let seed_query = b"-- users\nWITH x AS (SELECT id, name FROM t WHERE id >= ?) SELECT id, name, 'a;b' AS c FROM x /* end */ ORDER BY id;\n";
    for i in 0..300 {
        let query = mutate(&mut rng, seed_query);
        std::fs::create_dir_all(ws.path("q")).unwrap();
        std::fs::write(ws.path("q/t.sql"), &query).unwrap();
        let output = Command::new(crate::support::bin())
            .current_dir(ws.dir.path())
            .args(["-c", "config.toml", "run", "--dry-run"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !stderr.contains("panicked") && output.status.code().is_some(),
            "query mutation {i} crashed: {stderr}\n{query:?}"
        );
    }
}

//! Replays, on stable Rust in every `cargo test`, the inputs kept for the cargo-fuzz
//! targets: each crash the fuzzer ever found (tests/fuzz/regressions/TARGET/) and the
//! seeds it starts from (tests/fuzz/seeds/TARGET/). The target bodies are the fuzzer's
//! own (tests/fuzz/targets.rs). scripts/fuzz runs the fuzzer itself.

#[path = "../fuzz/targets.rs"]
mod targets;

use std::path::Path;

/// Feeds every file of the target's seed and regression folders to `target`; returns how
/// many inputs ran.
fn replay(name: &str, target: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz");
    let mut count = 0;
    for kind in ["seeds", "regressions"] {
        let dir = root.join(kind).join(name);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|n| n == ".gitkeep") {
                continue;
            }
            let data = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| target(&data));
            assert!(outcome.is_ok(), "{} panics again", path.display());
            count += 1;
        }
    }
    count
}

#[test]
fn config_text_inputs() {
    assert!(replay("config_text", targets::config_text) >= 2);
}

#[test]
fn command_line_inputs() {
    assert!(replay("command_line", targets::command_line) >= 2);
}

#[test]
fn query_text_inputs() {
    assert!(replay("query_text", targets::query_text) >= 2);
}

#[test]
fn history_lines_inputs() {
    assert!(replay("history_lines", targets::history_lines) >= 1);
}

#[test]
fn sftp_server_bytes_inputs() {
    assert!(replay("sftp_server_bytes", targets::sftp_server_bytes) >= 5);
}

#[test]
fn server_hello_inputs() {
    assert!(replay("server_hello", targets::server_hello) >= 3);
}

#[test]
fn known_hosts_inputs() {
    assert!(replay("known_hosts", targets::known_hosts) >= 3);
}

/// The well-formed transcripts answer every request in step: the fuzzer starts from whole
/// sessions, not from a VERSION it must first guess its way past.
#[test]
fn the_well_formed_sftp_seeds_reach_the_end_of_the_session() {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/seeds/sftp_server_bytes");
    for name in ["happy-1x16", "happy-8x128-reversed", "happy-4x64-binary-handle", "no-extensions"] {
        let steps = targets::sftp_session(&std::fs::read(seeds.join(name)).unwrap());
        let failed: Vec<&str> = steps.iter().filter(|(_, ok)| !ok).map(|(step, _)| *step).collect();
        assert_eq!(steps.len(), 12, "{name}: {steps:?}");
        // The transcript says the file to remove is missing, on purpose.
        assert_eq!(failed, ["remove"], "{name}: {steps:?}");
    }
}

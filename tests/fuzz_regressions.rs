//! Replays, on stable Rust in every `cargo test`, the inputs kept for the cargo-fuzz
//! targets: each crash the fuzzer ever found (tests/fuzz/regressions/TARGET/) and the
//! seeds it starts from (tests/fuzz/seeds/TARGET/). The target bodies are the fuzzer's
//! own (tests/fuzz/targets.rs). scripts/fuzz runs the fuzzer itself.

#[path = "fuzz/targets.rs"]
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

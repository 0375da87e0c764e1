//! The body of each fuzz target, shared by the cargo-fuzz binaries (fuzz_targets/) and by
//! the stable-Rust replay of kept crash inputs (tests/fuzz_regressions.rs), so that a
//! regression test runs exactly what the fuzzer ran. Each must return without panicking
//! for every input; errors are fine (they are what an admin sees).

use clap::Parser;

/// Any text as the configuration file is parsed and validated.
pub fn config_text(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        // Relative paths resolve against a folder that does not exist, so that the
        // target never reads the files of the machine running it by accident.
        let path = std::path::Path::new("/nonexistent-sis-extract-fuzz/config.toml");
        let _ = sis_extract::config::parse(text, path);
    }
}

/// Any argument list (NUL-separated in the input) goes through the real clap definition.
pub fn command_line(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let args = std::iter::once("sis-extract").chain(text.split('\0'));
    if let Ok(cli) = sis_extract::cli::Cli::try_parse_from(args) {
        let _ = format!("{cli:?}");
    }
}

/// Any query text is vetted and, when accepted, stripped of comments and the final `;`.
/// The stripping works on byte offsets computed from token locations: where a panic
/// could hide.
pub fn query_text(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok((sent, _placeholders)) = sis_extract::query::prepare(text)
    {
        // Comments become blanks and the tail after `;` goes: never longer than the file.
        assert!(sent.len() <= text.len(), "prepared text grew");
    }
}

/// A history file damaged in any way is read (bad lines skipped) and rendered.
pub fn history_lines(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let records = sis_extract::history::parse_records(text, "history.jsonl");
        let _ = sis_extract::history::render_table(&records);
    }
}

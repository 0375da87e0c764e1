//! cargo-fuzz target `history_lines`: see ../targets.rs for what it checks.
#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::history_lines(data));

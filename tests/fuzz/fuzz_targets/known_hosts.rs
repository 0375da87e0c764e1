//! cargo-fuzz target `known_hosts`: see ../targets.rs for what it checks.
#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::known_hosts(data));

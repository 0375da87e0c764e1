//! cargo-fuzz target `server_hello`: see ../targets.rs for what it checks.
#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::server_hello(data));

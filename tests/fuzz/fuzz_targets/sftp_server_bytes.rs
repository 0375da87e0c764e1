//! cargo-fuzz target `sftp_server_bytes`: see ../targets.rs for what it checks.
#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::sftp_server_bytes(data));

//! Every integration test of sis-extract, in one binary: each module is one former test
//! file, `support` their shared helpers (the real binary, the test services, workspaces).
//! One binary links once instead of twenty-two times. Run one module with
//! `scripts/test MODULE::` (for example `scripts/test sftp_delivery::`).
//!
//! The tests of all modules run in parallel: a test may only disturb what it created
//! (its own folders, tables, server processes and sessions).

mod support;

mod bad_input;
mod check;
mod clever;
mod config_errors;
mod consistency;
mod credentials;
mod day_one;
mod day_one_logs;
mod day_one_profiles;
mod demo_fixture;
mod doc_links;
mod faults;
mod fuzz_regressions;
mod guards;
mod hostile_config;
mod hostile_files;
mod hostile_queries;
mod module_graph;
mod nightly;
mod oneroster_fixture;
mod oneroster_validation;
mod postgres_source;
mod receivers;
mod redaction;
mod sftp_delivery;
mod sftp_hostile_server;
mod sftp_interop;
mod sftp_negotiation;
mod sqlite_source;
mod sqlserver_drivers;

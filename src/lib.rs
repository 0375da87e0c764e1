//! The sis-extract library: every module of the tool, so that the binary (`main.rs`) and
//! the cargo-fuzz targets (`tests/fuzz/`) run the same code. It is not a published API;
//! the command line is the interface.

pub mod archive;
pub mod check;
pub mod cli;
pub mod config;
pub mod credential;
pub mod cron;
pub mod destination;
pub mod detail;
pub mod diagnosis;
pub mod fsutil;
pub mod guards;
pub mod history;
pub mod hooks;
pub mod lock;
pub mod logging;
pub mod net;
pub mod output;
pub mod pipeline;
pub mod profiles;
pub mod progress;
pub mod query;
pub mod rows;
pub mod schedule;
pub mod secret;
pub mod service;
pub mod source;
pub mod sqlite_guard;
pub mod stop;

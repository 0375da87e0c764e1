//! sftp_put: sis-extract's SFTP delivery on its own, for scripts/bench's comparison with
//! OpenSSH `sftp` uploading the same zip.
//!
//!   cargo run --release -p bench-rigs --bin sftp_put -- CONFIG.toml ZIP
//!
//! Delivers ZIP through the first job's destination with the same code as a run
//! (`destination::for_config`: hidden upload name, fsync, size check, rename into place).
//! In a run the delivery follows the zip stage, which has just written the zip; timing it
//! here lets both tools upload one file, the same bytes, from the page cache. Not part of
//! sis-extract; a measuring aid only.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;

fn main() -> anyhow::Result<()> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [config, zip] = args.as_slice() else {
        eprintln!("usage: sftp_put CONFIG.toml ZIP");
        std::process::exit(2);
    };
    let config = sis_extract::config::load(config)?;
    let job = config.jobs.first().context("the configuration has no [[job]]")?;
    let name = zip.file_name().and_then(|n| n.to_str()).context("the zip's name is not UTF-8")?;
    let started = Instant::now();
    let delivery = sis_extract::destination::for_config(&job.destination).deliver(zip, name)?;
    println!("{} in {:.3} s", delivery.location, started.elapsed().as_secs_f64());
    Ok(())
}

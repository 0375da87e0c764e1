//! zip_files: sis-extract's zip stage on its own, for scripts/bench's comparison with
//! Info-ZIP `zip -6` on the same files.
//!
//!   cargo run --release -p bench-rigs --bin zip_files -- OUT.zip FILE...
//!
//! In a run the files are compressed on other threads while they are still being
//! written, and the zip stage only copies the finished entries; that hides the cost of
//! compressing. This runs the same code (`archive::create`) with nothing compressed
//! ahead, so it measures the whole of the compression. Not part of sis-extract; a
//! measuring aid only.

use std::path::PathBuf;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let Some((zip, files)) = args.split_first().filter(|(_, files)| !files.is_empty()) else {
        eprintln!("usage: zip_files OUT.zip FILE...");
        std::process::exit(2);
    };
    let started = Instant::now();
    let archive = sis_extract::archive::create(zip, files, chrono::Local::now().naive_local(), None)?;
    println!("{} bytes in {:.3} s", archive.bytes, started.elapsed().as_secs_f64());
    Ok(())
}

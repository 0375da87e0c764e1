//! `campus-fixture`: writes the seeded Campus-like district (INSERTs for the schema in
//! schema.sql beside this crate) and a JSON summary of what a correct extract holds. The
//! options are those of the former hidden `sis-extract generate-fixture`.
//!
//!   cargo run --release -p campus-fixture -- --students 300 --seed 1 --out district.sql --expected expected.json

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;

/// Write a deterministic Campus-like district (INSERTs for the crate's schema.sql) and a
/// JSON summary of what a correct extract holds.
#[derive(Parser, Debug)]
#[command(name = "campus-fixture", version)]
struct Args {
    /// Number of students (the demo uses 300; load tests up to 1000000).
    #[arg(long, default_value_t = 300)]
    students: u64,

    /// Seed of every random choice: the same seed gives byte-identical output.
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// Where to write the SQL.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,

    /// Where to write the JSON summary of what a correct extract contains.
    #[arg(long, value_name = "FILE")]
    expected: PathBuf,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let options = campus_fixture::Options { students: args.students, seed: args.seed };
    let mut sql = std::io::BufWriter::new(
        std::fs::File::create(&args.out).with_context(|| format!("creating {}", args.out.display()))?,
    );
    let mut expected = std::io::BufWriter::new(
        std::fs::File::create(&args.expected)
            .with_context(|| format!("creating {}", args.expected.display()))?,
    );
    campus_fixture::generate(&options, &mut sql, &mut expected).context("generating the fixture")?;
    sql.flush()?;
    expected.flush()?;
    Ok(())
}

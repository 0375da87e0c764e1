//! manifest.csv: every file the version knows, `bulk` when produced, else `absent`.

use std::path::Path;

use anyhow::{Context, Result};

use super::spec::{Version, manifest_files};
use crate::config::LineEnding;

/// Writes manifest.csv: every file the version knows, `bulk` when produced, else `absent`.
pub fn write_manifest(
    path: &Path,
    version: Version,
    produced: &[&str],
    system_name: &str,
    bom: bool,
    line_ending: LineEnding,
) -> Result<()> {
    // The manifest is a few hundred bytes: it is compressed when the zip is made.
    let mut writer = crate::output::csv::open_writer(path, bom, line_ending, None)?;
    let context = || format!("writing {}", path.display());
    writer.write_record(["propertyName", "value"]).with_context(context)?;
    writer.write_record(["manifest.version", "1.0"]).with_context(context)?;
    writer.write_record(["oneroster.version", version.number()]).with_context(context)?;
    for file in manifest_files(version) {
        let mode = if produced.iter().any(|p| p == file) { "bulk" } else { "absent" };
        writer.write_record([format!("file.{file}").as_str(), mode]).with_context(context)?;
    }
    writer.write_record(["source.systemName", system_name]).with_context(context)?;
    writer
        .write_record(["source.systemCode", concat!("sis-extract ", env!("CARGO_PKG_VERSION"))])
        .with_context(context)?;
    crate::output::csv::close_writer(writer, path).map(|_| ())
}

//! Plain CSV output: RFC 4180 quoting, UTF-8 (optionally with a BOM), the query's column
//! names as the header, and `\r\n` or `\n` line endings.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::archive::{EntryStore, SetFileWriter};
use crate::config::LineEnding;
use crate::rows::{Row, RowSink};

/// Writes one CSV file as rows arrive. Call [`CsvFile::finish`]: only it reports the last
/// write errors, syncs the file and records its compressed zip entry. A writer dropped
/// after an error (the csv crate still flushes it, ignoring errors) leaves a file that the
/// failed run never zips, so an error can never look like success.
pub struct CsvFile {
    path: PathBuf,
    writer: SetCsvWriter,
    header: Vec<String>,
    rows: u64,
}

impl CsvFile {
    pub fn create(
        path: &Path,
        bom: bool,
        line_ending: LineEnding,
        entries: Option<&EntryStore>,
    ) -> Result<CsvFile> {
        Ok(CsvFile {
            path: path.to_path_buf(),
            writer: open_writer(path, bom, line_ending, entries)?,
            header: Vec::new(),
            rows: 0,
        })
    }

    /// Flushes, syncs to disk and returns (rows, bytes, header).
    pub fn finish(self) -> Result<(u64, u64, Vec<String>)> {
        let bytes = close_writer(self.writer, &self.path)?;
        Ok((self.rows, bytes, self.header))
    }
}

/// The CSV writer of one set file. Its own buffer is the only one: a `BufWriter` under it
/// would copy every byte once more on the way to the file and the compressor.
pub type SetCsvWriter = csv::Writer<SetFileWriter>;

/// Bytes the CSV writer gathers before each write to the file (and to the compressor).
const WRITE_BUFFER: usize = 256 * 1024;

/// A private (0600) file with an RFC 4180 writer on it: quotes only where needed (comma,
/// quote, CR, LF), inner quotes doubled, the chosen line ending, an optional UTF-8 BOM.
/// With `entries`, the file is also compressed for the zip as it is written.
pub fn open_writer(
    path: &Path,
    bom: bool,
    line_ending: LineEnding,
    entries: Option<&EntryStore>,
) -> Result<SetCsvWriter> {
    let file = crate::fsutil::create_private(path)?;
    let entry = entries.map(|store| store.begin(path)).transpose()?;
    let mut out = SetFileWriter::new(file, entry);
    if bom {
        out.write_all("\u{feff}".as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    }
    let terminator = match line_ending {
        LineEnding::Crlf => csv::Terminator::CRLF,
        LineEnding::Lf => csv::Terminator::Any(b'\n'),
    };
    Ok(csv::WriterBuilder::new()
        .buffer_capacity(WRITE_BUFFER)
        .terminator(terminator)
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(out))
}

/// Flushes a writer from [`open_writer`], syncs the file to disk, completes its zip entry
/// and returns its size. Every error is reported (dropping a writer would swallow it).
pub fn close_writer(writer: SetCsvWriter, path: &Path) -> Result<u64> {
    let context = || format!("writing {}", path.display());
    let file = writer.into_inner().map_err(|e| e.into_error()).with_context(context)?;
    file.finish().with_context(context)
}

impl RowSink for CsvFile {
    fn begin(&mut self, columns: &[String]) -> Result<()> {
        self.header = columns.to_vec();
        self.writer.write_record(columns).with_context(|| format!("writing {}", self.path.display()))
    }

    fn row(&mut self, row: &Row) -> Result<()> {
        self.rows += 1;
        // Straight from the row's buffers into the writer's, with no copy in between.
        // NULL and the empty string both become an empty field; CSV cannot tell them
        // apart, and vendors expect exactly that.
        let fields = (0..self.header.len()).map(|i| row.get(i).unwrap_or_default());
        self.writer.write_record(fields).with_context(|| format!("writing {}", self.path.display()))
    }
}

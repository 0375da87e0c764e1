//! Reading a set's files safely: only regular files in the set's own folder, never a
//! link, and no CSV record past [`MAX_RECORD_BYTES`], so one giant field cannot fill memory.

use super::*;

/// Where the CSV reader is in a record, to find where records end as the csv crate does
/// (RFC 4180: a quote opens a quoted field only at the start of a field, `""` inside one is
/// a quote, and a line break inside quotes is part of the field).
#[derive(Clone, Copy, PartialEq)]
enum Quoting {
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

/// Passes a CSV file through, failing with a clear error when one record grows past
/// [`MAX_RECORD_BYTES`]: the csv crate itself would buffer a 2 GiB field whole.
pub(crate) struct RecordLimit<R> {
    inner: R,
    file: String,
    state: Quoting,
    record_bytes: u64,
    /// 1-based line where the current record started, and the current line.
    record_line: u64,
    line: u64,
    failed: bool,
}

impl<R> RecordLimit<R> {
    pub(super) fn new(inner: R, file: String) -> Self {
        RecordLimit {
            inner,
            file,
            state: Quoting::FieldStart,
            record_bytes: 0,
            record_line: 1,
            line: 1,
            failed: false,
        }
    }

    fn too_long(&self) -> std::io::Error {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            RecordTooLong(format!(
                "{}: the record starting on line {} is longer than {} MiB, the limit for one row; OneRoster rows are a few hundred bytes, so this is not a roster file or a quote is never closed; fix the file (or its export) and validate again",
                self.file,
                self.record_line,
                MAX_RECORD_BYTES / (1024 * 1024)
            )),
        )
    }
}

/// The error [`RecordLimit`] reports; validation stops on it.
#[derive(Debug)]
struct RecordTooLong(String);

impl fmt::Display for RecordTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RecordTooLong {}

impl<R: std::io::Read> std::io::Read for RecordLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.failed {
            return Err(self.too_long());
        }
        let n = self.inner.read(buf)?;
        for &byte in &buf[..n] {
            self.record_bytes += 1;
            if byte == b'\n' {
                self.line += 1;
            }
            let end_of_record = match (self.state, byte) {
                (Quoting::Quoted, b'"') => {
                    self.state = Quoting::QuoteInQuoted;
                    false
                }
                (Quoting::Quoted, _) => false,
                (Quoting::FieldStart, b'"') => {
                    self.state = Quoting::Quoted;
                    false
                }
                (Quoting::QuoteInQuoted, b'"') => {
                    self.state = Quoting::Quoted;
                    false
                }
                (_, b',') => {
                    self.state = Quoting::FieldStart;
                    false
                }
                (_, b'\n' | b'\r') => true,
                _ => {
                    self.state = Quoting::Unquoted;
                    false
                }
            };
            if end_of_record {
                self.state = Quoting::FieldStart;
                self.record_bytes = 0;
                self.record_line = self.line;
            } else if self.record_bytes > MAX_RECORD_BYTES {
                self.failed = true;
                return Err(self.too_long());
            }
        }
        Ok(n)
    }
}

/// Stops on an I/O error (a read failure, or a record past the limit): reading on would
/// only repeat it.
pub(crate) fn fatal_error(error: &csv::Error) -> Option<anyhow::Error> {
    fatal(error)
}

pub(super) fn fatal(error: &csv::Error) -> Option<anyhow::Error> {
    match error.kind() {
        csv::ErrorKind::Io(io) => Some(match io.get_ref().and_then(|e| e.downcast_ref::<RecordTooLong>()) {
            Some(too_long) => anyhow::anyhow!("{too_long}"),
            None => anyhow::anyhow!("reading the set: {io}"),
        }),
        _ => None,
    }
}

pub(super) fn csv_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.csv"))
}

/// Whether `NAME.csv` is in the set; a symbolic link or anything but a regular file there
/// is an error, so that validate never echoes the content of a file it was pointed to.
pub(super) fn set_file_exists(dir: &Path, name: &str) -> Result<bool> {
    let path = csv_path(dir, name);
    match std::fs::symlink_metadata(&path) {
        Ok(metadata) => {
            refuse_unless_regular(&path, &metadata)?;
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

pub(super) fn refuse_unless_regular(path: &Path, metadata: &std::fs::Metadata) -> Result<()> {
    if metadata.file_type().is_symlink() {
        let target = std::fs::read_link(path).map(|t| t.display().to_string()).unwrap_or_default();
        anyhow::bail!(
            "{} is a symbolic link (to {target}); validate reads only regular files in a set folder and does not follow links: copy the file into the folder",
            path.display()
        );
    }
    if !metadata.is_file() {
        anyhow::bail!(
            "{} is not a regular file (a folder, FIFO, socket or device); a set holds only regular CSV files",
            path.display()
        );
    }
    Ok(())
}

/// Refuses every `.csv` entry of `dir` that is a symbolic link or not a regular file.
pub(super) fn check_set_folder(dir: &Path) -> Result<()> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        if entry.file_name().to_string_lossy().to_ascii_lowercase().ends_with(".csv") {
            let metadata = entry.metadata().with_context(|| format!("reading {}", entry.path().display()))?;
            refuse_unless_regular(&entry.path(), &metadata)?;
        }
    }
    Ok(())
}

/// `NAME.csv` of the set in `dir`, for reading as validate does: no link followed, no FIFO
/// opened, records limited to [`MAX_RECORD_BYTES`]. The receivers' checks read through it too.
pub(crate) fn open_set_file(dir: &Path, name: &str) -> Result<csv::Reader<RecordLimit<std::fs::File>>> {
    open(dir, name)
}

pub(super) fn open(dir: &Path, name: &str) -> Result<csv::Reader<RecordLimit<std::fs::File>>> {
    let path = csv_path(dir, name);
    // Never through a link planted after the check, and never blocked on a FIFO.
    let file = crate::fsutil::safe_options()
        .read(true)
        .open(&path)
        .with_context(|| format!("reading {}", path.display()))?;
    let metadata = file.metadata().with_context(|| format!("reading {}", path.display()))?;
    refuse_unless_regular(&path, &metadata)?;
    let limited = RecordLimit::new(file, format!("{name}.csv"));
    Ok(csv::ReaderBuilder::new().flexible(true).from_reader(limited))
}

pub(super) fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

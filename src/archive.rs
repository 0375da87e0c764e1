//! The zip: the only module that uses the `zip` crate.
//!
//! Files are streamed in (deflate), the archive is written under a temporary name and
//! renamed when complete, and its SHA-256 is computed while it is written, so the hash in
//! the history is of exactly the bytes that were produced.
//!
//! Compressing is overlapped with extracting: while a set file is being written, a
//! [`SetFileWriter`] hands copies of its bytes to a thread that deflates them into a
//! one-entry zip of its own ([`EntryStore`]). Making the archive then mostly copies those
//! finished entries, raw, without compressing again. The set files themselves stay the
//! truth: an entry is used only if it holds exactly as many bytes as its file now has.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use anyhow::{Context, Result};
use chrono::{Datelike, NaiveDateTime, Timelike};
use sha2::{Digest, Sha256};
use zip::write::{SimpleFileOptions, ZipWriter};
use zip::{CompressionMethod, DateTime};

use crate::query::hex;

/// A finished zip.
#[derive(Debug, Clone)]
pub struct Archive {
    pub path: PathBuf,
    pub bytes: u64,
    pub sha256: String,
}

/// Passes bytes through to the file while hashing and counting them.
struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Zips `files` (stored under their file names only, no folders) into `path`, with
/// `modified` (local wall-clock time, as zip tools expect) as every entry's time stamp.
/// Entries compressed ahead in `entries` are copied as they are.
pub fn create(
    path: &Path,
    files: &[PathBuf],
    modified: NaiveDateTime,
    entries: Option<&EntryStore>,
) -> Result<Archive> {
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let partial = path.with_file_name(format!(".{file_name}.partial"));
    let result = write_zip(&partial, files, modified, entries);
    match result {
        Ok((bytes, sha256)) => {
            crate::fsutil::publish(&partial, path)?;
            Ok(Archive { path: path.to_path_buf(), bytes, sha256 })
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

fn write_zip(
    partial: &Path,
    files: &[PathBuf],
    modified: NaiveDateTime,
    entries: Option<&EntryStore>,
) -> Result<(u64, String)> {
    let context = || format!("writing the zip {}", partial.display());
    let file = crate::fsutil::replace_private(partial)?;
    let hashing =
        HashingWriter { inner: BufWriter::with_capacity(1 << 20, file), hasher: Sha256::new(), bytes: 0 };
    // A streaming writer needs no seeking, so every byte passes the hasher exactly once.
    let mut zip = ZipWriter::new_stream(hashing);
    let options = entry_options(modified);
    for source in files {
        let length =
            std::fs::metadata(source).with_context(|| format!("reading {}", source.display()))?.len();
        if let Some(entry) = entries.and_then(|store| store.take(source, length)) {
            let mut one =
                zip::ZipArchive::new(File::open(&entry).with_context(context)?).with_context(context)?;
            zip.raw_copy_file(one.by_index_raw(0).with_context(context)?).with_context(context)?;
            let _ = std::fs::remove_file(&entry);
            continue;
        }
        let name = source
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .with_context(|| format!("{} has no file name", source.display()))?;
        // Large exports (a million-student roster) can pass 4 GiB uncompressed.
        let options = if length >= LARGE_FILE { options.large_file(true) } else { options };
        zip.start_file(name.as_str(), options).with_context(context)?;
        let mut input = File::open(source).with_context(|| format!("reading {}", source.display()))?;
        std::io::copy(&mut input, &mut zip).with_context(context)?;
    }
    let hashing = zip.finish().with_context(context)?.into_inner();
    let HashingWriter { inner, hasher, bytes } = hashing;
    let file = inner.into_inner().map_err(|e| e.into_error()).with_context(context)?;
    file.sync_all().with_context(context)?;
    Ok((bytes, hex(&hasher.finalize())))
}

/// From this size on an entry needs ZIP64 fields.
const LARGE_FILE: u64 = 0xFFFF_0000;

/// How every entry is stored: deflated at level 3, private, stamped with `modified`
/// (local wall-clock time, as zip tools expect).
fn entry_options(modified: NaiveDateTime) -> SimpleFileOptions {
    // Level 3, measured on a 1M-row roster (97 MB of CSV): 1.2 s and 34.4 MB, against
    // 2.5-2.9 s and 34.2 MB at the default level 6, and Info-ZIP `zip -6`'s 4.0 s and 36.4 MB.
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(3))
        .unix_permissions(0o600)
        .large_file(false);
    // Zip time stamps cover 1980-2107; outside that (a wrong clock) keep the default.
    match DateTime::from_date_and_time(
        modified.year().clamp(0, u16::MAX as i32) as u16,
        modified.month() as u8,
        modified.day() as u8,
        modified.hour() as u8,
        modified.minute() as u8,
        modified.second() as u8,
    ) {
        Ok(time) => options.last_modified_time(time),
        Err(_) => options,
    }
}

/// Set files compressed while they were written: each one a finished one-entry zip in a
/// private folder of the work folder, which is removed with the store.
pub struct EntryStore {
    dir: PathBuf,
    modified: NaiveDateTime,
    /// Set file → (its one-entry zip, how many bytes went into it).
    finished: Arc<Mutex<HashMap<PathBuf, (PathBuf, u64)>>>,
}

impl EntryStore {
    /// A store in `dir` (created, private) for entries stamped with `modified`.
    pub fn new(dir: &Path, modified: NaiveDateTime) -> Result<EntryStore> {
        crate::fsutil::create_private_dir(dir)?;
        Ok(EntryStore { dir: dir.to_path_buf(), modified, finished: Arc::default() })
    }

    /// Starts compressing `file`, whose bytes will be passed to [`EntryWriter::feed`].
    pub fn begin(&self, file: &Path) -> Result<EntryWriter> {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .with_context(|| format!("{} has no file name", file.display()))?;
        let zip_path = self.dir.join(format!("{name}.zip"));
        let output = crate::fsutil::create_private(&zip_path)?;
        let options = entry_options(self.modified);
        // Four chunks of 256 KiB in flight: enough to keep the compressor busy, little
        // enough that memory stays flat when it falls behind (the writer then waits).
        let (chunks, received) = sync_channel::<Vec<u8>>(4);
        // Named, so that `top -H` and profilers show which thread is which.
        let compressor = std::thread::Builder::new()
            .name("sis-compress".into())
            .spawn(move || -> zip::result::ZipResult<()> {
                yield_to_the_extract();
                let mut zip = ZipWriter::new_stream(BufWriter::with_capacity(1 << 20, output));
                zip.start_file(name.as_str(), options)?;
                for chunk in received {
                    zip.write_all(&chunk)?;
                }
                zip.finish()?.into_inner().into_inner().map_err(|e| e.into_error())?;
                Ok(())
            })
            .context("starting the compressing thread")?;
        Ok(EntryWriter {
            file: file.to_path_buf(),
            zip_path,
            chunks: Some(chunks),
            pending: Vec::with_capacity(CHUNK),
            fed: 0,
            compressor,
            finished: Arc::clone(&self.finished),
        })
    }

    /// The compressed entry for `file`, if one was finished with exactly `length` bytes.
    fn take(&self, file: &Path, length: u64) -> Option<PathBuf> {
        let mut finished = self.finished.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match finished.remove(file) {
            Some((zip, fed)) if fed == length => Some(zip),
            _ => None,
        }
    }
}

impl Drop for EntryStore {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const CHUNK: usize = 256 * 1024;

/// Lowers the calling (compressing) thread's priority, so that when the cores are
/// contended, the driver's fetching and the conversion to CSV run first: they are the
/// extract's critical path, while the compressor has slack and catches up whenever the
/// fetch thread waits for the database. It cannot fall behind by more than its four
/// queued chunks: then the CSV writer waits, which frees a core for it. Measured at 10M
/// rows with PostgreSQL on the same two cores, ten interleaved pairs of dry runs: the
/// extract stage took 0.79-1.04× the time at normal priority, median 0.92×, and varied
/// less (this code: 27.1-27.6 s, against 26.4-32.2 s). Raising a nice value needs no
/// privilege. Under autogroup or a systemd service's cgroup it only orders sis-extract's
/// own threads, not other programs against them.
#[cfg(target_os = "linux")]
fn yield_to_the_extract() {
    /// Nice value of the compressing threads: below the fetch and convert threads (0).
    const COMPRESS_NICE: i32 = 10;
    // On Linux a nice value belongs to a thread: setpriority with a thread id (gettid)
    // changes that thread alone.
    // SAFETY: both are plain system calls on the calling thread, with no pointers.
    let failed = unsafe {
        let thread = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, thread as libc::id_t, COMPRESS_NICE) != 0
    };
    if failed {
        tracing::debug!(
            "could not lower the compressing thread's priority: {}",
            std::io::Error::last_os_error()
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn yield_to_the_extract() {}

/// Compresses one set file on a thread of its own while the file is written.
pub struct EntryWriter {
    file: PathBuf,
    zip_path: PathBuf,
    /// `None` once the entry is abandoned: the compressor failed, or the file grew past
    /// what a zip entry without ZIP64 holds (it is then compressed when the zip is made).
    chunks: Option<SyncSender<Vec<u8>>>,
    pending: Vec<u8>,
    fed: u64,
    compressor: JoinHandle<zip::result::ZipResult<()>>,
    finished: Arc<Mutex<HashMap<PathBuf, (PathBuf, u64)>>>,
}

impl EntryWriter {
    /// Passes on bytes that were just written to the file.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.chunks.is_none() {
            return;
        }
        self.fed += bytes.len() as u64;
        if self.fed >= LARGE_FILE {
            self.chunks = None;
            return;
        }
        self.pending.extend_from_slice(bytes);
        if self.pending.len() >= CHUNK {
            self.send();
        }
    }

    fn send(&mut self) {
        let chunk = std::mem::replace(&mut self.pending, Vec::with_capacity(CHUNK));
        if let Some(chunks) = &self.chunks
            && chunks.send(chunk).is_err()
        {
            // The compressor has stopped; finish() reports why.
            self.chunks = None;
        }
    }

    /// Waits for the entry to be complete and records it. Errors name the file; a file
    /// whose entry was abandoned for size is simply compressed later.
    pub fn finish(mut self) -> Result<()> {
        if !self.pending.is_empty() {
            self.send();
        }
        // Still connected means every byte reached the compressor. Dropping the sender
        // here ends its input, so the join below waits for a finished entry.
        let complete = self.chunks.take().is_some();
        let outcome = self.compressor.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        match outcome {
            Ok(()) if complete => {
                let mut finished = self.finished.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                finished.insert(self.file.clone(), (self.zip_path.clone(), self.fed));
                Ok(())
            }
            Ok(()) => {
                let _ = std::fs::remove_file(&self.zip_path);
                Ok(())
            }
            Err(e) => {
                let _ = std::fs::remove_file(&self.zip_path);
                Err(anyhow::Error::new(e).context(format!(
                    "compressing {} into {}",
                    self.file.display(),
                    self.zip_path.display()
                )))
            }
        }
    }
}

/// The writer under a set file's CSV writer: the file, plus (when the run makes a zip)
/// the entry being compressed from the same bytes.
pub struct SetFileWriter {
    file: File,
    entry: Option<EntryWriter>,
}

impl SetFileWriter {
    pub fn new(file: File, entry: Option<EntryWriter>) -> SetFileWriter {
        SetFileWriter { file, entry }
    }

    /// Syncs the file to disk, completes its entry and returns the file's size.
    pub fn finish(self) -> Result<u64> {
        self.file.sync_all()?;
        let length = self.file.metadata()?.len();
        if let Some(entry) = self.entry {
            entry.finish()?;
        }
        Ok(length)
    }
}

impl Write for SetFileWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.file.write(buf)?;
        if let Some(entry) = &mut self.entry {
            entry.feed(&buf[..written]);
        }
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Limits for unpacking a zip to validate it: a OneRoster file of a large district is a
/// few hundred MiB, and a set holds about a dozen files. A zip bomb (a few MiB that inflate
/// to many GiB) is stopped at these, by the sizes the zip declares and by the bytes
/// actually written.
pub const MAX_ENTRY_BYTES: u64 = 1024 * 1024 * 1024;
pub const MAX_UNPACKED_BYTES: u64 = 4 * 1024 * 1024 * 1024;
pub const MAX_ENTRIES: usize = 100;

/// Unpacks a zip whose entries are plain file names (a OneRoster set) into `dir`. An
/// entry with a folder or `..` in its name, a symbolic link, more than [`MAX_ENTRIES`]
/// entries, an entry larger than [`MAX_ENTRY_BYTES`] or a whole larger than
/// [`MAX_UNPACKED_BYTES`] is refused rather than written.
pub fn extract_flat(zip: &Path, dir: &Path) -> Result<Vec<String>> {
    // Never through a symbolic link, never blocked on a FIFO.
    let file = crate::fsutil::safe_options()
        .read(true)
        .open(zip)
        .with_context(|| format!("reading {}", zip.display()))?;
    if !file.metadata().with_context(|| format!("reading {}", zip.display()))?.is_file() {
        anyhow::bail!("{} is not a regular file", zip.display());
    }
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file))
        .with_context(|| format!("{} is not a readable zip file", zip.display()))?;
    let gib = |bytes: u64| bytes / (1024 * 1024 * 1024);
    let unzip_hint = "if the set is genuine, unzip it yourself and pass the folder to validate";
    if archive.len() > MAX_ENTRIES {
        anyhow::bail!(
            "{}: holds {} entries, more than the {MAX_ENTRIES} a OneRoster set can have; not unpacked",
            zip.display(),
            archive.len()
        );
    }
    let mut names: Vec<String> = Vec::new();
    let mut unpacked: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive.by_index(index).with_context(|| format!("reading {}", zip.display()))?;
        let name = entry.name().with_context(|| format!("reading {}", zip.display()))?.to_string();
        if entry.is_symlink() {
            anyhow::bail!(
                "{}: the entry {name:?} is a symbolic link; a OneRoster set holds only plain files",
                zip.display()
            );
        }
        if entry.is_dir() {
            continue;
        }
        if name.contains(['/', '\\']) || name == ".." {
            anyhow::bail!(
                "{}: the entry {name:?} is inside a folder; OneRoster files must be at the root of the zip",
                zip.display()
            );
        }
        if name.is_empty() || name == "." || name.chars().any(char::is_control) {
            anyhow::bail!("{}: the entry {name:?} is not a plain file name", zip.display());
        }
        if names.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
            anyhow::bail!(
                "{}: the entry {name:?} appears twice; which one would be validated?",
                zip.display()
            );
        }
        let declared = entry.size();
        if declared > MAX_ENTRY_BYTES || unpacked.saturating_add(declared) > MAX_UNPACKED_BYTES {
            anyhow::bail!(
                "{}: the entry {name:?} declares {declared} bytes unpacked; validate unpacks at most {} GiB per file and {} GiB in all; {unzip_hint}",
                zip.display(),
                gib(MAX_ENTRY_BYTES),
                gib(MAX_UNPACKED_BYTES)
            );
        }
        // The declared size may lie: count what is actually inflated, one byte past the limit.
        let limit = MAX_ENTRY_BYTES.min(MAX_UNPACKED_BYTES - unpacked);
        let target = dir.join(&name);
        let mut output = crate::fsutil::create_private(&target)?;
        let written = std::io::copy(&mut std::io::Read::take(entry, limit + 1), &mut output)
            .with_context(|| format!("unpacking {name} from {}", zip.display()))?;
        if written > limit {
            drop(output);
            let _ = std::fs::remove_file(&target);
            anyhow::bail!(
                "{}: the entry {name:?} inflates to more than it declared ({declared} bytes) and past the limit of {} GiB per file, {} GiB in all; not unpacked further; {unzip_hint}",
                zip.display(),
                gib(MAX_ENTRY_BYTES),
                gib(MAX_UNPACKED_BYTES)
            );
        }
        unpacked += written;
        names.push(name);
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn now() -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap().and_hms_opt(18, 30, 0).unwrap()
    }

    /// Writes `content` in uneven pieces through a SetFileWriter, as the CSV writer does.
    fn write_set_file(path: &Path, content: &[u8], store: Option<&EntryStore>) {
        let entry = store.map(|s| s.begin(path).unwrap());
        let mut writer = SetFileWriter::new(File::create(path).unwrap(), entry);
        for piece in content.chunks(70_001) {
            writer.write_all(piece).unwrap();
        }
        assert_eq!(writer.finish().unwrap(), content.len() as u64);
    }

    fn zip_contents(path: &Path) -> Vec<(String, Vec<u8>)> {
        let mut archive = zip::ZipArchive::new(File::open(path).unwrap()).unwrap();
        (0..archive.len())
            .map(|i| {
                let mut entry = archive.by_index(i).unwrap();
                let mut bytes = Vec::new();
                entry.read_to_end(&mut bytes).unwrap();
                (entry.name().unwrap().to_string(), bytes)
            })
            .collect()
    }

    fn sample(rows: usize, tag: &str) -> Vec<u8> {
        (0..rows)
            .map(|i| format!("{i},{tag}-{},user{i}@example.org\n", i % 97))
            .collect::<String>()
            .into_bytes()
    }

    #[test]
    fn entries_compressed_while_written_are_copied_into_the_zip_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = EntryStore::new(&dir.path().join("entries"), now()).unwrap();
        let (users, manifest) = (dir.path().join("users.csv"), dir.path().join("manifest.csv"));
        let users_content = sample(60_000, "u"); // over 2 MB: many chunks
        write_set_file(&users, &users_content, Some(&store));
        write_set_file(&manifest, b"propertyName,value\n", None);
        assert!(dir.path().join("entries/users.csv.zip").exists());

        let zip_path = dir.path().join("set.zip");
        let archive = create(&zip_path, &[manifest.clone(), users.clone()], now(), Some(&store)).unwrap();

        assert_eq!(
            zip_contents(&zip_path),
            vec![
                ("manifest.csv".to_string(), b"propertyName,value\n".to_vec()),
                ("users.csv".to_string(), users_content)
            ]
        );
        // The entry was copied (and its temporary zip removed), not compressed again.
        assert!(!dir.path().join("entries/users.csv.zip").exists());
        assert_eq!(archive.bytes, std::fs::metadata(&zip_path).unwrap().len());
        drop(store);
        assert!(!dir.path().join("entries").exists(), "the store removes its folder");
    }

    #[test]
    fn a_file_that_changed_after_its_entry_was_made_is_compressed_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = EntryStore::new(&dir.path().join("entries"), now()).unwrap();
        let path = dir.path().join("orgs.csv");
        write_set_file(&path, &sample(1000, "before"), Some(&store));
        let after = sample(1200, "after");
        std::fs::write(&path, &after).unwrap();

        let zip_path = dir.path().join("set.zip");
        create(&zip_path, std::slice::from_ref(&path), now(), Some(&store)).unwrap();
        assert_eq!(zip_contents(&zip_path), vec![("orgs.csv".to_string(), after)]);
    }

    #[test]
    fn the_same_files_make_the_same_zip_content_with_or_without_entries_made_ahead() {
        let dir = tempfile::tempdir().unwrap();
        let store = EntryStore::new(&dir.path().join("entries"), now()).unwrap();
        let files: Vec<PathBuf> = ["a.csv", "b.csv"].iter().map(|n| dir.path().join(n)).collect();
        write_set_file(&files[0], &sample(5000, "a"), Some(&store));
        write_set_file(&files[1], b"", Some(&store));
        let ahead = dir.path().join("ahead.zip");
        let plain = dir.path().join("plain.zip");
        create(&ahead, &files, now(), Some(&store)).unwrap();
        create(&plain, &files, now(), None).unwrap();
        assert_eq!(zip_contents(&ahead), zip_contents(&plain));
        let times = |p: &Path| {
            let mut archive = zip::ZipArchive::new(File::open(p).unwrap()).unwrap();
            (0..archive.len())
                .map(|i| {
                    let e = archive.by_index(i).unwrap();
                    (e.last_modified().map(|t| t.to_string()), e.unix_mode())
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(times(&ahead), times(&plain), "time stamps and permissions match");
    }
}

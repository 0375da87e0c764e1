//! Small file-system helpers shared by the stages that write local files: files are
//! created private (mode 0600, they hold student data) and published by rename.
//!
//! Every open of a local path here is safe against what another local user can plant in a
//! folder sis-extract writes to: a symbolic link is never followed (`O_NOFOLLOW`), a FIFO
//! or device never blocks the run (`O_NONBLOCK`), and anything that is not a regular file
//! is refused after opening (`fstat`) or, for sis-extract's own temporary names, removed
//! (unlink does not follow links) and created again exclusively (`O_CREAT|O_EXCL`).

use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::path::Path;

use anyhow::{Context, Result, bail};

/// What a non-regular file is, in words, for error messages.
pub fn kind(file_type: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_block_device() || file_type.is_char_device() {
            return "a device";
        }
    }
    if file_type.is_symlink() {
        "a symbolic link"
    } else if file_type.is_dir() {
        "a folder"
    } else if file_type.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

/// Options that never follow a link in the last component, never block on a FIFO, and
/// create files 0600.
pub fn safe_options() -> OpenOptions {
    #[allow(unused_mut)]
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK).mode(0o600);
    }
    options
}

/// Explains a failed open of `path` (`what` names it, e.g. "the history file"): when
/// something other than a regular file is in the way, says what it is.
fn open_error(path: &Path, what: &str, error: std::io::Error) -> anyhow::Error {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_file() => not_regular(path, what, meta.file_type()),
        _ => anyhow::Error::new(error).context(format!("cannot open {what} {}", path.display())),
    }
}

fn not_regular(path: &Path, what: &str, file_type: std::fs::FileType) -> anyhow::Error {
    anyhow::anyhow!(
        "{what} {} is {}, not a regular file; sis-extract never reads or writes its files through a link, \
         a FIFO or a device. Remove it (sis-extract creates the file it needs), or configure the real path",
        path.display(),
        kind(file_type)
    )
}

/// Refuses an opened `file` that is not a regular file.
pub fn check_regular(file: &File, path: &Path, what: &str) -> Result<()> {
    let meta = file.metadata().with_context(|| format!("reading {what} {}", path.display()))?;
    if !meta.file_type().is_file() {
        return Err(not_regular(path, what, meta.file_type()));
    }
    Ok(())
}

/// Creates `path` for writing, readable by its owner only, or opens and truncates the
/// regular file already there. A link, FIFO, device or folder there is refused.
pub fn create_private(path: &Path) -> Result<File> {
    let mut options = safe_options();
    options.write(true).create(true);
    let file = options.open(path).map_err(|e| open_error(path, "the file", e))?;
    check_regular(&file, path, "the file")?;
    file.set_len(0).with_context(|| format!("cannot truncate {}", path.display()))?;
    Ok(file)
}

/// Creates `path`, which must not exist, readable by its owner only (`O_CREAT|O_EXCL`:
/// never a link or anything else that was there).
pub fn create_new_private(path: &Path) -> std::io::Result<File> {
    let mut options = safe_options();
    options.write(true).create_new(true);
    options.open(path)
}

/// Creates one of sis-extract's own temporary names (`.NAME.partial`): whatever is there
/// (a leftover of a crash, or something planted: a link, a FIFO) is removed without
/// being followed or opened, then the file is created exclusively. If something comes
/// back in between, the run stops rather than write through it.
pub fn replace_private(path: &Path) -> Result<File> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => {
            bail!("{} is a folder, where sis-extract writes a temporary file; remove it", path.display())
        }
        Ok(meta) => {
            if !meta.file_type().is_file() {
                tracing::warn!(
                    "{} was {}, not a file sis-extract made; removed it without following or opening it",
                    path.display(),
                    kind(meta.file_type())
                );
            }
            match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot remove the leftover {}", path.display()));
                }
            }
        }
        Err(_) => {}
    }
    create_new_private(path).map_err(|e| {
        if e.kind() == ErrorKind::AlreadyExists {
            anyhow::anyhow!(
                "{} reappeared right after sis-extract removed it: another process is writing into this \
                 folder. Find it, or deliver into a folder only this account can write",
                path.display()
            )
        } else {
            anyhow::Error::new(e).context(format!("cannot create {}", path.display()))
        }
    })
}

/// Opens an existing regular file for reading (the history, a lock, a marker); `None`
/// when there is nothing at `path`. A link is not followed and a FIFO does not block:
/// both are refused, naming `what`.
pub fn open_existing(path: &Path, what: &str) -> Result<Option<File>> {
    let mut options = safe_options();
    options.read(true);
    match options.open(path) {
        Ok(file) => {
            check_regular(&file, path, what)?;
            Ok(Some(file))
        }
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(open_error(path, what, e)),
    }
}

/// Opens `path` to append to it, creating it private; refuses a link, a FIFO or a device.
pub fn open_append(path: &Path, what: &str) -> Result<File> {
    let mut options = safe_options();
    options.read(true).append(true).create(true);
    let file = options.open(path).map_err(|e| open_error(path, what, e))?;
    check_regular(&file, path, what)?;
    Ok(file)
}

/// Creates a folder (and its parents) readable by its owner only.
pub fn create_private_dir(path: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path).with_context(|| format!("cannot create folder {}", path.display()))
}

/// Takes an exclusive OS lock on `file` without waiting: `Ok(false)` when another open
/// file (another process, or another open in this one) holds it. The kernel releases it
/// when the file is closed, however the process ends. (std's `File::try_lock`: `flock`
/// on Linux and the BSDs, `LockFileEx` on Windows.)
pub fn try_lock(file: &File) -> std::io::Result<bool> {
    match file.try_lock() {
        Ok(()) => Ok(true),
        Err(std::fs::TryLockError::WouldBlock) => Ok(false),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// True when `path` (not following a link) is still the file `file` has open.
pub fn is_same_file(path: &Path, file: &File) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::symlink_metadata(path), file.metadata()) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file())
    }
}

/// Renames `from` to `to` (replacing it) and syncs the folder, so that after a crash
/// either the old or the new file is there, never a half-written one.
pub fn publish(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to)
        .with_context(|| format!("cannot rename {} to {}", from.display(), to.display()))?;
    #[cfg(unix)]
    if let Some(dir) = to.parent() {
        // Best effort: some file systems (network shares) cannot sync a folder.
        use std::os::unix::fs::OpenOptionsExt;
        let folder = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_NONBLOCK)
            .open(if dir.as_os_str().is_empty() { Path::new(".") } else { dir });
        let _ = folder.and_then(|d| d.sync_all());
    }
    Ok(())
}

/// The bytes of the regular files under `dir`, links not followed (for messages).
pub fn tree_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(t) if t.is_dir() => tree_bytes(&entry.path()),
            Ok(t) if t.is_file() => entry.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn links_and_fifos_are_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, "theirs").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let error = create_private(&link).unwrap_err().to_string();
        assert!(error.contains("is a symbolic link"), "{error}");
        let fifo = dir.path().join("fifo");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let error = create_private(&fifo).unwrap_err().to_string();
        assert!(error.contains("FIFO"), "{error}");
        assert!(open_existing(&fifo, "the history file").unwrap_err().to_string().contains("FIFO"));
        // The temporary names are replaced instead, without touching the target.
        for planted in [&link, &fifo] {
            replace_private(planted).unwrap().write_all(b"ours").unwrap();
            assert!(std::fs::symlink_metadata(planted).unwrap().is_file());
        }
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "theirs");
        assert!(open_existing(&dir.path().join("none"), "x").unwrap().is_none());
    }
}

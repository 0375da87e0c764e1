//! Small file-system helpers shared by the stages that write local files: files are
//! created private (mode 0600, they hold student data) and published by rename.

use std::fs::{File, OpenOptions};
use std::path::Path;

use anyhow::{Context, Result};

/// Creates (or truncates) `path`, readable by its owner only.
pub fn create_private(path: &Path) -> Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).with_context(|| format!("cannot create {}", path.display()))
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

/// Renames `from` to `to` (replacing it) and syncs the folder, so that after a crash
/// either the old or the new file is there, never a half-written one.
pub fn publish(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to)
        .with_context(|| format!("cannot rename {} to {}", from.display(), to.display()))?;
    #[cfg(unix)]
    if let Some(dir) = to.parent() {
        // Best effort: some file systems (network shares) cannot sync a folder.
        let _ = File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

//! Delivery into a local (or mounted network) folder: copy under a hidden temporary
//! name, sync, then rename, so a program watching the folder never sees a partial zip.
//!
//! The folder may be writable by others (a shared drop). The temporary name is created
//! exclusively, never through a link or into a FIFO another user planted there (a
//! leftover is removed first), and it is renamed only while it is still the file that was
//! written.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::{Deliver, Delivery};

pub struct LocalFolder<'a> {
    pub path: &'a Path,
}

impl Deliver for LocalFolder<'_> {
    fn deliver_files(&self, files: &[PathBuf]) -> Result<Delivery> {
        let mut names = Vec::new();
        for (file, name) in super::file_names(files)? {
            self.deliver(file, &name)?;
            names.push(name);
        }
        Ok(Delivery {
            location: format!("{} ({} files: {})", self.path.display(), names.len(), names.join(", ")),
            host_key: None,
            attempts: 1,
        })
    }

    fn deliver(&self, zip: &Path, name: &str) -> Result<Delivery> {
        // A missing folder usually means an unmounted share or a typo; creating it would
        // hide that, so it is an error.
        if !self.path.is_dir() {
            bail!(
                "the destination folder {} does not exist; create it, or fix job.destination.path",
                self.path.display()
            );
        }
        let target = self.path.join(name);
        let partial = self.path.join(format!(".{name}.partial"));
        let mut output = crate::fsutil::replace_private(&partial)
            .with_context(|| format!("copying the zip into {}", self.path.display()))?;
        let copy = (|| -> Result<()> {
            let mut input = std::fs::File::open(zip).with_context(|| format!("reading {}", zip.display()))?;
            copy_stoppable(&mut input, &mut output)
                .with_context(|| format!("writing {}", partial.display()))?;
            output.sync_all().with_context(|| format!("writing {}", partial.display()))?;
            // Someone who can write into the folder could have swapped the name for a link
            // meanwhile; publishing that would deliver their file under our name.
            if !crate::fsutil::is_same_file(&partial, &output) {
                bail!(
                    "{} was replaced by another process while the zip was copied; nothing was delivered. \
                     Deliver into a folder only this account can write",
                    partial.display()
                );
            }
            Ok(())
        })();
        if let Err(e) = copy {
            if crate::fsutil::is_same_file(&partial, &output) {
                let _ = std::fs::remove_file(&partial);
            }
            return Err(e.context(format!("copying the zip into {}", self.path.display())));
        }
        crate::fsutil::publish(&partial, &target)?;
        Ok(Delivery { location: target.display().to_string(), host_key: None, attempts: 1 })
    }
}

/// Copies in 1 MiB pieces, stopping when a stop signal arrived (src/stop.rs).
fn copy_stoppable(input: &mut impl Read, output: &mut impl Write) -> Result<()> {
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        crate::stop::check()?;
        let n = match input.read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        output.write_all(&buffer[..n])?;
    }
}

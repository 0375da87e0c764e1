//! Delivery into a local (or mounted network) folder: copy under a hidden temporary
//! name, sync, then rename, so a program watching the folder never sees a partial zip.

use std::path::Path;

use anyhow::{Context, Result, bail};

use super::{Deliver, Delivery};

pub struct LocalFolder<'a> {
    pub path: &'a Path,
}

impl Deliver for LocalFolder<'_> {
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
        let copy = (|| -> Result<()> {
            let mut input = std::fs::File::open(zip).with_context(|| format!("reading {}", zip.display()))?;
            let mut output = crate::fsutil::create_private(&partial)?;
            std::io::copy(&mut input, &mut output)
                .with_context(|| format!("writing {}", partial.display()))?;
            output.sync_all().with_context(|| format!("writing {}", partial.display()))?;
            Ok(())
        })();
        if let Err(e) = copy {
            let _ = std::fs::remove_file(&partial);
            return Err(e.context(format!("copying the zip into {}", self.path.display())));
        }
        crate::fsutil::publish(&partial, &target)?;
        Ok(Delivery { location: target.display().to_string(), host_key: None, attempts: 1 })
    }
}

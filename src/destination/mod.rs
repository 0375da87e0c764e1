//! Where a finished zip goes: a local folder, a vendor's SFTP drop, or (for a dry run)
//! nowhere. The pipeline calls one [`Deliver`] and does not care which.

pub(crate) mod algorithms;
pub(crate) mod failure;
pub mod local;
#[doc(hidden)] // public for the fuzz targets (tests/fuzz)
pub mod server_hello;
pub mod sftp;
/// Public only for the cargo-fuzz targets (tests/fuzz/targets.rs), which feed it a
/// hostile server's bytes; not an API.
#[doc(hidden)]
pub mod sftp_client;
pub(crate) mod ssh;

use std::path::Path;

use anyhow::Result;

use crate::config::Destination;

/// The outcome of a delivery, for the run report and the history.
#[derive(Debug, Clone, Default)]
pub struct Delivery {
    /// Where the vendor finds the file (a path or an `sftp://` URL).
    pub location: String,
    /// The SFTP server's host key, `SHA256:…`, as verified.
    pub host_key: Option<String>,
    /// Attempts it took (1 when the first worked).
    pub attempts: u32,
}

pub trait Deliver {
    /// Puts `zip` at its destination under `name`, so that nobody can see a partial file.
    fn deliver(&self, zip: &Path, name: &str) -> Result<Delivery>;
}

/// The dry run's destination: the zip stays where it was built.
pub struct DryRun;

impl Deliver for DryRun {
    fn deliver(&self, zip: &Path, _name: &str) -> Result<Delivery> {
        Ok(Delivery { location: zip.display().to_string(), host_key: None, attempts: 0 })
    }
}

/// The configured destination of a job.
pub fn for_config(destination: &Destination) -> Box<dyn Deliver + '_> {
    match destination {
        Destination::Local { path } => Box::new(local::LocalFolder { path }),
        Destination::Sftp(sftp) => Box::new(sftp::SftpDrop { config: sftp }),
    }
}

//! Where a finished zip goes: a local folder, a vendor's SFTP drop, or (for a dry run)
//! nowhere. The pipeline calls one [`Deliver`] and does not care which. With
//! `send = "files"` the set's files go instead of the zip (Clever takes loose CSV files).

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

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::config::{Destination, Payload};

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

    /// Puts each of `files` at its destination under its own name (`send = "files"`), each
    /// as [`Deliver::deliver`] puts a zip.
    fn deliver_files(&self, files: &[PathBuf]) -> Result<Delivery>;
}

/// The file name of each of `files`, which becomes its name at the destination.
pub(crate) fn file_names(files: &[PathBuf]) -> Result<Vec<(&Path, String)>> {
    files
        .iter()
        .map(|file| {
            let name =
                file.file_name().and_then(|n| n.to_str()).context("a file of the set has no UTF-8 name")?;
            Ok((file.as_path(), name.to_string()))
        })
        .collect()
}

/// The dry run's destination: the zip (or the files) stay where they were built.
pub struct DryRun;

impl Deliver for DryRun {
    fn deliver(&self, zip: &Path, _name: &str) -> Result<Delivery> {
        Ok(Delivery { location: zip.display().to_string(), host_key: None, attempts: 0 })
    }

    fn deliver_files(&self, files: &[PathBuf]) -> Result<Delivery> {
        let folder = files.first().and_then(|f| f.parent()).map(|f| f.display().to_string());
        Ok(Delivery { location: folder.unwrap_or_default(), host_key: None, attempts: 0 })
    }
}

/// The configured destination of a job.
pub fn for_config(destination: &Destination) -> Box<dyn Deliver + '_> {
    match destination {
        Destination::Local { path, .. } => Box::new(local::LocalFolder { path }),
        Destination::Sftp(sftp) => Box::new(sftp::SftpDrop { config: sftp }),
    }
}

/// Delivers a run's set as its destination's `send` says: the zip, or the files in it.
pub fn deliver_set(
    deliver: &dyn Deliver,
    send: Payload,
    zip: &Path,
    name: &str,
    files: &[PathBuf],
) -> Result<Delivery> {
    match send {
        Payload::Zip => deliver.deliver(zip, name),
        Payload::Files => deliver.deliver_files(files),
    }
}

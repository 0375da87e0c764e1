//! Delivery to a vendor's SFTP drop (`check`'s SSH and SFTP steps, in check/sftp.rs, use
//! the primitives marked `pub(crate)` here).
//!
//! The order of events is what makes it safe:
//! 1. connect with a timeout, and verify the server's host key against the pin during the
//!    key exchange, *before* sending any credential (`ssh.rs`: a server that does not
//!    match never sees a user name or password);
//! 2. authenticate with a password or a private key;
//! 3. upload to a hidden temporary name in the remote folder, 64 writes of 32 KiB kept in
//!    flight (as OpenSSH's `sftp` does), then check the remote size; with `send = "files"`
//!    (Clever takes loose CSV files, not a zip) every file of the set is uploaded so
//!    before any is renamed;
//! 4. rename into place with the `posix-rename@openssh.com` extension, which replaces an
//!    existing file atomically, so the vendor sees either last night's file or tonight's,
//!    never a half-written one.
//!
//! Network and transfer errors are retried with backoff; errors that a retry cannot fix
//! (host key, credentials, a missing folder, permission) stop at once.
//!
//! SSH is russh's, which is async: each delivery or check runs on a current-thread tokio
//! runtime of its own, so the rest of sis-extract stays synchronous.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::anyhow;
use russh::client::Msg;
use russh::{ChannelMsg, ChannelStream};

pub use super::failure::Failure;
use super::sftp_client::{
    FX_NO_SPACE_ON_FILESYSTEM, FX_NO_SUCH_FILE, FX_OP_UNSUPPORTED, FX_PERMISSION_DENIED, FX_QUOTA_EXCEEDED,
    SSH_FXF_CREAT, SSH_FXF_TRUNC, SSH_FXF_WRITE, SftpClient, SftpError,
};
use super::ssh::{self, Connection};
use super::{Deliver, Delivery};
use crate::config::SftpDestination;

/// Bytes per SFTP write request, and requests kept unacknowledged: OpenSSH `sftp`'s
/// defaults (32 KiB, 64), which every server accepts. 2 MiB in flight keeps a 20 ms round
/// trip from slowing the upload until the link carries over 100 MB/s.
pub(crate) const WRITE_SIZE: usize = 32 * 1024;
const WRITES_IN_FLIGHT: usize = 64;

pub(crate) type Sftp = SftpClient<ChannelStream<Msg>>;

pub struct SftpDrop<'a> {
    pub config: &'a SftpDestination,
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow!("starting the SSH client's event loop: {e}"))
}

impl Deliver for SftpDrop<'_> {
    fn deliver(&self, zip: &Path, name: &str) -> anyhow::Result<Delivery> {
        self.deliver_all(&[(zip, name)])
    }

    fn deliver_files(&self, files: &[PathBuf]) -> anyhow::Result<Delivery> {
        let named = super::file_names(files)?;
        let items: Vec<(&Path, &str)> = named.iter().map(|(path, name)| (*path, name.as_str())).collect();
        self.deliver_all(&items)
    }
}

impl SftpDrop<'_> {
    /// Uploads every `(local file, remote name)` on one connection, retrying the whole
    /// set on network errors.
    fn deliver_all(&self, items: &[(&Path, &str)]) -> anyhow::Result<Delivery> {
        let runtime = runtime()?;
        let attempts = self.config.attempts.max(1);
        let mut delay = Duration::from_secs(2);
        for attempt in 1..=attempts {
            match runtime.block_on(upload_once(self.config, items)) {
                Ok(mut delivery) => {
                    delivery.attempts = attempt;
                    return Ok(delivery);
                }
                Err(Failure::Permanent(e)) => return Err(e),
                Err(Failure::Transient(e)) if attempt < attempts => {
                    tracing::warn!(
                        attempt,
                        attempts,
                        retry_in_s = delay.as_secs(),
                        "SFTP delivery failed, will retry: {e:#}"
                    );
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(Duration::from_secs(60));
                }
                Err(Failure::Transient(e)) => {
                    return Err(e.context(format!(
                        "SFTP delivery to {}:{} failed after {attempts} attempt(s) (job.destination.attempts)",
                        self.config.host, self.config.port
                    )));
                }
            }
        }
        unreachable!("the loop returns on its last attempt")
    }
}

/// Opens the SFTP subsystem on an authenticated connection.
pub(crate) async fn start_sftp(connection: &Connection, config: &SftpDestination) -> Result<Sftp, Failure> {
    let where_ = format!("{}:{}", config.host, config.port);
    let started = async {
        let mut channel =
            connection.handle.channel_open_session().await.map_err(|e| Failure::Transient(anyhow!(e)))?;
        channel.request_subsystem(true, "sftp").await.map_err(|e| Failure::Transient(anyhow!(e)))?;
        // The server's yes or no to the subsystem: a no is an account without SFTP.
        loop {
            match channel.wait().await {
                Some(ChannelMsg::Success) => break,
                Some(ChannelMsg::Failure) => {
                    return Err(Failure::Permanent(anyhow!(
                        "the server refused the SFTP subsystem: the account may be shell-only, or the server may not offer SFTP; ask the vendor"
                    )));
                }
                Some(_) => continue,
                None => return Err(Failure::Transient(anyhow!("the server closed the channel"))),
            }
        }
        SftpClient::start(channel.into_stream()).await.map_err(|e| Failure::Transient(anyhow!(e)))
    };
    match tokio::time::timeout(config.timeout, started).await {
        Ok(Ok(sftp)) => Ok(sftp),
        // One message, not a context: `check` prints a failure's top line only.
        Ok(Err(failure)) => {
            Err(failure.map(|e| anyhow!("starting the SFTP subsystem on {where_} failed: {e}")))
        }
        Err(_) => Err(Failure::Transient(anyhow!(
            "starting the SFTP subsystem on {where_} failed: no answer within {}s (timeout)",
            config.timeout.as_secs()
        ))),
    }
}

/// Runs one SFTP request with the configured timeout; a timeout becomes an I/O error.
pub(crate) async fn timed<T>(
    timeout: Duration,
    request: impl std::future::Future<Output = Result<T, SftpError>>,
) -> Result<T, SftpError> {
    tokio::time::timeout(timeout, request).await.unwrap_or_else(|_| {
        Err(SftpError::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no answer within {}s (timeout)", timeout.as_secs()),
        )))
    })
}

async fn upload_once(config: &SftpDestination, items: &[(&Path, &str)]) -> Result<Delivery, Failure> {
    let mut connection = ssh::open_verified(config).await?;
    ssh::authenticate(&mut connection, config).await?;
    let fingerprint = connection.fingerprint();
    let result = upload_on(&connection, config, items).await;
    connection.close().await;
    let targets = result?;
    let url = |target: &str| {
        format!(
            "sftp://{}@{}:{}{}{}",
            config.user,
            config.host,
            config.port,
            if target.starts_with('/') { "" } else { "/" },
            target
        )
    };
    let location = match targets.as_slice() {
        [one] => url(one),
        _ => format!(
            "{} ({} files: {})",
            url(&remote_join(remote_folder(config), "")),
            targets.len(),
            items.iter().map(|(_, name)| *name).collect::<Vec<_>>().join(", ")
        ),
    };
    Ok(Delivery { location, host_key: Some(fingerprint), attempts: 1 })
}

/// The upload on an authenticated connection; returns the remote path of each file.
///
/// The safety of a delivery is the order of its steps: stat the folder; upload every
/// file to its hidden name (open, write, fsync, close, compare sizes); only then rename
/// each into place, so the vendor never sees a half-written file, and sees a set of
/// files change within moments. On any failure the hidden files are removed.
async fn upload_on(
    connection: &Connection,
    config: &SftpDestination,
    items: &[(&Path, &str)],
) -> Result<Vec<String>, Failure> {
    let timeout = config.timeout;
    let remote_dir = remote_folder(config);
    let where_ = format!("{}:{}", config.host, config.port);

    let mut sftp = start_sftp(connection, config).await?;
    match timed(timeout, sftp.stat(remote_dir)).await {
        Ok(stat) if stat.is_dir() => {}
        Ok(_) => {
            return Err(Failure::Permanent(anyhow!(
                "the remote path {remote_dir} on {where_} is not a folder; fix job.destination.remote_dir"
            )));
        }
        Err(e) if e.code() == Some(FX_NO_SUCH_FILE) => {
            return Err(Failure::Permanent(anyhow!(
                "the remote folder {remote_dir} does not exist on {where_}; ask the vendor for the right folder, or fix job.destination.remote_dir"
            )));
        }
        Err(e) => {
            return Err(classify_sftp(e, &format!("reading the remote folder {remote_dir} on {where_}")));
        }
    }

    // Hidden names written so far, removed again if anything fails.
    let mut partials: Vec<String> = Vec::new();
    let mut targets = Vec::new();
    let mut result = Ok(());
    for (local, name) in items {
        let partial = remote_join(remote_dir, &format!(".{name}.partial"));
        partials.push(partial.clone());
        if let Err(failure) = upload_partial(connection, &mut sftp, config, local, name, &partial).await {
            result = Err(failure);
            break;
        }
    }
    if result.is_ok() {
        for (_, name) in items {
            let partial = partials.remove(0);
            let target = remote_join(remote_dir, name);
            if let Err(failure) = rename_into_place(&mut sftp, timeout, &partial, &target)
                .await
                .map_err(|e| e.map(|e| e.context(format!("renaming {partial} to {target} on {where_}"))))
            {
                partials.insert(0, partial);
                result = Err(failure);
                break;
            }
            targets.push(target);
        }
    }
    if let Err(failure) = result {
        // Leave nothing behind that a vendor's job could pick up: on this SFTP session if
        // it is still in step, else on a new one. If the connection is gone this fails
        // too; the hidden names are overwritten by the next run.
        let mut fresh = None;
        for partial in &partials {
            if let Err(SftpError::Io(_)) = timed(timeout, sftp.remove(partial)).await {
                if fresh.is_none() {
                    fresh = start_sftp(connection, config).await.ok();
                }
                if let Some(fresh) = fresh.as_mut() {
                    let _ = timed(timeout, fresh.remove(partial)).await;
                }
            }
        }
        return Err(failure);
    }
    let _ = tokio::time::timeout(timeout, sftp.shutdown()).await;
    Ok(targets)
}

/// Uploads `local` to the hidden name `partial`: open, pipelined writes, fsync where the
/// server offers it, close, and a size check.
async fn upload_partial(
    connection: &Connection,
    sftp: &mut Sftp,
    config: &SftpDestination,
    local: &Path,
    name: &str,
    partial: &str,
) -> Result<(), Failure> {
    let timeout = config.timeout;
    let where_ = format!("{}:{}", config.host, config.port);
    let local_size = std::fs::metadata(local)
        .map_err(|e| Failure::Permanent(anyhow!("reading {}: {e}", local.display())))?
        .len();
    let remote =
        timed(timeout, sftp.open(partial, SSH_FXF_WRITE | SSH_FXF_CREAT | SSH_FXF_TRUNC, config.file_mode))
            .await
            .map_err(|e| classify_sftp(e, &format!("creating {partial} on {where_}")))?;
    let mut file = std::fs::File::open(local)
        .map_err(|e| Failure::Permanent(anyhow!("reading {}: {e}", local.display())))?;
    ssh::coalesce_writes(&connection.socket, true);
    // The whole transfer has no single timeout (it may take long on a slow link); each
    // answer must come within the timeout.
    let written = write_with_stall_timeout(sftp, &remote, &mut file, timeout, name, local_size).await;
    ssh::coalesce_writes(&connection.socket, false);
    if let Err(e) = written {
        // Closed before it is removed: some servers (Windows) cannot remove an open file.
        let _ = timed(timeout, sftp.close(remote)).await;
        return Err(classify_transfer(e, &format!("uploading to {partial} on {where_}")));
    }
    // fsync@openssh.com: the bytes are on the server's disk before the rename makes
    // them visible. Servers without the extension are fine without it.
    if sftp.has_extension("fsync@openssh.com")
        && let Err(e) = timed(timeout, sftp.fsync(&remote)).await
    {
        tracing::debug!("the SFTP server cannot fsync ({e}); relying on close");
    }
    timed(timeout, sftp.close(remote))
        .await
        .map_err(|e| classify_sftp(e, &format!("closing {partial} on {where_}")))?;
    let remote_size = timed(timeout, sftp.stat(partial))
        .await
        .map_err(|e| classify_sftp(e, &format!("checking {partial} on {where_}")))?
        .size
        .unwrap_or(0);
    if remote_size != local_size {
        return Err(Failure::Transient(anyhow!(
            "the uploaded file {partial} on {where_} has {remote_size} bytes, expected {local_size}; the transfer was incomplete"
        )));
    }
    Ok(())
}

/// The pipelined write, failing if the server acknowledges nothing for `timeout`.
async fn write_with_stall_timeout(
    sftp: &mut Sftp,
    remote: &super::sftp_client::Handle,
    local: &mut std::fs::File,
    timeout: Duration,
    name: &str,
    local_size: u64,
) -> Result<u64, SftpError> {
    let last_progress = std::cell::Cell::new(Instant::now());
    let write = sftp.write_all_from(remote, local, WRITE_SIZE, WRITES_IN_FLIGHT, |sent| {
        last_progress.set(Instant::now());
        crate::progress::uploaded(name, sent, local_size);
    });
    tokio::pin!(write);
    loop {
        let deadline = last_progress.get() + timeout;
        match tokio::time::timeout_at(deadline.into(), &mut write).await {
            Ok(result) => return result,
            Err(_) if last_progress.get() + timeout <= Instant::now() => {
                return Err(SftpError::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("the server acknowledged nothing for {}s (timeout)", timeout.as_secs()),
                )));
            }
            Err(_) => continue,
        }
    }
}

/// The configured remote folder without a trailing `/` (`/` itself stays `/`).
pub(crate) fn remote_folder(config: &SftpDestination) -> &str {
    let dir = config.remote_dir.trim_end_matches('/');
    if dir.is_empty() { "/" } else { dir }
}

pub(crate) fn remote_join(dir: &str, name: &str) -> String {
    if dir == "/" { format!("/{name}") } else { format!("{dir}/{name}") }
}

/// Renames atomically with posix-rename. A server without it gets a plain rename, which
/// is atomic too when nothing has the final name yet; only when a previous file has it
/// (SFTP version 3's rename refuses to replace) is that file removed first, which leaves
/// a brief moment without it: said in a warning, then.
pub(crate) async fn rename_into_place(
    sftp: &mut Sftp,
    timeout: Duration,
    from: &str,
    to: &str,
) -> Result<(), Failure> {
    let posix = if sftp.has_extension("posix-rename@openssh.com") {
        timed(timeout, sftp.posix_rename(from, to)).await
    } else {
        Err(SftpError::Status { code: FX_OP_UNSUPPORTED, message: String::new() })
    };
    let denied = || {
        Failure::Permanent(anyhow!(
            "permission denied: the SFTP user may not rename files in the remote folder; ask the vendor"
        ))
    };
    match posix {
        Ok(()) => Ok(()),
        Err(e) if e.code() == Some(FX_OP_UNSUPPORTED) => {
            let plain = timed(timeout, sftp.rename(from, to)).await;
            let Err(refused) = plain else { return Ok(()) };
            if refused.code() == Some(FX_PERMISSION_DENIED) {
                return Err(denied());
            }
            // Removing is only right when the refusal was for an existing file: never
            // take the vendor's previous file away for a rename that fails anyway.
            match timed(timeout, sftp.stat(to)).await {
                Ok(_) => {}
                Err(_) => return Err(classify_sftp(refused, "renaming")),
            }
            tracing::warn!(
                "the SFTP server lacks posix-rename@openssh.com and its rename does not replace: {to} was removed, then replaced (for a moment the folder had no {to})"
            );
            timed(timeout, sftp.remove(to))
                .await
                .map_err(|e| classify_sftp(e, &format!("removing the previous {to}")))?;
            timed(timeout, sftp.rename(from, to)).await.map_err(|e| classify_sftp(e, "renaming"))
        }
        Err(e) if e.code() == Some(FX_PERMISSION_DENIED) => Err(denied()),
        Err(e) => Err(Failure::Transient(anyhow!("the server refused the rename: {e}"))),
    }
}

fn classify_sftp(error: SftpError, doing: &str) -> Failure {
    match error.code() {
        Some(FX_PERMISSION_DENIED) => Failure::Permanent(anyhow!(
            "{doing}: permission denied; the SFTP user may not write there, ask the vendor or fix job.destination.remote_dir"
        )),
        Some(FX_NO_SPACE_ON_FILESYSTEM) | Some(FX_QUOTA_EXCEEDED) => Failure::Permanent(anyhow!(
            "{doing}: the server is out of disk space or over quota; ask the vendor to make room"
        )),
        Some(FX_NO_SUCH_FILE) => Failure::Permanent(anyhow!("{doing}: no such file or folder on the server")),
        _ => Failure::Transient(anyhow!("{doing}: {error}")),
    }
}

/// Like [`classify_sftp`], for the transfer itself: version 3 servers (OpenSSH) report a
/// full disk as a generic failure whose text names it.
fn classify_transfer(error: SftpError, doing: &str) -> Failure {
    if let SftpError::Local(e) = &error {
        return Failure::Permanent(anyhow!("{doing}: reading the local zip failed: {e}"));
    }
    let text = error.to_string().to_ascii_lowercase();
    if text.contains("quota") || text.contains("space") {
        return Failure::Permanent(anyhow!(
            "{doing}: the server is out of disk space or over quota ({error}); ask the vendor to make room"
        ));
    }
    match classify_sftp(error, doing) {
        Failure::Transient(e) => Failure::Transient(e.context("the transfer was interrupted")),
        permanent => permanent,
    }
}

pub(crate) fn describe_sftp_error(error: &SftpError) -> String {
    match error.code() {
        Some(FX_PERMISSION_DENIED) => "permission denied".into(),
        Some(FX_NO_SUCH_FILE) => "no such file or folder".into(),
        Some(FX_NO_SPACE_ON_FILESYSTEM) | Some(FX_QUOTA_EXCEEDED) => "out of space or over quota".into(),
        _ => error.to_string(),
    }
}

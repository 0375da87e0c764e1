//! Delivery to a vendor's SFTP drop: the only module that uses ssh2 (libssh2).
//!
//! The order of events is what makes it safe:
//! 1. connect with a timeout, and verify the server's host key against the pin
//!    *before* sending any credential (a server that does not match never sees a password);
//! 2. authenticate with a password or a private key;
//! 3. upload to a hidden temporary name in the remote folder, 4 MiB kept in flight,
//!    then check the remote size;
//! 4. rename into place with the `posix-rename@openssh.com` extension, which replaces an
//!    existing file atomically, so the vendor sees either last night's file or tonight's,
//!    never a half-written one.
//!
//! Network and transfer errors are retried with backoff; errors that a retry cannot fix
//! (host key, credentials, a missing folder, permission) stop at once.

use std::ffi::CString;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use base64::Engine as _;
use ssh2::{CheckResult, ErrorCode, HashType, KnownHostFileKind, MethodType, OpenFlags, OpenType, Session};

use super::{Deliver, Delivery};
use crate::check::{Chain, Step};
use crate::config::{HostKeyPin, SftpAuth, SftpDestination};

/// Bytes of the upload kept in flight. libssh2 sends a write call's whole buffer as
/// pipelined 30 000-byte SFTP requests and returns once the first are acknowledged; the
/// next call must pass the unacknowledged rest again, and may add fresh data behind it.
/// Topping the buffer up on every call keeps the pipe full. Writing fixed chunks with
/// `write_all` instead lets the pipe run dry at the end of each chunk: one idle round trip
/// per chunk, which at 20 ms round trip made uploads 1.8× slower than OpenSSH's sftp.
const IN_FLIGHT: usize = 4 << 20;

/// SFTP status codes (draft-ietf-secsh-filexfer-02 and later).
const FX_NO_SUCH_FILE: i32 = 2;
const FX_PERMISSION_DENIED: i32 = 3;
const FX_OP_UNSUPPORTED: i32 = 8;
const FX_NO_SPACE_ON_FILESYSTEM: i32 = 14;
const FX_QUOTA_EXCEEDED: i32 = 15;

/// Host-key algorithm groups, tried in turn when the server's preferred key does not
/// match the pin (a server usually has several host keys; the pin may be any of them).
const HOST_KEY_GROUPS: [&str; 3] = [
    "ssh-ed25519",
    "ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521",
    "rsa-sha2-512,rsa-sha2-256,ssh-rsa",
];

unsafe extern "C" {
    // In libssh2 ≥ 1.11.1 (bundled by libssh2-sys), not wrapped by the ssh2 crate.
    fn libssh2_sftp_posix_rename_ex(
        sftp: *mut libssh2_sys::LIBSSH2_SFTP,
        source: *const std::ffi::c_char,
        source_len: usize,
        dest: *const std::ffi::c_char,
        dest_len: usize,
    ) -> std::ffi::c_int;
}

pub struct SftpDrop<'a> {
    pub config: &'a SftpDestination,
}

/// Whether trying again could help.
enum Failure {
    Permanent(anyhow::Error),
    Transient(anyhow::Error),
}

impl Deliver for SftpDrop<'_> {
    fn deliver(&self, zip: &Path, name: &str) -> anyhow::Result<Delivery> {
        let attempts = self.config.attempts.max(1);
        let mut delay = Duration::from_secs(2);
        for attempt in 1..=attempts {
            match upload_once(self.config, zip, name) {
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

fn upload_once(config: &SftpDestination, zip: &Path, name: &str) -> Result<Delivery, Failure> {
    let (session, socket, fingerprint) = open_verified_session(config)?;
    authenticate(&session, config)?;
    let remote_dir = remote_folder(config);
    let target = remote_join(remote_dir, name);
    let partial = remote_join(remote_dir, &format!(".{name}.partial"));
    let where_ = format!("{}:{}", config.host, config.port);

    let sftp = session
        .sftp()
        .map_err(|e| Failure::Transient(anyhow!("starting the SFTP subsystem on {where_} failed: {e}")))?;
    match sftp.stat(Path::new(remote_dir)) {
        Ok(stat) if stat.is_dir() => {}
        Ok(_) => {
            return Err(Failure::Permanent(anyhow!(
                "the remote path {remote_dir} on {where_} is not a folder; fix job.destination.remote_dir"
            )));
        }
        Err(e) if sftp_code(&e) == Some(FX_NO_SUCH_FILE) => {
            return Err(Failure::Permanent(anyhow!(
                "the remote folder {remote_dir} does not exist on {where_}; ask the vendor for the right folder, or fix job.destination.remote_dir"
            )));
        }
        Err(e) => {
            return Err(classify_sftp(e, &format!("reading the remote folder {remote_dir} on {where_}")));
        }
    }

    let local_size = std::fs::metadata(zip)
        .map_err(|e| Failure::Permanent(anyhow!("reading {}: {e}", zip.display())))?
        .len();
    let upload = (|| -> Result<(), Failure> {
        let mut remote = sftp
            .open_mode(
                Path::new(&partial),
                OpenFlags::WRITE | OpenFlags::CREATE | OpenFlags::TRUNCATE,
                0o600,
                OpenType::File,
            )
            .map_err(|e| classify_sftp(e, &format!("creating {partial} on {where_}")))?;
        let mut local = std::fs::File::open(zip)
            .map_err(|e| Failure::Permanent(anyhow!("reading {}: {e}", zip.display())))?;
        // buffer[start..end] is sent but not yet acknowledged, or not yet sent.
        let mut buffer = vec![0u8; 2 * IN_FLIGHT];
        let (mut start, mut end, mut at_eof) = (0usize, 0usize, false);
        let mut sent = 0u64;
        coalesce_writes(&socket, true);
        loop {
            if !at_eof && end - start < IN_FLIGHT {
                if end + IN_FLIGHT > buffer.len() {
                    // Move the pending bytes to the front: at most once per IN_FLIGHT sent.
                    buffer.copy_within(start..end, 0);
                    (start, end) = (0, end - start);
                }
                let n = local
                    .read(&mut buffer[end..end + IN_FLIGHT])
                    .map_err(|e| Failure::Permanent(anyhow!("reading {}: {e}", zip.display())))?;
                end += n;
                at_eof = n == 0;
                continue;
            }
            if start == end {
                break;
            }
            let n = match remote.write(&buffer[start..end]) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Ok(0) => Err(std::io::Error::from(std::io::ErrorKind::WriteZero)),
                other => other,
            }
            .map_err(|e| classify_io(e, &format!("uploading to {partial} on {where_}")))?;
            start += n;
            sent += n as u64;
            crate::progress::uploaded(name, sent, local_size);
        }
        coalesce_writes(&socket, false);
        // fsync@openssh.com: the bytes are on the server's disk before the rename makes
        // them visible. Servers without the extension are fine without it.
        if let Err(e) = remote.fsync() {
            tracing::debug!("the SFTP server cannot fsync ({e}); relying on close");
        }
        remote.close().map_err(|e| classify_sftp(e, &format!("closing {partial} on {where_}")))?;
        let remote_size = sftp
            .stat(Path::new(&partial))
            .map_err(|e| classify_sftp(e, &format!("checking {partial} on {where_}")))?
            .size
            .unwrap_or(0);
        if remote_size != local_size {
            return Err(Failure::Transient(anyhow!(
                "the uploaded file {partial} on {where_} has {remote_size} bytes, expected {local_size}; the transfer was incomplete"
            )));
        }
        rename_into_place(&session, &sftp, &partial, &target)
            .map_err(|e| e.map(|e| e.context(format!("renaming {partial} to {target} on {where_}"))))
    })();
    if let Err(failure) = upload {
        // Leave nothing behind that a vendor's job could pick up. If the connection is
        // gone this fails too; the hidden name is overwritten by the next run.
        let _ = sftp.unlink(Path::new(&partial));
        return Err(failure);
    }
    Ok(Delivery {
        location: format!(
            "sftp://{}@{}:{}{}{}",
            config.user,
            config.host,
            config.port,
            if target.starts_with('/') { "" } else { "/" },
            target
        ),
        host_key: Some(fingerprint),
        attempts: 1,
    })
}

impl Failure {
    fn map(self, f: impl FnOnce(anyhow::Error) -> anyhow::Error) -> Failure {
        match self {
            Failure::Permanent(e) => Failure::Permanent(f(e)),
            Failure::Transient(e) => Failure::Transient(f(e)),
        }
    }
}

/// The configured remote folder without a trailing `/` (`/` itself stays `/`).
fn remote_folder(config: &SftpDestination) -> &str {
    let dir = config.remote_dir.trim_end_matches('/');
    if dir.is_empty() { "/" } else { dir }
}

fn remote_join(dir: &str, name: &str) -> String {
    if dir == "/" { format!("/{name}") } else { format!("{dir}/{name}") }
}

/// Connects and returns a session whose host key matches the pin, a second handle on its
/// socket (see [`coalesce_writes`]) and the key's fingerprint. Nothing is authenticated yet.
fn open_verified_session(config: &SftpDestination) -> Result<(Session, Option<TcpStream>, String), Failure> {
    let mut seen: Vec<(String, String)> = Vec::new();
    // First with the server's own preference; then, if that key is not the pinned one,
    // each other key type, because the pin may name any of the server's keys.
    let mut preferences: Vec<Option<&str>> = vec![None];
    preferences.extend(HOST_KEY_GROUPS.iter().map(|g| Some(*g)));
    for preference in preferences {
        let (session, socket) = match handshake(config, preference) {
            Ok(connected) => connected,
            // The server has no key of this type.
            Err(_) if preference.is_some() => continue,
            Err(failure) => return Err(failure),
        };
        let (key, key_type) = session
            .host_key()
            .ok_or_else(|| Failure::Transient(anyhow!("the SFTP server sent no host key")))?;
        let key_type = key_type_name(key_type);
        let fingerprint = fingerprint(&session);
        if seen.iter().any(|(_, f)| *f == fingerprint) {
            continue;
        }
        let matches = match &config.host_key {
            HostKeyPin::Fingerprint(pinned) => *pinned == fingerprint,
            HostKeyPin::KnownHosts(path) => {
                known_hosts_match(&session, path, &config.host, config.port, key)?
            }
            HostKeyPin::Unpinned => false,
        };
        if matches {
            return Ok((session, socket, fingerprint));
        }
        seen.push((key_type.to_string(), fingerprint));
    }
    let offered = seen.iter().map(|(t, f)| format!("{t} {f}")).collect::<Vec<_>>().join(", ");
    let pin = match &config.host_key {
        HostKeyPin::Fingerprint(f) => format!("the pinned job.destination.host_key {f}"),
        HostKeyPin::KnownHosts(p) => format!("any key for this host in {}", p.display()),
        HostKeyPin::Unpinned => "a pin, because job.destination has no host_key".to_string(),
    };
    Err(Failure::Permanent(anyhow!(
        "the SFTP server {}:{} presented a host key that does not match {pin}; refusing to send credentials. \
         The server offers: {offered}. Not retried. THE HOST KEY HAS CHANGED, or this is not the vendor's server (someone may \
         be intercepting the connection). If the vendor really changed its key, confirm the new fingerprint with \
         the vendor by phone or ticket, then update the pin",
        config.host,
        config.port
    )))
}

/// Connects and runs the SSH handshake. Also returns a second handle on the socket (a
/// duplicate of the one libssh2 owns), for [`coalesce_writes`]; `None` if it could not be had.
fn handshake(
    config: &SftpDestination,
    host_key_preference: Option<&str>,
) -> Result<(Session, Option<TcpStream>), Failure> {
    let tcp = connect_tcp(&config.host, config.port, config.timeout)?;
    let socket = tcp.try_clone().ok();
    let mut session =
        Session::new().map_err(|e| Failure::Transient(anyhow!("starting an SSH session: {e}")))?;
    session.set_tcp_stream(tcp);
    session.set_timeout(config.timeout.as_millis().clamp(1, u32::MAX as u128) as u32);
    if let Some(preference) = host_key_preference {
        session
            .method_pref(MethodType::HostKey, preference)
            .map_err(|e| Failure::Permanent(anyhow!("setting host-key algorithms: {e}")))?;
    }
    // The ciphers stay in libssh2's order, chacha20-poly1305 first. Offering AES-GCM first
    // was tried and measured: libssh2 drives OpenSSL's GCM block by block, and a 185 MB
    // loopback upload took 2.5-2.9 s with it against 1.9-2.2 s with chacha20-poly1305.
    // aes128-ctr and aes256-ctr with hmac-sha2-256-etm were no faster either (111 MB, 3 runs).
    session.handshake().map_err(|e| {
        Failure::Transient(anyhow!(
            "the SSH handshake with {}:{} failed: {e}. Check that host and port are the vendor's SFTP server and that the firewall lets this server through",
            config.host,
            config.port
        ))
    })?;
    Ok((session, socket))
}

/// Whether the SSH connection's socket lets the kernel hold back small writes (Nagle's
/// algorithm). Off from the connect on: the handshake, authentication and each SFTP request
/// are small messages that wait for an answer, and Nagle held some of them back until the
/// server's delayed acknowledgement: connecting, handshake and host-key check took 58-64 ms
/// with it on, 14-19 ms with it off (loopback, 3 runs each). On for the file's bytes, where
/// it packs libssh2's writes into full segments: with it off throughout, writing 111 MB
/// took 680-720 ms against 610-630 ms with it on, and the whole upload was no faster.
fn coalesce_writes(socket: &Option<TcpStream>, coalesce: bool) {
    if let Some(socket) = socket {
        let _ = socket.set_nodelay(!coalesce);
    }
}

fn connect_tcp(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, Failure> {
    let addresses: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| {
            Failure::Transient(anyhow!(
                "cannot resolve the SFTP host name {host:?}: {e}; check job.destination.host and this server's DNS"
            ))
        })?
        .collect();
    let mut last = None;
    for address in &addresses {
        match TcpStream::connect_timeout(address, timeout) {
            Ok(stream) => {
                let _ = stream.set_read_timeout(Some(timeout));
                let _ = stream.set_write_timeout(Some(timeout));
                // See coalesce_writes.
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(e) => last = Some((address, e)),
        }
    }
    let (address, error) = match last {
        Some(last) => last,
        None => return Err(Failure::Transient(anyhow!("the host name {host:?} resolved to no address"))),
    };
    let why = match error.kind() {
        std::io::ErrorKind::ConnectionRefused => {
            "the connection was refused: the host is reachable but nothing listens on that port (check job.destination.port)"
                .to_string()
        }
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => format!(
            "no answer within {}s: a firewall is probably dropping the connection (check that this server's address is whitelisted)",
            timeout.as_secs()
        ),
        _ => format!("{error}"),
    };
    Err(Failure::Transient(anyhow!("cannot connect to the SFTP server {host}:{port} ({address}): {why}")))
}

/// The key's SHA-256 fingerprint in OpenSSH's notation.
fn fingerprint(session: &Session) -> String {
    let hash = session.host_key_hash(HashType::Sha256).unwrap_or_default();
    format!("SHA256:{}", base64::engine::general_purpose::STANDARD_NO_PAD.encode(hash))
}

fn key_type_name(key_type: ssh2::HostKeyType) -> &'static str {
    use ssh2::HostKeyType::*;
    match key_type {
        Rsa => "ssh-rsa",
        Dss => "ssh-dss",
        Ecdsa256 => "ecdsa-sha2-nistp256",
        Ecdsa384 => "ecdsa-sha2-nistp384",
        Ecdsa521 => "ecdsa-sha2-nistp521",
        Ed25519 => "ssh-ed25519",
        Unknown => "unknown",
    }
}

fn known_hosts_match(
    session: &Session,
    path: &Path,
    host: &str,
    port: u16,
    key: &[u8],
) -> Result<bool, Failure> {
    let mut known_hosts =
        session.known_hosts().map_err(|e| Failure::Permanent(anyhow!("reading known_hosts: {e}")))?;
    known_hosts.read_file(path, KnownHostFileKind::OpenSSH).map_err(|e| {
        Failure::Permanent(anyhow!(
            "cannot read the known_hosts file {}: {e}; fix job.destination.known_hosts",
            path.display()
        ))
    })?;
    Ok(matches!(known_hosts.check_port(host, port, key), CheckResult::Match))
}

fn authenticate(session: &Session, config: &SftpDestination) -> Result<(), Failure> {
    let where_ = format!("{}@{}:{}", config.user, config.host, config.port);
    // Asking for the methods is itself the "none" method; a server may accept it.
    let offered = match session.auth_methods(&config.user) {
        Ok(methods) => methods.to_string(),
        Err(_) if session.authenticated() => return Ok(()),
        Err(e) => {
            return Err(Failure::Transient(anyhow!("asking {where_} for its authentication methods: {e}")));
        }
    };
    let result = match &config.auth {
        SftpAuth::Password { password } => session.userauth_password(&config.user, password.expose()).map_err(|e| {
            anyhow!(
                "the SFTP server {where_} rejected the password ({}); check job.destination.password and the user name. \
                 The server offers: {offered}. Not retried: a wrong credential does not fix itself",
                error_text(&e)
            )
        }),
        SftpAuth::Key { key_file, key_passphrase } => {
            if let Err(e) = std::fs::File::open(key_file) {
                return Err(Failure::Permanent(anyhow!(
                    "cannot read the private key {}: {e}; fix job.destination.key_file",
                    key_file.display()
                )));
            }
            session
                .userauth_pubkey_file(&config.user, None, key_file, key_passphrase.as_ref().map(|p| p.expose()))
                .map_err(|e| {
                    let text = error_text(&e);
                    if text.to_ascii_lowercase().contains("passphrase") || text.contains("unrecognized") {
                        anyhow!(
                            "the private key {} could not be read ({text}): a wrong job.destination.key_passphrase, or a key format libssh2 cannot read (try `ssh-keygen -p -m PEM -f KEY` on a copy)",
                            key_file.display()
                        )
                    } else {
                        anyhow!(
                            "the SFTP server {where_} did not accept the key {} ({text}); send the vendor its public key ({}.pub). The server offers: {offered}. Not retried",
                            key_file.display(),
                            key_file.display()
                        )
                    }
                })
        }
    };
    result.map_err(|e| Failure::Permanent(anyhow!(crate::secret::redact(&e.to_string()))))?;
    if !session.authenticated() {
        return Err(Failure::Permanent(anyhow!("the SFTP server {where_} did not complete authentication")));
    }
    Ok(())
}

/// Renames atomically with posix-rename; falls back to remove-then-rename (which has a
/// brief moment without the file) only on servers without the extension.
fn rename_into_place(session: &Session, sftp: &ssh2::Sftp, from: &str, to: &str) -> Result<(), Failure> {
    let source =
        CString::new(from).map_err(|_| Failure::Permanent(anyhow!("the file name contains a NUL byte")))?;
    let dest =
        CString::new(to).map_err(|_| Failure::Permanent(anyhow!("the file name contains a NUL byte")))?;
    let status = {
        let mut raw = session.raw();
        let raw: *mut libssh2_sys::LIBSSH2_SESSION = &mut *raw;
        // Safety: the session is connected, authenticated and in blocking mode; the SFTP
        // channel opened here is used once and shut down before the guard is released, and
        // no other ssh2 call runs meanwhile (we hold the session's lock).
        unsafe {
            let channel = libssh2_sys::libssh2_sftp_init(raw);
            if channel.is_null() {
                None
            } else {
                let rc = libssh2_sftp_posix_rename_ex(
                    channel,
                    source.as_ptr(),
                    from.len(),
                    dest.as_ptr(),
                    to.len(),
                );
                let sftp_status = libssh2_sys::libssh2_sftp_last_error(channel) as i32;
                libssh2_sys::libssh2_sftp_shutdown(channel);
                Some((rc, sftp_status))
            }
        }
    };
    match status {
        Some((0, _)) => Ok(()),
        Some((_, FX_OP_UNSUPPORTED)) | None => {
            tracing::warn!(
                "the SFTP server lacks posix-rename@openssh.com; replacing {to} by remove-then-rename (not atomic)"
            );
            match sftp.unlink(Path::new(to)) {
                Ok(()) => {}
                Err(e) if sftp_code(&e) == Some(FX_NO_SUCH_FILE) => {}
                Err(e) => return Err(classify_sftp(e, &format!("removing the previous {to}"))),
            }
            sftp.rename(Path::new(from), Path::new(to), None).map_err(|e| classify_sftp(e, "renaming"))
        }
        Some((_, FX_PERMISSION_DENIED)) => Err(Failure::Permanent(anyhow!(
            "permission denied: the SFTP user may not rename files in the remote folder; ask the vendor"
        ))),
        Some((rc, status)) => Err(Failure::Transient(anyhow!(
            "the server refused the rename (libssh2 error {rc}, SFTP status {status})"
        ))),
    }
}

fn sftp_code(error: &ssh2::Error) -> Option<i32> {
    match error.code() {
        ErrorCode::SFTP(code) => Some(code),
        ErrorCode::Session(_) => None,
    }
}

fn error_text(error: &ssh2::Error) -> String {
    error.message().to_string()
}

fn classify_sftp(error: ssh2::Error, doing: &str) -> Failure {
    match sftp_code(&error) {
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

fn classify_io(error: std::io::Error, doing: &str) -> Failure {
    // ssh2 reports SFTP errors on writes as io::Error wrapping its own error.
    let text = error.to_string();
    if text.contains("quota") || text.contains("space") {
        return Failure::Permanent(anyhow!(
            "{doing}: the server is out of disk space or over quota ({text}); ask the vendor to make room"
        ));
    }
    Failure::Transient(anyhow!("{doing}: {text}")).map(|e| e.context("the transfer was interrupted"))
}

// ---------------------------------------------------------------------------------------
// `check`: the SSH and SFTP steps, after DNS and TCP
// ---------------------------------------------------------------------------------------

/// What `check` learns about an SFTP destination, step by step, without uploading data.
pub fn diagnose(config: &SftpDestination, chain: &mut Chain) {
    let where_ = format!("{}:{}", config.host, config.port);

    let started = Instant::now();
    let server_lists = match probe_banner(config) {
        Ok((banner, lists)) => {
            chain.record(Step::pass("ssh banner", format!("{where_} says {banner:?}"), started));
            lists
        }
        Err((detail, hint)) => {
            chain.record(Step::fail("ssh banner", detail, hint, started));
            return;
        }
    };

    let started = Instant::now();
    let session = match handshake(config, None) {
        Ok((session, _)) => session,
        Err(failure) => {
            let ours = Session::new()
                .ok()
                .and_then(|s| {
                    let kex = s.supported_algs(MethodType::Kex).ok()?.join(",");
                    let keys = s.supported_algs(MethodType::HostKey).ok()?.join(",");
                    Some((kex, keys))
                })
                .unwrap_or_default();
            let theirs = server_lists.unwrap_or_default();
            chain.record(Step::fail(
                "key exchange",
                format!(
                    "the SSH handshake failed: {}. Server offers kex [{}], host keys [{}]; sis-extract supports kex [{}], host keys [{}]",
                    failure.error(),
                    theirs.0,
                    theirs.1,
                    ours.0,
                    ours.1
                ),
                "if no algorithm is common to both lists, ask the vendor to enable a modern one (curve25519-sha256, ssh-ed25519 or rsa-sha2-256)",
                started,
            ));
            return;
        }
    };
    let negotiated = format!(
        "kex {}, host key {}, cipher {}",
        session.methods(MethodType::Kex).unwrap_or("?"),
        session.methods(MethodType::HostKey).unwrap_or("?"),
        session.methods(MethodType::CryptCs).unwrap_or("?")
    );
    chain.record(Step::pass("key exchange", negotiated, started));
    drop(session);

    let started = Instant::now();
    if matches!(config.host_key, HostKeyPin::Unpinned) {
        let keys = server_host_keys(config);
        let listed: Vec<String> = keys.iter().map(|(t, f)| format!("{t} {f}")).collect();
        let suggested = keys.iter().find(|(t, _)| *t == "ssh-ed25519").or(keys.first());
        chain.record(Step::fail(
            "host key",
            format!("no host key is pinned; the server presents: {}", listed.join(", ")),
            match suggested {
                Some((_, fp)) => format!(
                    "confirm the fingerprint with the vendor (phone or ticket, not e-mail from the same server), then add to [job.destination]: host_key = \"{fp}\""
                ),
                None => "the server presented no host key; ask the vendor".to_string(),
            },
            started,
        ));
        return;
    }
    let (session, _, fingerprint) = match open_verified_session(config) {
        Ok(verified) => verified,
        Err(failure) => {
            chain.record(Step::fail(
                "host key",
                failure.error().to_string(),
                "do not connect until the vendor confirms its key; then update host_key",
                started,
            ));
            return;
        }
    };
    chain.record(Step::pass("host key", format!("matches the pin: {fingerprint}"), started));

    let started = Instant::now();
    if let Err(failure) = authenticate(&session, config) {
        chain.record(Step::fail(
            "authentication",
            failure.error().to_string(),
            "fix the credential in the config, or ask the vendor to check the account (locked, expired, key not installed)",
            started,
        ));
        return;
    }
    let method = match config.auth {
        SftpAuth::Password { .. } => "password",
        SftpAuth::Key { .. } => "public key",
    };
    chain.record(Step::pass("authentication", format!("{} accepted by {method}", config.user), started));

    let started = Instant::now();
    let sftp = match session.sftp() {
        Ok(sftp) => sftp,
        Err(e) => {
            chain.record(Step::fail(
                "sftp",
                format!("the SFTP subsystem did not start: {e}"),
                "the account may be shell-only or the server may not offer SFTP; ask the vendor",
                started,
            ));
            return;
        }
    };
    chain.record(Step::pass("sftp", "the SFTP subsystem started", started));

    let started = Instant::now();
    let remote_dir = remote_folder(config);
    let step = match sftp.readdir(Path::new(remote_dir)) {
        Ok(entries) => Step::pass(
            "remote folder",
            format!("{remote_dir} is listable ({} entries)", entries.len()),
            started,
        ),
        Err(e) if sftp_code(&e) == Some(FX_NO_SUCH_FILE) => Step::fail(
            "remote folder",
            format!("{remote_dir} does not exist on {where_}"),
            "ask the vendor for the right folder, or fix job.destination.remote_dir",
            started,
        ),
        Err(e) => Step::fail(
            "remote folder",
            format!("{remote_dir} cannot be listed: {e}"),
            "ask the vendor to give the account access to that folder",
            started,
        ),
    };
    if !chain.record(step) {
        return;
    }

    let probe = remote_join(remote_dir, &format!(".sis-extract-check-{}", std::process::id()));
    let renamed = format!("{probe}.renamed");
    let started = Instant::now();
    let written: Result<(), String> = match sftp.open_mode(
        Path::new(&probe),
        OpenFlags::WRITE | OpenFlags::CREATE | OpenFlags::TRUNCATE,
        0o600,
        OpenType::File,
    ) {
        Ok(mut file) => file
            .write_all(b"sis-extract check probe\n")
            .map_err(|e| e.to_string())
            .and_then(|_| file.close().map_err(|e| describe_sftp_error(&e))),
        Err(e) => Err(describe_sftp_error(&e)),
    };
    let step = match written {
        Ok(()) => Step::pass("write probe", format!("created {probe}"), started),
        Err(e) => Step::fail(
            "write probe",
            format!("cannot create a file in {remote_dir}: {e}"),
            "the account may read but not write there: ask the vendor for write, rename and delete permission on the folder",
            started,
        ),
    };
    if !chain.record(step) {
        return;
    }
    let started = Instant::now();
    let step = match rename_into_place(&session, &sftp, &probe, &renamed) {
        Ok(()) => Step::pass("rename probe", format!("renamed it to {renamed}"), started),
        Err(failure) => Step::fail(
            "rename probe",
            failure.error().to_string(),
            "uploads are renamed into place when complete; ask the vendor to allow rename in the folder",
            started,
        ),
    };
    let renamed_ok = chain.record(step);
    let started = Instant::now();
    let leftover = if renamed_ok { &renamed } else { &probe };
    let step = match sftp.unlink(Path::new(leftover)) {
        Ok(()) => Step::pass("delete probe", format!("deleted {leftover}"), started),
        Err(e) => Step::fail(
            "delete probe",
            format!("cannot delete {leftover}: {}", describe_sftp_error(&e)),
            "a failed night's temporary file could not be cleaned up; ask the vendor to allow delete (and remove the probe file)",
            started,
        ),
    };
    chain.record(step);
}

impl Failure {
    fn error(&self) -> &anyhow::Error {
        match self {
            Failure::Permanent(e) | Failure::Transient(e) => e,
        }
    }
}

fn describe_sftp_error(error: &ssh2::Error) -> String {
    match sftp_code(error) {
        Some(FX_PERMISSION_DENIED) => "permission denied".into(),
        Some(FX_NO_SUCH_FILE) => "no such file or folder".into(),
        Some(FX_NO_SPACE_ON_FILESYSTEM) | Some(FX_QUOTA_EXCEEDED) => "out of space or over quota".into(),
        _ => error.to_string(),
    }
}

/// Every host key the server has, one handshake per key type.
fn server_host_keys(config: &SftpDestination) -> Vec<(&'static str, String)> {
    let mut keys: Vec<(&'static str, String)> = Vec::new();
    for group in HOST_KEY_GROUPS {
        let Ok((session, _)) = handshake(config, Some(group)) else { continue };
        let Some((_, key_type)) = session.host_key() else { continue };
        let fp = fingerprint(&session);
        if !keys.iter().any(|(_, f)| *f == fp) {
            keys.push((key_type_name(key_type), fp));
        }
    }
    keys
}

/// Reads the server's identification line on a connection of its own, then its KEXINIT
/// algorithm lists (kex, host keys), so that a mismatch can be shown side by side.
/// Errors are (what was seen, what to do).
/// The server's (kex, host-key) algorithm lists, comma-separated.
type AlgorithmLists = (String, String);
/// What a failed step saw, and what to do.
type SeenAndHint = (String, String);

fn probe_banner(config: &SftpDestination) -> Result<(String, Option<AlgorithmLists>), SeenAndHint> {
    let timeout = config.timeout;
    let mut stream = connect_tcp(&config.host, config.port, timeout)
        .map_err(|f| (f.error().to_string(), "see the tcp step".to_string()))?;
    let mut line = Vec::new();
    let mut other_line: Option<Vec<u8>> = None;
    let mut byte = [0u8; 1];
    loop {
        match stream.read(&mut byte) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                line.push(byte[0]);
                if byte[0] == b'\n' || line.len() > 255 {
                    if line.starts_with(b"SSH-") {
                        break;
                    }
                    // RFC 4253 lets a server send other lines before its identification,
                    // but in practice such a line is another service's greeting.
                    other_line.get_or_insert_with(|| line.clone());
                    line.clear();
                }
            }
        }
    }
    if !line.starts_with(b"SSH-") {
        let seen = other_line.or_else(|| (!line.is_empty()).then_some(line));
        return Err(match seen {
            Some(seen) => {
                let text: String = String::from_utf8_lossy(&seen).trim_end().chars().take(80).collect();
                (
                    format!("not an SSH server: it answered {text:?}"),
                    "the port belongs to another service (web, mail, FTP…): check job.destination.port with the vendor".to_string(),
                )
            }
            None => (
                format!("the server accepted the TCP connection but sent nothing within {}s (timeout)", timeout.as_secs()),
                "an SSH server speaks first; something else holds the port (a proxy, a firewall that accepts and drops, or a hung service): check the host and port with the vendor".to_string(),
            ),
        });
    }
    let text: String = String::from_utf8_lossy(&line).trim_end().chars().take(80).collect();
    // Our identification, then the server's KEXINIT packet (unencrypted).
    let lists = (|| -> std::io::Result<(String, String)> {
        stream.write_all(b"SSH-2.0-sis_extract_check\r\n")?;
        let mut length = [0u8; 4];
        stream.read_exact(&mut length)?;
        let length = u32::from_be_bytes(length) as usize;
        if !(6..=256 * 1024).contains(&length) {
            return Err(std::io::Error::other("implausible packet length"));
        }
        let mut packet = vec![0u8; length];
        stream.read_exact(&mut packet)?;
        let padding = packet[0] as usize;
        let payload = packet.get(1..length.saturating_sub(padding)).unwrap_or_default();
        if payload.first() != Some(&20) {
            return Err(std::io::Error::other("not a KEXINIT"));
        }
        let mut at = 17; // message type + 16-byte cookie
        let mut next = || -> Option<String> {
            let len = u32::from_be_bytes(payload.get(at..at + 4)?.try_into().ok()?) as usize;
            let text = String::from_utf8_lossy(payload.get(at + 4..at + 4 + len)?).into_owned();
            at += 4 + len;
            Some(text)
        };
        let kex = next().unwrap_or_default();
        let host_keys = next().unwrap_or_default();
        Ok((kex, host_keys))
    })()
    .ok();
    Ok((text, lists))
}

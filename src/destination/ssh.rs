//! An SSH connection to a vendor's SFTP server (russh): TCP connect with a timeout, the
//! handshake with the server's host key checked *during* the key exchange (a server whose
//! key does not match the pin never gets as far as seeing a user name), and authentication.
//!
//! russh is async; callers run these functions on a current-thread tokio runtime of their
//! own (see `sftp.rs`), so the rest of sis-extract stays synchronous.

use std::borrow::Cow;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::anyhow;
use russh::client::{self, AuthResult, Handle};
use russh::keys::{Algorithm, EcdsaCurve, HashAlg, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};

use super::sftp::Failure;
use crate::config::{HostKeyPin, SftpAuth, SftpDestination};

/// Host-key algorithm groups, tried in turn when the server's preferred key does not
/// match the pin (a server usually has several host keys; the pin may be any of them).
pub fn host_key_groups() -> [Vec<Algorithm>; 3] {
    [
        vec![Algorithm::Ed25519],
        vec![
            Algorithm::Ecdsa { curve: EcdsaCurve::NistP256 },
            Algorithm::Ecdsa { curve: EcdsaCurve::NistP384 },
            Algorithm::Ecdsa { curve: EcdsaCurve::NistP521 },
        ],
        vec![
            Algorithm::Rsa { hash: Some(HashAlg::Sha512) },
            Algorithm::Rsa { hash: Some(HashAlg::Sha256) },
            Algorithm::Rsa { hash: None },
        ],
    ]
}

/// Which host keys the handshake accepts.
#[derive(Clone)]
pub enum Acceptance {
    /// Only a key that matches the configured pin.
    Pinned,
    /// Any key: only for looking at the server's keys and algorithms, never followed by
    /// authentication.
    AnyToInspect,
}

/// What the key exchange showed.
#[derive(Default, Clone)]
pub struct Seen {
    /// The server's host key: (type, SHA-256 fingerprint in OpenSSH's notation).
    pub key: Option<(String, String)>,
    pub matched: bool,
    /// "kex …, host key …, cipher …" once the exchange completed.
    pub negotiated: Option<String>,
    /// Why the pin could not be checked (an unreadable known_hosts file).
    pub pin_error: Option<String>,
}

/// Checks the host key as russh hands it over, before the handshake completes.
pub struct Verifier {
    acceptance: Acceptance,
    pin: HostKeyPin,
    host: String,
    port: u16,
    seen: Arc<Mutex<Seen>>,
}

impl client::Handler for Verifier {
    type Error = russh::Error;

    async fn check_server_key(&mut self, server_key: &PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        let key: PublicKey = match server_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key.clone(),
            PublicKeyOrCertificate::Certificate(certificate) => {
                PublicKey::from(certificate.public_key().clone())
            }
        };
        let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
        let key_type = key.algorithm().as_str().to_string();
        let (matched, pin_error) = match &self.pin {
            HostKeyPin::Fingerprint(pinned) => (*pinned == fingerprint, None),
            HostKeyPin::KnownHosts(path) => known_hosts_match(path, &self.host, self.port, &key),
            HostKeyPin::Unpinned => (false, None),
        };
        let mut seen = self.seen.lock().expect("not poisoned");
        seen.key = Some((key_type, fingerprint));
        seen.matched = matched;
        seen.pin_error = pin_error;
        Ok(match self.acceptance {
            Acceptance::Pinned => matched,
            Acceptance::AnyToInspect => true,
        })
    }

    async fn kex_done(
        &mut self,
        _shared_secret: Option<&[u8]>,
        names: &russh::Names,
        _session: &mut client::Session,
    ) -> Result<(), Self::Error> {
        self.seen.lock().expect("not poisoned").negotiated = Some(format!(
            "kex {}, host key {}, cipher {}",
            names.kex.as_ref(),
            names.key.as_str(),
            names.cipher.as_ref()
        ));
        Ok(())
    }
}

fn known_hosts_match(path: &Path, host: &str, port: u16, key: &PublicKey) -> (bool, Option<String>) {
    if let Err(e) = std::fs::File::open(path) {
        return (
            false,
            Some(format!(
                "cannot read the known_hosts file {}: {e}; fix job.destination.known_hosts",
                path.display()
            )),
        );
    }
    // Any line for this host with this very key matches (a host may be listed with
    // several keys of one type, e.g. during a key rotation).
    match russh::keys::known_hosts::known_host_keys_path(host, port, path) {
        Ok(listed) => (listed.iter().any(|(_, recorded)| recorded.key_data() == key.key_data()), None),
        Err(e) => (
            false,
            Some(format!(
                "cannot read the known_hosts file {}: {e}; fix the file or job.destination.known_hosts",
                path.display()
            )),
        ),
    }
}

/// A connected SSH session whose host key passed (or, for inspection, was only looked at).
pub struct Connection {
    pub handle: Handle<Verifier>,
    /// A second handle on the TCP socket, for [`coalesce_writes`]; `None` if not to be had.
    pub socket: Option<TcpStream>,
    pub seen: Seen,
}

impl Connection {
    pub fn fingerprint(&self) -> String {
        self.seen.key.as_ref().map(|(_, f)| f.clone()).unwrap_or_default()
    }

    /// Says goodbye, waiting at most a few seconds: a server that stopped reading must
    /// not hold the run.
    pub async fn close(self) {
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            self.handle.disconnect(russh::Disconnect::ByApplication, "", "en"),
        )
        .await;
    }
}

/// How the handshake ended.
pub enum Handshake {
    Done(Connection),
    /// The server's key does not match the pin: the connection is closed, nothing was sent.
    KeyMismatch(Seen),
}

/// Connects and runs the SSH handshake, offering only `host_keys` if given.
pub async fn handshake(
    config: &SftpDestination,
    host_keys: Option<&[Algorithm]>,
    acceptance: Acceptance,
) -> Result<Handshake, Failure> {
    let tcp = connect_tcp(&config.host, config.port, config.timeout)?;
    let socket = tcp.try_clone().ok();
    let preparing = |e: std::io::Error| {
        Failure::Transient(anyhow!("preparing the connection to {}:{}: {e}", config.host, config.port))
    };
    tcp.set_nonblocking(true).map_err(preparing)?;
    let tcp = tokio::net::TcpStream::from_std(tcp).map_err(preparing)?;

    let mut ssh_config = client::Config {
        client_id: russh::SshId::Standard(Cow::Borrowed(concat!(
            "SSH-2.0-sis_extract_",
            env!("CARGO_PKG_VERSION")
        ))),
        // Nothing received for twice the timeout ends the session, and with it every
        // request still waiting: a server that stops answering cannot hold the run.
        inactivity_timeout: Some(config.timeout * 2),
        ..Default::default()
    };
    // The upload's writes in flight each take a slot of the channel's queue in russh; a
    // full queue would wait on itself.
    const _: () = assert!(super::sftp::WRITES_IN_FLIGHT < 100, "russh's default channel_buffer_size is 100");
    if let Some(keys) = host_keys {
        ssh_config.preferred.key = Cow::Owned(keys.to_vec());
    }
    let seen = Arc::new(Mutex::new(Seen::default()));
    let verifier = Verifier {
        acceptance: acceptance.clone(),
        pin: config.host_key.clone(),
        host: config.host.clone(),
        port: config.port,
        seen: seen.clone(),
    };
    let connected =
        tokio::time::timeout(config.timeout, client::connect_stream(Arc::new(ssh_config), tcp, verifier))
            .await;
    let seen_now = seen.lock().expect("not poisoned").clone();
    match connected {
        Ok(Ok(handle)) => Ok(Handshake::Done(Connection { handle, socket, seen: seen_now })),
        Ok(Err(_))
            if matches!(acceptance, Acceptance::Pinned) && seen_now.key.is_some() && !seen_now.matched =>
        {
            if let Some(problem) = seen_now.pin_error {
                return Err(Failure::Permanent(anyhow!(problem)));
            }
            Ok(Handshake::KeyMismatch(seen_now))
        }
        Ok(Err(e)) => Err(Failure::Transient(anyhow!(
            "the SSH handshake with {}:{} failed: {}. Check that host and port are the vendor's SFTP server and that the firewall lets this server through",
            config.host,
            config.port,
            describe_ssh_error(&e)
        ))),
        Err(_) => Err(Failure::Transient(anyhow!(
            "the SSH handshake with {}:{} failed: no answer within {}s (timeout). Check that host and port are the vendor's SFTP server and that the firewall lets this server through",
            config.host,
            config.port,
            config.timeout.as_secs()
        ))),
    }
}

pub fn describe_ssh_error(error: &russh::Error) -> String {
    match error {
        russh::Error::NoCommonAlgo { kind, ours, theirs } => format!(
            "no {kind:?} algorithm in common (the server offers {}; sis-extract supports {})",
            theirs.join(","),
            ours.join(",")
        ),
        other => other.to_string(),
    }
}

/// Connects with each host-key type in turn until one matches the pin. On a mismatch of
/// every key the server has, the error lists them all, and no credential was sent.
pub async fn open_verified(config: &SftpDestination) -> Result<Connection, Failure> {
    let mut seen: Vec<(String, String)> = Vec::new();
    // First with the server's own preference; then, if that key is not the pinned one,
    // each other key type, because the pin may name any of the server's keys.
    let groups = host_key_groups();
    let mut preferences: Vec<Option<&[Algorithm]>> = vec![None];
    preferences.extend(groups.iter().map(|g| Some(g.as_slice())));
    for preference in preferences {
        match handshake(config, preference, Acceptance::Pinned).await {
            Ok(Handshake::Done(connection)) => return Ok(connection),
            Ok(Handshake::KeyMismatch(shown)) => {
                if let Some(key) = shown.key
                    && !seen.iter().any(|(_, f)| *f == key.1)
                {
                    seen.push(key);
                }
            }
            // The server has no key of this type.
            Err(_) if preference.is_some() => continue,
            Err(failure) => return Err(failure),
        }
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

/// Every host key the server has, one handshake per key type (nothing is authenticated).
pub async fn server_host_keys(config: &SftpDestination) -> Vec<(String, String)> {
    let mut keys: Vec<(String, String)> = Vec::new();
    for group in host_key_groups() {
        let Ok(Handshake::Done(connection)) = handshake(config, Some(&group), Acceptance::AnyToInspect).await
        else {
            continue;
        };
        if let Some(key) = connection.seen.key.clone()
            && !keys.iter().any(|(_, f)| *f == key.1)
        {
            keys.push(key);
        }
        connection.close().await;
    }
    keys
}

/// Authenticates with the configured password or private key.
pub async fn authenticate(connection: &mut Connection, config: &SftpDestination) -> Result<(), Failure> {
    let where_ = format!("{}@{}:{}", config.user, config.host, config.port);
    let timeout = config.timeout;
    let handle = &mut connection.handle;
    // Asking with the "none" method lists the server's methods; a server may accept it.
    let offered = match with_timeout(timeout, handle.authenticate_none(config.user.as_str())).await {
        Ok(AuthResult::Success) => return Ok(()),
        Ok(AuthResult::Failure { remaining_methods, .. }) => {
            remaining_methods.iter().map(<&str>::from).collect::<Vec<_>>().join(",")
        }
        Err(e) => {
            return Err(Failure::Transient(anyhow!("asking {where_} for its authentication methods: {e}")));
        }
    };
    let result = match &config.auth {
        SftpAuth::Password { password } => {
            match with_timeout(timeout, handle.authenticate_password(config.user.as_str(), password.expose()))
                .await
            {
                Ok(AuthResult::Success) => Ok(()),
                Ok(AuthResult::Failure { .. }) => Err(anyhow!(
                    "the SFTP server {where_} rejected the password (authentication failed); check job.destination.password and the user name. \
                     The server offers: {offered}. Not retried: a wrong credential does not fix itself"
                )),
                Err(e) => return Err(Failure::Transient(anyhow!("authenticating to {where_}: {e}"))),
            }
        }
        SftpAuth::Key { key_file, key_passphrase } => {
            let key = read_private_key(key_file, key_passphrase.as_ref().map(|p| p.expose()))?;
            let hash = if matches!(key.algorithm(), Algorithm::Rsa { .. }) {
                // rsa-sha2-512/256 where the server says it takes them (server-sig-algs).
                with_timeout(timeout, handle.best_supported_rsa_hash()).await.ok().flatten().flatten()
            } else {
                None
            };
            let key = PrivateKeyWithHashAlg::new(Arc::new(key), hash);
            match with_timeout(timeout, handle.authenticate_publickey(config.user.as_str(), key)).await {
                Ok(AuthResult::Success) => Ok(()),
                Ok(AuthResult::Failure { .. }) => Err(anyhow!(
                    "the SFTP server {where_} did not accept the key {} (authentication failed); send the vendor its public key ({}.pub). The server offers: {offered}. Not retried",
                    key_file.display(),
                    key_file.display()
                )),
                Err(e) => return Err(Failure::Transient(anyhow!("authenticating to {where_}: {e}"))),
            }
        }
    };
    result.map_err(|e| Failure::Permanent(anyhow!(crate::secret::redact(&e.to_string()))))
}

fn read_private_key(path: &PathBuf, passphrase: Option<&str>) -> Result<russh::keys::PrivateKey, Failure> {
    if let Err(e) = std::fs::File::open(path) {
        return Err(Failure::Permanent(anyhow!(
            "cannot read the private key {}: {e}; fix job.destination.key_file",
            path.display()
        )));
    }
    russh::keys::load_secret_key(path, passphrase).map_err(|e| {
        let why = match (&e, passphrase) {
            (russh::keys::Error::KeyIsEncrypted, None) => {
                "it is protected by a passphrase: set job.destination.key_passphrase".to_string()
            }
            (_, Some(_)) => format!(
                "{e}: a wrong job.destination.key_passphrase, or an encryption sis-extract cannot read (old PEM keys \
                 other than RSA with AES-128): convert a copy to OpenSSH's format with `ssh-keygen -p -f COPY`"
            ),
            _ => format!(
                "{e}: a key format sis-extract cannot read (it reads OpenSSH, PKCS#8, PKCS#1 RSA and SEC1 EC keys); \
                 convert a copy to OpenSSH's format with `ssh-keygen -p -f COPY`"
            ),
        };
        Failure::Permanent(anyhow!("the private key {} could not be read: {why}", path.display()))
    })
}

async fn with_timeout<T>(
    timeout: Duration,
    future: impl std::future::Future<Output = Result<T, russh::Error>>,
) -> Result<T, String> {
    match tokio::time::timeout(timeout, future).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(describe_ssh_error(&e)),
        Err(_) => Err(format!("no answer within {}s (timeout)", timeout.as_secs())),
    }
}

/// Whether the SSH connection's socket lets the kernel hold back small writes (Nagle's
/// algorithm). Off from the connect on: the handshake, authentication and each SFTP request
/// are small messages that wait for an answer, and Nagle held some of them back until the
/// server's delayed acknowledgement. On for the file's bytes, where it packs the writes
/// into full segments.
pub fn coalesce_writes(socket: &Option<TcpStream>, coalesce: bool) {
    if let Some(socket) = socket {
        let _ = socket.set_nodelay(!coalesce);
    }
}

pub fn connect_tcp(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, Failure> {
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

/// The key exchange and host-key algorithms sis-extract offers, for `check`'s report.
pub fn supported_algorithms() -> (String, String) {
    let preferred = russh::Preferred::default();
    let kex = preferred.kex.iter().map(|k| k.as_ref().to_string()).collect::<Vec<_>>().join(",");
    let keys = preferred.key.iter().map(|k| k.as_str().to_string()).collect::<Vec<_>>().join(",");
    (kex, keys)
}

//! An SSH connection to a vendor's SFTP server (russh): TCP connect with a timeout, the
//! handshake with the server's host key checked *during* the key exchange (a server whose
//! key does not match the pin never gets as far as seeing a user name), and authentication.
//!
//! russh is async; callers run these functions on a current-thread tokio runtime of their
//! own (see `sftp.rs`), so the rest of sis-extract stays synchronous.

use std::borrow::Cow;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::anyhow;
use russh::client::{self, AuthResult, Handle};
use russh::keys::{Algorithm, HashAlg, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};

use super::algorithms;
use super::failure::Failure;
use super::server_hello::{self, Hello, Offers, Recorder};
use crate::config::{HostKeyPin, SftpAuth, SftpDestination};

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
    /// What the server said before the handshake went encrypted (or failed).
    pub hello: Option<Hello>,
}

impl Seen {
    /// The server's KEXINIT offers, if they arrived.
    pub fn offers(&self) -> Option<&Offers> {
        match &self.hello {
            Some(Hello::Ssh { offers, .. }) => offers.as_ref(),
            _ => None,
        }
    }
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
            HostKeyPin::Fingerprint(_) => (self.pin.fingerprint() == Some(fingerprint.as_str()), None),
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
        let cipher = names.cipher.as_ref();
        let mac = if cipher.contains("gcm") || cipher.contains("poly1305") {
            "implicit (the cipher authenticates)"
        } else {
            names.client_mac.as_ref()
        };
        self.seen.lock().expect("not poisoned").negotiated = Some(format!(
            "kex {}, host key {}, cipher {cipher}, MAC {mac}",
            names.kex.as_ref(),
            names.key.as_str(),
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
    handshake_on(config, None, host_keys, acceptance).await.0
}

/// [`handshake`] on `tcp` if given (`check` has connected for its TCP step: one
/// connection, not two), and what was seen of the server even when it failed.
pub async fn handshake_on(
    config: &SftpDestination,
    tcp: Option<TcpStream>,
    host_keys: Option<&[Algorithm]>,
    acceptance: Acceptance,
) -> (Result<Handshake, Failure>, Seen) {
    let tcp = match tcp {
        Some(tcp) => tcp,
        None => match connect_tcp(&config.host, config.port, config.timeout) {
            Ok(tcp) => tcp,
            Err(failure) => return (Err(failure), Seen::default()),
        },
    };
    let _ = tcp.set_nodelay(true);
    let socket = tcp.try_clone().ok();
    let prepared = tcp.set_nonblocking(true).and_then(|()| tokio::net::TcpStream::from_std(tcp));
    let tcp = match prepared {
        Ok(tcp) => tcp,
        Err(e) => {
            let failure = Failure::Transient(anyhow!(
                "preparing the connection to {}:{}: {e}",
                config.host,
                config.port
            ));
            return (Err(failure), Seen::default());
        }
    };
    // A copy of what the server sends first: its banner and KEXINIT, to explain a failure.
    let (tcp, record) = Recorder::new(tcp);

    let ssh_config = client::Config {
        client_id: russh::SshId::Standard(Cow::Borrowed(concat!(
            "SSH-2.0-sis_extract_",
            env!("CARGO_PKG_VERSION")
        ))),
        // Nothing received for twice the timeout ends the session, and with it every
        // request still waiting: a server that stops answering cannot hold the run.
        inactivity_timeout: Some(config.timeout * 2),
        preferred: algorithms::preferred(&config.legacy_algorithms, host_keys),
        ..Default::default()
    };
    let preferred = ssh_config.preferred.clone();
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
    let mut seen_now = seen.lock().expect("not poisoned").clone();
    let hello = server_hello::parse(&record.lock().expect("not poisoned"));
    seen_now.hello = Some(hello.clone());
    let where_ = format!("{}:{}", config.host, config.port);
    let firewall = "Check that host and port are the vendor's SFTP server and that the firewall lets this server through";
    let result = match connected {
        Ok(Ok(handle)) => Ok(Handshake::Done(Connection { handle, socket, seen: seen_now.clone() })),
        Ok(Err(_))
            if matches!(acceptance, Acceptance::Pinned) && seen_now.key.is_some() && !seen_now.matched =>
        {
            match seen_now.pin_error.clone() {
                Some(problem) => Err(Failure::Permanent(anyhow!(problem))),
                None => Ok(Handshake::KeyMismatch(seen_now.clone())),
            }
        }
        failed => {
            let error = match failed {
                Ok(Err(e)) => describe_ssh_error(&e),
                _ => format!("no answer within {}s (timeout)", config.timeout.as_secs()),
            };
            Err(explain_failed_handshake(&where_, &hello, &preferred, config, &error, firewall))
        }
    };
    (result, seen_now)
}

/// Why a handshake failed, from what the server said before it did: another service on
/// the port, silence, or algorithms in no common class (every such class at once; a
/// mismatch is the vendor's configuration, not the network's, and is not retried).
fn explain_failed_handshake(
    where_: &str,
    hello: &Hello,
    preferred: &russh::Preferred,
    config: &SftpDestination,
    error: &str,
    firewall: &str,
) -> Failure {
    match hello {
        Hello::NotSsh { first_line } => Failure::Permanent(anyhow!(
            "{where_} is not an SSH server: it answered {first_line:?}. The port belongs to another service (web, mail, FTP…): check job.destination.port with the vendor"
        )),
        Hello::Silent => Failure::Transient(anyhow!(
            "the SSH handshake with {where_} failed: the server accepted the TCP connection but sent nothing ({error}). \
             An SSH server speaks first; something else holds the port (a proxy, a firewall that accepts and drops, or a hung service): check the host and port with the vendor"
        )),
        Hello::Ssh { banner, offers } => {
            let mismatches = offers
                .as_ref()
                .map(|offers| algorithms::mismatches(offers, preferred, &config.legacy_algorithms))
                .unwrap_or_default();
            if mismatches.is_empty() {
                return Failure::Transient(anyhow!(
                    "the SSH handshake with {where_} ({banner}) failed: {error}. {firewall}"
                ));
            }
            let classes: Vec<&str> = mismatches.iter().map(|m| m.class).collect();
            let each: Vec<String> = mismatches.iter().map(|m| format!("- {m}")).collect();
            Failure::Permanent(anyhow!(
                "the SFTP server {where_} ({banner}) and sis-extract have no algorithm in common for: {}. Not retried.\n{}",
                classes.join(", "),
                each.join("\n")
            ))
        }
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

/// The host-key algorithms the pin names: a typed pin's type, or the types a known_hosts
/// file lists for this host. `None` when the pin does not say (a bare fingerprint).
pub fn pinned_key_algorithms(config: &SftpDestination) -> Option<Vec<Algorithm>> {
    let legacy = &config.legacy_algorithms;
    let algorithms: Vec<Algorithm> = match &config.host_key {
        HostKeyPin::Fingerprint(_) => {
            algorithms::algorithms_for_key_type(config.host_key.key_type()?, legacy)
        }
        HostKeyPin::KnownHosts(path) => {
            let listed =
                russh::keys::known_hosts::known_host_keys_path(&config.host, config.port, path).ok()?;
            let mut algorithms = Vec::new();
            for (_, key) in listed {
                for algorithm in algorithms::algorithms_for_key_type(key.algorithm().as_str(), legacy) {
                    if !algorithms.contains(&algorithm) {
                        algorithms.push(algorithm);
                    }
                }
            }
            algorithms
        }
        HostKeyPin::Unpinned => return None,
    };
    (!algorithms.is_empty()).then_some(algorithms)
}

/// Connects and verifies the host key against the pin, in as few connections as the pin
/// allows (servers that rate-limit or ban count them): one when the pin names its key
/// type (or is a known_hosts file) or is of the server's preferred type; otherwise one
/// more per other key type the server's KEXINIT offers. On a mismatch the error lists the
/// keys seen, and no credential was sent.
pub async fn open_verified(config: &SftpDestination) -> Result<Connection, Failure> {
    open_verified_on(config, None).await.0
}

/// [`open_verified`], the first handshake on `tcp` if given; also returns what the first
/// handshake saw (for `check`'s banner and key-exchange steps).
pub async fn open_verified_on(
    config: &SftpDestination,
    tcp: Option<TcpStream>,
) -> (Result<Connection, Failure>, Seen) {
    let pinned = pinned_key_algorithms(config);
    let (first, first_seen) = handshake_on(config, tcp, pinned.as_deref(), Acceptance::Pinned).await;
    let mut seen: Vec<(String, String)> = Vec::new();
    match first {
        Ok(Handshake::Done(connection)) => return (Ok(connection), first_seen),
        Ok(Handshake::KeyMismatch(shown)) => seen.extend(shown.key),
        // A pinned type the server no longer has: look at the keys it does have.
        Err(_) if pinned.is_some() && first_seen.offers().is_some() => {}
        Err(failure) => return (Err(failure), first_seen),
    }
    // A bare fingerprint of a key that is not the server's preferred one, or a pinned
    // type the server lacks: each other key type the server offers, once.
    let others = match first_seen.offers() {
        Some(offers) => algorithms::groups_offered(offers, &config.legacy_algorithms),
        None => algorithms::host_key_groups(&config.legacy_algorithms),
    };
    if pinned.is_none() {
        for group in others {
            if seen.iter().any(|(key_type, _)| group_covers(&group, key_type)) {
                continue;
            }
            match handshake(config, Some(&group), Acceptance::Pinned).await {
                Ok(Handshake::Done(connection)) => return (Ok(connection), first_seen),
                Ok(Handshake::KeyMismatch(shown)) => {
                    if let Some(key) = shown.key
                        && !seen.iter().any(|(_, f)| *f == key.1)
                    {
                        seen.push(key);
                    }
                }
                Err(_) => continue,
            }
        }
    } else if seen.is_empty() {
        // The server has no key of the pinned type: show the keys it has.
        seen = server_host_keys(config, first_seen.offers()).await;
    }
    let offered = seen.iter().map(|(t, f)| format!("{t} {f}")).collect::<Vec<_>>().join(", ");
    let pin = match &config.host_key {
        HostKeyPin::Fingerprint(f) => format!("the pinned job.destination.host_key {f}"),
        HostKeyPin::KnownHosts(p) => format!("any key for this host in {}", p.display()),
        HostKeyPin::Unpinned => "a pin, because job.destination has no host_key".to_string(),
    };
    let failure = Failure::Permanent(anyhow!(
        "the SFTP server {}:{} presented a host key that does not match {pin}; refusing to send credentials. \
         The server offers: {offered}. Not retried. THE HOST KEY HAS CHANGED, or this is not the vendor's server (someone may \
         be intercepting the connection). If the vendor really changed its key, confirm the new fingerprint with \
         the vendor by phone or ticket, then update the pin",
        config.host,
        config.port
    ));
    (Err(failure), first_seen)
}

/// Whether a key of `key_type` (as russh names it) is one of `group`'s.
fn group_covers(group: &[Algorithm], key_type: &str) -> bool {
    let family =
        |name: &str| if name.starts_with("rsa-sha2-") { "ssh-rsa".to_string() } else { name.to_string() };
    group.iter().any(|a| family(a.as_str()) == family(key_type))
}

/// Every host key the server has: one handshake per key type it offers (from `offers`
/// when known, else every type sis-extract knows), nothing authenticated.
pub async fn server_host_keys(config: &SftpDestination, offers: Option<&Offers>) -> Vec<(String, String)> {
    let groups = match offers {
        Some(offers) => algorithms::groups_offered(offers, &config.legacy_algorithms),
        None => algorithms::host_key_groups(&config.legacy_algorithms),
    };
    let mut keys: Vec<(String, String)> = Vec::new();
    for group in groups {
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
            let secret = password.get().map_err(|e| Failure::Permanent(anyhow!("{e:#}")))?;
            match with_timeout(timeout, handle.authenticate_password(config.user.as_str(), secret.expose()))
                .await
            {
                Ok(AuthResult::Success) => Ok(()),
                Ok(AuthResult::Failure { .. }) => Err(anyhow!(
                    "the SFTP server {where_} rejected the password (authentication failed); check job.destination.password (read from {}) and the user name. \
                     The server offers: {offered}. Not retried: a wrong credential does not fix itself",
                    password.source
                )),
                Err(e) => return Err(Failure::Transient(anyhow!("authenticating to {where_}: {e}"))),
            }
        }
        SftpAuth::Key { key_file, key_passphrase } => {
            let passphrase = match key_passphrase {
                Some(setting) => {
                    Some(setting.get().map_err(|e| Failure::Permanent(anyhow!("{e:#}")))?.expose())
                }
                None => None,
            };
            let key = read_private_key(key_file, passphrase)?;
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
    result.map_err(|e| Failure::Permanent(anyhow!(crate::secret::redact_external(&e.to_string()))))
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
    let addresses = crate::net::resolve(host, port, timeout).map_err(|e| {
        Failure::Transient(anyhow!(
            "cannot resolve the SFTP host name {host:?}: {e}; check job.destination.host and this server's DNS"
        ))
    })?;
    let last = match crate::net::connect(&addresses, timeout) {
        Ok(stream) => {
            let _ = stream.set_read_timeout(Some(timeout));
            let _ = stream.set_write_timeout(Some(timeout));
            // See coalesce_writes.
            let _ = stream.set_nodelay(true);
            return Ok(stream);
        }
        Err(failures) => failures.into_iter().next_back(),
    };
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

//! `check`'s SSH and SFTP steps for one destination, after DNS and TCP: banner, key
//! exchange, host key, authentication, the SFTP subsystem, and a probe file written,
//! renamed and deleted in the remote folder. No student data is sent. The connection and
//! SFTP primitives are the delivery's own (destination::sftp and ssh), so that `check`
//! tests exactly what a run will do.

use std::time::{Duration, Instant};

use crate::config::{HostKeyPin, SftpAuth, SftpDestination};
use crate::destination::algorithms;
use crate::destination::failure::Failure;
use crate::destination::server_hello::Hello;
use crate::destination::sftp::{
    Sftp, WRITE_SIZE, describe_sftp_error, remote_folder, remote_join, rename_into_place, runtime,
    start_sftp, timed,
};
use crate::destination::sftp_client::{
    FX_NO_SUCH_FILE, SSH_FXF_CREAT, SSH_FXF_TRUNC, SSH_FXF_WRITE, SftpError,
};
use crate::destination::ssh::{self, Acceptance, Connection, Handshake, Seen};
use crate::diagnosis::{Chain, Step};

/// What `check` learns about an SFTP destination, step by step, without uploading data.
/// `tcp` is the connection of `check`'s TCP step, reused: a correctly pinned server sees
/// one connection from `check`.
pub fn diagnose(config: &SftpDestination, tcp: Option<std::net::TcpStream>, chain: &mut Chain) {
    match runtime() {
        Ok(runtime) => runtime.block_on(diagnose_steps(config, tcp, chain)),
        Err(e) => {
            chain.record(Step::fail(
                "ssh banner",
                e.to_string(),
                "this server cannot start the SSH client; check its resources",
                Instant::now(),
            ));
        }
    }
}

async fn diagnose_steps(config: &SftpDestination, tcp: Option<std::net::TcpStream>, chain: &mut Chain) {
    let where_ = format!("{}:{}", config.host, config.port);
    let timeout = config.timeout;
    let unpinned = matches!(config.host_key, HostKeyPin::Unpinned);

    // One handshake for the banner, key-exchange and host-key steps (on the TCP step's
    // connection): a correctly pinned server sees one connection from `check`.
    let started = Instant::now();
    let (verified, seen) = if unpinned {
        let (result, seen) = ssh::handshake_on(config, tcp, None, Acceptance::AnyToInspect).await;
        let connection = result.map(|handshake| match handshake {
            Handshake::Done(connection) => connection,
            Handshake::KeyMismatch(_) => unreachable!("inspection accepts any key"),
        });
        (connection, seen)
    } else {
        ssh::open_verified_on(config, tcp).await
    };
    if !chain.record(banner_step(&seen, &verified, &where_, timeout, started)) {
        return;
    }
    if !chain.record(key_exchange_step(config, &seen, &verified)) {
        return;
    }
    let started = Instant::now();
    if unpinned {
        if let Ok(connection) = verified {
            connection.close().await;
        }
        chain.record(unpinned_host_key_step(config, &seen, started).await);
        return;
    }
    let mut connection = match verified {
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
    let (key_type, fingerprint) = connection.seen.key.clone().unwrap_or_default();
    let detail = if config.host_key.key_type().is_none()
        && matches!(config.host_key, HostKeyPin::Fingerprint(_))
    {
        format!(
            "matches the pin: {key_type} {fingerprint} (pin it with its type, host_key = \"{key_type} {fingerprint}\", and each run connects once even when the server prefers another key type)"
        )
    } else {
        format!("matches the pin: {key_type} {fingerprint}")
    };
    chain.record(Step::pass("host key", detail, started));
    sftp_steps(&mut connection, config, chain, &where_, timeout).await;
    connection.close().await;
}

/// The server's identification line, from what the handshake received.
fn banner_step(
    seen: &Seen,
    verified: &Result<Connection, Failure>,
    where_: &str,
    timeout: Duration,
    started: Instant,
) -> Step {
    match &seen.hello {
        Some(Hello::Ssh { banner, .. }) => {
            Step::pass("ssh banner", format!("{where_} says {banner:?}"), started)
        }
        Some(Hello::NotSsh { first_line }) => Step::fail(
            "ssh banner",
            format!("not an SSH server: it answered {first_line:?}"),
            "the port belongs to another service (web, mail, FTP…): check job.destination.port with the vendor",
            started,
        ),
        Some(Hello::Silent) => Step::fail(
            "ssh banner",
            format!(
                "the server accepted the TCP connection but sent nothing within {}s (timeout)",
                timeout.as_secs()
            ),
            "an SSH server speaks first; something else holds the port (a proxy, a firewall that accepts and drops, or a hung service): check the host and port with the vendor",
            started,
        ),
        None => Step::fail(
            "ssh banner",
            verified.as_ref().err().map(|f| f.error().to_string()).unwrap_or_default(),
            "see the tcp step",
            started,
        ),
    }
}

/// The algorithms negotiated, or every class without a common one.
fn key_exchange_step(config: &SftpDestination, seen: &Seen, verified: &Result<Connection, Failure>) -> Step {
    let started = Instant::now();
    let preferred = algorithms::preferred(&config.legacy_algorithms, None);
    let mismatched = seen.offers().is_some_and(|offers| {
        !algorithms::mismatches(offers, &preferred, &config.legacy_algorithms).is_empty()
    });
    match (verified, seen.negotiated.clone(), seen.offers()) {
        (Err(failure), _, _) if mismatched => Step::fail(
            "key exchange",
            failure.error().to_string(),
            "each class above says what would fix it; the vendor's server and sis-extract must share one algorithm of every class",
            started,
        ),
        (_, Some(negotiated), _) => Step::pass("key exchange", negotiated, started),
        // The exchange stopped at the host key (a mismatch): what it was settling on.
        (_, None, Some(offers)) if seen.key.is_some() => {
            Step::pass("key exchange", algorithms::would_negotiate(offers, &preferred), started)
        }
        (Err(failure), _, _) => Step::fail(
            "key exchange",
            failure.error().to_string(),
            "if the server stops answering during the key exchange, ask the vendor to look at its SSH log for this server's address",
            started,
        ),
        (Ok(_), None, _) => Step::pass("key exchange", "completed".to_string(), started),
    }
}

/// No pin: every key the server has (one connection per other key type it offers), and
/// the exact line to add.
async fn unpinned_host_key_step(config: &SftpDestination, seen: &Seen, started: Instant) -> Step {
    let mut keys: Vec<(String, String)> = seen.key.iter().cloned().collect();
    // The other key types the server offers, one connection each: the admin picks
    // one with the vendor.
    for key in ssh::server_host_keys(config, seen.offers()).await {
        if !keys.iter().any(|(_, f)| *f == key.1) {
            keys.push(key);
        }
    }
    let listed: Vec<String> = keys.iter().map(|(t, f)| format!("{t} {f}")).collect();
    let suggested = keys.iter().find(|(t, _)| t == "ssh-ed25519").or(keys.first());
    Step::fail(
        "host key",
        format!("no host key is pinned; the server presents: {}", listed.join(", ")),
        match suggested {
            Some((key_type, fp)) => format!(
                "confirm the fingerprint with the vendor (phone or ticket, not e-mail from the same server), then add to [job.destination]: host_key = \"{key_type} {fp}\""
            ),
            None => "the server presented no host key; ask the vendor".to_string(),
        },
        started,
    )
}

/// Authentication, then what the account may do in the remote folder.
async fn sftp_steps(
    connection: &mut Connection,
    config: &SftpDestination,
    chain: &mut Chain,
    where_: &str,
    timeout: Duration,
) {
    if !chain.record(authentication_step(connection, config).await) {
        return;
    }
    let Some(mut sftp) = sftp_subsystem_step(connection, config, chain).await else { return };
    let remote_dir = remote_folder(config);
    if chain.record(remote_folder_step(&mut sftp, remote_dir, where_, timeout).await) {
        probe_steps(&mut sftp, connection, config, chain, remote_dir, timeout).await;
    }
    let _ = tokio::time::timeout(timeout, sftp.shutdown()).await;
}

async fn authentication_step(connection: &mut Connection, config: &SftpDestination) -> Step {
    let started = Instant::now();
    if let Err(failure) = ssh::authenticate(connection, config).await {
        return Step::fail(
            "authentication",
            failure.error().to_string(),
            "fix the credential in the config, or ask the vendor to check the account (locked, expired, key not installed)",
            started,
        );
    }
    let method = match config.auth {
        SftpAuth::Password { .. } => "password",
        SftpAuth::Key { .. } => "public key",
    };
    Step::pass("authentication", format!("{} accepted by {method}", config.user), started)
}

/// The SFTP subsystem, and what it offers that a night's delivery relies on.
async fn sftp_subsystem_step(
    connection: &Connection,
    config: &SftpDestination,
    chain: &mut Chain,
) -> Option<Sftp> {
    let started = Instant::now();
    let sftp = match start_sftp(connection, config).await {
        Ok(sftp) => sftp,
        Err(failure) => {
            chain.record(Step::fail(
                "sftp",
                failure.error().to_string(),
                "the account may be shell-only or the server may not offer SFTP; ask the vendor",
                started,
            ));
            return None;
        }
    };
    // What a night's delivery relies on, said here rather than discovered then.
    let mut lacks = Vec::new();
    if !sftp.has_extension("posix-rename@openssh.com") {
        lacks.push("posix-rename@openssh.com (a night that replaces the previous file with the same name removes it first: for a moment the vendor's folder has none)");
    }
    if !sftp.has_extension("fsync@openssh.com") {
        lacks.push("fsync@openssh.com (the upload cannot be forced to the server's disk before it is renamed into place)");
    }
    let detail = if lacks.is_empty() {
        "the SFTP subsystem started; it offers atomic replacement (posix-rename) and fsync".to_string()
    } else {
        format!("the SFTP subsystem started; note: the server lacks {}", lacks.join(" and "))
    };
    chain.record(Step::pass("sftp", detail, started));
    Some(sftp)
}

async fn remote_folder_step(sftp: &mut Sftp, remote_dir: &str, where_: &str, timeout: Duration) -> Step {
    let started = Instant::now();
    match timed(timeout, sftp.count_entries(remote_dir)).await {
        Ok(entries) => {
            Step::pass("remote folder", format!("{remote_dir} is listable ({entries} entries)"), started)
        }
        Err(e) if e.code() == Some(FX_NO_SUCH_FILE) => Step::fail(
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
    }
}

/// A probe file written, renamed and deleted in the remote folder: the three things a
/// delivery does there. Nothing is left behind, whatever step fails.
async fn probe_steps(
    sftp: &mut Sftp,
    connection: &Connection,
    config: &SftpDestination,
    chain: &mut Chain,
    remote_dir: &str,
    timeout: Duration,
) {
    let probe = remote_join(remote_dir, &format!(".sis-extract-check-{}", std::process::id()));
    let renamed = format!("{probe}.renamed");
    let started = Instant::now();
    let written: Result<(), String> =
        match timed(timeout, sftp.open(&probe, SSH_FXF_WRITE | SSH_FXF_CREAT | SSH_FXF_TRUNC, 0o600)).await {
            Ok(file) => {
                let mut content: &[u8] = b"sis-extract check probe\n";
                let wrote = timed(timeout, sftp.write_all_from(&file, &mut content, WRITE_SIZE, 1, |_| {}))
                    .await
                    .map_err(|e| describe_sftp_error(&e));
                let closed = timed(timeout, sftp.close(file)).await.map_err(|e| describe_sftp_error(&e));
                wrote.and(closed)
            }
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
        // The server may have created the probe before the write failed: leave nothing
        // in the vendor's folder, on a new SFTP session if this one is out of step.
        if let Err(SftpError::Io(_)) = timed(timeout, sftp.remove(&probe)).await
            && let Ok(mut fresh) = start_sftp(connection, config).await
        {
            let _ = timed(timeout, fresh.remove(&probe)).await;
        }
        return;
    }
    let started = Instant::now();
    let step = match rename_into_place(sftp, timeout, &probe, &renamed).await {
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
    let step = match timed(timeout, sftp.remove(leftover)).await {
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

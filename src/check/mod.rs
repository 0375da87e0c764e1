//! `sis-extract check`: walks every hop from this server to the database and to each SFTP
//! destination, one step at a time, and says which step fails, why, and who can fix it;
//! and tests that the folders a run writes on this server are writable by this account.
//! It sends no student data: queries are prepared and described, never run.
//!
//! Every step lives here: the network-level steps (DNS, TCP) and the report in this file,
//! SQL Server's PRELOGIN answer (is it SQL Server on that port?) in `prelogin.rs`,
//! the database steps in `database.rs`, the SSH and SFTP steps in `sftp.rs`, the local
//! folders (history, lock, log, work, local destinations) in `local.rs`. They ask
//! `source` and `destination` for primitives (connect, describe, handshake, SFTP
//! requests), the same ones a run uses, so that `check` tests what a run will do.

use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::config::{Config, Destination, Job};

mod database;
mod local;
mod prelogin;
mod sftp;

pub use crate::diagnosis::{Chain, Step, elapsed};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Only {
    Db,
    Sftp,
}

/// Runs the checks; returns the chains for printing. The "local state" chain (history,
/// lock, log and work folders) comes last, and only without `--only`, which narrows the
/// check to one network side; a local destination's chain runs with `--only sftp` too, as
/// the destination side.
pub fn run(config: &Config, jobs: &[&Job], only: Option<Only>) -> Vec<Chain> {
    let mut chains = Vec::new();
    if only != Some(Only::Sftp) {
        chains.push(check_database(config, jobs));
    }
    if only != Some(Only::Db) {
        for job in jobs {
            match &job.destination {
                Destination::Sftp(sftp) => {
                    let mut chain =
                        Chain::new(format!("job {} → SFTP", job.name), job.destination.to_string());
                    if let Some(tcp) = network_steps(&mut chain, &sftp.host, sftp.port, sftp.timeout) {
                        sftp::diagnose(sftp, Some(tcp), &mut chain);
                    }
                    chains.push(chain);
                }
                Destination::Local { path, .. } => {
                    let mut chain =
                        Chain::new(format!("job {} → local folder", job.name), path.display().to_string());
                    let started = Instant::now();
                    let shown = std::path::absolute(path).unwrap_or_else(|_| path.clone());
                    let step = if path.is_dir() {
                        Step::pass("folder", format!("{} exists", shown.display()), started)
                    } else {
                        Step::fail(
                            "folder",
                            format!("{} does not exist", shown.display()),
                            "create it, mount the share, or fix job.destination.path",
                            started,
                        )
                    };
                    if chain.record(step) {
                        chain.record(local::destination_step(path));
                    }
                    chains.push(chain);
                }
            }
        }
    }
    if only.is_none() {
        chains.push(local::diagnose(config, jobs));
    }
    chains
}

fn check_database(config: &Config, jobs: &[&Job]) -> Chain {
    let cs = &config.source.connection_string;
    let mut chain = Chain::new("database".into(), cs.clone());
    if let Some((host, port)) = database_endpoint(cs) {
        let Some(stream) = network_steps(&mut chain, &host, port, config.source.login_timeout) else {
            return chain;
        };
        // For a SQL Server driver, whether SQL Server is what answers on that port: the
        // drivers cannot tell a wrong port from a silent one (FreeTDS says "Unable to
        // connect to data source" for both).
        let driver = crate::source::drivers::of_connection_string(cs);
        if driver.kind == crate::source::DriverKind::SqlServer
            && !chain.record(prelogin::step(stream, config.source.login_timeout))
        {
            return chain;
        }
    }
    database::diagnose(&config.source, jobs, &mut chain);
    chain
}

/// Host and port of a networked database, from the connection string: `Server=host,port`
/// (SQL Server, also `tcp:host`), or `Server=host;Port=port` (PostgreSQL). `None` for a
/// file database (SQLite) or a DSN.
pub fn database_endpoint(connection_string: &str) -> Option<(String, u16)> {
    let pairs = crate::config::connection_string_pairs(connection_string);
    let get = |key: &str| {
        pairs.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.trim().to_string())
    };
    let server = get("Server").or_else(|| get("Host")).or_else(|| get("Servername"))?;
    let server = server.trim_start_matches("tcp:").to_string();
    let (host, port_in_server) = match server.rsplit_once(',') {
        Some((host, port)) => (host.to_string(), port.trim().parse::<u16>().ok()),
        None => (server, None),
    };
    // A named instance (host\INSTANCE) is found through the SQL Browser on UDP 1434; the
    // TCP step can only test the default port then, which the hint explains.
    let host = host.split('\\').next().unwrap_or_default().to_string();
    let default_port = crate::source::drivers::of_connection_string(connection_string).default_port;
    let port = port_in_server.or_else(|| get("Port").and_then(|p| p.parse().ok())).unwrap_or(default_port);
    (!host.is_empty()).then_some((host, port))
}

/// DNS and TCP; returns whether the chain may go on.
/// DNS and TCP steps; returns the connected socket when both passed (the SFTP steps go on
/// over it, so that the vendor's server sees one connection).
fn network_steps(chain: &mut Chain, host: &str, port: u16, timeout: Duration) -> Option<TcpStream> {
    let started = Instant::now();
    let addresses: Vec<SocketAddr> = if let Ok(ip) = host.parse::<IpAddr>() {
        chain.record(Step::pass("dns", format!("skipped: {ip} is an IP address"), started));
        vec![SocketAddr::new(ip, port)]
    } else {
        match crate::net::resolve(host, port, timeout) {
            Ok(addresses) if !addresses.is_empty() => {
                let list: Vec<String> = addresses.iter().map(|a| a.ip().to_string()).collect();
                chain.record(Step::pass("dns", format!("{host} resolves to {}", list.join(", ")), started));
                addresses
            }
            Ok(_) | Err(_) if started.elapsed() >= timeout => {
                chain.record(Step::fail(
                    "dns",
                    format!("no answer for {host} within {}s (timeout)", timeout.as_secs()),
                    "this server's DNS resolver is not answering; check /etc/resolv.conf (or the Windows DNS settings) with the district network team",
                    started,
                ));
                return None;
            }
            Ok(_) | Err(_) => {
                chain.record(Step::fail(
                    "dns",
                    format!("{host} does not resolve"),
                    "check the host name for typos; if it is right, the district's DNS cannot see it: ask the network team, or the vendor for the correct name",
                    started,
                ));
                return None;
            }
        }
    };

    let started = Instant::now();
    let failures = match crate::net::connect(&addresses, timeout) {
        Ok(stream) => {
            let address = stream.peer_addr().map(|a| a.to_string()).unwrap_or_default();
            let local = stream.local_addr().map(|a| a.ip().to_string()).unwrap_or_default();
            chain.record(Step::pass(
                "tcp",
                format!("connected to {address} from {local} in {} ms", elapsed(started)),
                started,
            ));
            return Some(stream);
        }
        Err(failures) => failures,
    };
    let (address, error) = failures.into_iter().next_back().expect("at least one address");
    let source =
        crate::net::source_address(address).map(|ip| ip.to_string()).unwrap_or_else(|| "unknown".into());
    let (detail, hint) = match error.kind() {
        std::io::ErrorKind::ConnectionRefused => (
            format!("{address} refused the connection"),
            "the host is reachable but nothing listens on that port: check the port number, and that the service is running"
                .to_string(),
        ),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => (
            format!("no answer from {address} within {}s (timeout)", timeout.as_secs()),
            format!(
                "a firewall is probably dropping the packets (district, state data center or vendor). This server \
                 connects from {source}; if a NAT sits in between, the vendor sees the NAT's public address. Ask \
                 whoever runs each firewall to allow that address to {address}"
            ),
        ),
        std::io::ErrorKind::HostUnreachable | std::io::ErrorKind::NetworkUnreachable => (
            format!("{address} is unreachable: {error}"),
            format!(
                "there is no route from this server ({source}) to that network: check the server's routes and gateway with the network team"
            ),
        ),
        _ => (format!("connecting to {address} failed: {error}"), "check the address and port".to_string()),
    };
    chain.record(Step::fail("tcp", detail, hint, started));
    None
}

/// The report as text: a header per chain, one line per step.
pub fn render_text(chains: &[Chain]) -> String {
    let mut out = String::new();
    for chain in chains {
        out.push_str(&format!("{} ({})\n", chain.name, chain.target));
        for step in &chain.steps {
            let mark = if step.ok { '✓' } else { '✗' };
            out.push_str(&format!("  {mark} {:<14} {} [{} ms]\n", step.step, step.detail, step.elapsed_ms));
            if let Some(hint) = &step.hint {
                out.push_str(&format!("      → {hint}\n"));
            }
        }
    }
    let failed = chains.iter().filter(|c| !c.ok()).count();
    if failed == 0 {
        out.push_str("all checks passed\n");
    } else {
        out.push_str(&format!("{failed} of {} chain(s) failed\n", chains.len()));
    }
    out
}

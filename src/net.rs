//! Name resolution and TCP connection with timeouts, the same for `check`'s DNS and TCP
//! steps and for the SFTP delivery: a resolver that never answers cannot hang either.

use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::time::Duration;

/// The addresses of `host` (an IP address is returned as is), within `timeout`: the
/// lookup runs on a helper thread, because the system resolver has no timeout of its own.
pub fn resolve(host: &str, port: u16, timeout: Duration) -> std::io::Result<Vec<SocketAddr>> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let (sender, receiver) = std::sync::mpsc::channel();
    let target = (host.to_string(), port);
    std::thread::spawn(move || {
        let _ = sender.send(target.to_socket_addrs().map(|a| a.collect::<Vec<_>>()));
    });
    receiver.recv_timeout(timeout).unwrap_or_else(|_| {
        Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no answer from the DNS resolver within {}s (timeout)", timeout.as_secs()),
        ))
    })
}

/// Connects to the first of `addresses` that answers, each within `timeout`; on failure,
/// every address tried with its error (the last is usually the telling one).
pub fn connect(
    addresses: &[SocketAddr],
    timeout: Duration,
) -> Result<TcpStream, Vec<(SocketAddr, std::io::Error)>> {
    let mut failures = Vec::new();
    for address in addresses {
        match TcpStream::connect_timeout(address, timeout) {
            Ok(stream) => return Ok(stream),
            Err(e) => failures.push((*address, e)),
        }
    }
    Err(failures)
}

/// The local address the OS would use towards `target` (no packet is sent: connecting a
/// UDP socket only picks the route).
pub fn source_address(target: SocketAddr) -> Option<IpAddr> {
    let bind = if target.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
    let socket = UdpSocket::bind(bind).ok()?;
    socket.connect(target).ok()?;
    socket.local_addr().ok().map(|a| a.ip())
}

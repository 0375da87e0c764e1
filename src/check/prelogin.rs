//! `check`'s SQL Server step between TCP and the ODBC driver: is it SQL Server that
//! answers on that port? SQL Server speaks only after the client's PRELOGIN packet (the
//! first message of its TDS protocol, [MS-TDS] 2.2.6.5), so the step sends one and reads
//! the answer. SQL Server answers with a tabular-result packet carrying its version and
//! encryption setting; an SSH server greets with `SSH-2.0-…` before anything is sent; a
//! port held by something silent (or a firewall that accepts and drops) sends nothing.
//! The driver cannot tell these apart: FreeTDS says "Unable to connect to data source"
//! for all three. No credential is sent: PRELOGIN comes before the login.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::diagnosis::Step;

/// TDS packet types ([MS-TDS] 2.2.3.1.1).
const PRELOGIN: u8 = 0x12;
const TABULAR_RESULT: u8 = 0x04;

/// The PRELOGIN options sis-extract sends: VERSION, ENCRYPTION (off: only asking what the
/// server does), INSTOPT (empty: no instance name to check), THREADID, MARS (off).
fn prelogin_packet() -> Vec<u8> {
    // Option table: 5 entries of (token, offset, length) and the 0xFF terminator = 26 bytes.
    let options: [(u8, &[u8]); 5] = [
        (0x00, &[0, 0, 0, 0, 0, 0]), // VERSION: 0.0.0, sub-build 0
        (0x01, &[0x00]),             // ENCRYPTION: ENCRYPT_OFF
        (0x02, &[0x00]),             // INSTOPT: empty instance name
        (0x03, &[0, 0, 0, 0]),       // THREADID
        (0x04, &[0x00]),             // MARS: off
    ];
    let mut table = Vec::new();
    let mut data = Vec::new();
    let table_length = options.len() * 5 + 1;
    for (token, value) in options {
        let offset = (table_length + data.len()) as u16;
        table.push(token);
        table.extend_from_slice(&offset.to_be_bytes());
        table.extend_from_slice(&(value.len() as u16).to_be_bytes());
        data.extend_from_slice(value);
    }
    table.push(0xFF);
    let length = (8 + table.len() + data.len()) as u16;
    let mut packet = vec![PRELOGIN, 0x01];
    packet.extend_from_slice(&length.to_be_bytes());
    packet.extend_from_slice(&[0, 0, 1, 0]); // SPID 0, packet 1, window 0
    packet.extend(table);
    packet.extend(data);
    packet
}

/// What a SQL Server said in its PRELOGIN answer.
#[derive(Debug, PartialEq, Eq)]
pub struct ServerHello {
    /// major, minor, build
    pub version: (u8, u8, u16),
    /// The ENCRYPTION option: 0 off (login only), 1 on, 2 not supported, 3 required.
    pub encryption: Option<u8>,
}

/// Reads a PRELOGIN answer; `None` when the bytes are not one.
pub fn parse_answer(bytes: &[u8]) -> Option<ServerHello> {
    if bytes.len() < 8 || bytes[0] != TABULAR_RESULT {
        return None;
    }
    let length = u16::from_be_bytes([bytes[2], bytes[3]]) as usize;
    if length < 8 || length > bytes.len() {
        return None;
    }
    let payload = &bytes[8..length];
    let mut version = None;
    let mut encryption = None;
    let mut at = 0;
    loop {
        let token = *payload.get(at)?;
        if token == 0xFF {
            break;
        }
        let entry = payload.get(at + 1..at + 5)?;
        let offset = u16::from_be_bytes([entry[0], entry[1]]) as usize;
        let size = u16::from_be_bytes([entry[2], entry[3]]) as usize;
        let value = payload.get(offset..offset + size)?;
        match token {
            0x00 if size >= 4 => {
                version = Some((value[0], value[1], u16::from_be_bytes([value[2], value[3]])))
            }
            0x01 if size >= 1 => encryption = Some(value[0]),
            _ => {}
        }
        at += 5;
    }
    Some(ServerHello { version: version?, encryption })
}

/// The release a SQL Server version number belongs to.
fn release(major: u8) -> String {
    match major {
        10 => "SQL Server 2008".into(),
        11 => "SQL Server 2012".into(),
        12 => "SQL Server 2014".into(),
        13 => "SQL Server 2016".into(),
        14 => "SQL Server 2017".into(),
        15 => "SQL Server 2019".into(),
        16 => "SQL Server 2022".into(),
        17 => "SQL Server 2025".into(),
        _ => format!("SQL Server (version {major})"),
    }
}

/// What the first bytes of an answer that is not SQL Server look like, for the report:
/// the first line as text when it is text, else the first bytes in hex.
fn shown(bytes: &[u8]) -> String {
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = &line[..line.len().min(80)];
    if !line.is_empty() && line.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        let text = String::from_utf8_lossy(line);
        let what = if text.starts_with("SSH-") {
            " (an SSH server)"
        } else if text.starts_with("HTTP/") {
            " (a web server)"
        } else {
            ""
        };
        format!("{text:?}{what}")
    } else {
        let hex: Vec<String> = bytes.iter().take(16).map(|b| format!("{b:02x}")).collect();
        format!("the bytes {}", hex.join(" "))
    }
}

const CHECK_THE_PORT: &str = "check the port in Server=host,port of source.connection_string with the DBA: SQL \
     Server's default is 1433, and a named instance listens on a port of its own (SQL Server Configuration Manager \
     shows it)";

/// Sends PRELOGIN over `stream` (connected by the TCP step) and says what answered.
pub fn step(mut stream: TcpStream, timeout: Duration) -> Step {
    let started = Instant::now();
    let peer = stream.peer_addr().map(|a| a.to_string()).unwrap_or_default();
    let _ = stream.set_write_timeout(Some(timeout));
    // A server that speaks first (SSH, SMTP, FTP) has usually done so by now; its own
    // words are the best diagnosis, so they are read before PRELOGIN disturbs it.
    let _ = stream.set_read_timeout(Some(timeout.min(Duration::from_millis(300))));
    let mut answer = vec![0u8; 4096];
    // A read that times out is the usual case: SQL Server waits for the client.
    let mut got = stream.read(&mut answer).unwrap_or_default();
    let mut closed = false;
    if got == 0 {
        let _ = stream
            .set_read_timeout(Some(timeout.saturating_sub(started.elapsed()).max(Duration::from_millis(1))));
        if let Err(e) = stream.write_all(&prelogin_packet()) {
            return Step::fail(
                "sql server",
                format!("{peer} accepted the TCP connection, then refused SQL Server's PRELOGIN: {e}"),
                CHECK_THE_PORT,
                started,
            );
        }
        // The answer may come in pieces; its header gives its length.
        loop {
            match stream.read(&mut answer[got..]) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => {
                    got += n;
                    let expected = if got >= 4 {
                        u16::from_be_bytes([answer[2], answer[3]]) as usize
                    } else {
                        usize::MAX
                    };
                    if got >= expected.min(answer.len()) || answer[0] != TABULAR_RESULT {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
    }
    let bytes = &answer[..got];
    if bytes.is_empty() {
        let detail = if closed {
            format!(
                "{peer} accepted the TCP connection, then closed it without answering SQL Server's PRELOGIN"
            )
        } else {
            format!(
                "{peer} accepted the TCP connection but did not answer SQL Server's PRELOGIN within {}s (timeout)",
                timeout.as_secs()
            )
        };
        return Step::fail(
            "sql server",
            detail,
            format!(
                "something that is not SQL Server holds that port, or a firewall or proxy accepts connections and drops them; {CHECK_THE_PORT}"
            ),
            started,
        );
    }
    let Some(hello) = parse_answer(bytes) else {
        return Step::fail(
            "sql server",
            format!("{peer} answered, but not as SQL Server: it sent {}", shown(bytes)),
            format!("another service holds that port; {CHECK_THE_PORT}"),
            started,
        );
    };
    let (major, minor, build) = hello.version;
    let encryption = match hello.encryption {
        Some(0) => "encrypts the login only unless the driver asks for more (it has a certificate)",
        Some(1) => "encryption on",
        Some(2) => {
            "no encryption: the server has no certificate, so a driver set to encrypt (Microsoft's Driver 18 by default) fails; the district should give the server a certificate"
        }
        Some(3) => "encryption required (the driver must trust the server's certificate)",
        _ => "encryption not stated",
    };
    let old = if major < 13 {
        "; older than SQL Server 2016, which the shipped queries are checked against"
    } else {
        ""
    };
    Step::pass(
        "sql server",
        format!("{peer} is {} ({major}.{minor}.{build}): {encryption}{old}", release(major)),
        started,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prelogin_packet_is_well_formed() {
        let packet = prelogin_packet();
        assert_eq!(packet[0], PRELOGIN);
        assert_eq!(u16::from_be_bytes([packet[2], packet[3]]) as usize, packet.len());
        // A server's answer has the same layout, with type 0x04: parse ours as one.
        let mut answer = packet.clone();
        answer[0] = TABULAR_RESULT;
        answer[8 + 26] = 13; // VERSION 13.0.4001
        answer[8 + 28..8 + 30].copy_from_slice(&4001u16.to_be_bytes());
        answer[8 + 26 + 6] = 3; // ENCRYPT_REQ
        assert_eq!(parse_answer(&answer), Some(ServerHello { version: (13, 0, 4001), encryption: Some(3) }));
    }

    #[test]
    fn what_is_not_a_prelogin_answer() {
        assert_eq!(parse_answer(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"), None);
        assert_eq!(parse_answer(&[0x04, 0x01, 0x00, 0x40, 0, 0, 1, 0, 0x00]), None); // cut short
        assert_eq!(parse_answer(&[0x04, 0x01, 0x00, 0x0d, 0, 0, 1, 0, 0x00, 0x00, 0xff, 0x00, 0x01]), None); // offset past the end
        assert_eq!(shown(b"SSH-2.0-OpenSSH_9.2p1\r\n"), "\"SSH-2.0-OpenSSH_9.2p1\" (an SSH server)");
        assert_eq!(shown(b"HTTP/1.1 400 Bad Request\r\n"), "\"HTTP/1.1 400 Bad Request\" (a web server)");
        assert_eq!(shown(&[0x15, 0x03, 0x01, 0x00, 0x02]), "the bytes 15 03 01 00 02");
    }
}

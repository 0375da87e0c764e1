//! What an SSH server says before anything is encrypted: its identification line and its
//! KEXINIT, the algorithms it offers per class. Read from the bytes the handshake itself
//! received ([`Recorder`]), never from another connection: a failed negotiation then names
//! every class without a common algorithm at once, and the host-key types the server has
//! are known without trying each (servers that rate-limit or ban count attempts).
//!
//! These bytes come from a server the district does not control: the parser is bounded
//! (at most [`RECORD_LIMIT`] bytes are kept) and fuzzed (tests/fuzz, `server_hello`).

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The most bytes kept from the start of a connection: the identification (at most 255
/// bytes by RFC 4253, after any number of other lines) and a KEXINIT (OpenSSH's is under
/// 2 KiB; every list of every class fits many times over).
pub const RECORD_LIMIT: usize = 64 * 1024;

/// The algorithms a server offers, per class, in its order of preference.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Offers {
    pub kex: Vec<String>,
    pub host_key: Vec<String>,
    pub cipher_to_server: Vec<String>,
    pub cipher_to_client: Vec<String>,
    pub mac_to_server: Vec<String>,
    pub mac_to_client: Vec<String>,
}

/// What the server said first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hello {
    /// Nothing at all.
    Silent,
    /// Lines, but none that starts with `SSH-`: another service (the first line, cut).
    NotSsh { first_line: String },
    /// The identification line (without its line end, cut to 255 characters), and the
    /// offers if the KEXINIT arrived whole and made sense.
    Ssh { banner: String, offers: Option<Offers> },
}

/// Reads what the server sent first, from the start of a connection.
pub fn parse(bytes: &[u8]) -> Hello {
    let mut rest = bytes;
    let mut first_other: Option<&[u8]> = None;
    loop {
        // A line ends at `\n`; a line longer than 255 bytes without one is not an SSH
        // identification (RFC 4253 § 4.2), and a server may send other lines before it.
        let (line, after) = match rest.iter().take(256).position(|b| *b == b'\n') {
            Some(end) => (&rest[..end], &rest[end + 1..]),
            None if rest.len() > 255 => (&rest[..256], &rest[256..]),
            None => (rest, &rest[rest.len()..]),
        };
        if line.is_empty() && after.is_empty() {
            break;
        }
        // An unfinished last line that could still become `SSH-…` (a slow server cut off
        // by the timeout) is the start of an identification, not another service.
        let unfinished = after.is_empty() && rest.len() == line.len() && rest.len() <= 255;
        if line.starts_with(b"SSH-") || (unfinished && !line.is_empty() && b"SSH-".starts_with(line)) {
            let banner = text(line.strip_suffix(b"\r").unwrap_or(line), 255);
            // Without the line end the identification was cut short: no KEXINIT follows.
            let complete = rest.len() > line.len();
            let offers = if complete { parse_kexinit(after) } else { None };
            return Hello::Ssh { banner, offers };
        }
        first_other.get_or_insert(line);
        rest = after;
    }
    match first_other {
        Some(line) => Hello::NotSsh { first_line: text(line.strip_suffix(b"\r").unwrap_or(line), 80) },
        None => Hello::Silent,
    }
}

/// The offers in the server's first binary packet, if it is a whole KEXINIT.
fn parse_kexinit(bytes: &[u8]) -> Option<Offers> {
    let length = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    // RFC 4253 § 6.1: implementations must handle packets of 35000 bytes; a KEXINIT is
    // far smaller. Anything else is not one.
    if !(6..=35_000).contains(&length) {
        return None;
    }
    let packet = bytes.get(4..4 + length)?;
    let padding = *packet.first()? as usize;
    let payload = packet.get(1..length.checked_sub(padding)?)?;
    const KEXINIT: u8 = 20;
    if payload.first() != Some(&KEXINIT) {
        return None;
    }
    let mut at = 1 + 16; // the message type, then a 16-byte cookie
    let mut next = || -> Option<Vec<String>> {
        let len = u32::from_be_bytes(payload.get(at..at + 4)?.try_into().ok()?) as usize;
        let list = payload.get(at + 4..(at + 4).checked_add(len)?)?;
        at += 4 + len;
        Some(
            String::from_utf8_lossy(list)
                .split(',')
                .filter(|name| !name.is_empty())
                .map(|name| name.chars().take(64).collect())
                .collect(),
        )
    };
    Some(Offers {
        kex: next()?,
        host_key: next()?,
        cipher_to_server: next()?,
        cipher_to_client: next()?,
        mac_to_server: next()?,
        mac_to_client: next()?,
    })
}

/// Printable text of at most `max` characters, control characters shown escaped.
fn text(bytes: &[u8], max: usize) -> String {
    String::from_utf8_lossy(bytes).chars().take(max).flat_map(char::escape_debug).collect()
}

/// A stream that keeps a copy of the first [`RECORD_LIMIT`] bytes read from it.
pub struct Recorder<S> {
    inner: S,
    record: Arc<Mutex<Vec<u8>>>,
    /// Set once the record holds [`RECORD_LIMIT`] bytes: from then on a read (the whole
    /// upload goes through here) costs no lock.
    full: bool,
}

impl<S> Recorder<S> {
    /// The stream, and a handle on what it will have read.
    pub fn new(inner: S) -> (Self, Arc<Mutex<Vec<u8>>>) {
        let record = Arc::new(Mutex::new(Vec::new()));
        (Recorder { inner, record: record.clone(), full: false }, record)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Recorder<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled
            && !self.full
        {
            let mut record = self.record.lock().expect("not poisoned");
            let room = RECORD_LIMIT.saturating_sub(record.len());
            let new = &buf.filled()[before..];
            record.extend_from_slice(&new[..new.len().min(room)]);
            let full = record.len() >= RECORD_LIMIT;
            drop(record);
            self.full = full;
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Recorder<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kexinit(lists: [&str; 10]) -> Vec<u8> {
        let mut payload = vec![20u8];
        payload.extend_from_slice(&[7u8; 16]);
        for list in lists {
            payload.extend_from_slice(&(list.len() as u32).to_be_bytes());
            payload.extend_from_slice(list.as_bytes());
        }
        payload.push(0);
        payload.extend_from_slice(&0u32.to_be_bytes());
        let padding = 8 - (payload.len() + 5) % 8 + 4;
        let mut packet = ((payload.len() + 1 + padding) as u32).to_be_bytes().to_vec();
        packet.push(padding as u8);
        packet.extend_from_slice(&payload);
        packet.extend(std::iter::repeat_n(0u8, padding));
        packet
    }

    #[test]
    fn reads_the_banner_and_every_class_after_other_lines() {
        let mut bytes = b"Welcome to the vendor\r\nSSH-2.0-OpenSSH_9.2p1 Debian\r\n".to_vec();
        bytes.extend(kexinit([
            "curve25519-sha256,diffie-hellman-group14-sha1",
            "rsa-sha2-512,ssh-ed25519",
            "aes128-ctr",
            "aes256-cbc",
            "hmac-sha1",
            "hmac-sha2-256",
            "none",
            "none",
            "",
            "",
        ]));
        let Hello::Ssh { banner, offers: Some(offers) } = parse(&bytes) else {
            panic!("{:?}", parse(&bytes))
        };
        assert_eq!(banner, "SSH-2.0-OpenSSH_9.2p1 Debian");
        assert_eq!(offers.kex, ["curve25519-sha256", "diffie-hellman-group14-sha1"]);
        assert_eq!(offers.host_key, ["rsa-sha2-512", "ssh-ed25519"]);
        assert_eq!(offers.cipher_to_client, ["aes256-cbc"]);
        assert_eq!(offers.mac_to_server, ["hmac-sha1"]);
    }

    #[test]
    fn tells_silence_another_service_and_a_cut_kexinit_apart() {
        assert_eq!(parse(b""), Hello::Silent);
        assert_eq!(
            parse(b"220 ftp.example.org FTP ready\r\n"),
            Hello::NotSsh { first_line: "220 ftp.example.org FTP ready".into() }
        );
        let mut bytes = b"SSH-2.0-x\r\n".to_vec();
        bytes.extend(&kexinit(["a", "b", "c", "d", "e", "f", "g", "h", "", ""])[..20]);
        assert_eq!(parse(&bytes), Hello::Ssh { banner: "SSH-2.0-x".into(), offers: None });
        // An endless line is not a banner, and nothing grows without bound.
        assert!(matches!(parse(&[b'x'; RECORD_LIMIT]), Hello::NotSsh { .. }));
        assert!(matches!(parse(&[0xff, 0xff, 0xff, 0xff, 20]), Hello::NotSsh { .. }));
        // A server sending its identification one byte a second, cut off by the timeout.
        assert_eq!(parse(b"SSH"), Hello::Ssh { banner: "SSH".into(), offers: None });
        assert!(matches!(parse(b"220 ftp"), Hello::NotSsh { .. }));
    }
}

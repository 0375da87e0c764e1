//! The SFTP protocol (version 3, draft-ietf-secsh-filexfer-02, as OpenSSH speaks it), the
//! part sis-extract needs: open, pipelined write, fsync, close, stat, list, remove, rename.
//!
//! Ours rather than a crate's because its few requests must be exactly right for a
//! vendor's server: handles are opaque bytes (a crate that turns them into `String`s breaks
//! on servers whose handles are not UTF-8), status codes past version 3's (out of space,
//! quota) are kept, and the upload keeps many writes in flight, as OpenSSH's `sftp` does,
//! so that a long round trip does not slow it down.

use std::collections::HashMap;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const SSH_FXP_INIT: u8 = 1;
const SSH_FXP_VERSION: u8 = 2;
const SSH_FXP_OPEN: u8 = 3;
const SSH_FXP_CLOSE: u8 = 4;
const SSH_FXP_WRITE: u8 = 6;
const SSH_FXP_OPENDIR: u8 = 11;
const SSH_FXP_READDIR: u8 = 12;
const SSH_FXP_REMOVE: u8 = 13;
const SSH_FXP_STAT: u8 = 17;
const SSH_FXP_RENAME: u8 = 18;
const SSH_FXP_STATUS: u8 = 101;
const SSH_FXP_HANDLE: u8 = 102;
const SSH_FXP_NAME: u8 = 104;
const SSH_FXP_ATTRS: u8 = 105;
const SSH_FXP_EXTENDED: u8 = 200;

pub const SSH_FXF_WRITE: u32 = 0x02;
pub const SSH_FXF_CREAT: u32 = 0x08;
pub const SSH_FXF_TRUNC: u32 = 0x10;

const ATTR_SIZE: u32 = 0x1;
const ATTR_UIDGID: u32 = 0x2;
const ATTR_PERMISSIONS: u32 = 0x4;
const ATTR_ACMODTIME: u32 = 0x8;
const ATTR_EXTENDED: u32 = 0x8000_0000;

pub const FX_OK: u32 = 0;
pub const FX_EOF: u32 = 1;
pub const FX_NO_SUCH_FILE: u32 = 2;
pub const FX_PERMISSION_DENIED: u32 = 3;
pub const FX_OP_UNSUPPORTED: u32 = 8;
pub const FX_NO_SPACE_ON_FILESYSTEM: u32 = 14;
pub const FX_QUOTA_EXCEEDED: u32 = 15;

/// Largest packet accepted from the server: OpenSSH's own limit is 256 KiB.
const MAX_PACKET: usize = 1 << 20;

/// What went wrong with a request.
#[derive(Debug)]
pub enum SftpError {
    /// The server answered with a status other than OK.
    Status { code: u32, message: String },
    /// The channel failed, the server broke the protocol, or an earlier request on this
    /// session was abandoned: the session is unusable.
    Io(std::io::Error),
    /// Reading the local file failed.
    Local(std::io::Error),
}

impl SftpError {
    pub fn code(&self) -> Option<u32> {
        match self {
            SftpError::Status { code, .. } => Some(*code),
            SftpError::Io(_) | SftpError::Local(_) => None,
        }
    }
}

impl std::fmt::Display for SftpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SftpError::Status { code, message } if message.is_empty() => write!(f, "SFTP status {code}"),
            SftpError::Status { code, message } => write!(f, "{message} (SFTP status {code})"),
            SftpError::Io(e) | SftpError::Local(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for SftpError {}

impl From<std::io::Error> for SftpError {
    fn from(e: std::io::Error) -> Self {
        SftpError::Io(e)
    }
}

fn protocol_error(what: &str) -> SftpError {
    SftpError::Io(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("SFTP protocol error: {what}"),
    ))
}

/// The attributes sis-extract reads.
#[derive(Debug, Default, Clone, Copy)]
pub struct Attributes {
    pub size: Option<u64>,
    pub permissions: Option<u32>,
}

impl Attributes {
    pub fn is_dir(&self) -> bool {
        self.permissions.is_some_and(|p| p & 0o170000 == 0o040000)
    }
}

/// An open remote file or folder: the server's handle, opaque bytes.
pub struct Handle(Vec<u8>);

/// An SFTP session on a stream (an SSH channel running the `sftp` subsystem).
///
/// Requests and answers must stay in step. A request that failed on the channel, or was
/// abandoned half-way (its future dropped by a timeout), leaves the stream in an unknown
/// state, so the session refuses every later request; open a new one to clean up.
pub struct SftpClient<S> {
    stream: S,
    next_id: u32,
    /// The extensions the server announced, by name (their data is not needed).
    extensions: Vec<String>,
    /// Set while a request runs, cleared when it completes in step with the server.
    in_request: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> SftpClient<S> {
    /// Sends INIT and reads the server's VERSION and extensions.
    pub async fn start(stream: S) -> Result<Self, SftpError> {
        let mut client = SftpClient { stream, next_id: 1, extensions: Vec::new(), in_request: false };
        let mut packet = Packet::new(SSH_FXP_INIT);
        packet.u32(3);
        client.send(packet).await?;
        let (kind, body) = client.receive().await?;
        if kind != SSH_FXP_VERSION {
            return Err(protocol_error("the server did not answer INIT with VERSION"));
        }
        let mut reader = Reader(&body);
        let _version = reader.u32()?;
        while !reader.0.is_empty() {
            let name = String::from_utf8_lossy(reader.string()?).into_owned();
            reader.string()?;
            client.extensions.push(name);
        }
        Ok(client)
    }

    /// Whether the server announced an extension (e.g. `posix-rename@openssh.com`).
    pub fn has_extension(&self, name: &str) -> bool {
        self.extensions.iter().any(|n| n == name)
    }

    pub async fn stat(&mut self, path: &str) -> Result<Attributes, SftpError> {
        let body = self.request(SSH_FXP_STAT, |p| p.string(path.as_bytes()), SSH_FXP_ATTRS).await?;
        read_attributes(&mut Reader(&body))
    }

    pub async fn open(&mut self, path: &str, flags: u32, mode: u32) -> Result<Handle, SftpError> {
        let body = self
            .request(
                SSH_FXP_OPEN,
                |p| {
                    p.string(path.as_bytes());
                    p.u32(flags);
                    p.u32(ATTR_PERMISSIONS);
                    p.u32(mode);
                },
                SSH_FXP_HANDLE,
            )
            .await?;
        handle_from(&body)
    }

    pub async fn open_dir(&mut self, path: &str) -> Result<Handle, SftpError> {
        let body = self.request(SSH_FXP_OPENDIR, |p| p.string(path.as_bytes()), SSH_FXP_HANDLE).await?;
        handle_from(&body)
    }

    /// The number of entries in a folder (`.` and `..` included, as the server lists them).
    pub async fn count_entries(&mut self, path: &str) -> Result<usize, SftpError> {
        let handle = self.open_dir(path).await?;
        let mut count = 0;
        loop {
            match self.request(SSH_FXP_READDIR, |p| p.string(&handle.0), SSH_FXP_NAME).await {
                Ok(body) => count += Reader(&body).u32()? as usize,
                Err(SftpError::Status { code: FX_EOF, .. }) => break,
                Err(e) => {
                    let _ = self.close(handle).await;
                    return Err(e);
                }
            }
        }
        self.close(handle).await?;
        Ok(count)
    }

    pub async fn close(&mut self, handle: Handle) -> Result<(), SftpError> {
        self.status_request(SSH_FXP_CLOSE, |p| p.string(&handle.0)).await
    }

    pub async fn remove(&mut self, path: &str) -> Result<(), SftpError> {
        self.status_request(SSH_FXP_REMOVE, |p| p.string(path.as_bytes())).await
    }

    /// Plain RENAME: fails if `to` exists (on OpenSSH and most servers).
    pub async fn rename(&mut self, from: &str, to: &str) -> Result<(), SftpError> {
        self.status_request(SSH_FXP_RENAME, |p| {
            p.string(from.as_bytes());
            p.string(to.as_bytes());
        })
        .await
    }

    /// `posix-rename@openssh.com`: replaces `to` atomically.
    pub async fn posix_rename(&mut self, from: &str, to: &str) -> Result<(), SftpError> {
        self.status_request(SSH_FXP_EXTENDED, |p| {
            p.string(b"posix-rename@openssh.com");
            p.string(from.as_bytes());
            p.string(to.as_bytes());
        })
        .await
    }

    /// `fsync@openssh.com`: the written bytes are on the server's disk.
    pub async fn fsync(&mut self, handle: &Handle) -> Result<(), SftpError> {
        self.status_request(SSH_FXP_EXTENDED, |p| {
            p.string(b"fsync@openssh.com");
            p.string(&handle.0);
        })
        .await
    }

    /// Writes everything `source` yields to the open file, from offset 0, with up to
    /// `in_flight` requests of `chunk` bytes unacknowledged at a time (OpenSSH's `sftp`:
    /// 64 of 32 KiB). `progress` is called with the bytes acknowledged so far.
    ///
    /// The answers are read *while* the writes are sent, not between them. A server with
    /// a small SSH window (Dropbear's default is 24 KiB) sends a WINDOW_ADJUST for every
    /// few KiB, which russh queues beside the answers in the channel's message queue; a
    /// writer waiting for window while nobody read that queue filled it, and then russh
    /// waited for room, the window never came, and the upload stalled for good.
    // About 120 lines on purpose: the writer and the reader are two futures over shared
    // local state (the writes in flight, the free slots, the stop flag, the first error);
    // split into functions, that state would need a struct and lifetimes for no reader's gain.
    pub async fn write_all_from(
        &mut self,
        handle: &Handle,
        source: &mut (impl std::io::Read + ?Sized),
        chunk: usize,
        in_flight: usize,
        mut progress: impl FnMut(u64),
    ) -> Result<u64, SftpError> {
        use std::cell::{Cell, RefCell};
        self.begin()?;
        let first_id = self.next_id;
        // Request id -> bytes it carries, for the writes not yet acknowledged.
        let pending: RefCell<HashMap<u32, usize>> = RefCell::new(HashMap::with_capacity(in_flight));
        let slots = tokio::sync::Semaphore::new(in_flight);
        let wake_reader = tokio::sync::Notify::new();
        let writer_done = Cell::new(false);
        // A failed write (the server's status) stops new writes; the writes in flight are
        // still answered, so that the session stays in step.
        let stop = Cell::new(false);
        let local_error: RefCell<Option<std::io::Error>> = RefCell::new(None);
        let sent_ids = Cell::new(0u32);
        let (mut incoming, mut outgoing) = tokio::io::split(&mut self.stream);

        let writer = async {
            // One buffer, reused for every request: the header, then the file's bytes read
            // straight into place behind it.
            let header = 4 + 1 + 4 + 4 + handle.0.len() + 8 + 4;
            let mut packet = vec![0u8; header + chunk];
            let mut fields = Packet { bytes: Vec::with_capacity(header) };
            let mut offset = 0u64;
            let result = loop {
                match slots.acquire().await {
                    Ok(permit) => permit.forget(),
                    Err(_) => break Ok(()),
                }
                if stop.get() {
                    break Ok(());
                }
                let n = match read_full(source, &mut packet[header..]) {
                    Ok(n) => n,
                    Err(e) => {
                        *local_error.borrow_mut() = Some(e);
                        break Ok(());
                    }
                };
                if n == 0 {
                    break Ok(());
                }
                let id = first_id.wrapping_add(sent_ids.get());
                sent_ids.set(sent_ids.get() + 1);
                fields.bytes.clear();
                fields.u32((header - 4 + n) as u32);
                fields.bytes.push(SSH_FXP_WRITE);
                fields.u32(id);
                fields.string(&handle.0);
                fields.u64(offset);
                fields.u32(n as u32);
                packet[..header].copy_from_slice(&fields.bytes);
                pending.borrow_mut().insert(id, n);
                wake_reader.notify_one();
                if let Err(e) = outgoing.write_all(&packet[..header + n]).await {
                    break Err(SftpError::Io(e));
                }
                offset += n as u64;
                if n < chunk {
                    break Ok(());
                }
            };
            writer_done.set(true);
            wake_reader.notify_one();
            let _ = outgoing.flush().await;
            result.map(|()| offset)
        };

        let reader = async {
            let mut acknowledged = 0u64;
            let mut first_error: Option<SftpError> = None;
            loop {
                if pending.borrow().is_empty() {
                    if writer_done.get() {
                        break;
                    }
                    wake_reader.notified().await;
                    continue;
                }
                let (kind, body) = receive_from(&mut incoming).await?;
                let mut reader = Reader(&body);
                let id = reader.u32()?;
                let Some(size) = pending.borrow_mut().remove(&id).filter(|_| kind == SSH_FXP_STATUS) else {
                    return Err(protocol_error("an unexpected answer to a write"));
                };
                let code = reader.u32()?;
                if code != FX_OK {
                    if first_error.is_none() {
                        first_error = Some(status_error(code, &mut reader));
                    }
                    stop.set(true);
                    // Wake a writer waiting for a slot, so that it sees `stop`.
                    slots.add_permits(in_flight);
                    continue;
                }
                acknowledged += size as u64;
                progress(acknowledged);
                slots.add_permits(1);
            }
            // Outer: the channel; inner: the server's answers.
            Ok(first_error.map_or(Ok(acknowledged), Err))
        };

        // A failed channel (either side) ends both: the session is out of step for good.
        let (written, acknowledged) = tokio::try_join!(writer, reader)?;
        self.next_id = first_id.wrapping_add(sent_ids.get());
        // Every write sent was answered: in step again, whatever went wrong.
        self.in_request = false;
        if let Some(e) = local_error.into_inner() {
            return Err(SftpError::Local(e));
        }
        acknowledged?;
        Ok(written)
    }

    /// Marks a request as running; refuses if an earlier one never completed.
    fn begin(&mut self) -> Result<(), SftpError> {
        if self.in_request {
            return Err(SftpError::Io(std::io::Error::other(
                "the SFTP session is out of step after an interrupted request",
            )));
        }
        self.in_request = true;
        Ok(())
    }

    fn take_id(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        id
    }

    /// Sends one request and waits for its answer; a STATUS answer other than OK is an error.
    async fn request(
        &mut self,
        kind: u8,
        fill: impl FnOnce(&mut Packet),
        expect: u8,
    ) -> Result<Vec<u8>, SftpError> {
        self.begin()?;
        let id = self.take_id();
        let mut packet = Packet::new(kind);
        packet.u32(id);
        fill(&mut packet);
        self.send(packet).await?;
        let (answer, body) = self.receive().await?;
        let mut reader = Reader(&body);
        if reader.u32()? != id {
            return Err(protocol_error("an answer to another request"));
        }
        // In step again: whatever the answer says, it was the answer to this request.
        self.in_request = false;
        if answer == SSH_FXP_STATUS {
            let code = reader.u32()?;
            return Err(status_error(code, &mut reader));
        }
        if answer != expect {
            return Err(protocol_error("an unexpected kind of answer"));
        }
        Ok(reader.0.to_vec())
    }

    async fn status_request(&mut self, kind: u8, fill: impl FnOnce(&mut Packet)) -> Result<(), SftpError> {
        match self.request(kind, fill, SSH_FXP_STATUS).await {
            Err(SftpError::Status { code: FX_OK, .. }) => Ok(()),
            Err(e) => Err(e),
            Ok(_) => Err(protocol_error("a status answer was expected")),
        }
    }

    async fn send(&mut self, packet: Packet) -> Result<(), SftpError> {
        let mut bytes = packet.bytes;
        let length = (bytes.len() - 4) as u32;
        bytes[..4].copy_from_slice(&length.to_be_bytes());
        self.stream.write_all(&bytes).await?;
        self.stream.flush().await?;
        Ok(())
    }

    /// One packet from the server: its type and the rest.
    async fn receive(&mut self) -> Result<(u8, Vec<u8>), SftpError> {
        receive_from(&mut self.stream).await
    }

    /// Closes the SFTP stream (the SSH channel).
    pub async fn shutdown(mut self) {
        let _ = self.stream.shutdown().await;
    }
}

/// One packet from the server: its type and the rest.
async fn receive_from(stream: &mut (impl AsyncRead + Unpin)) -> Result<(u8, Vec<u8>), SftpError> {
    let mut length = [0u8; 4];
    stream.read_exact(&mut length).await?;
    let length = u32::from_be_bytes(length) as usize;
    if length == 0 || length > MAX_PACKET {
        return Err(protocol_error("an implausible packet length"));
    }
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await?;
    let kind = body[0];
    body.remove(0);
    Ok((kind, body))
}

fn read_full(source: &mut (impl std::io::Read + ?Sized), buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match source.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// A request being built; its first four bytes are the length, set when sent.
struct Packet {
    bytes: Vec<u8>,
}

impl Packet {
    fn new(kind: u8) -> Self {
        Packet { bytes: vec![0, 0, 0, 0, kind] }
    }
    fn u32(&mut self, value: u32) {
        self.bytes.extend_from_slice(&value.to_be_bytes());
    }
    fn u64(&mut self, value: u64) {
        self.bytes.extend_from_slice(&value.to_be_bytes());
    }
    fn string(&mut self, value: &[u8]) {
        self.u32(value.len() as u32);
        self.bytes.extend_from_slice(value);
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], SftpError> {
        if self.0.len() < n {
            return Err(protocol_error("a truncated packet"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u32(&mut self) -> Result<u32, SftpError> {
        Ok(u32::from_be_bytes(self.take(4)?.try_into().expect("four bytes")))
    }
    fn u64(&mut self) -> Result<u64, SftpError> {
        Ok(u64::from_be_bytes(self.take(8)?.try_into().expect("eight bytes")))
    }
    fn string(&mut self) -> Result<&'a [u8], SftpError> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}

/// A STATUS answer's error, from the rest of the packet after its code. The message is
/// optional in practice (some servers send none).
/// The server's own words go into stderr, the log and the history: at most
/// [`MAX_MESSAGE_CHARS`] characters, control characters (terminal escapes, new lines)
/// shown escaped.
fn status_error(code: u32, reader: &mut Reader<'_>) -> SftpError {
    // The server's words are outside text: no secret in them reaches a message.
    let raw = crate::secret::redact_external(&String::from_utf8_lossy(reader.string().unwrap_or_default()));
    let mut message: String =
        raw.chars().take(MAX_MESSAGE_CHARS).flat_map(|c| c.escape_debug().collect::<Vec<_>>()).collect();
    if raw.chars().count() > MAX_MESSAGE_CHARS {
        message.push('…');
    }
    SftpError::Status { code, message }
}

const MAX_MESSAGE_CHARS: usize = 200;

/// SFTP handles are at most 256 bytes (draft-ietf-secsh-filexfer-02 § 6.2); each write
/// repeats the handle, so a longer one would multiply what is kept in flight.
fn handle_from(body: &[u8]) -> Result<Handle, SftpError> {
    let handle = Reader(body).string()?;
    if handle.len() > 256 {
        return Err(protocol_error("a handle longer than 256 bytes"));
    }
    Ok(Handle(handle.to_vec()))
}

fn read_attributes(reader: &mut Reader<'_>) -> Result<Attributes, SftpError> {
    let flags = reader.u32()?;
    let mut attributes = Attributes::default();
    if flags & ATTR_SIZE != 0 {
        attributes.size = Some(reader.u64()?);
    }
    if flags & ATTR_UIDGID != 0 {
        reader.u32()?;
        reader.u32()?;
    }
    if flags & ATTR_PERMISSIONS != 0 {
        attributes.permissions = Some(reader.u32()?);
    }
    if flags & ATTR_ACMODTIME != 0 {
        reader.u32()?;
        reader.u32()?;
    }
    if flags & ATTR_EXTENDED != 0 {
        let count = reader.u32()?;
        for _ in 0..count {
            reader.string()?;
            reader.string()?;
        }
    }
    Ok(attributes)
}

#[cfg(test)]
mod tests {
    //! The protocol against a scripted server on an in-memory pipe: what the real sshd in
    //! tests/ cannot show (binary handles, out-of-order answers, version 5 status codes).
    //! Uploads against OpenSSH's sftp-server are tested end to end in tests/suite/sftp_delivery.rs.
    use super::*;
    use tokio::io::DuplexStream;

    fn run<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future)
    }

    /// Reads one request: (type, id, rest).
    async fn read_request(server: &mut DuplexStream) -> (u8, u32, Vec<u8>) {
        let mut length = [0u8; 4];
        server.read_exact(&mut length).await.unwrap();
        let mut body = vec![0u8; u32::from_be_bytes(length) as usize];
        server.read_exact(&mut body).await.unwrap();
        let id = if body[0] == SSH_FXP_INIT { 0 } else { u32::from_be_bytes(body[1..5].try_into().unwrap()) };
        let rest = if body[0] == SSH_FXP_INIT { body[1..].to_vec() } else { body[5..].to_vec() };
        (body[0], id, rest)
    }

    async fn answer(server: &mut DuplexStream, kind: u8, fill: impl FnOnce(&mut Packet)) {
        let mut packet = Packet::new(kind);
        fill(&mut packet);
        let length = (packet.bytes.len() - 4) as u32;
        packet.bytes[..4].copy_from_slice(&length.to_be_bytes());
        server.write_all(&packet.bytes).await.unwrap();
    }

    async fn status(server: &mut DuplexStream, id: u32, code: u32, message: &str) {
        answer(server, SSH_FXP_STATUS, |p| {
            p.u32(id);
            p.u32(code);
            p.string(message.as_bytes());
            p.string(b"en");
        })
        .await;
    }

    async fn version(server: &mut DuplexStream) {
        let (kind, _, _) = read_request(server).await;
        assert_eq!(kind, SSH_FXP_INIT);
        answer(server, SSH_FXP_VERSION, |p| {
            p.u32(3);
            p.string(b"posix-rename@openssh.com");
            p.string(b"1");
        })
        .await;
    }

    #[test]
    fn a_binary_handle_goes_back_byte_for_byte_and_answers_may_come_out_of_order() {
        let handle: &[u8] = &[0xff, 0x00, 0xfe, 0x80];
        let (client_end, mut server) = tokio::io::duplex(1 << 20);
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let expected = data.clone();
        run(async move {
            let server_side = async move {
                version(&mut server).await;
                let (kind, id, rest) = read_request(&mut server).await;
                assert_eq!(kind, SSH_FXP_OPEN);
                assert_eq!(&rest[4..4 + 7], b"/in/x.z");
                answer(&mut server, SSH_FXP_HANDLE, |p| {
                    p.u32(id);
                    p.string(handle);
                })
                .await;
                // 100 000 bytes in 32 KiB writes: four requests, all sent before any answer.
                let mut writes = Vec::new();
                let mut received = vec![0u8; 100_000];
                for _ in 0..4 {
                    let (kind, id, rest) = read_request(&mut server).await;
                    assert_eq!(kind, SSH_FXP_WRITE);
                    let mut reader = Reader(&rest);
                    assert_eq!(reader.string().unwrap(), handle);
                    let offset = reader.u64().unwrap() as usize;
                    let bytes = reader.string().unwrap();
                    received[offset..offset + bytes.len()].copy_from_slice(bytes);
                    writes.push(id);
                }
                for id in writes.into_iter().rev() {
                    status(&mut server, id, FX_OK, "").await;
                }
                let (kind, id, rest) = read_request(&mut server).await;
                assert_eq!(kind, SSH_FXP_CLOSE);
                assert_eq!(Reader(&rest).string().unwrap(), handle);
                status(&mut server, id, FX_OK, "").await;
                received
            };
            let client_side = async move {
                let mut client = SftpClient::start(client_end).await.unwrap();
                assert!(client.has_extension("posix-rename@openssh.com"));
                assert!(!client.has_extension("fsync@openssh.com"));
                let file = client.open("/in/x.z", SSH_FXF_WRITE | SSH_FXF_CREAT, 0o600).await.unwrap();
                let mut acknowledged = Vec::new();
                let sent = client
                    .write_all_from(&file, &mut data.as_slice(), 32 * 1024, 64, |n| acknowledged.push(n))
                    .await
                    .unwrap();
                assert_eq!(sent, 100_000);
                assert_eq!(acknowledged.last(), Some(&100_000));
                client.close(file).await.unwrap();
            };
            let (received, ()) = tokio::join!(server_side, client_side);
            assert_eq!(received, expected);
        });
    }

    #[test]
    fn a_failed_write_keeps_its_status_and_leaves_the_session_usable() {
        let (client_end, mut server) = tokio::io::duplex(1 << 20);
        run(async move {
            let server_side = async move {
                version(&mut server).await;
                let (_, id, _) = read_request(&mut server).await;
                answer(&mut server, SSH_FXP_HANDLE, |p| {
                    p.u32(id);
                    p.string(b"h");
                })
                .await;
                let first = read_request(&mut server).await.1;
                let second = read_request(&mut server).await.1;
                status(&mut server, first, FX_NO_SPACE_ON_FILESYSTEM, "No space left on device").await;
                status(&mut server, second, FX_NO_SPACE_ON_FILESYSTEM, "No space left on device").await;
                let (kind, id, _) = read_request(&mut server).await;
                assert_eq!(kind, SSH_FXP_REMOVE);
                status(&mut server, id, FX_OK, "").await;
            };
            let client_side = async move {
                let mut client = SftpClient::start(client_end).await.unwrap();
                let file = client.open("/f", SSH_FXF_WRITE, 0o600).await.unwrap();
                let data = vec![7u8; 40_000];
                let error = client
                    .write_all_from(&file, &mut data.as_slice(), 32 * 1024, 64, |_| {})
                    .await
                    .unwrap_err();
                assert_eq!(error.code(), Some(FX_NO_SPACE_ON_FILESYSTEM));
                assert!(error.to_string().contains("No space left on device"), "{error}");
                // The answer to the second write was read and dropped; REMOVE gets its own.
                client.remove("/f").await.unwrap();
            };
            tokio::join!(server_side, client_side);
        });
    }

    #[test]
    fn a_request_abandoned_by_a_timeout_leaves_the_session_refusing_more() {
        let (client_end, mut server) = tokio::io::duplex(1 << 16);
        run(async move {
            let server_side = async move {
                version(&mut server).await;
                // Reads the STAT and never answers it.
                let _ = read_request(&mut server).await;
                server
            };
            let client_side = async move {
                let mut client = SftpClient::start(client_end).await.unwrap();
                let stat =
                    tokio::time::timeout(std::time::Duration::from_millis(50), client.stat("/x")).await;
                assert!(stat.is_err(), "the STAT timed out");
                // A late answer to the STAT would be taken for this REMOVE's: refused instead.
                let error = client.remove("/y").await.unwrap_err();
                assert!(matches!(error, SftpError::Io(_)), "{error}");
                assert!(error.to_string().contains("out of step"), "{error}");
            };
            let (_server, ()) = tokio::join!(server_side, client_side);
        });
    }

    #[test]
    fn malformed_answers_are_errors_not_panics() {
        for body in [vec![], vec![SSH_FXP_ATTRS], vec![SSH_FXP_ATTRS, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]] {
            let (client_end, mut server) = tokio::io::duplex(1 << 16);
            run(async move {
                let server_side = async move {
                    version(&mut server).await;
                    let _ = read_request(&mut server).await;
                    let mut bytes = (body.len() as u32).to_be_bytes().to_vec();
                    bytes.extend_from_slice(&body);
                    server.write_all(&bytes).await.unwrap();
                    drop(server);
                };
                let client_side = async move {
                    let mut client = SftpClient::start(client_end).await.unwrap();
                    assert!(client.stat("/x").await.is_err());
                };
                tokio::join!(server_side, client_side);
            });
        }
    }
}

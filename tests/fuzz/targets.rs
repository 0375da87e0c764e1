//! The body of each fuzz target, shared by the cargo-fuzz binaries (fuzz_targets/) and by
//! the stable-Rust replay of kept crash inputs (tests/fuzz_regressions.rs), so that a
//! regression test runs exactly what the fuzzer ran. Each must return without panicking
//! for every input; errors are fine (they are what an admin sees).

use clap::Parser;

/// Any text as the configuration file is parsed and validated.
pub fn config_text(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        // Relative paths resolve against a folder that does not exist, so that the
        // target never reads the files of the machine running it by accident.
        let path = std::path::Path::new("/nonexistent-sis-extract-fuzz/config.toml");
        let _ = sis_extract::config::parse(text, path);
    }
}

/// Any argument list (NUL-separated in the input) goes through the real clap definition.
pub fn command_line(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let args = std::iter::once("sis-extract").chain(text.split('\0'));
    if let Ok(cli) = sis_extract::cli::Cli::try_parse_from(args) {
        let _ = format!("{cli:?}");
    }
}

/// Any query text is vetted and, when accepted, stripped of comments and the final `;`.
/// The stripping works on byte offsets computed from token locations: where a panic
/// could hide.
pub fn query_text(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok((sent, _placeholders)) = sis_extract::query::prepare(text)
    {
        // Comments become blanks and the tail after `;` goes: never longer than the file.
        assert!(sent.len() <= text.len(), "prepared text grew");
    }
}

/// A history file damaged in any way is read (bad lines skipped) and rendered.
pub fn history_lines(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let records = sis_extract::history::parse_records(text, "history.jsonl");
        let _ = sis_extract::history::render_table(&records);
    }
}

/// Any bytes as everything an SFTP server says, from its VERSION on: the client starts a
/// session and runs a delivery's requests (and `check`'s listing) against them. Every call
/// must end in Ok or a named error, never a panic, however the lengths, ids, kinds and
/// handles lie; the input running out is the server hanging up.
///
/// The first byte picks the write pipeline's shape (1 to 8 writes in flight, 16 to 128
/// bytes each, of a 200-byte file); the rest is the server's byte stream. Request ids go
/// 1, 2, 3… in the order below (tests/fuzz/make_seeds.py writes well-formed transcripts).
pub fn sftp_server_bytes(data: &[u8]) {
    let _ = sftp_session(data);
}

/// The body of [`sftp_server_bytes`]; returns each step that ran and whether it succeeded,
/// so that the replay can check that the well-formed seeds really reach the end.
#[allow(dead_code)] // each fuzz binary uses only its own target
pub fn sftp_session(data: &[u8]) -> Vec<(&'static str, bool)> {
    use sis_extract::destination::sftp_client::{
        SSH_FXF_CREAT, SSH_FXF_TRUNC, SSH_FXF_WRITE, SftpClient, SftpError,
    };

    let mut steps = Vec::new();
    let Some((&shape, server)) = data.split_first() else { return steps };
    let in_flight = 1 + (shape & 7) as usize;
    let chunk = 16usize << ((shape >> 3) & 3);
    let file: Vec<u8> = (0..200u32).map(|i| i as u8).collect();
    // Every error is rendered, as the run report would.
    let mut step = |name: &'static str, result: Result<(), SftpError>| {
        if let Err(e) = &result {
            let _ = e.to_string();
        }
        steps.push((name, result.is_ok()));
    };

    let stream = ServerBytes { input: server, sent: 0 };
    SFTP_RUNTIME.with(|runtime| {
        runtime.block_on(async {
            let mut client = match SftpClient::start(stream).await {
                Ok(client) => client,
                Err(e) => return step("start", Err(e)),
            };
            step("start", Ok(()));
            let _ = client.has_extension("posix-rename@openssh.com");
            let _ = client.has_extension("fsync@openssh.com");
            step(
                "stat folder",
                client.stat("/in").await.map(|a| {
                    let _ = a.is_dir();
                }),
            );
            let flags = SSH_FXF_WRITE | SSH_FXF_CREAT | SSH_FXF_TRUNC;
            match client.open("/in/.x.zip.partial", flags, 0o600).await {
                Ok(handle) => {
                    step("open", Ok(()));
                    let mut acknowledged = 0u64;
                    let written = client
                        .write_all_from(&handle, &mut file.as_slice(), chunk, in_flight, |n| {
                            assert!(n > acknowledged && n <= 200, "acknowledged {n} after {acknowledged}");
                            acknowledged = n;
                        })
                        .await;
                    // Success means every byte was sent and acknowledged.
                    if let Ok(n) = written {
                        assert!(n == 200 && acknowledged == 200, "wrote {n}, acknowledged {acknowledged}");
                    }
                    step("write", written.map(drop));
                    step("fsync", client.fsync(&handle).await);
                    step("close", client.close(handle).await);
                }
                Err(e) => step("open", Err(e)),
            }
            step("stat file", client.stat("/in/.x.zip.partial").await.map(drop));
            step("list", client.count_entries("/in").await.map(drop));
            step("posix-rename", client.posix_rename("/in/.x.zip.partial", "/in/x.zip").await);
            step("remove", client.remove("/in/x.zip").await);
            step("rename", client.rename("/in/.x.zip.partial", "/in/x.zip").await);
            step("remove partial", client.remove("/in/.x.zip.partial").await);
            client.shutdown().await;
        })
    });
    steps
}

thread_local! {
    /// One event loop for every input: building one per input would dominate the run.
    static SFTP_RUNTIME: tokio::runtime::Runtime =
        tokio::runtime::Builder::new_current_thread().build().expect("a current-thread runtime");
}

/// The server's side of an SFTP channel, in memory: reads yield the fuzz input (a few bytes
/// at a time, as a network does), then end of stream; writes are counted and dropped.
/// Never pending, so a client that waits for a byte that is not there gets EOF, not a hang.
struct ServerBytes<'a> {
    input: &'a [u8],
    sent: usize,
}

impl tokio::io::AsyncRead for ServerBytes<'_> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        // Split reads at odd sizes, so that a packet straddles reads.
        let n = self.input.len().min(buf.remaining()).min(4093);
        let (head, rest) = self.input.split_at(n);
        buf.put_slice(head);
        self.input = rest;
        std::task::Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for ServerBytes<'_> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.sent += buf.len();
        std::task::Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// Any bytes as a `known_hosts` file (`job.destination.known_hosts`, read by russh as
/// ssh.rs does): looked up for a host on the default port and on another, plain and
/// hashed (`|1|…`) entries alike. Errors are fine; a panic is not.
pub fn known_hosts(data: &[u8]) {
    static PATH: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    let path = PATH.get_or_init(|| {
        std::env::temp_dir().join(format!("sis-extract-fuzz-known_hosts-{}", std::process::id()))
    });
    std::fs::write(path, data).expect("write the temporary known_hosts file");
    for port in [22, 2222] {
        if let Ok(keys) = russh::keys::known_hosts::known_host_keys_path("sftp.example.org", port, path) {
            for (_line, key) in keys {
                let _ = key.fingerprint(russh::keys::HashAlg::Sha256).to_string();
            }
        }
    }
}

/// Any bytes as what an SSH server sends first (banner lines, then its KEXINIT), read as
/// sis-extract reads the handshake's record of them, and set against what sis-extract
/// offers: never a panic, and never more text kept than was received.
pub fn server_hello(data: &[u8]) {
    use sis_extract::destination::server_hello::{Hello, parse};
    match parse(data) {
        Hello::Ssh { banner, offers } => {
            // Control characters are shown escaped, at most 10 characters each (`\u{10ffff}`).
            assert!(banner.chars().count() <= 10 * 255, "the banner is cut at 255 characters");
            if let Some(offers) = offers {
                let names = offers.kex.len() + offers.host_key.len() + offers.mac_to_server.len();
                assert!(names <= data.len(), "more names than bytes");
            }
        }
        Hello::NotSsh { first_line } => {
            assert!(first_line.chars().count() <= 10 * 80, "cut at 80 characters")
        }
        Hello::Silent => assert!(data.iter().all(|b| *b == b'\n'), "silence with bytes"),
    }
}

//! delay_proxy: a TCP relay that holds every chunk of bytes for a fixed delay in each
//! direction, for scripts/bench's "20 ms round trip" SFTP case on machines whose kernel
//! has no netem (CONFIG_NET_SCH_NETEM), such as this project's CI machines.
//!
//!   cargo run --release -p bench-rigs --bin delay_proxy -- LISTEN_ADDR TARGET_ADDR DELAY_MS
//!
//! What it models: the latency an application protocol sees (SSH window adjustments,
//! SFTP request/acknowledgement pipelining), on a link of unlimited bandwidth. Data read
//! on one side is written to the other DELAY_MS later, in order; nothing is dropped or
//! throttled. What it does not model: TCP's own congestion window, which on loopback
//! never limits anyway. Not part of sis-extract; a measuring aid only.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: delay_proxy LISTEN_ADDR TARGET_ADDR DELAY_MS (one way)");
        std::process::exit(2);
    }
    let delay = Duration::from_millis(args[3].parse().expect("DELAY_MS must be a number"));
    let listener = TcpListener::bind(&args[1]).expect("cannot listen");
    eprintln!("delay_proxy: {} -> {}, {} ms each way", args[1], args[2], delay.as_millis());
    for client in listener.incoming() {
        let Ok(client) = client else { continue };
        let target = args[2].clone();
        thread::spawn(move || {
            let Ok(server) = TcpStream::connect(&target) else { return };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let upstream = thread::spawn(move || relay(client, server, delay));
            relay(s2, c2, delay);
            let _ = upstream.join();
        });
    }
}

/// Copies `from` to `to`, each chunk written `delay` after it was read.
fn relay(mut from: TcpStream, to: TcpStream, delay: Duration) {
    let (sender, receiver) = mpsc::channel::<(Instant, Vec<u8>)>();
    let writer = thread::spawn(move || {
        let mut to = to;
        for (due, chunk) in receiver {
            let now = Instant::now();
            if due > now {
                thread::sleep(due - now);
            }
            if to.write_all(&chunk).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if sender.send((Instant::now() + delay, buffer[..n].to_vec())).is_err() {
                    break;
                }
            }
        }
    }
    drop(sender);
    let _ = writer.join();
}

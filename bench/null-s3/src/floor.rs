//! The physical floor: what moving and checking a GiB costs this machine at the least, so that the
//! clients' CPU per GiB can be read against it.
//!
//! - `tcp`: the bytes written into a loopback TCP connection by one thread and read out by another,
//!   1 MiB per call (the CPU of sender and receiver together is the process's CPU).
//! - `crc32c`: CRC32C over the bytes (the `crc32c` crate Ferry uses, hardware instructions where the
//!   CPU has them), from a 64 MiB buffer read over and over, so the data comes from memory, not cache.
//!
//! Each prints one JSON line: what, bytes, wall seconds and the CPU seconds of the threads doing the
//! work, from `/proc/thread-self/schedstat` (nanoseconds), read around the work alone: setting up the
//! buffers does not count.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Instant;

use crate::pattern;

/// CPU time of the calling thread so far, in seconds (0 where the kernel does not say).
fn thread_cpu() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0.0, |ns| ns as f64 / 1e9)
}

/// Wall and CPU seconds (sender and receiver) of copying `bytes` through loopback TCP.
pub fn tcp(bytes: u64) -> std::io::Result<(f64, f64)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let receiver = std::thread::spawn(move || -> std::io::Result<(u64, f64)> {
        let mut buf = vec![0u8; 1 << 20];
        let (mut s, _) = listener.accept()?;
        let c0 = thread_cpu();
        let mut got = 0u64;
        loop {
            match s.read(&mut buf)? {
                0 => return Ok((got, thread_cpu() - c0)),
                n => got += n as u64,
            }
        }
    });
    let mut buf = vec![0u8; 1 << 20];
    pattern::fill(1, 0, &mut buf);
    let t0 = Instant::now();
    let c0 = thread_cpu();
    let mut s = TcpStream::connect(addr)?;
    let mut left = bytes;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        s.write_all(&buf[..n])?;
        left -= n as u64;
    }
    drop(s);
    let sender_cpu = thread_cpu() - c0;
    let (got, receiver_cpu) = receiver.join().expect("the receiving thread panicked")?;
    let wall = t0.elapsed().as_secs_f64();
    if got != bytes {
        return Err(std::io::Error::other(format!(
            "received {got} of {bytes} bytes"
        )));
    }
    Ok((wall, sender_cpu + receiver_cpu))
}

/// Wall and CPU seconds of CRC32C over `bytes`, and the value (so the work cannot be skipped).
pub fn crc32c(bytes: u64) -> (f64, f64, u32) {
    let mut buf = vec![0u8; 64 << 20];
    pattern::fill(1, 0, &mut buf);
    let t0 = Instant::now();
    let c0 = thread_cpu();
    let mut crc = 0u32;
    let mut left = bytes;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        crc = crc32c::crc32c_append(crc, std::hint::black_box(&buf[..n]));
        left -= n as u64;
    }
    (t0.elapsed().as_secs_f64(), thread_cpu() - c0, crc)
}

//! The bytes the null server serves for an object it never stored.
//!
//! Byte `i` of object `bucket/key` is `BASE[i mod 1 MiB]`, except that the first 8 bytes of every
//! 4 KiB page hold `seed ^ page_index` (little-endian), where `BASE` is one fixed 1 MiB block of
//! pseudo-random bytes and `seed` is the FNV-1a hash of `bucket/key`. So each object's bytes depend
//! on its name, a range that lands at the wrong offset (or a page of another object) is caught by
//! [`check_file`], and producing them costs a copy: the server's GET does no work a real server
//! would not.

use std::io::Read;
use std::sync::OnceLock;

/// The period of the base block: a multiple of [`PAGE`].
const PERIOD: usize = 1 << 20;
/// Every page starts with its stamp.
const PAGE: u64 = 4096;

fn base() -> &'static [u8] {
    static BASE: OnceLock<Vec<u8>> = OnceLock::new();
    BASE.get_or_init(|| {
        // splitmix64, fixed seed: the same bytes in every process.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut v = Vec::with_capacity(PERIOD);
        while v.len() < PERIOD {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            v.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
        }
        v
    })
}

/// The seed of an object's bytes: FNV-1a of `bucket/key`.
pub fn seed(bucket: &str, key: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bucket.bytes().chain([b'/']).chain(key.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Writes the object's bytes `[offset, offset + buf.len())` into `buf`.
pub fn fill(seed: u64, offset: u64, buf: &mut [u8]) {
    let base = base();
    let mut done = 0;
    while done < buf.len() {
        let at = ((offset + done as u64) % PERIOD as u64) as usize;
        let n = (PERIOD - at).min(buf.len() - done);
        buf[done..done + n].copy_from_slice(&base[at..at + n]);
        done += n;
    }
    if buf.is_empty() {
        return;
    }
    let end = offset + buf.len() as u64;
    for page in offset / PAGE..=(end - 1) / PAGE {
        let stamp = (seed ^ page).to_le_bytes();
        for (j, b) in stamp.iter().enumerate() {
            let pos = page * PAGE + j as u64;
            if pos >= offset && pos < end {
                buf[(pos - offset) as usize] = *b;
            }
        }
    }
}

/// Whether `file` holds exactly the first `size` bytes of the object's pattern; on a difference, the
/// first offset that differs.
pub fn check_file(
    seed: u64,
    size: u64,
    file: &std::path::Path,
) -> std::io::Result<Result<(), u64>> {
    let mut f = std::fs::File::open(file)?;
    let len = f.metadata()?.len();
    let mut got = vec![0u8; PERIOD];
    let mut want = vec![0u8; PERIOD];
    let mut offset = 0u64;
    while offset < size.min(len) {
        let n = (size.min(len) - offset).min(PERIOD as u64) as usize;
        f.read_exact(&mut got[..n])?;
        fill(seed, offset, &mut want[..n]);
        if got[..n] != want[..n] {
            let i = got[..n]
                .iter()
                .zip(&want[..n])
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            return Ok(Err(offset + i as u64));
        }
        offset += n as u64;
    }
    Ok(if len == size {
        Ok(())
    } else {
        Err(len.min(size))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_is_the_same_bytes_as_the_whole_at_that_offset() {
        let s = seed("b", "k");
        let mut whole = vec![0u8; 3 * PERIOD + 123];
        fill(s, 0, &mut whole);
        for (off, len) in [
            (0usize, 5usize),
            (3, 4096),
            (4093, 20),
            (PERIOD - 7, 30),
            (2 * PERIOD + 1, PERIOD),
        ] {
            let mut part = vec![0u8; len];
            fill(s, off as u64, &mut part);
            assert_eq!(part, whole[off..off + len], "range {off}+{len}");
        }
    }

    #[test]
    fn objects_differ_by_name_and_pages_by_place() {
        let mut a = vec![0u8; 8192];
        let mut b = vec![0u8; 8192];
        fill(seed("b", "one"), 0, &mut a);
        fill(seed("b", "two"), 0, &mut b);
        assert_ne!(a, b);
        assert_ne!(a[..4096], a[4096..]);
    }
}

//! Part buffers, reused from one part to the next and across transfers.
//!
//! An upload reads each part into memory before sending it. Allocating a fresh 8 MiB buffer per part
//! costs page faults and zeroing for every byte, and the allocator keeps freed buffers in per-thread
//! arenas (the reads run on tokio's blocking pool, one thread after another), so resident memory
//! creeps far past what is in flight. The pool hands the same few buffers round instead.
//!
//! Invariants: the pool never holds more than `keep_bytes` of capacity; a buffer goes back only when
//! nothing else still refers to it (a request body that outlived its send simply drops its copy).

use std::sync::Mutex;

use bytes::Bytes;

pub struct Buffers {
    free: Mutex<Vec<Vec<u8>>>,
    keep_bytes: usize,
}

impl Buffers {
    /// A pool that keeps at most `keep_bytes` of idle capacity (the engine's memory budget).
    pub fn new(keep_bytes: usize) -> Buffers {
        Buffers {
            free: Mutex::new(Vec::new()),
            keep_bytes,
        }
    }

    /// A buffer of exactly `len` bytes. Its contents are whatever the last user left: callers
    /// overwrite all of it.
    pub fn take(&self, len: usize) -> Vec<u8> {
        let reused = {
            let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
            // The smallest idle buffer that is large enough, so big parts keep big buffers.
            let best = free
                .iter()
                .enumerate()
                .filter(|(_, b)| b.capacity() >= len)
                .min_by_key(|(_, b)| b.capacity())
                .map(|(i, _)| i);
            best.map(|i| free.swap_remove(i))
        };
        match reused {
            Some(mut buf) => {
                if buf.len() >= len {
                    buf.truncate(len);
                } else {
                    buf.resize(len, 0);
                }
                buf
            }
            None => vec![0u8; len],
        }
    }

    /// Returns a buffer handed out by [`Buffers::take`] once its last reference is dropped here.
    pub fn give(&self, data: Bytes) {
        let Ok(buf) = data.try_into_mut() else {
            return;
        };
        let buf = Vec::from(buf);
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        let idle: usize = free.iter().map(Vec::capacity).sum();
        if idle + buf.capacity() <= self.keep_bytes {
            free.push(buf);
        }
    }

    /// Idle capacity held by the pool, in bytes.
    pub fn idle_bytes(&self) -> usize {
        let free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        free.iter().map(Vec::capacity).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_returned_buffer_is_handed_out_again_without_a_new_allocation() {
        let pool = Buffers::new(64 << 20);
        let mut a = pool.take(8 << 20);
        a[0] = 7;
        let ptr = a.as_ptr();
        pool.give(Bytes::from(a));
        assert_eq!(pool.idle_bytes(), 8 << 20);
        let b = pool.take(5 << 20);
        assert_eq!(b.as_ptr(), ptr, "the same memory is reused");
        assert_eq!(b.len(), 5 << 20);
        assert_eq!(pool.idle_bytes(), 0);
        // A shorter buffer grows back to the full length when a larger part needs it.
        pool.give(Bytes::from(b));
        assert_eq!(pool.take(8 << 20).len(), 8 << 20);
    }

    #[test]
    fn a_buffer_still_referenced_elsewhere_is_not_taken_back() {
        let pool = Buffers::new(64 << 20);
        let data = Bytes::from(pool.take(1 << 20));
        let body = data.clone();
        pool.give(data);
        assert_eq!(pool.idle_bytes(), 0);
        drop(body);
    }

    #[test]
    fn the_pool_never_keeps_more_than_its_budget() {
        let pool = Buffers::new(10 << 20);
        let bufs: Vec<_> = (0..3).map(|_| pool.take(4 << 20)).collect();
        for b in bufs {
            pool.give(Bytes::from(b));
        }
        assert_eq!(pool.idle_bytes(), 8 << 20);
    }
}

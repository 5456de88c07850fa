//! A download's temporary file, which its ranges write one at a time.
//!
//! Writes into one file take that file's lock in the kernel, and a thread waiting for it spins
//! while the holder copies: a 1 GiB download from the null server, its ranges writing from both of
//! the runtime's threads, spent 27 % of its samples in `rwsem_spin_on_owner`, one of two cores
//! burnt waiting (0.90 CPU-s, 0.61 s). Taking turns here first, a waiting thread sleeps instead:
//! 0.63 CPU-s, 0.55 s. (A writer thread per download that the ranges hand their chunks to did
//! worse, 0.83 CPU-s and 0.60 s: its copies read the chunks from another core's cache.)

use std::fs::File;
use std::io;
use std::ops::Deref;
use std::sync::Mutex;

pub(super) struct TempFile {
    file: File,
    turn: Mutex<()>,
}

impl TempFile {
    pub(super) fn new(file: File) -> TempFile {
        TempFile {
            file,
            turn: Mutex::new(()),
        }
    }

    /// Writes all of `buf` at `offset`, after the writes of other ranges already under way.
    pub(super) fn put(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        let _turn = self.turn.lock().unwrap_or_else(|p| p.into_inner());
        write_at(&self.file, buf, offset)
    }
}

impl Deref for TempFile {
    type Target = File;

    fn deref(&self) -> &File {
        &self.file
    }
}

fn write_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        file.write_all_at(buf, offset)
    }
    #[cfg(windows)]
    {
        use std::os::windows::fs::FileExt;
        let mut done = 0;
        while done < buf.len() {
            done += file.seek_write(&buf[done..], offset + done as u64)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn ranges_written_from_many_threads_land_at_their_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let file = Arc::new(TempFile::new(File::create(&path).unwrap()));
        let threads: Vec<_> = (0..8u64)
            .map(|range| {
                let file = file.clone();
                std::thread::spawn(move || {
                    for chunk in 0..64u64 {
                        let offset = range * 64 * 100 + chunk * 100;
                        file.put(&[(range * 64 + chunk) as u8; 100], offset)
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        file.sync_all().unwrap();
        let got = std::fs::read(&path).unwrap();
        assert_eq!(got.len(), 8 * 64 * 100);
        for (i, c) in got.chunks(100).enumerate() {
            assert!(c.iter().all(|&b| b == i as u8), "chunk {i}");
        }
    }
}

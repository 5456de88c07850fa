//! A GET's body read in large chunks.
//!
//! s3s-fs streams an object through `tokio::fs::File` 4 KiB at a time: every 4 KiB is a trip to the
//! blocking thread pool and back (262,144 per GiB), which made the embedded endpoint spend 5–7 CPU-s
//! per GiB served, most of it waking threads, and sent the bytes in 4 KiB writes that cost the client
//! a wake-up each. [`FileBody`] reads the same file 256 KiB per trip with `pread`.
//!
//! The body must be the bytes of the object whose headers s3s-fs answered with (its length, ETag and
//! checksums). s3s-fs replaces an object by renaming a new file over it, so the file we open is the
//! one s3s-fs opened unless a PUT landed in between; [`FileBody::open_like`] only takes over when the
//! file it opened has the length and modification time (to the nanosecond) s3s-fs reported, and the
//! key names a plain path under the bucket. Otherwise s3s-fs's own body is kept.

use std::fs::File;
use std::future::Future as _;
use std::os::unix::fs::FileExt as _;
use std::path::{Component, Path};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use s3s::dto::{GetObjectOutput, Range, StreamingBlob, Timestamp};
use tokio::task::JoinHandle;

/// Bytes per read: large enough that the trips to the blocking pool cost little per byte, small
/// enough that a GET in flight holds little memory.
const CHUNK: u64 = 256 * 1024;

pub(super) struct FileBody {
    file: Arc<File>,
    at: u64,
    left: u64,
    reading: Option<JoinHandle<std::io::Result<Bytes>>>,
}

impl FileBody {
    /// The body for s3s-fs's answer `out` to a GET of `key` in `bucket` (with `range`, already
    /// checked by s3s-fs), read from our own open of the file; `None` when that file cannot be shown
    /// to be the one s3s-fs answered about.
    pub(super) async fn open_like(
        root: &Path,
        bucket: &str,
        key: &str,
        range: Option<Range>,
        out: &GetObjectOutput,
    ) -> Option<FileBody> {
        let plain = |s: &str| {
            let p = Path::new(s);
            !s.is_empty() && p.components().all(|c| matches!(c, Component::Normal(_)))
        };
        if !plain(bucket) || !plain(key) {
            return None;
        }
        let path = root.join(bucket).join(key);
        let file = tokio::task::spawn_blocking(move || {
            let file = File::open(path).ok()?;
            let meta = file.metadata().ok()?;
            Some((file, meta))
        })
        .await
        .ok()??;
        let (file, meta) = file;
        let len = meta.len();
        let modified = Timestamp::from(meta.modified().ok()?);
        if !meta.is_file() || out.last_modified.as_ref() != Some(&modified) {
            return None;
        }
        let span = match range {
            None => 0..len,
            Some(r) => r.check(len).ok()?,
        };
        let sent = out.content_length.and_then(|n| u64::try_from(n).ok());
        if sent != Some(span.end - span.start) {
            return None;
        }
        Some(FileBody {
            file: Arc::new(file),
            at: span.start,
            left: span.end - span.start,
            reading: None,
        })
    }

    pub(super) fn into_blob(self) -> StreamingBlob {
        StreamingBlob::wrap(self)
    }
}

impl Stream for FileBody {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.reading.is_none() {
            if this.left == 0 {
                return Poll::Ready(None);
            }
            let (file, at, n) = (this.file.clone(), this.at, this.left.min(CHUNK) as usize);
            this.reading = Some(tokio::task::spawn_blocking(move || {
                let mut buf = vec![0u8; n];
                file.read_exact_at(&mut buf, at)?;
                Ok(Bytes::from(buf))
            }));
        }
        let done = ready!(Pin::new(this.reading.as_mut().expect("set above")).poll(cx));
        this.reading = None;
        let read = done.unwrap_or_else(|e| Err(std::io::Error::other(e)));
        Poll::Ready(Some(match read {
            Ok(bytes) => {
                this.at += bytes.len() as u64;
                this.left -= bytes.len() as u64;
                Ok(bytes)
            }
            Err(e) => {
                // The object shrank under us (or the disk failed): end the body short, so the
                // client sees an incomplete answer rather than wrong bytes.
                this.left = 0;
                Err(e)
            }
        }))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.left.div_ceil(CHUNK) as usize;
        (n, Some(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn collect(mut body: FileBody) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(chunk) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_next(cx)).await {
            out.extend_from_slice(&chunk.unwrap());
        }
        out
    }

    fn answer_for(path: &Path, len: u64) -> GetObjectOutput {
        let meta = std::fs::metadata(path).unwrap();
        GetObjectOutput {
            content_length: Some(len as i64),
            last_modified: Some(Timestamp::from(meta.modified().unwrap())),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn a_body_of_many_chunks_and_its_ranges_are_the_files_bytes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("bkt/a")).unwrap();
        let path = dir.path().join("bkt/a/obj");
        let data: Vec<u8> = (0..(CHUNK * 3 + 1234))
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        std::fs::write(&path, &data).unwrap();
        let n = data.len() as u64;

        let whole = answer_for(&path, n);
        let body = FileBody::open_like(dir.path(), "bkt", "a/obj", None, &whole)
            .await
            .expect("the file is the one answered about");
        assert_eq!(body.size_hint(), (4, Some(4)));
        assert_eq!(collect(body).await, data);

        let ranges = [
            (
                Range::Int {
                    first: CHUNK - 1,
                    last: Some(CHUNK * 2 + 5),
                },
                (CHUNK - 1) as usize..(CHUNK * 2 + 6) as usize,
            ),
            (
                Range::Int {
                    first: 10,
                    last: None,
                },
                10..data.len(),
            ),
            (Range::Suffix { length: 100 }, data.len() - 100..data.len()),
        ];
        for (range, want) in ranges {
            let out = answer_for(&path, (want.end - want.start) as u64);
            let body = FileBody::open_like(dir.path(), "bkt", "a/obj", Some(range), &out)
                .await
                .unwrap();
            assert_eq!(collect(body).await, &data[want]);
        }
    }

    #[tokio::test]
    async fn a_file_other_than_the_one_answered_about_is_not_served() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("bkt")).unwrap();
        let path = dir.path().join("bkt/obj");
        std::fs::write(&path, b"first version").unwrap();
        let answered = answer_for(&path, 13);
        // Replaced (by rename, as s3s-fs does) after the answer was made: another modification time.
        let next = dir.path().join("bkt/.next");
        std::fs::write(&next, b"second versio").unwrap();
        let later = std::fs::metadata(&path).unwrap().modified().unwrap()
            + std::time::Duration::from_millis(5);
        std::fs::File::options()
            .write(true)
            .open(&next)
            .unwrap()
            .set_modified(later)
            .unwrap();
        std::fs::rename(&next, &path).unwrap();
        let got = FileBody::open_like(dir.path(), "bkt", "obj", None, &answered).await;
        assert!(
            got.is_none(),
            "a replaced file must not be served under the old answer"
        );

        // Wrong length for the range, and keys that are not plain paths: not served either.
        let now = answer_for(&path, 12);
        assert!(FileBody::open_like(dir.path(), "bkt", "obj", None, &now)
            .await
            .is_none());
        let now = answer_for(&path, 13);
        for key in ["../bkt/obj", "./obj", "", "/obj"] {
            assert!(
                FileBody::open_like(dir.path(), "bkt", key, None, &now)
                    .await
                    .is_none(),
                "{key}"
            );
        }
        assert!(FileBody::open_like(dir.path(), "bkt", "obj", None, &now)
            .await
            .is_some());
    }
}

//! Streams: standard input to an object (`ferry cp - s3://b/k`) and an object to standard output
//! (`ferry cp s3://b/k -`, `ferry cat`), with memory bounded by the parts in flight.
//!
//! An upload of a stream of unknown length fills parts from the input one after the other and sends
//! a few at a time (each with its CRC32C); input shorter than one part is one PutObject. Parts are
//! [`STREAM_PART`] (or the given size) for the first 1,000, and double every 1,000 after, so the
//! 10,000 parts S3 allows hold about 8 TB while a small stream costs little memory. A stream cannot be
//! read again, so it is not a queued transfer and cannot resume: when anything fails (the input, a
//! part, the stop token), the multipart upload is aborted so nothing is left on the server, and no
//! object appears. (A process killed with SIGKILL cannot abort: its upload stays until a lifecycle
//! rule removes it.)
//!
//! A download to a stream fetches ranges in parallel (If-Match the ETag of its HEAD) and writes them
//! in order; at most a few ranges are held. What is written is checked as it goes against what the
//! server keeps: a full-object CRC, a composite CRC (each part's CRC from its bytes, the part lengths
//! from HEADs with `partNumber`), or a single-part object's MD5 ETag. The bytes are already written
//! when a mismatch is found at the end: it is an error, never silent.

use std::collections::VecDeque;

use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use md5::Digest as _;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::task::JoinSet;

use super::*;
use crate::transfer::checksum::{self, Composite};
use crate::transfer::upload::{with_object_options, ObjectOptions};

/// Part size of a stream's first 1,000 parts (it doubles every 1,000 after).
pub const STREAM_PART: u64 = 8 * plan::MIB;

/// Parts (or ranges) of one stream in flight at once, at most.
const STREAM_PARTS_IN_FLIGHT: usize = 4;

/// What a stream moved, and for a download what its bytes were checked against.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Streamed {
    pub bytes: u64,
    pub parts: usize,
    /// The server's value the bytes matched (e.g. `CRC64NVME`, `composite CRC32C`, `MD5 ETag`);
    /// `None` when the server keeps nothing to check against.
    pub verified: Option<String>,
}

/// The size of part `n` (from 1) of a stream whose first parts are `base`: doubled every 1,000
/// parts, never above S3's largest part.
pub fn stream_part_size(n: u32, base: u64) -> u64 {
    let doublings = (n.saturating_sub(1) / 1000).min(20);
    (base << doublings).min(plan::MAX_PART_SIZE)
}

impl Engine {
    /// Uploads `input` (of unknown length) to `dst`; see the module doc. `stop` aborts it.
    pub async fn upload_stream(
        &self,
        conn: &Connection,
        mut input: impl AsyncRead + Unpin + Send,
        dst: &S3Url,
        part_size: Option<u64>,
        object: &ObjectOptions,
        stop: &CancellationToken,
    ) -> Result<Streamed> {
        if dst.key.is_empty() || dst.key.ends_with('/') {
            return Err(Error::invalid(format!(
                "{dst} names a prefix; a stream needs an object key (s3://bucket/key)"
            )));
        }
        check_key(&dst.key)?;
        object.validate()?;
        let object = &self.account_defaults(&conn.account)?.apply(object);
        let base = part_size.unwrap_or(STREAM_PART);
        if !(plan::MIN_PART_SIZE..=plan::MAX_PART_SIZE).contains(&base) {
            return Err(Error::invalid(
                "--part-size must be between 5 MiB and 5 GiB (S3's limits)",
            ));
        }
        let s3 = self.requests(conn).await?;
        self.require_bucket(&s3, &dst.bucket).await?;
        let up = StreamUpload { s3, dst, object };
        let first = tokio::select! {
            r = fill(&mut input, base) => r?,
            _ = stop.cancelled() => return Err(up.interrupted()),
        };
        if (first.len() as u64) < base {
            return up.single_put(first).await;
        }
        let upload_id = up.create().await?;
        let result = tokio::select! {
            r = up.parts(&upload_id, first, &mut input, base, self.limits().parts_in_flight) => r,
            _ = stop.cancelled() => Err(up.interrupted()),
        };
        match result {
            Ok(streamed) => Ok(streamed),
            Err(e) => {
                let aborted =
                    upload::abort(up.s3.client(), &dst.bucket, &dst.key, &upload_id).await;
                let note = match aborted {
                    Ok(()) => "the partial upload was aborted and nothing was written",
                    Err(_) => "the partial upload could not be aborted (`ferry clean-uploads` cannot see it: abort it with the server's tools)",
                };
                Err(Error {
                    message: format!(
                        "{}; {note}. A stream cannot be resumed: send it again",
                        e.message
                    ),
                    ..e
                })
            }
        }
    }

    /// Writes the object `src` to `out` in order; see the module doc.
    pub async fn download_stream(
        &self,
        conn: &Connection,
        src: &S3Url,
        mut out: impl AsyncWrite + Unpin + Send,
        range_size: Option<u64>,
    ) -> Result<Streamed> {
        if src.key.is_empty() || src.key.ends_with('/') {
            return Err(Error::invalid(format!(
                "{src} names a prefix; name one object (s3://bucket/key)"
            )));
        }
        let range = range_size.unwrap_or(plan::DEFAULT_PART_SIZE).max(1);
        let s3 = self.requests(conn).await?;
        let what = format!("read s3://{}/{}", src.bucket, src.key);
        let head = s3.head_with_checksums(&what, &src.bucket, &src.key).await?;
        let size = head.content_length().unwrap_or(0).max(0) as u64;
        let etag = head.e_tag().map(str::to_string);
        let mut check = Check::of(&s3, src, &head, size).await?;
        let in_flight = self
            .limits()
            .parts_in_flight
            .clamp(1, STREAM_PARTS_IN_FLIGHT);
        // Ranges still being fetched are stopped when this returns early (their guard drops).
        let mut pending: VecDeque<AbortOnDrop> = VecDeque::new();
        let mut next = 0u64;
        let mut parts = 0;
        while next < size || !pending.is_empty() {
            while next < size && pending.len() < in_flight {
                let last = (next + range).min(size) - 1;
                let (s3, b, k, e) = (
                    s3.clone(),
                    src.bucket.clone(),
                    src.key.clone(),
                    etag.clone(),
                );
                pending.push_back(AbortOnDrop(tokio::spawn(async move {
                    s3.get_range(&b, &k, (next, last), e.as_deref()).await
                })));
                next = last + 1;
            }
            let Some(mut task) = pending.pop_front() else {
                break;
            };
            let bytes = (&mut task.0)
                .await
                .map_err(|e| Error::internal(format!("{what}: {e}")))??;
            check.update(&bytes);
            out.write_all(&bytes)
                .await
                .map_err(|e| write_error(&what, e))?;
            parts += 1;
        }
        out.flush().await.map_err(|e| write_error(&what, e))?;
        let verified = check.finish(&what)?;
        Ok(Streamed {
            bytes: size,
            parts,
            verified,
        })
    }
}

/// A range being fetched, stopped if it is dropped before it is awaited.
struct AbortOnDrop(tokio::task::JoinHandle<Result<Bytes>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn write_error(what: &str, e: std::io::Error) -> Error {
    Error::new(
        ErrorKind::Interrupted,
        format!("{what}: the output closed before the object was written whole ({e})"),
    )
}

/// Reads from `input` until `len` bytes or its end.
async fn fill(input: &mut (impl AsyncRead + Unpin), len: u64) -> Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(len as usize);
    (&mut *input)
        .take(len)
        .read_to_end(&mut buf)
        .await
        .map_err(|e| {
            Error::new(
                ErrorKind::Storage,
                format!("cannot read standard input: {e}"),
            )
        })?;
    Ok(buf)
}

/// One stream's upload: where to, and with what.
struct StreamUpload<'a> {
    s3: s3::Requests,
    dst: &'a S3Url,
    object: &'a ObjectOptions,
}

impl StreamUpload<'_> {
    fn what(&self) -> String {
        format!("upload standard input to {}", self.dst)
    }

    fn interrupted(&self) -> Error {
        Error::new(
            ErrorKind::Interrupted,
            format!("{}: interrupted", self.what()),
        )
    }

    async fn single_put(&self, data: Vec<u8>) -> Result<Streamed> {
        let (what, len) = (self.what(), data.len() as u64);
        let data = Bytes::from(data);
        let crc = transfer::crc32c_b64(&data);
        let (o, d) = (self.object, self.dst);
        self.s3
            .send(&what, |c| {
                let req = c
                    .put_object()
                    .bucket(&d.bucket)
                    .key(&d.key)
                    .content_length(len as i64)
                    .checksum_crc32_c(&crc)
                    .body(data.clone().into());
                with_object_options!(req, o, &d.key, None).send()
            })
            .await?;
        Ok(Streamed {
            bytes: len,
            parts: 1,
            verified: None,
        })
    }

    async fn create(&self) -> Result<String> {
        let what = self.what();
        let (o, d) = (self.object, self.dst);
        let out = self
            .s3
            .send(&what, |c| {
                let req = c
                    .create_multipart_upload()
                    .bucket(&d.bucket)
                    .key(&d.key)
                    .checksum_algorithm(ChecksumAlgorithm::Crc32C);
                with_object_options!(req, o, &d.key, None).send()
            })
            .await?;
        out.upload_id()
            .map(str::to_string)
            .ok_or_else(|| Error::internal(format!("{what}: the server returned no upload id")))
    }

    /// Sends `first` and the parts read after it, `in_flight` at a time, then completes.
    async fn parts(
        &self,
        upload_id: &str,
        first: Vec<u8>,
        input: &mut (impl AsyncRead + Unpin),
        base: u64,
        in_flight: usize,
    ) -> Result<Streamed> {
        let in_flight = in_flight.clamp(1, STREAM_PARTS_IN_FLIGHT);
        let mut sending = JoinSet::new();
        let mut done: Vec<CompletedPart> = Vec::new();
        let (mut n, mut data, mut bytes) = (1u32, first, 0u64);
        loop {
            bytes += data.len() as u64;
            if sending.len() >= in_flight {
                done.push(joined(sending.join_next().await)?);
            }
            let (s3, d, id) = (self.s3.clone(), self.dst.clone(), upload_id.to_string());
            sending.spawn(async move { send_part(&s3, &d, &id, n, Bytes::from(data)).await });
            if n as u64 == plan::MAX_PARTS {
                let mut probe = [0u8; 1];
                if input.read(&mut probe).await.unwrap_or(0) > 0 {
                    return Err(Error::invalid(format!(
                        "{}: the stream is longer than S3's 10,000 parts allow; give a larger --part-size",
                        self.what()
                    )));
                }
                break;
            }
            n += 1;
            data = fill(input, stream_part_size(n, base)).await?;
            if data.is_empty() {
                break;
            }
        }
        while let Some(j) = sending.join_next().await {
            done.push(joined(Some(j))?);
        }
        done.sort_by_key(|p| p.part_number());
        let parts = done.len();
        let completed = CompletedMultipartUpload::builder()
            .set_parts(Some(done))
            .build();
        let (what, d) = (self.what(), self.dst);
        self.s3
            .send(&what, |c| {
                c.complete_multipart_upload()
                    .bucket(&d.bucket)
                    .key(&d.key)
                    .upload_id(upload_id)
                    .multipart_upload(completed.clone())
                    .send()
            })
            .await?;
        Ok(Streamed {
            bytes,
            parts,
            verified: None,
        })
    }
}

fn joined(
    j: Option<std::result::Result<Result<CompletedPart>, tokio::task::JoinError>>,
) -> Result<CompletedPart> {
    match j {
        Some(Ok(r)) => r,
        Some(Err(e)) => Err(Error::internal(format!("a part's task failed: {e}"))),
        None => Err(Error::internal("no part was being sent")),
    }
}

async fn send_part(
    s3: &s3::Requests,
    dst: &S3Url,
    upload_id: &str,
    n: u32,
    data: Bytes,
) -> Result<CompletedPart> {
    let crc = transfer::crc32c_b64(&data);
    let what = format!("upload part {n} of {dst}");
    let out = s3
        .send(&what, |c| {
            c.upload_part()
                .bucket(&dst.bucket)
                .key(&dst.key)
                .upload_id(upload_id)
                .part_number(n as i32)
                .content_length(data.len() as i64)
                .checksum_crc32_c(&crc)
                .body(data.clone().into())
                .send()
        })
        .await?;
    Ok(CompletedPart::builder()
        .part_number(n as i32)
        .set_e_tag(out.e_tag().map(str::to_string))
        .checksum_crc32_c(crc)
        .build())
}

/// What the bytes of a streamed download are checked against, computed as they are written.
enum Check {
    Full {
        digest: checksum::Digest,
        expected: checksum::FullChecksum,
    },
    /// Each part's CRC, from the part lengths, against the composite.
    Composite {
        composite: Composite,
        lens: VecDeque<u64>,
        digest: checksum::Digest,
        left: u64,
        values: Vec<u64>,
    },
    Md5 {
        hasher: md5::Md5,
        etag: String,
    },
    Nothing,
}

impl Check {
    async fn of(
        s3: &s3::Requests,
        src: &S3Url,
        head: &aws_sdk_s3::operation::head_object::HeadObjectOutput,
        size: u64,
    ) -> Result<Check> {
        let (full, composite) = checksum::of_answer(
            head.checksum_crc32(),
            head.checksum_crc32_c(),
            head.checksum_crc64_nvme(),
            head.checksum_type(),
        );
        if let Some(expected) = full {
            return Ok(Check::Full {
                digest: expected.algo.digest(),
                expected,
            });
        }
        if let Some(composite) = composite {
            let lens = part_lengths(s3, src, head, composite.parts, size).await?;
            return Ok(Check::Composite {
                digest: composite.algo.digest(),
                left: lens.first().copied().unwrap_or(0),
                lens: lens.into_iter().collect(),
                composite,
                values: Vec::new(),
            });
        }
        match head.e_tag().map(|e| e.trim_matches('"')) {
            Some(e) if e.len() == 32 && e.bytes().all(|b| b.is_ascii_hexdigit()) => {
                Ok(Check::Md5 {
                    hasher: md5::Md5::new(),
                    etag: e.to_ascii_lowercase(),
                })
            }
            _ => Ok(Check::Nothing),
        }
    }

    fn update(&mut self, mut bytes: &[u8]) {
        match self {
            Check::Full { digest, .. } => digest.update(bytes),
            Check::Md5 { hasher, .. } => hasher.update(bytes),
            Check::Composite {
                lens,
                digest,
                left,
                values,
                composite,
            } => {
                while !bytes.is_empty() {
                    let take = (*left).min(bytes.len() as u64) as usize;
                    digest.update(&bytes[..take]);
                    bytes = &bytes[take..];
                    *left -= take as u64;
                    if *left == 0 {
                        values.push(digest.value());
                        *digest = composite.algo.digest();
                        lens.pop_front();
                        match lens.front() {
                            Some(l) => *left = *l,
                            // More bytes than the parts hold: the value cannot match.
                            None if !bytes.is_empty() => {
                                values.push(u64::MAX);
                                return;
                            }
                            None => {}
                        }
                    }
                }
            }
            Check::Nothing => {}
        }
    }

    /// What the bytes were verified against; an error when they do not match it.
    fn finish(self, what: &str) -> Result<Option<String>> {
        let (ok, name) = match self {
            Check::Full { digest, expected } => (
                expected.algo.encode(digest.value()) == expected.value,
                expected.algo.name().to_string(),
            ),
            Check::Composite {
                composite, values, ..
            } => (
                composite.matches(&values),
                format!("composite {}", composite.algo.name()),
            ),
            Check::Md5 { hasher, etag } => {
                let sum: String = hasher
                    .finalize()
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                (sum == etag, "MD5 ETag".to_string())
            }
            Check::Nothing => return Ok(None),
        };
        if !ok {
            return Err(Error::new(
                ErrorKind::Corrupt,
                format!("{what}: the bytes written do not match the server's {name}; do not trust the output"),
            ));
        }
        Ok(Some(name))
    }
}

/// The lengths of an object's parts, from HEADs with `partNumber`: the first and the last, taken as
/// equal parts when they add up to the size, otherwise each one.
async fn part_lengths(
    s3: &s3::Requests,
    src: &S3Url,
    head: &aws_sdk_s3::operation::head_object::HeadObjectOutput,
    parts: Option<u32>,
    size: u64,
) -> Result<Vec<u64>> {
    let what = format!("read the parts of {src}");
    let etag = head.e_tag().map(str::to_string);
    let part = |n: u32| {
        let (what, etag) = (what.clone(), etag.clone());
        async move {
            let h = s3
                .send(&what, |c| {
                    c.head_object()
                        .bucket(&src.bucket)
                        .key(&src.key)
                        .part_number(n as i32)
                        .set_if_match(etag.clone())
                        .send()
                })
                .await?;
            Ok::<_, Error>((
                h.content_length().unwrap_or(0).max(0) as u64,
                h.parts_count().and_then(|c| u32::try_from(c).ok()),
            ))
        }
    };
    let (first, count) = part(1).await?;
    let n = parts.or(count).unwrap_or(1).max(1);
    if n == 1 {
        return Ok(vec![size]);
    }
    let (last, _) = part(n).await?;
    if first * u64::from(n - 1) + last == size {
        let mut lens = vec![first; n as usize - 1];
        lens.push(last);
        return Ok(lens);
    }
    let mut lens = vec![first];
    for i in 2..=n {
        lens.push(part(i).await?.0);
    }
    Ok(lens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_parts_double_every_thousand_and_never_pass_five_gib() {
        let base = STREAM_PART;
        assert_eq!(stream_part_size(1, base), base);
        assert_eq!(stream_part_size(1000, base), base);
        assert_eq!(stream_part_size(1001, base), 2 * base);
        assert_eq!(stream_part_size(10_000, base), 512 * base);
        assert_eq!(stream_part_size(10_000, plan::GIB), plan::MAX_PART_SIZE);
        let total: u64 = (1..=10_000).map(|n| stream_part_size(n, base)).sum();
        assert!(total > 8_000_000_000_000, "{total}");
    }
}

//! What a multipart object keeps of its parts on the embedded endpoint, which s3s-fs 0.14.1 does not:
//! the checksum each part was sent with, the object's checksum at completion, and its part sizes.
//!
//! - UploadPart: the part's CRC of the algorithm CreateMultipartUpload declared (or the one the
//!   request sent) is computed from the stored part, checked against the header (BadDigest, and the
//!   part is dropped), and kept in `.ferry-mpu-ID.part-N` beside the upload's index.
//! - CompleteMultipartUpload: a full-object checksum the client sends is checked against the parts
//!   (BadDigest before anything is assembled). Without one, an upload that declared an algorithm gets
//!   what S3 gives it: a COMPOSITE value (the checksum of the parts' big-endian checksums, `…-N`) for
//!   CRC32 and CRC32C unless FULL_OBJECT was declared, else the full-object CRC combined from the parts.
//! - The object's record (s3s-fs's internal JSON) keeps that checksum, its type, the part sizes and
//!   the parts' checksums, and drops whatever an earlier object of the same key left there; HEAD and
//!   GET answer with the type, and with `partNumber` serve that part: its bytes, length and checksum,
//!   and the parts count.

use std::path::PathBuf;

/// The CRC checksum fields of an S3 output, for [`set_checksum`].
macro_rules! crc_fields {
    ($out:expr) => {
        [
            &mut $out.checksum_crc32,
            &mut $out.checksum_crc32c,
            &mut $out.checksum_crc64nvme,
        ]
    };
}

use s3s::dto::*;
use s3s::{s3_error, S3Result};
use serde_json::{Map, Value};

use super::LocalS3;
use crate::transfer::checksum::{self, Algorithm, Composite, FullChecksum};

/// The part-by-part record of a completed multipart object, read back from its internal JSON.
#[derive(Debug, Default)]
pub(super) struct ObjectParts {
    /// COMPOSITE or FULL_OBJECT, when the object has a CRC checksum.
    pub kind: Option<String>,
    /// Part sizes in order; empty for an object that was not uploaded in parts.
    pub sizes: Vec<u64>,
    /// The parts' checksums (base64) of `algo`, when they were kept.
    pub values: Vec<String>,
    pub algo: Option<Algorithm>,
}

/// One part of an object as a read by part number sees it.
pub(super) struct PartSlice {
    pub first: u64,
    pub len: u64,
    /// The parts count, for a multipart object.
    pub count: Option<i32>,
    /// The part's checksum, when it is known.
    pub checksum: Option<(Algorithm, String)>,
}

impl ObjectParts {
    /// Part `n` of an object of `total` bytes. Part 1 of an object not uploaded in parts is the
    /// whole object, as on S3; any other number is InvalidPartNumber.
    pub fn part(&self, n: i32, total: u64) -> S3Result<PartSlice> {
        if self.sizes.is_empty() {
            return match n {
                1 => Ok(PartSlice {
                    first: 0,
                    len: total,
                    count: None,
                    checksum: None,
                }),
                _ => Err(invalid_part_number()),
            };
        }
        let i = usize::try_from(n - 1)
            .ok()
            .filter(|i| *i < self.sizes.len())
            .ok_or_else(invalid_part_number)?;
        Ok(PartSlice {
            first: self.sizes[..i].iter().sum(),
            len: self.sizes[i],
            count: Some(self.sizes.len() as i32),
            checksum: self.algo.zip(self.values.get(i).cloned()),
        })
    }
}

fn invalid_part_number() -> s3s::S3Error {
    let mut e = s3s::S3Error::with_message(
        s3s::S3ErrorCode::Custom("InvalidPartNumber".into()),
        "The requested partnumber is not satisfiable",
    );
    e.set_status_code(hyper::StatusCode::RANGE_NOT_SATISFIABLE);
    e
}

/// The CRC checksum headers a request carried: (algorithm, base64 value).
pub(super) fn sent_checksums(
    crc32: Option<&str>,
    crc32c: Option<&str>,
    crc64nvme: Option<&str>,
) -> Vec<(Algorithm, String)> {
    [
        (Algorithm::Crc32, crc32),
        (Algorithm::Crc32c, crc32c),
        (Algorithm::Crc64Nvme, crc64nvme),
    ]
    .into_iter()
    .filter_map(|(a, v)| v.map(|v| (a, v.to_string())))
    .collect()
}

/// Puts `checksum` in the field of its algorithm (and clears the others) of a response.
pub(super) fn set_checksum(
    fields: [&mut Option<String>; 3],
    checksum: Option<(Algorithm, String)>,
) {
    let [crc32, crc32c, crc64nvme] = fields;
    *crc32 = None;
    *crc32c = None;
    *crc64nvme = None;
    if let Some((algo, value)) = checksum {
        *match algo {
            Algorithm::Crc32 => crc32,
            Algorithm::Crc32c => crc32c,
            Algorithm::Crc64Nvme => crc64nvme,
        } = Some(value);
    }
}

/// Where s3s-fs 0.14.1 keeps part `n` of an upload.
/// The object's internal record, where s3s-fs keeps its ETag and checksums. The name follows
/// s3s-fs 0.14.1's layout (pinned in Cargo.toml), which it does not expose.
pub(super) fn info_path(root: &std::path::Path, bucket: &str, key: &str) -> PathBuf {
    let url = |s: &str| {
        aws_smithy_types::base64::encode(s)
            .trim_end_matches('=')
            .replace('+', "-")
            .replace('/', "_")
    };
    root.join(format!(
        ".bucket-{}.object-{}.internal.json",
        url(bucket),
        url(key)
    ))
}

fn part_path(root: &std::path::Path, upload_id: &str, n: i32) -> PathBuf {
    root.join(format!(".upload_id-{upload_id}.part-{n}"))
}

fn part_checksum_path(root: &std::path::Path, upload_id: &str, n: i32) -> PathBuf {
    root.join(format!(".ferry-mpu-{upload_id}.part-{n}"))
}

/// Part `n`'s checksum for ListParts: the one kept at UploadPart, else (a request cut between
/// storing the part and keeping its checksum) the declared algorithm's, computed from its bytes, as
/// S3 never holds a part without its checksum.
pub(super) fn listed_part_checksum(
    root: &std::path::Path,
    upload_id: &str,
    n: i32,
    declared: Option<Algorithm>,
) -> Option<(Algorithm, String)> {
    let kept = std::fs::read_to_string(part_checksum_path(root, upload_id, n))
        .ok()
        .and_then(|t| checksum::parse_part(&t));
    let (algo, value) = match (kept, declared) {
        (Some(kept), _) => kept,
        (None, Some(algo)) => {
            let part = part_path(root, upload_id, n);
            (algo, algo.of_file(&part).ok()?)
        }
        (None, None) => return None,
    };
    Some((algo, algo.encode(value)))
}

/// A GET's answer: with a part number, the parts count and the part's checksum; with a checksum, its
/// type.
pub(super) fn answer_get(out: &mut GetObjectOutput, parts: ObjectParts, slice: Option<PartSlice>) {
    if let Some(slice) = slice {
        out.parts_count = slice.count;
        if slice.count.is_some() {
            set_checksum(crc_fields!(out), slice.checksum);
        }
    }
    let has_crc = out.checksum_crc32.is_some()
        || out.checksum_crc32c.is_some()
        || out.checksum_crc64nvme.is_some();
    if has_crc {
        out.checksum_type = parts.kind.map(ChecksumType::from);
    }
}

/// What a CompleteMultipartUpload makes of the parts, before s3s-fs assembles (and deletes) them.
pub(super) struct Completion {
    checksum: Option<(Algorithm, String)>,
    kind: Option<&'static str>,
    sizes: Vec<u64>,
    algo: Option<Algorithm>,
    values: Vec<u64>,
}

impl LocalS3 {
    /// A HEAD's answer: the checksum type, and with `part` that part's length, checksum and the
    /// parts count.
    pub(super) fn answer_head(
        &self,
        bucket: &str,
        key: &str,
        part: Option<i32>,
        out: &mut HeadObjectOutput,
    ) -> S3Result<()> {
        let parts = self.object_parts(bucket, key);
        out.checksum_type = parts.kind.clone().map(ChecksumType::from);
        if let Some(n) = part {
            let total = out.content_length.unwrap_or(0).max(0) as u64;
            let slice = parts.part(n, total)?;
            out.content_length = Some(slice.len as i64);
            out.parts_count = slice.count;
            if slice.count.is_some() {
                set_checksum(crc_fields!(out), slice.checksum);
            }
        }
        Ok(())
    }

    /// A GET of a part by number becomes a range over the assembled object.
    pub(super) fn part_as_range(
        &self,
        input: &mut GetObjectInput,
    ) -> S3Result<(ObjectParts, Option<PartSlice>)> {
        let parts = self.object_parts(&input.bucket, &input.key);
        let Some(n) = input.part_number.take() else {
            return Ok((parts, None));
        };
        let path = self.root.join(&input.bucket).join(&input.key);
        let total = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let slice = parts.part(n, total)?;
        if slice.len > 0 {
            input.range = Some(Range::Int {
                first: slice.first,
                last: Some(slice.first + slice.len - 1),
            });
        }
        Ok((parts, Some(slice)))
    }

    fn part_path(&self, upload_id: &str, n: i32) -> PathBuf {
        part_path(&self.root, upload_id, n)
    }

    fn part_checksum_path(&self, upload_id: &str, n: i32) -> PathBuf {
        part_checksum_path(&self.root, upload_id, n)
    }

    /// After s3s-fs stored part `n`: its checksum of the declared algorithm (or the one sent), checked
    /// against what was sent and kept. Returns the value to answer with.
    pub(super) fn keep_part_checksum(
        &self,
        upload_id: &str,
        n: i32,
        declared: Option<Algorithm>,
        sent: &[(Algorithm, String)],
    ) -> S3Result<Option<(Algorithm, String)>> {
        let path = self.part_path(upload_id, n);
        let mut algos: Vec<Algorithm> = declared.into_iter().collect();
        for (algo, _) in sent {
            if !algos.contains(algo) {
                algos.push(*algo);
            }
        }
        let mut kept = None;
        for algo in algos {
            let value = algo
                .of_file(&path)
                .map_err(|e| s3_error!(InternalError, "{e}"))?;
            let value = algo.encode(value);
            if sent.iter().any(|(a, v)| *a == algo && *v != value) {
                let _ = std::fs::remove_file(&path);
                return Err(s3_error!(
                    BadDigest,
                    "The {} you specified did not match the calculated checksum.",
                    algo.name()
                ));
            }
            kept.get_or_insert((algo, value));
        }
        let keep = self.part_checksum_path(upload_id, n);
        match &kept {
            Some((algo, value)) => {
                let text = checksum::part_text(*algo, algo.decode(value).unwrap_or(0));
                std::fs::write(&keep, text).map_err(|e| s3_error!(InternalError, "{e}"))?;
            }
            None => {
                let _ = std::fs::remove_file(&keep);
            }
        }
        Ok(kept)
    }

    /// Forgets the part checksums kept for an upload (completed or aborted).
    pub(super) fn forget_part_checksums(&self, upload_id: &str) {
        let prefix = format!(".ferry-mpu-{upload_id}.part-");
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return;
        };
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }

    /// The checksum the completed object gets, from the parts listed (see the module docs).
    /// `declared`: the algorithm and type CreateMultipartUpload declared.
    pub(super) fn complete_parts(
        &self,
        input: &CompleteMultipartUploadInput,
        declared: (Option<Algorithm>, Option<&str>),
    ) -> S3Result<Completion> {
        let kind = input.checksum_type.as_ref().map(|t| t.as_str());
        let sent_kind = kind.map(aws_sdk_s3::types::ChecksumType::from);
        let full = checksum::full_object(
            input.checksum_crc32.as_deref(),
            input.checksum_crc32c.as_deref(),
            input.checksum_crc64nvme.as_deref(),
            sent_kind.as_ref(),
        );
        let sent_composite = checksum::composite(
            input.checksum_crc32.as_deref(),
            input.checksum_crc32c.as_deref(),
            input.checksum_crc64nvme.as_deref(),
            sent_kind.as_ref(),
        );
        let (declared_algo, declared_kind) = declared;
        let algo = full.as_ref().map(|f| f.algo).or(declared_algo);
        let mut sizes = Vec::new();
        let mut values = Vec::new();
        for part in input
            .multipart_upload
            .iter()
            .flat_map(|m| m.parts.iter().flatten())
        {
            let n = part.part_number.unwrap_or(0);
            let path = self.part_path(&input.upload_id, n);
            let len = std::fs::metadata(&path)
                .map_err(|_| s3_error!(InvalidPart, "part {n} was not uploaded"))?
                .len();
            sizes.push(len);
            if let Some(algo) = algo {
                values.push(self.part_value(&input.upload_id, n, algo)?);
            }
        }
        let bad_digest = |algo: Algorithm| {
            s3_error!(
                BadDigest,
                "The {} you specified did not match the calculated checksum.",
                algo.name()
            )
        };
        let pieces = || values.iter().copied().zip(sizes.iter().copied());
        let (checksum, kind) = match (full, algo) {
            (Some(FullChecksum { algo, value }), _) => {
                if algo.encode(checksum::combine_values(algo, pieces())) != value {
                    return Err(bad_digest(algo));
                }
                (Some((algo, value)), Some(ChecksumType::FULL_OBJECT))
            }
            (None, Some(algo))
                if declared_kind == Some(ChecksumType::FULL_OBJECT)
                    || algo == Algorithm::Crc64Nvme =>
            {
                let value = algo.encode(checksum::combine_values(algo, pieces()));
                (Some((algo, value)), Some(ChecksumType::FULL_OBJECT))
            }
            (None, Some(algo)) => {
                let value = Composite::of(algo, &values);
                if sent_composite.is_some_and(|c| c.algo != algo || !c.matches(&values)) {
                    return Err(bad_digest(algo));
                }
                (Some((algo, value)), Some(ChecksumType::COMPOSITE))
            }
            (None, None) => (None, None),
        };
        Ok(Completion {
            checksum,
            kind,
            sizes,
            algo,
            values,
        })
    }

    /// Part `n`'s checksum of `algo`: the one kept at UploadPart, or computed from its bytes.
    fn part_value(&self, upload_id: &str, n: i32, algo: Algorithm) -> S3Result<u64> {
        let kept = std::fs::read_to_string(self.part_checksum_path(upload_id, n))
            .ok()
            .and_then(|t| checksum::parse_part(&t))
            .filter(|(a, _)| *a == algo);
        match kept {
            Some((_, v)) => Ok(v),
            None => algo
                .of_file(&self.part_path(upload_id, n))
                .map_err(|e| s3_error!(InternalError, "{e}")),
        }
    }

    fn info_path(&self, bucket: &str, key: &str) -> PathBuf {
        info_path(&self.root, bucket, key)
    }

    /// Rewrites the object's record with only what the completion just made: its checksum, type,
    /// part sizes and part checksums (an earlier object's checksums are dropped).
    pub(super) fn keep_completion(
        &self,
        bucket: &str,
        key: &str,
        done: &Completion,
    ) -> std::io::Result<()> {
        let path = self.info_path(bucket, key);
        let mut info: Map<String, Value> = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(std::io::Error::other)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Default::default(),
            Err(e) => return Err(e),
        };
        info.retain(|k, _| !k.starts_with("checksum_") && !k.starts_with("ferry_"));
        if let Some((algo, value)) = &done.checksum {
            let field = format!("checksum_{}", algo.name().to_ascii_lowercase());
            info.insert(field, value.clone().into());
        }
        if let Some(kind) = done.kind {
            info.insert("checksum_type".into(), kind.into());
        }
        info.insert("ferry_part_sizes".into(), done.sizes.clone().into());
        if let Some(algo) = done.algo {
            info.insert("ferry_part_algorithm".into(), algo.name().into());
            let values: Vec<String> = done.values.iter().map(|v| algo.encode(*v)).collect();
            info.insert("ferry_part_checksums".into(), values.into());
        }
        let temp = path.with_extension("json.ferry-tmp");
        std::fs::write(
            &temp,
            serde_json::to_vec(&info).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(temp, path)
    }

    /// The object's part record (empty for an object not uploaded in parts, or none at all).
    pub(super) fn object_parts(&self, bucket: &str, key: &str) -> ObjectParts {
        let Ok(bytes) = std::fs::read(self.info_path(bucket, key)) else {
            return ObjectParts::default();
        };
        let Ok(info) = serde_json::from_slice::<Map<String, Value>>(&bytes) else {
            return ObjectParts::default();
        };
        let strings = |k: &str| -> Vec<String> {
            info.get(k)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        ObjectParts {
            kind: info
                .get("checksum_type")
                .and_then(Value::as_str)
                .map(str::to_string),
            sizes: info
                .get("ferry_part_sizes")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_u64).collect())
                .unwrap_or_default(),
            values: strings("ferry_part_checksums"),
            algo: info
                .get("ferry_part_algorithm")
                .and_then(Value::as_str)
                .and_then(Algorithm::from_name),
        }
    }
}

//! Downloads of objects with a COMPOSITE checksum (`…-N`: the checksum of the N parts' checksums,
//! what S3 and Garage keep for multipart uploads sent with per-part CRC32 or CRC32C, Ferry's own
//! included).
//!
//! Such a value says nothing about a range that is not a whole part, so the download plans one
//! range per part of the object ([`part_ranges`]): HEAD with `partNumber=1` gives the first part's
//! length and the parts count, HEAD of the last part its length; when first × (N − 1) + last is the
//! object's size the parts are taken to be equal, otherwise every part is asked. Each range computes
//! the algorithm over its bytes as they stream in and commits the value with the range (a part row,
//! as for full-object checksums), so at the end the composite comes from the rows alone: parallel
//! and resumed ranges are checked the same way, without reading the file again.
//!
//! On a mismatch ([`check`]) the server is asked for each part's own length and checksum (HEAD with
//! `partNumber` and checksum mode, as S3 answers): the parts whose value differs are fetched again
//! and the rest kept. When the server gives no per-part checksums, or they do not make up its
//! composite, which part is damaged cannot be told and the download starts over. When the parts
//! turn out not to be the planned ones (unequal parts that happened to add up), the file is read
//! once with their true lengths.
//!
//! An object small enough to come in one GET without a HEAD learns of its composite from that GET's
//! answer; the file is then read once with the parts' lengths ([`check_file`]).
//!
//! A resumed download keeps only committed ranges that are whole parts with a value of the object's
//! algorithm. Ranges of another plan (cut at the download's part size by an earlier version) cannot
//! be split into the parts' values without reading the file: they are forgotten and the download
//! starts over.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use aws_sdk_s3::types::ChecksumMode;

use super::checksum::{self, Algorithm, Composite};
use super::Ctx;
use crate::error::{Error, ErrorKind, Result};
use crate::plan::Part;
use crate::store::PartRow;

/// What a HEAD of one part says.
struct PartHead {
    len: u64,
    count: Option<u32>,
    /// The part's own checksum of the object's algorithm (not a composite), when the server gives it.
    checksum: Option<u64>,
}

async fn head_part(
    ctx: &Ctx,
    what: &str,
    etag: Option<&str>,
    n: u32,
    algo: Algorithm,
) -> Result<PartHead> {
    let what = format!("{what} (part {n})");
    let head = ctx
        .retrying(&what, || {
            let req = ctx
                .client
                .head_object()
                .bucket(&ctx.row.bucket)
                .key(&ctx.row.key)
                .set_version_id(ctx.row.version_id.clone())
                .part_number(n as i32)
                .set_if_match(etag.map(str::to_string))
                .checksum_mode(ChecksumMode::Enabled);
            let what = what.clone();
            async move { req.send().await.map_err(|e| Error::from_sdk(&what, e)) }
        })
        .await?;
    let value = match algo {
        Algorithm::Crc32 => head.checksum_crc32(),
        Algorithm::Crc32c => head.checksum_crc32_c(),
        Algorithm::Crc64Nvme => head.checksum_crc64_nvme(),
    };
    Ok(PartHead {
        len: head.content_length().unwrap_or(0).max(0) as u64,
        count: head
            .parts_count()
            .and_then(|c| u32::try_from(c).ok())
            .filter(|c| *c > 0),
        checksum: value
            .filter(|v| !v.contains('-'))
            .and_then(|v| algo.decode(v)),
    })
}

/// Consecutive ranges of these lengths, numbered from 1.
fn ranges(sizes: impl IntoIterator<Item = u64>) -> Vec<Part> {
    let mut offset = 0;
    sizes
        .into_iter()
        .zip(1..)
        .map(|(len, number)| {
            let part = Part {
                number,
                offset,
                len,
            };
            offset += len;
            part
        })
        .collect()
}

/// The object's parts as ranges, or `None` when the server cannot say (no parts count, a count
/// other than the composite's, lengths that do not add up to `size`, or no `partNumber` support):
/// then the object cannot be checked against its composite.
pub async fn part_ranges(
    ctx: &Ctx,
    what: &str,
    etag: Option<&str>,
    size: u64,
    c: &Composite,
) -> Result<Option<Vec<Part>>> {
    let asked = async {
        let none: Result<Option<Vec<Part>>> = Ok(None);
        let first = head_part(ctx, what, etag, 1, c.algo).await?;
        let Some(count) = first.count.filter(|n| c.parts.is_none_or(|p| p == *n)) else {
            return none;
        };
        let mut sizes = vec![first.len];
        if count > 1 {
            let last = head_part(ctx, what, etag, count, c.algo).await?.len;
            if first.len * u64::from(count - 1) + last == size {
                sizes.resize(count as usize - 1, first.len);
            } else {
                for n in 2..count {
                    sizes.push(head_part(ctx, what, etag, n, c.algo).await?.len);
                }
            }
            sizes.push(last);
        }
        Ok((sizes.iter().sum::<u64>() == size && !sizes.contains(&0)).then(|| ranges(sizes)))
    };
    match asked.await {
        // A server that does not understand `partNumber`: nothing to plan the parts by.
        Err(e)
            if !e.is_retryable()
                && !matches!(
                    e.kind,
                    ErrorKind::Changed | ErrorKind::AccessDenied | ErrorKind::Interrupted
                ) =>
        {
            tracing::warn!(transfer = %ctx.row.id, error = %e, "the server gives no part lengths; the composite checksum cannot be checked");
            Ok(None)
        }
        r => r,
    }
}

/// Checks a file fetched in one GET against the composite its answer carried, reading it once with
/// the parts' lengths; `None` when the server cannot say what the parts are.
pub async fn check_file(
    ctx: &Ctx,
    what: &str,
    etag: Option<&str>,
    c: &Composite,
    size: u64,
    temp: &Path,
) -> Result<Option<bool>> {
    let Some(parts) = part_ranges(ctx, what, etag, size, c).await? else {
        return Ok(None);
    };
    let values =
        values_from_file(temp, &parts, c.algo).map_err(|e| Error::io("cannot read", temp, e))?;
    Ok(Some(c.matches(&values)))
}

/// Whether a committed row is planned part `p` with a value of `algo`, and that value.
pub fn part_value(row: &PartRow, p: &Part, algo: Algorithm) -> Option<u64> {
    if (row.number, row.offset, row.len) != (p.number, p.offset, p.len) {
        return None;
    }
    match checksum::parse_part(row.checksum.as_deref()?)? {
        (a, v) if a == algo => Some(v),
        _ => None,
    }
}

/// What [`check`] found.
pub enum Verdict {
    /// The parts make up the server's composite.
    Verified,
    /// These parts differ from the server's own checksums of them: fetch them again.
    Refetch(Vec<Part>),
    /// Damaged, and which part cannot be told: start over.
    Damaged,
}

/// Checks the committed ranges (one per part in `planned`) against the composite `c`; on a mismatch,
/// finds the damaged parts by the server's per-part checksums (see the module docs).
pub async fn check(
    ctx: &Ctx,
    what: &str,
    etag: Option<&str>,
    c: &Composite,
    planned: &[Part],
    temp: &Path,
) -> Result<Verdict> {
    let rows = ctx.store.parts(&ctx.row.id)?;
    let values: Vec<Option<u64>> = planned
        .iter()
        .map(|p| {
            rows.iter()
                .find(|r| r.number == p.number)
                .and_then(|r| part_value(r, p, c.algo))
        })
        .collect();
    if let Some(values) = values.iter().copied().collect::<Option<Vec<u64>>>() {
        if c.matches(&values) {
            return Ok(Verdict::Verified);
        }
    }
    let mut server = Vec::with_capacity(planned.len());
    for p in planned {
        server.push(head_part(ctx, what, etag, p.number, c.algo).await?);
    }
    if server.iter().zip(planned).any(|(s, p)| s.len != p.len) {
        let true_parts = ranges(server.iter().map(|s| s.len));
        let values = values_from_file(temp, &true_parts, c.algo)
            .map_err(|e| Error::io("cannot read", temp, e))?;
        return Ok(if c.matches(&values) {
            Verdict::Verified
        } else {
            Verdict::Damaged
        });
    }
    let Some(theirs) = server
        .iter()
        .map(|s| s.checksum)
        .collect::<Option<Vec<u64>>>()
        .filter(|v| c.matches(v))
    else {
        return Ok(Verdict::Damaged);
    };
    let damaged: Vec<Part> = planned
        .iter()
        .zip(values.iter().zip(&theirs))
        .filter(|(_, (ours, theirs))| **ours != Some(**theirs))
        .map(|(p, _)| *p)
        .collect();
    Ok(if damaged.is_empty() {
        Verdict::Damaged
    } else {
        Verdict::Refetch(damaged)
    })
}

/// Each range's value of `algo`, read from the file.
fn values_from_file(path: &Path, ranges: &[Part], algo: Algorithm) -> std::io::Result<Vec<u64>> {
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut values = Vec::with_capacity(ranges.len());
    for r in ranges {
        f.seek(SeekFrom::Start(r.offset))?;
        let mut d = algo.digest();
        let mut left = r.len;
        while left > 0 {
            let want = left.min(buf.len() as u64) as usize;
            let n = f.read(&mut buf[..want])?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            d.update(&buf[..n]);
            left -= n as u64;
        }
        values.push(d.value());
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_the_part_lengths() {
        assert_eq!(
            ranges([5, 5, 2]),
            vec![
                Part {
                    number: 1,
                    offset: 0,
                    len: 5
                },
                Part {
                    number: 2,
                    offset: 5,
                    len: 5
                },
                Part {
                    number: 3,
                    offset: 10,
                    len: 2
                },
            ]
        );
    }

    #[test]
    fn a_part_counts_only_when_it_is_the_planned_part_with_the_objects_algorithm() {
        let p = Part {
            number: 2,
            offset: 5,
            len: 5,
        };
        let row = |offset, text: &str| PartRow {
            number: 2,
            offset,
            len: 5,
            etag: None,
            checksum: Some(text.to_string()),
        };
        let crc32 = checksum::part_text(Algorithm::Crc32, 7);
        assert_eq!(part_value(&row(5, &crc32), &p, Algorithm::Crc32), Some(7));
        assert_eq!(part_value(&row(4, &crc32), &p, Algorithm::Crc32), None);
        assert_eq!(part_value(&row(5, &crc32), &p, Algorithm::Crc32c), None);
    }
}

//! The whole-object checksums a download is verified against, and the per-range values that add up
//! to them.
//!
//! S3 keeps a full-object CRC32, CRC32C or CRC64NVME for objects uploaded with one (also multipart
//! ones, when the checksum type is FULL_OBJECT). A CRC of a concatenation can be computed from the
//! CRCs of its pieces and their lengths, so each range computes the object's algorithm over its own
//! bytes as they stream in, the value is committed with the range, and at the end the combination is
//! compared with the server's: parallel ranges, resumed ranges and one whole GET are all checked the
//! same way, without reading the file again.
//!
//! A range's value is stored in the part row as text: plain base64 for CRC32C (the form earlier
//! versions wrote), `crc32:…` or `crc64nvme:…` for the others.
//!
//! A multipart object may instead carry a COMPOSITE checksum (`…-N`, what S3 and Garage give a
//! multipart upload with per-part CRC32 or CRC32C): the algorithm over the concatenated big-endian
//! checksums of its N parts, a checksum of checksums. It says nothing about a range that is not a
//! whole part, so such a download fetches one range per part ([`super::verify`]); [`Composite::of`]
//! computes the value from the parts' values.

use aws_sdk_s3::types::ChecksumType;
use crc_fast::CrcAlgorithm;

/// A CRC that S3 can keep for a whole object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Crc32,
    Crc32c,
    Crc64Nvme,
}

impl Algorithm {
    fn crc(self) -> CrcAlgorithm {
        match self {
            Algorithm::Crc32 => CrcAlgorithm::Crc32IsoHdlc,
            Algorithm::Crc32c => CrcAlgorithm::Crc32Iscsi,
            Algorithm::Crc64Nvme => CrcAlgorithm::Crc64Nvme,
        }
    }

    /// The name S3 gives it, as shown to people.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Crc32 => "CRC32",
            Algorithm::Crc32c => "CRC32C",
            Algorithm::Crc64Nvme => "CRC64NVME",
        }
    }

    fn tag(self) -> Option<&'static str> {
        match self {
            Algorithm::Crc32 => Some("crc32"),
            Algorithm::Crc32c => None,
            Algorithm::Crc64Nvme => Some("crc64nvme"),
        }
    }

    /// What the summary says a download was verified against when the object's checksum is a
    /// composite one of this kind.
    pub fn composite_name(self) -> &'static str {
        match self {
            Algorithm::Crc32 => "composite CRC32",
            Algorithm::Crc32c => "composite CRC32C",
            Algorithm::Crc64Nvme => "composite CRC64NVME",
        }
    }

    /// The algorithm S3 calls `name` (`x-amz-checksum-algorithm`), if it is one of these.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        [Algorithm::Crc32, Algorithm::Crc32c, Algorithm::Crc64Nvme]
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name))
    }

    /// The value's big-endian bytes (4 or 8).
    fn be_bytes(self, value: u64) -> Vec<u8> {
        match self {
            Algorithm::Crc64Nvme => value.to_be_bytes().to_vec(),
            _ => (value as u32).to_be_bytes().to_vec(),
        }
    }

    /// The base64 of the value's big-endian bytes, as S3 writes it.
    pub fn encode(self, value: u64) -> String {
        aws_smithy_types::base64::encode(self.be_bytes(value))
    }

    /// The value S3 writes as `text` (base64 of the big-endian bytes).
    pub fn decode(self, text: &str) -> Option<u64> {
        let bytes = aws_smithy_types::base64::decode(text).ok()?;
        match self {
            Algorithm::Crc64Nvme => Some(u64::from_be_bytes(bytes.try_into().ok()?)),
            _ => Some(u32::from_be_bytes(bytes.try_into().ok()?) as u64),
        }
    }

    /// A running CRC of this kind.
    pub fn digest(self) -> Digest {
        Digest(crc_fast::Digest::new(self.crc()), self)
    }

    /// This CRC over a whole file.
    pub fn of_file(self, path: &std::path::Path) -> std::io::Result<u64> {
        use std::io::Read;
        let mut f = std::fs::File::open(path)?;
        let mut buf = vec![0u8; 1 << 20];
        let mut d = self.digest();
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                return Ok(d.value());
            }
            d.update(&buf[..n]);
        }
    }
}

/// A CRC being computed over bytes as they arrive.
pub struct Digest(crc_fast::Digest, Algorithm);

impl Digest {
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub fn value(&self) -> u64 {
        self.0.finalize()
    }

    /// The value as stored with a range.
    pub fn part_text(&self) -> String {
        part_text(self.1, self.value())
    }
}

/// The MD5 of a whole file, as lowercase hex (what a single-part object's ETag is).
pub fn md5_of_file(path: &std::path::Path) -> std::io::Result<String> {
    use md5::Digest as _;
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut h = md5::Md5::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// The MD5 an ETag is (lowercase hex) when it looks like one: 32 hex digits, not a multipart
/// ETag (`…-N`). Whether the object's encryption leaves it an MD5 is the caller's to know.
pub fn md5_etag(etag: &str) -> Option<String> {
    let t = etag.trim_matches('"');
    (t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit())).then(|| t.to_ascii_lowercase())
}

/// A range's value as stored in its part row.
pub fn part_text(algo: Algorithm, value: u64) -> String {
    match algo.tag() {
        Some(tag) => format!("{tag}:{}", algo.encode(value)),
        None => algo.encode(value),
    }
}

/// Reads a part row's value back.
pub fn parse_part(text: &str) -> Option<(Algorithm, u64)> {
    let (algo, b64) = match text.split_once(':') {
        Some(("crc32", rest)) => (Algorithm::Crc32, rest),
        Some(("crc64nvme", rest)) => (Algorithm::Crc64Nvme, rest),
        Some(_) => return None,
        None => (Algorithm::Crc32c, text),
    };
    Some((algo, algo.decode(b64)?))
}

/// The checksum a server keeps for a whole object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullChecksum {
    pub algo: Algorithm,
    /// Base64, as the server sent it.
    pub value: String,
}

/// The checksum fields of an answer by algorithm, the strongest first.
fn fields<'a>(
    crc32: Option<&'a str>,
    crc32c: Option<&'a str>,
    crc64nvme: Option<&'a str>,
) -> impl Iterator<Item = (Algorithm, Option<&'a str>)> {
    [
        (Algorithm::Crc64Nvme, crc64nvme),
        (Algorithm::Crc32c, crc32c),
        (Algorithm::Crc32, crc32),
    ]
    .into_iter()
}

/// What a HEAD or whole GET says the object's checksum is: a full-object one, else a composite.
pub fn of_answer(
    crc32: Option<&str>,
    crc32c: Option<&str>,
    crc64nvme: Option<&str>,
    kind: Option<&ChecksumType>,
) -> (Option<FullChecksum>, Option<Composite>) {
    let full = full_object(crc32, crc32c, crc64nvme, kind);
    let composite = composite(crc32, crc32c, crc64nvme, kind).filter(|_| full.is_none());
    (full, composite)
}

/// The full-object checksum among those a HEAD or whole GET answered with. A composite checksum
/// (`…-N`, or type COMPOSITE) is a checksum of the parts' checksums, not of the bytes: not returned.
pub fn full_object(
    crc32: Option<&str>,
    crc32c: Option<&str>,
    crc64nvme: Option<&str>,
    kind: Option<&ChecksumType>,
) -> Option<FullChecksum> {
    if kind == Some(&ChecksumType::Composite) {
        return None;
    }
    fields(crc32, crc32c, crc64nvme).find_map(|(algo, v)| {
        v.filter(|v| !v.contains('-') && algo.decode(v).is_some())
            .map(|v| FullChecksum {
                algo,
                value: v.to_string(),
            })
    })
}

/// A composite checksum a server keeps for a multipart object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composite {
    pub algo: Algorithm,
    /// Base64 of the checksum of the parts' checksums, without the `-N`.
    pub value: String,
    /// N, when the value said it (`…-N`); otherwise the server's parts count tells.
    pub parts: Option<u32>,
}

impl Composite {
    /// The composite value of parts whose checksums are `values`, in order, as S3 writes it:
    /// base64 of the algorithm over their big-endian bytes, then `-N`.
    pub fn of(algo: Algorithm, values: &[u64]) -> String {
        let mut d = algo.digest();
        for v in values {
            d.update(&algo.be_bytes(*v));
        }
        format!("{}-{}", algo.encode(d.value()), values.len())
    }

    /// Whether parts with checksums `values` make up this composite.
    pub fn matches(&self, values: &[u64]) -> bool {
        self.parts.is_none_or(|n| n as usize == values.len())
            && Composite::of(self.algo, values) == format!("{}-{}", self.value, values.len())
    }
}

/// The composite checksum among those a HEAD answered with: a value written `…-N`, or one the
/// server calls COMPOSITE. (SHA-1 and SHA-256 composites are not checked.)
pub fn composite(
    crc32: Option<&str>,
    crc32c: Option<&str>,
    crc64nvme: Option<&str>,
    kind: Option<&ChecksumType>,
) -> Option<Composite> {
    if kind == Some(&ChecksumType::FullObject) {
        return None;
    }
    fields(crc32, crc32c, crc64nvme).find_map(|(algo, v)| {
        let v = v?;
        let (value, parts) = match v.rsplit_once('-') {
            Some((value, n)) => (value, Some(n.parse::<u32>().ok().filter(|n| *n > 0)?)),
            None if kind == Some(&ChecksumType::Composite) => (v, None),
            None => return None,
        };
        algo.decode(value)?;
        Some(Composite {
            algo,
            value: value.to_string(),
            parts,
        })
    })
}

/// The whole object's value from the ranges' values, in order: `None` unless every range has one of
/// `algo`. `ranges` are (stored text, length) pairs.
pub fn combine<'a>(
    algo: Algorithm,
    ranges: impl IntoIterator<Item = (Option<&'a str>, u64)>,
) -> Option<String> {
    let mut values = Vec::new();
    for (text, len) in ranges {
        match parse_part(text?)? {
            (a, v) if a == algo => values.push((v, len)),
            _ => return None,
        }
    }
    Some(algo.encode(combine_values(algo, values)))
}

/// The value of a concatenation from its pieces' (value, length), in order.
pub fn combine_values(algo: Algorithm, pieces: impl IntoIterator<Item = (u64, u64)>) -> u64 {
    pieces
        .into_iter()
        .fold(None, |crc, (v, len)| match crc {
            None => Some(v),
            Some(c) => Some(crc_fast::checksum_combine(algo.crc(), c, v, len)),
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn ranges_combine_to_the_whole_objects_value_for_every_algorithm() {
        let bytes = data(100_003);
        for algo in [Algorithm::Crc32, Algorithm::Crc32c, Algorithm::Crc64Nvme] {
            let mut whole = algo.digest();
            whole.update(&bytes);
            let texts: Vec<(String, u64)> = bytes
                .chunks(7_777)
                .map(|c| {
                    let mut d = algo.digest();
                    d.update(c);
                    (d.part_text(), c.len() as u64)
                })
                .collect();
            let combined = combine(algo, texts.iter().map(|(t, l)| (Some(t.as_str()), *l)));
            assert_eq!(combined, Some(algo.encode(whole.value())), "{algo:?}");
            // A range of another kind, or one without a value, gives no answer rather than a wrong one.
            let other = if algo == Algorithm::Crc32 {
                Algorithm::Crc32c
            } else {
                Algorithm::Crc32
            };
            assert_eq!(
                combine(other, texts.iter().map(|(t, l)| (Some(t.as_str()), *l))),
                None
            );
            assert_eq!(combine(algo, [(None, 3)]), None);
        }
    }

    #[test]
    fn known_values_match_what_s3_computes() {
        // "123456789" is the CRC catalogue's check input.
        let check = |algo: Algorithm| {
            let mut d = algo.digest();
            d.update(b"123456789");
            d.value()
        };
        assert_eq!(check(Algorithm::Crc32), 0xCBF4_3926);
        assert_eq!(check(Algorithm::Crc32c), 0xE306_9283);
        assert_eq!(check(Algorithm::Crc64Nvme), 0xAE8B_1486_0A79_9888);
        // CRC32C rows keep the untagged form earlier versions stored.
        assert_eq!(
            part_text(Algorithm::Crc32c, 0xE306_9283),
            crate::transfer::crc32c_b64(b"123456789")
        );
    }

    #[test]
    fn a_composite_is_the_checksum_of_the_parts_big_endian_checksums() {
        let parts: Vec<Vec<u8>> = vec![data(5000), data(5000), data(123)];
        for algo in [Algorithm::Crc32, Algorithm::Crc32c, Algorithm::Crc64Nvme] {
            let values: Vec<u64> = parts
                .iter()
                .map(|p| {
                    let mut d = algo.digest();
                    d.update(p);
                    d.value()
                })
                .collect();
            // Spelled out: the checksum of the concatenated raw checksums, then "-N".
            let mut raw = Vec::new();
            for v in &values {
                match algo {
                    Algorithm::Crc64Nvme => raw.extend_from_slice(&v.to_be_bytes()),
                    _ => raw.extend_from_slice(&(*v as u32).to_be_bytes()),
                }
            }
            let mut d = algo.digest();
            d.update(&raw);
            let text = Composite::of(algo, &values);
            assert_eq!(text, format!("{}-3", algo.encode(d.value())), "{algo:?}");
            let (crc32, crc32c, crc64) = match algo {
                Algorithm::Crc32 => (Some(text.as_str()), None, None),
                Algorithm::Crc32c => (None, Some(text.as_str()), None),
                Algorithm::Crc64Nvme => (None, None, Some(text.as_str())),
            };
            let c = composite(crc32, crc32c, crc64, None).unwrap();
            assert_eq!((c.algo, c.parts), (algo, Some(3)));
            assert!(c.matches(&values));
            assert!(!c.matches(&values[..2]));
            assert!(!c.matches(&[values[0], values[1], values[2] ^ 1]));
        }
        // Full-object values are not composites; a value the server calls COMPOSITE without "-N"
        // leaves the count to the server's parts count.
        assert_eq!(composite(Some("AAAAAA=="), None, None, None), None);
        assert_eq!(
            composite(
                Some("AAAAAA==-2"),
                None,
                None,
                Some(&ChecksumType::FullObject)
            ),
            None
        );
        assert_eq!(
            composite(Some("AAAAAA=="), None, None, Some(&ChecksumType::Composite)),
            Some(Composite {
                algo: Algorithm::Crc32,
                value: "AAAAAA==".into(),
                parts: None
            })
        );
        assert_eq!(composite(Some("AAAAAA==-x"), None, None, None), None);
    }

    #[test]
    fn composite_checksums_are_not_taken_for_full_object_ones() {
        assert_eq!(full_object(Some("AAAAAA==-7"), None, None, None), None);
        assert_eq!(
            full_object(Some("AAAAAA=="), None, None, Some(&ChecksumType::Composite)),
            None
        );
        assert_eq!(
            full_object(
                Some("AAAAAA=="),
                None,
                None,
                Some(&ChecksumType::FullObject)
            ),
            Some(FullChecksum {
                algo: Algorithm::Crc32,
                value: "AAAAAA==".into()
            })
        );
        assert_eq!(full_object(None, None, None, None), None);
    }
}

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

    /// The base64 of the value's big-endian bytes, as S3 writes it.
    pub fn encode(self, value: u64) -> String {
        match self {
            Algorithm::Crc64Nvme => aws_smithy_types::base64::encode(value.to_be_bytes()),
            _ => aws_smithy_types::base64::encode((value as u32).to_be_bytes()),
        }
    }

    fn decode(self, text: &str) -> Option<u64> {
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
    [
        (Algorithm::Crc64Nvme, crc64nvme),
        (Algorithm::Crc32c, crc32c),
        (Algorithm::Crc32, crc32),
    ]
    .into_iter()
    .find_map(|(algo, v)| {
        v.filter(|v| !v.contains('-') && algo.decode(v).is_some())
            .map(|v| FullChecksum {
                algo,
                value: v.to_string(),
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

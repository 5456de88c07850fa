//! Test data, and the ways a test puts it on the server or reads it back without going through Ferry.

use std::path::{Path, PathBuf};

use super::{Harness, Xorshift, BUCKET, MIB};

/// Deterministic pseudo-random bytes (xorshift), different for each seed.
pub fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = Xorshift::new(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(&x.next().to_le_bytes());
    }
    out.truncate(len);
    out
}

/// GETs `url` over plain HTTP/1.1 on loopback; returns (status, body).
pub async fn http_get(url: &str) -> (u16, Vec<u8>) {
    let (status, _, body) = http_get_with_head(url).await;
    (status, body)
}

/// A GET over plain HTTP: the status, the response head (status line and headers) and the body.
pub async fn http_get_with_head(url: &str) -> (u16, String, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let head_end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("HTTP head")
        + 4;
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let status: u16 = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "chunked replies are not parsed here"
    );
    (status, head, buf[head_end..].to_vec())
}

/// Every file under `root`, as (relative path with `/`, bytes), sorted.
pub fn tree(root: &Path) -> Vec<(String, Vec<u8>)> {
    fn go(dir: &Path, rel: &str, out: &mut Vec<(String, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().to_string();
            let r = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            if e.path().is_dir() {
                go(&e.path(), &r, out);
            } else {
                out.push((r, std::fs::read(e.path()).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    go(root, "", &mut out);
    out.sort();
    out
}

/// Uploads `bytes` as a multipart object in parts of `part` bytes with a full-object checksum of
/// `algo`, as the aws CLI does (CRC32) and S3 does by default for CRC64NVME.
pub async fn put_multipart_with_full_checksum(
    h: &Harness,
    key: &str,
    bytes: &[u8],
    algo: ferry::transfer::checksum::Algorithm,
    part: usize,
) {
    let mut digest = algo.digest();
    digest.update(bytes);
    let value = algo.encode(digest.value());
    put_multipart(h, key, bytes, part, Some((algo, value)))
        .await
        .unwrap();
}

/// Uploads `bytes` as a multipart object in parts of `part` bytes through the S3 API (not through
/// Ferry), completing it with `checksum` as a FULL_OBJECT checksum when given (right or wrong).
pub async fn put_multipart(
    h: &Harness,
    key: &str,
    bytes: &[u8],
    part: usize,
    checksum: Option<(ferry::transfer::checksum::Algorithm, String)>,
) -> Result<(), String> {
    multipart_upload(h, key, bytes, part, None, checksum).await
}

/// Uploads `bytes` in parts of `part` bytes declaring `algo` at CreateMultipartUpload and sending
/// each part's own checksum, with no whole-object one, as the aws CLI and SDKs do by default for
/// CRC32/CRC32C multipart uploads: the server gives the object a COMPOSITE checksum. Returns the
/// parts' checksums, computed here.
pub async fn put_multipart_with_part_checksums(
    h: &Harness,
    key: &str,
    bytes: &[u8],
    algo: ferry::transfer::checksum::Algorithm,
    part: usize,
) -> Vec<u64> {
    multipart_upload(h, key, bytes, part, Some(algo), None)
        .await
        .unwrap();
    bytes
        .chunks(part)
        .map(|c| {
            let mut d = algo.digest();
            d.update(c);
            d.value()
        })
        .collect()
}

async fn multipart_upload(
    h: &Harness,
    key: &str,
    bytes: &[u8],
    part: usize,
    per_part: Option<ferry::transfer::checksum::Algorithm>,
    full: Option<(ferry::transfer::checksum::Algorithm, String)>,
) -> Result<(), String> {
    use aws_sdk_s3::types::{
        ChecksumAlgorithm, ChecksumType, CompletedMultipartUpload, CompletedPart,
    };
    use ferry::transfer::checksum::Algorithm;
    let client = h.client().await;
    let id = client
        .create_multipart_upload()
        .bucket(BUCKET)
        .key(key)
        .set_checksum_algorithm(per_part.map(|a| ChecksumAlgorithm::from(a.name())))
        .set_checksum_type(per_part.map(|_| ChecksumType::Composite))
        .send()
        .await
        .unwrap()
        .upload_id
        .unwrap();
    let mut done = Vec::new();
    for (i, chunk) in bytes.chunks(part).enumerate() {
        let n = i as i32 + 1;
        let value = per_part.map(|algo| {
            let mut d = algo.digest();
            d.update(chunk);
            algo.encode(d.value())
        });
        let (crc32, crc32c) = match per_part {
            Some(Algorithm::Crc32) => (value, None),
            Some(Algorithm::Crc32c) => (None, value),
            _ => (None, None),
        };
        let out = client
            .upload_part()
            .bucket(BUCKET)
            .key(key)
            .upload_id(&id)
            .part_number(n)
            .set_checksum_crc32(crc32.clone())
            .set_checksum_crc32_c(crc32c.clone())
            .body(chunk.to_vec().into())
            .send()
            .await
            .unwrap();
        done.push(
            CompletedPart::builder()
                .part_number(n)
                .set_e_tag(out.e_tag)
                .set_checksum_crc32(crc32)
                .set_checksum_crc32_c(crc32c)
                .build(),
        );
    }
    let req = client
        .complete_multipart_upload()
        .bucket(BUCKET)
        .key(key)
        .upload_id(&id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(done))
                .build(),
        );
    let req = match full {
        None => req,
        Some((algo, value)) => {
            let req = req.checksum_type(ChecksumType::FullObject);
            match algo {
                Algorithm::Crc32 => req.checksum_crc32(value),
                Algorithm::Crc32c => req.checksum_crc32_c(value),
                Algorithm::Crc64Nvme => req.checksum_crc64_nvme(value),
            }
        }
    };
    req.send().await.map(|_| ()).map_err(|e| format!("{e:?}"))
}

/// Writes `count` objects `{prefix}{i:05}.txt` (`i + 1` bytes each, i from 0) straight to the
/// server's disk, which lists them like any other: thousands of objects in a moment, without
/// thousands of PutObject requests.
pub fn fill_folder(h: &Harness, prefix: &str, count: usize) {
    let dir = h.data.path().join(BUCKET).join(prefix);
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..count {
        std::fs::write(dir.join(format!("{i:05}.txt")), vec![b'x'; i + 1]).unwrap();
    }
}

/// Writes `bytes` to `root/rel`, creating its folders; returns the path.
pub fn write_under(root: &Path, rel: &str, bytes: &[u8]) -> PathBuf {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, bytes).unwrap();
    p
}

/// A 26 MiB video as another client put it (the bytes returned): content type video/mp4, cache
/// control max-age=600, user metadata owner=ana, and `tagging` (`a=1&b=2`) when given.
pub async fn put_film(h: &Harness, key: &str, tagging: Option<&str>) -> Vec<u8> {
    let bytes = data(26 * MIB, 41);
    h.client()
        .await
        .put_object()
        .bucket(BUCKET)
        .key(key)
        .content_type("video/mp4")
        .cache_control("max-age=600")
        .metadata("owner", "ana")
        .set_tagging(tagging.map(str::to_string))
        .body(bytes.clone().into())
        .send()
        .await
        .unwrap();
    bytes
}

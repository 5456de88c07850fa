//! ListObjectsV2 and ListObjects (v1) answered from the [`Catalog`](super::catalog::Catalog) with S3's
//! semantics: prefix; delimiter with CommonPrefixes (a whole common prefix is skipped over in the key
//! set, never visited key by key); start-after and marker; continuation tokens; max-keys (at most
//! 1,000, as S3); IsTruncated, KeyCount, fetch-owner; `encoding-type=url` (the aws CLI always sends
//! it) encodes Key, Prefix, Delimiter, StartAfter, Marker and NextMarker as S3 does.
//!
//! A page is chosen from the index under its lock ([`select`], a pure function over the sorted key
//! set), then each object on it is stat'ed for its size and time and its s3s-fs record read for the
//! ETag HEAD gives (an MD5 of the file when there is no record, as s3s-fs's HEAD does) and its checksum
//! algorithm. A key whose file has vanished since the index last saw it is dropped from the index and
//! the page chosen again, so a page is always full while keys remain.
//!
//! The continuation token is the last key or common prefix of the page; an empty `delimiter=` means
//! none (s3s-fs 0.14.1 rolls everything up under an empty delimiter).

use std::collections::BTreeSet;
use std::ops::Bound;
use std::path::Path;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use s3s::dto::*;
use s3s::{s3_error, S3Result};
use serde_json::{Map, Value};

use super::catalog::{as_str, successor, Catalog};

/// The most keys S3 returns in one page, whatever max-keys asks for.
const MAX_KEYS: usize = 1000;

/// What S3 leaves unescaped under `encoding-type=url`.
const URL_SAFE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// One page's request, as both API versions share it.
pub(super) struct Query {
    pub(super) prefix: String,
    pub(super) delimiter: Option<String>,
    /// List what sorts after this (start-after, continuation token or marker).
    pub(super) start: Option<String>,
    pub(super) max: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Entry {
    Object(String),
    Prefix(String),
}

impl Entry {
    fn name(&self) -> &str {
        match self {
            Entry::Object(k) | Entry::Prefix(k) => k,
        }
    }
}

/// The page `q` asks for from the sorted key set, and whether more follows it.
pub(super) fn select(keys: &BTreeSet<Box<str>>, q: &Query) -> (Vec<Entry>, bool) {
    let mut out = Vec::new();
    if q.max == 0 {
        return (out, false);
    }
    let prefix = q.prefix.as_str();
    let end = successor(prefix);
    if let (Some(s), Some(end)) = (q.start.as_deref(), end.as_deref()) {
        if s >= end {
            return (out, false); // everything under the prefix sorts before the start point
        }
    }
    let upper = end.map_or(Bound::Unbounded, Bound::Excluded);
    let mut cursor = match q.start.as_deref() {
        Some(s) if s >= prefix => Bound::Excluded(s.to_string()),
        _ => Bound::Included(prefix.to_string()),
    };
    loop {
        let Some(key) = keys
            .range::<str, _>((as_str(&cursor), as_str(&upper)))
            .next()
        else {
            return (out, false);
        };
        let rolled = q.delimiter.as_deref().and_then(|d| {
            key[prefix.len()..]
                .find(d)
                .map(|i| prefix.len() + i + d.len())
        });
        let (entry, next) = match rolled {
            Some(end) => {
                let cp = key[..end].to_string();
                let next = successor(&cp).map(Bound::Included);
                (Entry::Prefix(cp), next)
            }
            None => (
                Entry::Object(key.to_string()),
                Some(Bound::Excluded(key.to_string())),
            ),
        };
        // A common prefix at or before the start point was listed already (or skipped by the caller).
        let listed_before = matches!(&entry, Entry::Prefix(cp) if q.start.as_deref().is_some_and(|s| cp.as_str() <= s));
        if !listed_before {
            if out.len() == q.max {
                return (out, true);
            }
            out.push(entry);
        }
        match next {
            Some(n) => cursor = n,
            None => return (out, false),
        }
    }
}

/// A listed object's facts, read from its file and its s3s-fs record.
fn object(root: &Path, bucket: &str, key: &str, owner: bool) -> std::io::Result<Option<Object>> {
    let path = root.join(bucket).join(key);
    let meta = match std::fs::metadata(&path) {
        Ok(m) if m.is_file() => m,
        Ok(_) => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let info: Map<String, Value> = std::fs::read(super::parts::info_path(root, bucket, key))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let e_tag = match info.get("e_tag").and_then(Value::as_str) {
        Some(t) => t.to_string(),
        None => match crate::transfer::checksum::md5_of_file(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        },
    };
    let algorithms: Vec<ChecksumAlgorithm> = ["crc32", "crc32c", "crc64nvme", "sha1", "sha256"]
        .iter()
        .filter(|a| info.contains_key(&format!("checksum_{a}")))
        .map(|a| ChecksumAlgorithm::from(a.to_ascii_uppercase()))
        .collect();
    Ok(Some(Object {
        key: Some(key.to_string()),
        size: Some(meta.len() as i64),
        last_modified: meta.modified().ok().map(Timestamp::from),
        e_tag: Some(ETag::Strong(e_tag)),
        storage_class: Some(ObjectStorageClass::from_static(
            ObjectStorageClass::STANDARD,
        )),
        checksum_type: (!algorithms.is_empty())
            .then(|| info.get("checksum_type").and_then(Value::as_str))
            .flatten()
            .map(|t| ChecksumType::from(t.to_string())),
        checksum_algorithm: (!algorithms.is_empty()).then_some(algorithms),
        owner: owner.then(local_owner),
        ..Default::default()
    }))
}

/// The one owner of everything the local endpoint holds.
fn local_owner() -> Owner {
    Owner {
        id: Some("ferry-local".into()),
        display_name: Some("ferry".into()),
    }
}

/// A page as the wire shows it: objects and common prefixes, and the last name on the page.
struct Page {
    pub(super) objects: Vec<Object>,
    pub(super) prefixes: Vec<CommonPrefix>,
    pub(super) truncated: bool,
    pub(super) last: Option<String>,
}

/// One page, chosen from the index and filled from the disk (blocking).
fn fill(
    catalog: &Catalog,
    root: &Path,
    bucket: &str,
    q: &Query,
    fresh: bool,
    owner: bool,
) -> S3Result<Page> {
    let bucket_dir = root.join(bucket);
    if !bucket_dir.is_dir() {
        catalog.forget(bucket);
        return Err(s3_error!(NoSuchBucket));
    }
    let mut fresh = fresh;
    loop {
        let (entries, truncated) = catalog
            .with_keys(&bucket_dir, bucket, &q.prefix, fresh, |k| {
                select(&k.keys, q)
            })
            .map_err(|e| s3_error!(InternalError, "cannot read the bucket's folder: {e}"))?;
        fresh = false;
        let mut page = Page {
            objects: Vec::new(),
            prefixes: Vec::new(),
            truncated,
            last: entries.last().map(|e| e.name().to_string()),
        };
        let mut vanished = Vec::new();
        for e in entries {
            match e {
                Entry::Prefix(p) => page.prefixes.push(CommonPrefix { prefix: Some(p) }),
                Entry::Object(k) => match object(root, bucket, &k, owner)
                    .map_err(|e| s3_error!(InternalError, "cannot read object {k}: {e}"))?
                {
                    Some(o) => page.objects.push(o),
                    None => vanished.push(k),
                },
            }
        }
        if vanished.is_empty() {
            return Ok(page);
        }
        for k in vanished {
            catalog.changed(root, bucket, &k);
        }
    }
}

/// The query for a request's parameters.
fn query(
    prefix: Option<&str>,
    delimiter: Option<&str>,
    start: Option<&str>,
    max_keys: Option<i32>,
) -> S3Result<Query> {
    let max = match max_keys {
        None => MAX_KEYS,
        Some(n) if n < 0 => {
            return Err(s3_error!(
                InvalidArgument,
                "max-keys must be 0 or more (at most 1000 are returned)"
            ))
        }
        Some(n) => (n as usize).min(MAX_KEYS),
    };
    Ok(Query {
        prefix: prefix.unwrap_or("").trim_start_matches('/').to_string(),
        delimiter: delimiter.filter(|d| !d.is_empty()).map(str::to_string),
        start: start.map(str::to_string),
        max,
    })
}

/// `s` as S3 writes it under `encoding-type=url` (unchanged without it).
fn encode(url: bool, s: String) -> String {
    if url {
        utf8_percent_encode(&s, URL_SAFE).to_string()
    } else {
        s
    }
}

/// Applies `encoding-type=url` to a page's keys and prefixes.
fn encode_page(url: bool, page: &mut Page) {
    if !url {
        return;
    }
    for o in &mut page.objects {
        o.key = o.key.take().map(|k| encode(true, k));
    }
    for p in &mut page.prefixes {
        p.prefix = p.prefix.take().map(|k| encode(true, k));
    }
}

/// Whether the request asked for `encoding-type=url`.
fn wants_url(e: Option<&EncodingType>) -> bool {
    e.is_some_and(|e| e.as_str().eq_ignore_ascii_case(EncodingType::URL))
}

impl super::LocalS3 {
    /// ListObjects (v1).
    pub(super) async fn list_v1(&self, input: ListObjectsInput) -> S3Result<ListObjectsOutput> {
        let url = wants_url(input.encoding_type.as_ref());
        let q = query(
            input.prefix.as_deref(),
            input.delimiter.as_deref(),
            input.marker.as_deref(),
            input.max_keys,
        )?;
        let max = q.max as i32;
        // A v1 marker is both start-after and the next page's token: every page is checked like a
        // first one.
        let mut page = self.page(&input.bucket, q, true, true).await?;
        encode_page(url, &mut page);
        let enc = |s: Option<String>| s.map(|s| encode(url, s));
        Ok(ListObjectsOutput {
            name: Some(input.bucket),
            prefix: enc(input.prefix),
            delimiter: enc(input.delimiter),
            marker: enc(input.marker),
            max_keys: Some(max),
            is_truncated: Some(page.truncated),
            next_marker: enc(page.last.filter(|_| page.truncated)),
            contents: (!page.objects.is_empty()).then_some(page.objects),
            common_prefixes: (!page.prefixes.is_empty()).then_some(page.prefixes),
            encoding_type: input.encoding_type,
            ..Default::default()
        })
    }

    /// ListObjectsV2.
    pub(super) async fn list_v2(&self, input: ListObjectsV2Input) -> S3Result<ListObjectsV2Output> {
        let url = wants_url(input.encoding_type.as_ref());
        let start = input
            .continuation_token
            .as_deref()
            .or(input.start_after.as_deref());
        let q = query(
            input.prefix.as_deref(),
            input.delimiter.as_deref(),
            start,
            input.max_keys,
        )?;
        let max = q.max as i32;
        let fresh = input.continuation_token.is_none();
        let owner = input.fetch_owner == Some(true);
        let mut page = self.page(&input.bucket, q, fresh, owner).await?;
        encode_page(url, &mut page);
        let enc = |s: Option<String>| s.map(|s| encode(url, s));
        Ok(ListObjectsV2Output {
            name: Some(input.bucket),
            prefix: enc(input.prefix),
            delimiter: enc(input.delimiter),
            start_after: enc(input.start_after),
            max_keys: Some(max),
            key_count: Some((page.objects.len() + page.prefixes.len()) as i32),
            is_truncated: Some(page.truncated),
            continuation_token: input.continuation_token,
            next_continuation_token: page.last.filter(|_| page.truncated),
            contents: (!page.objects.is_empty()).then_some(page.objects),
            common_prefixes: (!page.prefixes.is_empty()).then_some(page.prefixes),
            encoding_type: input.encoding_type,
            ..Default::default()
        })
    }

    /// Chooses and fills one page (see the module docs). `fresh`: the listing's first page, for
    /// which the index is brought up to date with the disk first.
    async fn page(&self, bucket: &str, q: Query, fresh: bool, owner: bool) -> S3Result<Page> {
        let (catalog, root, bucket) = (self.catalog.clone(), self.root.clone(), bucket.to_string());
        tokio::task::spawn_blocking(move || fill(&catalog, &root, &bucket, &q, fresh, owner))
            .await
            .map_err(|e| s3_error!(InternalError, "{e}"))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(keys: &[&str]) -> BTreeSet<Box<str>> {
        keys.iter().map(|k| Box::from(*k)).collect()
    }

    fn q(prefix: &str, delimiter: Option<&str>, start: Option<&str>, max: usize) -> Query {
        Query {
            prefix: prefix.into(),
            delimiter: delimiter.map(Into::into),
            start: start.map(Into::into),
            max,
        }
    }

    #[test]
    fn a_common_prefix_is_listed_once_and_its_keys_are_skipped() {
        let keys = set(&["a/1", "a/2", "a/b/3", "a0", "b", "c/x"]);
        let (page, more) = select(&keys, &q("", Some("/"), None, 2));
        assert_eq!(
            page,
            vec![Entry::Prefix("a/".into()), Entry::Object("a0".into())]
        );
        assert!(more);
        let (page, more) = select(&keys, &q("", Some("/"), Some("a0"), 2));
        assert_eq!(
            page,
            vec![Entry::Object("b".into()), Entry::Prefix("c/".into())]
        );
        assert!(!more);
    }

    #[test]
    fn a_start_inside_a_common_prefix_does_not_list_that_prefix_again() {
        let keys = set(&["a/1", "a/2", "b"]);
        let (page, _) = select(&keys, &q("", Some("/"), Some("a/1"), 10));
        assert_eq!(page, vec![Entry::Object("b".into())]);
    }

    #[test]
    fn a_start_after_everything_under_the_prefix_lists_nothing() {
        let keys = set(&["a/1", "a0"]);
        assert_eq!(
            select(&keys, &q("a/", None, Some("a0"), 10)),
            (vec![], false)
        );
    }

    #[test]
    fn url_encoding_escapes_what_a_decoder_of_plus_signs_would_misread() {
        assert_eq!(encode(true, "a b+c/é.txt".into()), "a%20b%2Bc/%C3%A9.txt");
        assert_eq!(encode(false, "a b".into()), "a b");
    }
}

//! The embedded endpoint's listings come from its key index (src/local/catalog.rs): they must agree with
//! a brute-force listing of what the bucket holds after any sequence of writes — through the API,
//! through another server over the same folder, or straight onto its disk — page by page, over real
//! HTTP, and after a restart.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    CompletedMultipartUpload, CompletedPart, Delete, EncodingType, ObjectIdentifier,
};
use aws_sdk_s3::Client;
use percent_encoding::percent_decode_str;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use crate::support::{fill_folder, Harness, BUCKET};

/// Folders and file names that never collide (no file named like a folder beside it), with the
/// characters `encoding-type=url` must escape.
const DIRS: [&str; 6] = ["", "a/", "a/a/", "a-b/", "c d/", "ü/"];
const NAMES: [&str; 6] = ["x", "x+y", "a0", "a.b", "z", "é"];
const PREFIXES: [&str; 12] = [
    "", "a", "a/", "a/a", "a/a/", "a-", "c", "c d/", "x", "ü/", "zz", "é",
];
const DELIMITERS: [Option<&str>; 5] = [None, Some("/"), Some("-"), Some("a"), Some("d/")];
const STARTS: [&str; 6] = ["a", "a/", "a/a/x", "a0", "b", "ü/é"];
const MAX_KEYS: [i32; 5] = [1, 2, 3, 7, 1000];

fn key(i: usize) -> String {
    format!("{}{}", DIRS[i / NAMES.len()], NAMES[i % NAMES.len()])
}

#[derive(Debug, Clone)]
struct ListOp {
    prefix: usize,
    delimiter: usize,
    start: Option<usize>,
    max: usize,
    v1: bool,
    url: bool,
}

#[derive(Debug, Clone)]
enum Op {
    Put(usize, u8),
    Delete(usize),
    DeleteMany(Vec<usize>),
    Copy(usize, usize),
    Multipart(usize, u8),
    /// Written straight onto the server's disk.
    Seed(usize, u8),
    /// Removed straight from the server's disk.
    Unlink(usize),
    List(ListOp),
}

fn op() -> impl Strategy<Value = Op> {
    let k = 0..DIRS.len() * NAMES.len();
    let list = (
        0..PREFIXES.len(),
        0..DELIMITERS.len(),
        proptest::option::of(0..STARTS.len()),
        0..MAX_KEYS.len(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(prefix, delimiter, start, max, v1, url)| {
            Op::List(ListOp {
                prefix,
                delimiter,
                start,
                max,
                v1,
                url,
            })
        });
    prop_oneof![
        3 => (k.clone(), 0u8..4).prop_map(|(k, n)| Op::Put(k, n)),
        1 => k.clone().prop_map(Op::Delete),
        1 => proptest::collection::vec(k.clone(), 1..4).prop_map(Op::DeleteMany),
        1 => (k.clone(), k.clone()).prop_map(|(a, b)| Op::Copy(a, b)),
        1 => (k.clone(), 1u8..4).prop_map(|(k, n)| Op::Multipart(k, n)),
        1 => (k.clone(), 0u8..4).prop_map(|(k, n)| Op::Seed(k, n)),
        1 => k.prop_map(Op::Unlink),
        3 => list,
    ]
}

/// What a listing must give: the keys under `prefix` after `start`, those with `delimiter` after the
/// prefix rolled up into one common prefix each (`true`), in key order.
fn oracle(
    keys: &BTreeSet<String>,
    prefix: &str,
    delimiter: Option<&str>,
    start: Option<&str>,
) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut rolled = BTreeSet::new();
    for k in keys.iter().filter(|k| k.starts_with(prefix)) {
        let rest = &k[prefix.len()..];
        match delimiter.and_then(|d| rest.find(d).map(|i| i + d.len())) {
            Some(end) => {
                let cp = format!("{prefix}{}", &rest[..end]);
                if rolled.insert(cp.clone()) && start.is_none_or(|s| cp.as_str() > s) {
                    out.push((cp, true));
                }
            }
            None if start.is_none_or(|s| k.as_str() > s) => out.push((k.clone(), false)),
            None => {}
        }
    }
    out
}

/// One page: names with whether each is a common prefix, key → size, whether more follows, and
/// the token or marker for the next page.
struct Page {
    names: Vec<(String, bool)>,
    sizes: BTreeMap<String, i64>,
    etags: BTreeMap<String, String>,
    truncated: bool,
    next: Option<String>,
    key_count: Option<i32>,
}

fn decoded(url: bool, s: &str) -> String {
    if url {
        percent_decode_str(s).decode_utf8().unwrap().into_owned()
    } else {
        s.to_string()
    }
}

async fn list_page(
    client: &Client,
    bucket: &str,
    l: &ListOp,
    after: Option<&str>,
) -> Result<Page, TestCaseError> {
    let prefix = PREFIXES[l.prefix];
    let delimiter = DELIMITERS[l.delimiter];
    let url = l.url;
    let mut page = Page {
        names: Vec::new(),
        sizes: BTreeMap::new(),
        etags: BTreeMap::new(),
        truncated: false,
        next: None,
        key_count: None,
    };
    let encoding = url.then_some(EncodingType::Url);
    let max = MAX_KEYS[l.max];
    let (objects, prefixes, truncated, next) = if l.v1 {
        let out = client
            .list_objects()
            .bucket(bucket)
            .prefix(prefix)
            .max_keys(max)
            .set_delimiter(delimiter.map(str::to_string))
            .set_encoding_type(encoding)
            .set_marker(after.or(l.start.map(|s| STARTS[s])).map(str::to_string))
            .send()
            .await
            .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        let next = out.next_marker().map(|m| decoded(url, m));
        let truncated = out.is_truncated() == Some(true);
        (out.contents, out.common_prefixes, truncated, next)
    } else {
        let out = client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .max_keys(max)
            .set_delimiter(delimiter.map(str::to_string))
            .set_encoding_type(encoding)
            .set_start_after(l.start.map(|s| STARTS[s].to_string()))
            .set_continuation_token(after.map(str::to_string))
            .send()
            .await
            .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        page.key_count = out.key_count();
        let next = out.next_continuation_token().map(str::to_string);
        let truncated = out.is_truncated() == Some(true);
        (out.contents, out.common_prefixes, truncated, next)
    };
    for o in objects.unwrap_or_default() {
        let k = decoded(url, o.key().unwrap());
        page.sizes.insert(k.clone(), o.size().unwrap_or(-1));
        page.etags
            .insert(k.clone(), o.e_tag().unwrap_or_default().to_string());
        page.names.push((k, false));
    }
    let prefixes = prefixes
        .unwrap_or_default()
        .iter()
        .map(|p| decoded(url, p.prefix().unwrap()))
        .collect::<Vec<_>>();
    page.names.extend(prefixes.into_iter().map(|p| (p, true)));
    page.names.sort();
    page.truncated = truncated;
    page.next = next;
    Ok(page)
}

/// Lists every page of `l` and checks it against the oracle over `model`.
async fn check_listing(
    client: &Client,
    bucket: &str,
    model: &BTreeMap<String, Vec<u8>>,
    l: &ListOp,
) -> Result<(), TestCaseError> {
    let keys: BTreeSet<String> = model.keys().cloned().collect();
    let want = oracle(
        &keys,
        PREFIXES[l.prefix],
        DELIMITERS[l.delimiter],
        l.start.map(|s| STARTS[s]),
    );
    let max = MAX_KEYS[l.max] as usize;
    let mut got = Vec::new();
    let mut after: Option<String> = None;
    for round in 0.. {
        prop_assert!(round <= want.len() + 1, "the listing does not end");
        let page = list_page(client, bucket, l, after.as_deref()).await?;
        if let Some(n) = page.key_count {
            prop_assert_eq!(n as usize, page.names.len(), "KeyCount");
        }
        for (k, size) in &page.sizes {
            let held = model.get(k);
            prop_assert!(held.is_some(), "listed {k}, which the bucket does not hold");
            prop_assert_eq!(*size, held.unwrap().len() as i64, "size of {}", k);
        }
        for etag in page.etags.values() {
            prop_assert!(!etag.is_empty(), "every object is listed with its ETag");
        }
        got.extend(page.names.iter().cloned());
        if !page.truncated {
            break;
        }
        prop_assert_eq!(page.names.len(), max, "a truncated page is full");
        prop_assert!(page.next.is_some(), "a truncated page says where to go on");
        after = page.next;
    }
    prop_assert_eq!(got, want, "listing {:?}", l);
    Ok(())
}

fn on_disk(data: &Path, bucket: &str, key: &str) -> std::path::PathBuf {
    data.join(bucket).join(key)
}

async fn run_case(
    h: &Harness,
    client: &Client,
    bucket: &str,
    ops: Vec<Op>,
) -> Result<(), TestCaseError> {
    client.create_bucket().bucket(bucket).send().await.unwrap();
    let mut model: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let body = |n: u8, k: usize| vec![b'a' + (k % 26) as u8; n as usize];
    for op in ops {
        match op {
            Op::Put(k, n) => {
                let bytes = body(n, k);
                client
                    .put_object()
                    .bucket(bucket)
                    .key(key(k))
                    .body(ByteStream::from(bytes.clone()))
                    .send()
                    .await
                    .unwrap();
                model.insert(key(k), bytes);
            }
            Op::Delete(k) => {
                client
                    .delete_object()
                    .bucket(bucket)
                    .key(key(k))
                    .send()
                    .await
                    .unwrap();
                model.remove(&key(k));
            }
            Op::DeleteMany(ks) => {
                let ids: Vec<ObjectIdentifier> = ks
                    .iter()
                    .map(|k| ObjectIdentifier::builder().key(key(*k)).build().unwrap())
                    .collect();
                client
                    .delete_objects()
                    .bucket(bucket)
                    .delete(Delete::builder().set_objects(Some(ids)).build().unwrap())
                    .send()
                    .await
                    .unwrap();
                for k in ks {
                    model.remove(&key(k));
                }
            }
            Op::Copy(a, b) => {
                let Some(bytes) = model.get(&key(a)).cloned() else {
                    continue;
                };
                if a == b {
                    continue;
                }
                client
                    .copy_object()
                    .bucket(bucket)
                    .key(key(b))
                    .copy_source(format!(
                        "{bucket}/{}",
                        percent_encoding::utf8_percent_encode(
                            &key(a),
                            percent_encoding::NON_ALPHANUMERIC
                        )
                    ))
                    .send()
                    .await
                    .unwrap();
                model.insert(key(b), bytes);
            }
            Op::Multipart(k, n) => {
                let bytes = body(n, k);
                let up = client
                    .create_multipart_upload()
                    .bucket(bucket)
                    .key(key(k))
                    .send()
                    .await
                    .unwrap();
                let id = up.upload_id().unwrap();
                let part = client
                    .upload_part()
                    .bucket(bucket)
                    .key(key(k))
                    .upload_id(id)
                    .part_number(1)
                    .body(ByteStream::from(bytes.clone()))
                    .send()
                    .await
                    .unwrap();
                let done = CompletedPart::builder()
                    .part_number(1)
                    .e_tag(part.e_tag().unwrap())
                    .build();
                client
                    .complete_multipart_upload()
                    .bucket(bucket)
                    .key(key(k))
                    .upload_id(id)
                    .multipart_upload(CompletedMultipartUpload::builder().parts(done).build())
                    .send()
                    .await
                    .unwrap();
                model.insert(key(k), bytes);
            }
            Op::Seed(k, n) => {
                let bytes = body(n, k);
                let p = on_disk(h.data.path(), bucket, &key(k));
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(&p, &bytes).unwrap();
                model.insert(key(k), bytes);
            }
            Op::Unlink(k) => {
                let _ = std::fs::remove_file(on_disk(h.data.path(), bucket, &key(k)));
                model.remove(&key(k));
            }
            Op::List(l) => check_listing(client, bucket, &model, &l).await?,
        }
    }
    // Finally the whole bucket, each object with the ETag its HEAD gives.
    let all = ListOp {
        prefix: 0,
        delimiter: 0,
        start: None,
        max: 4,
        v1: false,
        url: false,
    };
    check_listing(client, bucket, &model, &all).await?;
    let page = list_page(client, bucket, &all, None).await?;
    for (k, etag) in page.etags {
        let head = client
            .head_object()
            .bucket(bucket)
            .key(&k)
            .send()
            .await
            .unwrap();
        prop_assert_eq!(Some(etag.as_str()), head.e_tag(), "ETag of {}", k);
    }
    Ok(())
}

#[test]
fn listings_match_a_brute_force_oracle_over_random_puts_deletes_copies_completes_and_disk_writes() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let h = rt.block_on(Harness::new());
    let client = rt.block_on(h.client());
    let mut runner = TestRunner::new(Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    });
    let case = std::sync::atomic::AtomicUsize::new(0);
    let result = runner.run(&proptest::collection::vec(op(), 1..40), |ops| {
        let n = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        rt.block_on(run_case(&h, &client, &format!("case-{n}"), ops))
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Keys and common prefixes of a whole listing through the SDK's paginator.
async fn listed(
    client: &Client,
    prefix: &str,
    delimiter: Option<&str>,
) -> (Vec<String>, Vec<String>) {
    let mut pages = client
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix(prefix)
        .set_delimiter(delimiter.map(str::to_string))
        .into_paginator()
        .send();
    let (mut keys, mut prefixes) = (Vec::new(), Vec::new());
    while let Some(page) = pages.next().await {
        let page = page.unwrap();
        keys.extend(page.contents().iter().map(|o| o.key().unwrap().to_string()));
        prefixes.extend(
            page.common_prefixes()
                .iter()
                .map(|p| p.prefix().unwrap().to_string()),
        );
    }
    (keys, prefixes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folders_of_thousands_list_as_one_common_prefix_each_and_follow_writes_at_once() {
    let h = Harness::new().await;
    fill_folder(&h, "photos/2025/", 2_500);
    fill_folder(&h, "photos/2026/", 1_500);
    h.put("photos/index.html", b"<html>".to_vec()).await;
    let client = h.client().await;

    let (keys, prefixes) = listed(&client, "photos/", Some("/")).await;
    assert_eq!(keys, ["photos/index.html"]);
    assert_eq!(prefixes, ["photos/2025/", "photos/2026/"]);

    let (keys, _) = listed(&client, "photos/2025/", Some("/")).await;
    assert_eq!(keys.len(), 2_500);
    assert_eq!(keys[0], "photos/2025/00000.txt");
    assert_eq!(keys[2_499], "photos/2025/02499.txt");
    let first = client
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix("photos/2025/")
        .send()
        .await
        .unwrap();
    assert_eq!(first.key_count(), Some(1000));
    assert_eq!(first.is_truncated(), Some(true));
    let o = &first.contents()[3];
    let head = h.head(o.key().unwrap()).await;
    assert_eq!((o.size(), o.e_tag()), (Some(4), head.e_tag()));
    // HEAD's Last-Modified is an HTTP date: whole seconds.
    assert_eq!(
        o.last_modified().map(|t| t.secs()),
        head.last_modified().map(|t| t.secs())
    );

    // A write and a delete through the API, and a file removed behind the server's back.
    h.put("photos/2025/new.txt", b"new".to_vec()).await;
    client
        .delete_object()
        .bucket(BUCKET)
        .key("photos/2025/00001.txt")
        .send()
        .await
        .unwrap();
    std::fs::remove_file(h.data.path().join(BUCKET).join("photos/2026/00000.txt")).unwrap();
    let (keys, _) = listed(&client, "photos/", None).await;
    assert_eq!(keys.len(), 2_500 + 1_500 + 1 + 1 - 1 - 1);
    assert!(keys.contains(&"photos/2025/new.txt".to_string()));
    assert!(!keys.contains(&"photos/2025/00001.txt".to_string()));
    assert!(!keys.contains(&"photos/2026/00000.txt".to_string()));
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "keys arrive in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_server_lists_what_its_folder_holds_now() {
    let h = Harness::new().await;
    h.put("keep/a.txt", b"a".to_vec()).await;
    h.put("keep/b.txt", b"b".to_vec()).await;
    h.put("gone.txt", b"x".to_vec()).await;
    let (first, client) = h.twin().await;
    let before = listed(&client, "", None).await.0;
    assert_eq!(before, ["gone.txt", "keep/a.txt", "keep/b.txt"]);
    first.stop().await;

    // While no server runs: one object removed, one folder added, on disk.
    std::fs::remove_file(h.data.path().join(BUCKET).join("gone.txt")).unwrap();
    std::fs::create_dir_all(h.data.path().join(BUCKET).join("new")).unwrap();
    std::fs::write(h.data.path().join(BUCKET).join("new/c.txt"), b"c").unwrap();

    let (_second, client) = h.twin().await;
    let after = listed(&client, "", None).await.0;
    assert_eq!(after, ["keep/a.txt", "keep/b.txt", "new/c.txt"]);
    assert_eq!(
        listed(&client, "", Some("/")).await.1,
        ["keep/", "new/"],
        "the rebuilt index rolls folders up"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_over_one_folder_each_list_the_others_writes() {
    let h = Harness::new().await;
    fill_folder(&h, "f/", 300);
    let (_other, other) = h.twin().await;
    let here = h.client().await;
    // Both build their index; then the folders' times settle, so only a change of mtime can tell.
    assert_eq!(listed(&here, "f/", None).await.0.len(), 300);
    assert_eq!(listed(&other, "f/", None).await.0.len(), 300);
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    assert_eq!(listed(&here, "f/", None).await.0.len(), 300);
    assert_eq!(listed(&other, "f/", None).await.0.len(), 300);

    other
        .put_object()
        .bucket(BUCKET)
        .key("f/sub/from-other.txt")
        .body(ByteStream::from_static(b"o"))
        .send()
        .await
        .unwrap();
    here.delete_object()
        .bucket(BUCKET)
        .key("f/00000.txt")
        .send()
        .await
        .unwrap();
    let (keys, prefixes) = listed(&here, "f/", Some("/")).await;
    assert_eq!(
        prefixes,
        ["f/sub/"],
        "this server sees the other's new folder"
    );
    assert_eq!(keys.len(), 299);
    let (keys, _) = listed(&other, "f/", None).await;
    assert!(
        !keys.contains(&"f/00000.txt".to_string()),
        "the other sees the delete"
    );
    assert!(keys.contains(&"f/sub/from-other.txt".to_string()));
    assert_eq!(keys.len(), 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_names_each_objects_checksum_algorithm_and_the_owner_when_asked() {
    use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumType};
    let h = Harness::new().await;
    h.put_with_crc32c("a.txt", b"abc".to_vec()).await;
    crate::support::put_multipart_with_full_checksum(
        &h,
        "b.bin",
        &crate::support::data(6 * crate::support::MIB, 7),
        ferry::transfer::checksum::Algorithm::Crc32,
        5 * crate::support::MIB,
    )
    .await;
    h.put("c.txt", b"plain".to_vec()).await;
    let client = h.client().await;

    let out = client
        .list_objects_v2()
        .bucket(BUCKET)
        .fetch_owner(true)
        .send()
        .await
        .unwrap();
    let [a, b, c] = out.contents() else {
        panic!("three objects: {:?}", out.contents())
    };
    assert_eq!(a.checksum_algorithm(), [ChecksumAlgorithm::Crc32C]);
    assert_eq!(b.checksum_algorithm(), [ChecksumAlgorithm::Crc32]);
    assert_eq!(b.checksum_type(), Some(&ChecksumType::FullObject));
    assert_eq!(
        b.checksum_type(),
        h.head("b.bin").await.checksum_type(),
        "as HEAD says"
    );
    assert!(c.checksum_algorithm().is_empty());
    assert!(out.contents().iter().all(|o| o.owner().is_some()));

    let out = client
        .list_objects_v2()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    assert!(
        out.contents().iter().all(|o| o.owner().is_none()),
        "the owner only when fetch-owner asks"
    );
}

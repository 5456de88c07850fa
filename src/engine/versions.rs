//! Object versions, listed only when asked (listings use ListObjectsV2 otherwise): the versions and
//! delete markers of one object or of a folder, streamed page by page like any listing
//! (ListObjectVersions, cancellable between and during requests); restoring a version, which copies
//! it over the current object on the server (CopyObject with the version as its source: no bytes
//! through the client, and the object gains a new version, so nothing is lost); and deleting one
//! version for good (DeleteObject with its VersionId — the shells ask first).
//!
//! Downloading a version is an ordinary download whose row keeps the version id
//! ([`DownloadOptions::version_id`]): see `transfer::download`.

use aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput;

use super::listing::{follow_pages, Depth};
use super::*;
use crate::transfer::copy::{copy_source_of, same_object, too_big_to_copy};

/// One version of an object, or a delete marker.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectVersion {
    pub key: String,
    pub version_id: String,
    /// 0 for a delete marker.
    pub size: u64,
    /// Unix seconds.
    pub last_modified: Option<i64>,
    pub etag: Option<String>,
    /// The object's current version (or, for a delete marker, the reason the object looks deleted).
    pub is_latest: bool,
    pub is_delete_marker: bool,
}

/// One page of a versions listing: sub-prefixes ("folders", one-level listings only) and the
/// versions and delete markers, by key, newest first within a key.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Default, Serialize)]
pub struct VersionListing {
    pub prefixes: Vec<String>,
    pub versions: Vec<ObjectVersion>,
}

/// What a restore did: the version copied over the current object, and the new current version.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Restored {
    pub key: String,
    /// The version whose bytes are current again.
    pub from_version_id: String,
    /// The version the copy created (the object's current one now).
    pub new_version_id: Option<String>,
    pub size: u64,
}

impl Engine {
    /// Lists the versions and delete markers under `prefix` page by page, calling `on_page` with
    /// each page as soon as the server answers it; `cancel` stops the listing like
    /// [`Engine::list_pages`]. The result counts versions as objects.
    pub async fn list_version_pages(
        &self,
        conn: &Connection,
        bucket: &str,
        prefix: &str,
        depth: Depth,
        cancel: &CancellationToken,
        on_page: impl FnMut(VersionListing),
    ) -> Result<Listed> {
        let s3 = self.requests(conn).await?;
        stream_version_pages(&s3, bucket, prefix, depth, cancel, on_page).await
    }

    /// Every version and delete marker of the one object `key`, newest first.
    pub async fn object_versions(
        &self,
        conn: &Connection,
        bucket: &str,
        key: &str,
    ) -> Result<Vec<ObjectVersion>> {
        let s3 = self.requests(conn).await?;
        versions_of(&s3, bucket, key).await
    }

    /// Makes the bytes of version `version_id` of `key` current again: a server-side copy of that
    /// version over the object (which gains a new version; the others stay), verified by size and
    /// ETag (or checksum). A delete marker, the current version, or one over 5 GiB are refused.
    pub async fn restore_version(
        &self,
        conn: &Connection,
        bucket: &str,
        key: &str,
        version_id: &str,
    ) -> Result<Restored> {
        let s3 = self.requests(conn).await?;
        let what = format!("restore version `{version_id}` of s3://{bucket}/{key}");
        let version = find_version(&s3, bucket, key, version_id).await?;
        if version.is_delete_marker {
            return Err(Error::invalid(format!(
                "{what}: it is a delete marker, which has no bytes; delete the marker instead to make the version before it current"
            )));
        }
        if version.is_latest {
            return Err(Error::invalid(format!(
                "{what}: it is already the current version; nothing was changed"
            )));
        }
        too_big_to_copy(&what, version.size)?;
        let source = copy_source_of(bucket, key, Some(version_id));
        let out = s3
            .send(&what, |c| {
                c.copy_object()
                    .bucket(bucket)
                    .key(key)
                    .copy_source(&source)
                    .send()
            })
            .await?;
        let new_version_id = out.version_id().map(str::to_string);
        let before = s3
            .head_version_with_checksums(&what, bucket, key, Some(version_id))
            .await?;
        let after = s3
            .head_version_with_checksums(&what, bucket, key, new_version_id.as_deref())
            .await?;
        if !same_object(&before, &after) {
            return Err(Error::new(
                ErrorKind::Corrupt,
                format!("{what}: the copy does not match the version (size, ETag or checksum); every version was kept"),
            ));
        }
        Ok(Restored {
            key: key.to_string(),
            from_version_id: version_id.to_string(),
            new_version_id,
            size: version.size,
        })
    }

    /// Deletes version `version_id` of `key` (or a delete marker) for good; the other versions
    /// stay. Returns what was deleted. A version the object does not have is refused by name.
    pub async fn delete_version(
        &self,
        conn: &Connection,
        bucket: &str,
        key: &str,
        version_id: &str,
    ) -> Result<ObjectVersion> {
        let s3 = self.requests(conn).await?;
        let version = find_version(&s3, bucket, key, version_id).await?;
        let what = format!("delete version `{version_id}` of s3://{bucket}/{key}");
        s3.send(&what, |c| {
            c.delete_object()
                .bucket(bucket)
                .key(key)
                .version_id(version_id)
                .send()
        })
        .await?;
        Ok(version)
    }
}

/// Version `version_id` of `key` as the server lists it; a missing one says how to see the others.
async fn find_version(
    s3: &s3::Requests,
    bucket: &str,
    key: &str,
    version_id: &str,
) -> Result<ObjectVersion> {
    if key.is_empty() || key.ends_with('/') {
        return Err(Error::invalid(format!(
            "s3://{bucket}/{key} is a bucket or a prefix; a version belongs to one object (s3://bucket/key)"
        )));
    }
    versions_of(s3, bucket, key)
        .await?
        .into_iter()
        .find(|v| v.version_id == version_id)
        .ok_or_else(|| {
            Error::not_found(format!(
                "s3://{bucket}/{key} has no version `{version_id}`; `ferry ls --versions s3://{bucket}/{key}` lists its versions"
            ))
        })
}

/// What a refused HEAD of version `version_id` of `key` means: a delete marker's HEAD is refused
/// (405), so when the version is one, an error saying so; otherwise `e` as it was.
pub(super) async fn refused_version_head(
    s3: &s3::Requests,
    bucket: &str,
    key: &str,
    version_id: &str,
    e: Error,
) -> Error {
    let versions = versions_of(s3, bucket, key).await.unwrap_or_default();
    if versions
        .iter()
        .any(|v| v.version_id == version_id && v.is_delete_marker)
    {
        return Error::invalid(format!(
            "version `{version_id}` of s3://{bucket}/{key} is a delete marker, which has no bytes; `ferry ls --versions s3://{bucket}/{key}` lists the versions that do"
        ));
    }
    e
}

/// The versions of exactly `key` (not of the keys it is a prefix of), newest first; the listing
/// stops once it has passed the key.
async fn versions_of(s3: &s3::Requests, bucket: &str, key: &str) -> Result<Vec<ObjectVersion>> {
    s3.head_bucket(bucket).await?;
    let past = CancellationToken::new();
    let mut out = Vec::new();
    stream_version_pages(s3, bucket, key, Depth::All, &past, |page| {
        if page.versions.last().is_some_and(|v| v.key.as_str() > key) {
            past.cancel();
        }
        out.extend(page.versions.into_iter().filter(|v| v.key == key));
    })
    .await?;
    Ok(out)
}

/// The loop behind every versions listing: one ListObjectVersions request per page (from the
/// previous page's key and version-id markers), each page handed on before the next is asked for.
async fn stream_version_pages(
    s3: &s3::Requests,
    bucket: &str,
    prefix: &str,
    depth: Depth,
    cancel: &CancellationToken,
    mut on_page: impl FnMut(VersionListing),
) -> Result<Listed> {
    let delimiter = (depth == Depth::Level).then_some("/");
    let mut listed = Listed::default();
    listed.complete = follow_pages(
        cancel,
        |from: Option<(String, Option<String>)>| async move {
            let page = s3
                .list_versions_page(bucket, prefix, delimiter, from.as_ref())
                .await?;
            Ok((version_listing(&page.output), page.next))
        },
        |listing: VersionListing| {
            listed.count(
                listing.versions.iter().map(|v| v.size),
                listing.prefixes.len(),
            );
            on_page(listing);
        },
    )
    .await?;
    Ok(listed)
}

/// One ListObjectVersions answer as a page: its prefixes, and its versions and delete markers in
/// order.
fn version_listing(out: &ListObjectVersionsOutput) -> VersionListing {
    let versions = out.versions().iter().map(|v| ObjectVersion {
        key: v.key().unwrap_or_default().to_string(),
        version_id: v.version_id().unwrap_or("null").to_string(),
        size: v.size().unwrap_or(0).max(0) as u64,
        last_modified: v.last_modified().map(|t| t.secs()),
        etag: v.e_tag().map(str::to_string),
        is_latest: v.is_latest().unwrap_or(false),
        is_delete_marker: false,
    });
    let markers = out.delete_markers().iter().map(|m| ObjectVersion {
        key: m.key().unwrap_or_default().to_string(),
        version_id: m.version_id().unwrap_or("null").to_string(),
        size: 0,
        last_modified: m.last_modified().map(|t| t.secs()),
        etag: None,
        is_latest: m.is_latest().unwrap_or(false),
        is_delete_marker: true,
    });
    VersionListing {
        prefixes: out
            .common_prefixes()
            .iter()
            .filter_map(|p| p.prefix().map(str::to_string))
            .collect(),
        versions: in_order(versions.chain(markers).collect()),
    }
}

/// Versions and delete markers (which the server lists apart) merged: by key, then newest first,
/// the current one first among equal times.
fn in_order(mut all: Vec<ObjectVersion>) -> Vec<ObjectVersion> {
    all.sort_by(|a, b| {
        a.key
            .cmp(&b.key)
            .then(b.is_latest.cmp(&a.is_latest))
            .then(b.last_modified.cmp(&a.last_modified))
    });
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(key: &str, id: &str, t: i64, latest: bool, marker: bool) -> ObjectVersion {
        ObjectVersion {
            key: key.into(),
            version_id: id.into(),
            size: 0,
            last_modified: Some(t),
            etag: None,
            is_latest: latest,
            is_delete_marker: marker,
        }
    }

    #[test]
    fn versions_and_markers_merge_by_key_then_current_then_newest() {
        let merged = in_order(vec![
            v("b", "b1", 5, true, false),
            v("a", "a1", 1, false, false),
            v("a", "a2", 3, false, false),
            v("a", "m", 3, true, true),
        ]);
        let ids: Vec<&str> = merged.iter().map(|v| v.version_id.as_str()).collect();
        assert_eq!(ids, ["m", "a2", "a1", "b1"]);
    }
}

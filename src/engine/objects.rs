//! Buckets and objects: listing, bucket creation, deletes and presigned links.

use super::*;

/// A presigned GET link and when it really stops working.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    pub url: String,
    /// Unix seconds.
    pub expires_at: u64,
    pub expires_in_secs: u64,
}

#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
    /// Unix seconds.
    pub last_modified: Option<i64>,
    pub etag: Option<String>,
}

#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Default, Serialize)]
pub struct Listing {
    /// Sub-prefixes ("folders"), each ending in `/`.
    pub prefixes: Vec<String>,
    pub objects: Vec<ObjectInfo>,
}

impl Engine {
    pub(crate) async fn require_bucket(&self, client: &Client, bucket: &str) -> Result<()> {
        match client.head_bucket().bucket(bucket).send().await {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = Error::from_sdk(&format!("open the bucket `{bucket}`"), e);
                Err(match e.kind {
                    ErrorKind::NotFound => Error::not_found(format!(
                        "the bucket `{bucket}` does not exist; create it with `ferry mb s3://{bucket}` or check the name"
                    )),
                    _ => e,
                })
            }
        }
    }

    pub(super) async fn list_all(
        &self,
        client: &Client,
        bucket: &str,
        prefix: &str,
    ) -> Result<Vec<ObjectInfo>> {
        let mut out = Vec::new();
        let mut pages = client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| Error::from_sdk(&format!("list s3://{bucket}/{prefix}"), e))?;
            out.extend(page.contents().iter().map(object_info));
        }
        Ok(out)
    }

    /// Lists one level of a bucket: sub-prefixes and objects.
    pub async fn list(&self, conn: &Connection, bucket: &str, prefix: &str) -> Result<Listing> {
        let client = self.client(conn).await?;
        let mut out = Listing::default();
        let mut pages = client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .delimiter("/")
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| Error::from_sdk(&format!("list s3://{bucket}/{prefix}"), e))?;
            out.prefixes.extend(
                page.common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix().map(str::to_string)),
            );
            out.objects.extend(page.contents().iter().map(object_info));
        }
        Ok(out)
    }

    pub async fn list_buckets(&self, conn: &Connection) -> Result<Vec<String>> {
        let client = self.client(conn).await?;
        let out = client
            .list_buckets()
            .send()
            .await
            .map_err(|e| Error::from_sdk("list buckets", e))?;
        Ok(out
            .buckets()
            .iter()
            .filter_map(|b| b.name().map(str::to_string))
            .collect())
    }

    pub async fn make_bucket(&self, conn: &Connection, bucket: &str) -> Result<()> {
        s3::check_bucket(bucket)?;
        let client = self.client(conn).await?;
        client
            .create_bucket()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| Error::from_sdk(&format!("create the bucket `{bucket}`"), e))?;
        Ok(())
    }

    /// A presigned GET link valid for `expires` (at most 7 days).
    pub async fn presign(
        &self,
        conn: &Connection,
        bucket: &str,
        key: &str,
        expires: Duration,
    ) -> Result<Link> {
        if expires > MAX_LINK_EXPIRY {
            return Err(Error::invalid(format!(
                "links can last at most 7 days (S3's limit for signed URLs), not {}; choose a shorter expiry",
                human_duration(expires)
            )));
        }
        if expires < Duration::from_secs(1) {
            return Err(Error::invalid("a link must last at least one second"));
        }
        let client = self.client(conn).await?;
        let target = format!("share s3://{bucket}/{key}");
        client
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| Error::from_sdk(&target, e))?;
        let cfg = PresigningConfig::expires_in(expires)
            .map_err(|e| Error::invalid(format!("{target}: {e}")))?;
        let signed_at = SystemTime::now();
        let req = client
            .get_object()
            .bucket(bucket)
            .key(key)
            .presigned(cfg)
            .await
            .map_err(|e| Error::from_sdk(&target, e))?;
        let at = signed_at.duration_since(UNIX_EPOCH).unwrap_or_default() + expires;
        Ok(Link {
            url: req.uri().to_string(),
            expires_at: at.as_secs(),
            expires_in_secs: expires.as_secs(),
        })
    }

    /// Deletes objects, and every object under the given prefixes; returns how many were deleted.
    pub async fn delete_objects(
        &self,
        conn: &Connection,
        bucket: &str,
        keys: &[String],
        prefixes: &[String],
    ) -> Result<usize> {
        use aws_sdk_s3::types::{Delete, ObjectIdentifier};
        let client = self.client(conn).await?;
        let mut all: Vec<String> = keys.to_vec();
        for p in prefixes {
            all.extend(
                self.list_all(&client, bucket, p)
                    .await?
                    .into_iter()
                    .map(|o| o.key),
            );
        }
        let mut deleted = 0;
        for chunk in all.chunks(1000) {
            let ids = chunk
                .iter()
                .map(|k| ObjectIdentifier::builder().key(k).build())
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| Error::internal(e.to_string()))?;
            let delete = Delete::builder()
                .set_objects(Some(ids))
                .quiet(true)
                .build()
                .map_err(|e| Error::internal(e.to_string()))?;
            let out = client
                .delete_objects()
                .bucket(bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| Error::from_sdk(&format!("delete from s3://{bucket}"), e))?;
            if let Some(err) = out.errors().first() {
                return Err(crate::error::from_service(
                    &format!("delete s3://{bucket}/{}", err.key().unwrap_or_default()),
                    403,
                    err.code(),
                    err.message(),
                ));
            }
            deleted += chunk.len();
        }
        Ok(deleted)
    }
}

/// The ETag the server holds for `key` now, if it can be asked.
pub(super) async fn object_etag(client: &Client, bucket: &str, key: &str) -> Option<String> {
    let head = client.head_object().bucket(bucket).key(key).send().await;
    head.ok().and_then(|h| h.e_tag().map(str::to_string))
}

pub(super) fn object_info(o: &aws_sdk_s3::types::Object) -> ObjectInfo {
    ObjectInfo {
        key: o.key().unwrap_or_default().to_string(),
        size: o.size().unwrap_or(0).max(0) as u64,
        last_modified: o.last_modified().map(|t| t.secs()),
        etag: o.e_tag().map(str::to_string),
    }
}

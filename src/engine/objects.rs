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
    pub(crate) async fn require_bucket(&self, s3: &s3::Requests, bucket: &str) -> Result<()> {
        s3.head_bucket(bucket).await
    }

    /// Every object under `prefix`, page by page.
    pub(super) async fn list_all(
        &self,
        s3: &s3::Requests,
        bucket: &str,
        prefix: &str,
    ) -> Result<Vec<ObjectInfo>> {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = s3.list_page(bucket, prefix, None, token.as_deref()).await?;
            out.extend(page.output.contents().iter().map(object_info));
            match page.next {
                Some(next) => token = Some(next),
                None => return Ok(out),
            }
        }
    }

    /// Lists one level of a bucket: sub-prefixes and objects.
    pub async fn list(&self, conn: &Connection, bucket: &str, prefix: &str) -> Result<Listing> {
        let s3 = self.requests(conn).await?;
        let mut out = Listing::default();
        let mut token = None;
        loop {
            let page = s3
                .list_page(bucket, prefix, Some("/"), token.as_deref())
                .await?;
            out.prefixes.extend(
                page.output
                    .common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix().map(str::to_string)),
            );
            out.objects
                .extend(page.output.contents().iter().map(object_info));
            match page.next {
                Some(next) => token = Some(next),
                None => return Ok(out),
            }
        }
    }

    pub async fn list_buckets(&self, conn: &Connection) -> Result<Vec<String>> {
        self.requests(conn).await?.list_buckets().await
    }

    pub async fn make_bucket(&self, conn: &Connection, bucket: &str) -> Result<()> {
        s3::check_bucket(bucket)?;
        self.requests(conn).await?.create_bucket(bucket).await
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
        let s3 = self.requests(conn).await?;
        let target = format!("share s3://{bucket}/{key}");
        s3.head_object(&target, bucket, key).await?;
        let cfg = PresigningConfig::expires_in(expires)
            .map_err(|e| Error::invalid(format!("{target}: {e}")))?;
        let signed_at = SystemTime::now();
        let req = s3
            .client()
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
        let s3 = self.requests(conn).await?;
        let mut all: Vec<String> = keys.to_vec();
        for p in prefixes {
            all.extend(
                self.list_all(&s3, bucket, p)
                    .await?
                    .into_iter()
                    .map(|o| o.key),
            );
        }
        let mut deleted = 0;
        for chunk in all.chunks(1000) {
            s3.delete_keys(bucket, chunk).await?;
            deleted += chunk.len();
        }
        Ok(deleted)
    }
}

/// The ETag the server holds for `key` now, if it can be asked.
pub(super) async fn object_etag(s3: &s3::Requests, bucket: &str, key: &str) -> Option<String> {
    let what = format!("look up s3://{bucket}/{key}");
    let head = s3.head_object(&what, bucket, key).await;
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

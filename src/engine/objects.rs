//! Buckets and objects: bucket creation, properties and presigned links (listings are in
//! `listing`, deletes in `delete`).

use super::*;

/// A presigned GET link and when it really stops working.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    pub url: String,
    /// Unix seconds.
    pub expires_at: u64,
    /// What the link was signed for (its `X-Amz-Expires`).
    pub expires_in_secs: u64,
    /// Why the link ends before the time asked for, when it does: a link signed with temporary
    /// credentials (SSO, STS, a session token) dies with them, so it is signed only until they expire.
    pub limited_by: Option<String>,
}

/// What `ferry stat` and the app's properties show of one object (a HEAD, checksums included).
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectProperties {
    pub key: String,
    pub size: u64,
    /// Unix seconds.
    pub last_modified: Option<i64>,
    pub etag: Option<String>,
    pub content_type: Option<String>,
    pub cache_control: Option<String>,
    pub content_disposition: Option<String>,
    pub content_encoding: Option<String>,
    pub storage_class: Option<String>,
    pub server_side_encryption: Option<String>,
    pub version_id: Option<String>,
    /// The checksums the server keeps, by algorithm (`CRC32C` → base64, `-N` for composites).
    pub checksums: std::collections::BTreeMap<String, String>,
    pub checksum_type: Option<String>,
    /// User metadata (`x-amz-meta-*`).
    pub metadata: std::collections::BTreeMap<String, String>,
}

impl Engine {
    /// One object's properties; a missing object says so by its full name.
    pub async fn stat(
        &self,
        conn: &Connection,
        bucket: &str,
        key: &str,
    ) -> Result<ObjectProperties> {
        if key.is_empty() || key.ends_with('/') {
            return Err(Error::invalid(format!(
                "s3://{bucket}/{key} is a bucket or a prefix; name one object (s3://bucket/key)"
            )));
        }
        let s3 = self.requests(conn).await?;
        let what = format!("look up s3://{bucket}/{key}");
        let h = s3.head_with_checksums(&what, bucket, key).await?;
        let checksums = [
            ("CRC32", h.checksum_crc32()),
            ("CRC32C", h.checksum_crc32_c()),
            ("CRC64NVME", h.checksum_crc64_nvme()),
            ("SHA1", h.checksum_sha1()),
            ("SHA256", h.checksum_sha256()),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_string(), v.to_string())))
        .collect();
        let text = |v: Option<&str>| v.map(str::to_string);
        Ok(ObjectProperties {
            key: key.to_string(),
            size: h.content_length().unwrap_or(0).max(0) as u64,
            last_modified: h.last_modified().map(|t| t.secs()),
            etag: text(h.e_tag()),
            content_type: text(h.content_type()),
            cache_control: text(h.cache_control()),
            content_disposition: text(h.content_disposition()),
            content_encoding: text(h.content_encoding()),
            storage_class: h.storage_class().map(|c| c.as_str().to_string()),
            server_side_encryption: h.server_side_encryption().map(|c| c.as_str().to_string()),
            version_id: text(h.version_id()),
            checksums,
            checksum_type: h.checksum_type().map(|c| c.as_str().to_string()),
            metadata: h
                .metadata()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
        })
    }

    /// What removing `url` would delete: the object it names (which must exist), or with
    /// `recursive` everything under it taken as a folder (`photos` is `photos/`, never `photos-old/`).
    pub async fn objects_to_remove(
        &self,
        conn: &Connection,
        url: &S3Url,
        recursive: bool,
    ) -> Result<Vec<ObjectInfo>> {
        if recursive {
            return self
                .list_recursive(conn, &url.bucket, &s3::as_folder(&url.key))
                .await;
        }
        if url.key.is_empty() || url.key.ends_with('/') {
            return Err(Error::invalid(format!(
                "{url} is a bucket or a prefix; name one object (s3://bucket/key), or add --recursive for everything under a prefix"
            )));
        }
        let p = self.stat(conn, &url.bucket, &url.key).await?;
        Ok(vec![ObjectInfo {
            key: p.key,
            size: p.size,
            last_modified: p.last_modified,
            etag: p.etag,
        }])
    }

    pub(crate) async fn require_bucket(&self, s3: &s3::Requests, bucket: &str) -> Result<()> {
        s3.head_bucket(bucket).await
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
        self.presign_as(conn, bucket, key, expires, false).await
    }

    /// A presigned GET link that downloads the object as a file of its name (Content-Disposition:
    /// attachment) instead of opening it in the browser.
    pub async fn presign_download(
        &self,
        conn: &Connection,
        bucket: &str,
        key: &str,
        expires: Duration,
    ) -> Result<Link> {
        self.presign_as(conn, bucket, key, expires, true).await
    }

    async fn presign_as(
        &self,
        conn: &Connection,
        bucket: &str,
        key: &str,
        expires: Duration,
        attachment: bool,
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
        // Signed with credentials resolved here, so the expiry reported is theirs.
        let credentials = self
            .signing_credentials(conn)
            .await
            .map_err(|e| Error::new(e.kind, format!("{target}: {}", e.message)))?;
        // Whole seconds, as X-Amz-Date says it: the time shown is then exactly the link's end.
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let signed_at = UNIX_EPOCH + Duration::from_secs(now.as_secs());
        let (expires, limited_by) = capped_by(expires, signed_at, credentials.expiry())?;
        let cfg = PresigningConfig::builder()
            .start_time(signed_at)
            .expires_in(expires)
            .build()
            .map_err(|e| Error::invalid(format!("{target}: {e}")))?;
        let req = s3
            .client()
            .get_object()
            .bucket(bucket)
            .key(key)
            .set_response_content_disposition(attachment.then(|| attachment_header(key)))
            .customize()
            .config_override(
                aws_sdk_s3::config::Builder::default().credentials_provider(credentials),
            )
            .presigned(cfg)
            .await
            .map_err(|e| Error::from_sdk(&target, e))?;
        let at = signed_at.duration_since(UNIX_EPOCH).unwrap_or_default() + expires;
        Ok(Link {
            url: req.uri().to_string(),
            expires_at: at.as_secs(),
            expires_in_secs: expires.as_secs(),
            limited_by,
        })
    }
}

/// The link's lifetime: `asked`, or less when the credentials expire first (then with the reason).
fn capped_by(
    asked: Duration,
    now: SystemTime,
    credentials_expiry: Option<SystemTime>,
) -> Result<(Duration, Option<String>)> {
    let Some(expiry) = credentials_expiry else {
        return Ok((asked, None));
    };
    let left = expiry.duration_since(now).unwrap_or_default();
    if left >= asked {
        return Ok((asked, None));
    }
    let when = aws_smithy_types::DateTime::from(expiry)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .map(|t| t.trim_end_matches('Z').replacen('T', " ", 1))
        .unwrap_or_default();
    // Whole seconds (X-Amz-Expires is in seconds), never past the credentials.
    let left = Duration::from_secs(left.as_secs());
    if left < Duration::from_secs(1) {
        return Err(Error::new(
            ErrorKind::AccessDenied,
            format!("the account's temporary credentials expired at {when} UTC; sign in again, then make the link"),
        ));
    }
    Ok((
        left,
        Some(format!(
            "the account's temporary credentials expire at {when} UTC; sign in again or use long-term keys for longer links"
        )),
    ))
}

/// The ETag the server holds for `key` now, if it can be asked.
pub(super) async fn object_etag(s3: &s3::Requests, bucket: &str, key: &str) -> Option<String> {
    let what = format!("look up s3://{bucket}/{key}");
    let head = s3.head_object(&what, bucket, key).await;
    head.ok().and_then(|h| h.e_tag().map(str::to_string))
}

/// `attachment; filename="NAME"` for a key's last segment, with the UTF-8 name also given as
/// RFC 6266 `filename*` so browsers keep names that are not plain ASCII.
fn attachment_header(key: &str) -> String {
    let name = key.rsplit('/').next().unwrap_or(key);
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_ends_no_later_than_its_credentials() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let hour = Duration::from_secs(3600);
        assert_eq!(capped_by(hour, now, None).unwrap(), (hour, None));
        let later = now + Duration::from_secs(2 * 3600);
        assert_eq!(capped_by(hour, now, Some(later)).unwrap(), (hour, None));
        let soon = now + Duration::from_secs(1200);
        let (left, why) = capped_by(hour, now, Some(soon)).unwrap();
        assert_eq!(left, Duration::from_secs(1200));
        assert_eq!(
            why.as_deref(),
            Some("the account's temporary credentials expire at 2027-01-15 08:20:00 UTC; sign in again or use long-term keys for longer links")
        );
        let e = capped_by(hour, now, Some(now)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::AccessDenied, "{}", e.message);
    }
}

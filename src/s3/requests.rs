//! The one door for the engine's own S3 requests: listings, HEADs, deletes and bucket calls.
//!
//! Each passes through [`Requests::send`], which retries transient failures (network, 5xx,
//! SlowDown) under the engine's [`RetryPolicy`] on top of the SDK's quick retries, and maps the
//! SDK's errors to Ferry's kinds the same way for every request, so a listing or a delete survives
//! an outage as a part does. Transfers' part requests go through the same loop
//! ([`crate::transfer::retrying`]) with their own cancellation.

use std::future::Future;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput;
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use aws_sdk_s3::Client;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, ErrorKind, Result};
use crate::transfer::{retrying, RetryPolicy};

/// A client with the retry policy and error mapping every request of the engine goes through.
#[derive(Clone)]
pub struct Requests {
    client: Client,
    retry: RetryPolicy,
    /// Ends waits between tries when the engine shuts down.
    stop: CancellationToken,
}

/// One page of a listing: objects and sub-prefixes, and the token of the next page.
pub struct Page {
    pub output: ListObjectsV2Output,
    pub next: Option<String>,
}

/// One page of a versions listing (versions and delete markers), and where the next page starts:
/// its key marker and version-id marker.
pub struct VersionsPage {
    pub output: ListObjectVersionsOutput,
    pub next: Option<(String, Option<String>)>,
}

impl Requests {
    pub fn new(client: Client, retry: RetryPolicy, stop: CancellationToken) -> Requests {
        Requests {
            client,
            retry,
            stop,
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Sends the request `f` builds, again while it fails transiently; `what` names it in errors.
    pub async fn send<T, E, F, Fut>(&self, what: &str, mut f: F) -> Result<T>
    where
        F: FnMut(&Client) -> Fut,
        Fut: Future<Output = std::result::Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        retrying(&self.retry, &self.stop, what, || {
            let sent = f(&self.client);
            async move { sent.await.map_err(|e| Error::from_sdk(what, e)) }
        })
        .await
    }

    /// Whether `bucket` exists and can be reached; a missing one says how to create it.
    pub async fn head_bucket(&self, bucket: &str) -> Result<()> {
        let what = format!("open the bucket `{bucket}`");
        match self
            .send(&what, |c| c.head_bucket().bucket(bucket).send())
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.kind == ErrorKind::NotFound => Err(Error::not_found(format!(
                "the bucket `{bucket}` does not exist; create it with `ferry mb s3://{bucket}` or check the name"
            ))),
            Err(e) => Err(e),
        }
    }

    /// One page of the objects under `prefix` (one level when `delimiter` is given), from `token`.
    pub async fn list_page(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
        token: Option<&str>,
    ) -> Result<Page> {
        let what = format!("list s3://{bucket}/{prefix}");
        let output = self
            .send(&what, |c| {
                c.list_objects_v2()
                    .bucket(bucket)
                    .prefix(prefix)
                    .set_delimiter(delimiter.map(str::to_string))
                    .set_continuation_token(token.map(str::to_string))
                    .send()
            })
            .await?;
        let next = output
            .is_truncated()
            .unwrap_or(false)
            .then(|| output.next_continuation_token().map(str::to_string))
            .flatten();
        Ok(Page { output, next })
    }

    /// One page of the versions and delete markers under `prefix` (one level when `delimiter` is
    /// given), from `from` (the previous page's markers).
    pub async fn list_versions_page(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
        from: Option<&(String, Option<String>)>,
    ) -> Result<VersionsPage> {
        let what = format!("list the versions under s3://{bucket}/{prefix}");
        let output = self
            .send(&what, |c| {
                c.list_object_versions()
                    .bucket(bucket)
                    .prefix(prefix)
                    .set_delimiter(delimiter.map(str::to_string))
                    .set_key_marker(from.map(|f| f.0.clone()))
                    .set_version_id_marker(from.and_then(|f| f.1.clone()))
                    .send()
            })
            .await?;
        let next = output
            .is_truncated()
            .unwrap_or(false)
            .then(|| {
                output.next_key_marker().map(|k| {
                    (
                        k.to_string(),
                        output.next_version_id_marker().map(str::to_string),
                    )
                })
            })
            .flatten();
        Ok(VersionsPage { output, next })
    }

    pub async fn head_object(
        &self,
        what: &str,
        bucket: &str,
        key: &str,
    ) -> Result<HeadObjectOutput> {
        self.send(what, |c| c.head_object().bucket(bucket).key(key).send())
            .await
    }

    /// An object's HEAD with the checksums the server keeps; a missing object says so by name.
    pub async fn head_with_checksums(
        &self,
        what: &str,
        bucket: &str,
        key: &str,
    ) -> Result<HeadObjectOutput> {
        self.head_version_with_checksums(what, bucket, key, None)
            .await
    }

    /// [`Requests::head_with_checksums`] of one version of `key` (`None`: the current object).
    pub async fn head_version_with_checksums(
        &self,
        what: &str,
        bucket: &str,
        key: &str,
        version: Option<&str>,
    ) -> Result<HeadObjectOutput> {
        self.send(what, |c| {
            c.head_object()
                .bucket(bucket)
                .key(key)
                .set_version_id(version.map(str::to_string))
                .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
                .send()
        })
        .await
        .map_err(|e| match (e.kind, version) {
            (ErrorKind::NotFound, None) => {
                Error::not_found(format!("no such object: s3://{bucket}/{key}"))
            }
            (ErrorKind::NotFound, Some(v)) => Error::not_found(format!(
                "s3://{bucket}/{key} has no version `{v}`; `ferry ls --versions s3://{bucket}/{key}` lists its versions"
            )),
            _ => e,
        })
    }

    /// Bytes `first..=last` of `key` as it is while its ETag is `etag` (If-Match), read whole; the
    /// request and the reading of its body are tried again together on a transient failure.
    pub async fn get_range(
        &self,
        bucket: &str,
        key: &str,
        (first, last): (u64, u64),
        etag: Option<&str>,
    ) -> Result<bytes::Bytes> {
        let what = format!("read bytes {first}-{last} of s3://{bucket}/{key}");
        retrying(&self.retry, &self.stop, &what, || async {
            let out = self
                .client
                .get_object()
                .bucket(bucket)
                .key(key)
                .range(format!("bytes={first}-{last}"))
                .set_if_match(etag.map(str::to_string))
                .send()
                .await
                .map_err(|e| Error::from_sdk(&what, e))?;
            let body = out.body.collect().await.map_err(|e| {
                Error::new(
                    ErrorKind::Network,
                    format!("{what}: the connection broke ({e})"),
                )
            })?;
            let bytes = body.into_bytes();
            if bytes.len() as u64 != last - first + 1 {
                return Err(Error::new(
                    ErrorKind::Network,
                    format!(
                        "{what}: {} bytes arrived instead of {}",
                        bytes.len(),
                        last - first + 1
                    ),
                ));
            }
            Ok(bytes)
        })
        .await
    }

    pub async fn list_buckets(&self) -> Result<Vec<String>> {
        let out = self
            .send("list buckets", |c| c.list_buckets().send())
            .await?;
        Ok(out
            .buckets()
            .iter()
            .filter_map(|b| b.name().map(str::to_string))
            .collect())
    }

    pub async fn create_bucket(&self, bucket: &str) -> Result<()> {
        let what = format!("create the bucket `{bucket}`");
        self.send(&what, |c| c.create_bucket().bucket(bucket).send())
            .await?;
        Ok(())
    }

    /// Deletes up to 1,000 keys in one request; a key the server refused fails the whole call.
    pub async fn delete_keys(&self, bucket: &str, keys: &[String]) -> Result<()> {
        match self.delete_batch(bucket, keys).await?.into_iter().next() {
            Some((_, e)) => Err(e),
            None => Ok(()),
        }
    }

    /// Deletes up to 1,000 keys in one DeleteObjects request; returns each key the server refused,
    /// with its reason (the others are deleted).
    pub async fn delete_batch(
        &self,
        bucket: &str,
        keys: &[String],
    ) -> Result<Vec<(String, Error)>> {
        let ids = keys
            .iter()
            .map(|k| ObjectIdentifier::builder().key(k).build())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::internal(e.to_string()))?;
        let delete = Delete::builder()
            .set_objects(Some(ids))
            .quiet(true)
            .build()
            .map_err(|e| Error::internal(e.to_string()))?;
        let what = format!("delete from s3://{bucket}");
        let out = self
            .send(&what, |c| {
                c.delete_objects()
                    .bucket(bucket)
                    .delete(delete.clone())
                    .send()
            })
            .await?;
        Ok(out
            .errors()
            .iter()
            .map(|err| {
                let key = err.key().unwrap_or_default().to_string();
                let e = crate::error::from_service(
                    &format!("delete s3://{bucket}/{key}"),
                    403,
                    err.code(),
                    err.message(),
                );
                (key, e)
            })
            .collect())
    }
}

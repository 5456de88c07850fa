//! UploadPartCopy as S3 answers it, over s3s-fs: an unknown upload id is NoSuchUpload (s3s-fs says
//! AccessDenied), and `x-amz-copy-source-if-match` is honoured (s3s-fs ignores it), so a multipart
//! copy whose source was replaced midway is refused instead of stitching two versions together.
//! The range itself (`x-amz-copy-source-range: bytes=first-last`) is s3s-fs's, checked by the
//! tests of multipart copies.

use s3s::dto::*;
use s3s::{s3_error, S3Request, S3Response, S3Result, S3};

use super::{no_such_upload, sibling, LocalS3};

impl LocalS3 {
    pub(super) async fn part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        if !self.upload_exists(&req.input.upload_id) {
            return Err(no_such_upload());
        }
        if let Some(cond) = req.input.copy_source_if_match.clone() {
            let CopySource::Bucket { bucket, key, .. } = &req.input.copy_source else {
                return Err(s3_error!(NotImplemented));
            };
            self.check_if_match(&req, bucket, key, &cond).await?;
        }
        self.fs.upload_part_copy(req).await
    }

    /// PreconditionFailed unless `bucket/key`'s ETag is the one `cond` names (GET `If-Match`,
    /// UploadPartCopy `x-amz-copy-source-if-match`).
    pub(super) async fn check_if_match<T>(
        &self,
        req: &S3Request<T>,
        bucket: &str,
        key: &str,
        cond: &ETagCondition,
    ) -> S3Result<()> {
        let head = HeadObjectInput::builder()
            .bucket(bucket.to_string())
            .key(key.to_string())
            .build()
            .map_err(|e| s3_error!(InvalidRequest, "{e}"))?;
        let current = self.fs.head_object(sibling(req, head)).await?.output.e_tag;
        let matches = cond.is_any()
            || match (cond.as_etag(), current.as_ref()) {
                (Some(want), Some(have)) => want.strong_cmp(have),
                _ => false,
            };
        if !matches {
            return Err(s3_error!(
                PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold"
            ));
        }
        Ok(())
    }
}

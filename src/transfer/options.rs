//! What an object is stored with besides its bytes (Content-Type, caching, metadata, storage class,
//! encryption): the options a transfer carries, their checks, and how a request takes them.

use std::collections::HashMap;

use crate::error::{Error, Result};

/// What an uploaded object is stored with besides its bytes. Each field left out takes S3's
/// default, except the Content-Type, which comes from the object's name when not given.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ObjectOptions {
    pub content_type: Option<String>,
    pub cache_control: Option<String>,
    pub content_disposition: Option<String>,
    pub content_encoding: Option<String>,
    /// User metadata (`x-amz-meta-NAME`).
    pub metadata: std::collections::BTreeMap<String, String>,
    /// `STANDARD`, `STANDARD_IA`, `INTELLIGENT_TIERING`, `GLACIER_IR`, …
    pub storage_class: Option<String>,
    /// Server-side encryption: `AES256` (SSE-S3) or `aws:kms` (SSE-KMS); the bucket's default when
    /// not given.
    pub sse: Option<String>,
    /// The KMS key of `aws:kms` (the account's default key when not given).
    pub sse_kms_key_id: Option<String>,
}

impl ObjectOptions {
    /// Refuses what S3 would refuse, before anything is queued.
    pub fn validate(&self) -> Result<()> {
        for name in self.metadata.keys() {
            let ok = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !ok {
                return Err(Error::invalid(format!(
                    "the metadata name `{name}` is not valid; use letters, digits, `-` and `_` (e.g. --metadata owner=ana)"
                )));
            }
        }
        if let Some(class) = &self.storage_class {
            let known = aws_sdk_s3::types::StorageClass::values();
            if !known.contains(&class.as_str()) {
                return Err(Error::invalid(format!(
                    "`{class}` is not a storage class; choose one of {}",
                    known.join(", ")
                )));
            }
        }
        check_sse(self.sse.as_deref(), self.sse_kms_key_id.as_deref())?;
        if let Some(t) = &self.content_type {
            if t.parse::<mime_guess::mime::Mime>().is_err() {
                return Err(Error::invalid(format!(
                    "`{t}` is not a content type; write it like text/plain or image/png"
                )));
            }
        }
        Ok(())
    }

    /// The JSON stored with each transfer; `None` when nothing was chosen.
    pub fn to_json(&self) -> Option<String> {
        super::row_json(self)
    }

    /// The options stored with a transfer (none chosen when the column is empty).
    pub fn of(stored: Option<&str>) -> Result<ObjectOptions> {
        super::from_row_json(stored, "object options")
    }

    pub(crate) fn content_type_for(&self, key: &str) -> String {
        self.content_type
            .clone()
            .unwrap_or_else(|| content_type(key))
    }

    /// The user metadata, with the file's modification time (`mtime`, rclone's format) unless the
    /// user gave one: sync compares it, and a download gives the file that time back.
    pub(crate) fn metadata_map(
        &self,
        source_mtime_ns: Option<i64>,
    ) -> Option<HashMap<String, String>> {
        let mut m: HashMap<String, String> = self.metadata.clone().into_iter().collect();
        if let Some(ns) = source_mtime_ns.filter(|ns| *ns > 0) {
            m.entry(super::MTIME_META.to_string())
                .or_insert_with(|| super::mtime_text(ns));
        }
        (!m.is_empty()).then_some(m)
    }
}

/// Applies `ObjectOptions` to a PutObject or CreateMultipartUpload request (their builders share
/// these setters but no trait), for the object `$key` of a file modified at `$mtime_ns` (when there
/// is a file: a stream has none).
macro_rules! with_object_options {
    ($req:expr, $o:expr, $key:expr, $mtime_ns:expr) => {
        $req.content_type($o.content_type_for($key))
            .set_cache_control($o.cache_control.clone())
            .set_content_disposition($o.content_disposition.clone())
            .set_content_encoding($o.content_encoding.clone())
            .set_metadata($o.metadata_map($mtime_ns))
            .set_storage_class(
                $o.storage_class
                    .as_deref()
                    .map(aws_sdk_s3::types::StorageClass::from),
            )
            .set_server_side_encryption(
                $o.sse
                    .as_deref()
                    .map(aws_sdk_s3::types::ServerSideEncryption::from),
            )
            .set_ssekms_key_id($o.sse_kms_key_id.clone())
    };
}

/// The server-side encryptions Ferry asks for by name (`--sse`).
const SSE_MODES: [&str; 3] = ["AES256", "aws:kms", "aws:kms:dsse"];

/// Refuses an encryption S3 does not know, and a KMS key without KMS encryption.
pub fn check_sse(sse: Option<&str>, kms_key_id: Option<&str>) -> Result<()> {
    if let Some(mode) = sse {
        if !SSE_MODES.contains(&mode) {
            return Err(Error::invalid(format!(
                "`{mode}` is not a server-side encryption; choose --sse AES256 (keys managed by S3) or --sse aws:kms (with --sse-kms-key-id ID for a key of yours)"
            )));
        }
    }
    if kms_key_id.is_some() && !sse.is_some_and(|m| m.starts_with("aws:kms")) {
        return Err(Error::invalid(
            "--sse-kms-key-id names a KMS key, which needs --sse aws:kms",
        ));
    }
    if kms_key_id.is_some_and(|k| k.trim().is_empty()) {
        return Err(Error::invalid(
            "--sse-kms-key-id is empty; give the key's id, ARN or alias, or leave it out for the account's default key",
        ));
    }
    Ok(())
}
pub(crate) use with_object_options;

/// The Content-Type an object is uploaded with, from its name's extension (mime_guess), so that a
/// shared PDF or image opens in the browser; `application/octet-stream` when the name says nothing.
pub fn content_type(key: &str) -> String {
    mime_guess::from_path(key)
        .first_or_octet_stream()
        .essence_str()
        .to_string()
}

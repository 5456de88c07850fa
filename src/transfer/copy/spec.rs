//! What a copy carries besides the bytes: the [`CopySpec`] kept with its row (a move, encryption,
//! an [`ObjectEdit`] of the attributes), and the source's [`Attributes`] as HEAD tells them, with the
//! edit made, for the requests that set them.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_s3::operation::head_object::HeadObjectOutput;

use crate::error::{Error, Result};

/// What a copy transfer does besides copying the bytes (stored with its row as JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CopySpec {
    /// A move: the source is deleted once the copy is verified.
    pub delete_source: bool,
    /// Server-side encryption of the copy (`AES256`, `aws:kms`); the bucket's default when `None`.
    pub sse: Option<String>,
    pub sse_kms_key_id: Option<String>,
    /// Attributes changed on the way (the rest are the source's).
    pub edit: Option<ObjectEdit>,
    /// The source's account when it is not the destination's (the row's connection): the bytes
    /// are streamed through Ferry (see `copy/streamed.rs`) instead of copied by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<crate::s3::Connection>,
}

impl CopySpec {
    pub fn to_json(&self) -> Option<String> {
        super::super::row_json(self)
    }

    pub fn of(stored: Option<&str>) -> Result<CopySpec> {
        super::super::from_row_json(stored, "copy")
    }
}

/// Changes to an object's attributes, rewritten by the server (a copy with the REPLACE directive);
/// what is left `None` keeps its value, an empty text removes the attribute.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ObjectEdit {
    #[cfg_attr(test, ts(optional))]
    pub content_type: Option<String>,
    #[cfg_attr(test, ts(optional))]
    pub cache_control: Option<String>,
    #[cfg_attr(test, ts(optional))]
    pub content_disposition: Option<String>,
    /// User metadata set (added, or replacing the value of the same name).
    pub metadata: BTreeMap<String, String>,
    /// User metadata names removed.
    pub remove_metadata: Vec<String>,
    #[cfg_attr(test, ts(optional))]
    pub storage_class: Option<String>,
}

impl ObjectEdit {
    /// Refuses what S3 would refuse, and an edit that changes nothing.
    pub fn validate(&self) -> Result<()> {
        if self == &ObjectEdit::default() {
            return Err(Error::invalid(
                "nothing to change: give a content type, cache control, content disposition, metadata or storage class",
            ));
        }
        let as_options = crate::transfer::upload::ObjectOptions {
            content_type: self.content_type.clone().filter(|t| !t.is_empty()),
            metadata: self.metadata.clone(),
            storage_class: self.storage_class.clone(),
            ..Default::default()
        };
        as_options.validate()?;
        if self.content_type.as_deref() == Some("") {
            return Err(Error::invalid(
                "an object always has a content type; give one such as application/octet-stream",
            ));
        }
        if let Some(name) = self
            .remove_metadata
            .iter()
            .find(|n| self.metadata.contains_key(*n))
        {
            return Err(Error::invalid(format!(
                "the metadata `{name}` is both set and removed; choose one"
            )));
        }
        Ok(())
    }
}

/// What an object is stored with besides its bytes and encryption, as HEAD tells it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Attributes {
    pub content_type: Option<String>,
    pub cache_control: Option<String>,
    pub content_disposition: Option<String>,
    pub content_encoding: Option<String>,
    pub content_language: Option<String>,
    pub website_redirect_location: Option<String>,
    pub metadata: HashMap<String, String>,
    pub storage_class: Option<String>,
}

impl Attributes {
    pub(crate) fn of(head: &HeadObjectOutput) -> Attributes {
        Attributes {
            content_type: head.content_type().map(str::to_string),
            cache_control: head.cache_control().map(str::to_string),
            content_disposition: head.content_disposition().map(str::to_string),
            content_encoding: head.content_encoding().map(str::to_string),
            content_language: head.content_language().map(str::to_string),
            website_redirect_location: head.website_redirect_location().map(str::to_string),
            metadata: head.metadata().cloned().unwrap_or_default(),
            storage_class: head.storage_class().map(|c| c.as_str().to_string()),
        }
    }

    /// These attributes with `edit`'s changes made.
    pub(crate) fn edited(mut self, edit: &ObjectEdit) -> Attributes {
        let set = |field: &mut Option<String>, to: &Option<String>| {
            if let Some(v) = to {
                *field = (!v.is_empty()).then(|| v.clone());
            }
        };
        set(&mut self.content_type, &edit.content_type);
        set(&mut self.cache_control, &edit.cache_control);
        set(&mut self.content_disposition, &edit.content_disposition);
        set(&mut self.storage_class, &edit.storage_class);
        for name in &edit.remove_metadata {
            self.metadata.remove(name);
        }
        self.metadata.extend(edit.metadata.clone());
        self
    }
}

//! Object tags as S3 keeps them, for the test server (s3s-fs keeps none): set by PutObject's and
//! CreateMultipartUpload's `x-amz-tagging` (the latter's given to the object at completion), copied
//! by CopyObject unless its tagging directive is REPLACE, read with GetObjectTagging. In memory.

use std::collections::HashMap;
use std::sync::Mutex;

use percent_encoding::percent_decode_str;
use s3s::dto::{Tag, TaggingDirective};

/// (name, value) pairs, in the order given.
type TagList = Vec<(String, String)>;

#[derive(Default)]
pub struct Tags {
    /// (bucket, key) → its tags.
    objects: Mutex<HashMap<(String, String), TagList>>,
    /// Upload id → the tags its object gets at completion.
    uploads: Mutex<HashMap<String, TagList>>,
}

/// `a=1&b=x%20y` as (name, value) pairs.
fn parse(tagging: Option<&str>) -> TagList {
    let decode = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    tagging
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn at(bucket: &str, key: &str) -> (String, String) {
    (bucket.to_string(), key.to_string())
}

impl Tags {
    pub(super) fn put(&self, bucket: &str, key: &str, tagging: Option<&str>) {
        self.objects
            .lock()
            .unwrap()
            .insert(at(bucket, key), parse(tagging));
    }

    pub(super) fn start(&self, upload_id: &str, tagging: Option<&str>) {
        self.uploads
            .lock()
            .unwrap()
            .insert(upload_id.to_string(), parse(tagging));
    }

    pub(super) fn complete(&self, upload_id: &str, bucket: &str, key: &str) {
        let tags = self
            .uploads
            .lock()
            .unwrap()
            .remove(upload_id)
            .unwrap_or_default();
        self.objects.lock().unwrap().insert(at(bucket, key), tags);
    }

    pub(super) fn copy(
        &self,
        (from_bucket, from_key): (&str, &str),
        (bucket, key): (&str, &str),
        directive: Option<&TaggingDirective>,
        tagging: Option<&str>,
    ) {
        let replace = directive.is_some_and(|d| d.as_str() == TaggingDirective::REPLACE);
        let mut objects = self.objects.lock().unwrap();
        let tags = match replace {
            true => parse(tagging),
            false => objects
                .get(&at(from_bucket, from_key))
                .cloned()
                .unwrap_or_default(),
        };
        objects.insert(at(bucket, key), tags);
    }

    pub(super) fn get(&self, bucket: &str, key: &str) -> Vec<Tag> {
        let objects = self.objects.lock().unwrap();
        objects
            .get(&at(bucket, key))
            .into_iter()
            .flatten()
            .map(|(k, v)| Tag {
                key: Some(k.clone()),
                value: Some(v.clone()),
            })
            .collect()
    }
}

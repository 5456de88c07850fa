//! Previews: what the app shows of an object without saving it anywhere. Text (plain, JSON, CSV,
//! XML, YAML, code) comes as its first [`TEXT_MAX`] bytes in one ranged GET pinned to the object's
//! ETag, decoded as UTF-8; images, PDFs, audio and video come as a short-lived presigned link the
//! webview loads itself (images only up to [`IMAGE_MAX`]). Anything else, or text that turns out to
//! be binary, is no preview, with the reason.

use super::*;

/// The most bytes of a text object a preview reads.
pub const TEXT_MAX: u64 = 256 * 1024;
/// The largest image a preview loads.
pub const IMAGE_MAX: u64 = 50 * 1024 * 1024;
/// How long a preview's link lasts.
const LINK_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// What a preview shows.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PreviewKind {
    Text,
    Image,
    Pdf,
    Audio,
    Video,
    /// Nothing to show: `Preview::reason` says why.
    None,
}

/// A preview of one object.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Preview {
    pub kind: PreviewKind,
    pub content_type: String,
    pub size: u64,
    /// Text: the object's first bytes, decoded.
    pub text: Option<String>,
    /// Text: only the first [`TEXT_MAX`] bytes were read.
    pub truncated: bool,
    /// Images, PDFs, audio and video: a presigned link for the webview.
    pub url: Option<String>,
    /// Kind `None`: why there is no preview.
    pub reason: Option<String>,
}

/// The kind of preview a content type gets.
pub fn preview_kind(content_type: &str) -> PreviewKind {
    let ct = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let (top, sub) = ct.split_once('/').unwrap_or((ct.as_str(), ""));
    match top {
        "text" => PreviewKind::Text,
        "image" => PreviewKind::Image,
        "audio" => PreviewKind::Audio,
        "video" => PreviewKind::Video,
        "application" if sub == "pdf" => PreviewKind::Pdf,
        "application"
            if matches!(
                sub,
                "json" | "xml" | "javascript" | "x-yaml" | "yaml" | "toml" | "x-sh" | "sql"
            ) || sub.ends_with("+json")
                || sub.ends_with("+xml") =>
        {
            PreviewKind::Text
        }
        _ => PreviewKind::None,
    }
}

impl Engine {
    /// A preview of `key` (see the module docs); a missing object says so by its full name.
    pub async fn preview(&self, conn: &Connection, bucket: &str, key: &str) -> Result<Preview> {
        let props = self.stat(conn, bucket, key).await?;
        // The type the object was stored with, unless it is the generic one: then its name's.
        let content_type = props
            .content_type
            .clone()
            .filter(|t| {
                !t.is_empty() && t != "application/octet-stream" && t != "binary/octet-stream"
            })
            .unwrap_or_else(|| {
                mime_guess::from_path(key)
                    .first_raw()
                    .unwrap_or("application/octet-stream")
                    .to_string()
            });
        let kind = preview_kind(&content_type);
        let size = props.size;
        let none = |reason: String| Preview {
            kind: PreviewKind::None,
            content_type: content_type.clone(),
            size,
            text: None,
            truncated: false,
            url: None,
            reason: Some(reason),
        };
        match kind {
            PreviewKind::None => Ok(none(format!(
                "{content_type} has no preview; download it to open it"
            ))),
            PreviewKind::Image if size > IMAGE_MAX => Ok(none(format!(
                "the image is {}, over the preview's {}; download it to open it",
                crate::format::human_bytes(size),
                crate::format::human_bytes(IMAGE_MAX)
            ))),
            PreviewKind::Text => {
                let (text, truncated) = if size == 0 {
                    (String::new(), false)
                } else {
                    let last = size.min(TEXT_MAX) - 1;
                    let s3 = self.requests(conn).await?;
                    let bytes = s3
                        .get_range(bucket, key, (0, last), props.etag.as_deref())
                        .await?;
                    if bytes.contains(&0) {
                        return Ok(none(
                            "it holds binary data, not text; download it to open it".into(),
                        ));
                    }
                    (
                        String::from_utf8_lossy(&bytes).into_owned(),
                        size > TEXT_MAX,
                    )
                };
                Ok(Preview {
                    kind,
                    content_type,
                    size,
                    text: Some(text),
                    truncated,
                    url: None,
                    reason: None,
                })
            }
            _ => {
                let link = self.presign(conn, bucket, key, LINK_LIFETIME).await?;
                Ok(Preview {
                    kind,
                    content_type,
                    size,
                    text: None,
                    truncated: false,
                    url: Some(link.url),
                    reason: None,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_get_the_preview_the_webview_can_show() {
        for (t, k) in [
            ("text/plain; charset=utf-8", PreviewKind::Text),
            ("text/csv", PreviewKind::Text),
            ("application/json", PreviewKind::Text),
            ("application/ld+json", PreviewKind::Text),
            ("image/png", PreviewKind::Image),
            ("application/pdf", PreviewKind::Pdf),
            ("audio/mpeg", PreviewKind::Audio),
            ("video/mp4", PreviewKind::Video),
            ("application/zip", PreviewKind::None),
            ("application/octet-stream", PreviewKind::None),
        ] {
            assert_eq!(preview_kind(t), k, "{t}");
        }
    }
}

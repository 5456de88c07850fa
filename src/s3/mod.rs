//! Building S3 clients, and the names S3 deals in (`s3://bucket/key`).
//!
//! A [`Connection`] says where a transfer's server is and how to authenticate, without holding a
//! secret: it is stored with every transfer so a resume after a restart reaches the same server.
//! Secrets come from the AWS configuration chain (environment, `~/.aws` profiles including SSO), from
//! credentials registered in the engine at run time (accounts whose secret lives in the keychain), or
//! from the embedded endpoint's key file.

mod requests;

pub use requests::{Page, Requests};

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_sdk_s3::config::{RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::Client;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The account name of the embedded local endpoint.
pub const LOCAL_ACCOUNT: &str = "local";

/// Where a server is and how to reach it. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Connection {
    /// `local` for the embedded endpoint, `default` for the AWS configuration chain, or the name of an
    /// account whose credentials are registered with the engine.
    pub account: String,
    /// Endpoint URL for S3-compatible servers; `None` means AWS S3 (or `AWS_ENDPOINT_URL`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// An `~/.aws` profile name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Path-style addressing (`http://host/bucket/key`), which most S3-compatible servers want.
    #[serde(default)]
    pub path_style: bool,
}

impl Connection {
    pub fn local() -> Connection {
        Connection {
            account: LOCAL_ACCOUNT.into(),
            endpoint: None,
            region: None,
            profile: None,
            path_style: true,
        }
    }

    pub fn is_local(&self) -> bool {
        self.account == LOCAL_ACCOUNT
    }

    /// The stable text stored with each transfer (and used to find a transfer to continue).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a Connection always serialises")
    }

    pub fn from_json(s: &str) -> Result<Connection> {
        serde_json::from_str(s)
            .map_err(|e| Error::storage(format!("stored connection is unreadable: {e}")))
    }

    /// Checks the endpoint URL before any request, so a typo gets a clear message.
    pub fn validate(&self) -> Result<()> {
        if let Some(ep) = &self.endpoint {
            let ok = (ep.starts_with("http://") || ep.starts_with("https://"))
                && ep
                    .parse::<http::Uri>()
                    .map(|u| u.host().is_some())
                    .unwrap_or(false);
            if !ok {
                return Err(Error::invalid(format!(
                    "`{ep}` is not an endpoint URL; write it like https://s3.example.com or http://127.0.0.1:9000"
                )));
            }
            let path = ep
                .parse::<http::Uri>()
                .ok()
                .and_then(|u| u.path_and_query().map(|p| p.as_str().to_string()))
                .unwrap_or_default();
            if !path.is_empty() && path != "/" {
                return Err(Error::invalid(format!(
                    "the endpoint URL `{ep}` has a path (`{path}`); give the server alone (like https://s3.example.com) and the bucket in s3://bucket/key"
                )));
            }
        }
        Ok(())
    }
}

/// Tries per request inside the SDK (quick retries of transient failures, before the engine's own).
pub const SDK_ATTEMPTS: u32 = 4;

/// The same client with the SDK's retries starting at `initial_backoff` (the engine's retry policy).
pub fn with_sdk_backoff(client: &Client, initial_backoff: Duration) -> Client {
    let conf = client
        .config()
        .to_builder()
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(SDK_ATTEMPTS)
                .with_initial_backoff(initial_backoff),
        )
        .build();
    Client::from_conf(conf)
}

/// The same client without the SDK's retries: one try, for a person waiting on the answer.
pub fn single_attempt(client: &Client) -> Client {
    let conf = client
        .config()
        .to_builder()
        .retry_config(RetryConfig::disabled())
        .build();
    Client::from_conf(conf)
}

/// Builds a client for `conn`. `endpoint` and `credentials` override what the connection would find
/// itself (the embedded endpoint, or an account's keychain secret).
pub async fn client(
    conn: &Connection,
    endpoint: Option<&str>,
    credentials: Option<Credentials>,
) -> Result<Client> {
    let shared = shared_config(conn, credentials).await?;
    let mut b = aws_sdk_s3::config::Builder::from(&shared)
        // Explicit per-part CRC32C headers instead of aws-chunked trailers: Garage and others reject
        // the trailer framing, and a header lets every server that checks it verify the part.
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .force_path_style(conn.path_style)
        .retry_config(RetryConfig::standard().with_max_attempts(SDK_ATTEMPTS))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(10))
                .build(),
        );
    if shared.region().is_none() {
        b = b.region(Region::new("us-east-1"));
    }
    if let Some(ep) = endpoint.or(conn.endpoint.as_deref()) {
        b = b.endpoint_url(ep);
    }
    Ok(Client::from_conf(b.build()))
}

/// The AWS configuration a connection's client is built from: its profile and region, and
/// `credentials` when given (else the configuration's own: environment, profiles, SSO…).
async fn shared_config(
    conn: &Connection,
    credentials: Option<Credentials>,
) -> Result<aws_config::SdkConfig> {
    conn.validate()?;
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if credentials.is_none() {
        crate::accounts::check_aws_files().await?;
    }
    if let Some(p) = &conn.profile {
        crate::accounts::check_profile(p)?;
        loader = loader.profile_name(p);
    }
    if let Some(r) = &conn.region {
        loader = loader.region(Region::new(r.clone()));
    }
    if let Some(c) = credentials {
        loader = loader.credentials_provider(c);
    }
    Ok(loader.load().await)
}

/// The credentials the AWS configuration gives `conn` now (environment, profile, SSO, STS,
/// `credential_process`), with their expiry when they are temporary.
pub async fn resolve_credentials(conn: &Connection) -> Result<Credentials> {
    use aws_credential_types::provider::ProvideCredentials as _;
    let shared = shared_config(conn, None).await?;
    let none = || {
        Error::new(
            crate::error::ErrorKind::AccessDenied,
            "no credentials were found for this account; sign in or give keys",
        )
    };
    let provider = shared.credentials_provider().ok_or_else(none)?;
    provider.provide_credentials().await.map_err(|e| {
        Error::new(
            crate::error::ErrorKind::AccessDenied,
            format!("cannot read the account's credentials ({e}); sign in again"),
        )
    })
}

/// An `s3://bucket/key` location. `key` may be empty (the bucket) or end in `/` (a prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    pub bucket: String,
    pub key: String,
}

impl S3Url {
    pub fn is_s3(s: &str) -> bool {
        s.starts_with("s3://")
    }

    pub fn parse(s: &str) -> Result<S3Url> {
        let rest = s.strip_prefix("s3://").ok_or_else(|| {
            Error::invalid(format!(
                "`{s}` is not an S3 location; write it as s3://bucket/key"
            ))
        })?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        check_bucket(bucket)?;
        if !key.is_empty() {
            check_key(key)?;
        }
        Ok(S3Url {
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }
}

impl std::fmt::Display for S3Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

/// A prefix as a folder: `photos` means `photos/` (never `photos-old/` beside it); `` stays the
/// whole bucket.
pub fn as_folder(key: &str) -> String {
    if key.is_empty() || key.ends_with('/') {
        key.to_string()
    } else {
        format!("{key}/")
    }
}

/// S3's bucket naming rules, checked before any request.
pub fn check_bucket(b: &str) -> Result<()> {
    let ok = (3..=63).contains(&b.len())
        && b.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.')
        && b.as_bytes()[0].is_ascii_alphanumeric()
        && b.as_bytes()[b.len() - 1].is_ascii_alphanumeric()
        && !b.contains("..");
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "`{b}` is not a valid bucket name: use 3 to 63 lowercase letters, digits, dots and hyphens, \
             starting and ending with a letter or digit"
        )))
    }
}

/// S3's key limits: at most 1,024 bytes of UTF-8, no NUL.
pub fn check_key(k: &str) -> Result<()> {
    if k.len() > 1024 {
        return Err(Error::invalid(format!(
            "the key `{}…` is {} bytes long; S3 keys are at most 1,024 bytes, choose a shorter key or prefix",
            k.chars().take(40).collect::<String>(),
            k.len()
        )));
    }
    if k.contains('\0') {
        return Err(Error::invalid("keys may not contain NUL characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_urls_parse_and_bad_ones_say_why() {
        let u = S3Url::parse("s3://my-bucket/a/b.txt").unwrap();
        assert_eq!(
            (u.bucket.as_str(), u.key.as_str()),
            ("my-bucket", "a/b.txt")
        );
        assert_eq!(S3Url::parse("s3://bucket").unwrap().key, "");
        assert!(S3Url::parse("/tmp/x")
            .unwrap_err()
            .message
            .contains("s3://bucket/key"));
        assert!(S3Url::parse("s3://Bad_Bucket/x")
            .unwrap_err()
            .message
            .contains("lowercase"));
        let long = format!("s3://bucket/{}", "k".repeat(1025));
        assert!(S3Url::parse(&long).unwrap_err().message.contains("1,024"));
    }

    #[test]
    fn malformed_endpoints_are_refused_before_any_request() {
        let mut c = Connection::local();
        c.endpoint = Some("localhost:9000".into());
        assert!(c.validate().unwrap_err().message.contains("http://"));
        c.endpoint = Some("http://127.0.0.1:9000".into());
        c.validate().unwrap();
    }

    proptest::proptest! {
        /// A location that parses prints back as itself, with its bucket and key apart.
        #[test]
        fn s3_urls_round_trip(bucket in "[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", key in "\\PC{0,60}") {
            let text = format!("s3://{bucket}/{key}");
            if let Ok(url) = S3Url::parse(&text) {
                proptest::prop_assert_eq!(&url.bucket, &bucket);
                proptest::prop_assert_eq!(&url.key, &key);
                proptest::prop_assert_eq!(url.to_string(), text);
            }
        }

        #[test]
        fn anything_without_the_scheme_is_not_an_s3_location(s in "[^s]\\PC{0,40}") {
            proptest::prop_assert!(S3Url::parse(&s).is_err());
        }
    }
}

//! Share links signed with temporary credentials: a profile whose `credential_process` returns keys
//! with an `Expiration` 20 minutes ahead, asked for a one-hour link, gets a link that ends with the
//! credentials (its X-Amz-Date + X-Amz-Expires is the time reported) and the reason; long-term keys
//! get the hour asked for.

use std::os::unix::fs::PermissionsExt;

use crate::support::{http_get, output, output_of, stderr, Harness, BUCKET};

/// `name=value` of a query parameter of `url`.
fn param<'a>(url: &'a str, name: &str) -> &'a str {
    url.split(['?', '&'])
        .find_map(|p| p.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

/// Unix seconds of an `X-Amz-Date` (`20261203T152800Z`).
fn amz_date(text: &str) -> u64 {
    let iso = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &text[0..4],
        &text[4..6],
        &text[6..8],
        &text[9..11],
        &text[11..13],
        &text[13..15]
    );
    aws_smithy_types::DateTime::from_str(&iso, aws_smithy_types::date_time::Format::DateTime)
        .unwrap()
        .secs() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_signed_with_temporary_credentials_ends_with_them_and_says_why() {
    let h = Harness::new().await;
    h.put("report.pdf", b"%PDF-1.7 shared".to_vec()).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let expiry = now + 20 * 60;
    let expiration = aws_smithy_types::DateTime::from_secs(expiry as i64)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap();
    // A credential process as SSO helpers and `aws configure export-credentials` are: JSON with
    // the keys and when they expire.
    let script = h.work.path().join("credentials.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s' '{{\"Version\": 1, \"AccessKeyId\": \"{}\", \"SecretAccessKey\": \"{}\", \"Expiration\": \"{expiration}\"}}'\n",
            h.keys.access_key, h.keys.secret_key
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = h.work.path().join("aws-config");
    std::fs::write(
        &config,
        format!(
            "[profile temporary]\nregion = us-east-1\ncredential_process = {}\n",
            script.display()
        ),
    )
    .unwrap();
    let target = format!("s3://{BUCKET}/report.pdf");
    let mut cmd = h.ferry();
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_CONFIG_FILE", &config)
        .args(["--profile", "temporary", "presign", &target])
        .args(["--expires-in", "1h", "--json"]);
    let out = output_of(cmd).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let link: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        link["expiresAt"], expiry,
        "the credentials' expiry, not the hour asked"
    );
    let shown = expiration.trim_end_matches('Z').replacen('T', " ", 1);
    assert_eq!(
        link["limitedBy"],
        format!("the account's temporary credentials expire at {shown} UTC; sign in again or use long-term keys for longer links")
    );
    let url = link["url"].as_str().unwrap();
    let (date, expires) = (
        amz_date(param(url, "X-Amz-Date")),
        param(url, "X-Amz-Expires").parse::<u64>().unwrap(),
    );
    assert_eq!(date + expires, expiry, "the link itself ends then");
    assert_eq!(link["expiresInSecs"], expires);
    assert_eq!(http_get(url).await, (200, b"%PDF-1.7 shared".to_vec()));

    // The text output says it too.
    let mut cmd = h.ferry();
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_CONFIG_FILE", &config)
        .args(["--profile", "temporary", "presign", &target]);
    let out = output_of(cmd).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "note: sooner than asked: the account's temporary credentials expire at {shown} UTC"
        )),
        "{}",
        stderr(&out)
    );

    // Long-term keys: the hour asked for, no reason.
    let out = output(&h, &["presign", &target, "--expires-in", "1h", "--json"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let link: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(link["expiresInSecs"], 3600);
    assert_eq!(link["limitedBy"], serde_json::Value::Null);
    let url = link["url"].as_str().unwrap();
    assert_eq!(param(url, "X-Amz-Expires"), "3600");
    assert_eq!(
        amz_date(param(url, "X-Amz-Date")) + 3600,
        link["expiresAt"].as_u64().unwrap()
    );
}

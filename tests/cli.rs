//! The `ferry` binary as a user runs it: crash-resume after SIGKILL, control from a second process,
//! and bad input.

use std::process::Output;

use crate::support::{
    data, interrupt, kill, output, output_of, put_multipart_with_full_checksum, spawn, spawn_held,
    stderr, summary, tree, wait_child, wait_part_sent, wait_until, Harness, Hold, Xorshift, BUCKET,
    MIB,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_killed_mid_way_resumes_with_only_the_missing_parts() {
    let h = Harness::new().await;
    let bytes = data(40 * MIB + 123, 21);
    let src = h.file("dump.sql", &bytes);
    let src = src.to_str().unwrap();
    let dst = format!("s3://{BUCKET}/db/dump.sql");
    let args = [
        "cp",
        src,
        &dst,
        "--part-size",
        "5MiB",
        "--parts",
        "2",
        "--json",
    ];

    let (child, store, _) = spawn_held(&h, &args, Hold::PartsFrom(4), 3).await;
    wait_part_sent(&h, "db/dump.sql", 4).await;
    kill(child).await;
    h.log.release();
    assert!(!h.object_exists("db/dump.sql"));

    let out = output(&h, &args).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let s = summary(&out);
    assert_eq!(s["parts_reused"], 3, "{s}");
    assert_eq!(s["completed"], 1);
    assert_eq!(h.object("db/dump.sql"), bytes);
    let counts = h.log.part_counts("db/dump.sql");
    for n in 1..=3 {
        assert_eq!(counts[&n], 1, "part {n} was sent again: {counts:?}");
    }
    assert_eq!(counts.len(), 9);
    assert_eq!(
        store.list().unwrap().len(),
        1,
        "the rerun continued the same transfer"
    );
    assert!(h.open_uploads().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_killed_mid_way_resumes_with_only_the_missing_ranges() {
    let h = Harness::new().await;
    let bytes = data(30 * MIB + 7, 22);
    h.put("media/clip.mov", bytes.clone()).await;
    let dest = h.work.path().join("dl");
    std::fs::create_dir(&dest).unwrap();
    let src = format!("s3://{BUCKET}/media/clip.mov");
    let args = [
        "cp",
        &src,
        dest.to_str().unwrap(),
        "--part-size",
        "5MiB",
        "--parts",
        "2",
        "--json",
    ];

    let (child, _, _) = spawn_held(&h, &args, Hold::RangesFrom(15 * MIB as u64), 3).await;
    kill(child).await;
    h.log.release();
    assert!(
        !dest.join("clip.mov").exists(),
        "the destination appears only when complete"
    );

    let out = output(&h, &args).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(summary(&out)["parts_reused"], 3);
    assert_eq!(std::fs::read(dest.join("clip.mov")).unwrap(), bytes);
    let ranges = h.log.range_counts("media/clip.mov");
    for start in [0, 5, 10] {
        assert_eq!(
            ranges[&(start * MIB as u64)],
            1,
            "range at {start} MiB fetched again: {ranges:?}"
        );
    }
    assert_eq!(
        tree(&dest).len(),
        1,
        "no temporary file is left beside the download"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_from_another_process_stops_the_transfer_and_resume_finishes_it() {
    let h = Harness::new().await;
    let bytes = data(25 * MIB, 23);
    let src = h.file("photos.zip", &bytes);
    let dst = format!("s3://{BUCKET}/photos.zip");
    let args = [
        "cp",
        src.to_str().unwrap(),
        &dst,
        "--part-size",
        "5MiB",
        "--parts",
        "2",
    ];
    let (child, _, _) = spawn_held(&h, &args, Hold::PartsFrom(3), 2).await;

    let out = output(&h, &["pause", "--all"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let first = wait_child(child).await;
    assert_eq!(first.status.code(), Some(130), "{}", stderr(&first));
    assert!(String::from_utf8_lossy(&first.stdout).contains("to continue where it stopped"));
    h.log.release();

    let listed = output(&h, &["transfers"]).await;
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(
        text.contains("paused") && text.contains("photos.zip"),
        "{text}"
    );

    let out = output(&h, &["resume", "--all", "--json"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(summary(&out)["parts_reused"], 2);
    assert_eq!(h.object("photos.zip"), bytes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ls_and_mb_show_what_the_server_holds() {
    let h = Harness::new().await;
    h.put("reports/q1.csv", b"a,b\n".to_vec()).await;
    h.put("top.txt", b"hello".to_vec()).await;
    let out = output(&h, &["mb", "s3://fresh-bucket"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let out = output(&h, &["ls"]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().any(|l| l == "fresh-bucket") && text.lines().any(|l| l == BUCKET),
        "{text}"
    );
    let out = output(&h, &["ls", &format!("s3://{BUCKET}/")]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("PRE  reports/"), "{text}");
    assert!(text.lines().any(|l| l.ends_with("5  top.txt")), "{text}");
}

/// `ferry transfers` lists every transfer in queue order, as text and as the same JSON shape the
/// app receives (read one row at a time), and says so when there are none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_lists_the_queue_as_text_and_as_the_apps_json() {
    let h = Harness::new().await;
    let out = output(&h, &["transfers", "--json"]).await;
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
    let out = output(&h, &["transfers"]).await;
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "no transfers");

    for name in ["a.txt", "b.txt", "c.txt"] {
        h.file(&format!("three/{name}"), name.as_bytes());
    }
    let src = h.work.path().join("three");
    let out = output(
        &h,
        &[
            "cp",
            "--recursive",
            src.to_str().unwrap(),
            &format!("s3://{BUCKET}/three/"),
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let out = output(&h, &["transfers", "--json"]).await;
    let views: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let views = views.as_array().unwrap();
    let names: Vec<&str> = views.iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["a.txt", "b.txt", "c.txt"]);
    for v in views {
        assert_eq!(v["state"], "completed");
        assert_eq!(v["direction"], "upload");
        assert_eq!(v["bytesDone"], v["bytesTotal"]);
    }
    let out = output(&h, &["transfers"]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.lines().count(),
        4,
        "a header and one line each:\n{text}"
    );
    assert!(
        text.lines().skip(1).all(|l| l.contains("completed")),
        "{text}"
    );
}

/// `ferry stat` shows what the server keeps of an object; `ferry rm` deletes one object (and refuses
/// one that is not there), or with --recursive a folder and nothing beside it, after a --dry-run that
/// deletes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stat_shows_an_object_and_rm_deletes_an_object_or_a_folder() {
    let h = Harness::new().await;
    let src = h.file("report.pdf", b"%PDF-1.7 tiny");
    let out = output(
        &h,
        &[
            "cp",
            src.to_str().unwrap(),
            &format!("s3://{BUCKET}/docs/report.pdf"),
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let out = output(
        &h,
        &["--json", "stat", &format!("s3://{BUCKET}/docs/report.pdf")],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let p: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(p["size"], 13);
    assert_eq!(p["contentType"], "application/pdf");
    assert!(p["checksums"]["CRC32C"].is_string(), "{p}");
    let out = output(&h, &["stat", &format!("s3://{BUCKET}/docs/report.pdf")]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("content type          application/pdf"),
        "{text}"
    );
    let out = output(&h, &["stat", &format!("s3://{BUCKET}/docs/nope.pdf")]).await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no such object: s3://"),
        "{}",
        stderr(&out)
    );

    for k in ["photos/a.jpg", "photos/sub/b.jpg", "photos-old/c.jpg"] {
        h.put(k, b"jpg".to_vec()).await;
    }
    let out = output(&h, &["rm", &format!("s3://{BUCKET}/docs/missing.txt")]).await;
    assert!(!out.status.success(), "a missing object is an error");
    let out = output(&h, &["rm", &format!("s3://{BUCKET}/photos/")]).await;
    assert!(stderr(&out).contains("add --recursive"), "{}", stderr(&out));
    let out = output(
        &h,
        &[
            "rm",
            "--recursive",
            "--dry-run",
            &format!("s3://{BUCKET}/photos"),
        ],
    )
    .await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("would delete 2 objects"), "{text}");
    assert!(h.object_exists("photos/a.jpg") && h.object_exists("photos/sub/b.jpg"));
    let out = output(&h, &["rm", "--recursive", &format!("s3://{BUCKET}/photos")]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("deleted 2 objects"));
    assert!(!h.object_exists("photos/a.jpg") && !h.object_exists("photos/sub/b.jpg"));
    assert!(
        h.object_exists("photos-old/c.jpg"),
        "the folder beside it stays"
    );
    let out = output(&h, &["rm", &format!("s3://{BUCKET}/docs/report.pdf")]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!h.object_exists("docs/report.pdf"));
}

/// What an upload is stored with can be chosen: content type, cache control, disposition, encoding,
/// metadata and storage class reach the server for single and multipart uploads alike; what S3
/// would refuse is refused before anything is queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_take_content_type_cache_control_metadata_and_storage_class() {
    let h = Harness::new().await;
    h.file("out/notes.md", b"# notes");
    h.file("out/big.bin", &data(11 * MIB, 3));
    let src = h.work.path().join("out");
    let dst = format!("s3://{BUCKET}/out/");
    let out = output(
        &h,
        &[
            "cp",
            "--recursive",
            src.to_str().unwrap(),
            &dst,
            "--part-size",
            "5MiB",
            "--content-type",
            "text/markdown",
            "--cache-control",
            "max-age=60",
            "--content-disposition",
            "attachment; filename=\"x\"",
            "--content-encoding",
            "identity",
            "--metadata",
            "owner=ana",
            "--metadata",
            "project=ferry",
            "--storage-class",
            "STANDARD",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        h.log.part_counts("out/big.bin").len(),
        3,
        "big.bin went multipart"
    );
    let client = h.client().await;
    for key in ["out/notes.md", "out/big.bin"] {
        let head = client
            .head_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await
            .unwrap();
        assert_eq!(head.content_type(), Some("text/markdown"), "{key}");
        assert_eq!(head.cache_control(), Some("max-age=60"), "{key}");
        assert_eq!(
            head.content_disposition(),
            Some("attachment; filename=\"x\""),
            "{key}"
        );
        assert_eq!(head.content_encoding(), Some("identity"), "{key}");
        let meta = head.metadata().unwrap();
        assert_eq!(meta.get("owner").map(String::as_str), Some("ana"), "{key}");
        assert_eq!(
            meta.get("project").map(String::as_str),
            Some("ferry"),
            "{key}"
        );
    }

    let refused = [
        (vec!["--metadata", "bad name=1"], "is not valid"),
        (vec!["--metadata", "novalue"], "NAME=VALUE"),
        (vec!["--storage-class", "FAST"], "is not a storage class"),
        (
            vec!["--content-type", "not a type"],
            "is not a content type",
        ),
    ];
    for (flags, says) in refused {
        let refused_dst = format!("s3://{BUCKET}/refused/");
        let mut args = vec!["cp", src.to_str().unwrap(), &refused_dst];
        args.extend(flags);
        args.push("--recursive");
        let out = output(&h, &args).await;
        assert!(
            !out.status.success() && stderr(&out).contains(says),
            "{}",
            stderr(&out)
        );
    }
    assert!(
        !h.object_exists("refused/notes.md"),
        "nothing was queued or sent"
    );
    let into = h.work.path().join("back");
    let out = output(
        &h,
        &[
            "cp",
            &format!("{dst}notes.md"),
            into.to_str().unwrap(),
            "--content-type",
            "text/plain",
        ],
    )
    .await;
    assert!(
        stderr(&out).contains("a download keeps what the object has"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_error_a_failing_exit_and_leaves_nothing_behind() {
    let h = Harness::new().await;
    let file = h.file("ok.txt", b"fine");
    let file = file.to_str().unwrap();
    let folder = h.work.path().join("folder");
    std::fs::create_dir(&folder).unwrap();
    let good = format!("s3://{BUCKET}/x");
    let missing = h.work.path().join("missing.txt");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["cp".into(), missing.to_str().unwrap().into(), good.clone()],
            "no such file",
        ),
        (
            vec!["cp".into(), folder.to_str().unwrap().into(), good.clone()],
            "add --recursive",
        ),
        (
            vec!["cp".into(), file.into(), "s3://no-such-bucket/x".into()],
            "ferry mb s3://no-such-bucket",
        ),
        (
            vec!["cp".into(), file.into(), "s3://Bad_Name/x".into()],
            "not a valid bucket name",
        ),
        (
            vec![
                "cp".into(),
                file.into(),
                good.clone(),
                "--part-size".into(),
                "1MiB".into(),
            ],
            "between 5 MiB and 5 GiB",
        ),
        (
            vec![
                "cp".into(),
                format!("s3://{BUCKET}/nothing-here"),
                h.work.path().join("o").to_str().unwrap().into(),
            ],
            "no such object",
        ),
        (
            vec![
                "presign".into(),
                good.clone(),
                "--expires-in".into(),
                "8d".into(),
            ],
            "at most 7 days",
        ),
        (
            vec![
                "cp".into(),
                file.into(),
                good.clone(),
                "--endpoint-url".into(),
                "localhost:9000".into(),
            ],
            "not an endpoint URL",
        ),
        (
            vec![
                "cp".into(),
                file.into(),
                good.clone(),
                "--endpoint-url".into(),
                "http://127.0.0.1:9".into(),
            ],
            "nothing answers at that address",
        ),
        (
            vec![
                "cp".into(),
                file.into(),
                format!("s3://{BUCKET}/{}", "k".repeat(1100)),
            ],
            "at most 1,024 bytes",
        ),
        (vec!["resume".into(), "nosuchid".into()], "no transfer"),
    ];
    for (args, expect) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = output(&h, &args).await;
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = stderr(&out);
        assert!(
            err.contains(expect),
            "{args:?}: expected `{expect}` in:\n{err}"
        );
    }

    let mut wrong = h.ferry();
    wrong
        .env("AWS_SECRET_ACCESS_KEY", "not-the-secret")
        .args(["cp", file, &good]);
    let out = output_of(wrong).await;
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("access denied") && err.contains("secret key"),
        "{err}"
    );
    assert!(
        !err.contains("not-the-secret"),
        "the secret leaked into the error: {err}"
    );

    assert!(
        h.store().list().unwrap().is_empty(),
        "a refused request left a transfer behind"
    );
    assert!(!h.object_exists("x"));
    assert!(h.open_uploads().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_pauses_cleanly_and_the_same_command_continues() {
    let h = Harness::new().await;
    let bytes = data(25 * MIB, 24);
    let src = h.file("backup.tar", &bytes);
    let dst = format!("s3://{BUCKET}/backup.tar");
    let args = [
        "cp",
        src.to_str().unwrap(),
        &dst,
        "--part-size",
        "5MiB",
        "--parts",
        "2",
    ];
    h.log.hold_parts_from(3);
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let mut child = spawn(&h, &json_args);
    // Read the child's JSON lines as they come, and press Ctrl-C once a tick shows two parts done.
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let reader = {
        let (stdout, lines) = (child.stdout.take().unwrap(), lines.clone());
        std::thread::spawn(move || {
            for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
                lines.lock().unwrap().push(line.unwrap());
            }
        })
    };
    let ticks = || -> Vec<serde_json::Value> {
        lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("\"progress\""))
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    wait_until("a progress tick with two parts done", || {
        ticks()
            .iter()
            .any(|t| t["bytes_done"].as_u64().unwrap() >= 10 * MIB as u64)
    })
    .await;
    let out = interrupt(child).await;
    reader.join().unwrap();
    h.log.release();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    let last = lines.lock().unwrap().last().cloned().unwrap();
    let s: serde_json::Value = serde_json::from_str(&last).unwrap();
    assert_eq!(s["type"], "summary");
    assert_eq!(s["paused"], 1, "{s}");
    for t in ticks() {
        assert!(
            t["bytes_done"].as_u64().unwrap() <= t["bytes_total"].as_u64().unwrap(),
            "{t}"
        );
        assert_eq!(t["bytes_total"], 25 * MIB);
    }
    let store = h.store();
    assert_eq!(store.list().unwrap()[0].state, ferry::State::Paused);

    let out = output(&h, &args).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 parts reused"));
    assert_eq!(h.object("backup.tar"), bytes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_most_verbose_logs_never_contain_the_secret_key() {
    let h = Harness::new().await;
    let src = h.file("notes.txt", &data(7 * MIB, 25));
    let dst = format!("s3://{BUCKET}/notes.txt");
    let out = output(
        &h,
        &[
            "-vvv",
            "cp",
            src.to_str().unwrap(),
            &dst,
            "--part-size",
            "5MiB",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let secret = h.keys.secret_key.as_str();
    assert!(!stderr(&out).contains(secret), "the secret reached stderr");
    let logs = tree(&h.state.path().join("logs"));
    assert!(!logs.is_empty(), "no log file was written");
    let mut logged = 0;
    for (name, bytes) in logs {
        let text = String::from_utf8_lossy(&bytes);
        logged += text.len();
        assert!(!text.contains(secret), "the secret reached {name}");
    }
    assert!(logged > 10_000, "trace logging wrote only {logged} bytes");
    let db = std::fs::read(h.state.path().join("ferry.db")).unwrap();
    assert!(
        !db.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "the secret reached the database"
    );
}

/// keyring's D-Bus is compiled in (its `vendored` feature): the CLI builds without libdbus-1-dev and
/// runs without the system's libdbus.
#[cfg(target_os = "linux")]
#[test]
fn the_cli_carries_its_own_dbus_and_links_no_system_libdbus() {
    let out = std::process::Command::new("ldd")
        .arg(env!("CARGO_BIN_EXE_ferry"))
        .output()
        .unwrap();
    let libs = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{libs}{}", stderr(&out));
    assert!(libs.contains("libc.so"), "{libs}");
    assert!(!libs.contains("libdbus"), "{libs}");
}

/// Runs `script` in a fresh D-Bus session with an unlocked GNOME Keyring (a real Secret Service).
async fn with_keyring(h: &Harness, script: &str, vars: &[(&str, &str)]) -> Output {
    let mut cmd = std::process::Command::new("dbus-run-session");
    let ferry = env!("CARGO_BIN_EXE_ferry");
    cmd.args(["--", "sh", "-c"])
        .arg(format!(
            "echo -n unlock-pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1; FERRY={ferry}; {script}"
        ))
        .env("HOME", h.work.path())
        .env("FERRY_STATE_DIR", h.state.path())
        .env("AWS_CONFIG_FILE", h.work.path().join("no-aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", h.work.path().join("no-aws-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .envs(vars.iter().copied());
    output_of(cmd).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_account_round_trips_its_secret_through_the_real_keychain() {
    let h = Harness::new().await;
    let src = h.file("kc.txt", b"through the keychain");
    let script = format!(
        "set -e
         printf '%s\\n' \"$SECRET\" | $FERRY account add garage --endpoint-url {endpoint} --region us-east-1 --access-key-id {ak}
         $FERRY account list
         $FERRY --account garage cp {src} s3://{BUCKET}/kc.txt
         secret-tool lookup service dev.ferry.Ferry username garage > \"$HOME/looked-up\"
         $FERRY account remove garage
         if secret-tool lookup service dev.ferry.Ferry username garage; then echo 'secret still there'; exit 9; fi",
        endpoint = h.server.endpoint(),
        ak = h.keys.access_key,
        src = src.display(),
    );
    let out = with_keyring(&h, &script, &[("SECRET", &h.keys.secret_key)]).await;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("saved account `garage` (secret in the keychain)"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("garage") && l.contains("secret: keychain")),
        "{text}"
    );
    assert_eq!(h.object("kc.txt"), b"through the keychain");
    // The keychain held exactly the secret while the account existed; the database never did.
    assert_eq!(
        std::fs::read_to_string(h.work.path().join("looked-up")).unwrap(),
        h.keys.secret_key
    );
    let db = std::fs::read(h.state.path().join("ferry.db")).unwrap();
    let secret = h.keys.secret_key.as_bytes();
    assert!(!db.windows(secret.len()).any(|w| w == secret));
}

/// Runs `args` `kills` times, each killed with SIGKILL once `sent()` has grown by a seeded 1-5
/// requests, then once more to the end, which must succeed, then again, which must send nothing.
async fn kill_at_seeded_moments(
    h: &Harness,
    args: &[&str],
    seed: u64,
    kills: usize,
    sent: impl Fn() -> usize,
) {
    let mut rng = Xorshift::new(seed);
    for _ in 0..kills {
        let target = sent() + 1 + (rng.next() % 5) as usize;
        let mut child = spawn(h, args);
        let mut ended = false;
        wait_until("the seeded kill moment or the end of the run", || {
            ended = ended || child.try_wait().unwrap().is_some();
            ended || sent() >= target
        })
        .await;
        assert!(
            !ended,
            "the run ended before its kill moment (fewer requests are left than the targets add up to)"
        );
        kill(child).await;
    }
    let out = output(h, args).await;
    assert!(out.status.success(), "{}", stderr(&out));
    // The same command once more finds everything done and sends nothing.
    let before = sent();
    let out = output(h, args).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("already"), "{}", stderr(&out));
    assert_eq!(sent(), before, "finished files were sent again");
}

/// A dozen files in three folders: every fourth is three 5 MiB parts, the rest one request each.
fn many_files() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = (0..12)
        .map(|i| {
            let len = if i % 4 == 0 {
                11 * MIB + i * 1000
            } else {
                64 * 1024 + i * 40_000
            };
            (format!("d{}/f{i}.bin", i % 3), data(len, 100 + i as u64))
        })
        .collect();
    files.sort();
    files
}

/// How many requests went beyond one per distinct item.
fn repeats<K: Ord>(items: impl IntoIterator<Item = K>) -> usize {
    let all: Vec<K> = items.into_iter().collect();
    let distinct: std::collections::BTreeSet<&K> = all.iter().collect();
    all.len() - distinct.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recursive_copies_killed_at_seeded_moments_finish_whole_sending_only_work_in_flight_again()
{
    const KILLS: usize = 3;
    // Two transfers at once, two parts each: at most four requests are in flight at a kill.
    const IN_FLIGHT: usize = 4;
    let h = Harness::new().await;
    let files = many_files();
    let src = h.work.path().join("tree");
    for (rel, bytes) in &files {
        h.file(&format!("tree/{rel}"), bytes);
    }
    let tuning = ["--part-size", "5MiB", "--parts", "2", "--concurrency", "2"];

    let up = format!("s3://{BUCKET}/up");
    let mut args = vec!["cp", "--recursive", src.to_str().unwrap(), &up];
    args.extend(tuning);
    let log = h.log.clone();
    let uploads_sent =
        move || log.upload_parts.lock().unwrap().len() + log.puts.lock().unwrap().len();
    kill_at_seeded_moments(&h, &args, 0x5eed_0001, KILLS, uploads_sent.clone()).await;
    for (rel, bytes) in &files {
        assert_eq!(&h.object(&format!("up/{rel}")), bytes, "{rel}");
    }
    let parts = h.log.upload_parts.lock().unwrap().clone();
    let puts = h.log.puts.lock().unwrap().clone();
    let again = repeats(parts.clone()) + repeats(puts.clone());
    assert!(
        again <= KILLS * IN_FLIGHT,
        "{again} uploads were sent again, more than the {} that can be in flight at {KILLS} kills; parts in order: {parts:?}; puts in order: {puts:?}",
        KILLS * IN_FLIGHT
    );

    for (rel, bytes) in &files {
        h.put(&format!("down/{rel}"), bytes.clone()).await;
    }
    let dl = h.work.path().join("dl");
    let down = format!("s3://{BUCKET}/down/");
    let mut args = vec!["cp", "--recursive", &down, dl.to_str().unwrap()];
    args.extend(tuning);
    let log = h.log.clone();
    let gets_sent = move || log.gets.lock().unwrap().len();
    kill_at_seeded_moments(&h, &args, 0x5eed_0002, KILLS, gets_sent).await;
    assert_eq!(
        tree(&dl),
        files,
        "every file whole, and no temporary file left beside them"
    );
    let gets = h.log.gets.lock().unwrap().clone();
    let again = repeats(gets);
    assert!(
        again <= KILLS * IN_FLIGHT,
        "{again} ranges were fetched again, more than the {} that can be in flight at {KILLS} kills",
        KILLS * IN_FLIGHT
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_says_what_each_download_was_verified_against() {
    use ferry::transfer::checksum::Algorithm;
    let h = Harness::new().await;
    let bytes = data(3 * 5 * MIB + 7, 61);
    put_multipart_with_full_checksum(&h, "sums/multipart.bin", &bytes, Algorithm::Crc32, 5 * MIB)
        .await;
    // A single PUT with no checksum: its ETag is its MD5. A multipart one with none: nothing to check.
    h.put("sums/plain.txt", b"no checksum kept".to_vec()).await;
    let bare = data(2 * 5 * MIB + 3, 62);
    crate::support::put_multipart(&h, "sums/bare.bin", &bare, 5 * MIB, None)
        .await
        .unwrap();
    let dest = h.work.path().join("sums");
    let out = output(
        &h,
        &[
            "cp",
            "--recursive",
            "--part-size",
            "5MiB",
            &format!("s3://{BUCKET}/sums/"),
            dest.to_str().unwrap(),
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "checksums: 1 verified against the server's CRC32; 1 verified against the server's MD5 ETag; 1 not verified (the server keeps no whole-object checksum for it)"
        ),
        "{text}"
    );
    assert_eq!(std::fs::read(dest.join("multipart.bin")).unwrap(), bytes);
    assert_eq!(std::fs::read(dest.join("bare.bin")).unwrap(), bare);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_into_a_pipe_that_closes_ends_quietly() {
    // `ferry sync --dry-run … | head -1`: the reader goes away after one line.
    let h = Harness::new().await;
    for i in 0..3000 {
        h.file(&format!("many/f{i:05}.txt"), b"");
    }
    let dir = h.work.path().join("many");
    let mut child = spawn(
        &h,
        &[
            "sync",
            "--dry-run",
            dir.to_str().unwrap(),
            &format!("s3://{BUCKET}/many/"),
        ],
    );
    let mut first = [0u8; 8];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    drop(child.stdout.take());
    let out = wait_child(child).await;
    assert_eq!(out.status.code(), Some(141), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}

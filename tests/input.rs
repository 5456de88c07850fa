//! Bad input through the `ferry` CLI, and keys a server holds that would escape the download folder.
//!
//! Every refused request must say what went wrong and what to do, exit non-zero, and leave nothing
//! behind: no transfer row, no object, no open multipart upload, no file beside the destination.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use ferry::{DownloadOptions, Limits};

use crate::support::ledger;
use crate::support::{output, output_of, stderr, tree, url, Harness, BUCKET, MIB};

/// Runs `args`, expecting a refusal whose message contains every one of `expect`.
async fn refused(h: &Harness, args: &[impl AsRef<OsStr>], expect: &[&str]) {
    let out = output(h, args).await;
    assert!(
        !out.status.success() && out.status.code().is_some(),
        "{:?} did not fail cleanly: {:?}\n{}",
        args.iter()
            .map(|a| a.as_ref().to_os_string())
            .collect::<Vec<_>>(),
        out.status,
        stderr(&out)
    );
    let err = stderr(&out);
    for e in expect {
        assert!(err.contains(e), "expected `{e}` in:\n{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_sources_options_and_destinations_are_refused_and_leave_nothing_behind() {
    let h = Harness::new().await;
    let w = h.work.path();
    let prefix = format!("s3://{BUCKET}/in/");

    // A pipe: opening it for reading would wait forever for a writer.
    let fifo = w.join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    refused(
        &h,
        &["cp", fifo.to_str().unwrap(), &prefix],
        &["not a regular file", "upload a file or a folder"],
    )
    .await;
    // A device.
    refused(&h, &["cp", "/dev/null", &prefix], &["not a regular file"]).await;
    // A symbolic link whose target is gone.
    let dangling = w.join("dangling.txt");
    std::os::unix::fs::symlink(w.join("gone.txt"), &dangling).unwrap();
    refused(
        &h,
        &["cp", dangling.to_str().unwrap(), &prefix],
        &[
            "symbolic link to a file that does not exist",
            "fix the link",
        ],
    )
    .await;

    // A file this user cannot read. Root reads it regardless of its mode (CAP_DAC_OVERRIDE); the
    // test proves which case it is in by opening the file itself, and asserts the matching outcome.
    let secret = h.file("locked.txt", b"locked");
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
    let privileged = std::fs::File::open(&secret).is_ok();
    if !privileged {
        refused(
            &h,
            &["cp", secret.to_str().unwrap(), &prefix],
            &["permission denied", "make it readable"],
        )
        .await;
    }
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();

    // A file name that is not UTF-8 cannot become a key under a prefix.
    let odd = w.join(std::ffi::OsStr::from_bytes(b"caf\xe9.txt"));
    std::fs::write(&odd, b"latin-1 name").unwrap();
    refused(
        &h,
        &[OsStr::new("cp"), odd.as_os_str(), OsStr::new(&prefix)],
        &["not valid UTF-8", "rename the file"],
    )
    .await;

    // A prefix and a name that together pass S3's 1,024-byte key limit.
    let long_prefix = format!("s3://{BUCKET}/{}/", "p".repeat(1020));
    let ok = h.file("ok.txt", b"fine");
    refused(
        &h,
        &["cp", ok.to_str().unwrap(), &long_prefix],
        &["at most 1,024 bytes", "shorter key"],
    )
    .await;

    // Part sizes outside S3's limits, and one that would need more than 10,000 parts. The big file
    // is sparse: it has a size but no bytes on disk.
    refused(
        &h,
        &["cp", ok.to_str().unwrap(), &prefix, "--part-size", "6GiB"],
        &["between 5 MiB and 5 GiB"],
    )
    .await;
    let huge = w.join("huge.img");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(60 * 1024 * MIB as u64)
        .unwrap();
    refused(
        &h,
        &["cp", huge.to_str().unwrap(), &prefix, "--part-size", "5MiB"],
        &["more than S3's 10,000", "leave --part-size unset"],
    )
    .await;

    // Downloads: a missing bucket, and a destination that exists (never overwritten silently).
    let dl = w.join("dl");
    std::fs::create_dir(&dl).unwrap();
    refused(
        &h,
        &["cp", "s3://no-such-bucket/a.txt", dl.to_str().unwrap()],
        &["ferry mb s3://no-such-bucket"],
    )
    .await;
    refused(
        &h,
        &[
            "cp",
            "--recursive",
            "s3://no-such-bucket/p/",
            dl.to_str().unwrap(),
        ],
        &["ferry mb s3://no-such-bucket"],
    )
    .await;
    h.put("report.txt", b"server copy".to_vec()).await;
    std::fs::write(dl.join("report.txt"), b"my local edits").unwrap();
    let out = output(
        &h,
        &[
            "cp",
            &format!("s3://{BUCKET}/report.txt"),
            dl.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("already exist") && stderr(&out).contains("--if-exists"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        tree(&dl),
        vec![("report.txt".to_string(), b"my local edits".to_vec())],
        "the existing file is untouched and nothing was written beside it"
    );

    assert!(
        h.store().list().unwrap().is_empty(),
        "a refused request left a transfer behind"
    );
    assert_eq!(h.object_keys().await, vec!["report.txt".to_string()]);
    assert!(h.open_uploads().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_that_would_escape_the_download_folder_are_skipped_by_name_and_good_keys_arrive() {
    let h = Harness::new().await;
    let bad = [
        "p/../x",
        "p/a/../../x",
        "p//abs/x",
        "p/a\\..\\..\\x",
        "p/tab\tx",
        "p/del\u{7f}x",
    ];
    let harmless_here = ["p/C:x", "p/CON", "p/nul.txt"];
    for k in bad.iter().chain(&harmless_here) {
        h.faults.phantom(k, format!("bytes of {k}").into_bytes());
    }
    h.put("p/good/one.txt", b"one".to_vec()).await;
    h.put("p/two.txt", b"two".to_vec()).await;

    let outer = h.work.path().join("outer");
    let dl = outer.join("dl");
    std::fs::create_dir_all(&dl).unwrap();
    let out = output(
        &h,
        &[
            "cp",
            "--recursive",
            &format!("s3://{BUCKET}/p/"),
            dl.to_str().unwrap(),
        ],
    )
    .await;
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    for k in bad {
        let rel = &k[2..];
        assert!(
            err.contains(&format!("s3://{BUCKET}/{k}").escape_debug().to_string())
                || err.contains(&rel.escape_debug().to_string()),
            "the skipped key {k:?} is not named in:\n{err}"
        );
        assert!(err.contains("cannot be saved safely"), "{err}");
    }
    let mut expected: Vec<(String, Vec<u8>)> = vec![
        ("good/one.txt".into(), b"one".to_vec()),
        ("two.txt".into(), b"two".to_vec()),
    ];
    // On Linux these are plain names; they land inside the folder like any other.
    for k in harmless_here {
        expected.push((k[2..].to_string(), format!("bytes of {k}").into_bytes()));
    }
    expected.sort();
    assert_eq!(tree(&dl), expected);
    let outside: Vec<_> = tree(&outer)
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| !p.starts_with("dl/"))
        .collect();
    assert!(
        outside.is_empty(),
        "written outside the folder: {outside:?}"
    );
    assert!(
        !h.work.path().join("x").exists() && !Path::new("/abs/x").exists(),
        "a key climbed out of the folder"
    );

    // One such key asked for by name: its last segment is saved inside the folder, or it is refused
    // with its name; never a path outside.
    let engine = h.engine(Limits::default()).await;
    let single = outer.join("single");
    std::fs::create_dir_all(&single).unwrap();
    let src = url("p/a\\..\\..\\x");
    let e = engine
        .enqueue_download(&h.conn(), &src, &single, &DownloadOptions::default())
        .await
        .unwrap_err();
    assert!(
        e.message.contains("cannot be saved safely") && e.message.contains("a\\\\..\\\\..\\\\x"),
        "{}",
        e.message
    );
    let src = url("p/a/../../x");
    let enq = engine
        .enqueue_download(&h.conn(), &src, &single, &DownloadOptions::default())
        .await
        .unwrap();
    for o in engine.run(&enq.ids).await {
        o.result.unwrap();
    }
    assert_eq!(
        tree(&single),
        vec![("x".to_string(), b"bytes of p/a/../../x".to_vec())]
    );
    assert!(!h.work.path().join("x").exists());
}

/// Keys that cannot be placed on this disk as they are (a file and a folder of one name, a name
/// longer than the file system allows) fail by name with the true reason, never as "paused" or
/// "appeared while downloading"; nothing is overwritten and the other keys arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_that_cannot_be_placed_fail_by_name_with_the_reason_and_the_rest_arrive() {
    let h = Harness::new().await;
    let long = format!("q/{}", "n".repeat(300));
    for k in ["q/clash", "q/clash/inner.txt", long.as_str()] {
        h.faults.phantom(k, format!("bytes of {k}").into_bytes());
    }
    h.put("q/ok.txt", b"ok".to_vec()).await;
    let dl = h.work.path().join("dl");
    std::fs::create_dir_all(&dl).unwrap();
    let out = output(
        &h,
        &[
            "cp",
            "--recursive",
            &format!("s3://{BUCKET}/q/"),
            dl.to_str().unwrap(),
        ],
    )
    .await;
    let err = stderr(&out);
    assert!(
        !out.status.success(),
        "a key left behind fails the command:\n{err}"
    );
    assert!(
        !err.contains("paused") && !err.contains("appeared"),
        "{err}"
    );
    assert!(
        err.contains(&format!("s3://{BUCKET}/{long}"))
            && err.contains("too long for this file system"),
        "{err}"
    );
    let file_won = dl.join("clash").is_file();
    let (lost, why) = if file_won {
        ("q/clash/inner.txt", "is in the way")
    } else {
        ("q/clash", "holds other keys")
    };
    assert!(
        err.contains(&format!("s3://{BUCKET}/{lost} ")) && err.contains(why),
        "{err}"
    );
    let landed = tree(&dl);
    let names: Vec<&str> = landed.iter().map(|(p, _)| p.as_str()).collect();
    let winner = if file_won { "clash" } else { "clash/inner.txt" };
    assert_eq!(names, {
        let mut v = vec![winner, "ok.txt"];
        v.sort();
        v
    });
    assert_eq!(
        std::fs::read(dl.join(winner)).unwrap(),
        format!("bytes of q/{winner}").into_bytes(),
        "the key that was placed is whole"
    );
}

/// Bad configuration gets the care of bad input: an endpoint URL without a scheme or with a path,
/// and a profile no AWS file names, each refused with what to do, naming the flag or the files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configuration_is_refused_naming_the_flag_or_file_and_what_to_do() {
    ledger::note("bad configuration (AWS files, profiles, endpoints)", 1);
    let h = Harness::new().await;
    // The harness's own command names the test server's endpoint; these choose their own.
    let run = |args: Vec<String>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ferry"));
        cmd.env_clear()
            .env("HOME", h.work.path())
            .env("FERRY_STATE_DIR", h.state.path())
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_CONFIG_FILE", h.work.path().join("no-aws-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                h.work.path().join("no-aws-credentials"),
            )
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .args(args);
        output_of(cmd)
    };
    let out = run(vec![
        "--endpoint-url".into(),
        "s3.example.com".into(),
        "ls".into(),
    ])
    .await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("is not an endpoint URL; write it like https://"),
        "{}",
        stderr(&out)
    );

    let with_path = format!("{}/{BUCKET}", h.server.endpoint());
    let out = run(vec!["--endpoint-url".into(), with_path, "ls".into()]).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("has a path (`/"), "{}", stderr(&out));
    assert!(stderr(&out).contains("s3://bucket/key"), "{}", stderr(&out));

    let config = h.work.path().join("no-aws-config");
    std::fs::write(&config, "[profile other]\nregion = us-east-1\n").unwrap();
    let endpoint = h.server.endpoint();
    let out = run(vec![
        "--endpoint-url".into(),
        endpoint.clone(),
        "--profile".into(),
        "nope".into(),
        "ls".into(),
    ])
    .await;
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(
        err.contains("no profile `nope`") && err.contains(&config.display().to_string()),
        "{err}"
    );
    assert!(err.contains("aws configure --profile nope"), "{err}");
    // A file the SDK cannot parse: named, with its line, before any request.
    let broken = h.work.path().join("broken-config");
    std::fs::write(&broken, "[profile half\nregion = us-east-1\n").unwrap();
    let mut cmd = h.ferry();
    cmd.env("AWS_CONFIG_FILE", &broken).args(["ls"]);
    let out = output_of(cmd).await;
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(
        err.contains(&format!("{} on line 1", broken.display())) && err.contains("fix that line"),
        "{err}"
    );
    // An SSO profile nobody signed in to: said at once (no retries), with what to run.
    let sso = h.work.path().join("sso-config");
    std::fs::write(
        &sso,
        "[profile work]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = Admin\nregion = us-east-1\n",
    )
    .unwrap();
    let mut cmd = h.ferry();
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_CONFIG_FILE", &sso)
        .args(["--profile", "work", "ls"]);
    let out = output_of(cmd).await;
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(
        err.contains("no usable credentials") && err.contains("aws sso login"),
        "{err}"
    );
    assert!(
        !err.contains("retrying"),
        "a missing login is not a network failure: {err}"
    );
    // The profile that exists is accepted (its requests then go to the test server).
    let out = h
        .ferry()
        .args(["--profile", "other", "ls"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_folder_uploads_the_rest_and_names_each_problem() {
    ledger::note(
        "hostile folder (FIFO, symlink loop, dangling link, vanishing files and folders)",
        1,
    );
    let h = Harness::new().await;
    let root = h.work.path().join("hostile");
    h.file("hostile/a/1.txt", b"one");
    h.file("hostile/a/b/2.txt", b"two");
    h.file(
        "hostile/gone-before-its-turn.txt",
        b"deleted after it was queued",
    );
    let made = std::process::Command::new("mkfifo")
        .arg(root.join("a/pipe"))
        .status()
        .unwrap();
    assert!(made.success());
    std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
    std::os::unix::fs::symlink(root.join("missing"), root.join("dangling")).unwrap();
    std::os::unix::fs::symlink("..", root.join("a/b/up")).unwrap();

    // Queued through the engine, then one file deleted before its turn.
    let engine = h.engine(Limits::default()).await;
    let opts = ferry::UploadOptions {
        recursive: true,
        ..Default::default()
    };
    let enq = engine
        .enqueue_upload(&h.conn(), &root, &url("h/"), &opts)
        .await
        .unwrap();
    let mut reasons: Vec<(String, String)> = enq
        .skipped
        .iter()
        .map(|s| {
            let rel = Path::new(&s.what).strip_prefix(&root).unwrap();
            (rel.display().to_string(), s.reason.clone())
        })
        .collect();
    reasons.sort();
    let said = |name: &str| {
        reasons
            .iter()
            .find(|(p, _)| p == name)
            .map(|(_, r)| r.as_str())
    };
    assert!(
        said("a/pipe").unwrap().contains("pipe, socket or device"),
        "{reasons:?}"
    );
    assert!(said("loop").unwrap().contains("loop"), "{reasons:?}");
    assert!(said("dangling").unwrap().contains("missing"), "{reasons:?}");
    assert!(
        said("a/b/up").unwrap().contains("not followed"),
        "{reasons:?}"
    );
    assert_eq!(reasons.len(), 4, "{reasons:?}");
    std::fs::remove_file(root.join("gone-before-its-turn.txt")).unwrap();
    let outcomes = engine.run(&enq.ids).await;
    let failed: Vec<String> = outcomes
        .iter()
        .filter_map(|o| o.result.as_ref().err().map(|e| e.message.clone()))
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].contains("gone-before-its-turn.txt"), "{failed:?}");
    assert_eq!(h.object("h/a/1.txt"), b"one");
    assert_eq!(h.object("h/a/b/2.txt"), b"two");
    let keys = h.object_keys().await;
    assert_eq!(
        keys,
        vec!["h/a/1.txt".to_string(), "h/a/b/2.txt".to_string()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_files_in_one_folder_all_arrive_and_the_odd_ones_are_named() {
    const FILES: usize = 100_000;
    ledger::note("100,000 files in one folder", 1);
    let h = Harness::new().await;
    let root = h.work.path().join("wide");
    std::fs::create_dir_all(&root).unwrap();
    for i in 0..FILES {
        std::fs::write(root.join(format!("f{i:06}")), i.to_string()).unwrap();
    }
    // Among them, a pipe and a link that leads nowhere.
    let made = std::process::Command::new("mkfifo")
        .arg(root.join("f050000.pipe"))
        .status()
        .unwrap();
    assert!(made.success());
    std::os::unix::fs::symlink(root.join("missing"), root.join("f070000.link")).unwrap();

    let engine = h.engine(Limits::default()).await;
    let opts = ferry::UploadOptions {
        recursive: true,
        ..Default::default()
    };
    let enq = engine
        .enqueue_upload(&h.conn(), &root, &url("wide/"), &opts)
        .await
        .unwrap();
    let mut skipped: Vec<String> = enq
        .skipped
        .iter()
        .map(|s| {
            Path::new(&s.what)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    skipped.sort();
    assert_eq!(skipped, ["f050000.pipe", "f070000.link"]);
    assert_eq!(enq.ids.len(), FILES);
    let outcomes = engine.run(&enq.ids).await;
    let failed: Vec<&ferry::Error> = outcomes
        .iter()
        .filter_map(|o| o.result.as_ref().err())
        .collect();
    assert!(failed.is_empty(), "{:?}", &failed[..failed.len().min(3)]);

    // Every file is on the server (its data folder holds one file per object) with its bytes.
    let stored = std::fs::read_dir(h.data.path().join(BUCKET).join("wide"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_type().unwrap().is_file())
        .count();
    assert_eq!(stored, FILES);
    for i in [0, 49_999, 99_999] {
        assert_eq!(
            h.object(&format!("wide/f{i:06}")),
            i.to_string().into_bytes()
        );
    }
    let rows = engine.transfers().unwrap();
    assert_eq!(
        rows.iter()
            .filter(|r| r.state == ferry::State::Completed)
            .count(),
        FILES
    );
}

/// A folder is queued as it is walked, a few thousand rows per transaction, so a refusal found
/// deep in it (a key past S3's limit after 6,000 good files) comes after rows were written: they
/// are all taken back, and the request leaves nothing behind, as when it was one transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_deep_in_a_large_folder_takes_back_every_row_already_queued() {
    let h = Harness::new().await;
    let root = h.work.path().join("deep");
    for i in 0..6_000 {
        let dir = root.join("a");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("f{i:04}.txt")), b"x").unwrap();
    }
    std::fs::create_dir_all(root.join("z")).unwrap();
    std::fs::write(
        root.join("z").join(format!("{}.txt", "n".repeat(200))),
        b"y",
    )
    .unwrap();
    // Keys of the first 6,000 files are about 912 bytes; the last one's is past 1,024.
    let prefix = format!("s3://{BUCKET}/{}/", "p".repeat(900));
    refused(
        &h,
        &["cp", "--recursive", root.to_str().unwrap(), &prefix],
        &["at most 1,024 bytes", "shorter key"],
    )
    .await;
    assert!(
        h.store().list().unwrap().is_empty(),
        "a refused request left transfers behind"
    );
    assert!(h.object_keys().await.is_empty());
}

//! The engine features the desktop app drives: accounts and secrets, settings, deleting, drops,
//! downloads of a selection, restoring the queue after a quit, and batch notices.

use std::sync::{Arc, Mutex};

use ferry::accounts::{NewAccount, SecretStore, SessionSecrets};
use ferry::{Engine, EngineConfig, ErrorKind, Limits, Settings, State};

use crate::support::{data, parts_of, run_held, run_one, tree, url, Harness, Hold, BUCKET, MIB};

/// A keychain stand-in that can also pretend there is no keychain at all.
#[derive(Default)]
struct FakeKeychain {
    secrets: SessionSecrets,
    unavailable: Mutex<bool>,
}

impl SecretStore for FakeKeychain {
    fn get(&self, account: &str) -> ferry::Result<Option<String>> {
        self.secrets.get(account)
    }
    fn set(&self, account: &str, secret: &str) -> ferry::Result<()> {
        if *self.unavailable.lock().unwrap() {
            return Err(ferry::Error::new(
                ErrorKind::KeychainUnavailable,
                "no system keychain is available",
            ));
        }
        self.secrets.set(account, secret)
    }
    fn delete(&self, account: &str) -> ferry::Result<()> {
        self.secrets.delete(account)
    }
}

async fn engine_with(h: &Harness, keychain: Arc<FakeKeychain>) -> Engine {
    let mut cfg = EngineConfig::new(h.state.path());
    cfg.secrets = keychain;
    Engine::open(cfg).await.unwrap()
}

fn new_account(h: &Harness, name: &str, secret: &str, session_only: bool) -> NewAccount {
    NewAccount {
        name: name.into(),
        endpoint: Some(h.server.endpoint()),
        region: Some("us-east-1".into()),
        path_style: true,
        access_key_id: h.keys.access_key.clone(),
        secret_access_key: secret.into(),
        session_only,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_account_keeps_its_secret_in_the_keychain_and_never_in_the_database() {
    let h = Harness::new().await;
    let keychain = Arc::new(FakeKeychain::default());
    let engine = engine_with(&h, keychain.clone()).await;

    let wrong = new_account(&h, "minio", "not-the-secret", false);
    assert_eq!(
        engine.test_connection(&wrong).await.unwrap_err().kind,
        ErrorKind::AccessDenied
    );
    let right = new_account(&h, "minio", &h.keys.secret_key, false);
    assert_eq!(engine.test_connection(&right).await.unwrap(), 1);

    let account = engine.add_account(&right).await.unwrap();
    assert_eq!(account.secret, "keychain");
    assert_eq!(
        keychain.get("minio").unwrap().as_deref(),
        Some(h.keys.secret_key.as_str())
    );
    let names: Vec<String> = engine
        .accounts()
        .unwrap()
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(&names[..2], &["local".to_string(), "minio".to_string()]);
    let dup = engine.add_account(&right).await.unwrap_err();
    assert_eq!(dup.kind, ErrorKind::AlreadyExists);

    // The account works by name alone: the secret comes from the keychain.
    let conn = engine.connection("minio").unwrap();
    assert_eq!(
        engine.list_buckets(&conn).await.unwrap(),
        vec![BUCKET.to_string()]
    );
    let db = std::fs::read(h.state.path().join("ferry.db")).unwrap();
    let secret = h.keys.secret_key.as_bytes();
    assert!(
        !db.windows(secret.len()).any(|w| w == secret),
        "the secret reached the database"
    );

    engine.remove_account("minio").await.unwrap();
    assert_eq!(keychain.get("minio").unwrap(), None);
    assert_eq!(engine.accounts().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_connection_to_a_refused_port_says_so_in_words() {
    let h = Harness::new().await;
    let engine = engine_with(&h, Arc::new(FakeKeychain::default())).await;
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut account = new_account(&h, "nowhere", &h.keys.secret_key, false);
    account.endpoint = Some(format!("http://127.0.0.1:{port}"));

    let e = engine.test_connection(&account).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Network);
    assert!(
        e.message.contains("the connection was refused")
            && e.message.contains(&format!("127.0.0.1:{port}"))
            && e.message.contains("check the endpoint URL and port"),
        "{}",
        e.message
    );
    assert!(
        !e.message.contains("dispatch") && !e.message.contains("io error"),
        "SDK text reached the person: {}",
        e.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_connection_tries_once_without_the_sdks_retries() {
    let h = Harness::new().await;
    let engine = engine_with(&h, Arc::new(FakeKeychain::default())).await;
    // A server that hangs up on every connection: each try is one accepted connection.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = accepted.clone();
    let server = tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(socket);
        }
    });
    let mut account = new_account(&h, "hangs-up", &h.keys.secret_key, false);
    account.endpoint = Some(format!("http://127.0.0.1:{port}"));

    let e = engine.test_connection(&account).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Network, "{}", e.message);
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_keychain_the_secret_can_be_kept_for_the_session_only() {
    let h = Harness::new().await;
    let keychain = Arc::new(FakeKeychain::default());
    *keychain.unavailable.lock().unwrap() = true;
    let engine = engine_with(&h, keychain.clone()).await;

    let e = engine
        .add_account(&new_account(&h, "r2", &h.keys.secret_key, false))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::KeychainUnavailable);
    assert!(e.message.contains("this session only"), "{}", e.message);
    assert_eq!(
        engine.accounts().unwrap().len(),
        1,
        "a refused account was saved"
    );

    let account = engine
        .add_account(&new_account(&h, "r2", &h.keys.secret_key, true))
        .await
        .unwrap();
    assert_eq!(account.secret, "session");
    let conn = engine.connection("r2").unwrap();
    assert_eq!(
        engine.list_buckets(&conn).await.unwrap(),
        vec![BUCKET.to_string()]
    );
    drop(engine);

    // A new session no longer has the secret, and says so.
    let engine = engine_with(&h, keychain).await;
    let conn = engine.connection("r2").unwrap();
    let e = engine.list_buckets(&conn).await.unwrap_err();
    assert!(e.message.contains("previous session only"), "{}", e.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_are_validated_saved_and_applied() {
    let h = Harness::new().await;
    let engine = h.engine(Limits::default()).await;
    assert_eq!(engine.settings().unwrap(), Settings::default());
    let mut s = Settings {
        concurrent_transfers: 3,
        parts_in_flight: 5,
        part_size_mib: Some(16),
        bandwidth_limit_mibps: Some(50.0),
        default_link_expiry_secs: 86400,
        theme: "dark".into(),
        keep_in_tray: false,
        start_at_login: true,
    };
    engine.set_settings(&s).unwrap();
    assert_eq!(engine.limits().transfers, 3);
    assert_eq!(engine.limits().parts_in_flight, 5);
    assert_eq!(engine.limits().rate_limit, Some(50 * MIB as u64));
    drop(engine);
    let engine = h.engine(Limits::default()).await;
    assert_eq!(engine.settings().unwrap(), s);

    s.part_size_mib = Some(1);
    assert!(engine
        .set_settings(&s)
        .unwrap_err()
        .message
        .contains("5 MiB"));
    s.part_size_mib = None;
    s.default_link_expiry_secs = 30 * 86400;
    assert!(engine.set_settings(&s).is_err());
    s.default_link_expiry_secs = 900;
    s.theme = "neon".into();
    assert!(engine.set_settings(&s).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_saved_before_the_tray_existed_keep_their_values_keep_ferry_in_the_tray_and_do_not_start_at_login(
) {
    let h = Harness::new().await;
    let engine = h.engine(Limits::default()).await;
    engine
        .store()
        .set_setting(
            "settings",
            r#"{"concurrentTransfers":3,"partsInFlight":5,"partSizeMib":null,"bandwidthLimitMibps":2.5,"defaultLinkExpirySecs":900,"theme":"dark"}"#,
        )
        .unwrap();
    let s = engine.settings().unwrap();
    assert!(s.keep_in_tray);
    assert!(
        !s.start_at_login,
        "starting at login is never turned on by itself"
    );
    assert_eq!(
        (
            s.concurrent_transfers,
            s.bandwidth_limit_mibps,
            s.theme.as_str()
        ),
        (3, Some(2.5), "dark")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_files_and_folders_land_under_the_viewed_prefix_and_a_batch_notice_follows() {
    let h = Harness::new().await;
    h.file("drop/album/one.jpg", &data(1000, 1));
    h.file("drop/album/nested/two.jpg", &data(2000, 2));
    let single = h.file("drop/notes.md", &data(300, 3));
    let engine = h.engine(Limits::default()).await;
    let mut batches = engine.subscribe_batches();
    let conn = h.conn();
    let paths = vec![h.work.path().join("drop/album"), single];
    let enq = engine
        .enqueue_dropped(&conn, &paths, BUCKET, "inbox/")
        .await
        .unwrap();
    assert_eq!(enq.ids.len(), 3);
    let outcomes = engine.run(&enq.ids).await;
    assert!(outcomes.iter().all(|o| o.result.is_ok()));
    assert_eq!(h.object("inbox/album/one.jpg"), data(1000, 1));
    assert_eq!(h.object("inbox/album/nested/two.jpg"), data(2000, 2));
    assert_eq!(h.object("inbox/notes.md"), data(300, 3));
    // One drop is one batch: a single notice once all three have ended.
    let b = tokio::time::timeout(std::time::Duration::from_secs(30), batches.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((b.completed, b.failed, b.cancelled), (3, 0, 0));
    assert!(
        batches.try_recv().is_err(),
        "more than one notice for one drop"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_selection_downloads_into_a_folder_without_replacing_files_and_deletes_go_away() {
    let h = Harness::new().await;
    h.put("pics/a.png", data(100, 1)).await;
    h.put("pics/sub/b.png", data(200, 2)).await;
    h.put("readme.txt", b"hello".to_vec()).await;
    let engine = h.engine(Limits::default()).await;
    let conn = h.conn();
    let dest = h.work.path().join("dl");
    std::fs::create_dir(&dest).unwrap();
    std::fs::write(dest.join("readme.txt"), b"mine").unwrap();
    let enq = engine
        .enqueue_download_selection(
            &conn,
            BUCKET,
            &["readme.txt".into()],
            &["pics/".into()],
            &dest,
        )
        .await
        .unwrap();
    assert!(engine.run(&enq.ids).await.iter().all(|o| o.result.is_ok()));
    let got: Vec<String> = tree(&dest).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        got,
        [
            "pics/a.png",
            "pics/sub/b.png",
            "readme (1).txt",
            "readme.txt"
        ]
    );
    assert_eq!(std::fs::read(dest.join("readme.txt")).unwrap(), b"mine");

    let done = engine
        .delete_objects(
            &conn,
            BUCKET,
            &["readme.txt".into()],
            &["pics/".into()],
            |_| {},
        )
        .await
        .unwrap();
    assert_eq!((done.deleted, done.failed.len()), (3, 0));
    let listing = engine.list(&conn, BUCKET, "").await.unwrap();
    assert!(
        listing.objects.is_empty() && listing.prefixes.is_empty(),
        "{listing:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quitting_mid_transfer_leaves_it_queued_and_the_next_start_finishes_it() {
    let h = Harness::new().await;
    let bytes = data(20 * MIB, 41);
    let src = h.file("big.bin", &bytes);
    let engine = h
        .engine(Limits {
            parts_in_flight: 2,
            ..Limits::default()
        })
        .await;
    let enq = engine
        .enqueue_upload(&h.conn(), &src, &url("big.bin"), &parts_of(5 * MIB))
        .await
        .unwrap();
    let id = enq.ids[0].clone();
    let run = run_held(&h, &engine, &enq.ids, Hold::PartsFrom(3), 2).await;
    engine.shutdown().await;
    run.await.unwrap();
    h.log.release();
    assert_eq!(engine.transfer(&id).unwrap().state, State::Queued);
    drop(engine);

    let engine = h.engine(Limits::default()).await;
    assert_eq!(engine.recover().unwrap(), vec![id.clone()]);
    let stats = run_one(&engine, &id).await.unwrap();
    assert_eq!(stats.parts_reused, 2);
    assert_eq!(h.object("big.bin"), bytes);
}

//! Objects dragged out of the app's window: staged as queued downloads in a drag folder of Ferry's
//! own, byte-identical once run, nothing left behind by a refused request, old folders cleaned.

use std::time::Duration;

use ferry::Limits;

use crate::support::{data, tree, Harness, BUCKET, MIB};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dragged_objects_and_folders_are_downloaded_whole_into_a_folder_of_their_own() {
    let h = Harness::new().await;
    let big = data(20 * MIB, 1);
    let small = data(1000, 2);
    let inside = data(3000, 3);
    h.put("videos/big.bin", big.clone()).await;
    h.put("videos/notes.txt", small.clone()).await;
    h.put("videos/pics/a.png", inside.clone()).await;
    let engine = h.engine(Limits::default()).await;
    let conn = h.conn();

    let staged = engine
        .stage_drag_out(
            &conn,
            BUCKET,
            &["videos/big.bin".into(), "videos/notes.txt".into()],
            &["videos/pics/".into()],
        )
        .await
        .unwrap();
    assert!(staged.folder.starts_with(engine.drag_out_root()));
    assert!(staged.folder.starts_with(h.state.path()));
    assert_eq!(
        staged.paths,
        ["big.bin", "notes.txt", "pics"].map(|n| staged.folder.join(n))
    );
    assert!(staged.paths.iter().all(|p| engine.is_drag_out(p)));
    assert_eq!(staged.enqueued.ids.len(), 3);
    // Nothing is at a staged path before its download completes.
    assert!(staged.paths.iter().all(|p| !p.exists()));

    let outcomes = engine.run(&staged.enqueued.ids).await;
    assert!(outcomes.iter().all(|o| o.result.is_ok()), "{outcomes:?}");
    assert_eq!(std::fs::read(&staged.paths[0]).unwrap(), big);
    assert_eq!(std::fs::read(&staged.paths[1]).unwrap(), small);
    assert_eq!(
        std::fs::read(staged.paths[2].join("a.png")).unwrap(),
        inside
    );
    let names: Vec<String> = tree(&staged.folder).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        ["big.bin", "notes.txt", "pics/a.png"],
        "no part files left"
    );

    // A second drag of the same object never touches the first one's file.
    let again = engine
        .stage_drag_out(&conn, BUCKET, &["videos/notes.txt".into()], &[])
        .await
        .unwrap();
    assert_ne!(again.folder, staged.folder);
    assert!(engine.run(&again.enqueued.ids).await[0].result.is_ok());
    assert_eq!(std::fs::read(&again.paths[0]).unwrap(), small);

    // Staged files dropped back on the window are not uploaded again: alone they are refused,
    // beside another file only that one goes.
    let e = engine
        .enqueue_dropped(&conn, &staged.paths[..1], BUCKET, "back/")
        .await
        .unwrap_err();
    assert!(e.message.contains("dragged out"), "{}", e.message);
    let other = h.file("other.txt", b"dropped with it");
    let mixed = [staged.paths[1].clone(), other];
    let enq = engine
        .enqueue_dropped(&conn, &mixed, BUCKET, "back/")
        .await
        .unwrap();
    assert!(engine.run(&enq.ids).await.iter().all(|o| o.result.is_ok()));
    let back: Vec<String> = h
        .object_keys()
        .await
        .into_iter()
        .filter(|k| k.starts_with("back/"))
        .collect();
    assert_eq!(back, ["back/other.txt"]);

    // Old drag folders whose downloads ended are removed; recent ones stay.
    assert_eq!(engine.clean_drag_out(Duration::from_secs(3600)).unwrap(), 0);
    assert_eq!(engine.clean_drag_out(Duration::ZERO).unwrap(), 2);
    assert!(!staged.folder.exists() && !again.folder.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_drag_leaves_no_folder_and_says_why() {
    let h = Harness::new().await;
    let engine = h.engine(Limits::default()).await;
    let conn = h.conn();

    let e = engine
        .stage_drag_out(&conn, BUCKET, &["missing.bin".into()], &[])
        .await
        .unwrap_err();
    assert!(e.message.contains("missing.bin"), "{}", e.message);
    let e = engine
        .stage_drag_out(&conn, BUCKET, &[], &[])
        .await
        .unwrap_err();
    assert!(e.message.contains("choose"), "{}", e.message);
    let left = std::fs::read_dir(engine.drag_out_root())
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(left, 0, "a refused drag leaves no folder behind");
    assert!(engine.transfers().unwrap().is_empty());
}

//! Running the `ferry` binary (see [`Harness::ferry`]) and reading what it printed.

use std::ffi::OsStr;
use std::process::{Child, Command, Output, Stdio};

use ferry::store::Store;

use super::{wait_committed, wait_until, Harness, Hold};

/// Starts `ferry args` with its stdout and stderr piped, for a test that acts while it runs.
pub fn spawn(h: &Harness, args: &[&str]) -> Child {
    h.ferry()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Starts `ferry args` with its standard input piped from the test.
pub fn spawn_fed(h: &Harness, args: &[&str]) -> Child {
    h.ferry()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Writes `bytes` into the child's standard input off the runtime; `close` ends the stream, else the
/// pipe is handed back open.
pub async fn feed(
    child: &mut Child,
    bytes: Vec<u8>,
    close: bool,
) -> Option<std::process::ChildStdin> {
    let mut stdin = child.stdin.take().unwrap();
    tokio::task::spawn_blocking(move || {
        std::io::Write::write_all(&mut stdin, &bytes).unwrap();
        (!close).then_some(stdin)
    })
    .await
    .unwrap()
}

/// Runs `ferry args` to its end.
pub async fn output(h: &Harness, args: &[impl AsRef<OsStr>]) -> Output {
    let mut cmd = h.ferry();
    cmd.args(args);
    output_of(cmd).await
}

/// Runs `cmd` to its end off the async runtime, so the in-process server keeps answering it.
pub async fn output_of(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

/// Waits for a spawned child to end and collects what it printed.
pub async fn wait_child(child: Child) -> Output {
    tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap()
}

/// SIGKILL, then reap, so the dead process cannot look alive to the next run.
pub async fn kill(mut child: Child) {
    child.kill().unwrap();
    wait_child(child).await;
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// The last JSON object `--json` printed (the summary).
pub fn summary(out: &Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text
        .lines()
        .rev()
        .find(|l| l.contains("\"summary\""))
        .unwrap_or_else(|| panic!("no summary in stdout:\n{text}\nstderr:\n{}", stderr(out)));
    serde_json::from_str(last).unwrap()
}

/// Sends SIGINT to `child`, as Ctrl-C in a terminal does, and waits for it to end.
pub async fn interrupt(child: Child) -> Output {
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    wait_child(child).await
}

/// Waits until a `ferry` child process has enqueued its one transfer, and returns its id.
pub async fn only_transfer(store: &Store) -> String {
    wait_until("the transfer is queued", || {
        store.list().unwrap().len() == 1
    })
    .await;
    store.list().unwrap()[0].id.clone()
}

/// The binary's [`super::run_held`]: closes the server's gate at `hold`, starts `ferry args` and
/// returns once its one transfer has `committed` parts (or ranges) in the store, with that store and
/// the transfer's id. The caller kills, pauses or interferes, then calls `h.log.release()`.
pub async fn spawn_held(
    h: &Harness,
    args: &[&str],
    hold: Hold,
    committed: usize,
) -> (Child, Store, String) {
    hold.close(&h.log);
    let mut cmd = h.ferry();
    cmd.args(args);
    spawn_until_committed(cmd, h, committed).await
}

/// Starts `cmd` (a `ferry` command) with its output piped and returns once its one transfer has
/// `committed` parts (or ranges) in the store of `state`, with that store and the transfer's id.
/// Closing a gate first, so that the transfer stops there, is the caller's part.
pub async fn spawn_until_committed(
    mut cmd: Command,
    state: &Harness,
    committed: usize,
) -> (Child, Store, String) {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let store = state.store_when_created().await;
    let id = only_transfer(&store).await;
    wait_committed(&store, &id, committed).await;
    (child, store, id)
}

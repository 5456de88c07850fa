//! A D-Bus session with an unlocked GNOME Keyring (a real Secret Service) that outlives single
//! commands, so a test can save an account with one `ferry` process and use it from others, killed
//! and started again.

use std::io::Read;
use std::process::{Child, Command, Stdio};

pub struct KeyringSession {
    child: Child,
    /// `DBUS_SESSION_BUS_ADDRESS` of the session, for the commands that use the keychain.
    pub address: String,
}

impl KeyringSession {
    /// Starts the session with `home` as HOME; it ends when dropped.
    pub async fn start(home: &std::path::Path) -> KeyringSession {
        let mut child = Command::new("dbus-run-session")
            .args(["--", "sh", "-c"])
            .arg(
                "echo -n unlock-pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1; \
                 echo \"$DBUS_SESSION_BUS_ADDRESS\"; exec cat >/dev/null",
            )
            .env("HOME", home)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = child.stdout.take().unwrap();
        let address = tokio::task::spawn_blocking(move || {
            let mut line = Vec::new();
            let mut byte = [0u8; 1];
            while out.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
                line.push(byte[0]);
            }
            String::from_utf8(line).unwrap()
        })
        .await
        .unwrap();
        assert!(address.starts_with("unix:"), "no session bus: {address:?}");
        KeyringSession { child, address }
    }
}

impl Drop for KeyringSession {
    fn drop(&mut self) {
        // Closing its standard input ends the session's `cat`, then the session itself.
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

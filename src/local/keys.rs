//! The embedded endpoint's access keys: generated once, kept in a file only its owner can read.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Access keys of the embedded endpoint. `Debug` never prints the secret.
#[derive(Clone, Serialize, Deserialize)]
pub struct Keys {
    pub access_key: String,
    pub secret_key: String,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

impl Keys {
    /// Fresh random keys (122 bits of randomness in each UUID).
    pub fn generate() -> Keys {
        let ak = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
        let sk = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        Keys {
            access_key: format!("FERRY{}", &ak[..15]),
            secret_key: sk[..40].to_string(),
        }
    }

    /// Reads the key file, creating it (0600) on first use.
    pub fn load_or_create(path: &Path) -> Result<Keys> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::storage(format!(
                    "the local endpoint's key file {} is unreadable ({e}); delete it to make new keys",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let keys = Keys::generate();
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create", dir, e))?;
                }
                let text = serde_json::to_vec_pretty(&keys).expect("keys serialise");
                write_private(path, &text).map_err(|e| Error::io("cannot write", path, e))?;
                Ok(keys)
            }
            Err(e) => Err(Error::io("cannot read", path, e)),
        }
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

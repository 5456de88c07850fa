//! Account defaults: what every upload of an account is stored with (storage class, server-side
//! encryption, cache control) unless the upload says otherwise, kept in the state database under the
//! account's name (saved accounts, `local` and AWS profiles alike) and removed with the account.
//!
//! They are applied where an upload's options are fixed, when it is queued (so a resumed upload
//! creates the object it started), for uploads of every kind: the CLI, dropped files, watched
//! folders, sync, and streams.

use crate::transfer::upload::{check_sse, ObjectOptions};

use super::*;

/// What an account's uploads are stored with unless they choose otherwise.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AccountDefaults {
    /// `STANDARD_IA`, `INTELLIGENT_TIERING`, …; the bucket's default when `None`.
    pub storage_class: Option<String>,
    /// `AES256` or `aws:kms`; the bucket's default when `None`.
    pub sse: Option<String>,
    /// The KMS key of `aws:kms`.
    pub sse_kms_key_id: Option<String>,
    pub cache_control: Option<String>,
}

impl AccountDefaults {
    /// Refuses what S3 would refuse; blank fields count as unset.
    fn cleaned(&self) -> Result<AccountDefaults> {
        let blank = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        let out = AccountDefaults {
            storage_class: blank(&self.storage_class),
            sse: blank(&self.sse),
            sse_kms_key_id: blank(&self.sse_kms_key_id),
            cache_control: blank(&self.cache_control),
        };
        check_sse(out.sse.as_deref(), out.sse_kms_key_id.as_deref())?;
        ObjectOptions {
            storage_class: out.storage_class.clone(),
            ..ObjectOptions::default()
        }
        .validate()?;
        Ok(out)
    }

    /// `object` with these defaults where it chose nothing. An upload that asks for its own
    /// encryption keeps its own KMS key choice too.
    pub fn apply(&self, object: &ObjectOptions) -> ObjectOptions {
        let mut out = object.clone();
        out.storage_class = out.storage_class.or(self.storage_class.clone());
        out.cache_control = out.cache_control.or(self.cache_control.clone());
        if out.sse.is_none() {
            out.sse = self.sse.clone();
            out.sse_kms_key_id = self.sse_kms_key_id.clone();
        }
        out
    }
}

fn setting_key(account: &str) -> String {
    format!("account_defaults:{account}")
}

impl Engine {
    /// The defaults of an account's uploads (none set: all `None`).
    pub fn account_defaults(&self, account: &str) -> Result<AccountDefaults> {
        Ok(match self.inner.store.setting(&setting_key(account))? {
            Some(text) => serde_json::from_str(&text).map_err(|e| {
                Error::storage(format!(
                    "the upload defaults of `{account}` are unreadable ({e}); set them again"
                ))
            })?,
            None => AccountDefaults::default(),
        })
    }

    /// Validates and keeps an account's upload defaults; returns them as kept.
    pub fn set_account_defaults(
        &self,
        account: &str,
        defaults: &AccountDefaults,
    ) -> Result<AccountDefaults> {
        self.connection(account)?;
        let clean = defaults.cleaned()?;
        let key = setting_key(account);
        if clean == AccountDefaults::default() {
            self.inner.store.delete_setting(&key)?;
        } else {
            let text = serde_json::to_string(&clean).expect("defaults serialise");
            self.inner.store.set_setting(&key, &text)?;
        }
        Ok(clean)
    }

    pub(super) fn forget_account_defaults(&self, account: &str) -> Result<()> {
        self.inner.store.delete_setting(&setting_key(account))
    }

    /// An upload's stored options (JSON) with its account's defaults applied.
    pub(super) fn with_account_defaults(
        &self,
        account: &str,
        stored: Option<&str>,
    ) -> Result<Option<String>> {
        let defaults = self.account_defaults(account)?;
        if defaults == AccountDefaults::default() {
            return Ok(stored.map(str::to_string));
        }
        Ok(defaults.apply(&ObjectOptions::of(stored)?).to_json())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_only_what_an_upload_left_out() {
        let d = AccountDefaults {
            storage_class: Some("STANDARD_IA".into()),
            sse: Some("aws:kms".into()),
            sse_kms_key_id: Some("key-1".into()),
            cache_control: Some("max-age=60".into()),
        };
        let plain = d.apply(&ObjectOptions::default());
        assert_eq!(plain.storage_class.as_deref(), Some("STANDARD_IA"));
        assert_eq!(
            (plain.sse.as_deref(), plain.sse_kms_key_id.as_deref()),
            (Some("aws:kms"), Some("key-1"))
        );
        let own = d.apply(&ObjectOptions {
            sse: Some("AES256".into()),
            cache_control: Some("no-cache".into()),
            ..ObjectOptions::default()
        });
        assert_eq!(
            (own.sse.as_deref(), own.sse_kms_key_id.as_deref()),
            (Some("AES256"), None),
            "an upload's own encryption is not mixed with the default KMS key"
        );
        assert_eq!(own.cache_control.as_deref(), Some("no-cache"));
        assert!(AccountDefaults {
            sse: Some("rot13".into()),
            ..AccountDefaults::default()
        }
        .cleaned()
        .is_err());
        assert!(AccountDefaults {
            storage_class: Some("FAST".into()),
            ..AccountDefaults::default()
        }
        .cleaned()
        .is_err());
        let blank = AccountDefaults {
            cache_control: Some("  ".into()),
            ..AccountDefaults::default()
        };
        assert_eq!(blank.cleaned().unwrap(), AccountDefaults::default());
    }
}

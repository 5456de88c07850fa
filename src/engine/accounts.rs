//! Accounts and their clients: saved accounts (secrets in the keychain), session-only secrets,
//! credentials handed in at run time, and the cache of one S3 client per connection.

use super::*;

impl Engine {
    /// The built-in local account, saved accounts, then the AWS profiles found in `~/.aws`.
    pub fn accounts(&self) -> Result<Vec<Account>> {
        let mut out = vec![crate::accounts::local_account()];
        out.extend(self.inner.store.accounts()?.iter().map(Account::from));
        out.extend(crate::accounts::aws_profiles());
        Ok(out)
    }

    /// Saves an account: its secret first (keychain, or this session only), then its row.
    pub async fn add_account(&self, new: &NewAccount) -> Result<Account> {
        new.validate()?;
        let conn = new.connection();
        if self.inner.store.account(&conn.account)?.is_some() {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!(
                    "an account named `{}` already exists; choose another name",
                    conn.account
                ),
            ));
        }
        let place = if new.session_only {
            self.inner
                .session
                .set(&conn.account, &new.secret_access_key)?;
            "session"
        } else {
            self.inner
                .keychain
                .set(&conn.account, &new.secret_access_key)
                .map_err(|e| match e.kind {
                    ErrorKind::KeychainUnavailable => Error::new(
                        e.kind,
                        format!(
                            "{}; you can keep the secret for this session only instead",
                            e.message
                        ),
                    ),
                    _ => e,
                })?;
            "keychain"
        };
        let row = crate::store::AccountRow {
            name: conn.account.clone(),
            kind: "s3".into(),
            endpoint: conn.endpoint.clone(),
            region: conn.region.clone(),
            path_style: conn.path_style,
            access_key_id: Some(new.access_key_id.trim().to_string()),
            profile: None,
            secret: place.into(),
        };
        if let Err(e) = self.inner.store.insert_account(&row) {
            let _ = self.secrets_of(place).delete(&row.name);
            return Err(e);
        }
        self.forget_clients(&row.name).await;
        Ok(Account::from(&row))
    }

    pub(super) fn secrets_of(&self, place: &str) -> &dyn SecretStore {
        if place == "session" {
            &self.inner.session
        } else {
            self.inner.keychain.as_ref()
        }
    }

    /// Removes a saved account and its secret. Its transfers stay in the list.
    pub async fn remove_account(&self, name: &str) -> Result<()> {
        let row = self
            .inner
            .store
            .account(name)?
            .ok_or_else(|| Error::not_found(format!("no saved account named `{name}`")))?;
        self.secrets_of(&row.secret).delete(name)?;
        self.inner.store.delete_account(name)?;
        self.forget_account_defaults(name)?;
        self.forget_clients(name).await;
        Ok(())
    }

    /// Checks an account before saving it; returns how many buckets it sees.
    pub async fn test_connection(&self, new: &NewAccount) -> Result<usize> {
        new.validate()?;
        let client = s3::client(&new.connection(), None, Some(new.credentials())).await?;
        // One try, neither the engine's retries nor the SDK's: a person waits for the answer.
        let client = s3::single_attempt(&client);
        let once = RetryPolicy {
            attempts: 1,
            ..self.inner.retry
        };
        let s3 = s3::Requests::new(client, once, self.inner.shutdown.clone());
        let what = format!("connect to {}", new.endpoint.as_deref().unwrap_or("AWS S3"));
        let out = s3.send(&what, |c| c.list_buckets().send()).await?;
        Ok(out.buckets().len())
    }

    /// The connection of an account name (`local`, `profile:NAME`, `default` or a saved account).
    pub fn connection(&self, account: &str) -> Result<Connection> {
        let saved = self.inner.store.account(account)?;
        crate::accounts::connection_for(account, saved.as_ref())
    }

    pub(super) async fn forget_clients(&self, account: &str) {
        self.inner.clients.lock().await.retain(|k, _| {
            Connection::from_json(k)
                .map(|c| c.account != account)
                .unwrap_or(false)
        });
    }

    /// Makes an account's secret available to this engine (from the keychain; never stored).
    pub async fn register_credentials(&self, account: &str, credentials: Credentials) {
        lock(&self.inner.credentials).insert(account.to_string(), credentials);
        self.inner.clients.lock().await.retain(|k, _| {
            Connection::from_json(k)
                .map(|c| c.account != account)
                .unwrap_or(false)
        });
    }

    /// The embedded endpoint, started in this process unless another Ferry process already serves it.
    pub async fn local_endpoint(&self) -> Result<&LocalEndpoint> {
        self.inner
            .local
            .get_or_try_init(|| LocalEndpoint::ensure(&self.inner.state_dir, self.inner.local_port))
            .await
    }

    /// A client for `conn`, built once and reused (connection pooling).
    pub async fn client(&self, conn: &Connection) -> Result<Client> {
        let key = conn.to_json();
        if let Some(c) = self.inner.clients.lock().await.get(&key) {
            return Ok(c.clone());
        }
        let (endpoint, creds) = self.given(conn).await?;
        let client = s3::client(conn, endpoint.as_deref(), creds).await?;
        let client = s3::with_sdk_backoff(&client, self.inner.retry.sdk_backoff);
        self.inner.clients.lock().await.insert(key, client.clone());
        Ok(client)
    }

    /// The endpoint and credentials Ferry hands a connection's client itself: the embedded
    /// endpoint's, credentials registered at run time, a saved account's secret. `None` leaves them
    /// to the AWS configuration (environment, profiles, SSO…).
    async fn given(&self, conn: &Connection) -> Result<(Option<String>, Option<Credentials>)> {
        if conn.is_local() {
            let local = self.local_endpoint().await?;
            let creds = Credentials::new(
                local.keys.access_key.clone(),
                local.keys.secret_key.clone(),
                None,
                None,
                "ferry-local",
            );
            return Ok((Some(local.endpoint.clone()), Some(creds)));
        }
        let registered = lock(&self.inner.credentials).get(&conn.account).cloned();
        let creds = match registered {
            Some(c) => Some(c),
            None => self.saved_credentials(&conn.account)?,
        };
        Ok((None, creds))
    }

    /// The credentials a connection signs with now, with their expiry when they are temporary.
    pub(super) async fn signing_credentials(&self, conn: &Connection) -> Result<Credentials> {
        match self.given(conn).await?.1 {
            Some(c) => Ok(c),
            None => s3::resolve_credentials(conn).await,
        }
    }

    /// The connection's client behind the one door for S3 requests (retry policy, error mapping).
    pub(crate) async fn requests(&self, conn: &Connection) -> Result<s3::Requests> {
        Ok(s3::Requests::new(
            self.client(conn).await?,
            self.inner.retry,
            self.inner.shutdown.clone(),
        ))
    }

    /// Credentials of a saved account: its access key id and the secret from where it lives.
    pub(super) fn saved_credentials(&self, account: &str) -> Result<Option<Credentials>> {
        let Some(row) = self.inner.store.account(account)? else {
            return Ok(None);
        };
        let Some(key_id) = row.access_key_id.clone() else {
            return Ok(None);
        };
        let secret = self.secrets_of(&row.secret).get(account)?.ok_or_else(|| {
            Error::new(
                ErrorKind::AccessDenied,
                format!(
                    "the secret key of account `{account}` is not available{}; remove the account and add it again",
                    if row.secret == "session" { " (it was kept for the previous session only)" } else { " in the keychain" }
                ),
            )
        })?;
        Ok(Some(Credentials::new(
            key_id,
            secret,
            None,
            None,
            "ferry-account",
        )))
    }
}

//! `ferry account`: saved accounts, secrets in the OS keychain.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use ferry::{Error, Limits};

use crate::{open, Global};

#[derive(Subcommand)]
pub(crate) enum AccountCommand {
    /// List the accounts: built-in `local`, saved ones, and ~/.aws profiles.
    List,
    /// Save an account for the server given by --endpoint-url and --region. The secret key is read from
    /// standard input (or FERRY_SECRET_ACCESS_KEY), never from the command line, and kept in the OS
    /// keychain.
    Add {
        name: String,
        #[arg(long)]
        access_key_id: String,
        /// Virtual-hosted addressing instead of path-style.
        #[arg(long)]
        virtual_hosted: bool,
        /// Keep the secret in memory for this command only (for trying an account out).
        #[arg(long)]
        session_only: bool,
    },
    /// Remove a saved account and its secret.
    Remove { name: String },
    /// Show, or change, what every upload of an account is stored with unless the upload chooses
    /// otherwise: storage class, server-side encryption, cache control (an empty value unsets one).
    Defaults {
        name: String,
        #[arg(long, value_name = "CLASS")]
        storage_class: Option<String>,
        /// AES256 or aws:kms.
        #[arg(long, value_name = "MODE")]
        sse: Option<String>,
        #[arg(long, value_name = "ID")]
        sse_kms_key_id: Option<String>,
        #[arg(long, value_name = "VALUE")]
        cache_control: Option<String>,
        /// Unset them all.
        #[arg(long)]
        clear: bool,
    },
}

/// Lists, adds or removes saved accounts; shows or sets an account's upload defaults.
pub(crate) async fn run(
    g: &Global,
    state_dir: PathBuf,
    cmd: &AccountCommand,
) -> Result<ExitCode, Error> {
    let engine = open(state_dir, Limits::default()).await?;
    match cmd {
        AccountCommand::List => {
            let accounts = engine.accounts()?;
            if g.json {
                println!(
                    "{}",
                    serde_json::to_string(&accounts).expect("accounts serialise")
                );
            } else {
                for a in accounts {
                    let place = a.endpoint.as_deref().unwrap_or("AWS");
                    println!("{:<24} {:<40} secret: {}", a.name, place, a.secret);
                }
            }
        }
        AccountCommand::Add {
            name,
            access_key_id,
            virtual_hosted,
            session_only,
        } => {
            let secret = match std::env::var("FERRY_SECRET_ACCESS_KEY") {
                Ok(s) => s,
                Err(_) => {
                    let mut line = String::new();
                    std::io::stdin()
                        .read_line(&mut line)
                        .map_err(|e| Error::invalid(format!("cannot read the secret key: {e}")))?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            let new = ferry::accounts::NewAccount {
                name: name.clone(),
                endpoint: g.endpoint_url.clone(),
                region: g.region.clone(),
                path_style: !virtual_hosted,
                access_key_id: access_key_id.clone(),
                secret_access_key: secret,
                session_only: *session_only,
            };
            let a = engine.add_account(&new).await?;
            println!("saved account `{}` (secret in the {})", a.name, a.secret);
        }
        AccountCommand::Remove { name } => {
            engine.remove_account(name).await?;
            println!("removed account `{name}`");
        }
        AccountCommand::Defaults {
            name,
            storage_class,
            sse,
            sse_kms_key_id,
            cache_control,
            clear,
        } => {
            let mut d = match clear {
                true => ferry::AccountDefaults::default(),
                false => engine.account_defaults(name)?,
            };
            let given = [storage_class, sse, sse_kms_key_id, cache_control];
            let changed = *clear || given.iter().any(|v| v.is_some());
            for (field, value) in [
                (&mut d.storage_class, storage_class),
                (&mut d.sse, sse),
                (&mut d.sse_kms_key_id, sse_kms_key_id),
                (&mut d.cache_control, cache_control),
            ] {
                if let Some(v) = value {
                    *field = Some(v.clone());
                }
            }
            if changed {
                d = engine.set_account_defaults(name, &d)?;
            }
            if g.json {
                println!("{}", serde_json::to_string(&d).expect("defaults serialise"));
            } else {
                let show =
                    |v: &Option<String>| v.clone().unwrap_or_else(|| "(the bucket's)".into());
                println!("storage class   {}", show(&d.storage_class));
                println!("encryption      {}", show(&d.sse));
                if let Some(k) = &d.sse_kms_key_id {
                    println!("kms key         {k}");
                }
                println!(
                    "cache control   {}",
                    d.cache_control.as_deref().unwrap_or("(none)")
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

//! Configuration: built-in defaults, then an optional TOML file, then environment variables, then command-line flags.

use std::{net::SocketAddr, path::PathBuf};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize};

use jobs::{Schedules, outbox::MailConfig};

use crate::service::sessions::AuthConfig;

/// The settings of a running invest-crm.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    /// Database URL; the default is a SQLite file under `data_dir`.
    pub database_url: Option<String>,
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// A second address that serves only `/metrics`, without a token (keep it off the public network); none by
    /// default: then `/metrics` on `listen` takes a token of the `metrics` scope.
    pub metrics_listen: Option<SocketAddr>,
    /// Folder for the embedded SQLite database and the mail outbox.
    pub data_dir: PathBuf,
    /// `tracing` filter, e.g. `info` or `invest_crm=debug,sqlx=warn`.
    pub log: String,
    /// `text` (for a console) or `json` (one object per line, for a log shipper); each line of a request carries
    /// its request id.
    pub log_format: LogFormat,
    /// Origins allowed to call the API from a browser (CORS); none by default.
    pub cors_origins: Vec<String>,
    /// Addresses of the reverse proxies in front of the service: only from them are `X-Forwarded-For` and
    /// `Forwarded` believed (for the audit log and sign-in); none by default, so the socket's address is used.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The largest request body accepted, in bytes (2 MiB by default); larger ones get 413 before they are read.
    pub body_limit: usize,
    /// The largest ledger upload accepted by the import (`/api/v1/imports/…`), in bytes (32 MiB by default).
    pub import_limit: usize,
    /// Whether the UI's session cookie is marked `Secure` (set it when TLS terminates in front of the service).
    pub secure_cookies: bool,
    /// Sign-in policy: session expiry and lockout.
    pub auth: AuthConfig,
    /// Job schedules and their time zone.
    pub jobs: Schedules,
    /// Mail: SMTP (`SMTP_URL`) or `.eml` files, retries.
    pub mail: MailConfig,
    /// The audit trail's retention.
    pub audit: AuditConfig,
    /// Where the scheduled backups go and how many are kept.
    pub backup: crate::backup::BackupConfig,
    /// Attachments: where they are kept, the largest accepted, how long a deleted one can be restored.
    pub files: crate::files::FilesConfig,
    /// The key that seals the work-chat channels' addresses and secrets in the database: 32 bytes, base64
    /// (`openssl rand -base64 32`). None: the file `secret.key` in `data_dir`, made on first start. Replicas need the
    /// same key; a restored database needs the key it was sealed with (docs/NOTIFICATIONS.md).
    pub secret_key: Option<String>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The audit trail's settings (docs/SECURITY.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditConfig {
    /// Days an audit entry is kept in the database before `invest-crm audit archive` may move it to a file (the
    /// Cybersecurity Law asks for at least six months).
    pub retention_days: u32,
    /// 三员分立 (等保 2.0 level 3): the admin (系统管理员) manages users and settings but reads only their own audit
    /// entries; data scopes, roles and unlocking belong to the security administrator (安全管理员), the audit log to the
    /// auditor (审计管理员). Off by default: a small bureau's admin does all three.
    pub separation_of_duties: bool,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            retention_days: 180,
            separation_of_duties: false,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            metrics_listen: None,
            data_dir: PathBuf::from("data"),
            log: "info,sqlx=warn,sea_orm=warn".into(),
            log_format: LogFormat::Text,
            cors_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            body_limit: 2 * 1024 * 1024,
            import_limit: 32 * 1024 * 1024,
            secure_cookies: false,
            auth: AuthConfig::default(),
            jobs: Schedules::default(),
            mail: MailConfig::default(),
            audit: AuditConfig::default(),
            backup: crate::backup::BackupConfig::default(),
            files: crate::files::FilesConfig::default(),
            secret_key: None,
        }
    }
}

impl Config {
    /// Reads the layers; `file` is the TOML file given on the command line, else `invest-crm.toml` if it exists.
    pub fn load(file: Option<&std::path::Path>) -> Result<Config, Box<figment::Error>> {
        let file = file
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("invest-crm.toml"));
        Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(file))
            .merge(
                Env::prefixed("INVEST_CRM_")
                    .ignore(&["config", "admin_password"])
                    .split("__"),
            )
            .merge(Env::raw().only(&["database_url"]))
            .merge(Env::raw().only(&["smtp_url"]).map(|_| "mail.smtp_url".into()))
            .extract()
            .map_err(Box::new)
    }

    /// The settings in force as the audit log records them at start: every setting, with the passwords in the
    /// database and SMTP addresses masked.
    pub fn shown(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        v["database_url"] = serde_json::json!(crate::db::redact(&self.database_url()));
        if let Some(url) = &self.mail.smtp_url {
            v["mail"]["smtp_url"] = serde_json::json!(crate::db::redact(url));
        }
        if self.backup.s3.as_ref().is_some_and(|s| s.secret_access_key.is_some()) {
            v["backup"]["s3"]["secret_access_key"] = serde_json::json!("***");
        }
        if self.files.s3.as_ref().is_some_and(|s| s.secret_access_key.is_some()) {
            v["files"]["s3"]["secret_access_key"] = serde_json::json!("***");
        }
        if self.secret_key.is_some() {
            v["secret_key"] = serde_json::json!("***");
        }
        v
    }

    /// What seals the channels' secrets: `secret_key`, else the key file in `data_dir`, made (readable by the
    /// service's user only) when there is none.
    pub fn sealer(&self) -> anyhow::Result<jobs::chat::Sealer> {
        use anyhow::Context;
        if let Some(key) = &self.secret_key {
            return jobs::chat::Sealer::from_base64(key).context("secret_key");
        }
        let path = self.data_dir.join("secret.key");
        if !path.exists() {
            std::fs::create_dir_all(&self.data_dir)?;
            let mut o = std::fs::OpenOptions::new();
            o.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
            // Two processes starting at once: the second finds the first's file.
            match o.open(&path) {
                Ok(mut f) => std::io::Write::write_all(&mut f, jobs::chat::Sealer::new_key()?.as_bytes())
                    .with_context(|| format!("writing {}", path.display()))?,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e).with_context(|| format!("making {}", path.display())),
            }
        }
        let key = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        jobs::chat::Sealer::from_base64(&key).with_context(|| format!("the key in {}", path.display()))
    }

    /// The settings as [`Config::shown`] with the secret key's id in place of the key: what is logged at start and
    /// what the replicas compare (replicas holding different keys could not open each other's channel secrets).
    pub fn shared(&self) -> anyhow::Result<serde_json::Value> {
        let mut v = self.shown();
        v["secret_key"] = serde_json::json!(format!("sha256:{}", self.sealer()?.key_id()));
        Ok(v)
    }

    /// The sign-in policy with the separation of duties it carries to every caller it resolves.
    pub fn auth(&self) -> AuthConfig {
        AuthConfig {
            separation_of_duties: self.audit.separation_of_duties,
            ..self.auth.clone()
        }
    }

    /// The database URL in force: the configured one, else the embedded SQLite file.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", self.data_dir.join("invest-crm.db").display()))
    }
}

//! The mail outbox (docs/ARCHITECTURE.md): reports are queued as rows (one per recipient, idempotent by key), and the
//! dispatcher sends them through lettre — SMTP from `SMTP_URL`, or `.eml` files when none is configured — with
//! retries and exponential backoff for transient failures, no retry for permanent ones, and an alert to the admins
//! after the last attempt. Rows are claimed before sending so that two dispatchers never send the same row.

use std::{path::PathBuf, time::Duration as StdDuration};

use chrono::{Duration, Utc};
use entity::{enums::OutboxStatus, outbox};
use lettre::{
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Attachment as Part, Mailbox, MultiPart, SinglePart, header::ContentType},
};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, OnConflict},
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Mail settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct MailConfig {
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS), `smtps://…:465` (implicit TLS) or none for files.
    pub smtp_url: Option<String>,
    /// Sender.
    pub from: String,
    /// The address staff open the web UI at (`https://crm.example.gov.cn`), for the links in e-mails (the weekly
    /// report's web view of its week, with the map of the investors' provinces); none: the e-mails carry no links.
    pub web_url: Option<String>,
    /// Folder for `.eml` files when no SMTP server is configured.
    pub outbox_dir: PathBuf,
    /// Attempts before a message is given up and the admins are alerted.
    pub max_attempts: i32,
    /// First retry delay in seconds; it doubles with each attempt.
    pub backoff_seconds: i64,
    /// Longest retry delay in seconds.
    pub backoff_cap_seconds: i64,
    /// SMTP connection and command timeout in seconds.
    pub timeout_seconds: u64,
    /// How long a dispatcher's claim on a message holds, in seconds; a dispatcher that died while sending leaves
    /// its messages to another once it has passed.
    pub claim_seconds: i64,
    /// Opens the work-chat channels' secrets (from the service's secret key; not a setting of its own).
    #[serde(skip)]
    pub sealer: Option<crate::chat::Sealer>,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            smtp_url: None,
            from: "招商引资CRM <noreply@invest-crm.local>".into(),
            web_url: None,
            outbox_dir: PathBuf::from("data/outbox"),
            max_attempts: 6,
            backoff_seconds: 60,
            backoff_cap_seconds: 3600,
            timeout_seconds: 20,
            claim_seconds: 600,
            sealer: None,
        }
    }
}

/// A file sent with a message; `content_id` makes it an inline part (an image the HTML shows).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Attachment {
    /// File name.
    pub filename: String,
    /// MIME type.
    pub content_type: String,
    /// For inline images: the id the HTML refers to as `cid:…`.
    pub content_id: Option<String>,
    /// The bytes, base64 in storage.
    #[serde(with = "b64")]
    pub data: Vec<u8>,
}

mod b64 {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(serde::de::Error::custom)
    }
}

/// A message to queue.
#[derive(Debug, Clone)]
pub struct Mail {
    /// Unique key, e.g. `weekly_report:2024-W21:leader@example.com`.
    pub key: String,
    /// What it is.
    pub kind: String,
    /// One recipient.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// HTML body.
    pub html: String,
    /// Plain-text alternative.
    pub text: String,
    /// Inline images and attachments.
    pub attachments: Vec<Attachment>,
}

/// The Message-ID of a key: stable across attempts and runs.
pub(crate) fn message_id(key: &str) -> String {
    format!(
        "<{}@invest-crm.local>",
        &hex::encode(Sha256::digest(key.as_bytes()))[..32]
    )
}

/// The MIME message of a mail: text and HTML alternatives, inline images beside the HTML, files attached.
pub fn render(mail: &Mail, from: &str) -> anyhow::Result<Message> {
    let (inline, attached): (Vec<_>, Vec<_>) = mail.attachments.iter().partition(|a| a.content_id.is_some());
    let mut related = MultiPart::related().singlepart(SinglePart::html(mail.html.clone()));
    for a in inline {
        let cid = a.content_id.clone().unwrap_or_default();
        related = related.singlepart(Part::new_inline(cid).body(a.data.clone(), ContentType::parse(&a.content_type)?));
    }
    let alternative = MultiPart::alternative()
        .singlepart(SinglePart::plain(mail.text.clone()))
        .multipart(related);
    let mut mixed = MultiPart::mixed().multipart(alternative);
    for a in attached {
        mixed =
            mixed.singlepart(Part::new(a.filename.clone()).body(a.data.clone(), ContentType::parse(&a.content_type)?));
    }
    Ok(Message::builder()
        .message_id(Some(message_id(&mail.key)))
        .from(from.parse::<Mailbox>()?)
        .to(mail.to.parse::<Mailbox>()?)
        .subject(mail.subject.clone())
        .multipart(mixed)?)
}

/// Queues messages; a key already queued is skipped. Answers how many were new. Use the caller's transaction to
/// queue a whole report or nothing.
pub async fn enqueue(db: &impl ConnectionTrait, mails: Vec<Mail>) -> anyhow::Result<u64> {
    let mut added = 0;
    let now = Utc::now();
    for m in mails {
        let row = outbox::ActiveModel {
            message_id: Set(message_id(&m.key)),
            idempotency_key: Set(m.key),
            kind: Set(m.kind),
            recipient: Set(m.to),
            subject: Set(m.subject),
            html: Set(m.html),
            text: Set(m.text),
            attachments: Set(serde_json::to_value(&m.attachments)?),
            status: Set(OutboxStatus::Pending),
            attempts: Set(0),
            next_attempt_at: Set(now),
            claimed_until: Set(None),
            last_error: Set(None),
            sent_at: Set(None),
            created_at: Set(now),
            channel_id: Set(None),
            ..Default::default()
        };
        added += insert(db, row).await?;
    }
    Ok(added)
}

/// Inserts an outbox row unless its key is queued already; answers 1 or 0.
pub(crate) async fn insert(db: &impl ConnectionTrait, row: outbox::ActiveModel) -> anyhow::Result<u64> {
    Ok(outbox::Entity::insert(row)
        .on_conflict(
            OnConflict::column(outbox::Column::IdempotencyKey)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?)
}

/// How a send failed.
#[derive(Debug)]
pub(crate) enum SendError {
    /// Worth another try later (connection refused, 4xx).
    Transient(String),
    /// Will never work (5xx, a bad address).
    Permanent(String),
    /// Not an attempt: a robot has had its 20 messages this minute (the platform's answer, if it said so); due
    /// again after this long.
    Later(Duration, Option<String>),
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(AsyncFileTransport<Tokio1Executor>),
}

/// What one dispatch pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Dispatched {
    /// Sent now.
    pub sent: usize,
    /// Failed now and rescheduled.
    pub retrying: usize,
    /// Given up now.
    pub failed: usize,
}

/// Sends due messages.
pub struct Dispatcher {
    db: DatabaseConnection,
    cfg: MailConfig,
    transport: Transport,
}

impl Dispatcher {
    /// A dispatcher on the configured transport.
    pub fn new(db: DatabaseConnection, cfg: MailConfig) -> anyhow::Result<Dispatcher> {
        let transport = match &cfg.smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?
                    .timeout(Some(StdDuration::from_secs(cfg.timeout_seconds)))
                    .build(),
            ),
            None => {
                std::fs::create_dir_all(&cfg.outbox_dir)?;
                Transport::File(AsyncFileTransport::<Tokio1Executor>::new(&cfg.outbox_dir))
            }
        };
        Ok(Dispatcher { db, cfg, transport })
    }

    fn build(&self, row: &outbox::Model) -> anyhow::Result<Message> {
        let mail = Mail {
            key: row.idempotency_key.clone(),
            kind: row.kind.clone(),
            to: row.recipient.clone(),
            subject: row.subject.clone(),
            html: row.html.clone(),
            text: row.text.clone(),
            attachments: serde_json::from_value(row.attachments.clone())?,
        };
        render(&mail, &self.cfg.from)
    }

    async fn send(&self, row: &outbox::Model) -> Result<(), SendError> {
        if row.channel_id.is_some() {
            let timeout = StdDuration::from_secs(self.cfg.timeout_seconds);
            return crate::chat::deliver(&self.db, (self.cfg.sealer.as_ref(), timeout), row).await;
        }
        let msg = self
            .build(row)
            .map_err(|e| SendError::Permanent(format!("cannot build the message: {e}")))?;
        match &self.transport {
            Transport::Smtp(t) => t.send(msg).await.map(|_| ()).map_err(|e| {
                if e.is_permanent() {
                    SendError::Permanent(e.to_string())
                } else {
                    SendError::Transient(e.to_string())
                }
            }),
            Transport::File(t) => t
                .send(msg)
                .await
                .map(|_| ())
                .map_err(|e| SendError::Transient(e.to_string())),
        }
    }

    /// Claims a due row for this dispatcher; another dispatcher's claim holds until it passes.
    async fn claim(&self, id: i64) -> anyhow::Result<bool> {
        let now = Utc::now();
        let res = outbox::Entity::update_many()
            .col_expr(outbox::Column::Status, Expr::value(OutboxStatus::Sending))
            .col_expr(
                outbox::Column::ClaimedUntil,
                Expr::value(Some(now + Duration::seconds(self.cfg.claim_seconds))),
            )
            .filter(outbox::Column::Id.eq(id))
            .filter(
                Condition::any()
                    .add(outbox::Column::Status.eq(OutboxStatus::Pending))
                    // A dispatcher that died mid-send leaves `sending` behind; its claim runs out.
                    .add(
                        Condition::all()
                            .add(outbox::Column::Status.eq(OutboxStatus::Sending))
                            .add(outbox::Column::ClaimedUntil.lt(now)),
                    ),
            )
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// One pass: sends every message that is due.
    pub async fn dispatch(&self) -> anyhow::Result<Dispatched> {
        let now = Utc::now();
        let due: Vec<i64> = outbox::Entity::find()
            .select_only()
            .column(outbox::Column::Id)
            .filter(due_at(now))
            .order_by_asc(outbox::Column::Id)
            .limit(200)
            .into_tuple()
            .all(&self.db)
            .await?;
        let mut done = Dispatched::default();
        for id in due {
            if !self.claim(id).await? {
                continue;
            }
            let Some(row) = outbox::Entity::find_by_id(id).one(&self.db).await? else {
                continue;
            };
            let attempts = row.attempts + 1;
            let result = self.send(&row).await;
            if let Err(SendError::Later(wait, said)) = &result {
                self.postpone(id, *wait, said.clone()).await?;
                continue;
            }
            if let Some(channel) = row.channel_id {
                let error = match &result {
                    Err(SendError::Transient(m) | SendError::Permanent(m)) => Some(m.as_str()),
                    _ => None,
                };
                crate::chat::record(&self.db, channel, error).await?;
            }
            match result {
                Ok(()) => {
                    outbox::Entity::update_many()
                        .col_expr(outbox::Column::Attempts, Expr::value(attempts))
                        .col_expr(
                            outbox::Column::ClaimedUntil,
                            Expr::value(Option::<chrono::DateTime<Utc>>::None),
                        )
                        .filter(outbox::Column::Id.eq(id))
                        .col_expr(outbox::Column::Status, Expr::value(OutboxStatus::Sent))
                        .col_expr(outbox::Column::SentAt, Expr::value(Some(Utc::now())))
                        .col_expr(outbox::Column::LastError, Expr::value(Option::<String>::None))
                        .exec(&self.db)
                        .await?;
                    done.sent += 1;
                }
                Err(SendError::Permanent(m)) => self.failed(&row, attempts, (true, m), &mut done).await?,
                Err(SendError::Transient(m)) => self.failed(&row, attempts, (false, m), &mut done).await?,
                Err(SendError::Later(..)) => {}
            }
        }
        Ok(done)
    }

    /// Records a failed attempt: the message is retried after its backoff, or given up (a permanent failure, or the
    /// last attempt) and the admins alerted.
    async fn failed(
        &self,
        row: &outbox::Model,
        attempts: i32,
        (permanent, error): (bool, String),
        done: &mut Dispatched,
    ) -> anyhow::Result<()> {
        let give_up = permanent || attempts >= self.cfg.max_attempts;
        let delay = (self.cfg.backoff_seconds << (attempts - 1).clamp(0, 20)).min(self.cfg.backoff_cap_seconds);
        let status = if give_up {
            OutboxStatus::Failed
        } else {
            OutboxStatus::Pending
        };
        outbox::Entity::update_many()
            .col_expr(outbox::Column::Attempts, Expr::value(attempts))
            .col_expr(
                outbox::Column::ClaimedUntil,
                Expr::value(Option::<chrono::DateTime<Utc>>::None),
            )
            .col_expr(outbox::Column::Status, Expr::value(status))
            .col_expr(outbox::Column::LastError, Expr::value(Some(error.clone())))
            .col_expr(
                outbox::Column::NextAttemptAt,
                Expr::value(Utc::now() + Duration::seconds(delay)),
            )
            .filter(outbox::Column::Id.eq(row.id))
            .exec(&self.db)
            .await?;
        if give_up {
            done.failed += 1;
            self.alert(row, attempts, &error).await?;
        } else {
            done.retrying += 1;
            let id = row.id;
            tracing::warn!(id, attempts, error = %without_addresses(&error), "mail not sent; will retry");
        }
        Ok(())
    }

    /// Puts a message back in the queue without counting an attempt (a robot's minute is full), noting why.
    async fn postpone(&self, id: i64, wait: Duration, said: Option<String>) -> anyhow::Result<()> {
        let mut later = outbox::Entity::update_many();
        if let Some(said) = said {
            later = later.col_expr(outbox::Column::LastError, Expr::value(Some(said)));
        }
        later
            .col_expr(outbox::Column::Status, Expr::value(OutboxStatus::Pending))
            .col_expr(
                outbox::Column::ClaimedUntil,
                Expr::value(Option::<chrono::DateTime<Utc>>::None),
            )
            .col_expr(outbox::Column::NextAttemptAt, Expr::value(Utc::now() + wait))
            .filter(outbox::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// After the last attempt: an alert to every admin with an e-mail address, or an error in the log.
    async fn alert(&self, row: &outbox::Model, attempts: i32, error: &str) -> anyhow::Result<()> {
        tracing::error!(id = row.id, kind = %row.kind, attempts, error = %without_addresses(error), "mail given up");
        // An alert that failed is not alerted again; a chat message's channel alerts after three failures.
        if row.kind == "alert" || row.channel_id.is_some() {
            return Ok(());
        }
        let text = format!(
            "发往 {} 的邮件“{}”在 {attempts} 次尝试后仍未发出。\n最后的错误:{error}\n",
            row.recipient, row.subject
        );
        alert_admins(
            &self.db,
            &row.id.to_string(),
            &format!("【招商CRM告警】邮件发送失败:{}", row.subject),
            &text,
        )
        .await
    }
}

/// Queues an alert to every enabled admin with an e-mail address and to every work-chat channel that carries alerts
/// (once per `key` and recipient); with none, the log's error line is all there is.
pub async fn alert_admins(db: &impl ConnectionTrait, key: &str, subject: &str, text: &str) -> anyhow::Result<()> {
    mail_admins(db, key, subject, text).await?;
    crate::chat::alert(db, key, subject, text, None).await
}

/// Queues an alert to every enabled admin with an e-mail address (once per `key` and admin).
pub async fn mail_admins(db: &impl ConnectionTrait, key: &str, subject: &str, text: &str) -> anyhow::Result<()> {
    let admins: Vec<String> = entity::user::Entity::find()
        .select_only()
        .column(entity::user::Column::Email)
        .filter(entity::user::Column::Role.eq(entity::enums::Role::Admin))
        .filter(entity::user::Column::Disabled.eq(false))
        .filter(entity::user::Column::Email.is_not_null())
        .into_tuple::<Option<String>>()
        .all(db)
        .await?
        .into_iter()
        .flatten()
        .collect();
    let html: String = text.lines().map(|l| format!("<p>{}</p>", html_escape(l))).collect();
    let mails = admins
        .into_iter()
        .map(|to| Mail {
            key: format!("alert:{key}:{to}"),
            kind: "alert".into(),
            subject: subject.to_owned(),
            text: text.to_owned(),
            html: html.clone(),
            to,
            attachments: vec![],
        })
        .collect();
    enqueue(db, mails).await?;
    Ok(())
}

/// An error for the log without the e-mail addresses in it (an SMTP server's refusal names the recipient): every
/// word with an `@` becomes `<address>`. The outbox row keeps the whole error for the admins.
fn without_addresses(text: &str) -> String {
    text.split(char::is_whitespace)
        .map(|w| if w.contains('@') { "<address>" } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Escapes text for HTML.
pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The messages due at `now`: pending ones whose next attempt has come, and claimed ones whose claim has lapsed
/// (their sender died).
fn due_at(now: chrono::DateTime<Utc>) -> Condition {
    Condition::any()
        .add(
            Condition::all()
                .add(outbox::Column::Status.eq(OutboxStatus::Pending))
                .add(outbox::Column::NextAttemptAt.lte(now)),
        )
        .add(
            Condition::all()
                .add(outbox::Column::Status.eq(OutboxStatus::Sending))
                .add(outbox::Column::ClaimedUntil.lt(now)),
        )
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_logged_error_names_no_address() {
        let e = "permanent error (550): 5.1.1 <wang.jg@example.gov.cn>: Recipient address rejected";
        assert_eq!(
            super::without_addresses(e),
            "permanent error (550): 5.1.1 <address> Recipient address rejected"
        );
    }
}

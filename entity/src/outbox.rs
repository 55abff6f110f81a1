//! One e-mail to one recipient (or one work-chat message to a channel), queued until the dispatcher has sent it (or given up).

use sea_orm::entity::prelude::*;

use crate::enums::OutboxStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Unique: (report, period, recipient) for reports, so queuing twice adds nothing.
    pub idempotency_key: String,
    /// `weekly_report`, `alert`, …
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub html: String,
    pub text: String,
    /// JSON list of {filename, content_type, content_id?, data (base64)}.
    pub attachments: Json,
    /// Stable Message-ID, the same on every attempt.
    pub message_id: String,
    /// `pending`, `sending`, `sent`, `failed`.
    pub status: OutboxStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    /// A dispatcher's claim on the row; another may take it once this has passed.
    pub claimed_until: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    /// A work-chat message: the channel it goes to (`recipient` is then the chat user ids, or empty for a group;
    /// `text` the message's markdown). None: an e-mail.
    pub channel_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

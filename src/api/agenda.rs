//! 我的待办: what is due for the caller, as the daily reminder digest mails it.

use chrono::NaiveDate;
use jobs::reminders::Agenda;
use poem_openapi::{OpenApi, param::Query, payload::Json};
use sea_orm::DatabaseConnection;

use super::{ApiTags, auth::Auth};
use crate::service::{AppResult, Need, people};

/// Agenda endpoints.
pub struct AgendaApi {
    pub db: DatabaseConnection,
    /// Projects without a follow-up for more than this many days are quiet.
    pub stale_days: i64,
}

#[OpenApi(tag = "ApiTags::Accounts")]
impl AgendaApi {
    /// The caller's agenda: the follow-ups they own whose next date has come, their open blockers due within three
    /// days or overdue, and their projects without a follow-up for `jobs.stale_days` — the daily reminder's items.
    #[oai(path = "/me/agenda", method = "get", operation_id = "getAgenda")]
    async fn agenda(
        &self,
        auth: Auth,
        /// The day to ask about (default today, Asia/Shanghai).
        as_of: Query<Option<NaiveDate>>,
    ) -> AppResult<Json<Agenda>> {
        auth.0.require(Need::Read)?;
        Ok(Json(people::agenda(&self.db, &auth.0, as_of.0, self.stale_days).await?))
    }
}

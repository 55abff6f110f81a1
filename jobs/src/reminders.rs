//! The daily reminders (docs/ARCHITECTURE.md): what is due for each person, as `GET /api/v1/me/agenda` answers it
//! and as the `reminders` job mails it — at most one digest per person per day, through the outbox, and nothing to
//! anyone with nothing due or with reminders turned off.
//!
//! Due for a user, on the as-of day: the follow-ups they own whose next date has come (the latest follow-up of a
//! project still in the pipeline: a later one means the next step was taken), the blockers they own that are not
//! resolved and are due within three days or overdue, and the projects they own that have gone quiet (the weekly
//! report's rule: in the pipeline, no follow-up for `stale_days`).

use chrono::{Days, NaiveDate};
use entity::{blocker, enums::BlockerStatus, follow_up, project, user, visible::Visible};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use serde::Serialize;

use crate::{
    outbox::{self, Mail},
    runner::Ctx,
    weekly::{StaleProject, stale_projects},
};

/// A blocker due within this many days is a reminder.
pub const BLOCKER_DAYS_AHEAD: u64 = 3;

/// A follow-up whose next step is due.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct DueFollowUp {
    /// The follow-up.
    pub id: i64,
    /// Its project.
    pub project_id: i64,
    /// The project's name.
    pub project: String,
    /// The next step agreed.
    #[cfg_attr(feature = "openapi", oai(nullable))]
    pub next_step: Option<String>,
    /// When it was due.
    pub next_date: NaiveDate,
}

/// A blocker due soon or overdue.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct DueBlocker {
    /// The blocker.
    pub id: i64,
    /// Its project.
    pub project_id: i64,
    /// The project's name.
    pub project: String,
    /// The problem.
    pub title: String,
    /// Its due date.
    pub due_date: NaiveDate,
    /// Past its due date.
    pub overdue: bool,
}

/// What is due for one person on one day.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct Agenda {
    /// The day asked about.
    pub as_of: NaiveDate,
    /// Follow-ups whose next date is that day or past.
    pub follow_ups: Vec<DueFollowUp>,
    /// Blockers due within three days or overdue, soonest first.
    pub blockers: Vec<DueBlocker>,
    /// Own projects without a follow-up for `stale_days`, longest quiet first.
    pub stale: Vec<StaleProject>,
}

impl Agenda {
    /// Nothing is due.
    pub fn is_empty(&self) -> bool {
        self.follow_ups.is_empty() && self.blockers.is_empty() && self.stale.is_empty()
    }
}

async fn project_names(
    db: &impl ConnectionTrait,
    ids: Vec<i64>,
) -> anyhow::Result<std::collections::HashMap<i64, String>> {
    use sea_orm::QuerySelect;
    Ok(project::Entity::find()
        .select_only()
        .columns([project::Column::Id, project::Column::Name])
        .filter(project::Column::Id.is_in(ids))
        .into_tuple::<(i64, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// The follow-ups `user` owns whose next date has come and that are the latest of their project.
async fn due_follow_ups(db: &DatabaseConnection, user: i64, as_of: NaiveDate) -> anyhow::Result<Vec<DueFollowUp>> {
    let due = follow_up::Entity::find()
        .filter(follow_up::Column::OwnerId.eq(user))
        .filter(follow_up::Column::NextDate.lte(as_of))
        .filter(follow_up::Column::OccurredOn.lte(as_of))
        .order_by_asc(follow_up::Column::NextDate)
        .order_by_asc(follow_up::Column::Id)
        .all(db)
        .await?;
    let ids: Vec<i64> = due.iter().map(|f| f.project_id).collect();
    let all = follow_up::Entity::find()
        .filter(follow_up::Column::ProjectId.is_in(ids.clone()))
        .filter(follow_up::Column::OccurredOn.lte(as_of))
        .all(db)
        .await?;
    let live: std::collections::HashMap<i64, String> = project::Entity::find()
        .filter(project::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .filter(|p| {
            !matches!(
                p.stage,
                entity::enums::ProjectStage::Dropped | entity::enums::ProjectStage::Producing
            )
        })
        .map(|p| (p.id, p.name))
        .collect();
    Ok(due
        .into_iter()
        .filter(|f| {
            !all.iter()
                .any(|o| o.project_id == f.project_id && (o.occurred_on, o.id) > (f.occurred_on, f.id))
        })
        .filter_map(|f| {
            Some(DueFollowUp {
                project: live.get(&f.project_id)?.clone(),
                id: f.id,
                project_id: f.project_id,
                next_step: f.next_step,
                next_date: f.next_date?,
            })
        })
        .collect())
}

/// The open blockers `user` owns that are due within three days or overdue.
async fn due_blockers(db: &DatabaseConnection, user: i64, as_of: NaiveDate) -> anyhow::Result<Vec<DueBlocker>> {
    let horizon = as_of + Days::new(BLOCKER_DAYS_AHEAD);
    let rows = blocker::Entity::find()
        .filter(blocker::Column::OwnerId.eq(user))
        .filter(blocker::Column::Status.ne(BlockerStatus::Resolved))
        .filter(blocker::Column::DueDate.lte(horizon))
        .filter(blocker::Column::OpenedOn.lte(as_of))
        .order_by_asc(blocker::Column::DueDate)
        .order_by_asc(blocker::Column::Id)
        .all(db)
        .await?;
    let names = project_names(db, rows.iter().map(|b| b.project_id).collect()).await?;
    Ok(rows
        .into_iter()
        .filter_map(|b| {
            let due_date = b.due_date?;
            Some(DueBlocker {
                id: b.id,
                project: names.get(&b.project_id).cloned().unwrap_or_default(),
                project_id: b.project_id,
                title: b.title,
                due_date,
                overdue: due_date < as_of,
            })
        })
        .collect())
}

/// What is due for `user` on `as_of`.
pub async fn agenda(db: &DatabaseConnection, user: i64, as_of: NaiveDate, stale_days: i64) -> anyhow::Result<Agenda> {
    let owned = owned_projects(db, user).await?;
    // Someone who owns no project has no quiet one: the scan of every project is not needed.
    let stale = if owned.is_empty() {
        Vec::new()
    } else {
        stale_projects(db, (as_of, stale_days), (&Visible::All, None)).await?
    };
    agenda_among(db, (user, &owned), as_of, &stale).await
}

async fn owned_projects(db: &DatabaseConnection, user: i64) -> anyhow::Result<std::collections::HashSet<i64>> {
    use sea_orm::QuerySelect;
    Ok(project::Entity::find()
        .select_only()
        .column(project::Column::Id)
        .filter(project::Column::OwnerId.eq(user))
        .into_tuple::<i64>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// The agenda of `user` (with the projects they own), their quiet projects taken from `stale`, the quiet projects
/// of everyone.
async fn agenda_among(
    db: &DatabaseConnection,
    (user, owned): (i64, &std::collections::HashSet<i64>),
    as_of: NaiveDate,
    stale: &[StaleProject],
) -> anyhow::Result<Agenda> {
    Ok(Agenda {
        as_of,
        follow_ups: due_follow_ups(db, user, as_of).await?,
        blockers: due_blockers(db, user, as_of).await?,
        stale: stale.iter().filter(|p| owned.contains(&p.id)).cloned().collect(),
    })
}

fn env() -> anyhow::Result<minijinja::Environment<'static>> {
    let mut env = minijinja::Environment::new();
    env.add_template("reminders.html", include_str!("../../templates/reminders.html.j2"))?;
    env.add_template("reminders.txt", include_str!("../../templates/reminders.txt.j2"))?;
    Ok(env)
}

/// The digest for one person.
fn mail(
    env: &minijinja::Environment,
    (id, name, to): (i64, &str, &str),
    a: &Agenda,
    stale_days: i64,
) -> anyhow::Result<Mail> {
    let ctx = minijinja::context! { name, agenda => minijinja::value::Serde(a), stale_days };
    Ok(Mail {
        // One a person a day, however often the job runs.
        key: format!("reminders:{}:{id}", a.as_of),
        kind: "reminders".into(),
        to: to.into(),
        subject: format!("【招商提醒】{}待办事项", a.as_of.format("%Y年%-m月%-d日")),
        html: env.get_template("reminders.html")?.render(&ctx)?,
        text: env.get_template("reminders.txt")?.render(&ctx)?,
        attachments: Vec::new(),
    })
}

/// A person with reminders on: id, name, e-mail address, department, chat user id.
type Person = (i64, String, Option<String>, Option<i64>, Option<String>);

/// The lines of one person's agenda in a chat digest, each linking to its project where the UI's address is known.
fn chat_lines(doc: &mut crate::chat::Doc, a: &Agenda, web: Option<&str>) {
    let link = |id: i64| web.map(|w| format!("{}/projects/{id}", w.trim_end_matches('/')));
    for f in &a.follow_ups {
        let step = f.next_step.as_deref().unwrap_or("下一步计划");
        doc.item(
            format!("跟进 {}:{step}(计划 {})", f.project, f.next_date),
            link(f.project_id),
        );
    }
    for b in &a.blockers {
        let late = if b.overdue { ",已逾期" } else { "" };
        doc.item(
            format!("难题 {}:{}(时限 {}{late})", b.project, b.title, b.due_date),
            link(b.project_id),
        );
    }
    for p in &a.stale {
        let quiet = p
            .days_since_follow_up
            .map_or("从未跟进".into(), |d| format!("{d} 天未跟进"));
        doc.item(format!("久未跟进 {}:{quiet}", p.name), link(p.id));
    }
}

/// The day's digests in work chat: a department's to each group channel that carries it, each person's own
/// through an application that carries `reminders` to those who linked their chat user id.
async fn chat_messages(
    db: &DatabaseConnection,
    as_of: NaiveDate,
    agendas: &[(Person, Agenda)],
    web: Option<&str>,
) -> anyhow::Result<Vec<crate::chat::Message>> {
    use crate::chat::{self, Doc, Topic};
    let title = format!("【招商提醒】{}待办事项", as_of.format("%Y年%-m月%-d日"));
    let mut out = Vec::new();
    for c in chat::channels(db).await? {
        for t in chat::topics(&c) {
            match t {
                Topic::Reminders if c.kind.personal() => {
                    for ((id, _, _, _, chat_id), a) in agendas {
                        let Some(chat_id) = chat_id.clone().filter(|_| !a.is_empty()) else {
                            continue;
                        };
                        let mut doc = Doc::new(title.clone());
                        chat_lines(&mut doc, a, web);
                        out.push(chat::Message {
                            key: format!("reminders:{as_of}:{id}"),
                            kind: "reminders".into(),
                            channel: c.clone(),
                            to: vec![chat_id],
                            doc,
                        });
                    }
                }
                Topic::RemindersOf(dept) if !c.kind.personal() => {
                    let name: Option<String> = entity::department::Entity::find_by_id(dept)
                        .one(db)
                        .await?
                        .map(|d| d.name);
                    let mut doc = Doc::new(format!("{title}·{}", name.unwrap_or_default()));
                    for ((_, person, _, _, _), a) in agendas
                        .iter()
                        .filter(|((.., d, _), a)| *d == Some(dept) && !a.is_empty())
                    {
                        doc.heading(person.clone());
                        chat_lines(&mut doc, a, web);
                    }
                    if !doc.blocks.is_empty() {
                        out.push(chat::Message {
                            key: format!("reminders:{as_of}:dept{dept}"),
                            kind: "reminders".into(),
                            channel: c.clone(),
                            to: Vec::new(),
                            doc,
                        });
                    }
                }
                _ => {}
            }
        }
    }
    Ok(out)
}

/// The `reminders` job: queues the day's digest for every enabled person with reminders on, an e-mail address and
/// something due, and the digests of the work-chat channels that carry them; all or nothing.
pub async fn run(ctx: Ctx, stale_days: i64, web: Option<String>) -> anyhow::Result<()> {
    use sea_orm::QuerySelect;
    let people: Vec<Person> = user::Entity::find()
        .select_only()
        .columns([
            user::Column::Id,
            user::Column::DisplayName,
            user::Column::Email,
            user::Column::DepartmentId,
            user::Column::ChatUserId,
        ])
        .filter(user::Column::Disabled.eq(false))
        .filter(user::Column::Reminders.eq(true))
        .order_by_asc(user::Column::Id)
        .into_tuple()
        .all(&ctx.db)
        .await?;
    let env = env()?;
    // The quiet projects of the whole park, found once for everyone.
    let stale = stale_projects(&ctx.db, (ctx.as_of, stale_days), (&Visible::All, None)).await?;
    let mut agendas = Vec::new();
    for p in people {
        let owned = owned_projects(&ctx.db, p.0).await?;
        let a = agenda_among(&ctx.db, (p.0, &owned), ctx.as_of, &stale).await?;
        agendas.push((p, a));
    }
    let mut mails = Vec::new();
    for ((id, name, email, _, _), a) in &agendas {
        if let (Some(to), false) = (email, a.is_empty()) {
            mails.push(mail(&env, (*id, name, to), a, stale_days)?);
        }
    }
    let messages = chat_messages(&ctx.db, ctx.as_of, &agendas, web.as_deref()).await?;
    let txn = ctx.db.begin().await?;
    let added = outbox::enqueue(&txn, mails).await?;
    let chats = crate::chat::enqueue(&txn, messages).await?;
    txn.commit().await?;
    tracing::info!(added, chats, "reminders queued");
    Ok(())
}

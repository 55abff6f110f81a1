//! 消息推送 (admins): the work-chat channels — register a robot or an application, say what it carries, send a
//! test message, change or delete it. The same service operations as `/api/v1/channels`; the address and the
//! secret are written here and never shown again (a blank field keeps them).

use entity::enums::{ChannelKind, Label, Role};
use minijinja::{Value, context};
use poem::{
    Response, handler,
    web::{Data, Html, Path},
};
use sea_orm::{ActiveEnum, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};

use super::{Staff, WebState, answer, form, me, refresh, render, saved, val};
use crate::{
    edge::audit::WriteTx,
    service::{
        AppError, AppResult, Need, accounts,
        channels::{self as svc, ChannelName},
        departments,
        input::Patch,
    },
};

/// The channel form; `sends` repeats, one per ticked box.
#[derive(Deserialize, Serialize, Default)]
pub struct ChannelForm {
    name: Option<String>,
    kind: Option<String>,
    endpoint: Option<String>,
    secret: Option<String>,
    clear_secret: Option<String>,
    corp_id: Option<String>,
    agent_id: Option<String>,
    #[serde(default)]
    sends: Vec<String>,
    enabled: Option<String>,
    version: Option<i32>,
}

fn sealer(state: &WebState) -> AppResult<&jobs::chat::Sealer> {
    state
        .jobs
        .mail
        .sealer
        .as_ref()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no secret key")))
}

/// What a channel may carry, with the Chinese of each: the park's summary, each leader's, each department's digest,
/// each person's digest (applications), the alerts.
async fn choices(db: &impl ConnectionTrait) -> AppResult<Vec<Value>> {
    let mut out = vec![context! {
        value => "weekly", short => "招商周报", label => "招商周报(群:全园区;应用:发给订阅周报的每位领导本人)",
    }];
    let leaders = entity::user::Entity::find()
        .filter(entity::user::Column::Role.eq(Role::Leader))
        .filter(entity::user::Column::Disabled.eq(false))
        .order_by_asc(entity::user::Column::Id)
        .all(db)
        .await?;
    for l in leaders {
        out.push(
            context! { value => format!("weekly:{}", l.id), label => format!("{}的周报(群机器人)", l.display_name) },
        );
    }
    out.push(context! { value => "reminders", short => "每日提醒(本人)", label => "每日提醒(应用:发给每个人本人)" });
    for d in departments::list(db).await? {
        out.push(
            context! { value => format!("reminders:{}", d.id), label => format!("{}的每日提醒(群机器人)", d.name) },
        );
    }
    out.push(context! {
        value => "alerts", short => "管理员告警", label => "管理员告警(任务失败、备份失败、审计校验失败、账号锁定)",
    });
    Ok(out)
}

fn kinds() -> Vec<Value> {
    ChannelKind::labels()
        .into_iter()
        .map(|(value, label)| context! { value, label })
        .collect()
}

async fn dialog(db: &impl ConnectionTrait, staff: &Staff, id: Option<i64>, f: &ChannelForm) -> AppResult<Value> {
    Ok(context! {
        me => me(staff), id, f => val(f), kinds => kinds(), choices => choices(db).await?,
    })
}

/// The list.
#[handler]
pub async fn page(staff: Staff, state: Data<&WebState>) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Admin)?;
    // Each topic by its short name: the list shows tags, the dialog the full explanation.
    let short: std::collections::HashMap<String, String> = choices(&state.db)
        .await?
        .iter()
        .filter_map(|c| {
            Some((
                c.get_attr("value").ok()?.to_string(),
                c.get_attr("short").ok()?.to_string(),
            ))
        })
        .collect();
    let label_of = |s: &str| short.get(s).cloned().unwrap_or_else(|| s.to_owned());
    let rows: Vec<Value> = svc::list(&state.db, sealer(&state)?)
        .await?
        .into_iter()
        .map(|s| {
            let r = &s.row;
            context! {
                id => r.id, name => r.name.clone(), kind => r.kind.label(), endpoint => s.endpoint.clone(),
                has_secret => r.secret.is_some(), enabled => r.enabled, failures => r.failures_in_row,
                error => r.last_error.clone(), version => r.version,
                sends => s.sends.iter().map(|x| label_of(x)).collect::<Vec<_>>(),
            }
        })
        .collect();
    let mine = accounts::get_user(&state.db, staff.actor.user_id).await?.chat_user_id;
    render(
        "channels.html",
        context! { me => me(&staff), menu => "channels", rows, my_chat_id => mine },
    )
}

/// The dialog of a new channel.
#[handler]
pub async fn new_dialog(staff: Staff, state: Data<&WebState>) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Admin)?;
    let f = ChannelForm {
        enabled: Some("on".into()),
        kind: Some(ChannelKind::WecomRobot.to_value()),
        ..ChannelForm::default()
    };
    render("channel_form.html", dialog(&state.db, &staff, None, &f).await?)
}

/// The dialog of a channel's changes: the address and secret blank (kept unless typed again).
#[handler]
pub async fn edit_dialog(staff: Staff, state: Data<&WebState>, Path(id): Path<i64>) -> poem::Result<Html<String>> {
    staff.actor.require(Need::Admin)?;
    let s = svc::get(&state.db, sealer(&state)?, id).await?;
    let r = &s.row;
    let f = ChannelForm {
        name: Some(r.name.clone()),
        kind: Some(r.kind.to_value()),
        corp_id: r.corp_id.clone(),
        agent_id: r.agent_id.clone(),
        sends: s.sends.clone(),
        enabled: r.enabled.then(|| "on".into()),
        version: Some(r.version),
        ..ChannelForm::default()
    };
    let ctx = dialog(&state.db, &staff, Some(id), &f).await?;
    render(
        "channel_form.html",
        context! { shown => s.endpoint, has_secret => r.secret.is_some(), ..ctx },
    )
}

fn kind_of(f: &ChannelForm) -> AppResult<ChannelKind> {
    super::choice::<ChannelKind>("kind", &f.kind)?
        .ok_or_else(|| AppError::invalid("kind", "choose a kind", "请选择通道类型"))
}

/// Registers a channel; the page reloads.
#[handler]
pub async fn create(staff: Staff, state: Data<&WebState>, tx: WriteTx, body: String) -> poem::Result<Response> {
    staff.actor.require(Need::Admin)?;
    let f: ChannelForm = form::repeated(&body)?;
    let done = async {
        let n = svc::NewChannel {
            name: ChannelName::parse("name", form::opt(&f.name).unwrap_or_default())?,
            kind: kind_of(&f)?,
            endpoint: form::opt(&f.endpoint).unwrap_or_default().to_owned(),
            secret: form::opt(&f.secret).map(str::to_owned),
            corp_id: f.corp_id.clone(),
            agent_id: f.agent_id.clone(),
            sends: f.sends.clone(),
            enabled: f.enabled.is_some(),
        };
        svc::create(tx.get().await?, sealer(&state)?, n).await
    }
    .await;
    answer(
        done,
        |_| saved(refresh(), "通道已添加"),
        "channel_form.html",
        async || dialog(tx.get().await?, &staff, None, &f).await,
    )
    .await
}

/// Saves a channel's changes; the page reloads.
#[handler]
pub async fn update(
    staff: Staff,
    state: Data<&WebState>,
    tx: WriteTx,
    Path(id): Path<i64>,
    body: String,
) -> poem::Result<Response> {
    staff.actor.require(Need::Admin)?;
    let f: ChannelForm = form::repeated(&body)?;
    let patch = |v: &Option<String>| form::opt(v).map_or(Patch::Clear, |s| Patch::Set(s.to_owned()));
    let done = async {
        let c = svc::ChannelChanges {
            version: f.version.unwrap_or_default(),
            name: Some(ChannelName::parse("name", form::opt(&f.name).unwrap_or_default())?),
            endpoint: form::opt(&f.endpoint).map(str::to_owned),
            secret: match (form::opt(&f.secret), f.clear_secret.is_some()) {
                (Some(s), _) => Patch::Set(s.to_owned()),
                (None, true) => Patch::Clear,
                (None, false) => Patch::Keep,
            },
            corp_id: patch(&f.corp_id),
            agent_id: patch(&f.agent_id),
            sends: Some(f.sends.clone()),
            enabled: Some(f.enabled.is_some()),
        };
        svc::update(tx.get().await?, sealer(&state)?, id, c).await
    }
    .await;
    answer(
        done,
        |_| saved(refresh(), "通道已保存"),
        "channel_form.html",
        async || dialog(tx.get().await?, &staff, Some(id), &f).await,
    )
    .await
}

/// The version a deletion was decided on.
#[derive(Deserialize)]
pub struct VersionForm {
    version: i32,
}

/// Deletes a channel; the page reloads.
#[handler]
pub async fn delete(
    staff: Staff,
    tx: WriteTx,
    Path(id): Path<i64>,
    poem::web::Form(f): poem::web::Form<VersionForm>,
) -> poem::Result<Response> {
    staff.actor.require(Need::Admin)?;
    svc::delete(tx.get().await?, id, f.version).await?;
    Ok(saved(refresh(), "通道已删除"))
}

/// Sends a test message now; a toast says how it went (the platform's refusal in its words).
#[handler]
pub async fn test(staff: Staff, state: Data<&WebState>, Path(id): Path<i64>) -> poem::Result<Response> {
    staff.actor.require(Need::Admin)?;
    let mine = accounts::get_user(&state.db, staff.actor.user_id).await?.chat_user_id;
    Ok(match svc::test(&state.db, sealer(&state)?, id, mine).await {
        Ok(()) => saved(Response::builder().finish(), "测试消息已发出,请在群或应用中查看"),
        Err(e) => saved(
            Response::builder().finish(),
            &e.body(crate::edge::error::Lang::Zh).message,
        ),
    })
}

//! Stage histories in the database, shared by projects and incubation candidates: one pipeline engine
//! (entity::pipeline), two stage sets, and this one piece of glue that loads histories and records moves.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use entity::{
    enums::Label,
    pipeline::{self, Event, MoveError, Stage},
};
use sea_orm::{
    ActiveEnum, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, TransactionSession,
    sea_query::{Alias, Expr, ExprTrait},
};

use super::{
    Actor, AppError, AppResult, Code, Db, Kind, Msg, Need, audit, current_version,
    input::{self, Day, Note, opt_string},
};

/// A kind of record with a stage history.
pub trait Tracked {
    /// Its stage set.
    type Stage: Stage + Label + Into<sea_orm::Value> + Send + Sync;
    /// The record (it has `id`, `stage`, `version` and `updated_at` columns).
    type Owner: EntityTrait;
    /// Its events (they have the owner column, `occurred_on` and `id`).
    type Event: EntityTrait<Model: IntoActiveModel<<Self::Event as EntityTrait>::ActiveModel>>;
    /// The kind of record, for messages.
    const WHAT: Kind;
    /// The events' column naming the owner.
    const OWNER_COLUMN: &'static str;

    /// A new event row.
    fn new_event(
        owner: i64,
        step: &Step<Self::Stage>,
        from: Option<Self::Stage>,
    ) -> <Self::Event as EntityTrait>::ActiveModel;

    /// The owner and the pipeline event of a stored row.
    fn event_of(row: &<Self::Event as EntityTrait>::Model) -> (i64, Event<Self::Stage>);

    /// Brings what is stored from an owner's history (a project's reach dates) in step with its whole history after a
    /// move, inside the caller's transaction (a new owner's row is written with it). Nothing is stored by default.
    fn keep(
        db: &impl ConnectionTrait,
        owner: i64,
        history: &[Event<Self::Stage>],
    ) -> impl Future<Output = AppResult<()>> + Send {
        let _ = (db, owner, history);
        async { Ok(()) }
    }
}

/// Declares a kind of record with a stage history: its stage set, its owner and event entities, the event column
/// naming the owner, its names in messages, and optionally what keeps the data stored from a history
/// ([`Tracked::keep`]). Projects and incubation candidates are the two.
#[macro_export]
macro_rules! tracked {
    (
        $(#[$doc:meta])* $name:ident: $stage:ty, $owner:ident, $event:ident . $column:ident, $what:ident
        $(, keep = $keep:path)?
    ) => {
        $(#[$doc])*
        pub struct $name;

        impl $crate::service::history::Tracked for $name {
            type Stage = $stage;
            type Owner = $owner::Entity;
            type Event = $event::Entity;
            const WHAT: $crate::service::Kind = $crate::service::Kind::$what;
            const OWNER_COLUMN: &'static str = stringify!($column);

            fn new_event(
                owner: i64,
                step: &$crate::service::history::Step<$stage>,
                from: Option<$stage>,
            ) -> $event::ActiveModel {
                use sea_orm::ActiveValue::Set;
                $event::ActiveModel {
                    $column: Set(owner),
                    stage: Set(step.stage),
                    from_stage: Set(from),
                    occurred_on: Set(step.occurred_on),
                    note: Set(step.note.clone()),
                    reason: Set(step.reason.clone()),
                    recorded_by: Set(step.recorded_by.clone()),
                    created_at: Set(chrono::Utc::now()),
                    ..Default::default()
                }
            }

            fn event_of(row: &$event::Model) -> (i64, entity::pipeline::Event<$stage>) {
                let e = entity::pipeline::Event {
                    stage: row.stage,
                    occurred_on: row.occurred_on,
                };
                (row.$column, e)
            }

            $(
                fn keep(
                    db: &impl sea_orm::ConnectionTrait,
                    owner: i64,
                    history: &[entity::pipeline::Event<$stage>],
                ) -> impl std::future::Future<Output = $crate::service::AppResult<()>> + Send {
                    $keep(db, owner, history)
                }
            )?
        }
    };
}

/// A record's stage history as the pipeline engine sees it, oldest first.
#[derive(Debug, Clone)]
pub struct History<S>(pub Vec<Event<S>>);

impl<S> Default for History<S> {
    fn default() -> Self {
        History(Vec::new())
    }
}

impl<S: Stage> History<S> {
    /// The current stage: that of the latest event (`stored` for a record without events).
    pub fn current(&self, stored: S) -> S {
        pipeline::current(&self.0).unwrap_or(stored)
    }

    /// When off to the side (dropped, failed): the stage it left from.
    pub fn off_from(&self) -> Option<S> {
        pipeline::off_from(&self.0)
    }

    /// The reach date of every stage reached (docs/DEFINITIONS.md).
    pub fn reach_dates(&self) -> Vec<(S, NaiveDate)> {
        pipeline::reach_dates(&self.0, None).into_iter().collect()
    }

    /// The number of events.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no event.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A validated stage move to record.
pub struct Step<S> {
    /// The stage moved to.
    pub stage: S,
    /// Its date.
    pub occurred_on: NaiveDate,
    /// Note.
    pub note: Option<String>,
    /// Reason (backward moves and moves off to the side).
    pub reason: Option<String>,
    /// Who records it.
    pub recorded_by: Option<String>,
}

/// The stored events of the given owners, each owner's in recording order.
pub async fn rows<T: Tracked>(
    db: &impl ConnectionTrait,
    owners: Vec<i64>,
) -> AppResult<Vec<<T::Event as EntityTrait>::Model>> {
    Ok(T::Event::find()
        .filter(Expr::col(Alias::new(T::OWNER_COLUMN)).is_in(owners))
        .order_by_asc(Expr::col(Alias::new(T::OWNER_COLUMN)))
        .order_by_asc(Expr::col(Alias::new("occurred_on")))
        .order_by_asc(Expr::col(Alias::new("id")))
        .all(db)
        .await?)
}

/// The histories of the given owners, as pipeline events.
pub async fn histories<T: Tracked>(
    db: &impl ConnectionTrait,
    owners: Vec<i64>,
) -> AppResult<HashMap<i64, History<T::Stage>>> {
    let mut out: HashMap<i64, History<T::Stage>> = HashMap::new();
    for row in rows::<T>(db, owners).await? {
        let (owner, e) = T::event_of(&row);
        out.entry(owner).or_default().0.push(e);
    }
    Ok(out)
}

/// Checks that a history may start at `stage` (not off to the side).
pub fn check_start<T: Tracked>(stage: T::Stage, occurred_on: NaiveDate) -> AppResult<()> {
    pipeline::check_move(&[], stage, occurred_on, false, false)
        .map(|_| ())
        .map_err(move_error::<T>)
}

/// Records the first event of a new owner, inside the caller's transaction.
pub async fn start<T: Tracked>(db: &impl ConnectionTrait, owner: i64, step: &Step<T::Stage>) -> AppResult<()> {
    T::Event::insert(T::new_event(owner, step, None)).exec(db).await?;
    Ok(())
}

/// Records a stage move in one transaction: checks it against the history and the rules of docs/DEFINITIONS.md, appends the
/// event, and moves the owner's cached stage and version. `version`, when given, must be the owner's current one.
pub async fn record<T: Tracked>(
    db: &impl Db,
    owner: i64,
    step: Step<T::Stage>,
    version: Option<i32>,
    may_move_back: bool,
) -> AppResult<<T::Event as EntityTrait>::Model> {
    let txn = crate::service::begin(db).await?;
    let Some(stored) = current_version::<T::Owner>(&txn, owner).await? else {
        return Err(AppError::not_found(T::WHAT));
    };
    if let Some(sent) = version {
        input::version(stored, sent)?;
    }
    let mut history = histories::<T>(&txn, vec![owner])
        .await?
        .remove(&owner)
        .unwrap_or_default()
        .0;
    pipeline::check_move(
        &history,
        step.stage,
        step.occurred_on,
        step.reason.is_some(),
        may_move_back,
    )
    .map_err(move_error::<T>)?;
    let row = T::Event::insert(T::new_event(owner, &step, pipeline::current(&history)))
        .exec_with_returning(&txn)
        .await?;
    let res = T::Owner::update_many()
        .col_expr(Alias::new("stage"), Expr::value(step.stage))
        .col_expr(Alias::new("version"), Expr::value(stored + 1))
        .col_expr(Alias::new("updated_at"), Expr::value(Utc::now()))
        .filter(Expr::col(Alias::new("id")).eq(owner))
        .filter(Expr::col(Alias::new("version")).eq(stored))
        .exec(&txn)
        .await?;
    if res.rows_affected == 0 {
        // Another move or edit committed since we read the version: ours goes with the transaction.
        drop(txn);
        let now = current_version::<T::Owner>(db, owner).await?;
        return Err(now.map_or(AppError::not_found(T::WHAT), AppError::stale));
    }
    let was = pipeline::current(&history);
    history.extend(events(std::slice::from_ref(&step)));
    T::keep(&txn, owner, &history).await?;
    audit::moved(
        &txn,
        T::WHAT,
        owner,
        was.map(Into::into),
        step.stage.into(),
        &row,
        &step,
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}

/// The 422 (or 403) answer for a move that breaks the rules.
fn move_error<T: Tracked>(e: MoveError<T::Stage>) -> AppError {
    let (what, zh) = (T::WHAT.en(), T::WHAT.zh());
    match e {
        MoveError::Unchanged(s) => AppError::rule(
            Code::StageUnchanged,
            Some("stage"),
            Msg::new(
                format!("the {what} is already at stage {}", s.to_value()),
                format!("该{zh}已处于“{}”阶段", s.label()),
            ),
        ),
        MoveError::BeforeLatest(d) => AppError::rule(
            Code::EventBeforeLatest,
            Some("occurred_on"),
            Msg::new(
                format!("the history is chronological: the {what}'s latest event is dated {d}"),
                format!("阶段记录须按时间顺序:该{zh}最近一条记录的日期为 {d}"),
            ),
        ),
        MoveError::ReasonRequired(kind) => AppError::rule(
            Code::ReasonRequired,
            Some("reason"),
            if kind.is_backward() {
                Msg::new(
                    format!("moving a {what} backward needs a reason"),
                    format!("{zh}阶段回退须填写原因"),
                )
            } else {
                Msg::new(
                    format!("moving a {what} to {} needs a reason", T::Stage::OFF.to_value()),
                    format!("{zh}转为“{}”须填写原因", T::Stage::OFF.label()),
                )
            },
        ),
        MoveError::BackwardNotAllowed => AppError::Forbidden {
            code: Code::BackwardMoveForbidden,
            msg: Msg::new(
                format!("only a leader or an admin may move a {what} backward"),
                format!("只有领导或管理员可以回退{zh}阶段"),
            ),
        },
        MoveError::StartsOff => AppError::rule(
            Code::IllegalInitialStage,
            Some("stage"),
            Msg::new(
                format!("a {what} cannot start as {}", T::Stage::OFF.to_value()),
                format!("{zh}不能以“{}”阶段创建", T::Stage::OFF.label()),
            ),
        ),
    }
}

/// A stage move as a front door asks for it.
pub struct StageMove<S> {
    /// The stage moved to.
    pub stage: S,
    /// Its date.
    pub occurred_on: Day,
    /// Note.
    pub note: Option<Note>,
    /// Reason: required to move backward or off to the side.
    pub reason: Option<Note>,
    /// The owner's version the move was decided on; a stale one is refused.
    pub version: Option<i32>,
}

impl<S> StageMove<S> {
    /// The move as the actor records it.
    pub fn step(self, actor: &Actor) -> Step<S> {
        Step {
            stage: self.stage,
            occurred_on: self.occurred_on.date(),
            note: opt_string(self.note),
            reason: opt_string(self.reason),
            recorded_by: Some(actor.username.clone()),
        }
    }
}

/// Records a stage move by the actor; moving backward needs a leader or an admin.
pub async fn move_by<T: Tracked>(
    db: &impl Db,
    actor: &Actor,
    owner: i64,
    m: StageMove<T::Stage>,
) -> AppResult<<T::Event as EntityTrait>::Model> {
    let version = m.version;
    record::<T>(db, owner, m.step(actor), version, actor.can(Need::Lead)).await
}

/// Checks a whole history given at once (a batch), as [`record`] checks it one move at a time; answers the stage it
/// ends at.
pub fn check_history<T: Tracked>(steps: &[Step<T::Stage>], may_move_back: bool) -> AppResult<T::Stage> {
    let history = events(steps);
    for (i, s) in steps.iter().enumerate() {
        pipeline::check_move(&history[..i], s.stage, s.occurred_on, s.reason.is_some(), may_move_back)
            .map_err(move_error::<T>)?;
    }
    pipeline::current(&history).ok_or_else(|| move_error::<T>(MoveError::StartsOff))
}

/// A history given as steps, as the pipeline engine sees it.
pub fn events<S: Copy>(steps: &[Step<S>]) -> Vec<Event<S>> {
    steps
        .iter()
        .map(|s| Event {
            stage: s.stage,
            occurred_on: s.occurred_on,
        })
        .collect()
}

/// The event rows of a history checked by [`check_history`], each with the stage before it.
pub fn event_rows<T: Tracked>(owner: i64, steps: &[Step<T::Stage>]) -> Vec<<T::Event as EntityTrait>::ActiveModel> {
    let mut from = None;
    steps
        .iter()
        .map(|s| {
            let row = T::new_event(owner, s, from);
            from = Some(s.stage);
            row
        })
        .collect()
}

/// The stored history of one owner, oldest first; `NotFound` when the owner does not exist.
pub async fn of<T: Tracked>(db: &impl ConnectionTrait, owner: i64) -> AppResult<Vec<<T::Event as EntityTrait>::Model>>
where
    <T::Owner as EntityTrait>::PrimaryKey: sea_orm::PrimaryKeyTrait<ValueType = i64>,
{
    super::find::<T::Owner, _>(db, owner, T::WHAT).await?;
    rows::<T>(db, vec![owner]).await
}

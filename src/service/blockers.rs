//! 难题/问题台账: blockers under a project, who owns them, when they are due, and how they were resolved. A resolved
//! blocker has its resolution and date; resolving needs a leader or an admin; reopening clears the resolution.

use chrono::{NaiveDate, Utc};
use entity::{
    blocker,
    enums::{BlockerCategory, BlockerStatus},
    project,
};
use sea_orm::{ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};

use super::{
    Actor, AppError, AppResult, Code, Dir, Kind, Msg, Need, Order, Page, Paging, delete_versioned, find,
    input::{Day, Name, Patch, Short, opt_string, set_some, today},
    insert_one, names,
    projects::Unit,
    update_versioned,
    visits::Summary,
};

/// A blocker with its project's name and whether it is overdue today.
pub struct BlockerView {
    /// The stored record.
    pub blocker: blocker::Model,
    /// The project's name.
    pub project_name: String,
    /// Not resolved and past its due date (today in Asia/Shanghai).
    pub overdue: bool,
}

/// A new blocker.
#[derive(Clone)]
pub struct NewBlocker {
    /// What the problem is.
    pub title: Name,
    /// Category.
    pub category: BlockerCategory,
    /// Responsible unit.
    pub owner_unit: Option<Unit>,
    /// Assigned leader.
    pub assigned_leader: Option<Short>,
    /// Date raised; defaults to today.
    pub opened_on: Option<NaiveDate>,
    /// Due date.
    pub due_date: Option<NaiveDate>,
    /// Status; defaults to open.
    pub status: Option<BlockerStatus>,
    /// Resolution.
    pub resolution: Option<Summary>,
    /// Resolution date.
    pub resolved_on: Option<NaiveDate>,
}

/// Changes to a blocker, including its status.
pub struct BlockerChanges {
    /// The version the changes were made against.
    pub version: i32,
    /// What the problem is.
    pub title: Option<Name>,
    /// Category.
    pub category: Option<BlockerCategory>,
    /// Responsible unit.
    pub owner_unit: Patch<Unit>,
    /// Assigned leader.
    pub assigned_leader: Patch<Short>,
    /// Date raised.
    pub opened_on: Option<NaiveDate>,
    /// Due date.
    pub due_date: Patch<NaiveDate>,
    /// Status.
    pub status: Option<BlockerStatus>,
    /// Resolution.
    pub resolution: Patch<Summary>,
    /// Resolution date.
    pub resolved_on: Patch<NaiveDate>,
}

/// Which blockers to list.
#[derive(Default)]
pub struct BlockerFilter {
    /// What the caller sees (数据权限).
    pub visible: super::scope::Visible,
    /// Status.
    pub status: Option<BlockerStatus>,
    /// Category.
    pub category: Option<BlockerCategory>,
    /// Assigned leader, exactly.
    pub assigned_leader: Option<String>,
    /// Overdue ones only (true) or those not overdue (false).
    pub overdue: Option<bool>,
    /// Of this project.
    pub project_id: Option<i64>,
    /// Raised on or after this day.
    pub opened_from: Option<NaiveDate>,
    /// Raised on or before this day.
    pub opened_to: Option<NaiveDate>,
}

const WHAT: Kind = Kind::Blocker;

/// The dates, status and resolution a blocker ends up with, checked together.
struct Outcome {
    opened_on: NaiveDate,
    due_date: Option<NaiveDate>,
    status: BlockerStatus,
    resolution: Option<String>,
    resolved_on: Option<NaiveDate>,
}

impl Outcome {
    fn check(mut self) -> AppResult<Outcome> {
        Day::parse("opened_on", self.opened_on)?;
        Day::parse_opt("due_date", self.due_date)?;
        if self.due_date.is_some_and(|d| d < self.opened_on) {
            return Err(AppError::invalid(
                "due_date",
                "due_date must not be before opened_on",
                "截止日期不能早于提出日期",
            ));
        }
        if self.status != BlockerStatus::Resolved {
            self.resolution = None;
            self.resolved_on = None;
            return Ok(self);
        }
        if self.resolution.is_none() {
            return Err(AppError::rule(
                Code::ResolutionRequired,
                Some("resolution"),
                Msg::new("a resolved blocker needs its resolution", "问题办结须填写解决情况"),
            ));
        }
        let Some(on) = self.resolved_on else {
            return Err(AppError::rule(
                Code::ResolutionRequired,
                Some("resolved_on"),
                Msg::new("a resolved blocker needs its resolution date", "问题办结须填写办结日期"),
            ));
        };
        Day::parse("resolved_on", on)?;
        if on < self.opened_on {
            return Err(AppError::invalid(
                "resolved_on",
                "resolved_on must not be before opened_on",
                "办结日期不能早于提出日期",
            ));
        }
        Ok(self)
    }

    fn set(self, m: &mut blocker::ActiveModel) {
        m.opened_on = Set(self.opened_on);
        m.due_date = Set(self.due_date);
        m.status = Set(self.status);
        m.resolution = Set(self.resolution);
        m.resolved_on = Set(self.resolved_on);
    }
}

/// Whether a blocker is not resolved and past its due date on `today`.
pub fn is_overdue(b: &blocker::Model, today: NaiveDate) -> bool {
    b.status != BlockerStatus::Resolved && b.due_date.is_some_and(|d| d < today)
}

/// Blockers with their projects' names, in one query.
pub async fn views(db: &impl ConnectionTrait, rows: Vec<blocker::Model>) -> AppResult<Vec<BlockerView>> {
    let names = names::<project::Entity>(db, rows.iter().map(|b| b.project_id)).await?;
    let today = today();
    Ok(rows
        .into_iter()
        .map(|b| BlockerView {
            overdue: is_overdue(&b, today),
            project_name: names.get(&b.project_id).cloned().unwrap_or_default(),
            blocker: b,
        })
        .collect())
}

async fn view(db: &impl ConnectionTrait, b: blocker::Model) -> AppResult<BlockerView> {
    Ok(views(db, vec![b]).await?.pop().expect("one in, one out"))
}

/// Records a blocker on a project; recording it as resolved needs a leader or an admin.
pub async fn create(
    db: &impl ConnectionTrait,
    actor: &Actor,
    project_id: i64,
    n: NewBlocker,
) -> AppResult<BlockerView> {
    let mut m = row(actor, project_id, n)?;
    let p = find::<project::Entity, _>(db, project_id, Kind::Project).await?;
    // Recorded by the system (the demo park), a blocker is its project owner's.
    if m.owner_id.as_ref().is_none() {
        m.owner_id = Set(p.owner_id);
    }
    view(db, insert_one(db, Kind::Blocker, m).await?).await
}

/// Records many blockers, each on its project, inside the caller's transaction; answers how many.
pub async fn create_many(db: &impl ConnectionTrait, actor: &Actor, list: Vec<(i64, NewBlocker)>) -> AppResult<usize> {
    let projects: Vec<i64> = list.iter().map(|(p, _)| *p).collect();
    super::visits::known_projects(db, "project_id", &projects).await?;
    let rows = list
        .into_iter()
        .map(|(project, n)| row(actor, project, n))
        .collect::<AppResult<Vec<_>>>()?;
    Ok(super::insert_all(db, rows, 2000).await?.len())
}

/// Checks a blocker as it would be recorded (dates, status and resolution together; a resolved one needs a leader
/// or an admin unless it was resolved already), writing nothing: how a batch reports a bad row before it writes.
pub fn check(actor: &Actor, n: &NewBlocker, resolved_before: bool) -> AppResult<()> {
    let o = Outcome {
        opened_on: n.opened_on.unwrap_or_else(today),
        due_date: n.due_date,
        status: n.status.unwrap_or(BlockerStatus::Open),
        resolution: n.resolution.clone().map(String::from),
        resolved_on: n.resolved_on,
    }
    .check()?;
    if o.status == BlockerStatus::Resolved && !resolved_before {
        actor.require(Need::Lead)?;
    }
    Ok(())
}

/// The row of a new blocker, its dates, status and resolution checked together.
fn row(actor: &Actor, project_id: i64, n: NewBlocker) -> AppResult<blocker::ActiveModel> {
    let o = Outcome {
        opened_on: n.opened_on.unwrap_or_else(today),
        due_date: n.due_date,
        status: n.status.unwrap_or(BlockerStatus::Open),
        resolution: opt_string(n.resolution),
        resolved_on: n.resolved_on,
    }
    .check()?;
    if o.status == BlockerStatus::Resolved {
        actor.require(Need::Lead)?;
    }
    let now = Utc::now();
    let mut m = blocker::ActiveModel {
        project_id: Set(project_id),
        title: Set(n.title.into()),
        category: Set(n.category),
        owner_unit: Set(opt_string(n.owner_unit)),
        assigned_leader: Set(opt_string(n.assigned_leader)),
        owner_id: Set(super::people::owner_or_actor(None, actor)),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    o.set(&mut m);
    Ok(m)
}

/// A page of blockers, newest first.
pub async fn list(db: &impl ConnectionTrait, f: BlockerFilter, paging: Paging) -> AppResult<Page<BlockerView>> {
    let total = match paging.counts() {
        true => kept_total(db, &f).await?,
        false => None,
    };
    let paging = if total.is_some() { paging.uncounted() } else { paging };
    let order = Order(&[(blocker::Column::OpenedOn, Dir::Desc), (blocker::Column::Id, Dir::Desc)]);
    let mut page = paging
        .fetch(db, select(f), order, async |rows| views(db, rows).await)
        .await?;
    page.total = total.or(page.total);
    Ok(page)
}

/// How many blockers the filter matches, from the counts the database keeps per category and day raised
/// (`blocker_days`), when those tell: of every project, by category and days raised only (none otherwise: the
/// blockers themselves are counted).
async fn kept_total(db: &impl ConnectionTrait, f: &BlockerFilter) -> AppResult<Option<u64>> {
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query};
    let others = f.status.is_some() || f.assigned_leader.is_some() || f.overdue.is_some() || f.project_id.is_some();
    if others || !f.visible.is_all() {
        return Ok(None);
    }
    let col = |c: &str| Expr::col(Alias::new(c));
    let mut q = Query::select();
    q.expr(Func::cast_as(Func::sum(col("opened")), Alias::new("BIGINT")))
        .from(Alias::new("blocker_days"));
    if let Some(c) = f.category {
        q.and_where(col("category").eq(sea_orm::ActiveEnum::to_value(&c)));
    }
    if let Some(d) = f.opened_from {
        q.and_where(col("day").gte(d));
    }
    if let Some(d) = f.opened_to {
        q.and_where(col("day").lte(d));
    }
    let row = db.query_one_raw(db.get_database_backend().build(&q)).await?;
    let n = match row {
        Some(row) => row.try_get_by_index::<Option<i64>>(0)?.unwrap_or(0),
        None => 0,
    };
    Ok(Some(u64::try_from(n).unwrap_or(0)))
}

/// The next `limit` blockers the filter keeps after the id `after`, in id order.
pub async fn after(db: &impl ConnectionTrait, f: BlockerFilter, after: i64, limit: u64) -> AppResult<Vec<BlockerView>> {
    views(db, super::after(db, select(f), after, limit).await?).await
}

/// The blockers the filter keeps.
fn select(f: BlockerFilter) -> sea_orm::Select<blocker::Entity> {
    let mut s = blocker::Entity::find();
    if let Some(c) = f.visible.via_project(blocker::Column::ProjectId) {
        s = s.filter(c);
    }
    if let Some(d) = f.opened_from {
        s = s.filter(blocker::Column::OpenedOn.gte(d));
    }
    if let Some(d) = f.opened_to {
        s = s.filter(blocker::Column::OpenedOn.lte(d));
    }
    if let Some(v) = f.status {
        s = s.filter(blocker::Column::Status.eq(v));
    }
    if let Some(v) = f.category {
        s = s.filter(blocker::Column::Category.eq(v));
    }
    if let Some(v) = f.assigned_leader {
        s = s.filter(blocker::Column::AssignedLeader.eq(v));
    }
    if let Some(v) = f.project_id {
        s = s.filter(blocker::Column::ProjectId.eq(v));
    }
    if let Some(v) = f.overdue {
        // Spelled out with IS NOT NULL so that NOT(...) keeps the blockers without a due date.
        let due = Condition::all()
            .add(blocker::Column::Status.ne(BlockerStatus::Resolved))
            .add(blocker::Column::DueDate.is_not_null())
            .add(blocker::Column::DueDate.lt(today()));
        s = s.filter(if v { due } else { due.not() });
    }
    s
}

/// A page of the blockers of a project, newest first.
pub async fn list_for_project(
    db: &impl ConnectionTrait,
    project_id: i64,
    paging: Paging,
) -> AppResult<Page<BlockerView>> {
    find::<project::Entity, _>(db, project_id, Kind::Project).await?;
    let f = BlockerFilter {
        project_id: Some(project_id),
        ..Default::default()
    };
    list(db, f, paging).await
}

/// A blocker by id.
pub async fn get(db: &impl ConnectionTrait, id: i64) -> AppResult<BlockerView> {
    view(db, find::<blocker::Entity, _>(db, id, WHAT).await?).await
}

/// Changes a blocker; resolving it needs a leader or an admin.
pub async fn update(db: &impl ConnectionTrait, actor: &Actor, id: i64, c: BlockerChanges) -> AppResult<BlockerView> {
    let old = find::<blocker::Entity, _>(db, id, WHAT).await?;
    let o = Outcome {
        opened_on: c.opened_on.unwrap_or(old.opened_on),
        due_date: c.due_date.after(old.due_date),
        status: c.status.unwrap_or(old.status),
        resolution: c.resolution.into_change().map_or(old.resolution, opt_string),
        resolved_on: c.resolved_on.after(old.resolved_on),
    }
    .check()?;
    if o.status == BlockerStatus::Resolved && old.status != BlockerStatus::Resolved {
        actor.require(Need::Lead)?;
    }
    let mut m = blocker::ActiveModel::default();
    o.set(&mut m);
    set_some(&mut m.title, c.title);
    set_some(&mut m.category, c.category);
    c.owner_unit.apply(&mut m.owner_unit);
    c.assigned_leader.apply(&mut m.assigned_leader);
    view(
        db,
        update_versioned::<blocker::Entity, _>(db, id, WHAT, c.version, m).await?,
    )
    .await
}

/// Deletes a blocker.
pub async fn delete(db: &impl ConnectionTrait, id: i64, version: i32) -> AppResult<()> {
    delete_versioned::<blocker::Entity, _>(db, id, WHAT, version).await
}

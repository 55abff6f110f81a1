//! Loading what the analytics read, column by column, streamed from the database.

use chrono::NaiveDate;
use entity::{
    enums::{IncubationStage, ProjectStage, TargetMetric},
    incubation_candidate, incubation_event,
    pipeline::Stage,
    project, stage_event, user,
    visible::Visible,
};
use futures_util::TryStreamExt;
use sea_orm::{
    ActiveEnum, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, JoinType, QueryFilter,
    QuerySelect, QueryTrait, StreamTrait,
    sea_query::{self, Alias, Expr},
};

use crate::period::Period;

mod ledger;

use ledger::{load_blockers, load_ledger};

pub(super) fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid")
}

/// Days since 1970-01-01: how dates travel through the frames.
pub(super) fn day(d: NaiveDate) -> i32 {
    (d - epoch()).num_days() as i32
}

/// The raw columns read from the database.
#[derive(Default)]
pub struct Raw {
    pub(super) as_of: Option<NaiveDate>,
    /// The (project, day) of every event of the main line up to the as-of date (KPIs only).
    pub(super) project_moves: (Vec<i64>, Vec<i32>),
    /// The (project, day) of every 终止 event up to the as-of date.
    pub(super) project_drops: (Vec<i64>, Vec<i32>),
    pub(super) projects: ProjectColumns,
    pub(super) incubation_events: Events,
    pub(super) candidates: (Vec<i64>, Vec<i32>),
    /// Visits per day: the day, the batches (visits) and the person-times (their headcounts).
    pub(super) visits: (Vec<i32>, Vec<i64>, Vec<i64>),
    pub(super) outreach: (Vec<i32>, Vec<String>),
    pub(super) funds: FundColumns,
    /// Support funds: approval day and amount (yuan).
    pub(super) support: (Vec<i32>, Vec<i64>),
    /// The day each above-size (规上) company became one.
    pub(super) above_size: Vec<i32>,
    pub(super) blockers: BlockerColumns,
    pub(super) targets: Vec<(i32, TargetMetric, i64)>,
    /// What the database counted of the projects and blockers, when they were not read ([`load_kpis`]).
    pub(super) figures: Option<super::DbFigures>,
}

/// Fund arrivals: day, amount in yuan, the yuan of 内资 (0 for foreign capital) and the US cents of foreign capital
/// (外资 and 港澳台资; 0 for 内资).
#[derive(Default)]
pub(super) struct FundColumns {
    pub(super) day: Vec<i32>,
    pub(super) amount: Vec<i64>,
    pub(super) domestic: Vec<i64>,
    pub(super) usd: Vec<i64>,
}

#[derive(Default)]
pub(super) struct Events {
    pub(super) owner: Vec<i64>,
    pub(super) rank: Vec<i32>,
    pub(super) day: Vec<i32>,
}

/// The projects reached by the as-of date, with their attributes and reach days.
#[derive(Default)]
pub(super) struct ProjectColumns {
    pub(super) id: Vec<i64>,
    /// The reach day of each stage of the main line by the as-of date (none where not reached by then).
    pub(super) reach: [Vec<Option<i32>>; 6],
    pub(super) industry: Vec<Option<String>>,
    pub(super) source: Vec<String>,
    pub(super) leader: Vec<Option<String>>,
    pub(super) province: Vec<Option<String>>,
    pub(super) agreed: Vec<Option<i64>>,
    pub(super) major: Vec<bool>,
}

impl ProjectColumns {
    /// Adds a project's reach days as of `as_of` when it had reached its first stage by then (else nothing, and
    /// false). Dates are compared here rather than in the query: a range over nearly every row would lead SQLite's
    /// planner to an index and a table look-up per row, where a plain scan is several times faster.
    fn reached_by(&mut self, as_of: NaiveDate, reached: [Option<NaiveDate>; 6]) -> bool {
        if reached[0].is_none_or(|d| d > as_of) {
            return false;
        }
        for (column, on) in self.reach.iter_mut().zip(reached) {
            column.push(on.filter(|d| *d <= as_of).map(day));
        }
        true
    }
}

#[derive(Default)]
pub(super) struct BlockerColumns {
    pub(super) category: Vec<String>,
    pub(super) opened: Vec<i32>,
    pub(super) due: Vec<Option<i32>>,
    pub(super) resolved: Vec<Option<i32>>,
}

/// What to read: funnels need the stage histories; KPIs need everything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Project stage history and attributes.
    Projects,
    /// Incubation stage history.
    Incubation,
    /// The KPIs and the flow funnels (no breakdown) of periods that start on this day or later: the projects'
    /// attributes no breakdown reads, and the visits, outreach and money dated before it, are left out.
    Kpis(NaiveDate),
    /// Everything (the nightly job's breakdowns and KPIs of any period).
    All,
    /// The ledgers, as [`Scope::Kpis`] reads them; no project, incubation candidate or blocker ([`load_kpis`]).
    Ledger(NaiveDate),
}

/// The (owner, rank, day) of every stage event of `E` up to `as_of` whose owner is `within`; events off to the side
/// have no rank and are left out.
async fn stage_events<C, E, S>(
    db: &C,
    as_of: NaiveDate,
    owner: &'static str,
    within: Option<Condition>,
) -> anyhow::Result<Events>
where
    C: ConnectionTrait + StreamTrait,
    E: EntityTrait,
    S: Stage + ActiveEnum<Value = String>,
{
    use sea_query::ExprTrait as _;
    let mut out = Events::default();
    let mut rows = E::find()
        .select_only()
        .column_as(sea_query::Expr::col(Alias::new(owner)), "owner")
        .column_as(sea_query::Expr::col(Alias::new("stage")), "stage")
        .column_as(sea_query::Expr::col(Alias::new("occurred_on")), "occurred_on")
        .filter(sea_query::Expr::col(Alias::new("occurred_on")).lte(as_of))
        .apply_if(within, QueryFilter::filter)
        .into_tuple::<(i64, String, NaiveDate)>()
        .stream(db)
        .await?;
    while let Some((owner, stage, on)) = rows.try_next().await? {
        if let Some(r) = S::try_from_value(&stage).ok().and_then(Stage::rank) {
            out.owner.push(owner);
            out.rank.push(r as i32);
            out.day.push(day(on));
        }
    }
    Ok(out)
}

/// Reads the columns a computation as of `as_of` needs, of the records `visible` (数据权限); records dated after
/// `as_of` are left out. Targets are the whole bureau's: a computation over part of the records has none.
pub async fn load<C: Source>(db: &C, as_of: NaiveDate, scope: Scope, visible: &Visible) -> anyhow::Result<Raw> {
    let mut raw = Raw {
        as_of: Some(as_of),
        ..Raw::default()
    };
    let since = match scope {
        Scope::Kpis(since) | Scope::Ledger(since) => Some(since),
        _ => None,
    };
    let projects = async {
        match scope {
            Scope::Ledger(_) => return Ok(()),
            Scope::Kpis(since) => load_reach(db, (as_of, since), visible, &mut raw).await?,
            Scope::All => load_projects(db, as_of, visible, &mut raw).await?,
            Scope::Projects => return load_projects(db, as_of, visible, &mut raw).await,
            Scope::Incubation => return Ok(()),
        }
        load_major_moves(db, (since, as_of), visible, &mut raw).await
    };
    // From a PostgreSQL pool the other tables are read on a task of their own and a second connection while this
    // one reads the projects (with the 重大项目's events): the database's work and this process's decoding of both go
    // on side by side on the runtime's threads. A SQLite pool has one connection (a second reader would wait for
    // it, and time out behind a long read); a transaction is one connection.
    let rest = match db
        .pool()
        .filter(|p| p.get_database_backend() == sea_orm::DatabaseBackend::Postgres)
    {
        Some(pool) => {
            let visible = visible.clone();
            let others = tokio::spawn(async move { load_others(&pool, (as_of, since), scope, &visible).await });
            projects.await?;
            others.await??
        }
        None => {
            projects.await?;
            load_others(db, (as_of, since), scope, visible).await?
        }
    };
    raw.incubation_events = rest.incubation_events;
    raw.candidates = rest.candidates;
    raw.visits = rest.visits;
    raw.outreach = rest.outreach;
    raw.funds = rest.funds;
    raw.support = rest.support;
    raw.above_size = rest.above_size;
    raw.blockers = rest.blockers;
    raw.targets = rest.targets;
    Ok(raw)
}

/// What the KPIs of each of `main` (and the home page's `months`: their visits and signed projects) read, as of
/// `as_of`, of the records `visible`: the ledgers read, the projects, incubation candidates and blockers counted by
/// the database ([`super::in_db`]). An [`super::Analytics`] built from it answers those KPIs and months, and nothing
/// else of the projects.
pub async fn load_kpis<C: Source>(
    db: &C,
    as_of: NaiveDate,
    (main, months): (&[Period], &[Period]),
    visible: &Visible,
) -> anyhow::Result<Raw> {
    let since = (main.iter().chain(months))
        .map(|p| p.previous_year().from)
        .min()
        .unwrap_or(as_of);
    let (mut raw, figures) = futures_util::try_join!(
        load(db, as_of, Scope::Ledger(since), visible),
        super::in_db::db_figures(db, as_of, (main, months), visible),
    )?;
    raw.figures = Some(figures);
    Ok(raw)
}

/// What the analytics read through: any connection; a pool can also lend a second one, to read two tables at once.
pub trait Source: ConnectionTrait + StreamTrait {
    /// The pool, when this is one.
    fn pool(&self) -> Option<DatabaseConnection> {
        None
    }
}

impl Source for DatabaseConnection {
    fn pool(&self) -> Option<DatabaseConnection> {
        Some(self.clone())
    }
}

impl Source for sea_orm::DatabaseTransaction {}

/// Everything but the projects and the 重大项目's events: incubation, the ledger (visits, outreach, money,
/// targets) and the blockers, as `scope` needs them.
async fn load_others<C>(
    db: &C,
    (as_of, since): (NaiveDate, Option<NaiveDate>),
    scope: Scope,
    visible: &Visible,
) -> anyhow::Result<Raw>
where
    C: ConnectionTrait + StreamTrait,
{
    let mut rest = Raw::default();
    match scope {
        Scope::Projects => return Ok(rest),
        Scope::Incubation => return load_incubation(db, as_of, visible, &mut rest).await.map(|()| rest),
        Scope::Kpis(_) | Scope::Ledger(_) | Scope::All => {}
    }
    if !matches!(scope, Scope::Ledger(_)) {
        load_incubation(db, as_of, visible, &mut rest).await?;
    }
    load_ledger(db, (since, as_of), visible, &mut rest).await?;
    if !matches!(scope, Scope::Ledger(_)) {
        load_blockers(db, (since, as_of), visible, &mut rest).await?;
    }
    Ok(rest)
}

/// The projects that reached their first stage by the as-of date and that a period starting on `since` or later can
/// count ([`counted_since`]): their reach days, agreed investment and 重大 flag; the attributes only a breakdown reads
/// are left empty (`None`, `""`).
async fn load_reach<C>(
    db: &C,
    (as_of, since): (NaiveDate, NaiveDate),
    visible: &Visible,
    raw: &mut Raw,
) -> anyhow::Result<()>
where
    C: ConnectionTrait + StreamTrait,
{
    let [r0, r1, r2, r3, r4, r5] = project::REACHED;
    let mut rows = project::Entity::find()
        .select_only()
        .column(project::Column::Id)
        .columns([project::Column::AgreedInvestmentYuan, project::Column::IsMajor])
        .columns([r0, r1, r2, r3, r4, r5])
        .apply_if(visible.projects(), QueryFilter::filter)
        .filter(counted_since(since))
        .into_tuple::<(
            i64,
            Option<i64>,
            bool,
            Reached,
            Reached,
            Reached,
            Reached,
            Reached,
            Reached,
        )>()
        .stream(db)
        .await?;
    let p = &mut raw.projects;
    while let Some((id, agreed, major, d0, d1, d2, d3, d4, d5)) = rows.try_next().await? {
        if !p.reached_by(as_of, [d0, d1, d2, d3, d4, d5]) {
            continue;
        }
        p.id.push(id);
        p.industry.push(None);
        p.source.push(String::new());
        p.leader.push(None);
        p.province.push(None);
        p.agreed.push(agreed);
        p.major.push(major);
    }
    Ok(())
}

/// The projects with a figure in a period starting on `since` or later, of those a flow count, the signed
/// investment or the 重大项目 read: one with a reach date on or after it (its latest, as a later stage is never reached
/// earlier), or a 重大项目 not in production before it. Some of them may have no figure as of a date (a reach date
/// after it): they are counted nowhere, as before.
fn counted_since(since: NaiveDate) -> Condition {
    use sea_query::ExprTrait as _;
    let latest = sea_query::Func::coalesce(project::REACHED.iter().rev().map(|c| Expr::col(*c)));
    let producing = project::REACHED[5];
    Condition::any().add(Expr::expr(latest).gte(since)).add(
        Condition::all()
            .add(project::Column::IsMajor.eq(true))
            .add(Condition::any().add(producing.is_null()).add(producing.gte(since))),
    )
}

/// A project's linked contact leader (joined as `leader`).
pub(super) fn leader_link() -> sea_orm::RelationDef {
    project::Entity::belongs_to(user::Entity)
        .from(project::Column::ContactLeaderId)
        .to(user::Column::Id)
        .into()
}

/// A reach date as read.
type Reached = Option<NaiveDate>;

/// One project as the loader reads it.
struct ProjectRow {
    id: i64,
    industry: Option<String>,
    source: String,
    contact_leader: Option<String>,
    province: Option<String>,
    agreed: Option<i64>,
    major: bool,
    leader_name: Option<String>,
    reached: [Option<NaiveDate>; 6],
}

impl sea_orm::FromQueryResult for ProjectRow {
    /// By position, in the order [`load_projects`] selects them (by name, each cell costs a search of the names).
    fn from_query_result(row: &sea_orm::QueryResult, _pre: &str) -> Result<Self, sea_orm::DbErr> {
        let mut reached = [None; 6];
        for (i, on) in reached.iter_mut().enumerate() {
            *on = row.try_get_by_index(8 + i)?;
        }
        Ok(ProjectRow {
            id: row.try_get_by_index(0)?,
            industry: row.try_get_by_index(1)?,
            source: row.try_get_by_index(2)?,
            contact_leader: row.try_get_by_index(3)?,
            province: row.try_get_by_index(4)?,
            agreed: row.try_get_by_index(5)?,
            major: row.try_get_by_index(6)?,
            leader_name: row.try_get_by_index(7)?,
            reached,
        })
    }
}

/// The projects that reached their first stage by the as-of date: the columns the breakdowns and money read, and
/// their reach days. A project keeps its reach dates (docs/DEFINITIONS.md) on its record; a reach date as of any day
/// is the stored one when it is not after that day (the earliest event at a stage or later is after the day exactly
/// when every such event is), so no stage event needs reading.
async fn load_projects<C>(db: &C, as_of: NaiveDate, visible: &Visible, raw: &mut Raw) -> anyhow::Result<()>
where
    C: ConnectionTrait + StreamTrait,
{
    let select = project::Entity::find()
        .select_only()
        .columns([
            project::Column::Id,
            project::Column::Industry,
            project::Column::Source,
            project::Column::ContactLeader,
        ])
        .column(project::Column::CompanyProvince)
        .column(project::Column::AgreedInvestmentYuan)
        .column(project::Column::IsMajor)
        .column_as(
            Expr::col((Alias::new("leader"), user::Column::DisplayName)),
            "leader_name",
        )
        .columns(project::REACHED)
        .join_as(JoinType::LeftJoin, leader_link(), Alias::new("leader"))
        .apply_if(visible.projects(), QueryFilter::filter);
    let mut rows = select.into_model::<ProjectRow>().stream(db).await?;
    let p = &mut raw.projects;
    while let Some(r) = rows.try_next().await? {
        if !p.reached_by(as_of, r.reached) {
            continue;
        }
        // A linked leader by their name as it is now; a name that links no one as written.
        p.major.push(r.major);
        p.id.push(r.id);
        p.industry.push(r.industry);
        p.source.push(r.source);
        p.leader.push(r.leader_name.or(r.contact_leader));
        p.province.push(r.province);
        p.agreed.push(r.agreed);
    }
    Ok(())
}

/// The (project, day) of the main-line and of the 终止 events of the 重大项目 up to the as-of date: whether one was
/// worked on in a period (the KPIs) depends on them; no other figure does. With `since`, for periods starting then
/// or later: the events from `since` on, and the earlier ones of the projects 终止 before it (only their latest move
/// and drop before a period's start matter; a project never 终止 before it is idle in no such period).
async fn load_major_moves<C>(
    db: &C,
    (since, as_of): (Option<NaiveDate>, NaiveDate),
    visible: &Visible,
    raw: &mut Raw,
) -> anyhow::Result<()>
where
    C: ConnectionTrait + StreamTrait,
{
    use sea_query::ExprTrait as _;
    let (stage, on, owner) = (
        stage_event::Column::Stage,
        stage_event::Column::OccurredOn,
        stage_event::Column::ProjectId,
    );
    let majors = project::Entity::find()
        .select_only()
        .column(project::Column::Id)
        .filter(project::Column::IsMajor.eq(true))
        .into_query();
    let counted = since.map(|since| {
        let dropped_before = stage_event::Entity::find()
            .select_only()
            .column(owner)
            .filter(stage.eq(ProjectStage::Dropped))
            .filter(on.lt(since))
            .into_query();
        Condition::any()
            .add(on.gte(since))
            .add(Expr::col(owner).in_subquery(dropped_before))
    });
    let mut rows = stage_event::Entity::find()
        .select_only()
        .columns([owner, on, stage])
        .filter(on.lte(as_of))
        .filter(Expr::col(owner).in_subquery(majors))
        .apply_if(counted, QueryFilter::filter)
        .apply_if(visible.via_project(owner), QueryFilter::filter)
        .into_tuple::<(i64, NaiveDate, ProjectStage)>()
        .stream(db)
        .await?;
    while let Some((id, on, stage)) = rows.try_next().await? {
        let out = match stage {
            ProjectStage::Dropped => &mut raw.project_drops,
            _ => &mut raw.project_moves,
        };
        out.0.push(id);
        out.1.push(day(on));
    }
    Ok(())
}

/// Incubation stage events and the candidates' cohort years.
async fn load_incubation<C>(db: &C, as_of: NaiveDate, visible: &Visible, raw: &mut Raw) -> anyhow::Result<()>
where
    C: ConnectionTrait + StreamTrait,
{
    let events = visible.via_candidate(incubation_event::Column::CandidateId);
    raw.incubation_events =
        stage_events::<C, incubation_event::Entity, IncubationStage>(db, as_of, "candidate_id", events).await?;
    let mut rows = incubation_candidate::Entity::find()
        .select_only()
        .columns([
            incubation_candidate::Column::Id,
            incubation_candidate::Column::CohortYear,
        ])
        .apply_if(
            visible.owned(incubation_candidate::Column::OwnerId),
            QueryFilter::filter,
        )
        .into_tuple::<(i64, i32)>()
        .stream(db)
        .await?;
    while let Some((id, year)) = rows.try_next().await? {
        raw.candidates.0.push(id);
        raw.candidates.1.push(year);
    }
    Ok(())
}

//! 来访接待: one visit record is one batch (批); its headcount is the person-times (人次) it brings. A visit names at
//! least one company and may be linked to projects.

use chrono::{NaiveDate, Utc};
use entity::{project, visit, visit_company, visit_day, visit_project};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait, TransactionSession,
    sea_query::{Alias, Expr, Func},
};

use super::{
    Actor, AppError, AppResult, Code, Db, Dir, Kind, Msg, Order, Page, Paging,
    companies::known_companies,
    delete_versioned, find,
    input::{Day, Money, Name, Patch, Short, Text, int_in, names, opt_string, set_some},
    insert_one, known, links, people,
    projects::forget_source,
    update_versioned,
};

/// A visit's purpose: up to 500 characters.
pub type Purpose = Text<500>;
/// A visit's summary, an activity's notes: up to 4000 characters.
pub type Summary = Text<4000>;

/// A visit with its links.
pub struct VisitView {
    /// The stored record.
    pub visit: visit::Model,
    /// The visiting companies.
    pub company_ids: Vec<i64>,
    /// The linked projects.
    pub project_ids: Vec<i64>,
}

/// A list of names as stored (JSON array of strings).
pub fn list_of(v: &serde_json::Value) -> Vec<String> {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

/// A new visit.
pub struct NewVisit {
    /// Date.
    pub visit_date: Day,
    /// Number of visitors, 1–10000.
    pub headcount: i64,
    /// The visiting companies: at least one.
    pub company_ids: Vec<i64>,
    /// Linked projects.
    pub project_ids: Vec<i64>,
    /// Receiving leaders.
    pub receiving_leaders: Option<Vec<String>>,
    /// Accompanying staff.
    pub staff: Option<Vec<String>>,
    /// Purpose.
    pub purpose: Option<Purpose>,
    /// Summary.
    pub summary: Option<Summary>,
    /// Owner (负责人); none: the user recording it.
    pub owner_id: Option<i64>,
}

/// Changes to a visit; lists given replace the stored ones.
pub struct VisitChanges {
    /// The version the changes were made against.
    pub version: i32,
    /// Date.
    pub visit_date: Option<Day>,
    /// Number of visitors.
    pub headcount: Option<i64>,
    /// The visiting companies.
    pub company_ids: Option<Vec<i64>>,
    /// Linked projects.
    pub project_ids: Option<Vec<i64>>,
    /// Receiving leaders.
    pub receiving_leaders: Option<Vec<String>>,
    /// Accompanying staff.
    pub staff: Option<Vec<String>>,
    /// Purpose.
    pub purpose: Patch<Purpose>,
    /// Summary.
    pub summary: Patch<Summary>,
    /// Owner (负责人).
    pub owner_id: Patch<i64>,
}

/// Which visits to list.
#[derive(Default)]
pub struct VisitFilter {
    /// What the caller sees (数据权限).
    pub visible: super::scope::Visible,
    /// Earliest visit date, inclusive.
    pub from: Option<NaiveDate>,
    /// Latest visit date, inclusive.
    pub to: Option<NaiveDate>,
    /// Visits of this company.
    pub company_id: Option<i64>,
    /// Visits linked to this project.
    pub project_id: Option<i64>,
}

const WHAT: Kind = Kind::Visit;

fn headcount(v: i64) -> AppResult<i32> {
    Ok(int_in("headcount", v, 1..=10_000)? as i32)
}

fn company_list(ids: &[i64]) -> AppResult<()> {
    if ids.is_empty() {
        return Err(AppError::invalid(
            "company_ids",
            "a visit names at least one company",
            "来访记录须至少填写一家企业",
        ));
    }
    Ok(())
}

/// The distinct ids among `ids`, sorted; each must be a project (`unknown_project` on `field` otherwise).
pub async fn known_projects(db: &impl ConnectionTrait, field: &str, ids: &[i64]) -> AppResult<Vec<i64>> {
    known::<project::Entity>(db, ids, |missing| {
        AppError::rule(
            Code::UnknownProject,
            Some(field),
            Msg::new(
                format!("there is no project {missing}"),
                format!("项目 {missing} 不存在"),
            ),
        )
    })
    .await
}

/// Visits with their links, loaded in one query per link table.
pub async fn views(db: &impl ConnectionTrait, rows: Vec<visit::Model>) -> AppResult<Vec<VisitView>> {
    let ids: Vec<i64> = rows.iter().map(|v| v.id).collect();
    let mut companies = links::of::<visit_company::Entity>(db, ids.clone()).await?;
    let mut projects = links::of::<visit_project::Entity>(db, ids).await?;
    Ok(rows
        .into_iter()
        .map(|v| VisitView {
            company_ids: companies.remove(&v.id).unwrap_or_default(),
            project_ids: projects.remove(&v.id).unwrap_or_default(),
            visit: v,
        })
        .collect())
}

async fn view(db: &impl ConnectionTrait, v: visit::Model) -> AppResult<VisitView> {
    Ok(views(db, vec![v]).await?.pop().expect("one in, one out"))
}

/// The row of a new visit, its rules checked (a company at least, a headcount in bounds, lists of names).
fn row(n: &mut NewVisit) -> AppResult<visit::ActiveModel> {
    company_list(&n.company_ids)?;
    let now = Utc::now();
    Ok(visit::ActiveModel {
        visit_date: Set(n.visit_date.into()),
        headcount: Set(headcount(n.headcount)?),
        purpose: Set(opt_string(n.purpose.take())),
        summary: Set(opt_string(n.summary.take())),
        receiving_leaders: Set(serde_json::json!(names(
            "receiving_leaders",
            n.receiving_leaders.take()
        )?)),
        staff: Set(serde_json::json!(names("staff", n.staff.take())?)),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
}

/// Records many visits with their companies inside the caller's transaction; answers their ids in order.
pub async fn create_many(db: &impl ConnectionTrait, actor: &Actor, mut list: Vec<NewVisit>) -> AppResult<Vec<i64>> {
    let mut rows = Vec::with_capacity(list.len());
    for n in &mut list {
        let mut m = row(n)?;
        m.owner_id = Set(people::owner_for(db, actor, n.owner_id).await?);
        rows.push(m);
    }
    let all: Vec<i64> = list.iter().flat_map(|n| n.company_ids.iter().copied()).collect();
    known_companies(db, "company_ids", &all).await?;
    let projects: Vec<i64> = list.iter().flat_map(|n| n.project_ids.iter().copied()).collect();
    known_projects(db, "project_ids", &projects).await?;
    let ids = super::insert_all(db, rows, 2000).await?;
    let pairs = |of: fn(&NewVisit) -> &Vec<i64>| -> Vec<(i64, i64)> {
        ids.iter()
            .zip(&list)
            .flat_map(|(id, n)| {
                let mut targets = of(n).clone();
                targets.sort_unstable();
                targets.dedup();
                targets.into_iter().map(move |t| (*id, t))
            })
            .collect()
    };
    links::add_many::<visit_company::Entity>(db, pairs(|n| &n.company_ids)).await?;
    links::add_many::<visit_project::Entity>(db, pairs(|n| &n.project_ids)).await?;
    Ok(ids)
}

/// Records a visit with its links, in one transaction.
pub async fn create(db: &impl Db, actor: &Actor, mut n: NewVisit) -> AppResult<VisitView> {
    let mut m = row(&mut n)?;
    let txn = crate::service::begin(db).await?;
    m.owner_id = Set(people::owner_for(&txn, actor, n.owner_id).await?);
    let companies = known_companies(&txn, "company_ids", &n.company_ids).await?;
    let projects = known_projects(&txn, "project_ids", &n.project_ids).await?;
    let v = insert_one(&txn, Kind::Visit, m).await?;
    links::replace::<visit_company::Entity>(&txn, v.id, companies).await?;
    links::replace::<visit_project::Entity>(&txn, v.id, projects).await?;
    let out = view(&txn, v).await?;
    txn.commit().await?;
    Ok(out)
}

/// A company a visit names that is not recorded yet, or one of the visit's companies.
#[derive(Debug, Clone, Copy)]
pub enum CompanyRef {
    /// A recorded company.
    Known(i64),
    /// The n-th of the new companies written with the visit.
    New(usize),
}

/// A project first heard of on a visit: written with the visit, at 线索, the visit as its source.
pub struct ProjectOnVisit {
    /// Name.
    pub name: Name,
    /// The investing company: one the visit names.
    pub company: CompanyRef,
    /// Industry; defaults to the company's.
    pub industry: Option<Short>,
    /// Agreed investment.
    pub agreed_investment: Option<Money>,
}

/// Records a visit together with the companies and projects it brings that are not recorded yet, in one
/// transaction: the new companies join the visit's companies, each new project is created at 线索 on the visit's
/// date with the visit as its source and joins the visit's projects. Nothing is written unless all of it is.
pub async fn create_with_new(
    db: &impl Db,
    actor: &Actor,
    mut n: NewVisit,
    new_companies: Vec<Name>,
    new_projects: Vec<ProjectOnVisit>,
) -> AppResult<VisitView> {
    let txn = crate::service::begin(db).await?;
    let created = super::companies::create_named(&txn, new_companies).await?;
    n.company_ids.extend(&created);
    let v = create(&txn, actor, n).await?;
    let out = add_projects(&txn, actor, v, &created, new_projects).await?;
    txn.commit().await?;
    Ok(out)
}

/// Changes a visit as [`update`] does, writing the companies and projects typed new on it as
/// [`create_with_new`] does, in one transaction.
pub async fn update_with_new(
    db: &impl Db,
    actor: &Actor,
    id: i64,
    mut c: VisitChanges,
    new_companies: Vec<Name>,
    new_projects: Vec<ProjectOnVisit>,
) -> AppResult<VisitView> {
    let txn = crate::service::begin(db).await?;
    let created = super::companies::create_named(&txn, new_companies).await?;
    if !created.is_empty() {
        c.company_ids.get_or_insert_with(Vec::new).extend(&created);
    }
    let v = update(&txn, id, c).await?;
    let out = add_projects(&txn, actor, v, &created, new_projects).await?;
    txn.commit().await?;
    Ok(out)
}

/// Creates the projects first heard of on visit `v` (its source, 线索 on its date) and links them to it.
async fn add_projects(
    db: &impl Db,
    actor: &Actor,
    v: VisitView,
    created: &[i64],
    new_projects: Vec<ProjectOnVisit>,
) -> AppResult<VisitView> {
    use super::projects::{self, NewProject, Origin};
    if new_projects.is_empty() {
        return Ok(v);
    }
    let mut project_ids = v.project_ids.clone();
    let day = Day::parse("visit_date", v.visit.visit_date)?;
    for p in new_projects {
        let company_id = match p.company {
            CompanyRef::Known(id) => Some(id),
            CompanyRef::New(i) => created.get(i).copied(),
        }
        .filter(|id| v.company_ids.contains(id))
        .ok_or_else(|| {
            AppError::invalid(
                "project_ids",
                "a new project's company is not on the visit",
                "新项目的企业须为本次来访企业",
            )
        })?;
        let mut new = NewProject::named(p.name, company_id, entity::enums::ProjectStage::Lead, day);
        new.industry = p.industry;
        new.agreed_investment = p.agreed_investment;
        new.origin = Origin {
            visit: Some(v.visit.id),
            ..Default::default()
        };
        project_ids.push(projects::create(db, actor, new).await?.project.id);
    }
    links::replace::<visit_project::Entity>(db, v.visit.id, project_ids).await?;
    get(db, v.visit.id).await
}

impl VisitChanges {
    /// Changes that make the visit what `n` describes (its lists replaced; its owner kept).
    pub fn replacing(version: i32, n: NewVisit) -> VisitChanges {
        VisitChanges {
            version,
            visit_date: Some(n.visit_date),
            headcount: Some(n.headcount),
            company_ids: Some(n.company_ids),
            project_ids: Some(n.project_ids),
            receiving_leaders: Some(n.receiving_leaders.unwrap_or_default()),
            staff: Some(n.staff.unwrap_or_default()),
            purpose: Patch::from_opt(n.purpose),
            summary: Patch::from_opt(n.summary),
            owner_id: Patch::Keep,
        }
    }
}

/// A page of visits, newest first, and the person-times of all the visits the filter matches (counted with the
/// total: not on a cursor page).
pub async fn list(
    db: &impl ConnectionTrait,
    f: VisitFilter,
    paging: Paging,
) -> AppResult<(Page<VisitView>, Option<i64>)> {
    let totals = match paging.counts() {
        true => Some(totals(db, &f).await?),
        false => None,
    };
    let order = Order(&[(visit::Column::VisitDate, Dir::Desc), (visit::Column::Id, Dir::Desc)]);
    let mut page = (paging.uncounted())
        .fetch(db, select(&f), order, async |rows| views(db, rows).await)
        .await?;
    page.total = totals.map(|(n, _)| n);
    Ok((page, totals.map(|(_, person_times)| person_times)))
}

/// How many visits the filter matches and their person-times: from the day totals the database keeps
/// (`visit_days`) unless the filter names a company or a project, which only the visits themselves tell.
async fn totals(db: &impl ConnectionTrait, f: &VisitFilter) -> AppResult<(u64, i64)> {
    let bigint = |e: Expr| Func::cast_as(Func::sum(e), Alias::new("bigint"));
    let (n, person_times) = match (f.company_id, f.project_id) {
        (None, None) => {
            visit_day::Entity::find()
                .select_only()
                .expr(bigint(Expr::col(visit_day::Column::Batches)))
                .expr(bigint(Expr::col(visit_day::Column::Headcount)))
                .apply_if(f.visible.owned(visit_day::Column::OwnerId), QueryFilter::filter)
                .apply_if(f.from, |q, d| q.filter(visit_day::Column::VisitDate.gte(d)))
                .apply_if(f.to, |q, d| q.filter(visit_day::Column::VisitDate.lte(d)))
                .into_tuple::<(Option<i64>, Option<i64>)>()
                .one(db)
                .await?
        }
        _ => {
            select(f)
                .select_only()
                .expr(Expr::cust("COUNT(*)"))
                .expr(bigint(Expr::col(visit::Column::Headcount)))
                .into_tuple::<(Option<i64>, Option<i64>)>()
                .one(db)
                .await?
        }
    }
    .unwrap_or_default();
    Ok((u64::try_from(n.unwrap_or(0)).unwrap_or(0), person_times.unwrap_or(0)))
}

/// The next `limit` visits the filter keeps after the id `after`, in id order.
pub async fn after(db: &impl ConnectionTrait, f: VisitFilter, after: i64, limit: u64) -> AppResult<Vec<VisitView>> {
    views(db, super::after(db, select(&f), after, limit).await?).await
}

/// The visits the filter keeps.
fn select(f: &VisitFilter) -> sea_orm::Select<visit::Entity> {
    let mut s = visit::Entity::find();
    if let Some(c) = f.visible.owned(visit::Column::OwnerId) {
        s = s.filter(c);
    }
    if let Some(d) = f.from {
        s = s.filter(visit::Column::VisitDate.gte(d));
    }
    if let Some(d) = f.to {
        s = s.filter(visit::Column::VisitDate.lte(d));
    }
    if let Some(c) = f.company_id {
        s = s.filter(visit::Column::Id.in_subquery(links::owners_linked_to::<visit_company::Entity>(c)));
    }
    if let Some(p) = f.project_id {
        s = s.filter(visit::Column::Id.in_subquery(links::owners_linked_to::<visit_project::Entity>(p)));
    }
    s
}

/// A visit by id.
pub async fn get(db: &impl ConnectionTrait, id: i64) -> AppResult<VisitView> {
    view(db, find::<visit::Entity, _>(db, id, WHAT).await?).await
}

/// Changes a visit and replaces the lists given, in one transaction.
pub async fn update(db: &impl Db, id: i64, c: VisitChanges) -> AppResult<VisitView> {
    let mut m = visit::ActiveModel::default();
    set_some(&mut m.visit_date, c.visit_date);
    set_some(&mut m.headcount, c.headcount.map(headcount).transpose()?);
    if let Some(ids) = &c.company_ids {
        company_list(ids)?;
    }
    if c.receiving_leaders.is_some() {
        m.receiving_leaders = Set(serde_json::json!(names("receiving_leaders", c.receiving_leaders)?));
    }
    if c.staff.is_some() {
        m.staff = Set(serde_json::json!(names("staff", c.staff)?));
    }
    c.purpose.apply(&mut m.purpose);
    c.summary.apply(&mut m.summary);
    let txn = crate::service::begin(db).await?;
    people::change_owner(&txn, &mut m.owner_id, c.owner_id).await?;
    let companies = match &c.company_ids {
        Some(ids) => Some(known_companies(&txn, "company_ids", ids).await?),
        None => None,
    };
    let projects = match &c.project_ids {
        Some(ids) => Some(known_projects(&txn, "project_ids", ids).await?),
        None => None,
    };
    let v = update_versioned::<visit::Entity, _>(&txn, id, WHAT, c.version, m).await?;
    if let Some(ids) = companies {
        links::replace::<visit_company::Entity>(&txn, v.id, ids).await?;
    }
    if let Some(ids) = projects {
        links::replace::<visit_project::Entity>(&txn, v.id, ids).await?;
    }
    let out = view(&txn, v).await?;
    txn.commit().await?;
    Ok(out)
}

/// Deletes a visit; projects that named it as their source keep their source kind but lose the reference.
pub async fn delete(db: &impl Db, id: i64, version: i32) -> AppResult<()> {
    let txn = crate::service::begin(db).await?;
    delete_versioned::<visit::Entity, _>(&txn, id, WHAT, version).await?;
    forget_source(&txn, project::Column::SourceVisitId, id).await?;
    txn.commit().await?;
    Ok(())
}

/// A visit as the export writes it: its own fields and its companies' names, in company order.
pub struct VisitLine {
    /// Id.
    pub id: i64,
    /// Date.
    pub visit_date: NaiveDate,
    /// Person-times.
    pub headcount: i32,
    /// Receiving leaders, as stored (a JSON list of names).
    pub receiving_leaders: serde_json::Value,
    /// Purpose.
    pub purpose: Option<String>,
    /// Summary.
    pub summary: Option<String>,
    /// The visiting companies' names.
    pub companies: Vec<String>,
}

/// One visit-and-company row of the export's query.
#[derive(sea_orm::FromQueryResult)]
struct LineRow {
    id: i64,
    visit_date: NaiveDate,
    headcount: i32,
    receiving_leaders: serde_json::Value,
    purpose: Option<String>,
    summary: Option<String>,
    company: Option<String>,
}

/// Every visit the filter keeps with its companies' names, in id order, read by one query as it streams (the
/// export: memory stays flat however many there are).
pub async fn lines<'a, C>(
    db: &'a C,
    f: VisitFilter,
) -> AppResult<impl futures_util::Stream<Item = AppResult<VisitLine>> + Send + 'a>
where
    C: ConnectionTrait + sea_orm::StreamTrait + Send,
{
    use futures_util::{TryStreamExt, stream};
    use sea_orm::sea_query::{ExprTrait, JoinType};
    let company_of_link = Expr::col((entity::company::Entity, entity::company::Column::Id))
        .equals((visit_company::Entity, visit_company::Column::CompanyId));
    let mut s = select(&f).select_only().columns([
        visit::Column::Id,
        visit::Column::VisitDate,
        visit::Column::Headcount,
        visit::Column::ReceivingLeaders,
        visit::Column::Purpose,
        visit::Column::Summary,
    ]);
    QueryTrait::query(&mut s)
        .expr_as(
            Expr::col((entity::company::Entity, entity::company::Column::Name)),
            Alias::new("company"),
        )
        .join(
            JoinType::LeftJoin,
            visit_company::Entity,
            Expr::col((visit_company::Entity, visit_company::Column::VisitId))
                .equals((visit::Entity, visit::Column::Id)),
        )
        .join(JoinType::LeftJoin, entity::company::Entity, company_of_link)
        .order_by((visit::Entity, visit::Column::Id), sea_orm::Order::Asc)
        .order_by(
            (visit_company::Entity, visit_company::Column::CompanyId),
            sea_orm::Order::Asc,
        );
    let rows = s.into_model::<LineRow>().stream(db).await?;
    // The query gives a visit once per company, consecutively: fold those rows into one line.
    Ok(stream::try_unfold(
        (rows, None::<VisitLine>),
        |(mut rows, mut open)| async move {
            while let Some(r) = rows.try_next().await? {
                if let Some(line) = open.as_mut().filter(|l| l.id == r.id) {
                    line.companies.extend(r.company);
                    continue;
                }
                let next = VisitLine {
                    id: r.id,
                    visit_date: r.visit_date,
                    headcount: r.headcount,
                    receiving_leaders: r.receiving_leaders,
                    purpose: r.purpose,
                    summary: r.summary,
                    companies: r.company.into_iter().collect(),
                };
                if let Some(done) = open.replace(next) {
                    return Ok(Some((done, (rows, open))));
                }
            }
            Ok::<_, AppError>(open.take().map(|done| (done, (rows, None))))
        },
    ))
}

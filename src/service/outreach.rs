//! 招商活动: outreach trips (外出招商), promotion events (推介会), forums (论坛) and resident campaigns (驻点招商). An
//! activity ends on or after its first day; the projects it produced are those naming it as their source.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use entity::{enums::OutreachKind, outreach, outreach_company, project};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionSession,
};

use super::{
    Actor, AppError, AppResult, Db, Dir, Kind, Order, Page, Paging,
    companies::known_companies,
    delete_versioned, find,
    input::{Day, Patch, Place, Short, names, opt_string, set_some},
    insert_one, links, people,
    projects::forget_source,
    update_versioned,
    visits::Summary,
};

/// An outreach activity with the companies met and the projects it produced.
pub struct OutreachView {
    /// The stored record.
    pub outreach: outreach::Model,
    /// Companies met.
    pub company_ids: Vec<i64>,
    /// Projects naming it as their source.
    pub project_ids: Vec<i64>,
}

/// A new outreach activity.
pub struct NewOutreach {
    /// Kind.
    pub kind: OutreachKind,
    /// City.
    pub city: Place,
    /// First day.
    pub start_date: NaiveDate,
    /// Last day; defaults to the first.
    pub end_date: Option<NaiveDate>,
    /// Leading official.
    pub leading_official: Option<Short>,
    /// Participants.
    pub participants: Option<Vec<String>>,
    /// Companies met.
    pub company_ids: Vec<i64>,
    /// Notes.
    pub notes: Option<Summary>,
    /// Owner (负责人); none: the user recording it.
    pub owner_id: Option<i64>,
}

/// Changes to an outreach activity; lists given replace the stored ones.
pub struct OutreachChanges {
    /// The version the changes were made against.
    pub version: i32,
    /// Kind.
    pub kind: Option<OutreachKind>,
    /// City.
    pub city: Option<Place>,
    /// First day.
    pub start_date: Option<NaiveDate>,
    /// Last day.
    pub end_date: Option<NaiveDate>,
    /// Leading official.
    pub leading_official: Patch<Short>,
    /// Participants.
    pub participants: Option<Vec<String>>,
    /// Companies met.
    pub company_ids: Option<Vec<i64>>,
    /// Notes.
    pub notes: Patch<Summary>,
    /// Owner (负责人).
    pub owner_id: Patch<i64>,
}

/// Which activities to list.
#[derive(Default)]
pub struct OutreachFilter {
    /// What the caller sees (数据权限).
    pub visible: super::scope::Visible,
    /// Kind.
    pub kind: Option<OutreachKind>,
    /// City, exactly.
    pub city: Option<String>,
    /// Earliest start date, inclusive.
    pub from: Option<NaiveDate>,
    /// Latest start date, inclusive.
    pub to: Option<NaiveDate>,
}

const WHAT: Kind = Kind::Outreach;

fn dates(start: NaiveDate, end: NaiveDate) -> AppResult<()> {
    Day::parse("start_date", start)?;
    Day::parse("end_date", end)?;
    if end < start {
        return Err(AppError::invalid(
            "end_date",
            "end_date must not be before start_date",
            "结束日期不能早于开始日期",
        ));
    }
    Ok(())
}

/// Activities with the companies met and the projects produced, in one query each.
pub async fn views(db: &impl ConnectionTrait, rows: Vec<outreach::Model>) -> AppResult<Vec<OutreachView>> {
    let ids: Vec<i64> = rows.iter().map(|o| o.id).collect();
    let mut companies = links::of::<outreach_company::Entity>(db, ids.clone()).await?;
    let mut projects: HashMap<i64, Vec<i64>> = HashMap::new();
    let produced: Vec<(i64, Option<i64>)> = project::Entity::find()
        .select_only()
        .columns([project::Column::Id, project::Column::SourceOutreachId])
        .filter(project::Column::SourceOutreachId.is_in(ids))
        .order_by_asc(project::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    for (p, o) in produced {
        if let Some(o) = o {
            projects.entry(o).or_default().push(p);
        }
    }
    Ok(rows
        .into_iter()
        .map(|o| OutreachView {
            company_ids: companies.remove(&o.id).unwrap_or_default(),
            project_ids: projects.remove(&o.id).unwrap_or_default(),
            outreach: o,
        })
        .collect())
}

async fn view(db: &impl ConnectionTrait, o: outreach::Model) -> AppResult<OutreachView> {
    Ok(views(db, vec![o]).await?.pop().expect("one in, one out"))
}

/// Records an outreach activity with the companies met, in one transaction.
pub async fn create(db: &impl Db, actor: &Actor, n: NewOutreach) -> AppResult<OutreachView> {
    let end = n.end_date.unwrap_or(n.start_date);
    dates(n.start_date, end)?;
    let now = Utc::now();
    let m = outreach::ActiveModel {
        kind: Set(n.kind),
        city: Set(n.city.into()),
        start_date: Set(n.start_date),
        end_date: Set(end),
        leading_official: Set(opt_string(n.leading_official)),
        participants: Set(serde_json::json!(names("participants", n.participants)?)),
        notes: Set(opt_string(n.notes)),
        owner_id: Set(people::owner_for(db, actor, n.owner_id).await?),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let txn = crate::service::begin(db).await?;
    let companies = known_companies(&txn, "company_ids", &n.company_ids).await?;
    let o = insert_one(&txn, Kind::Outreach, m).await?;
    links::replace::<outreach_company::Entity>(&txn, o.id, companies).await?;
    let out = view(&txn, o).await?;
    txn.commit().await?;
    Ok(out)
}

/// A page of activities, newest first; `from`/`to` select by start date.
pub async fn list(db: &impl ConnectionTrait, f: OutreachFilter, paging: Paging) -> AppResult<Page<OutreachView>> {
    let s = select(f);
    paging
        .fetch(
            db,
            s,
            Order(&[
                (outreach::Column::StartDate, Dir::Desc),
                (outreach::Column::Id, Dir::Desc),
            ]),
            async |rows| views(db, rows).await,
        )
        .await
}

/// The next `limit` activities the filter keeps after the id `after`, in id order.
pub async fn after(
    db: &impl ConnectionTrait,
    f: OutreachFilter,
    after: i64,
    limit: u64,
) -> AppResult<Vec<OutreachView>> {
    views(db, super::after(db, select(f), after, limit).await?).await
}

/// The activities the filter keeps.
fn select(f: OutreachFilter) -> sea_orm::Select<outreach::Entity> {
    let mut s = outreach::Entity::find();
    if let Some(c) = f.visible.owned(outreach::Column::OwnerId) {
        s = s.filter(c);
    }
    if let Some(k) = f.kind {
        s = s.filter(outreach::Column::Kind.eq(k));
    }
    if let Some(c) = f.city {
        s = s.filter(outreach::Column::City.eq(c));
    }
    if let Some(d) = f.from {
        s = s.filter(outreach::Column::StartDate.gte(d));
    }
    if let Some(d) = f.to {
        s = s.filter(outreach::Column::StartDate.lte(d));
    }
    s
}

/// An activity by id.
pub async fn get(db: &impl ConnectionTrait, id: i64) -> AppResult<OutreachView> {
    view(db, find::<outreach::Entity, _>(db, id, WHAT).await?).await
}

/// Changes an activity and replaces the companies met when given, in one transaction.
pub async fn update(db: &impl Db, id: i64, c: OutreachChanges) -> AppResult<OutreachView> {
    let old = find::<outreach::Entity, _>(db, id, WHAT).await?;
    dates(
        c.start_date.unwrap_or(old.start_date),
        c.end_date.unwrap_or(old.end_date),
    )?;
    let mut m = outreach::ActiveModel::default();
    set_some(&mut m.start_date, c.start_date);
    set_some(&mut m.end_date, c.end_date);
    set_some(&mut m.kind, c.kind);
    set_some(&mut m.city, c.city);
    c.leading_official.apply(&mut m.leading_official);
    if c.participants.is_some() {
        m.participants = Set(serde_json::json!(names("participants", c.participants)?));
    }
    c.notes.apply(&mut m.notes);
    let txn = crate::service::begin(db).await?;
    people::change_owner(&txn, &mut m.owner_id, c.owner_id).await?;
    let companies = match &c.company_ids {
        Some(ids) => Some(known_companies(&txn, "company_ids", ids).await?),
        None => None,
    };
    let o = update_versioned::<outreach::Entity, _>(&txn, id, WHAT, c.version, m).await?;
    if let Some(ids) = companies {
        links::replace::<outreach_company::Entity>(&txn, o.id, ids).await?;
    }
    let out = view(&txn, o).await?;
    txn.commit().await?;
    Ok(out)
}

/// Deletes an activity; projects that came from it lose the reference (not their source kind).
pub async fn delete(db: &impl Db, id: i64, version: i32) -> AppResult<()> {
    let txn = crate::service::begin(db).await?;
    delete_versioned::<outreach::Entity, _>(&txn, id, WHAT, version).await?;
    forget_source(&txn, project::Column::SourceOutreachId, id).await?;
    txn.commit().await?;
    Ok(())
}

//! 扶持资金: funds secured for companies from support programmes and policies (政策兑现), each with its programme,
//! level, amount and approval date. Their sum over a period is a KPI and a sentence of the work summary.

use chrono::{NaiveDate, Utc};
use entity::{company, enums::SupportLevel, support_fund};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Select};

use super::{
    AppResult, Dir, Kind, Order, Page, Paging, delete_versioned, find,
    input::{Day, Money, Name, Note, Patch, opt_string, set_some},
    insert_one, names, update_versioned,
};

/// A support fund with its company's name.
pub struct SupportFundView {
    /// The stored record.
    pub fund: support_fund::Model,
    /// The company's name.
    pub company_name: String,
}

/// A new support fund.
pub struct NewSupportFund {
    /// The company that secured it.
    pub company_id: i64,
    /// The programme or policy.
    pub programme: Name,
    /// Its level.
    pub level: SupportLevel,
    /// Amount, > 0.
    pub amount: Money,
    /// Date approved.
    pub approved_on: Day,
    /// Note.
    pub note: Option<Note>,
}

/// Changes to a support fund.
pub struct SupportFundChanges {
    /// The version the changes were made against.
    pub version: i32,
    /// The programme or policy.
    pub programme: Option<Name>,
    /// Its level.
    pub level: Option<SupportLevel>,
    /// Amount, > 0.
    pub amount: Option<Money>,
    /// Date approved.
    pub approved_on: Option<Day>,
    /// Note.
    pub note: Patch<Note>,
}

/// Which support funds to list.
#[derive(Default)]
pub struct SupportFundFilter {
    /// Of this company.
    pub company_id: Option<i64>,
    /// Of this level.
    pub level: Option<SupportLevel>,
    /// Approved on or after.
    pub from: Option<NaiveDate>,
    /// Approved on or before.
    pub to: Option<NaiveDate>,
}

const WHAT: Kind = Kind::SupportFund;

async fn views(db: &impl ConnectionTrait, rows: Vec<support_fund::Model>) -> AppResult<Vec<SupportFundView>> {
    let names = names::<company::Entity>(db, rows.iter().map(|f| f.company_id)).await?;
    Ok(rows
        .into_iter()
        .map(|fund| SupportFundView {
            company_name: names.get(&fund.company_id).cloned().unwrap_or_default(),
            fund,
        })
        .collect())
}

async fn view(db: &impl ConnectionTrait, f: support_fund::Model) -> AppResult<SupportFundView> {
    Ok(views(db, vec![f]).await?.pop().expect("one in, one out"))
}

/// Records a support fund of a company (which must exist).
pub async fn create(db: &impl ConnectionTrait, n: NewSupportFund) -> AppResult<SupportFundView> {
    super::companies::known_companies(db, "company_id", &[n.company_id]).await?;
    let now = Utc::now();
    let m = support_fund::ActiveModel {
        company_id: Set(n.company_id),
        programme: Set(n.programme.into()),
        level: Set(n.level),
        amount_yuan: Set(n.amount.as_yuan()),
        approved_on: Set(n.approved_on.date()),
        note: Set(opt_string(n.note)),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    view(db, insert_one(db, Kind::SupportFund, m).await?).await
}

fn select(f: SupportFundFilter) -> Select<support_fund::Entity> {
    let mut s = support_fund::Entity::find();
    if let Some(c) = f.company_id {
        s = s.filter(support_fund::Column::CompanyId.eq(c));
    }
    if let Some(l) = f.level {
        s = s.filter(support_fund::Column::Level.eq(l));
    }
    if let Some(d) = f.from {
        s = s.filter(support_fund::Column::ApprovedOn.gte(d));
    }
    if let Some(d) = f.to {
        s = s.filter(support_fund::Column::ApprovedOn.lte(d));
    }
    s
}

/// A page of support funds, latest approved first.
pub async fn list(db: &impl ConnectionTrait, f: SupportFundFilter, paging: Paging) -> AppResult<Page<SupportFundView>> {
    let s = select(f);
    let order = Order(&[
        (support_fund::Column::ApprovedOn, Dir::Desc),
        (support_fund::Column::Id, Dir::Desc),
    ]);
    paging.fetch(db, s, order, async |rows| views(db, rows).await).await
}

/// The next `limit` support funds the filter keeps after the id `after`, in id order.
pub async fn after(
    db: &impl ConnectionTrait,
    f: SupportFundFilter,
    after: i64,
    limit: u64,
) -> AppResult<Vec<SupportFundView>> {
    views(db, super::after(db, select(f), after, limit).await?).await
}

/// A support fund by id.
pub async fn get(db: &impl ConnectionTrait, id: i64) -> AppResult<SupportFundView> {
    view(db, find::<support_fund::Entity, _>(db, id, WHAT).await?).await
}

/// Changes a support fund.
pub async fn update(db: &impl ConnectionTrait, id: i64, c: SupportFundChanges) -> AppResult<SupportFundView> {
    let mut m = support_fund::ActiveModel::default();
    set_some(&mut m.programme, c.programme);
    set_some(&mut m.level, c.level);
    set_some(&mut m.amount_yuan, c.amount.map(Money::as_yuan));
    set_some(&mut m.approved_on, c.approved_on.map(Day::date));
    c.note.apply(&mut m.note);
    view(
        db,
        update_versioned::<support_fund::Entity, _>(db, id, WHAT, c.version, m).await?,
    )
    .await
}

/// Deletes a support fund.
pub async fn delete(db: &impl ConnectionTrait, id: i64, version: i32) -> AppResult<()> {
    delete_versioned::<support_fund::Entity, _>(db, id, WHAT, version).await
}

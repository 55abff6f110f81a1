//! The ledgers the KPIs read: visits (as day totals), outreach, fund arrivals, support funds, companies turned 规上,
//! targets and blockers.

use chrono::NaiveDate;
use entity::{
    blocker, company,
    enums::{CapitalOrigin, TargetMetric},
    fund_arrival, outreach, support_fund, target,
    visible::Visible,
    visit_day,
};
use futures_util::TryStreamExt;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait, StreamTrait,
    sea_query::Expr,
};

use super::{Raw, day};
use crate::analytics::in_db::sum;

/// Visits, outreach, fund arrivals, support funds and companies turned 规上 dated up to the as-of date (and from
/// `since` on, when given), and the targets.
pub(super) async fn load_ledger<C>(
    db: &C,
    (since, as_of): (Option<NaiveDate>, NaiveDate),
    visible: &Visible,
    raw: &mut Raw,
) -> anyhow::Result<()>
where
    C: ConnectionTrait + StreamTrait,
{
    // Every visit figure is a count or a headcount sum over days: the database keeps them per day and owner
    // (`visit_days`), so a year of visits arrives as at most 366 rows however many there were.
    let mut rows = visit_day::Entity::find()
        .select_only()
        .column(visit_day::Column::VisitDate)
        .column_as(sum(Expr::col(visit_day::Column::Batches)), "batches")
        .column_as(sum(Expr::col(visit_day::Column::Headcount)), "headcount")
        .filter(visit_day::Column::VisitDate.lte(as_of))
        .apply_if(since, |q, d| q.filter(visit_day::Column::VisitDate.gte(d)))
        .apply_if(visible.owned(visit_day::Column::OwnerId), QueryFilter::filter)
        .group_by(visit_day::Column::VisitDate)
        .into_tuple::<(NaiveDate, i64, i64)>()
        .stream(db)
        .await?;
    while let Some((d, batches, headcount)) = rows.try_next().await? {
        raw.visits.0.push(day(d));
        raw.visits.1.push(batches);
        raw.visits.2.push(headcount);
    }
    drop(rows);
    let mut rows = outreach::Entity::find()
        .select_only()
        .columns([outreach::Column::StartDate, outreach::Column::Kind])
        .filter(outreach::Column::StartDate.lte(as_of))
        .apply_if(since, |q, d| q.filter(outreach::Column::StartDate.gte(d)))
        .apply_if(visible.owned(outreach::Column::OwnerId), QueryFilter::filter)
        .into_tuple::<(NaiveDate, String)>()
        .stream(db)
        .await?;
    while let Some((d, k)) = rows.try_next().await? {
        raw.outreach.0.push(day(d));
        raw.outreach.1.push(k);
    }
    drop(rows);
    load_money(db, (since, as_of), visible, raw).await?;
    raw.above_size = company::Entity::find()
        .select_only()
        .column(company::Column::AboveSizeSince)
        .filter(company::Column::AboveSizeSince.lte(as_of))
        .apply_if(since, |q, d| q.filter(company::Column::AboveSizeSince.gte(d)))
        .apply_if(visible.via_company(company::Column::Id), QueryFilter::filter)
        .into_tuple::<NaiveDate>()
        .all(db)
        .await?
        .into_iter()
        .map(day)
        .collect();
    if !visible.is_all() {
        return Ok(());
    }
    raw.targets = target::Entity::find()
        .select_only()
        .columns([target::Column::Year, target::Column::Metric, target::Column::Value])
        .into_tuple::<(i32, TargetMetric, i64)>()
        .all(db)
        .await?;
    Ok(())
}

/// Fund arrivals and support funds.
async fn load_money<C>(
    db: &C,
    (since, as_of): (Option<NaiveDate>, NaiveDate),
    visible: &Visible,
    raw: &mut Raw,
) -> anyhow::Result<()>
where
    C: ConnectionTrait + StreamTrait,
{
    let mut rows = fund_arrival::Entity::find()
        .select_only()
        .columns([
            fund_arrival::Column::ArrivedOn,
            fund_arrival::Column::AmountYuan,
            fund_arrival::Column::CapitalOrigin,
            fund_arrival::Column::AmountUsdCents,
        ])
        .filter(fund_arrival::Column::ArrivedOn.lte(as_of))
        .apply_if(since, |q, d| q.filter(fund_arrival::Column::ArrivedOn.gte(d)))
        .apply_if(
            visible.via_project(fund_arrival::Column::ProjectId),
            QueryFilter::filter,
        )
        .into_tuple::<(NaiveDate, i64, CapitalOrigin, Option<i64>)>()
        .stream(db)
        .await?;
    while let Some((d, a, origin, cents)) = rows.try_next().await? {
        let f = &mut raw.funds;
        f.day.push(day(d));
        f.amount.push(a);
        f.domestic.push(if origin.is_foreign() { 0 } else { a });
        f.usd.push(if origin.is_foreign() { cents.unwrap_or(0) } else { 0 });
    }
    drop(rows);
    let mut rows = support_fund::Entity::find()
        .select_only()
        .columns([support_fund::Column::ApprovedOn, support_fund::Column::AmountYuan])
        .filter(support_fund::Column::ApprovedOn.lte(as_of))
        .apply_if(since, |q, d| q.filter(support_fund::Column::ApprovedOn.gte(d)))
        .apply_if(
            visible.via_company(support_fund::Column::CompanyId),
            QueryFilter::filter,
        )
        .into_tuple::<(NaiveDate, i64)>()
        .stream(db)
        .await?;
    while let Some((d, a)) = rows.try_next().await? {
        raw.support.0.push(day(d));
        raw.support.1.push(a);
    }
    Ok(())
}

/// Blockers: their category and dates (a resolution after the as-of date has not happened yet). With `since`, a
/// blocker opened and resolved before it counts in no period starting then or later; such blockers are read as one
/// row per category (dated the day before `since`), which keeps the category in the table, with zeros.
pub(super) async fn load_blockers<C>(
    db: &C,
    (since, as_of): (Option<NaiveDate>, NaiveDate),
    visible: &Visible,
    raw: &mut Raw,
) -> anyhow::Result<()>
where
    C: ConnectionTrait + StreamTrait,
{
    let (opened, resolved) = (blocker::Column::OpenedOn, blocker::Column::ResolvedOn);
    if let Some(since) = since {
        let before = since.pred_opt().unwrap_or(since);
        let categories = blocker::Entity::find()
            .select_only()
            .column(blocker::Column::Category)
            .distinct()
            .filter(opened.lt(since))
            .filter(resolved.lt(since))
            .apply_if(visible.via_project(blocker::Column::ProjectId), QueryFilter::filter)
            .into_tuple::<String>()
            .all(db)
            .await?;
        let b = &mut raw.blockers;
        for c in categories {
            b.category.push(c);
            b.opened.push(day(before));
            b.due.push(None);
            b.resolved.push(Some(day(before)));
        }
    }
    let counted = since.map(|since| {
        Condition::any()
            .add(opened.gte(since))
            .add(resolved.is_null())
            .add(resolved.gte(since))
    });
    let mut rows = blocker::Entity::find()
        .select_only()
        .columns([
            blocker::Column::Category,
            blocker::Column::OpenedOn,
            blocker::Column::DueDate,
            blocker::Column::ResolvedOn,
        ])
        .apply_if(visible.via_project(blocker::Column::ProjectId), QueryFilter::filter)
        .apply_if(counted, QueryFilter::filter)
        .into_tuple::<(String, NaiveDate, Option<NaiveDate>, Option<NaiveDate>)>()
        .stream(db)
        .await?;
    let b = &mut raw.blockers;
    while let Some((c, o, due, res)) = rows.try_next().await? {
        // Compared here, not in the query, as for the projects (ProjectColumns::reached_by).
        if o > as_of {
            continue;
        }
        b.category.push(c);
        b.opened.push(day(o));
        b.due.push(due.map(day));
        // A resolution dated after the as-of date has not happened yet.
        b.resolved.push(res.filter(|r| *r <= as_of).map(day));
    }
    Ok(())
}

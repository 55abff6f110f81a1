//! 到位资金: dated fund arrivals of a project (the sum is its funds arrived, a number apart from the agreed
//! investment).

use chrono::Utc;
use entity::{enums::CapitalOrigin, fund_arrival, project};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::{
    AppError, AppResult, Code, Dir, Kind, Msg, Order, Page, Paging, delete_versioned, find,
    input::{Day, Dollars, Money, Note, Patch, opt_string, set_some},
    insert_one, update_versioned,
};

/// A new fund arrival.
pub struct NewFundArrival {
    /// Date the funds arrived.
    pub arrived_on: Day,
    /// Origin of the capital; defaults to the project's (外资 when dollars are given for a 内资 project).
    pub capital_origin: Option<CapitalOrigin>,
    /// Amount in yuan: required for 内资; for foreign capital worked out from the dollars (and, when given, it must
    /// agree with them).
    pub amount: Option<Money>,
    /// Foreign capital: the dollars and their rate.
    pub dollars: Option<Dollars>,
    /// Note.
    pub note: Option<Note>,
}

/// Changes to a fund arrival.
pub struct FundArrivalChanges {
    /// The version the changes were made against.
    pub version: i32,
    /// Date the funds arrived.
    pub arrived_on: Option<Day>,
    /// Origin of the capital; a change to 内资 keeps the yuan amount and drops the dollars.
    pub capital_origin: Option<CapitalOrigin>,
    /// Amount in yuan.
    pub amount: Option<Money>,
    /// Foreign capital: the dollars and their rate, changed together.
    pub dollars: Option<Dollars>,
    /// Note.
    pub note: Patch<Note>,
}

const WHAT: Kind = Kind::FundArrival;

/// The amounts an arrival of `origin` stores: 内资 in yuan as given; foreign capital in dollars at their rate, the
/// yuan worked out from them. A yuan amount given beside the dollars must agree with them to within 0.5% (ledgers
/// round the converted figure); the worked-out one is kept.
pub fn settle(
    origin: CapitalOrigin,
    amount: Option<Money>,
    dollars: Option<Dollars>,
) -> AppResult<(Money, Option<Dollars>)> {
    let d = match (origin.is_foreign(), dollars) {
        (false, Some(_)) => {
            return Err(AppError::rule(
                Code::DollarsOnDomestic,
                Some("amount_usd"),
                Msg::new(
                    "a 内资 arrival is recorded in yuan, without dollars or a rate",
                    "内资到位以人民币计,不填美元金额和汇率",
                ),
            ));
        }
        (false, None) => {
            let a = amount.ok_or_else(|| AppError::invalid("amount", "amount is required", "请填写到位金额(万元)"))?;
            return Ok((a, None));
        }
        (true, None) => {
            return Err(AppError::invalid(
                "amount_usd",
                "foreign capital is recorded in US dollars (amount_usd) with its rate (usd_rate)",
                "外资、港澳台资到位须填美元金额(万美元)和汇率",
            ));
        }
        (true, Some(d)) => d,
    };
    let worked = d.as_money();
    if worked.as_yuan() == 0 {
        return Err(AppError::invalid(
            "amount_usd",
            "amount_usd comes to less than one yuan",
            "美元金额折合不足 1 元",
        ));
    }
    match amount {
        Some(a) if (a.as_yuan() - worked.as_yuan()).unsigned_abs() * 200 > worked.as_yuan().unsigned_abs() => {
            Err(AppError::invalid(
                "amount",
                format!(
                    "amount disagrees with amount_usd at usd_rate ({} 万元)",
                    worked.as_wan()
                ),
                format!("金额与美元金额按汇率折算的 {} 万元不符", worked.as_wan()),
            ))
        }
        _ => Ok((worked, Some(d))),
    }
}

/// The origin of a new arrival's capital: as given, else its project's; dollars on an arrival of a 内资 project say
/// it is 外资.
pub fn origin_of(project: CapitalOrigin, given: Option<CapitalOrigin>, dollars: bool) -> CapitalOrigin {
    given.unwrap_or(match project {
        CapitalOrigin::Domestic if dollars => CapitalOrigin::Foreign,
        o => o,
    })
}

/// Records funds arrived for a project.
pub async fn create(db: &impl ConnectionTrait, project_id: i64, n: NewFundArrival) -> AppResult<fund_arrival::Model> {
    let p = find::<project::Entity, _>(db, project_id, Kind::Project).await?;
    let origin = origin_of(p.capital_origin, n.capital_origin, n.dollars.is_some());
    let (amount, dollars) = settle(origin, n.amount, n.dollars)?;
    let now = Utc::now();
    let m = fund_arrival::ActiveModel {
        project_id: Set(project_id),
        arrived_on: Set(n.arrived_on.into()),
        amount_yuan: Set(amount.into()),
        capital_origin: Set(origin),
        amount_usd_cents: Set(dollars.map(|d| d.cents)),
        usd_rate_e4: Set(dollars.map(|d| d.rate_e4)),
        note: Set(opt_string(n.note)),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    insert_one(db, Kind::FundArrival, m).await
}

/// A page of a project's fund arrivals, newest first.
pub async fn list(db: &impl ConnectionTrait, project_id: i64, paging: Paging) -> AppResult<Page<fund_arrival::Model>> {
    find::<project::Entity, _>(db, project_id, Kind::Project).await?;
    let s = fund_arrival::Entity::find().filter(fund_arrival::Column::ProjectId.eq(project_id));
    paging
        .rows(
            db,
            s,
            Order(&[
                (fund_arrival::Column::ArrivedOn, Dir::Desc),
                (fund_arrival::Column::Id, Dir::Desc),
            ]),
        )
        .await
}

/// Changes a fund arrival.
pub async fn update(db: &impl ConnectionTrait, id: i64, c: FundArrivalChanges) -> AppResult<fund_arrival::Model> {
    let cur = find::<fund_arrival::Entity, _>(db, id, WHAT).await?;
    let origin = c.capital_origin.unwrap_or(cur.capital_origin);
    let (amount, dollars) = if origin.is_foreign() {
        let kept = cur
            .amount_usd_cents
            .zip(cur.usd_rate_e4)
            .map(|(cents, rate_e4)| Dollars { cents, rate_e4 });
        settle(origin, c.amount, c.dollars.or(kept))?
    } else {
        settle(origin, c.amount.or(Some(Money::yuan(cur.amount_yuan))), c.dollars)?
    };
    let mut m = fund_arrival::ActiveModel::default();
    set_some(&mut m.arrived_on, c.arrived_on);
    m.amount_yuan = Set(amount.into());
    m.capital_origin = Set(origin);
    m.amount_usd_cents = Set(dollars.map(|d| d.cents));
    m.usd_rate_e4 = Set(dollars.map(|d| d.rate_e4));
    c.note.apply(&mut m.note);
    update_versioned::<fund_arrival::Entity, _>(db, id, WHAT, c.version, m).await
}

/// Deletes a fund arrival.
pub async fn delete(db: &impl ConnectionTrait, id: i64, version: i32) -> AppResult<()> {
    delete_versioned::<fund_arrival::Entity, _>(db, id, WHAT, version).await
}

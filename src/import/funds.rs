//! The 到位资金 sheet: one row per arrival of funds, naming its project (and, where two projects share a name, its
//! company), the date and the amount: in 万元, or for foreign capital in 万美元 with its rate. An arrival is
//! matched by project, date and amount in yuan; projects are never created from a fund sheet.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use entity::enums::CapitalOrigin;

use super::{Outcome, RowReader, Target, layout::fields, refs::ProjectNames};
use crate::service::{
    AppResult,
    funds::{self, NewFundArrival},
    imports::{self, Touched},
    input::{Day, Dollars, Money, Name, Note},
};

fields! {
    /// A column of a fund sheet.
    Col;
    Project project "项目名称" Text required "年产10万套新能源汽车零部件项目" ["项目名称", "项目", "招商项目", "project"];
    Company company "企业名称" Text optional "精诚科技有限公司" ["企业名称", "投资方", "投资主体", "企业", "company"];
    ArrivedOn arrived_on "到位时间" Date required "2024-04-30" ["到位时间", "到位日期", "资金到位时间", "日期", "时间", "arrival date", "date"];
    Amount amount "到位资金(万元)" Amount optional "3000" ["到位资金", "到位金额", "本期到位", "本次到位资金", "实际到位资金", "金额", "折合人民币", "amount"];
    CapitalOrigin capital_origin "资本来源" Word optional "内资" ["资本来源", "内外资", "资金性质", "capital origin"];
    AmountUsd amount_usd "到位外资(万美元)" Number optional "" ["到位外资", "外资到位", "实际利用外资", "到位美元", "美元金额", "amount usd"];
    UsdRate usd_rate "汇率" Number optional "" ["汇率", "美元汇率", "折算汇率", "usd rate", "rate"];
    Note note "备注" Text optional "" ["备注", "资金来源", "说明", "note", "notes"];
}

/// A fund row, read and checked.
pub struct Row {
    line: usize,
    project: Name,
    company: Option<Name>,
    date: NaiveDate,
    amount: Money,
    capital_origin: Option<CapitalOrigin>,
    dollars: Option<Dollars>,
    note: Option<Note>,
}

super::ledger!(
    /// 到位资金台账.
    FundArrivals
);

/// Reads one row; `None` when it has errors (recorded in the reader's outcome).
fn read(r: &mut RowReader<'_>) -> Option<Row> {
    let project = r.required(Col::Project, |v| Name::parse("project", v));
    let company = r.text(Col::Company, |v| Name::parse_opt("company", Some(v)));
    let date = r.date(Col::ArrivedOn);
    if date.is_none() && !r.failed() {
        r.error_at(Col::ArrivedOn, "missing_value", "“到位时间”不能为空".into());
    }
    let given = r.amount(Col::Amount);
    let capital_origin = r.word(Col::CapitalOrigin, super::value::capital_origin);
    let dollars = r.dollars(Col::AmountUsd, Col::UsdRate);
    // The amount in yuan matches stored arrivals: foreign capital's is worked out from the dollars.
    let amount = given.or(dollars.map(Dollars::as_money));
    match amount {
        None if !r.failed() => r.error_at(Col::Amount, "missing_value", "“到位资金”不能为空".into()),
        Some(a) if a.as_yuan() == 0 => r.error_at(Col::Amount, "invalid_value", "到位资金应大于 0".into()),
        _ => {}
    }
    let note = r.text(Col::Note, |v| Note::parse_opt("note", Some(v)));
    if r.failed() {
        return None;
    }
    Some(Row {
        line: r.line(),
        project: project?,
        company,
        date: date?,
        amount: amount?,
        capital_origin,
        dollars,
        note,
    })
}

/// Matches the rows to the projects and their stored arrivals and, when `commit`, records the new arrivals through
/// the fund service in the caller's transaction.
async fn import(to: Target<'_>, rows: Vec<Row>, out: &mut Outcome) -> AppResult<Vec<Touched>> {
    let Target { db, actor, commit } = to;
    let names = ProjectNames::load(db, actor).await?;
    let mut found = Vec::with_capacity(rows.len());
    for row in rows {
        if let Some(id) = names.find(row.line, (&row.project, Col::Project), row.company.as_ref(), out) {
            found.push((id, row));
        }
    }
    let mut ids: Vec<i64> = found.iter().map(|(id, _)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    let origins = imports::origins_of(db, &ids).await?;
    let mut stored: HashSet<(i64, NaiveDate, i64)> = imports::funds_of(db, &ids).await?.into_iter().collect();
    let mut seen: HashMap<(i64, NaiveDate, i64), usize> = HashMap::new();
    let mut new = Vec::new();
    for (id, mut row) in found {
        let project = origins.get(&id).copied().unwrap_or_default();
        let origin = funds::origin_of(project, row.capital_origin, row.dollars.is_some());
        match funds::settle(origin, Some(row.amount), row.dollars) {
            Ok((amount, _)) => (row.amount, row.capital_origin) = (amount, Some(origin)),
            Err(e) => {
                out.error(super::issue_of(row.line, &e, out));
                continue;
            }
        }
        let key = (id, row.date, row.amount.as_yuan());
        if out.is_new(
            (&mut seen, &mut stored),
            key,
            row.line,
            "是同一笔到位资金(项目、日期、金额相同)",
        ) {
            new.push((id, row));
        }
    }
    if !commit || !out.may_write() {
        return Ok(Vec::new());
    }
    let mut touched = Vec::with_capacity(new.len());
    for (id, row) in new {
        let n = NewFundArrival {
            arrived_on: Day::parse("arrived_on", row.date)?,
            capital_origin: row.capital_origin,
            amount: Some(row.amount),
            dollars: row.dollars,
            note: row.note,
        };
        touched.push(Touched::NewFund(funds::create(db, id, n).await?.id));
    }
    Ok(touched)
}

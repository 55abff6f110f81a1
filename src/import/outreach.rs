//! The 外出招商/招商活动 ledger: one row per trip or event — its kind, city, dates, leading official, participants
//! and the companies met (several in one cell). An activity is matched by kind, city and first day; companies not
//! recorded yet are created.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use entity::enums::{Label, OutreachKind};
use sea_orm::Iterable;

use super::{
    Outcome, RowReader, Target,
    layout::fields,
    refs::{CompanyNames, resolved},
    sheet::Cell,
    value::{Bad, name_key, norm},
    visits::split,
};
use crate::service::{
    AppResult,
    imports::{self, Touched},
    input::{Name, Place, Short, names},
    outreach::{self as svc, NewOutreach},
    visits::Summary,
};

fields! {
    /// A column of an outreach ledger.
    Col;
    Kind kind "活动类型" Word optional "外出招商" ["活动类型", "类型", "活动形式", "形式", "kind"];
    City city "城市" Text required "深圳" ["城市", "地点", "目的地", "活动地点", "前往城市", "city"];
    StartDate start_date "开始日期" Date required "2024-04-08" ["开始日期", "开始时间", "出发时间", "出发日期", "活动时间", "活动日期", "日期", "start date"];
    EndDate end_date "结束日期" Date optional "2024-04-10" ["结束日期", "结束时间", "返回时间", "返回日期", "end date"];
    LeadingOfficial leading_official "带队领导" Text optional "王局长" ["带队领导", "带队", "leading official"];
    Participants participants "参加人员" Text optional "张科员、李科员" ["参加人员", "随行人员", "participants"];
    Companies companies "拜访企业" Text optional "精诚科技有限公司" ["拜访企业", "对接企业", "洽谈企业", "走访企业", "companies"];
    Notes notes "活动成效" Text optional "达成合作意向2个" ["活动成效", "成效", "备注", "notes"];
}

/// An activity's kind by its label (外出招商, 推介会, 论坛, 驻点招商) or a word near it.
fn kind(cell: &Cell) -> Result<OutreachKind, Bad> {
    let t = norm(&cell.display());
    if let Some(k) = OutreachKind::iter().find(|k| k.label() == t) {
        return Ok(k);
    }
    Ok(match t.as_str() {
        "外出" | "招商活动" | "拜访" | "考察" => OutreachKind::Trip,
        "推介" | "招商推介会" | "专场推介会" | "对接会" => OutreachKind::PromotionEvent,
        "峰会" | "会议" | "博览会" | "展会" => OutreachKind::Forum,
        "驻点" | "驻外招商" => OutreachKind::ResidentCampaign,
        _ => {
            return Err((
                "unknown_kind",
                format!("无法识别的活动类型“{t}”(应为 {})", super::value::words::OUTREACH_KINDS),
            ));
        }
    })
}

/// An activity row, read and checked.
pub struct Row {
    line: usize,
    kind: OutreachKind,
    city: Place,
    start: NaiveDate,
    end: Option<NaiveDate>,
    leading_official: Option<Short>,
    participants: Option<Vec<String>>,
    companies: Vec<Name>,
    notes: Option<Summary>,
}

super::ledger!(
    /// 招商活动台账.
    Outreach
);

/// Reads one row; `None` when it has errors (recorded in the reader's outcome).
fn read(r: &mut RowReader<'_>) -> Option<Row> {
    let kind = r.word(Col::Kind, kind);
    let city = r.required(Col::City, |v| Place::parse("city", v));
    let start = r.date(Col::StartDate);
    if start.is_none() && !r.failed() {
        r.error_at(Col::StartDate, "missing_value", "“开始日期”不能为空".into());
    }
    let end = r.date(Col::EndDate);
    if let (Some(s), Some(e)) = (start, end)
        && e < s
    {
        r.error_at(Col::EndDate, "invalid_value", format!("结束日期 {e} 早于开始日期 {s}"));
    }
    let leading_official = r.text(Col::LeadingOfficial, |v| Short::parse_opt("leading_official", Some(v)));
    let participants = r.text(Col::Participants, |v| names("participants", Some(split(v))).map(Some));
    let companies = r
        .text(Col::Companies, |v| {
            let mut seen = HashSet::new();
            split(v)
                .into_iter()
                .filter(|n| seen.insert(name_key(n)))
                .map(|n| Name::parse("companies", &n))
                .collect::<AppResult<Vec<_>>>()
                .map(Some)
        })
        .unwrap_or_default();
    let notes = r.text(Col::Notes, |v| Summary::parse_opt("notes", Some(v)));
    if r.failed() {
        return None;
    }
    Some(Row {
        line: r.line(),
        kind: kind.unwrap_or(OutreachKind::Trip),
        city: city?,
        start: start?,
        end,
        leading_official,
        participants,
        companies,
        notes,
    })
}

/// Matches the rows to the activities stored and, when `commit`, records the new ones (and the companies they met
/// that are not recorded yet) through the services in the caller's transaction.
async fn import(to: Target<'_>, rows: Vec<Row>, out: &mut Outcome) -> AppResult<Vec<Touched>> {
    let Target { db, actor, commit } = to;
    let mut companies = CompanyNames::load(db).await?;
    let mut stored: HashSet<(OutreachKind, String, NaiveDate)> = imports::outreach_keys(db)
        .await?
        .into_iter()
        .map(|(k, city, d)| (k, name_key(&city), d))
        .collect();
    let mut seen: HashMap<(OutreachKind, String, NaiveDate), usize> = HashMap::new();
    let mut plans: Vec<(Row, Vec<i64>)> = Vec::new();
    for row in rows {
        let key = (row.kind, name_key(row.city.as_str()), row.start);
        if out.is_new(
            (&mut seen, &mut stored),
            key,
            row.line,
            "是同一次活动(类型、城市、开始日期相同)",
        ) {
            let ids = companies.ids(&row.companies);
            plans.push((row, ids));
        }
    }
    let used = CompanyNames::placeholders(plans.iter().map(|(_, ids)| ids));
    out.companies_created = used.len();
    if !commit || !out.may_write() {
        return Ok(Vec::new());
    }
    let mut touched = Vec::new();
    let created = companies.create(db, used, &mut touched).await?;
    for (row, ids) in plans {
        let n = NewOutreach {
            kind: row.kind,
            city: row.city,
            start_date: row.start,
            end_date: row.end,
            leading_official: row.leading_official,
            participants: row.participants,
            company_ids: resolved(ids, &created),
            notes: row.notes,
            owner_id: None,
        };
        touched.push(Touched::NewOutreach(svc::create(db, actor, n).await?.outreach.id));
    }
    Ok(touched)
}

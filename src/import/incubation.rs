//! The 高企培育 ledger: one row per company and cohort year, with the dates of its stages (纳入培育 / 申报 / 评审通过
//! / 备案, or 未通过). A candidate is matched by company and cohort year; a later stage date becomes a new stage
//! event, in order, by the same rules as projects.

use std::collections::{HashMap, HashSet};

use chrono::Datelike;
use entity::{enums::IncubationStage, incubation_candidate as candidate, pipeline::Event};
use sea_orm::DatabaseExecutor;

use super::{
    Issue, Outcome, RowReader, Target,
    layout::fields,
    refs::CompanyNames,
    stages::{self, Dated},
};
use crate::service::{
    Actor, AppResult,
    history::StageMove,
    imports::{self, CandidateBefore, Touched},
    incubation::{self as svc, NewCandidate},
    input::{Day, Name, Note},
};

fields! {
    /// A column of an incubation ledger.
    Col;
    Company company "企业名称" Text required "精诚科技有限公司" ["企业名称", "培育企业", "企业", "company"];
    CohortYear cohort_year "培育年度" Number optional "2024" ["培育年度", "入库年度", "年度", "批次", "cohort year"];
    CultivatingOn cultivating_on "纳入培育时间" Date optional "2024-03-01" ["纳入培育时间", "入库时间", "纳入时间", "cultivating date"];
    AppliedOn applied_on "申报时间" Date optional "2024-06-15" ["申报时间", "申报日期", "application date"];
    ApprovedOn approved_on "评审通过时间" Date optional "" ["评审通过时间", "认定时间", "通过时间", "approval date"];
    FiledOn filed_on "备案时间" Date optional "" ["备案时间", "备案日期", "filing date"];
    FailedOn failed_on "未通过时间" Date optional "" ["未通过时间", "退出时间", "failed date"];
    FailReason fail_reason "未通过原因" Text optional "" ["未通过原因", "退出原因", "fail reason"];
    Notes notes "备注" Text optional "" ["备注", "notes"];
}

const STAGE_DATES: [(IncubationStage, Col); 5] = [
    (IncubationStage::Cultivating, Col::CultivatingOn),
    (IncubationStage::Applied, Col::AppliedOn),
    (IncubationStage::Approved, Col::ApprovedOn),
    (IncubationStage::Filed, Col::FiledOn),
    (IncubationStage::Failed, Col::FailedOn),
];

/// A candidate row, read and checked.
pub struct Row {
    line: usize,
    company: Name,
    cohort_year: i32,
    dates: Dated<IncubationStage>,
    fail_reason: Option<Note>,
    notes: Option<Note>,
}

super::ledger!(
    /// 高企培育台账.
    Incubation
);

/// Reads one row; `None` when it has errors (recorded in the reader's outcome).
fn read(r: &mut RowReader<'_>) -> Option<Row> {
    let company = r.required(Col::Company, |v| Name::parse("company", v));
    let year = r.quantity(Col::CohortYear);
    if year.is_some_and(|y| y.fract() != 0.0 || !(1990.0..=2100.0).contains(&y)) {
        r.error_at(Col::CohortYear, "invalid_value", "培育年度应为年份,如 2024".into());
    }
    let dates = stages::read(r, &STAGE_DATES);
    if dates.iter().all(|(s, ..)| *s == IncubationStage::Failed) && !r.failed() {
        r.error_at(
            Col::CultivatingOn,
            "missing_stage_date",
            "至少需要一个时间节点(如纳入培育时间、申报时间)".into(),
        );
    }
    let fail_reason = r.text(Col::FailReason, |v| Note::parse_opt("fail_reason", Some(v)));
    let notes = r.text(Col::Notes, |v| Note::parse_opt("notes", Some(v)));
    if r.failed() {
        return None;
    }
    let first = dates.first().map(|(_, d, _)| d.year())?;
    Some(Row {
        line: r.line(),
        company: company?,
        cohort_year: year.map_or(first, |y| y as i32),
        dates,
        fail_reason: fail_reason.or_else(|| Note::parse_opt("fail_reason", Some("台账标注为未通过")).ok().flatten()),
        notes,
    })
}

/// Matches the rows to the candidates stored and, when `commit`, records the new ones (and companies not recorded
/// yet) and the later stages of stored ones through the incubation service in the caller's transaction.
async fn import(to: Target<'_>, rows: Vec<Row>, out: &mut Outcome) -> AppResult<Vec<Touched>> {
    let Target { db, actor, commit } = to;
    let mut companies = CompanyNames::load(db).await?;
    let (stored, mut events) = imports::candidates(db).await?;
    let mut by_key: HashMap<(i64, i32), candidate::Model> =
        stored.into_iter().map(|c| ((c.company_id, c.cohort_year), c)).collect();
    let mut seen: HashMap<(i64, i32), usize> = HashMap::new();
    let (mut new, mut later): (Vec<(i64, Row)>, Vec<Later>) = (Vec::new(), Vec::new());
    for row in rows {
        let company = companies.ids(std::slice::from_ref(&row.company))[0];
        if let Some(first) = seen.insert((company, row.cohort_year), row.line) {
            out.error(Issue::at(
                row.line,
                out.column(Col::Company),
                Some(row.company.as_str()),
                "duplicate_row",
                format!("与第 {first} 行是同一培育对象(企业、年度相同)"),
            ));
            continue;
        }
        match by_key.remove(&(company, row.cohort_year)) {
            None => {
                out.created += 1;
                new.push((company, row));
            }
            Some(c) => {
                let stored = events.remove(&c.id).unwrap_or_default();
                let history: Vec<Event<IncubationStage>> = stored
                    .iter()
                    .map(|e| Event {
                        stage: e.stage,
                        occurred_on: e.occurred_on,
                    })
                    .collect();
                let Some(add) = stages::later(row.line, &row.dates, &history, "培育对象", out) else {
                    continue;
                };
                if add.is_empty() {
                    out.unchanged += 1;
                } else {
                    out.updated += 1;
                    let last = stored.iter().map(|e| e.id).max().unwrap_or(0);
                    later.push((
                        CandidateBefore::of(&c, last),
                        c.id,
                        stages::moves(add, row.fail_reason.as_ref())?,
                    ));
                }
            }
        }
    }
    let used: HashSet<i64> = new.iter().map(|(id, _)| *id).filter(|id| *id < 0).collect();
    out.companies_created = used.len();
    if !commit || !out.may_write() {
        return Ok(Vec::new());
    }
    write(db, actor, companies, used, new, later).await
}

/// A stored candidate to move on: what it was, its id, the moves.
type Later = (CandidateBefore, i64, Vec<StageMove<IncubationStage>>);

/// Creates the companies not recorded and the new candidates with their histories, then moves the stored ones on.
async fn write(
    db: &DatabaseExecutor<'_>,
    actor: &Actor,
    companies: CompanyNames,
    used: HashSet<i64>,
    new: Vec<(i64, Row)>,
    later: Vec<Later>,
) -> AppResult<Vec<Touched>> {
    let mut touched = Vec::new();
    let created = companies.create(db, used, &mut touched).await?;
    let mut list = Vec::with_capacity(new.len());
    for (company, row) in new {
        let mut dates = row.dates.iter().map(|(s, d, _)| (*s, *d));
        let (stage, first) = dates.next().expect("a read row has a dated stage");
        let rest = stages::moves(dates, row.fail_reason.as_ref())?;
        let n = NewCandidate {
            company_id: created.get(&company).copied().unwrap_or(company),
            cohort_year: i64::from(row.cohort_year),
            stage: Some(stage),
            occurred_on: Day::parse("occurred_on", first)?,
            note: Note::parse_opt("note", Some("台账导入"))?,
            notes: row.notes,
            owner_id: None,
        };
        list.push((n, rest));
    }
    touched.extend(
        svc::create_many(db, actor, list)
            .await?
            .into_iter()
            .map(Touched::NewCandidate),
    );
    for (before, id, steps) in later {
        for m in steps {
            svc::move_stage(db, actor, id, m).await?;
        }
        touched.push(Touched::Candidate(id, before));
    }
    Ok(touched)
}

//! The 来访接待登记表: one row per visit (one batch, 批), its date, the visiting companies (several in one cell,
//! separated by 、 , ; or line breaks) and its headcount (人次). A visit is matched by date, companies and
//! headcount; companies not recorded yet are created.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;

use super::{
    Outcome, RowReader, Target,
    layout::fields,
    refs::{CompanyNames, resolved},
    value::{name_key, norm},
};
use crate::service::{
    AppResult,
    imports::{self, Touched},
    input::{Day, Name, names},
    visits::{self, NewVisit, Purpose, Summary},
};

fields! {
    /// A column of a visit register.
    Col;
    VisitDate visit_date "来访日期" Date required "2024-03-15" ["来访日期", "来访时间", "接待日期", "接待时间", "日期", "时间", "visit date", "date"];
    Companies companies "来访单位" Text required "精诚科技有限公司、中燃公司" ["来访单位", "来访企业", "来访客商", "客商单位", "企业名称", "单位名称", "企业", "companies", "company"];
    Headcount headcount "来访人数" Number required "5" ["来访人数", "人数", "人次", "来访人次", "headcount"];
    ReceivingLeaders receiving_leaders "接待领导" Text optional "王局长、李主任" ["接待领导", "接待人", "参加领导", "receiving leaders"];
    Staff staff "陪同人员" Text optional "张科员" ["陪同人员", "陪同", "staff"];
    Purpose purpose "来访事由" Text optional "考察新能源项目选址" ["来访事由", "事由", "来访目的", "洽谈内容", "purpose"];
    Summary summary "接待情况" Text optional "" ["接待情况", "洽谈情况", "备注", "summary", "notes"];
}

/// A visit row, read and checked.
pub struct Row {
    line: usize,
    date: NaiveDate,
    companies: Vec<Name>,
    headcount: i64,
    leaders: Option<Vec<String>>,
    staff: Option<Vec<String>>,
    purpose: Option<Purpose>,
    summary: Option<Summary>,
}

/// The names in one cell: separated by 、 , ; / or line breaks.
pub fn split(cell: &str) -> Vec<String> {
    norm(cell)
        .split(['、', ',', ';', '/', '\n', '，', '；'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

super::ledger!(
    /// 来访接待登记表.
    Visits
);

/// Reads one row; `None` when it has errors (recorded in the reader's outcome).
fn read(r: &mut RowReader<'_>) -> Option<Row> {
    let date = r.date(Col::VisitDate);
    if date.is_none() && !r.failed() {
        r.error_at(Col::VisitDate, "missing_value", "“来访日期”不能为空".into());
    }
    let companies = r.required(Col::Companies, |v| {
        let mut seen = HashSet::new();
        split(v)
            .into_iter()
            .filter(|n| seen.insert(name_key(n)))
            .map(|n| Name::parse("companies", &n))
            .collect::<AppResult<Vec<_>>>()
    });
    let headcount = r.quantity(Col::Headcount);
    match headcount {
        None if !r.failed() => r.error_at(Col::Headcount, "missing_value", "“来访人数”不能为空".into()),
        Some(n) if n.fract() != 0.0 || !(1.0..=10_000.0).contains(&n) => {
            r.error_at(Col::Headcount, "invalid_value", "来访人数应为 1 至 10000 的整数".into());
        }
        _ => {}
    }
    let leaders = r.text(Col::ReceivingLeaders, |v| {
        names("receiving_leaders", Some(split(v))).map(Some)
    });
    let staff = r.text(Col::Staff, |v| names("staff", Some(split(v))).map(Some));
    let purpose = r.text(Col::Purpose, |v| Purpose::parse_opt("purpose", Some(v)));
    let summary = r.text(Col::Summary, |v| Summary::parse_opt("summary", Some(v)));
    if r.failed() {
        return None;
    }
    Some(Row {
        line: r.line(),
        date: date?,
        companies: companies?,
        headcount: headcount? as i64,
        leaders,
        staff,
        purpose,
        summary,
    })
}

/// Matches the rows to the visits stored in the file's date range and, when `commit`, records the new ones (and
/// the companies they name that are not recorded yet) through the services in the caller's transaction.
async fn import(to: Target<'_>, rows: Vec<Row>, out: &mut Outcome) -> AppResult<Vec<Touched>> {
    let Target { db, actor, commit } = to;
    let mut companies = CompanyNames::load(db).await?;
    let range = (rows.iter().map(|r| r.date).min(), rows.iter().map(|r| r.date).max());
    let mut stored: HashSet<(NaiveDate, Vec<i64>, i64)> = match range {
        (Some(from), Some(to)) => imports::visits_between(db, from, to).await?.into_iter().collect(),
        _ => HashSet::new(),
    };
    let mut seen: HashMap<(NaiveDate, Vec<i64>, i64), usize> = HashMap::new();
    let mut plans: Vec<(Row, Vec<i64>)> = Vec::new();
    for row in rows {
        let ids = companies.ids(&row.companies);
        let key = (row.date, ids.clone(), row.headcount);
        if out.is_new(
            (&mut seen, &mut stored),
            key,
            row.line,
            "是同一次来访(日期、单位、人数相同)",
        ) {
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
    let list = plans
        .into_iter()
        .map(|(row, ids)| NewVisit {
            visit_date: Day::parse("visit_date", row.date).expect("checked when read"),
            headcount: row.headcount,
            company_ids: resolved(ids, &created),
            project_ids: Vec::new(),
            receiving_leaders: row.leaders,
            staff: row.staff,
            purpose: row.purpose,
            summary: row.summary,
            owner_id: None,
        })
        .collect();
    touched.extend(
        visits::create_many(db, actor, list)
            .await?
            .into_iter()
            .map(Touched::NewVisit),
    );
    Ok(touched)
}

//! The 问题台账: one row per blocker of a recorded project — what the problem is, who owns it, when it is due, and
//! how far it got (待解决 / 推进中 / 已解决 with the resolution). A blocker is matched by project and normalised
//! problem text; a corrected ledger updates its status, resolution, owner and due date.

use std::collections::HashMap;

use entity::{
    blocker,
    enums::{BlockerCategory, BlockerStatus, Label},
};
use sea_orm::Iterable;

use super::{
    Issue, Outcome, RowReader, Target,
    layout::fields,
    refs::ProjectNames,
    sheet::Cell,
    value::{Bad, name_key, norm},
};
use crate::service::{
    AppResult,
    blockers::{self as svc, BlockerChanges, NewBlocker},
    imports::{self, BlockerBefore, Touched},
    input::{Name, Patch, Short, today},
    projects::Unit,
    visits::Summary,
};

fields! {
    /// A column of a blocker ledger.
    Col;
    Project project "项目名称" Text required "年产10万套新能源汽车零部件项目" ["项目名称", "项目", "所属项目", "project"];
    Company company "企业名称" Text optional "精诚科技有限公司" ["企业名称", "投资方", "企业", "company"];
    Title title "存在问题" Text required "厂房用电增容审批未完成" ["存在问题", "问题", "难题", "问题描述", "困难问题", "问题及诉求", "blocker", "problem"];
    Category category "问题类别" Word optional "审批" ["问题类别", "类别", "问题类型", "category"];
    OwnerUnit owner_unit "责任单位" Text optional "发改局" ["责任单位", "牵头单位", "承办单位", "owner unit"];
    AssignedLeader assigned_leader "协调领导" Text optional "王局长" ["协调领导", "包联领导", "责任领导", "assigned leader"];
    OpenedOn opened_on "提出时间" Date optional "2024-04-01" ["提出时间", "提出日期", "登记时间", "反映时间", "opened on"];
    DueDate due_date "办结时限" Date optional "2024-05-31" ["办结时限", "完成时限", "时限", "期限", "due date"];
    Status status "办理状态" Word optional "推进中" ["办理状态", "状态", "解决状态", "进展", "status"];
    Resolution resolution "解决情况" Text optional "" ["解决情况", "办理结果", "办理情况", "解决措施", "resolution"];
    ResolvedOn resolved_on "解决时间" Date optional "" ["解决时间", "办结时间", "办结日期", "resolved on"];
}

/// A blocker's status as ledgers write it.
fn status(cell: &Cell) -> Result<BlockerStatus, Bad> {
    let t = norm(&cell.display());
    Ok(match t.as_str() {
        "待解决" | "未解决" | "未办结" | "待办" | "未启动" => BlockerStatus::Open,
        "推进中" | "办理中" | "正在解决" | "协调中" | "跟进中" => BlockerStatus::InProgress,
        "已解决" | "已办结" | "办结" | "完成" | "已完成" => BlockerStatus::Resolved,
        _ => {
            return Err((
                "unknown_status",
                format!(
                    "无法识别的办理状态“{t}”(应为 {})",
                    super::value::words::BLOCKER_STATUSES
                ),
            ));
        }
    })
}

/// A blocker's category by its Chinese label (资金, 用地, 招工, 配套, 审批, 其他).
fn category(cell: &Cell) -> Result<BlockerCategory, Bad> {
    let t = norm(&cell.display());
    BlockerCategory::iter()
        .find(|c| c.label() == t || t.starts_with(c.label()))
        .ok_or_else(|| {
            (
                "unknown_category",
                format!(
                    "无法识别的问题类别“{t}”(应为 {})",
                    super::value::words::BLOCKER_CATEGORIES
                ),
            )
        })
}

/// A blocker row, read and checked.
pub struct Row {
    line: usize,
    project: Name,
    company: Option<Name>,
    blocker: NewBlocker,
}

super::ledger!(
    /// 问题台账.
    Blockers
);

/// Reads one row; `None` when it has errors (recorded in the reader's outcome).
fn read(r: &mut RowReader<'_>) -> Option<Row> {
    let project = r.required(Col::Project, |v| Name::parse("project", v));
    let company = r.text(Col::Company, |v| Name::parse_opt("company", Some(v)));
    let title = r.required(Col::Title, |v| Name::parse("title", v));
    let category = r.word(Col::Category, category);
    let owner_unit = r.text(Col::OwnerUnit, |v| Unit::parse_opt("owner_unit", Some(v)));
    let assigned_leader = r.text(Col::AssignedLeader, |v| Short::parse_opt("assigned_leader", Some(v)));
    let opened_on = r.date(Col::OpenedOn);
    let due_date = r.date(Col::DueDate);
    let status = r.word(Col::Status, status);
    let resolution = r.text(Col::Resolution, |v| Summary::parse_opt("resolution", Some(v)));
    let resolved_on = r.date(Col::ResolvedOn);
    if r.failed() {
        return None;
    }
    if opened_on.is_none() {
        r.warn_at(
            Col::OpenedOn,
            "no_opened_on",
            format!("没有提出时间,按导入当天({})计", today()),
        );
    }
    Some(Row {
        line: r.line(),
        project: project?,
        company,
        blocker: NewBlocker {
            title: title?,
            category: category.unwrap_or(BlockerCategory::Other),
            owner_unit,
            assigned_leader,
            opened_on,
            due_date,
            status,
            resolution,
            resolved_on,
        },
    })
}

/// What a row does.
enum Plan {
    Create(i64, NewBlocker),
    Update(Box<blocker::Model>, BlockerChanges),
}

/// What a row changes in a stored blocker: the fields it gives differently (a blank cell never clears one).
fn changes(n: &NewBlocker, b: &blocker::Model) -> Option<(BlockerChanges, NewBlocker)> {
    fn differ<T: Clone + PartialEq>(given: &Option<T>, stored: &Option<T>) -> Patch<T> {
        match given {
            Some(v) if stored.as_ref() != Some(v) => Patch::Set(v.clone()),
            _ => Patch::Keep,
        }
    }
    let text = |given: &Option<String>, stored: &Option<String>| differ(given, stored);
    let c = BlockerChanges {
        version: b.version,
        title: None,
        category: (n.category != BlockerCategory::Other && n.category != b.category).then_some(n.category),
        owner_unit: match text(&n.owner_unit.clone().map(String::from), &b.owner_unit) {
            Patch::Set(_) => Patch::from_opt(n.owner_unit.clone()),
            _ => Patch::Keep,
        },
        assigned_leader: match text(&n.assigned_leader.clone().map(String::from), &b.assigned_leader) {
            Patch::Set(_) => Patch::from_opt(n.assigned_leader.clone()),
            _ => Patch::Keep,
        },
        opened_on: None,
        due_date: differ(&n.due_date, &b.due_date),
        status: n.status.filter(|s| *s != b.status),
        resolution: match text(&n.resolution.clone().map(String::from), &b.resolution) {
            Patch::Set(_) => Patch::from_opt(n.resolution.clone()),
            _ => Patch::Keep,
        },
        resolved_on: differ(&n.resolved_on, &b.resolved_on),
    };
    let changed = c.category.is_some()
        || c.status.is_some()
        || [
            c.owner_unit.changes(),
            c.assigned_leader.changes(),
            c.due_date.changes(),
            c.resolution.changes(),
            c.resolved_on.changes(),
        ]
        .contains(&true);
    if !changed {
        return None;
    }
    // The blocker as it would be after the changes, for the rules to check.
    let after = NewBlocker {
        title: n.title.clone(),
        category: c.category.unwrap_or(b.category),
        owner_unit: None,
        assigned_leader: None,
        opened_on: Some(b.opened_on),
        due_date: c.due_date.clone().after(b.due_date),
        status: Some(c.status.unwrap_or(b.status)),
        resolution: n.resolution.clone().or_else(|| {
            b.resolution
                .as_deref()
                .and_then(|r| Summary::parse_opt("resolution", Some(r)).ok().flatten())
        }),
        resolved_on: c.resolved_on.clone().after(b.resolved_on),
    };
    Some((c, after))
}

/// Matches the rows to the projects and their stored blockers and, when `commit`, writes them through the blocker
/// service in the caller's transaction. The rules of a blocker (dates in order, a resolution for a resolved one,
/// resolving needs a leader) are checked for every row before anything is written.
async fn import(to: Target<'_>, rows: Vec<Row>, out: &mut Outcome) -> AppResult<Vec<Touched>> {
    let Target { db, actor, commit } = to;
    let names = ProjectNames::load(db, actor).await?;
    let found: Vec<(i64, Row)> = rows
        .into_iter()
        .filter_map(|row| {
            names
                .find(row.line, (&row.project, Col::Project), row.company.as_ref(), out)
                .map(|id| (id, row))
        })
        .collect();
    let ids: Vec<i64> = found.iter().map(|(id, _)| *id).collect();
    let mut stored: HashMap<(i64, String), blocker::Model> = imports::blockers_of(db, &ids)
        .await?
        .into_iter()
        .map(|b| ((b.project_id, name_key(&b.title)), b))
        .collect();
    let mut seen: HashMap<(i64, String), usize> = HashMap::new();
    let mut plans = Vec::new();
    for (id, row) in found {
        let key = (id, name_key(row.blocker.title.as_str()));
        if let Some(first) = seen.insert(key.clone(), row.line) {
            out.error(Issue::at(
                row.line,
                out.column(Col::Title),
                Some(row.blocker.title.as_str()),
                "duplicate_row",
                format!("与第 {first} 行是同一问题"),
            ));
            continue;
        }
        let (plan, checked, resolved_before) = match stored.remove(&key) {
            None => {
                let n = row.blocker.clone();
                (Some(Plan::Create(id, row.blocker)), n, false)
            }
            Some(b) => match changes(&row.blocker, &b) {
                None => (None, row.blocker, true),
                Some((c, after)) => {
                    let before = b.status == BlockerStatus::Resolved;
                    (Some(Plan::Update(Box::new(b), c)), after, before)
                }
            },
        };
        if let Err(e) = svc::check(actor, &checked, resolved_before) {
            out.error(super::issue_of(row.line, &e, out));
            continue;
        }
        match &plan {
            Some(Plan::Create(..)) => out.created += 1,
            Some(Plan::Update(..)) => out.updated += 1,
            None => out.unchanged += 1,
        }
        plans.extend(plan);
    }
    if !commit || !out.may_write() {
        return Ok(Vec::new());
    }
    let mut touched = Vec::with_capacity(plans.len());
    for plan in plans {
        match plan {
            Plan::Create(project, n) => {
                touched.push(Touched::NewBlocker(
                    svc::create(db, actor, project, n).await?.blocker.id,
                ));
            }
            Plan::Update(b, c) => {
                svc::update(db, actor, b.id, c).await?;
                touched.push(Touched::Blocker(b.id, BlockerBefore::of(&b)));
            }
        }
    }
    Ok(touched)
}

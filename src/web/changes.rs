//! 变更记录: a record's changes from the audit trail beside the record, newest first, in Chinese: who, when, and
//! each field with its value before and after.

use std::collections::HashMap;

use entity::{audit_entry, company, project, user};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::Serialize;
use serde_json::Value;

use crate::service::{
    AppResult, Kind, Paging,
    audit::{self, FieldChange},
};

/// The changes shown: the newest this many.
const SHOWN: u64 = 50;

/// One entry of a record's history as the page shows it.
#[derive(Serialize)]
pub struct Change {
    at: String,
    action: &'static str,
    by: String,
    door: &'static str,
    fields: Vec<Field>,
    /// The kind of record (its canonical name) and its id, its Chinese name and its page, when it has one.
    entity: Option<String>,
    id: Option<i64>,
    kind: Option<&'static str>,
    link: Option<String>,
    /// What the log holds beyond the fields, and where the action came from.
    action_name: String,
    username: Option<String>,
    path: String,
    addr: Option<String>,
    detail: Option<String>,
}

/// One field of a change: its label, was and became.
#[derive(Serialize)]
pub struct Field {
    label: String,
    was: String,
    became: String,
}

/// The newest changes of record `id` of `kind` (the caller has checked that the user may read the record).
pub async fn of(db: &impl ConnectionTrait, kind: Kind, id: i64) -> AppResult<Vec<Change>> {
    let filter = audit::Filter {
        entity: Some(kind.name().to_owned()),
        entity_id: Some(id),
        ..Default::default()
    };
    let list = audit::list(db, filter, Paging::new(Some(1), Some(SHOWN))?).await?.items;
    entries(db, list).await
}

/// Entries of the audit log as the pages show them: in Chinese, each field with its value before and after, people,
/// companies and projects by name.
pub async fn entries(db: &impl ConnectionTrait, entries: Vec<audit_entry::Model>) -> AppResult<Vec<Change>> {
    let entries: Vec<(audit_entry::Model, Vec<FieldChange>)> = entries
        .into_iter()
        .map(|mut e| {
            let changes = e
                .changes
                .take()
                .and_then(|c| serde_json::from_value(c).ok())
                .unwrap_or_default();
            (e, changes)
        })
        .collect();
    let names = Names::of(db, &entries).await?;
    let labels = super::labels();
    Ok(entries
        .into_iter()
        .map(|(e, changes)| {
            let kind = e.entity.as_deref().and_then(|k| k.parse::<Kind>().ok());
            let action_name = e.action;
            Change {
                at: super::local_time(e.at),
                action: action_label(&action_name),
                by: e
                    .user_id
                    .and_then(|u| names.users.get(&u).cloned())
                    .or(e.username.clone())
                    .unwrap_or_else(|| "系统".to_owned()),
                door: match e.door.as_str() {
                    "web" => "网页",
                    "api" => "接口",
                    "cli" => "命令行",
                    "job" => "任务",
                    _ => "",
                },
                fields: changes
                    .iter()
                    .filter(|c| !c.field.starts_with("reached_"))
                    .map(|c| field(kind.unwrap_or(Kind::Route), c, &labels, &names))
                    .collect(),
                link: kind.zip(e.entity_id).and_then(|(k, id)| page_of(k, id)),
                kind: kind.map(Kind::zh),
                entity: e.entity,
                id: e.entity_id,
                action_name: action_name.clone(),
                username: e.username,
                path: e.path,
                addr: e.client_addr,
                detail: detail(&action_name, e.detail),
            }
        })
        .collect())
}

/// What an entry holds beyond its fields, as the page shows it: a failed sign-in's reason in Chinese; nothing for a
/// stage move (its event is on the record's timeline); the rest as stored.
fn detail(action: &str, detail: Option<Value>) -> Option<String> {
    let d = detail?;
    match action {
        "stage_move" => None,
        "login_failure" => Some(
            match d["reason"].as_str().unwrap_or_default() {
                "unknown user" => "用户不存在",
                "wrong password" => "密码错误",
                "locked" => "账号已锁定",
                "locked for this address" => "该地址已被锁定",
                "disabled" => "账号已停用",
                "rate limited" => "尝试过于频繁",
                other => other,
            }
            .to_owned(),
        ),
        _ => Some(d.to_string()),
    }
}

/// The page of a record, for the kinds that have one.
fn page_of(kind: Kind, id: i64) -> Option<String> {
    let base = match kind {
        Kind::Project => "/projects",
        Kind::Company => "/companies",
        Kind::Outreach => "/outreach",
        Kind::Partner => "/partners",
        Kind::Candidate => "/incubation",
        Kind::Visit => "/visits",
        Kind::Blocker => "/blockers",
        _ => return None,
    };
    Some(format!("{base}/{id}"))
}

/// An action in Chinese.
fn action_label(action: &str) -> &'static str {
    match action {
        "create" => "新建",
        "update" => "修改",
        "delete" => "删除",
        "stage_move" => "阶段变更",
        "refused" => "被拒绝",
        "login_success" => "登录",
        "login_failure" => "登录失败",
        "logout" => "退出登录",
        "session_end" => "结束会话",
        "session_expired" => "会话超时",
        "lockout" => "账号锁定",
        "unlock" => "解除锁定",
        "token_first_use" => "令牌首次使用",
        "token_revoke" => "吊销令牌",
        "export" => "导出",
        "import" => "导入",
        "import_undo" => "撤销导入",
        "job_run" => "手动运行任务",
        "resend" => "重新发送",
        "config_loaded" => "启动配置",
        "audit_verify" => "校验审计日志",
        "migrate" => "数据库迁移",
        _ => "其他",
    }
}

/// The names of the people and companies the entries name by id: who acted, and the values of `owner_id`,
/// `contact_leader_id` and `company_id`.
struct Names {
    users: HashMap<i64, String>,
    companies: HashMap<i64, String>,
    projects: HashMap<i64, String>,
}

impl Names {
    async fn of(db: &impl ConnectionTrait, entries: &[(audit_entry::Model, Vec<FieldChange>)]) -> AppResult<Names> {
        let values = |fields: &[&str]| -> Vec<i64> {
            entries
                .iter()
                .flat_map(|(_, cs)| cs.iter().filter(|c| fields.contains(&c.field.as_str())))
                .flat_map(|c| [c.was.as_ref(), c.became.as_ref()])
                .flatten()
                .flat_map(|v| v.as_array().cloned().unwrap_or_else(|| vec![v.clone()]))
                .filter_map(|v| v.as_i64())
                .collect()
        };
        let mut user_ids = values(&[
            "owner_id",
            "contact_leader_id",
            "team_member_ids",
            "user_id",
            "created_by",
        ]);
        user_ids.extend(entries.iter().filter_map(|(e, _)| e.user_id));
        let users = user::Entity::find()
            .filter(user::Column::Id.is_in(user_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|u| (u.id, u.display_name))
            .collect();
        let companies = crate::service::names::<company::Entity>(db, values(&["company_id", "company_ids"])).await?;
        let projects = crate::service::names::<project::Entity>(db, values(&["project_ids", "project_id"])).await?;
        Ok(Names {
            users,
            companies,
            projects,
        })
    }

    /// The name behind a field's value, if the field names people, companies or projects (a list by its names).
    fn of_value(&self, field: &str, v: &Value) -> Option<String> {
        let names = match field {
            "owner_id" | "contact_leader_id" | "team_member_ids" | "user_id" | "created_by" => &self.users,
            "company_id" | "company_ids" => &self.companies,
            "project_ids" | "project_id" => &self.projects,
            _ => return None,
        };
        let name = |id: i64| names.get(&id).cloned().unwrap_or_else(|| format!("#{id}"));
        match v {
            Value::Array(ids) if ids.is_empty() => Some("—".into()),
            Value::Array(ids) => Some(
                ids.iter()
                    .filter_map(Value::as_i64)
                    .map(name)
                    .collect::<Vec<_>>()
                    .join("、"),
            ),
            v => v.as_i64().map(name),
        }
    }
}

/// A field's change in Chinese.
fn field(kind: Kind, c: &FieldChange, labels: &Value, names: &Names) -> Field {
    let label = label_of(&c.field).unwrap_or(&c.field).to_owned();
    if c.secret {
        return Field {
            label,
            was: String::new(),
            became: "已修改".into(),
        };
    }
    let shown = |v: &Option<Value>| match v.as_ref().and_then(|v| names.of_value(&c.field, v)) {
        Some(name) => name,
        None => shown(kind, &c.field, v.as_ref(), labels),
    };
    Field {
        label,
        was: shown(&c.was),
        became: shown(&c.became),
    }
}

/// A value as the page shows it: enums by their Chinese label, yuan as 万元, yes/no, none as a dash.
fn shown(kind: Kind, field: &str, v: Option<&Value>, labels: &Value) -> String {
    let enum_set = match (kind, field) {
        (Kind::Project, "stage") => Some("project_stage"),
        (Kind::Candidate, "stage") => Some("incubation_stage"),
        (_, "source") => Some("project_source"),
        (_, "capital_origin") => Some("capital_origin"),
        (Kind::FollowUp, "kind") => Some("follow_up_kind"),
        (Kind::Blocker, "status") => Some("blocker_status"),
        (Kind::Blocker, "category") => Some("blocker_category"),
        (Kind::SupportFund, "level") => Some("support_level"),
        (Kind::Target, "metric") => Some("target_metric"),
        (Kind::Outreach, "kind") => Some("outreach_kind"),
        (Kind::Partner, "kind") => Some("partner_kind"),
        (_, "role") => Some("role"),
        (_, "data_scope") => Some("data_scope"),
        _ => None,
    };
    match v {
        None | Some(Value::Null) => "—".into(),
        Some(Value::Bool(b)) => if *b { "是" } else { "否" }.into(),
        Some(Value::Number(n)) if field.ends_with("_yuan") => {
            n.as_i64().map_or_else(|| n.to_string(), |y| super::wan(y) + " 万元")
        }
        Some(Value::String(s)) => enum_set
            .and_then(|set| labels[set].as_array())
            .and_then(|items| items.iter().find(|i| i["value"] == s.as_str()))
            .and_then(|i| i["label"].as_str())
            .unwrap_or(s)
            .to_owned(),
        // A list of names (a visit's receiving leaders and staff, an outreach's participants).
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
            let names: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            if names.is_empty() {
                "—".into()
            } else {
                names.join("、")
            }
        }
        Some(other) => other.to_string(),
    }
}

/// The Chinese labels of the fields of the CRM's records (and of the accounts), as the audit log names them.
const LABELS: &[(&str, &str)] = &[
    ("name", "名称"),
    ("company_id", "投资企业"),
    ("industry", "行业"),
    ("source", "来源"),
    ("source_visit_id", "来源来访"),
    ("source_outreach_id", "来源活动"),
    ("source_partner_id", "来源机构"),
    ("agreed_investment_yuan", "协议投资额"),
    ("capital_origin", "资本来源"),
    ("land_mu", "用地需求(亩)"),
    ("is_major", "重大项目"),
    ("contact_leader", "联系领导"),
    ("contact_leader_id", "联系领导(用户)"),
    ("responsible_unit", "责任单位"),
    ("team", "工作专班"),
    ("notes", "备注"),
    ("note", "备注"),
    ("stage", "阶段"),
    ("owner_id", "负责人"),
    ("credit_code", "统一社会信用代码"),
    ("province", "省份"),
    ("city", "城市"),
    ("above_size_since", "规上日期"),
    ("visit_date", "来访日期"),
    ("headcount", "人数"),
    ("title", "标题"),
    ("category", "类别"),
    ("status", "状态"),
    ("assigned_leader", "协调领导"),
    ("due_date", "办结时限"),
    ("resolution", "解决情况"),
    ("resolved_on", "办结日期"),
    ("opened_on", "提出日期"),
    ("password", "密码"),
    ("project_id", "项目"),
    ("occurred_on", "日期"),
    ("kind", "类型"),
    ("recorded_by", "记录人"),
    ("next_step", "下一步"),
    ("next_date", "下一步日期"),
    ("programme", "扶持项目"),
    ("level", "级别"),
    ("amount_yuan", "金额"),
    ("amount_usd_cents", "美元金额(分)"),
    ("usd_rate", "汇率"),
    ("approved_on", "批准日期"),
    ("arrived_on", "到位日期"),
    ("year", "年度"),
    ("metric", "指标"),
    ("value", "目标值"),
    ("cohort_year", "培育年度"),
    ("agreement_date", "合作协议日期"),
    ("purpose", "来访事由"),
    ("summary", "洽谈内容"),
    ("receiving_leaders", "接待领导"),
    ("staff", "陪同人员"),
    ("start_date", "开始日期"),
    ("end_date", "结束日期"),
    ("leading_official", "带队领导"),
    ("participants", "参加人员"),
    ("username", "用户名"),
    ("email", "邮箱"),
    ("phone", "电话"),
    ("scopes", "权限范围"),
    ("expires_at", "有效期至"),
    ("user_id", "用户"),
    ("parent_id", "上级部门"),
    ("token", "令牌"),
    ("owner_unit", "责任单位"),
    ("created_by", "签发人"),
    ("team_member_ids", "项目团队"),
    ("company_ids", "涉及企业"),
    ("project_ids", "关联项目"),
    ("role", "角色"),
    ("data_scope", "数据范围"),
    ("department_id", "部门"),
    ("disabled", "停用"),
    ("display_name", "显示名"),
    ("weekly_report", "订阅周报"),
    ("reminders", "订阅提醒"),
];

/// The Chinese label of a field of the CRM's records.
fn label_of(field: &str) -> Option<&'static str> {
    LABELS.iter().find(|(f, _)| *f == field).map(|(_, l)| *l)
}

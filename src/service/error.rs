//! The one error type of the service layer: what went wrong, in domain terms and in both languages the product
//! speaks. It knows nothing of HTTP; the JSON API maps it to answers in one place.

use std::borrow::Cow;

use sea_orm::{DbErr, SqlErr};

/// A message in the two languages the API speaks.
#[derive(Debug, Clone)]
pub struct Msg {
    en: Cow<'static, str>,
    zh: Cow<'static, str>,
}

impl Msg {
    /// A message given in English and Chinese.
    pub fn new(en: impl Into<Cow<'static, str>>, zh: impl Into<Cow<'static, str>>) -> Self {
        Msg {
            en: en.into(),
            zh: zh.into(),
        }
    }

    /// The English text.
    pub fn en(&self) -> &str {
        &self.en
    }

    /// The Chinese text.
    pub fn zh(&self) -> &str {
        &self.zh
    }
}

/// A kind of record (or thing a request names), with its name in both languages for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Company,
    Contact,
    Project,
    FollowUp,
    FundArrival,
    Visit,
    Outreach,
    Partner,
    Blocker,
    Candidate,
    Target,
    SupportFund,
    Department,
    User,
    Token,
    Session,
    ImportBatch,
    ImportDataset,
    Message,
    Job,
    Snapshot,
    Route,
}

impl Kind {
    /// Its English name.
    pub fn en(self) -> &'static str {
        self.names().0
    }

    /// Its Chinese name.
    pub fn zh(self) -> &'static str {
        self.names().1
    }

    fn names(self) -> (&'static str, &'static str) {
        match self {
            Kind::Company => ("company", "企业"),
            Kind::Contact => ("contact", "联系人"),
            Kind::Project => ("project", "项目"),
            Kind::FollowUp => ("follow-up", "跟进记录"),
            Kind::FundArrival => ("fund arrival", "到位资金记录"),
            Kind::Visit => ("visit", "来访记录"),
            Kind::Outreach => ("outreach activity", "招商活动"),
            Kind::Partner => ("partner", "合作机构"),
            Kind::Blocker => ("blocker", "难题"),
            Kind::Candidate => ("incubation candidate", "培育对象"),
            Kind::Target => ("target", "年度目标"),
            Kind::SupportFund => ("support fund", "扶持资金记录"),
            Kind::Department => ("department", "部门"),
            Kind::User => ("user", "用户"),
            Kind::Token => ("token", "令牌"),
            Kind::Session => ("session", "会话"),
            Kind::ImportBatch => ("import batch", "导入批次"),
            Kind::ImportDataset => ("import dataset", "导入数据集"),
            Kind::Message => ("message", "邮件"),
            Kind::Job => ("job", "任务"),
            Kind::Snapshot => ("snapshot", "统计快照"),
            Kind::Route => ("route", "接口"),
        }
    }
}

/// Everything that can go wrong in an operation of the service layer.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: the request is malformed or a value is out of its bounds.
    #[error("bad request ({code}): {}", .msg.en)]
    BadRequest {
        code: &'static str,
        msg: Msg,
        field: Option<String>,
    },
    /// 401: no valid credentials.
    #[error("unauthorized")]
    Unauthorized,
    /// 403: the caller may not do this.
    #[error("forbidden ({code})")]
    Forbidden { code: &'static str, msg: Msg },
    /// 404: the record (or route) does not exist.
    #[error("{} not found", .what.en())]
    NotFound { what: Kind },
    /// 409: stale version or duplicate.
    #[error("conflict ({code}): {}", .msg.en)]
    Conflict {
        code: &'static str,
        msg: Msg,
        field: Option<String>,
    },
    /// 422: a domain rule is broken (an illegal stage move, say).
    #[error("rule broken ({code}): {}", .msg.en)]
    Rule {
        code: &'static str,
        msg: Msg,
        field: Option<String>,
    },
    /// 429: too many attempts from one place; try again after this many seconds.
    #[error("too many attempts; retry after {retry_after} s")]
    TooMany { retry_after: u64 },
    /// 500: logged with its detail, answered without it.
    #[error("internal error: {0}")]
    Internal(#[from] anyhow::Error),
}

/// Result of the service layer.
pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// 400 for a value of `field` that breaks its bounds.
    pub fn invalid(field: &str, en: impl Into<Cow<'static, str>>, zh: impl Into<Cow<'static, str>>) -> Self {
        AppError::BadRequest {
            code: "invalid_value",
            msg: Msg::new(en, zh),
            field: Some(field.to_owned()),
        }
    }

    /// 404 for a record of the given kind.
    pub fn not_found(what: Kind) -> Self {
        AppError::NotFound { what }
    }

    /// 409 for an update that carried an outdated `version`.
    pub fn stale(current: i32) -> Self {
        AppError::Conflict {
            code: "stale_version",
            msg: Msg::new(
                format!("the record was changed by someone else (current version {current}); reload and retry"),
                format!("该记录已被他人修改(当前版本 {current}),请刷新后重试"),
            ),
            field: Some("version".into()),
        }
    }

    /// Whether this is the answer to an outdated `version` ([`AppError::stale`]).
    pub fn is_stale(&self) -> bool {
        matches!(
            self,
            AppError::Conflict {
                code: "stale_version",
                ..
            }
        )
    }

    /// 422 for a broken domain rule.
    pub fn rule(code: &'static str, field: Option<&str>, msg: Msg) -> Self {
        AppError::Rule {
            code,
            msg,
            field: field.map(str::to_owned),
        }
    }
}

impl AppError {
    /// `duplicate` as this error: a unique key broken in a race the check before the write could not see still
    /// answers the documented code of that key.
    pub fn if_duplicate(self, duplicate: impl FnOnce() -> AppError) -> AppError {
        match self {
            AppError::Conflict { code: "duplicate", .. } => duplicate(),
            other => other,
        }
    }
}

/// The SQLSTATE of a database error, where the database gave one.
fn sqlstate(e: &DbErr) -> Option<String> {
    use sea_orm::RuntimeErr;
    match e {
        DbErr::Exec(RuntimeErr::SqlxError(x)) | DbErr::Query(RuntimeErr::SqlxError(x)) => match x.as_ref() {
            sea_orm::sqlx::Error::Database(d) => d.code().map(|c| c.into_owned()),
            _ => None,
        },
        _ => None,
    }
}

impl From<DbErr> for AppError {
    fn from(e: DbErr) -> Self {
        // Values PostgreSQL refuses that no check before it caught (a NUL in a search, a date beyond its range)
        // are the client's error, not the server's.
        match sqlstate(&e).as_deref() {
            Some("22021") => {
                return AppError::BadRequest {
                    code: "invalid_text",
                    msg: Msg::new("text may not contain control characters", "文本不能包含控制字符"),
                    field: None,
                };
            }
            Some("22008" | "22007") => {
                return AppError::BadRequest {
                    code: "invalid_value",
                    msg: Msg::new("a date is out of range", "日期超出范围"),
                    field: None,
                };
            }
            _ => {}
        }
        match e.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => AppError::Conflict {
                code: "duplicate",
                msg: Msg::new("a record with the same key already exists", "已存在相同的记录"),
                field: None,
            },
            Some(SqlErr::ForeignKeyConstraintViolation(_)) => AppError::Conflict {
                code: "in_use",
                msg: Msg::new(
                    "the record is referenced by other records",
                    "该记录被其他记录引用,无法执行此操作",
                ),
                field: None,
            },
            _ => AppError::Internal(e.into()),
        }
    }
}

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
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
    Attachment,
    Channel,
}

impl Kind {
    /// Its one name in the audit log, whatever the door (`project`, `follow_up`, `support_fund` …).
    pub fn name(self) -> &'static str {
        self.into()
    }

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
            Kind::Attachment => ("attachment", "附件"),
            Kind::Channel => ("chat channel", "消息推送通道"),
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

/// The stable machine code of an error answer (`code` in the body): clients match on it, so renaming one is a
/// breaking change. Grouped by the status that carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::Display, poem_openapi::Enum)]
#[strum(serialize_all = "snake_case")]
#[oai(rename_all = "snake_case", rename = "ErrorCode")]
pub enum Code {
    /// 400: a value breaks its type's bounds (`field` names it).
    InvalidValue,
    /// 400: a text holds a control character.
    InvalidText,
    /// 400: a query parameter could not be read.
    InvalidParameter,
    /// 400: a path segment could not be read (an id that is not a number).
    InvalidPath,
    /// 400: the body is not what the operation takes (bad JSON, a missing field, a wrong type).
    MalformedRequest,
    /// 400: an uploaded ledger is not a workbook this product reads.
    UnreadableFile,
    /// 401: no valid session or token.
    Unauthorized,
    /// 403: the caller's role may not do this.
    Forbidden,
    /// 403: a form was posted without the session's CSRF token.
    Csrf,
    /// 403: the figure is the whole park's and the caller's scope is narrower.
    WholeParkOnly,
    /// 403: a stage may not move backwards (only an admin corrects one).
    BackwardMoveForbidden,
    /// 403: an API token is revoked by an admin, not logged out.
    NotASession,
    /// 404: no such record or route.
    NotFound,
    /// 405: the path does not take this method.
    MethodNotAllowed,
    /// 409: the record was changed since the `version` sent.
    StaleVersion,
    /// 409: a record with the same key exists.
    Duplicate,
    /// 409: a company with this credit code exists.
    DuplicateCreditCode,
    /// 409: a user with this username exists.
    DuplicateUsername,
    /// 409: the year already has a target for this metric.
    DuplicateTarget,
    /// 409: the cohort already holds this company.
    DuplicateCandidate,
    /// 409: other records refer to this one.
    InUse,
    /// 409: projects or visits refer to this company.
    CompanyInUse,
    /// 409: the import was undone before.
    AlreadyUndone,
    /// 409: a record the import wrote was changed since; undoing would lose that change.
    ChangedSinceImport,
    /// 413: the body is larger than the configured limit.
    PayloadTooLarge,
    /// 415: the body is not JSON.
    UnsupportedMediaType,
    /// 422: a stage move to the stage the record is in.
    StageUnchanged,
    /// 422: an event dated before the record's latest one.
    EventBeforeLatest,
    /// 422: a move to 终止/未通过 without its reason.
    ReasonRequired,
    /// 422: a record cannot start in its off stage.
    IllegalInitialStage,
    /// 422: a resolved blocker without its resolution or date.
    ResolutionRequired,
    /// 422: a project's source record is not of the kind of its source.
    SourceMismatch,
    /// 422: no such source record.
    UnknownSource,
    /// 422: no such company.
    UnknownCompany,
    /// 422: no such project.
    UnknownProject,
    /// 422: no such department.
    UnknownDepartment,
    /// 422: no such (enabled) user.
    UnknownUser,
    /// 422: the contact leader must have the leader role.
    NotALeader,
    /// 422: a department cannot sit under itself or one of its own.
    InvalidParent,
    /// 422: an admin cannot disable or demote themselves.
    CannotDemoteSelf,
    /// 422: a 内资 fund arrival carries dollars or a rate.
    DollarsOnDomestic,
    /// 422: only a failed message is sent again.
    NotFailed,
    /// 422: a ledger's header row was not found.
    HeaderNotFound,
    /// 422: a ledger lacks a required column.
    MissingColumn,
    /// 422: users or departments are still under this department.
    DepartmentInUse,
    /// 422: a department of this name exists.
    DuplicateDepartment,
    /// 422: a work-chat channel of this name exists.
    DuplicateChannel,
    /// 422: the chat platform refused a test message (its code and message say why).
    ChannelRefused,
    /// 422: an uploaded ledger has no rows.
    EmptyFile,
    /// 422: the current password given is wrong.
    WrongPassword,
    /// 429: too many sign-in attempts; `Retry-After` says when to try again.
    TooManyAttempts,
    /// 431: the request headers are too large.
    HeadersTooLarge,
    /// 500: an internal error (logged; no detail in the answer).
    Internal,
    /// 503: the database cannot be reached or cannot take writes for a moment (a failover, a restart); `Retry-After`
    /// says when to try again.
    Unavailable,
}

/// Everything that can go wrong in an operation of the service layer.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: the request is malformed or a value is out of its bounds.
    #[error("bad request ({code}): {}", .msg.en)]
    BadRequest {
        code: Code,
        msg: Msg,
        field: Option<String>,
    },
    /// 401: no valid credentials.
    #[error("unauthorized")]
    Unauthorized,
    /// 403: the caller may not do this.
    #[error("forbidden ({code})")]
    Forbidden { code: Code, msg: Msg },
    /// 404: the record (or route) does not exist.
    #[error("{} not found", .what.en())]
    NotFound { what: Kind },
    /// 409: stale version or duplicate.
    #[error("conflict ({code}): {}", .msg.en)]
    Conflict {
        code: Code,
        msg: Msg,
        field: Option<String>,
    },
    /// 422: a domain rule is broken (an illegal stage move, say).
    #[error("rule broken ({code}): {}", .msg.en)]
    Rule {
        code: Code,
        msg: Msg,
        field: Option<String>,
    },
    /// 413: an upload larger than the limit (refused while it streams).
    #[error("too large: {}", .msg.en)]
    TooLarge { msg: Msg },
    /// 415: a file whose content is not of an accepted type.
    #[error("unsupported type: {}", .msg.en)]
    Unsupported { msg: Msg },
    /// 429: too many attempts from one place; try again after this many seconds.
    #[error("too many attempts; retry after {retry_after} s")]
    TooMany { retry_after: u64 },
    /// 503: the database is unreachable or read-only for a moment (a failover under way); nothing was written.
    #[error("database unavailable ({detail}); retry after {retry_after} s")]
    Unavailable { retry_after: u64, detail: String },
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
            code: Code::InvalidValue,
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
            code: Code::StaleVersion,
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
                code: Code::StaleVersion,
                ..
            }
        )
    }

    /// The machine code the answer to this error carries.
    pub fn code(&self) -> Code {
        match self {
            AppError::BadRequest { code, .. }
            | AppError::Forbidden { code, .. }
            | AppError::Conflict { code, .. }
            | AppError::Rule { code, .. } => *code,
            AppError::Unauthorized => Code::Unauthorized,
            AppError::NotFound { .. } => Code::NotFound,
            AppError::TooMany { .. } => Code::TooManyAttempts,
            AppError::TooLarge { .. } => Code::PayloadTooLarge,
            AppError::Unsupported { .. } => Code::UnsupportedMediaType,
            AppError::Internal(_) => Code::Internal,
            AppError::Unavailable { .. } => Code::Unavailable,
        }
    }

    /// 422 for a broken domain rule.
    pub fn rule(code: Code, field: Option<&str>, msg: Msg) -> Self {
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
            AppError::Conflict {
                code: Code::Duplicate, ..
            } => duplicate(),
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

/// Whether the database could not be reached, went away mid-request, or cannot take writes right now (a standby
/// not yet promoted, a server shutting down): the request may succeed when retried, unlike a bug's.
fn unreachable(e: &DbErr) -> bool {
    use sea_orm::{RuntimeErr, sqlx::Error as X};
    if let Some(state) = sqlstate(e) {
        // Class 08: connection exception; 57P01–03: shutting down or not yet accepting; 25006: a read-only server;
        // 53300: too many connections.
        return state.starts_with("08") || matches!(state.as_str(), "57P01" | "57P02" | "57P03" | "25006" | "53300");
    }
    match e {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(RuntimeErr::SqlxError(x))
        | DbErr::Exec(RuntimeErr::SqlxError(x))
        | DbErr::Query(RuntimeErr::SqlxError(x)) => {
            matches!(
                x.as_ref(),
                X::Io(_) | X::Tls(_) | X::PoolTimedOut | X::PoolClosed | X::WorkerCrashed | X::Protocol(_)
            )
        }
        _ => false,
    }
}

impl From<DbErr> for AppError {
    fn from(e: DbErr) -> Self {
        if unreachable(&e) {
            return AppError::Unavailable {
                retry_after: 2,
                detail: e.to_string(),
            };
        }
        // Values PostgreSQL refuses that no check before it caught (a NUL in a search, a date beyond its range)
        // are the client's error, not the server's.
        match sqlstate(&e).as_deref() {
            Some("22021") => {
                return AppError::BadRequest {
                    code: Code::InvalidText,
                    msg: Msg::new("text may not contain control characters", "文本不能包含控制字符"),
                    field: None,
                };
            }
            Some("22008" | "22007") => {
                return AppError::BadRequest {
                    code: Code::InvalidValue,
                    msg: Msg::new("a date is out of range", "日期超出范围"),
                    field: None,
                };
            }
            _ => {}
        }
        match e.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => AppError::Conflict {
                code: Code::Duplicate,
                msg: Msg::new("a record with the same key already exists", "已存在相同的记录"),
                field: None,
            },
            Some(SqlErr::ForeignKeyConstraintViolation(_)) => AppError::Conflict {
                code: Code::InUse,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_out_of_reach_is_unavailable_and_a_bug_is_internal() {
        for e in [
            DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout),
            DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::ConnectionClosed),
            DbErr::Conn(sea_orm::RuntimeErr::SqlxError(std::sync::Arc::new(
                sea_orm::sqlx::Error::PoolTimedOut,
            ))),
        ] {
            let got = AppError::from(e);
            assert!(matches!(got, AppError::Unavailable { retry_after: 2, .. }), "{got:?}");
            assert_eq!(got.code(), Code::Unavailable);
        }
        assert!(matches!(
            AppError::from(DbErr::Custom("a bug".into())),
            AppError::Internal(_)
        ));
    }
}

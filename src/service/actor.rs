//! The acting user of an operation and what each role (and token scope) may do (docs/ARCHITECTURE.md).

use entity::enums::{Role, TokenScope};

use super::{AppError, AppResult, Code, Msg};

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// A signed-in session.
    Session(i64),
    /// An API token and its scopes.
    Token(i64, Vec<TokenScope>),
    /// The system itself, acting for an operator at the command line (the demo park, the benchmarks).
    System,
}

/// The user on whose behalf an operation runs, as authenticated by a front door.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The user.
    pub user_id: i64,
    /// Their username.
    pub username: String,
    /// Their name as people read it (显示名).
    pub display_name: String,
    /// Their role.
    pub role: Role,
    /// How they authenticated.
    pub via: Via,
    /// Whether the duties of the administrators are separated (三员分立, `audit.separation_of_duties`): then an
    /// admin neither sets roles and data scopes nor reads others' audit entries.
    pub separated: bool,
}

/// What an endpoint needs of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Read records: every role; tokens with the `read` scope.
    Read,
    /// Pull exports: every role; tokens with the `export` scope.
    Export,
    /// Read a report made of aggregates only (the work summary): every role; tokens with either the `read` or the
    /// `export` scope, since a token that may pull every record may also pull their totals.
    Report,
    /// Create, change and delete CRM records: staff and admins.
    Edit,
    /// Record stage moves and work on blockers: staff, leaders and admins.
    Pipeline,
    /// Resolve blockers and move stages backward: leaders and admins.
    Lead,
    /// Manage users, departments, tokens, jobs and the outbox: admins (系统管理员).
    Admin,
    /// Set roles and data scopes, lift lockouts: security administrators (安全管理员), and admins unless duties are
    /// separated.
    Security,
    /// Read the audit log and verify it: auditors (审计管理员), and admins unless duties are separated.
    Audit,
    /// Read the user accounts: admins and security administrators.
    Users,
    /// Scrape `/metrics`: tokens with the `metrics` scope, and admins.
    Metrics,
}

impl Actor {
    /// The system acting with an admin's rights under `name` (it is what records show as their recorder).
    pub fn system(name: &str) -> Actor {
        Actor {
            user_id: 0,
            username: name.to_owned(),
            display_name: name.to_owned(),
            role: Role::Admin,
            via: Via::System,
            separated: false,
        }
    }

    /// Whether the caller may do what `need` names.
    pub fn can(&self, need: Need) -> bool {
        use Role::*;
        match (&self.via, need) {
            (Via::Token(_, scopes), Need::Read) => scopes.contains(&TokenScope::Read),
            (Via::Token(_, scopes), Need::Export) => scopes.contains(&TokenScope::Export),
            (Via::Token(_, scopes), Need::Report) => {
                scopes.contains(&TokenScope::Read) || scopes.contains(&TokenScope::Export)
            }
            (Via::Token(_, scopes), Need::Metrics) => scopes.contains(&TokenScope::Metrics),
            (Via::Token(..), _) => false,
            (_, Need::Read | Need::Export | Need::Report) => matches!(self.role, Staff | Leader | Admin | Viewer),
            (_, Need::Edit) => matches!(self.role, Staff | Admin),
            (_, Need::Pipeline) => matches!(self.role, Staff | Leader | Admin),
            (_, Need::Lead) => matches!(self.role, Leader | Admin),
            (_, Need::Admin) => self.role == Admin,
            (_, Need::Security) => self.role == Security || (self.role == Admin && !self.separated),
            (_, Need::Audit) => self.role == Auditor || (self.role == Admin && !self.separated),
            (_, Need::Users) => matches!(self.role, Admin | Security),
            (_, Need::Metrics) => self.role == Admin,
        }
    }

    /// 403 unless the caller may do what `need` names.
    pub fn require(&self, need: Need) -> AppResult<()> {
        if self.can(need) {
            return Ok(());
        }
        let (en, zh) = match (&self.via, need) {
            (Via::Token(..), Need::Read | Need::Export | Need::Report | Need::Metrics) => (
                "this API token lacks the scope for this request",
                "该 API 令牌没有此操作的权限范围",
            ),
            (Via::Token(..), _) => ("API tokens may only read and export", "API 令牌只能读取和导出"),
            (_, Need::Admin | Need::Metrics) => ("only an admin may do this", "只有管理员可以执行此操作"),
            (_, Need::Security) => (
                "only the security administrator may do this",
                "只有安全管理员可以执行此操作",
            ),
            (_, Need::Audit) => (
                "only the auditor may read the audit log",
                "只有审计管理员可以查阅审计日志",
            ),
            (_, Need::Users) => (
                "only an admin or the security administrator may do this",
                "只有管理员或安全管理员可以执行此操作",
            ),
            (_, Need::Read | Need::Export | Need::Report) => {
                ("your role does not read the records", "您的角色无权查阅业务记录")
            }
            (_, Need::Lead) => (
                "only a leader or an admin may do this",
                "只有领导或管理员可以执行此操作",
            ),
            _ => ("your role may not change records", "您的角色无权修改记录"),
        };
        Err(AppError::Forbidden {
            code: Code::Forbidden,
            msg: Msg::new(en, zh),
        })
    }

    /// Whether contact phone numbers and e-mail addresses are shown unmasked.
    pub fn sees_contact_details(&self) -> bool {
        match &self.via {
            Via::Token(_, scopes) => scopes.contains(&TokenScope::ContactDetails),
            Via::Session(_) | Via::System => matches!(self.role, Role::Staff | Role::Leader | Role::Admin),
        }
    }
}

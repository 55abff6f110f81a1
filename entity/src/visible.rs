//! 数据权限 as conditions on the tables: which records a user sees (docs/DEFINITIONS.md, "Data scopes"). The
//! service decides who sees what (`invest-crm::service::scope`); the queries here, shared by the service and the
//! jobs, only read it.

use std::collections::HashMap;

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, QueryTrait,
    sea_query::SelectStatement,
};

use crate::{
    department,
    enums::{DataScope, Role},
    incubation_candidate, project, project_team, user,
};

/// The records a user sees.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Visible {
    /// Every record.
    #[default]
    All,
    /// The records owned by these users (a department and those below it), and those owned by no one.
    Owners(Vec<i64>),
    /// The records of this user: owned, led or worked on in a team.
    Own(i64),
}

/// A user's scope: as an admin set it, else the role's: admins, leaders and viewers see all, staff their department,
/// the security administrator and the auditor their own (they read no records anyway).
pub fn scope_of(u: &user::Model) -> DataScope {
    u.data_scope.unwrap_or(match u.role {
        Role::Staff => DataScope::Department,
        Role::Admin | Role::Leader | Role::Viewer => DataScope::All,
        Role::Security | Role::Auditor => DataScope::Own,
    })
}

/// The parent of every department.
pub async fn parents(db: &impl ConnectionTrait) -> Result<HashMap<i64, Option<i64>>, DbErr> {
    Ok(department::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|d| (d.id, d.parent_id))
        .collect())
}

/// The department and every department below it.
pub async fn with_descendants(db: &impl ConnectionTrait, id: i64) -> Result<Vec<i64>, DbErr> {
    let tree = parents(db).await?;
    let mut out = vec![id];
    let mut i = 0;
    while i < out.len() {
        let at = out[i];
        out.extend(tree.iter().filter(|(_, p)| **p == Some(at)).map(|(d, _)| *d));
        i += 1;
    }
    Ok(out)
}

impl Visible {
    /// What `u` sees. A user in no department has nothing to be limited to: the `department` scope sees all.
    pub async fn of_user(db: &impl ConnectionTrait, u: &user::Model) -> Result<Visible, DbErr> {
        Ok(match (scope_of(u), u.department_id) {
            (DataScope::All, _) | (DataScope::Department, None) => Visible::All,
            (DataScope::Own, _) => Visible::Own(u.id),
            (DataScope::Department, Some(d)) => {
                let depts = with_descendants(db, d).await?;
                let users = user::Entity::find()
                    .select_only()
                    .column(user::Column::Id)
                    .filter(user::Column::DepartmentId.is_in(depts))
                    .into_tuple::<i64>()
                    .all(db)
                    .await?;
                Visible::Owners(users)
            }
        })
    }

    /// How figures computed over what `u` sees (`self`) say so: none when it is every record; else which records, in
    /// Chinese.
    pub async fn describe(&self, db: &impl ConnectionTrait, u: &user::Model) -> Result<Option<String>, DbErr> {
        Ok(match self {
            Visible::All => None,
            Visible::Own(_) => Some("本人负责、联系或参与专班的记录".to_owned()),
            Visible::Owners(_) => {
                let name = match u.department_id {
                    Some(d) => department::Entity::find_by_id(d).one(db).await?.map(|d| d.name),
                    None => None,
                };
                Some(format!(
                    "{}及其下属部门负责的记录(含未指定负责人的记录)",
                    name.unwrap_or_else(|| "本部门".into())
                ))
            }
        })
    }

    /// Whether every record is seen.
    pub fn is_all(&self) -> bool {
        *self == Visible::All
    }

    /// The projects seen, as a condition on projects (none: all).
    pub fn projects(&self) -> Option<Condition> {
        match self {
            Visible::All => None,
            Visible::Owners(ids) => Some(
                Condition::any()
                    .add(project::Column::OwnerId.is_in(ids.clone()))
                    .add(project::Column::OwnerId.is_null()),
            ),
            Visible::Own(me) => {
                let teams = project_team::Entity::find()
                    .select_only()
                    .column(project_team::Column::ProjectId)
                    .filter(project_team::Column::UserId.eq(*me))
                    .into_query();
                Some(
                    Condition::any()
                        .add(project::Column::OwnerId.eq(*me))
                        .add(project::Column::ContactLeaderId.eq(*me))
                        .add(project::Column::Id.in_subquery(teams)),
                )
            }
        }
    }

    /// The ids of the projects seen, as a subquery (none: all).
    pub fn project_ids(&self) -> Option<SelectStatement> {
        self.projects().map(|c| {
            project::Entity::find()
                .select_only()
                .column(project::Column::Id)
                .filter(c)
                .into_query()
        })
    }

    /// A condition on a record of the project in `column`: its project is seen (none: all).
    pub fn via_project(&self, column: impl ColumnTrait) -> Option<Condition> {
        self.project_ids().map(|q| Condition::all().add(column.in_subquery(q)))
    }

    /// A condition on a record of the company in `column` (support funds, above-size companies): the company has a
    /// project seen (none: all). Companies have no owner; a department's companies are those of its projects.
    pub fn via_company(&self, column: impl ColumnTrait) -> Option<Condition> {
        self.projects().map(|c| {
            let companies = project::Entity::find()
                .select_only()
                .column(project::Column::CompanyId)
                .filter(c)
                .into_query();
            Condition::all().add(column.in_subquery(companies))
        })
    }

    /// A condition on an incubation event's candidate in `column`: the candidate is seen (none: all).
    pub fn via_candidate(&self, column: impl ColumnTrait) -> Option<Condition> {
        self.owned(incubation_candidate::Column::OwnerId).map(|c| {
            let ids = incubation_candidate::Entity::find()
                .select_only()
                .column(incubation_candidate::Column::Id)
                .filter(c)
                .into_query();
            Condition::all().add(column.in_subquery(ids))
        })
    }

    /// A condition on a record with an owner in `column` (visits, outreach, candidates): its owner is seen (none: all).
    pub fn owned(&self, column: impl ColumnTrait + Copy) -> Option<Condition> {
        match self {
            Visible::All => None,
            Visible::Owners(ids) => Some(Condition::any().add(column.is_in(ids.clone())).add(column.is_null())),
            Visible::Own(me) => Some(Condition::all().add(column.eq(*me))),
        }
    }

    /// Whether a record owned by `owner` is seen.
    pub fn sees_owner(&self, owner: Option<i64>) -> bool {
        match (self, owner) {
            (Visible::All, _) | (Visible::Owners(_), None) => true,
            (Visible::Owners(ids), Some(o)) => ids.contains(&o),
            (Visible::Own(me), o) => o == Some(*me),
        }
    }
}

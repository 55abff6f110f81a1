//! 部门: the bureau's 招商分局, 科室 and 小分队 as a simple tree. Everyone reads them; admins change them.

use chrono::{DateTime, Utc};
use entity::department;
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
    types::MaybeUndefined,
};
use sea_orm::DatabaseConnection;

use super::{ApiTags, Created, Deleted, auth::Auth, body::JsonBody};
use crate::{
    edge::audit::WriteTx,
    service::{AppResult, Need, departments as svc, input::Name},
};

/// A department (部门).
#[derive(Object)]
pub struct Department {
    /// The department's id, at `/departments/{id}`; users and sub-departments name it.
    pub id: i64,
    /// Name.
    pub name: String,
    /// The department it is part of.
    #[oai(nullable)]
    pub parent_id: Option<i64>,
    /// Version for optimistic locking.
    pub version: i32,
    /// When the record was created (UTC).
    pub created_at: DateTime<Utc>,
    /// When the record was last changed (UTC).
    pub updated_at: DateTime<Utc>,
}

impl From<department::Model> for Department {
    fn from(m: department::Model) -> Self {
        Department {
            id: m.id,
            name: m.name,
            parent_id: m.parent_id,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// A new department.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct NewDepartment {
    /// Name, 1–200 characters, unique.
    pub name: Name,
    /// The department it is part of.
    #[oai(nullable)]
    pub parent_id: Option<i64>,
}

/// Changes to a department: left out keeps; `null` clears the parent.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct DepartmentChanges {
    /// The version the changes were made against.
    #[oai(validator(minimum(value = "0")))]
    pub version: i32,
    /// Name.
    #[oai(nullable)]
    pub name: Option<Name>,
    /// The department it is part of.
    #[oai(nullable)]
    pub parent_id: MaybeUndefined<i64>,
}

/// Department endpoints.
pub struct DepartmentsApi {
    pub db: DatabaseConnection,
}

#[OpenApi(tag = "ApiTags::Accounts")]
impl DepartmentsApi {
    /// Record a department (admins).
    #[oai(path = "/departments", method = "post", operation_id = "createDepartment")]
    async fn create(&self, auth: Auth, tx: WriteTx, body: JsonBody<NewDepartment>) -> AppResult<Created<Department>> {
        auth.0.require(Need::Admin)?;
        let n = svc::NewDepartment {
            name: body.0.name,
            parent_id: body.0.parent_id,
        };
        Ok(Created::Created(Json(svc::create(tx.get().await?, n).await?.into())))
    }

    /// Every department, by name.
    #[oai(path = "/departments", method = "get", operation_id = "listDepartments")]
    async fn list(&self, auth: Auth) -> AppResult<Json<Vec<Department>>> {
        auth.0.require(Need::Read)?;
        Ok(Json(
            svc::list(&self.db).await?.into_iter().map(Department::from).collect(),
        ))
    }

    /// Read a department.
    #[oai(path = "/departments/:id", method = "get", operation_id = "getDepartment")]
    async fn get(&self, auth: Auth, id: Path<i64>) -> AppResult<Json<Department>> {
        auth.0.require(Need::Read)?;
        Ok(Json(svc::get(&self.db, id.0).await?.into()))
    }

    /// Change a department (admins); a stale `version` answers 409.
    #[oai(path = "/departments/:id", method = "patch", operation_id = "updateDepartment")]
    async fn update(
        &self,
        auth: Auth,
        tx: WriteTx,
        id: Path<i64>,
        body: JsonBody<DepartmentChanges>,
    ) -> AppResult<Json<Department>> {
        auth.0.require(Need::Admin)?;
        let b = body.0;
        let c = svc::DepartmentChanges {
            version: b.version,
            name: b.name,
            parent_id: b.parent_id.into(),
        };
        Ok(Json(svc::update(tx.get().await?, id.0, c).await?.into()))
    }

    /// Delete a department that has no users and no departments below it (admins).
    #[oai(path = "/departments/:id", method = "delete", operation_id = "deleteDepartment")]
    async fn delete(
        &self,
        auth: Auth,
        tx: WriteTx,
        id: Path<i64>,
        /// The version the deletion was decided on.
        version: Query<i32>,
    ) -> AppResult<Deleted> {
        auth.0.require(Need::Admin)?;
        svc::delete(tx.get().await?, id.0, version.0).await?;
        Ok(Deleted::Deleted)
    }
}

//! 部门: the bureau's 招商分局, 科室 and 小分队 as a simple tree. Admins change them; everyone reads them. A user's
//! department (and those below it) is what the `department` data scope sees.

use chrono::Utc;
use entity::{department, user};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};

use super::{
    AppError, AppResult, Code, Kind, Msg, delete_versioned, find,
    input::{Name, Patch, set_some},
    insert_one, update_versioned,
};

/// A new department.
pub struct NewDepartment {
    /// Name, unique.
    pub name: Name,
    /// The department it is part of.
    pub parent_id: Option<i64>,
}

/// Changes to a department.
pub struct DepartmentChanges {
    /// The version the changes were made against.
    pub version: i32,
    /// Name, unique.
    pub name: Option<Name>,
    /// The department it is part of; a department cannot be put below itself.
    pub parent_id: Patch<i64>,
}

const WHAT: Kind = Kind::Department;

fn duplicate() -> AppError {
    AppError::rule(
        Code::DuplicateDepartment,
        Some("name"),
        Msg::new("a department of this name exists", "已有同名部门"),
    )
}

async fn name_taken(db: &impl ConnectionTrait, name: &Name, except: Option<i64>) -> AppResult<bool> {
    let mut q = department::Entity::find().filter(department::Column::Name.eq(name.as_str()));
    if let Some(id) = except {
        q = q.filter(department::Column::Id.ne(id));
    }
    Ok(q.count(db).await? > 0)
}

/// A parent that exists and, for department `id`, is not the department itself or one below it.
async fn check_parent(db: &impl ConnectionTrait, id: Option<i64>, parent: i64) -> AppResult<()> {
    let tree = entity::visible::parents(db).await?;
    let broken = |en: &'static str, zh: &'static str| {
        Err(AppError::rule(Code::InvalidParent, Some("parent_id"), Msg::new(en, zh)))
    };
    if !tree.contains_key(&parent) {
        return broken("the parent department does not exist", "上级部门不存在");
    }
    let mut at = Some(parent);
    while let Some(d) = at {
        if Some(d) == id {
            return broken(
                "a department cannot be below itself",
                "不能把部门设为自己或下级部门的下级",
            );
        }
        at = tree.get(&d).copied().flatten();
    }
    Ok(())
}

/// Records a department.
pub async fn create(db: &impl ConnectionTrait, n: NewDepartment) -> AppResult<department::Model> {
    if name_taken(db, &n.name, None).await? {
        return Err(duplicate());
    }
    if let Some(p) = n.parent_id {
        check_parent(db, None, p).await?;
    }
    let now = Utc::now();
    let m = department::ActiveModel {
        name: Set(n.name.into()),
        parent_id: Set(n.parent_id),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    insert_one(db, Kind::Department, m)
        .await
        .map_err(|e| e.if_duplicate(duplicate))
}

/// Every department, by name.
pub async fn list(db: &impl ConnectionTrait) -> AppResult<Vec<department::Model>> {
    Ok(department::Entity::find()
        .order_by_asc(department::Column::Name)
        .all(db)
        .await?)
}

/// A department by id.
pub async fn get(db: &impl ConnectionTrait, id: i64) -> AppResult<department::Model> {
    find::<department::Entity, _>(db, id, WHAT).await
}

/// Changes a department.
pub async fn update(db: &impl ConnectionTrait, id: i64, c: DepartmentChanges) -> AppResult<department::Model> {
    find::<department::Entity, _>(db, id, WHAT).await?;
    if let Some(n) = &c.name
        && name_taken(db, n, Some(id)).await?
    {
        return Err(duplicate());
    }
    if let Patch::Set(p) = c.parent_id {
        check_parent(db, Some(id), p).await?;
    }
    let mut m = department::ActiveModel::default();
    set_some(&mut m.name, c.name);
    c.parent_id.apply(&mut m.parent_id);
    update_versioned::<department::Entity, _>(db, id, WHAT, c.version, m)
        .await
        .map_err(|e| e.if_duplicate(duplicate))
}

/// Deletes a department that has no users and no departments below it.
pub async fn delete(db: &impl ConnectionTrait, id: i64, version: i32) -> AppResult<()> {
    let members = user::Entity::find()
        .filter(user::Column::DepartmentId.eq(id))
        .count(db)
        .await?;
    let children = department::Entity::find()
        .filter(department::Column::ParentId.eq(id))
        .count(db)
        .await?;
    if members + children > 0 {
        return Err(AppError::rule(
            Code::DepartmentInUse,
            None,
            Msg::new(
                "the department still has users or departments below it",
                "该部门下还有用户或下级部门,不能删除",
            ),
        ));
    }
    delete_versioned::<department::Entity, _>(db, id, WHAT, version).await
}

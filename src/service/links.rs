//! Link tables between a record and many others (a visit's companies and projects, an outreach activity's
//! companies): replaced whole on a change, loaded for many owners in one query.

use std::collections::HashMap;

use sea_orm::{
    ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Alias, Expr, ExprTrait},
};

use super::AppResult;

/// A link table: its owner column, its target column, and how a row is made.
pub trait Link: EntityTrait {
    /// The column naming the owner.
    const OWNER: &'static str;
    /// The column naming the linked record.
    const TARGET: &'static str;
    /// A new row linking `owner` to `target`.
    fn link(owner: i64, target: i64) -> Self::ActiveModel;
}

/// Replaces the links of `owner` with `targets`, inside the caller's transaction.
pub async fn replace<L: Link>(db: &impl ConnectionTrait, owner: i64, targets: Vec<i64>) -> AppResult<()> {
    L::delete_many()
        .filter(Expr::col(Alias::new(L::OWNER)).eq(owner))
        .exec(db)
        .await?;
    add_many::<L>(db, targets.into_iter().map(|t| (owner, t)).collect()).await
}

/// Writes many (owner, target) links at once, inside the caller's transaction.
pub async fn add_many<L: Link>(db: &impl ConnectionTrait, pairs: Vec<(i64, i64)>) -> AppResult<()> {
    for chunk in pairs.chunks(5000) {
        L::insert_many(chunk.iter().map(|&(o, t)| L::link(o, t)))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// The linked ids of each of `owners`, ascending.
pub async fn of<L: Link>(db: &impl ConnectionTrait, owners: Vec<i64>) -> AppResult<HashMap<i64, Vec<i64>>> {
    let rows: Vec<(i64, i64)> = L::find()
        .select_only()
        .column_as(Expr::col(Alias::new(L::OWNER)), "owner")
        .column_as(Expr::col(Alias::new(L::TARGET)), "target")
        .filter(Expr::col(Alias::new(L::OWNER)).is_in(owners))
        .order_by_asc(Expr::col(Alias::new(L::TARGET)))
        .into_tuple()
        .all(db)
        .await?;
    let mut out: HashMap<i64, Vec<i64>> = HashMap::new();
    for (owner, target) in rows {
        out.entry(owner).or_default().push(target);
    }
    Ok(out)
}

/// The ids of the records `column` links to `owner`, for use as a subquery.
pub fn owners_linked_to<L: Link>(target: i64) -> sea_orm::sea_query::SelectStatement {
    sea_orm::sea_query::Query::select()
        .column(Alias::new(L::OWNER))
        .from(L::default())
        .and_where(Expr::col(Alias::new(L::TARGET)).eq(target))
        .to_owned()
}

impl Link for entity::visit_company::Entity {
    const OWNER: &'static str = "visit_id";
    const TARGET: &'static str = "company_id";
    fn link(owner: i64, target: i64) -> Self::ActiveModel {
        use sea_orm::ActiveValue::Set;
        entity::visit_company::ActiveModel {
            visit_id: Set(owner),
            company_id: Set(target),
        }
    }
}

impl Link for entity::visit_project::Entity {
    const OWNER: &'static str = "visit_id";
    const TARGET: &'static str = "project_id";
    fn link(owner: i64, target: i64) -> Self::ActiveModel {
        use sea_orm::ActiveValue::Set;
        entity::visit_project::ActiveModel {
            visit_id: Set(owner),
            project_id: Set(target),
        }
    }
}

impl Link for entity::outreach_company::Entity {
    const OWNER: &'static str = "outreach_id";
    const TARGET: &'static str = "company_id";
    fn link(owner: i64, target: i64) -> Self::ActiveModel {
        use sea_orm::ActiveValue::Set;
        entity::outreach_company::ActiveModel {
            outreach_id: Set(owner),
            company_id: Set(target),
        }
    }
}

impl Link for entity::project_team::Entity {
    const OWNER: &'static str = "project_id";
    const TARGET: &'static str = "user_id";
    fn link(owner: i64, target: i64) -> Self::ActiveModel {
        use sea_orm::ActiveValue::Set;
        entity::project_team::ActiveModel {
            project_id: Set(owner),
            user_id: Set(target),
        }
    }
}

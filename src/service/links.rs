//! Link tables between a record and many others (a visit's companies and projects, an outreach activity's
//! companies): replaced whole on a change, loaded for many owners in one query.

use std::collections::HashMap;

use sea_orm::{
    ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Alias, Expr, ExprTrait},
};

use serde_json::json;

use super::{
    AppResult, Kind,
    audit::{self, FieldChange},
};

/// A link table: its owner column, its target column, and how a row is made.
pub trait Link: EntityTrait {
    /// The column naming the owner.
    const OWNER: &'static str;
    /// The column naming the linked record.
    const TARGET: &'static str;
    /// The kind of the owner.
    const KIND: Kind;
    /// The owner's field the links are, as the API names it (what the audit log records them under).
    const FIELD: &'static str;
    /// A new row linking `owner` to `target`.
    fn link(owner: i64, target: i64) -> Self::ActiveModel;
}

/// Replaces the links of `owner` with `targets`, inside the caller's transaction; a change is recorded in the
/// owner's audit entry, with the ids before and after.
pub async fn replace<L: Link>(db: &impl ConnectionTrait, owner: i64, mut targets: Vec<i64>) -> AppResult<()> {
    let was = of::<L>(db, vec![owner]).await?.remove(&owner).unwrap_or_default();
    targets.sort_unstable();
    targets.dedup();
    if was == targets {
        return Ok(());
    }
    L::delete_many()
        .filter(Expr::col(Alias::new(L::OWNER)).eq(owner))
        .exec(db)
        .await?;
    let change = FieldChange {
        field: L::FIELD.to_owned(),
        was: Some(json!(was)),
        became: Some(json!(targets)),
        secret: false,
    };
    add_many::<L>(db, targets.iter().map(|&t| (owner, t)).collect()).await?;
    audit::amend(db, L::KIND, owner, change).await
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
    const KIND: Kind = Kind::Visit;
    const FIELD: &'static str = "company_ids";
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
    const KIND: Kind = Kind::Visit;
    const FIELD: &'static str = "project_ids";
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
    const KIND: Kind = Kind::Outreach;
    const FIELD: &'static str = "company_ids";
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
    const KIND: Kind = Kind::Project;
    const FIELD: &'static str = "team_member_ids";
    fn link(owner: i64, target: i64) -> Self::ActiveModel {
        use sea_orm::ActiveValue::Set;
        entity::project_team::ActiveModel {
            project_id: Set(owner),
            user_id: Set(target),
        }
    }
}

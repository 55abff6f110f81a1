//! The service layer: every rule and every read and write of records, one module per aggregate
//! (docs/ARCHITECTURE.md). Operations take input parsed once into the types of [`input`], a connection or a
//! transaction, and the acting user ([`Actor`]); they answer domain values or an [`AppError`]. Nothing here knows
//! HTTP: the JSON API, the CLI, the demo park, the benchmarks, exports and reports all call these functions.

pub mod accounts;
pub mod actor;
pub mod analytics;
pub mod attachments;
pub mod audit;
pub mod blockers;
pub mod channels;
pub mod companies;
pub mod departments;
pub mod error;
pub mod follow_ups;
pub mod funds;
pub mod history;
pub mod imports;
pub mod incubation;
pub mod input;
pub mod jobs;
pub mod links;
pub mod outreach;
mod paging;
pub mod partners;
pub mod people;
pub mod projects;
pub mod reach;
pub mod replicas;
pub mod scope;
pub mod secrets;
pub mod sessions;
pub mod support_funds;
pub mod targets;
pub mod tokens;
pub mod visits;

use std::collections::HashMap;

use sea_orm::{
    ActiveModelTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
    sea_query::{Alias, Expr, ExprTrait, Func, LikeExpr, SimpleExpr},
};

pub use actor::{Actor, Need};
pub use paging::{Dir, Order, Page, Paging, after};

/// A database handle an operation can open its transaction on: a connection, or a transaction it then nests in
/// (the demo park writes everything in one).
pub trait Db: ConnectionTrait + sea_orm::TransactionTrait {}

impl<T: ConnectionTrait + sea_orm::TransactionTrait> Db for T {}

/// Begins a write transaction on `db`. On SQLite it takes the write lock at `BEGIN` (`IMMEDIATE`), so that a
/// transaction that reads before it writes waits for another writer — the service, a command run beside it — instead
/// of failing when it upgrades; inside a transaction it is a savepoint. PostgreSQL ignores the mode.
pub async fn begin<D: sea_orm::TransactionTrait + ?Sized>(db: &D) -> Result<D::Transaction, sea_orm::DbErr> {
    let options = sea_orm::TransactionOptions {
        sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
        ..Default::default()
    };
    db.begin_with_options(options).await
}
pub use error::{AppError, AppResult, Code, Kind, Msg};

/// Inserts `rows` in statements of at most `per` rows (SQLite takes at most 32,766 parameters a statement), inside
/// the caller's transaction; answers their ids in order. Batch creation (the ledger import, the benchmarks) ends here.
pub async fn insert_all<A>(db: &impl ConnectionTrait, rows: Vec<A>, per: usize) -> AppResult<Vec<i64>>
where
    A: ActiveModelTrait + Send,
    <A::Entity as EntityTrait>::Model: sea_orm::IntoActiveModel<A>,
    <A::Entity as EntityTrait>::PrimaryKey: sea_orm::PrimaryKeyTrait<ValueType = i64>,
{
    let mut ids = Vec::with_capacity(rows.len());
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(per).collect();
        ids.extend(A::Entity::insert_many(chunk).exec_with_returning_keys(db).await?);
    }
    Ok(ids)
}

/// Inserts one record of `what` and records its creation in the audit log, in the same transaction; answers the
/// stored record.
pub async fn insert_one<A>(
    db: &impl ConnectionTrait,
    what: Kind,
    row: A,
) -> AppResult<<A::Entity as EntityTrait>::Model>
where
    A: ActiveModelTrait + Send,
    <A::Entity as EntityTrait>::Model: sea_orm::IntoActiveModel<A>,
{
    let m = A::Entity::insert(row).exec_with_returning(db).await?;
    audit::changed(db, what, audit::id_of(&m), audit::Action::Create, None, Some(&m), None).await?;
    Ok(m)
}

/// Loads a record by id, or `NotFound`.
pub async fn find<E, C>(db: &C, id: i64, what: Kind) -> AppResult<E::Model>
where
    E: EntityTrait,
    E::PrimaryKey: sea_orm::PrimaryKeyTrait<ValueType = i64>,
    C: ConnectionTrait,
{
    E::find_by_id(id).one(db).await?.ok_or(AppError::not_found(what))
}

/// Writes `changes` to the record `id` only if it still has version `sent` (so concurrent edits never overwrite each
/// other), bumping the version and `updated_at`; answers the stored record.
pub async fn update_versioned<E, C>(
    db: &C,
    id: i64,
    what: Kind,
    sent: i32,
    changes: E::ActiveModel,
) -> AppResult<E::Model>
where
    E: EntityTrait,
    E::PrimaryKey: sea_orm::PrimaryKeyTrait<ValueType = i64>,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
    C: ConnectionTrait,
{
    // No record reaches the last version, so a client that sends it is stale (and must not overflow us).
    let Some(next) = sent.checked_add(1) else {
        return Err(missed::<E, C>(db, id, what).await?);
    };
    let before = E::find_by_id(id).one(db).await?;
    let res = E::update_many()
        .set(changes)
        .col_expr(Alias::new("version"), Expr::value(next))
        .col_expr(Alias::new("updated_at"), Expr::value(chrono::Utc::now()))
        .filter(at_version(id, sent))
        .exec(db)
        .await?;
    touched::<E, C>(db, res.rows_affected, id, what).await?;
    let after = find::<E, _>(db, id, what).await?;
    audit::changed(db, what, id, audit::Action::Update, before.as_ref(), Some(&after), None).await?;
    Ok(after)
}

/// Deletes the record `id` only if it still has version `sent`.
pub async fn delete_versioned<E, C>(db: &C, id: i64, what: Kind, sent: i32) -> AppResult<()>
where
    E: EntityTrait,
    E::PrimaryKey: sea_orm::PrimaryKeyTrait<ValueType = i64>,
    C: ConnectionTrait,
{
    let before = E::find_by_id(id).one(db).await?;
    let res = E::delete_many().filter(at_version(id, sent)).exec(db).await?;
    touched::<E, C>(db, res.rows_affected, id, what).await?;
    audit::changed(db, what, id, audit::Action::Delete, before.as_ref(), None, None).await
}

/// The record `id` while it still has version `sent`.
fn at_version(id: i64, sent: i32) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(Expr::col(Alias::new("id")).eq(id))
        .add(Expr::col(Alias::new("version")).eq(sent))
}

/// Ok when a versioned write touched its row; else why it did not: the record is gone or has another version.
async fn touched<E: EntityTrait, C: ConnectionTrait>(db: &C, rows: u64, id: i64, what: Kind) -> AppResult<()> {
    if rows > 0 {
        return Ok(());
    }
    Err(missed::<E, C>(db, id, what).await?)
}

/// Why a versioned write did not touch the record `id`: it is gone, or it has another version.
async fn missed<E: EntityTrait, C: ConnectionTrait>(db: &C, id: i64, what: Kind) -> AppResult<AppError> {
    Ok(match current_version::<E>(db, id).await? {
        Some(v) => AppError::stale(v),
        None => AppError::not_found(what),
    })
}

/// The `name` of each record of `E` (companies, projects …) among `ids`, in one query.
pub async fn names<E: EntityTrait>(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = i64>,
) -> AppResult<HashMap<i64, String>> {
    Ok(E::find()
        .select_only()
        .column_as(Expr::col(Alias::new("id")), "id")
        .column_as(Expr::col(Alias::new("name")), "name")
        .filter(Expr::col(Alias::new("id")).is_in(ids))
        .into_tuple::<(i64, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// The ids among `ids` that have a record of `E`, each once, sorted; `unknown` names the first missing one.
pub async fn known<E: EntityTrait>(
    db: &impl ConnectionTrait,
    ids: &[i64],
    unknown: impl FnOnce(i64) -> AppError,
) -> AppResult<Vec<i64>> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut found = std::collections::HashSet::with_capacity(ids.len());
    for chunk in ids.chunks(1000) {
        let rows: Vec<i64> = E::find()
            .select_only()
            .column_as(Expr::col(Alias::new("id")), "id")
            .filter(Expr::col(Alias::new("id")).is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        found.extend(rows);
    }
    match ids.iter().find(|id| !found.contains(id)) {
        Some(&missing) => Err(unknown(missing)),
        None => Ok(ids),
    }
}

/// The stored version of record `id`, if it exists.
pub async fn current_version<E: EntityTrait>(db: &impl ConnectionTrait, id: i64) -> AppResult<Option<i32>> {
    Ok(E::find()
        .select_only()
        .column_as(Expr::col(Alias::new("version")), "version")
        .filter(Expr::col(Alias::new("id")).eq(id))
        .into_tuple::<i32>()
        .one(db)
        .await?)
}

/// A case-insensitive "name contains `q`" condition; `%`, `_` and `\` in `q` are taken literally. On PostgreSQL
/// `lower(name) LIKE …`, which the trigram index on `lower(name)` answers; on SQLite a plain `LIKE`, which ignores
/// ASCII case there already (its `lower` lowers only ASCII too), without calling `lower` on every name. A search of
/// fewer than three characters none of which has a case (`77`, `上海`) is a plain `LIKE` on PostgreSQL too: no
/// trigram index narrows it, so every name is read, and lowering each of them tripled the time (10 against 30–40 ms
/// over 100,000 projects) for the same rows.
pub fn name_contains(backend: sea_orm::DbBackend, col: impl sea_orm::ColumnTrait, q: &str) -> SimpleExpr {
    let mut p = String::with_capacity(q.len() + 2);
    p.push('%');
    for c in q.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    let name = Expr::col(col.as_column_ref());
    let like = LikeExpr::new(p).escape('\\');
    let short_caseless = q.chars().count() < 3 && q.to_lowercase() == q && q.to_uppercase() == q;
    if backend == sea_orm::DbBackend::Postgres && !short_caseless {
        Expr::expr(Func::lower(name)).like(like)
    } else {
        name.like(like)
    }
}

/// On PostgreSQL, for a search of one or two letters that few names hold, the condition that the letters and
/// letter pairs kept of `table`'s names (`name_grams`, migration m20261210_000026) hold it: every name
/// [`name_contains`] finds meets it, and a GIN index answers it. None when more than an eighth of the names hold the
/// search, by the statistics PostgreSQL keeps of the column (then reading every name is faster than finding them one
/// by one through the index: measured at a million projects, docs/BENCHMARKS.md), for a longer search (the trigram
/// index narrows it) and on SQLite (it keeps no pairs).
pub async fn rare_name_pair(db: &impl ConnectionTrait, table: &str, q: &str) -> AppResult<Option<SimpleExpr>> {
    use sea_orm::{DatabaseBackend::Postgres, sea_query::extension::postgres::PgExpr};
    let q = q.to_lowercase();
    if db.get_database_backend() != Postgres || !(1..=2).contains(&q.chars().count()) {
        return Ok(None);
    }
    // The shares of the column's most common elements; a pair not among them is rarer than any of them.
    let share = db
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            Postgres,
            "SELECT m.f::float8 AS f FROM pg_stats AS s, \
             unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) AS m(e, f) \
             WHERE s.schemaname = current_schema() AND s.tablename = $1 AND s.attname = 'name_grams' AND m.e = $2",
            [table.into(), q.clone().into()],
        ))
        .await?
        .map(|r| r.try_get::<f64>("", "f"))
        .transpose()?;
    if share.is_some_and(|f| f > 1.0 / 8.0) {
        return Ok(None);
    }
    // `string_to_array(q, '')` is the one-element array {q}.
    Ok(Some(
        Expr::col((Alias::new(table), Alias::new("name_grams")))
            .contains(Func::cust(Alias::new("string_to_array")).arg(q).arg("")),
    ))
}

/// A search text worth filtering by: trimmed, not empty.
pub fn search_text(q: Option<&str>) -> Option<&str> {
    q.map(str::trim).filter(|q| !q.is_empty())
}

//! Moving a whole database to the other kind: every table copied row by row through the entities (so each value
//! keeps its type: a SQLite timestamp's text becomes PostgreSQL's `timestamptz`, its 0/1 a boolean), in one
//! transaction, parents before children, then PostgreSQL's id sequences moved past the copied ids. A SQLite backup
//! restores into PostgreSQL this way (`invest-crm restore FILE --to postgres://…`), and any database copies into
//! any other (`invest-crm copy --from URL --to URL`): a bureau that starts on the embedded default moves up, and
//! back, without losing a row.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use entity::*;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, IntoActiveModel, Iterable,
    PaginatorTrait, PrimaryKeyToColumn, QueryOrder, Statement, TransactionTrait,
};

/// Rows fetched and inserted at a time (within PostgreSQL's 65,535 parameters for the widest table).
const BATCH: u64 = 500;

/// Copies every row of `E`'s table from `src` into `dst`, in primary-key order; answers how many.
async fn table<E>(src: &DatabaseConnection, dst: &impl ConnectionTrait) -> anyhow::Result<i64>
where
    E: EntityTrait,
    E::Model: IntoActiveModel<E::ActiveModel> + Sync,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
{
    let mut find = E::find();
    for pk in E::PrimaryKey::iter() {
        find = find.order_by_asc(pk.into_column());
    }
    let mut pages = find.paginate(src, BATCH);
    let mut n = 0;
    while let Some(rows) = pages.fetch_and_next().await? {
        n += rows.len() as i64;
        let rows = rows.into_iter().map(|m| m.into_active_model().reset_all());
        E::insert_many(rows).exec_without_returning(dst).await?;
    }
    Ok(n)
}

/// Calls the macro `$m` with the entity module of every table (`entity::*` in scope), parents before children (a
/// department's parent is in the same statement's batch), the audit log last: what a copy copies, in its order.
#[macro_export]
macro_rules! every_table {
    ($m:ident) => {
        $m!(
            department,
            user,
            company,
            contact,
            partner,
            target,
            visit,
            project,
            visit_company,
            visit_project,
            outreach,
            outreach_company,
            project_team,
            follow_up,
            fund_arrival,
            stage_event,
            blocker,
            support_fund,
            incubation_candidate,
            incubation_event,
            import_batch,
            import_item,
            api_token,
            session,
            sign_in_strike,
            sign_in_gate,
            replica,
            attachment,
            channel,
            job_run,
            job_attempt,
            analytics_snapshot,
            outbox,
            audit_entry
        )
    };
}

/// Copies everything `src` holds into `dst`, replacing what `dst` holds (both at the same schema version: the
/// caller migrates them), in one transaction of `dst`. Answers the rows copied per table.
pub async fn database(src: &DatabaseConnection, dst: &DatabaseConnection) -> anyhow::Result<BTreeMap<String, i64>> {
    let covered: Vec<String> = {
        macro_rules! names {
            ($($e:ident),*) => { vec![$(sea_orm::EntityName::table_name(&$e::Entity).to_owned()),*] };
        }
        every_table!(names)
    };
    let tables = super::row_counts(src).await?;
    let missed: Vec<&String> = tables
        .keys()
        .filter(|t| *t != "seaql_migrations" && !covered.contains(t) && !crate::db::kept_tables().contains(&t.as_str()))
        .collect();
    if !missed.is_empty() {
        bail!("the copy does not know the tables {missed:?}");
    }
    let txn = dst.begin().await?;
    for t in covered.iter().rev() {
        txn.execute_unprepared(&format!("DELETE FROM \"{t}\"")).await?;
    }
    // What the database keeps from the tables copied is not copied: `dst` counts it afresh at the end.
    let kept_from: Vec<&str> = migration::keepers(txn.get_database_backend())
        .iter()
        .map(|k| k.source)
        .collect();
    crate::db::kept_paused(&txn, &kept_from).await?;
    let mut copied = BTreeMap::new();
    macro_rules! copy {
        ($($e:ident),*) => {
            $(
                let name = sea_orm::EntityName::table_name(&$e::Entity).to_owned();
                let n = table::<$e::Entity>(src, &txn).await.with_context(|| format!("copying {name}"))?;
                copied.insert(name, n);
            )*
        };
    }
    every_table!(copy);
    crate::db::kept_rebuilt(&txn, &kept_from).await?;
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        let with_id = txn
            .query_all_raw(Statement::from_string(
                DatabaseBackend::Postgres,
                "SELECT table_name::text AS t FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND column_name = 'id' \
                 AND data_type IN ('integer', 'bigint')",
            ))
            .await?;
        for row in with_id {
            let t: String = row.try_get("", "t")?;
            if !covered.contains(&t) {
                continue;
            }
            let sql = format!(
                "SELECT setval(pg_get_serial_sequence('\"{t}\"', 'id'), COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) \
                 FROM \"{t}\""
            );
            txn.query_all_raw(Statement::from_string(DatabaseBackend::Postgres, sql))
                .await?;
        }
    }
    txn.commit().await?;
    Ok(copied)
}

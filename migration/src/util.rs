//! Building blocks shared by the migrations. Changing one changes what old migrations create: only add here.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveIden)]
enum Common {
    Version,
    CreatedAt,
    UpdatedAt,
}

/// The columns every editable record carries: optimistic-lock version and UTC timestamps.
pub fn versioned(mut t: TableCreateStatement) -> TableCreateStatement {
    t.col(integer(Common::Version).default(1))
        .col(timestamp_with_time_zone(Common::CreatedAt))
        .col(timestamp_with_time_zone(Common::UpdatedAt));
    t
}

/// A named foreign key.
pub fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(on_delete)
        .to_owned()
}

/// A named index over the given columns.
pub fn index(name: &str, table: impl IntoIden, cols: &[&'static str]) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(Alias::new(*c));
    }
    i.to_owned()
}

/// Runs the statements written for the database the migration runs on: PostgreSQL's or SQLite's.
pub async fn execute_for(m: &SchemaManager<'_>, postgres: &str, sqlite: &str) -> Result<(), DbErr> {
    let sql = match m.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => postgres,
        _ => sqlite,
    };
    m.get_connection().execute_unprepared(sql).await.map(|_| ())
}

//! People, not names: departments (部门) with a parent for a simple tree, every user in one, a data scope per user,
//! reminders on or off; an owner (负责人, a user) on projects, blockers, visits, outreach, follow-ups and incubation
//! candidates; a project's contact leader (联系领导) as a user, and its team (专班) as users.
//!
//! Today's text is kept: `projects.contact_leader` stays as it was and is linked to the one user whose display name
//! it is; anything else stays visible as text and is listed by `invest-crm migrate report-unlinked`. Owners are
//! taken from what the records say of who recorded them: a project's from the recorder of its first stage event, a
//! follow-up's from its recorder, a blocker's from its project.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::{fk, index, versioned};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Departments {
    Table,
    Id,
    Name,
    ParentId,
}

#[derive(DeriveIden)]
enum ProjectTeam {
    Table,
    ProjectId,
    UserId,
}

/// The tables that get an owner.
const OWNED: [&str; 6] = [
    "projects",
    "blockers",
    "visits",
    "outreach",
    "follow_ups",
    "incubation_candidates",
];

/// The department every user already recorded is put in.
const FIRST_DEPARTMENT: &str = "局机关";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let mut t = Table::create();
        t.table(Departments::Table)
            .col(big_pk_auto(Departments::Id))
            .col(string_len_uniq(Departments::Name, 200))
            .col(big_integer_null(Departments::ParentId))
            .foreign_key(&mut fk(
                "fk_departments_parent",
                (Departments::Table, Departments::ParentId),
                (Departments::Table, Departments::Id),
                ForeignKeyAction::Restrict,
            ));
        m.create_table(versioned(t.to_owned())).await?;
        let db = m.get_connection();
        // Columns that refer to another table are added with their REFERENCES clause, which SQLite and PostgreSQL
        // both accept in ADD COLUMN (sea-query's ALTER cannot add a foreign key on SQLite).
        let add = async |table: &str, column: &str, def: &str| {
            db.execute_unprepared(&format!("ALTER TABLE {table} ADD COLUMN {column} {def}"))
                .await
                .map(|_| ())
        };
        add("users", "department_id", "BIGINT NULL REFERENCES departments(id)").await?;
        add("users", "data_scope", "VARCHAR(16) NULL").await?;
        add("users", "reminders", "BOOLEAN NOT NULL DEFAULT TRUE").await?;
        for table in OWNED {
            add(table, "owner_id", "BIGINT NULL REFERENCES users(id)").await?;
            m.create_index(index(&format!("ix_{table}_owner"), Alias::new(table), &["owner_id"]))
                .await?;
        }
        add("projects", "contact_leader_id", "BIGINT NULL REFERENCES users(id)").await?;
        m.create_index(index(
            "ix_projects_contact_leader_id",
            Alias::new("projects"),
            &["contact_leader_id"],
        ))
        .await?;
        let mut t = Table::create();
        t.table(ProjectTeam::Table)
            .col(big_integer(ProjectTeam::ProjectId))
            .col(big_integer(ProjectTeam::UserId))
            .primary_key(Index::create().col(ProjectTeam::ProjectId).col(ProjectTeam::UserId))
            .foreign_key(
                ForeignKey::create()
                    .name("fk_project_team_project")
                    .from(ProjectTeam::Table, ProjectTeam::ProjectId)
                    .to(Alias::new("projects"), Alias::new("id"))
                    .on_delete(ForeignKeyAction::Cascade),
            )
            .foreign_key(
                ForeignKey::create()
                    .name("fk_project_team_user")
                    .from(ProjectTeam::Table, ProjectTeam::UserId)
                    .to(Alias::new("users"), Alias::new("id"))
                    .on_delete(ForeignKeyAction::Restrict),
            );
        m.create_table(t.to_owned()).await?;
        m.create_index(index("ix_project_team_user", ProjectTeam::Table, &["user_id"]))
            .await?;
        link_existing(m).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite cannot drop a column that references another table; rebuilding eight tables to undo this is not
        // worth the risk. Refuse before anything is changed, rather than stop halfway.
        if m.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
            return Err(DbErr::Migration(
                "m20261205_000012_people cannot be undone on SQLite (it cannot drop the owner columns, which refer \
                 to users); restore the database file from a backup taken before it instead"
                    .into(),
            ));
        }
        m.drop_table(Table::drop().table(ProjectTeam::Table).to_owned()).await?;
        let db = m.get_connection();
        let mut columns = vec![(
            "projects",
            "contact_leader_id",
            Some("ix_projects_contact_leader_id".to_owned()),
        )];
        columns.extend(OWNED.map(|t| (t, "owner_id", Some(format!("ix_{t}_owner")))));
        columns.extend([
            ("users", "reminders", None),
            ("users", "data_scope", None),
            ("users", "department_id", None),
        ]);
        for (table, column, ix) in columns {
            if let Some(ix) = ix {
                m.drop_index(Index::drop().name(&ix).table(Alias::new(table)).to_owned())
                    .await?;
            }
            db.execute_unprepared(&format!("ALTER TABLE {table} DROP COLUMN {column}"))
                .await?;
        }
        m.drop_table(Table::drop().table(Departments::Table).to_owned()).await
    }
}

/// Today's records linked to the people they name: every user in the first department, owners from the recorders,
/// contact leaders from the one user of that display name.
async fn link_existing(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = m.get_connection();
    let now = if m.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        "now()"
    } else {
        "CURRENT_TIMESTAMP"
    };
    for sql in [
        format!(
            "INSERT INTO departments (name, parent_id, version, created_at, updated_at) \
             SELECT '{FIRST_DEPARTMENT}', NULL, 1, {now}, {now} WHERE EXISTS (SELECT 1 FROM users)"
        ),
        format!("UPDATE users SET department_id = (SELECT id FROM departments WHERE name = '{FIRST_DEPARTMENT}')"),
        "UPDATE projects SET owner_id = (SELECT u.id FROM users u WHERE u.username = \
         (SELECT e.recorded_by FROM stage_events e WHERE e.project_id = projects.id ORDER BY e.id LIMIT 1))"
            .to_owned(),
        "UPDATE follow_ups SET owner_id = (SELECT u.id FROM users u WHERE u.username = follow_ups.recorded_by)"
            .to_owned(),
        "UPDATE blockers SET owner_id = (SELECT p.owner_id FROM projects p WHERE p.id = blockers.project_id)"
            .to_owned(),
        "UPDATE projects SET contact_leader_id = (SELECT MIN(u.id) FROM users u WHERE u.display_name = \
         projects.contact_leader) WHERE contact_leader IS NOT NULL AND (SELECT COUNT(*) FROM users u \
         WHERE u.display_name = projects.contact_leader) = 1"
            .to_owned(),
    ] {
        db.execute_unprepared(&sql).await?;
    }
    Ok(())
}

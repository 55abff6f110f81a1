//! Projects by stage and industry in one index (`ix_projects_stage_industry`), in place of the index on the stage
//! alone: the project list's filter by both counted its matches through two indexes and their intersection (87 ms at
//! a million projects); the pair's index counts them alone (10 ms for the page), and serves the stage alone as its
//! first column.

use sea_orm_migration::prelude::*;

use crate::util::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Projects {
    Table,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(index(
            "ix_projects_stage_industry",
            Projects::Table,
            &["stage", "industry"],
        ))
        .await?;
        m.drop_index(
            Index::drop()
                .name("ix_projects_stage")
                .table(Projects::Table)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(index("ix_projects_stage", Projects::Table, &["stage"]))
            .await?;
        m.drop_index(
            Index::drop()
                .name("ix_projects_stage_industry")
                .table(Projects::Table)
                .to_owned(),
        )
        .await
    }
}

//! The CRM core: companies, contacts, projects, their stage history, follow-ups and fund arrivals.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::{fk, index, versioned};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Companies {
    Table,
    Id,
    Name,
    CreditCode,
    Industry,
    Province,
    City,
    Notes,
}

#[derive(DeriveIden)]
enum Contacts {
    Table,
    Id,
    CompanyId,
    Name,
    Title,
    Phone,
    Email,
    Notes,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
    Name,
    CompanyId,
    Industry,
    Source,
    AgreedInvestmentYuan,
    LandMu,
    IsMajor,
    ContactLeader,
    ResponsibleUnit,
    Team,
    Notes,
    Stage,
}

#[derive(DeriveIden)]
enum StageEvents {
    Table,
    Id,
    ProjectId,
    Stage,
    FromStage,
    OccurredOn,
    Note,
    Reason,
    RecordedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum FollowUps {
    Table,
    Id,
    ProjectId,
    OccurredOn,
    Kind,
    Note,
    NextStep,
    NextDate,
    RecordedBy,
}

#[derive(DeriveIden)]
enum FundArrivals {
    Table,
    Id,
    ProjectId,
    ArrivedOn,
    AmountYuan,
    Note,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(companies_table()).await?;
        m.create_index(
            index("ux_companies_credit_code", Companies::Table, &["credit_code"])
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_companies_name", Companies::Table, &["name"]))
            .await?;

        m.create_table(contacts_table()).await?;
        m.create_index(index("ix_contacts_company", Contacts::Table, &["company_id"]))
            .await?;

        m.create_table(projects_table()).await?;
        for (name, cols) in [
            ("ix_projects_company", &["company_id"][..]),
            ("ix_projects_stage", &["stage"]),
            ("ix_projects_industry", &["industry"]),
            ("ix_projects_source", &["source"]),
            ("ix_projects_contact_leader", &["contact_leader"]),
            ("ix_projects_name", &["name"]),
        ] {
            m.create_index(index(name, Projects::Table, cols)).await?;
        }

        m.create_table(stage_events_table()).await?;
        m.create_index(index(
            "ix_stage_events_project",
            StageEvents::Table,
            &["project_id", "occurred_on"],
        ))
        .await?;
        m.create_index(index(
            "ix_stage_events_stage_date",
            StageEvents::Table,
            &["stage", "occurred_on"],
        ))
        .await?;

        m.create_table(follow_ups_table()).await?;
        m.create_index(index(
            "ix_follow_ups_project",
            FollowUps::Table,
            &["project_id", "occurred_on"],
        ))
        .await?;

        m.create_table(fund_arrivals_table()).await?;
        m.create_index(index(
            "ix_fund_arrivals_project",
            FundArrivals::Table,
            &["project_id", "arrived_on"],
        ))
        .await?;
        m.create_index(index("ix_fund_arrivals_date", FundArrivals::Table, &["arrived_on"]))
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            FundArrivals::Table.into_iden(),
            FollowUps::Table.into_iden(),
            StageEvents::Table.into_iden(),
            Projects::Table.into_iden(),
            Contacts::Table.into_iden(),
            Companies::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

fn companies_table() -> TableCreateStatement {
    versioned(
        Table::create()
            .table(Companies::Table)
            .col(big_pk_auto(Companies::Id))
            .col(string_len(Companies::Name, 200))
            .col(string_len_null(Companies::CreditCode, 18))
            .col(string_len_null(Companies::Industry, 100))
            .col(string_len_null(Companies::Province, 50))
            .col(string_len_null(Companies::City, 50))
            .col(text_null(Companies::Notes))
            .to_owned(),
    )
}

fn contacts_table() -> TableCreateStatement {
    versioned(
        Table::create()
            .table(Contacts::Table)
            .col(big_pk_auto(Contacts::Id))
            .col(big_integer(Contacts::CompanyId))
            .col(string_len(Contacts::Name, 100))
            .col(string_len_null(Contacts::Title, 100))
            .col(string_len_null(Contacts::Phone, 30))
            .col(string_len_null(Contacts::Email, 254))
            .col(text_null(Contacts::Notes))
            .foreign_key(&mut fk(
                "fk_contacts_company",
                (Contacts::Table, Contacts::CompanyId),
                (Companies::Table, Companies::Id),
                ForeignKeyAction::Cascade,
            ))
            .to_owned(),
    )
}

fn projects_table() -> TableCreateStatement {
    versioned(
        Table::create()
            .table(Projects::Table)
            .col(big_pk_auto(Projects::Id))
            .col(string_len(Projects::Name, 200))
            .col(big_integer(Projects::CompanyId))
            .col(string_len_null(Projects::Industry, 100))
            .col(string_len(Projects::Source, 16))
            .col(big_integer_null(Projects::AgreedInvestmentYuan))
            .col(double_null(Projects::LandMu))
            .col(boolean(Projects::IsMajor).default(false))
            .col(string_len_null(Projects::ContactLeader, 100))
            .col(string_len_null(Projects::ResponsibleUnit, 200))
            .col(string_len_null(Projects::Team, 200))
            .col(text_null(Projects::Notes))
            .col(string_len(Projects::Stage, 16))
            .foreign_key(&mut fk(
                "fk_projects_company",
                (Projects::Table, Projects::CompanyId),
                (Companies::Table, Companies::Id),
                ForeignKeyAction::Restrict,
            ))
            .to_owned(),
    )
}

fn stage_events_table() -> TableCreateStatement {
    Table::create()
        .table(StageEvents::Table)
        .col(big_pk_auto(StageEvents::Id))
        .col(big_integer(StageEvents::ProjectId))
        .col(string_len(StageEvents::Stage, 16))
        .col(string_len_null(StageEvents::FromStage, 16))
        .col(date(StageEvents::OccurredOn))
        .col(text_null(StageEvents::Note))
        .col(text_null(StageEvents::Reason))
        .col(string_len_null(StageEvents::RecordedBy, 100))
        .col(timestamp_with_time_zone(StageEvents::CreatedAt))
        .foreign_key(&mut fk(
            "fk_stage_events_project",
            (StageEvents::Table, StageEvents::ProjectId),
            (Projects::Table, Projects::Id),
            ForeignKeyAction::Cascade,
        ))
        .to_owned()
}

fn follow_ups_table() -> TableCreateStatement {
    versioned(
        Table::create()
            .table(FollowUps::Table)
            .col(big_pk_auto(FollowUps::Id))
            .col(big_integer(FollowUps::ProjectId))
            .col(date(FollowUps::OccurredOn))
            .col(string_len(FollowUps::Kind, 16))
            .col(text(FollowUps::Note))
            .col(text_null(FollowUps::NextStep))
            .col(date_null(FollowUps::NextDate))
            .col(string_len_null(FollowUps::RecordedBy, 100))
            .foreign_key(&mut fk(
                "fk_follow_ups_project",
                (FollowUps::Table, FollowUps::ProjectId),
                (Projects::Table, Projects::Id),
                ForeignKeyAction::Cascade,
            ))
            .to_owned(),
    )
}

fn fund_arrivals_table() -> TableCreateStatement {
    versioned(
        Table::create()
            .table(FundArrivals::Table)
            .col(big_pk_auto(FundArrivals::Id))
            .col(big_integer(FundArrivals::ProjectId))
            .col(date(FundArrivals::ArrivedOn))
            .col(big_integer(FundArrivals::AmountYuan))
            .col(text_null(FundArrivals::Note))
            .foreign_key(&mut fk(
                "fk_fund_arrivals_project",
                (FundArrivals::Table, FundArrivals::ProjectId),
                (Projects::Table, Projects::Id),
                ForeignKeyAction::Cascade,
            ))
            .to_owned(),
    )
}

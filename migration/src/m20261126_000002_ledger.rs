//! The whole ledger: visits, outreach, partners, blockers, incubation, targets, and where projects came from.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::{fk, index, versioned};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Visits {
    Table,
    Id,
    VisitDate,
    Headcount,
    Purpose,
    Summary,
    ReceivingLeaders,
    Staff,
}

#[derive(DeriveIden, Clone, Copy)]
enum VisitCompanies {
    Table,
    VisitId,
    CompanyId,
}

#[derive(DeriveIden, Clone, Copy)]
enum VisitProjects {
    Table,
    VisitId,
    ProjectId,
}

#[derive(DeriveIden)]
enum Outreach {
    Table,
    Id,
    Kind,
    City,
    StartDate,
    EndDate,
    LeadingOfficial,
    Participants,
    Notes,
}

#[derive(DeriveIden, Clone, Copy)]
enum OutreachCompanies {
    Table,
    OutreachId,
    CompanyId,
}

#[derive(DeriveIden)]
enum Partners {
    Table,
    Id,
    Name,
    Kind,
    AgreementDate,
    Notes,
}

#[derive(DeriveIden)]
enum Blockers {
    Table,
    Id,
    ProjectId,
    Title,
    Category,
    OwnerUnit,
    AssignedLeader,
    OpenedOn,
    DueDate,
    Status,
    Resolution,
    ResolvedOn,
}

#[derive(DeriveIden)]
enum IncubationCandidates {
    Table,
    Id,
    CompanyId,
    CohortYear,
    Stage,
    Notes,
}

#[derive(DeriveIden)]
enum IncubationEvents {
    Table,
    Id,
    CandidateId,
    Stage,
    FromStage,
    OccurredOn,
    Note,
    Reason,
    RecordedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Targets {
    Table,
    Id,
    Year,
    Metric,
    Value,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
    SourceVisitId,
    SourceOutreachId,
    SourcePartnerId,
}

#[derive(DeriveIden)]
enum Companies {
    Table,
    Id,
}

fn cascade(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    fk(name, from, to, ForeignKeyAction::Cascade)
}

/// A link table between two records, deleted with either.
fn link(
    table: impl IntoIden + Copy + 'static,
    a: (impl IntoIden + Copy + 'static, impl IntoIden, impl IntoIden),
    b: (impl IntoIden + Copy + 'static, impl IntoIden, impl IntoIden),
    names: (&str, &str),
) -> TableCreateStatement {
    Table::create()
        .table(table)
        .col(big_integer(a.0))
        .col(big_integer(b.0))
        .primary_key(Index::create().col(a.0).col(b.0))
        .foreign_key(&mut cascade(names.0, (table, a.0), (a.1, a.2)))
        .foreign_key(&mut cascade(names.1, (table, b.0), (b.1, b.2)))
        .to_owned()
}

/// Visits and outreach activities with their link tables.
async fn visits_and_outreach(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    m.create_table(visits_table()).await?;
    m.create_index(index("ix_visits_date", Visits::Table, &["visit_date"]))
        .await?;
    m.create_table(link(
        VisitCompanies::Table,
        (VisitCompanies::VisitId, Visits::Table, Visits::Id),
        (VisitCompanies::CompanyId, Companies::Table, Companies::Id),
        ("fk_visit_companies_visit", "fk_visit_companies_company"),
    ))
    .await?;
    m.create_index(index(
        "ix_visit_companies_company",
        VisitCompanies::Table,
        &["company_id"],
    ))
    .await?;
    m.create_table(link(
        VisitProjects::Table,
        (VisitProjects::VisitId, Visits::Table, Visits::Id),
        (VisitProjects::ProjectId, Projects::Table, Projects::Id),
        ("fk_visit_projects_visit", "fk_visit_projects_project"),
    ))
    .await?;
    m.create_index(index(
        "ix_visit_projects_project",
        VisitProjects::Table,
        &["project_id"],
    ))
    .await?;

    m.create_table(outreach_table()).await?;
    m.create_index(index("ix_outreach_start", Outreach::Table, &["start_date"]))
        .await?;
    m.create_table(link(
        OutreachCompanies::Table,
        (OutreachCompanies::OutreachId, Outreach::Table, Outreach::Id),
        (OutreachCompanies::CompanyId, Companies::Table, Companies::Id),
        ("fk_outreach_companies_outreach", "fk_outreach_companies_company"),
    ))
    .await?;
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        visits_and_outreach(m).await?;
        m.create_table(partners_table()).await?;

        // SQLite cannot add a foreign-key constraint to an existing table, so these references are kept by the
        // application: it checks them on write and clears them when the visit, outreach or partner is deleted.
        for col in [
            Projects::SourceVisitId,
            Projects::SourceOutreachId,
            Projects::SourcePartnerId,
        ] {
            m.alter_table(
                Table::alter()
                    .table(Projects::Table)
                    .add_column(big_integer_null(col))
                    .to_owned(),
            )
            .await?;
        }
        for (name, col) in [
            ("ix_projects_source_visit", "source_visit_id"),
            ("ix_projects_source_outreach", "source_outreach_id"),
            ("ix_projects_source_partner", "source_partner_id"),
        ] {
            m.create_index(index(name, Projects::Table, &[col])).await?;
        }

        m.create_table(blockers_table()).await?;
        for (name, cols) in [
            ("ix_blockers_project", &["project_id"][..]),
            ("ix_blockers_status_due", &["status", "due_date"]),
            ("ix_blockers_category", &["category"]),
            ("ix_blockers_leader", &["assigned_leader"]),
            ("ix_blockers_opened", &["opened_on"]),
            ("ix_blockers_resolved", &["resolved_on"]),
        ] {
            m.create_index(index(name, Blockers::Table, cols)).await?;
        }

        m.create_table(incubation_candidates_table()).await?;
        m.create_index(
            index(
                "ux_incubation_company_cohort",
                IncubationCandidates::Table,
                &["company_id", "cohort_year"],
            )
            .unique()
            .to_owned(),
        )
        .await?;
        m.create_index(index("ix_incubation_stage", IncubationCandidates::Table, &["stage"]))
            .await?;
        m.create_table(incubation_events_table()).await?;
        m.create_index(index(
            "ix_incubation_events_candidate",
            IncubationEvents::Table,
            &["candidate_id", "occurred_on"],
        ))
        .await?;

        m.create_table(targets_table()).await?;
        m.create_index(
            index("ux_targets_year_metric", Targets::Table, &["year", "metric"])
                .unique()
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            Targets::Table.into_iden(),
            IncubationEvents::Table.into_iden(),
            IncubationCandidates::Table.into_iden(),
            Blockers::Table.into_iden(),
            Partners::Table.into_iden(),
            OutreachCompanies::Table.into_iden(),
            Outreach::Table.into_iden(),
            VisitProjects::Table.into_iden(),
            VisitCompanies::Table.into_iden(),
            Visits::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        for name in [
            "ix_projects_source_visit",
            "ix_projects_source_outreach",
            "ix_projects_source_partner",
        ] {
            m.drop_index(Index::drop().name(name).table(Projects::Table).to_owned())
                .await?;
        }
        for col in [
            Projects::SourceVisitId,
            Projects::SourceOutreachId,
            Projects::SourcePartnerId,
        ] {
            m.alter_table(Table::alter().table(Projects::Table).drop_column(col).to_owned())
                .await?;
        }
        Ok(())
    }
}

fn visits_table() -> TableCreateStatement {
    versioned(
        Table::create()
            .table(Visits::Table)
            .col(big_pk_auto(Visits::Id))
            .col(date(Visits::VisitDate))
            .col(integer(Visits::Headcount))
            .col(text_null(Visits::Purpose))
            .col(text_null(Visits::Summary))
            .col(json(Visits::ReceivingLeaders))
            .col(json(Visits::Staff))
            .to_owned(),
    )
}

fn outreach_table() -> TableCreateStatement {
    versioned(
        Table::create()
            .table(Outreach::Table)
            .col(big_pk_auto(Outreach::Id))
            .col(string_len(Outreach::Kind, 24))
            .col(string_len(Outreach::City, 50))
            .col(date(Outreach::StartDate))
            .col(date(Outreach::EndDate))
            .col(string_len_null(Outreach::LeadingOfficial, 100))
            .col(json(Outreach::Participants))
            .col(text_null(Outreach::Notes))
            .to_owned(),
    )
}

fn partners_table() -> TableCreateStatement {
    versioned(
        Table::create()
            .table(Partners::Table)
            .col(big_pk_auto(Partners::Id))
            .col(string_len(Partners::Name, 200))
            .col(string_len(Partners::Kind, 24))
            .col(date_null(Partners::AgreementDate))
            .col(text_null(Partners::Notes))
            .to_owned(),
    )
}

fn blockers_table() -> TableCreateStatement {
    versioned(
        Table::create()
            .table(Blockers::Table)
            .col(big_pk_auto(Blockers::Id))
            .col(big_integer(Blockers::ProjectId))
            .col(string_len(Blockers::Title, 200))
            .col(string_len(Blockers::Category, 16))
            .col(string_len_null(Blockers::OwnerUnit, 200))
            .col(string_len_null(Blockers::AssignedLeader, 100))
            .col(date(Blockers::OpenedOn))
            .col(date_null(Blockers::DueDate))
            .col(string_len(Blockers::Status, 16))
            .col(text_null(Blockers::Resolution))
            .col(date_null(Blockers::ResolvedOn))
            .foreign_key(&mut cascade(
                "fk_blockers_project",
                (Blockers::Table, Blockers::ProjectId),
                (Projects::Table, Projects::Id),
            ))
            .to_owned(),
    )
}

fn incubation_candidates_table() -> TableCreateStatement {
    versioned(
        Table::create()
            .table(IncubationCandidates::Table)
            .col(big_pk_auto(IncubationCandidates::Id))
            .col(big_integer(IncubationCandidates::CompanyId))
            .col(integer(IncubationCandidates::CohortYear))
            .col(string_len(IncubationCandidates::Stage, 16))
            .col(text_null(IncubationCandidates::Notes))
            .foreign_key(
                &mut ForeignKey::create()
                    .name("fk_incubation_company")
                    .from(IncubationCandidates::Table, IncubationCandidates::CompanyId)
                    .to(Companies::Table, Companies::Id)
                    .on_delete(ForeignKeyAction::Restrict)
                    .to_owned(),
            )
            .to_owned(),
    )
}

fn incubation_events_table() -> TableCreateStatement {
    Table::create()
        .table(IncubationEvents::Table)
        .col(big_pk_auto(IncubationEvents::Id))
        .col(big_integer(IncubationEvents::CandidateId))
        .col(string_len(IncubationEvents::Stage, 16))
        .col(string_len_null(IncubationEvents::FromStage, 16))
        .col(date(IncubationEvents::OccurredOn))
        .col(text_null(IncubationEvents::Note))
        .col(text_null(IncubationEvents::Reason))
        .col(string_len_null(IncubationEvents::RecordedBy, 100))
        .col(timestamp_with_time_zone(IncubationEvents::CreatedAt))
        .foreign_key(&mut cascade(
            "fk_incubation_events_candidate",
            (IncubationEvents::Table, IncubationEvents::CandidateId),
            (IncubationCandidates::Table, IncubationCandidates::Id),
        ))
        .to_owned()
}

fn targets_table() -> TableCreateStatement {
    versioned(
        Table::create()
            .table(Targets::Table)
            .col(big_pk_auto(Targets::Id))
            .col(integer(Targets::Year))
            .col(string_len(Targets::Metric, 32))
            .col(big_integer(Targets::Value))
            .to_owned(),
    )
}

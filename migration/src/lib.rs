//! Database migrations of invest-crm, one file per change, portable across SQLite and PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod m20261126_000001_crm_core;
mod m20261126_000002_ledger;
mod m20261126_000003_accounts;
mod m20261126_000004_jobs;
mod m20261126_000005_outbox;
mod m20261127_000006_job_attempts;
mod m20261127_000007_sign_in_strikes;
mod m20261127_000008_imports;
mod m20261127_000009_support_funds;
mod m20261127_000010_above_size;
mod m20261205_000011_capital_origin;
mod m20261205_000012_people;
mod m20261205_000013_reach_dates;
mod m20261206_000014_audit_trail;
mod m20261206_000015_request_id;
mod m20261206_000016_shared_state;
mod m20261207_000017_attachments;
mod m20261207_000018_channels;
mod m20261207_000019_stage_industry;
mod m20261207_000020_company_province;
mod m20261208_000021_visit_days;
mod m20261208_000022_figure_indexes;
mod m20261209_000023_kept_figures;
mod m20261209_000024_day_indexes;
mod m20261209_000025_drop_spans;
mod m20261210_000026_name_grams;
mod util;

pub use m20261208_000021_visit_days::VISIT_DAYS_FROM_VISITS;
pub use m20261209_000023_kept_figures::{Keeper, keepers};

/// All migrations, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_crm_core::Migration),
            Box::new(m20261126_000002_ledger::Migration),
            Box::new(m20261126_000003_accounts::Migration),
            Box::new(m20261126_000004_jobs::Migration),
            Box::new(m20261126_000005_outbox::Migration),
            Box::new(m20261127_000006_job_attempts::Migration),
            Box::new(m20261127_000007_sign_in_strikes::Migration),
            Box::new(m20261127_000008_imports::Migration),
            Box::new(m20261127_000009_support_funds::Migration),
            Box::new(m20261127_000010_above_size::Migration),
            Box::new(m20261205_000011_capital_origin::Migration),
            Box::new(m20261205_000012_people::Migration),
            Box::new(m20261205_000013_reach_dates::Migration),
            Box::new(m20261206_000014_audit_trail::Migration),
            Box::new(m20261206_000015_request_id::Migration),
            Box::new(m20261206_000016_shared_state::Migration),
            Box::new(m20261207_000017_attachments::Migration),
            Box::new(m20261207_000018_channels::Migration),
            Box::new(m20261207_000019_stage_industry::Migration),
            Box::new(m20261207_000020_company_province::Migration),
            Box::new(m20261208_000021_visit_days::Migration),
            Box::new(m20261208_000022_figure_indexes::Migration),
            Box::new(m20261209_000023_kept_figures::Migration),
            Box::new(m20261209_000024_day_indexes::Migration),
            Box::new(m20261209_000025_drop_spans::Migration),
            Box::new(m20261210_000026_name_grams::Migration),
        ]
    }
}

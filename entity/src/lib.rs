//! sea-orm entities of invest-crm and the domain rules they carry (docs/DEFINITIONS.md).

pub mod analytics_snapshot;
pub mod api_token;
pub mod audit_entry;
pub mod blocker;
pub mod company;
pub mod contact;
pub mod enums;
pub mod follow_up;
pub mod fund_arrival;
pub mod incubation_candidate;
pub mod incubation_event;
pub mod job_run;
pub mod money;
pub mod outbox;
pub mod outreach;
pub mod outreach_company;
pub mod partner;
pub mod pipeline;
pub mod project;
pub mod session;
pub mod stage_event;
pub mod target;
pub mod user;
pub mod visit;
pub mod visit_company;
pub mod visit_project;

//! sea-orm entities of invest-crm and the domain rules they carry (DESIGN §2–§3).

pub mod company;
pub mod contact;
pub mod enums;
pub mod follow_up;
pub mod fund_arrival;
pub mod pipeline;
pub mod project;
pub mod stage_event;

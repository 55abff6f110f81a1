//! What a ledger row changes in a project already recorded.

use entity::{enums::ProjectStage, pipeline::Event, project};

use super::{Plan, Row, Update};
use crate::{
    import::{Outcome, stages},
    service::{input::Patch, projects::ProjectChanges},
};

/// A change of a stored field when the row gives a different value.
fn differ<T: Clone, V: PartialEq>(given: &Option<T>, stored: Option<V>, view: impl Fn(&T) -> V) -> Patch<T> {
    match given {
        Some(v) if stored.as_ref() != Some(&view(v)) => Patch::Set(v.clone()),
        _ => Patch::Keep,
    }
}

/// What a row changes in a stored project: the fields it gives differently, and the stages it adds after the
/// stored ones. A stage date that disagrees with the stored history, or comes before its latest event, is an
/// error naming the cell.
/// `p` comes with its linked contact leader's display name.
pub(super) fn compare(
    row: &Row,
    (p, leader): (project::Model, Option<String>),
    events: &[entity::stage_event::Model],
    out: &mut Outcome,
) -> Option<Plan> {
    let leader = leader.or_else(|| p.contact_leader.clone());
    let history: Vec<Event<ProjectStage>> = events
        .iter()
        .map(|e| Event {
            stage: e.stage,
            occurred_on: e.occurred_on,
        })
        .collect();
    let moves = stages::later(row.line, &row.dates, &history, "项目", out)?;
    let has_source_record =
        p.source_visit_id.is_some() || p.source_outreach_id.is_some() || p.source_partner_id.is_some();
    let changes = ProjectChanges {
        version: p.version,
        name: None,
        company_id: None,
        industry: differ(&row.industry, p.industry.clone(), |v| v.as_str().to_owned()),
        source: row.source.filter(|s| *s != p.source && !has_source_record),
        source_visit_id: Patch::Keep,
        source_outreach_id: Patch::Keep,
        source_partner_id: Patch::Keep,
        agreed_investment: differ(&row.investment, p.agreed_investment_yuan, |m| m.as_yuan()),
        land_mu: differ(&row.land_mu, p.land_mu, |v| *v),
        is_major: row.is_major.filter(|b| *b != p.is_major),
        capital_origin: row.capital_origin.filter(|o| *o != p.capital_origin),
        contact_leader: differ(&row.contact_leader, leader, |v| v.as_str().to_owned()),
        contact_leader_id: Patch::Keep,
        owner_id: Patch::Keep,
        team_members: None,
        responsible_unit: differ(&row.responsible_unit, p.responsible_unit.clone(), |v| {
            v.as_str().to_owned()
        }),
        team: differ(&row.team, p.team.clone(), |v| v.as_str().to_owned()),
        notes: differ(&row.notes, p.notes.clone(), |v| v.as_str().to_owned()),
    };
    let changed = [
        changes.industry.changes(),
        changes.agreed_investment.changes(),
        changes.land_mu.changes(),
        changes.contact_leader.changes(),
        changes.responsible_unit.changes(),
        changes.team.changes(),
        changes.notes.changes(),
    ]
    .contains(&true)
        || changes.source.is_some()
        || changes.is_major.is_some()
        || changes.capital_origin.is_some();
    if !changed && moves.is_empty() {
        return Some(Plan::Unchanged);
    }
    Some(Plan::Update(Box::new(Update {
        last_event_id: events.iter().map(|e| e.id).max().unwrap_or(0),
        before: p,
        changes,
        moves,
    })))
}

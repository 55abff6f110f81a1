//! The Chinese label of every enum value, so clients and reports never hard-code them.

use entity::enums::{
    BlockerCategory, BlockerStatus, CapitalOrigin, FollowUpKind, IncubationStage, Label, OutreachKind, PartnerKind,
    ProjectSource, ProjectStage, SupportLevel, TargetMetric,
};
use poem_openapi::{Object, OpenApi, payload::Json};

use super::{ApiTags, auth::Auth};
use crate::service::{AppResult, Need};

/// One enum value and what users see for it.
#[derive(Object)]
pub struct Labelled {
    /// The value as the API speaks it.
    pub value: String,
    /// The Chinese label.
    pub label: String,
}

/// The labels of every enum of the API, each list in its natural order (stages in pipeline order).
#[derive(Object)]
pub struct Labels {
    /// Project stages.
    pub project_stage: Vec<Labelled>,
    /// Project sources.
    pub project_source: Vec<Labelled>,
    /// Follow-up kinds.
    pub follow_up_kind: Vec<Labelled>,
    /// Outreach kinds.
    pub outreach_kind: Vec<Labelled>,
    /// Partner kinds.
    pub partner_kind: Vec<Labelled>,
    /// Support-fund levels.
    pub support_level: Vec<Labelled>,
    /// Origins of capital.
    pub capital_origin: Vec<Labelled>,
    /// Blocker categories.
    pub blocker_category: Vec<Labelled>,
    /// Blocker statuses.
    pub blocker_status: Vec<Labelled>,
    /// Incubation stages.
    pub incubation_stage: Vec<Labelled>,
    /// Target metrics.
    pub target_metric: Vec<Labelled>,
}

fn of<T: Label>() -> Vec<Labelled> {
    T::labels()
        .into_iter()
        .map(|(value, label)| Labelled {
            value,
            label: label.to_owned(),
        })
        .collect()
}

/// Label endpoint.
pub struct LabelsApi;

#[OpenApi(tag = "ApiTags::Reference")]
impl LabelsApi {
    /// The Chinese label of every enum value.
    #[oai(path = "/labels", method = "get", operation_id = "getLabels")]
    async fn labels(&self, auth: Auth) -> AppResult<Json<Labels>> {
        auth.0.require(Need::Read)?;
        Ok(Json(Labels {
            project_stage: of::<ProjectStage>(),
            project_source: of::<ProjectSource>(),
            follow_up_kind: of::<FollowUpKind>(),
            outreach_kind: of::<OutreachKind>(),
            partner_kind: of::<PartnerKind>(),
            support_level: of::<SupportLevel>(),
            capital_origin: of::<CapitalOrigin>(),
            blocker_category: of::<BlockerCategory>(),
            blocker_status: of::<BlockerStatus>(),
            incubation_stage: of::<IncubationStage>(),
            target_metric: of::<TargetMetric>(),
        }))
    }
}

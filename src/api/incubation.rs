//! 高企培育: companies cultivated toward high-tech enterprise status, with a stage history over cultivating →
//! applied → approved → filed (or failed). Same history rules as projects, through the same engine.

use entity::{enums::IncubationStage, incubation_event};

use super::prelude::*;
use crate::service::{
    history::StageMove,
    incubation::{self as svc, CandidateFilter, CandidateView},
    input::{Day, Note},
    scope::{self, Of},
};

/// The date each incubation stage was reached; stages not reached are null.
#[derive(Object, Default)]
pub struct IncubationReachDates {
    /// 纳入培育.
    #[oai(nullable)]
    pub cultivating: Option<NaiveDate>,
    /// 申报.
    #[oai(nullable)]
    pub applied: Option<NaiveDate>,
    /// 评审通过.
    #[oai(nullable)]
    pub approved: Option<NaiveDate>,
    /// 备案.
    #[oai(nullable)]
    pub filed: Option<NaiveDate>,
}

impl IncubationReachDates {
    fn of(reached: Vec<(IncubationStage, NaiveDate)>) -> Self {
        let mut r = IncubationReachDates::default();
        for (stage, date) in reached {
            let slot = match stage {
                IncubationStage::Cultivating => &mut r.cultivating,
                IncubationStage::Applied => &mut r.applied,
                IncubationStage::Approved => &mut r.approved,
                IncubationStage::Filed => &mut r.filed,
                IncubationStage::Failed => continue,
            };
            *slot = Some(date);
        }
        r
    }
}

/// A high-tech incubation candidate (高企培育对象).
#[derive(Object)]
pub struct Candidate {
    /// The candidate's id, at `/incubation/{id}`.
    pub id: i64,
    /// The company.
    pub company_id: i64,
    /// The company's name.
    pub company_name: String,
    /// Cohort year (培育年度).
    pub cohort_year: i32,
    /// Current stage: the stage of the latest event.
    pub stage: IncubationStage,
    /// When failed: the stage it failed from.
    #[oai(nullable)]
    pub failed_from: Option<IncubationStage>,
    /// Reach date of every stage reached.
    pub reach_dates: IncubationReachDates,
    /// Notes.
    #[oai(nullable)]
    pub notes: Option<String>,
    /// Owner (负责人): the user; through them the record belongs to a department.
    #[oai(nullable)]
    pub owner_id: Option<i64>,
    /// Version for optimistic locking (a stage move changes it too).
    pub version: i32,
    /// When the record was created (UTC).
    pub created_at: DateTime<Utc>,
    /// When the record was last changed (UTC).
    pub updated_at: DateTime<Utc>,
}

/// A new incubation candidate, created at its initial stage.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct NewCandidate {
    /// The company.
    pub company_id: i64,
    /// Cohort year; one candidate per company and cohort.
    #[oai(validator(minimum(value = "1990")))]
    pub cohort_year: i64,
    /// Initial stage; defaults to `cultivating`.
    #[oai(nullable)]
    pub stage: Option<IncubationStage>,
    /// Date of the initial stage.
    pub occurred_on: Day,
    /// Note on the initial event.
    #[oai(nullable)]
    pub note: Option<Note>,
    /// Notes, up to 2000 characters.
    #[oai(nullable)]
    pub notes: Option<Note>,
    /// Owner (负责人): a user; defaults to the caller.
    #[oai(nullable)]
    pub owner_id: Option<i64>,
}

/// Changes to a candidate (not its stage). Left out keeps; `null` clears.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct CandidateChanges {
    /// The version the changes were made against.
    #[oai(validator(minimum(value = "0")))]
    pub version: i32,
    /// Cohort year.
    #[oai(nullable, validator(minimum(value = "1990")))]
    pub cohort_year: Option<i64>,
    /// Notes.
    #[oai(nullable)]
    pub notes: MaybeUndefined<Note>,
    /// Owner (负责人).
    #[oai(nullable)]
    pub owner_id: MaybeUndefined<i64>,
}

/// An incubation stage move to record.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct NewIncubationEvent {
    /// The stage moved to. Forward may skip; backward and `failed` need a reason; from `failed` any stage reopens.
    pub stage: IncubationStage,
    /// The date; not before the latest event.
    pub occurred_on: Day,
    /// Note.
    #[oai(nullable)]
    pub note: Option<Note>,
    /// Reason: required to move backward or to fail.
    #[oai(nullable)]
    pub reason: Option<Note>,
    /// The candidate version the move was decided on; when given, a stale one answers 409.
    #[oai(nullable, validator(minimum(value = "0")))]
    pub version: Option<i32>,
}

/// One event of a candidate's stage history.
#[derive(Object)]
pub struct IncubationEvent {
    /// The event's id. Events are never changed: a correction is a new event.
    pub id: i64,
    /// The candidate.
    pub candidate_id: i64,
    /// The stage moved to.
    pub stage: IncubationStage,
    /// The stage before (none for the first event).
    #[oai(nullable)]
    pub from_stage: Option<IncubationStage>,
    /// Date of the move.
    pub occurred_on: NaiveDate,
    /// Note.
    #[oai(nullable)]
    pub note: Option<String>,
    /// Reason.
    #[oai(nullable)]
    pub reason: Option<String>,
    /// Who recorded it.
    #[oai(nullable)]
    pub recorded_by: Option<String>,
    /// When it was recorded (UTC).
    pub created_at: DateTime<Utc>,
}

impl From<incubation_event::Model> for IncubationEvent {
    fn from(m: incubation_event::Model) -> Self {
        IncubationEvent {
            id: m.id,
            candidate_id: m.candidate_id,
            stage: m.stage,
            from_stage: m.from_stage,
            occurred_on: m.occurred_on,
            note: m.note,
            reason: m.reason,
            recorded_by: m.recorded_by,
            created_at: m.created_at,
        }
    }
}

impl From<CandidateView> for Candidate {
    fn from(v: CandidateView) -> Self {
        let h = &v.history;
        let (stage, failed_from, reach_dates) = (
            h.current(v.candidate.stage),
            h.off_from(),
            IncubationReachDates::of(h.reach_dates()),
        );
        let c = v.candidate;
        Candidate {
            id: c.id,
            company_name: v.company_name,
            company_id: c.company_id,
            cohort_year: c.cohort_year,
            stage,
            failed_from,
            reach_dates,
            notes: c.notes,
            owner_id: c.owner_id,
            version: c.version,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// Incubation endpoints.
pub struct IncubationApi {
    pub db: DatabaseConnection,
}

#[OpenApi(tag = "ApiTags::Incubation")]
impl IncubationApi {
    /// Take a company into high-tech cultivation (or record it at a later stage).
    #[oai(path = "/incubation", method = "post", operation_id = "createCandidate")]
    async fn create(&self, auth: Auth, tx: WriteTx, body: JsonBody<NewCandidate>) -> AppResult<Created<Candidate>> {
        auth.0.require(Need::Edit)?;
        let b = body.0;
        let n = svc::NewCandidate {
            company_id: b.company_id,
            cohort_year: b.cohort_year,
            stage: b.stage,
            occurred_on: b.occurred_on,
            note: b.note,
            notes: b.notes,
            owner_id: b.owner_id,
        };
        Ok(Created::Created(Json(
            svc::create(tx.get().await?, &auth.0, n).await?.into(),
        )))
    }

    /// List candidates, newest first.
    #[oai(path = "/incubation", method = "get", operation_id = "listCandidates")]
    async fn list(
        &self,
        auth: Auth,
        /// Cohort year.
        cohort_year: Query<Option<i32>>,
        /// Current stage.
        stage: Query<Option<IncubationStage>>,
        /// The company.
        company_id: Query<Option<i64>>,
        /// Page number, from 1.
        page: Query<Option<PageNo>>,
        /// Records per page, 1–200 (default 20).
        per_page: Query<Option<PerPage>>,
        /// The `next` of the page before: the page after it, at any depth for what the first page costs (keyset);
        /// empty for the first page of such a walk. Not with `page`; such a page carries no `total`.
        after: Query<Option<String>>,
    ) -> AppResult<Json<Page<Candidate>>> {
        auth.0.require(Need::Read)?;
        let f = CandidateFilter {
            visible: scope::visible(&self.db, &auth.0).await?,
            cohort_year: cohort_year.0,
            stage: stage.0,
            company_id: company_id.0,
        };
        let rows = svc::list(&self.db, f, paging(page, per_page, after)?).await?;
        Ok(Json(rows.map(Candidate::from).into()))
    }

    /// Read a candidate, with its stage and reach dates.
    #[oai(path = "/incubation/:id", method = "get", operation_id = "getCandidate")]
    async fn get(&self, auth: Auth, id: Path<i64>) -> AppResult<Json<Candidate>> {
        scope::permit(&self.db, &auth.0, Need::Read, Of::Candidate(id.0)).await?;
        Ok(Json(svc::get(&self.db, id.0).await?.into()))
    }

    /// Change a candidate's details; a stale `version` answers 409.
    #[oai(path = "/incubation/:id", method = "patch", operation_id = "updateCandidate")]
    async fn update(
        &self,
        auth: Auth,
        tx: WriteTx,
        id: Path<i64>,
        body: JsonBody<CandidateChanges>,
    ) -> AppResult<Json<Candidate>> {
        scope::permit(&self.db, &auth.0, Need::Edit, Of::Candidate(id.0)).await?;
        let b = body.0;
        let notes = b.notes.into();
        let owner = b.owner_id.into();
        let c = svc::update(tx.get().await?, id.0, b.version, b.cohort_year, (notes, owner)).await?;
        Ok(Json(c.into()))
    }

    /// Delete a candidate with its history.
    #[oai(path = "/incubation/:id", method = "delete", operation_id = "deleteCandidate")]
    async fn delete(
        &self,
        auth: Auth,
        tx: WriteTx,
        id: Path<i64>,
        /// The version the deletion was decided on.
        version: Query<i32>,
    ) -> AppResult<Deleted> {
        scope::permit(&self.db, &auth.0, Need::Edit, Of::Candidate(id.0)).await?;
        svc::delete(tx.get().await?, id.0, version.0).await?;
        Ok(Deleted::Deleted)
    }

    /// Record an incubation stage move; illegal moves answer 422 and change nothing.
    #[oai(
        path = "/incubation/:id/stage-events",
        method = "post",
        operation_id = "moveCandidateStage"
    )]
    async fn move_stage(
        &self,
        auth: Auth,
        tx: WriteTx,
        id: Path<i64>,
        body: JsonBody<NewIncubationEvent>,
    ) -> AppResult<Created<IncubationEvent>> {
        scope::permit(&self.db, &auth.0, Need::Pipeline, Of::Candidate(id.0)).await?;
        let b = body.0;
        let m = StageMove {
            stage: b.stage,
            occurred_on: b.occurred_on,
            note: b.note,
            reason: b.reason,
            version: b.version,
        };
        Ok(Created::Created(Json(
            svc::move_stage(tx.get().await?, &auth.0, id.0, m).await?.into(),
        )))
    }

    /// The candidate's stage history, oldest first.
    #[oai(
        path = "/incubation/:id/stage-events",
        method = "get",
        operation_id = "listCandidateStageEvents"
    )]
    async fn stage_history(&self, auth: Auth, id: Path<i64>) -> AppResult<Json<Vec<IncubationEvent>>> {
        scope::permit(&self.db, &auth.0, Need::Read, Of::Candidate(id.0)).await?;
        let rows = svc::stage_history(&self.db, id.0).await?;
        Ok(Json(rows.into_iter().map(IncubationEvent::from).collect()))
    }
}

//! 高企培育: companies cultivated toward high-tech enterprise status, with a stage history over cultivating →
//! applied → approved → filed (or failed). Same history rules as projects, through the same engine.

use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    company,
    enums::IncubationStage,
    incubation_candidate as candidate, incubation_event,
    pipeline::{self, Event},
};
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
    types::MaybeUndefined,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    TransactionTrait,
};

use super::{
    ApiTags, Created, Deleted, Page, Paging,
    companies::{changed, known_companies, set_if},
    delete_versioned, find,
    history::{self, Step, Tracked},
    update_versioned,
};
use crate::{
    auth::{Auth, Need},
    error::{AppError, AppResult, Msg},
    validate,
};

/// Incubation candidates as records with a stage history.
pub(super) struct IncubationHistory;

impl Tracked for IncubationHistory {
    type Stage = IncubationStage;
    type Owner = candidate::Entity;
    type Event = incubation_event::Entity;
    const WHAT: &'static str = "incubation candidate";
    const WHAT_ZH: &'static str = "培育对象";
    const OWNER_COLUMN: &'static str = "candidate_id";

    fn new_event(
        owner: i64,
        step: &Step<IncubationStage>,
        from: Option<IncubationStage>,
    ) -> incubation_event::ActiveModel {
        incubation_event::ActiveModel {
            candidate_id: Set(owner),
            stage: Set(step.stage),
            from_stage: Set(from),
            occurred_on: Set(step.occurred_on),
            note: Set(step.note.clone()),
            reason: Set(step.reason.clone()),
            recorded_by: Set(step.recorded_by.clone()),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
    }

    fn event_of(row: &incubation_event::Model) -> (i64, Event<IncubationStage>) {
        (
            row.candidate_id,
            Event {
                stage: row.stage,
                occurred_on: row.occurred_on,
            },
        )
    }
}

/// The date each incubation stage was reached; stages not reached are null.
#[derive(Object, Default)]
pub struct IncubationReachDates {
    /// 纳入培育.
    pub cultivating: Option<NaiveDate>,
    /// 申报.
    pub applied: Option<NaiveDate>,
    /// 评审通过.
    pub approved: Option<NaiveDate>,
    /// 备案.
    pub filed: Option<NaiveDate>,
}

impl IncubationReachDates {
    fn of(h: &[Event<IncubationStage>]) -> Self {
        let mut r = IncubationReachDates::default();
        for (stage, date) in pipeline::reach_dates(h, None) {
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
    /// Id.
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
    pub failed_from: Option<IncubationStage>,
    /// Reach date of every stage reached.
    pub reach_dates: IncubationReachDates,
    /// Notes.
    pub notes: Option<String>,
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
    pub cohort_year: i64,
    /// Initial stage; defaults to `cultivating`.
    pub stage: Option<IncubationStage>,
    /// Date of the initial stage.
    pub occurred_on: NaiveDate,
    /// Note on the initial event.
    pub note: Option<String>,
    /// Notes, up to 2000 characters.
    pub notes: Option<String>,
}

/// Changes to a candidate (not its stage). Left out keeps; `null` clears.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct CandidateChanges {
    /// The version the changes were made against.
    pub version: i32,
    /// Cohort year.
    pub cohort_year: Option<i64>,
    /// Notes.
    pub notes: MaybeUndefined<String>,
}

/// An incubation stage move to record.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct NewIncubationEvent {
    /// The stage moved to. Forward may skip; backward and `failed` need a reason; from `failed` any stage reopens.
    pub stage: IncubationStage,
    /// The date; not before the latest event.
    pub occurred_on: NaiveDate,
    /// Note.
    pub note: Option<String>,
    /// Reason: required to move backward or to fail.
    pub reason: Option<String>,
    /// The candidate version the move was decided on; when given, a stale one answers 409.
    pub version: Option<i32>,
}

/// One event of a candidate's stage history.
#[derive(Object)]
pub struct IncubationEvent {
    /// Id.
    pub id: i64,
    /// The candidate.
    pub candidate_id: i64,
    /// The stage moved to.
    pub stage: IncubationStage,
    /// The stage before (none for the first event).
    pub from_stage: Option<IncubationStage>,
    /// Date of the move.
    pub occurred_on: NaiveDate,
    /// Note.
    pub note: Option<String>,
    /// Reason.
    pub reason: Option<String>,
    /// Who recorded it.
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

fn cohort(v: i64) -> AppResult<i32> {
    let max = i64::from(chrono::Datelike::year(&validate::today())) + 1;
    Ok(validate::int_in("cohort_year", v, 1990..=max)? as i32)
}

async fn views(db: &impl ConnectionTrait, rows: Vec<candidate::Model>) -> AppResult<Vec<Candidate>> {
    let ids: Vec<i64> = rows.iter().map(|c| c.id).collect();
    let mut h = history::histories::<IncubationHistory>(db, ids).await?;
    let names = super::names::<company::Entity>(db, rows.iter().map(|c| c.company_id)).await?;
    Ok(rows
        .into_iter()
        .map(|c| {
            let h = h.remove(&c.id).unwrap_or_default();
            Candidate {
                id: c.id,
                company_name: names.get(&c.company_id).cloned().unwrap_or_default(),
                company_id: c.company_id,
                cohort_year: c.cohort_year,
                stage: pipeline::current(&h).unwrap_or(c.stage),
                failed_from: pipeline::off_from(&h),
                reach_dates: IncubationReachDates::of(&h),
                notes: c.notes,
                version: c.version,
                created_at: c.created_at,
                updated_at: c.updated_at,
            }
        })
        .collect())
}

fn duplicate() -> AppError {
    AppError::Conflict {
        code: "duplicate_candidate",
        msg: Msg::new(
            "the company is already a candidate of this cohort",
            "该企业已是本年度的培育对象",
        ),
        field: Some("cohort_year".into()),
    }
}

async fn ensure_free(db: &impl ConnectionTrait, company: i64, year: i32, except: Option<i64>) -> AppResult<()> {
    let mut q = candidate::Entity::find()
        .filter(candidate::Column::CompanyId.eq(company))
        .filter(candidate::Column::CohortYear.eq(year));
    if let Some(id) = except {
        q = q.filter(candidate::Column::Id.ne(id));
    }
    if q.one(db).await?.is_some() {
        return Err(duplicate());
    }
    Ok(())
}

/// Incubation endpoints.
pub struct IncubationApi {
    pub db: DatabaseConnection,
}

#[OpenApi(tag = "ApiTags::Incubation")]
impl IncubationApi {
    /// Take a company into high-tech cultivation (or record it at a later stage).
    #[oai(path = "/incubation", method = "post")]
    async fn create(&self, auth: Auth, body: Json<NewCandidate>) -> AppResult<Created<Candidate>> {
        auth.0.require(Need::Edit)?;
        let b = body.0;
        let year = cohort(b.cohort_year)?;
        let stage = b.stage.unwrap_or(IncubationStage::Cultivating);
        let occurred_on = validate::date("occurred_on", b.occurred_on)?;
        history::check_start::<IncubationHistory>(stage, occurred_on)?;
        let first = Step {
            stage,
            occurred_on,
            note: validate::opt_text("note", b.note.as_deref(), 2000)?,
            reason: None,
            recorded_by: Some(auth.0.username.clone()),
        };
        let notes = validate::opt_text("notes", b.notes.as_deref(), 2000)?;
        let txn = self.db.begin().await?;
        known_companies(&txn, "company_id", &[b.company_id]).await?;
        ensure_free(&txn, b.company_id, year, None).await?;
        let now = Utc::now();
        let c = candidate::Entity::insert(candidate::ActiveModel {
            company_id: Set(b.company_id),
            cohort_year: Set(year),
            stage: Set(stage),
            notes: Set(notes),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec_with_returning(&txn)
        .await?;
        history::start::<IncubationHistory>(&txn, c.id, &first).await?;
        let out = views(&txn, vec![c]).await?.pop().expect("one in, one out");
        txn.commit().await?;
        Ok(Created::Created(Json(out)))
    }

    /// List candidates, newest first.
    #[oai(path = "/incubation", method = "get")]
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
        #[oai(validator(minimum(value = "1")))]
        page: Query<Option<u64>>,
        /// Records per page, 1–200 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        per_page: Query<Option<u64>>,
    ) -> AppResult<Json<Page<Candidate>>> {
        auth.0.require(Need::Read)?;
        let mut s = candidate::Entity::find().order_by_desc(candidate::Column::Id);
        if let Some(y) = cohort_year.0 {
            s = s.filter(candidate::Column::CohortYear.eq(y));
        }
        if let Some(v) = stage.0 {
            s = s.filter(candidate::Column::Stage.eq(v));
        }
        if let Some(c) = company_id.0 {
            s = s.filter(candidate::Column::CompanyId.eq(c));
        }
        let db = &self.db;
        Ok(Json(
            Paging::new(page.0, per_page.0)
                .fetch(db, s, async |rows| views(db, rows).await)
                .await?,
        ))
    }

    /// Read a candidate, with its stage and reach dates.
    #[oai(path = "/incubation/:id", method = "get")]
    async fn get(&self, auth: Auth, id: Path<i64>) -> AppResult<Json<Candidate>> {
        auth.0.require(Need::Read)?;
        let c = find::<candidate::Entity, _>(&self.db, id.0, "incubation candidate").await?;
        Ok(Json(views(&self.db, vec![c]).await?.pop().expect("one in, one out")))
    }

    /// Change a candidate's details; a stale `version` answers 409.
    #[oai(path = "/incubation/:id", method = "patch")]
    async fn update(&self, auth: Auth, id: Path<i64>, body: Json<CandidateChanges>) -> AppResult<Json<Candidate>> {
        auth.0.require(Need::Edit)?;
        let b = body.0;
        let mut m = candidate::ActiveModel::default();
        if let Some(y) = b.cohort_year {
            let y = cohort(y)?;
            let old = find::<candidate::Entity, _>(&self.db, id.0, "incubation candidate").await?;
            ensure_free(&self.db, old.company_id, y, Some(id.0)).await?;
            m.cohort_year = Set(y);
        }
        set_if(
            &mut m.notes,
            changed(b.notes, |v| validate::opt_text("notes", Some(v), 2000))?,
        );
        let c = update_versioned::<candidate::Entity, _>(&self.db, id.0, "incubation candidate", b.version, m).await?;
        Ok(Json(views(&self.db, vec![c]).await?.pop().expect("one in, one out")))
    }

    /// Delete a candidate with its history.
    #[oai(path = "/incubation/:id", method = "delete")]
    async fn delete(
        &self,
        auth: Auth,
        id: Path<i64>,
        /// The version the deletion was decided on.
        version: Query<i32>,
    ) -> AppResult<Deleted> {
        auth.0.require(Need::Edit)?;
        delete_versioned::<candidate::Entity, _>(&self.db, id.0, "incubation candidate", version.0).await
    }

    /// Record an incubation stage move; illegal moves answer 422 and change nothing.
    #[oai(path = "/incubation/:id/stage-events", method = "post")]
    async fn move_stage(
        &self,
        auth: Auth,
        id: Path<i64>,
        body: Json<NewIncubationEvent>,
    ) -> AppResult<Created<IncubationEvent>> {
        auth.0.require(Need::Pipeline)?;
        let b = body.0;
        let step = Step {
            stage: b.stage,
            occurred_on: validate::date("occurred_on", b.occurred_on)?,
            note: validate::opt_text("note", b.note.as_deref(), 2000)?,
            reason: validate::opt_text("reason", b.reason.as_deref(), 2000)?,
            recorded_by: Some(auth.0.username.clone()),
        };
        let e = history::record::<IncubationHistory>(&self.db, id.0, step, b.version, auth.0.can(Need::Lead)).await?;
        Ok(Created::Created(Json(e.into())))
    }

    /// The candidate's stage history, oldest first.
    #[oai(path = "/incubation/:id/stage-events", method = "get")]
    async fn stage_history(&self, auth: Auth, id: Path<i64>) -> AppResult<Json<Vec<IncubationEvent>>> {
        auth.0.require(Need::Read)?;
        find::<candidate::Entity, _>(&self.db, id.0, "incubation candidate").await?;
        let rows = history::rows::<IncubationHistory>(&self.db, vec![id.0]).await?;
        Ok(Json(rows.into_iter().map(IncubationEvent::from).collect()))
    }
}

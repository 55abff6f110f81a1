//! 高企培育: companies cultivated toward high-tech enterprise status, with a stage history over cultivating →
//! applied → approved → filed (or failed). Same history rules as projects, through the same engine; a company is a
//! candidate at most once per cohort year.

use chrono::{Datelike, Utc};
use entity::{company, enums::IncubationStage, incubation_candidate as candidate, incubation_event};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TransactionSession};

use super::{
    Actor, AppError, AppResult, Code, Db, Dir, Kind, Msg, Order, Page, Paging,
    companies::known_companies,
    delete_versioned, find,
    history::{self, History, StageMove, Step},
    input::{Day, Note, Patch, int_in, opt_string, today},
    insert_one, names, people, update_versioned,
};

crate::tracked!(
    /// Incubation candidates as records with a stage history.
    IncubationHistory: IncubationStage, candidate, incubation_event.candidate_id, Candidate
);

/// A candidate with its company's name and its history.
pub struct CandidateView {
    /// The stored record.
    pub candidate: candidate::Model,
    /// The company's name.
    pub company_name: String,
    /// Its stage history, oldest first.
    pub history: History<IncubationStage>,
}

/// A new candidate, at its initial stage.
pub struct NewCandidate {
    /// The company.
    pub company_id: i64,
    /// Cohort year.
    pub cohort_year: i64,
    /// Initial stage; defaults to cultivating.
    pub stage: Option<IncubationStage>,
    /// Date of the initial stage.
    pub occurred_on: Day,
    /// Note on the initial event.
    pub note: Option<Note>,
    /// Notes.
    pub notes: Option<Note>,
    /// Owner (负责人); none: the user recording it.
    pub owner_id: Option<i64>,
}

/// Which candidates to list.
#[derive(Default)]
pub struct CandidateFilter {
    /// What the caller sees (数据权限).
    pub visible: super::scope::Visible,
    /// Cohort year.
    pub cohort_year: Option<i32>,
    /// Current stage.
    pub stage: Option<IncubationStage>,
    /// The company.
    pub company_id: Option<i64>,
}

const WHAT: Kind = Kind::Candidate;

fn cohort(v: i64) -> AppResult<i32> {
    let max = i64::from(today().year()) + 1;
    Ok(int_in("cohort_year", v, 1990..=max)? as i32)
}

/// Candidates with their histories and company names, in one query each.
pub async fn views(db: &impl ConnectionTrait, rows: Vec<candidate::Model>) -> AppResult<Vec<CandidateView>> {
    let ids: Vec<i64> = rows.iter().map(|c| c.id).collect();
    let mut h = history::histories::<IncubationHistory>(db, ids).await?;
    let names = names::<company::Entity>(db, rows.iter().map(|c| c.company_id)).await?;
    Ok(rows
        .into_iter()
        .map(|c| CandidateView {
            company_name: names.get(&c.company_id).cloned().unwrap_or_default(),
            history: h.remove(&c.id).unwrap_or_default(),
            candidate: c,
        })
        .collect())
}

async fn view(db: &impl ConnectionTrait, c: candidate::Model) -> AppResult<CandidateView> {
    Ok(views(db, vec![c]).await?.pop().expect("one in, one out"))
}

async fn ensure_free(db: &impl ConnectionTrait, company: i64, year: i32, except: Option<i64>) -> AppResult<()> {
    let mut q = candidate::Entity::find()
        .filter(candidate::Column::CompanyId.eq(company))
        .filter(candidate::Column::CohortYear.eq(year));
    if let Some(id) = except {
        q = q.filter(candidate::Column::Id.ne(id));
    }
    if q.one(db).await?.is_some() {
        return Err(AppError::Conflict {
            code: Code::DuplicateCandidate,
            msg: Msg::new(
                "the company is already a candidate of this cohort",
                "该企业已是本年度的培育对象",
            ),
            field: Some("cohort_year".into()),
        });
    }
    Ok(())
}

/// Takes a company into cultivation and records its first stage event, in one transaction.
pub async fn create(db: &impl Db, actor: &Actor, n: NewCandidate) -> AppResult<CandidateView> {
    let year = cohort(n.cohort_year)?;
    let first = first_step(actor, &n)?;
    let n_owner = n.owner_id;
    let txn = crate::service::begin(db).await?;
    known_companies(&txn, "company_id", &[n.company_id]).await?;
    ensure_free(&txn, n.company_id, year, None).await?;
    let mut m = row(n, year, (first.stage, 1));
    m.owner_id = Set(people::owner_for(&txn, actor, n_owner).await?);
    let c = insert_one(&txn, Kind::Candidate, m).await?;
    history::start::<IncubationHistory>(&txn, c.id, &first).await?;
    let out = view(&txn, c).await?;
    txn.commit().await?;
    Ok(out)
}

/// Creates many candidates with their histories inside the caller's transaction, each history checked by the rules
/// of a stage move; answers their ids in order. A company twice in one cohort is refused by the database's unique
/// index.
pub async fn create_many(
    db: &impl ConnectionTrait,
    actor: &Actor,
    list: Vec<(NewCandidate, Vec<StageMove<IncubationStage>>)>,
) -> AppResult<Vec<i64>> {
    let companies: Vec<i64> = list.iter().map(|(n, _)| n.company_id).collect();
    known_companies(db, "company_id", &companies).await?;
    let (mut rows, mut histories) = (Vec::with_capacity(list.len()), Vec::with_capacity(list.len()));
    for (n, moves) in list {
        let year = cohort(n.cohort_year)?;
        let mut steps = vec![first_step(actor, &n)?];
        steps.extend(moves.into_iter().map(|m| m.step(actor)));
        let stage = history::check_history::<IncubationHistory>(&steps, actor.can(super::Need::Lead))?;
        let owner = people::owner_for(db, actor, n.owner_id).await?;
        let mut m = row(n, year, (stage, steps.len() as i32));
        m.owner_id = Set(owner);
        rows.push(m);
        histories.push(steps);
    }
    let ids = super::insert_all(db, rows, 2000).await?;
    let events = ids
        .iter()
        .zip(&histories)
        .flat_map(|(id, steps)| history::event_rows::<IncubationHistory>(*id, steps))
        .collect();
    super::insert_all(db, events, 3000).await?;
    Ok(ids)
}

/// The first event of a new candidate, checked as a start.
fn first_step(actor: &Actor, n: &NewCandidate) -> AppResult<Step<IncubationStage>> {
    let stage = n.stage.unwrap_or(IncubationStage::Cultivating);
    history::check_start::<IncubationHistory>(stage, n.occurred_on.date())?;
    Ok(Step {
        stage,
        occurred_on: n.occurred_on.date(),
        note: n.note.clone().map(String::from),
        reason: None,
        recorded_by: Some(actor.username.clone()),
    })
}

/// The row of a new candidate whose history ends at `stage` after `events` events (its version).
fn row(n: NewCandidate, year: i32, (stage, events): (IncubationStage, i32)) -> candidate::ActiveModel {
    let now = Utc::now();
    candidate::ActiveModel {
        company_id: Set(n.company_id),
        cohort_year: Set(year),
        stage: Set(stage),
        notes: Set(opt_string(n.notes)),
        version: Set(events),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

/// A page of candidates, newest first.
pub async fn list(db: &impl ConnectionTrait, f: CandidateFilter, paging: Paging) -> AppResult<Page<CandidateView>> {
    let s = select(f);
    paging
        .fetch(db, s, Order(&[(candidate::Column::Id, Dir::Desc)]), async |rows| {
            views(db, rows).await
        })
        .await
}

/// The next `limit` candidates the filter keeps after the id `after`, in id order.
pub async fn after(
    db: &impl ConnectionTrait,
    f: CandidateFilter,
    after: i64,
    limit: u64,
) -> AppResult<Vec<CandidateView>> {
    views(db, super::after(db, select(f), after, limit).await?).await
}

/// The candidates the filter keeps.
fn select(f: CandidateFilter) -> sea_orm::Select<candidate::Entity> {
    let mut s = candidate::Entity::find();
    if let Some(c) = f.visible.owned(candidate::Column::OwnerId) {
        s = s.filter(c);
    }
    if let Some(y) = f.cohort_year {
        s = s.filter(candidate::Column::CohortYear.eq(y));
    }
    if let Some(v) = f.stage {
        s = s.filter(candidate::Column::Stage.eq(v));
    }
    if let Some(c) = f.company_id {
        s = s.filter(candidate::Column::CompanyId.eq(c));
    }
    s
}

/// A candidate by id.
pub async fn get(db: &impl ConnectionTrait, id: i64) -> AppResult<CandidateView> {
    view(db, find::<candidate::Entity, _>(db, id, WHAT).await?).await
}

/// Changes a candidate's cohort year (still unique for its company), notes or owner.
pub async fn update(
    db: &impl ConnectionTrait,
    id: i64,
    version: i32,
    cohort_year: Option<i64>,
    (notes, owner_id): (Patch<Note>, Patch<i64>),
) -> AppResult<CandidateView> {
    let mut m = candidate::ActiveModel::default();
    people::change_owner(db, &mut m.owner_id, owner_id).await?;
    if let Some(y) = cohort_year {
        let y = cohort(y)?;
        let old = find::<candidate::Entity, _>(db, id, WHAT).await?;
        ensure_free(db, old.company_id, y, Some(id)).await?;
        m.cohort_year = Set(y);
    }
    notes.apply(&mut m.notes);
    view(
        db,
        update_versioned::<candidate::Entity, _>(db, id, WHAT, version, m).await?,
    )
    .await
}

/// Deletes a candidate with its history.
pub async fn delete(db: &impl ConnectionTrait, id: i64, version: i32) -> AppResult<()> {
    delete_versioned::<candidate::Entity, _>(db, id, WHAT, version).await
}

/// Records a stage move of a candidate; moving backward needs a leader or an admin.
pub async fn move_stage(
    db: &impl Db,
    actor: &Actor,
    id: i64,
    m: StageMove<IncubationStage>,
) -> AppResult<incubation_event::Model> {
    history::move_by::<IncubationHistory>(db, actor, id, m).await
}

/// A candidate's stage history, oldest first.
pub async fn stage_history(db: &impl ConnectionTrait, id: i64) -> AppResult<Vec<incubation_event::Model>> {
    history::of::<IncubationHistory>(db, id).await
}

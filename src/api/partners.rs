//! 合作机构: chambers of commerce and agencies the bureau works with or commissions (委托招商).

use chrono::{DateTime, NaiveDate, Utc};
use entity::{enums::PartnerKind, partner, project};
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
    types::MaybeUndefined,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};

use super::{
    ApiTags, Created, Deleted, Page, Paging,
    companies::{changed, set_if},
    delete_versioned, find, name_contains,
    projects::forget_source,
    update_versioned,
};
use crate::{
    auth::{Auth, Need},
    error::AppResult,
    validate,
};

/// A partner organisation (合作机构).
#[derive(Object)]
pub struct Partner {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: PartnerKind,
    /// Date of the cooperation agreement (合作协议签订日期).
    pub agreement_date: Option<NaiveDate>,
    /// Notes.
    pub notes: Option<String>,
    /// Version for optimistic locking.
    pub version: i32,
    /// When the record was created (UTC).
    pub created_at: DateTime<Utc>,
    /// When the record was last changed (UTC).
    pub updated_at: DateTime<Utc>,
}

impl From<partner::Model> for Partner {
    fn from(m: partner::Model) -> Self {
        Partner {
            id: m.id,
            name: m.name,
            kind: m.kind,
            agreement_date: m.agreement_date,
            notes: m.notes,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// A new partner.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct NewPartner {
    /// Name, 1–200 characters.
    pub name: String,
    /// Kind.
    pub kind: PartnerKind,
    /// Agreement date.
    pub agreement_date: Option<NaiveDate>,
    /// Notes, up to 4000 characters.
    pub notes: Option<String>,
}

/// Changes to a partner: left out keeps; `null` clears.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct PartnerChanges {
    /// The version the changes were made against.
    pub version: i32,
    /// Name.
    pub name: Option<String>,
    /// Kind.
    pub kind: Option<PartnerKind>,
    /// Agreement date.
    pub agreement_date: MaybeUndefined<NaiveDate>,
    /// Notes.
    pub notes: MaybeUndefined<String>,
}

/// Partner endpoints.
pub struct PartnersApi {
    pub db: DatabaseConnection,
}

#[OpenApi(tag = "ApiTags::Partners")]
impl PartnersApi {
    /// Record a partner organisation.
    #[oai(path = "/partners", method = "post")]
    async fn create(&self, auth: Auth, body: Json<NewPartner>) -> AppResult<Created<Partner>> {
        auth.0.require(Need::Edit)?;
        let b = body.0;
        let now = Utc::now();
        let m = partner::ActiveModel {
            name: Set(validate::text("name", &b.name, 200)?),
            kind: Set(b.kind),
            agreement_date: Set(validate::opt_date("agreement_date", b.agreement_date)?),
            notes: Set(validate::opt_text("notes", b.notes.as_deref(), 4000)?),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        Ok(Created::Created(Json(
            partner::Entity::insert(m).exec_with_returning(&self.db).await?.into(),
        )))
    }

    /// List partners, newest first; `q` searches the name.
    #[oai(path = "/partners", method = "get")]
    async fn list(
        &self,
        auth: Auth,
        /// Part of the name.
        q: Query<Option<String>>,
        /// Kind.
        kind: Query<Option<PartnerKind>>,
        /// Page number, from 1.
        #[oai(validator(minimum(value = "1")))]
        page: Query<Option<u64>>,
        /// Records per page, 1–200 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        per_page: Query<Option<u64>>,
    ) -> AppResult<Json<Page<Partner>>> {
        auth.0.require(Need::Read)?;
        let mut s = partner::Entity::find().order_by_desc(partner::Column::Id);
        if let Some(q) = q.0.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            s = s.filter(name_contains(partner::Column::Name, q));
        }
        if let Some(k) = kind.0 {
            s = s.filter(partner::Column::Kind.eq(k));
        }
        Ok(Json(
            Paging::new(page.0, per_page.0)
                .fetch(&self.db, s, async |rows| {
                    Ok(rows.into_iter().map(Partner::from).collect())
                })
                .await?,
        ))
    }

    /// Read a partner.
    #[oai(path = "/partners/:id", method = "get")]
    async fn get(&self, auth: Auth, id: Path<i64>) -> AppResult<Json<Partner>> {
        auth.0.require(Need::Read)?;
        Ok(Json(
            find::<partner::Entity, _>(&self.db, id.0, "partner").await?.into(),
        ))
    }

    /// Change a partner; a stale `version` answers 409.
    #[oai(path = "/partners/:id", method = "patch")]
    async fn update(&self, auth: Auth, id: Path<i64>, body: Json<PartnerChanges>) -> AppResult<Json<Partner>> {
        auth.0.require(Need::Edit)?;
        let b = body.0;
        let mut m = partner::ActiveModel::default();
        if let Some(n) = &b.name {
            m.name = Set(validate::text("name", n, 200)?);
        }
        set_if(&mut m.kind, b.kind);
        set_if(
            &mut m.agreement_date,
            changed(b.agreement_date, |d| validate::date("agreement_date", *d).map(Some))?,
        );
        set_if(
            &mut m.notes,
            changed(b.notes, |v| validate::opt_text("notes", Some(v), 4000))?,
        );
        let p = update_versioned::<partner::Entity, _>(&self.db, id.0, "partner", b.version, m).await?;
        Ok(Json(p.into()))
    }

    /// Delete a partner; projects that came through it lose the reference (not their source kind).
    #[oai(path = "/partners/:id", method = "delete")]
    async fn delete(
        &self,
        auth: Auth,
        id: Path<i64>,
        /// The version the deletion was decided on.
        version: Query<i32>,
    ) -> AppResult<Deleted> {
        auth.0.require(Need::Edit)?;
        let txn = self.db.begin().await?;
        let out = delete_versioned::<partner::Entity, _>(&txn, id.0, "partner", version.0).await?;
        forget_source(&txn, project::Column::SourcePartnerId, id.0).await?;
        txn.commit().await?;
        Ok(out)
    }
}

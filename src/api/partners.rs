//! 合作机构: chambers of commerce and agencies the bureau works with or commissions (委托招商).

use entity::{enums::PartnerKind, partner};

use super::prelude::*;
use crate::service::{
    input::{Day, Name},
    partners::{self as svc},
};

/// A partner organisation (合作机构).
#[derive(Object)]
pub struct Partner {
    /// The partner's id, at `/partners/{id}`; projects name it as `source_partner_id`.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: PartnerKind,
    /// Date of the cooperation agreement (合作协议签订日期).
    #[oai(nullable)]
    pub agreement_date: Option<NaiveDate>,
    /// Notes.
    #[oai(nullable)]
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
    pub name: Name,
    /// Kind.
    pub kind: PartnerKind,
    /// Agreement date.
    #[oai(nullable)]
    pub agreement_date: Option<Day>,
    /// Notes, up to 4000 characters.
    #[oai(nullable)]
    pub notes: Option<Text<4000>>,
}

/// Changes to a partner: left out keeps; `null` clears.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct PartnerChanges {
    /// The version the changes were made against.
    #[oai(validator(minimum(value = "0")))]
    pub version: i32,
    /// Name.
    #[oai(nullable)]
    pub name: Option<Name>,
    /// Kind.
    #[oai(nullable)]
    pub kind: Option<PartnerKind>,
    /// Agreement date.
    #[oai(nullable)]
    pub agreement_date: MaybeUndefined<Day>,
    /// Notes.
    #[oai(nullable)]
    pub notes: MaybeUndefined<Text<4000>>,
}

impl NewPartner {
    fn parse(self) -> AppResult<svc::NewPartner> {
        Ok(svc::NewPartner {
            name: self.name,
            kind: self.kind,
            agreement_date: self.agreement_date,
            notes: self.notes,
        })
    }
}

impl PartnerChanges {
    fn parse(self) -> AppResult<svc::PartnerChanges> {
        Ok(svc::PartnerChanges {
            version: self.version,
            name: self.name,
            kind: self.kind,
            agreement_date: self.agreement_date.into(),
            notes: self.notes.into(),
        })
    }
}

/// Partner endpoints.
pub struct PartnersApi {
    pub db: DatabaseConnection,
}

#[OpenApi(tag = "ApiTags::Partners")]
impl PartnersApi {
    /// Record a partner organisation.
    #[oai(path = "/partners", method = "post", operation_id = "createPartner")]
    async fn create(&self, auth: Auth, tx: WriteTx, body: JsonBody<NewPartner>) -> AppResult<Created<Partner>> {
        auth.0.require(Need::Edit)?;
        Ok(Created::Created(Json(
            svc::create(tx.get().await?, body.0.parse()?).await?.into(),
        )))
    }

    /// List partners, newest first; `q` searches the name.
    #[oai(path = "/partners", method = "get", operation_id = "listPartners")]
    async fn list(
        &self,
        auth: Auth,
        /// Part of the name.
        q: Query<Option<String>>,
        /// Kind.
        kind: Query<Option<PartnerKind>>,
        /// Page number, from 1.
        page: Query<Option<PageNo>>,
        /// Records per page, 1–200 (default 20).
        per_page: Query<Option<PerPage>>,
        /// The `next` of the page before: the page after it, at any depth for what the first page costs (keyset);
        /// empty for the first page of such a walk. Not with `page`; such a page carries no `total`.
        after: Query<Option<String>>,
    ) -> AppResult<Json<Page<Partner>>> {
        auth.0.require(Need::Read)?;
        let rows = svc::list(&self.db, q.0.as_deref(), kind.0, paging(page, per_page, after)?).await?;
        Ok(Json(rows.map(Partner::from).into()))
    }

    /// Read a partner.
    #[oai(path = "/partners/:id", method = "get", operation_id = "getPartner")]
    async fn get(&self, auth: Auth, id: Path<i64>) -> AppResult<Json<Partner>> {
        auth.0.require(Need::Read)?;
        Ok(Json(svc::get(&self.db, id.0).await?.into()))
    }

    /// Change a partner; a stale `version` answers 409.
    #[oai(path = "/partners/:id", method = "patch", operation_id = "updatePartner")]
    async fn update(
        &self,
        auth: Auth,
        tx: WriteTx,
        id: Path<i64>,
        body: JsonBody<PartnerChanges>,
    ) -> AppResult<Json<Partner>> {
        auth.0.require(Need::Edit)?;
        Ok(Json(svc::update(tx.get().await?, id.0, body.0.parse()?).await?.into()))
    }

    /// Delete a partner; projects that came through it lose the reference (not their source kind).
    #[oai(path = "/partners/:id", method = "delete", operation_id = "deletePartner")]
    async fn delete(
        &self,
        auth: Auth,
        tx: WriteTx,
        id: Path<i64>,
        /// The version the deletion was decided on.
        version: Query<i32>,
    ) -> AppResult<Deleted> {
        auth.0.require(Need::Edit)?;
        svc::delete(tx.get().await?, id.0, version.0).await?;
        Ok(Deleted::Deleted)
    }
}

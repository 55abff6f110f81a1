//! 企业/客商单位 and their 联系人.

use entity::{company, contact};

use super::prelude::*;
use crate::service::{
    companies::{self as svc, CompanyChanges as Changes, CompanyFilter, ContactChanges as ContactEdit},
    input::{CreditCode, Day, Email, Name, Note, Patch, Phone, Place, Short},
};

/// A company (企业/客商单位).
#[derive(Object)]
pub struct Company {
    /// The company's id, at `/companies/{id}`; projects, visits and contacts name it as `company_id`.
    pub id: i64,
    /// Name (企业名称).
    pub name: String,
    /// Unified social credit code (统一社会信用代码), 18 characters.
    #[oai(nullable)]
    pub credit_code: Option<String>,
    /// Industry (行业).
    #[oai(nullable)]
    pub industry: Option<String>,
    /// Origin province (来源省份).
    #[oai(nullable)]
    pub province: Option<String>,
    /// Origin city (来源城市).
    #[oai(nullable)]
    pub city: Option<String>,
    /// Notes.
    #[oai(nullable)]
    pub notes: Option<String>,
    /// The day it became an above-size enterprise (规模以上), if it has.
    #[oai(nullable)]
    pub above_size_since: Option<NaiveDate>,
    /// Version for optimistic locking; send it back with updates.
    pub version: i32,
    /// When the record was created (UTC).
    pub created_at: DateTime<Utc>,
    /// When the record was last changed (UTC).
    pub updated_at: DateTime<Utc>,
}

impl From<company::Model> for Company {
    fn from(m: company::Model) -> Self {
        Company {
            id: m.id,
            name: m.name,
            credit_code: m.credit_code,
            industry: m.industry,
            province: m.province,
            city: m.city,
            notes: m.notes,
            above_size_since: m.above_size_since,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// A new company.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct NewCompany {
    /// Name, 1–200 characters.
    pub name: Name,
    /// Unified social credit code; checked against its GB 32100 check digit; unique.
    #[oai(nullable)]
    pub credit_code: Option<CreditCode>,
    /// Industry, up to 100 characters.
    #[oai(nullable)]
    pub industry: Option<Short>,
    /// Origin province, up to 50 characters.
    #[oai(nullable)]
    pub province: Option<Place>,
    /// Origin city, up to 50 characters.
    #[oai(nullable)]
    pub city: Option<Place>,
    /// Notes, up to 2000 characters.
    #[oai(nullable)]
    pub notes: Option<Note>,
    /// The day it became an above-size enterprise (规模以上).
    #[oai(nullable)]
    pub above_size_since: Option<Day>,
}

/// Changes to a company: fields left out stay as they are; `null` clears an optional field.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct CompanyChanges {
    /// The version the changes were made against.
    #[oai(validator(minimum(value = "0")))]
    pub version: i32,
    /// Name.
    #[oai(nullable)]
    pub name: Option<Name>,
    /// Unified social credit code.
    #[oai(nullable)]
    pub credit_code: MaybeUndefined<CreditCode>,
    /// Industry.
    #[oai(nullable)]
    pub industry: MaybeUndefined<Short>,
    /// Origin province.
    #[oai(nullable)]
    pub province: MaybeUndefined<Place>,
    /// Origin city.
    #[oai(nullable)]
    pub city: MaybeUndefined<Place>,
    /// Notes.
    #[oai(nullable)]
    pub notes: MaybeUndefined<Note>,
    /// The day it became an above-size enterprise (规模以上); `null` clears it.
    #[oai(nullable)]
    pub above_size_since: MaybeUndefined<Day>,
}

/// A contact person (联系人) of a company. Phone and email are personal data.
#[derive(Object)]
pub struct Contact {
    /// The contact's id, at `/contacts/{id}`.
    pub id: i64,
    /// The company.
    pub company_id: i64,
    /// Name.
    pub name: String,
    /// Title (职务).
    #[oai(nullable)]
    pub title: Option<String>,
    /// Phone number.
    #[oai(nullable)]
    pub phone: Option<String>,
    /// E-mail address.
    #[oai(nullable)]
    pub email: Option<String>,
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

impl From<contact::Model> for Contact {
    /// The API view of a contact, as the service answered it (masked for callers who may not see details).
    fn from(m: contact::Model) -> Self {
        Contact {
            id: m.id,
            company_id: m.company_id,
            name: m.name,
            title: m.title,
            phone: m.phone,
            email: m.email,
            notes: m.notes,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// A new contact.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct NewContact {
    /// Name, 1–100 characters.
    pub name: Short,
    /// Title, up to 100 characters.
    #[oai(nullable)]
    pub title: Option<Short>,
    /// Phone: digits with spaces, dashes or brackets, optional leading +.
    #[oai(nullable)]
    pub phone: Option<Phone>,
    /// E-mail address.
    #[oai(nullable)]
    pub email: Option<Email>,
    /// Notes, up to 2000 characters.
    #[oai(nullable)]
    pub notes: Option<Note>,
}

/// Changes to a contact: fields left out stay; `null` clears.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct ContactChanges {
    /// The version the changes were made against.
    #[oai(validator(minimum(value = "0")))]
    pub version: i32,
    /// Name.
    #[oai(nullable)]
    pub name: Option<Short>,
    /// Title.
    #[oai(nullable)]
    pub title: MaybeUndefined<Short>,
    /// Phone.
    #[oai(nullable)]
    pub phone: MaybeUndefined<Phone>,
    /// E-mail.
    #[oai(nullable)]
    pub email: MaybeUndefined<Email>,
    /// Notes.
    #[oai(nullable)]
    pub notes: MaybeUndefined<Note>,
}

impl NewCompany {
    fn parse(self) -> AppResult<svc::NewCompany> {
        Ok(svc::NewCompany {
            name: self.name,
            credit_code: self.credit_code,
            industry: self.industry,
            province: self.province,
            city: self.city,
            notes: self.notes,
            above_size_since: self.above_size_since,
        })
    }
}

impl CompanyChanges {
    fn parse(self) -> AppResult<Changes> {
        Ok(Changes {
            version: self.version,
            name: self.name,
            credit_code: self.credit_code.into(),
            industry: self.industry.into(),
            province: self.province.into(),
            city: self.city.into(),
            notes: self.notes.into(),
            above_size_since: self.above_size_since.into(),
        })
    }
}

impl NewContact {
    fn parse(self) -> AppResult<svc::NewContact> {
        Ok(svc::NewContact {
            name: self.name,
            title: self.title,
            phone: self.phone.map(String::from),
            email: self.email.map(String::from),
            notes: self.notes,
        })
    }
}

impl ContactChanges {
    fn parse(self) -> AppResult<ContactEdit> {
        Ok(ContactEdit {
            version: self.version,
            name: self.name,
            title: self.title.into(),
            phone: Patch::from(self.phone).map(String::from),
            email: Patch::from(self.email).map(String::from),
            notes: self.notes.into(),
        })
    }
}

/// Company and contact endpoints.
pub struct CompaniesApi {
    pub db: DatabaseConnection,
}

#[OpenApi(tag = "ApiTags::Companies")]
impl CompaniesApi {
    /// Create a company.
    #[oai(path = "/companies", method = "post", operation_id = "createCompany")]
    async fn create(&self, auth: Auth, tx: WriteTx, body: JsonBody<NewCompany>) -> AppResult<Created<Company>> {
        auth.0.require(Need::Edit)?;
        let m = svc::create(tx.get().await?, body.0.parse()?).await?;
        Ok(Created::Created(Json(m.into())))
    }

    /// List companies, newest first; `q` searches the name.
    #[oai(path = "/companies", method = "get", operation_id = "listCompanies")]
    async fn list(
        &self,
        auth: Auth,
        /// Part of the name.
        q: Query<Option<String>>,
        /// Industry, exactly.
        industry: Query<Option<String>>,
        /// Origin province, exactly.
        province: Query<Option<String>>,
        /// Page number, from 1.
        page: Query<Option<PageNo>>,
        /// Records per page, 1–200 (default 20).
        per_page: Query<Option<PerPage>>,
        /// The `next` of the page before: the page after it, at any depth for what the first page costs (keyset);
        /// empty for the first page of such a walk. Not with `page`; such a page carries no `total`.
        after: Query<Option<String>>,
    ) -> AppResult<Json<Page<Company>>> {
        auth.0.require(Need::Read)?;
        let f = CompanyFilter {
            q: q.0,
            industry: industry.0,
            province: province.0,
        };
        let rows = svc::list(&self.db, f, paging(page, per_page, after)?).await?;
        Ok(Json(rows.map(Company::from).into()))
    }

    /// Read a company.
    #[oai(path = "/companies/:id", method = "get", operation_id = "getCompany")]
    async fn get(&self, auth: Auth, id: Path<i64>) -> AppResult<Json<Company>> {
        auth.0.require(Need::Read)?;
        Ok(Json(svc::get(&self.db, id.0).await?.into()))
    }

    /// Change a company; a stale `version` answers 409 and changes nothing.
    #[oai(path = "/companies/:id", method = "patch", operation_id = "updateCompany")]
    async fn update(
        &self,
        auth: Auth,
        tx: WriteTx,
        id: Path<i64>,
        body: JsonBody<CompanyChanges>,
    ) -> AppResult<Json<Company>> {
        auth.0.require(Need::Edit)?;
        Ok(Json(svc::update(tx.get().await?, id.0, body.0.parse()?).await?.into()))
    }

    /// Delete a company and its contacts; refused with 409 while projects refer to it.
    #[oai(path = "/companies/:id", method = "delete", operation_id = "deleteCompany")]
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

    /// Add a contact to a company.
    #[oai(path = "/companies/:id/contacts", method = "post", operation_id = "createContact")]
    async fn create_contact(
        &self,
        auth: Auth,
        tx: WriteTx,
        id: Path<i64>,
        body: JsonBody<NewContact>,
    ) -> AppResult<Created<Contact>> {
        auth.0.require(Need::Edit)?;
        let m = svc::create_contact(tx.get().await?, &auth.0, id.0, body.0.parse()?).await?;
        Ok(Created::Created(Json(m.into())))
    }

    /// List the contacts of a company.
    #[oai(path = "/companies/:id/contacts", method = "get", operation_id = "listContacts")]
    async fn list_contacts(
        &self,
        auth: Auth,
        id: Path<i64>,
        /// Page number, from 1.
        page: Query<Option<PageNo>>,
        /// Records per page, 1–200 (default 20).
        per_page: Query<Option<PerPage>>,
        /// The `next` of the page before: the page after it, at any depth for what the first page costs (keyset);
        /// empty for the first page of such a walk. Not with `page`; such a page carries no `total`.
        after: Query<Option<String>>,
    ) -> AppResult<Json<Page<Contact>>> {
        auth.0.require(Need::Read)?;
        let rows = svc::list_contacts(&self.db, &auth.0, id.0, paging(page, per_page, after)?).await?;
        Ok(Json(rows.map(Contact::from).into()))
    }

    /// Read a contact.
    #[oai(path = "/contacts/:id", method = "get", operation_id = "getContact")]
    async fn get_contact(&self, auth: Auth, id: Path<i64>) -> AppResult<Json<Contact>> {
        auth.0.require(Need::Read)?;
        Ok(Json(svc::get_contact(&self.db, &auth.0, id.0).await?.into()))
    }

    /// Change a contact; a stale `version` answers 409.
    #[oai(path = "/contacts/:id", method = "patch", operation_id = "updateContact")]
    async fn update_contact(
        &self,
        auth: Auth,
        tx: WriteTx,
        id: Path<i64>,
        body: JsonBody<ContactChanges>,
    ) -> AppResult<Json<Contact>> {
        auth.0.require(Need::Edit)?;
        let m = svc::update_contact(tx.get().await?, &auth.0, id.0, body.0.parse()?).await?;
        Ok(Json(m.into()))
    }

    /// Delete a contact.
    #[oai(path = "/contacts/:id", method = "delete", operation_id = "deleteContact")]
    async fn delete_contact(
        &self,
        auth: Auth,
        tx: WriteTx,
        id: Path<i64>,
        /// The version the deletion was decided on.
        version: Query<i32>,
    ) -> AppResult<Deleted> {
        auth.0.require(Need::Edit)?;
        svc::delete_contact(tx.get().await?, id.0, version.0).await?;
        Ok(Deleted::Deleted)
    }
}

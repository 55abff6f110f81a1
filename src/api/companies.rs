//! 企业/客商单位 and their 联系人.

use chrono::{DateTime, Utc};
use entity::{company, contact};
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
    types::MaybeUndefined,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::{ApiTags, Created, Deleted, Page, Paging, delete_versioned, find, name_contains, update_versioned};
use crate::{
    auth::{self, Auth, Caller, Need},
    error::{AppError, AppResult, Msg},
    validate,
};

/// A company (企业/客商单位).
#[derive(Object)]
pub struct Company {
    /// Id.
    pub id: i64,
    /// Name (企业名称).
    pub name: String,
    /// Unified social credit code (统一社会信用代码), 18 characters.
    pub credit_code: Option<String>,
    /// Industry (行业).
    pub industry: Option<String>,
    /// Origin province (来源省份).
    pub province: Option<String>,
    /// Origin city (来源城市).
    pub city: Option<String>,
    /// Notes.
    pub notes: Option<String>,
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
    pub name: String,
    /// Unified social credit code; checked against its GB 32100 check digit; unique.
    pub credit_code: Option<String>,
    /// Industry, up to 100 characters.
    pub industry: Option<String>,
    /// Origin province, up to 50 characters.
    pub province: Option<String>,
    /// Origin city, up to 50 characters.
    pub city: Option<String>,
    /// Notes, up to 2000 characters.
    pub notes: Option<String>,
}

/// Changes to a company: fields left out stay as they are; `null` clears an optional field.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct CompanyChanges {
    /// The version the changes were made against.
    pub version: i32,
    /// Name.
    pub name: Option<String>,
    /// Unified social credit code.
    pub credit_code: MaybeUndefined<String>,
    /// Industry.
    pub industry: MaybeUndefined<String>,
    /// Origin province.
    pub province: MaybeUndefined<String>,
    /// Origin city.
    pub city: MaybeUndefined<String>,
    /// Notes.
    pub notes: MaybeUndefined<String>,
}

/// A contact person (联系人) of a company. Phone and email are personal data.
#[derive(Object)]
pub struct Contact {
    /// Id.
    pub id: i64,
    /// The company.
    pub company_id: i64,
    /// Name.
    pub name: String,
    /// Title (职务).
    pub title: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// Version for optimistic locking.
    pub version: i32,
    /// When the record was created (UTC).
    pub created_at: DateTime<Utc>,
    /// When the record was last changed (UTC).
    pub updated_at: DateTime<Utc>,
}

impl Contact {
    /// The API view of a contact; phone and e-mail are masked for callers who may not see them (DESIGN §7).
    fn view(m: contact::Model, caller: &Caller) -> Self {
        let open = caller.sees_contact_details();
        Contact {
            id: m.id,
            company_id: m.company_id,
            name: m.name,
            title: m.title,
            phone: m.phone.map(|p| if open { p } else { auth::mask_phone(&p) }),
            email: m.email.map(|e| if open { e } else { auth::mask_email(&e) }),
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
    pub name: String,
    /// Title, up to 100 characters.
    pub title: Option<String>,
    /// Phone: digits with spaces, dashes or brackets, optional leading +.
    pub phone: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Notes, up to 2000 characters.
    pub notes: Option<String>,
}

/// Changes to a contact: fields left out stay; `null` clears.
#[derive(Object)]
#[oai(deny_unknown_fields)]
pub struct ContactChanges {
    /// The version the changes were made against.
    pub version: i32,
    /// Name.
    pub name: Option<String>,
    /// Title.
    pub title: MaybeUndefined<String>,
    /// Phone.
    pub phone: MaybeUndefined<String>,
    /// E-mail.
    pub email: MaybeUndefined<String>,
    /// Notes.
    pub notes: MaybeUndefined<String>,
}

/// Applies a validated optional field of a change set: left out keeps, `null` clears.
pub(super) fn changed<T, V>(
    v: MaybeUndefined<T>,
    check: impl FnOnce(&T) -> AppResult<Option<V>>,
) -> AppResult<Option<Option<V>>> {
    match v {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Ok(Some(None)),
        MaybeUndefined::Value(x) => Ok(Some(check(&x)?)),
    }
}

/// Sets an active value when the change set carries it.
pub(super) fn set_if<V: Into<sea_orm::Value>>(target: &mut sea_orm::ActiveValue<V>, v: Option<V>) {
    if let Some(v) = v {
        *target = Set(v);
    }
}

/// The distinct company ids of a request body; each must exist (422 `unknown_company` otherwise).
pub(super) async fn known_companies(db: &impl ConnectionTrait, field: &str, ids: &[i64]) -> AppResult<Vec<i64>> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let found: Vec<i64> = company::Entity::find()
        .select_only()
        .column(company::Column::Id)
        .filter(company::Column::Id.is_in(ids.clone()))
        .into_tuple()
        .all(db)
        .await?;
    if let Some(missing) = ids.iter().find(|id| !found.contains(id)) {
        return Err(AppError::rule(
            "unknown_company",
            Some(field),
            Msg::new(
                format!("there is no company {missing}"),
                format!("企业 {missing} 不存在"),
            ),
        ));
    }
    Ok(ids)
}

async fn ensure_code_free(db: &DatabaseConnection, code: &Option<String>, except: Option<i64>) -> AppResult<()> {
    let Some(code) = code else { return Ok(()) };
    let mut q = company::Entity::find().filter(company::Column::CreditCode.eq(code.as_str()));
    if let Some(id) = except {
        q = q.filter(company::Column::Id.ne(id));
    }
    if q.one(db).await?.is_some() {
        return Err(AppError::Conflict {
            code: "duplicate_credit_code",
            msg: Msg::new("another company has this credit code", "已有企业使用该统一社会信用代码"),
            field: Some("credit_code".into()),
        });
    }
    Ok(())
}

fn check_credit_code(code: &str) -> AppResult<Option<String>> {
    match code.trim() {
        "" => Ok(None),
        c => validate::credit_code("credit_code", c).map(Some),
    }
}

/// Company and contact endpoints.
pub struct CompaniesApi {
    pub db: DatabaseConnection,
}

#[OpenApi(tag = "ApiTags::Companies")]
impl CompaniesApi {
    /// Create a company.
    #[oai(path = "/companies", method = "post")]
    async fn create(&self, auth: Auth, body: Json<NewCompany>) -> AppResult<Created<Company>> {
        auth.0.require(Need::Edit)?;
        let b = body.0;
        let credit_code = b.credit_code.as_deref().map(check_credit_code).transpose()?.flatten();
        ensure_code_free(&self.db, &credit_code, None).await?;
        let now = Utc::now();
        let m = company::ActiveModel {
            name: Set(validate::text("name", &b.name, 200)?),
            credit_code: Set(credit_code),
            industry: Set(validate::opt_text("industry", b.industry.as_deref(), 100)?),
            province: Set(validate::opt_text("province", b.province.as_deref(), 50)?),
            city: Set(validate::opt_text("city", b.city.as_deref(), 50)?),
            notes: Set(validate::opt_text("notes", b.notes.as_deref(), 2000)?),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        let m = company::Entity::insert(m).exec_with_returning(&self.db).await?;
        Ok(Created::Created(Json(m.into())))
    }

    /// List companies, newest first; `q` searches the name.
    #[oai(path = "/companies", method = "get")]
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
        #[oai(validator(minimum(value = "1")))]
        page: Query<Option<u64>>,
        /// Records per page, 1–200 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        per_page: Query<Option<u64>>,
    ) -> AppResult<Json<Page<Company>>> {
        auth.0.require(Need::Read)?;
        let mut s = company::Entity::find().order_by_desc(company::Column::Id);
        if let Some(q) = q.0.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            s = s.filter(name_contains(company::Column::Name, q));
        }
        if let Some(i) = industry.0 {
            s = s.filter(company::Column::Industry.eq(i));
        }
        if let Some(p) = province.0 {
            s = s.filter(company::Column::Province.eq(p));
        }
        let page = Paging::new(page.0, per_page.0)
            .fetch(&self.db, s, async |rows| {
                Ok(rows.into_iter().map(Company::from).collect())
            })
            .await?;
        Ok(Json(page))
    }

    /// Read a company.
    #[oai(path = "/companies/:id", method = "get")]
    async fn get(&self, auth: Auth, id: Path<i64>) -> AppResult<Json<Company>> {
        auth.0.require(Need::Read)?;
        Ok(Json(
            find::<company::Entity, _>(&self.db, id.0, "company").await?.into(),
        ))
    }

    /// Change a company; a stale `version` answers 409 and changes nothing.
    #[oai(path = "/companies/:id", method = "patch")]
    async fn update(&self, auth: Auth, id: Path<i64>, body: Json<CompanyChanges>) -> AppResult<Json<Company>> {
        auth.0.require(Need::Edit)?;
        let b = body.0;
        let mut m = company::ActiveModel::default();
        if let Some(name) = &b.name {
            m.name = Set(validate::text("name", name, 200)?);
        }
        let code = changed(b.credit_code, |c| check_credit_code(c))?;
        if let Some(code) = &code {
            ensure_code_free(&self.db, code, Some(id.0)).await?;
        }
        set_if(&mut m.credit_code, code);
        set_if(
            &mut m.industry,
            changed(b.industry, |v| validate::opt_text("industry", Some(v), 100))?,
        );
        set_if(
            &mut m.province,
            changed(b.province, |v| validate::opt_text("province", Some(v), 50))?,
        );
        set_if(
            &mut m.city,
            changed(b.city, |v| validate::opt_text("city", Some(v), 50))?,
        );
        set_if(
            &mut m.notes,
            changed(b.notes, |v| validate::opt_text("notes", Some(v), 2000))?,
        );
        let m = update_versioned::<company::Entity, _>(&self.db, id.0, "company", b.version, m).await?;
        Ok(Json(m.into()))
    }

    /// Delete a company and its contacts; refused with 409 while projects refer to it.
    #[oai(path = "/companies/:id", method = "delete")]
    async fn delete(
        &self,
        auth: Auth,
        id: Path<i64>,
        /// The version the deletion was decided on.
        version: Query<i32>,
    ) -> AppResult<Deleted> {
        auth.0.require(Need::Edit)?;
        find::<company::Entity, _>(&self.db, id.0, "company").await?;
        let used = entity::project::Entity::find()
            .filter(entity::project::Column::CompanyId.eq(id.0))
            .one(&self.db)
            .await?;
        if used.is_some() {
            return Err(AppError::Conflict {
                code: "company_in_use",
                msg: Msg::new("projects refer to this company", "该企业下仍有项目,无法删除"),
                field: None,
            });
        }
        delete_versioned::<company::Entity, _>(&self.db, id.0, "company", version.0).await
    }

    /// Add a contact to a company.
    #[oai(path = "/companies/:id/contacts", method = "post")]
    async fn create_contact(&self, auth: Auth, id: Path<i64>, body: Json<NewContact>) -> AppResult<Created<Contact>> {
        auth.0.require(Need::Edit)?;
        find::<company::Entity, _>(&self.db, id.0, "company").await?;
        let b = body.0;
        let now = Utc::now();
        let m = contact::ActiveModel {
            company_id: Set(id.0),
            name: Set(validate::text("name", &b.name, 100)?),
            title: Set(validate::opt_text("title", b.title.as_deref(), 100)?),
            phone: Set(validate::phone("phone", b.phone.as_deref())?),
            email: Set(validate::email("email", b.email.as_deref())?),
            notes: Set(validate::opt_text("notes", b.notes.as_deref(), 2000)?),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        let m = contact::Entity::insert(m).exec_with_returning(&self.db).await?;
        Ok(Created::Created(Json(Contact::view(m, &auth.0))))
    }

    /// List the contacts of a company.
    #[oai(path = "/companies/:id/contacts", method = "get")]
    async fn list_contacts(
        &self,
        auth: Auth,
        id: Path<i64>,
        /// Page number, from 1.
        #[oai(validator(minimum(value = "1")))]
        page: Query<Option<u64>>,
        /// Records per page, 1–200 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        per_page: Query<Option<u64>>,
    ) -> AppResult<Json<Page<Contact>>> {
        auth.0.require(Need::Read)?;
        find::<company::Entity, _>(&self.db, id.0, "company").await?;
        let s = contact::Entity::find()
            .filter(contact::Column::CompanyId.eq(id.0))
            .order_by_asc(contact::Column::Id);
        let page = Paging::new(page.0, per_page.0)
            .fetch(&self.db, s, async |rows| {
                Ok(rows.into_iter().map(|c| Contact::view(c, &auth.0)).collect())
            })
            .await?;
        Ok(Json(page))
    }

    /// Read a contact.
    #[oai(path = "/contacts/:id", method = "get")]
    async fn get_contact(&self, auth: Auth, id: Path<i64>) -> AppResult<Json<Contact>> {
        auth.0.require(Need::Read)?;
        Ok(Json(Contact::view(
            find::<contact::Entity, _>(&self.db, id.0, "contact").await?,
            &auth.0,
        )))
    }

    /// Change a contact; a stale `version` answers 409.
    #[oai(path = "/contacts/:id", method = "patch")]
    async fn update_contact(&self, auth: Auth, id: Path<i64>, body: Json<ContactChanges>) -> AppResult<Json<Contact>> {
        auth.0.require(Need::Edit)?;
        let b = body.0;
        let mut m = contact::ActiveModel::default();
        if let Some(name) = &b.name {
            m.name = Set(validate::text("name", name, 100)?);
        }
        set_if(
            &mut m.title,
            changed(b.title, |v| validate::opt_text("title", Some(v), 100))?,
        );
        set_if(&mut m.phone, changed(b.phone, |v| validate::phone("phone", Some(v)))?);
        set_if(&mut m.email, changed(b.email, |v| validate::email("email", Some(v)))?);
        set_if(
            &mut m.notes,
            changed(b.notes, |v| validate::opt_text("notes", Some(v), 2000))?,
        );
        let m = update_versioned::<contact::Entity, _>(&self.db, id.0, "contact", b.version, m).await?;
        Ok(Json(Contact::view(m, &auth.0)))
    }

    /// Delete a contact.
    #[oai(path = "/contacts/:id", method = "delete")]
    async fn delete_contact(
        &self,
        auth: Auth,
        id: Path<i64>,
        /// The version the deletion was decided on.
        version: Query<i32>,
    ) -> AppResult<Deleted> {
        auth.0.require(Need::Edit)?;
        delete_versioned::<contact::Entity, _>(&self.db, id.0, "contact", version.0).await
    }
}

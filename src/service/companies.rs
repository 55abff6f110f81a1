//! 企业/客商单位 and their 联系人. A credit code is unique; a company with projects cannot be deleted; contact phone
//! numbers and e-mail addresses are personal data, masked for whoever may not see them (docs/ARCHITECTURE.md).

use chrono::Utc;
use entity::{company, contact, project};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::{
    Actor, AppError, AppResult, Code, Dir, Kind, Msg, Order, Page, Paging, delete_versioned, find,
    input::{CreditCode, Day, Name, Note, Patch, Place, Short, opt_string, set_some},
    insert_one, known, name_contains, rare_name_pair, search_text, update_versioned,
};

/// A new company.
pub struct NewCompany {
    /// Name.
    pub name: Name,
    /// Unified social credit code.
    pub credit_code: Option<CreditCode>,
    /// Industry.
    pub industry: Option<Short>,
    /// Origin province.
    pub province: Option<Place>,
    /// Origin city.
    pub city: Option<Place>,
    /// Notes.
    pub notes: Option<Note>,
    /// The day it became an above-size (规模以上) enterprise.
    pub above_size_since: Option<Day>,
}

impl NewCompany {
    /// A company known by its name only (met on a visit, named in a ledger).
    pub fn named(name: Name) -> NewCompany {
        NewCompany {
            name,
            credit_code: None,
            industry: None,
            province: None,
            city: None,
            notes: None,
            above_size_since: None,
        }
    }
}

/// Changes to a company.
pub struct CompanyChanges {
    /// The version the changes were made against.
    pub version: i32,
    /// Name.
    pub name: Option<Name>,
    /// Unified social credit code.
    pub credit_code: Patch<CreditCode>,
    /// Industry.
    pub industry: Patch<Short>,
    /// Origin province.
    pub province: Patch<Place>,
    /// Origin city.
    pub city: Patch<Place>,
    /// Notes.
    pub notes: Patch<Note>,
    /// The day it became an above-size (规模以上) enterprise.
    pub above_size_since: Patch<Day>,
}

/// Which companies to list.
#[derive(Default)]
pub struct CompanyFilter {
    /// Part of the name.
    pub q: Option<String>,
    /// Industry, exactly.
    pub industry: Option<String>,
    /// Origin province, exactly.
    pub province: Option<String>,
}

/// Creates a company; a credit code another company has is a conflict.
pub async fn create(db: &impl ConnectionTrait, c: NewCompany) -> AppResult<company::Model> {
    ensure_code_free(db, c.credit_code.as_ref().map(CreditCode::as_str), None).await?;
    insert_one(db, Kind::Company, row(c))
        .await
        .map_err(|e| e.if_duplicate(code_taken))
}

/// Creates companies known by their names only (typed new on a visit or an activity) inside the caller's
/// transaction; answers their ids in order.
pub async fn create_named(db: &impl ConnectionTrait, names: Vec<Name>) -> AppResult<Vec<i64>> {
    let mut ids = Vec::with_capacity(names.len());
    for name in names {
        ids.push(create(db, NewCompany::named(name)).await?.id);
    }
    Ok(ids)
}

/// Creates many companies inside the caller's transaction; answers their ids in order. A credit code that is taken
/// is refused by the database's unique index.
pub async fn create_many(db: &impl ConnectionTrait, list: Vec<NewCompany>) -> AppResult<Vec<i64>> {
    super::insert_all(db, list.into_iter().map(row).collect(), 2000).await
}

fn row(c: NewCompany) -> company::ActiveModel {
    let now = Utc::now();
    company::ActiveModel {
        name: Set(c.name.into()),
        credit_code: Set(c.credit_code.map(String::from)),
        industry: Set(opt_string(c.industry)),
        province: Set(opt_string(c.province)),
        city: Set(opt_string(c.city)),
        notes: Set(opt_string(c.notes)),
        above_size_since: Set(c.above_size_since.map(Day::date)),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

/// A page of companies, newest first.
pub async fn list(db: &impl ConnectionTrait, f: CompanyFilter, paging: Paging) -> AppResult<Page<company::Model>> {
    let mut s = company::Entity::find();
    if let Some(q) = search_text(f.q.as_deref()) {
        s = s.filter(name_contains(db.get_database_backend(), company::Column::Name, q));
        if let Some(pair) = rare_name_pair(db, sea_orm::EntityName::table_name(&company::Entity), q).await? {
            s = s.filter(pair);
        }
    }
    if let Some(i) = f.industry {
        s = s.filter(company::Column::Industry.eq(i));
    }
    if let Some(p) = f.province {
        s = s.filter(company::Column::Province.eq(p));
    }
    paging.rows(db, s, Order(&[(company::Column::Id, Dir::Desc)])).await
}

/// The company of exactly this name (trimmed), if there is one.
pub async fn find_by_name(db: &impl ConnectionTrait, name: &str) -> AppResult<Option<company::Model>> {
    Ok(company::Entity::find()
        .filter(company::Column::Name.eq(name.trim()))
        .order_by_asc(company::Column::Id)
        .one(db)
        .await?)
}

/// A company by id.
pub async fn get(db: &impl ConnectionTrait, id: i64) -> AppResult<company::Model> {
    find::<company::Entity, _>(db, id, Kind::Company).await
}

/// Changes a company.
pub async fn update(db: &impl ConnectionTrait, id: i64, c: CompanyChanges) -> AppResult<company::Model> {
    if let Patch::Set(code) = &c.credit_code {
        ensure_code_free(db, Some(code.as_str()), Some(id)).await?;
    }
    let mut m = company::ActiveModel::default();
    set_some(&mut m.name, c.name);
    c.credit_code.apply(&mut m.credit_code);
    c.industry.apply(&mut m.industry);
    c.province.apply(&mut m.province);
    c.city.apply(&mut m.city);
    c.notes.apply(&mut m.notes);
    c.above_size_since.apply(&mut m.above_size_since);
    update_versioned::<company::Entity, _>(db, id, Kind::Company, c.version, m)
        .await
        .map_err(|e| e.if_duplicate(code_taken))
}

/// Deletes a company with its contacts; refused while projects refer to it.
pub async fn delete(db: &impl ConnectionTrait, id: i64, version: i32) -> AppResult<()> {
    get(db, id).await?;
    let used = project::Entity::find()
        .filter(project::Column::CompanyId.eq(id))
        .one(db)
        .await?;
    if used.is_some() {
        return Err(AppError::Conflict {
            code: Code::CompanyInUse,
            msg: Msg::new("projects refer to this company", "该企业下仍有项目,无法删除"),
            field: None,
        });
    }
    delete_versioned::<company::Entity, _>(db, id, Kind::Company, version).await
}

/// The distinct ids among `ids`, sorted; each must be a company (`unknown_company` on `field` otherwise).
pub async fn known_companies(db: &impl ConnectionTrait, field: &str, ids: &[i64]) -> AppResult<Vec<i64>> {
    known::<company::Entity>(db, ids, |missing| unknown_company(field, missing)).await
}

/// The rule broken by naming a company that does not exist.
pub fn unknown_company(field: &str, id: i64) -> AppError {
    AppError::rule(
        Code::UnknownCompany,
        Some(field),
        Msg::new(format!("there is no company {id}"), format!("企业 {id} 不存在")),
    )
}

async fn ensure_code_free(db: &impl ConnectionTrait, code: Option<&str>, except: Option<i64>) -> AppResult<()> {
    let Some(code) = code else { return Ok(()) };
    let mut q = company::Entity::find().filter(company::Column::CreditCode.eq(code));
    if let Some(id) = except {
        q = q.filter(company::Column::Id.ne(id));
    }
    if q.one(db).await?.is_some() {
        return Err(code_taken());
    }
    Ok(())
}

fn code_taken() -> AppError {
    AppError::Conflict {
        code: Code::DuplicateCreditCode,
        msg: Msg::new("another company has this credit code", "已有企业使用该统一社会信用代码"),
        field: Some("credit_code".into()),
    }
}

/// A new contact of a company.
pub struct NewContact {
    /// Name.
    pub name: Short,
    /// Title.
    pub title: Option<Short>,
    /// Phone, checked.
    pub phone: Option<String>,
    /// E-mail, checked.
    pub email: Option<String>,
    /// Notes.
    pub notes: Option<Note>,
}

/// Changes to a contact.
pub struct ContactChanges {
    /// The version the changes were made against.
    pub version: i32,
    /// Name.
    pub name: Option<Short>,
    /// Title.
    pub title: Patch<Short>,
    /// Phone.
    pub phone: Patch<String>,
    /// E-mail.
    pub email: Patch<String>,
    /// Notes.
    pub notes: Patch<Note>,
}

/// Adds a contact to a company; answers it as the actor may see it.
pub async fn create_contact(
    db: &impl ConnectionTrait,
    actor: &Actor,
    company_id: i64,
    c: NewContact,
) -> AppResult<contact::Model> {
    get(db, company_id).await?;
    let now = Utc::now();
    let m = contact::ActiveModel {
        company_id: Set(company_id),
        name: Set(c.name.into()),
        title: Set(opt_string(c.title)),
        phone: Set(c.phone),
        email: Set(c.email),
        notes: Set(opt_string(c.notes)),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let m = insert_one(db, Kind::Contact, m).await?;
    Ok(masked(m, actor.sees_contact_details()))
}

/// A page of the contacts of a company, oldest first, as the actor may see them.
pub async fn list_contacts(
    db: &impl ConnectionTrait,
    actor: &Actor,
    company_id: i64,
    paging: Paging,
) -> AppResult<Page<contact::Model>> {
    get(db, company_id).await?;
    let s = contact::Entity::find().filter(contact::Column::CompanyId.eq(company_id));
    let open = actor.sees_contact_details();
    Ok(paging
        .rows(db, s, Order(&[(contact::Column::Id, Dir::Asc)]))
        .await?
        .map(|c| masked(c, open)))
}

/// A contact, as the actor may see it.
pub async fn get_contact(db: &impl ConnectionTrait, actor: &Actor, id: i64) -> AppResult<contact::Model> {
    let m = find::<contact::Entity, _>(db, id, Kind::Contact).await?;
    Ok(masked(m, actor.sees_contact_details()))
}

/// Changes a contact; answers it as the actor may see it.
pub async fn update_contact(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
    c: ContactChanges,
) -> AppResult<contact::Model> {
    let mut m = contact::ActiveModel::default();
    set_some(&mut m.name, c.name);
    c.title.apply(&mut m.title);
    c.phone.apply(&mut m.phone);
    c.email.apply(&mut m.email);
    c.notes.apply(&mut m.notes);
    let m = update_versioned::<contact::Entity, _>(db, id, Kind::Contact, c.version, m).await?;
    Ok(masked(m, actor.sees_contact_details()))
}

/// Deletes a contact.
pub async fn delete_contact(db: &impl ConnectionTrait, id: i64, version: i32) -> AppResult<()> {
    delete_versioned::<contact::Entity, _>(db, id, Kind::Contact, version).await
}

/// The next `limit` contacts after the id `after`, in id order, each with its company's name, masked unless `open`.
pub async fn contacts_after(
    db: &impl ConnectionTrait,
    open: bool,
    after: i64,
    limit: u64,
) -> AppResult<Vec<(contact::Model, String)>> {
    let rows = super::after(db, contact::Entity::find(), after, limit).await?;
    let names = super::names::<company::Entity>(db, rows.iter().map(|c| c.company_id)).await?;
    Ok(rows
        .into_iter()
        .map(|c| {
            let name = names.get(&c.company_id).cloned().unwrap_or_default();
            (masked(c, open), name)
        })
        .collect())
}

/// A contact with phone and e-mail masked unless `open`.
pub fn masked(mut c: contact::Model, open: bool) -> contact::Model {
    if !open {
        c.phone = c.phone.as_deref().map(mask_phone);
        c.email = c.email.as_deref().map(mask_email);
    }
    c
}

/// `138****5678` for a phone number, `z***@example.com` for an e-mail address.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().filter(|c| !c.is_whitespace()).collect();
    if chars.len() < 8 {
        return "****".into();
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

/// Masks an e-mail address, keeping its first character and domain.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("138-1234-5678"), "138****5678");
        assert_eq!(mask_phone("12345"), "****");
        assert_eq!(mask_email("zhang@example.com"), "z***@example.com");
    }
}

/// A province as the map of China names it: `江苏省` → `江苏`, `广西壮族自治区` → `广西`, `上海市` → `上海`,
/// `香港特别行政区` → `香港`; a name already short is kept.
pub fn province_name(raw: &str) -> String {
    let t = raw.trim();
    for suffix in [
        "壮族自治区",
        "回族自治区",
        "维吾尔自治区",
        "特别行政区",
        "自治区",
        "省",
        "市",
    ] {
        if let Some(short) = t.strip_suffix(suffix).filter(|s| s.chars().count() >= 2) {
            return short.to_owned();
        }
    }
    t.to_owned()
}

#[cfg(test)]
mod province_tests {
    #[test]
    fn provinces_read_as_the_map_names_them() {
        for (raw, short) in [
            ("江苏省", "江苏"),
            ("江苏", "江苏"),
            ("广西壮族自治区", "广西"),
            ("内蒙古自治区", "内蒙古"),
            ("新疆维吾尔自治区", "新疆"),
            ("上海市", "上海"),
            ("香港特别行政区", "香港"),
        ] {
            assert_eq!(super::province_name(raw), short);
        }
    }
}

//! The 企业(客商)名录 with their 联系人: one row per company, or one per contact with the company repeated. A
//! company is matched by credit code, else by normalised name; a contact by its company and name.

use std::collections::{HashMap, HashSet};

use entity::company;
use sea_orm::DatabaseExecutor;

use super::{Issue, Outcome, RowReader, Target, layout::fields, value::name_key};
use crate::service::{
    Actor, AppResult,
    companies::{self as svc, CompanyChanges, NewCompany, NewContact},
    imports::{self, CompanyBefore, Touched},
    input::{CreditCode, Day, Name, Note, Patch, Place, Short, email, phone},
};

fields! {
    /// A column of a company list.
    Col;
    Name name "企业名称" Text required "精诚科技有限公司" ["企业名称", "客商单位", "单位名称", "公司名称", "企业", "投资方", "company", "company name"];
    CreditCode credit_code "统一社会信用代码" Text optional "91320594MA1MWJTQ42" ["统一社会信用代码", "信用代码", "社会信用代码", "credit code"];
    Industry industry "所属行业" Text optional "新能源" ["所属行业", "行业", "产业类别", "所属产业", "行业类别", "industry"];
    Province province "所在省份" Text optional "江苏" ["所在省份", "省份", "省", "来源省份", "province"];
    City city "所在城市" Text optional "苏州" ["所在城市", "城市", "市", "city"];
    ContactName contact_name "联系人" Text optional "张伟" ["联系人", "联系人姓名", "对接人", "contact", "contact name"];
    ContactTitle contact_title "职务" Text optional "董事长" ["职务", "联系人职务", "职位", "title"];
    ContactPhone contact_phone "联系电话" Text optional "13800000000" ["联系电话", "电话", "手机", "手机号", "联系方式", "phone", "mobile"];
    ContactEmail contact_email "电子邮箱" Text optional "zhangwei@example.com" ["电子邮箱", "邮箱", "email", "e-mail"];
    AboveSizeSince above_size_since "规上时间" Date optional "" ["规上时间", "入规时间", "纳规时间", "规模以上时间", "above size since"];
    Notes notes "备注" Text optional "" ["备注", "情况说明", "notes", "remarks"];
}

/// A company row, read and checked.
pub struct Row {
    line: usize,
    name: Name,
    credit_code: Option<CreditCode>,
    industry: Option<Short>,
    province: Option<Place>,
    city: Option<Place>,
    notes: Option<Note>,
    above_size_since: Option<Day>,
    contact: Option<NewContact>,
}

super::ledger!(
    /// 企业名录.
    Companies
);

/// Reads one row; `None` when it has errors (recorded in the reader's outcome).
fn read(r: &mut RowReader<'_>) -> Option<Row> {
    let name = r.required(Col::Name, |v| Name::parse("name", v));
    let credit_code = r.text(Col::CreditCode, |v| CreditCode::parse("credit_code", v).map(Some));
    let industry = r.text(Col::Industry, |v| Short::parse_opt("industry", Some(v)));
    let province = r.text(Col::Province, |v| Place::parse_opt("province", Some(v)));
    let city = r.text(Col::City, |v| Place::parse_opt("city", Some(v)));
    let notes = r.text(Col::Notes, |v| Note::parse_opt("notes", Some(v)));
    let above_size_since = r.date(Col::AboveSizeSince);
    let contact_name = r.text(Col::ContactName, |v| Short::parse_opt("contact_name", Some(v)));
    let title = r.text(Col::ContactTitle, |v| Short::parse_opt("contact_title", Some(v)));
    let phone = r.text(Col::ContactPhone, |v| phone("contact_phone", Some(v)));
    let email = r.text(Col::ContactEmail, |v| email("contact_email", Some(v)));
    if contact_name.is_none() && (title.is_some() || phone.is_some() || email.is_some()) {
        r.error_at(
            Col::ContactName,
            "missing_value",
            "填写了联系方式,但没有联系人姓名".into(),
        );
    }
    if r.failed() {
        return None;
    }
    Some(Row {
        line: r.line(),
        name: name?,
        credit_code,
        industry,
        province,
        city,
        notes,
        above_size_since: above_size_since.and_then(|d| Day::parse("above_size_since", d).ok()),
        contact: contact_name.map(|name| NewContact {
            name,
            title,
            phone,
            email,
            notes: None,
        }),
    })
}

/// Which company a row names.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Ref {
    Stored(i64),
    New(usize),
}

/// What the import does to the companies and contacts of the file.
#[derive(Default)]
struct Plan {
    /// Companies to create, with the line of their first row.
    new: Vec<NewCompany>,
    /// Stored companies to change.
    changes: Vec<(company::Model, CompanyChanges)>,
    /// Contacts to add.
    contacts: Vec<(Ref, NewContact)>,
}

fn differ<T: Clone>(given: &Option<T>, stored: &Option<String>, text: impl Fn(&T) -> &str) -> Patch<T> {
    match given {
        Some(v) if stored.as_deref() != Some(text(v)) => Patch::Set(v.clone()),
        _ => Patch::Keep,
    }
}

/// The changes a row makes to a stored company: the fields it gives differently (a blank cell never clears one).
fn changes(row: &Row, c: &company::Model) -> Option<CompanyChanges> {
    let ch = CompanyChanges {
        version: c.version,
        name: None,
        credit_code: differ(&row.credit_code, &c.credit_code, CreditCode::as_str),
        industry: differ(&row.industry, &c.industry, Short::as_str),
        province: differ(&row.province, &c.province, Place::as_str),
        city: differ(&row.city, &c.city, Place::as_str),
        notes: differ(&row.notes, &c.notes, Note::as_str),
        above_size_since: match row.above_size_since {
            Some(d) if c.above_size_since != Some(d.date()) => Patch::Set(d),
            _ => Patch::Keep,
        },
    };
    [
        ch.above_size_since.changes(),
        ch.credit_code.changes(),
        ch.industry.changes(),
        ch.province.changes(),
        ch.city.changes(),
        ch.notes.changes(),
    ]
    .contains(&true)
    .then_some(ch)
}

/// The stored companies and their contacts, as rows are matched to them.
struct Index {
    stored: HashMap<i64, company::Model>,
    by_code: HashMap<String, Ref>,
    by_key: HashMap<String, Ref>,
    contacts: HashSet<(Ref, String)>,
}

impl Index {
    async fn load(db: &DatabaseExecutor<'_>) -> AppResult<Index> {
        let stored: HashMap<i64, company::Model> =
            imports::companies(db).await?.into_iter().map(|c| (c.id, c)).collect();
        let mut by_code: HashMap<String, Ref> = HashMap::new();
        let mut by_key: HashMap<String, Ref> = HashMap::new();
        for c in stored.values() {
            if let Some(code) = &c.credit_code {
                by_code.insert(code.clone(), Ref::Stored(c.id));
            }
            by_key.entry(name_key(&c.name)).or_insert(Ref::Stored(c.id));
        }
        let contacts: HashSet<(Ref, String)> = imports::contacts_of(db, &stored.keys().copied().collect::<Vec<_>>())
            .await?
            .into_iter()
            .map(|c| (Ref::Stored(c.company_id), name_key(&c.name)))
            .collect();
        Ok(Index {
            stored,
            by_code,
            by_key,
            contacts,
        })
    }
}

/// Matches the rows to what is stored and, when `commit`, writes them through the company services in the
/// caller's transaction.
async fn import(to: Target<'_>, rows: Vec<Row>, out: &mut Outcome) -> AppResult<Vec<Touched>> {
    let Target { db, actor, commit } = to;
    let Index {
        stored,
        mut by_code,
        mut by_key,
        mut contacts,
    } = Index::load(db).await?;
    let mut first_line: HashMap<Ref, usize> = HashMap::new();
    let mut plan = Plan::default();
    for row in rows {
        let known = row
            .credit_code
            .as_ref()
            .and_then(|c| by_code.get(c.as_str()))
            .or_else(|| by_key.get(&name_key(row.name.as_str())));
        let r = match known.copied() {
            Some(Ref::Stored(id)) => {
                let c = &stored[&id];
                if let (Some(code), Some(other)) = (&row.credit_code, &c.credit_code)
                    && code.as_str() != other
                {
                    out.error(Issue::at(
                        row.line,
                        out.column(Col::CreditCode),
                        Some(code.as_str()),
                        "credit_code_mismatch",
                        format!("企业“{}”已登记的统一社会信用代码为 {other},与本行不一致", c.name),
                    ));
                    continue;
                }
                Ref::Stored(id)
            }
            Some(r) => r,
            None => {
                let r = Ref::New(plan.new.len());
                plan.new.push(NewCompany {
                    name: row.name.clone(),
                    credit_code: row.credit_code.clone(),
                    industry: row.industry.clone(),
                    province: row.province.clone(),
                    city: row.city.clone(),
                    notes: row.notes.clone(),
                    above_size_since: row.above_size_since,
                });
                by_key.insert(name_key(row.name.as_str()), r);
                if let Some(code) = &row.credit_code {
                    by_code.insert(code.as_str().to_owned(), r);
                }
                r
            }
        };
        let first = *first_line.entry(r).or_insert(row.line);
        let mut changed = false;
        if let (Ref::Stored(id), true) = (r, first == row.line)
            && let Some(ch) = changes(&row, &stored[&id])
        {
            plan.changes.push((stored[&id].clone(), ch));
            changed = true;
        }
        if let Some(c) = row.contact
            && contacts.insert((r, name_key(c.name.as_str())))
        {
            plan.contacts.push((r, c));
            changed = true;
        }
        match r {
            Ref::New(_) if first == row.line => out.created += 1,
            _ if changed => out.updated += 1,
            _ => out.unchanged += 1,
        }
    }
    if !commit || !out.may_write() {
        return Ok(Vec::new());
    }
    write(db, actor, plan).await
}

async fn write(db: &DatabaseExecutor<'_>, actor: &Actor, plan: Plan) -> AppResult<Vec<Touched>> {
    let mut touched = Vec::new();
    let ids = svc::create_many(db, plan.new).await?;
    touched.extend(ids.iter().map(|id| Touched::NewCompany(*id)));
    for (before, ch) in plan.changes {
        svc::update(db, before.id, ch).await?;
        touched.push(Touched::Company(before.id, CompanyBefore::of(&before)));
    }
    for (r, c) in plan.contacts {
        let company_id = match r {
            Ref::Stored(id) => id,
            Ref::New(i) => ids[i],
        };
        let m = svc::create_contact(db, actor, company_id, c).await?;
        touched.push(Touched::NewContact(m.id));
    }
    Ok(touched)
}

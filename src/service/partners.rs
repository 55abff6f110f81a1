//! 合作机构: chambers of commerce and agencies the bureau works with or commissions (委托招商).

use chrono::Utc;
use entity::{enums::PartnerKind, partner, project};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TransactionSession};

use super::{
    AppResult, Db, Dir, Kind, Order, Page, Paging, delete_versioned, find,
    input::{Day, Name, Patch, Text, opt_string, set_some},
    insert_one, name_contains,
    projects::forget_source,
    search_text, update_versioned,
};

/// Notes on a partner: up to 4000 characters.
pub type LongNote = Text<4000>;

/// A new partner.
pub struct NewPartner {
    /// Name.
    pub name: Name,
    /// Kind.
    pub kind: PartnerKind,
    /// Date of the agreement.
    pub agreement_date: Option<Day>,
    /// Notes.
    pub notes: Option<LongNote>,
}

/// Changes to a partner.
pub struct PartnerChanges {
    /// The version the changes were made against.
    pub version: i32,
    /// Name.
    pub name: Option<Name>,
    /// Kind.
    pub kind: Option<PartnerKind>,
    /// Date of the agreement.
    pub agreement_date: Patch<Day>,
    /// Notes.
    pub notes: Patch<LongNote>,
}

const WHAT: Kind = Kind::Partner;

/// Records a partner.
pub async fn create(db: &impl ConnectionTrait, n: NewPartner) -> AppResult<partner::Model> {
    let now = Utc::now();
    let m = partner::ActiveModel {
        name: Set(n.name.into()),
        kind: Set(n.kind),
        agreement_date: Set(n.agreement_date.map(Day::date)),
        notes: Set(opt_string(n.notes)),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    insert_one(db, Kind::Partner, m).await
}

/// A page of partners, newest first; `q` searches the name.
pub async fn list(
    db: &impl ConnectionTrait,
    q: Option<&str>,
    kind: Option<PartnerKind>,
    paging: Paging,
) -> AppResult<Page<partner::Model>> {
    let mut s = partner::Entity::find();
    if let Some(q) = search_text(q) {
        s = s.filter(name_contains(db.get_database_backend(), partner::Column::Name, q));
    }
    if let Some(k) = kind {
        s = s.filter(partner::Column::Kind.eq(k));
    }
    paging.rows(db, s, Order(&[(partner::Column::Id, Dir::Desc)])).await
}

/// A partner by id.
pub async fn get(db: &impl ConnectionTrait, id: i64) -> AppResult<partner::Model> {
    find::<partner::Entity, _>(db, id, WHAT).await
}

/// Changes a partner.
pub async fn update(db: &impl ConnectionTrait, id: i64, c: PartnerChanges) -> AppResult<partner::Model> {
    let mut m = partner::ActiveModel::default();
    set_some(&mut m.name, c.name);
    set_some(&mut m.kind, c.kind);
    c.agreement_date.apply(&mut m.agreement_date);
    c.notes.apply(&mut m.notes);
    update_versioned::<partner::Entity, _>(db, id, WHAT, c.version, m).await
}

/// Deletes a partner; projects that came through it lose the reference (not their source kind).
pub async fn delete(db: &impl Db, id: i64, version: i32) -> AppResult<()> {
    let txn = crate::service::begin(db).await?;
    delete_versioned::<partner::Entity, _>(&txn, id, WHAT, version).await?;
    forget_source(&txn, project::Column::SourcePartnerId, id).await?;
    txn.commit().await?;
    Ok(())
}

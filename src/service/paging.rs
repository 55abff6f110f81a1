//! Pages of a list: numbered with their count, or after a keyset cursor; narrowed through an index where that pays.

use sea_orm::{
    ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select,
    sea_query::{Alias, Expr, ExprTrait, SimpleExpr},
};

use super::{AppError, AppResult};

/// A page of records, the count of all that match when it was asked for, and the cursor of the page after it.
pub struct Page<T> {
    /// The records of this page.
    pub items: Vec<T>,
    /// The number of records matching the filters, over all pages; `None` on a cursor page, which does not count.
    pub total: Option<u64>,
    /// The page number, from 1 (1 on a cursor page).
    pub page: u64,
    /// Records per page.
    pub per_page: u64,
    /// Where the next page starts ([`Paging::after`]); `None` on the last page.
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// The same page with each record turned into another value.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            page: self.page,
            per_page: self.per_page,
            next: self.next,
        }
    }
}

/// Which way a key of a list's order runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// The order of a list: key columns, each ascending or descending, the last of them the id, so that every record has
/// one place. A cursor holds the keys of a page's last record; the next page is what comes after them in this order,
/// whatever was inserted or deleted meanwhile. The key columns hold no nulls (the databases order nulls differently).
pub struct Order<C: 'static>(pub &'static [(C, Dir)]);

impl<C: sea_orm::ColumnTrait> Order<C> {
    /// `select` in this order.
    fn apply<E: EntityTrait<Column = C>>(&self, mut select: Select<E>) -> Select<E> {
        for (c, d) in self.0 {
            select = match d {
                Dir::Asc => select.order_by_asc(*c),
                Dir::Desc => select.order_by_desc(*c),
            };
        }
        select
    }

    /// The cursor of `m`: its keys, as JSON in URL-safe base64.
    fn cursor<M: sea_orm::ModelTrait>(&self, m: &M) -> String
    where
        M::Entity: EntityTrait<Column = C>,
    {
        use base64::Engine;
        let keys: Vec<serde_json::Value> = self.0.iter().map(|(c, _)| key_json(m.get(*c))).collect();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::Value::from(keys).to_string())
    }

    /// The records after the cursor's keys in this order: `(k1, k2) < (v1, v2)` when every key runs the same way
    /// (one index range on both databases), else the expanded form `k1 < v1 OR (k1 = v1 AND k2 > v2)`.
    fn after(&self, keys: &[serde_json::Value]) -> AppResult<SimpleExpr> {
        let not_ours = || AppError::invalid("after", "not a cursor of this list", "不是本列表的翻页位置");
        if keys.len() != self.0.len() {
            return Err(not_ours());
        }
        let values = self
            .0
            .iter()
            .zip(keys)
            .map(|((c, _), k)| key_value(c.def().get_column_type(), k).ok_or_else(not_ours))
            .collect::<AppResult<Vec<sea_orm::Value>>>()?;
        let col = |c: &C| Expr::col((c.entity_name(), *c));
        let beyond = |d: Dir, l: SimpleExpr, r: SimpleExpr| match d {
            Dir::Asc => l.gt(r),
            Dir::Desc => l.lt(r),
        };
        let dir = self.0[0].1;
        if self.0.iter().all(|(_, d)| *d == dir) {
            return Ok(beyond(
                dir,
                Expr::tuple(self.0.iter().map(|(c, _)| col(c))),
                Expr::tuple(values.into_iter().map(Expr::val)),
            ));
        }
        let mut any = sea_orm::Condition::any();
        for (i, ((c, d), v)) in self.0.iter().zip(&values).enumerate() {
            let mut all = sea_orm::Condition::all();
            for ((before, _), w) in self.0[..i].iter().zip(&values) {
                all = all.add(col(before).eq(w.clone()));
            }
            any = any.add(all.add(beyond(*d, col(c), Expr::val(v.clone()))));
        }
        Ok(any.into())
    }
}

/// A key of a record as the cursor holds it (the types [`key_value`] reads back).
fn key_json(v: sea_orm::Value) -> serde_json::Value {
    use sea_orm::Value as V;
    match v {
        V::Int(Some(i)) => i.into(),
        V::BigInt(Some(i)) => i.into(),
        V::ChronoDate(Some(d)) => d.to_string().into(),
        V::String(Some(s)) => s.into(),
        _ => serde_json::Value::Null,
    }
}

/// A cursor's key as a value of its column's type; `None` for a key of another type.
fn key_value(t: &sea_orm::ColumnType, k: &serde_json::Value) -> Option<sea_orm::Value> {
    use sea_orm::ColumnType as T;
    Some(match t {
        T::Integer => i32::try_from(k.as_i64()?).ok()?.into(),
        T::BigInteger => k.as_i64()?.into(),
        T::Date => k.as_str()?.parse::<chrono::NaiveDate>().ok()?.into(),
        T::String(_) | T::Text => k.as_str()?.to_owned().into(),
        _ => return None,
    })
}

/// Which page of a list to read: page ≥ 1, 1 ≤ per_page ≤ [`Paging::MAX_PER_PAGE`], or the page after a cursor.
#[derive(Clone, Debug)]
pub struct Paging {
    page: u64,
    per_page: u64,
    /// The keys of the record the page starts after (`Some(empty)`: the first page of a walk).
    after: Option<Vec<serde_json::Value>>,
    count: bool,
}

impl Paging {
    /// The largest page size.
    pub const MAX_PER_PAGE: u64 = 200;
    /// The page size when none is asked for.
    pub const DEFAULT_PER_PAGE: u64 = 20;

    /// The page asked for, with the count of all records; defaults to the first page of 20.
    pub fn new(page: Option<u64>, per_page: Option<u64>) -> AppResult<Paging> {
        let page = page.unwrap_or(1);
        let per_page = per_page.unwrap_or(Self::DEFAULT_PER_PAGE);
        if page == 0 {
            return Err(AppError::invalid("page", "page counts from 1", "页码从 1 开始"));
        }
        if !(1..=Self::MAX_PER_PAGE).contains(&per_page) {
            return Err(AppError::invalid(
                "per_page",
                format!("per_page lies between 1 and {}", Self::MAX_PER_PAGE),
                format!("per_page 须在 1 至 {} 之间", Self::MAX_PER_PAGE),
            ));
        }
        // The offset must fit the database's 64-bit integer.
        if (page - 1).checked_mul(per_page).is_none_or(|o| o > i64::MAX as u64) {
            return Err(AppError::invalid("page", "page is too large", "页码过大"));
        }
        Ok(Paging {
            page,
            per_page,
            after: None,
            count: true,
        })
    }

    /// The page after `cursor` (a page's `next`; empty for the first page of a walk) instead of a numbered one:
    /// it costs what the first page costs at any depth, and does not count the records (that reads all of them).
    pub fn after(self, cursor: &str) -> AppResult<Paging> {
        use base64::Engine;
        if self.page != 1 {
            return Err(AppError::invalid(
                "after",
                "page or after, not both",
                "页码与翻页位置只能给一个",
            ));
        }
        let keys = if cursor.is_empty() {
            Vec::new()
        } else {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(cursor)
                .ok()
                .and_then(|b| serde_json::from_slice::<Vec<serde_json::Value>>(&b).ok())
                .filter(|k| !k.is_empty())
                .ok_or_else(|| AppError::invalid("after", "not a cursor of this list", "不是本列表的翻页位置"))?
        };
        Ok(Paging {
            after: Some(keys),
            count: false,
            ..self
        })
    }

    /// The same page, counting all records even after a cursor (the staff pages show the count on every page).
    pub fn counted(self) -> Paging {
        Paging { count: true, ..self }
    }

    /// The same page without counting the records (the caller counts them another way).
    pub fn uncounted(self) -> Paging {
        Paging { count: false, ..self }
    }

    /// Whether this page counts the records the filters match.
    pub fn counts(&self) -> bool {
        self.count
    }

    /// Runs `select` in `order` for this page in the database and turns the rows into views with `map`.
    pub async fn fetch<E, T, C>(
        self,
        db: &C,
        select: Select<E>,
        order: Order<E::Column>,
        map: impl AsyncFnOnce(Vec<E::Model>) -> AppResult<Vec<T>>,
    ) -> AppResult<Page<T>>
    where
        E: EntityTrait,
        E::Model: Send + Sync,
        C: ConnectionTrait,
    {
        let total = match self.count {
            true => Some(select.clone().count(db).await?),
            false => None,
        };
        let select = order.apply(select);
        let select = match &self.after {
            Some(keys) if !keys.is_empty() => select.filter(order.after(keys)?),
            Some(_) => select,
            None => select.offset((self.page - 1) * self.per_page),
        };
        // One record more than the page tells whether another page follows.
        let mut rows = select.limit(self.per_page + 1).all(db).await?;
        let more = rows.len() as u64 > self.per_page;
        rows.truncate(self.per_page as usize);
        let next = rows.last().filter(|_| more).map(|m| order.cursor(m));
        Ok(Page {
            items: map(rows).await?,
            total,
            page: self.page,
            per_page: self.per_page,
            next,
        })
    }

    /// Runs `select` in `order` for this page and answers the rows as they are.
    pub async fn rows<E, C>(self, db: &C, select: Select<E>, order: Order<E::Column>) -> AppResult<Page<E::Model>>
    where
        E: EntityTrait,
        E::Model: Send + Sync,
        C: ConnectionTrait,
    {
        self.fetch(db, select, order, async |rows| Ok(rows)).await
    }
}

/// The next `limit` records of `select` after the id `after`, in id order: how exports read everything, a chunk at
/// a time, without an offset that grows.
pub async fn after<E, C>(db: &C, select: Select<E>, after: i64, limit: u64) -> AppResult<Vec<E::Model>>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    Ok(select
        .filter(Expr::col(Alias::new("id")).gt(after))
        .order_by_asc(Expr::col(Alias::new("id")))
        .limit(limit)
        .all(db)
        .await?)
}

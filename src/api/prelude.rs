//! What the endpoints of every resource use: the poem-openapi parts, the shared types and helpers of `api`, the
//! audited write transaction, and the service's result and permission types.

pub(super) use chrono::{DateTime, NaiveDate, Utc};
pub(super) use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
    types::MaybeUndefined,
};
pub(super) use sea_orm::DatabaseConnection;

pub(super) use super::{ApiTags, Created, Deleted, Page, PageNo, PerPage, auth::Auth, body::JsonBody, paging, patch};
pub(super) use crate::{
    edge::audit::WriteTx,
    service::{AppResult, Need, input::Text},
};

//! The JSON request body of every write: poem-openapi's `Json`, but strict about JSON types.
//!
//! poem-openapi turns a number or a boolean sent for a string field into its text (`{"name": false}` would create
//! a company called "false"). [`JsonBody`] walks the parsed value against the body's own OpenAPI schema first and
//! refuses such a value with 400 naming the field, so the document and the parser agree on what is accepted.

use std::ops::Deref;

use poem::{FromRequest, Request, RequestBody};
use poem_openapi::{
    impl_apirequest_for_payload,
    payload::{ParsePayload, Payload},
    registry::{MetaSchema, MetaSchemaRef, Registry},
    types::{ParseFromJSON, Type},
};
use serde_json::Value;

use crate::service::{AppError, Msg};

/// A JSON request body whose string fields accept only JSON strings.
pub struct JsonBody<T>(pub T);

impl<T> Deref for JsonBody<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Type> Payload for JsonBody<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn check_content_type(content_type: &str) -> bool {
        <poem_openapi::payload::Json<T> as Payload>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: ParseFromJSON> ParsePayload for JsonBody<T> {
    const IS_REQUIRED: bool = T::IS_REQUIRED;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let data = Vec::<u8>::from_request(request, body).await?;
        let value = if data.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&data).map_err(|e| malformed(e.to_string()))?
        };
        let mut registry = Registry::new();
        T::register(&mut registry);
        if let Some((field, want)) = mistyped(&registry, &T::schema_ref(), &value, "") {
            return Err(AppError::BadRequest {
                code: "malformed_request",
                msg: Msg::new(
                    format!("field `{field}` must be {}", want.en()),
                    format!("字段 {field} 必须是{}", want.zh()),
                ),
                field: Some(field),
            }
            .into());
        }
        T::parse_from_json(Some(value))
            .map(JsonBody)
            .map_err(|e| malformed(e.into_message()))
    }
}

impl_apirequest_for_payload!(JsonBody<T>, T: ParseFromJSON);

/// poem-openapi's own error for a body it cannot read, so it is answered like any other malformed body.
fn malformed(reason: String) -> poem::Error {
    poem_openapi::error::ParseRequestPayloadError { reason }.into()
}

/// What a value should have been.
enum Want {
    Text,
    Date,
}

impl Want {
    fn en(&self) -> &'static str {
        match self {
            Want::Text => "a JSON string",
            Want::Date => "a date written YYYY-MM-DD",
        }
    }

    fn zh(&self) -> &'static str {
        match self {
            Want::Text => "字符串",
            Want::Date => "YYYY-MM-DD 格式的日期",
        }
    }
}

/// The path of the first value whose JSON type the schema does not allow: a number or boolean where it says
/// string, or a date not written in full (`2024-5-1`, which chrono would read as 1 May).
fn mistyped(registry: &Registry, schema: &MetaSchemaRef, value: &Value, at: &str) -> Option<(String, Want)> {
    let schema: &MetaSchema = match schema {
        MetaSchemaRef::Inline(s) => s,
        MetaSchemaRef::Reference(name) => registry.schemas.get(name)?,
    };
    if let Some(found) = schema.all_of.iter().find_map(|s| mistyped(registry, s, value, at)) {
        return Some(found);
    }
    match (schema.ty, value) {
        // A decimal (money) parses numbers itself, exactly; only text would turn them into words.
        ("string", Value::Number(_) | Value::Bool(_)) if schema.format != Some("decimal") => {
            Some((at.to_owned(), Want::Text))
        }
        ("string", Value::String(s)) if matches!(schema.format, Some("date" | "naive-date")) && !full_date(s) => {
            Some((at.to_owned(), Want::Date))
        }
        ("array", Value::Array(items)) => {
            let item = schema.items.as_deref()?;
            items
                .iter()
                .enumerate()
                .find_map(|(i, v)| mistyped(registry, item, v, &format!("{at}[{i}]")))
        }
        ("object", Value::Object(fields)) => schema.properties.iter().find_map(|(name, s)| {
            let inner = if at.is_empty() {
                (*name).to_owned()
            } else {
                format!("{at}.{name}")
            };
            fields.get(*name).and_then(|v| mistyped(registry, s, v, &inner))
        }),
        _ => None,
    }
}

/// `YYYY-MM-DD` with every digit written; whether it is a real day is left to the parser.
fn full_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

//! The JSON request body of every write: poem-openapi's `Json`, but strict about JSON types.
//!
//! poem-openapi turns a number or a boolean sent for a string field into its text (`{"name": false}` would create
//! a company called "false"). [`JsonBody`] walks the parsed value against the body's own OpenAPI schema first and
//! refuses such a value with 400 naming the field, so the document and the parser agree on what is accepted; the
//! lengths and ranges the schema states are answered there too, with the service's own `invalid_value`.

use std::{borrow::Cow, ops::Deref};

use poem::{FromRequest, Request, RequestBody};
use poem_openapi::{
    impl_apirequest_for_payload,
    payload::{ParsePayload, Payload},
    registry::{MetaSchema, MetaSchemaRef, Registry},
    types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type},
};
use rust_decimal::Decimal;
use serde_json::Value;

use crate::service::{AppError, Code, Msg, input};

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
        let mut value = if data.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&data).map_err(|e| malformed(e.to_string()))?
        };
        let mut registry = Registry::new();
        T::register(&mut registry);
        blank_is_absent(&registry, &T::schema_ref(), &mut value);
        if let Some(e) = refused(&registry, &T::schema_ref(), &value, "") {
            return Err(e.into());
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

/// A text field that need not be given, sent as spaces only, counts as not given (null: an optional field stays
/// empty, a change keeps the field), as a blank form field does. An empty string is still refused by the schema
/// (`minLength: 1`).
fn blank_is_absent(registry: &Registry, schema: &MetaSchemaRef, value: &mut Value) {
    let schema: &MetaSchema = match schema {
        MetaSchemaRef::Inline(s) => s,
        MetaSchemaRef::Reference(name) => match registry.schemas.get(name) {
            Some(s) => s,
            None => return,
        },
    };
    let Value::Object(fields) = value else { return };
    for (name, s) in &schema.properties {
        let Some(v) = fields.get_mut(*name) else { continue };
        let text = |s: &MetaSchemaRef| match s {
            MetaSchemaRef::Inline(s) => s.ty == "string" && s.min_length == Some(1) && s.max_length.is_some(),
            MetaSchemaRef::Reference(_) => false,
        };
        let blank = v.as_str().is_some_and(|t| !t.is_empty() && t.trim().is_empty());
        if blank && !schema.required.contains(name) && text(s) {
            *v = Value::Null;
        } else {
            blank_is_absent(registry, s, v);
        }
    }
}

/// The first value the body's schema does not allow, as the error the service would answer for it: a number or
/// boolean where the schema says string, a date not written in full (`2024-5-1`, which chrono would read as
/// 1 May), a text longer or shorter than its stated length, a number outside its stated range.
fn refused(registry: &Registry, schema: &MetaSchemaRef, value: &Value, at: &str) -> Option<AppError> {
    let schema: &MetaSchema = match schema {
        MetaSchemaRef::Inline(s) => s,
        MetaSchemaRef::Reference(name) => registry.schemas.get(name)?,
    };
    if let Some(found) = schema.all_of.iter().find_map(|s| refused(registry, s, value, at)) {
        return Some(found);
    }
    if !value.is_null()
        && let Some(found) = super::types::domain_error(schema, value, at)
    {
        return Some(found);
    }
    let mistyped = |en: &str, zh: &str| AppError::BadRequest {
        code: Code::MalformedRequest,
        msg: Msg::new(format!("field `{at}` must be {en}"), format!("字段 {at} 必须是{zh}")),
        field: Some(at.to_owned()),
    };
    match (schema.ty, value) {
        ("string", Value::Number(_) | Value::Bool(_)) => Some(mistyped("a JSON string", "字符串")),
        ("string", Value::String(s)) if matches!(schema.format, Some("date" | "naive-date")) && !full_date(s) => {
            Some(mistyped("a date written YYYY-MM-DD", "YYYY-MM-DD 格式的日期"))
        }
        // A `Text<N>`: trimmed, not blank, no control character, at most N characters.
        ("string", Value::String(s)) if schema.min_length == Some(1) && schema.max_length.is_some() => {
            input::text(at, s, schema.max_length.unwrap_or_default()).err()
        }
        ("string", Value::String(s)) => {
            let n = s.chars().count();
            if let Some(max) = schema.max_length.filter(|max| n > *max) {
                return Some(AppError::invalid(
                    at,
                    format!("{at} is longer than {max} characters"),
                    format!("{at} 超过 {max} 个字符"),
                ));
            }
            schema.min_length.filter(|min| n < *min).map(|min| {
                AppError::invalid(
                    at,
                    format!("{at} must have at least {min} characters"),
                    format!("{at} 至少需要 {min} 个字符"),
                )
            })
        }
        ("integer" | "number", Value::Number(x)) => {
            let x = x.as_f64()?;
            let below = schema.minimum.is_some_and(|min| x < min);
            let above = schema.maximum.is_some_and(|max| x > max);
            (below || above).then(|| {
                let bound = |b: Option<f64>| b.map_or_else(|| "…".to_owned(), |b| b.to_string());
                let (min, max) = (bound(schema.minimum), bound(schema.maximum));
                AppError::invalid(
                    at,
                    format!("{at} must lie between {min} and {max}"),
                    format!("{at} 须在 {min} 至 {max} 之间"),
                )
            })
        }
        ("array", Value::Array(items)) => {
            let item = schema.items.as_deref()?;
            items
                .iter()
                .enumerate()
                .find_map(|(i, v)| refused(registry, item, v, &format!("{at}[{i}]")))
        }
        ("object", Value::Object(fields)) => schema.properties.iter().find_map(|(name, s)| {
            let inner = if at.is_empty() {
                (*name).to_owned()
            } else {
                format!("{at}.{name}")
            };
            fields.get(*name).and_then(|v| refused(registry, s, v, &inner))
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

/// A decimal in a request body (an amount in 万元, a target's value): a decimal string such as `"12000.5"`, or a
/// JSON number. The schema says both, since both are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecimalIn(pub Decimal);

impl Type for DecimalIn {
    const IS_REQUIRED: bool = true;
    type RawValueType = Decimal;
    type RawElementValueType = Decimal;

    fn name() -> Cow<'static, str> {
        "decimal_in".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            any_of: vec![
                MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "decimal"))),
                MetaSchemaRef::Inline(Box::new(MetaSchema::new("number"))),
            ],
            ..MetaSchema::ANY
        }))
    }

    fn as_raw_value(&self) -> Option<&Decimal> {
        Some(&self.0)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Decimal> + 'a> {
        Box::new(std::iter::once(&self.0))
    }
}

impl ParseFromJSON for DecimalIn {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        Decimal::parse_from_json(value)
            .map(DecimalIn)
            .map_err(ParseError::propagate)
    }
}

impl ToJSON for DecimalIn {
    fn to_json(&self) -> Option<Value> {
        self.0.to_json()
    }
}

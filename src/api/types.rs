//! The service's input types as poem-openapi types: a request field holds a `Text<N>` (`Name`, `Short`, `Place`,
//! `Note` …), a `Day` or a `Money`, its schema states the type's limits, and the body's check ([`super::body`])
//! answers a bad value with the type's own error, naming the field. A handler receives values already parsed.

use std::borrow::Cow;

use chrono::NaiveDate;
use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type},
};
use rust_decimal::Decimal;
use serde_json::Value;

use crate::service::{
    AppError, AppResult, Code,
    accounts::{Password, Username},
    input::{Amount, CreditCode, Day, Email, Money, Patch, Phone, Text},
};

/// A value type of the service at the edge: the schema of every field of the type, and its parse with the field
/// named in errors (the same parse the web forms and the ledger import use).
pub trait Edge: Sized + Send + Sync {
    /// The schema every field of this type has.
    fn schema() -> MetaSchema;
    /// The value of field `field` as JSON sent it.
    fn parse_json(field: &str, v: &Value) -> AppResult<Self>;
    /// The value as JSON.
    fn json(&self) -> Value;
}

impl<const MAX: usize> Edge for Text<MAX> {
    fn schema() -> MetaSchema {
        MetaSchema {
            min_length: Some(1),
            max_length: Some(MAX),
            ..MetaSchema::new("string")
        }
    }

    fn parse_json(field: &str, v: &Value) -> AppResult<Self> {
        Text::parse(field, v.as_str().ok_or_else(|| mistyped(field))?)
    }

    fn json(&self) -> Value {
        Value::String(self.as_str().to_owned())
    }
}

impl Edge for Day {
    fn schema() -> MetaSchema {
        MetaSchema::new_with_format("string", "date")
    }

    fn parse_json(field: &str, v: &Value) -> AppResult<Self> {
        let d = v
            .as_str()
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
            .ok_or_else(|| mistyped(field))?;
        Day::parse(field, d)
    }

    fn json(&self) -> Value {
        Value::String(self.date().to_string())
    }
}

impl Edge for Money {
    /// A decimal string in 万元 (`"12000.5"`) or a JSON number, 0 to 一万亿元 in whole yuan.
    fn schema() -> MetaSchema {
        MetaSchema {
            any_of: vec![
                MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "decimal"))),
                MetaSchemaRef::Inline(Box::new(MetaSchema::new("number"))),
            ],
            minimum: Some(0.0),
            maximum: Some(Money::MAX_WAN as f64),
            ..MetaSchema::ANY
        }
    }

    fn parse_json(field: &str, v: &Value) -> AppResult<Self> {
        Money::from_wan(field, wan_of(v).ok_or_else(|| mistyped(field))?)
    }

    fn json(&self) -> Value {
        Value::String(self.as_wan().to_string())
    }
}

impl Edge for Amount {
    /// As [`Money`], and greater than zero.
    fn schema() -> MetaSchema {
        MetaSchema {
            exclusive_minimum: Some(true),
            ..Money::schema()
        }
    }

    fn parse_json(field: &str, v: &Value) -> AppResult<Self> {
        Amount::from_wan(field, wan_of(v).ok_or_else(|| mistyped(field))?)
    }

    fn json(&self) -> Value {
        self.money().json()
    }
}

/// A text checked by its own rules (an address, a number, a name for signing in): its format and lengths in the
/// schema, its type's parse.
macro_rules! checked_text {
    ($($ty:ident: $format:literal, $min:literal..=$max:literal;)+) => {$(
        impl Edge for $ty {
            fn schema() -> MetaSchema {
                MetaSchema {
                    min_length: Some($min),
                    max_length: Some($max),
                    ..MetaSchema::new_with_format("string", $format)
                }
            }

            fn parse_json(field: &str, v: &Value) -> AppResult<Self> {
                $ty::parse(field, v.as_str().ok_or_else(|| mistyped(field))?)
            }

            fn json(&self) -> Value {
                Value::String(self.as_str().to_owned())
            }
        }
    )+};
}

checked_text! {
    CreditCode: "credit-code", 18..=18;
    Email: "email", 1..=254;
    Phone: "phone", 1..=30;
    Username: "username", 1..=64;
}

impl Edge for Password {
    fn schema() -> MetaSchema {
        MetaSchema {
            min_length: Some(12),
            max_length: Some(256),
            ..MetaSchema::new_with_format("string", "password")
        }
    }

    fn parse_json(field: &str, v: &Value) -> AppResult<Self> {
        Password::parse(field, v.as_str().ok_or_else(|| mistyped(field))?)
    }

    /// Never written back.
    fn json(&self) -> Value {
        Value::Null
    }
}

/// A change to a field as JSON states it: left out keeps it, `null` clears it, a value sets it.
impl<T> From<poem_openapi::types::MaybeUndefined<T>> for Patch<T> {
    fn from(v: poem_openapi::types::MaybeUndefined<T>) -> Patch<T> {
        match v {
            poem_openapi::types::MaybeUndefined::Undefined => Patch::Keep,
            poem_openapi::types::MaybeUndefined::Null => Patch::Clear,
            poem_openapi::types::MaybeUndefined::Value(x) => Patch::Set(x),
        }
    }
}

/// An amount in 万元 as JSON sends it: a decimal string or a number.
fn wan_of(v: &Value) -> Option<Decimal> {
    match v {
        Value::String(s) => s.trim().parse::<Decimal>().ok(),
        Value::Number(n) => n.to_string().parse::<Decimal>().ok(),
        _ => None,
    }
}

/// A value of the wrong JSON type, or text that is no value of the type.
fn mistyped(field: &str) -> AppError {
    AppError::BadRequest {
        code: Code::MalformedRequest,
        msg: crate::service::Msg::new(
            format!("field `{field}` is not a value of its type"),
            format!("字段 {field} 的值格式不正确"),
        ),
        field: Some(field.to_owned()),
    }
}

/// The error a leaf of a request body gets from the service type its schema belongs to, if it is one whose checks
/// the schema cannot state (a reported date's range, an amount's precision); none when it parses.
pub(super) fn domain_error(schema: &MetaSchema, v: &Value, field: &str) -> Option<AppError> {
    /// A type whose checks go beyond what its schema states: its schema and its parse.
    type Checked = (fn() -> MetaSchema, fn(&str, &Value) -> Option<AppError>);
    const CHECKED: [Checked; 8] = [
        (CreditCode::schema, refusal::<CreditCode>),
        (Day::schema, refusal::<Day>),
        (Money::schema, refusal::<Money>),
        (Amount::schema, refusal::<Amount>),
        (Email::schema, refusal::<Email>),
        (Phone::schema, refusal::<Phone>),
        (Username::schema, refusal::<Username>),
        (Password::schema, refusal::<Password>),
    ];
    let key = |t: &MetaSchema| {
        let bounds = (t.minimum, t.exclusive_minimum, t.maximum, t.min_length, t.max_length);
        (t.ty, t.format, t.any_of.clone(), bounds)
    };
    let (_, refused) = CHECKED.iter().find(|(schema_of, _)| key(&schema_of()) == key(schema))?;
    refused(field, v)
}

/// Why `v` is no value of `T` for field `field`, if it is not.
fn refusal<T: Edge>(field: &str, v: &Value) -> Option<AppError> {
    T::parse_json(field, v).err()
}

/// poem-openapi's traits for every service type at the edge, from its [`Edge`] impl.
macro_rules! at_the_edge {
    ($([$($generics:tt)*] $ty:ty),+ $(,)?) => {$(
        impl<$($generics)*> Type for $ty {
            const IS_REQUIRED: bool = true;
            type RawValueType = Self;
            type RawElementValueType = Self;

            fn name() -> Cow<'static, str> {
                let s = <Self as Edge>::schema();
                format!("{}({})", s.ty, s.format.unwrap_or_default()).into()
            }

            fn schema_ref() -> MetaSchemaRef {
                MetaSchemaRef::Inline(Box::new(<Self as Edge>::schema()))
            }

            fn as_raw_value(&self) -> Option<&Self> {
                Some(self)
            }

            fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
                Box::new(std::iter::once(self))
            }
        }

        impl<$($generics)*> ParseFromJSON for $ty {
            fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
                let v = value.unwrap_or_default();
                <Self as Edge>::parse_json("value", &v).map_err(|e| ParseError::custom(e.to_string()))
            }
        }

        impl<$($generics)*> ParseFromParameter for $ty {
            fn parse_from_parameter(value: &str) -> ParseResult<Self> {
                <Self as Edge>::parse_json("value", &Value::String(value.to_owned()))
                    .map_err(|e| ParseError::custom(e.to_string()))
            }
        }

        impl<$($generics)*> ToJSON for $ty {
            fn to_json(&self) -> Option<Value> {
                Some(<Self as Edge>::json(self))
            }
        }
    )+};
}

at_the_edge!([const MAX: usize] Text<MAX>, [] Day, [] Money, [] Amount, [] CreditCode, [] Email, [] Phone, [] Username, [] Password);

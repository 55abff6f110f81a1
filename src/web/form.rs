//! Reading HTML form fields: every field arrives as text; these turn them into the service's inputs, with an error
//! naming the field (shown beside it) when the text is not what the field takes.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::service::{
    AppError, AppResult, Code,
    input::{Amount, CreditCode, Day, Money, Text},
};

/// A value a form field is read into: the service's own types, through their own parse, so a form takes what the
/// API takes and says what is wrong in the same words, beside the field.
pub trait FromField: Sized {
    /// The value of field `field` from its text (trimmed, not blank).
    fn from_field(field: &str, text: &str) -> AppResult<Self>;
}

impl<const MAX: usize> FromField for Text<MAX> {
    fn from_field(field: &str, text: &str) -> AppResult<Self> {
        Text::parse(field, text)
    }
}

impl FromField for CreditCode {
    fn from_field(field: &str, text: &str) -> AppResult<Self> {
        CreditCode::parse(field, text)
    }
}

impl FromField for Day {
    fn from_field(field: &str, text: &str) -> AppResult<Self> {
        Day::parse(field, day_of(field, text)?)
    }
}

impl FromField for Money {
    /// An amount in 万元; thousands separators are allowed.
    fn from_field(field: &str, text: &str) -> AppResult<Self> {
        Money::from_wan(field, decimal_of(field, text)?)
    }
}

impl FromField for Amount {
    /// An amount in 万元 greater than zero; thousands separators are allowed.
    fn from_field(field: &str, text: &str) -> AppResult<Self> {
        Amount::from_wan(field, decimal_of(field, text)?)
    }
}

/// An optional field: blank is none.
pub fn field<T: FromField>(name: &str, v: &Option<String>) -> AppResult<Option<T>> {
    opt(v).map(|s| T::from_field(name, s)).transpose()
}

/// A required field: blank is refused as the type refuses an empty value.
pub fn required<T: FromField>(name: &str, v: &Option<String>) -> AppResult<T> {
    T::from_field(name, opt(v).unwrap_or_default())
}

/// A text field: trimmed; empty is none.
pub fn opt(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// An optional date written `YYYY-MM-DD` (what a date input sends).
pub fn date(field: &str, v: &Option<String>) -> AppResult<Option<NaiveDate>> {
    opt(v).map(|s| day_of(field, s)).transpose()
}

fn day_of(field: &str, s: &str) -> AppResult<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
        AppError::invalid(
            field,
            format!("{field} must be a date (YYYY-MM-DD)"),
            "请填写日期(年-月-日)",
        )
    })
}

/// A required date.
pub fn required_date(field: &str, v: &Option<String>) -> AppResult<NaiveDate> {
    date(field, v)?.ok_or_else(|| AppError::invalid(field, format!("{field} is required"), "请填写日期"))
}

/// An optional decimal number (an amount in 万元, land in 亩); thousands separators are allowed.
pub fn decimal(field: &str, v: &Option<String>) -> AppResult<Option<Decimal>> {
    opt(v).map(|s| decimal_of(field, s)).transpose()
}

fn decimal_of(field: &str, s: &str) -> AppResult<Decimal> {
    s.replace([',', ','], "")
        .parse::<Decimal>()
        .map_err(|_| AppError::invalid(field, format!("{field} must be a number"), "请填写数字"))
}

/// An optional whole number.
pub fn int(field: &str, v: &Option<String>) -> AppResult<Option<i64>> {
    opt(v)
        .map(|s| {
            s.parse::<i64>()
                .map_err(|_| AppError::invalid(field, format!("{field} must be a whole number"), "请填写整数"))
        })
        .transpose()
}

/// A checkbox: sent (any value) is true.
pub fn checked(v: &Option<String>) -> bool {
    opt(v).is_some()
}

/// Names separated by commas, 、, semicolons or spaces, each a short text.
pub fn names(field: &str, v: &Option<String>) -> AppResult<Option<Vec<String>>> {
    let Some(v) = opt(v) else { return Ok(None) };
    v.split([',', ',', '、', ' ', ';', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| crate::service::input::Short::parse(field, s).map(String::from))
        .collect::<AppResult<Vec<_>>>()
        .map(Some)
}

/// A form whose fields may repeat (`company_ids=1&company_ids=2`, one per chip), which poem's `Form` cannot read.
pub fn repeated<T: serde::de::DeserializeOwned>(body: &str) -> AppResult<T> {
    serde_html_form::from_str(body).map_err(|e| AppError::BadRequest {
        code: Code::MalformedRequest,
        msg: crate::service::Msg::new(e.to_string(), "表单内容无法识别"),
        field: None,
    })
}

/// A form as posted: its fields as URL-encoded text (what [`repeated`] reads), and the files of its file input
/// `file_field` when it was sent as `multipart/form-data` (staged in the store as they streamed in).
pub struct Posted {
    /// The fields, URL-encoded.
    pub text: String,
    /// The files.
    pub upload: crate::service::attachments::Upload,
}

/// Reads a posted form, URL-encoded or multipart (a form with a file input).
pub async fn posted(
    req: &poem::Request,
    body: poem::Body,
    store: &crate::files::FileStore,
    file_field: &str,
) -> AppResult<Posted> {
    if !crate::edge::upload::streams(req) {
        let text = body.into_string().await.map_err(|e| AppError::BadRequest {
            code: Code::MalformedRequest,
            msg: crate::service::Msg::new(e.to_string(), "表单内容无法识别"),
            field: None,
        })?;
        return Ok(Posted {
            text,
            upload: Default::default(),
        });
    }
    let mut body = poem::RequestBody::new(body);
    let parts = <poem::web::Multipart as poem::FromRequest>::from_request(req, &mut body)
        .await
        .map_err(|e| AppError::BadRequest {
            code: Code::MalformedRequest,
            msg: crate::service::Msg::new(e.to_string(), "表单内容无法识别"),
            field: None,
        })?;
    let got = crate::edge::upload::receive(parts, store, &[file_field]).await?;
    let text = serde_urlencoded::to_string(&got.fields).unwrap_or_default();
    Ok(Posted {
        text,
        upload: got.upload,
    })
}

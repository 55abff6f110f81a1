//! Checks of client input that poem-openapi's schema cannot express; each failure names its field.

use chrono::{Months, NaiveDate, Utc};
use rust_decimal::Decimal;

use crate::error::{AppError, AppResult};

/// The zone in which people report dates (DESIGN §2).
pub const LOCAL_TZ: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

/// Today in Asia/Shanghai.
pub fn today() -> NaiveDate {
    Utc::now().with_timezone(&LOCAL_TZ).date_naive()
}

/// A required text: trimmed, not empty, at most `max` characters.
pub fn text(field: &str, value: &str, max: usize) -> AppResult<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(AppError::invalid(
            field,
            format!("{field} must not be empty"),
            format!("{field} 不能为空"),
        ));
    }
    limit(field, v, max)?;
    Ok(v.to_owned())
}

/// An optional text: trimmed, empty means none, at most `max` characters.
pub fn opt_text(field: &str, value: Option<&str>, max: usize) -> AppResult<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => {
            limit(field, v, max)?;
            Ok(Some(v.to_owned()))
        }
    }
}

fn limit(field: &str, v: &str, max: usize) -> AppResult<()> {
    if v.chars().count() > max {
        return Err(AppError::invalid(
            field,
            format!("{field} is longer than {max} characters"),
            format!("{field} 超过 {max} 个字符"),
        ));
    }
    Ok(())
}

/// A date a person reports: not before 1990 and not more than a year ahead of today.
pub fn date(field: &str, d: NaiveDate) -> AppResult<NaiveDate> {
    let earliest = NaiveDate::from_ymd_opt(1990, 1, 1).expect("valid date");
    let latest = today() + Months::new(12);
    if d < earliest || d > latest {
        return Err(AppError::invalid(
            field,
            format!("{field} must lie between 1990-01-01 and {latest}"),
            format!("{field} 须在 1990-01-01 至 {latest} 之间"),
        ));
    }
    Ok(d)
}

/// An optional reported date.
pub fn opt_date(field: &str, d: Option<NaiveDate>) -> AppResult<Option<NaiveDate>> {
    d.map(|d| date(field, d)).transpose()
}

/// The largest amount accepted, in 万元 (一万亿元).
const MAX_WAN: i64 = 100_000_000;

/// An amount in 万元 (at most 4 decimals, i.e. whole yuan), as whole yuan. `positive` rejects zero.
pub fn wan_to_yuan(field: &str, wan: Decimal, positive: bool) -> AppResult<i64> {
    let bad = |en: String, zh: String| Err(AppError::invalid(field, en, zh));
    if wan.is_sign_negative() && !wan.is_zero() {
        return bad(format!("{field} must not be negative"), format!("{field} 不能为负数"));
    }
    if positive && wan.is_zero() {
        return bad(format!("{field} must be greater than 0"), format!("{field} 必须大于 0"));
    }
    if wan > Decimal::from(MAX_WAN) {
        return bad(
            format!("{field} exceeds {MAX_WAN} (万元)"),
            format!("{field} 超过上限 {MAX_WAN} 万元"),
        );
    }
    let yuan = wan * Decimal::from(10_000);
    if !yuan.fract().is_zero() {
        return bad(
            format!("{field} is in 万元 with at most 4 decimals (whole yuan)"),
            format!("{field} 以万元计,最多 4 位小数(精确到元)"),
        );
    }
    i64::try_from(yuan.trunc()).or_else(|_| bad(format!("{field} is out of range"), format!("{field} 超出范围")))
}

/// Whole yuan as 万元, exactly.
pub fn yuan_to_wan(yuan: i64) -> Decimal {
    (Decimal::from(yuan) / Decimal::from(10_000)).normalize()
}

/// An optional non-negative quantity (land in 亩).
pub fn non_negative(field: &str, v: Option<f64>) -> AppResult<Option<f64>> {
    match v {
        Some(x) if !x.is_finite() || x < 0.0 => Err(AppError::invalid(
            field,
            format!("{field} must be a non-negative number"),
            format!("{field} 必须为非负数"),
        )),
        _ => Ok(v),
    }
}

/// 统一社会信用代码 (GB 32100-2015): 18 characters from the code's alphabet, the last a checksum of the others.
pub fn credit_code(field: &str, code: &str) -> AppResult<String> {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const WEIGHTS: [usize; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
    let code = code.trim().to_ascii_uppercase();
    let values: Option<Vec<usize>> = code.bytes().map(|b| ALPHABET.iter().position(|a| *a == b)).collect();
    let valid = match values {
        Some(v) if v.len() == 18 => {
            let sum: usize = v.iter().zip(WEIGHTS).map(|(c, w)| c * w).sum();
            (31 - sum % 31) % 31 == v[17]
        }
        _ => false,
    };
    if !valid {
        return Err(AppError::invalid(
            field,
            "not a valid unified social credit code (18 characters with a correct check digit)",
            "统一社会信用代码无效(应为18位且校验位正确)",
        ));
    }
    Ok(code)
}

/// An e-mail address, checked by RFC 5322 syntax.
pub fn email(field: &str, v: Option<&str>) -> AppResult<Option<String>> {
    let v = opt_text(field, v, 254)?;
    if let Some(e) = &v
        && !email_address::EmailAddress::is_valid(e)
    {
        return Err(AppError::invalid(
            field,
            "not a valid e-mail address",
            "电子邮箱格式无效",
        ));
    }
    Ok(v)
}

/// A phone number: digits with the usual separators and an optional leading +.
pub fn phone(field: &str, v: Option<&str>) -> AppResult<Option<String>> {
    let v = opt_text(field, v, 30)?;
    if let Some(p) = &v {
        let digits = p.chars().filter(char::is_ascii_digit).count();
        let allowed = p
            .chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')') || (i == 0 && c == '+'));
        if !allowed || !(5..=20).contains(&digits) {
            return Err(AppError::invalid(field, "not a valid phone number", "电话号码格式无效"));
        }
    }
    Ok(v)
}

/// A list of names (leaders, staff, participants): each trimmed, 1–100 characters, at most 50, empty ones dropped.
pub fn names(field: &str, v: Option<Vec<String>>) -> AppResult<Vec<String>> {
    let mut out = Vec::new();
    for n in v.unwrap_or_default() {
        if let Some(n) = opt_text(field, Some(&n), 100)? {
            out.push(n);
        }
    }
    if out.len() > 50 {
        return Err(AppError::invalid(
            field,
            format!("{field} lists more than 50 names"),
            format!("{field} 超过 50 人"),
        ));
    }
    Ok(out)
}

/// A whole number within `range`.
pub fn int_in(field: &str, v: i64, range: std::ops::RangeInclusive<i64>) -> AppResult<i64> {
    if !range.contains(&v) {
        return Err(AppError::invalid(
            field,
            format!("{field} must lie between {} and {}", range.start(), range.end()),
            format!("{field} 须在 {} 至 {} 之间", range.start(), range.end()),
        ));
    }
    Ok(v)
}

/// Checks an update's `version` against the stored one.
pub fn version(stored: i32, sent: i32) -> AppResult<()> {
    if stored != sent {
        return Err(AppError::stale(stored));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credit_codes() {
        assert!(credit_code("c", "91350100M000100Y43").is_ok());
        assert!(credit_code("c", "91350100m000100y43").is_ok());
        assert!(credit_code("c", "91350100M000100Y44").is_err());
        assert!(credit_code("c", "91350100M000100Y4").is_err());
        assert!(credit_code("c", "91350100I000100Y43").is_err());
    }

    #[test]
    fn money_is_whole_yuan() {
        assert_eq!(wan_to_yuan("a", "1.2345".parse().unwrap(), false).unwrap(), 12_345);
        assert!(wan_to_yuan("a", "1.23456".parse().unwrap(), false).is_err());
        assert!(wan_to_yuan("a", "-1".parse().unwrap(), false).is_err());
        assert!(wan_to_yuan("a", Decimal::ZERO, true).is_err());
        assert_eq!(yuan_to_wan(12_345).to_string(), "1.2345");
        assert_eq!(yuan_to_wan(98_0000_0000).to_string(), "980000");
    }
}

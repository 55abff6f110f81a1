//! Input parsed once: the types an operation of the service layer takes (texts with their length limit, money in
//! 万元 held as whole yuan, reported dates, changes that keep, clear or set a field) and the checks behind them.
//! Every failure names its field.

use chrono::{Months, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::ActiveValue::{self, Set};

use super::{AppError, AppResult, Code};

/// A trimmed, non-empty text of at most `MAX` characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text<const MAX: usize>(String);

impl<const MAX: usize> Text<MAX> {
    /// A required text of `field`.
    pub fn parse(field: &str, value: &str) -> AppResult<Self> {
        text(field, value, MAX).map(Text)
    }

    /// An optional text of `field`: absent or blank is none.
    pub fn parse_opt(field: &str, value: Option<&str>) -> AppResult<Option<Self>> {
        Ok(opt_text(field, value, MAX)?.map(Text))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize> From<Text<MAX>> for String {
    fn from(t: Text<MAX>) -> String {
        t.0
    }
}

/// A name of a record (company, project, partner …): 1–200 characters.
pub type Name = Text<200>;
/// A short text (a person's name, a title, an industry): 1–100 characters.
pub type Short = Text<100>;
/// A place (province, city): 1–50 characters.
pub type Place = Text<50>;
/// A note: 1–2000 characters.
pub type Note = Text<2000>;

/// An optional text as stored: the text or null.
pub fn opt_string<const MAX: usize>(t: Option<Text<MAX>>) -> Option<String> {
    t.map(String::from)
}

/// A change to one field of a record: keep it, clear it, or set it.
#[derive(Debug, Clone, Default)]
pub enum Patch<T> {
    /// Left as it is.
    #[default]
    Keep,
    /// Cleared (set to null).
    Clear,
    /// Set to this value.
    Set(T),
}

impl<T> Patch<T> {
    /// A change from a parsed optional value: none clears.
    pub fn from_opt(v: Option<T>) -> Self {
        v.map_or(Patch::Clear, Patch::Set)
    }

    /// The new value of the field, or `None` when it is kept.
    pub fn into_change(self) -> Option<Option<T>> {
        match self {
            Patch::Keep => None,
            Patch::Clear => Some(None),
            Patch::Set(v) => Some(Some(v)),
        }
    }

    /// The same change of another type.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Patch<U> {
        match self {
            Patch::Keep => Patch::Keep,
            Patch::Clear => Patch::Clear,
            Patch::Set(v) => Patch::Set(f(v)),
        }
    }

    /// Whether the field changes.
    pub fn changes(&self) -> bool {
        !matches!(self, Patch::Keep)
    }

    /// The field's value after the change, given its value before.
    pub fn after(self, before: Option<T>) -> Option<T> {
        self.into_change().unwrap_or(before)
    }

    /// Sets a nullable column of an active model when the field changes.
    pub fn apply<V>(self, target: &mut ActiveValue<Option<V>>)
    where
        T: Into<V>,
        Option<V>: Into<sea_orm::Value>,
    {
        if let Some(v) = self.into_change() {
            *target = Set(v.map(Into::into));
        }
    }
}

/// Sets a required column of an active model when a new value is given.
pub fn set_some<T: Into<V>, V>(target: &mut ActiveValue<V>, v: Option<T>)
where
    V: Into<sea_orm::Value>,
{
    if let Some(v) = v {
        *target = Set(v.into());
    }
}

/// An amount of money, as whole yuan; people speak 万元 (never a float for money).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money(i64);

impl Money {
    /// The largest amount accepted, in 万元 (一万亿元).
    pub const MAX_WAN: i64 = 100_000_000;

    /// An amount given in 万元: ≥ 0, at most 4 decimals (whole yuan), at most 一万亿元.
    pub fn from_wan(field: &str, wan: Decimal) -> AppResult<Money> {
        wan_to_yuan(field, wan, false).map(Money)
    }

    /// An amount given in 万元 that must be greater than zero.
    pub fn positive_wan(field: &str, wan: Decimal) -> AppResult<Money> {
        wan_to_yuan(field, wan, true).map(Money)
    }

    /// An amount already in whole yuan (from storage or generated data).
    pub fn yuan(yuan: i64) -> Money {
        Money(yuan)
    }

    /// Whole yuan.
    pub fn as_yuan(self) -> i64 {
        self.0
    }

    /// The amount in 万元, exactly.
    pub fn as_wan(self) -> Decimal {
        entity::money::wan(self.0)
    }
}

impl From<Money> for i64 {
    fn from(m: Money) -> i64 {
        m.0
    }
}

/// An amount that must be greater than zero (a fund arrival, a support fund), in 万元 as [`Money`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount(Money);

impl Amount {
    /// An amount of `field` given in 万元: > 0, whole yuan, at most 一万亿元.
    pub fn from_wan(field: &str, wan: Decimal) -> AppResult<Amount> {
        Money::positive_wan(field, wan).map(Amount)
    }

    /// The amount as money.
    pub fn money(self) -> Money {
        self.0
    }
}

/// Foreign capital in its own currency: US cents, exact, and the rate (yuan per dollar, in ten-thousandths) it is
/// counted in yuan at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dollars {
    /// US cents, > 0.
    pub cents: i64,
    /// Yuan per dollar in ten-thousandths, > 0.
    pub rate_e4: i64,
}

/// The largest dollar amount accepted, in 万美元 (一千亿美元).
const MAX_WAN_USD: i64 = 10_000_000;
/// The largest rate accepted, in yuan per dollar: far above any the yuan has had.
const MAX_RATE: i64 = 100;

impl Dollars {
    /// An amount in 万美元 (> 0, whole cents) of `usd_field` at a rate of `rate_field` (> 0, at most 4 decimals).
    pub fn parse(usd_field: &str, wan_usd: Decimal, rate_field: &str, rate: Decimal) -> AppResult<Dollars> {
        let cents = entity::money::usd_cents(wan_usd)
            .filter(|c| *c > 0 && wan_usd <= Decimal::from(MAX_WAN_USD))
            .ok_or_else(|| {
                AppError::invalid(
                    usd_field,
                    format!("{usd_field} is in 万美元, greater than 0, whole cents, at most {MAX_WAN_USD}"),
                    format!("{usd_field} 以万美元计,须大于 0、精确到美分、不超过 {MAX_WAN_USD}"),
                )
            })?;
        let rate_e4 = entity::money::rate_e4(rate)
            .filter(|r| *r > 0 && rate <= Decimal::from(MAX_RATE))
            .ok_or_else(|| {
                AppError::invalid(
                    rate_field,
                    format!("{rate_field} is yuan per US dollar, greater than 0, at most 4 decimals"),
                    format!("{rate_field} 为 1 美元折合的人民币元数,须大于 0、最多 4 位小数"),
                )
            })?;
        Ok(Dollars { cents, rate_e4 })
    }

    /// Optional dollars of the fields `amount_usd` and `usd_rate`, given together or not at all.
    pub fn parse_opt(usd: Option<Decimal>, rate: Option<Decimal>) -> AppResult<Option<Dollars>> {
        match (usd, rate) {
            (None, None) => Ok(None),
            (Some(u), Some(r)) => Dollars::parse("amount_usd", u, "usd_rate", r).map(Some),
            (u, _) => Err(AppError::invalid(
                if u.is_some() { "usd_rate" } else { "amount_usd" },
                "amount_usd and usd_rate are given together",
                "美元金额和汇率须同时填写",
            )),
        }
    }

    /// The amount in yuan at the rate, to the nearest yuan.
    pub fn as_money(self) -> Money {
        // Bounded above: 10^7 万美元 at 100 yuan is 10^16 yuan, within i64.
        Money(entity::money::yuan_of_usd(self.cents, self.rate_e4).unwrap_or(i64::MAX))
    }
}

/// A calendar date a person reports: from 1990 to a year ahead of today (Asia/Shanghai).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Day(NaiveDate);

impl Day {
    /// A reported date of `field`.
    pub fn parse(field: &str, d: NaiveDate) -> AppResult<Day> {
        date(field, d).map(Day)
    }

    /// An optional reported date of `field`.
    pub fn parse_opt(field: &str, d: Option<NaiveDate>) -> AppResult<Option<Day>> {
        d.map(|d| Day::parse(field, d)).transpose()
    }

    /// The date.
    pub fn date(self) -> NaiveDate {
        self.0
    }
}

impl From<Day> for NaiveDate {
    fn from(d: Day) -> NaiveDate {
        d.0
    }
}

/// The zone in which people report dates (docs/DEFINITIONS.md).
pub const LOCAL_TZ: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

/// Today in Asia/Shanghai.
pub fn today() -> NaiveDate {
    Utc::now().with_timezone(&LOCAL_TZ).date_naive()
}

/// A required text: trimmed, not empty, at most `max` characters (what [`Text`] takes).
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
fn opt_text(field: &str, value: Option<&str>, max: usize) -> AppResult<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => {
            limit(field, v, max)?;
            Ok(Some(v.to_owned()))
        }
    }
}

/// Refuses control characters other than tab and newline (a NUL would reach the database).
fn printable(field: &str, v: &str) -> AppResult<()> {
    if v.chars().any(|c| c.is_control() && c != '\t' && c != '\n' && c != '\r') {
        return Err(AppError::BadRequest {
            code: Code::InvalidText,
            msg: super::Msg::new(
                format!("{field} contains a control character"),
                format!("{field} 包含控制字符"),
            ),
            field: Some(field.to_owned()),
        });
    }
    Ok(())
}

fn limit(field: &str, v: &str, max: usize) -> AppResult<()> {
    printable(field, v)?;
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
fn date(field: &str, d: NaiveDate) -> AppResult<NaiveDate> {
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

/// An amount in 万元 (at most 4 decimals, i.e. whole yuan), as whole yuan. `positive` rejects zero.
fn wan_to_yuan(field: &str, wan: Decimal, positive: bool) -> AppResult<i64> {
    let bad = |en: String, zh: String| Err(AppError::invalid(field, en, zh));
    if wan.is_sign_negative() && !wan.is_zero() {
        return bad(format!("{field} must not be negative"), format!("{field} 不能为负数"));
    }
    if positive && wan.is_zero() {
        return bad(format!("{field} must be greater than 0"), format!("{field} 必须大于 0"));
    }
    if wan > Decimal::from(Money::MAX_WAN) {
        return bad(
            format!("{field} exceeds {} (万元)", Money::MAX_WAN),
            format!("{field} 超过上限 {} 万元", Money::MAX_WAN),
        );
    }
    entity::money::yuan(wan).map_or_else(
        || {
            bad(
                format!("{field} is in 万元 with at most 4 decimals (whole yuan)"),
                format!("{field} 以万元计,最多 4 位小数(精确到元)"),
            )
        },
        Ok,
    )
}

/// The largest land need accepted, in 亩 (a whole county).
const MAX_MU: f64 = 10_000_000.0;

/// An optional quantity of land in 亩: not negative, at most 一千万亩.
pub fn non_negative(field: &str, v: Option<f64>) -> AppResult<Option<f64>> {
    match v {
        Some(x) if !x.is_finite() || !(0.0..=MAX_MU).contains(&x) => Err(AppError::invalid(
            field,
            format!("{field} must lie between 0 and {MAX_MU} (亩)"),
            format!("{field} 须在 0 至 {MAX_MU} 亩之间"),
        )),
        _ => Ok(v),
    }
}

/// 统一社会信用代码 (GB 32100-2015): 18 characters from the code's alphabet, the last a checksum of the others; kept
/// in capitals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditCode(String);

impl CreditCode {
    /// The code of `field`, trimmed and in capitals.
    pub fn parse(field: &str, code: &str) -> AppResult<CreditCode> {
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
        Ok(CreditCode(code))
    }
}

/// The text of a checked value (a credit code, an address, a number), read back or taken.
macro_rules! text_of {
    ($($ty:ident),+) => {$(
        impl $ty {
            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<$ty> for String {
            fn from(v: $ty) -> String {
                v.0
            }
        }
    )+};
}

text_of!(CreditCode, Email, Phone);

/// An e-mail address (RFC 5322 syntax), at most 254 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// The address of `field`.
    pub fn parse(field: &str, v: &str) -> AppResult<Email> {
        let v = text(field, v, 254)?;
        email(field, Some(&v)).map(|_| Email(v))
    }
}

/// A phone number: 5 to 20 digits with the usual separators and an optional leading +, at most 30 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// The number of `field`.
    pub fn parse(field: &str, v: &str) -> AppResult<Phone> {
        let v = text(field, v, 30)?;
        phone(field, Some(&v)).map(|_| Phone(v))
    }
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
        assert!(CreditCode::parse("c", "91350100M000100Y43").is_ok());
        assert!(CreditCode::parse("c", "91350100m000100y43").is_ok());
        assert!(CreditCode::parse("c", "91350100M000100Y44").is_err());
        assert!(CreditCode::parse("c", "91350100M000100Y4").is_err());
        assert!(CreditCode::parse("c", "91350100I000100Y43").is_err());
    }

    #[test]
    fn money_is_whole_yuan() {
        assert_eq!(wan_to_yuan("a", "1.2345".parse().unwrap(), false).unwrap(), 12_345);
        assert!(wan_to_yuan("a", "1.23456".parse().unwrap(), false).is_err());
        assert!(wan_to_yuan("a", "-1".parse().unwrap(), false).is_err());
        assert!(wan_to_yuan("a", Decimal::ZERO, true).is_err());
        assert_eq!(Money::yuan(12_345).as_wan().to_string(), "1.2345");
    }
}

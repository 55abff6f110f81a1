//! Money is stored as whole yuan and spoken in 万元 (亿元 in headlines): the one place the units are converted.

use rust_decimal::Decimal;

/// Yuan in one 万元 (and 万元 in one 亿元).
const WAN: i64 = 10_000;

/// Whole yuan as 万元, exactly.
pub fn wan(yuan: i64) -> Decimal {
    (Decimal::from(yuan) / Decimal::from(WAN)).normalize()
}

/// 万元 as whole yuan; none when it is not a whole number of yuan or out of range.
pub fn yuan(wan: Decimal) -> Option<i64> {
    let y = wan.checked_mul(Decimal::from(WAN))?;
    if !y.fract().is_zero() {
        return None;
    }
    i64::try_from(y).ok()
}

/// 万元 as 亿元.
pub fn yi(wan: Decimal) -> Decimal {
    wan / Decimal::from(WAN)
}

/// Whole yuan as 万元 in a float, for a spreadsheet cell (exact far beyond any park's budget).
pub fn wan_f64(yuan: i64) -> f64 {
    yuan as f64 / WAN as f64
}

/// Whole 万元 (as generated or planned data gives them) as yuan.
pub const fn yuan_of_wan(wan: i64) -> i64 {
    wan * WAN
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(wan(12_345).to_string(), "1.2345");
        assert_eq!(wan(98_0000_0000).to_string(), "980000");
        assert_eq!(yuan("1.2345".parse().unwrap()), Some(12_345));
        assert_eq!(yuan("1.23456".parse().unwrap()), None);
        assert_eq!(yi(Decimal::from(98_0000)).to_string(), "98");
        assert_eq!(yuan_of_wan(3), 30_000);
    }
}

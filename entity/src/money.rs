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

/// Cents in one 万美元.
const WAN_USD_CENTS: i64 = 1_000_000;

/// A CNY-per-USD rate is kept in ten-thousandths (7.1268 → 71 268), as the central parity is published.
const RATE_SCALE: i64 = 10_000;

/// US cents as 万美元, exactly.
pub fn wan_usd(cents: i64) -> Decimal {
    (Decimal::from(cents) / Decimal::from(WAN_USD_CENTS)).normalize()
}

/// 万美元 as whole US cents; none when it is not a whole number of cents or out of range.
pub fn usd_cents(wan_usd: Decimal) -> Option<i64> {
    let c = wan_usd.checked_mul(Decimal::from(WAN_USD_CENTS))?;
    if !c.fract().is_zero() {
        return None;
    }
    i64::try_from(c).ok()
}

/// A rate in yuan per US dollar as ten-thousandths; none when it has more than four decimals or is out of range.
pub fn rate_e4(rate: Decimal) -> Option<i64> {
    let r = rate.checked_mul(Decimal::from(RATE_SCALE))?;
    if !r.fract().is_zero() {
        return None;
    }
    i64::try_from(r).ok()
}

/// A rate kept in ten-thousandths as yuan per US dollar.
pub fn rate(rate_e4: i64) -> Decimal {
    (Decimal::from(rate_e4) / Decimal::from(RATE_SCALE)).normalize()
}

/// US cents at a rate (ten-thousandths of a yuan per dollar) as whole yuan, half away from zero; none on overflow.
pub fn yuan_of_usd(cents: i64, rate_e4: i64) -> Option<i64> {
    let scale = 100 * i128::from(RATE_SCALE);
    let milli = i128::from(cents) * i128::from(rate_e4);
    let y = (milli + scale / 2).div_euclid(scale);
    i64::try_from(y).ok()
}

/// US cents as 万美元 in a float, for a spreadsheet cell.
pub fn wan_usd_f64(cents: i64) -> f64 {
    cents as f64 / WAN_USD_CENTS as f64
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
        assert_eq!(wan_usd(12_345_678).to_string(), "12.345678");
        assert_eq!(usd_cents("1.5".parse().unwrap()), Some(1_500_000));
        assert_eq!(usd_cents("0.0000001".parse().unwrap()), None);
        assert_eq!(rate_e4("7.1268".parse().unwrap()), Some(71_268));
        assert_eq!(rate_e4("7.12681".parse().unwrap()), None);
        assert_eq!(rate(71_268).to_string(), "7.1268");
        // 100 万美元 at 7.1268 is 712.68 万元; 0.01 美元 at 7.1268 rounds to 7 分, so to 0 yuan.
        assert_eq!(yuan_of_usd(100_000_000, 71_268), Some(7_126_800));
        assert_eq!(yuan_of_usd(1, 71_268), Some(0));
        assert_eq!(yuan_of_usd(7, 71_268), Some(0));
        assert_eq!(yuan_of_usd(8, 71_268), Some(1));
    }
}

//! Values as people write them in ledgers: dates in every common form, amounts with units, full-width digits,
//! stage and yes/no words, company names with their bracket variants. Each parser answers the value or the Chinese
//! reason it could not be read.

use chrono::NaiveDate;
use entity::enums::{CapitalOrigin, ProjectSource, ProjectStage};
use rust_decimal::{Decimal, prelude::FromPrimitive};
use unicode_normalization::UnicodeNormalization;

use super::sheet::Cell;

/// Text in its compatibility form (full-width digits, letters, brackets and spaces become their ASCII forms),
/// trimmed.
pub fn norm(s: &str) -> String {
    s.nfkc().collect::<String>().trim().to_owned()
}

/// The key two names of one company (or one project) share: compatibility form, no spaces, no brackets, lower
/// case. `精诚科技（有限公司） ` and `精诚科技有限公司` share a key.
pub fn name_key(s: &str) -> String {
    s.nfkc()
        .filter(|c| !c.is_whitespace() && !matches!(c, '(' | ')' | '[' | ']' | '【' | '】' | '〔' | '〕'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// A unit of money a ledger column or title names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// 元.
    Yuan,
    /// 万元.
    Wan,
    /// 亿元.
    Yi,
    /// 万美元: foreign capital, a currency this ledger does not hold.
    WanUsd,
}

impl Unit {
    /// The unit a text names (`单位：万元`, `(亿元)`, `万美元`), if any.
    pub fn named_in(text: &str) -> Option<Unit> {
        let t = norm(text);
        if t.contains("万美元") {
            Some(Unit::WanUsd)
        } else if t.contains("亿元") || t.ends_with('亿') || t.contains("(亿") {
            Some(Unit::Yi)
        } else if t.contains("万元") || t.ends_with('万') || t.contains("(万") {
            Some(Unit::Wan)
        } else if t.contains("(元") || t.ends_with("元)") || t.contains("单位:元") {
            Some(Unit::Yuan)
        } else {
            None
        }
    }

    /// How many 万元 one of this unit is.
    fn in_wan(self) -> Decimal {
        match self {
            Unit::Yuan => Decimal::new(1, 4),
            Unit::Wan | Unit::WanUsd => Decimal::ONE,
            Unit::Yi => Decimal::from(10_000),
        }
    }
}

/// Why a value could not be read: a machine code and a Chinese message.
pub type Bad = (&'static str, String);

/// A date from a real spreadsheet date, an Excel day number, or text (`2024-03-15`, `2024/3/15`, `2024.3.15`,
/// `2024年3月15日`, `20240315`); a month alone (`2024年3月`, `2024-03`) is its first day, with a warning.
pub fn date(cell: &Cell) -> Result<(NaiveDate, Option<String>), Bad> {
    let bad = |v: &str| ("invalid_date", format!("无法识别的日期“{v}”(应如 2024-03-15)"));
    match cell {
        Cell::Date(d) => Ok((*d, None)),
        Cell::Number(n) if n.fract() == 0.0 && (20_000_000.0..30_000_000.0).contains(n) => {
            ymd_text(&format!("{}", *n as i64)).ok_or_else(|| bad(&cell.display()))
        }
        // An Excel day number between 1950 and 2100.
        Cell::Number(n) if (18_264.0..73_051.0).contains(n) => {
            let base = NaiveDate::from_ymd_opt(1899, 12, 30).expect("a valid date");
            Ok((base + chrono::Days::new(n.floor() as u64), None))
        }
        Cell::Number(_) => Err(bad(&cell.display())),
        Cell::Empty => Err(("missing_value", "日期为空".into())),
        Cell::Text(t) => ymd_text(&norm(t)).ok_or_else(|| bad(t.trim())),
    }
}

fn ymd_text(t: &str) -> Option<(NaiveDate, Option<String>)> {
    let t: String = t.chars().filter(|c| !c.is_whitespace()).collect();
    let t = t.strip_suffix('日').or_else(|| t.strip_suffix('号')).unwrap_or(&t);
    let unified: String = t
        .chars()
        .map(|c| {
            if matches!(c, '年' | '月' | '/' | '.' | '-') {
                '-'
            } else {
                c
            }
        })
        .collect();
    let unified = unified.trim_end_matches('-');
    let parts: Vec<&str> = unified.split('-').collect();
    let num = |s: &str| s.parse::<u32>().ok();
    match parts.as_slice() {
        [y, m, d] if y.len() == 4 => NaiveDate::from_ymd_opt(num(y)? as i32, num(m)?, num(d)?).map(|d| (d, None)),
        [y, m] if y.len() == 4 => NaiveDate::from_ymd_opt(num(y)? as i32, num(m)?, 1)
            .map(|d| (d, Some(format!("只写了月份,按该月1日({d})计")))),
        [ymd] if ymd.len() == 8 && ymd.bytes().all(|b| b.is_ascii_digit()) => {
            NaiveDate::from_ymd_opt(num(&ymd[..4])? as i32, num(&ymd[4..6])?, num(&ymd[6..])?).map(|d| (d, None))
        }
        _ => None,
    }
}

/// An amount in 万元 from a number in the column's `unit`, or text with its own unit (`1.2亿`, `3000万元`, `3,000`,
/// full-width digits). Rounded to whole yuan (4 decimals of 万元).
pub fn amount(cell: &Cell, unit: Unit) -> Result<Decimal, Bad> {
    let bad = |v: &str| ("invalid_amount", format!("无法识别的金额“{v}”"));
    let (value, unit) = match cell {
        Cell::Number(n) => (Decimal::from_f64(*n).ok_or_else(|| bad(&cell.display()))?, unit),
        Cell::Text(t) => {
            let t: String = norm(t).chars().filter(|c| !c.is_whitespace() && *c != ',').collect();
            let own = Unit::named_in(&t);
            let digits = t.trim_end_matches(|c: char| !c.is_ascii_digit());
            let value: Decimal = digits.parse().map_err(|_| bad(&t))?;
            let rest = &t[digits.len()..];
            if !rest.is_empty() && own.is_none() && !matches!(rest, "元") {
                return Err(bad(&t));
            }
            (value, own.or((rest == "元").then_some(Unit::Yuan)).unwrap_or(unit))
        }
        Cell::Empty => return Err(("missing_value", "金额为空".into())),
        Cell::Date(_) => return Err(bad(&cell.display())),
    };
    if unit == Unit::WanUsd {
        return Err((
            "unsupported_currency",
            "此列以人民币计:万美元金额请换算为万元(外资到位可填“到位外资(万美元)”和“汇率”两列)".into(),
        ));
    }
    if value.is_sign_negative() {
        return Err(("invalid_amount", format!("金额不能为负数“{}”", cell.display())));
    }
    Ok((value * unit.in_wan()).round_dp(4).normalize())
}

/// A yes/no: 是/否, √/×, Y/N, yes/no, true/false, 1/0.
pub fn yes_no(cell: &Cell) -> Result<bool, Bad> {
    let t = norm(&cell.display()).to_lowercase();
    match t.as_str() {
        "是" | "√" | "✓" | "✔" | "y" | "yes" | "true" | "1" | "对" | "重大" | "重点" => Ok(true),
        "否" | "×" | "✗" | "x" | "n" | "no" | "false" | "0" | "" | "-" | "/" | "无" | "非" => Ok(false),
        _ => Err(("invalid_yes_no", format!("无法识别“{}”(应为 是/否)", cell.display()))),
    }
}

/// The words a column of fixed values takes, as the template's notes and the import's errors name them.
pub mod words {
    /// 项目状态.
    pub const STAGES: &str = "线索、在谈、已签约、已落地、已开工、已投产、终止、暂停";
    /// 项目来源.
    pub const SOURCES: &str = "来访接待、外出招商、委托招商、以商引商、其他";
    /// 资本来源.
    pub const CAPITAL_ORIGINS: &str = "内资、外资、港澳台资";
    /// 办理状态 of a blocker.
    pub const BLOCKER_STATUSES: &str = "待解决、推进中、已解决";
    /// 问题类别 of a blocker.
    pub const BLOCKER_CATEGORIES: &str = "资金、用地、招工、配套、审批、其他";
    /// 活动类型 of an outreach activity.
    pub const OUTREACH_KINDS: &str = "外出招商、推介会、论坛、驻点招商";

    /// The words of a column by its template header, for every column of fixed values.
    pub fn of(label: &str) -> Option<&'static str> {
        Some(match label {
            "项目状态" => STAGES,
            "项目来源" => SOURCES,
            "资本来源" => CAPITAL_ORIGINS,
            "办理状态" => BLOCKER_STATUSES,
            "问题类别" => BLOCKER_CATEGORIES,
            "活动类型" => OUTREACH_KINDS,
            _ => return None,
        })
    }
}

/// What a status word of a project ledger says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The project has reached this stage.
    Stage(ProjectStage),
    /// 暂停/搁置: not a stage of ours; the project stays where its dates put it.
    Paused,
}

/// A project's status as ledgers write it: 在谈 / 洽谈中 / 已签约 / 已落地 / 已注册 / 已开工 / 在建 / 已投产 / 竣工投产 /
/// 终止 / 暂停 and their neighbours.
pub fn status(cell: &Cell) -> Result<Status, Bad> {
    let t = norm(&cell.display());
    let t = t.trim_start_matches('已').trim_end_matches('中');
    let stage = match t {
        "线索" | "储备" | "在谈线索" | "接触" | "初步接触" => ProjectStage::Lead,
        "在谈" | "洽谈" | "正在洽谈" | "商谈" | "对接" => ProjectStage::Negotiating,
        "签约" | "签订协议" | "签协议" => ProjectStage::Signed,
        "落地" | "注册" | "落户" | "落地注册" => ProjectStage::Landed,
        "开工" | "在建" | "建设" | "开工建设" | "动工" => ProjectStage::Started,
        "投产" | "竣工投产" | "竣工" | "运营" | "达产" | "建成投产" => ProjectStage::Producing,
        "终止" | "放弃" | "取消" | "流失" => ProjectStage::Dropped,
        "暂停" | "搁置" | "暂缓" => return Ok(Status::Paused),
        _ => {
            return Err((
                "unknown_stage",
                format!("无法识别的项目状态“{}”(应为 {})", cell.display(), words::STAGES),
            ));
        }
    };
    Ok(Status::Stage(stage))
}

/// A project's source as ledgers write it.
pub fn source(cell: &Cell) -> Result<ProjectSource, Bad> {
    let t = norm(&cell.display());
    Ok(match t.as_str() {
        "来访" | "来访接待" | "客商来访" | "上门" => ProjectSource::Visit,
        "外出招商" | "外出" | "招商活动" | "推介会" | "驻点招商" => ProjectSource::Outreach,
        "委托招商" | "合作机构" | "中介" | "中介机构" | "商会" => ProjectSource::Partner,
        "以商引商" | "推荐" | "企业推荐" | "引荐" => ProjectSource::Referral,
        "其他" | "其它" | "" => ProjectSource::Other,
        _ => {
            return Err((
                "unknown_source",
                format!("无法识别的项目来源“{t}”(应为 {})", words::SOURCES),
            ));
        }
    })
}

/// The origin of capital as ledgers write it.
pub fn capital_origin(cell: &Cell) -> Result<CapitalOrigin, Bad> {
    let t = norm(&cell.display());
    Ok(match t.as_str() {
        "内资" | "国内" | "国内资本" | "国资" | "民资" | "内资企业" => CapitalOrigin::Domestic,
        "外资" | "外商" | "外商投资" | "外资企业" | "外企" => CapitalOrigin::Foreign,
        "港澳台资" | "港澳台" | "港澳台商" | "港澳台商投资" | "港资" | "澳资" | "台资" => {
            CapitalOrigin::HongKongMacaoTaiwan
        }
        _ => {
            return Err((
                "unknown_capital_origin",
                format!("无法识别的资本来源“{t}”(应为 {})", words::CAPITAL_ORIGINS),
            ));
        }
    })
}

/// A decimal number: a spreadsheet number, or text with full-width digits, thousands separators and one of
/// `units` after it.
fn decimal(cell: &Cell, units: &[&str]) -> Option<Decimal> {
    match cell {
        // Spreadsheets store decimals as binary floats: 7.1268 comes back as 7.126799999…
        Cell::Number(n) => Decimal::from_f64(*n).map(|d| d.round_dp(8).normalize()),
        Cell::Text(t) => {
            let t: String = norm(t).chars().filter(|c| !c.is_whitespace() && *c != ',').collect();
            let t = units.iter().fold(t.as_str(), |t, u| t.strip_suffix(u).unwrap_or(t));
            t.parse().ok()
        }
        Cell::Empty | Cell::Date(_) => None,
    }
}

/// An amount of foreign capital in 万美元.
pub fn wan_usd(cell: &Cell) -> Result<Decimal, Bad> {
    decimal(cell, &["万美元"]).ok_or_else(|| {
        (
            "invalid_amount",
            format!("无法识别的美元金额“{}”(以万美元计)", cell.display()),
        )
    })
}

/// A rate in yuan per US dollar.
pub fn usd_rate(cell: &Cell) -> Result<Decimal, Bad> {
    decimal(cell, &[]).ok_or_else(|| {
        (
            "invalid_number",
            format!("无法识别的汇率“{}”(应如 7.1268)", cell.display()),
        )
    })
}

/// A number of 亩 (or any plain quantity): a number, or text with full-width digits and a unit after it.
pub fn quantity(cell: &Cell) -> Result<f64, Bad> {
    let bad = || ("invalid_number", format!("无法识别的数字“{}”", cell.display()));
    let v = match cell {
        Cell::Number(n) => *n,
        Cell::Text(t) => {
            let t: String = norm(t).chars().filter(|c| !c.is_whitespace() && *c != ',').collect();
            let digits = t.trim_end_matches(|c: char| !c.is_ascii_digit());
            digits.parse().map_err(|_| bad())?
        }
        _ => return Err(bad()),
    };
    if !v.is_finite() || v < 0.0 {
        return Err(bad());
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Cell {
        Cell::Text(s.into())
    }

    #[test]
    fn dates_as_people_write_them() {
        let d = NaiveDate::from_ymd_opt(2024, 3, 15).unwrap();
        for s in [
            "2024-03-15",
            "2024/3/15",
            "2024.3.15",
            "2024年3月15日",
            "２０２４年３月１５日",
            " 20240315 ",
        ] {
            assert_eq!(date(&t(s)).unwrap(), (d, None), "{s}");
        }
        assert_eq!(date(&Cell::Number(45366.0)).unwrap().0, d);
        assert_eq!(date(&Cell::Date(d)).unwrap().0, d);
        let (m, warning) = date(&t("2024年3月")).unwrap();
        assert_eq!(m, NaiveDate::from_ymd_opt(2024, 3, 1).unwrap());
        assert!(warning.is_some());
        assert_eq!(date(&t("2024-02-30")).unwrap_err().0, "invalid_date");
        assert_eq!(date(&t("三月")).unwrap_err().0, "invalid_date");
    }

    #[test]
    fn foreign_capital_words_and_numbers() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(capital_origin(&t("外商投资")).unwrap(), CapitalOrigin::Foreign);
        assert_eq!(
            capital_origin(&t(" 台资 ")).unwrap(),
            CapitalOrigin::HongKongMacaoTaiwan
        );
        assert_eq!(capital_origin(&t("民资")).unwrap(), CapitalOrigin::Domestic);
        assert_eq!(capital_origin(&t("侨资")).unwrap_err().0, "unknown_capital_origin");
        assert_eq!(wan_usd(&t("1,234.5万美元")).unwrap(), d("1234.5"));
        assert_eq!(wan_usd(&Cell::Number(12.34)).unwrap(), d("12.34"));
        assert!(wan_usd(&t("12万元")).is_err());
        // A spreadsheet's binary float of 7.1268 reads back as the rate written.
        assert_eq!(usd_rate(&Cell::Number(7.1268)).unwrap(), d("7.1268"));
    }

    #[test]
    fn amounts_with_units() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(amount(&t("1.2亿"), Unit::Wan).unwrap(), d("12000"));
        assert_eq!(amount(&t("3000万元"), Unit::Yi).unwrap(), d("3000"));
        assert_eq!(amount(&t("3,000"), Unit::Wan).unwrap(), d("3000"));
        assert_eq!(amount(&t("３０００"), Unit::Wan).unwrap(), d("3000"));
        assert_eq!(amount(&Cell::Number(2.5), Unit::Yi).unwrap(), d("25000"));
        assert_eq!(amount(&Cell::Number(123456.0), Unit::Yuan).unwrap(), d("12.3456"));
        assert_eq!(amount(&t("12元"), Unit::Wan).unwrap(), d("0.0012"));
        assert_eq!(amount(&t("很多"), Unit::Wan).unwrap_err().0, "invalid_amount");
        assert_eq!(
            amount(&Cell::Number(5.0), Unit::WanUsd).unwrap_err().0,
            "unsupported_currency"
        );
    }

    #[test]
    fn words() {
        assert_eq!(status(&t("洽谈中")).unwrap(), Status::Stage(ProjectStage::Negotiating));
        assert_eq!(status(&t("已注册")).unwrap(), Status::Stage(ProjectStage::Landed));
        assert_eq!(status(&t("在建")).unwrap(), Status::Stage(ProjectStage::Started));
        assert_eq!(status(&t("竣工投产")).unwrap(), Status::Stage(ProjectStage::Producing));
        assert_eq!(status(&t("暂停")).unwrap(), Status::Paused);
        assert!(status(&t("很好")).is_err());
        assert!(yes_no(&t("√")).unwrap());
        assert!(!yes_no(&t("N")).unwrap());
        assert_eq!(name_key("精诚科技（有限公司） "), name_key("精诚科技有限公司"));
        assert_eq!(Unit::named_in("单位：万元"), Some(Unit::Wan));
        assert_eq!(Unit::named_in("计划总投资（亿元）"), Some(Unit::Yi));
    }
}

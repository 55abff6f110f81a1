//! The period picker of the 工作总结 and 统计分析 pages: a year and a part of it (the whole year, a half, a quarter,
//! a month), a week of it, or a range of days — the period forms of the API.

use chrono::Datelike;
use jobs::period::Period;
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};

use super::form::{date, opt};
use crate::service::{AppError, AppResult, input::today};

/// The parts of a year the picker offers: the suffix of the period (or `week`, `custom`) and its name.
const SPANS: [(&str, &str); 21] = [
    ("", "全年"),
    ("-H1", "上半年"),
    ("-H2", "下半年"),
    ("-Q1", "第一季度"),
    ("-Q2", "第二季度"),
    ("-Q3", "第三季度"),
    ("-Q4", "第四季度"),
    ("-01", "1月"),
    ("-02", "2月"),
    ("-03", "3月"),
    ("-04", "4月"),
    ("-05", "5月"),
    ("-06", "6月"),
    ("-07", "7月"),
    ("-08", "8月"),
    ("-09", "9月"),
    ("-10", "10月"),
    ("-11", "11月"),
    ("-12", "12月"),
    ("week", "按周"),
    ("custom", "自定义日期"),
];

/// The period picked: `period` in the address (`2024-H1`, `2024`, `2024-W21`, `2024-01-01/2024-03-31`), or the
/// picker's fields as its form sends them (a page answers those by moving to the address with `period`, so a
/// copied link shows the same figures); by default the half-year now running.
#[derive(Deserialize, Serialize, Default, Clone)]
pub struct PeriodPick {
    #[serde(skip_serializing_if = "Option::is_none")]
    period: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    year: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    span: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    week: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<String>,
    /// The day the figures are measured on (default: the period's end, or today while it runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    as_of: Option<String>,
}

impl PeriodPick {
    /// The pick of a period by its label, measured on `as_of` as this one is.
    pub fn of(&self, period: &Period) -> PeriodPick {
        PeriodPick {
            period: Some(period.label.clone()),
            as_of: self.as_of.clone(),
            ..Default::default()
        }
    }

    /// The day asked to measure on, if any.
    pub fn as_of(&self) -> AppResult<Option<chrono::NaiveDate>> {
        date("as_of", &self.as_of)
    }

    /// When the picker's fields were sent rather than `period`: the same pick by its label, to move to.
    pub fn canonical(&self) -> Option<AppResult<PeriodPick>> {
        let sent = [&self.year, &self.span, &self.week, &self.from, &self.to]
            .iter()
            .any(|v| v.is_some());
        (self.period.is_none() && sent).then(|| self.period().map(|p| self.of(&p)))
    }

    /// The picker's fields for a period given by its label.
    fn fields(&self) -> Option<PeriodPick> {
        let p = self.parsed()?.ok()?;
        let label = p.label.as_str();
        let year = Some(p.from.year().to_string());
        Some(match label.split_once('/') {
            Some(_) => PeriodPick {
                span: Some("custom".into()),
                from: Some(p.from.to_string()),
                to: Some(p.to.to_string()),
                year,
                ..Default::default()
            },
            None => match label.get(4..) {
                Some(w) if w.starts_with("-W") => PeriodPick {
                    year: Some(label[..4].to_owned()),
                    span: Some("week".into()),
                    week: Some(w[2..].trim_start_matches('0').to_owned()),
                    ..Default::default()
                },
                rest => PeriodPick {
                    year: Some(label[..4].to_owned()),
                    span: Some(rest.unwrap_or_default().to_owned()),
                    ..Default::default()
                },
            },
        })
    }

    /// The period named by `period`, if one is.
    fn parsed(&self) -> Option<AppResult<Period>> {
        let text = opt(&self.period)?;
        let bad = |_| AppError::invalid("period", format!("{text}: not a period"), "期间无法识别(如 2024-H1)");
        Some(match text.split_once('/') {
            Some((from, to)) => {
                let day = |d: &str| chrono::NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d");
                match (day(from), day(to)) {
                    (Ok(f), Ok(t)) => Period::range(f, t).map_err(bad),
                    _ => Err(AppError::invalid(
                        "period",
                        format!("{text}: not a period"),
                        "期间无法识别(如 2024-H1)",
                    )),
                }
            }
            None => Period::parse(text).map_err(bad),
        })
    }

    /// The year and span asked for, with today's for what is not given.
    fn picked(&self) -> (String, String) {
        if let Some(f) = self.fields() {
            return f.picked();
        }
        let today = today();
        let year = opt(&self.year).map_or_else(|| today.year().to_string(), str::to_owned);
        let half = if today.month() <= 6 { "-H1" } else { "-H2" };
        (year, self.span.clone().unwrap_or_else(|| half.to_owned()))
    }

    /// The period, or an error on the field that makes it none.
    pub fn period(&self) -> AppResult<Period> {
        if let Some(p) = self.parsed() {
            return p;
        }
        let (year, span) = self.picked();
        let bad = |field: &str, zh: &'static str| {
            let field = field.to_owned();
            move |e: jobs::period::BadPeriod| AppError::invalid(&field, e.to_string(), zh)
        };
        match span.as_str() {
            "custom" => {
                let from = date("from", &self.from)?
                    .ok_or_else(|| AppError::invalid("from", "from is required", "请填写起始日期"))?;
                let to =
                    date("to", &self.to)?.ok_or_else(|| AppError::invalid("to", "to is required", "请填写截止日期"))?;
                Period::range(from, to).map_err(bad("to", "截止日期不能早于起始日期"))
            }
            "week" => {
                let week: u32 = opt(&self.week).and_then(|w| w.parse().ok()).unwrap_or(0);
                Period::parse(&format!("{year}-W{week:02}")).map_err(bad("week", "请填写 1—53 之间的周次"))
            }
            s if SPANS.iter().any(|(v, _)| *v == s) => {
                Period::parse(&format!("{year}{s}")).map_err(bad("year", "请选择年份"))
            }
            _ => Err(AppError::invalid(
                "span",
                "unknown part of the year",
                "请选择列表中的一项",
            )),
        }
    }

    /// What the picker shows: the years, the spans and what was picked.
    pub fn ctx(&self) -> Value {
        let (year, span) = self.picked();
        let this_year = today().year();
        let shown = self.fields().unwrap_or_else(|| self.clone());
        context! {
            years => (this_year - 9..=this_year).rev().collect::<Vec<_>>(),
            spans => SPANS.iter().map(|&(value, label)| context! { value, label }).collect::<Vec<_>>(),
            pick => context! { year, span, week => shown.week, from => shown.from, to => shown.to },
        }
    }
}

/// What a page says when its period holds nothing the caller sees: the period of the same kind that holds the latest
/// record, with the address `link` makes of it (none when there is no record at all, or the period has some).
pub async fn empty_notice(
    db: &sea_orm::DatabaseConnection,
    seen: &crate::service::scope::Seen,
    p: &Period,
    link: impl Fn(&Period) -> String,
) -> AppResult<Option<Value>> {
    let until = p.to.min(today());
    let latest = crate::service::analytics::latest_activity(db, seen, until).await?;
    if latest.is_some_and(|d| d >= p.from) {
        return Ok(None);
    }
    let Some(day) = (match latest {
        Some(d) => Some(d),
        None => crate::service::analytics::latest_activity(db, seen, today()).await?,
    }) else {
        return Ok(Some(context! { none => true }));
    };
    let label = p.label.as_str();
    let kind = match label.get(4..6) {
        Some("-W") => 0,
        Some("-Q") => 2,
        Some("-H") => 3,
        _ if label.len() == 7 => 1,
        _ if label.len() == 4 => 4,
        _ => 3,
    };
    let like = Period::containing(day).swap_remove(kind);
    Ok(Some(
        // Our own address, its query percent-encoded: safe as it is (escaping would write every / as &#x2f;).
        context! { latest => day.to_string(), label => like.label.clone(), href => Value::from_safe_string(link(&like)) },
    ))
}

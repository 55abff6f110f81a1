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

/// The period picked, as typed: by default the half-year now running.
#[derive(Deserialize, Serialize, Default, Clone)]
pub struct PeriodPick {
    year: Option<String>,
    span: Option<String>,
    week: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

impl PeriodPick {
    /// The year and span asked for, with today's for what is not given.
    fn picked(&self) -> (String, String) {
        let today = today();
        let year = opt(&self.year).map_or_else(|| today.year().to_string(), str::to_owned);
        let half = if today.month() <= 6 { "-H1" } else { "-H2" };
        (year, self.span.clone().unwrap_or_else(|| half.to_owned()))
    }

    /// The period, or an error on the field that makes it none.
    pub fn period(&self) -> AppResult<Period> {
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
        context! {
            years => (this_year - 9..=this_year).rev().collect::<Vec<_>>(),
            spans => SPANS.iter().map(|&(value, label)| context! { value, label }).collect::<Vec<_>>(),
            pick => context! { year, span, week => self.week.clone(), from => self.from.clone(), to => self.to.clone() },
        }
    }
}

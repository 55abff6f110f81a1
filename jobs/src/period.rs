//! Reporting periods (docs/DEFINITIONS.md): `2024`, `2024-H1`, `2024-Q2`, `2024-05`, `2024-W21` (ISO week) or from/to dates,
//! all inclusive.

use chrono::{Datelike, Months, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// An inclusive range of calendar days with the name it was asked by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// How the period is written, e.g. `2024-H1`.
    pub label: String,
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Kind {
    Year(i32),
    Half(i32, u32),
    Quarter(i32, u32),
    Month(i32, u32),
    Week(i32, u32),
    Range,
}

/// Why a period cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a period: {0} (write 2024, 2024-H1, 2024-Q2, 2024-05, 2024-W21, or from/to dates)")]
pub struct BadPeriod(pub String);

fn ymd(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

fn month_end(y: i32, m: u32) -> Option<NaiveDate> {
    ymd(y, m, 1)?.checked_add_months(Months::new(1))?.pred_opt()
}

impl Period {
    fn of(kind: Kind) -> Option<Period> {
        let (label, from, to) = match kind {
            Kind::Year(y) => (format!("{y}"), ymd(y, 1, 1)?, ymd(y, 12, 31)?),
            Kind::Half(y, h) => (format!("{y}-H{h}"), ymd(y, 6 * h - 5, 1)?, month_end(y, 6 * h)?),
            Kind::Quarter(y, q) => (format!("{y}-Q{q}"), ymd(y, 3 * q - 2, 1)?, month_end(y, 3 * q)?),
            Kind::Month(y, m) => (format!("{y}-{m:02}"), ymd(y, m, 1)?, month_end(y, m)?),
            Kind::Week(y, w) => (
                format!("{y}-W{w:02}"),
                NaiveDate::from_isoywd_opt(y, w, Weekday::Mon)?,
                NaiveDate::from_isoywd_opt(y, w, Weekday::Sun)?,
            ),
            Kind::Range => return None,
        };
        Some(Period { label, from, to, kind })
    }

    /// Reads `2024`, `2024-H1`, `2024-Q2`, `2024-05` or `2024-W21`.
    pub fn parse(s: &str) -> Result<Period, BadPeriod> {
        let bad = || BadPeriod(s.to_owned());
        let s = s.trim();
        let (year, rest) = match s.split_once('-') {
            Some((y, r)) => (y, Some(r)),
            None => (s, None),
        };
        if year.len() != 4 {
            return Err(bad());
        }
        let y: i32 = year.parse().map_err(|_| bad())?;
        if !(1990..=2200).contains(&y) {
            return Err(bad());
        }
        let num = |t: &str| t.parse::<u32>().map_err(|_| bad());
        let kind = match rest {
            None => Kind::Year(y),
            Some(r) => match r.as_bytes().first() {
                Some(b'H' | b'h') => Kind::Half(y, num(&r[1..]).ok().filter(|h| (1..=2).contains(h)).ok_or_else(bad)?),
                Some(b'Q' | b'q') => {
                    Kind::Quarter(y, num(&r[1..]).ok().filter(|q| (1..=4).contains(q)).ok_or_else(bad)?)
                }
                Some(b'W' | b'w') => Kind::Week(y, num(&r[1..])?),
                _ if r.len() == 2 => Kind::Month(y, num(r)?),
                _ => return Err(bad()),
            },
        };
        Period::of(kind).ok_or_else(bad)
    }

    /// The inclusive range `from`..=`to`.
    pub fn range(from: NaiveDate, to: NaiveDate) -> Result<Period, BadPeriod> {
        if to < from {
            return Err(BadPeriod(format!("{from}/{to}")));
        }
        Ok(Period {
            label: format!("{from}/{to}"),
            from,
            to,
            kind: Kind::Range,
        })
    }

    /// The same period one year earlier (for 同比). ISO week 53 of a year whose predecessor has 52 maps to week 52.
    pub fn previous_year(&self) -> Period {
        let shift = |d: NaiveDate| {
            d.checked_sub_months(Months::new(12))
                .expect("dates after 1990 shift back a year")
        };
        let kind = match self.kind {
            Kind::Year(y) => Kind::Year(y - 1),
            Kind::Half(y, h) => Kind::Half(y - 1, h),
            Kind::Quarter(y, q) => Kind::Quarter(y - 1, q),
            Kind::Month(y, m) => Kind::Month(y - 1, m),
            Kind::Week(y, w) => Kind::Week(
                y - 1,
                if NaiveDate::from_isoywd_opt(y - 1, w, Weekday::Mon).is_some() {
                    w
                } else {
                    52
                },
            ),
            Kind::Range => {
                return Period::range(shift(self.from), shift(self.to)).expect("a shifted range keeps its order");
            }
        };
        Period::of(kind).expect("a valid period shifted a year is valid")
    }

    /// The period before this one of the same kind (the previous week, month, quarter, half-year or year).
    pub fn previous(&self) -> Period {
        let kind = match self.kind {
            Kind::Year(y) => Kind::Year(y - 1),
            Kind::Half(y, 1) => Kind::Half(y - 1, 2),
            Kind::Half(y, h) => Kind::Half(y, h - 1),
            Kind::Quarter(y, 1) => Kind::Quarter(y - 1, 4),
            Kind::Quarter(y, q) => Kind::Quarter(y, q - 1),
            Kind::Month(y, 1) => Kind::Month(y - 1, 12),
            Kind::Month(y, m) => Kind::Month(y, m - 1),
            Kind::Week(..) => {
                let monday = self.from - chrono::Duration::days(7);
                let w = monday.iso_week();
                Kind::Week(w.year(), w.week())
            }
            Kind::Range => {
                let days = (self.to - self.from).num_days() + 1;
                return Period::range(
                    self.from - chrono::Duration::days(days),
                    self.from - chrono::Duration::days(1),
                )
                .expect("ordered");
            }
        };
        Period::of(kind).expect("a valid period")
    }

    /// The standard periods containing `day`: its ISO week, month, quarter, half-year and year.
    pub fn containing(day: NaiveDate) -> Vec<Period> {
        let (y, m) = (day.year(), day.month());
        let w = day.iso_week();
        [
            Kind::Week(w.year(), w.week()),
            Kind::Month(y, m),
            Kind::Quarter(y, (m - 1) / 3 + 1),
            Kind::Half(y, if m <= 6 { 1 } else { 2 }),
            Kind::Year(y),
        ]
        .into_iter()
        .map(|k| Period::of(k).expect("valid"))
        .collect()
    }

    /// Whether `d` lies in the period.
    pub fn contains(&self, d: NaiveDate) -> bool {
        self.from <= d && d <= self.to
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn parses_every_form() {
        let p = |s: &str| {
            let p = Period::parse(s).unwrap();
            (p.from.to_string(), p.to.to_string())
        };
        assert_eq!(p("2024"), ("2024-01-01".into(), "2024-12-31".into()));
        assert_eq!(p("2024-H1"), ("2024-01-01".into(), "2024-06-30".into()));
        assert_eq!(p("2024-H2"), ("2024-07-01".into(), "2024-12-31".into()));
        assert_eq!(p("2024-Q1"), ("2024-01-01".into(), "2024-03-31".into()));
        assert_eq!(p("2024-02"), ("2024-02-01".into(), "2024-02-29".into()));
        assert_eq!(p("2024-W21"), ("2024-05-20".into(), "2024-05-26".into()));
        // ISO weeks across year boundaries.
        assert_eq!(p("2025-W01"), ("2024-12-30".into(), "2025-01-05".into()));
        assert_eq!(p("2020-W53"), ("2020-12-28".into(), "2021-01-03".into()));
        for bad in [
            "24", "2024-H3", "2024-Q5", "2024-13", "2024-W54", "2021-W53", "2024-X1", "abcd", "2024-5",
        ] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shifts() {
        assert_eq!(Period::parse("2024-H1").unwrap().previous_year().label, "2023-H1");
        assert_eq!(Period::parse("2021-W01").unwrap().previous_year().label, "2020-W01");
        assert_eq!(Period::parse("2021-W53").map(|_| ()), Err(BadPeriod("2021-W53".into())));
        assert_eq!(Period::parse("2020-W53").unwrap().previous_year().label, "2019-W52");
        assert_eq!(Period::parse("2024-Q1").unwrap().previous().label, "2023-Q4");
        assert_eq!(Period::parse("2024-W01").unwrap().previous().label, "2023-W52");
        let r = Period::range(d("2024-02-29"), d("2024-03-10")).unwrap();
        assert_eq!(
            (r.previous_year().from, r.previous_year().to),
            (d("2023-02-28"), d("2023-03-10"))
        );
        let labels: Vec<String> = Period::containing(d("2024-12-31"))
            .into_iter()
            .map(|p| p.label)
            .collect();
        assert_eq!(labels, ["2025-W01", "2024-12", "2024-Q4", "2024-H2", "2024"]);
    }
}

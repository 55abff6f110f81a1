//! Reading one row: typed values from its cells, each problem recorded against its cell, and the counts of what the
//! rows do.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::{
    Issue,
    layout::{Key, Layout},
    sheet::{Cell, Grid, column_letter},
    value::{self, Bad},
};
use crate::service::{
    AppError, AppResult,
    input::{Day, Dollars, Money},
};

/// What the reading and matching of rows found so far.
pub struct Outcome {
    columns: HashMap<&'static str, usize>,
    pub(super) errors: Vec<Issue>,
    pub(super) warnings: Vec<Issue>,
    skip_errors: bool,
    /// Records created.
    pub created: usize,
    /// Records changed.
    pub updated: usize,
    /// Rows matching a record as it is.
    pub unchanged: usize,
    /// Companies created for the rows.
    pub companies_created: usize,
}

impl Outcome {
    pub(super) fn new(layout: &Layout, skip_errors: bool) -> Self {
        Outcome {
            columns: layout
                .columns
                .iter()
                .filter_map(|c| c.field.map(|f| (f, c.index)))
                .collect(),
            errors: Vec::new(),
            warnings: Vec::new(),
            skip_errors,
            created: 0,
            updated: 0,
            unchanged: 0,
            companies_created: 0,
        }
    }

    /// Records an error.
    pub fn error(&mut self, i: Issue) {
        self.errors.push(i);
    }

    /// Records a warning.
    pub fn warn(&mut self, i: Issue) {
        self.warnings.push(i);
    }

    /// The column letter of a field, if the sheet has it.
    pub fn column(&self, field: impl Key) -> Option<String> {
        self.column_named(field.key())
    }

    /// The column letter of the field a key or a service error names, if the sheet has it.
    pub(super) fn column_named(&self, field: &str) -> Option<String> {
        self.columns.get(field).map(|c| column_letter(*c))
    }

    /// Whether a row with this key is new: not seen on an earlier row (else a `duplicate_row` error naming that row
    /// and what the rows share, `same`) and not stored already (else it is `unchanged`). Counts the row.
    pub fn is_new<K: std::hash::Hash + Eq + Clone>(
        &mut self,
        (seen, stored): (&mut HashMap<K, usize>, &mut std::collections::HashSet<K>),
        key: K,
        line: usize,
        same: &str,
    ) -> bool {
        if let Some(first) = seen.insert(key.clone(), line) {
            self.error(Issue::at(
                line,
                None,
                None,
                "duplicate_row",
                format!("与第 {first} 行{same}"),
            ));
            return false;
        }
        if stored.remove(&key) {
            self.unchanged += 1;
            return false;
        }
        self.created += 1;
        true
    }

    /// Whether a commit may write: no errors, or errors to skip.
    pub fn may_write(&self) -> bool {
        self.errors.is_empty() || self.skip_errors
    }
}

/// The code and Chinese message of a service error about one value.
fn zh_bad(e: &AppError) -> Bad {
    let message = match e {
        AppError::BadRequest { msg, .. }
        | AppError::Rule { msg, .. }
        | AppError::Conflict { msg, .. }
        | AppError::Forbidden { msg, .. } => msg.zh().to_owned(),
        other => other.to_string(),
    };
    (e.code().into(), message)
}

/// Reads the cells of one row into typed values, recording each problem against its cell.
pub struct RowReader<'a> {
    grid: &'a Grid,
    row: usize,
    layout: &'a Layout,
    out: &'a mut Outcome,
    failed: bool,
}

impl<'a> RowReader<'a> {
    /// A reader of the sheet's row `row` (from 0), recording into `out`.
    pub(super) fn new(grid: &'a Grid, row: usize, layout: &'a Layout, out: &'a mut Outcome) -> Self {
        RowReader {
            grid,
            row,
            layout,
            out,
            failed: false,
        }
    }
}

impl RowReader<'_> {
    /// The sheet's row number, from 1.
    pub fn line(&self) -> usize {
        self.row + 1
    }

    /// Whether any cell of the row had an error.
    pub fn failed(&self) -> bool {
        self.failed
    }

    fn cell(&self, field: &str) -> Option<(&Cell, usize)> {
        let c = self.layout.column_of(field)?;
        let cell = self.grid.cell(self.row, c.index);
        (!cell.is_blank()).then_some((cell, c.index))
    }

    /// Records an error at the field's cell.
    pub fn error_at(&mut self, field: impl Key, code: &str, message: String) {
        self.error_in(field.key(), code, message);
    }

    fn error_in(&mut self, field: &str, code: &str, message: String) {
        let (value, column) = match self.cell(field) {
            Some((cell, c)) => (Some(cell.display()), Some(column_letter(c))),
            None => (None, self.out.column_named(field)),
        };
        self.failed = true;
        self.out.error(Issue {
            row: self.line(),
            column,
            value,
            code: code.into(),
            message,
        });
    }

    /// Records a warning at the field's cell.
    pub fn warn_at(&mut self, field: impl Key, code: &str, message: String) {
        self.warn_in(field.key(), code, message);
    }

    fn warn_in(&mut self, field: &str, code: &str, message: String) {
        let value = self.cell(field).map(|(c, _)| c.display());
        let column = self.out.column_named(field);
        self.out.warn(Issue {
            row: self.line(),
            column,
            value,
            code: code.into(),
            message,
        });
    }

    fn bad(&mut self, field: &str, (code, message): Bad) {
        self.error_in(field, code, message);
    }

    /// A required text, parsed; a blank cell is an error.
    pub fn required<T>(&mut self, field: impl Key, parse: impl FnOnce(&str) -> AppResult<T>) -> Option<T> {
        let field = field.key();
        match self.cell(field) {
            None => {
                let label = self.field_label(field);
                self.error_in(field, "missing_value", format!("“{label}”不能为空"));
                None
            }
            Some((cell, _)) => {
                let text = cell.display();
                parse(&text).map_err(|e| self.bad(field, zh_bad(&e))).ok()
            }
        }
    }

    /// An optional text, parsed.
    pub fn text<T>(&mut self, field: impl Key, parse: impl FnOnce(&str) -> AppResult<Option<T>>) -> Option<T> {
        let field = field.key();
        let (cell, _) = self.cell(field)?;
        let text = cell.display();
        parse(&text).map_err(|e| self.bad(field, zh_bad(&e))).ok().flatten()
    }

    /// An optional word from a list.
    pub fn word<T>(&mut self, field: impl Key, parse: fn(&Cell) -> Result<T, Bad>) -> Option<T> {
        self.word_in(field.key(), parse)
    }

    fn word_in<T>(&mut self, field: &str, parse: fn(&Cell) -> Result<T, Bad>) -> Option<T> {
        let (cell, _) = self.cell(field)?;
        parse(cell).map_err(|b| self.bad(field, b)).ok()
    }

    /// An optional yes/no.
    pub fn yes_no(&mut self, field: impl Key) -> Option<bool> {
        self.word_in(field.key(), value::yes_no)
    }

    /// An optional quantity.
    pub fn quantity(&mut self, field: impl Key) -> Option<f64> {
        self.word_in(field.key(), value::quantity)
    }

    /// An optional amount in the column's unit (or the title's, or 万元).
    pub fn amount(&mut self, field: impl Key) -> Option<Money> {
        let field = field.key();
        let (cell, c) = self.cell(field)?;
        let unit = self
            .layout
            .columns
            .iter()
            .find(|col| col.index == c)
            .and_then(|col| col.unit)
            .unwrap_or(self.layout.unit);
        let wan = value::amount(cell, unit).map_err(|b| self.bad(field, b)).ok()?;
        Money::from_wan(field, wan)
            .map_err(|e| self.bad(field, zh_bad(&e)))
            .ok()
    }

    /// Optional foreign capital: an amount in 万美元 and its rate, given together.
    pub fn dollars(&mut self, usd: impl Key, rate: impl Key) -> Option<Dollars> {
        let (usd, rate) = (usd.key(), rate.key());
        let (u, r) = (self.word_in(usd, value::wan_usd), self.word_in(rate, value::usd_rate));
        match (u, r) {
            (Some(u), Some(r)) => Dollars::parse(usd, u, rate, r)
                .map_err(|e| self.bad(usd, zh_bad(&e)))
                .ok(),
            (Some(_), None) | (None, Some(_)) if !self.failed => {
                let missing = if u.is_some() { rate } else { usd };
                self.error_in(missing, "missing_value", "美元金额和汇率须同时填写".into());
                None
            }
            _ => None,
        }
    }

    /// An optional date people report (1990 to a year ahead); a month alone is its first day, with a warning.
    pub fn date(&mut self, field: impl Key) -> Option<NaiveDate> {
        let field = field.key();
        let (cell, _) = self.cell(field)?;
        let (d, warning) = value::date(cell).map_err(|b| self.bad(field, b)).ok()?;
        if let Some(w) = warning {
            self.warn_in(field, "month_only", w);
        }
        Day::parse(field, d)
            .map(Day::date)
            .map_err(|e| self.bad(field, zh_bad(&e)))
            .ok()
    }

    fn field_label(&self, field: &str) -> String {
        self.layout
            .column_of(field)
            .map(|c| c.header.clone())
            .unwrap_or_else(|| field.to_owned())
    }
}

/// A rule a row's record breaks, as an issue on the row (and the cell of the field the rule names).
pub fn issue_of(line: usize, e: &AppError, out: &Outcome) -> Issue {
    let (code, message) = zh_bad(e);
    let field = match e {
        AppError::BadRequest { field, .. } | AppError::Rule { field, .. } | AppError::Conflict { field, .. } => {
            field.as_deref()
        }
        _ => None,
    };
    Issue::at(line, field.and_then(|f| out.column_named(f)), None, code, message)
}

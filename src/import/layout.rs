//! Finding a ledger's table in a sheet: which rows are titles, which one or two rows are the header (a group cell
//! such as `时间节点` over its sub-columns), which columns hold which field (by Chinese and English synonyms), and
//! the unit of money each amount column (or a `单位：万元` title row) names.

use std::collections::HashMap;

use super::{
    sheet::{Cell, Grid, column_index, column_letter},
    value::{Unit, norm},
};
use crate::service::{AppError, AppResult, Code, Msg};

/// What kind of value a field holds (for templates and for reading).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text.
    Text,
    /// A date.
    Date,
    /// Money.
    Amount,
    /// Yes or no.
    YesNo,
    /// A plain number.
    Number,
    /// A word from a list (stage, source).
    Word,
}

/// A field a dataset's rows can fill.
pub struct Field {
    /// Its name in the API's `mapping` and the report.
    pub key: &'static str,
    /// The Chinese header the template writes.
    pub label: &'static str,
    /// Headers it is known by, in any case, with or without a unit in brackets.
    pub synonyms: &'static [&'static str],
    /// Its kind of value.
    pub kind: Kind,
    /// Whether every row must have it.
    pub required: bool,
    /// The template's example value.
    pub example: &'static str,
}

/// A column of a dataset's ledger, named in code by its dataset's own enum (`fields!` declares it): a typo in a key
/// is a compile error, not a column that is never read.
pub trait Key: Copy {
    /// Its name in the API's `mapping`, the report and [`Field::key`].
    fn key(self) -> &'static str;
}

/// A dataset's columns, one line a field: its variant in the dataset's key enum `$keys`, key, the template's Chinese
/// header, kind, `required` or `optional`, the template's example, and the headers it is known by. Declares the
/// enum (with [`Key`]) and the static `FIELDS` table.
macro_rules! fields {
    (@required required) => { true };
    (@required optional) => { false };
    (
        $(#[$doc:meta])* $keys:ident;
        $($variant:ident $key:ident $label:literal $kind:ident $req:ident $example:literal [$($syn:literal),* $(,)?];)*
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $keys {
            $($variant),*
        }

        impl $crate::import::layout::Key for $keys {
            fn key(self) -> &'static str {
                match self {
                    $($keys::$variant => stringify!($key)),*
                }
            }
        }

        /// The columns of this dataset's ledgers.
        pub static FIELDS: &[$crate::import::layout::Field] = &[$($crate::import::layout::Field {
            key: stringify!($key),
            label: $label,
            synonyms: &[$($syn),*],
            kind: $crate::import::layout::Kind::$kind,
            required: fields!(@required $req),
            example: $example,
        }),*];
    };
}
pub(crate) use fields;

/// A header compared: compatibility form, no spaces or line breaks, no bracketed unit, no `*`, lower case.
pub fn header_key(s: &str) -> String {
    let n = norm(s);
    let mut out = String::with_capacity(n.len());
    let mut depth = 0;
    for c in n.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = (depth - 1).max(0),
            _ if depth > 0 || c.is_whitespace() || c == '*' || c == ':' => {}
            _ => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// A column of the table the import reads.
#[derive(Debug, Clone)]
pub struct Column {
    /// The column's index from 0.
    pub index: usize,
    /// The header as written (both header rows joined by `/` for a two-row header).
    pub header: String,
    /// The field it fills, if any.
    pub field: Option<&'static str>,
    /// The unit of money it names, if any.
    pub unit: Option<Unit>,
}

/// Where the table is and what its columns hold.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The first and last header rows, from 0.
    pub header_rows: (usize, usize),
    /// Every non-empty header column.
    pub columns: Vec<Column>,
    /// The unit a title row above the header names (`单位：万元`); 万元 when none does.
    pub unit: Unit,
}

impl Layout {
    /// The column of a field, if the table has one.
    pub fn column_of(&self, field: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.field == Some(field))
    }
}

/// The field a header names, if any.
fn field_of(fields: &'static [Field], header: &str) -> Option<&'static Field> {
    let key = header_key(header);
    if key.is_empty() {
        return None;
    }
    fields.iter().find(|f| f.synonyms.iter().any(|s| header_key(s) == key))
}

fn is_sequence(header: &str) -> bool {
    matches!(header_key(header).as_str(), "序号" | "编号" | "no." | "no" | "#")
}

/// How many cells of row `r` name a field.
fn score(fields: &'static [Field], grid: &Grid, r: usize) -> usize {
    (0..grid.width())
        .filter(|&c| matches!(grid.cell(r, c), Cell::Text(t) if field_of(fields, t).is_some()))
        .count()
}

/// The table in `grid`: the header at `header_row` (from 1) when given, else the row among the first 30 that names
/// the most fields; the row below joins the header when it names fields the header row does not (a two-row header).
/// `mapping` (column letter or header text → field key, empty to ignore) overrides what the headers say.
pub fn detect(
    fields: &'static [Field],
    grid: &Grid,
    header_row: Option<usize>,
    mapping: &HashMap<String, String>,
) -> AppResult<Layout> {
    let (top, last) = header_rows(fields, grid, header_row, !mapping.is_empty())?;
    let columns = columns(fields, grid, (top, last), mapping)?;
    for key in mapping.keys() {
        if column_index(key).is_none() && !columns.iter().any(|c| c.header.split('/').any(|h| h == key)) {
            return Err(AppError::invalid(
                "mapping",
                format!("the mapping names a column the sheet does not have: {key}"),
                format!("映射中的列“{key}”在表中不存在"),
            ));
        }
    }
    let unit = (0..top)
        .flat_map(|r| grid.rows[r].iter())
        .find_map(|c| match c {
            Cell::Text(t) if norm(t).contains("单位") => Unit::named_in(t),
            _ => None,
        })
        .unwrap_or(Unit::Wan);
    Ok(Layout {
        header_rows: (top, last),
        columns,
        unit,
    })
}

/// The first and last header rows (from 0): the one asked for, or the one naming the most fields, with the row
/// below (sub-columns under a group cell) or above (the upper half of merged headers) when it belongs to it.
fn header_rows(
    fields: &'static [Field],
    grid: &Grid,
    header_row: Option<usize>,
    has_mapping: bool,
) -> AppResult<(usize, usize)> {
    let top = match header_row {
        Some(0) => {
            return Err(AppError::invalid(
                "header_row",
                "header_row counts from 1",
                "表头行号从 1 开始",
            ));
        }
        Some(r) => r - 1,
        None => {
            let best = (0..grid.rows.len().min(30)).max_by_key(|&r| (score(fields, grid, r), std::cmp::Reverse(r)));
            match best {
                Some(r) if score(fields, grid, r) >= 2 || has_mapping => r,
                _ => return Err(no_header(&grid.name)),
            }
        }
    };
    let joins = |r: usize| {
        (0..grid.width()).any(|c| {
            let below = grid.cell(r, c);
            let above = grid.cell(r - 1, c);
            matches!(below, Cell::Text(t) if field_of(fields, t).is_some())
                && !matches!(above, Cell::Text(a) if field_of(fields, a).is_some())
        })
    };
    // With merged cells filled in, the lower row of a two-row header names every field; the row above joins it
    // when it names fields too, each the same as below it (or over a blank).
    let same_above = |r: usize| {
        r > 0
            && score(fields, grid, r - 1) > 0
            && (0..grid.width()).all(|c| {
                match grid.cell(r - 1, c) {
            Cell::Text(t) => field_of(fields, t).is_none_or(|f| {
                grid.cell(r, c).is_blank()
                    || matches!(grid.cell(r, c), Cell::Text(b) if field_of(fields, b).is_some_and(|g| g.key == f.key))
            }),
            _ => true,
        }
            })
    };
    Ok(if header_row.is_none() && same_above(top) {
        (top - 1, top)
    } else if top + 1 < grid.rows.len() && joins(top + 1) {
        (top, top + 1)
    } else {
        (top, top)
    })
}

/// The columns under the header rows `top..=last`, each with the field its header (or the mapping) names.
fn columns(
    fields: &'static [Field],
    grid: &Grid,
    (top, last): (usize, usize),
    mapping: &HashMap<String, String>,
) -> AppResult<Vec<Column>> {
    let mut columns = Vec::new();
    for c in 0..grid.width() {
        let cells: Vec<String> = (top..=last)
            .map(|r| {
                grid.cell(r, c)
                    .display()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .filter(|s| !s.is_empty())
            .collect();
        if cells.is_empty() {
            continue;
        }
        let mut unique = cells.clone();
        unique.dedup();
        let header = unique.join("/");
        // The lowest header cell that names a field wins: a sub-column under its group.
        let named = cells.iter().rev().find_map(|h| field_of(fields, h));
        let letter = column_letter(c);
        let field = match mapping
            .get(&letter)
            .or_else(|| unique.iter().find_map(|h| mapping.get(h)))
        {
            Some(key) if key.is_empty() => None,
            Some(key) => Some(
                fields
                    .iter()
                    .find(|f| f.key == key)
                    .map(|f| f.key)
                    .ok_or_else(|| unknown_field(key))?,
            ),
            None if is_sequence(&header) => None,
            None => named.map(|f| f.key),
        };
        columns.push(Column {
            index: c,
            unit: cells.iter().rev().find_map(|h| Unit::named_in(h)),
            header,
            field,
        });
    }
    Ok(columns)
}

fn no_header(sheet: &str) -> AppError {
    AppError::rule(
        Code::HeaderNotFound,
        Some("file"),
        Msg::new(
            format!(
                "no header row naming the dataset's columns was found in sheet {sheet}; give header_row or mapping"
            ),
            format!("工作表“{sheet}”中找不到表头(如“项目名称”“企业名称”),请指定表头行或列映射"),
        ),
    )
}

fn unknown_field(key: &str) -> AppError {
    AppError::invalid(
        "mapping",
        format!("the mapping names an unknown field: {key}"),
        format!("映射中的字段“{key}”不存在"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    static FIELDS: &[Field] = &[
        Field {
            key: "name",
            label: "项目名称",
            synonyms: &["项目名称", "项目"],
            kind: Kind::Text,
            required: true,
            example: "",
        },
        Field {
            key: "company",
            label: "企业名称",
            synonyms: &["企业名称", "投资方"],
            kind: Kind::Text,
            required: true,
            example: "",
        },
        Field {
            key: "investment",
            label: "协议投资额",
            synonyms: &["协议投资额", "计划总投资"],
            kind: Kind::Amount,
            required: false,
            example: "",
        },
        Field {
            key: "signed_on",
            label: "签约时间",
            synonyms: &["签约时间"],
            kind: Kind::Date,
            required: false,
            example: "",
        },
        Field {
            key: "started_on",
            label: "开工时间",
            synonyms: &["开工时间"],
            kind: Kind::Date,
            required: false,
            example: "",
        },
    ];

    fn grid(rows: &[&[&str]]) -> Grid {
        Grid {
            name: "表1".into(),
            rows: rows
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|s| {
                            if s.is_empty() {
                                Cell::Empty
                            } else {
                                Cell::Text((*s).into())
                            }
                        })
                        .collect()
                })
                .collect(),
        }
    }

    #[test]
    fn a_two_row_header_under_titles() {
        let g = grid(&[
            &["2024年重点招商项目台账"],
            &["单位：亿元"],
            &["序号", "项目名称", "投资方", "计划总投资", "时间节点", ""],
            &["", "", "", "", "签约时间", "开工时间"],
            &["1", "新能源", "精诚科技", "2", "2024-01-02", ""],
        ]);
        let l = detect(FIELDS, &g, None, &HashMap::new()).unwrap();
        assert_eq!(l.header_rows, (2, 3));
        assert_eq!(l.unit, Unit::Yi);
        let fields: Vec<_> = l.columns.iter().map(|c| c.field).collect();
        assert_eq!(
            fields,
            [
                None,
                Some("name"),
                Some("company"),
                Some("investment"),
                Some("signed_on"),
                Some("started_on")
            ]
        );
        assert_eq!(l.columns[4].header, "时间节点/签约时间");
    }

    #[test]
    fn a_mapping_overrides_headers() {
        let g = grid(&[&["名称", "单位名"], &["新能源", "精诚科技"]]);
        assert!(detect(FIELDS, &g, None, &HashMap::new()).is_err());
        let m = HashMap::from([
            ("A".to_owned(), "name".to_owned()),
            ("单位名".to_owned(), "company".to_owned()),
        ]);
        let l = detect(FIELDS, &g, Some(1), &m).unwrap();
        assert_eq!(l.column_of("company").unwrap().index, 1);
    }
}

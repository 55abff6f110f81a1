//! What an import tells its caller: the same report for a preview and a commit, every problem at the sheet's own
//! row number and column letter, and the rows the UI's preview shows.

use serde::Serialize;

use super::{
    layout::{self, Layout},
    sheet::{Grid, column_letter},
    skip_reason,
};

/// A problem with one row (and cell) of the sheet.
#[derive(Debug, Clone, Serialize)]
pub struct Issue {
    /// The sheet's row number, from 1.
    pub row: usize,
    /// The column letter, when one cell is at fault.
    pub column: Option<String>,
    /// The value as written.
    pub value: Option<String>,
    /// Machine code.
    pub code: String,
    /// What is wrong, in Chinese.
    pub message: String,
}

impl Issue {
    /// A problem at a row and, if known, a column.
    pub fn at(row: usize, column: Option<String>, value: Option<&str>, code: &str, message: String) -> Issue {
        Issue {
            row,
            column,
            value: value.map(str::to_owned),
            code: code.to_owned(),
            message,
        }
    }
}

/// A column of the sheet and the field it was read into.
#[derive(Debug, Clone, Serialize)]
pub struct MappedColumn {
    /// Column letter.
    pub column: String,
    /// Its header as written.
    pub header: String,
    /// The field it fills (none for an ignored column).
    pub field: Option<String>,
}

/// What an import did, or would do: the same shape for a preview and a commit.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The dataset.
    pub dataset: String,
    /// Whether anything was written.
    pub committed: bool,
    /// The recorded batch, when committed.
    pub batch_id: Option<i64>,
    /// The file's name.
    pub file_name: String,
    /// The file's SHA-256, hex.
    pub sha256: String,
    /// The sheet read.
    pub sheet: String,
    /// Every sheet of the file.
    pub sheets: Vec<String>,
    /// The header's rows, from 1 (two for a two-row header).
    pub header_rows: Vec<usize>,
    /// The columns read, with their fields.
    pub columns: Vec<MappedColumn>,
    /// The columns with a header no field knows.
    pub ignored: Vec<MappedColumn>,
    /// Rows below the header.
    pub rows: usize,
    /// Records created.
    pub created: usize,
    /// Records changed.
    pub updated: usize,
    /// Rows matching a record as it is.
    pub unchanged: usize,
    /// Blank, total (合计/小计) and note rows.
    pub skipped: usize,
    /// Rows with at least one error (a commit that skips errors leaves them out).
    pub error_rows: usize,
    /// Companies created for the rows.
    pub companies_created: usize,
    /// Problems that keep a row out, by row and column.
    pub errors: Vec<Issue>,
    /// Things worth a look that did not keep a row out.
    pub warnings: Vec<Issue>,
    /// Rows of the sheet to show beside the report (the UI's preview): every row with an error (up to 200),
    /// else the first 20, in the read columns.
    #[serde(skip)]
    pub sample: Vec<SampleRow>,
}

/// A row of the sheet as the preview shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SampleRow {
    /// The sheet's row number.
    pub row: usize,
    /// The cells of the read columns, each with its errors' messages.
    pub cells: Vec<(String, Option<String>)>,
}

/// The rows the preview shows: those with errors, or the first data rows when none has one.
pub(super) fn sample(grid: &Grid, layout: &Layout, first: usize, errors: &[Issue]) -> Vec<SampleRow> {
    let mut lines: Vec<usize> = errors.iter().map(|e| e.row).collect();
    lines.dedup();
    lines.truncate(200);
    if lines.is_empty() {
        lines = (first + 1..=grid.rows.len())
            .filter(|l| skip_reason(grid, l - 1).is_none())
            .take(20)
            .collect();
    }
    let read: Vec<&layout::Column> = layout.columns.iter().filter(|c| c.field.is_some()).collect();
    lines
        .into_iter()
        .map(|line| SampleRow {
            row: line,
            cells: read
                .iter()
                .map(|c| {
                    let letter = column_letter(c.index);
                    let messages: Vec<&str> = errors
                        .iter()
                        .filter(|e| e.row == line && e.column.as_deref() == Some(letter.as_str()))
                        .map(|e| e.message.as_str())
                        .collect();
                    (
                        grid.cell(line - 1, c.index).display(),
                        (!messages.is_empty()).then(|| messages.join(";")),
                    )
                })
                .collect(),
        })
        .collect()
}

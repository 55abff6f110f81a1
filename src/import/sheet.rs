//! Reading a ledger file into a grid of cells: XLSX (and the other formats calamine reads) or CSV in UTF-8 or
//! GB18030. Merged cells are filled with their top-left value, so a company merged over the rows of its projects,
//! or a header merged over two rows, reads as if written in every cell.

use std::io::Cursor;

use calamine::{Data, DataType, Reader, Sheets, open_workbook_auto_from_rs};
use chrono::NaiveDate;

use crate::service::{AppError, AppResult, Code, Msg};

/// A cell as the import reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Nothing.
    Empty,
    /// Text, as written.
    Text(String),
    /// A number.
    Number(f64),
    /// A real spreadsheet date.
    Date(NaiveDate),
}

impl Cell {
    /// Whether the cell holds nothing but spaces.
    pub fn is_blank(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(t) => t.trim().is_empty(),
            _ => false,
        }
    }

    /// The cell as a person reads it.
    pub fn display(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(t) => t.trim().to_owned(),
            Cell::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
            Cell::Number(n) => n.to_string(),
            Cell::Date(d) => d.to_string(),
        }
    }
}

/// One sheet: its name and its cells by row and column, from the sheet's first row and column.
pub struct Grid {
    /// The sheet's name (the file name's stem for a CSV).
    pub name: String,
    /// Rows of cells; row `i` is the sheet's row `i + 1`.
    pub rows: Vec<Vec<Cell>>,
}

impl Grid {
    /// The cell at row `r`, column `c` (from 0), empty beyond the data.
    pub fn cell(&self, r: usize, c: usize) -> &Cell {
        self.rows.get(r).and_then(|row| row.get(c)).unwrap_or(&Cell::Empty)
    }

    /// The number of columns of the widest row.
    pub fn width(&self) -> usize {
        self.rows.iter().map(Vec::len).max().unwrap_or(0)
    }
}

/// The column letters of a column index from 0: A, B, …, Z, AA, ….
pub fn column_letter(mut c: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (c % 26) as u8);
        if c < 26 {
            break;
        }
        c = c / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// The column index of column letters (`B` → 1), if they are letters.
pub fn column_index(letters: &str) -> Option<usize> {
    if letters.is_empty() || letters.len() > 3 || !letters.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let n = letters
        .bytes()
        .fold(0usize, |n, b| n * 26 + usize::from(b.to_ascii_uppercase() - b'A') + 1);
    Some(n - 1)
}

fn unreadable(en: String, zh: String) -> AppError {
    AppError::BadRequest {
        code: Code::UnreadableFile,
        msg: Msg::new(en, zh),
        field: Some("file".into()),
    }
}

/// The sheets of a file: a workbook's sheets in order, or the one table of a CSV file.
pub fn read(file_name: &str, bytes: &[u8]) -> AppResult<Vec<Grid>> {
    let lower = file_name.to_lowercase();
    if lower.ends_with(".csv") || lower.ends_with(".txt") {
        let stem = file_name.rsplit_once('.').map_or(file_name, |(s, _)| s);
        return Ok(vec![read_csv(stem, bytes)?]);
    }
    read_workbook(bytes)
}

fn read_workbook(bytes: &[u8]) -> AppResult<Vec<Grid>> {
    let mut book = open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|e| {
        unreadable(
            format!("the file is neither a workbook (XLSX, XLS, ODS) nor a CSV file: {e}"),
            "无法读取该文件:请上传 Excel 工作簿(.xlsx)或 CSV 文件".into(),
        )
    })?;
    let names = book.sheet_names();
    let mut grids = Vec::with_capacity(names.len());
    for name in names {
        let range = book.worksheet_range(&name).map_err(|e| {
            unreadable(
                format!("sheet {name} cannot be read: {e}"),
                format!("无法读取工作表“{name}”"),
            )
        })?;
        let mut rows: Vec<Vec<Cell>> = Vec::new();
        if let Some((r0, c0)) = range.start() {
            let (r0, c0) = (r0 as usize, c0 as usize);
            rows.resize(r0, Vec::new());
            for row in range.rows() {
                let mut cells = vec![Cell::Empty; c0];
                cells.extend(row.iter().map(cell_of));
                rows.push(cells);
            }
        }
        fill_merged(&mut book, &name, &mut rows);
        grids.push(Grid { name, rows });
    }
    Ok(grids)
}

fn cell_of(d: &Data) -> Cell {
    match d {
        Data::Empty | Data::Error(_) => Cell::Empty,
        Data::String(s) => Cell::Text(s.clone()),
        Data::Int(i) => Cell::Number(*i as f64),
        Data::Float(f) => Cell::Number(*f),
        Data::Bool(b) => Cell::Text(if *b { "是" } else { "否" }.into()),
        Data::DateTime(_) | Data::DateTimeIso(_) => d.as_date().map_or(Cell::Empty, Cell::Date),
        Data::DurationIso(s) => Cell::Text(s.clone()),
    }
}

/// Writes the value of each merged region's top-left cell into the region's other cells.
fn fill_merged(book: &mut Sheets<Cursor<&[u8]>>, name: &str, rows: &mut [Vec<Cell>]) {
    let Sheets::Xlsx(x) = book else { return };
    let Some(Ok(regions)) = x.worksheet_merge_cells(name) else {
        return;
    };
    for d in regions {
        let (r0, c0) = (d.start.0 as usize, d.start.1 as usize);
        let Some(value) = rows.get(r0).and_then(|r| r.get(c0)).cloned() else {
            continue;
        };
        for r in r0..=(d.end.0 as usize).min(rows.len().saturating_sub(1)) {
            let row = &mut rows[r];
            let end = d.end.1 as usize;
            if row.len() <= end {
                row.resize(end + 1, Cell::Empty);
            }
            for cell in &mut row[c0..=end] {
                if cell.is_blank() {
                    *cell = value.clone();
                }
            }
        }
    }
}

/// A CSV file in UTF-8 (with or without a byte-order mark) or, when it is not valid UTF-8, GB18030 (what Excel
/// writes on a Chinese Windows).
fn read_csv(name: &str, bytes: &[u8]) -> AppResult<Grid> {
    let text = match std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)) {
        Ok(t) => std::borrow::Cow::Borrowed(t),
        Err(_) => {
            let (t, _, bad) = encoding_rs::GB18030.decode(bytes);
            if bad {
                return Err(unreadable(
                    "the CSV file is neither UTF-8 nor GB18030 text".into(),
                    "CSV 文件的编码无法识别(应为 UTF-8 或 GB18030)".into(),
                ));
            }
            t
        }
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for record in reader.records() {
        let record =
            record.map_err(|e| unreadable(format!("the CSV file is malformed: {e}"), "CSV 文件格式有误".into()))?;
        rows.push(
            record
                .iter()
                .map(|s| {
                    if s.trim().is_empty() {
                        Cell::Empty
                    } else {
                        Cell::Text(s.to_owned())
                    }
                })
                .collect(),
        );
    }
    Ok(Grid {
        name: name.to_owned(),
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters_round_trip() {
        for (i, l) in [
            (0, "A"),
            (1, "B"),
            (25, "Z"),
            (26, "AA"),
            (27, "AB"),
            (701, "ZZ"),
            (702, "AAA"),
        ] {
            assert_eq!(column_letter(i), l);
            assert_eq!(column_index(l), Some(i));
        }
        assert_eq!(column_index("项目"), None);
    }

    #[test]
    fn gb18030_csv_is_read() {
        let (bytes, _, _) = encoding_rs::GB18030.encode("项目名称,企业名称\n新能源项目,精诚科技\n");
        let g = read("台账.csv", &bytes).unwrap();
        assert_eq!(g[0].name, "台账");
        assert_eq!(g[0].cell(1, 1), &Cell::Text("精诚科技".into()));
    }
}

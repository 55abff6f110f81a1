//! The file formats of exports: CSV (UTF-8 with BOM, RFC 4180), JSON (an array of objects with English keys),
//! XLSX (typed cells). CSV and JSON are encoded as a stream of byte chunks, so a million rows never sit in memory.
//!
//! Every text cell that a spreadsheet could run as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a CR) is
//! neutralised with a leading apostrophe in CSV and XLSX.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use futures_util::{Stream, StreamExt, TryStreamExt, stream};

use super::{Cell, Column, Dataset, Rows};

/// File format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum Format {
    /// CSV, UTF-8 with BOM, Chinese headers.
    Csv,
    /// Excel workbook, typed cells, Chinese headers.
    Xlsx,
    /// JSON array with English keys.
    Json,
}

impl Format {
    /// The file extension.
    pub fn ext(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Json => "json",
        }
    }

    /// The format an `Accept` header asks for; CSV when it names none of ours.
    pub fn from_accept(accept: Option<&str>) -> Format {
        match accept {
            Some(a) if a.contains("spreadsheetml") => Format::Xlsx,
            Some(a) if a.contains("application/json") => Format::Json,
            _ => Format::Csv,
        }
    }

    /// The format named `csv`, `xlsx` or `json`.
    pub fn from_name(name: &str) -> Option<Format> {
        [Format::Csv, Format::Xlsx, Format::Json]
            .into_iter()
            .find(|f| f.ext() == name)
    }

    /// The content type.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => XLSX_TYPE,
            Format::Json => "application/json; charset=utf-8",
        }
    }
}

/// The content type of XLSX files.
pub const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Most rows one worksheet holds.
const XLSX_MAX_ROWS: usize = 1_048_575;

/// Rows per encoded chunk of CSV or JSON.
const BATCH: usize = 500;

/// An export being encoded: its bytes, and the number of rows encoded so far (all of them once the bytes have
/// ended).
pub struct Encoded {
    /// The file, a chunk at a time.
    pub bytes: std::pin::Pin<Box<dyn Stream<Item = anyhow::Result<Vec<u8>>> + Send>>,
    /// Rows encoded so far.
    pub rows: Arc<AtomicU64>,
}

impl Encoded {
    /// The number of rows encoded so far.
    pub fn count(&self) -> u64 {
        self.rows.load(Ordering::Relaxed)
    }
}

/// Encodes the rows of `set` in `format`. XLSX is built whole (in the blocking pool) before its one chunk.
pub async fn encode(set: Dataset, format: Format, rows: Rows) -> anyhow::Result<Encoded> {
    let count = Arc::new(AtomicU64::new(0));
    let columns = set.columns();
    if format == Format::Xlsx {
        let all: Vec<_> = rows.take(XLSX_MAX_ROWS).try_collect().await?;
        count.store(all.len() as u64, Ordering::Relaxed);
        let title = set.names().1;
        let bytes = tokio::task::spawn_blocking(move || xlsx(&columns, title, &all)).await??;
        return Ok(Encoded {
            bytes: Box::pin(stream::once(async { Ok(bytes) })),
            rows: count,
        });
    }
    let json = format == Format::Json;
    let head = if json { b"[".to_vec() } else { csv_head(&columns)? };
    let counted = count.clone();
    let chunks = rows.chunks(BATCH).map(move |batch| -> anyhow::Result<Vec<u8>> {
        let batch: Vec<_> = batch.into_iter().collect::<anyhow::Result<_>>()?;
        let before = counted.fetch_add(batch.len() as u64, Ordering::Relaxed);
        if !json {
            return csv_lines(&batch);
        }
        let mut out = Vec::new();
        for (i, r) in batch.iter().enumerate() {
            if before + i as u64 > 0 {
                out.push(b',');
            }
            serde_json::to_writer(&mut out, &json_row(&columns, r))?;
        }
        Ok(out)
    });
    let tail = stream::once(async move { Ok(if json { b"]".to_vec() } else { Vec::new() }) });
    Ok(Encoded {
        bytes: Box::pin(stream::once(async { Ok(head) }).chain(chunks).chain(tail)),
        rows: count,
    })
}

/// Neutralises a text a spreadsheet could run as a formula.
pub fn neutralise(s: &str) -> std::borrow::Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}").into(),
        _ => s.into(),
    }
}

/// A cell as CSV text.
fn csv_text(cell: &Cell) -> String {
    match cell {
        Cell::Null => String::new(),
        Cell::Text(s) => neutralise(s).into_owned(),
        Cell::Enum(_, zh) => (*zh).to_owned(),
        Cell::Int(i) => i.to_string(),
        Cell::Date(d) => d.to_string(),
        Cell::Money(y) => entity::money::wan(*y).to_string(),
        Cell::Dollars(c) => entity::money::wan_usd(*c).to_string(),
        Cell::Float(v) => v.to_string(),
        Cell::Bool(b) => if *b { "是" } else { "否" }.to_owned(),
    }
}

/// A cell as JSON.
fn json_value(cell: &Cell) -> serde_json::Value {
    match cell {
        Cell::Null => serde_json::Value::Null,
        Cell::Text(s) => s.clone().into(),
        Cell::Enum(v, _) => v.clone().into(),
        Cell::Int(i) => (*i).into(),
        Cell::Date(d) => d.to_string().into(),
        Cell::Money(y) => entity::money::wan(*y).to_string().into(),
        Cell::Dollars(c) => entity::money::wan_usd(*c).to_string().into(),
        Cell::Float(v) => serde_json::Number::from_f64(*v).map_or(serde_json::Value::Null, Into::into),
        Cell::Bool(b) => (*b).into(),
    }
}

fn csv_writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new())
}

/// CSV lines for a batch of rows (RFC 4180 quoting).
pub fn csv_lines(rows: &[Vec<Cell>]) -> anyhow::Result<Vec<u8>> {
    let mut w = csv_writer();
    for r in rows {
        w.write_record(r.iter().map(csv_text))?;
    }
    w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}

/// The BOM and header line of a CSV export.
pub fn csv_head(columns: &[Column]) -> anyhow::Result<Vec<u8>> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    let mut w = csv_writer();
    w.write_record(columns.iter().map(|c| c.header))?;
    out.extend(w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?);
    Ok(out)
}

/// One JSON object for a row, keyed by the English column keys.
pub fn json_row(columns: &[Column], row: &[Cell]) -> serde_json::Value {
    serde_json::Value::Object(
        columns
            .iter()
            .zip(row)
            .map(|(c, v)| (c.key.to_owned(), json_value(v)))
            .collect(),
    )
}

/// The whole XLSX workbook for rows: typed cells (dates as dates, money as numbers in 万元), a frozen header row,
/// widths that fit.
pub fn xlsx(columns: &[Column], title: &str, rows: &[Vec<Cell>]) -> anyhow::Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let headers: Vec<(&str, f64)> = columns.iter().map(|c| (c.header, c.width)).collect();
    let sheet = jobs::xlsx::sheet(&mut book, title, &headers)?;
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let money = Format::new().set_num_format("#,##0.0000");
    let dollars = Format::new().set_num_format("#,##0.00####");
    for (r, row) in rows.iter().enumerate() {
        let r = u32::try_from(r + 1)?;
        for (i, cell) in row.iter().enumerate() {
            let i = u16::try_from(i)?;
            match cell {
                Cell::Null => {}
                Cell::Text(s) => {
                    sheet.write_string(r, i, neutralise(s))?;
                }
                Cell::Enum(_, zh) => {
                    sheet.write_string(r, i, *zh)?;
                }
                Cell::Int(v) => {
                    sheet.write_number(r, i, *v as f64)?;
                }
                Cell::Date(d) => {
                    sheet.write_date_with_format(r, i, d, &date)?;
                }
                // 万元 with four decimals: whole yuan, exact in an f64 far beyond any park's budget.
                Cell::Money(y) => {
                    sheet.write_number_with_format(r, i, entity::money::wan_f64(*y), &money)?;
                }
                // 万美元 to the cent: six decimals.
                Cell::Dollars(c) => {
                    sheet.write_number_with_format(r, i, entity::money::wan_usd_f64(*c), &dollars)?;
                }
                Cell::Bool(b) => {
                    sheet.write_string(r, i, if *b { "是" } else { "否" })?;
                }
                Cell::Float(v) => {
                    sheet.write_number(r, i, *v)?;
                }
            }
        }
    }
    Ok(book.save_to_buffer()?)
}

/// `attachment; filename="…"; filename*=UTF-8''…` (RFC 6266) for a Chinese file name with an ASCII fallback.
pub fn content_disposition(ascii: &str, chinese: &str) -> String {
    // RFC 5987 attr-chars stay as they are; everything else is percent-encoded.
    const ENCODE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    let encoded = percent_encoding::utf8_percent_encode(chinese, ENCODE).to_string();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        for bad in ["=1+1", "+86 138", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(neutralise(bad).starts_with('\''), "{bad}");
        }
        assert_eq!(neutralise("万维无人机"), "万维无人机");
        assert_eq!(neutralise(""), "");
    }

    #[test]
    fn csv_quotes_and_bom() {
        let head = csv_head(&Dataset::Outreach.columns()).unwrap();
        assert!(head.starts_with(b"\xEF\xBB\xBF\xE7\xBC\x96\xE5\x8F\xB7,"));
        let lines = csv_lines(&[vec![
            Cell::Text("a,\"b\"".into()),
            Cell::Money(12_345),
            Cell::Bool(true),
        ]])
        .unwrap();
        assert_eq!(String::from_utf8(lines).unwrap(), "\"a,\"\"b\"\"\",1.2345,是\r\n");
    }

    #[test]
    fn disposition_has_both_names() {
        assert_eq!(
            content_disposition("visits.csv", "来访接待.csv"),
            "attachment; filename=\"visits.csv\"; filename*=UTF-8''%E6%9D%A5%E8%AE%BF%E6%8E%A5%E5%BE%85.csv"
        );
    }
}

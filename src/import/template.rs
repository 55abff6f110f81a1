//! The XLSX template of a dataset (`GET /api/v1/imports/templates/{dataset}`): a title row, the Chinese headers
//! the import recognises, an example row, and a sheet of notes on what each column takes.

use rust_xlsxwriter::{Format, Workbook, XlsxError};

use super::{
    Dataset,
    layout::{Field, Kind},
};
use crate::service::{AppError, AppResult};

fn note(f: &Field) -> String {
    let what: std::borrow::Cow<str> = match f.kind {
        Kind::Text => "文本".into(),
        Kind::Date => "日期,如 2024-03-15、2024/3/15、2024年3月15日;只写月份按该月1日计".into(),
        Kind::Amount => "金额,单位见表头;也可写“1.2亿”“3000万元”".into(),
        Kind::YesNo => "是/否(也可写 √、Y/N)".into(),
        Kind::Number => "数字".into(),
        Kind::Word => match super::value::words::of(f.label) {
            Some(words) => format!("以下之一:{words}(常见的近义写法也能识别)").into(),
            None => "文字".into(),
        },
    };
    let also = f
        .synonyms
        .iter()
        .skip(1)
        .take(6)
        .copied()
        .collect::<Vec<_>>()
        .join("、");
    format!("{}{what}。表头也可写作:{also}", if f.required { "必填。" } else { "" })
}

fn book(dataset: Dataset) -> Result<Vec<u8>, XlsxError> {
    let fields = dataset.fields();
    let mut wb = Workbook::new();
    let title = Format::new().set_bold().set_font_size(14);
    let head = Format::new()
        .set_bold()
        .set_background_color("#DDEBF7")
        .set_border(rust_xlsxwriter::FormatBorder::Thin);
    let ws = wb.add_worksheet().set_name(dataset.label())?;
    ws.write_string_with_format(0, 0, format!("{}(导入模板)", dataset.label()), &title)?;
    if fields.iter().any(|f| f.kind == Kind::Amount) {
        ws.write_string(1, 0, "单位:万元")?;
    }
    ws.write_string(2, 0, "序号")?;
    ws.write_number(3, 0, 1)?;
    for (i, f) in fields.iter().enumerate() {
        let col = (i + 1) as u16;
        ws.write_string_with_format(2, col, f.label, &head)?;
        ws.write_string(3, col, f.example)?;
        ws.set_column_width(col, if f.kind == Kind::Text { 22 } else { 14 })?;
    }
    let notes = wb.add_worksheet().set_name("填写说明")?;
    notes.write_string_with_format(0, 0, "列", &head)?;
    notes.write_string_with_format(0, 1, "说明", &head)?;
    notes.set_column_width(0, 22)?;
    notes.set_column_width(1, 100)?;
    for (i, f) in fields.iter().enumerate() {
        notes.write_string((i + 1) as u32, 0, f.label)?;
        notes.write_string((i + 1) as u32, 1, note(f))?;
    }
    let tail = fields.len() as u32 + 2;
    notes.write_string(tail, 0, "其他")?;
    notes.write_string(
        tail,
        1,
        "表头上方可有标题行;序号列、空行、合计/小计行与表下的注释会被跳过;同一企业按统一社会信用代码或名称归并;重复导入同一文件不会重复登记。",
    )?;
    wb.save_to_buffer()
}

/// The template workbook of a dataset.
pub fn xlsx(dataset: Dataset) -> AppResult<Vec<u8>> {
    book(dataset).map_err(|e| AppError::Internal(anyhow::anyhow!("the import template could not be written: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_column_of_fixed_values_names_its_own_words() {
        for (_, dataset) in Dataset::ALL {
            for f in dataset.fields() {
                if f.kind == Kind::Word {
                    let words = super::super::value::words::of(f.label)
                        .unwrap_or_else(|| panic!("{} of {}: no words", f.label, dataset.label()));
                    assert!(note(f).contains(words), "{}: {}", f.label, note(f));
                }
            }
        }
        let origin = Dataset::Projects
            .fields()
            .iter()
            .find(|f| f.label == "资本来源")
            .unwrap();
        assert!(note(origin).contains("内资、外资、港澳台资"), "{}", note(origin));
        assert!(!note(origin).contains("来访接待"), "{}", note(origin));
    }
}

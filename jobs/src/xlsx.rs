//! The look every workbook shares (exports and the weekly report's attachment): a bold header row on light blue,
//! frozen, with column widths that fit.

use rust_xlsxwriter::{Format, FormatAlign, Workbook, Worksheet, XlsxError};

/// Adds a sheet named `name` whose first row holds `headers` (text, width in characters), frozen.
pub fn sheet<'b>(book: &'b mut Workbook, name: &str, headers: &[(&str, f64)]) -> Result<&'b mut Worksheet, XlsxError> {
    let head = Format::new()
        .set_bold()
        .set_background_color("#DDEBF7")
        .set_align(FormatAlign::Center);
    let ws = book.add_worksheet();
    ws.set_name(name)?;
    for (i, (h, w)) in headers.iter().enumerate() {
        let col = u16::try_from(i).map_err(|_| XlsxError::ParameterError("too many columns".into()))?;
        ws.write_string_with_format(0, col, *h, &head)?;
        ws.set_column_width(col, *w)?;
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(ws)
}

//! Writes the control matrix workbook: every sheet of `assure_report::matrix::Matrix` with a
//! title block, a frozen bold header row, an autofilter, set column widths, real dates and real
//! numbers, and no formulas. The file's creation time is the as-of date, so the same inputs give
//! the same bytes.

#![warn(missing_docs)]

use assure_report::matrix::{Cell, Matrix};
use chrono::Datelike;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook, XlsxError};

/// Excel's limit on rows per sheet.
pub const MAX_ROWS: usize = 1_048_576;
/// Excel's limit on characters per cell.
pub const MAX_CELL_CHARS: usize = 32_767;

/// Why a workbook could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the workbook: {0}")]
pub struct XlsxWriteError(#[from] XlsxError);

fn excel_date(d: chrono::NaiveDate) -> Result<ExcelDateTime, XlsxError> {
    let year = u16::try_from(d.year()).map_err(|_| XlsxError::ParameterError(format!("year of {d} out of range")))?;
    ExcelDateTime::from_ymd(year, d.month() as u8, d.day() as u8)
}

fn clip(s: &str) -> String {
    if s.chars().count() <= MAX_CELL_CHARS {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(MAX_CELL_CHARS - 40).collect();
        out.push_str(" … (truncated; see the ledger)");
        out
    }
}

/// Escapes `&` in text printed in a header or footer (Excel reads `&` as a control code).
fn escape_hf(s: &str) -> String {
    s.replace('&', "&&")
}

/// Writes the workbook to bytes.
pub fn write(m: &Matrix) -> Result<Vec<u8>, XlsxWriteError> {
    let mut wb = Workbook::new();
    let created = excel_date(m.as_of)?;
    wb.set_properties(
        &DocProperties::new()
            .set_title("Control matrix and request list")
            .set_company(&m.organization)
            .set_author("Assure")
            .set_creation_datetime(&created),
    );
    let title = Format::new().set_bold().set_font_size(13);
    let label = Format::new().set_bold().set_font_color("#44546A");
    let header = Format::new()
        .set_bold()
        .set_background_color("#DCE6F1")
        .set_border_bottom(FormatBorder::Thin)
        .set_text_wrap()
        .set_align(FormatAlign::Top);
    let wrap = Format::new().set_text_wrap().set_align(FormatAlign::Top);
    let date = Format::new()
        .set_num_format("yyyy-mm-dd")
        .set_align(FormatAlign::Top)
        .set_align(FormatAlign::Left);
    let number = Format::new().set_align(FormatAlign::Top);
    for sheet in &m.sheets {
        let ws = wb.add_worksheet();
        ws.set_name(&sheet.name)?;
        ws.write_string_with_format(0, 0, &sheet.name, &title)?;
        let mut row: u32 = 1;
        for (k, v) in &sheet.preface {
            ws.write_string_with_format(row, 0, k, &label)?;
            ws.write_string(row, 1, clip(v))?;
            row += 1;
        }
        row += 1;
        let head = row;
        for (c, h) in sheet.headers.iter().enumerate() {
            let c = u16::try_from(c).map_err(|_| XlsxError::ParameterError("too many columns".into()))?;
            ws.write_string_with_format(head, c, h, &header)?;
        }
        for (c, w) in sheet.widths.iter().enumerate() {
            let c = u16::try_from(c).map_err(|_| XlsxError::ParameterError("too many columns".into()))?;
            ws.set_column_width(c, f64::from(*w))?;
        }
        let room = MAX_ROWS - head as usize - 2;
        let rows = &sheet.rows[..sheet.rows.len().min(room)];
        for (i, r) in rows.iter().enumerate() {
            let y = head + 1 + u32::try_from(i).map_err(|_| XlsxError::ParameterError("too many rows".into()))?;
            for (c, cell) in r.iter().enumerate() {
                let c = u16::try_from(c).map_err(|_| XlsxError::ParameterError("too many columns".into()))?;
                match cell {
                    Cell::Text(s) => {
                        ws.write_string_with_format(y, c, clip(s), &wrap)?;
                    }
                    Cell::Int(n) => {
                        ws.write_number_with_format(y, c, *n as f64, &number)?;
                    }
                    Cell::Date(d) => {
                        ws.write_datetime_with_format(y, c, excel_date(*d)?, &date)?;
                    }
                    Cell::Empty => {}
                }
            }
        }
        if sheet.rows.len() > rows.len() {
            let y = head + 1 + u32::try_from(rows.len()).unwrap_or(u32::MAX - 1);
            ws.write_string(
                y,
                0,
                format!(
                    "{} more rows do not fit in a worksheet; the full population is in the ledger's test run",
                    sheet.rows.len() - rows.len()
                ),
            )?;
        }
        let last_col = u16::try_from(sheet.headers.len().saturating_sub(1)).unwrap_or(0);
        let last_row = head + u32::try_from(rows.len()).unwrap_or(0);
        ws.autofilter(head, 0, last_row, last_col)?;
        ws.set_freeze_panes(head + 1, 0)?;
        // Printed, a sheet is landscape, one page wide (as many pages tall as it takes), with the
        // header row repeated on every page and the sheet's name and page numbers in the margins.
        ws.set_landscape();
        ws.set_print_fit_to_pages(1, 0);
        ws.set_repeat_rows(head, head)?;
        ws.set_print_gridlines(true);
        ws.set_header(format!(
            "&L&\"-,Bold\"{}&R{}",
            escape_hf(&m.organization),
            escape_hf(&sheet.name)
        ));
        ws.set_footer(format!("&LAs of {}&CPage &P of &N", m.as_of));
    }
    Ok(wb.save_to_buffer()?)
}

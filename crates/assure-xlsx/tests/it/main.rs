//! The workbook read back by calamine, a reader independent of the writer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on purpose"
)]

use assure_report::matrix::{Cell, Matrix, Sheet};
use calamine::{Data, Reader, Xlsx};
use chrono::NaiveDate;

fn matrix() -> Matrix {
    let d = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
    Matrix {
        organization: "Acme".into(),
        as_of: d,
        sheets: vec![
            Sheet {
                name: "Control matrix".into(),
                preface: vec![("Organization".into(), "Acme".into())],
                headers: vec!["Control".into(), "Population".into(), "Due".into(), "Note".into()],
                widths: vec![10, 10, 12, 30],
                rows: vec![
                    vec![
                        Cell::Text("AC-01".into()),
                        Cell::Int(171),
                        Cell::Date(d),
                        Cell::Text("=SUM(A1:A2)".into()),
                    ],
                    vec![
                        Cell::Text("AC-02".into()),
                        Cell::Empty,
                        Cell::Empty,
                        Cell::Text("x".repeat(40_000)),
                    ],
                ],
            },
            Sheet {
                name: "Request list".into(),
                preface: vec![],
                headers: vec!["Request".into()],
                widths: vec![9],
                rows: vec![],
            },
        ],
    }
}

#[test]
fn sheets_headers_numbers_dates_and_text_read_back() {
    let bytes = assure_xlsx::write(&matrix()).unwrap();
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(wb.sheet_names(), ["Control matrix", "Request list"]);
    let r = wb.worksheet_range("Control matrix").unwrap();
    // Title, one preface line, a blank line, then the header row.
    assert_eq!(r.get_value((3, 0)), Some(&Data::String("Control".into())));
    assert_eq!(r.get_value((4, 1)), Some(&Data::Float(171.0)));
    match r.get_value((4, 2)) {
        Some(Data::DateTime(dt)) => assert_eq!(
            dt.as_datetime().unwrap().date(),
            NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()
        ),
        other => panic!("the due date is not a real date: {other:?}"),
    }
    // Text that looks like a formula stays text: nothing depends on the reader recalculating.
    assert_eq!(r.get_value((4, 3)), Some(&Data::String("=SUM(A1:A2)".into())));
    // Cells are capped at Excel's limit, with a pointer to the full record.
    match r.get_value((5, 3)) {
        Some(Data::String(s)) => {
            assert!(s.chars().count() <= assure_xlsx::MAX_CELL_CHARS);
            assert!(s.ends_with("(truncated; see the ledger)"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn same_matrix_same_bytes() {
    assert_eq!(
        assure_xlsx::write(&matrix()).unwrap(),
        assure_xlsx::write(&matrix()).unwrap()
    );
}

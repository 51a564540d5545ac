//! The canonical connectors: files whose columns are the canonical table's own
//! (`design/evidence-tables.md`), in CSV, a JSON array, NDJSON, an Excel workbook or Parquet. The
//! table is told from the columns (or named with `--table`); values are checked as text, whatever
//! the format, by one validator (`crate::read`). One generic connector per format: the formats
//! differ only in how rows are read, which `crate::read` owns.

use super::{Connector, Fixture, Kind};
use crate::read::Format;

/// A canonical connector for one file format.
#[derive(Debug, Clone, Copy)]
pub struct Canonical {
    id: &'static str,
    format: Format,
    about: &'static str,
    fixture: Fixture,
}

/// Canonical CSV with a header row.
pub const CSV: Canonical = Canonical {
    id: "canonical-csv",
    format: Format::Csv,
    about: "CSV with the canonical columns and a header row",
    fixture: Fixture::new(
        "trainings.csv",
        include_bytes!("../../fixtures/connectors/canonical-csv.csv"),
    ),
};

/// A canonical JSON array of objects.
pub const JSON: Canonical = Canonical {
    id: "canonical-json",
    format: Format::Json,
    about: "a JSON array of objects with the canonical columns",
    fixture: Fixture::new(
        "trainings.json",
        include_bytes!("../../fixtures/connectors/canonical-json.json"),
    ),
};

/// Canonical NDJSON, one object per line.
pub const NDJSON: Canonical = Canonical {
    id: "canonical-ndjson",
    format: Format::Ndjson,
    about: "NDJSON (one JSON object per line) with the canonical columns",
    fixture: Fixture::new(
        "trainings.ndjson",
        include_bytes!("../../fixtures/connectors/canonical-ndjson.ndjson"),
    ),
};

/// A canonical Excel workbook (first sheet, header row).
pub const XLSX: Canonical = Canonical {
    id: "canonical-xlsx",
    format: Format::Xlsx,
    about: "an Excel workbook whose first sheet has the canonical columns under a header row",
    fixture: Fixture::new(
        "people.xlsx",
        include_bytes!("../../fixtures/connectors/canonical-xlsx.xlsx"),
    ),
};

/// Canonical Parquet (typed columns, as warehouses and pandas write them).
pub const PARQUET: Canonical = Canonical {
    id: "canonical-parquet",
    format: Format::Parquet,
    about: "a Parquet file with the canonical columns (typed values are formatted to canonical text)",
    fixture: Fixture::new(
        "accounts.parquet",
        include_bytes!("../../fixtures/connectors/canonical-parquet.parquet"),
    ),
};

impl Connector for Canonical {
    fn id(&self) -> &'static str {
        self.id
    }
    fn about(&self) -> &'static str {
        self.about
    }
    fn kind(&self) -> Kind {
        Kind::Canonical(self.format)
    }
    fn fixture(&self) -> Fixture {
        self.fixture
    }
}

//! The mapped connectors: exports whose columns differ from company to company (an HR system's
//! roster, a Jira export), read through the column mapping in `assure.toml` (`[connectors.hr_roster]`,
//! `[connectors.jira]`). The mapping used is recorded with each import (ledger format 2), so the rows
//! read back later are the rows imported.

use super::{Connector, Fixture, Kind};

/// A connector read through a column mapping.
#[derive(Debug, Clone, Copy)]
pub struct Mapped {
    id: &'static str,
    default_table: &'static str,
    about: &'static str,
    fixture: Fixture,
}

/// An HR roster export (Workday, BambooHR, Rippling, ...).
pub const HR_ROSTER: Mapped = Mapped {
    id: "hr-roster",
    default_table: "people",
    about: "an HR system's roster export (CSV), through `[connectors.hr_roster]` in assure.toml",
    fixture: Fixture {
        name: "roster.csv",
        bytes: include_bytes!("../../fixtures/connectors/hr-roster.csv"),
        mapping: Some(include_str!("../../fixtures/connectors/hr-roster.mapping.json")),
    },
};

/// A Jira issue export of access requests.
pub const JIRA: Mapped = Mapped {
    id: "jira",
    default_table: "access_requests",
    about: "a Jira issue export (CSV) of access requests, through `[connectors.jira]` in assure.toml",
    fixture: Fixture {
        name: "jira.csv",
        bytes: include_bytes!("../../fixtures/connectors/jira.csv"),
        mapping: Some(include_str!("../../fixtures/connectors/jira.mapping.json")),
    },
};

impl Connector for Mapped {
    fn id(&self) -> &'static str {
        self.id
    }
    fn about(&self) -> &'static str {
        self.about
    }
    fn kind(&self) -> Kind {
        Kind::Mapped {
            default_table: self.default_table,
        }
    }
    fn fixture(&self) -> Fixture {
        self.fixture
    }
}

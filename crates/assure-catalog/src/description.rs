//! The elements a system description must contain: DC 200 for SOC 2 and the AT-C 320 elements for
//! SOC 1. Report drafting checks itself against these.

/// Which report a description element belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DescriptionReport {
    /// SOC 2 (DC 200).
    Soc2,
    /// SOC 1 (AT-C 320).
    Soc1,
}

/// One required element of a system description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DescriptionElement {
    /// The identifier (`DC3`, `SOC1-TXN`).
    pub id: &'static str,
    /// The report it belongs to.
    pub report: DescriptionReport,
    /// What the description must say, in Assure's words.
    pub title: &'static str,
    /// Whether the element applies only to a Type 2 report.
    pub type2_only: bool,
    /// The project field or folder that supplies it.
    pub source: &'static str,
}

const fn d(
    id: &'static str,
    report: DescriptionReport,
    title: &'static str,
    type2_only: bool,
    source: &'static str,
) -> DescriptionElement {
    DescriptionElement {
        id,
        report,
        title,
        type2_only,
        source,
    }
}

use DescriptionReport::{Soc1, Soc2};

const ELEMENTS: &[DescriptionElement] = &[
    d(
        "DC1",
        Soc2,
        "The kinds of services the organization provides",
        false,
        "[[services]]",
    ),
    d(
        "DC2",
        Soc2,
        "Principal service commitments and system requirements",
        false,
        "[[system.commitments]]",
    ),
    d(
        "DC3",
        Soc2,
        "System components (infrastructure, software, people, procedures, data) and boundaries",
        false,
        "[system.components], system.boundaries",
    ),
    d(
        "DC4",
        Soc2,
        "Significant incidents: nature, timing, effect and how they were resolved",
        false,
        "incidents evidence, [[system.incidents]]",
    ),
    d(
        "DC5",
        Soc2,
        "The applicable criteria and the controls designed to meet them",
        false,
        "controls/",
    ),
    d(
        "DC6",
        Soc2,
        "Controls user entities are expected to operate (CUECs)",
        false,
        "[[cuec]]",
    ),
    d(
        "DC7",
        Soc2,
        "Subservice organizations, their treatment and the controls expected of them",
        false,
        "[[subservice]]",
    ),
    d(
        "DC8",
        Soc2,
        "Applicable criteria that are not relevant, with the reasons",
        false,
        "[[scope.not_relevant]]",
    ),
    d(
        "DC9",
        Soc2,
        "Significant changes to the system and controls during the period",
        true,
        "[[system.changes]]",
    ),
    d(
        "SOC1-SERVICES",
        Soc1,
        "The kinds of services provided, including the classes of transactions processed",
        false,
        "[[services]]",
    ),
    d(
        "SOC1-TXN",
        Soc1,
        "How transactions are initiated, authorized, recorded, processed, corrected and reported",
        false,
        "[[system.transaction_flows]]",
    ),
    d(
        "SOC1-RECORDS",
        Soc1,
        "The records, supporting information and accounts involved",
        false,
        "system.components.data",
    ),
    d(
        "SOC1-EVENTS",
        Soc1,
        "How significant events other than transactions are captured and handled",
        false,
        "system.procedures",
    ),
    d(
        "SOC1-REPORTING",
        Soc1,
        "The process used to prepare reports and other information for user entities",
        false,
        "system.reporting_process",
    ),
    d(
        "SOC1-OBJECTIVES",
        Soc1,
        "The control objectives and the controls designed to achieve them",
        false,
        "objectives.toml, controls/",
    ),
    d(
        "SOC1-CUEC",
        Soc1,
        "Complementary user entity controls assumed in the design",
        false,
        "[[cuec]]",
    ),
    d(
        "SOC1-SUBSERVICE",
        Soc1,
        "Subservice organizations, their treatment and the controls expected of them",
        false,
        "[[subservice]]",
    ),
    d(
        "SOC1-COSO",
        Soc1,
        "Other aspects of the control environment, risk assessment, information and communication, control activities and monitoring",
        false,
        "controls/ (CC1–CC5 mappings), risks/",
    ),
    d(
        "SOC1-CHANGES",
        Soc1,
        "Significant changes to the system during the period",
        true,
        "[[system.changes]]",
    ),
];

/// Returns every description element of both reports, in catalog order.
pub fn description_elements() -> &'static [DescriptionElement] {
    ELEMENTS
}

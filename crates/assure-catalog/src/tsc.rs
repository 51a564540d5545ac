//! The 2017 Trust Services Criteria (points of focus as revised in 2022): 61 criteria in 13 series.

use std::fmt;

/// One of the five trust services categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    /// The common criteria (CC1–CC9); always part of a SOC 2.
    Security,
    /// A1: the system is available for operation and use as committed.
    Availability,
    /// PI1: processing is complete, valid, accurate, timely and authorized.
    ProcessingIntegrity,
    /// C1: information designated as confidential is protected.
    Confidentiality,
    /// P1–P8: personal information is collected, used, kept, disclosed and disposed of as committed.
    Privacy,
}

impl Category {
    /// Every category, in report order.
    pub const ALL: [Category; 5] = [
        Category::Security,
        Category::Availability,
        Category::ProcessingIntegrity,
        Category::Confidentiality,
        Category::Privacy,
    ];

    /// Returns the identifier used in project files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Security => "security",
            Category::Availability => "availability",
            Category::ProcessingIntegrity => "processing_integrity",
            Category::Confidentiality => "confidentiality",
            Category::Privacy => "privacy",
        }
    }

    /// Returns the name a reader sees.
    pub fn label(self) -> &'static str {
        match self {
            Category::Security => "Security",
            Category::Availability => "Availability",
            Category::ProcessingIntegrity => "Processing Integrity",
            Category::Confidentiality => "Confidentiality",
            Category::Privacy => "Privacy",
        }
    }

    /// Parses a category identifier; accepts `-` or `_` and any case, and the short codes `A`, `PI`, `C`, `P`.
    pub fn parse(text: &str) -> Option<Category> {
        let norm = text.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        Some(match norm.as_str() {
            "security" | "cc" | "common" => Category::Security,
            "availability" | "a" => Category::Availability,
            "processing_integrity" | "pi" => Category::ProcessingIntegrity,
            "confidentiality" | "c" => Category::Confidentiality,
            "privacy" | "p" => Category::Privacy,
            _ => return None,
        })
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A series of criteria, such as CC6 or P4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Series {
    /// The series identifier (`CC6`, `A1`, `P4`).
    pub id: &'static str,
    /// A short name in Assure's words.
    pub name: &'static str,
    /// The category the series belongs to.
    pub category: Category,
}

/// One trust services criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Criterion {
    /// The identifier (`CC6.1`).
    pub id: &'static str,
    /// The series identifier (`CC6`).
    pub series: &'static str,
    /// The category.
    pub category: Category,
    /// A short title in Assure's words.
    pub title: &'static str,
    /// The COSO 2013 principle the criterion restates (CC1–CC5 only).
    pub coso_principle: Option<u8>,
    /// How many points of focus the 2022 revision lists under the criterion.
    pub points_of_focus: u16,
}

const fn s(id: &'static str, name: &'static str, category: Category) -> Series {
    Series { id, name, category }
}

const SERIES: &[Series] = &[
    s("CC1", "Control environment", Category::Security),
    s("CC2", "Information and communication", Category::Security),
    s("CC3", "Risk assessment", Category::Security),
    s("CC4", "Monitoring of controls", Category::Security),
    s("CC5", "Control activities", Category::Security),
    s("CC6", "Logical and physical access", Category::Security),
    s("CC7", "System operations", Category::Security),
    s("CC8", "Change management", Category::Security),
    s("CC9", "Risk mitigation", Category::Security),
    s("A1", "Availability", Category::Availability),
    s("PI1", "Processing integrity", Category::ProcessingIntegrity),
    s("C1", "Confidentiality", Category::Confidentiality),
    s("P1", "Privacy: notice", Category::Privacy),
    s("P2", "Privacy: choice and consent", Category::Privacy),
    s("P3", "Privacy: collection", Category::Privacy),
    s("P4", "Privacy: use, retention and disposal", Category::Privacy),
    s("P5", "Privacy: access by data subjects", Category::Privacy),
    s("P6", "Privacy: disclosure and notification", Category::Privacy),
    s("P7", "Privacy: data quality", Category::Privacy),
    s("P8", "Privacy: monitoring and enforcement", Category::Privacy),
];

const fn c(
    id: &'static str,
    series: &'static str,
    category: Category,
    title: &'static str,
    coso: u8,
    pof: u16,
) -> Criterion {
    Criterion {
        id,
        series,
        category,
        title,
        coso_principle: if coso == 0 { None } else { Some(coso) },
        points_of_focus: pof,
    }
}

use Category::{Availability as AV, Confidentiality as CO, Privacy as PR, ProcessingIntegrity as PI, Security as SE};

const CRITERIA: &[Criterion] = &[
    c(
        "CC1.1",
        "CC1",
        SE,
        "The organization shows it values integrity and ethics",
        1,
        5,
    ),
    c(
        "CC1.2",
        "CC1",
        SE,
        "An independent board oversees internal control",
        2,
        4,
    ),
    c(
        "CC1.3",
        "CC1",
        SE,
        "Management sets structure, reporting lines and authority",
        3,
        6,
    ),
    c(
        "CC1.4",
        "CC1",
        SE,
        "The organization hires, develops and keeps competent staff",
        4,
        7,
    ),
    c(
        "CC1.5",
        "CC1",
        SE,
        "People are held to account for their control duties",
        5,
        6,
    ),
    c(
        "CC2.1",
        "CC2",
        SE,
        "Relevant, good-quality information supports internal control",
        13,
        9,
    ),
    c(
        "CC2.2",
        "CC2",
        SE,
        "Control objectives and duties are communicated internally",
        14,
        13,
    ),
    c(
        "CC2.3",
        "CC2",
        SE,
        "Control matters are communicated with outside parties",
        15,
        12,
    ),
    c(
        "CC3.1",
        "CC3",
        SE,
        "Objectives are clear enough to identify and assess risks",
        6,
        16,
    ),
    c(
        "CC3.2",
        "CC3",
        SE,
        "Risks to objectives are identified and analysed entity-wide",
        7,
        9,
    ),
    c(
        "CC3.3",
        "CC3",
        SE,
        "The risk assessment considers the potential for fraud",
        8,
        5,
    ),
    c(
        "CC3.4",
        "CC3",
        SE,
        "Changes that could affect controls are identified and assessed",
        9,
        6,
    ),
    c(
        "CC4.1",
        "CC4",
        SE,
        "Controls are evaluated through ongoing or separate reviews",
        16,
        8,
    ),
    c(
        "CC4.2",
        "CC4",
        SE,
        "Control deficiencies are assessed and reported for correction",
        17,
        3,
    ),
    c(
        "CC5.1",
        "CC5",
        SE,
        "Control activities are selected to bring risks to acceptable levels",
        10,
        6,
    ),
    c(
        "CC5.2",
        "CC5",
        SE,
        "General controls over technology are selected and built",
        11,
        4,
    ),
    c(
        "CC5.3",
        "CC5",
        SE,
        "Controls are put in place through policies and procedures",
        12,
        6,
    ),
    c(
        "CC6.1",
        "CC6",
        SE,
        "Logical access to protected information assets is secured",
        0,
        13,
    ),
    c(
        "CC6.2",
        "CC6",
        SE,
        "Users are authorized before access is issued and removed when no longer needed",
        0,
        3,
    ),
    c(
        "CC6.3",
        "CC6",
        SE,
        "Access follows roles, least privilege and separation of duties",
        0,
        4,
    ),
    c(
        "CC6.4",
        "CC6",
        SE,
        "Physical access to facilities and equipment is limited",
        0,
        4,
    ),
    c(
        "CC6.5",
        "CC6",
        SE,
        "Assets are decommissioned only once their data cannot be recovered",
        0,
        1,
    ),
    c(
        "CC6.6",
        "CC6",
        SE,
        "The system is protected against threats from outside its boundaries",
        0,
        4,
    ),
    c(
        "CC6.7",
        "CC6",
        SE,
        "Movement and transmission of data is limited and protected",
        0,
        4,
    ),
    c(
        "CC6.8",
        "CC6",
        SE,
        "Unauthorized or malicious software is prevented or detected",
        0,
        5,
    ),
    c(
        "CC7.1",
        "CC7",
        SE,
        "Configuration changes and new vulnerabilities are detected",
        0,
        5,
    ),
    c(
        "CC7.2",
        "CC7",
        SE,
        "System components are monitored for anomalous behaviour",
        0,
        4,
    ),
    c(
        "CC7.3",
        "CC7",
        SE,
        "Security events are evaluated to decide whether they are incidents",
        0,
        7,
    ),
    c(
        "CC7.4",
        "CC7",
        SE,
        "Incidents are handled through a defined response program",
        0,
        14,
    ),
    c(
        "CC7.5",
        "CC7",
        SE,
        "The organization recovers from security incidents",
        0,
        6,
    ),
    c(
        "CC8.1",
        "CC8",
        SE,
        "Changes are authorized, built, tested, approved and deployed under control",
        0,
        18,
    ),
    c(
        "CC9.1",
        "CC9",
        SE,
        "Risks from business disruption are identified and mitigated",
        0,
        2,
    ),
    c(
        "CC9.2",
        "CC9",
        SE,
        "Risks from vendors and business partners are assessed and managed",
        0,
        13,
    ),
    c(
        "A1.1",
        "A1",
        AV,
        "Capacity is monitored and planned against demand",
        0,
        3,
    ),
    c(
        "A1.2",
        "A1",
        AV,
        "Environmental protections, backups and recovery infrastructure are in place",
        0,
        11,
    ),
    c("A1.3", "A1", AV, "Recovery plans are tested", 0, 2),
    c(
        "PI1.1",
        "PI1",
        PI,
        "Processing specifications and data definitions are set and shared",
        0,
        3,
    ),
    c(
        "PI1.2",
        "PI1",
        PI,
        "Inputs are checked for completeness and accuracy",
        0,
        3,
    ),
    c(
        "PI1.3",
        "PI1",
        PI,
        "Processing is controlled to be complete, accurate and timely",
        0,
        5,
    ),
    c(
        "PI1.4",
        "PI1",
        PI,
        "Outputs are delivered complete, accurate and on time",
        0,
        4,
    ),
    c(
        "PI1.5",
        "PI1",
        PI,
        "Inputs, work in progress and outputs are stored accurately",
        0,
        4,
    ),
    c(
        "C1.1",
        "C1",
        CO,
        "Confidential information is identified and protected",
        0,
        3,
    ),
    c(
        "C1.2",
        "C1",
        CO,
        "Confidential information is disposed of as committed",
        0,
        2,
    ),
    c(
        "P1.1",
        "P1",
        PR,
        "A current privacy notice is given to data subjects",
        0,
        7,
    ),
    c(
        "P2.1",
        "P2",
        PR,
        "Choices are explained and consent is obtained and recorded",
        0,
        6,
    ),
    c(
        "P3.1",
        "P3",
        PR,
        "Personal information is collected only for stated objectives",
        0,
        4,
    ),
    c(
        "P3.2",
        "P3",
        PR,
        "Explicit consent is obtained before collection where required",
        0,
        2,
    ),
    c(
        "P4.1",
        "P4",
        PR,
        "Personal information is used only for its stated purposes",
        0,
        1,
    ),
    c(
        "P4.2",
        "P4",
        PR,
        "Personal information is kept only as long as committed",
        0,
        2,
    ),
    c("P4.3", "P4", PR, "Personal information is disposed of securely", 0, 3),
    c(
        "P5.1",
        "P5",
        PR,
        "Data subjects can see and obtain their personal information",
        0,
        5,
    ),
    c(
        "P5.2",
        "P5",
        PR,
        "Corrections requested by data subjects are made and passed on",
        0,
        4,
    ),
    c(
        "P6.1",
        "P6",
        PR,
        "Personal information goes to third parties only with consent",
        0,
        4,
    ),
    c("P6.2", "P6", PR, "Authorized disclosures are recorded", 0, 1),
    c(
        "P6.3",
        "P6",
        PR,
        "Unauthorized disclosures and breaches are recorded",
        0,
        1,
    ),
    c(
        "P6.4",
        "P6",
        PR,
        "Privacy commitments of third parties are obtained and checked",
        0,
        3,
    ),
    c(
        "P6.5",
        "P6",
        PR,
        "Third parties must report unauthorized disclosures",
        0,
        2,
    ),
    c(
        "P6.6",
        "P6",
        PR,
        "Affected parties are told of breaches and incidents",
        0,
        2,
    ),
    c(
        "P6.7",
        "P6",
        PR,
        "Data subjects can get an account of what is held and disclosed",
        0,
        3,
    ),
    c(
        "P7.1",
        "P7",
        PR,
        "Personal information is kept accurate, complete and relevant",
        0,
        2,
    ),
    c(
        "P8.1",
        "P8",
        PR,
        "Privacy inquiries and complaints are handled and compliance monitored",
        0,
        6,
    ),
];

/// Returns all 61 criteria, in catalog order.
pub fn criteria() -> &'static [Criterion] {
    CRITERIA
}

/// Looks a criterion up by identifier, ignoring case.
pub fn criterion(id: &str) -> Option<&'static Criterion> {
    CRITERIA.iter().find(|c| c.id.eq_ignore_ascii_case(id.trim()))
}

/// Returns every series, in catalog order.
pub fn series() -> &'static [Series] {
    SERIES
}

/// Looks a series up by identifier, ignoring case.
pub fn series_by_id(id: &str) -> Option<&'static Series> {
    SERIES.iter().find(|s| s.id.eq_ignore_ascii_case(id.trim()))
}

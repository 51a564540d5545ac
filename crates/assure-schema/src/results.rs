//! What a test run and a sample record: the results every report, the web application and the
//! gap analysis read. Plain data, serialized into the ledger's blobs; no I/O.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A recorded file used (or passed over) for a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// The ledger entry.
    pub seq: u64,
    /// The table.
    pub table: String,
    /// The file name.
    pub name: String,
    /// Its BLAKE3.
    pub blake3: String,
    /// Its SHA-256.
    pub sha256: String,
    /// The connector.
    pub connector: String,
    /// Rows read.
    pub rows: u64,
    /// BLAKE3 of the columnar copy the run read, when it read one (absent in records of earlier
    /// versions, and for files read from their originals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columnar: Option<String>,
}

/// A value that names no known person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unresolved {
    /// The value.
    pub value: String,
    /// Where it was seen, as `table.column`.
    pub seen_in: Vec<String>,
    /// How many rows.
    pub rows: usize,
    /// The people it could be, when a rule matched several (two people with its name): reported,
    /// never merged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<String>,
}

/// A value resolved to a person by a rule other than being their primary email: what identity
/// resolution merged, shown to the auditor with the rule that made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityMerge {
    /// The value as it appears in the evidence.
    pub value: String,
    /// The person's primary email it was resolved to.
    pub person: String,
    /// The rule: `alias` (listed in `people.toml`), `github-noreply` (a GitHub no-reply address
    /// whose login is the person's `github:` alias), `plus-address` (the address without its
    /// `+tag`), or `case` (the same address in other letters).
    pub rule: String,
    /// Where it was seen, as `table.column`.
    pub seen_in: Vec<String>,
}

/// The conclusion for one test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Conclusion {
    /// Type 2: every item passed.
    NoExceptions,
    /// Type 2: at least one item failed.
    Exceptions,
    /// Type 1: at least one item shows the control in place.
    Implemented,
    /// Type 1: no item shows the control in place.
    NotShown,
    /// The population is empty, so nothing can be concluded.
    NoPopulation,
    /// The test could not run.
    NotRun,
}

impl Conclusion {
    /// Returns the words a reader sees.
    pub fn label(self) -> &'static str {
        match self {
            Conclusion::NoExceptions => "no exceptions",
            Conclusion::Exceptions => "exceptions noted",
            Conclusion::Implemented => "implemented",
            Conclusion::NotShown => "not shown",
            Conclusion::NoPopulation => "no population",
            Conclusion::NotRun => "not run",
        }
    }
}

/// The status of one population item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    /// The control worked for this item.
    Pass,
    /// An exception.
    Fail,
    /// The item is in the population but the test does not apply to it.
    NotApplicable,
}

impl ItemStatus {
    /// The word recorded and shown: `pass`, `fail`, `not_applicable`.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Pass => "pass",
            ItemStatus::Fail => "fail",
            ItemStatus::NotApplicable => "not_applicable",
        }
    }

    /// Reads the recorded word.
    pub fn parse(text: &str) -> Option<ItemStatus> {
        match text {
            "pass" => Some(ItemStatus::Pass),
            "fail" => Some(ItemStatus::Fail),
            "not_applicable" => Some(ItemStatus::NotApplicable),
            _ => None,
        }
    }
}

impl std::fmt::Display for ItemStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The risk an auditor assigns to a control, which sets the sample size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    /// Low risk.
    Low,
    /// Moderate risk.
    Moderate,
    /// High risk.
    High,
}

impl Risk {
    /// Parses `low`, `moderate` (or `medium`) or `high`, in any case.
    pub fn parse(text: &str) -> Option<Risk> {
        match text.trim().to_ascii_lowercase().as_str() {
            "low" => Some(Risk::Low),
            "moderate" | "medium" => Some(Risk::Moderate),
            "high" => Some(Risk::High),
            _ => None,
        }
    }

    /// The word recorded and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Low => "low",
            Risk::Moderate => "moderate",
            Risk::High => "high",
        }
    }
}

impl std::fmt::Display for Risk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One item as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemRecord {
    /// The item.
    pub item: String,
    /// Pass, fail or not applicable.
    pub status: ItemStatus,
    /// Why.
    pub reason: String,
    /// Further columns.
    pub attributes: Vec<(String, String)>,
    /// Where it was read from, for every item of a test whose query returns `_evidence` and `_row`:
    /// (index into the test's `files`, row in that file). Kept for passing items too, so every item
    /// of a population traces to its file, row and hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<(u32, u64)>,
}

/// One test's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestOutcome {
    /// The test id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// The controls it tests.
    pub controls: Vec<String>,
    /// Items in the population.
    pub population: usize,
    /// Exceptions.
    pub exceptions: usize,
    /// Items not applicable.
    pub not_applicable: usize,
    /// The conclusion.
    pub conclusion: Conclusion,
    /// Why it did not run, when it did not.
    pub note: Option<String>,
    /// Every item.
    pub items: Vec<ItemRecord>,
    /// What the outcome depends on, hashed: the window, the test's definition and parameters, the
    /// identities, and the hash of every input file of its tables. A later run for the same window
    /// whose key is the same reuses this outcome (absent in records of earlier versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The BLAKE3 of each file its items' `from` names, in the order they first appear.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
}

/// The conclusion for a control, from its tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlOutcome {
    /// The control.
    pub id: String,
    /// Its tests.
    pub tests: Vec<String>,
    /// Exceptions across its tests.
    pub exceptions: usize,
    /// The combined conclusion: the worst of its tests'.
    pub conclusion: Conclusion,
}

/// Expected occurrences of a periodic manual control, and the evidence found for each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlOccurrences {
    /// The control.
    pub control: String,
    /// Its frequency.
    pub frequency: String,
    /// Slots expected in the window.
    pub expected: usize,
    /// Slots with evidence.
    pub found: usize,
    /// Slots without evidence, `start..end`, each an exception.
    pub missing: Vec<String>,
}

/// A whole run, as recorded in the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Format version.
    pub format: u32,
    /// The engine version.
    pub engine: String,
    /// Type 1 or 2.
    pub exam_type: u8,
    /// First day of the period.
    pub period_start: NaiveDate,
    /// Last day of the period.
    pub period_end: NaiveDate,
    /// The as-of date.
    pub as_of: NaiveDate,
    /// BLAKE3 of the test definitions (ids, SQL and parameters).
    pub definitions: String,
    /// The evidence files used, with their hashes.
    pub inputs: Vec<Source>,
    /// Identities that matched nobody.
    pub unresolved: Vec<Unresolved>,
    /// Every test.
    pub tests: Vec<TestOutcome>,
    /// Every tested control.
    pub controls: Vec<ControlOutcome>,
    /// Expected occurrences of periodic manual controls.
    #[serde(default)]
    pub occurrences: Vec<ControlOccurrences>,
    /// Tests whose outcome was reused, unchanged, from an earlier run of the same window (their
    /// inputs, definitions and parameters had not changed), and that run's ledger entry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reused: Vec<String>,
    /// The ledger entry of the run the reused outcomes come from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reused_from: Option<u64>,
    /// Tests this run was not asked to run (`assure test --test ...`): their outcomes are the latest
    /// ones for the same window, from the run recorded as `carried_from`, so a run of some tests
    /// never hides the others' results.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub carried: Vec<String>,
    /// The ledger entry of the run the carried outcomes come from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carried_from: Option<u64>,
    /// The ledger's head when the run read it, `ENTRIES:HASH`: the evidence the run stands on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<String>,
    /// Per table, rows left out because a later import among the files read holds the same key
    /// (overlapping exports: the same fact counted once, as the later file has it).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub duplicates: std::collections::BTreeMap<String, u64>,
    /// Values identity resolution merged into a person, each with its rule.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged: Vec<IdentityMerge>,
    /// Tests whose outcome is the earlier run's (`reused_from`) with the rows of new files added:
    /// each test, with the ledger entries of the files whose rows were tested on their own. Only a
    /// test that reads one table row by row is extended this way, and only when nothing else it
    /// reads changed.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub extended: std::collections::BTreeMap<String, Vec<u64>>,
}

impl TestOutcome {
    /// A copy with only the items `keep` takes (the passing ones are millions at a large company).
    pub fn with_items(&self, keep: impl Fn(&ItemRecord) -> bool) -> TestOutcome {
        TestOutcome {
            id: self.id.clone(),
            title: self.title.clone(),
            controls: self.controls.clone(),
            population: self.population,
            exceptions: self.exceptions,
            not_applicable: self.not_applicable,
            conclusion: self.conclusion,
            note: self.note.clone(),
            items: self.items.iter().filter(|i| keep(i)).cloned().collect(),
            key: self.key.clone(),
            files: self.files.clone(),
        }
    }
}

impl RunRecord {
    /// A copy of everything but the tests (which hold the items, millions at a large company).
    pub fn clone_without_tests(&self) -> RunRecord {
        RunRecord {
            format: self.format,
            engine: self.engine.clone(),
            exam_type: self.exam_type,
            period_start: self.period_start,
            period_end: self.period_end,
            as_of: self.as_of,
            definitions: self.definitions.clone(),
            inputs: self.inputs.clone(),
            unresolved: self.unresolved.clone(),
            tests: Vec::new(),
            controls: self.controls.clone(),
            occurrences: self.occurrences.clone(),
            reused: self.reused.clone(),
            reused_from: self.reused_from,
            carried: self.carried.clone(),
            carried_from: self.carried_from,
            head: self.head.clone(),
            duplicates: self.duplicates.clone(),
            merged: self.merged.clone(),
            extended: self.extended.clone(),
        }
    }
}

/// A sample drawn for a control, as recorded in the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleRecord {
    /// Format version.
    pub format: u32,
    /// The control.
    pub control: String,
    /// Its frequency.
    pub frequency: String,
    /// The risk used for the size.
    pub risk: Risk,
    /// Where the population came from.
    pub population_source: String,
    /// Every population item, sorted.
    pub population: Vec<String>,
    /// The sample size.
    pub size: usize,
    /// How the size was reached.
    pub rule: String,
    /// The seed of the selection.
    pub seed: u64,
    /// The items selected by the seed.
    pub selected: Vec<String>,
    /// Items an auditor added by hand.
    pub added: Vec<String>,
}

/// What testing one sampled item found, or a sign-off of a sample's workpaper: the auditor's
/// work on a sample, recorded in the ledger (`workpaper` entries) against the sample's entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkpaperRecord {
    /// The record's format version (1).
    pub format: u32,
    /// The control sampled.
    pub control: String,
    /// The sample's ledger entry.
    pub sample: u64,
    /// What this record says.
    #[serde(flatten)]
    pub what: WorkpaperKind,
}

/// A workpaper record's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WorkpaperKind {
    /// The result of testing one sampled item.
    Result {
        /// The sampled item.
        item: String,
        /// Each attribute tested and what was found.
        attributes: Vec<AttributeResult>,
        /// The item's result.
        result: SampleResult,
        /// Tickmarks (see [`TICKMARKS`]).
        tickmarks: Vec<String>,
        /// The tester's note.
        note: String,
    },
    /// A preparer's or reviewer's sign-off of the whole sample.
    Signoff {
        /// Which.
        role: SignoffRole,
    },
}

/// One attribute tested on a sampled item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeResult {
    /// What was checked (`approved by the manager before access was granted`).
    pub attribute: String,
    /// What was found.
    pub result: SampleResult,
}

/// What testing found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SampleResult {
    /// As expected.
    Pass,
    /// An exception.
    Exception,
    /// Does not apply to this item.
    NotApplicable,
}

impl SampleResult {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            SampleResult::Pass => "pass",
            SampleResult::Exception => "exception",
            SampleResult::NotApplicable => "not_applicable",
        }
    }

    /// Reads the stored word.
    pub fn parse(s: &str) -> Option<SampleResult> {
        [SampleResult::Pass, SampleResult::Exception, SampleResult::NotApplicable]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// Who signs a workpaper off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignoffRole {
    /// The person who did the work.
    Preparer,
    /// A second person who reviewed it.
    Reviewer,
}

/// The tickmarks a tester may put on a sampled item, with what each means.
pub const TICKMARKS: [(&str, &str); 6] = [
    ("A", "agreed to the source document without exception"),
    ("I", "inspected the document or record"),
    ("R", "recalculated or re-performed"),
    ("O", "observed the control operating"),
    ("Q", "inquired of the control owner"),
    ("X", "exception noted (see the note)"),
];

//! The catalog compiled into Assure: the 2017 Trust Services Criteria, a library of typical SOC 1
//! control objectives, the description criteria a report draft must meet, and the other
//! frameworks clients are asked about (ISO 27001, HIPAA, GDPR, CCPA, SOX ITGC, NIST CSF 2.0).
//!
//! Everything here is static data with typed accessors; nothing reads a file or the clock.
//! Titles and statements are Assure's own short paraphrases, never the AICPA wording.

#![warn(missing_docs)]

mod crosswalk;
mod description;
mod frameworks;
mod objectives;
mod search;
mod tsc;

pub use crosswalk::{Mapping, Relation, mapped_to, mappings};
pub use description::{DescriptionElement, DescriptionReport, description_elements};
pub use frameworks::{
    Framework, Kind, Requirement, framework, frameworks, hipaa_not_for_business_associates, requirement, requirements,
    sox_objectives, sox_requirement_objectives,
};
pub use objectives::{ObjectiveFamily, ObjectiveTemplate, objective_template, objective_templates};
pub use search::{CatalogEntry, search};
pub use tsc::{Category, Criterion, Series, criteria, criterion, series, series_by_id};

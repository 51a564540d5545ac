//! Roster presets for `[connectors.hr_roster] preset = "..."`: the column names, date format and
//! worker types of an HR system's export, so a roster from BambooHR, Rippling or Workday needs no
//! hand-written mapping. Anything the project's table sets overrides the preset, column by column.
//!
//! Each preset reads the vendor's own field names as the export's headers:
//! - `bamboohr`: BambooHR's API field names (`employeeNumber`, `workEmail`, `displayName`,
//!   `jobTitle`, `department`, `supervisorEmail`, `employmentHistoryStatus`, `hireDate`,
//!   `terminationDate`), as a custom report requested with those fields returns them; dates are
//!   `YYYY-MM-DD` and BambooHR's empty date `0000-00-00` is read as no date.
//! - `rippling`: Rippling's employee API fields (`id`, `workEmail`, `name`, `title`, `department`,
//!   `employmentType`, `startDate`, `endDate`); employment types `SALARIED_FT`, `SALARIED_PT`,
//!   `HOURLY_FT`, `HOURLY_PT` are employees, `CONTRACTOR` and `TEMP` contractors, `INTERN` interns.
//! - `workday`: a custom report (RaaS) whose columns carry the Workday Web Services names
//!   (`Employee_ID`, `Email_Address`, `Legal_Name`, `Business_Title`, `Supervisory_Organization`,
//!   `Worker_Type`, `Hire_Date`, `Termination_Date`); a report whose aliases differ names its
//!   own headers under `[connectors.hr_roster.columns]`.

use std::collections::BTreeMap;

use crate::model::MappingConfig;

/// The preset names, in the order they are listed to users.
pub const NAMES: &[&str] = &["bamboohr", "rippling", "workday"];

struct Preset {
    columns: &'static [(&'static str, &'static str)],
    date_format: Option<&'static str>,
    worker_types: &'static [(&'static str, &'static str)],
    values: &'static [(&'static str, &'static str, &'static str)],
}

fn preset(name: &str) -> Option<Preset> {
    Some(match name {
        "bamboohr" => Preset {
            columns: &[
                ("person_id", "employeeNumber"),
                ("email", "workEmail"),
                ("name", "displayName"),
                ("title", "jobTitle"),
                ("department", "department"),
                ("manager_email", "supervisorEmail"),
                ("worker_type", "employmentHistoryStatus"),
                ("hire_date", "hireDate"),
                ("termination_date", "terminationDate"),
            ],
            date_format: Some("%Y-%m-%d"),
            worker_types: &[
                ("Full-Time", "employee"),
                ("Part-Time", "employee"),
                ("Contractor", "contractor"),
                ("Intern", "intern"),
            ],
            values: &[("hire_date", "0000-00-00", ""), ("termination_date", "0000-00-00", "")],
        },
        "rippling" => Preset {
            columns: &[
                ("person_id", "id"),
                ("email", "workEmail"),
                ("name", "name"),
                ("title", "title"),
                ("department", "department"),
                ("worker_type", "employmentType"),
                ("hire_date", "startDate"),
                ("termination_date", "endDate"),
            ],
            date_format: Some("%Y-%m-%d"),
            worker_types: &[
                ("SALARIED_FT", "employee"),
                ("SALARIED_PT", "employee"),
                ("HOURLY_FT", "employee"),
                ("HOURLY_PT", "employee"),
                ("CONTRACTOR", "contractor"),
                ("TEMP", "contractor"),
                ("INTERN", "intern"),
            ],
            values: &[],
        },
        "workday" => Preset {
            columns: &[
                ("person_id", "Employee_ID"),
                ("email", "Email_Address"),
                ("name", "Legal_Name"),
                ("title", "Business_Title"),
                ("department", "Supervisory_Organization"),
                ("worker_type", "Worker_Type"),
                ("hire_date", "Hire_Date"),
                ("termination_date", "Termination_Date"),
            ],
            date_format: Some("%Y-%m-%d"),
            worker_types: &[
                ("Regular", "employee"),
                ("Employee", "employee"),
                ("Fixed Term", "employee"),
                ("Contingent Worker", "contractor"),
                ("Contractor", "contractor"),
                ("Intern", "intern"),
            ],
            values: &[],
        },
        _ => return None,
    })
}

impl MappingConfig {
    /// The mapping with its preset applied beneath it: the preset's columns, date format, worker
    /// types and values wherever the table does not set its own. An unknown preset is an error
    /// naming the presets.
    pub fn effective(&self) -> Result<MappingConfig, String> {
        let Some(name) = self.preset.as_deref() else {
            return Ok(self.clone());
        };
        let p = preset(name.trim())
            .ok_or_else(|| format!("unknown roster preset `{name}`; the presets are {}", NAMES.join(", ")))?;
        let mut out = self.clone();
        let mut columns: BTreeMap<String, String> =
            p.columns.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        columns.extend(self.columns.clone());
        out.columns = columns;
        if out.date_format.is_none() {
            out.date_format = p.date_format.map(str::to_string);
        }
        let mut worker_types: BTreeMap<String, String> = p
            .worker_types
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        worker_types.extend(self.worker_types.clone());
        out.worker_types = worker_types;
        for (column, from, to) in p.values {
            out.values
                .entry(column.to_string())
                .or_default()
                .entry(from.to_string())
                .or_insert_with(|| to.to_string());
        }
        Ok(out)
    }
}

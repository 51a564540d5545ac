//! A library of typical SOC 1 control objectives.
//!
//! In a SOC 1 the objectives belong to the company: a project adopts these as a starting point and
//! rewords them. Each statement is worded the way reports phrase objectives, in Assure's own words.

use std::fmt;

/// The family an objective belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObjectiveFamily {
    /// IT general controls.
    Itgc,
    /// Payroll processing.
    Payroll,
    /// Billing and revenue.
    Billing,
    /// Payment and transaction processing.
    Payments,
    /// Custody, investment and fund administration.
    Custody,
}

impl ObjectiveFamily {
    /// Every family, in catalog order.
    pub const ALL: [ObjectiveFamily; 5] = [
        ObjectiveFamily::Itgc,
        ObjectiveFamily::Payroll,
        ObjectiveFamily::Billing,
        ObjectiveFamily::Payments,
        ObjectiveFamily::Custody,
    ];

    /// Returns the identifier used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectiveFamily::Itgc => "itgc",
            ObjectiveFamily::Payroll => "payroll",
            ObjectiveFamily::Billing => "billing",
            ObjectiveFamily::Payments => "payments",
            ObjectiveFamily::Custody => "custody",
        }
    }

    /// Returns the name a reader sees.
    pub fn label(self) -> &'static str {
        match self {
            ObjectiveFamily::Itgc => "IT general controls",
            ObjectiveFamily::Payroll => "Payroll processing",
            ObjectiveFamily::Billing => "Billing and revenue",
            ObjectiveFamily::Payments => "Payment processing",
            ObjectiveFamily::Custody => "Custody and fund administration",
        }
    }

    /// Parses a family identifier, ignoring case.
    pub fn parse(text: &str) -> Option<ObjectiveFamily> {
        ObjectiveFamily::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

impl fmt::Display for ObjectiveFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A typical SOC 1 control objective a project can adopt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectiveTemplate {
    /// The identifier (`ITGC-LA`).
    pub id: &'static str,
    /// The family.
    pub family: ObjectiveFamily,
    /// A short title.
    pub title: &'static str,
    /// The objective, worded "Controls provide reasonable assurance that ...".
    pub statement: &'static str,
}

const fn o(
    id: &'static str,
    family: ObjectiveFamily,
    title: &'static str,
    statement: &'static str,
) -> ObjectiveTemplate {
    ObjectiveTemplate {
        id,
        family,
        title,
        statement,
    }
}

use ObjectiveFamily::{Billing, Custody, Itgc, Payments, Payroll};

const OBJECTIVES: &[ObjectiveTemplate] = &[
    o(
        "ITGC-LA",
        Itgc,
        "Logical access",
        "Controls provide reasonable assurance that access to in-scope applications, databases and operating systems is granted only on approval, removed promptly when no longer needed, reviewed periodically, and protected by strong authentication.",
    ),
    o(
        "ITGC-PA",
        Itgc,
        "Physical access",
        "Controls provide reasonable assurance that entry to facilities housing in-scope systems is limited to authorized people and that the access list is reviewed.",
    ),
    o(
        "ITGC-CM",
        Itgc,
        "Application change management",
        "Controls provide reasonable assurance that changes to in-scope application code are authorized, tested, reviewed by someone other than the author and approved before they reach production.",
    ),
    o(
        "ITGC-IC",
        Itgc,
        "Infrastructure change management",
        "Controls provide reasonable assurance that changes to infrastructure, operating systems and databases supporting in-scope applications are authorized, tested and approved before deployment.",
    ),
    o(
        "ITGC-SD",
        Itgc,
        "System development and data conversion",
        "Controls provide reasonable assurance that new systems and major enhancements are planned, tested and approved, and that data migrated into them is complete and accurate.",
    ),
    o(
        "ITGC-OP",
        Itgc,
        "Computer operations",
        "Controls provide reasonable assurance that scheduled jobs and interfaces run as planned and that failures are detected, investigated and resolved.",
    ),
    o(
        "ITGC-IM",
        Itgc,
        "Incident and problem management",
        "Controls provide reasonable assurance that incidents affecting in-scope systems are recorded, prioritized, resolved and analysed for their root cause.",
    ),
    o(
        "ITGC-BR",
        Itgc,
        "Backup and recovery",
        "Controls provide reasonable assurance that data supporting in-scope applications is backed up as scheduled, that backup failures are resolved, and that data can be restored.",
    ),
    o(
        "ITGC-DT",
        Itgc,
        "Data transmission",
        "Controls provide reasonable assurance that data exchanged with customers and third parties is transmitted completely, accurately and securely.",
    ),
    o(
        "ITGC-NS",
        Itgc,
        "Network security",
        "Controls provide reasonable assurance that networks supporting in-scope systems are protected from unauthorized access and that vulnerabilities are identified and fixed on time.",
    ),
    o(
        "ITGC-OA",
        Itgc,
        "Organization and administration",
        "Controls provide reasonable assurance that personnel are screened, trained and informed of their responsibilities, and that policies governing in-scope systems are approved and communicated.",
    ),
    o(
        "ITGC-SM",
        Itgc,
        "Subservice organization monitoring",
        "Controls provide reasonable assurance that the controls of subservice organizations relied on are monitored, including review of their assurance reports.",
    ),
    o(
        "PAY-SETUP",
        Payroll,
        "Client and employee master data",
        "Controls provide reasonable assurance that new clients, new employees and changes to pay rates, deductions and bank details are authorized and entered completely and accurately.",
    ),
    o(
        "PAY-INPUT",
        Payroll,
        "Payroll input",
        "Controls provide reasonable assurance that payroll input received from clients is authorized, complete and accurately recorded before processing.",
    ),
    o(
        "PAY-CALC",
        Payroll,
        "Gross-to-net calculation",
        "Controls provide reasonable assurance that gross pay, deductions, withholdings and net pay are calculated completely and accurately.",
    ),
    o(
        "PAY-TAX",
        Payroll,
        "Tax withholding, deposits and filings",
        "Controls provide reasonable assurance that payroll taxes are withheld, deposited and filed accurately and by their due dates.",
    ),
    o(
        "PAY-DISB",
        Payroll,
        "Pay disbursement",
        "Controls provide reasonable assurance that direct deposits and checks are disbursed only for approved payrolls and for the correct amounts.",
    ),
    o(
        "PAY-OUTPUT",
        Payroll,
        "Payroll reports and output",
        "Controls provide reasonable assurance that payroll registers and reports are delivered to clients completely, accurately and on time.",
    ),
    o(
        "PAY-RECON",
        Payroll,
        "Payroll reconciliation",
        "Controls provide reasonable assurance that payroll funding, disbursements and tax liabilities are reconciled and differences resolved.",
    ),
    o(
        "BILL-CHARGE",
        Billing,
        "Charge capture",
        "Controls provide reasonable assurance that billable usage and charges are captured completely and accurately from source systems.",
    ),
    o(
        "BILL-INVOICE",
        Billing,
        "Invoicing",
        "Controls provide reasonable assurance that invoices are calculated from approved price lists and contracts and issued completely, accurately and on time.",
    ),
    o(
        "BILL-CASH",
        Billing,
        "Cash application",
        "Controls provide reasonable assurance that customer payments are applied to the right accounts completely, accurately and in the right period.",
    ),
    o(
        "BILL-ADJ",
        Billing,
        "Credits and adjustments",
        "Controls provide reasonable assurance that credits, adjustments and write-offs are authorized and recorded accurately.",
    ),
    o(
        "PMT-INIT",
        Payments,
        "Payment authorization",
        "Controls provide reasonable assurance that payment instructions are accepted only from authenticated, authorized customers and within their limits.",
    ),
    o(
        "PMT-PROC",
        Payments,
        "Payment processing",
        "Controls provide reasonable assurance that payment transactions are processed completely, accurately, once only and within agreed cut-off times.",
    ),
    o(
        "PMT-SETTLE",
        Payments,
        "Settlement",
        "Controls provide reasonable assurance that transactions are settled with banks and networks completely and accurately and that settlement failures are resolved.",
    ),
    o(
        "PMT-RECON",
        Payments,
        "Payment reconciliation",
        "Controls provide reasonable assurance that customer balances, settlement accounts and bank statements are reconciled daily and breaks are investigated and resolved.",
    ),
    o(
        "PMT-REPORT",
        Payments,
        "Customer statements and reporting",
        "Controls provide reasonable assurance that transaction reports and statements delivered to customers are complete and accurate.",
    ),
    o(
        "CUST-TRADE",
        Custody,
        "Trade capture and execution",
        "Controls provide reasonable assurance that trades are authorized, executed as instructed and recorded completely and accurately.",
    ),
    o(
        "CUST-SETTLE",
        Custody,
        "Trade settlement",
        "Controls provide reasonable assurance that trades settle completely, accurately and on time, and that failed settlements are followed up.",
    ),
    o(
        "CUST-CA",
        Custody,
        "Corporate actions",
        "Controls provide reasonable assurance that corporate actions are identified, communicated and processed completely, accurately and on time.",
    ),
    o(
        "CUST-INCOME",
        Custody,
        "Income collection",
        "Controls provide reasonable assurance that dividends and interest are collected and credited to client accounts completely and accurately.",
    ),
    o(
        "CUST-PRICE",
        Custody,
        "Pricing and valuation",
        "Controls provide reasonable assurance that holdings are priced from authorized sources and that missing or stale prices are investigated.",
    ),
    o(
        "CUST-NAV",
        Custody,
        "Net asset value",
        "Controls provide reasonable assurance that fund net asset values are calculated completely and accurately and reviewed before release.",
    ),
    o(
        "CUST-RECON",
        Custody,
        "Custody reconciliation",
        "Controls provide reasonable assurance that positions and cash are reconciled with custodians and depositories and that breaks are resolved.",
    ),
    o(
        "CUST-REPORT",
        Custody,
        "Client reporting",
        "Controls provide reasonable assurance that client statements and fund reports are complete, accurate and delivered on time.",
    ),
];

/// Returns every objective in the library, in catalog order.
pub fn objective_templates() -> &'static [ObjectiveTemplate] {
    OBJECTIVES
}

/// Looks an objective up by identifier, ignoring case.
pub fn objective_template(id: &str) -> Option<&'static ObjectiveTemplate> {
    OBJECTIVES.iter().find(|o| o.id.eq_ignore_ascii_case(id.trim()))
}

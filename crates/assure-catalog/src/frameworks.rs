//! Frameworks beyond the Trust Services Criteria that SOC clients are asked about next: ISO/IEC
//! 27001:2022, the HIPAA Security and Breach Notification Rules, the GDPR, the CCPA as amended by
//! the CPRA, SOX IT general controls and NIST CSF 2.0. Identifiers are the official ones (facts);
//! every title is Assure's own short paraphrase (ISO text may not be quoted; US Government text
//! could be, but one voice reads better). Where a reader can compare with the official text is
//! named on each framework.

/// A framework Assure knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Framework {
    /// The name used in `frameworks = [...]` and on the command line.
    pub id: &'static str,
    /// Its name.
    pub name: &'static str,
    /// What it is, in a sentence.
    pub about: &'static str,
    /// Where the official text is.
    pub source: &'static str,
    /// What a SOC report does and does not give towards it.
    pub soc_note: &'static str,
}

/// What kind of requirement an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A management-system clause (ISO 27001 clauses 4 to 10).
    Clause,
    /// A control (ISO 27001 Annex A), a subcategory (NIST CSF), a control objective (SOX ITGC).
    Control,
    /// A HIPAA standard.
    Standard,
    /// A HIPAA implementation specification that must be implemented.
    Required,
    /// A HIPAA implementation specification that must be assessed and implemented where reasonable
    /// and appropriate (or an equivalent documented).
    Addressable,
    /// An obligation of a law (GDPR article, CCPA section, breach notification).
    Obligation,
    /// A grouping with no requirement of its own (a CSF function or category, an ISO theme).
    Group,
}

impl Kind {
    /// The word shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Clause => "clause",
            Kind::Control => "control",
            Kind::Standard => "standard",
            Kind::Required => "required",
            Kind::Addressable => "addressable",
            Kind::Obligation => "obligation",
            Kind::Group => "group",
        }
    }
}

/// One requirement of a framework.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirement {
    /// The framework's id.
    pub framework: &'static str,
    /// The official identifier (`A.5.1`, `164.308(a)(1)(ii)(A)`, `PR.AA-01`, `Art. 32`).
    pub id: &'static str,
    /// The identifier of the group it belongs to (a theme, a section, a category), or empty.
    pub parent: &'static str,
    /// What kind of requirement it is.
    pub kind: Kind,
    /// Assure's own short title.
    pub title: &'static str,
}

/// A framework's rows: identifier, a flag for its kind, title.
type Rows = &'static [(&'static str, &'static str, &'static str)];
/// How a framework's row says its kind.
type KindOf = fn(&str, &str) -> Kind;

/// Every framework, in the order they are listed.
pub fn frameworks() -> &'static [Framework] {
    FRAMEWORKS
}

/// A framework by its id.
pub fn framework(id: &str) -> Option<&'static Framework> {
    FRAMEWORKS.iter().find(|f| f.id == id)
}

/// Every requirement of a framework (groups included), in the framework's order.
pub fn requirements(framework: &str) -> Vec<Requirement> {
    let (rows, kind_of): (Rows, KindOf) = match framework {
        "iso27001" => (ISO27001, |id, _| {
            if id.starts_with("A.") {
                if id.matches('.').count() == 1 {
                    Kind::Group
                } else {
                    Kind::Control
                }
            } else if id.contains('.') {
                Kind::Clause
            } else {
                Kind::Group
            }
        }),
        "nist-csf" => (
            NIST_CSF,
            |id, _| if id.contains('-') { Kind::Control } else { Kind::Group },
        ),
        "hipaa" => (HIPAA, |_, flag| match flag {
            "S" => Kind::Standard,
            "R" => Kind::Required,
            "A" => Kind::Addressable,
            "O" => Kind::Obligation,
            _ => Kind::Group,
        }),
        "gdpr" => (GDPR, |_, flag| if flag == "G" { Kind::Group } else { Kind::Obligation }),
        "ccpa" => (CCPA, |_, flag| if flag == "G" { Kind::Group } else { Kind::Obligation }),
        "sox-itgc" => (
            SOX_ITGC,
            |_, flag| if flag == "G" { Kind::Group } else { Kind::Control },
        ),
        _ => return Vec::new(),
    };
    let mut out = Vec::with_capacity(rows.len());
    let mut parents: Vec<(&'static str, Kind)> = Vec::new();
    for &(id, flag, title) in rows {
        let kind = kind_of(id, flag);
        let parent = parent_of(framework, id, flag, &parents);
        out.push(Requirement {
            framework: FRAMEWORKS.iter().find(|f| f.id == framework).map_or("", |f| f.id),
            id,
            parent,
            kind,
            title,
        });
        parents.push((id, kind));
    }
    out
}

/// The requirement a reference names, in any framework (`iso27001:A.5.1` or, with the framework
/// given, `A.5.1`).
pub fn requirement(framework: &str, id: &str) -> Option<Requirement> {
    requirements(framework).into_iter().find(|r| r.id == id)
}

fn parent_of(framework: &str, id: &'static str, flag: &str, seen: &[(&'static str, Kind)]) -> &'static str {
    match framework {
        // A.5.1 belongs to A.5; 4.1 to 4.
        "iso27001" => seen
            .iter()
            .rev()
            .find(|(p, _)| id.rsplit_once('.').is_some_and(|(head, _)| head == *p))
            .map_or("", |(p, _)| p),
        // GV.OC-01 belongs to GV.OC, GV.OC to GV.
        "nist-csf" => seen
            .iter()
            .rev()
            .find(|(p, _)| match id.split_once('-') {
                Some((cat, _)) => cat == *p,
                None => id.split_once('.').is_some_and(|(f, _)| f == *p),
            })
            .map_or("", |(p, _)| p),
        // An implementation specification belongs to the standard before it; a standard to the
        // section before it.
        "hipaa" => {
            let want = match flag {
                "R" | "A" => Kind::Standard,
                "S" | "O" => Kind::Group,
                _ => return "",
            };
            seen.iter().rev().find(|(_, k)| *k == want).map_or("", |(p, _)| p)
        }
        _ if flag != "G" => seen
            .iter()
            .rev()
            .find(|(_, k)| *k == Kind::Group)
            .map_or("", |(p, _)| p),
        _ => "",
    }
}

const FRAMEWORKS: &[Framework] = &[
    Framework {
        id: "iso27001",
        name: "ISO/IEC 27001:2022",
        about: "The international standard for an information security management system: clauses 4 to 10 (the management system) and the 93 controls of Annex A in four themes.",
        source: "ISO/IEC 27001:2022 (iso.org, sold by ISO and national bodies); Annex A follows ISO/IEC 27002:2022.",
        soc_note: "A SOC 2 report covers much of Annex A's ground but is no certification: ISO 27001 needs the management system of clauses 4 to 10 (scope, risk treatment, Statement of Applicability, internal audit, management review) and an accredited certification body's audit.",
    },
    Framework {
        id: "hipaa",
        name: "HIPAA Security and Breach Notification Rules",
        about: "The US rules for electronic protected health information: administrative, physical and technical safeguards (45 CFR 164.308 to 164.316), business associate contracts, and breach notification (164.400 to 164.414).",
        source: "45 CFR Part 164, Subparts C and D (ecfr.gov); HHS guidance and NIST SP 800-66r2 explain each specification.",
        soc_note: "A SOC report does not establish HIPAA compliance, and no one certifies it. A SOC 2 with HIPAA as additional subject matter (SOC 2+) gives an auditor's opinion on the safeguards; the required risk analysis, business associate agreements and breach notification remain the company's to show.",
    },
    Framework {
        id: "gdpr",
        name: "EU General Data Protection Regulation",
        about: "Regulation (EU) 2016/679: the principles of processing, the controller's and processor's obligations, security, breach notification, impact assessments and international transfers.",
        source: "Regulation (EU) 2016/679 (eur-lex.europa.eu), with the EDPB's guidelines.",
        soc_note: "A SOC 2 report shows security controls (Art. 32 in part) but not GDPR compliance: records of processing, impact assessments, data subject rights, processor contracts and transfer safeguards are outside it.",
    },
    Framework {
        id: "ccpa",
        name: "California Consumer Privacy Act, as amended by the CPRA",
        about: "California Civil Code 1798.100 to 1798.199.100 and its regulations (11 CCR 7000 onwards): the duties of businesses, service providers and contractors, and reasonable security.",
        source: "California Civil Code Title 1.81.5 (leginfo.legislature.ca.gov) and the CPPA's regulations (cppa.ca.gov).",
        soc_note: "A SOC 2 report supports the reasonable-security duty but says nothing of the contract terms, the limits on use, or the handling of consumers' requests a service provider owes.",
    },
    Framework {
        id: "sox-itgc",
        name: "SOX IT general controls",
        about: "The IT general controls over systems that matter to financial reporting, as tested for Sarbanes-Oxley section 404: access to programs and data, program changes, program development, computer operations.",
        source: "PCAOB Auditing Standard 2201 and the COSO 2013 framework; the four domains are practice, not a published control list.",
        soc_note: "A SOC 1 Type 2 report on these controls is what a customer's financial-statement auditor relies on; a SOC 2 report is not designed for that use.",
    },
    Framework {
        id: "nist-csf",
        name: "NIST Cybersecurity Framework 2.0",
        about: "Six functions (Govern, Identify, Protect, Detect, Respond, Recover), 22 categories and 106 subcategories of cybersecurity outcomes.",
        source: "NIST CSWP 29, The NIST Cybersecurity Framework (CSF) 2.0 (nist.gov), with its informative references.",
        soc_note: "The CSF is voluntary and no one certifies against it; a SOC 2 report is evidence for many of its outcomes, and a profile says which tiers the company aims for.",
    },
];

/// ISO/IEC 27001:2022: clauses 4 to 10 and Annex A (themes A.5 to A.8, 93 controls).
const ISO27001: Rows = &[
    ("4", "", "Context of the organization"),
    (
        "4.1",
        "",
        "Understand the organization and what affects its security outcomes",
    ),
    ("4.2", "", "Understand interested parties and their requirements"),
    ("4.3", "", "Set the scope of the management system"),
    ("4.4", "", "Establish, run, keep and improve the management system"),
    ("5", "", "Leadership"),
    ("5.1", "", "Top management leads and commits"),
    ("5.2", "", "An information security policy"),
    ("5.3", "", "Roles, responsibilities and authorities assigned"),
    ("6", "", "Planning"),
    (
        "6.1",
        "",
        "Address risks and opportunities: risk assessment, risk treatment, Statement of Applicability",
    ),
    ("6.2", "", "Security objectives and plans to meet them"),
    ("6.3", "", "Plan changes to the management system"),
    ("7", "", "Support"),
    ("7.1", "", "Resources"),
    ("7.2", "", "Competence"),
    ("7.3", "", "Awareness"),
    ("7.4", "", "Communication"),
    ("7.5", "", "Documented information"),
    ("8", "", "Operation"),
    ("8.1", "", "Plan and control operations"),
    ("8.2", "", "Carry out risk assessments at planned intervals"),
    ("8.3", "", "Carry out the risk treatment plan"),
    ("9", "", "Performance evaluation"),
    ("9.1", "", "Monitor, measure, analyse and evaluate"),
    ("9.2", "", "Internal audit"),
    ("9.3", "", "Management review"),
    ("10", "", "Improvement"),
    ("10.1", "", "Continual improvement"),
    ("10.2", "", "Nonconformity and corrective action"),
    ("A.5", "", "Organizational controls"),
    ("A.5.1", "", "Security policies approved, published and reviewed"),
    ("A.5.2", "", "Security roles and responsibilities defined"),
    ("A.5.3", "", "Conflicting duties separated"),
    ("A.5.4", "", "Management requires staff to apply security"),
    ("A.5.5", "", "Contact with authorities kept"),
    ("A.5.6", "", "Contact with special interest groups kept"),
    ("A.5.7", "", "Threat intelligence gathered and analysed"),
    ("A.5.8", "", "Security built into project management"),
    ("A.5.9", "", "Inventory of information and associated assets"),
    ("A.5.10", "", "Acceptable use of information and assets"),
    ("A.5.11", "", "Assets returned when people leave"),
    ("A.5.12", "", "Information classified"),
    ("A.5.13", "", "Information labelled"),
    ("A.5.14", "", "Information transferred securely"),
    ("A.5.15", "", "Access control rules"),
    ("A.5.16", "", "Identities managed through their life cycle"),
    ("A.5.17", "", "Authentication information managed"),
    ("A.5.18", "", "Access rights granted, reviewed and removed"),
    ("A.5.19", "", "Security in supplier relationships"),
    ("A.5.20", "", "Security addressed in supplier agreements"),
    ("A.5.21", "", "Security in the ICT supply chain"),
    (
        "A.5.22",
        "",
        "Supplier services monitored, reviewed and changes managed",
    ),
    ("A.5.23", "", "Security of cloud services"),
    ("A.5.24", "", "Incident management planned and prepared"),
    ("A.5.25", "", "Security events assessed and decided on"),
    ("A.5.26", "", "Response to security incidents"),
    ("A.5.27", "", "Learning from security incidents"),
    ("A.5.28", "", "Evidence collected"),
    ("A.5.29", "", "Security kept during disruption"),
    ("A.5.30", "", "ICT readiness for business continuity"),
    (
        "A.5.31",
        "",
        "Legal, statutory, regulatory and contractual requirements identified",
    ),
    ("A.5.32", "", "Intellectual property rights respected"),
    ("A.5.33", "", "Records protected"),
    ("A.5.34", "", "Privacy and protection of personal data"),
    ("A.5.35", "", "Independent review of information security"),
    ("A.5.36", "", "Compliance with policies, rules and standards checked"),
    ("A.5.37", "", "Operating procedures documented"),
    ("A.6", "", "People controls"),
    ("A.6.1", "", "Candidates screened"),
    ("A.6.2", "", "Employment terms state security duties"),
    ("A.6.3", "", "Security awareness, education and training"),
    ("A.6.4", "", "Disciplinary process"),
    ("A.6.5", "", "Duties after employment ends or changes"),
    ("A.6.6", "", "Confidentiality or non-disclosure agreements"),
    ("A.6.7", "", "Remote working secured"),
    ("A.6.8", "", "Security events reported by staff"),
    ("A.7", "", "Physical controls"),
    ("A.7.1", "", "Physical security perimeters"),
    ("A.7.2", "", "Physical entry controlled"),
    ("A.7.3", "", "Offices, rooms and facilities secured"),
    ("A.7.4", "", "Physical security monitored"),
    ("A.7.5", "", "Protection against physical and environmental threats"),
    ("A.7.6", "", "Working in secure areas"),
    ("A.7.7", "", "Clear desk and clear screen"),
    ("A.7.8", "", "Equipment sited and protected"),
    ("A.7.9", "", "Assets secured off premises"),
    ("A.7.10", "", "Storage media managed"),
    ("A.7.11", "", "Supporting utilities"),
    ("A.7.12", "", "Cabling secured"),
    ("A.7.13", "", "Equipment maintained"),
    ("A.7.14", "", "Equipment disposed of or re-used securely"),
    ("A.8", "", "Technological controls"),
    ("A.8.1", "", "User endpoint devices protected"),
    ("A.8.2", "", "Privileged access rights restricted and managed"),
    ("A.8.3", "", "Access to information restricted"),
    ("A.8.4", "", "Access to source code managed"),
    ("A.8.5", "", "Secure authentication"),
    ("A.8.6", "", "Capacity managed"),
    ("A.8.7", "", "Protection against malware"),
    ("A.8.8", "", "Technical vulnerabilities managed"),
    ("A.8.9", "", "Configurations managed"),
    ("A.8.10", "", "Information deleted when no longer needed"),
    ("A.8.11", "", "Data masked"),
    ("A.8.12", "", "Data leakage prevented"),
    ("A.8.13", "", "Information backed up"),
    ("A.8.14", "", "Redundant information processing facilities"),
    ("A.8.15", "", "Activity logged"),
    ("A.8.16", "", "Activities monitored for anomalies"),
    ("A.8.17", "", "Clocks synchronized"),
    ("A.8.18", "", "Privileged utility programs restricted"),
    ("A.8.19", "", "Software installed on operational systems controlled"),
    ("A.8.20", "", "Networks secured"),
    ("A.8.21", "", "Network services secured"),
    ("A.8.22", "", "Networks segregated"),
    ("A.8.23", "", "Web access filtered"),
    ("A.8.24", "", "Cryptography used by rule"),
    ("A.8.25", "", "Secure development life cycle"),
    ("A.8.26", "", "Application security requirements"),
    ("A.8.27", "", "Secure system architecture and engineering principles"),
    ("A.8.28", "", "Secure coding"),
    ("A.8.29", "", "Security testing in development and acceptance"),
    ("A.8.30", "", "Outsourced development directed and monitored"),
    ("A.8.31", "", "Development, test and production environments separated"),
    ("A.8.32", "", "Changes managed"),
    ("A.8.33", "", "Test information protected"),
    ("A.8.34", "", "Systems protected during audit testing"),
];

/// NIST CSF 2.0: functions, categories and subcategories (withdrawn numbers are skipped, as NIST
/// numbers them).
const NIST_CSF: Rows = &[
    (
        "GV",
        "",
        "Govern: the cybersecurity strategy, expectations and policy are set, told and watched",
    ),
    ("GV.OC", "", "Organizational context"),
    (
        "GV.OC-01",
        "",
        "The mission is understood and informs cybersecurity risk management",
    ),
    (
        "GV.OC-02",
        "",
        "Internal and external stakeholders and their expectations are understood",
    ),
    (
        "GV.OC-03",
        "",
        "Legal, regulatory and contractual cybersecurity requirements are understood and managed",
    ),
    (
        "GV.OC-04",
        "",
        "Critical objectives, capabilities and services others depend on are understood",
    ),
    (
        "GV.OC-05",
        "",
        "Outcomes, capabilities and services the organization depends on are understood",
    ),
    ("GV.RM", "", "Risk management strategy"),
    ("GV.RM-01", "", "Risk management objectives are agreed by stakeholders"),
    ("GV.RM-02", "", "Risk appetite and tolerance are set, told and kept"),
    (
        "GV.RM-03",
        "",
        "Cybersecurity risk is part of enterprise risk management",
    ),
    (
        "GV.RM-04",
        "",
        "A strategic direction for risk response options is set and told",
    ),
    (
        "GV.RM-05",
        "",
        "Lines of communication for cybersecurity risks are set, suppliers and third parties included",
    ),
    (
        "GV.RM-06",
        "",
        "A standard way to compute, record, rank and share risks is set",
    ),
    (
        "GV.RM-07",
        "",
        "Strategic opportunities (positive risks) are described and included",
    ),
    ("GV.RR", "", "Roles, responsibilities and authorities"),
    (
        "GV.RR-01",
        "",
        "Leadership is accountable for cybersecurity risk and fosters a risk-aware culture",
    ),
    (
        "GV.RR-02",
        "",
        "Cybersecurity roles, responsibilities and authorities are set, told, understood and enforced",
    ),
    (
        "GV.RR-03",
        "",
        "Enough resources are given to match the strategy, roles and policies",
    ),
    ("GV.RR-04", "", "Cybersecurity is part of human resources practices"),
    ("GV.PO", "", "Policy"),
    (
        "GV.PO-01",
        "",
        "A cybersecurity risk policy is set from context, strategy and priorities, told and enforced",
    ),
    (
        "GV.PO-02",
        "",
        "The policy is reviewed, updated, told and enforced as requirements, threats and technology change",
    ),
    ("GV.OV", "", "Oversight"),
    (
        "GV.OV-01",
        "",
        "Strategy outcomes are reviewed to inform and adjust strategy and direction",
    ),
    (
        "GV.OV-02",
        "",
        "The strategy is reviewed and adjusted to cover requirements and risks",
    ),
    (
        "GV.OV-03",
        "",
        "Risk management performance is evaluated and reviewed for adjustments",
    ),
    ("GV.SC", "", "Cybersecurity supply chain risk management"),
    (
        "GV.SC-01",
        "",
        "A supply chain risk programme, strategy, objectives, policies and processes are set and agreed",
    ),
    (
        "GV.SC-02",
        "",
        "Supplier, customer and partner cybersecurity roles are set, told and coordinated",
    ),
    (
        "GV.SC-03",
        "",
        "Supply chain risk management is part of cybersecurity and enterprise risk management",
    ),
    ("GV.SC-04", "", "Suppliers are known and ranked by criticality"),
    (
        "GV.SC-05",
        "",
        "Supply chain security requirements are set, ranked and built into contracts",
    ),
    (
        "GV.SC-06",
        "",
        "Planning and due diligence happen before formal supplier relationships",
    ),
    (
        "GV.SC-07",
        "",
        "Supplier risks are understood, recorded, ranked, assessed, answered and monitored",
    ),
    (
        "GV.SC-08",
        "",
        "Relevant suppliers take part in incident planning, response and recovery",
    ),
    (
        "GV.SC-09",
        "",
        "Supply chain security is part of the life cycle of technology products and services",
    ),
    (
        "GV.SC-10",
        "",
        "Supply chain plans cover what happens when a partnership or service ends",
    ),
    ("ID", "", "Identify: current cybersecurity risks are understood"),
    ("ID.AM", "", "Asset management"),
    ("ID.AM-01", "", "Inventories of hardware are kept"),
    ("ID.AM-02", "", "Inventories of software, services and systems are kept"),
    (
        "ID.AM-03",
        "",
        "Authorized network communication and data flows are represented",
    ),
    ("ID.AM-04", "", "Inventories of supplier-provided services are kept"),
    (
        "ID.AM-05",
        "",
        "Assets are ranked by classification, criticality, resources and impact on the mission",
    ),
    ("ID.AM-07", "", "Inventories of data and its metadata are kept"),
    (
        "ID.AM-08",
        "",
        "Systems, hardware, software, services and data are managed through their life cycles",
    ),
    ("ID.RA", "", "Risk assessment"),
    (
        "ID.RA-01",
        "",
        "Vulnerabilities in assets are identified, validated and recorded",
    ),
    (
        "ID.RA-02",
        "",
        "Threat intelligence is received from information-sharing forums and sources",
    ),
    (
        "ID.RA-03",
        "",
        "Internal and external threats are identified and recorded",
    ),
    (
        "ID.RA-04",
        "",
        "Potential impacts and likelihoods of threats exploiting vulnerabilities are identified and recorded",
    ),
    (
        "ID.RA-05",
        "",
        "Threats, vulnerabilities, likelihoods and impacts are used to understand and rank risk",
    ),
    (
        "ID.RA-06",
        "",
        "Risk responses are chosen, ranked, planned, tracked and told",
    ),
    (
        "ID.RA-07",
        "",
        "Changes and exceptions are managed, assessed for risk impact, recorded and tracked",
    ),
    (
        "ID.RA-08",
        "",
        "Processes for receiving, analysing and answering vulnerability disclosures are set",
    ),
    (
        "ID.RA-09",
        "",
        "The authenticity and integrity of hardware and software are assessed before acquisition and use",
    ),
    ("ID.RA-10", "", "Critical suppliers are assessed before acquisition"),
    ("ID.IM", "", "Improvement"),
    ("ID.IM-01", "", "Improvements are found from evaluations"),
    (
        "ID.IM-02",
        "",
        "Improvements are found from security tests and exercises",
    ),
    (
        "ID.IM-03",
        "",
        "Improvements are found from carrying out operational processes and activities",
    ),
    (
        "ID.IM-04",
        "",
        "Incident response and other cybersecurity plans are set, told, kept and improved",
    ),
    ("PR", "", "Protect: safeguards to manage cybersecurity risks are used"),
    ("PR.AA", "", "Identity management, authentication and access control"),
    (
        "PR.AA-01",
        "",
        "Identities and credentials of users, services and hardware are managed",
    ),
    (
        "PR.AA-02",
        "",
        "Identities are proofed and bound to credentials by the context of interactions",
    ),
    ("PR.AA-03", "", "Users, services and hardware are authenticated"),
    (
        "PR.AA-04",
        "",
        "Identity assertions are protected, conveyed and verified",
    ),
    (
        "PR.AA-05",
        "",
        "Access permissions, entitlements and authorizations are set in a policy, managed, enforced and reviewed, with least privilege and separation of duties",
    ),
    (
        "PR.AA-06",
        "",
        "Physical access to assets is managed, monitored and enforced by risk",
    ),
    ("PR.AT", "", "Awareness and training"),
    (
        "PR.AT-01",
        "",
        "Personnel are made aware and trained for general tasks with cybersecurity risks in mind",
    ),
    (
        "PR.AT-02",
        "",
        "Individuals in specialized roles are made aware and trained for those tasks",
    ),
    ("PR.DS", "", "Data security"),
    (
        "PR.DS-01",
        "",
        "Data at rest keeps its confidentiality, integrity and availability",
    ),
    (
        "PR.DS-02",
        "",
        "Data in transit keeps its confidentiality, integrity and availability",
    ),
    (
        "PR.DS-10",
        "",
        "Data in use keeps its confidentiality, integrity and availability",
    ),
    ("PR.DS-11", "", "Backups of data are made, protected, kept and tested"),
    ("PR.PS", "", "Platform security"),
    ("PR.PS-01", "", "Configuration management practices are set and applied"),
    ("PR.PS-02", "", "Software is kept, replaced and removed by risk"),
    ("PR.PS-03", "", "Hardware is kept, replaced and removed by risk"),
    (
        "PR.PS-04",
        "",
        "Log records are made and available for continuous monitoring",
    ),
    (
        "PR.PS-05",
        "",
        "Installing and running unauthorized software is prevented",
    ),
    (
        "PR.PS-06",
        "",
        "Secure software development practices are used and their performance monitored",
    ),
    ("PR.IR", "", "Technology infrastructure resilience"),
    (
        "PR.IR-01",
        "",
        "Networks and environments are protected from unauthorized logical access and use",
    ),
    (
        "PR.IR-02",
        "",
        "Technology assets are protected from environmental threats",
    ),
    (
        "PR.IR-03",
        "",
        "Resilience is achieved in normal and adverse situations",
    ),
    (
        "PR.IR-04",
        "",
        "Enough resource capacity to ensure availability is kept",
    ),
    (
        "DE",
        "",
        "Detect: possible attacks and compromises are found and analysed",
    ),
    ("DE.CM", "", "Continuous monitoring"),
    (
        "DE.CM-01",
        "",
        "Networks and network services are monitored for potentially adverse events",
    ),
    (
        "DE.CM-02",
        "",
        "The physical environment is monitored for potentially adverse events",
    ),
    (
        "DE.CM-03",
        "",
        "Personnel activity and technology usage are monitored for potentially adverse events",
    ),
    (
        "DE.CM-06",
        "",
        "External service provider activities and services are monitored for potentially adverse events",
    ),
    (
        "DE.CM-09",
        "",
        "Computing hardware, software, runtime environments and their data are monitored for potentially adverse events",
    ),
    ("DE.AE", "", "Adverse event analysis"),
    (
        "DE.AE-02",
        "",
        "Potentially adverse events are analysed to better understand associated activities",
    ),
    ("DE.AE-03", "", "Information is correlated from multiple sources"),
    (
        "DE.AE-04",
        "",
        "The estimated impact and scope of adverse events are understood",
    ),
    (
        "DE.AE-06",
        "",
        "Information on adverse events is given to authorized staff and tools",
    ),
    (
        "DE.AE-07",
        "",
        "Threat intelligence and other context are built into the analysis",
    ),
    (
        "DE.AE-08",
        "",
        "Incidents are declared when adverse events meet the set criteria",
    ),
    ("RS", "", "Respond: action is taken on a detected incident"),
    ("RS.MA", "", "Incident management"),
    (
        "RS.MA-01",
        "",
        "The incident response plan is run with the relevant third parties once an incident is declared",
    ),
    ("RS.MA-02", "", "Incident reports are triaged and validated"),
    ("RS.MA-03", "", "Incidents are categorized and ranked"),
    ("RS.MA-04", "", "Incidents are escalated or elevated as needed"),
    (
        "RS.MA-05",
        "",
        "The criteria for starting incident recovery are applied",
    ),
    ("RS.AN", "", "Incident analysis"),
    (
        "RS.AN-03",
        "",
        "Analysis establishes what took place and the root cause",
    ),
    (
        "RS.AN-06",
        "",
        "Actions during an investigation are recorded and the records' integrity and provenance kept",
    ),
    (
        "RS.AN-07",
        "",
        "Incident data and metadata are collected and their integrity and provenance kept",
    ),
    ("RS.AN-08", "", "An incident's magnitude is estimated and validated"),
    ("RS.CO", "", "Incident response reporting and communication"),
    (
        "RS.CO-02",
        "",
        "Internal and external stakeholders are told of incidents",
    ),
    (
        "RS.CO-03",
        "",
        "Information is shared with designated internal and external stakeholders",
    ),
    ("RS.MI", "", "Incident mitigation"),
    ("RS.MI-01", "", "Incidents are contained"),
    ("RS.MI-02", "", "Incidents are eradicated"),
    (
        "RC",
        "",
        "Recover: assets and operations affected by an incident are restored",
    ),
    ("RC.RP", "", "Incident recovery plan execution"),
    (
        "RC.RP-01",
        "",
        "The recovery part of the incident response plan is run once started",
    ),
    (
        "RC.RP-02",
        "",
        "Recovery actions are chosen, scoped, ranked and performed",
    ),
    (
        "RC.RP-03",
        "",
        "The integrity of backups and other restoration assets is checked before use",
    ),
    (
        "RC.RP-04",
        "",
        "Critical mission functions and risk management are considered to set post-incident norms",
    ),
    (
        "RC.RP-05",
        "",
        "The integrity of restored assets is checked, systems and services restored and normal status confirmed",
    ),
    (
        "RC.RP-06",
        "",
        "The end of recovery is declared by the criteria and the documentation completed",
    ),
    ("RC.CO", "", "Incident recovery communication"),
    (
        "RC.CO-03",
        "",
        "Recovery activities and progress are told to designated stakeholders",
    ),
    (
        "RC.CO-04",
        "",
        "Public updates on recovery are shared by approved methods and messaging",
    ),
];

/// HIPAA: the Security Rule's sections, standards (S) and implementation specifications (R
/// required, A addressable); the Breach Notification Rule's obligations (O). Sections are groups.
const HIPAA: Rows = &[
    ("164.308", "G", "Administrative safeguards"),
    ("164.308(a)(1)", "S", "Security management process"),
    (
        "164.308(a)(1)(ii)(A)",
        "R",
        "Risk analysis: an accurate and thorough assessment of risks to ePHI",
    ),
    (
        "164.308(a)(1)(ii)(B)",
        "R",
        "Risk management: measures that reduce risks to a reasonable level",
    ),
    (
        "164.308(a)(1)(ii)(C)",
        "R",
        "Sanction policy for workforce members who breach security policies",
    ),
    (
        "164.308(a)(1)(ii)(D)",
        "R",
        "Information system activity review: audit logs, access and incident reports reviewed",
    ),
    (
        "164.308(a)(2)",
        "S",
        "Assigned security responsibility: one named security official",
    ),
    ("164.308(a)(3)", "S", "Workforce security"),
    (
        "164.308(a)(3)(ii)(A)",
        "A",
        "Authorization and supervision of workforce members who work with ePHI",
    ),
    ("164.308(a)(3)(ii)(B)", "A", "Workforce clearance procedure"),
    (
        "164.308(a)(3)(ii)(C)",
        "A",
        "Termination procedures end access when employment ends",
    ),
    ("164.308(a)(4)", "S", "Information access management"),
    (
        "164.308(a)(4)(ii)(A)",
        "R",
        "Isolating health care clearinghouse functions",
    ),
    ("164.308(a)(4)(ii)(B)", "A", "Access authorization"),
    ("164.308(a)(4)(ii)(C)", "A", "Access establishment and modification"),
    ("164.308(a)(5)", "S", "Security awareness and training"),
    ("164.308(a)(5)(ii)(A)", "A", "Security reminders"),
    ("164.308(a)(5)(ii)(B)", "A", "Protection from malicious software"),
    ("164.308(a)(5)(ii)(C)", "A", "Log-in monitoring"),
    ("164.308(a)(5)(ii)(D)", "A", "Password management"),
    ("164.308(a)(6)", "S", "Security incident procedures"),
    (
        "164.308(a)(6)(ii)",
        "R",
        "Response and reporting: identify, respond to, mitigate and document incidents",
    ),
    ("164.308(a)(7)", "S", "Contingency plan"),
    (
        "164.308(a)(7)(ii)(A)",
        "R",
        "Data backup plan: retrievable exact copies of ePHI",
    ),
    ("164.308(a)(7)(ii)(B)", "R", "Disaster recovery plan"),
    ("164.308(a)(7)(ii)(C)", "R", "Emergency mode operation plan"),
    ("164.308(a)(7)(ii)(D)", "A", "Testing and revision of contingency plans"),
    (
        "164.308(a)(7)(ii)(E)",
        "A",
        "Applications and data criticality analysis",
    ),
    (
        "164.308(a)(8)",
        "S",
        "Evaluation: periodic technical and non-technical evaluation of the safeguards",
    ),
    (
        "164.308(b)(1)",
        "S",
        "Business associate contracts and other arrangements",
    ),
    (
        "164.308(b)(3)",
        "R",
        "Written contract or other arrangement with each business associate",
    ),
    ("164.310", "G", "Physical safeguards"),
    ("164.310(a)(1)", "S", "Facility access controls"),
    (
        "164.310(a)(2)(i)",
        "A",
        "Contingency operations: facility access to restore data in an emergency",
    ),
    ("164.310(a)(2)(ii)", "A", "Facility security plan"),
    ("164.310(a)(2)(iii)", "A", "Access control and validation procedures"),
    (
        "164.310(a)(2)(iv)",
        "A",
        "Maintenance records of physical security repairs and changes",
    ),
    ("164.310(b)", "S", "Workstation use"),
    ("164.310(c)", "S", "Workstation security"),
    ("164.310(d)(1)", "S", "Device and media controls"),
    (
        "164.310(d)(2)(i)",
        "R",
        "Disposal of ePHI and the hardware or media holding it",
    ),
    ("164.310(d)(2)(ii)", "R", "Media re-use: ePHI removed first"),
    (
        "164.310(d)(2)(iii)",
        "A",
        "Accountability: a record of hardware and media movements",
    ),
    (
        "164.310(d)(2)(iv)",
        "A",
        "Data backup and storage before equipment is moved",
    ),
    ("164.312", "G", "Technical safeguards"),
    ("164.312(a)(1)", "S", "Access control"),
    ("164.312(a)(2)(i)", "R", "Unique user identification"),
    ("164.312(a)(2)(ii)", "R", "Emergency access procedure"),
    ("164.312(a)(2)(iii)", "A", "Automatic logoff"),
    ("164.312(a)(2)(iv)", "A", "Encryption and decryption of ePHI"),
    (
        "164.312(b)",
        "S",
        "Audit controls that record and examine activity in systems with ePHI",
    ),
    (
        "164.312(c)(1)",
        "S",
        "Integrity: ePHI protected from improper alteration or destruction",
    ),
    ("164.312(c)(2)", "A", "Mechanism to authenticate ePHI"),
    ("164.312(d)", "S", "Person or entity authentication"),
    ("164.312(e)(1)", "S", "Transmission security"),
    ("164.312(e)(2)(i)", "A", "Integrity controls in transmission"),
    ("164.312(e)(2)(ii)", "A", "Encryption in transmission"),
    ("164.314", "G", "Organizational requirements"),
    (
        "164.314(a)(1)",
        "S",
        "Business associate contracts or other arrangements",
    ),
    (
        "164.314(a)(2)(i)",
        "R",
        "Business associate contracts: what they must require",
    ),
    ("164.314(a)(2)(ii)", "R", "Other arrangements (government entities)"),
    (
        "164.314(a)(2)(iii)",
        "R",
        "Business associate contracts with subcontractors",
    ),
    ("164.314(b)(1)", "S", "Requirements for group health plans"),
    (
        "164.314(b)(2)",
        "R",
        "Plan documents provide for the sponsor's safeguards",
    ),
    ("164.316", "G", "Policies, procedures and documentation"),
    (
        "164.316(a)",
        "S",
        "Policies and procedures to comply with the Security Rule",
    ),
    (
        "164.316(b)(1)",
        "S",
        "Documentation of policies, procedures, actions and assessments",
    ),
    ("164.316(b)(2)(i)", "R", "Time limit: documentation kept six years"),
    (
        "164.316(b)(2)(ii)",
        "R",
        "Availability of documentation to those responsible",
    ),
    (
        "164.316(b)(2)(iii)",
        "R",
        "Updates: documentation reviewed and updated periodically",
    ),
    (
        "164.400",
        "G",
        "Breach notification for unsecured protected health information",
    ),
    (
        "164.402",
        "O",
        "A breach is presumed unless a documented risk assessment shows a low probability of compromise",
    ),
    (
        "164.404",
        "O",
        "Individuals notified without unreasonable delay, at most 60 days after discovery",
    ),
    (
        "164.406",
        "O",
        "Prominent media notified of a breach affecting more than 500 residents of a state",
    ),
    (
        "164.408",
        "O",
        "The Secretary of HHS notified (within 60 days for 500 or more; yearly log otherwise)",
    ),
    (
        "164.410",
        "O",
        "A business associate notifies the covered entity of a breach, at most 60 days after discovery",
    ),
    ("164.412", "O", "Notification delayed when law enforcement so requests"),
    (
        "164.414",
        "O",
        "The burden of proof that notifications were made rests with the entity",
    ),
];

/// GDPR: the articles that bind a processor, and a controller's security.
const GDPR: Rows = &[
    ("Chapter II", "G", "Principles"),
    (
        "Art. 5",
        "O",
        "Principles of processing: lawful, limited, minimal, accurate, kept no longer than needed, secure, accountable",
    ),
    ("Chapter III", "G", "Rights of the data subject"),
    (
        "Art. 12-22",
        "O",
        "Data subjects' rights (access, rectification, erasure, restriction, portability, objection) answered within a month",
    ),
    ("Chapter IV", "G", "Controller and processor"),
    (
        "Art. 24",
        "O",
        "The controller implements and can demonstrate appropriate measures",
    ),
    ("Art. 25", "O", "Data protection by design and by default"),
    (
        "Art. 28",
        "O",
        "Processors: sufficient guarantees, a binding contract, processing only on documented instructions, sub-processors authorized",
    ),
    (
        "Art. 29",
        "O",
        "Processing under the controller's or processor's authority only on instructions",
    ),
    (
        "Art. 30",
        "O",
        "Records of processing activities, kept by controllers and processors",
    ),
    (
        "Art. 32",
        "O",
        "Security of processing appropriate to the risk (encryption, resilience, restore, regular testing)",
    ),
    (
        "Art. 33",
        "O",
        "Personal data breaches notified to the supervisory authority within 72 hours; processors tell the controller without undue delay",
    ),
    ("Art. 34", "O", "High-risk breaches communicated to the data subjects"),
    (
        "Art. 35",
        "O",
        "Data protection impact assessment for high-risk processing",
    ),
    (
        "Art. 36",
        "O",
        "Prior consultation with the authority when an assessment shows unmitigated high risk",
    ),
    (
        "Art. 37-39",
        "O",
        "A data protection officer where required, involved and independent",
    ),
    ("Chapter V", "G", "Transfers to third countries"),
    ("Art. 44", "O", "Transfers only under the conditions of Chapter V"),
    ("Art. 45", "O", "Transfers on the basis of an adequacy decision"),
    (
        "Art. 46",
        "O",
        "Transfers subject to appropriate safeguards (standard contractual clauses and others)",
    ),
    ("Art. 47", "O", "Binding corporate rules"),
    ("Art. 48", "O", "Transfers or disclosures not authorized by Union law"),
    ("Art. 49", "O", "Derogations for specific situations"),
];

/// CCPA as amended by the CPRA: the duties of service providers and contractors, and security.
const CCPA: Rows = &[
    (
        "Civil Code 1798.100",
        "G",
        "General duties of businesses that collect personal information",
    ),
    (
        "1798.100(d)",
        "O",
        "A contract with each service provider, contractor and third party limits the use of personal information",
    ),
    (
        "1798.100(e)",
        "O",
        "Reasonable security procedures and practices appropriate to the information",
    ),
    ("Civil Code 1798.105-1798.125", "G", "Consumers' rights"),
    (
        "1798.105(c)(3)",
        "O",
        "Service providers and contractors help the business delete consumers' information on request",
    ),
    (
        "1798.121",
        "O",
        "Use of sensitive personal information limited on the consumer's request",
    ),
    (
        "1798.130(a)(3)",
        "O",
        "Service providers and contractors help the business answer verifiable consumer requests",
    ),
    ("Civil Code 1798.140", "G", "Definitions"),
    (
        "1798.140(ag)",
        "O",
        "Service provider: processes on the business's behalf under a contract with the required terms",
    ),
    (
        "1798.140(j)",
        "O",
        "Contractor: receives information under a contract with the required terms and a certification",
    ),
    ("Civil Code 1798.150-1798.155", "G", "Enforcement"),
    (
        "1798.150",
        "O",
        "Consumers may sue over a breach caused by a failure to keep reasonable security",
    ),
    (
        "11 CCR 7050-7053",
        "G",
        "Regulations: service providers and contractors",
    ),
    (
        "7050",
        "O",
        "What a service provider or contractor may and may not do with personal information",
    ),
    (
        "7051",
        "O",
        "What the contract with a service provider or contractor must say",
    ),
    ("7053", "O", "Contracts with third parties"),
    (
        "11 CCR 7120-7124",
        "G",
        "Regulations: cybersecurity audits and risk assessments (phased in from 2028)",
    ),
    (
        "7120",
        "O",
        "An annual independent cybersecurity audit where processing presents significant risk",
    ),
];

/// SOX IT general controls: the four domains and their usual control objectives
/// (`sox_objectives` ties each domain to the SOC 1 objective library).
const SOX_ITGC: Rows = &[
    ("APD", "G", "Access to programs and data"),
    (
        "APD-01",
        "C",
        "Access to financially significant applications, databases and infrastructure is granted on approval",
    ),
    (
        "APD-02",
        "C",
        "Access is removed promptly when people leave or change roles",
    ),
    (
        "APD-03",
        "C",
        "Privileged and administrator access is restricted and monitored",
    ),
    (
        "APD-04",
        "C",
        "User access is reviewed periodically by the system owners",
    ),
    ("APD-05", "C", "Authentication settings are enforced"),
    ("PC", "G", "Program changes"),
    (
        "PC-01",
        "C",
        "Changes are requested, approved, tested and approved again before production",
    ),
    (
        "PC-02",
        "C",
        "Developers cannot move their own changes to production (segregation of duties)",
    ),
    ("PC-03", "C", "Emergency changes are approved after the fact"),
    (
        "PC-04",
        "C",
        "Configuration changes to financially significant systems are controlled",
    ),
    ("PD", "G", "Program development"),
    (
        "PD-01",
        "C",
        "New systems and major changes follow a development method with requirements, testing and sign-off",
    ),
    ("PD-02", "C", "Data converted to a new system is complete and accurate"),
    ("CO", "G", "Computer operations"),
    (
        "CO-01",
        "C",
        "Scheduled jobs and interfaces are monitored and failures resolved",
    ),
    ("CO-02", "C", "Data is backed up and can be restored"),
    (
        "CO-03",
        "C",
        "Incidents and problems are recorded, tracked and resolved",
    ),
];

/// The SOC 1 objectives of Assure's library (`objective_template`) that a SOX ITGC domain's
/// controls achieve: a SOC 1 Type 2 report on those objectives is what a customer's auditor relies on.
pub fn sox_objectives(domain: &str) -> &'static [&'static str] {
    match domain {
        "APD" => &["ITGC-LA", "ITGC-PA"],
        "PC" => &["ITGC-CM", "ITGC-IC"],
        "PD" => &["ITGC-SD"],
        "CO" => &["ITGC-OP", "ITGC-IM", "ITGC-BR"],
        _ => &[],
    }
}

/// The SOC 1 objectives of Assure's library that a SOX IT general control requirement's controls
/// achieve (a narrower tie than `sox_objectives`, which lists a whole domain's): a SOC 1 Type 2
/// report on them is how the requirement is evidenced to a customer's financial-statement auditor.
pub fn sox_requirement_objectives(requirement: &str) -> &'static [&'static str] {
    match requirement {
        "APD-01" | "APD-02" | "APD-04" | "APD-05" => &["ITGC-LA"],
        "APD-03" => &["ITGC-LA", "ITGC-PA"],
        "PC-01" | "PC-02" | "PC-03" => &["ITGC-CM"],
        "PC-04" => &["ITGC-IC"],
        "PD-01" | "PD-02" => &["ITGC-SD"],
        "CO-01" => &["ITGC-OP"],
        "CO-02" => &["ITGC-BR"],
        "CO-03" => &["ITGC-IM"],
        _ => &[],
    }
}

/// Whether a HIPAA requirement binds only a covered entity, a health care clearinghouse, a group
/// health plan or a government entity, and never a business associate as such (a business
/// associate's SOC 2+ marks these as not applicable rather than as gaps).
pub fn hipaa_not_for_business_associates(id: &str) -> bool {
    matches!(
        id,
        "164.308(a)(4)(ii)(A)"
            | "164.314(a)(2)(ii)"
            | "164.314(b)(1)"
            | "164.314(b)(2)"
            | "164.404"
            | "164.406"
            | "164.408"
    )
}

//! Our topic taxonomy: what a security question is about, in words of our own, each topic with
//! the trust services criteria it bears on. Also our own mapping from the standard
//! questionnaires' question identifiers (CAIQ v4 domains, HECVAT, SIG Lite domains) to topics:
//! identifiers are facts; no questionnaire text is shipped.

/// A topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Topic {
    /// Identifier.
    pub id: &'static str,
    /// A short name.
    pub name: &'static str,
    /// Words and phrases (lowercase) that signal it.
    pub words: &'static [&'static str],
    /// The criteria it bears on.
    pub criteria: &'static [&'static str],
}

/// Every topic.
pub const TOPICS: &[Topic] = &[
    Topic {
        id: "governance",
        name: "Governance and oversight",
        words: &[
            "governance",
            "board",
            "oversight",
            "organizational structure",
            "reporting lines",
            "accountab",
            "management review",
            "security officer",
            "ciso",
            "security program",
            "security team",
        ],
        criteria: &["CC1.1", "CC1.2", "CC1.3", "CC1.5", "CC2.1"],
    },
    Topic {
        id: "policy",
        name: "Policies and procedures",
        words: &["policy", "policies", "procedure", "documented", "standards"],
        criteria: &["CC5.3", "CC2.2"],
    },
    Topic {
        id: "risk",
        name: "Risk assessment",
        words: &[
            "risk assessment",
            "risk management",
            "risk register",
            "risk analysis",
            "risk-based",
            "risk appetite",
            "threat model",
            "fraud",
        ],
        criteria: &["CC3.1", "CC3.2", "CC3.3", "CC3.4", "CC9.1"],
    },
    Topic {
        id: "audit",
        name: "Independent assurance",
        words: &[
            "audit",
            "assurance",
            "soc 2",
            "soc 1",
            "soc2",
            "iso 27001",
            "certif",
            "attestation",
            "independent assessment",
            "compliance verified",
        ],
        criteria: &["CC4.1", "CC4.2"],
    },
    Topic {
        id: "people",
        name: "Hiring, conduct and people security",
        words: &[
            "background check",
            "background screening",
            "screening",
            "new hire",
            "employee",
            "contractor",
            "code of conduct",
            "confidentiality agreement",
            "non-disclosure",
            "nda",
            "disciplinary",
            "acceptable use",
            "personnel",
        ],
        criteria: &["CC1.1", "CC1.4", "CC1.5"],
    },
    Topic {
        id: "training",
        name: "Security awareness training",
        words: &["training", "awareness", "phishing", "educat"],
        criteria: &["CC1.4", "CC2.2"],
    },
    Topic {
        id: "access",
        name: "Logical access and least privilege",
        words: &[
            "access control",
            "least privilege",
            "role-based",
            "rbac",
            "authoriz",
            "entitlement",
            "separation of duties",
            "segregation of duties",
            "privileged access",
            "need to know",
            "admin access",
            "information system access",
        ],
        criteria: &["CC6.1", "CC6.3"],
    },
    Topic {
        id: "authentication",
        name: "Authentication and MFA",
        words: &[
            "authenticat",
            "mfa",
            "multi-factor",
            "multifactor",
            "two-factor",
            "2fa",
            "two-step",
            "2-step",
            "password",
            "passphrase",
            "single sign-on",
            "sso",
            "saml",
            "credential",
            "log in",
            "login",
        ],
        criteria: &["CC6.1"],
    },
    Topic {
        id: "provisioning",
        name: "Joiners, movers and leavers",
        words: &[
            "provision",
            "deprovision",
            "terminat",
            "revok",
            "offboard",
            "onboard",
            "leaver",
            "joiner",
            "account creation",
            "removal of access",
            "remove access",
            "disable account",
        ],
        criteria: &["CC6.2", "CC6.3"],
    },
    Topic {
        id: "access-review",
        name: "Access reviews",
        words: &[
            "access review",
            "review of access",
            "recertif",
            "user access review",
            "periodic review of user",
            "entitlement review",
            "reviewed periodically",
        ],
        criteria: &["CC6.2", "CC6.3"],
    },
    Topic {
        id: "encryption",
        name: "Encryption and key management",
        words: &[
            "encrypt",
            "cryptograph",
            "tls",
            "ssl",
            "https",
            "key management",
            "keys",
            "at rest",
            "in transit",
            "aes",
            "hsm",
            "cipher",
            "forward secrecy",
            "certificate",
        ],
        criteria: &["CC6.1", "CC6.7"],
    },
    Topic {
        id: "network",
        name: "Network security",
        words: &[
            "firewall",
            "network segment",
            "segmentation",
            "intrusion",
            "ids",
            "ips",
            "vpn",
            "dmz",
            "waf",
            "network traffic",
            "ddos",
            "communications between environments",
            "network",
        ],
        criteria: &["CC6.6", "CC6.1"],
    },
    Topic {
        id: "endpoint",
        name: "Endpoints and malware",
        words: &[
            "endpoint",
            "laptop",
            "workstation",
            "mobile device",
            "mdm",
            "antivirus",
            "anti-virus",
            "malware",
            "edr",
            "screen lock",
            "managed assets",
            "byod",
        ],
        criteria: &["CC6.8"],
    },
    Topic {
        id: "vulnerability",
        name: "Vulnerability management",
        words: &[
            "vulnerab",
            "scanning",
            "scan",
            "penetration test",
            "pentest",
            "patch",
            "cve",
            "bug bounty",
            "security researcher",
            "report security",
            "remediat",
        ],
        criteria: &["CC7.1"],
    },
    Topic {
        id: "logging",
        name: "Logging and monitoring",
        words: &[
            "logging",
            "log ",
            "logs",
            "monitor",
            "siem",
            "alert",
            "audit trail",
            "detect",
            "anomal",
            "security events",
        ],
        criteria: &["CC7.2", "CC7.3"],
    },
    Topic {
        id: "incident",
        name: "Incident response",
        words: &[
            "incident",
            "breach",
            "notification",
            "security event",
            "forensic",
            "response plan",
            "post-mortem",
            "root cause",
        ],
        criteria: &["CC7.3", "CC7.4", "CC7.5"],
    },
    Topic {
        id: "change",
        name: "Change management",
        words: &[
            "change management",
            "change control",
            "changes",
            "code review",
            "peer review",
            "deploy",
            "release",
            "version control",
            "rollback",
            "emergency change",
            "baseline",
            "approved before",
        ],
        criteria: &["CC8.1"],
    },
    Topic {
        id: "appsec",
        name: "Secure development",
        words: &[
            "sdlc",
            "secure development",
            "development lifecycle",
            "owasp",
            "static analysis",
            "sast",
            "dast",
            "input validation",
            "application security",
            "secure coding",
            "xss",
            "sql injection",
            "csrf",
            "session",
            "application code",
            "framework",
        ],
        criteria: &["CC8.1", "CC7.1"],
    },
    Topic {
        id: "continuity",
        name: "Backups, continuity and recovery",
        words: &[
            "business continuity",
            "disaster recovery",
            "backup",
            "backed up",
            "restore",
            "rto",
            "rpo",
            "failover",
            "redundan",
            "resilien",
            "disruption",
            "availability",
            "uptime",
            "recover",
        ],
        criteria: &["A1.2", "A1.3", "CC9.1"],
    },
    Topic {
        id: "capacity",
        name: "Capacity and performance",
        words: &["capacity", "performance", "scalab", "load"],
        criteria: &["A1.1"],
    },
    Topic {
        id: "vendors",
        name: "Vendors and subservice organisations",
        words: &[
            "vendor",
            "third party",
            "third-party",
            "3rd party",
            "supplier",
            "subprocessor",
            "sub-processor",
            "subservice",
            "outsourc",
            "supply chain",
            "service provider",
            "cloud provider",
            "hosting provider",
        ],
        criteria: &["CC9.2"],
    },
    Topic {
        id: "physical",
        name: "Physical and data centre security",
        words: &[
            "physical",
            "datacenter",
            "data center",
            "data centre",
            "facility",
            "facilities",
            "badge",
            "cctv",
            "visitor",
            "environmental",
            "premises",
            "equipment",
        ],
        criteria: &["CC6.4"],
    },
    Topic {
        id: "data-lifecycle",
        name: "Data classification, retention and disposal",
        words: &[
            "classification",
            "classif",
            "retention",
            "dispos",
            "delet",
            "destroy",
            "destruction",
            "sanitiz",
            "data inventory",
            "data flow",
            "lifecycle",
            "confidential information",
            "storage media",
        ],
        criteria: &["C1.1", "C1.2", "CC6.5"],
    },
    Topic {
        id: "privacy",
        name: "Privacy and personal data",
        words: &[
            "privacy",
            "personal data",
            "personal information",
            "pii",
            "gdpr",
            "ccpa",
            "consent",
            "data subject",
            "data processing agreement",
            "dpa",
        ],
        criteria: &["P1.1", "P2.1", "P3.1", "P4.1", "P5.1", "P6.1", "P7.1", "P8.1"],
    },
    Topic {
        id: "assets",
        name: "Asset inventory and hardening",
        words: &[
            "asset inventory",
            "inventory",
            "asset management",
            "configuration",
            "hardening",
            "hardened",
            "cmdb",
            "baseline configuration",
            "hypervisor",
            "operating system",
        ],
        criteria: &["CC6.1", "CC7.1"],
    },
    Topic {
        id: "integrity",
        name: "Processing integrity",
        words: &[
            "processing integrity",
            "data accuracy",
            "reconcil",
            "completeness",
            "accuracy",
        ],
        criteria: &["PI1.1", "PI1.2", "PI1.3", "PI1.4", "PI1.5"],
    },
    Topic {
        id: "compliance",
        name: "Legal and regulatory compliance",
        words: &[
            "regulat",
            "legal",
            "contractual",
            "statutory",
            "compliance requirement",
            "law",
        ],
        criteria: &["CC2.3", "CC3.1"],
    },
    Topic {
        id: "health",
        name: "Health data (HIPAA)",
        words: &[
            "hipaa",
            "phi",
            "protected health",
            "health information",
            "health data",
            "ephi",
        ],
        criteria: &[],
    },
    Topic {
        id: "payments",
        name: "Payment cards (PCI DSS)",
        words: &["pci", "cardholder", "payment card", "credit card"],
        criteria: &[],
    },
];

/// Our mapping from standard questionnaires' identifier prefixes to topics.
/// CAIQ v4 domains, HECVAT section codes, SIG Lite domain letters (as `SIG:X`).
pub const PREFIXES: &[(&str, &[&str])] = &[
    // CAIQ v4 / CCM v4 domains.
    ("A&A", &["audit"]),
    ("AIS", &["appsec"]),
    ("BCR", &["continuity"]),
    ("CCC", &["change"]),
    ("CEK", &["encryption"]),
    ("DCS", &["physical"]),
    ("DSP", &["data-lifecycle", "privacy"]),
    ("GRC", &["governance", "risk", "policy"]),
    ("HRS", &["people", "training"]),
    ("IAM", &["access", "authentication", "provisioning", "access-review"]),
    ("IPY", &["data-lifecycle"]),
    ("IVS", &["network", "assets"]),
    ("LOG", &["logging"]),
    ("SEF", &["incident"]),
    ("STA", &["vendors"]),
    ("TVM", &["vulnerability", "endpoint"]),
    ("UEM", &["endpoint"]),
    // HECVAT section codes.
    ("APPL", &["appsec"]),
    ("AAAI", &["authentication", "access", "logging"]),
    ("CHNG", &["change"]),
    ("DATA", &["data-lifecycle", "encryption"]),
    ("DCTR", &["physical"]),
    ("FIDP", &["network"]),
    ("PPPR", &["policy"]),
    ("HFIH", &["incident"]),
    ("VULN", &["vulnerability"]),
    ("HIPA", &["health"]),
    ("PCID", &["payments"]),
    ("BCPL", &["continuity"]),
    ("DRPL", &["continuity"]),
    ("THRD", &["vendors"]),
    ("DOCU", &["policy", "audit"]),
    // SIG Lite domains (question ids `A.1`, `H.3.2`, ...), by letter.
    ("SIG:A", &["risk"]),
    ("SIG:B", &["policy"]),
    ("SIG:C", &["governance"]),
    ("SIG:D", &["assets", "data-lifecycle"]),
    ("SIG:E", &["people", "training"]),
    ("SIG:F", &["physical"]),
    ("SIG:G", &["change", "logging"]),
    ("SIG:H", &["access", "authentication", "provisioning", "access-review"]),
    ("SIG:I", &["appsec"]),
    ("SIG:J", &["incident"]),
    ("SIG:K", &["continuity"]),
    ("SIG:L", &["compliance", "audit"]),
    ("SIG:M", &["endpoint"]),
    ("SIG:N", &["network"]),
    ("SIG:P", &["privacy"]),
    ("SIG:T", &["vulnerability"]),
    ("SIG:U", &["assets"]),
    ("SIG:V", &["vendors"]),
];

/// A topic by id.
pub fn topic(id: &str) -> Option<&'static Topic> {
    TOPICS.iter().find(|t| t.id == id)
}

/// Our mapping from the words of VSAQ's question identifiers (`application_ssl_configuration`)
/// to topics.
pub const VSAQ_WORDS: &[(&str, &str)] = &[
    ("ssl", "encryption"),
    ("tls", "encryption"),
    ("https", "encryption"),
    ("crypto", "encryption"),
    ("encryption", "encryption"),
    ("authentication", "authentication"),
    ("password", "authentication"),
    ("passwords", "authentication"),
    ("sso", "authentication"),
    ("login", "authentication"),
    ("mfa", "authentication"),
    ("authorization", "access"),
    ("access", "access"),
    ("privileges", "access"),
    ("vm", "vulnerability"),
    ("vulnerability", "vulnerability"),
    ("patching", "vulnerability"),
    ("pentest", "vulnerability"),
    ("xss", "appsec"),
    ("xsrf", "appsec"),
    ("xssi", "appsec"),
    ("clickjacking", "appsec"),
    ("injection", "appsec"),
    ("sdlc", "appsec"),
    ("testing", "appsec"),
    ("logging", "logging"),
    ("monitoring", "logging"),
    ("backup", "continuity"),
    ("backups", "continuity"),
    ("dr", "continuity"),
    ("network", "network"),
    ("firewall", "network"),
    ("physical", "physical"),
    ("datacenter", "physical"),
    ("incident", "incident"),
    ("vendor", "vendors"),
    ("vendors", "vendors"),
    ("privacy", "privacy"),
    ("training", "training"),
    ("personnel", "people"),
    ("hr", "people"),
    ("change", "change"),
    ("retention", "data-lifecycle"),
    ("deletion", "data-lifecycle"),
    ("policy", "policy"),
    ("policies", "policy"),
    ("risk", "risk"),
    ("endpoint", "endpoint"),
    ("malware", "endpoint"),
];

/// The topics an identifier maps to: a standard questionnaire's prefix, or VSAQ's words.
pub fn by_id(question_id: &str) -> Vec<&'static Topic> {
    if question_id.contains('_') {
        let mut out: Vec<&'static Topic> = Vec::new();
        for word in question_id.to_lowercase().split('_') {
            if let Some((_, t)) = VSAQ_WORDS.iter().find(|(w, _)| *w == word)
                && let Some(topic) = topic(t)
                && !out.contains(&topic)
            {
                out.push(topic);
            }
        }
        return out;
    }
    let id = question_id.trim().to_uppercase();
    let head: String = id
        .chars()
        .take_while(|c| c.is_ascii_alphabetic() || *c == '&')
        .collect();
    let key = if head.len() == 1 && id[1..].starts_with('.') {
        format!("SIG:{head}")
    } else {
        head
    };
    PREFIXES
        .iter()
        .find(|(p, _)| *p == key)
        .map(|(_, ts)| ts.iter().filter_map(|t| topic(t)).collect())
        .unwrap_or_default()
}

/// The topics of a question, most signalled first: the id's prefix counts as two words.
pub fn classify(question_id: &str, text: &str) -> Vec<(&'static Topic, u32)> {
    let lower = format!(" {} ", text.to_lowercase());
    let mut scored: Vec<(&'static Topic, u32)> = TOPICS
        .iter()
        .map(|t| (t, t.words.iter().filter(|w| lower.contains(*w)).count() as u32))
        .collect();
    for t in by_id(question_id) {
        if let Some(s) = scored.iter_mut().find(|(x, _)| x.id == t.id) {
            s.1 += 2;
        }
    }
    scored.retain(|(_, n)| *n > 0);
    scored.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.id.cmp(b.0.id)));
    scored
}

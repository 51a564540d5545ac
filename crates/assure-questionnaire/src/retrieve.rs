//! Lexical retrieval: BM25 (tantivy, in memory) over the answer library, the controls and the
//! policies, with English stemming, stop words and a security-vocabulary synonym list applied to
//! the query. Also the token-set similarity that decides whether a library question is the same
//! question.

use std::collections::BTreeSet;

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions, Value};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
};
use tantivy::{Index, IndexReader, TantivyDocument, Term, doc};

use crate::QError;

/// Groups of words that mean the same in security questionnaires (lowercase; phrases allowed).
pub const SYNONYMS: &[&[&str]] = &[
    &[
        "mfa",
        "multi-factor",
        "multifactor",
        "two-factor",
        "2fa",
        "two-step",
        "2-step",
        "2sv",
    ],
    &[
        "encrypt",
        "encryption",
        "encrypted",
        "cryptographic",
        "cryptography",
        "cipher",
    ],
    &["backup", "backups", "backed up", "back up"],
    &["vulnerability", "vulnerabilities", "vuln"],
    &["penetration test", "pentest", "pen test"],
    &["sso", "single sign-on", "federated"],
    &[
        "access review",
        "recertification",
        "entitlement review",
        "user access review",
    ],
    &["offboarding", "termination", "deprovisioning", "leaver", "revocation"],
    &["onboarding", "provisioning", "joiner", "new hire"],
    &["logging", "audit log", "monitoring", "siem"],
    &["incident", "breach", "security event"],
    &["business continuity", "bcp", "resilience"],
    &["disaster recovery", "drp", "recovery"],
    &["sdlc", "software development", "development lifecycle"],
    &["change management", "change control", "pull request", "code review"],
    &["vendor", "third party", "supplier", "subprocessor", "subservice"],
    &["training", "awareness"],
    &["background check", "screening"],
    &["asset inventory", "asset management"],
    &["endpoint", "laptop", "workstation", "device"],
    &["malware", "antivirus", "anti-virus", "edr"],
    &["firewall", "network security"],
    &["least privilege", "need to know"],
    &["password", "credential", "passphrase"],
    &["risk assessment", "risk analysis"],
];

fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(StopWordFilter::new(Language::English).unwrap_or_else(|| StopWordFilter::remove(Vec::<String>::new())))
        .filter(Stemmer::new(Language::English))
        .build()
}

/// The stemmed content words of a text.
pub fn stems(text: &str) -> Vec<String> {
    let mut a = analyzer();
    let mut stream = a.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

/// How alike two texts are: the Dice coefficient of their stemmed word sets, 0 to 1.
pub fn similarity(a: &str, b: &str) -> f64 {
    let sa: BTreeSet<String> = stems(a).into_iter().collect();
    let sb: BTreeSet<String> = stems(b).into_iter().collect();
    if sa.is_empty() || sb.is_empty() {
        return 0.0;
    }
    2.0 * sa.intersection(&sb).count() as f64 / (sa.len() + sb.len()) as f64
}

/// The text with every synonym group it touches added.
pub fn expand(text: &str) -> String {
    let lower = text.to_lowercase();
    let mut out = text.to_string();
    for group in SYNONYMS {
        if group.iter().any(|w| lower.contains(w)) {
            for w in *group {
                out.push(' ');
                out.push_str(w);
            }
        }
    }
    out
}

/// An in-memory BM25 index over numbered documents.
pub struct Corpus {
    reader: IndexReader,
    text: Field,
    key: Field,
    len: usize,
}

impl std::fmt::Debug for Corpus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Corpus").field("len", &self.len).finish()
    }
}

fn internal(e: impl std::fmt::Display) -> QError {
    QError::new(
        "search index",
        &format!("{e}"),
        "this is a bug in Assure; report it with the questionnaire's shape",
    )
}

impl Corpus {
    /// Indexes the texts; a hit's key is its position in `texts`.
    pub fn build(texts: &[String]) -> Result<Corpus, QError> {
        let mut builder = Schema::builder();
        let opts = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("sec")
                .set_index_option(IndexRecordOption::WithFreqs),
        );
        let text = builder.add_text_field("text", opts);
        let key = builder.add_u64_field("key", STORED);
        let index = Index::create_in_ram(builder.build());
        index.tokenizers().register("sec", analyzer());
        let mut writer = index
            .writer_with_num_threads::<TantivyDocument>(1, 15_000_000)
            .map_err(internal)?;
        for (i, t) in texts.iter().enumerate() {
            writer
                .add_document(doc!(text => t.as_str(), key => i as u64))
                .map_err(internal)?;
        }
        writer.commit().map_err(internal)?;
        let reader = index.reader().map_err(internal)?;
        Ok(Corpus {
            reader,
            text,
            key,
            len: texts.len(),
        })
    }

    /// The best `limit` documents for a query (synonyms expanded), with their BM25 scores.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<(usize, f32)>, QError> {
        if self.len == 0 {
            return Ok(Vec::new());
        }
        let terms: BTreeSet<String> = stems(&expand(query)).into_iter().collect();
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let clauses: Vec<(Occur, Box<dyn Query>)> = terms
            .into_iter()
            .map(|t| {
                let q: Box<dyn Query> = Box::new(TermQuery::new(
                    Term::from_field_text(self.text, &t),
                    IndexRecordOption::WithFreqs,
                ));
                (Occur::Should, q)
            })
            .collect();
        let q = BooleanQuery::new(clauses);
        let searcher = self.reader.searcher();
        let top = searcher
            .search(&q, &TopDocs::with_limit(limit).order_by_score())
            .map_err(internal)?;
        let mut out = Vec::new();
        for (score, addr) in top {
            let d: TantivyDocument = searcher.doc(addr).map_err(internal)?;
            if let Some(k) = d.get_first(self.key).and_then(|v| v.as_u64()) {
                out.push((k as usize, score));
            }
        }
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(out)
    }
}

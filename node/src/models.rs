//! The models a node serves: each compiled folder loaded once (keys mapped, never per job),
//! with its card and verifier key, and the check of a buyer's input against it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use zkinfer_pipeline::{load, read, Loaded, ModelCard, ModelDir, Observer, PipelineError, VK};
use zkinfer_prover::Device;

use crate::error::ApiError;

/// One model ready to prove.
pub struct Served {
    pub card: ModelCard,
    /// The verifier key file's bytes, served to buyers (who check it against their pinned id).
    pub vk: Vec<u8>,
    pub loaded: Loaded,
}

impl Served {
    /// Loads the compiled folder `dir`.
    pub fn open(dir: &Path, device: Device, observer: &dyn Observer) -> Result<Self, PipelineError> {
        let loaded = load(dir, device, observer)?;
        let d = ModelDir(dir.to_path_buf());
        let card: ModelCard = serde_json::from_slice(&read(&d.card())?)
            .map_err(|source| PipelineError::Json { path: d.card(), source })?;
        let vk = read(&dir.join(VK))?;
        Ok(Served { card, vk, loaded })
    }

    /// Checks `input` against the model's inputs before it is queued: their count, each one's
    /// length, finite values, and values the circuit can represent (beyond them the proof would
    /// be refused as saturated).
    pub fn check_input(&self, input: &[Vec<f64>]) -> Result<(), ApiError> {
        let inputs = &self.card.inputs;
        if input.len() != inputs.len() {
            return Err(ApiError::bad_request(
                "wrong_shape",
                format!("the model takes {} input tensor(s), the request has {}", inputs.len(), input.len()),
            ));
        }
        for (k, (values, spec)) in input.iter().zip(inputs).enumerate() {
            if values.len() != spec.len() {
                return Err(ApiError::bad_request(
                    "wrong_shape",
                    format!(
                        "input `{}` has shape {:?} ({} values), the request has {}",
                        spec.name,
                        spec.shape,
                        spec.len(),
                        values.len()
                    ),
                ));
            }
            let range = self.card.input_ranges.get(k).map(|r| r.provable);
            for (i, &v) in values.iter().enumerate() {
                if !v.is_finite() {
                    return Err(ApiError::bad_request("not_finite", format!("input `{}`[{i}] is {v}", spec.name)));
                }
                if let Some((lo, hi)) = range {
                    if v < lo || v > hi {
                        return Err(ApiError::bad_request(
                            "out_of_range",
                            format!("input `{}`[{i}] = {v} is outside the provable range [{lo}, {hi}]", spec.name),
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

/// The served models by model id.
#[derive(Clone, Default)]
pub struct Models(pub Arc<BTreeMap<String, Arc<Served>>>);

impl Models {
    /// The models of `served`, keyed by their ids.
    pub fn new(served: Vec<Served>) -> Self {
        Models(Arc::new(served.into_iter().map(|s| (s.card.model_id.clone(), Arc::new(s))).collect()))
    }

    /// The model with id `model_id`.
    pub fn get(&self, model_id: &str) -> Option<&Arc<Served>> {
        self.0.get(model_id)
    }
}

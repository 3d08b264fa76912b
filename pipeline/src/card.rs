//! The model card: what a model owner publishes beside the verifier key, and what a node serves
//! at `GET /v1/models`.

use serde::{Deserialize, Serialize};
use zkinfer_circuits::model::LayoutParams;
use zkinfer_verifier::IoTensor;

/// Column counts of the circuit (each committed column costs prove time and proof bytes).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Columns {
    pub advice: usize,
    pub fixed: usize,
    pub lookups: usize,
    pub instance: usize,
}

/// Where the SRS came from.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SrsInfo {
    /// `insecure-test` (anyone can forge proofs), `ceremony` (a published one zkinfer knows) or
    /// `file` (any other setup), judged from the SRS id.
    pub kind: String,
    /// Hex SHA-256 of the verifier's SRS points (part of the model id).
    pub id: String,
    /// The published ceremony, when `kind` is `ceremony`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ceremony: Option<String>,
    /// The file `compile --srs` read, when it read one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SrsSource>,
}

/// The setup file a model was compiled from, so that anyone can fetch the same file and compare.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SrsSource {
    /// `ptau` or `halo2-params`.
    pub format: String,
    /// BLAKE2b-512 of the file (hex), the hash ceremonies publish.
    pub blake2b: String,
    /// The file held `2^file_power` powers.
    pub file_power: u32,
}

/// Quantization quality measured on the calibration set at compile time.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CardAccuracy {
    pub samples: usize,
    pub argmax_agreement: f64,
    pub float_top1: Option<f64>,
    pub quant_top1: Option<f64>,
}

/// One model input's ranges: what calibration saw, and what the circuit accepts (beyond it,
/// `prove` refuses the input as saturated).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InputRange {
    pub name: String,
    /// Largest magnitude in the calibration set.
    pub calibrated_max_abs: f64,
    /// Smallest and largest float the input's integers stand for.
    pub provable: (f64, f64),
}

/// What a model owner publishes beside the verifier key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelCard {
    pub model_id: String,
    pub model: String,
    pub srs: SrsInfo,
    pub k: u32,
    pub rows: usize,
    pub columns: Columns,
    pub layout: LayoutParams,
    pub ops: std::collections::BTreeMap<String, usize>,
    pub parameters: usize,
    pub macs: usize,
    pub inputs: Vec<IoTensor>,
    pub outputs: Vec<IoTensor>,
    pub input_ranges: Vec<InputRange>,
    /// Headroom kept above the calibrated ranges (a fraction).
    pub headroom: f64,
    pub accuracy: CardAccuracy,
    pub pk_bytes: usize,
    pub vk_bytes: usize,
}

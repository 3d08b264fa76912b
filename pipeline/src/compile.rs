//! Compiling a model: quantize, plan the circuit, set up keys, and write the folder.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use zkinfer_circuits::model::ModelCircuit;
use zkinfer_circuits::planner::{plan_for, Objective};
use zkinfer_prover::{import_setup, insecure_test_srs, setup, MsmTables, ProverKey, RoutedParams, SelectedMsm};
use zkinfer_quant_models::compile::{compile_onnx_batch, pack_samples};
use zkinfer_quant_models::report::accuracy;
use zkinfer_quant_models::{CompiledModel, QuantConfig};
use zkinfer_verifier::{Setup, VerifierSrs};

use crate::card::{CardAccuracy, Columns, InputRange, ModelCard, SrsInfo, SrsSource};
use crate::folder::{read, replace_dir, CARD, KEY_COSETS, MODEL, MSM_TABLES, PK, SRS, VK};
use crate::manifest::Manifest;
use crate::observer::step;
use crate::{Observer, PipelineError};

/// Everything `compile` produces.
pub struct Artifacts {
    pub compiled: CompiledModel,
    pub key: ProverKey,
    pub params: RoutedParams<SelectedMsm>,
    /// Already in use by `params`; saved for later `prove` processes.
    pub msm_tables: Option<Arc<MsmTables>>,
    pub card: ModelCard,
    /// Time of key generation alone.
    pub keygen: Duration,
}

/// Calibration samples with optional labels.
pub struct Calibration {
    pub samples: Vec<Vec<Vec<f64>>>,
    pub labels: Vec<usize>,
}

impl Calibration {
    /// The samples as inputs of a model that takes `batch` at once (labels stay in sample order).
    pub fn packed(self, batch: usize) -> Calibration {
        if batch <= 1 {
            return self;
        }
        Calibration { samples: pack_samples(&self.samples, batch), labels: self.labels }
    }
}

/// The model to compile: its ONNX bytes, its name in reports, and the samples per proof.
pub struct Source<'a> {
    pub onnx: &'a [u8],
    pub name: &'a str,
    pub batch: usize,
}

/// What to compile for: the quantization, whether the input is public, the layout objective,
/// and the setup (a halo2 params or ptau file; without one, an insecure test SRS).
pub struct Target<'a> {
    pub config: QuantConfig,
    pub public_input: bool,
    pub objective: Objective,
    pub srs: Option<&'a Path>,
}

/// Quantizes `onnx`, plans its circuit and generates keys for `target`. `calibration` holds
/// model inputs: packed by [`Calibration::packed`] for a batch above 1.
pub fn compile(
    Source { onnx, name, batch }: Source,
    calibration: &Calibration,
    target: Target,
    observer: &dyn Observer,
) -> Result<Artifacts, PipelineError> {
    let Target { config, public_input, objective, srs } = target;
    let what = format!("import, calibrate ({} samples), quantize", calibration.samples.len());
    let (compiled, _) =
        step(observer, &what, || Ok(compile_onnx_batch(onnx, name, &calibration.samples, config, batch)?))?;
    for w in &compiled.calibration_warnings {
        observer.warning(w);
    }
    let model = Arc::new(compiled.quant.clone());
    let ((layout, _), _) =
        step(observer, "plan the circuit layout", || Ok(plan_for(&model, public_input, objective)?))?;
    let circuit = ModelCircuit::for_keygen(model.clone(), layout)?;
    let (k, rows) = (circuit.min_k(), circuit.rows());
    let (srs, source) = match srs {
        Some(path) => {
            let bytes = read(path)?;
            let what = format!("load SRS {} and check it with pairings (k = {k})", path.display());
            let (imported, _) = step(observer, &what, || Ok(import_setup(&bytes, k)?))?;
            let source = SrsSource {
                format: imported.format.name().into(),
                blake2b: imported.blake2b,
                file_power: imported.file_power,
            };
            (imported.params, Some(source))
        }
        None => {
            (step(observer, &format!("generate INSECURE test SRS (k = {k})"), || Ok(insecure_test_srs(k)))?.0, None)
        }
    };
    // Judged from the setup itself, not from where it was read.
    let (kind, ceremony) = match VerifierSrs::from_params(&srs).setup() {
        Setup::InsecureTest => {
            observer.warning("INSECURE test SRS (its secret is public): anyone can forge proofs for this model id, and `verify` refuses them without --allow-insecure-srs");
            ("insecure-test", None)
        }
        Setup::Ceremony(c) => ("ceremony", Some(c.name.to_string())),
        Setup::Unknown { .. } => ("file", None),
    };
    let what = format!("keygen ({rows} rows, k = {k})");
    let ((key, mut params), keygen) =
        step(observer, &what, || Ok(setup(&srs, SelectedMsm::default(), model, layout)?))?;
    let (msm_tables, _) = step(observer, "window tables for full-width MSMs", || Ok(params.build_msm_tables()))?;
    let (report, _) = step(observer, "accuracy on the calibration set", || {
        Ok(accuracy(&compiled, &calibration.samples, &calibration.labels)?)
    })?;
    let cs = key.pk.get_vk().cs();
    let mut ops = BTreeMap::new();
    for n in &compiled.quant.nodes {
        *ops.entry(n.op.name().to_string()).or_default() += 1;
    }
    let stats = compiled.float.stats();
    let spec = key.spec().clone();
    let input_ranges = spec
        .inputs
        .iter()
        .enumerate()
        .map(|(k, t)| {
            let seen = calibration.samples.iter().filter_map(|s| s.get(k)).flatten();
            let half = (1i64 << (t.bits - 1)) as f64;
            InputRange {
                name: t.name.clone(),
                calibrated_max_abs: seen.fold(0.0, |m, v| m.max(v.abs())),
                provable: (-half * t.scale(), (half - 1.0) * t.scale()),
            }
        })
        .collect();
    let card = ModelCard {
        model_id: key.verifier.model_id().to_string(),
        model: name.to_string(),
        srs: SrsInfo { kind: kind.into(), id: key.verifier.srs.id_hex(), ceremony, source },
        k,
        rows,
        columns: Columns {
            advice: cs.num_advice_columns(),
            fixed: cs.num_fixed_columns(),
            lookups: cs.lookups().len(),
            instance: cs.num_instance_columns(),
        },
        layout,
        ops,
        parameters: stats.parameters,
        macs: stats.macs,
        inputs: spec.inputs,
        outputs: spec.outputs,
        input_ranges,
        headroom: config.margin,
        accuracy: CardAccuracy {
            samples: report.samples,
            argmax_agreement: report.argmax_agreement,
            float_top1: report.float_top1,
            quant_top1: report.quant_top1,
        },
        pk_bytes: 0,
        vk_bytes: key.verifier.to_bytes().len(),
    };
    Ok(Artifacts { compiled, key, params, msm_tables, card, keygen })
}

impl Artifacts {
    /// Writes the compiled folder, manifest last, into a staging folder beside `dir` that then
    /// replaces `dir`: an interrupted compile leaves an earlier folder as it was.
    pub fn save(&mut self, dir: &Path) -> Result<(), PipelineError> {
        replace_dir(dir, |staging| {
            let mut manifest = Manifest::new(&self.card.model_id);
            let pk = self.key.to_bytes();
            self.card.pk_bytes = pk.len();
            manifest.write_file(staging, PK, &pk)?;
            drop(pk);
            manifest.write_file(staging, MODEL, &self.compiled.to_bytes()?)?;
            manifest.write_file(staging, VK, &self.key.verifier.to_bytes())?;
            manifest.write_file(staging, SRS, &zkinfer_prover::write_srs(self.params.inner()))?;
            if let Some(tables) = &self.msm_tables {
                manifest.write_file(staging, MSM_TABLES, &tables.to_bytes())?;
            }
            if let Some(cosets) = self.key.cosets_file() {
                manifest.write_file(staging, KEY_COSETS, &cosets)?;
            }
            let card = serde_json::to_string_pretty(&self.card).map_err(|e| PipelineError::Folder(e.to_string()))?;
            manifest.write_file(staging, CARD, card.as_bytes())?;
            manifest.write(staging)
        })
    }
}

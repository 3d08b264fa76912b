//! The steps shared by `compile`, `prove`, `demo` and `bench`: quantize, plan, set up keys,
//! load a compiled folder, prove one input.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use zkinfer_circuits::model::ModelCircuit;
use zkinfer_circuits::planner::{plan_for, Objective};
use zkinfer_prover::{
    import_setup, insecure_test_srs, prove_with, read_srs, setup, Device, MsmTables, ProveOptions, ProveTimings,
    ProverKey, RoutedParams, SelectedMsm,
};
use zkinfer_quant_models::compile::{compile_onnx_batch, pack_samples};
use zkinfer_quant_models::infer::run_float_inputs;
use zkinfer_quant_models::report::accuracy;
use zkinfer_quant_models::{CompiledModel, QuantConfig};
use zkinfer_verifier::{ProofBundle, Setup, VerifierSrs};

use crate::manifest::Manifest;
use crate::model_dir::{
    map, read, replace_dir, CardAccuracy, Columns, InputRange, ModelCard, ModelDir, SrsInfo, SrsSource, CARD,
    KEY_COSETS, MODEL, MSM_TABLES, PK, SRS, VK,
};
use crate::progress::step;

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

/// Quantizes `onnx`, plans its circuit for `objective`, and generates keys from `srs` (a halo2 params file) or,
/// without one, from an insecure test SRS. `calibration` holds model inputs: packed by
/// [`Calibration::packed`] for a batch above 1.
pub fn compile(
    Source { onnx, name, batch }: Source,
    calibration: &Calibration,
    config: QuantConfig,
    public_input: bool,
    objective: Objective,
    srs: Option<&Path>,
) -> anyhow::Result<Artifacts> {
    let (compiled, _) = step(&format!("import, calibrate ({} samples), quantize", calibration.samples.len()), || {
        Ok(compile_onnx_batch(onnx, name, &calibration.samples, config, batch)?)
    })?;
    for w in &compiled.calibration_warnings {
        eprintln!("warning: {w}");
    }
    let model = Arc::new(compiled.quant.clone());
    let ((layout, _), _) = step("plan the circuit layout", || Ok(plan_for(&model, public_input, objective)?))?;
    let circuit = ModelCircuit::for_keygen(model.clone(), layout)?;
    let (k, rows) = (circuit.min_k(), circuit.rows());
    let (srs, source) = match srs {
        Some(path) => {
            let bytes = read(path)?;
            let (imported, _) =
                step(&format!("load SRS {} and check it with pairings (k = {k})", path.display()), || {
                    Ok(import_setup(&bytes, k)?)
                })?;
            let source = SrsSource {
                format: imported.format.name().into(),
                blake2b: imported.blake2b,
                file_power: imported.file_power,
            };
            (imported.params, Some(source))
        }
        None => (step(&format!("generate INSECURE test SRS (k = {k})"), || Ok(insecure_test_srs(k)))?.0, None),
    };
    // Judged from the setup itself, not from where it was read.
    let (kind, ceremony) = match VerifierSrs::from_params(&srs).setup() {
        Setup::InsecureTest => {
            eprintln!("warning: INSECURE test SRS (its secret is public): anyone can forge proofs for this model id, and `verify` refuses them without --allow-insecure-srs");
            ("insecure-test", None)
        }
        Setup::Ceremony(c) => ("ceremony", Some(c.name.to_string())),
        Setup::Unknown { .. } => ("file", None),
    };
    let ((key, mut params), keygen) =
        step(&format!("keygen ({rows} rows, k = {k})"), || Ok(setup(&srs, SelectedMsm::default(), model, layout)?))?;
    let (msm_tables, _) = step("window tables for full-width MSMs", || Ok(params.build_msm_tables()))?;
    let (report, _) = step("accuracy on the calibration set", || {
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
    pub fn save(&mut self, dir: &Path) -> anyhow::Result<()> {
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
            manifest.write_file(staging, CARD, serde_json::to_string_pretty(&self.card)?.as_bytes())?;
            manifest.write(staging)
        })
    }
}

/// A compiled folder, loaded for proving.
pub struct Loaded {
    pub compiled: CompiledModel,
    pub key: ProverKey,
    pub params: RoutedParams<SelectedMsm>,
}

/// Loads `dir` (written by `compile`) for proving with MSMs on `device`; says which it picked.
/// Every file is checked against the folder's manifest first.
pub fn load(dir: &Path, device: Device) -> anyhow::Result<Loaded> {
    let checked = Manifest::check(dir)?;
    let d = ModelDir(dir.to_path_buf());
    let compiled = CompiledModel::load(&d.model())?;
    let key = ProverKey::from_bytes(&map(&d.pk())?)?;
    if key.verifier.model_id().to_string() != checked.manifest.model_id {
        anyhow::bail!("{}: the proving key is not for the model id in the manifest", dir.display());
    }
    if key.verifier.srs.setup() == Setup::InsecureTest {
        eprintln!(
            "warning: this model uses the INSECURE test SRS: anyone can forge its proofs, and `verify` refuses them"
        );
    }
    // The accelerators only speed proving up: without them (or with damaged ones) it proves anyway.
    if checked.accelerator(KEY_COSETS) {
        let bytes = map(&d.key_cosets())?;
        if let Err(e) = key.attach_cosets(&bytes) {
            eprintln!("warning: {} not used ({e}); computing them", d.key_cosets().display());
        }
    }
    let srs = read_srs(&read(&d.srs())?, key.spec().k)?;
    let (backend, line) = SelectedMsm::select(device)?;
    eprintln!("{line}");
    let mut params = RoutedParams::new(srs, backend);
    if checked.accelerator(MSM_TABLES) {
        let bytes = map(&d.msm_tables())?;
        if let Err(e) = params.attach_msm_tables(&bytes) {
            eprintln!("warning: {} not used ({e}); proving without it", d.msm_tables().display());
        }
    }
    Ok(Loaded { compiled, key, params })
}

/// Runs the integer inference on `input` and proves it with fresh blinding. Saturations are
/// refused unless `options` allow them (then the bundle lists them).
pub fn prove_input(
    loaded: &Loaded,
    input: &[Vec<f64>],
    options: ProveOptions,
) -> anyhow::Result<(ProofBundle, ProveTimings)> {
    let model = Arc::new(loaded.compiled.quant.clone());
    let trace = Arc::new(run_float_inputs(&model, input)?);
    if options.allow_saturation {
        for s in &trace.saturations {
            eprintln!(
                "warning: saturated: {s}; proving the clamped computation (--allow-saturation), marked in the bundle"
            );
        }
    }
    Ok(prove_with(&loaded.params, &loaded.key, model, trace, rand_core::OsRng, options)?)
}

//! The steps shared by `compile`, `prove`, `demo` and `bench`: quantize, plan, set up keys,
//! load a compiled folder, prove one input.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use zkinfer_circuits::model::ModelCircuit;
use zkinfer_circuits::planner::{plan_for, Objective};
use zkinfer_prover::{
    insecure_test_srs, prove, read_srs, setup, Device, MsmTables, ProveTimings, ProverKey, RoutedParams, SelectedMsm,
};
use zkinfer_quant_models::compile::compile_onnx;
use zkinfer_quant_models::infer::run_float_inputs;
use zkinfer_quant_models::report::accuracy;
use zkinfer_quant_models::{CompiledModel, QuantConfig};
use zkinfer_verifier::ProofBundle;

use crate::model_dir::{
    map, read, remove_if_present, write_atomic, CardAccuracy, Columns, ModelCard, ModelDir, SrsInfo,
};
use crate::progress::step;

/// Seed of the insecure test SRS used when no `--srs` is given. Public on purpose: such a setup
/// protects nothing, and the model card says so.
pub const INSECURE_SRS_SEED: u64 = 0x007a_6b69_6e66_6572;

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

/// Quantizes `onnx`, plans its circuit for `objective`, and generates keys from `srs` (a halo2 params file) or,
/// without one, from an insecure test SRS.
pub fn compile(
    onnx: &[u8],
    name: &str,
    calibration: &Calibration,
    config: QuantConfig,
    public_input: bool,
    objective: Objective,
    srs: Option<&Path>,
) -> anyhow::Result<Artifacts> {
    let (compiled, _) = step(&format!("import, calibrate ({} samples), quantize", calibration.samples.len()), || {
        Ok(compile_onnx(onnx, name, &calibration.samples, config)?)
    })?;
    let model = Arc::new(compiled.quant.clone());
    let ((layout, _), _) = step("plan the circuit layout", || Ok(plan_for(&model, public_input, objective)?))?;
    let circuit = ModelCircuit::for_keygen(model.clone(), layout)?;
    let (k, rows) = (circuit.min_k(), circuit.rows());
    let (srs, kind) = match srs {
        Some(path) => {
            let bytes = read(path)?;
            (step(&format!("load SRS {} (k = {k})", path.display()), || Ok(read_srs(&bytes, k)?))?.0, "file")
        }
        None => {
            eprintln!("warning: no --srs given: using an INSECURE test SRS from a public seed; anyone can forge proofs for this model id");
            (
                step(&format!("generate INSECURE test SRS (k = {k})"), || Ok(insecure_test_srs(k, INSECURE_SRS_SEED)))?
                    .0,
                "insecure-test",
            )
        }
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
    let card = ModelCard {
        model_id: key.verifier.model_id().to_string(),
        model: name.to_string(),
        srs: SrsInfo { kind: kind.into(), id: key.verifier.srs.id_hex() },
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
    /// Writes the compiled folder; returns the card as written (with the key sizes).
    pub fn save(&mut self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("creating {}: {e}", dir.display()))?;
        let d = ModelDir(dir.to_path_buf());
        let pk = self.key.to_bytes();
        self.card.pk_bytes = pk.len();
        write_atomic(&d.model(), &self.compiled.to_bytes()?)?;
        write_atomic(&d.pk(), &pk)?;
        write_atomic(&d.vk(), &self.key.verifier.to_bytes())?;
        write_atomic(&d.srs(), &zkinfer_prover::write_srs(self.params.inner()))?;
        // Accelerators of an earlier compile into this folder would not match the new key.
        match &self.msm_tables {
            Some(tables) => write_atomic(&d.msm_tables(), &tables.to_bytes())?,
            None => remove_if_present(&d.msm_tables())?,
        }
        match self.key.cosets_file() {
            Some(cosets) => write_atomic(&d.key_cosets(), &cosets)?,
            None => remove_if_present(&d.key_cosets())?,
        }
        write_atomic(&d.card(), serde_json::to_string_pretty(&self.card)?.as_bytes())?;
        Ok(())
    }
}

/// A compiled folder, loaded for proving.
pub struct Loaded {
    pub compiled: CompiledModel,
    pub key: ProverKey,
    pub params: RoutedParams<SelectedMsm>,
}

/// Loads `dir` (written by `compile`) for proving with MSMs on `device`; says which it picked.
pub fn load(dir: &Path, device: Device) -> anyhow::Result<Loaded> {
    let d = ModelDir(dir.to_path_buf());
    let compiled = CompiledModel::load(&d.model())?;
    let key = ProverKey::from_bytes(&map(&d.pk())?)?;
    // The accelerators only speed proving up: without them (or with damaged ones) it proves anyway.
    if let Ok(bytes) = map(&d.key_cosets()) {
        if let Err(e) = key.attach_cosets(&bytes) {
            eprintln!("warning: {} not used ({e}); computing them", d.key_cosets().display());
        }
    }
    let srs = read_srs(&read(&d.srs())?, key.spec().k)?;
    let (backend, line) = SelectedMsm::select(device)?;
    eprintln!("{line}");
    let mut params = RoutedParams::new(srs, backend);
    if let Ok(bytes) = map(&d.msm_tables()) {
        if let Err(e) = params.attach_msm_tables(&bytes) {
            eprintln!("warning: {} not used ({e}); proving without it", d.msm_tables().display());
        }
    }
    Ok(Loaded { compiled, key, params })
}

/// Runs the integer inference on `input` and proves it with fresh blinding.
pub fn prove_input(loaded: &Loaded, input: &[Vec<f64>]) -> anyhow::Result<(ProofBundle, ProveTimings)> {
    let model = Arc::new(loaded.compiled.quant.clone());
    let trace = Arc::new(run_float_inputs(&model, input)?);
    for s in &trace.saturations {
        eprintln!(
            "warning: {} of {} values of `{}` saturated (outside the calibrated range)",
            s.clamped, s.total, s.tensor
        );
    }
    Ok(prove(&loaded.params, &loaded.key, model, trace, rand_core::OsRng)?)
}

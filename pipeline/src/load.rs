//! A compiled folder loaded once for proving, and the proof of one input against it.

use std::path::Path;
use std::sync::Arc;

use zkinfer_prover::{prove_with, read_srs, Device, ProveOptions, ProveTimings, ProverKey, RoutedParams, SelectedMsm};
use zkinfer_quant_models::infer::run_float_inputs;
use zkinfer_quant_models::CompiledModel;
use zkinfer_verifier::{ProofBundle, Setup};

use crate::folder::{map, read, ModelDir, KEY_COSETS, MSM_TABLES};
use crate::manifest::Manifest;
use crate::{Observer, PipelineError};

/// A compiled folder, loaded for proving.
pub struct Loaded {
    pub compiled: CompiledModel,
    pub key: ProverKey,
    pub params: RoutedParams<SelectedMsm>,
}

/// Loads `dir` (written by `compile`) for proving with MSMs on `device`; says which it picked.
/// Every file is checked against the folder's manifest first.
pub fn load(dir: &Path, device: Device, observer: &dyn Observer) -> Result<Loaded, PipelineError> {
    let checked = Manifest::check(dir, observer)?;
    let d = ModelDir(dir.to_path_buf());
    let compiled = CompiledModel::load(&d.model())?;
    let key = ProverKey::from_bytes(&map(&d.pk())?)?;
    if key.verifier.model_id().to_string() != checked.manifest.model_id {
        return Err(PipelineError::Folder(format!(
            "{}: the proving key is not for the model id in the manifest",
            dir.display()
        )));
    }
    if key.verifier.srs.setup() == Setup::InsecureTest {
        observer
            .warning("this model uses the INSECURE test SRS: anyone can forge its proofs, and `verify` refuses them");
    }
    // The accelerators only speed proving up: without them (or with damaged ones) it proves anyway.
    if checked.accelerator(KEY_COSETS) {
        let bytes = map(&d.key_cosets())?;
        if let Err(e) = key.attach_cosets(&bytes) {
            observer.warning(&format!("{} not used ({e}); computing them", d.key_cosets().display()));
        }
    }
    let srs = read_srs(&read(&d.srs())?, key.spec().k)?;
    let (backend, line) = SelectedMsm::select(device)?;
    observer.note(&line);
    let mut params = RoutedParams::new(srs, backend);
    if checked.accelerator(MSM_TABLES) {
        let bytes = map(&d.msm_tables())?;
        if let Err(e) = params.attach_msm_tables(&bytes) {
            observer.warning(&format!("{} not used ({e}); proving without it", d.msm_tables().display()));
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
    observer: &dyn Observer,
) -> Result<(ProofBundle, ProveTimings), PipelineError> {
    let model = Arc::new(loaded.compiled.quant.clone());
    let trace = Arc::new(run_float_inputs(&model, input)?);
    if options.allow_saturation {
        for s in &trace.saturations {
            observer.warning(&format!(
                "saturated: {s}; proving the clamped computation (--allow-saturation), marked in the bundle"
            ));
        }
    }
    Ok(prove_with(&loaded.params, &loaded.key, model, trace, rand_core::OsRng, options)?)
}

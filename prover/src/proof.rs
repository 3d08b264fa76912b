//! Proving one inference: trace → circuit → proof → bundle.

use std::sync::Arc;
use std::time::{Duration, Instant};

use halo2_proofs::halo2curves::bn256::G1Affine;
use halo2_proofs::transcript::{Blake2bWrite, Challenge255, TranscriptWriterBuffer};
use rand_core::RngCore;
use zkinfer_circuits::model::ModelCircuit;
use zkinfer_quant_models::infer::Trace;
use zkinfer_quant_models::QuantModel;
use zkinfer_verifier::{verify_with, ClampedTensor, IoTensor, Policy, ProofBundle, TensorValues, BUNDLE_VERSION};

use crate::engine::create_proof;
use crate::error::ProofError;
use crate::keys::ProverKey;
use crate::msm::MsmBackend;
use crate::scheme::RoutedParams;

/// Where the time of one proof went.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProveTimings {
    /// Planning the circuit from the trace (saturation and shape checks, table).
    pub witness: Duration,
    /// The halo2 proof: synthesis, commitments, quotient, openings.
    pub proof: Duration,
    /// Verifying the proof before handing it out (zero when the check is off).
    pub self_check: Duration,
}

/// What a provider allows and checks when proving.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProveOptions {
    /// Prove a run whose input was clamped into range, and mark the bundle. Off by default: the
    /// proof would attest the clamped computation, which the buyer did not ask for. (Saturated
    /// intermediate values cannot be proven at all: the circuit has no clamp.)
    pub allow_saturation: bool,
    /// Verify the proof before returning it, so that a damaged key or a prover bug never
    /// reaches a buyer as an unverifiable proof.
    pub self_check: bool,
}

impl Default for ProveOptions {
    fn default() -> Self {
        ProveOptions { allow_saturation: false, self_check: true }
    }
}

/// [`prove_with`] with the default options: saturations refused, the proof checked.
pub fn prove<M: MsmBackend + Default + 'static>(
    params: &RoutedParams<M>,
    key: &ProverKey,
    model: Arc<QuantModel>,
    trace: Arc<Trace>,
    rng: impl RngCore,
) -> Result<(ProofBundle, ProveTimings), ProofError> {
    prove_with(params, key, model, trace, rng, ProveOptions::default())
}

/// Proves that `model` maps the traced input to the traced output, and packs the public values
/// with the proof. `trace` must come from `zkinfer_quant_models::infer::run` on `model`; `rng`
/// drives the blinding (fresh entropy in production, a seeded generator in tests).
pub fn prove_with<M: MsmBackend + Default + 'static>(
    params: &RoutedParams<M>,
    key: &ProverKey,
    model: Arc<QuantModel>,
    trace: Arc<Trace>,
    rng: impl RngCore,
    options: ProveOptions,
) -> Result<(ProofBundle, ProveTimings), ProofError> {
    if !options.allow_saturation && !trace.saturations.is_empty() {
        return Err(ProofError::Saturated(trace.saturations.clone()));
    }
    let start = Instant::now();
    let spec = key.spec();
    let circuit = ModelCircuit::new(model.clone(), trace.clone(), spec.layout)?;
    if circuit.min_k() != spec.k {
        return Err(ProofError::KeyFile(format!(
            "the key is for a circuit of 2^{} rows, this model needs 2^{}: the key belongs to another model",
            spec.k,
            circuit.min_k()
        )));
    }
    let instance = circuit.instance();
    let witness = start.elapsed();
    let start = Instant::now();
    let mut transcript = Blake2bWrite::<_, G1Affine, Challenge255<_>>::init(vec![]);
    create_proof(params, &key.pk, key.cosets(), &circuit, &[&instance], rng, &mut transcript)?;
    let proof = transcript.finalize();
    let mut timings = ProveTimings { witness, proof: start.elapsed(), self_check: Duration::ZERO };
    let values = |ids: &[usize], specs: &[IoTensor]| -> Vec<TensorValues> {
        ids.iter()
            .zip(specs)
            .map(|(&t, s)| TensorValues {
                name: s.name.clone(),
                shape: s.shape.clone(),
                scale: s.scale(),
                values: trace.values[t].clone(),
                floats: trace.values[t].iter().map(|&v| v as f64 * s.scale()).collect(),
            })
            .collect()
    };
    let bundle = ProofBundle {
        version: BUNDLE_VERSION,
        model_id: key.verifier.model_id().to_string(),
        inputs: spec.layout.public_input.then(|| values(&model.inputs, &spec.inputs)),
        outputs: values(&model.outputs, &spec.outputs),
        clamped: trace
            .saturations
            .iter()
            .map(|s| ClampedTensor { tensor: s.tensor.clone(), clamped: s.clamped, total: s.total })
            .collect(),
        proof,
    };
    if options.self_check {
        let start = Instant::now();
        // The setup is the key's own; whether a buyer trusts it is the buyer's policy.
        let policy = Policy { allow_insecure_srs: true };
        verify_with(&bundle, &key.verifier, &key.verifier.model_id(), policy).map_err(ProofError::SelfCheck)?;
        timings.self_check = start.elapsed();
    }
    Ok((bundle, timings))
}

//! Proving one inference: trace → circuit → proof → bundle.

use std::sync::Arc;
use std::time::{Duration, Instant};

use halo2_proofs::halo2curves::bn256::G1Affine;
use halo2_proofs::transcript::{Blake2bWrite, Challenge255, TranscriptWriterBuffer};
use rand_core::RngCore;
use zkinfer_circuits::model::ModelCircuit;
use zkinfer_quant_models::infer::Trace;
use zkinfer_quant_models::QuantModel;
use zkinfer_verifier::{IoTensor, ProofBundle, TensorValues, BUNDLE_VERSION};

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
}

/// Proves that `model` maps the traced input to the traced output, and packs the public values
/// with the proof. `trace` must come from `zkinfer_quant_models::infer::run` on `model`; `rng`
/// drives the blinding (fresh entropy in production, a seeded generator in tests).
pub fn prove<M: MsmBackend + Default + 'static>(
    params: &RoutedParams<M>,
    key: &ProverKey,
    model: Arc<QuantModel>,
    trace: Arc<Trace>,
    rng: impl RngCore,
) -> Result<(ProofBundle, ProveTimings), ProofError> {
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
    let timings = ProveTimings { witness, proof: start.elapsed() };
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
        proof,
    };
    Ok((bundle, timings))
}

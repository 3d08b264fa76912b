//! The buyer's check.

use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::plonk::verify_proof;
use halo2_proofs::poly::kzg::commitment::KZGCommitmentScheme;
use halo2_proofs::poly::kzg::multiopen::VerifierSHPLONK;
use halo2_proofs::poly::kzg::strategy::SingleStrategy;
use halo2_proofs::transcript::{Blake2bRead, Challenge255, TranscriptReadBuffer};

use zkinfer_circuits::field::fe;

use crate::bundle::{ProofBundle, TensorValues};
use crate::error::Rejection;
use crate::key::{IoTensor, VerifierKey};
use crate::model_id::ModelId;

/// What an accepted proof establishes: the model `model_id` maps the (public or hidden) input
/// to these outputs.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedOutput {
    pub model_id: ModelId,
    pub outputs: Vec<TensorValues>,
}

/// Accepts `bundle` only if it proves an output of the model `expected`.
///
/// Checks, in this order: the key is the expected model's, the bundle claims that model, the
/// public values fit the model's interface (visibility, names, shapes, integer ranges, floats
/// equal to `values · scale`), and finally the proof itself.
pub fn verify(bundle: &ProofBundle, key: &VerifierKey, expected: &ModelId) -> Result<VerifiedOutput, Rejection> {
    let wrong = |what, found: String| Rejection::WrongModel { expected: expected.to_string(), found, what };
    if key.model_id() != *expected {
        return Err(wrong("the verifying key", key.model_id().to_string()));
    }
    let claimed: ModelId = bundle.model_id.parse().map_err(|e| Rejection::malformed("bundle", e))?;
    if claimed != *expected {
        return Err(wrong("the bundle", claimed.to_string()));
    }
    let mut instance = Vec::new();
    match (&bundle.inputs, key.spec.layout.public_input) {
        (Some(inputs), true) => push_tensors("input", inputs, &key.spec.inputs, &mut instance)?,
        (None, false) => {}
        (None, true) => {
            return Err(Rejection::InstanceMismatch("the model's input is public but the bundle has none".into()))
        }
        (Some(_), false) => {
            return Err(Rejection::InstanceMismatch(
                "the model's input is private but the bundle carries one (it would not be proven)".into(),
            ))
        }
    }
    push_tensors("output", &bundle.outputs, &key.spec.outputs, &mut instance)?;

    let mut proof = &bundle.proof[..];
    // The transcript reads through `proof`, so the unread rest is left in it afterwards.
    verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, SingleStrategy<'_, Bn256>>(
        &key.params,
        &key.vk,
        SingleStrategy::new(&key.params),
        &[&[&instance]],
        &mut Blake2bRead::<_, G1Affine, Challenge255<_>>::init(&mut proof),
    )
    .map_err(|e| Rejection::ProofInvalid(format!("{e:?}")))?;
    if !proof.is_empty() {
        return Err(Rejection::ProofInvalid(format!("{} unexpected bytes after the proof", proof.len())));
    }
    Ok(VerifiedOutput { model_id: *expected, outputs: bundle.outputs.clone() })
}

/// Checks claimed tensors against the interface and appends their integers to the instance.
fn push_tensors(
    role: &str,
    claimed: &[TensorValues],
    spec: &[IoTensor],
    instance: &mut Vec<Fr>,
) -> Result<(), Rejection> {
    let mismatch = |m: String| Err(Rejection::InstanceMismatch(m));
    if claimed.len() != spec.len() {
        return mismatch(format!("{} {role} tensors, the model has {}", claimed.len(), spec.len()));
    }
    for (t, s) in claimed.iter().zip(spec) {
        let at = format!("{role} `{}`", s.name);
        if t.name != s.name || t.shape != s.shape || t.values.len() != s.len() || t.floats.len() != s.len() {
            return mismatch(format!(
                "{at}: claimed `{}` of shape {:?} with {} values and {} floats, the model has shape {:?}",
                t.name,
                t.shape,
                t.values.len(),
                t.floats.len(),
                s.shape
            ));
        }
        if t.scale != s.scale() {
            return mismatch(format!("{at}: scale {} but the model's is {}", t.scale, s.scale()));
        }
        let (lo, hi) = (-(1i64 << (s.bits - 1)), 1i64 << (s.bits - 1));
        for (i, (&v, &f)) in t.values.iter().zip(&t.floats).enumerate() {
            if !(lo..=hi).contains(&v) {
                return mismatch(format!("{at}[{i}] = {v} is outside the {}-bit range", s.bits));
            }
            if f != v as f64 * s.scale() {
                return mismatch(format!("{at}[{i}]: float {f} is not {v} · {}", s.scale()));
            }
            instance.push(fe(v));
        }
    }
    Ok(())
}

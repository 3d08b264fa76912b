//! The buyer's check.

use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::plonk::verify_proof;
use halo2_proofs::poly::kzg::commitment::KZGCommitmentScheme;
use halo2_proofs::poly::kzg::multiopen::VerifierSHPLONK;
use halo2_proofs::poly::kzg::strategy::SingleStrategy;
use halo2_proofs::transcript::{Blake2bRead, Challenge255, TranscriptReadBuffer};

use zkinfer_circuits::field::fe;

use crate::bundle::{ClampedTensor, ProofBundle, TensorValues};
use crate::error::Rejection;
use crate::key::{IoTensor, VerifierKey};
use crate::model_id::ModelId;
use crate::srs::Setup;

/// What an accepted proof establishes: the model `model_id`, under `setup`, maps the (public
/// or hidden) input to these outputs.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedOutput {
    pub model_id: ModelId,
    pub setup: Setup,
    /// The circuit (and setup) size: `2^k` rows.
    pub k: u32,
    pub inputs: Option<Vec<TensorValues>>,
    pub outputs: Vec<TensorValues>,
    /// Tensors the provider says it clamped before proving (the result is that of the clamped
    /// computation).
    pub clamped: Vec<ClampedTensor>,
}

/// What the buyer accepts beyond a sound proof under a setup it can trust.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    /// Accept keys made with zkinfer's public test SRS (tests and demos: such proofs can be
    /// forged by anyone).
    pub allow_insecure_srs: bool,
}

/// [`verify_with`] under the default policy: the public test setup is refused.
pub fn verify(bundle: &ProofBundle, key: &VerifierKey, expected: &ModelId) -> Result<VerifiedOutput, Rejection> {
    verify_with(bundle, key, expected, Policy::default())
}

/// Accepts `bundle` only if it proves an output of the model `expected`.
///
/// Checks, in this order: the key is the expected model's, its setup is acceptable under
/// `policy`, the bundle claims that model, the public values fit the model's interface
/// (visibility, names, shapes, integer ranges, floats equal to `values · scale`), and finally
/// the proof itself.
pub fn verify_with(
    bundle: &ProofBundle,
    key: &VerifierKey,
    expected: &ModelId,
    policy: Policy,
) -> Result<VerifiedOutput, Rejection> {
    let wrong = |what, found: String| Rejection::WrongModel { expected: expected.to_string(), found, what };
    if key.model_id() != *expected {
        return Err(wrong("the verifying key", key.model_id().to_string()));
    }
    let setup = key.srs.setup();
    if setup == Setup::InsecureTest && !policy.allow_insecure_srs {
        return Err(Rejection::InsecureSetup);
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
    .map_err(|e| Rejection::ProofInvalid(proof_failure(&e)))?;
    if !proof.is_empty() {
        return Err(Rejection::ProofInvalid(format!("{} unexpected bytes after the proof", proof.len())));
    }
    Ok(VerifiedOutput {
        model_id: *expected,
        setup,
        k: key.spec.k,
        inputs: bundle.inputs.clone(),
        outputs: bundle.outputs.clone(),
        clamped: bundle.clamped.clone(),
    })
}

/// halo2's verifier errors, said for a buyer.
fn proof_failure(e: &halo2_proofs::plonk::Error) -> String {
    use halo2_proofs::plonk::Error;
    match e {
        Error::Opening | Error::ConstraintSystemFailure => {
            "the proof does not check against this model and these public values".into()
        }
        Error::Transcript(e) => format!("the proof bytes are truncated or not points of the curve ({e})"),
        Error::InvalidInstances => "the public values do not fit the verifying key".into(),
        other => format!("the proof does not check ({other})"),
    }
}

/// Checks that the proven (public) input is `sent`, the buyer's own input in the flat float
/// form it was submitted in, quantized at the model's input scales as the prover does (rounded
/// to nearest). Fails for a private-input model: its bundle carries no input to compare.
pub fn check_input(verified: &VerifiedOutput, key: &VerifierKey, sent: &[Vec<f64>]) -> Result<(), Rejection> {
    let mismatch = |m: String| Err(Rejection::InputMismatch(m));
    let Some(proven) = &verified.inputs else {
        return mismatch("the model's input is private: the proof does not show which input it used".into());
    };
    if sent.len() != key.spec.inputs.len() {
        return mismatch(format!("you sent {} input tensors, the model has {}", sent.len(), key.spec.inputs.len()));
    }
    for ((mine, theirs), spec) in sent.iter().zip(proven).zip(&key.spec.inputs) {
        if mine.len() != theirs.values.len() {
            return mismatch(format!(
                "`{}`: you sent {} values, the proof has {}",
                spec.name,
                mine.len(),
                theirs.values.len()
            ));
        }
        let scale = (spec.frac_bits as f64).exp2();
        for (i, (&v, &q)) in mine.iter().zip(&theirs.values).enumerate() {
            let expected = (v * scale).round();
            if expected != q as f64 {
                let why = if expected.abs() >= (1u64 << (spec.bits - 1)) as f64 {
                    " (outside the range: clamped)"
                } else {
                    ""
                };
                return mismatch(format!(
                    "`{}`[{i}]: you sent {v}, which is {expected} at scale 2^-{}, the proof used {q}{why}",
                    spec.name, spec.frac_bits
                ));
            }
        }
    }
    Ok(())
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
        // The circuit's range: `[-2^(bits-1), 2^(bits-1))`.
        let (lo, hi) = (-(1i64 << (s.bits - 1)), (1i64 << (s.bits - 1)) - 1);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn int8(values: Vec<i64>) -> (TensorValues, IoTensor) {
        let spec = IoTensor { name: "x".into(), shape: vec![values.len()], frac_bits: 0, bits: 8 };
        let floats = values.iter().map(|&v| v as f64).collect();
        (TensorValues { name: "x".into(), shape: spec.shape.clone(), scale: 1.0, values, floats }, spec)
    }

    #[test]
    fn public_values_must_lie_in_the_signed_range() {
        let (t, spec) = int8(vec![-128, 0, 127]);
        assert!(push_tensors("input", &[t], std::slice::from_ref(&spec), &mut Vec::new()).is_ok());
        for v in [128, -129] {
            let (t, spec) = int8(vec![v]);
            let err = push_tensors("input", &[t], &[spec], &mut Vec::new()).unwrap_err();
            assert!(matches!(err, Rejection::InstanceMismatch(ref m) if m.contains("outside the 8-bit range")), "{v}");
        }
    }
}

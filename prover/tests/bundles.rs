//! Real KZG proofs of the shipped models verify, and each kind of tampering is rejected with its
//! own reason: changed output or input, the key of a model with one weight changed, another
//! model's id, truncated, flipped or extended proof bytes.

use std::path::Path;
use std::sync::Arc;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use zkinfer_circuits::model::LayoutParams;
use zkinfer_circuits::planner::plan;
use zkinfer_prover::{
    circuit_k, insecure_test_srs, prove, prove_with, setup, ProveOptions, ProverKey, RoutedParams, SmallScalarMsm,
};
use zkinfer_quant_models::compile::{compile_onnx, compile_onnx_batch, compile_onnx_file, pack_samples};
use zkinfer_quant_models::infer::run_float_inputs;
use zkinfer_quant_models::io::{read_calibration, read_input};
use zkinfer_quant_models::onnx::{synth_inputs, synth_onnx, SynthSpec};
use zkinfer_quant_models::{QOp, QuantConfig, QuantModel};
use zkinfer_verifier::{verify_with, Policy, ProofBundle, Rejection, VerifiedOutput, VerifierKey};

/// The buyer's check, with the test setup these keys are made with allowed (the refusal of that
/// setup has its own tests).
fn verify(
    bundle: &ProofBundle,
    key: &VerifierKey,
    id: &zkinfer_verifier::ModelId,
) -> Result<VerifiedOutput, Rejection> {
    verify_with(bundle, key, id, Policy { allow_insecure_srs: true })
}

fn shipped(name: &str) -> (Arc<QuantModel>, Vec<Vec<f64>>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../quant-models/models").join(name);
    let samples = read_calibration(&dir.join("calibration.json")).unwrap();
    let compiled = compile_onnx_file(&dir.join("model.onnx"), &samples, QuantConfig::default()).unwrap();
    (Arc::new(compiled.quant), read_input(&dir.join("input.json")).unwrap().input_data)
}

fn keys(model: &Arc<QuantModel>, public_input: bool) -> (ProverKey, RoutedParams<SmallScalarMsm>) {
    let layout = plan(model, public_input).unwrap().0;
    let k = circuit_k(model.clone(), layout).unwrap();
    setup(&insecure_test_srs(k), SmallScalarMsm::default(), model.clone(), layout).unwrap()
}

fn prove_once(
    model: &Arc<QuantModel>,
    input: &[Vec<f64>],
    key: &ProverKey,
    params: &RoutedParams<SmallScalarMsm>,
) -> ProofBundle {
    let trace = Arc::new(run_float_inputs(model, input).unwrap());
    prove(params, key, model.clone(), trace, ChaCha20Rng::seed_from_u64(7)).unwrap().0
}

fn is_invalid(r: Result<impl std::fmt::Debug, Rejection>) -> bool {
    matches!(r, Err(Rejection::ProofInvalid(_)))
}

fn tampered_proofs(proof: &[u8]) -> Vec<Vec<u8>> {
    let mut flipped = proof.to_vec();
    flipped[proof.len() / 3] ^= 0x10;
    let mut extended = proof.to_vec();
    extended.push(0);
    vec![proof[..proof.len() - 1].to_vec(), proof[..proof.len() / 2].to_vec(), flipped, extended]
}

fn check_model(name: &str) {
    let (model, input) = shipped(name);
    let (key, params) = keys(&model, true);
    let bundle = prove_once(&model, &input, &key, &params);
    // The buyer's view: key file bytes and the published id.
    let vk = VerifierKey::from_bytes(&key.verifier.to_bytes()).unwrap();
    let id = vk.model_id();
    let out = verify(&bundle, &vk, &id).unwrap();
    assert_eq!(out.outputs, bundle.outputs);
    // Both encodings carry the same bundle.
    assert!(verify(&ProofBundle::from_bytes(bundle.to_json().as_bytes()).unwrap(), &vk, &id).is_ok());
    assert!(verify(&ProofBundle::from_bytes(&bundle.to_binary()).unwrap(), &vk, &id).is_ok());

    // A changed output (integer and float consistent) is not what was proven.
    let mut b = bundle.clone();
    b.outputs[0].values[3] += 1;
    b.outputs[0].floats[3] = b.outputs[0].values[3] as f64 * b.outputs[0].scale;
    assert!(is_invalid(verify(&b, &vk, &id)), "{name}: changed output accepted");
    // A float that does not match its integer is caught before the proof.
    let mut b = bundle.clone();
    b.outputs[0].floats[0] += 1.0;
    assert!(matches!(verify(&b, &vk, &id), Err(Rejection::InstanceMismatch(_))), "{name}");
    // A changed public input.
    let mut b = bundle.clone();
    let inputs = b.inputs.as_mut().unwrap();
    inputs[0].values[10] = if inputs[0].values[10] == 0 { 1 } else { 0 };
    inputs[0].floats[10] = inputs[0].values[10] as f64 * inputs[0].scale;
    assert!(is_invalid(verify(&b, &vk, &id)), "{name}: changed input accepted");
    // Proof bytes: truncated, flipped, extended.
    for proof in tampered_proofs(&bundle.proof) {
        let b = ProofBundle { proof, ..bundle.clone() };
        assert!(is_invalid(verify(&b, &vk, &id)), "{name}: bad proof bytes accepted");
    }

    // The model with one weight changed has another key and id.
    let mut other = (*model).clone();
    let weight = other.nodes.iter_mut().find_map(|n| match &mut n.op {
        QOp::Dense { weight, .. } | QOp::Conv { weight, .. } => Some(weight),
        _ => None,
    });
    weight.unwrap()[5] += 1;
    let (other_key, _) = keys(&Arc::new(other), true);
    let other_vk = VerifierKey::from_bytes(&other_key.verifier.to_bytes()).unwrap();
    let other_id = other_vk.model_id();
    assert_ne!(other_id, id);
    // The buyer expecting this model, handed the other key: wrong model.
    assert!(matches!(verify(&bundle, &other_vk, &id), Err(Rejection::WrongModel { what: "the verifying key", .. })));
    // The bundle relabelled with the other model's id, checked with that model's key: the
    // proof is not one of that model.
    let relabelled = ProofBundle { model_id: other_id.to_string(), ..bundle.clone() };
    assert!(is_invalid(verify(&relabelled, &other_vk, &other_id)), "{name}: proof valid for the changed weights");
    // A bundle that claims another model than the one expected.
    assert!(matches!(verify(&relabelled, &vk, &id), Err(Rejection::WrongModel { what: "the bundle", .. })));
    println!("{name}: k = {}, proof {} B, model id {id}", key.spec().k, bundle.proof.len());
}

#[test]
fn digits_mlp_bundle_verifies_and_tampering_is_rejected() {
    check_model("digits-mlp");
}

#[test]
fn digits_cnn_bundle_verifies_and_tampering_is_rejected() {
    check_model("digits-cnn");
}

#[test]
fn fashion_cnn_bundle_verifies_and_tampering_is_rejected() {
    check_model("fashion-cnn");
}

#[test]
fn private_input_hides_the_input_and_changes_the_model_id() {
    let (model, input) = shipped("digits-mlp");
    let (public, public_params) = keys(&model, true);
    let (key, params) = keys(&model, false);
    assert_ne!(key.verifier.model_id(), public.verifier.model_id());
    let bundle = prove_once(&model, &input, &key, &params);
    assert!(bundle.inputs.is_none() && !bundle.to_json().contains("\"inputs\""));
    let id = key.verifier.model_id();
    verify(&bundle, &key.verifier, &id).unwrap();
    // An input attached to a private-input bundle would be unproven: refused.
    let public_bundle = prove_once(&model, &input, &public, &public_params);
    let with_input = ProofBundle { inputs: public_bundle.inputs, ..bundle };
    assert!(matches!(verify(&with_input, &key.verifier, &id), Err(Rejection::InstanceMismatch(_))));
}

/// The hidden-input attack: a private-input proof whose input pixel is 1000 (int8 domain), every
/// other value computed honestly from it. The prover's own checks are skipped (a dishonest
/// prover edits them out); the real KZG prover must still fail, or its proof be rejected.
#[test]
fn a_hidden_input_outside_its_range_cannot_be_proven() {
    use halo2_proofs::halo2curves::bn256::G1Affine;
    use halo2_proofs::transcript::{Blake2bWrite, Challenge255, TranscriptWriterBuffer};
    use zkinfer_circuits::model::ModelCircuit;
    use zkinfer_verifier::{TensorValues, BUNDLE_VERSION};

    let (model, input) = shipped("digits-mlp");
    let (key, params) = keys(&model, false);
    let honest = run_float_inputs(&model, &input).unwrap();
    let mut pixels = honest.values[model.inputs[0]].clone();
    pixels[5] = 1000;
    let mut wide = (*model).clone();
    wide.tensors[model.inputs[0]].bits = 16;
    let forged = Arc::new(zkinfer_quant_models::infer::run(&wide, vec![pixels]).unwrap());
    let output = &forged.values[model.outputs[0]];
    assert_ne!(output, &honest.values[model.outputs[0]], "the attack changes the answer");

    let circuit = ModelCircuit::new_unchecked(model.clone(), forged.clone(), key.spec().layout).unwrap();
    let instance = circuit.instance();
    let mut transcript = Blake2bWrite::<_, G1Affine, Challenge255<_>>::init(vec![]);
    let rng = ChaCha20Rng::seed_from_u64(1);
    let attempt =
        zkinfer_prover::create_proof(&params, &key.pk, key.cosets(), &circuit, &[&instance], rng, &mut transcript);
    if attempt.is_ok() {
        // Whatever bytes came out, the buyer's check rejects them.
        let spec = &key.spec().outputs[0];
        let outputs = vec![TensorValues {
            name: spec.name.clone(),
            shape: spec.shape.clone(),
            scale: spec.scale(),
            values: output.clone(),
            floats: output.iter().map(|&v| v as f64 * spec.scale()).collect(),
        }];
        let id = key.verifier.model_id();
        let bundle = ProofBundle {
            version: BUNDLE_VERSION,
            model_id: id.to_string(),
            inputs: None,
            outputs,
            clamped: Vec::new(),
            proof: transcript.finalize(),
        };
        assert!(is_invalid(verify(&bundle, &key.verifier, &id)), "a proof of an out-of-range hidden input verified");
    }
}

#[test]
fn proving_key_file_round_trips_and_corruption_is_reported() {
    let (model, input) = shipped("digits-mlp");
    let (key, params) = keys(&model, true);
    let bytes = key.to_bytes();
    let loaded = ProverKey::from_bytes(&bytes).unwrap();
    assert_eq!(loaded.verifier.model_id(), key.verifier.model_id());
    let bundle = prove_once(&model, &input, &loaded, &params);
    verify(&bundle, &key.verifier, &key.verifier.model_id()).unwrap();
    let mut corrupt = bytes.clone();
    corrupt[bytes.len() / 2] ^= 1;
    for bad in [&corrupt[..], &bytes[..bytes.len() - 5], b"ZKPK\x09\x00", b"nope"] {
        assert!(ProverKey::from_bytes(bad).is_err());
    }
}

#[test]
fn verifier_key_corruption_never_panics() {
    let (model, _) = shipped("digits-mlp");
    let bytes = keys(&model, true).0.verifier.to_bytes();
    let honest = VerifierKey::from_bytes(&bytes).unwrap().model_id();
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    for i in 0..300 {
        let mut b = bytes.clone();
        let at = (rand_core::RngCore::next_u64(&mut rng) as usize) % b.len();
        b[at] ^= 1 << (i % 8);
        // Either a typed error or a key with a different id; never a panic.
        if let Ok(k) = VerifierKey::from_bytes(&b) {
            assert_ne!(k.model_id(), honest);
        }
    }
    assert!(VerifierKey::from_bytes(&bytes[..bytes.len() / 2]).is_err());
}

#[test]
fn proof_size_profile_keeps_proofs_within_budget_and_the_estimate_is_an_upper_bound() {
    use zkinfer_circuits::planner::{plan_for, proof_bytes, Objective, PROOF_BYTES_BUDGET};
    for name in ["digits-mlp", "digits-cnn"] {
        let (model, input) = shipped(name);
        for objective in [Objective::ProveTime, Objective::ProofSize] {
            let layout = plan_for(&model, true, objective).unwrap().0;
            let k = circuit_k(model.clone(), layout).unwrap();
            let (key, params) = setup(&insecure_test_srs(k), SmallScalarMsm::default(), model.clone(), layout).unwrap();
            let bundle = prove_once(&model, &input, &key, &params);
            let vk = VerifierKey::from_bytes(&key.verifier.to_bytes()).unwrap();
            assert!(verify(&bundle, &vk, &vk.model_id()).is_ok(), "{name} {objective:?}");
            let (estimate, actual) = (proof_bytes(&layout), bundle.proof.len());
            assert!(
                actual <= estimate && estimate <= actual + actual / 10,
                "{name} {objective:?}: {actual} vs {estimate}"
            );
            if objective == Objective::ProofSize {
                assert!(actual <= PROOF_BYTES_BUDGET, "{name}: {actual} B");
            }
        }
    }
}

/// One proof of two samples (`compile --batch 2`): it verifies, carries both samples' outputs,
/// and a changed output of the second sample is rejected like one of the first.
#[test]
fn a_batch_of_two_samples_is_one_proof_of_both() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../quant-models/models/digits-cnn");
    let samples = read_calibration(&dir.join("calibration.json")).unwrap();
    let onnx = std::fs::read(dir.join("model.onnx")).unwrap();
    let packed = pack_samples(&samples, 2);
    let compiled = compile_onnx_batch(&onnx, "digits-cnn", &packed, QuantConfig::default(), 2).unwrap();
    let model = Arc::new(compiled.quant);
    let (key, params) = keys(&model, true);
    let bundle = prove_once(&model, &packed[1], &key, &params);
    let vk = VerifierKey::from_bytes(&key.verifier.to_bytes()).unwrap();
    let id = vk.model_id();
    let out = verify(&bundle, &vk, &id).unwrap();
    assert_eq!(out.outputs[0].shape[0], 2);
    assert_eq!(out.outputs[0].values.len(), 20);
    let mut b = bundle.clone();
    b.outputs[0].values[15] += 1;
    b.outputs[0].floats[15] = b.outputs[0].values[15] as f64 * b.outputs[0].scale;
    assert!(is_invalid(verify(&b, &vk, &id)), "changed output of the second sample accepted");
}

/// A self-attention head whose two activation × activation products are checked by Freivalds
/// (a second phase, a challenge drawn after the operands and products are committed): the
/// proof verifies, a changed output is rejected, and a trace with one wrong product entry
/// cannot be turned into a proof that verifies.
#[test]
fn an_attention_head_checked_by_freivalds_verifies_and_a_wrong_product_does_not() {
    let spec = SynthSpec::Attention { seq: 6, width: 8 };
    let (onnx, shape) = synth_onnx(&spec, 3);
    let len = shape.iter().product();
    let calibration: Vec<Vec<Vec<f64>>> = synth_inputs(len, 8, 3).into_iter().map(|x| vec![x]).collect();
    let compiled = compile_onnx(&onnx, "attn-6-8", &calibration, QuantConfig::default()).unwrap();
    let model = Arc::new(compiled.quant);
    let layout = LayoutParams { freivalds_lanes: 1, ..plan(&model, true).unwrap().0 };
    let k = circuit_k(model.clone(), layout).unwrap();
    let (key, params) = setup(&insecure_test_srs(k), SmallScalarMsm::default(), model.clone(), layout).unwrap();
    assert_eq!(key.pk.get_vk().cs().num_challenges(), 1, "the products are not checked by Freivalds");
    let input = vec![synth_inputs(len, 1, 4).swap_remove(0)];
    let bundle = prove_once(&model, &input, &key, &params);
    let vk = VerifierKey::from_bytes(&key.verifier.to_bytes()).unwrap();
    let id = vk.model_id();
    assert_eq!(verify(&bundle, &vk, &id).unwrap().outputs, bundle.outputs);
    let mut b = bundle.clone();
    b.outputs[0].values[7] += 1;
    b.outputs[0].floats[7] = b.outputs[0].values[7] as f64 * b.outputs[0].scale;
    assert!(is_invalid(verify(&b, &vk, &id)), "changed output accepted");

    // A dishonest prover: the first product's entry 5 is off by one.
    let scores = model.nodes.iter().find(|n| matches!(n.op, QOp::Product(_))).unwrap().output;
    let mut trace = run_float_inputs(&model, &input).unwrap();
    trace.values[scores][5] += 1;
    let options = ProveOptions { allow_saturation: true, self_check: false };
    let forged = prove_with(&params, &key, model.clone(), Arc::new(trace), ChaCha20Rng::seed_from_u64(7), options);
    if let Ok((bundle, _)) = forged {
        assert!(is_invalid(verify(&bundle, &vk, &id)), "a proof of a wrong product verified");
    }
}

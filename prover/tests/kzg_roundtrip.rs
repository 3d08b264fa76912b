//! A real KZG proof of the digits MLP verifies with the stock verifier; a changed public output,
//! a flipped proof byte or a key with one weight changed are rejected.

use std::path::Path;
use std::sync::Arc;

use zkinfer_circuits::field::fe;
use zkinfer_circuits::model::{LayoutParams, ModelCircuit};
use zkinfer_prover::{insecure_test_srs, keygen, prove, verify};
use zkinfer_quant_models::compile::compile_onnx_file;
use zkinfer_quant_models::infer::run_float_inputs;
use zkinfer_quant_models::io::{read_calibration, read_input};
use zkinfer_quant_models::{QOp, QuantConfig, QuantModel};

fn digits_mlp() -> (QuantModel, Vec<Vec<f64>>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../quant-models/models/digits-mlp");
    let samples = read_calibration(&dir.join("calibration.json")).unwrap();
    let compiled = compile_onnx_file(&dir.join("model.onnx"), &samples, QuantConfig::default()).unwrap();
    (compiled.quant, read_input(&dir.join("input.json")).unwrap().input_data)
}

fn circuit(model: &QuantModel, input: &[Vec<f64>]) -> ModelCircuit {
    let trace = run_float_inputs(model, input).unwrap();
    ModelCircuit::new(Arc::new(model.clone()), Arc::new(trace), LayoutParams::default()).unwrap()
}

#[test]
fn digits_mlp_proof_verifies_and_tampering_is_rejected() {
    let (model, input) = digits_mlp();
    let c = circuit(&model, &input);
    let k = c.min_k();
    let params = insecure_test_srs(k, 42);
    let keys = keygen(&params, &c).unwrap();
    let instance = c.instance();
    let proof = prove(&params, &keys, c, 7).unwrap();
    println!("digits MLP: k = {k}, proof {} bytes", proof.len());
    verify(&params, keys.vk(), &instance, &proof).unwrap();

    let mut changed = instance.clone();
    let last = changed.len() - 1;
    changed[last] += fe(1);
    assert!(verify(&params, keys.vk(), &changed, &proof).is_err(), "changed output accepted");

    let mut flipped = proof.clone();
    flipped[proof.len() / 2] ^= 1;
    assert!(verify(&params, keys.vk(), &instance, &flipped).is_err(), "flipped proof accepted");
    assert!(verify(&params, keys.vk(), &instance, &proof[..proof.len() - 10]).is_err(), "truncated proof accepted");

    // The key of a model with one weight changed rejects the honest proof.
    let mut other = model.clone();
    if let QOp::Dense { weight, .. } = &mut other.nodes[0].op {
        weight[5] += 1;
    }
    let other_keys = keygen(&params, &circuit(&other, &input)).unwrap();
    assert!(verify(&params, other_keys.vk(), &instance, &proof).is_err(), "other model's key accepted the proof");
}

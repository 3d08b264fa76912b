//! Keygen, prove and verify each shipped model once, printing the time of each phase:
//! `cargo run --release -p zkinfer-prover --example prove_shipped`.
//! (A first measurement; the benchmark command with medians comes with the bench crate.)

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use zkinfer_circuits::model::{LayoutParams, ModelCircuit};
use zkinfer_prover::{insecure_test_srs, keygen, prove, verify};
use zkinfer_quant_models::compile::compile_onnx_file;
use zkinfer_quant_models::infer::run_float_inputs;
use zkinfer_quant_models::io::{read_calibration, read_input};
use zkinfer_quant_models::QuantConfig;

fn main() {
    println!(
        "{:<12} {:>3} {:>7} {:>9} {:>9} {:>9} {:>9}",
        "model", "k", "rows", "keygen s", "prove s", "verify ms", "proof B"
    );
    for name in ["digits-mlp", "digits-cnn", "fashion-cnn"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../quant-models/models").join(name);
        let samples = read_calibration(&dir.join("calibration.json")).expect("calibration");
        let compiled = compile_onnx_file(&dir.join("model.onnx"), &samples, QuantConfig::default()).expect("compile");
        let input = read_input(&dir.join("input.json")).expect("input").input_data;
        let trace = run_float_inputs(&compiled.quant, &input).expect("inference");
        let circuit =
            ModelCircuit::new(Arc::new(compiled.quant), Arc::new(trace), LayoutParams::default()).expect("circuit");
        let (k, rows, instance) = (circuit.min_k(), circuit.rows(), circuit.instance());
        let params = insecure_test_srs(k, 1);
        let t = Instant::now();
        let keys = keygen(&params, &circuit).expect("keygen");
        let keygen_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let proof = prove(&params, &keys, circuit, 2).expect("prove");
        let prove_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        verify(&params, keys.vk(), &instance, &proof).expect("verify");
        let verify_ms = t.elapsed().as_secs_f64() * 1e3;
        println!("{name:<12} {k:>3} {rows:>7} {keygen_s:>9.2} {prove_s:>9.2} {verify_ms:>9.1} {:>9}", proof.len());
    }
}

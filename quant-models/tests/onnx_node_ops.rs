//! Every supported op, imported from the ONNX backend node tests (shipped in the `onnx` Python
//! package, version 1.22.0: `pip install onnx==1.22.0`) and checked twice: the float graph must
//! reproduce ONNX's expected output, and the dequantized integer output must stay within a
//! tolerance derived from the output's scale.
//!
//! Extra graph inputs (weights, biases, the second operand) are frozen into constants, except
//! for ops that take two computed tensors (residual Add/Sub), where both stay inputs.

#[path = "support/node_tests.rs"]
mod node_tests;

use node_tests::load_case;
use zkinfer_quant_models::float_infer::run_float;
use zkinfer_quant_models::infer::run_float_inputs;
use zkinfer_quant_models::onnx::import_onnx_bytes;
use zkinfer_quant_models::quant::{calibrate, quantize, QuantConfig};

fn check(name: &str, dynamic: usize) {
    let case = load_case(name, dynamic);
    let graph = import_onnx_bytes(&case.model, name).unwrap_or_else(|e| panic!("{name}: {e}"));
    let float = run_float(&graph, &case.inputs).unwrap();
    let ours = &float[graph.outputs[0]];
    assert_eq!(ours.len(), case.expected.len(), "{name}: output length");
    let scale = case.expected.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (a, b) in ours.iter().zip(&case.expected) {
        assert!((a - b).abs() <= 1e-4 * scale.max(1.0), "{name}: float graph {a} vs ONNX {b}");
    }

    let config = QuantConfig::default();
    let ranges = calibrate(&graph, std::slice::from_ref(&case.inputs)).unwrap();
    let model = quantize(&graph, &ranges, config).unwrap();
    let trace = run_float_inputs(&model, &case.inputs).unwrap();
    assert!(
        trace.saturations.is_empty(),
        "{name}: calibrated on this input, nothing may saturate: {:?}",
        trace.saturations
    );
    let out = &model.tensors[model.outputs[0]];
    let lsb = (-(out.frac_bits as f64)).exp2();
    // Output rounding is half an LSB; input and weight rounding add a few more through the op.
    // With `bits`-bit tensors the relative precision is 2^-(bits-1), so allow 4 of those on top.
    let tolerance = 2.0 * lsb + 4.0 * scale * (-(config.activation_bits as f64 - 1.0)).exp2();
    let deq = trace.dequantized_outputs(&model).swap_remove(0);
    let worst = deq.iter().zip(&case.expected).fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    println!("{name}: worst error {worst:.5} = {:.2} LSB, tolerance {tolerance:.5}", worst / lsb);
    assert!(worst <= tolerance, "{name}: integer output off by {worst} > {tolerance}");
}

#[allow(non_snake_case)] // test names are the ONNX node-test folder names
mod cases {
    use super::check;

    crate::node_test_cases!();
}

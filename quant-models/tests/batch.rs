//! One model run on N samples at once (`compile --batch N`): every op of the shipped models
//! (Gemm, Conv, ReLU, average and max pooling, Flatten) takes the leading batch axis. Packed
//! calibration with shared ranges gives every sample's intermediates one scale, and activations
//! sink in front of the concatenation of the samples, so each sample's row of the batched integer
//! output is bit for bit that sample's single-sample output.

use std::path::{Path, PathBuf};

use zkinfer_quant_models::compile::{compile_onnx, compile_onnx_batch, pack_samples};
use zkinfer_quant_models::infer::run_float_inputs;
use zkinfer_quant_models::io::read_calibration;
use zkinfer_quant_models::{ModelError, QuantConfig};

#[path = "support/node_tests.rs"]
#[allow(dead_code)]
mod node_tests;
use node_tests::node_test_dir;

fn shipped(model: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models").join(model)
}

fn check(model: &str, batch: usize) {
    let dir = shipped(model);
    let onnx = std::fs::read(dir.join("model.onnx")).unwrap();
    let samples = read_calibration(&dir.join("calibration.json")).unwrap();
    let single = compile_onnx(&onnx, model, &samples, QuantConfig::default()).unwrap();
    let packed = pack_samples(&samples, batch);
    let batched = compile_onnx_batch(&onnx, model, &packed, QuantConfig::default(), batch).unwrap();
    let input = &batched.quant.tensors[batched.quant.inputs[0]];
    assert_eq!(input.shape[0], batch, "{model}: input shape {:?}", input.shape);

    // Samples 1..=batch, so the group is not the calibration's first.
    let group: Vec<Vec<Vec<f64>>> = samples[1..=batch].to_vec();
    let trace = run_float_inputs(&batched.quant, &pack_samples(&group, batch)[0]).unwrap();
    let out = &trace.values[batched.quant.outputs[0]];
    let row = out.len() / batch;
    for (i, sample) in group.iter().enumerate() {
        let alone = run_float_inputs(&single.quant, sample).unwrap();
        assert_eq!(&out[i * row..(i + 1) * row], &alone.values[single.quant.outputs[0]][..], "{model}: sample {i}");
    }
}

#[test]
fn batched_mlp_answers_each_sample_as_alone() {
    check("digits-mlp", 3);
}

#[test]
fn batched_cnn_with_average_pooling_answers_each_sample_as_alone() {
    check("digits-cnn", 3);
}

#[test]
fn batched_lenet5_with_max_pooling_answers_each_sample_as_alone() {
    check("lenet5", 2);
}

#[test]
fn packing_groups_consecutive_samples_and_wraps_the_last_group() {
    let samples: Vec<Vec<Vec<f64>>> = (0..5).map(|i| vec![vec![i as f64, 10.0 + i as f64]]).collect();
    let packed = pack_samples(&samples, 2);
    assert_eq!(packed.len(), 3);
    assert_eq!(packed[0], vec![vec![0.0, 10.0, 1.0, 11.0]]);
    assert_eq!(packed[2], vec![vec![4.0, 14.0, 0.0, 10.0]]);
}

#[test]
fn a_fixed_batch_axis_cannot_take_more_samples() {
    // The node test model has a fixed input shape [3, 4, 5] (no symbolic batch axis).
    let onnx = std::fs::read(node_test_dir().join("test_relu").join("model.onnx")).unwrap();
    let err = compile_onnx_batch(&onnx, "relu", &[vec![vec![0.5; 60 * 2]]], QuantConfig::default(), 2).unwrap_err();
    assert!(matches!(err, ModelError::FixedBatch { size: 3, batch: 2, .. }), "{err}");
    assert!(err.to_string().contains("dynamic batch axis"), "{err}");
}

#[test]
fn a_batch_counts_each_weight_once() {
    let onnx = std::fs::read(shipped("lenet5").join("model.onnx")).unwrap();
    let single = zkinfer_quant_models::onnx::import_onnx_bytes(&onnx, "lenet5").unwrap();
    let batched = zkinfer_quant_models::onnx::import_onnx_batch(&onnx, "lenet5", 4).unwrap();
    assert_eq!(single.stats().parameters, 61_706);
    assert_eq!(batched.stats().parameters, 61_706);
    assert_eq!(batched.stats().macs, 4 * single.stats().macs);
}

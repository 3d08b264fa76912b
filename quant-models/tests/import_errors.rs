//! The importer on fixtures and on bad input: patterns it must recognise, and clear errors
//! (never a panic) for malformed files, unsupported ops and wrong inputs.

use std::path::Path;

use zkinfer_quant_models::compile::compile_onnx;
use zkinfer_quant_models::graph::{ActFn, FloatOp};
use zkinfer_quant_models::infer::run_float_inputs;
use zkinfer_quant_models::onnx::{import_onnx, import_onnx_bytes, tract_reference};
use zkinfer_quant_models::{ModelError, QuantConfig};

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

fn shipped(model: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("models").join(model).join("model.onnx")).unwrap()
}

#[test]
fn pytorch_erf_gelu_becomes_one_activation() {
    let graph = import_onnx(&fixture("gelu_erf_pattern.onnx")).unwrap();
    assert_eq!(graph.nodes.len(), 1, "{:?}", graph.nodes);
    assert!(matches!(graph.nodes[0].op, FloatOp::Activation(ActFn::Gelu { tanh_approx: false })));
    let bytes = std::fs::read(fixture("gelu_erf_pattern.onnx")).unwrap();
    let x: Vec<f64> = (0..16).map(|i| (i as f64 - 8.0) / 3.0).collect();
    let ours = zkinfer_quant_models::float_infer::run_float(&graph, std::slice::from_ref(&x)).unwrap();
    let theirs = tract_reference(&bytes, &[x], &[vec![1, 16]]).unwrap();
    for (a, b) in ours[graph.outputs[0]].iter().zip(&theirs[0]) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
}

#[test]
fn zero_pad_before_conv_matches_tract() {
    let bytes = std::fs::read(fixture("pad_conv.onnx")).unwrap();
    let x: Vec<f64> = (0..50).map(|i| ((i * 7) % 11) as f64 / 5.0 - 1.0).collect();
    let model = compile_onnx(&bytes, "pad_conv", &[vec![x.clone()]], QuantConfig::default()).unwrap();
    let y = run_float_inputs(&model.quant, std::slice::from_ref(&x)).unwrap().dequantized_outputs(&model.quant);
    let reference = tract_reference(&bytes, &[x], &[vec![1, 2, 5, 5]]).unwrap();
    let out = &model.quant.tensors[model.quant.outputs[0]];
    let lsb = (-(out.frac_bits as f64)).exp2();
    for (a, b) in y[0].iter().zip(&reference[0]) {
        assert!((a - b).abs() <= 3.0 * lsb, "{a} vs {b} (lsb {lsb})");
    }
}

#[test]
fn truncated_and_garbage_onnx_are_malformed_errors() {
    let bytes = shipped("digits-cnn");
    for cut in [0, 10, bytes.len() / 2, bytes.len() - 3] {
        let err = import_onnx_bytes(&bytes[..cut], "cut").unwrap_err();
        assert!(matches!(err, ModelError::MalformedOnnx(_)), "cut at {cut}: {err}");
    }
    let err = import_onnx_bytes(b"definitely not protobuf \xff\xff\xff", "junk").unwrap_err();
    assert!(matches!(err, ModelError::MalformedOnnx(_)), "{err}");
}

#[test]
fn unsupported_op_is_named_with_its_node_in_one_line() {
    use prost::Message;
    use tract_onnx::pb::ModelProto;
    let mut proto = ModelProto::decode(&shipped("digits-mlp")[..]).unwrap();
    let graph = proto.graph.as_mut().unwrap();
    let relu = graph.node.iter_mut().find(|n| n.op_type == "Relu").unwrap();
    relu.op_type = "Hardmax".into();
    let err = import_onnx_bytes(&proto.encode_to_vec(), "m").unwrap_err().to_string();
    assert!(err.contains("Hardmax") && err.contains("relu1") && err.contains("docs/ops.md"), "{err}");
    assert!(!err.contains('\n') && err.len() < 120, "{err}");
}

#[test]
fn wrong_length_nan_and_out_of_range_inputs() {
    let bytes = shipped("digits-mlp");
    let good = vec![vec![0.5; 64]];
    let model = compile_onnx(&bytes, "m", std::slice::from_ref(&good), QuantConfig::default()).unwrap();
    let err = run_float_inputs(&model.quant, &[vec![0.5; 63]]).unwrap_err().to_string();
    assert!(err.contains("expected 64 values"), "{err}");
    let mut nan = good.clone();
    nan[0][3] = f64::NAN;
    assert!(run_float_inputs(&model.quant, &nan).unwrap_err().to_string().contains("non-finite"));
    // Far outside the calibrated range: saturates, and says so.
    let trace = run_float_inputs(&model.quant, &[vec![1e6; 64]]).unwrap();
    assert!(trace.saturations.iter().any(|s| s.tensor == "input" && s.clamped == 64), "{:?}", trace.saturations);
    assert!(matches!(compile_onnx(&bytes, "m", &[], QuantConfig::default()), Err(ModelError::EmptyCalibration)));
}

#[test]
fn corrupted_onnx_bytes_never_panic() {
    use zkinfer_quant_models::onnx::SplitMix64;
    let original = shipped("digits-cnn");
    let mut rng = SplitMix64::new(3);
    let mut rejected = 0;
    for _ in 0..300 {
        let mut bytes = original.clone();
        for _ in 0..4 {
            let at = (rng.uniform(0.0, bytes.len() as f64)) as usize;
            bytes[at] = rng.uniform(0.0, 256.0) as u8;
        }
        let outcome = std::panic::catch_unwind(|| import_onnx_bytes(&bytes, "corrupt").map(|g| g.nodes.len()));
        match outcome {
            Err(_) => panic!("import panicked on corrupted bytes"),
            Ok(Err(_)) => rejected += 1,
            Ok(Ok(_)) => {} // a flip inside a weight's value is still a valid model
        }
    }
    assert!(rejected > 0, "no corruption was detected at all");
}

#[path = "support/node_tests.rs"]
mod node_tests;

#[test]
fn training_mode_batch_norm_is_refused_not_computed_as_inference() {
    for name in ["test_batchnorm_example_training_mode", "test_batchnorm_epsilon_training_mode"] {
        let case = node_tests::load_case(name, 1);
        let err = import_onnx_bytes(&case.model, name).unwrap_err().to_string();
        assert!(err.contains("training_mode") && err.contains("BatchNormalization"), "{name}: {err}");
    }
}

/// The shipped digits MLP with its first weight initializer changed by `edit`.
fn digits_mlp_with_weights(edit: impl FnOnce(&mut tract_onnx::pb::TensorProto)) -> Vec<u8> {
    use prost::Message;
    let mut model = tract_onnx::pb::ModelProto::decode(&shipped("digits-mlp")[..]).unwrap();
    let graph = model.graph.as_mut().unwrap();
    let weight = graph.initializer.iter_mut().find(|t| t.dims.len() == 2).expect("a weight matrix");
    edit(weight);
    model.encode_to_vec()
}

/// A float tensor's values, whether stored as `float_data` or `raw_data`.
fn set_first_float(t: &mut tract_onnx::pb::TensorProto, v: f32) {
    if t.float_data.is_empty() {
        t.raw_data[..4].copy_from_slice(&v.to_le_bytes());
    } else {
        t.float_data[0] = v;
    }
}

#[test]
fn non_finite_and_zero_size_weights_are_refused_at_import() {
    for bad in [f32::NAN, f32::INFINITY] {
        let bytes = digits_mlp_with_weights(|w| set_first_float(w, bad));
        let err = import_onnx_bytes(&bytes, "bad").unwrap_err().to_string();
        assert!(err.contains(&bad.to_string()) || err.contains("finite"), "{bad}: {err}");
    }
    // A [64, 0] weight: the Gemm has no outputs at all.
    let bytes = digits_mlp_with_weights(|w| {
        w.dims[1] = 0;
        w.float_data.clear();
        w.raw_data.clear();
    });
    let err = import_onnx_bytes(&bytes, "empty").unwrap_err();
    assert!(matches!(err, ModelError::EmptyTensor { .. }), "{err}");
}

#[test]
fn degenerate_calibrations_warn_and_an_empty_one_is_refused() {
    let bytes = shipped("digits-mlp");
    let zeros = vec![vec![vec![0.0; 64]]; 4];
    let warned = compile_onnx(&bytes, "zeros", &zeros, QuantConfig::default()).unwrap().calibration_warnings;
    assert!(warned.iter().any(|w| w.contains("is zero")), "{warned:?}");
    let huge = vec![vec![vec![1e30; 64]], vec![vec![-1e30; 64]]];
    let warned = compile_onnx(&bytes, "huge", &huge, QuantConfig::default()).unwrap().calibration_warnings;
    assert!(warned.iter().any(|w| w.contains("no precision")), "{warned:?}");
    let err = compile_onnx(&bytes, "none", &[], QuantConfig::default()).unwrap_err();
    assert!(matches!(err, ModelError::EmptyCalibration), "{err}");
    let err = compile_onnx(&bytes, "nan", &[vec![vec![f64::NAN; 64]]], QuantConfig::default()).unwrap_err();
    assert!(err.to_string().contains("NaN"), "{err}");
}

#[test]
fn softmax_of_large_numbers_is_caught_by_the_precision_check_not_returned_quietly() {
    use zkinfer_quant_models::report::{precision_loss, tensor_report};
    let name = "test_softmax_large_number";
    let case = node_tests::load_case(name, 1);
    let samples = vec![case.inputs.clone()];
    let model = compile_onnx(&case.model, name, &samples, QuantConfig::default()).unwrap();
    let reports = tensor_report(&model, &samples).unwrap();
    let loss = precision_loss(&model, &reports, 0.02).expect("all-equal probabilities are far from the float softmax");
    let output = &model.quant.tensors[model.quant.outputs[0]].name;
    assert_eq!(&loss.output, output);
    assert!(loss.worst > 0.1 && loss.to_string().contains("precision is first lost at"), "{loss}");
    // The shipped models are within a loose tolerance.
    let bytes = shipped("digits-mlp");
    let samples = zkinfer_quant_models::io::read_calibration(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("models/digits-mlp/calibration.json"),
    )
    .unwrap();
    let model = compile_onnx(&bytes, "digits-mlp", &samples, QuantConfig::default()).unwrap();
    assert_eq!(precision_loss(&model, &tensor_report(&model, &samples).unwrap(), 0.5), None);
}

//! The shipped example models: calibrated on their calibration split, the integer model must
//! agree with float on ≥ 99 % of the test set's argmaxes (98.5 % for LeNet-5, whose three
//! dense layers each round to 8 bits: 98.8 % measured) and lose at most one point of top-1.

use std::path::Path;

use zkinfer_quant_models::compile::compile_onnx_file;
use zkinfer_quant_models::io::{read_calibration, read_labelled};
use zkinfer_quant_models::report::accuracy;
use zkinfer_quant_models::{CompiledModel, QuantConfig};

fn check(model: &str, min_agreement: f64) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models").join(model);
    let samples = read_calibration(&dir.join("calibration.json")).unwrap();
    let compiled = compile_onnx_file(&dir.join("model.onnx"), &samples, QuantConfig::default()).unwrap();
    let test = read_labelled(&dir.join("test.json")).unwrap();
    let r = accuracy(&compiled, &test.inputs(), &test.labels).unwrap();
    println!("{model}: {r:?}");
    assert!(r.argmax_agreement >= min_agreement, "{model}: argmax agreement {}", r.argmax_agreement);
    let (f, q) = (r.float_top1.unwrap(), r.quant_top1.unwrap());
    assert!(q >= f - 0.01, "{model}: top-1 float {f} vs quantized {q}");

    // The `.zkq` round trip keeps the model bit for bit; a corrupted file is refused.
    let bytes = compiled.to_bytes().unwrap();
    let back = CompiledModel::from_bytes(&bytes).unwrap();
    assert_eq!(back.quant, compiled.quant);
    assert!(CompiledModel::from_bytes(&bytes[..bytes.len() / 2]).is_err());
    let mut wrong_version = bytes.clone();
    wrong_version[4] ^= 0x7f;
    assert!(CompiledModel::from_bytes(&wrong_version).unwrap_err().to_string().contains("version"));
}

#[test]
fn digits_mlp_keeps_its_accuracy() {
    check("digits-mlp", 0.99);
}

#[test]
fn digits_cnn_keeps_its_accuracy() {
    check("digits-cnn", 0.99);
}

#[test]
fn fashion_cnn_keeps_its_accuracy() {
    check("fashion-cnn", 0.99);
}

#[test]
fn lenet5_keeps_its_accuracy() {
    check("lenet5", 0.985);
}

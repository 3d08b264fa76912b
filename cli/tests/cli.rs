//! The `zkinfer` binary end to end on a shipped model: the happy path and the errors people see.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn zkinfer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkinfer")).args(args).output().expect("run zkinfer")
}

fn model_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../quant-models/models/digits-mlp")
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("zkinfer-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn quantize(dir: &Path, zkq: &Path) -> Output {
    zkinfer(&["quantize", s(&dir.join("model.onnx")), "--calibration", s(&dir.join("calibration.json")), "-o", s(zkq)])
}

#[test]
fn quantize_run_and_accuracy() {
    let dir = model_dir();
    let tmp = temp_dir("flow");
    let zkq = tmp.join("m.zkq");
    let out = quantize(&dir, &zkq);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("relu1"));

    let out = zkinfer(&["run", s(&zkq), "--input", s(&dir.join("input.json")), "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["shapes"], serde_json::json!([[1, 10]]));
    assert_eq!(v["outputs"][0].as_array().unwrap().len(), 10);

    let out = zkinfer(&["accuracy", s(&zkq), "--dataset", s(&dir.join("test.json")), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["samples"], 450);
    assert!(v["argmax_agreement"].as_f64().unwrap() >= 0.99);
}

#[test]
fn errors_name_the_problem_and_exit_non_zero() {
    let dir = model_dir();
    let tmp = temp_dir("errors");
    let short = tmp.join("short.json");
    std::fs::write(&short, r#"{"input_data": [[0.5, 0.5]]}"#).unwrap();
    let zkq = tmp.join("m.zkq");
    let out = quantize(&dir, &zkq);
    assert!(out.status.success());

    let out = zkinfer(&["run", s(&zkq), "--input", s(&short)]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("expected 64 values"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = zkinfer(&["run", s(&dir.join("model.onnx")), "--input", s(&dir.join("input.json"))]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a zkinfer quantized model"));

    let empty = tmp.join("empty.json");
    std::fs::write(&empty, "[]").unwrap();
    let out =
        zkinfer(&["quantize", s(&dir.join("model.onnx")), "--calibration", s(&empty), "-o", s(&tmp.join("x.zkq"))]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("calibration set is empty"));
}

#[test]
fn inspect_reports_size() {
    let out = zkinfer(&["inspect", s(&model_dir().join("model.onnx")), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["stats"]["parameters"], 2410);
    assert_eq!(v["stats"]["macs"], 64 * 32 + 32 * 10);
}

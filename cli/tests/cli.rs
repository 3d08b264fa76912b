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

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn srs_compile_prove_verify_and_rejections() {
    let dir = model_dir();
    let tmp = temp_dir("prove");
    let srs = tmp.join("test.srs");
    let out = zkinfer(&["srs", "--k", "12", "-o", s(&srs)]);
    assert!(!out.status.success() && stderr(&out).contains("--insecure-test"));
    let out = zkinfer(&["srs", "--k", "12", "--insecure-test", "-o", s(&srs)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("INSECURE"));

    let compiled = tmp.join("compiled");
    let cal = s(&dir.join("calibration.json")).to_string();
    let onnx = s(&dir.join("model.onnx")).to_string();
    let out = zkinfer(&["compile", &onnx, "--calibration", &cal, "--srs", s(&srs), "-o", s(&compiled)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(compiled.join("model-card.json")).unwrap()).unwrap();
    assert_eq!(card["srs"]["kind"], "file");
    assert!(card["accuracy"]["argmax_agreement"].as_f64().unwrap() > 0.95);
    let id = card["model_id"].as_str().unwrap().to_string();

    let proof = tmp.join("proof.json");
    let out = zkinfer(&["prove", s(&compiled), "--input", s(&dir.join("input.json")), "-o", s(&proof)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let bundle: serde_json::Value = serde_json::from_slice(&std::fs::read(&proof).unwrap()).unwrap();
    for field in ["version", "model_id", "inputs", "outputs", "proof"] {
        assert!(bundle.get(field).is_some(), "bundle lacks `{field}`");
    }
    assert_eq!(bundle["outputs"][0]["shape"], serde_json::json!([1, 10]));
    // The default (`auto`) says which MSM backend it picked.
    assert!(stderr(&out).contains("MSMs on "), "{}", stderr(&out));

    // `--device cpu` proves the same output; `--device cuda` proves too where a GPU opens and
    // otherwise fails before writing anything, naming the reason.
    let cpu_proof = tmp.join("cpu-proof.json");
    let input = s(&dir.join("input.json")).to_string();
    let out = zkinfer(&["prove", s(&compiled), "--input", &input, "-o", s(&cpu_proof), "--device", "cpu"]);
    assert!(out.status.success() && stderr(&out).contains("MSMs on the CPU"), "{}", stderr(&out));
    let cpu_bundle: serde_json::Value = serde_json::from_slice(&std::fs::read(&cpu_proof).unwrap()).unwrap();
    assert_eq!(cpu_bundle["outputs"], bundle["outputs"]);
    let cuda_proof = tmp.join("cuda-proof.json");
    let out = zkinfer(&["prove", s(&compiled), "--input", &input, "-o", s(&cuda_proof), "--device", "cuda"]);
    if out.status.success() {
        assert!(cuda_proof.exists());
    } else {
        assert!(stderr(&out).contains("no CUDA device") && !cuda_proof.exists(), "{}", stderr(&out));
    }

    let vk = s(&compiled.join("vk")).to_string();
    let card_path = s(&compiled.join("model-card.json")).to_string();
    let out = zkinfer(&["verify", s(&proof), "--vk", &vk, "--model-card", &card_path]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("accepted"));

    // The MSM tables and key cosets only speed proving up: damaged ones are reported and
    // proving goes on without them, to a proof that verifies.
    let tables = compiled.join("msm-tables");
    let mut damaged = std::fs::read(&tables).expect("compile writes the MSM tables");
    let middle = damaged.len() / 2;
    damaged.truncate(middle);
    std::fs::write(&tables, damaged).unwrap();
    let cosets = compiled.join("key-cosets");
    let mut damaged = std::fs::read(&cosets).expect("compile writes the key cosets");
    let middle = damaged.len() / 2;
    damaged[middle] ^= 1;
    std::fs::write(&cosets, damaged).unwrap();
    let unaccelerated = tmp.join("unaccelerated-proof.json");
    let out = zkinfer(&["prove", s(&compiled), "--input", &input, "-o", s(&unaccelerated), "--device", "cpu"]);
    for file in ["msm-tables", "key-cosets"] {
        assert!(out.status.success() && stderr(&out).contains(&format!("{file} not used")), "{}", stderr(&out));
    }
    assert!(stderr(&out).contains("corrupt"), "{}", stderr(&out));
    let out = zkinfer(&["verify", s(&unaccelerated), "--vk", &vk, "--model-card", &card_path]);
    assert!(out.status.success(), "{}", stderr(&out));

    // Another model id, and a changed output: non-zero exit with the reason.
    let other = "00".repeat(32);
    let out = zkinfer(&["verify", s(&proof), "--vk", &vk, "--model-id", &other]);
    assert!(!out.status.success() && stderr(&out).contains("wrong model"), "{}", stderr(&out));
    let mut forged = bundle.clone();
    let v = forged["outputs"][0]["values"][0].as_i64().unwrap() + 1;
    let scale = forged["outputs"][0]["scale"].as_f64().unwrap();
    forged["outputs"][0]["values"][0] = v.into();
    forged["outputs"][0]["floats"][0] = (v as f64 * scale).into();
    let forged_path = tmp.join("forged.json");
    std::fs::write(&forged_path, serde_json::to_vec(&forged).unwrap()).unwrap();
    let out = zkinfer(&["verify", s(&forged_path), "--vk", &vk, "--model-id", &id]);
    assert!(!out.status.success() && stderr(&out).contains("proof invalid"), "{}", stderr(&out));
    std::fs::write(&forged_path, b"{not json").unwrap();
    let out = zkinfer(&["verify", s(&forged_path), "--vk", &vk, "--model-id", &id]);
    assert!(!out.status.success() && stderr(&out).contains("malformed bundle"), "{}", stderr(&out));
}

#[test]
fn demo_proves_verifies_and_rejects_a_forgery() {
    let out = zkinfer(&["demo"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("predicted digit") && text.contains("forged answer    proof invalid"), "{text}");
}

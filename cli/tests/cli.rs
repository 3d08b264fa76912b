//! The `zkinfer` binary end to end on a shipped model: the happy path and the errors people see.

mod support;

use std::path::Path;
use std::process::Output;

use support::*;

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

    // A layer of width 0: a named error, and no folder left behind.
    let synth = tmp.join("synth-empty");
    let out = zkinfer(&["synth", "-o", s(&synth), "mlp", "--hidden", "0"]);
    assert!(!out.status.success() && stderr(&out).contains("zero-size dimension"), "{}", stderr(&out));
    assert!(!synth.exists());
}

#[test]
fn inspect_reports_size() {
    let out = zkinfer(&["inspect", s(&model_dir().join("model.onnx")), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["stats"]["parameters"], 2410);
    assert_eq!(v["stats"]["macs"], 64 * 32 + 32 * 10);
}

#[test]
fn the_public_test_setup_is_refused_whatever_the_files_claim() {
    let dir = model_dir();
    let tmp = temp_dir("insecure");
    let srs = tmp.join("test.srs");
    let out = zkinfer(&["srs", "insecure-test", "--k", "12", "-o", s(&srs)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("INSECURE"));

    // Passed as a file, the test setup is still recognised: the card says so and `verify`
    // refuses its proofs with their own exit code unless told to allow them.
    let compiled = tmp.join("compiled");
    let out = compile(&dir, Some(&srs), &compiled, &[]);
    assert!(out.status.success() && stderr(&out).contains("INSECURE"), "{}", stderr(&out));
    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(compiled.join("model-card.json")).unwrap()).unwrap();
    assert_eq!(card["srs"]["kind"], "insecure-test");
    let proof = tmp.join("proof.json");
    let out = zkinfer(&["prove", s(&compiled), "--input", s(&dir.join("input.json")), "-o", s(&proof)]);
    assert!(out.status.success() && stderr(&out).contains("INSECURE"), "{}", stderr(&out));
    let (vk, card_path) = (compiled.join("vk"), compiled.join("model-card.json"));
    let out = zkinfer(&["verify", s(&proof), "--vk", s(&vk), "--model-card", s(&card_path)]);
    assert_eq!(out.status.code(), Some(7), "{}", stdout(&out));
    assert!(stdout(&out).lines().next().unwrap().starts_with("rejected: insecure setup"), "{}", stdout(&out));
    let out = zkinfer(&["verify", s(&proof), "--vk", s(&vk), "--model-card", s(&card_path), "--allow-insecure-srs"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).contains("setup: INSECURE test setup"), "{}", stdout(&out));
}

#[test]
fn compile_prove_verify_with_a_fresh_setup_and_every_rejection_class() {
    let (dir, tmp, _, compiled) = compiled_on_fresh_setup("prove");
    assert!(compiled.join("manifest.json").exists());
    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(compiled.join("model-card.json")).unwrap()).unwrap();
    assert_eq!(card["srs"]["kind"], "file");
    assert!(card["accuracy"]["argmax_agreement"].as_f64().unwrap() > 0.95);
    let id = card["model_id"].as_str().unwrap().to_string();

    // The bundle can go to stdout; progress stays on stderr.
    let input = s(&dir.join("input.json")).to_string();
    let out = zkinfer(&["prove", s(&compiled), "--input", &input, "-o", "-"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let bundle: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is the bundle alone");
    for field in ["version", "model_id", "inputs", "outputs", "proof"] {
        assert!(bundle.get(field).is_some(), "bundle lacks `{field}`");
    }
    assert_eq!(bundle["outputs"][0]["shape"], serde_json::json!([1, 10]));
    // The default (`auto`) says which MSM backend it picked, and the proof was checked.
    assert!(stderr(&out).contains("MSMs on ") && stderr(&out).contains("self-check"), "{}", stderr(&out));
    let proof = tmp.join("proof.json");
    std::fs::write(&proof, &out.stdout).unwrap();

    // `--device cpu` proves the same output; `--device cuda` proves too where a GPU opens and
    // otherwise fails before writing anything, naming the reason.
    let cpu_proof = tmp.join("cpu-proof.json");
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
    let verify = |bundle: &Path, extra: &[&str]| {
        let mut args = vec!["verify", s(bundle), "--vk", &vk, "--model-card", &card_path];
        args.extend(extra);
        zkinfer(&args)
    };
    let out = verify(&proof, &["--input", &input]);
    assert!(out.status.success(), "{}", stdout(&out));
    let first = stdout(&out).lines().next().unwrap_or_default().to_string();
    assert!(first.starts_with("accepted") && first.contains("the proven input is yours"), "{first}");
    assert!(stdout(&out).contains(&format!("setup: unknown setup {}", card["srs"]["id"].as_str().unwrap())));
    let out = verify(&proof, &["--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((v["accepted"].as_bool(), v["outputs"][0]["shape"].clone()), (Some(true), serde_json::json!([1, 10])));

    // Another buyer's input: rejected as an input mismatch.
    let mut other: serde_json::Value = serde_json::from_slice(&std::fs::read(&input).unwrap()).unwrap();
    other["input_data"][0][5] = 0.75.into();
    let other_input = tmp.join("other-input.json");
    std::fs::write(&other_input, other.to_string()).unwrap();
    let out = verify(&proof, &["--input", s(&other_input)]);
    assert_eq!(out.status.code(), Some(8), "{}", stdout(&out));
    assert!(stdout(&out).starts_with("rejected: input mismatch"), "{}", stdout(&out));

    // Another model id, a changed output, garbage: each its own exit code and first line.
    let other = "00".repeat(32);
    let out = zkinfer(&["verify", s(&proof), "--vk", &vk, "--model-id", &other]);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    assert!(stdout(&out).starts_with("rejected: wrong model"), "{}", stdout(&out));
    let mut forged = bundle.clone();
    let v = forged["outputs"][0]["values"][0].as_i64().unwrap() + 1;
    let scale = forged["outputs"][0]["scale"].as_f64().unwrap();
    forged["outputs"][0]["values"][0] = v.into();
    forged["outputs"][0]["floats"][0] = (v as f64 * scale).into();
    let forged_path = tmp.join("forged.json");
    std::fs::write(&forged_path, serde_json::to_vec(&forged).unwrap()).unwrap();
    let out = zkinfer(&["verify", s(&forged_path), "--vk", &vk, "--model-id", &id]);
    assert_eq!(out.status.code(), Some(6), "{}", stdout(&out));
    assert!(stdout(&out).starts_with("rejected: proof invalid: the proof does not check"), "{}", stdout(&out));
    let out = zkinfer(&["verify", s(&forged_path), "--vk", &vk, "--model-id", &id, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((v["accepted"].as_bool(), v["class"].as_str()), (Some(false), Some("proof-invalid")));
    std::fs::write(&forged_path, b"{not json").unwrap();
    let out = zkinfer(&["verify", s(&forged_path), "--vk", &vk, "--model-id", &id]);
    assert_eq!(out.status.code(), Some(4), "{}", stdout(&out));
    assert!(stdout(&out).starts_with("rejected: malformed bundle"), "{}", stdout(&out));
}

#[test]
fn a_folder_that_does_not_hold_together_is_refused_or_its_accelerators_skipped() {
    let (dir, tmp, srs, compiled) = compiled_on_fresh_setup("folder");
    let input = s(&dir.join("input.json")).to_string();
    let prove = |out: &str| zkinfer(&["prove", s(&compiled), "--input", &input, "-o", out, "--device", "cpu"]);
    let restore = |name: &str, bytes: &[u8]| std::fs::write(compiled.join(name), bytes).unwrap();

    // Damaged accelerators (a flipped bit anywhere) are skipped: proving goes on and verifies.
    for name in ["msm-tables", "key-cosets"] {
        let original = std::fs::read(compiled.join(name)).expect("compile writes the accelerators");
        let mut damaged = original.clone();
        let at = damaged.len() / 2;
        damaged[at] ^= 4;
        restore(name, &damaged);
        let proof = tmp.join(format!("{name}.json"));
        let out = prove(s(&proof));
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stderr(&out).contains(&format!("{name} does not match the manifest; proving without it")));
        let vk = compiled.join("vk");
        let out = zkinfer(&["verify", s(&proof), "--vk", s(&vk), "--model-card", s(&compiled.join("model-card.json"))]);
        assert!(out.status.success(), "{}", stdout(&out));
        restore(name, &original);
    }
    // A flipped byte in a core file, or a setup of another size: refused before any work,
    // naming the file, and nothing is written.
    let other_srs = tmp.join("other.srs");
    fresh_srs(&other_srs, 13);
    let cases = [("model.zkq", None), ("pk", None), ("vk", None), ("srs.params", Some(other_srs))];
    for (name, replacement) in cases {
        let original = std::fs::read(compiled.join(name)).unwrap();
        let damaged = replacement.map(|p| std::fs::read(p).unwrap()).unwrap_or_else(|| {
            let mut d = original.clone();
            let at = d.len() - 7;
            d[at] ^= 1;
            d
        });
        restore(name, &damaged);
        let proof = tmp.join("never.json");
        let out = prove(s(&proof));
        assert!(!out.status.success() && !proof.exists(), "{name}");
        assert!(stderr(&out).contains(&format!("{name} does not match the folder's manifest")), "{}", stderr(&out));
        restore(name, &original);
    }

    // Compiling again into the folder replaces it whole; a folder of other files is refused.
    assert!(compile(&dir, Some(&srs), &compiled, &["--private-input"]).status.success());
    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(compiled.join("model-card.json")).unwrap()).unwrap();
    assert_eq!(card["layout"]["public_input"], false);
    assert!(prove(s(&tmp.join("private.json"))).status.success());
    let precious = tmp.join("precious");
    std::fs::create_dir_all(&precious).unwrap();
    std::fs::write(precious.join("notes.txt"), b"mine").unwrap();
    let out = compile(&dir, Some(&srs), &precious, &[]);
    assert!(!out.status.success() && stderr(&out).contains("is not a compiled model folder"), "{}", stderr(&out));
    assert_eq!(std::fs::read(precious.join("notes.txt")).unwrap(), b"mine");
}

#[test]
fn a_clamped_input_is_refused_unless_allowed_and_then_marked() {
    let (dir, tmp, _, compiled) = compiled_on_fresh_setup("clamp");
    let mut input: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("input.json")).unwrap()).unwrap();
    input["input_data"][0][3] = 1e6.into();
    let big = tmp.join("big.json");
    std::fs::write(&big, input.to_string()).unwrap();
    let proof = tmp.join("clamped.json");
    let out = zkinfer(&["prove", s(&compiled), "--input", s(&big), "-o", s(&proof)]);
    assert!(!out.status.success() && !proof.exists());
    let err = stderr(&out);
    assert!(err.contains("`input`") && err.contains("element 3") && err.contains("--allow-saturation"), "{err}");

    let out = zkinfer(&["prove", s(&compiled), "--input", s(&big), "-o", s(&proof), "--allow-saturation"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (vk, card) = (compiled.join("vk"), compiled.join("model-card.json"));
    let out = zkinfer(&["verify", s(&proof), "--vk", s(&vk), "--model-card", s(&card)]);
    assert!(out.status.success() && stdout(&out).contains("the result involved clamping"), "{}", stdout(&out));
    // The buyer's own (unclamped) input is not the proven one.
    let out = zkinfer(&["verify", s(&proof), "--vk", s(&vk), "--model-card", s(&card), "--input", s(&big)]);
    assert_eq!(out.status.code(), Some(8), "{}", stdout(&out));
    assert!(stdout(&out).contains("clamped"), "{}", stdout(&out));
}

#[test]
fn demo_proves_verifies_and_rejects_a_forgery() {
    let out = zkinfer(&["demo"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("predicted digit") && text.contains("forged answer    proof invalid"), "{text}");
}

#[test]
fn an_interrupted_compile_leaves_the_earlier_folder_whole() {
    use std::io::BufRead;
    let (dir, tmp, srs, compiled) = compiled_on_fresh_setup("interrupted");
    let before: Vec<(String, Vec<u8>)> = std::fs::read_dir(&compiled)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| (e.file_name().into_string().unwrap(), std::fs::read(e.path()).unwrap()))
        .collect();
    // A larger model into the same folder, interrupted (Ctrl-C) as it starts writing.
    let fashion = dir.join("../fashion-cnn");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_zkinfer"))
        .args(["compile", s(&fashion.join("model.onnx")), "--calibration", s(&fashion.join("calibration.json"))])
        .args(["--srs", s(&srs), "-o", s(&compiled)])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    for line in lines.map_while(Result::ok) {
        if line.starts_with("accuracy on the calibration set") {
            std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
            break;
        }
    }
    let finished = child.wait().unwrap().success();
    println!("compile {}", if finished { "finished before the signal" } else { "interrupted" });
    // Either the compile finished before the signal and the folder is wholly the new model, or
    // it did not and the folder is exactly the earlier one; in both cases it proves.
    if !finished {
        for (name, bytes) in &before {
            assert!(std::fs::read(compiled.join(name)).unwrap() == *bytes, "{name} changed");
        }
    }
    let model = if finished { fashion } else { dir.clone() };
    let proof = tmp.join("after-interrupt.json");
    let out = zkinfer(&["prove", s(&compiled), "--input", s(&model.join("input.json")), "-o", s(&proof)]);
    assert!(out.status.success(), "{}", stderr(&out));
    // A later compile clears what the interrupted one left beside the folder.
    assert!(compile(&dir, Some(&srs), &compiled, &[]).status.success());
    let leftovers =
        std::fs::read_dir(&tmp).unwrap().flatten().filter(|e| e.file_name().to_string_lossy().contains(".partial-"));
    assert_eq!(leftovers.count(), 0);
}

#[test]
fn compile_reports_the_integer_models_error_and_fails_over_the_tolerance() {
    let (dir, tmp) = (model_dir(), temp_dir("tolerance"));
    let strict = tmp.join("strict");
    let out = compile(&dir, None, &strict, &["--tolerance", "0.0001"]);
    assert!(!out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("over --tolerance 0.0001") && err.contains("precision is first lost at"), "{err}");
    assert!(!strict.exists());
    let loose = tmp.join("loose");
    let out = compile(&dir, None, &loose, &["--tolerance", "0.5"]);
    assert!(out.status.success() && stderr(&out).contains("worst error"), "{}", stderr(&out));
}

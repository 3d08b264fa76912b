//! Helpers the CLI tests share: running the binary, scratch folders, compiling a shipped model.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn zkinfer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkinfer")).args(args).output().expect("run zkinfer")
}

pub fn model_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../quant-models/models/digits-mlp")
}

pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("zkinfer-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A setup whose secret nobody kept: made here with fresh randomness and thrown away (a
/// one-party ceremony), written in halo2's params format for `compile --srs`.
pub fn fresh_srs(path: &Path, k: u32) {
    use halo2_proofs::halo2curves::bn256::Bn256;
    use halo2_proofs::poly::kzg::commitment::ParamsKZG;
    std::fs::write(path, zkinfer_prover::write_srs(&ParamsKZG::<Bn256>::setup(k, rand_core::OsRng))).unwrap();
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn compile(dir: &Path, srs: Option<&Path>, out: &Path, extra: &[&str]) -> Output {
    let (onnx, cal) = (dir.join("model.onnx"), dir.join("calibration.json"));
    let mut args = vec!["compile", s(&onnx), "--calibration", s(&cal), "-o", s(out)];
    if let Some(srs) = srs {
        args.extend(["--srs", s(srs)]);
    }
    args.extend(extra);
    zkinfer(&args)
}

/// A scratch folder with a fresh setup (`fresh.srs`) and the digits MLP compiled on it
/// (`compiled`): `(model folder, scratch folder, setup, compiled folder)`.
pub fn compiled_on_fresh_setup(name: &str) -> (PathBuf, PathBuf, PathBuf, PathBuf) {
    let (dir, tmp) = (model_dir(), temp_dir(name));
    let srs = tmp.join("fresh.srs");
    fresh_srs(&srs, 12);
    let compiled = tmp.join("compiled");
    let out = compile(&dir, Some(&srs), &compiled, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    (dir, tmp, srs, compiled)
}

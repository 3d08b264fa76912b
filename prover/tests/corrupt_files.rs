//! Every file a user or a provider hands zkinfer, damaged: refused with a reason or, when the
//! damage happens to leave a valid file, used without panicking. CI's share of the fuzzing: the
//! inputs that crashed a fuzz target (`fuzz/regressions/<target>/`) and a few hundred
//! deterministic random mutations (bit flips, truncations, overwritten runs) of real files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use zkinfer_circuits::planner::plan;
use zkinfer_prover::{circuit_k, insecure_test_srs, prove, setup, ProverKey, SmallScalarMsm};
use zkinfer_quant_models::compile::compile_onnx_file;
use zkinfer_quant_models::float_infer::run_float;
use zkinfer_quant_models::infer::run_float_inputs;
use zkinfer_quant_models::io::{parse_calibration, parse_input, read_calibration, read_input};
use zkinfer_quant_models::onnx::{import_onnx_bytes, SplitMix64};
use zkinfer_quant_models::{CompiledModel, QuantConfig};
use zkinfer_verifier::{ProofBundle, VerifierKey};

const MUTATIONS: usize = 300;

/// Deterministic draws: the mutations are the same on every run.
struct Rng(SplitMix64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        (self.0.next_u64() % n.max(1) as u64) as usize
    }
}

fn mutate(bytes: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut b = bytes.to_vec();
    match rng.below(4) {
        0 => {
            let at = rng.below(b.len());
            b[at] ^= 1 << rng.below(8);
        }
        1 => b.truncate(rng.below(b.len())),
        2 => {
            // A length or id field set to something large.
            let at = rng.below(b.len().saturating_sub(8));
            let end = (at + 8).min(b.len());
            b[at..end].copy_from_slice(&rng.0.next_u64().to_le_bytes()[..end - at]);
        }
        _ => {
            let at = rng.below(b.len());
            b[at] = b[at].wrapping_add(1 + rng.below(3) as u8);
        }
    }
    b
}

fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../quant-models/models").join(name)
}

/// The crash inputs a fuzz target found (kept after the fix), plus mutations of `original`.
fn cases(target: &str, original: &[u8], seed: u64) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions").join(target);
    let mut cases: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .map(|entries| entries.flatten().map(|e| std::fs::read(e.path()).unwrap()).collect())
        .unwrap_or_default();
    let mut rng = Rng(SplitMix64::new(seed));
    cases.extend((0..MUTATIONS).map(|_| mutate(original, &mut rng)));
    cases
}

/// Feeds every case to `parse`; returns how many were refused (at least one must be).
fn refused_count<T, E: std::fmt::Display>(cases: &[Vec<u8>], parse: impl Fn(&[u8]) -> Result<T, E>) -> usize {
    let refused = cases.iter().filter(|c| parse(c).map_err(|e| assert!(!e.to_string().is_empty())).is_err()).count();
    assert!(refused > 0);
    refused
}

#[test]
fn damaged_models_are_refused_or_run_but_never_panic() {
    for (model, seed) in [("digits-mlp", 1), ("digits-cnn", 2)] {
        let dir = shipped(model);
        let samples = read_calibration(&dir.join("calibration.json")).unwrap();
        let input = read_input(&dir.join("input.json")).unwrap().input_data;
        let onnx = std::fs::read(dir.join("model.onnx")).unwrap();
        refused_count(&cases("onnx_import", &onnx, seed), |b| import_onnx_bytes(b, "fuzz"));
        let zkq = compile_onnx_file(&dir.join("model.onnx"), &samples, QuantConfig::default()).unwrap();
        refused_count(&cases("zkq", &zkq.to_bytes().unwrap(), seed), |b| {
            CompiledModel::from_bytes(b).map(|m| {
                // Whatever it computes, it computes without panicking.
                let _ = run_float_inputs(&m.quant, &input);
                let _ = run_float(&m.float, &input);
            })
        });
    }
}

#[test]
fn damaged_inputs_and_calibration_sets_are_refused_or_read_but_never_panic() {
    let dir = shipped("digits-mlp");
    let input = std::fs::read(dir.join("input.json")).unwrap();
    refused_count(&cases("input_json", &input, 3), |b| parse_input(b, "fuzz"));
    let test_set = std::fs::read(dir.join("test.json")).unwrap();
    refused_count(&cases("input_json", &test_set, 4), |b| parse_calibration(b, "fuzz"));
}

#[test]
fn damaged_keys_and_bundles_are_refused_or_read_but_never_panic() {
    let dir = shipped("digits-mlp");
    let samples = read_calibration(&dir.join("calibration.json")).unwrap();
    let model = Arc::new(compile_onnx_file(&dir.join("model.onnx"), &samples, QuantConfig::default()).unwrap().quant);
    let layout = plan(&model, true).unwrap().0;
    let k = circuit_k(model.clone(), layout).unwrap();
    let (key, params) = setup(&insecure_test_srs(k), SmallScalarMsm::default(), model.clone(), layout).unwrap();
    let trace = Arc::new(run_float_inputs(&model, &read_input(&dir.join("input.json")).unwrap().input_data).unwrap());
    let bundle = prove(&params, &key, model, trace, ChaCha20Rng::seed_from_u64(1)).unwrap().0;

    refused_count(&cases("verifier_key", &key.verifier.to_bytes(), 5), VerifierKey::from_bytes);
    refused_count(&cases("bundle", bundle.to_json().as_bytes(), 6), ProofBundle::from_bytes);
    refused_count(&cases("bundle", &bundle.to_binary(), 7), ProofBundle::from_bytes);
    // The proving key is checksummed: every change is refused.
    let pk = key.to_bytes();
    let pk_cases = cases("prover_key", &pk, 8);
    let changed = pk_cases.iter().filter(|c| c[..] != pk[..]).count();
    assert_eq!(refused_count(&pk_cases, ProverKey::from_bytes), changed);
}

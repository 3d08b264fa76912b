//! A damaged `.zkq` is refused with a reason or, when the damage happens to leave a valid model,
//! runs to a result: never a panic. Deterministic random mutations (byte flips, truncations,
//! overwritten runs) of the shipped models, as CI's share of the fuzzing.

use std::path::Path;

use zkinfer_quant_models::compile::compile_onnx_file;
use zkinfer_quant_models::float_infer::run_float;
use zkinfer_quant_models::infer::run_float_inputs;
use zkinfer_quant_models::io::{read_calibration, read_input};
use zkinfer_quant_models::onnx::SplitMix64;
use zkinfer_quant_models::{CompiledModel, QuantConfig};

/// Deterministic draws: the mutations are the same on every run.
struct Rng(SplitMix64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
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
            let at = rng.below(b.len() - 8);
            b[at..at + 8].copy_from_slice(&rng.next().to_le_bytes());
        }
        _ => {
            let at = rng.below(b.len());
            b[at] = b[at].wrapping_add(1 + rng.below(3) as u8);
        }
    }
    b
}

#[test]
fn mutated_zkq_files_are_refused_or_run_but_never_panic() {
    for (model, seed) in [("digits-mlp", 1), ("digits-cnn", 2)] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models").join(model);
        let samples = read_calibration(&dir.join("calibration.json")).unwrap();
        let input = read_input(&dir.join("input.json")).unwrap().input_data;
        let bytes =
            compile_onnx_file(&dir.join("model.onnx"), &samples, QuantConfig::default()).unwrap().to_bytes().unwrap();
        let mut rng = Rng(SplitMix64::new(seed));
        let (mut refused, mut ran) = (0, 0);
        for _ in 0..300 {
            match CompiledModel::from_bytes(&mutate(&bytes, &mut rng)) {
                Err(e) => {
                    assert!(!e.to_string().is_empty());
                    refused += 1;
                }
                Ok(m) => {
                    // Whatever it computes, it computes without panicking.
                    let _ = run_float_inputs(&m.quant, &input);
                    let _ = run_float(&m.float, &input);
                    ran += 1;
                }
            }
        }
        println!("{model}: {refused} refused, {ran} still valid and ran");
        assert!(refused > 0);
    }
}

//! Why `verify` refuses the test setup: whoever knows a setup's secret `τ` can make the real
//! verifier accept any output. This file holds such a forger (test-only, never in the library).
//!
//! The SHPLONK verifier ends with one pairing equation, `e(W', [τ]₂) = e(R + u·W', [1]₂)`, where
//! `W'` is the proof's last point and `R` depends only on what came before it. Reusing an honest
//! proof's points for a claimed output the model never gave, the forger runs the stock verifier
//! up to that equation to learn `R` and `u`, then sets `W' = R / (τ − u)`.

use std::path::Path;
use std::sync::Arc;

use halo2_proofs::halo2curves::bn256::{Bn256, Fq, Fr, G1Affine, G1};
use halo2_proofs::halo2curves::ff::{Field, PrimeField};
use halo2_proofs::halo2curves::group::{Curve, GroupEncoding};
use halo2_proofs::plonk::verify_proof;
use halo2_proofs::poly::kzg::commitment::KZGCommitmentScheme;
use halo2_proofs::poly::kzg::multiopen::VerifierSHPLONK;
use halo2_proofs::poly::kzg::strategy::AccumulatorStrategy;
use halo2_proofs::transcript::{Blake2bRead, Challenge255, TranscriptReadBuffer};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use zkinfer_circuits::planner::plan;
use zkinfer_prover::{circuit_k, insecure_test_srs, prove, setup, INSECURE_SRS_SEED};
use zkinfer_quant_models::compile::compile_onnx_file;
use zkinfer_quant_models::infer::run_float_inputs;
use zkinfer_quant_models::io::{read_calibration, read_input};
use zkinfer_quant_models::QuantConfig;
use zkinfer_verifier::{verify, verify_with, Policy, ProofBundle, Rejection, TensorValues, VerifierKey};

fn fe(v: i64) -> Fr {
    if v < 0 {
        -Fr::from(v.unsigned_abs())
    } else {
        Fr::from(v as u64)
    }
}

/// The public values in the order the verifier lays them out: inputs, then outputs.
fn instance(bundle: &ProofBundle) -> Vec<Fr> {
    let tensors = bundle.inputs.iter().flatten().chain(&bundle.outputs);
    tensors.flat_map(|t: &TensorValues| t.values.iter().map(|&v| fe(v))).collect()
}

/// Field elements and G1 points as halo2curves' `Debug` prints them (`0x…`, big-endian).
fn parse_hex<F: PrimeField<Repr = [u8; 32]>>(hex: &str) -> F {
    let mut repr = [0u8; 32];
    for (i, byte) in repr.iter_mut().enumerate() {
        let at = hex.len() - 2 * (i + 1);
        *byte = u8::from_str_radix(&hex[at..at + 2], 16).unwrap();
    }
    F::from_repr(repr).unwrap()
}

fn hex_values(text: &str) -> Vec<&str> {
    text.split("0x").skip(1).map(|s| &s[..64]).collect()
}

/// `R` and `u` of the final pairing equation, read from the stock verifier's accumulator (its
/// fields are private; its `Debug` output is not): the right-hand MSM is `R + u·W'`, `u·W'` its
/// last term.
fn pairing_terms(key: &VerifierKey, instance: &[Fr], proof: &[u8]) -> (G1, Fr) {
    let params = key.srs.params(key.spec.k).unwrap();
    let mut transcript = Blake2bRead::<_, G1Affine, Challenge255<_>>::init(proof);
    let strategy = verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, _>(
        &params,
        &key.vk,
        AccumulatorStrategy::new(&params),
        &[&[instance]],
        &mut transcript,
    )
    .expect("the proof parses");
    let debug = format!("{strategy:?}");
    let right = &debug[debug.find("right: MSMKZG").unwrap()..];
    let (scalars, bases) = right.split_at(right.find("bases").unwrap());
    let scalars: Vec<Fr> = hex_values(scalars).into_iter().map(parse_hex).collect();
    let coords: Vec<Fq> = hex_values(bases).into_iter().map(parse_hex).collect();
    let bases: Vec<G1> = coords.chunks_exact(3).map(|c| G1 { x: c[0], y: c[1], z: c[2] }).collect();
    assert_eq!(scalars.len(), bases.len());
    let last = scalars.len() - 1;
    let r = scalars[..last].iter().zip(&bases[..last]).fold(G1::default(), |acc, (s, b)| acc + b * s);
    (r, scalars[last])
}

/// A proof, for `claimed`, made from an honest proof of another output and the setup's `τ`.
fn forge(key: &VerifierKey, honest: &ProofBundle, claimed: &ProofBundle, tau: Fr) -> Vec<u8> {
    let (r, u) = pairing_terms(key, &instance(claimed), &honest.proof);
    let w = (r * (tau - u).invert().unwrap()).to_affine();
    let mut proof = honest.proof.clone();
    let at = proof.len() - 32;
    proof[at..].copy_from_slice(w.to_bytes().as_ref());
    proof
}

#[test]
fn with_the_test_setups_public_secret_anyone_forges_any_output_so_verify_refuses_that_setup() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../quant-models/models/digits-mlp");
    let samples = read_calibration(&dir.join("calibration.json")).unwrap();
    let model = Arc::new(compile_onnx_file(&dir.join("model.onnx"), &samples, QuantConfig::default()).unwrap().quant);
    let input = read_input(&dir.join("input.json")).unwrap().input_data;
    let layout = plan(&model, true).unwrap().0;
    let k = circuit_k(model.clone(), layout).unwrap();
    let srs = insecure_test_srs(k);
    // The secret is the first draw from the public seed.
    let tau = Fr::random(ChaCha20Rng::seed_from_u64(INSECURE_SRS_SEED));
    assert_eq!(srs.s_g2(), (srs.g2() * tau).to_affine());
    let (key, params) = setup(&srs, zkinfer_prover::SmallScalarMsm::default(), model.clone(), layout).unwrap();
    let trace = Arc::new(run_float_inputs(&model, &input).unwrap());
    let honest = prove(&params, &key, model.clone(), trace, ChaCha20Rng::seed_from_u64(1)).unwrap().0;
    let id = key.verifier.model_id();

    // The output the reviewer forged: every class at −32 but one at the top of the range.
    let mut claimed = honest.clone();
    let out = &mut claimed.outputs[0];
    let lo = -(1i64 << (key.verifier.spec.outputs[0].bits - 1));
    out.values.iter_mut().for_each(|v| *v = lo);
    out.values[7] = -lo - 1;
    out.floats = out.values.iter().map(|&v| v as f64 * out.scale).collect();
    assert_ne!(claimed.outputs, honest.outputs);
    let unforged = verify_with(&claimed, &key.verifier, &id, Policy { allow_insecure_srs: true });
    assert!(matches!(unforged, Err(Rejection::ProofInvalid(_))), "{unforged:?}");

    claimed.proof = forge(&key.verifier, &honest, &claimed, tau);
    let accepted = verify_with(&claimed, &key.verifier, &id, Policy { allow_insecure_srs: true })
        .expect("the stock verifier accepts the forgery under the test setup");
    assert_eq!(accepted.outputs, claimed.outputs);
    // The default check refuses the setup itself, whatever the proof.
    assert_eq!(verify(&claimed, &key.verifier, &id), Err(Rejection::InsecureSetup));

    // Under a setup whose secret nobody kept, the same forger (guessing the test τ) fails.
    let fresh = halo2_proofs::poly::kzg::commitment::ParamsKZG::<Bn256>::setup(k, rand_core::OsRng);
    let (key, params) = setup(&fresh, zkinfer_prover::SmallScalarMsm::default(), model.clone(), layout).unwrap();
    let trace = Arc::new(run_float_inputs(&model, &input).unwrap());
    let honest = prove(&params, &key, model, trace, ChaCha20Rng::seed_from_u64(1)).unwrap().0;
    let mut claimed_fresh = claimed.clone();
    claimed_fresh.model_id = honest.model_id.clone();
    claimed_fresh.proof = forge(&key.verifier, &honest, &claimed_fresh, tau);
    let refused = verify(&claimed_fresh, &key.verifier, &key.verifier.model_id());
    assert!(matches!(refused, Err(Rejection::ProofInvalid(_))), "{refused:?}");
}

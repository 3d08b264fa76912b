//! `zkinfer demo`: the whole flow on the shipped digits CNN and a shipped test image — compile,
//! prove, verify, and a tampered result rejected — with a line per step and its time.

use zkinfer_circuits::planner::Objective;
use zkinfer_prover::ProveOptions;
use zkinfer_quant_models::QuantConfig;
use zkinfer_verifier::{verify_with, Policy, ProofBundle, VerifierKey};

use zkinfer_pipeline::{compile, prove_input, Loaded, Source, Target};

use crate::progress::{step, Terminal};
use crate::shipped::example;

fn argmax(v: &[f64]) -> usize {
    v.iter().enumerate().fold(0, |best, (i, x)| if *x > v[best] { i } else { best })
}

pub fn run() -> anyhow::Result<()> {
    println!("zkinfer demo: digits CNN (conv 3x3x8 -> ReLU -> avgpool 2x2 -> dense 10)");
    println!("The demo uses zkinfer's INSECURE test setup (its secret is public, so anyone could forge");
    println!("these proofs) and verifies with --allow-insecure-srs; real models use `compile --srs`.\n");
    let policy = Policy { allow_insecure_srs: true };
    let ex = example("digits-cnn")?;
    // Model owner: compile once.
    let terminal = Terminal::default();
    let target =
        Target { config: QuantConfig::default(), public_input: true, objective: Objective::ProveTime, srs: None };
    let artifacts = compile(Source { onnx: &ex.onnx, name: &ex.name, batch: 1 }, &ex.calibration, target, &terminal)?;
    let vk_bytes = artifacts.key.verifier.to_bytes();
    let model_id = artifacts.key.verifier.model_id();
    let loaded = Loaded { compiled: artifacts.compiled, key: artifacts.key, params: artifacts.params };
    // Provider: infer and prove.
    let ((bundle, _), _) = step("provider: integer inference + proof", || {
        Ok(prove_input(&loaded, &ex.input, ProveOptions::default(), &terminal)?)
    })?;
    let json = bundle.to_json();
    // Buyer: verify with the vk and the published id only.
    let (verified, _) = step("buyer: verify the bundle", || {
        let key = VerifierKey::from_bytes(&vk_bytes)?;
        Ok(verify_with(&ProofBundle::from_bytes(json.as_bytes())?, &key, &model_id, policy)?)
    })?;
    let mut forged = bundle.clone();
    let claimed = (argmax(&forged.outputs[0].floats) + 1) % 10;
    let top = forged.outputs[0].values.iter().max().copied().unwrap_or(0);
    forged.outputs[0].values[claimed] = top + 1;
    forged.outputs[0].floats[claimed] = (top + 1) as f64 * forged.outputs[0].scale;
    let (rejection, _) = step(&format!("buyer: a forged answer ({claimed}) is rejected"), || {
        let key = VerifierKey::from_bytes(&vk_bytes)?;
        verify_with(&forged, &key, &model_id, policy).err().ok_or_else(|| anyhow::anyhow!("forged bundle accepted"))
    })?;
    let logits = &verified.outputs[0].floats;
    println!("\nmodel id         {model_id}");
    println!("predicted digit  {} (proven)", argmax(logits));
    println!("proof            {} B (JSON bundle {} B)", bundle.proof.len(), json.len());
    println!("forged answer    {rejection}");
    println!("setup            {}", verified.setup);
    Ok(())
}

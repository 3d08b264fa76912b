//! `zkinfer verify`: the buyer's check. The first line of stdout says whether the result was
//! accepted and why; the exit code names the rejection class (see [`Rejection::exit_code`]).

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use serde_json::json;
use zkinfer_quant_models::io::read_input;
use zkinfer_verifier::{
    check_input, verify_with, ModelId, Policy, ProofBundle, Rejection, Setup, VerifiedOutput, VerifierKey,
};

use zkinfer_pipeline::{read, ModelCard};

/// What the buyer asked `verify` to check.
pub struct VerifyArgs<'a> {
    pub proof: &'a Path,
    pub vk: &'a Path,
    pub model_id: Option<&'a str>,
    pub card: Option<&'a Path>,
    /// The buyer's own input, to compare with the proven one.
    pub input: Option<&'a Path>,
    pub policy: Policy,
    pub json: bool,
}

pub fn run(args: VerifyArgs<'_>) -> anyhow::Result<ExitCode> {
    let expected: ModelId = match (args.model_id, args.card) {
        (Some(id), _) => id.parse().map_err(anyhow::Error::msg)?,
        (None, Some(card)) => {
            let card: ModelCard = serde_json::from_slice(&read(card)?)
                .with_context(|| format!("{} is not a model card", card.display()))?;
            card.model_id.parse().map_err(anyhow::Error::msg)?
        }
        (None, None) => anyhow::bail!("say which model you expect: --model-id ID or --model-card FILE"),
    };
    let sent = match args.input {
        Some(path) => Some(read_input(path)?.input_data),
        None => None,
    };
    let (key_bytes, bundle_bytes) = (read(args.vk)?, read(args.proof)?);
    let start = Instant::now();
    let outcome = check(&key_bytes, &bundle_bytes, &expected, args.policy, sent.as_deref());
    let ms = start.elapsed().as_secs_f64() * 1e3;
    match &outcome {
        Ok(v) if args.json => println!(
            "{}",
            json!({ "accepted": true, "model_id": v.model_id.to_string(),
            "setup": v.setup.to_string(), "outputs": v.outputs, "clamped": v.clamped, "input_checked": sent.is_some(),
            "verify_ms": ms })
        ),
        Ok(v) => print_accepted(v, sent.is_some(), ms),
        Err(r) if args.json => println!(
            "{}",
            json!({ "accepted": false, "class": r.class(), "reason": r.to_string(),
            "exit_code": r.exit_code() })
        ),
        Err(r) => println!("rejected: {r}"),
    }
    Ok(outcome.map_or_else(|r| ExitCode::from(r.exit_code()), |_| ExitCode::SUCCESS))
}

fn check(
    key: &[u8],
    bundle: &[u8],
    expected: &ModelId,
    policy: Policy,
    sent: Option<&[Vec<f64>]>,
) -> Result<VerifiedOutput, Rejection> {
    let key = VerifierKey::from_bytes(key)?;
    let verified = verify_with(&ProofBundle::from_bytes(bundle)?, &key, expected, policy)?;
    if let Some(sent) = sent {
        check_input(&verified, &key, sent)?;
    }
    Ok(verified)
}

fn print_accepted(v: &VerifiedOutput, input_checked: bool, ms: f64) {
    let input = if input_checked { ", the proven input is yours" } else { "" };
    println!("accepted: model {}{input} ({ms:.1} ms)", v.model_id);
    match &v.setup {
        Setup::Ceremony(c) => println!("setup: {}, 2^{}", c.name, v.k),
        other => println!("setup: {other}"),
    }
    for c in &v.clamped {
        println!(
            "note: the result involved clamping: {} of {} values of `{}` were clamped into range before proving",
            c.clamped, c.total, c.tensor
        );
    }
    for t in &v.outputs {
        println!("output {} {:?}: {:?}", t.name, t.shape, t.floats);
    }
}

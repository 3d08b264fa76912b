//! `zkinfer verify`: the buyer's check; exit 0 with the output, or non-zero with the reason.

use std::path::Path;

use anyhow::Context;
use zkinfer_verifier::{verify, ModelId, ProofBundle, VerifierKey};

use crate::model_dir::{read, ModelCard};

pub fn run(proof: &Path, vk: &Path, model_id: Option<&str>, card: Option<&Path>) -> anyhow::Result<()> {
    let expected: ModelId = match (model_id, card) {
        (Some(id), _) => id.parse().map_err(anyhow::Error::msg)?,
        (None, Some(card)) => {
            let card: ModelCard = serde_json::from_slice(&read(card)?)
                .with_context(|| format!("{} is not a model card", card.display()))?;
            card.model_id.parse().map_err(anyhow::Error::msg)?
        }
        (None, None) => anyhow::bail!("say which model you expect: --model-id ID or --model-card FILE"),
    };
    let key = VerifierKey::from_bytes(&read(vk)?).context("rejected")?;
    let bundle = ProofBundle::from_bytes(&read(proof)?).context("rejected")?;
    let start = std::time::Instant::now();
    let verified = verify(&bundle, &key, &expected).context("rejected")?;
    println!("accepted: model {} ({:.1} ms)", verified.model_id, start.elapsed().as_secs_f64() * 1e3);
    for t in &verified.outputs {
        println!("output {} {:?}: {:?}", t.name, t.shape, t.floats);
    }
    Ok(())
}

//! `zkinfer request`: the buyer's side. Submits an input to a node, follows the job, then
//! verifies the bundle locally against the pinned model id, under the buyer's setup policy,
//! and checks that it proves the input sent. Exits non-zero with the reason on any mismatch.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use serde_json::json;
use zkinfer_client::api::JobState;
use zkinfer_client::{check, Client};
use zkinfer_pipeline::{read, ModelCard};
use zkinfer_quant_models::io::read_input;
use zkinfer_verifier::{ModelId, Policy};

/// What the buyer asks for.
pub struct RequestArgs<'a> {
    pub node: &'a str,
    pub token: Option<String>,
    pub model_id: Option<&'a str>,
    pub card: Option<&'a std::path::Path>,
    pub input: &'a std::path::Path,
    pub policy: Policy,
    pub idempotency_key: Option<&'a str>,
    pub timeout: Duration,
    pub json: bool,
}

pub fn run(args: RequestArgs) -> anyhow::Result<ExitCode> {
    let pinned: ModelId = match (args.model_id, args.card) {
        (Some(id), _) => id.parse().map_err(anyhow::Error::msg)?,
        (None, Some(card)) => {
            let card: ModelCard = serde_json::from_slice(&read(card)?)
                .with_context(|| format!("{} is not a model card", card.display()))?;
            card.model_id.parse().map_err(anyhow::Error::msg)?
        }
        (None, None) => anyhow::bail!("say which model you pay for: --model-id ID or --model-card FILE"),
    };
    let sent = read_input(args.input)?.input_data;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let client = Client::new(args.node, args.token);
        // The key comes from the node, but only a key that hashes to the pinned id is used.
        let key = client.verifier_key(&pinned).await?;
        let submitted = client.submit(&pinned.to_string(), &sent, args.idempotency_key).await?;
        eprintln!("job {} {}", submitted.id, submitted.state.as_str());
        let view = client
            .wait(&submitted.id, Duration::from_millis(200), args.timeout, |v| {
                eprintln!("job {} {} (attempt {})", v.id, v.state.as_str(), v.attempts)
            })
            .await?;
        if view.state != JobState::Done {
            let why = view.error.unwrap_or_else(|| view.state.as_str().to_string());
            anyhow::bail!("job {} ended {}: {why}", view.id, view.state.as_str());
        }
        let bundle = view.bundle.context("the node reported the job done without a bundle")?;
        match check(&bundle, &key, &pinned, args.policy, &sent) {
            Ok(verified) => {
                if args.json {
                    println!(
                        "{}",
                        json!({ "accepted": true, "job": view.id, "model_id": pinned.to_string(),
                        "outputs": verified.outputs, "report": view.report, "bundle": bundle })
                    );
                } else {
                    println!("accepted: model {pinned}, the proven input is yours");
                    println!("setup: {}", verified.setup);
                    for t in &verified.outputs {
                        println!("output {} {:?}: {:?}", t.name, t.shape, t.floats);
                    }
                    if let Some(r) = &view.report {
                        println!(
                            "report: queued {:.0} ms, proved {:.0} ms ({:.0}x plain inference), proof {} B",
                            r.queue_ms, r.prove_ms, r.overhead, r.proof_bytes
                        );
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(r) => {
                if args.json {
                    println!("{}", json!({ "accepted": false, "class": r.class(), "reason": r.to_string() }));
                } else {
                    println!("rejected: {r}");
                }
                Ok(ExitCode::from(r.exit_code()))
            }
        }
    })
}

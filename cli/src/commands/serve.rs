//! `zkinfer serve`: the provider node over compiled folders (and shipped examples compiled at
//! start), until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use zkinfer_circuits::planner::Objective;
use zkinfer_node::{serve, Models, NodeConfig, Served};
use zkinfer_pipeline::{compile, Loaded, Source, Target};
use zkinfer_prover::Device;
use zkinfer_quant_models::QuantConfig;

use crate::progress::{step, Terminal};
use crate::shipped::example;

/// What to serve and how.
pub struct ServeArgs {
    pub dirs: Vec<PathBuf>,
    pub examples: Vec<String>,
    pub listen: SocketAddr,
    pub config: NodeConfig,
    pub device: Device,
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let terminal = Terminal::default();
    let mut served = Vec::new();
    for dir in &args.dirs {
        let (model, _) = step(&format!("load {}", dir.display()), || Ok(Served::open(dir, args.device, &terminal)?))?;
        served.push(model);
    }
    for name in &args.examples {
        let ex = example(name)?;
        let target =
            Target { config: QuantConfig::default(), public_input: true, objective: Objective::ProveTime, srs: None };
        let art = compile(Source { onnx: &ex.onnx, name: &ex.name, batch: 1 }, &ex.calibration, target, &terminal)?;
        let vk = art.key.verifier.to_bytes();
        served.push(Served {
            card: art.card,
            vk,
            loaded: Loaded { compiled: art.compiled, key: art.key, params: art.params },
        });
    }
    anyhow::ensure!(!served.is_empty(), "nothing to serve: name compiled folders or --example NAME");
    for s in &served {
        eprintln!("serving {} as model id {}", s.card.model, s.card.model_id);
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        eprintln!("listening on http://{}", listener.local_addr()?);
        serve(listener, args.config, Models::new(served), stop_signal()).await?;
        Ok(())
    })
}

/// Ctrl-C or SIGTERM.
async fn stop_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// Seconds as a duration (for the flags).
pub fn seconds(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.001))
}

//! `zkinfer`: every user-facing command of the verifiable-inference toolchain.

mod commands;
mod progress;
mod shipped;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use zkinfer_quant_models::onnx::SynthSpec;

/// Verifiable inference: quantize a model, run it exactly in integers, prove and verify it.
#[derive(Parser)]
#[command(name = "zkinfer", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show an ONNX model's ops, parameters, MACs, nonlinear elements and unsupported ops.
    Inspect {
        model: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Calibrate and quantize an ONNX model into a `.zkq` file.
    Quantize {
        model: PathBuf,
        /// Calibration inputs: a JSON list of input objects, a labelled set, or an `.npy` array.
        #[arg(long)]
        calibration: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
        #[command(flatten)]
        bits: commands::BitArgs,
    },
    /// Run the exact integer inference on one input and compare with float.
    Run {
        model: PathBuf,
        /// Input JSON: {"input_data": [[flat floats per model input]]}.
        #[arg(long)]
        input: PathBuf,
        /// Print {"outputs": [[floats]], "shapes": [[dims]]}.
        #[arg(long)]
        json: bool,
    },
    /// Quantize, plan the circuit and generate keys: writes DIR/{model.zkq, pk, vk, srs.params, model-card.json}.
    Compile {
        model: PathBuf,
        /// Calibration inputs: a JSON list of input objects, a labelled set, or an `.npy` array.
        #[arg(long)]
        calibration: PathBuf,
        /// A published universal setup: a snarkjs `.ptau` or halo2 KZG params (checked with
        /// pairings, downsized as needed). Without it an INSECURE test SRS is used.
        #[arg(long)]
        srs: Option<PathBuf>,
        /// Keep the input out of the proof's public values: the buyer sees only the output.
        #[arg(long)]
        private_input: bool,
        #[command(flatten)]
        bits: commands::BitArgs,
        /// Layout profile: `prove` (fastest proof) or `proof` (proofs of at most 3,072 B, for
        /// on-chain and browser buyers; the fastest such layout).
        #[arg(long, value_enum, default_value_t = OptimizeArg::Prove)]
        optimize: OptimizeArg,
        /// Fail (writing nothing) when an output of the integer model is further than
        /// TOLERANCE·max(1, max|y|) from the float model on the calibration set; the error names
        /// the tensor where precision is lost and the flag that adds it.
        #[arg(long)]
        tolerance: Option<f64>,
        /// Samples per proof: the input's symbolic batch axis is set to N, and `prove` then
        /// takes N samples' values back to back. The calibration file stays one sample per entry.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
        batch: u16,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Run the integer inference on one input and prove it; writes a proof bundle.
    Prove {
        /// A folder written by `compile`.
        dir: PathBuf,
        /// Input JSON: {"input_data": [[flat floats per model input]]}.
        #[arg(long)]
        input: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
        /// Write the compact binary bundle instead of JSON.
        #[arg(long)]
        binary: bool,
        /// Where the MSMs run: a CUDA GPU, the CPU, or the GPU when one is found.
        #[arg(long, value_enum, default_value_t = DeviceArg::Auto)]
        device: DeviceArg,
        /// Prove even if the input had to be clamped into its range; the bundle then says so
        /// (and `verify` prints it). Saturated intermediate values cannot be proven at all.
        #[arg(long)]
        allow_saturation: bool,
        /// Skip verifying the proof before writing it (saves one verification: 3–20 % of the
        /// prove time of the shipped models).
        #[arg(long)]
        no_self_check: bool,
    },
    /// Check a proof bundle: exit 0 and print the output, or non-zero and the reason.
    Verify {
        /// The proof bundle (JSON or binary).
        proof: PathBuf,
        /// The model's verifier key (DIR/vk).
        #[arg(long)]
        vk: PathBuf,
        /// The model id you expect (hex).
        #[arg(long, conflicts_with = "model_card")]
        model_id: Option<String>,
        /// Take the expected model id from a model card.
        #[arg(long)]
        model_card: Option<PathBuf>,
        /// Your input ({"input_data": ...}): reject unless the proof is of exactly this input.
        #[arg(long)]
        input: Option<PathBuf>,
        /// Accept a model compiled with zkinfer's public test SRS (anyone can forge its
        /// proofs): for tests only.
        #[arg(long)]
        allow_insecure_srs: bool,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Setups in halo2's KZG params format for `compile --srs`: import a published ceremony, or
    /// write the insecure test setup.
    Srs {
        #[command(subcommand)]
        action: SrsAction,
    },
    /// Setup, prove and verify cost (median of --repeat proofs), proof and key sizes and peak
    /// memory of the shipped models and an MLP 64-1024-1024-10, each in its own process.
    Bench {
        /// Models to run (default: all of digits-mlp, digits-cnn, fashion-cnn, mlp-64-1024-1024-10).
        #[arg(long = "model")]
        models: Vec<String>,
        #[arg(long, default_value_t = 3)]
        repeat: usize,
        /// Also write the rows as JSON.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Layout profile (see `compile --optimize`).
        #[arg(long, value_enum, default_value_t = OptimizeArg::Prove)]
        optimize: OptimizeArg,
        /// Also prove N samples at once per model, and set that against N single proofs.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
        batch: u16,
        /// Measure this one model in this process (used by the parent run).
        #[arg(long, hide = true)]
        only: Option<String>,
        /// Instead, prove each --model with the planner's N cheapest layouts and print each one's
        /// modelled cost beside its measured prove time (to check the cost model).
        #[arg(long, value_name = "N")]
        layouts: Option<usize>,
    },
    /// Proving cost against model size: proves each size of a synthetic family and writes
    /// DIR/study.csv and log-log plots (time.svg, memory.svg) with fitted slopes.
    Study {
        #[arg(long, value_enum)]
        family: FamilyArg,
        /// Sizes: the hidden width H of 64-H-H-10 MLPs, or the channels C of a 16x16 CNN with
        /// two conv+pool blocks of C channels.
        #[arg(long, value_delimiter = ',', required = true)]
        sizes: Vec<usize>,
        /// Proofs per size (the median is reported).
        #[arg(long, default_value_t = 1)]
        repeat: usize,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// The whole flow on the shipped digits CNN (compile, prove, verify, a forgery rejected),
    /// with the time of each step.
    Demo,
    /// Write a synthetic model (random weights, fixed seed) with sample, calibration and test inputs.
    Synth {
        #[command(subcommand)]
        family: SynthFamily,
        /// Seed of the weights and inputs.
        #[arg(long, default_value_t = 1, global = true)]
        seed: u64,
        /// Output folder.
        #[arg(short, long, global = true, default_value = "synthetic")]
        output: PathBuf,
    },
    /// Run a provider node: an HTTP service that queues jobs in SQLite or PostgreSQL and
    /// returns every result with its proof.
    Serve {
        /// Compiled model folders to serve.
        dirs: Vec<PathBuf>,
        /// Also serve a shipped model, compiled at start with the INSECURE test setup (demos).
        #[arg(long = "example")]
        examples: Vec<String>,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// The job database: sqlite://FILE (created if missing) or postgres://USER@HOST/DB.
        #[arg(long, default_value = "sqlite://zkinfer-node.db")]
        db: String,
        /// Proving workers (each proof already uses every core).
        #[arg(long, default_value_t = 1)]
        workers: usize,
        /// Seconds a claimed job stays a worker's without renewal (after a crash, it is proven
        /// again by any node once this has passed).
        #[arg(long, default_value_t = 30.0)]
        lease_secs: f64,
        /// Accept requests without a bearer token (a node on a private network).
        #[arg(long)]
        open: bool,
        /// Largest request body in bytes.
        #[arg(long, default_value_t = 4 << 20)]
        max_body: usize,
        /// Seconds allowed for a request body to arrive.
        #[arg(long, default_value_t = 10.0)]
        body_timeout_secs: f64,
        /// Seconds a stop waits for running proofs before putting them back in the queue.
        #[arg(long, default_value_t = 30.0)]
        grace_secs: f64,
        #[arg(long, value_enum, default_value_t = DeviceArg::Auto)]
        device: DeviceArg,
    },
    /// Buyers' bearer tokens of a node (stored hashed in its database).
    Token {
        #[command(subcommand)]
        action: TokenAction,
        #[arg(long, global = true, default_value = "sqlite://zkinfer-node.db")]
        db: String,
    },
    /// Buy one proven inference: submit an input to a node, wait, and verify the result
    /// locally against the model id you pin. Exits non-zero with the reason on any mismatch.
    Request {
        /// The node, e.g. http://127.0.0.1:8080.
        #[arg(long)]
        node: String,
        /// The model id you pay for (hex).
        #[arg(long, conflicts_with = "model_card")]
        model_id: Option<String>,
        /// Take the model id from a model card you trust.
        #[arg(long)]
        model_card: Option<PathBuf>,
        /// Your input ({"input_data": ...}).
        #[arg(long)]
        input: PathBuf,
        /// Bearer token (or the ZKINFER_TOKEN environment variable).
        #[arg(long, env = "ZKINFER_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// A key that makes a retried submission return the first job instead of a new one.
        #[arg(long)]
        idempotency_key: Option<String>,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 600.0)]
        timeout_secs: f64,
        /// Accept a model compiled with zkinfer's public test SRS (anyone can forge its
        /// proofs): for tests and demos only.
        #[arg(long)]
        allow_insecure_srs: bool,
        #[arg(long)]
        json: bool,
    },
    /// Float vs quantized accuracy over a labelled set.
    Accuracy {
        model: PathBuf,
        /// Labelled set: {"samples": [[flat floats]], "labels": [ints]}.
        #[arg(long)]
        dataset: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

/// `--optimize` values.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum OptimizeArg {
    Prove,
    Proof,
}

impl From<OptimizeArg> for zkinfer_circuits::planner::Objective {
    fn from(o: OptimizeArg) -> Self {
        match o {
            OptimizeArg::Prove => Self::ProveTime,
            OptimizeArg::Proof => Self::ProofSize,
        }
    }
}

/// `study --family` values.
#[derive(Clone, Copy, clap::ValueEnum)]
enum FamilyArg {
    Mlp,
    Cnn,
}

/// `--device` values.
#[derive(Clone, Copy, clap::ValueEnum)]
enum DeviceArg {
    Cuda,
    Cpu,
    Auto,
}

impl From<DeviceArg> for zkinfer_prover::Device {
    fn from(d: DeviceArg) -> Self {
        match d {
            DeviceArg::Cuda => Self::Cuda,
            DeviceArg::Cpu => Self::Cpu,
            DeviceArg::Auto => Self::Auto,
        }
    }
}

#[derive(Subcommand)]
enum TokenAction {
    /// Create a token and print its secret (once).
    Add {
        name: String,
        /// Submissions allowed per minute.
        #[arg(long, default_value_t = 600)]
        per_minute: u32,
        /// Jobs queued or running at once.
        #[arg(long, default_value_t = 16)]
        concurrent: u32,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by id.
    Revoke { id: String },
}

#[derive(Subcommand)]
enum SrsAction {
    /// Check a published setup (snarkjs `.ptau`, e.g. powersOfTau28_hez_final_XX.ptau, or halo2
    /// KZG params) with pairings and write its first 2^k points.
    Import {
        file: PathBuf,
        /// log2 of the number of points to keep (the largest circuit it will serve).
        #[arg(long)]
        k: u32,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Write zkinfer's test setup. Its secret derives from a public seed: anyone can forge
    /// proofs with it, and `verify` refuses them without --allow-insecure-srs.
    InsecureTest {
        /// log2 of the number of points.
        #[arg(long)]
        k: u32,
        #[arg(short, long)]
        output: PathBuf,
    },
}

#[derive(Subcommand)]
enum SynthFamily {
    /// inputs -> hidden (x depth, ReLU) -> classes.
    Mlp {
        #[arg(long, default_value_t = 64)]
        inputs: usize,
        #[arg(long)]
        hidden: usize,
        #[arg(long, default_value_t = 2)]
        depth: usize,
        #[arg(long, default_value_t = 10)]
        classes: usize,
    },
    /// [conv 3x3 -> ReLU -> maxpool 2x2] per channel step -> dense.
    Cnn {
        /// Input height and width.
        #[arg(long, default_value_t = 28)]
        size: usize,
        /// Channels: input channels first, then one entry per block, e.g. 1,8,16.
        #[arg(long, value_delimiter = ',', default_value = "1,8,16")]
        channels: Vec<usize>,
        #[arg(long, default_value_t = 10)]
        classes: usize,
    },
    /// One self-attention head: Q, K, V = x·W, softmax(Q·Kᵀ)·V.
    Attn {
        /// Sequence length.
        #[arg(long, default_value_t = 16)]
        seq: usize,
        /// Width of the tokens and of the head.
        #[arg(long, default_value_t = 32)]
        width: usize,
    },
}

impl From<SynthFamily> for SynthSpec {
    fn from(f: SynthFamily) -> Self {
        match f {
            SynthFamily::Mlp { inputs, hidden, depth, classes } => SynthSpec::Mlp { inputs, hidden, depth, classes },
            SynthFamily::Cnn { size, channels, classes } => SynthSpec::Cnn { size, channels, classes },
            SynthFamily::Attn { seq, width } => SynthSpec::Attention { seq, width },
        }
    }
}

/// Exit codes: 0 success, 1 an error, 2 a usage error, 3–8 a `verify` rejection (see
/// `zkinfer_verifier::Rejection::exit_code`).
fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    let done = match command {
        Command::Verify { proof, vk, model_id, model_card, input, allow_insecure_srs, json } => {
            return commands::verify::run(commands::verify::VerifyArgs {
                proof: &proof,
                vk: &vk,
                model_id: model_id.as_deref(),
                card: model_card.as_deref(),
                input: input.as_deref(),
                policy: zkinfer_verifier::Policy { allow_insecure_srs },
                json,
            })
        }
        Command::Inspect { model, json } => commands::inspect::run(&model, json),
        Command::Quantize { model, calibration, output, bits } => {
            commands::quantize::run(&model, &calibration, &output, bits)
        }
        Command::Run { model, input, json } => commands::run::run(&model, &input, json),
        Command::Compile { model, calibration, srs, private_input, bits, optimize, tolerance, batch, output } => {
            let options = commands::compile::CompileOptions {
                private_input,
                bits,
                objective: optimize.into(),
                batch: batch.into(),
                tolerance,
            };
            commands::compile::run(&model, &calibration, srs.as_deref(), options, &output)
        }
        Command::Prove { dir, input, output, binary, device, allow_saturation, no_self_check } => {
            let options = zkinfer_prover::ProveOptions { allow_saturation, self_check: !no_self_check };
            commands::prove::run(&dir, &input, &output, binary, device.into(), options)
        }
        Command::Srs { action: SrsAction::InsecureTest { k, output } } => commands::srs::insecure_test(k, &output),
        Command::Srs { action: SrsAction::Import { file, k, output } } => commands::srs::import(&file, k, &output),
        Command::Demo => commands::demo::run(),
        Command::Study { family, sizes, repeat, output } => {
            let family = match family {
                FamilyArg::Mlp => commands::study::Family::Mlp,
                FamilyArg::Cnn => commands::study::Family::Cnn,
            };
            commands::study::run(family, &sizes, repeat, &output)
        }
        Command::Bench { models, repeat, batch, layouts: Some(n), .. } => {
            models.iter().try_for_each(|m| commands::layouts::run(m, n, repeat, batch.into()))
        }
        Command::Bench { only: Some(model), repeat, optimize, batch, .. } => {
            commands::bench::run_one(&model, repeat, optimize.into(), batch.into())
        }
        Command::Bench { models, repeat, json, optimize, batch, only: None, .. } => {
            commands::bench::run(&models, repeat, optimize.into(), batch.into(), json.as_deref())
        }
        Command::Synth { family, seed, output } => commands::synth::run(family.into(), seed, &output),
        Command::Accuracy { model, dataset, json } => commands::accuracy::run(&model, &dataset, json),
        Command::Serve {
            dirs,
            examples,
            listen,
            db,
            workers,
            lease_secs,
            open,
            max_body,
            body_timeout_secs,
            grace_secs,
            device,
        } => {
            use commands::serve::seconds;
            let mut config = zkinfer_node::NodeConfig::new(&db);
            config.workers = workers;
            config.lease = seconds(lease_secs);
            config.open = open;
            config.max_body = max_body;
            config.body_timeout = seconds(body_timeout_secs);
            config.grace = seconds(grace_secs);
            commands::serve::run(commands::serve::ServeArgs { dirs, examples, listen, config, device: device.into() })
        }
        Command::Token { action, db } => match action {
            TokenAction::Add { name, per_minute, concurrent } => {
                commands::token::add(&db, &name, per_minute, concurrent)
            }
            TokenAction::List => commands::token::list(&db),
            TokenAction::Revoke { id } => commands::token::revoke(&db, &id),
        },
        Command::Request {
            node,
            model_id,
            model_card,
            input,
            token,
            idempotency_key,
            timeout_secs,
            allow_insecure_srs,
            json,
        } => {
            return commands::request::run(commands::request::RequestArgs {
                node: &node,
                token,
                model_id: model_id.as_deref(),
                card: model_card.as_deref(),
                input: &input,
                policy: zkinfer_verifier::Policy { allow_insecure_srs },
                idempotency_key: idempotency_key.as_deref(),
                timeout: commands::serve::seconds(timeout_secs),
                json,
            })
        }
    };
    done.map(|()| ExitCode::SUCCESS)
}

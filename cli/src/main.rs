//! `zkinfer`: every user-facing command of the verifiable-inference toolchain.

mod commands;

use std::path::PathBuf;

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
    /// The whole flow on the shipped digits CNN, with the time of each step.
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
}

impl From<SynthFamily> for SynthSpec {
    fn from(f: SynthFamily) -> Self {
        match f {
            SynthFamily::Mlp { inputs, hidden, depth, classes } => SynthSpec::Mlp { inputs, hidden, depth, classes },
            SynthFamily::Cnn { size, channels, classes } => SynthSpec::Cnn { size, channels, classes },
        }
    }
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Inspect { model, json } => commands::inspect::run(&model, json),
        Command::Quantize { model, calibration, output, bits } => {
            commands::quantize::run(&model, &calibration, &output, bits)
        }
        Command::Run { model, input, json } => commands::run::run(&model, &input, json),
        Command::Demo => commands::demo::run(),
        Command::Synth { family, seed, output } => commands::synth::run(family.into(), seed, &output),
        Command::Accuracy { model, dataset, json } => commands::accuracy::run(&model, &dataset, json),
    }
}

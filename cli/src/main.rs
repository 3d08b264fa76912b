//! `zkinfer`: every user-facing command of the verifiable-inference toolchain.

mod commands;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

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

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Inspect { model, json } => commands::inspect::run(&model, json),
        Command::Quantize { model, calibration, output, bits } => {
            commands::quantize::run(&model, &calibration, &output, bits)
        }
        Command::Run { model, input, json } => commands::run::run(&model, &input, json),
        Command::Accuracy { model, dataset, json } => commands::accuracy::run(&model, &dataset, json),
    }
}

//! `zkinfer prove`: run the integer inference on one input and prove it.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use zkinfer_prover::{Device, ProveOptions};
use zkinfer_quant_models::io::read_input;

use crate::model_dir::write_atomic;
use crate::pipeline::{load, prove_input};
use crate::progress::{human, step};

/// Proves `input` on the compiled folder `dir` and writes the bundle to `output` (`-`: stdout).
/// Everything but the bundle goes to stderr.
pub fn run(
    dir: &Path,
    input: &Path,
    output: &Path,
    binary: bool,
    device: Device,
    options: ProveOptions,
) -> anyhow::Result<()> {
    let (loaded, _) = step(&format!("load {}", dir.display()), || load(dir, device))?;
    let input = read_input(input)?;
    let ((bundle, timings), _) = step("inference + proof", || prove_input(&loaded, &input.input_data, options))?;
    eprintln!("  witness and checks {:>10}", human(timings.witness));
    eprintln!("  halo2 proof        {:>10}", human(timings.proof));
    eprintln!("  self-check         {:>10}", human(timings.self_check));
    let bytes = if binary { bundle.to_binary() } else { bundle.to_json().into_bytes() };
    if output == Path::new("-") {
        std::io::stdout().lock().write_all(&bytes).context("writing the bundle to stdout")?;
    } else {
        write_atomic(output, &bytes)?;
    }
    for t in &bundle.outputs {
        eprintln!("output {} {:?}: {:?}", t.name, t.shape, t.floats);
    }
    eprintln!("proof {} B, model id {}", bundle.proof.len(), bundle.model_id);
    if output != Path::new("-") {
        eprintln!("wrote {}", output.display());
    }
    Ok(())
}

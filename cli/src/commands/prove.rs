//! `zkinfer prove`: run the integer inference on one input and prove it.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use zkinfer_prover::{Device, ProveOptions};
use zkinfer_quant_models::io::read_input;

use zkinfer_pipeline::{load, prove_input, write_atomic};

use crate::progress::{human, step, Terminal};

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
    let terminal = Terminal::default();
    let (loaded, _) = step(&format!("load {}", dir.display()), || Ok(load(dir, device, &terminal)?))?;
    let input = read_input(input)?;
    let ((bundle, timings), _) =
        step("inference + proof", || Ok(prove_input(&loaded, &input.input_data, options, &terminal)?))?;
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

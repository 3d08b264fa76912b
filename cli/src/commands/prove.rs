//! `zkinfer prove`: run the integer inference on one input and prove it.

use std::path::Path;

use zkinfer_prover::Device;
use zkinfer_quant_models::io::read_input;

use crate::model_dir::write_atomic;
use crate::pipeline::{load, prove_input};
use crate::progress::{human, step};

pub fn run(dir: &Path, input: &Path, output: &Path, binary: bool, device: Device) -> anyhow::Result<()> {
    let (loaded, _) = step(&format!("load {}", dir.display()), || load(dir, device))?;
    let input = read_input(input)?;
    let ((bundle, timings), _) = step("inference + proof", || prove_input(&loaded, &input.input_data))?;
    println!("  witness and checks {:>10}", human(timings.witness));
    println!("  halo2 proof        {:>10}", human(timings.proof));
    let bytes = if binary { bundle.to_binary() } else { bundle.to_json().into_bytes() };
    write_atomic(output, &bytes)?;
    for t in &bundle.outputs {
        println!("output {} {:?}: {:?}", t.name, t.shape, t.floats);
    }
    println!("proof {} B, model id {}", bundle.proof.len(), bundle.model_id);
    println!("wrote {}", output.display());
    Ok(())
}

//! `zkinfer compile`: quantize, plan the circuit, generate keys, write the compiled folder.

use std::path::Path;

use zkinfer_circuits::planner::Objective;
use zkinfer_quant_models::io::{read_calibration, read_labelled};
use zkinfer_quant_models::report::{precision_loss, tensor_report};

use super::BitArgs;
use zkinfer_pipeline::{compile, read, Calibration, Source, Target};

use crate::progress::{step, Terminal};

/// What `compile` is asked for beyond its files.
pub struct CompileOptions {
    pub private_input: bool,
    pub bits: BitArgs,
    pub objective: Objective,
    /// Samples per proof.
    pub batch: usize,
    /// Fail when an output strays further than this from the float model (relative, see
    /// [`zkinfer_quant_models::report::within`]).
    pub tolerance: Option<f64>,
}

pub fn run(
    model: &Path,
    calibration: &Path,
    srs: Option<&Path>,
    options: CompileOptions,
    output: &Path,
) -> anyhow::Result<()> {
    let CompileOptions { private_input, bits, objective, batch, tolerance } = options;
    let onnx = read(model)?;
    let calibration = match read_labelled(calibration) {
        Ok(set) => Calibration { samples: set.inputs(), labels: set.labels },
        Err(_) => Calibration { samples: read_calibration(calibration)?, labels: Vec::new() },
    };
    let calibration = calibration.packed(batch);
    let name = model.file_stem().and_then(|s| s.to_str()).unwrap_or("model");
    let source = Source { onnx: &onnx, name, batch };
    let target = Target { config: bits.into(), public_input: !private_input, objective, srs };
    let mut artifacts = compile(source, &calibration, target, &Terminal::default())?;
    let (reports, _) = step("integer against float model on the calibration set", || {
        Ok(tensor_report(&artifacts.compiled, &calibration.samples)?)
    })?;
    for &t in &artifacts.compiled.quant.outputs {
        let name = &artifacts.compiled.quant.tensors[t].name;
        if let Some(r) = reports.iter().find(|r| &r.name == name) {
            eprintln!("output `{name}`: worst error {:.4}, values reach {:.4}", r.max_abs_error, r.float_max_abs);
        }
    }
    if let Some(tolerance) = tolerance {
        if let Some(loss) = precision_loss(&artifacts.compiled, &reports, tolerance) {
            anyhow::bail!("over --tolerance {tolerance}: {loss}; nothing written");
        }
    }
    artifacts.save(output)?;
    let card = &artifacts.card;
    println!("\nmodel id   {}", card.model_id);
    println!(
        "circuit    k = {}, {} rows, {} advice / {} fixed / {} lookups",
        card.k, card.rows, card.columns.advice, card.columns.fixed, card.columns.lookups
    );
    println!("keys       pk {} B, vk {} B", card.pk_bytes, card.vk_bytes);
    println!("input      {}", if private_input { "private" } else { "public" });
    println!("wrote      {}/{{model.zkq, pk, vk, srs.params, model-card.json}}", output.display());
    Ok(())
}

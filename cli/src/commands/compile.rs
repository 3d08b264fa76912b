//! `zkinfer compile`: quantize, plan the circuit, generate keys, write the compiled folder.

use std::path::Path;

use zkinfer_circuits::planner::Objective;
use zkinfer_quant_models::io::{read_calibration, read_labelled};

use super::BitArgs;
use crate::model_dir::read;
use crate::pipeline::{compile, Calibration};

pub fn run(
    model: &Path,
    calibration: &Path,
    srs: Option<&Path>,
    private_input: bool,
    bits: BitArgs,
    objective: Objective,
    output: &Path,
) -> anyhow::Result<()> {
    let onnx = read(model)?;
    let calibration = match read_labelled(calibration) {
        Ok(set) => Calibration { samples: set.inputs(), labels: set.labels },
        Err(_) => Calibration { samples: read_calibration(calibration)?, labels: Vec::new() },
    };
    let name = model.file_stem().and_then(|s| s.to_str()).unwrap_or("model");
    let mut artifacts = compile(&onnx, name, &calibration, bits.into(), !private_input, objective, srs)?;
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

//! `zkinfer accuracy`: float vs quantized over a labelled set.

use std::path::Path;

use zkinfer_quant_models::io::read_labelled;
use zkinfer_quant_models::report::accuracy;
use zkinfer_quant_models::CompiledModel;

pub fn run(model: &Path, dataset: &Path, json: bool) -> anyhow::Result<()> {
    let compiled = CompiledModel::load(model)?;
    let set = read_labelled(dataset)?;
    let r = accuracy(&compiled, &set.inputs(), &set.labels)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    let pct = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:.2} %", 100.0 * v));
    println!("samples             {}", r.samples);
    println!("argmax agreement    {:.2} %", 100.0 * r.argmax_agreement);
    println!("top-1 float         {}", pct(r.float_top1));
    println!("top-1 quantized     {}", pct(r.quant_top1));
    println!("max |error|         {:.5}", r.max_abs_error);
    println!("mean |error|        {:.5}", r.mean_abs_error);
    println!("saturated samples   {}", r.saturated_samples);
    Ok(())
}

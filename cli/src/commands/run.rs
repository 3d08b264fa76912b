//! `zkinfer run`: exact integer inference on one input, beside the float reference.

use std::path::Path;

use zkinfer_quant_models::float_infer::run_float;
use zkinfer_quant_models::infer::run_float_inputs;
use zkinfer_quant_models::io::read_input;
use zkinfer_quant_models::CompiledModel;

pub fn run(model: &Path, input: &Path, json: bool) -> anyhow::Result<()> {
    let compiled = CompiledModel::load(model)?;
    let input = read_input(input)?;
    let trace = run_float_inputs(&compiled.quant, &input.input_data)?;
    let outputs = trace.dequantized_outputs(&compiled.quant);
    let shapes: Vec<&Vec<usize>> = compiled.quant.outputs.iter().map(|&o| &compiled.quant.tensors[o].shape).collect();
    for s in &trace.saturations {
        eprintln!("warning: saturated: {s}; `prove` refuses this input unless --allow-saturation");
    }
    if json {
        println!("{}", serde_json::json!({ "outputs": outputs, "shapes": shapes }));
        return Ok(());
    }
    let float = run_float(&compiled.float, &input.input_data)?;
    for (k, &o) in compiled.quant.outputs.iter().enumerate() {
        let t = &compiled.quant.tensors[o];
        let reference = &float[compiled.float.outputs[k]];
        let err = outputs[k].iter().zip(reference).fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        println!("output {} {:?} (scale 2^-{})", t.name, t.shape, t.frac_bits);
        println!("  integer   {:?}", trace.values[o]);
        println!("  quantized {:?}", outputs[k].iter().map(|v| (v * 1e4).round() / 1e4).collect::<Vec<_>>());
        println!("  float     {:?}", reference.iter().map(|v| (v * 1e4).round() / 1e4).collect::<Vec<_>>());
        println!("  max |quantized - float| = {err:.5}");
    }
    Ok(())
}

//! `zkinfer demo`: the whole current flow on the shipped digits CNN, a line per step with its time.

use std::time::Instant;

use zkinfer_quant_models::compile::compile_onnx;
use zkinfer_quant_models::infer::run_float_inputs;
use zkinfer_quant_models::io::{InputData, LabelledSet};
use zkinfer_quant_models::report::accuracy;
use zkinfer_quant_models::QuantConfig;

const MODEL: &[u8] = include_bytes!("../../../quant-models/models/digits-cnn/model.onnx");
const CALIBRATION: &[u8] = include_bytes!("../../../quant-models/models/digits-cnn/calibration.json");
const INPUT: &[u8] = include_bytes!("../../../quant-models/models/digits-cnn/input.json");
const TEST: &[u8] = include_bytes!("../../../quant-models/models/digits-cnn/test.json");

fn step<T>(what: &str, f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    let start = Instant::now();
    let out = f()?;
    println!("{what:<48} {:>9.2} ms", start.elapsed().as_secs_f64() * 1e3);
    Ok(out)
}

pub fn run() -> anyhow::Result<()> {
    println!("zkinfer demo: digits CNN (conv 3x3x8 -> ReLU -> avgpool 2x2 -> dense 10)\n");
    let calibration: LabelledSet = serde_json::from_slice(CALIBRATION)?;
    let test: LabelledSet = serde_json::from_slice(TEST)?;
    let input: InputData = serde_json::from_slice(INPUT)?;
    let compiled = step("import, calibrate (200 samples), quantize", || {
        Ok(compile_onnx(MODEL, "digits-cnn", &calibration.inputs(), QuantConfig::default())?)
    })?;
    let trace =
        step("integer inference on the sample input", || Ok(run_float_inputs(&compiled.quant, &input.input_data)?))?;
    let logits = trace.dequantized_outputs(&compiled.quant).swap_remove(0);
    let class = logits.iter().enumerate().fold(0, |b, (i, v)| if *v > logits[b] { i } else { b });
    let report = step(&format!("accuracy over {} test digits", test.samples.len()), || {
        Ok(accuracy(&compiled, &test.inputs(), &test.labels)?)
    })?;
    println!("\npredicted digit        {class}");
    println!("argmax agreement       {:.2} % (integer vs float)", 100.0 * report.argmax_agreement);
    println!(
        "top-1 float/quantized  {:.2} % / {:.2} %",
        100.0 * report.float_top1.unwrap_or(0.0),
        100.0 * report.quant_top1.unwrap_or(0.0)
    );
    Ok(())
}

//! `zkinfer synth`: a synthetic model of chosen size with a sample input, a calibration set and
//! a self-labelled test set (labels = the float model's argmax), for cost-versus-size studies.

use std::path::Path;

use anyhow::Context;
use zkinfer_quant_models::float_infer::run_float;
use zkinfer_quant_models::io::{InputData, LabelledSet};
use zkinfer_quant_models::onnx::{import_onnx_bytes, synth_inputs, synth_onnx, SynthSpec};

fn write_json(path: &Path, value: &impl serde::Serialize) -> anyhow::Result<()> {
    std::fs::write(path, serde_json::to_vec(value)?).with_context(|| format!("writing {}", path.display()))
}

pub fn run(spec: SynthSpec, seed: u64, out: &Path) -> anyhow::Result<()> {
    let (bytes, shape) = synth_onnx(&spec, seed);
    let graph = import_onnx_bytes(&bytes, "synthetic").with_context(|| format!("{spec:?}"))?;
    let len = shape.iter().product();
    let calibration = synth_inputs(len, 64, seed);
    let test = synth_inputs(len, 200, seed.wrapping_add(1));
    let labels = test
        .iter()
        .map(|x| {
            let y = run_float(&graph, std::slice::from_ref(x))?;
            let out = &y[graph.outputs[0]];
            Ok(out.iter().enumerate().fold(0, |best, (i, v)| if *v > out[best] { i } else { best }))
        })
        .collect::<zkinfer_quant_models::Result<Vec<usize>>>()?;
    // Only a model that imports gets a folder.
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    std::fs::write(out.join("model.onnx"), &bytes).with_context(|| format!("writing {}", out.display()))?;
    write_json(&out.join("input.json"), &InputData { input_data: vec![test[0].clone()] })?;
    write_json(&out.join("calibration.json"), &LabelledSet { samples: calibration, labels: vec![] })?;
    write_json(&out.join("test.json"), &LabelledSet { samples: test, labels })?;
    let stats = graph.stats();
    println!("{spec:?}: {} parameters, {} MACs; wrote {}", stats.parameters, stats.macs, out.display());
    Ok(())
}

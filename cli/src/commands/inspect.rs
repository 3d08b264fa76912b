//! `zkinfer inspect`: what a model contains and whether zkinfer can take it.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use zkinfer_quant_models::onnx::import_onnx_bytes;

pub fn run(path: &Path, json: bool) -> anyhow::Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    // The importer's own check, so `inspect` refuses exactly what `quantize` and `compile` do.
    let graph = import_onnx_bytes(&bytes, &path.display().to_string()).with_context(|| path.display().to_string())?;
    let stats = graph.stats();
    let mut ops = BTreeMap::<&str, usize>::new();
    for n in &graph.nodes {
        *ops.entry(n.op.name()).or_default() += 1;
    }
    let inputs: Vec<_> = graph.inputs.iter().map(|&i| (&graph.tensors[i].name, &graph.tensors[i].shape)).collect();
    let outputs: Vec<_> = graph.outputs.iter().map(|&i| (&graph.tensors[i].name, &graph.tensors[i].shape)).collect();
    if json {
        let v =
            serde_json::json!({ "inputs": inputs, "outputs": outputs, "ops": ops, "stats": stats, "unsupported": [] });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!("model       {}", path.display());
    for (name, shape) in inputs {
        println!("input       {name} {shape:?}");
    }
    for (name, shape) in outputs {
        println!("output      {name} {shape:?}");
    }
    println!("parameters  {}", stats.parameters);
    println!("MACs        {}", stats.macs);
    println!("nonlinear   {} elements", stats.nonlinear_elements);
    println!("ops         {}", ops.iter().map(|(k, v)| format!("{k}×{v}")).collect::<Vec<_>>().join(" "));
    println!("unsupported none");
    Ok(())
}

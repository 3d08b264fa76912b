//! Any bytes read as `model.zkq`: refused, or a model whose inference runs without panicking.
#![no_main]
use zkinfer_quant_models::infer::run_float_inputs;
use zkinfer_quant_models::CompiledModel;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(model) = CompiledModel::from_bytes(data) {
        let inputs: Vec<Vec<f64>> = model.quant.inputs.iter().map(|&t| vec![0.5; model.quant.tensors[t].len()]).collect();
        let _ = run_float_inputs(&model.quant, &inputs);
    }
});

//! Any bytes given to the ONNX importer: a graph or an error, never a panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = zkinfer_quant_models::onnx::import_onnx_bytes(data, "fuzz");
});

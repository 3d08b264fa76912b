//! halo2 chips per operation and the circuit built from a quantized model.
//!
//! Filled by the proving work: it reads only `zkinfer_quant_models::QuantModel` (never ONNX) and
//! does no I/O. This crate is empty until then so the workspace layout is fixed from the start.

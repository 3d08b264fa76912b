//! ONNX import through `tract-onnx`: tract parses the protobuf, infers every shape with the batch
//! dimension set to 1 and folds constant subgraphs; this module translates the remaining nodes
//! into a [`crate::FloatGraph`]. Also a float reference run through tract, for error reports.

mod attrs;
mod computed;
mod gelu;
mod import;
mod movement;
mod normalization;
mod reference;
mod sink_activations;
mod synth;
mod translate;
mod windowed;

pub use import::{import_onnx, import_onnx_batch, import_onnx_bytes, SUPPORTED_OPS};
pub use reference::{tract_reference, TractModel};
pub use synth::{synth_inputs, synth_onnx, SplitMix64, SynthSpec};

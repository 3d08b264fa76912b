//! zkinfer's model layer: the quantized model IR, ONNX import (feature `onnx`), calibration and
//! power-of-two fixed-point quantization, and the exact integer reference inference whose trace
//! is the prover's witness.
//!
//! Data flow: `model.onnx → FloatGraph → (calibrate) → QuantModel → (infer::run) → Trace`.

#[cfg(feature = "onnx")]
pub mod compile;
pub mod error;
pub mod file_write;
pub mod float_infer;
pub mod graph;
pub mod infer;
pub mod io;
pub mod kernels;
pub mod model_file;
#[cfg(feature = "onnx")]
pub mod onnx;
pub mod quant;
pub mod report;
mod validate;
pub mod window;

pub use error::{ModelError, Result};
pub use graph::{ActFn, FloatGraph, FloatOp, TensorId};
pub use infer::Trace;
pub use model_file::CompiledModel;
pub use quant::{QOp, QuantConfig, QuantModel};

//! Calibration, quantization and the quantized model format.

mod calibrate;
mod ir;
mod quantize;
mod tables;

pub use calibrate::{calibrate, calibration_warnings, Ranges};
pub use ir::{saturates, signed_range, Activation, QNode, QOp, QTensor, QuantConfig, QuantModel, EXP_FRAC_BITS};
pub use quantize::quantize;
pub use tables::exp_table;

//! Calibration, quantization and the quantized model format.

mod calibrate;
mod ir;
mod quantize;
mod tables;

pub use calibrate::{calibrate, Ranges};
pub use ir::{signed_range, Activation, QNode, QOp, QTensor, QuantConfig, QuantModel, EXP_FRAC_BITS};
pub use quantize::quantize;

#[cfg(test)]
pub(crate) mod tables_for_tests {
    pub use super::tables::exp_table;
}

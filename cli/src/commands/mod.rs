//! One module per subcommand.

pub mod accuracy;
pub mod bench;
pub mod compile;
pub mod demo;
pub mod inspect;
pub mod layouts;
pub mod prove;
pub mod quantize;
pub mod request;
pub mod run;
pub mod serve;
pub mod srs;
pub mod study;
pub mod synth;
pub mod token;
pub mod verify;

use zkinfer_quant_models::QuantConfig;

/// Bit widths chosen at quantization.
#[derive(clap::Args, Clone, Copy)]
pub struct BitArgs {
    /// Signed bit width of weights.
    #[arg(long, default_value_t = QuantConfig::default().weight_bits)]
    pub weight_bits: u32,
    /// Signed bit width of activations.
    #[arg(long, default_value_t = QuantConfig::default().activation_bits)]
    pub activation_bits: u32,
    /// Signed bit width of the domain of tabulated activations (sigmoid, tanh, GELU, …).
    #[arg(long, default_value_t = QuantConfig::default().table_bits)]
    pub table_bits: u32,
    /// Headroom above each tensor's calibrated maximum, as a fraction (0.1 = 10 %): inputs up
    /// to that much beyond the calibration set still prove instead of saturating, at the cost
    /// of precision.
    #[arg(long, default_value_t = QuantConfig::default().margin)]
    pub headroom: f64,
}

impl From<BitArgs> for QuantConfig {
    fn from(b: BitArgs) -> Self {
        QuantConfig {
            weight_bits: b.weight_bits,
            activation_bits: b.activation_bits,
            table_bits: b.table_bits,
            margin: b.headroom,
        }
    }
}

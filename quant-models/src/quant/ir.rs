//! The quantized model: integer tensors with power-of-two scales and integer ops whose exact
//! semantics (rounding, clamping, accumulator width) are what the circuit proves.
//!
//! A tensor's real value is `q · 2^-frac_bits`. Every tensor has a signed bit width `bits`:
//! all its values lie in `[-2^(bits-1), 2^(bits-1) - 1]`. Activations are clamped into that
//! range by the op that produces them; accumulators (outputs of dot products and adds) are
//! bounded at quantization time from the actual weights, so they never need a clamp.
//!
//! Linear ops produce accumulators; a [`QOp::Requant`] follows each one and fuses the rescale
//! with the activation, which is the lookup the circuit uses (design: fused requant+activation).

use serde::{Deserialize, Serialize};

use crate::graph::{ActFn, TensorId};
use crate::kernels::ProductShape;
use crate::window::Window2d;

/// A quantized tensor's static description.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QTensor {
    pub name: String,
    pub shape: Vec<usize>,
    /// Real value = integer · 2^-frac_bits.
    pub frac_bits: i32,
    /// Signed width bounding every value: `|v| ≤ 2^(bits-1)`.
    pub bits: u32,
}

impl QTensor {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True for a tensor with a zero dimension.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The real value of one integer of this tensor.
    pub fn dequantize(&self, q: i64) -> f64 {
        q as f64 * (-(self.frac_bits as f64)).exp2()
    }

    /// Smallest and largest representable integer.
    pub fn range(&self) -> (i64, i64) {
        signed_range(self.bits)
    }
}

/// `[-2^(bits-1), 2^(bits-1) - 1]`.
pub fn signed_range(bits: u32) -> (i64, i64) {
    let half = 1i64 << (bits - 1);
    (-half, half - 1)
}

/// The one saturation rule, followed by the integer inference, its reports and the circuit:
/// whether the rescaled value `t` of a [`QOp::Requant`] over `domain` has to be clamped in a way
/// that changes the result. A ReLU's input below the domain is not saturation (its output is
/// exactly 0, and the circuit proves it); every other value outside the domain is, including
/// the flat tails of tabulated functions (the circuit looks `t` up in a table over the domain).
pub fn saturates(t: i64, (lo, hi): (i64, i64), activation: &Activation) -> bool {
    match activation {
        Activation::Relu => t > hi,
        Activation::Identity | Activation::Table { .. } => t < lo || t > hi,
    }
}

/// What a [`QOp::Requant`] applies after rescaling.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Activation {
    /// `y = t`.
    Identity,
    /// `y = max(t, 0)`.
    Relu,
    /// `y = table[t - domain.0]`: any function of the rescaled value, tabulated at
    /// quantization time so that prover, verifier and every platform agree bit for bit.
    Table { func: ActFn, values: Vec<i64> },
}

/// One integer operation. Inputs and output are in the node; each variant documents its
/// exact integer semantics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum QOp {
    /// `acc[r, o] = bias[o] + Σ_i weight[o, i] · x[r, i]` over the last axis. The output is an
    /// accumulator at `frac(x) + weight_frac_bits`.
    Dense { weight: Vec<i64>, bias: Vec<i64>, inputs: usize, outputs: usize, weight_frac_bits: i32, weight_bits: u32 },
    /// Grouped 2-D convolution of `[1, C, H, W]` with zero padding; accumulator output like `Dense`.
    Conv { weight: Vec<i64>, bias: Vec<i64>, window: Window2d, group: usize, weight_frac_bits: i32, weight_bits: u32 },
    /// `t = floor((acc · mult + 2^(shift-1)) / 2^shift)` (round half up; no rounding when
    /// `shift = 0`), then `t` is clamped into `domain` (a saturation, counted and reported),
    /// then `y = activation(t)`. The output is an activation tensor.
    Requant { mult: i64, shift: u32, domain: (i64, i64), activation: Activation },
    /// `acc = a · a_mult + b · b_mult` (multipliers align the two scales; negative subtracts).
    Add { a_mult: i64, b_mult: i64 },
    /// `acc = x · mul + add`, elementwise with per-element constants (Mul/Div/Add/Sub by a
    /// constant, a batch norm that could not be folded).
    Affine { mul: Vec<i64>, add: Vec<i64> },
    /// Window maximum; output has the input's scale.
    MaxPool(Window2d),
    /// `y = floor((2·sum + n) / (2·n))` (sum of the window rounded half up to a mean), where `n`
    /// is the kernel area or, without `count_include_pad`, the taps inside the input.
    AvgPool { window: Window2d, count_include_pad: bool },
    /// Along `axis`: `d = x - max`, `e = exp_table[min(-d, len-1)]`, `s = Σ e`,
    /// `y = floor((2·e·2^out_frac_bits + s) / (2·s))`. `exp_table[k] = round(exp(-k·2^-frac(x)) · 2^EXP_FRAC_BITS)`.
    Softmax { axis: usize, exp_table: Vec<i64> },
    /// `acc[b, i, j] = Σ_t a[b, i, t] · c[b, t, j]` of two computed tensors, exact; the output is
    /// an accumulator at `frac(a) + frac(c)` (an elementwise product when `m = k = n = 1`).
    Product(ProductShape),
    /// `acc[g] = Σ x[i]` over each group of [`crate::kernels::reduce_groups`]: an accumulator at
    /// `frac(x)`; a mean's `1/n` is in the requantization that follows.
    ReduceSum { axes: Vec<usize> },
    /// `y[g] = max x[i]` over each group of [`crate::kernels::reduce_groups`]; keeps `x`'s scale.
    ReduceMax { axes: Vec<usize> },
    /// Data movement only; see [`crate::graph::FloatOp::Rewire`]. All inputs share one scale.
    Rewire { map: Vec<Option<(u32, u32)>> },
}

/// Fixed-point precision of the softmax exponential table.
pub const EXP_FRAC_BITS: u32 = 16;

impl QOp {
    /// The op's name in reports.
    pub fn name(&self) -> &'static str {
        match self {
            QOp::Dense { .. } => "Dense",
            QOp::Conv { .. } => "Conv",
            QOp::Requant { .. } => "Requant",
            QOp::Add { .. } => "Add",
            QOp::Affine { .. } => "Affine",
            QOp::MaxPool(_) => "MaxPool",
            QOp::AvgPool { .. } => "AvgPool",
            QOp::Softmax { .. } => "Softmax",
            QOp::Product(_) => "Product",
            QOp::ReduceSum { .. } => "ReduceSum",
            QOp::ReduceMax { .. } => "ReduceMax",
            QOp::Rewire { .. } => "Rewire",
        }
    }
}

/// An integer op applied to tensors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QNode {
    /// Name of the source node, for reports and errors.
    pub name: String,
    pub op: QOp,
    pub inputs: Vec<TensorId>,
    pub output: TensorId,
}

/// Bit widths chosen at quantization.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuantConfig {
    /// Signed width of weights.
    pub weight_bits: u32,
    /// Signed width of activations (inputs, outputs of requantization, pools).
    pub activation_bits: u32,
    /// Signed width of the domain of tabulated activations (sigmoid, GELU, …).
    pub table_bits: u32,
    /// Headroom over the calibrated maximum, as a fraction (0.1 = 10 %).
    pub margin: f64,
}

impl Default for QuantConfig {
    fn default() -> Self {
        QuantConfig { weight_bits: 8, activation_bits: 8, table_bits: 10, margin: 0.1 }
    }
}

/// A quantized model: the single source of truth for values, from which the witness is built.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuantModel {
    pub name: String,
    pub config: QuantConfig,
    pub tensors: Vec<QTensor>,
    pub inputs: Vec<TensorId>,
    pub outputs: Vec<TensorId>,
    /// Ops in topological order.
    pub nodes: Vec<QNode>,
}

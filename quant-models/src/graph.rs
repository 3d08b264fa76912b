//! The float graph: what the ONNX importer (or the synthetic-model generator) produces, with
//! every shape static, batch size 1, constants folded and shape-only ops reduced to `Rewire`.
//! Calibration runs it to measure ranges; quantization turns it into a [`crate::QuantModel`].

use serde::{Deserialize, Serialize};

use crate::kernels::ProductShape;
use crate::window::Window2d;

/// Index of a tensor in its graph's tensor table.
pub type TensorId = usize;

/// A named tensor with a static shape.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TensorInfo {
    pub name: String,
    pub shape: Vec<usize>,
}

impl TensorInfo {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True for a tensor with a zero dimension.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Elementwise nonlinearities. Integer inference evaluates them through lookup tables.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum ActFn {
    Relu,
    LeakyRelu {
        alpha: f64,
    },
    Clip {
        min: f64,
        max: f64,
    },
    Sigmoid,
    Tanh,
    /// GELU, exact (erf) form or the tanh approximation.
    Gelu {
        tanh_approx: bool,
    },
    /// `|x|`.
    Abs,
    /// `x` for `x ≥ 0`, else `alpha·(eˣ − 1)`.
    Elu {
        alpha: f64,
    },
    /// `gamma·x` for `x > 0`, else `gamma·alpha·(eˣ − 1)`.
    Selu {
        alpha: f64,
        gamma: f64,
    },
    /// `ln(1 + eˣ)`.
    Softplus,
    /// `x / (1 + |x|)`.
    Softsign,
    /// `max(0, min(1, alpha·x + beta))`.
    HardSigmoid {
        alpha: f64,
        beta: f64,
    },
    /// `x · max(0, min(1, x/6 + 1/2))`.
    HardSwish,
    /// `eˣ`.
    Exp,
    /// The error function.
    Erf,
    /// `1/x` (the largest representable value at 0, like every table's tails).
    Reciprocal,
    /// `√x` (0 below 0).
    Sqrt,
    /// `1/√(x/divisor + epsilon)`: a layer norm's scale from the sum of squared deviations of
    /// `divisor` elements (`x` taken as 0 below 0).
    InvSqrt {
        divisor: f64,
        epsilon: f64,
    },
    /// `x^exponent` for a constant exponent.
    Pow {
        exponent: f64,
    },
    /// The natural logarithm (the most negative representable value at 0 and below).
    Ln,
    /// A comparison: 1 where `x < threshold` (`below`) or `x > threshold`, else 0.
    Step {
        threshold: f64,
        below: bool,
    },
}

impl ActFn {
    /// The real function, in f64.
    pub fn eval(self, x: f64) -> f64 {
        match self {
            ActFn::Relu => x.max(0.0),
            ActFn::LeakyRelu { alpha } => {
                if x >= 0.0 {
                    x
                } else {
                    alpha * x
                }
            }
            ActFn::Clip { min, max } => x.max(min).min(max),
            ActFn::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            ActFn::Tanh => x.tanh(),
            ActFn::Gelu { tanh_approx: false } => 0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2)),
            ActFn::Gelu { tanh_approx: true } => {
                let c = (2.0 / std::f64::consts::PI).sqrt();
                0.5 * x * (1.0 + (c * (x + 0.044715 * x * x * x)).tanh())
            }
            ActFn::Abs => x.abs(),
            ActFn::Elu { alpha } => {
                if x >= 0.0 {
                    x
                } else {
                    alpha * x.exp_m1()
                }
            }
            ActFn::Selu { alpha, gamma } => gamma * if x > 0.0 { x } else { alpha * x.exp_m1() },
            // ln(1 + eˣ) without overflow for large x.
            ActFn::Softplus => x.max(0.0) + (-x.abs()).exp().ln_1p(),
            ActFn::Softsign => x / (1.0 + x.abs()),
            ActFn::HardSigmoid { alpha, beta } => (alpha * x + beta).clamp(0.0, 1.0),
            ActFn::HardSwish => x * (x / 6.0 + 0.5).clamp(0.0, 1.0),
            ActFn::Exp => x.exp(),
            ActFn::Erf => libm::erf(x),
            ActFn::Reciprocal => 1.0 / x,
            ActFn::Sqrt => x.max(0.0).sqrt(),
            ActFn::InvSqrt { divisor, epsilon } => 1.0 / (x.max(0.0) / divisor + epsilon).sqrt(),
            ActFn::Pow { exponent } => x.powf(exponent),
            ActFn::Ln => x.ln(),
            ActFn::Step { threshold, below } => f64::from(u8::from(if below { x < threshold } else { x > threshold })),
        }
    }

    /// Short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            ActFn::Relu => "relu",
            ActFn::LeakyRelu { .. } => "leaky_relu",
            ActFn::Clip { .. } => "clip",
            ActFn::Sigmoid => "sigmoid",
            ActFn::Tanh => "tanh",
            ActFn::Gelu { .. } => "gelu",
            ActFn::Abs => "abs",
            ActFn::Elu { .. } => "elu",
            ActFn::Selu { .. } => "selu",
            ActFn::Softplus => "softplus",
            ActFn::Softsign => "softsign",
            ActFn::HardSigmoid { .. } => "hard_sigmoid",
            ActFn::HardSwish => "hard_swish",
            ActFn::Exp => "exp",
            ActFn::Erf => "erf",
            ActFn::Reciprocal => "reciprocal",
            ActFn::Sqrt => "sqrt",
            ActFn::InvSqrt { .. } => "inv_sqrt",
            ActFn::Pow { .. } => "pow",
            ActFn::Ln => "ln",
            ActFn::Step { .. } => "step",
        }
    }
}

/// One float operation. Shapes of inputs and output live in the tensor table.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum FloatOp {
    /// `y = x · Wᵀ + b` over the last axis; `weight` is `[outputs, inputs]` row-major.
    Dense { weight: Vec<f64>, bias: Vec<f64>, inputs: usize, outputs: usize },
    /// 2-D convolution of `[1, C, H, W]`; `weight` is `[C_out, C_in / group, kh, kw]`.
    Conv { weight: Vec<f64>, bias: Vec<f64>, window: Window2d, group: usize },
    /// Elementwise nonlinearity.
    Activation(ActFn),
    /// Max pooling of `[1, C, H, W]`.
    MaxPool(Window2d),
    /// Average pooling of `[1, C, H, W]`.
    AvgPool { window: Window2d, count_include_pad: bool },
    /// `a + b` or `a - b` of two tensors of the same shape.
    Add { subtract: bool },
    /// `y = x · mul + add`, elementwise, with the constants already broadcast to `x`'s shape.
    Affine { mul: Vec<f64>, add: Vec<f64> },
    /// Softmax along one axis.
    Softmax { axis: usize },
    /// Batched matrix product of two computed tensors (an elementwise product when
    /// `m = k = n = 1`); operands broadcast beforehand by `Rewire`.
    Product(ProductShape),
    /// The sum over `axes` (sorted, distinct), times `scale` (`1/n` for a mean); the output
    /// holds the kept axes in order, whatever its declared shape (keepdims or not).
    ReduceSum { axes: Vec<usize>, scale: f64 },
    /// The maximum over `axes` (sorted, distinct); output layout as for `ReduceSum`.
    ReduceMax { axes: Vec<usize> },
    /// Pure data movement (reshape, transpose, concat, slice, pad): output element `i` is
    /// element `e` of input `k` for `map[i] = Some((k, e))`, or zero for `None`.
    Rewire { map: Vec<Option<(u32, u32)>> },
}

impl FloatOp {
    /// The op's constants (weights, biases, elementwise factors), each with its role.
    pub fn constants(&self) -> Vec<(&'static str, &[f64])> {
        match self {
            FloatOp::Dense { weight, bias, .. } | FloatOp::Conv { weight, bias, .. } => {
                vec![("weight", weight), ("bias", bias)]
            }
            FloatOp::Affine { mul, add } => vec![("multiplier", mul), ("addend", add)],
            _ => Vec::new(),
        }
    }
}

impl FloatOp {
    /// The op's name in reports.
    pub fn name(&self) -> &'static str {
        match self {
            FloatOp::Dense { .. } => "Dense",
            FloatOp::Conv { .. } => "Conv",
            FloatOp::Activation(_) => "Activation",
            FloatOp::MaxPool(_) => "MaxPool",
            FloatOp::AvgPool { .. } => "AvgPool",
            FloatOp::Add { .. } => "Add",
            FloatOp::Affine { .. } => "Affine",
            FloatOp::Softmax { .. } => "Softmax",
            FloatOp::Product(_) => "Product",
            FloatOp::ReduceSum { .. } => "ReduceSum",
            FloatOp::ReduceMax { .. } => "ReduceMax",
            FloatOp::Rewire { .. } => "Rewire",
        }
    }
}

/// A float op applied to tensors.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FloatNode {
    /// Name of the source node (the ONNX node it came from), for error messages and reports.
    pub name: String,
    pub op: FloatOp,
    pub inputs: Vec<TensorId>,
    pub output: TensorId,
}

/// A static float graph in topological order.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FloatGraph {
    pub name: String,
    pub tensors: Vec<TensorInfo>,
    pub inputs: Vec<TensorId>,
    pub outputs: Vec<TensorId>,
    pub nodes: Vec<FloatNode>,
    /// Tensors calibrated to one shared range: the same intermediate of each sample of an op
    /// applied sample by sample, so that every sample of a batch gets the scales it would get
    /// alone.
    #[serde(default)]
    pub shared_ranges: Vec<Vec<TensorId>>,
}

impl FloatGraph {
    /// Refuses non-finite constants: a NaN or infinite weight has no fixed-point value, and a
    /// quantized model built from it would prove a meaningless computation.
    pub fn check_finite(&self) -> crate::Result<()> {
        for n in &self.nodes {
            for (role, values) in n.op.constants() {
                if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                    return Err(crate::ModelError::UnsupportedUse {
                        node: n.name.clone(),
                        op: n.op.name().to_string(),
                        reason: format!("{role}[{i}] is {}: only finite constants can be quantized", values[i]),
                    });
                }
            }
        }
        Ok(())
    }

    /// Adds a tensor and returns its id.
    pub fn add_tensor(&mut self, name: impl Into<String>, shape: Vec<usize>) -> TensorId {
        self.tensors.push(TensorInfo { name: name.into(), shape });
        self.tensors.len() - 1
    }

    /// Adds a node producing a new tensor of `shape`, after checking that the op's constants and
    /// the shapes agree (so no kernel can index out of bounds later); returns the output tensor.
    pub fn add_node(
        &mut self,
        name: &str,
        op: FloatOp,
        inputs: Vec<TensorId>,
        out_name: &str,
        shape: Vec<usize>,
    ) -> crate::Result<TensorId> {
        self.check_node(&op, &inputs, &shape).map_err(|reason| crate::ModelError::UnsupportedUse {
            node: name.to_string(),
            op: op.name().to_string(),
            reason,
        })?;
        let output = self.add_tensor(out_name, shape);
        self.nodes.push(FloatNode { name: name.to_string(), op, inputs, output });
        Ok(output)
    }

    fn check_node(&self, op: &FloatOp, inputs: &[TensorId], out: &[usize]) -> std::result::Result<(), String> {
        let shapes: Vec<&[usize]> = inputs.iter().map(|&i| self.tensors[i].shape.as_slice()).collect();
        let x = *shapes.first().ok_or("no input")?;
        let (x_len, out_len) = (x.iter().product::<usize>(), out.iter().product::<usize>());
        let fail = |what: String| Err(format!("{what} (input {x:?}, output {out:?})"));
        match op {
            FloatOp::Dense { weight, bias, inputs: k, outputs: n } => {
                if x.last() != Some(k) || out.last() != Some(n) || x_len / k.max(&1) != out_len / n.max(&1) {
                    return fail(format!("dense layer {k} → {n} does not fit"));
                }
                if weight.len() != k * n || bias.len() != *n {
                    return fail(format!("{} weights and {} biases for {k} → {n}", weight.len(), bias.len()));
                }
            }
            FloatOp::Conv { weight, bias, window, group } => {
                let c_out = bias.len();
                let per = window.kernel[0] * window.kernel[1];
                if x.len() != 4 || out.len() != 4 || *group == 0 || x[1] % group != 0 || c_out % group != 0 {
                    return fail(format!("convolution with group {group} does not fit"));
                }
                if weight.len() != c_out * (x[1] / group) * per || out[1] != c_out {
                    return fail(format!("{} weights and {c_out} biases do not fit", weight.len()));
                }
                if window.output_hw(x[2], x[3]) != Some((out[2], out[3])) {
                    return fail("window does not fit".into());
                }
            }
            FloatOp::MaxPool(window) | FloatOp::AvgPool { window, .. }
                if x.len() != 4
                    || out.len() != 4
                    || out[1] != x[1]
                    || window.output_hw(x[2], x[3]) != Some((out[2], out[3])) =>
            {
                return fail("pooling window does not fit".into());
            }
            FloatOp::MaxPool(window) | FloatOp::AvgPool { window, .. }
                if window.pads[0] >= window.kernel[0]
                    || window.pads[2] >= window.kernel[0]
                    || window.pads[1] >= window.kernel[1]
                    || window.pads[3] >= window.kernel[1] =>
            {
                return fail("padding as large as the kernel leaves windows with no input".into());
            }
            FloatOp::Activation(_) | FloatOp::Softmax { .. } if x_len != out_len => {
                return fail("length changes".into())
            }
            FloatOp::Softmax { axis } if *axis >= x.len() => return fail(format!("axis {axis}")),
            FloatOp::Add { .. } if shapes.len() != 2 || shapes[1] != x || out != x => {
                return fail("operands and output must have one shape".into())
            }
            FloatOp::Affine { mul, add } if mul.len() != x_len || add.len() != x_len || out_len != x_len => {
                return fail("constants do not match the input".into())
            }
            FloatOp::Product(p) => {
                let lens: Vec<usize> = shapes.iter().map(|s| s.iter().product()).collect();
                let (a, b, y) = p.lens();
                if lens != [a, b] || out_len != y {
                    return fail(format!("operands {lens:?} do not fit the product {p:?}"));
                }
            }
            FloatOp::ReduceSum { axes, .. } | FloatOp::ReduceMax { axes } => {
                let kept: usize = (0..x.len()).filter(|d| !axes.contains(d)).map(|d| x[d]).product();
                if !axes.windows(2).all(|w| w[0] < w[1]) || axes.iter().any(|&a| a >= x.len()) || kept != out_len {
                    return fail(format!("axes {axes:?}"));
                }
                if let FloatOp::ReduceSum { scale, .. } = op {
                    if !scale.is_finite() {
                        return fail(format!("scale {scale}"));
                    }
                }
            }
            FloatOp::Rewire { map } => {
                if map.len() != out_len {
                    return fail(format!("{} map entries", map.len()));
                }
                let lens: Vec<usize> = shapes.iter().map(|s| s.iter().product()).collect();
                if map.iter().flatten().any(|&(k, e)| lens.get(k as usize).is_none_or(|&l| e as usize >= l)) {
                    return fail("map reads outside its inputs".into());
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Number of weights and biases.
    pub fn parameter_count(&self) -> usize {
        // The ops an ONNX node became (one per sample of a batch) share its weights: the node's
        // name comes before the first `:` of theirs.
        let mut counted = std::collections::HashSet::new();
        self.nodes
            .iter()
            .filter_map(|n| match &n.op {
                FloatOp::Dense { weight, bias, .. } | FloatOp::Conv { weight, bias, .. } => {
                    counted.insert(n.name.split(':').next().unwrap_or_default()).then_some(weight.len() + bias.len())
                }
                _ => None,
            })
            .sum()
    }
}

/// Size figures of a graph, for `inspect` and the cost studies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct GraphStats {
    pub parameters: usize,
    /// Multiply-accumulates of one inference.
    pub macs: usize,
    /// Elements that pass through a nonlinearity (activation, max pool, softmax).
    pub nonlinear_elements: usize,
}

impl FloatGraph {
    /// Parameters, MACs and nonlinear elements of one inference.
    pub fn stats(&self) -> GraphStats {
        let mut s = GraphStats { parameters: self.parameter_count(), ..Default::default() };
        for n in &self.nodes {
            let out = self.tensors[n.output].len();
            match &n.op {
                FloatOp::Dense { inputs, .. } => s.macs += out * inputs,
                FloatOp::Conv { weight, bias, .. } => s.macs += out * (weight.len() / bias.len().max(1)),
                FloatOp::Activation(_) | FloatOp::MaxPool(_) | FloatOp::Softmax { .. } => s.nonlinear_elements += out,
                FloatOp::ReduceMax { .. } => s.nonlinear_elements += self.tensors[n.inputs[0]].len(),
                FloatOp::Product(p) => s.macs += out * p.k,
                _ => {}
            }
        }
        s
    }
}

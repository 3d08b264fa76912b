//! Structural checks of the models read from a `.zkq` file: every id, length and shape an op
//! relies on, so that a damaged or hostile file is refused with a reason instead of making the
//! inference (integer or float) or the circuit index out of bounds. The float graph and the
//! quantized model share the per-op rules.

use crate::error::{ModelError, Result};
use crate::graph::{FloatGraph, FloatOp};
use crate::quant::{Activation, QOp, QuantModel};
use crate::window::Window2d;

/// The widest value the integer pipeline represents (accumulators included).
const MAX_BITS: u32 = 62;
/// The largest tensor a model file may declare (bounds what inference allocates).
const MAX_ELEMENTS: usize = 1 << 28;

/// A node as the checks see it: its name and op name for messages, its tensors' shapes.
struct Node<'a> {
    what: &'static str,
    name: &'a str,
    op: &'static str,
    inputs: Vec<&'a [usize]>,
    output: &'a [usize],
}

impl Node<'_> {
    fn need(&self, ok: bool, reason: impl std::fmt::Display) -> Result<()> {
        if ok {
            return Ok(());
        }
        Err(ModelError::format(self.what, format!("node `{}` ({}): {reason}", self.name, self.op)))
    }

    fn x(&self) -> &[usize] {
        self.inputs[0]
    }

    fn len(shape: &[usize]) -> usize {
        shape.iter().product()
    }

    fn dense(&self, weight: usize, bias: usize, inputs: usize, outputs: usize) -> Result<()> {
        let (x, y) = (Self::len(self.x()), Self::len(self.output));
        self.need(inputs > 0 && outputs > 0, "empty layer")?;
        self.need(weight == inputs * outputs && bias == outputs, "weight or bias length")?;
        self.need(x % inputs == 0 && y == x / inputs * outputs, "input or output length")
    }

    /// `[1, C, H, W]` input and output related by `window`; returns the channels.
    fn windowed(&self, window: &Window2d) -> Result<(usize, usize)> {
        let (x, y) = (self.x(), self.output);
        self.need(x.len() == 4 && y.len() == 4 && x[0] == 1 && y[0] == 1, format!("shapes {x:?} → {y:?}"))?;
        let maps = window.dilations.iter().all(|&d| d > 0) && window.output_hw(x[2], x[3]) == Some((y[2], y[3]));
        self.need(maps, format!("window {window:?} does not map {x:?} to {y:?}"))?;
        Ok((x[1], y[1]))
    }

    fn conv(&self, window: &Window2d, group: usize, weight: usize, bias: usize) -> Result<()> {
        let (c_in, c_out) = self.windowed(window)?;
        self.need(group > 0 && c_in % group == 0 && c_out % group == 0, "channels do not split into groups")?;
        self.need(bias == c_out, "bias length")?;
        self.need(weight == c_out * (c_in / group) * window.kernel[0] * window.kernel[1], "weight length")
    }

    fn pool(&self, window: &Window2d) -> Result<()> {
        let (c_in, c_out) = self.windowed(window)?;
        self.need(c_in == c_out, "channels differ")
    }

    /// Every operand, every constant and the output have one length.
    fn elementwise(&self, operands: usize, constants: &[usize]) -> Result<()> {
        let n = Self::len(self.output);
        let ok = self.inputs.len() == operands
            && self.inputs.iter().all(|s| Self::len(s) == n)
            && constants.iter().all(|&c| c == n);
        self.need(ok, "operand, constant and output lengths differ")
    }

    fn softmax(&self, axis: usize) -> Result<()> {
        self.need(axis < self.x().len() && self.x() == self.output, "axis or shape")
    }

    fn product(&self, p: &crate::kernels::ProductShape) -> Result<()> {
        let (a, b, y) = p.lens();
        let lens: Vec<usize> = self.inputs.iter().map(|s| Self::len(s)).collect();
        self.need(lens == [a, b] && Self::len(self.output) == y, format!("operands do not fit the product {p:?}"))
    }

    fn reduce(&self, axes: &[usize]) -> Result<()> {
        let x = self.x();
        let kept: usize = (0..x.len()).filter(|d| !axes.contains(d)).map(|d| x[d]).product();
        let sorted = axes.windows(2).all(|w| w[0] < w[1]) && axes.iter().all(|&a| a < x.len());
        self.need(self.inputs.len() == 1 && sorted && kept == Self::len(self.output), format!("axes {axes:?}"))
    }

    fn rewire(&self, map: &[Option<(u32, u32)>]) -> Result<()> {
        self.need(map.len() == Self::len(self.output), "map length")?;
        let fits = |&(k, e): &(u32, u32)| self.inputs.get(k as usize).is_some_and(|s| (e as usize) < Self::len(s));
        self.need(map.iter().flatten().all(fits), "map reads outside its inputs")
    }
}

/// Ids in range, every node reading only inputs or earlier outputs, outputs computed.
fn check_order<'a>(
    what: &'static str,
    shapes: &[&[usize]],
    inputs: &[usize],
    outputs: &[usize],
    nodes: impl Iterator<Item = (&'a str, &'a [usize], usize)>,
) -> Result<()> {
    let bad = |m: String| Err(ModelError::format(what, m));
    let n = shapes.len();
    if inputs.is_empty() || !inputs.iter().chain(outputs).all(|&t| t < n) {
        return bad("input or output ids outside the tensor list".into());
    }
    let size =
        |s: &[usize]| s.iter().try_fold(1usize, |n, &d| n.checked_mul(d)).filter(|n| (1..=MAX_ELEMENTS).contains(n));
    if let Some(s) = shapes.iter().find(|s| size(s).is_none()) {
        return bad(format!("a tensor has the shape {s:?} (empty, or over {MAX_ELEMENTS} elements)"));
    }
    let mut ready = vec![false; n];
    inputs.iter().for_each(|&t| ready[t] = true);
    for (name, reads, output) in nodes {
        if reads.is_empty() || !reads.iter().all(|&t| t < n && ready[t]) || output >= n {
            return bad(format!("node `{name}` reads a tensor that is missing or not computed yet"));
        }
        ready[output] = true;
    }
    if !outputs.iter().all(|&t| ready[t]) {
        return bad("an output is never computed".into());
    }
    Ok(())
}

impl QuantModel {
    /// Checks that the model is one the integer inference and the circuit can run as written.
    pub fn validate(&self) -> Result<()> {
        const WHAT: &str = "quantized model";
        let shapes: Vec<&[usize]> = self.tensors.iter().map(|t| t.shape.as_slice()).collect();
        let order = self.nodes.iter().map(|n| (n.name.as_str(), n.inputs.as_slice(), n.output));
        check_order(WHAT, &shapes, &self.inputs, &self.outputs, order)?;
        if let Some(t) = self.tensors.iter().find(|t| !(1..=MAX_BITS).contains(&t.bits) || t.frac_bits.abs() > 64) {
            return Err(ModelError::format(
                WHAT,
                format!("tensor `{}`: {} bits at 2^-{}", t.name, t.bits, t.frac_bits),
            ));
        }
        for n in &self.nodes {
            let inputs = n.inputs.iter().map(|&t| shapes[t]).collect();
            let node = Node { what: WHAT, name: &n.name, op: n.op.name(), inputs, output: shapes[n.output] };
            match &n.op {
                QOp::Dense { weight, bias, inputs, outputs, .. } => {
                    node.dense(weight.len(), bias.len(), *inputs, *outputs)?
                }
                QOp::Conv { weight, bias, window, group, .. } => node.conv(window, *group, weight.len(), bias.len())?,
                QOp::Requant { mult, shift, domain, activation } => {
                    node.elementwise(1, &[])?;
                    node.need(*shift < 62 && mult.unsigned_abs() < 1 << 30, "rescale out of range")?;
                    node.need(domain.0 <= domain.1 && domain.1 - domain.0 < 1 << 32, "empty or huge domain")?;
                    if let Activation::Table { values, .. } = activation {
                        node.need(values.len() as i64 == domain.1 - domain.0 + 1, "table does not cover its domain")?;
                    }
                }
                QOp::Add { .. } => node.elementwise(2, &[])?,
                QOp::Affine { mul, add } => node.elementwise(1, &[mul.len(), add.len()])?,
                QOp::MaxPool(window) | QOp::AvgPool { window, .. } => node.pool(window)?,
                QOp::Softmax { axis, exp_table } => {
                    node.softmax(*axis)?;
                    node.need(!exp_table.is_empty(), "empty exponential table")?;
                }
                QOp::Product(p) => node.product(p)?,
                QOp::ReduceSum { axes } | QOp::ReduceMax { axes } => node.reduce(axes)?,
                QOp::Rewire { map } => node.rewire(map)?,
            }
        }
        Ok(())
    }
}

impl FloatGraph {
    /// Checks that the float reference inference can run the graph as written.
    pub fn validate(&self) -> Result<()> {
        const WHAT: &str = "float graph";
        let shapes: Vec<&[usize]> = self.tensors.iter().map(|t| t.shape.as_slice()).collect();
        let order = self.nodes.iter().map(|n| (n.name.as_str(), n.inputs.as_slice(), n.output));
        check_order(WHAT, &shapes, &self.inputs, &self.outputs, order)?;
        for n in &self.nodes {
            let inputs = n.inputs.iter().map(|&t| shapes[t]).collect();
            let node = Node { what: WHAT, name: &n.name, op: n.op.name(), inputs, output: shapes[n.output] };
            match &n.op {
                FloatOp::Dense { weight, bias, inputs, outputs } => {
                    node.dense(weight.len(), bias.len(), *inputs, *outputs)?
                }
                FloatOp::Conv { weight, bias, window, group } => node.conv(window, *group, weight.len(), bias.len())?,
                FloatOp::Activation(_) => node.elementwise(1, &[])?,
                FloatOp::Add { .. } => node.elementwise(2, &[])?,
                FloatOp::Affine { mul, add } => node.elementwise(1, &[mul.len(), add.len()])?,
                FloatOp::MaxPool(window) | FloatOp::AvgPool { window, .. } => node.pool(window)?,
                FloatOp::Softmax { axis } => node.softmax(*axis)?,
                FloatOp::Product(p) => node.product(p)?,
                FloatOp::ReduceSum { axes, .. } | FloatOp::ReduceMax { axes } => node.reduce(axes)?,
                FloatOp::Rewire { map } => node.rewire(map)?,
            }
        }
        Ok(())
    }
}

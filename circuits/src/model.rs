//! The circuit of a whole quantized model: chip calls per op, wired by copy constraints from
//! each op's output cells to the next op's inputs, with the model input (when public) and output
//! bound to the instance column (inputs first, then outputs, flattened in model order). Every
//! model input cell, public or private, is copied into an identity requantization row that
//! proves it lies in its declared signed range.
//!
//! Each chip may have several *lanes* (copies of its columns side by side); work is placed on
//! the lane with the fewest rows so far, so a layout trades rows for columns as the planner
//! chooses. halo2-axiom's `SimpleFloorPlanner` places every region at row 0, so each lane keeps
//! its own row cursor and regions name absolute rows.
//!
//! The witness is the integer inference trace: every value laid out comes from
//! `zkinfer_quant_models::infer::run`, so proving follows exactly what `zkinfer run` computed.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use halo2_proofs::circuit::{Cell, Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Advice, Circuit, Column, ConstraintSystem, Error, Fixed, Instance};
use zkinfer_quant_models::infer::Trace;
use zkinfer_quant_models::kernels::reduce_groups;
use zkinfer_quant_models::quant::{saturates, signed_range, Activation, QOp, QuantModel};
use zkinfer_quant_models::window::Window2d;

use crate::chips::conv::{conv_jobs, conv_jobs_shape};
use crate::chips::dense::{DenseConfig, DenseJob, DenseShape, DotJob};
use crate::chips::limbs::{limbs, limbs_above};
use crate::chips::maxpool::{MaxPoolConfig, Window};
use crate::chips::product::{ProductConfig, ProductJob};
use crate::chips::requant::{Output, RequantConfig, RequantParams, RequantShape};
use crate::chips::softmax::{SoftmaxConfig, SoftmaxGroup, SoftmaxParams, SoftmaxRow, SoftmaxShape, MAX_INPUT_BITS};
use crate::field::fe;
use crate::table::{LookupTable, TableConfig};

/// Why a model cannot be laid out as a circuit.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CircuitError {
    /// The op (or its size) has no circuit layout.
    #[error("op `{op}` at node `{node}` cannot be laid out as a circuit")]
    UnsupportedOp { op: String, node: String },
    /// A value the integer inference clamped cannot be proven (see
    /// [`zkinfer_quant_models::quant::saturates`], the one rule for it).
    #[error(
        "`{tensor}`: {count} value(s) saturated and cannot be proven (first: element {} = {}, provable range [{}, {}])",
        first.0, first.1, range.0, range.1
    )]
    Saturated { tensor: String, count: usize, first: (usize, i64), range: (i64, i64) },
    /// Layout parameters outside what the circuit supports.
    #[error("invalid layout: {0}")]
    BadLayout(String),
    /// A trace that does not belong to the model.
    #[error("the trace does not match the model: {0}")]
    TraceMismatch(String),
}

/// Layout parameters chosen by the planner. They decide the circuit's columns and instance,
/// so they are part of the model's identity (hashed into the model id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LayoutParams {
    /// Packing of the dense chip.
    pub dense: DenseShape,
    /// Lanes of each chip (0: the model does not use it).
    pub dense_lanes: usize,
    pub requant_lanes: usize,
    pub maxpool_lanes: usize,
    pub softmax_lanes: usize,
    /// Lanes of the product chip (products of two computed tensors).
    #[serde(default)]
    pub product_lanes: usize,
    /// Limb columns of the requant chip.
    pub requant: RequantShape,
    /// Limb columns of the softmax chip.
    pub softmax: SoftmaxShape,
    /// Whether a fixed cell holding 0 exists (zero padding copies it).
    pub zero_cell: bool,
    /// Width of range-checked limbs: the table holds `[0, 2^limb_bits)` ranges.
    pub limb_bits: u32,
    /// Whether the model input is part of the public instance. When false the buyer sees only
    /// the output and the model id; the input stays the provider's witness.
    pub public_input: bool,
}

/// The widest packing a layout may ask for (bounds what a key file can make `configure` allocate).
pub const MAX_DENSE_PACKING: usize = 256;
const MAX_LANES: usize = 64;

impl LayoutParams {
    /// Rejects layouts no planner produces (a corrupt or hostile key file).
    pub fn check(&self) -> Result<(), CircuitError> {
        let DenseShape { width, outputs } = self.dense;
        let bad = |m: String| Err(CircuitError::BadLayout(m));
        if !(1..=MAX_DENSE_PACKING).contains(&width) || !(1..=MAX_DENSE_PACKING).contains(&outputs) {
            return bad(format!("dense packing {width} x {outputs} is outside 1..={MAX_DENSE_PACKING}"));
        }
        let lanes = [self.dense_lanes, self.requant_lanes, self.maxpool_lanes, self.softmax_lanes, self.product_lanes];
        if lanes.iter().any(|&l| l > MAX_LANES) {
            return bad(format!("more than {MAX_LANES} lanes"));
        }
        let RequantShape { r_limbs, u_limbs, v_limbs, .. } = self.requant;
        if r_limbs > 8 || u_limbs > 8 || v_limbs > 8 || !(1..=20).contains(&self.limb_bits) {
            return bad(format!("requant limbs {:?} of {} bits", self.requant, self.limb_bits));
        }
        if self.softmax.r_limbs > 8 || self.softmax.y_limbs > 8 {
            return bad(format!("softmax limbs {:?}", self.softmax));
        }
        Ok(())
    }
}

impl Default for LayoutParams {
    /// A middle-of-the-road layout (the planner chooses per model).
    fn default() -> Self {
        LayoutParams {
            dense: DenseShape::default(),
            dense_lanes: 1,
            requant_lanes: 1,
            maxpool_lanes: 1,
            softmax_lanes: 0,
            product_lanes: 0,
            requant: RequantShape { r_limbs: 2, u_limbs: 1, v_limbs: 1, table: true },
            softmax: SoftmaxShape::default(),
            zero_cell: false,
            limb_bits: 8,
            public_input: true,
        }
    }
}

/// Rows used by the tallest lane of each chip and by the lookup table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RowBudget {
    pub input: usize,
    /// Public values (inputs when public, outputs) in the instance column.
    pub instance: usize,
    pub dense: usize,
    pub requant: usize,
    pub maxpool: usize,
    pub softmax: usize,
    pub product: usize,
    pub table: usize,
}

impl RowBudget {
    /// The tallest of them: the circuit's height before blinding rows.
    pub fn max(&self) -> usize {
        let chips = self.dense.max(self.requant).max(self.maxpool).max(self.softmax).max(self.product);
        self.input.max(self.instance).max(chips).max(self.table)
    }
}

/// Columns of the model circuit.
#[derive(Clone, Debug)]
pub struct ModelConfig {
    input: Column<Advice>,
    instance: Column<Instance>,
    table: TableConfig,
    dense: Vec<DenseConfig>,
    requant: Vec<RequantConfig>,
    maxpool: Vec<MaxPoolConfig>,
    softmax: Vec<SoftmaxConfig>,
    product: Vec<ProductConfig>,
    zero: Option<Column<Fixed>>,
}

/// What a node needs from the shared table and its constants.
#[derive(Clone, Debug)]
enum NodePlan {
    Requant(RequantParams),
    /// The range tag that bounds differences of the pooled tensor's values.
    MaxPool(u64),
    /// The rounded-mean division per window size `n`.
    AvgPool(BTreeMap<usize, RequantParams>),
    /// The exponential and division constants, and the range tag of the group maximum.
    Softmax(SoftmaxParams, u64),
    Wiring,
}

/// Column needs of a model beyond its chips' lanes: limb columns of the requant and softmax
/// chips at the layout's limb width, and whether zero padding needs a constant cell.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ColumnNeeds {
    pub requant: RequantShape,
    pub softmax: SoftmaxShape,
    pub zero_cell: bool,
}

/// The per-node plans, the table they need, and the columns they use.
struct Plans {
    /// The range check of each model input: an identity requantization row per element,
    /// which proves `v ∈ [-2^(bits-1), 2^(bits-1))` with the requant chip's limbs.
    inputs: Vec<RequantParams>,
    nodes: Vec<NodePlan>,
    table: LookupTable,
    needs: ColumnNeeds,
}

/// `t ∈ [-h, h)` for a symmetric power-of-two domain.
fn half_domain(domain: (i64, i64)) -> Option<i64> {
    let h = -domain.0;
    (h > 0 && h.count_ones() == 1 && domain.1 == h - 1).then_some(h)
}

fn plan_nodes(model: &QuantModel, limb_bits: u32) -> Result<Plans, CircuitError> {
    let mut table = LookupTable::default();
    let mut shape = RequantShape::default();
    let (mut softmax, mut zero_cell) = (SoftmaxShape::default(), false);
    let mut nodes = Vec::with_capacity(model.nodes.len());
    // `acc_bits`: the accumulator's width, which bounds how far below the domain a ReLU's
    // input can go.
    let mut requant = |table: &mut LookupTable, mult, half, divisor, domain, activation: &Activation, acc_bits| {
        let direct = match activation {
            Activation::Relu => Some(Output::Relu),
            Activation::Identity => Some(Output::Identity),
            Activation::Table { .. } => None,
        };
        let (output, h, u_limbs) = match (direct, half_domain(domain)) {
            (Some(output), Some(h)) => (output, h, limbs(table, h, limb_bits)),
            _ => (Output::Table(table.function_tag(domain, activation)), 0, Vec::new()),
        };
        let (low, v_limbs) = match output {
            Output::Relu => {
                let low = relu_low_bound(mult, half, divisor, acc_bits, h);
                (low, limbs_above(table, low, h.trailing_zeros(), limb_bits))
            }
            _ => (h, Vec::new()),
        };
        let r_limbs = limbs(table, divisor, limb_bits);
        let params = RequantParams { mult, half, divisor, output, h, low, r_limbs, u_limbs, v_limbs };
        shape.r_limbs = shape.r_limbs.max(params.r_limbs.len());
        shape.u_limbs = shape.u_limbs.max(params.u_limbs.len());
        shape.v_limbs = shape.v_limbs.max(params.v_limbs.len());
        shape.table |= matches!(output, Output::Table(_));
        params
    };
    // Every model input cell, public or private, is range-checked to its declared width.
    let mut inputs = Vec::with_capacity(model.inputs.len());
    for &t in &model.inputs {
        let t = &model.tensors[t];
        if !(1..=MAX_MODEL_INPUT_BITS).contains(&t.bits) {
            return Err(CircuitError::UnsupportedOp {
                op: format!("model input of {} bits (at most {MAX_MODEL_INPUT_BITS})", t.bits),
                node: t.name.clone(),
            });
        }
        inputs.push(requant(&mut table, 1, 0, 1, signed_range(t.bits), &Activation::Identity, 0));
    }
    for node in &model.nodes {
        nodes.push(match &node.op {
            QOp::Requant { mult, shift, domain, activation } => {
                let divisor = 1i64 << shift;
                let acc_bits = model.tensors[node.inputs[0]].bits;
                NodePlan::Requant(requant(&mut table, *mult, divisor / 2, divisor, *domain, activation, acc_bits))
            }
            QOp::AvgPool { window, count_include_pad } => {
                let (i, o) = (&model.tensors[node.inputs[0]].shape, &model.tensors[node.output].shape);
                let domain = signed_range(model.tensors[node.output].bits);
                let mut by_n = BTreeMap::new();
                for taps in pool_windows(i, o, window) {
                    let n = avg_divisor(&taps, window, *count_include_pad);
                    if let std::collections::btree_map::Entry::Vacant(e) = by_n.entry(n) {
                        let (two_n, n) = (2 * n as i64, n as i64);
                        e.insert(requant(&mut table, 2, n, two_n, domain, &Activation::Identity, 0));
                    }
                }
                NodePlan::AvgPool(by_n)
            }
            QOp::MaxPool(_) | QOp::ReduceMax { .. } => {
                NodePlan::MaxPool(table.range_tag(1i64 << model.tensors[node.inputs[0]].bits))
            }
            QOp::Softmax { axis, exp_table } => {
                let (x, y) = (&model.tensors[node.inputs[0]], &model.tensors[node.output]);
                let n = x.shape.get(*axis).copied().unwrap_or(0);
                let params =
                    SoftmaxParams::new(&mut table, exp_table, x.bits, n, y.frac_bits, limb_bits).ok_or_else(|| {
                        CircuitError::UnsupportedOp {
                            op: format!("Softmax over {n} inputs of {} bits (at most {MAX_INPUT_BITS})", x.bits),
                            node: node.name.clone(),
                        }
                    })?;
                softmax.r_limbs = softmax.r_limbs.max(params.shape().r_limbs);
                softmax.y_limbs = softmax.y_limbs.max(params.shape().y_limbs);
                NodePlan::Softmax(params, table.range_tag(1i64 << x.bits))
            }
            QOp::Rewire { map } => {
                zero_cell |= map.iter().any(Option::is_none);
                NodePlan::Wiring
            }
            QOp::Dense { .. }
            | QOp::Conv { .. }
            | QOp::Add { .. }
            | QOp::Affine { .. }
            | QOp::Product(_)
            | QOp::ReduceSum { .. } => NodePlan::Wiring,
        });
    }
    Ok(Plans { inputs, nodes, table, needs: ColumnNeeds { requant: shape, softmax, zero_cell } })
}

/// The widest model input the range check accepts (limbs of at most 8 columns).
pub const MAX_MODEL_INPUT_BITS: u32 = 32;

/// The smallest power of two `L ≥ h` with `t ≥ -L` for every quotient
/// `t = floor((acc · mult + half) / divisor)` of an accumulator of `acc_bits` signed bits.
fn relu_low_bound(mult: i64, half: i64, divisor: i64, acc_bits: u32, h: i64) -> i64 {
    let reach = 1i128 << acc_bits.clamp(1, 62).saturating_sub(1);
    let t = |acc: i128| (acc * mult as i128 + half as i128).div_euclid(divisor as i128);
    let lowest = t(-reach).min(t(reach - 1));
    let needed = (-lowest).max(h as i128).max(1) as u128;
    needed.next_power_of_two().min(1 << 62) as i64
}

/// The taps inside the input of each pooling window, as input element indices.
fn pool_windows(input: &[usize], output: &[usize], window: &Window2d) -> Vec<Vec<usize>> {
    let (c, h, w, oh, ow) = (input[1], input[2], input[3], output[2], output[3]);
    let mut out = Vec::with_capacity(c * oh * ow);
    for ch in 0..c {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut taps = Vec::new();
                for ky in 0..window.kernel[0] {
                    for kx in 0..window.kernel[1] {
                        if let Some((iy, ix)) = window.input_at(oy, ox, ky, kx, h, w) {
                            taps.push((ch * h + iy) * w + ix);
                        }
                    }
                }
                out.push(taps);
            }
        }
    }
    out
}

/// The element indices of each softmax group along `axis`, in row-major order of the others.
fn axis_groups(shape: &[usize], axis: usize) -> Vec<Vec<usize>> {
    let n = shape.get(axis).copied().unwrap_or(1);
    let inner: usize = shape.iter().skip(axis + 1).product();
    let outer: usize = shape.iter().take(axis).product();
    (0..outer).flat_map(|o| (0..inner).map(move |i| (0..n).map(|k| (o * n + k) * inner + i).collect())).collect()
}

/// The divisor of an average-pool window: the kernel area, or the taps inside the input.
fn avg_divisor<T>(taps: &[T], window: &Window2d, count_include_pad: bool) -> usize {
    if count_include_pad {
        window.kernel[0] * window.kernel[1]
    } else {
        taps.len()
    }
}

/// `0..n` cut into at most `parts` contiguous pieces of near-equal size.
fn chunks(n: usize, parts: usize) -> impl Iterator<Item = Range<usize>> {
    let size = n.div_ceil(parts.max(1)).max(1);
    (0..n).step_by(size).map(move |s| s..(s + size).min(n))
}

/// Row cursors of a chip's lanes; work goes to the lowest lane.
#[derive(Clone, Debug)]
struct Lanes(Vec<usize>);

impl Lanes {
    fn new(n: usize) -> Self {
        Lanes(vec![0; n])
    }

    /// Reserves `rows` on the least-used lane: `(lane, first row)`.
    fn place(&mut self, rows: usize) -> Result<(usize, usize), Error> {
        let (lane, &start) = self.0.iter().enumerate().min_by_key(|(_, &h)| h).ok_or(Error::Synthesis)?;
        self.0[lane] += rows;
        Ok((lane, start))
    }

    fn height(&self) -> usize {
        self.0.iter().copied().max().unwrap_or(0)
    }
}

/// Elementwise `out[i] = bias[i] + Σ_j weights[j][i] · x_j[i]` over `inputs` operands (each
/// `n` long, concatenated in `x`), `group` elements per job so one packed row serves several.
fn elementwise_jobs(x: &[i64], n: usize, weights: &[&[i64]], bias: &[i64], group: usize) -> Vec<DotJob> {
    let operands = weights.len();
    chunks(n, n.div_ceil(group.max(1)))
        .map(|c| {
            let g = c.len();
            let taps: Vec<usize> = (0..operands).flat_map(|j| c.clone().map(move |i| j * n + i)).collect();
            // Output `o` reads tap `j·g + o` with its operand's weight; every other tap weighs 0.
            let weight = (0..g)
                .flat_map(|o| (0..operands * g).map(move |t| (o, t)))
                .map(|(o, t)| if t % g == o { weights[t / g][c.start + o] } else { 0 })
                .collect();
            DotJob {
                values: taps.iter().map(|&t| x[t]).collect(),
                taps: taps.into_iter().map(Some).collect(),
                weight,
                bias: bias[c.clone()].to_vec(),
                outputs: c.collect(),
            }
        })
        .collect()
}

/// One plain sum per group of input elements (reductions, average-pool windows before their
/// division): weights 1, no bias.
fn sum_jobs(groups: Vec<Vec<usize>>, x: &[i64]) -> Vec<DotJob> {
    groups
        .into_iter()
        .enumerate()
        .map(|(o, taps)| DotJob {
            values: taps.iter().map(|&i| x[i]).collect(),
            weight: vec![1; taps.len()],
            taps: taps.into_iter().map(Some).collect(),
            bias: vec![0],
            outputs: vec![o],
        })
        .collect()
}

/// The dot-product jobs of a node (dense blocks of outputs split across lanes, convolution
/// pixels, average-pool windows, elementwise affine maps and sums), reading input values from
/// `x`: the node's inputs concatenated.
fn dot_jobs(
    model: &QuantModel,
    node: &zkinfer_quant_models::quant::QNode,
    x: &[i64],
    lanes: usize,
    packing: DenseShape,
) -> Vec<DotJob> {
    let (input, output) = (&model.tensors[node.inputs[0]].shape, &model.tensors[node.output].shape);
    let n = model.tensors[node.output].len();
    match &node.op {
        QOp::Affine { mul, add } => elementwise_jobs(x, n, &[mul], add, packing.width.min(packing.outputs)),
        QOp::Add { a_mult, b_mult } => {
            let (a, b) = (vec![*a_mult; n], vec![*b_mult; n]);
            elementwise_jobs(x, n, &[&a, &b], &vec![0; n], (packing.width / 2).max(1).min(packing.outputs))
        }
        QOp::Dense { weight, bias, inputs, outputs, .. } => {
            let (n, m) = (*inputs, *outputs);
            let mut jobs = Vec::new();
            for (b, row) in x.chunks(n).enumerate() {
                for outs in chunks(m, lanes) {
                    jobs.push(DotJob {
                        taps: (b * n..(b + 1) * n).map(Some).collect(),
                        values: row.to_vec(),
                        weight: weight[outs.start * n..outs.end * n].to_vec(),
                        bias: bias[outs.clone()].to_vec(),
                        outputs: outs.map(|o| b * m + o).collect(),
                    });
                }
            }
            jobs
        }
        QOp::Conv { weight, bias, window, group, .. } => {
            conv_jobs(&conv_jobs_shape(input, output, *group, window), window, weight, bias, x)
        }
        QOp::ReduceSum { axes } => sum_jobs(reduce_groups(input, axes), x),
        QOp::AvgPool { window, .. } => sum_jobs(pool_windows(input, output, window), x),
        _ => Vec::new(),
    }
}

/// Where each piece of work goes, in the order synthesis lays it out.
#[derive(Clone, Debug, Default)]
struct Placement {
    dense: Vec<(usize, usize)>,
    requant: Vec<(usize, usize)>,
    maxpool: Vec<(usize, usize)>,
    softmax: Vec<(usize, usize)>,
    product: Vec<(usize, usize)>,
    budget: RowBudget,
}

/// A quantized model with one inference's trace.
#[derive(Clone)]
pub struct ModelCircuit {
    model: Arc<QuantModel>,
    trace: Arc<Trace>,
    layout: LayoutParams,
    table: LookupTable,
    /// Per model input: the identity requantization that range-checks it.
    input_checks: Vec<RequantParams>,
    /// Per node index: its constants, with tags resolved in `table`.
    plans: Vec<NodePlan>,
    needs: ColumnNeeds,
    placement: Arc<Placement>,
}

impl ModelCircuit {
    /// Checks that every op has a chip, the layout fits the model and the trace is provable,
    /// and builds the lookup table.
    pub fn new(model: Arc<QuantModel>, trace: Arc<Trace>, layout: LayoutParams) -> Result<Self, CircuitError> {
        Self::build(model, trace, layout, true)
    }

    /// The circuit of `model` over any trace of the right shape, without the checks that the
    /// trace is provable (inputs in range, no saturation). Only the constraints decide: this is
    /// how tests play a dishonest prover that tries a witness the honest path refuses.
    pub fn new_unchecked(
        model: Arc<QuantModel>,
        trace: Arc<Trace>,
        layout: LayoutParams,
    ) -> Result<Self, CircuitError> {
        Self::build(model, trace, layout, false)
    }

    /// The circuit of `model` without a witness, for key generation: the keys depend only on
    /// the model and the layout, never on an input.
    pub fn for_keygen(model: Arc<QuantModel>, layout: LayoutParams) -> Result<Self, CircuitError> {
        let zeros = Trace { values: model.tensors.iter().map(|t| vec![0; t.len()]).collect(), saturations: Vec::new() };
        Self::build(model, Arc::new(zeros), layout, false)
    }

    fn build(
        model: Arc<QuantModel>,
        trace: Arc<Trace>,
        layout: LayoutParams,
        check_saturation: bool,
    ) -> Result<Self, CircuitError> {
        layout.check()?;
        if trace.values.len() != model.tensors.len() {
            return Err(CircuitError::TraceMismatch(format!(
                "{} tensors, trace has {}",
                model.tensors.len(),
                trace.values.len()
            )));
        }
        for (t, v) in model.tensors.iter().zip(&trace.values) {
            if v.len() != t.len() {
                return Err(CircuitError::TraceMismatch(format!(
                    "tensor `{}` has {} values, expected {}",
                    t.name,
                    v.len(),
                    t.len()
                )));
            }
        }
        let Plans { inputs: input_checks, nodes: plans, table, needs } = plan_nodes(&model, layout.limb_bits)?;
        let need = |ok: bool, what: &str| if ok { Ok(()) } else { Err(CircuitError::BadLayout(what.to_string())) };
        let (requant, softmax) = (needs.requant, needs.softmax);
        need(requant.r_limbs <= layout.requant.r_limbs, "too few remainder limbs")?;
        need(requant.u_limbs <= layout.requant.u_limbs, "too few domain limbs")?;
        need(requant.v_limbs <= layout.requant.v_limbs, "too few negative-side limbs")?;
        need(!requant.table || layout.requant.table, "tabulated activations need the table lookup")?;
        need(softmax.r_limbs <= layout.softmax.r_limbs, "too few softmax remainder limbs")?;
        need(softmax.y_limbs <= layout.softmax.y_limbs, "too few softmax output limbs")?;
        need(!needs.zero_cell || layout.zero_cell, "zero padding needs the zero cell")?;
        need(layout.requant_lanes > 0, "the model input's range check needs a requant lane")?;
        if check_saturation {
            for &t in &model.inputs {
                let (lo, hi) = model.tensors[t].range();
                if let Some((i, v)) = trace.values[t].iter().enumerate().find(|(_, v)| !(lo..=hi).contains(*v)) {
                    return Err(CircuitError::TraceMismatch(format!(
                        "input `{}`[{i}] = {v} is outside its range [{lo}, {hi}]",
                        model.tensors[t].name
                    )));
                }
            }
        }
        for (node, plan) in model.nodes.iter().zip(&plans) {
            let lanes = match node.op {
                QOp::Dense { .. } | QOp::Conv { .. } | QOp::Add { .. } | QOp::Affine { .. } | QOp::ReduceSum { .. } => {
                    layout.dense_lanes
                }
                QOp::Product(_) => layout.product_lanes,
                QOp::AvgPool { .. } => layout.dense_lanes.min(layout.requant_lanes),
                QOp::Requant { .. } => layout.requant_lanes,
                QOp::MaxPool(_) | QOp::ReduceMax { .. } => layout.maxpool_lanes,
                QOp::Softmax { .. } => layout.maxpool_lanes.min(layout.softmax_lanes),
                _ => 1,
            };
            need(lanes > 0, &format!("no lane for node `{}`", node.name))?;
            if let (NodePlan::Requant(params), QOp::Requant { domain, activation, .. }, true) =
                (plan, &node.op, check_saturation)
            {
                let out = &model.tensors[node.output];
                let quotients = trace.values[node.inputs[0]].iter().map(|&a| params.quotient(a).0);
                let clamped: Vec<(usize, i64)> =
                    quotients.enumerate().filter(|&(_, t)| saturates(t, *domain, activation)).collect();
                if let Some(&first) = clamped.first() {
                    return Err(CircuitError::Saturated {
                        tensor: out.name.clone(),
                        count: clamped.len(),
                        first,
                        range: *domain,
                    });
                }
            }
        }
        let placement = Arc::new(Placement::default());
        let mut circuit = ModelCircuit { model, trace, layout, table, input_checks, plans, needs, placement };
        circuit.placement = Arc::new(circuit.place());
        Ok(circuit)
    }

    /// Places every piece of work on its chip's lanes, exactly as synthesis will.
    fn place(&self) -> Placement {
        let layout = &self.layout;
        let (mut dense, mut requant) = (Lanes::new(layout.dense_lanes), Lanes::new(layout.requant_lanes));
        let (mut maxpool, mut softmax) = (Lanes::new(layout.maxpool_lanes), Lanes::new(layout.softmax_lanes));
        let mut product = Lanes::new(layout.product_lanes);
        let mut p = Placement::default();
        for &t in &self.model.inputs {
            for c in chunks(self.model.tensors[t].len(), layout.requant_lanes) {
                p.requant.extend(requant.place(c.len()));
            }
        }
        let zeros = |t: usize| vec![0; self.model.tensors[t].len()];
        for (node, plan) in self.model.nodes.iter().zip(&self.plans) {
            let x: Vec<i64> = node.inputs.iter().flat_map(|&t| zeros(t)).collect();
            for job in dot_jobs(&self.model, node, &x, layout.dense_lanes, layout.dense) {
                p.dense.extend(dense.place(layout.dense.rows(job.values.len(), job.bias.len())));
                if let NodePlan::AvgPool(_) = plan {
                    p.requant.extend(requant.place(1));
                }
            }
            match (&node.op, plan) {
                (QOp::Requant { .. }, _) => {
                    for c in chunks(self.model.tensors[node.output].len(), layout.requant_lanes) {
                        p.requant.extend(requant.place(c.len()));
                    }
                }
                (QOp::Product(shape), _) => {
                    for c in chunks(shape.lens().2, layout.product_lanes) {
                        p.product.extend(product.place(c.len() * ProductConfig::rows(shape.k)));
                    }
                }
                (QOp::MaxPool(_) | QOp::ReduceMax { .. }, _) => {
                    let windows = self.max_windows(node);
                    for c in chunks(windows.len(), layout.maxpool_lanes) {
                        p.maxpool.extend(maxpool.place(MaxPoolConfig::rows(windows[c].iter().map(Vec::len))));
                    }
                }
                (QOp::Softmax { axis, .. }, _) => {
                    let groups = axis_groups(&self.model.tensors[node.inputs[0]].shape, *axis);
                    for c in chunks(groups.len(), layout.softmax_lanes.min(layout.maxpool_lanes)) {
                        let sizes = || groups[c.clone()].iter().map(Vec::len);
                        p.maxpool.extend(maxpool.place(MaxPoolConfig::rows(sizes())));
                        p.softmax.extend(softmax.place(SoftmaxConfig::rows(sizes())));
                    }
                }
                _ => {}
            }
        }
        let input = self.model.inputs.iter().map(|&t| self.model.tensors[t].len()).sum();
        let public = if layout.public_input { input } else { 0 };
        let outputs: usize = self.model.outputs.iter().map(|&t| self.model.tensors[t].len()).sum();
        p.budget = RowBudget {
            input,
            instance: public + outputs,
            dense: dense.height(),
            requant: requant.height(),
            maxpool: maxpool.height(),
            softmax: softmax.height(),
            product: product.height(),
            table: self.table.len(),
        };
        p
    }

    /// The input elements of each output of a maximum (a max-pool window, a reduced group).
    fn max_windows(&self, node: &zkinfer_quant_models::quant::QNode) -> Vec<Vec<usize>> {
        let input = &self.model.tensors[node.inputs[0]].shape;
        match &node.op {
            QOp::MaxPool(window) => pool_windows(input, &self.model.tensors[node.output].shape, window),
            QOp::ReduceMax { axes } => reduce_groups(input, axes),
            _ => Vec::new(),
        }
    }

    /// The limb columns and constant cell this model's ops need at the layout's limb width.
    pub fn column_needs(&self) -> ColumnNeeds {
        self.needs
    }

    /// The layout the circuit was built with.
    pub fn layout(&self) -> LayoutParams {
        self.layout
    }

    /// The public instance: model inputs (when public) then outputs, flattened.
    pub fn instance(&self) -> Vec<Fr> {
        let inputs = if self.layout.public_input { &self.model.inputs[..] } else { &[] };
        let ids = inputs.iter().chain(&self.model.outputs);
        ids.flat_map(|&t| self.trace.values[t].iter().map(|&v| fe(v))).collect()
    }

    /// Rows the layout needs, without blinding rows: the tallest lane's (or the table's).
    pub fn rows(&self) -> usize {
        self.placement.budget.max()
    }

    /// Rows each chip (its tallest lane) and the table need.
    pub fn row_budget(&self) -> RowBudget {
        self.placement.budget
    }

    /// Smallest `k` whose `2^k` rows hold the layout and halo2's blinding rows.
    pub fn min_k(&self) -> u32 {
        let needed = self.rows() + BLINDING_ROWS;
        needed.next_power_of_two().trailing_zeros().max(4)
    }
}

/// Rows halo2 reserves at the bottom for blinding (with the degree-4 constraint system), plus
/// one spare.
pub const BLINDING_ROWS: usize = 10;

impl Circuit<Fr> for ModelCircuit {
    type Config = ModelConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = LayoutParams;

    fn without_witnesses(&self) -> Self {
        self.clone()
    }

    fn params(&self) -> LayoutParams {
        self.layout
    }

    fn configure_with_params(meta: &mut ConstraintSystem<Fr>, params: LayoutParams) -> ModelConfig {
        let table = TableConfig::configure(meta);
        let input = meta.advice_column();
        meta.enable_equality(input);
        let instance = meta.instance_column();
        meta.enable_equality(instance);
        let config = ModelConfig {
            input,
            instance,
            table,
            dense: (0..params.dense_lanes).map(|_| DenseConfig::configure(meta, params.dense)).collect(),
            requant: (0..params.requant_lanes).map(|_| RequantConfig::configure(meta, table, params.requant)).collect(),
            maxpool: (0..params.maxpool_lanes).map(|_| MaxPoolConfig::configure(meta, table)).collect(),
            softmax: (0..params.softmax_lanes).map(|_| SoftmaxConfig::configure(meta, table, params.softmax)).collect(),
            product: (0..params.product_lanes).map(|_| ProductConfig::configure(meta)).collect(),
            zero: params.zero_cell.then(|| {
                let zero = meta.fixed_column();
                meta.enable_equality(zero);
                zero
            }),
        };
        // The quotient lives on the smallest power-of-two multiple of the rows above
        // `(degree − 1)·n`. Raising the degree to that power plus one costs no larger domain
        // and lets each grand product of the copy constraints cover more columns (degree − 2):
        // fewer commitments, FFTs and openings.
        let degree = meta.degree();
        meta.set_minimum_degree((degree - 1).next_power_of_two() + 1);
        config
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> ModelConfig {
        Self::configure_with_params(meta, LayoutParams::default())
    }

    fn synthesize(&self, config: ModelConfig, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        self.table.assign(&mut layouter, config.table)?;
        let model = &self.model;
        let values = &self.trace.values;
        let mut cells: Vec<Vec<Cell>> = vec![Vec::new(); model.tensors.len()];
        let mut public_row = 0;
        let mut input_row = 0;
        let p = &self.placement;
        let (mut dense_at, mut requant_at, mut maxpool_at) = (p.dense.iter(), p.requant.iter(), p.maxpool.iter());
        let (mut softmax_at, mut product_at) = (p.softmax.iter(), p.product.iter());
        let zero = match config.zero {
            Some(column) => {
                Some(layouter.assign_region(|| "zero", |mut region| Ok(region.assign_fixed(column, 0, Fr::zero())))?)
            }
            None => None,
        };
        for (&t, check) in model.inputs.iter().zip(&self.input_checks) {
            let assigned = layouter.assign_region(
                || "model input",
                |mut region| {
                    Ok(values[t]
                        .iter()
                        .enumerate()
                        .map(|(i, &v)| region.assign_advice(config.input, input_row + i, Value::known(fe(v))).cell())
                        .collect::<Vec<_>>())
                },
            )?;
            // The range check: each input cell copied into an identity requantization row.
            for c in chunks(assigned.len(), self.layout.requant_lanes) {
                let rows: Vec<_> = c.clone().map(|i| check.row(values[t][i], values[t][i])).collect();
                let &(lane, start) = requant_at.next().ok_or(Error::Synthesis)?;
                config.requant[lane].assign(&mut layouter, start, check, &assigned[c], &rows)?;
            }
            input_row += assigned.len();
            if self.layout.public_input {
                for &cell in &assigned {
                    layouter.constrain_instance(cell, config.instance, public_row);
                    public_row += 1;
                }
            }
            cells[t] = assigned;
        }
        for (node, plan) in model.nodes.iter().zip(&self.plans) {
            let x = node.inputs[0];
            let mut out: Vec<Option<Cell>> = vec![None; model.tensors[node.output].len()];
            let (x_values, x_cells): (Vec<i64>, Vec<Cell>) = match node.op {
                QOp::Add { .. } => {
                    node.inputs.iter().flat_map(|&t| values[t].iter().copied().zip(cells[t].iter().copied())).unzip()
                }
                _ => (values[x].clone(), cells[x].clone()),
            };
            for job in dot_jobs(model, node, &x_values, self.layout.dense_lanes, self.layout.dense) {
                let inputs: Vec<Option<Cell>> = job.taps.iter().map(|t| t.map(|i| x_cells[i])).collect();
                let dense_job =
                    DenseJob { inputs: &inputs, input_values: &job.values, weight: &job.weight, bias: &job.bias };
                let &(lane, start) = dense_at.next().ok_or(Error::Synthesis)?;
                let chip = &config.dense[lane];
                let sums = chip.witness(&dense_job);
                let accs = chip.assign(&mut layouter, start, &dense_job, &sums)?;
                if let NodePlan::AvgPool(by_n) = plan {
                    // The window sum, then the rounded mean `floor((2·sum + n) / 2n)`.
                    let QOp::AvgPool { window, count_include_pad } = &node.op else { return Err(Error::Synthesis) };
                    let n = avg_divisor(&job.taps, window, *count_include_pad);
                    let params = by_n.get(&n).ok_or(Error::Synthesis)?;
                    let o = job.outputs[0];
                    let row = params.row(job.values.iter().sum(), values[node.output][o]);
                    let &(lane, start) = requant_at.next().ok_or(Error::Synthesis)?;
                    out[o] = config.requant[lane].assign(&mut layouter, start, params, &accs, &[row])?.pop();
                } else {
                    for (cell, &o) in accs.into_iter().zip(&job.outputs) {
                        out[o] = Some(cell);
                    }
                }
            }
            match (&node.op, plan) {
                (QOp::Requant { .. }, NodePlan::Requant(params)) => {
                    for c in chunks(out.len(), self.layout.requant_lanes) {
                        let rows: Vec<_> =
                            c.clone().map(|i| params.row(values[x][i], values[node.output][i])).collect();
                        let &(lane, start) = requant_at.next().ok_or(Error::Synthesis)?;
                        let assigned =
                            config.requant[lane].assign(&mut layouter, start, params, &cells[x][c.clone()], &rows)?;
                        for (i, cell) in c.zip(assigned) {
                            out[i] = Some(cell);
                        }
                    }
                }
                (QOp::MaxPool(_) | QOp::ReduceMax { .. }, NodePlan::MaxPool(range_tag)) => {
                    let taps = self.max_windows(node);
                    for c in chunks(taps.len(), self.layout.maxpool_lanes) {
                        let windows: Vec<Window> = taps[c.clone()]
                            .iter()
                            .map(|w| w.iter().map(|&i| (cells[x][i], values[x][i])).collect())
                            .collect();
                        let &(lane, start) = maxpool_at.next().ok_or(Error::Synthesis)?;
                        let maxima = &values[node.output][c.clone()];
                        let assigned =
                            config.maxpool[lane].assign(&mut layouter, start, &windows, maxima, *range_tag)?;
                        for (i, cell) in c.zip(assigned) {
                            out[i] = Some(cell);
                        }
                    }
                }
                (QOp::Softmax { axis, .. }, NodePlan::Softmax(params, range_tag)) => {
                    let groups = axis_groups(&model.tensors[x].shape, *axis);
                    for c in chunks(groups.len(), self.layout.softmax_lanes.min(self.layout.maxpool_lanes)) {
                        let groups = &groups[c];
                        let pick = |g: &[usize], t: &[i64]| g.iter().map(|&i| t[i]).collect::<Vec<_>>();
                        let rows: Vec<Vec<SoftmaxRow>> = groups
                            .iter()
                            .map(|g| params.rows(&pick(g, &values[x]), &pick(g, &values[node.output])))
                            .collect();
                        let inputs: Vec<Vec<Cell>> =
                            groups.iter().map(|g| g.iter().map(|&i| cells[x][i]).collect()).collect();
                        let windows: Vec<Window> = inputs
                            .iter()
                            .zip(&rows)
                            .map(|(cells, rows)| cells.iter().copied().zip(rows.iter().map(|r| r.x)).collect())
                            .collect();
                        // The max-pool chip proves the maximum each group's rows use.
                        let maxima: Vec<i64> = rows.iter().map(|r| r.first().map_or(0, |r| r.m)).collect();
                        let &(lane, start) = maxpool_at.next().ok_or(Error::Synthesis)?;
                        let max_cells =
                            config.maxpool[lane].assign(&mut layouter, start, &windows, &maxima, *range_tag)?;
                        let jobs: Vec<SoftmaxGroup> = inputs
                            .iter()
                            .zip(max_cells)
                            .zip(rows)
                            .map(|((inputs, max), rows)| SoftmaxGroup { inputs, max, rows })
                            .collect();
                        let &(lane, start) = softmax_at.next().ok_or(Error::Synthesis)?;
                        let assigned = config.softmax[lane].assign(&mut layouter, start, params, &jobs)?;
                        for (i, cell) in groups.iter().flatten().zip(assigned) {
                            out[*i] = Some(cell);
                        }
                    }
                }
                (QOp::Product(shape), _) => {
                    let (a, b) = (node.inputs[0], node.inputs[1]);
                    for c in chunks(shape.lens().2, self.layout.product_lanes) {
                        let jobs: Vec<ProductJob> = c
                            .clone()
                            .map(|o| ProductJob {
                                pairs: shape
                                    .taps(o)
                                    .map(|(i, j)| ((cells[a][i], values[a][i]), (cells[b][j], values[b][j])))
                                    .collect(),
                            })
                            .collect();
                        let sums: Vec<Vec<i64>> = jobs.iter().map(ProductJob::witness).collect();
                        let &(lane, start) = product_at.next().ok_or(Error::Synthesis)?;
                        let assigned = config.product[lane].assign(&mut layouter, start, &jobs, &sums)?;
                        for (i, cell) in c.zip(assigned) {
                            out[i] = Some(cell);
                        }
                    }
                }
                (QOp::Rewire { map }, _) => {
                    // Pure wiring; zero padding copies the fixed zero cell.
                    for (o, m) in out.iter_mut().zip(map) {
                        *o = match m {
                            Some((k, e)) => Some(cells[node.inputs[*k as usize]][*e as usize]),
                            None => zero,
                        };
                    }
                }
                _ => {}
            }
            cells[node.output] = out.into_iter().map(|c| c.ok_or(Error::Synthesis)).collect::<Result<_, _>>()?;
        }
        for &t in &model.outputs {
            for &cell in &cells[t] {
                layouter.constrain_instance(cell, config.instance, public_row);
                public_row += 1;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::relu_low_bound;

    /// `L` must cover the most negative quotient any accumulator of the declared width can give
    /// (or honest proofs of extreme inputs fail), and be the smallest such power of two `≥ h` (each
    /// doubling costs a limb). Its soundness needs only a power of two `≥ h`.
    #[test]
    fn the_relu_low_bound_is_the_smallest_power_of_two_covering_every_quotient() {
        // Some cases sit exactly on a power of two, where an off-by-one doubles or halves `L`.
        let cases = [
            (1, 0, 1, 8, 128),
            (3, 16, 32, 20, 128),
            (77, 1 << 9, 1 << 10, 24, 128),
            (5, 2, 4, 18, 16),
            (1, 0, 1, 4, 64),
            (1, 1, 2, 10, 16),
            (-1, 0, 1, 8, 64),
            (-128, 0, 127, 8, 64),
        ];
        for (mult, half, divisor, acc_bits, h) in cases {
            let low = relu_low_bound(mult, half, divisor, acc_bits, h);
            let reach = 1i128 << (acc_bits - 1);
            let t = |acc: i128| (acc * mult as i128 + half as i128).div_euclid(divisor as i128);
            let lowest = t(-reach).min(t(reach - 1));
            assert!(low.count_ones() == 1 && low >= h, "{low}");
            assert!(lowest >= -(low as i128), "t = {lowest} below -{low}");
            assert!(low == h || lowest < -(low as i128 / 2), "{low} is not the smallest (t ≥ {lowest}, h = {h})");
        }
    }
}

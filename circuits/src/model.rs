//! The circuit of a whole quantized model: one chip call per op, wired by copy constraints
//! from each op's output cells to the next op's inputs, with the model input and output bound to
//! the instance column (inputs first, then outputs, flattened in model order).
//!
//! The witness is the integer inference trace: every value laid out comes from
//! `zkinfer_quant_models::infer::run`, so proving follows exactly what `zkinfer run` computed.

use std::sync::Arc;

use halo2_proofs::circuit::{Cell, Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Advice, Circuit, Column, ConstraintSystem, Error, Instance};
use zkinfer_quant_models::infer::Trace;
use zkinfer_quant_models::quant::{QOp, QuantModel};

use crate::chips::conv::{conv_jobs, conv_jobs_shape};
use crate::chips::dense::{DenseConfig, DenseJob, DenseShape};
use crate::chips::maxpool::{MaxPoolConfig, Window};
use crate::chips::requant::{RequantConfig, RequantParams};
use crate::field::fe;
use crate::table::{LookupTable, TableConfig};

/// Why a model cannot be laid out as a circuit.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CircuitError {
    /// The op has no chip yet.
    #[error("op `{op}` at node `{node}` has no circuit chip yet")]
    UnsupportedOp { op: String, node: String },
    /// A value the integer inference clamped cannot be proven.
    #[error("node `{node}`: {count} value(s) saturated (outside the calibrated range) and cannot be proven")]
    Saturated { node: String, count: usize },
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
    /// Whether the model input is part of the public instance. When false the buyer sees only
    /// the output and the model id; the input stays the provider's witness.
    pub public_input: bool,
}

/// The widest packing a layout may ask for (bounds what a key file can make `configure` allocate).
pub const MAX_DENSE_PACKING: usize = 256;

impl LayoutParams {
    /// Rejects packings no planner produces (a corrupt or hostile key file).
    pub fn check(&self) -> Result<(), CircuitError> {
        let DenseShape { width, outputs } = self.dense;
        if !(1..=MAX_DENSE_PACKING).contains(&width) || !(1..=MAX_DENSE_PACKING).contains(&outputs) {
            return Err(CircuitError::BadLayout(format!(
                "dense packing {width} x {outputs} is outside 1..={MAX_DENSE_PACKING}"
            )));
        }
        Ok(())
    }
}

impl Default for LayoutParams {
    fn default() -> Self {
        LayoutParams { dense: DenseShape::default(), public_input: true }
    }
}

/// Columns of the model circuit.
#[derive(Clone, Debug)]
pub struct ModelConfig {
    input: Column<Advice>,
    instance: Column<Instance>,
    table: TableConfig,
    dense: DenseConfig,
    requant: RequantConfig,
    maxpool: MaxPoolConfig,
}

/// What a node needs from the shared table.
#[derive(Clone, Debug)]
enum NodePlan {
    Requant(RequantParams),
    /// The range tag that bounds differences of the pooled tensor's values.
    MaxPool(u64),
    /// Identity-function tag over the output range, and one range tag per window size `n`
    /// (for the remainder of the division by `2n`).
    AvgPool {
        act_tag: u64,
        range_tags: std::collections::BTreeMap<usize, u64>,
    },
    Wiring,
}

/// The taps inside the input of each max-pool window, as input element indices.
fn pool_windows(input: &[usize], output: &[usize], window: &zkinfer_quant_models::window::Window2d) -> Vec<Vec<usize>> {
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

/// The divisor of an average-pool window: the kernel area, or the taps inside the input.
fn avg_divisor(taps: &[usize], window: &zkinfer_quant_models::window::Window2d, count_include_pad: bool) -> usize {
    if count_include_pad {
        window.kernel[0] * window.kernel[1]
    } else {
        taps.len()
    }
}

/// A quantized model with one inference's trace.
#[derive(Clone)]
pub struct ModelCircuit {
    model: Arc<QuantModel>,
    trace: Arc<Trace>,
    layout: LayoutParams,
    table: LookupTable,
    /// Per node index: its constants, with tags resolved in `table`.
    plans: Vec<NodePlan>,
}

impl ModelCircuit {
    /// Checks that every op has a chip and the trace is provable, and builds the lookup table.
    pub fn new(model: Arc<QuantModel>, trace: Arc<Trace>, layout: LayoutParams) -> Result<Self, CircuitError> {
        Self::build(model, trace, layout, true)
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
        let mut table = LookupTable::default();
        let mut plans = Vec::with_capacity(model.nodes.len());
        for node in &model.nodes {
            plans.push(match &node.op {
                QOp::Requant { mult, shift, domain, activation } => {
                    let divisor = 1i64 << shift;
                    let params = RequantParams {
                        mult: *mult,
                        half: divisor / 2,
                        divisor,
                        act_tag: table.function_tag(*domain, activation),
                        range_tag: table.range_tag(divisor),
                    };
                    let acc = &trace.values[node.inputs[0]];
                    let count = acc.iter().filter(|&&a| !(domain.0..=domain.1).contains(&params.row(a, 0).t)).count();
                    if check_saturation && count > 0 {
                        return Err(CircuitError::Saturated { node: node.name.clone(), count });
                    }
                    NodePlan::Requant(params)
                }
                QOp::AvgPool { window, count_include_pad } => {
                    let (i, o) = (&model.tensors[node.inputs[0]].shape, &model.tensors[node.output].shape);
                    let domain = zkinfer_quant_models::quant::signed_range(model.tensors[node.output].bits);
                    let act_tag = table.function_tag(domain, &zkinfer_quant_models::quant::Activation::Identity);
                    let mut range_tags = std::collections::BTreeMap::new();
                    for taps in pool_windows(i, o, window) {
                        let n = avg_divisor(&taps, window, *count_include_pad);
                        range_tags.entry(n).or_insert_with(|| table.range_tag(2 * n as i64));
                    }
                    NodePlan::AvgPool { act_tag, range_tags }
                }
                QOp::MaxPool(_) => NodePlan::MaxPool(table.range_tag(1i64 << model.tensors[node.inputs[0]].bits)),
                QOp::Dense { .. } | QOp::Conv { .. } | QOp::Rewire { .. } => NodePlan::Wiring,
                other => return Err(CircuitError::UnsupportedOp { op: other.name().into(), node: node.name.clone() }),
            });
        }
        Ok(ModelCircuit { model, trace, layout, table, plans })
    }

    /// The circuit of `model` without a witness, for key generation: the keys depend only on
    /// the model and the layout, never on an input.
    pub fn for_keygen(model: Arc<QuantModel>, layout: LayoutParams) -> Result<Self, CircuitError> {
        let zeros = Trace { values: model.tensors.iter().map(|t| vec![0; t.len()]).collect(), saturations: Vec::new() };
        Self::build(model, Arc::new(zeros), layout, false)
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

    /// Rows the layout needs, without blinding rows. Each chip has its own columns and row
    /// cursor, so chips run side by side: the height is the tallest chip's (or the table's).
    pub fn rows(&self) -> usize {
        let inputs = self.model.inputs.iter().map(|&t| self.model.tensors[t].len()).sum::<usize>();
        let packing = self.layout.dense;
        let (mut dense, mut requant, mut maxpool) = (0, 0, 0);
        for node in &self.model.nodes {
            match &node.op {
                QOp::Dense { inputs, outputs, .. } => {
                    dense += self.model.tensors[node.inputs[0]].len() / inputs.max(&1) * packing.rows(*inputs, *outputs)
                }
                QOp::Conv { window, group, .. } => {
                    let (i, o) = (&self.model.tensors[node.inputs[0]].shape, &self.model.tensors[node.output].shape);
                    let s = conv_jobs_shape(i, o, *group, window);
                    dense += s.out_h * s.out_w * s.group * packing.rows(s.cin_g * s.kernel, s.cout_g);
                }
                QOp::Requant { .. } => requant += self.model.tensors[node.output].len(),
                QOp::MaxPool(window) => {
                    let (i, o) = (&self.model.tensors[node.inputs[0]].shape, &self.model.tensors[node.output].shape);
                    maxpool += MaxPoolConfig::rows(pool_windows(i, o, window).iter().map(Vec::len));
                }
                QOp::AvgPool { window, .. } => {
                    let (i, o) = (&self.model.tensors[node.inputs[0]].shape, &self.model.tensors[node.output].shape);
                    let windows = pool_windows(i, o, window);
                    dense += windows.iter().map(|w| packing.rows(w.len(), 1)).sum::<usize>();
                    requant += windows.len();
                }
                _ => {}
            }
        }
        inputs.max(dense).max(requant).max(maxpool).max(self.table.len())
    }

    /// Smallest `k` whose `2^k` rows hold the layout and halo2's blinding rows.
    pub fn min_k(&self) -> u32 {
        let needed = self.rows() + 10;
        needed.next_power_of_two().trailing_zeros().max(4)
    }
}

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
        ModelConfig {
            input,
            instance,
            table,
            dense: DenseConfig::configure(meta, params.dense),
            requant: RequantConfig::configure(meta, table),
            maxpool: MaxPoolConfig::configure(meta, table),
        }
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
        // Row cursors, one per chip (halo2-axiom's planner places every region at row 0).
        let (mut input_row, mut dense_row, mut requant_row, mut maxpool_row) = (0, 0, 0, 0);
        for &t in &model.inputs {
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
            input_row += assigned.len();
            if self.layout.public_input {
                for &cell in &assigned {
                    layouter.constrain_instance(cell, config.instance, public_row);
                    public_row += 1;
                }
            }
            cells[t] = assigned;
        }
        for (index, node) in model.nodes.iter().enumerate() {
            let x = node.inputs[0];
            let out = match &node.op {
                QOp::Dense { weight, bias, inputs, outputs, .. } => {
                    let mut out = Vec::new();
                    for (row_cells, row_values) in cells[x].chunks(*inputs).zip(values[x].chunks(*inputs)) {
                        let row_cells: Vec<_> = row_cells.iter().copied().map(Some).collect();
                        let job = DenseJob { inputs: &row_cells, input_values: row_values, weight, bias };
                        let sums = config.dense.witness(&job);
                        out.extend(config.dense.assign(&mut layouter, dense_row, &job, &sums)?);
                        dense_row += config.dense.rows(*inputs, *outputs);
                    }
                    out
                }
                QOp::Conv { weight, bias, window, group, .. } => {
                    let shape =
                        conv_jobs_shape(&model.tensors[x].shape, &model.tensors[node.output].shape, *group, window);
                    let mut out = vec![None; model.tensors[node.output].len()];
                    for job in conv_jobs(&shape, window, weight, bias, &values[x]) {
                        let inputs: Vec<Option<Cell>> = job.taps.iter().map(|t| t.map(|i| cells[x][i])).collect();
                        let dense = DenseJob {
                            inputs: &inputs,
                            input_values: &job.values,
                            weight: &job.weight,
                            bias: &job.bias,
                        };
                        let sums = config.dense.witness(&dense);
                        let accs = config.dense.assign(&mut layouter, dense_row, &dense, &sums)?;
                        dense_row += config.dense.rows(job.values.len(), job.bias.len());
                        for (cell, &o) in accs.into_iter().zip(&job.outputs) {
                            out[o] = Some(cell);
                        }
                    }
                    out.into_iter().map(|c| c.ok_or(Error::Synthesis)).collect::<Result<Vec<_>, _>>()?
                }
                QOp::Requant { .. } => {
                    let NodePlan::Requant(params) = self.plans[index].clone() else { return Err(Error::Synthesis) };
                    let rows: Vec<_> =
                        values[x].iter().zip(&values[node.output]).map(|(&a, &y)| params.row(a, y)).collect();
                    let out = config.requant.assign(&mut layouter, requant_row, params, &cells[x], &rows)?;
                    requant_row += rows.len();
                    out
                }
                QOp::AvgPool { window, count_include_pad } => {
                    // Window sums on the dense chip (unit weights), then the rounded mean
                    // `floor((2·sum + n) / 2n)` on the division chip.
                    let NodePlan::AvgPool { act_tag, range_tags } = &self.plans[index] else {
                        return Err(Error::Synthesis);
                    };
                    let taps = pool_windows(&model.tensors[x].shape, &model.tensors[node.output].shape, window);
                    let mut out = Vec::with_capacity(taps.len());
                    for (o, window_taps) in taps.iter().enumerate() {
                        let n = avg_divisor(window_taps, window, *count_include_pad);
                        let inputs: Vec<Option<Cell>> = window_taps.iter().map(|&i| Some(cells[x][i])).collect();
                        let tap_values: Vec<i64> = window_taps.iter().map(|&i| values[x][i]).collect();
                        let ones = vec![1; tap_values.len()];
                        let job = DenseJob { inputs: &inputs, input_values: &tap_values, weight: &ones, bias: &[0] };
                        let sums = config.dense.witness(&job);
                        let sum_cell = config.dense.assign(&mut layouter, dense_row, &job, &sums)?;
                        dense_row += config.dense.rows(tap_values.len(), 1);
                        let params = RequantParams {
                            mult: 2,
                            half: n as i64,
                            divisor: 2 * n as i64,
                            act_tag: *act_tag,
                            range_tag: *range_tags.get(&n).ok_or(Error::Synthesis)?,
                        };
                        let sum: i64 = tap_values.iter().sum();
                        let row = params.row(sum, values[node.output][o]);
                        out.extend(config.requant.assign(&mut layouter, requant_row, params, &sum_cell, &[row])?);
                        requant_row += 1;
                    }
                    out
                }
                QOp::MaxPool(window) => {
                    let NodePlan::MaxPool(range_tag) = self.plans[index].clone() else { return Err(Error::Synthesis) };
                    let taps = pool_windows(&model.tensors[x].shape, &model.tensors[node.output].shape, window);
                    let windows: Vec<Window> =
                        taps.iter().map(|w| w.iter().map(|&i| (cells[x][i], values[x][i])).collect()).collect();
                    let out =
                        config.maxpool.assign(&mut layouter, maxpool_row, &windows, &values[node.output], range_tag)?;
                    maxpool_row += MaxPoolConfig::rows(taps.iter().map(Vec::len));
                    out
                }
                QOp::Rewire { map } => {
                    // Pure wiring; a zero-padding entry would need a constant cell (not yet).
                    map.iter()
                        .map(|m| m.map(|(k, e)| cells[node.inputs[k as usize]][e as usize]).ok_or(Error::Synthesis))
                        .collect::<Result<Vec<_>, _>>()?
                }
                _ => return Err(Error::Synthesis),
            };
            cells[node.output] = out;
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

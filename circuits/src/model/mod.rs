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
//!
//! Where things are: `layout.rs` holds the layout parameters, `plan.rs` the constants and
//! table entries each op needs, `jobs.rs` each op's work in chip terms (windows, groups,
//! dot-product jobs, lanes); the chip calls per op are in `synthesize` below.

mod jobs;
mod layout;
mod plan;

use std::sync::Arc;

use halo2_proofs::circuit::{Cell, Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Advice, Circuit, Column, ConstraintSystem, Error, FirstPhase, Fixed, Instance};
use zkinfer_quant_models::infer::Trace;
use zkinfer_quant_models::kernels::reduce_groups;
use zkinfer_quant_models::kernels::ProductShape;
use zkinfer_quant_models::quant::{saturates, QOp, QuantModel};

use crate::chips::dense::{DenseConfig, DenseJob};
use crate::chips::freivalds::{FreivaldsConfig, FreivaldsJob, Placed};
use crate::chips::maxpool::{MaxPoolConfig, Window};
use crate::chips::product::{ProductConfig, ProductJob};
use crate::chips::requant::{RequantConfig, RequantParams};
use crate::chips::softmax::{SoftmaxConfig, SoftmaxGroup, SoftmaxRow};
use crate::field::fe;
use crate::table::{LookupTable, TableConfig};

use jobs::{avg_divisor, axis_groups, chunks, dot_jobs, pool_windows, Lanes};
pub use layout::{LayoutParams, RowBudget, MAX_DENSE_PACKING};
use plan::{plan_nodes, NodePlan, Plans};
pub use plan::{ColumnNeeds, MAX_MODEL_INPUT_BITS};

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
    freivalds: Vec<FreivaldsConfig>,
    zero: Option<Column<Fixed>>,
}

/// Where each piece of work goes, in the order synthesis lays it out.
#[derive(Clone, Debug, Default)]
struct Placement {
    dense: Vec<(usize, usize)>,
    requant: Vec<(usize, usize)>,
    maxpool: Vec<(usize, usize)>,
    softmax: Vec<(usize, usize)>,
    product: Vec<(usize, usize)>,
    freivalds: Vec<(usize, usize)>,
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
                QOp::Product(ref shape) if by_freivalds(shape, &layout) => layout.freivalds_lanes,
                QOp::Product(_) => layout.product_lanes,
                // Requantizations (an average pool's included) have lanes: checked above.
                QOp::AvgPool { .. } => layout.dense_lanes,
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
        let (mut product, mut freivalds) = (Lanes::new(layout.product_lanes), Lanes::new(layout.freivalds_lanes));
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
                (QOp::Product(shape), _) if by_freivalds(shape, layout) => {
                    for _ in 0..shape.batch {
                        p.freivalds.extend(freivalds.place(FreivaldsJob::rows(shape.m, shape.k, shape.n)));
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
            freivalds: freivalds.height(),
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

/// Whether `layout` checks the product `shape` with the Freivalds chip: when it has lanes
/// for it and the check takes fewer rows than the direct products.
fn by_freivalds(shape: &ProductShape, layout: &LayoutParams) -> bool {
    layout.freivalds_lanes > 0 && FreivaldsJob::cheaper_than_direct(shape.m, shape.k, shape.n)
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
        // One challenge, drawn after the first phase, serves every Freivalds lane.
        let freivalds = match params.freivalds_lanes {
            0 => Vec::new(),
            lanes => {
                let r = meta.challenge_usable_after(FirstPhase);
                (0..lanes).map(|_| FreivaldsConfig::configure(meta, r)).collect()
            }
        };
        let config = ModelConfig {
            input,
            instance,
            table,
            dense: (0..params.dense_lanes).map(|_| DenseConfig::configure(meta, params.dense)).collect(),
            requant: (0..params.requant_lanes).map(|_| RequantConfig::configure(meta, table, params.requant)).collect(),
            maxpool: (0..params.maxpool_lanes).map(|_| MaxPoolConfig::configure(meta, table)).collect(),
            softmax: (0..params.softmax_lanes).map(|_| SoftmaxConfig::configure(meta, table, params.softmax)).collect(),
            product: (0..params.product_lanes).map(|_| ProductConfig::configure(meta)).collect(),
            freivalds,
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
        let mut freivalds_at = p.freivalds.iter();
        // Freivalds checks laid out in the first phase, finished in the second.
        let mut checks: Vec<(usize, FreivaldsJob, Placed)> = Vec::new();
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
                let mut sums = chip.witness(&dense_job);
                if !matches!(plan, NodePlan::AvgPool(_)) {
                    // The outputs are the trace's (an average pool's window sums are not in it).
                    for (k, &o) in job.outputs.iter().enumerate() {
                        sums[chip.final_sum_index(job.values.len(), k)] = values[node.output][o];
                    }
                }
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
                (QOp::Product(shape), _) if by_freivalds(shape, &self.layout) => {
                    let (a, b) = (node.inputs[0], node.inputs[1]);
                    let (a_len, b_len, c_len) = (shape.m * shape.k, shape.k * shape.n, shape.m * shape.n);
                    let operands = |t: usize, range: std::ops::Range<usize>| -> Vec<(Cell, i64)> {
                        range.map(|i| (cells[t][i], values[t][i])).collect()
                    };
                    for batch in 0..shape.batch {
                        let job = FreivaldsJob {
                            m: shape.m,
                            k: shape.k,
                            n: shape.n,
                            a: operands(a, batch * a_len..(batch + 1) * a_len),
                            b: operands(b, batch * b_len..(batch + 1) * b_len),
                            c: values[node.output][batch * c_len..(batch + 1) * c_len].to_vec(),
                        };
                        let &(lane, start) = freivalds_at.next().ok_or(Error::Synthesis)?;
                        let placed = config.freivalds[lane].assign_operands(&mut layouter, start, &job)?;
                        for (o, &cell) in out[batch * c_len..].iter_mut().zip(&placed.outputs) {
                            *o = Some(cell);
                        }
                        checks.push((lane, job, placed));
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
                        let mut sums: Vec<Vec<i64>> = jobs.iter().map(ProductJob::witness).collect();
                        // The outputs are the trace's.
                        for (s, o) in sums.iter_mut().zip(c.clone()) {
                            if let Some(last) = s.last_mut() {
                                *last = values[node.output][o];
                            }
                        }
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
        if let Some(first) = config.freivalds.first() {
            // Everything above is committed before the challenge is drawn.
            layouter.next_phase();
            let r = layouter.get_challenge(first.challenge());
            for (lane, job, placed) in &checks {
                let witness = r.map(|r| job.witness(r));
                config.freivalds[*lane].assign_checks(&mut layouter, placed, witness.as_ref())?;
            }
        }
        Ok(())
    }
}

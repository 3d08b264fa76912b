//! Chooses a model's layout — `k`, dense packing, lanes per chip, limb width — by a cost model
//! of proving time, so that neither the table nor one tall chip forces the circuit up while
//! other columns sit empty.
//!
//! Proving cost grows with `2^k ×` committed columns: each advice column is one MSM and its
//! FFTs, each lookup three more commitments, each fixed column a coset FFT per proof, each pair
//! of equality-enabled columns one permutation product. The weights below were measured on the
//! shipped models (see the benchmark); the planner enumerates every candidate and keeps the
//! cheapest.

use std::sync::Arc;

use zkinfer_quant_models::quant::QuantModel;

use crate::chips::dense::DenseShape;
use crate::chips::requant::RequantShape;
use crate::chips::softmax::SoftmaxShape;
use crate::model::{CircuitError, LayoutParams, ModelCircuit, BLINDING_ROWS};

/// Relative cost per row of one column of each kind.
const ADVICE: f64 = 1.0;
const FIXED: f64 = 0.3;
const LOOKUP: f64 = 3.5;
const PERMUTED: f64 = 0.5;
/// Per-column work that does not shrink with the rows (FFT set-up, coset powers, the opening),
/// in rows: measured as ≈160 on the shipped models (a column at `k = 7` costs about as much as
/// 290 rows' worth).
const COLUMN_OVERHEAD_ROWS: f64 = 160.0;

/// What the planner expects of a layout.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    pub k: u32,
    pub advice: usize,
    pub fixed: usize,
    pub lookups: usize,
    /// Modelled cost (arbitrary units; compare layouts of one model only).
    pub cost: f64,
}

/// Column counts of a layout.
pub fn columns(layout: &LayoutParams) -> (usize, usize, usize, usize) {
    let DenseShape { width, outputs } = layout.dense;
    let RequantShape { r_limbs, u_limbs, table } = layout.requant;
    let (d, r, m, s) = (layout.dense_lanes, layout.requant_lanes, layout.maxpool_lanes, layout.softmax_lanes);
    let t = usize::from(table);
    let s_limbs = 2 * layout.softmax.r_limbs + layout.softmax.y_limbs;
    let z = usize::from(layout.zero_cell);
    let advice = 1 + d * (width + outputs) + r * (4 + r_limbs + u_limbs + 2 * t) + m * 4 + s * (7 + s_limbs);
    let fixed = 3
        + d * (width * outputs + outputs + 2)
        + r * (6 + 2 * (r_limbs + u_limbs) + 2 * t)
        + m * 3
        + s * (3 + 2 * s_limbs)
        + z;
    let lookups = r * (r_limbs + u_limbs + t) + m * 2 + s * (1 + s_limbs);
    let permuted = 2 + d * (width + outputs) + 2 * r + 2 * m + 3 * s + z;
    (advice, fixed, lookups, permuted)
}

fn cost(layout: &LayoutParams, k: u32) -> Estimate {
    let (advice, fixed, lookups, permuted) = columns(layout);
    let per_row = ADVICE * advice as f64 + FIXED * fixed as f64 + LOOKUP * lookups as f64 + PERMUTED * permuted as f64;
    Estimate { k, advice, fixed, lookups, cost: per_row * ((1u64 << k) as f64 + COLUMN_OVERHEAD_ROWS) }
}

/// The cheapest layout for `model` under the cost model, with its estimate. Fails with the
/// circuit's reason when the model has an op without a chip.
pub fn plan(model: &Arc<QuantModel>, public_input: bool) -> Result<(LayoutParams, Estimate), CircuitError> {
    let (layout, mut estimate) = candidates(model, public_input)?
        .into_iter()
        .next()
        .ok_or_else(|| CircuitError::BadLayout("no layout fits".into()))?;
    // Lanes are balanced greedily; the real height decides k.
    estimate.k = ModelCircuit::for_keygen(model.clone(), layout)?.min_k();
    Ok((layout, estimate))
}

/// Every layout the planner considers for `model`, cheapest first under the cost model: what
/// the cost model is fitted against (measure the first few, compare with their estimates).
pub fn candidates(model: &Arc<QuantModel>, public_input: bool) -> Result<Vec<(LayoutParams, Estimate)>, CircuitError> {
    let mut all: Vec<(LayoutParams, Estimate)> = Vec::new();
    for limb_bits in [4, 6, 8] {
        for width in [1, 2, 4, 8, 16, 32] {
            for outputs in [1, 2, 4, 8, 16] {
                // One lane of each chip in use tells the rows of each chip at this packing.
                let probe = LayoutParams {
                    dense: DenseShape { width, outputs },
                    dense_lanes: 1,
                    requant_lanes: 1,
                    maxpool_lanes: 1,
                    softmax_lanes: 1,
                    requant: RequantShape { r_limbs: 8, u_limbs: 8, table: true },
                    softmax: SoftmaxShape { r_limbs: 8, y_limbs: 8 },
                    zero_cell: true,
                    limb_bits,
                    public_input,
                };
                let circuit = ModelCircuit::for_keygen(model.clone(), probe)?;
                let rows = circuit.row_budget();
                let needs = circuit.column_needs();
                let floor = rows.input.max(rows.instance).max(rows.table) + BLINDING_ROWS;
                let k_min = floor.next_power_of_two().trailing_zeros().max(4);
                for k in k_min..k_min + 6 {
                    let usable = (1usize << k) - BLINDING_ROWS;
                    let lanes = |r: usize| r.div_ceil(usable);
                    let layout = LayoutParams {
                        dense_lanes: lanes(rows.dense),
                        requant_lanes: lanes(rows.requant),
                        maxpool_lanes: lanes(rows.maxpool),
                        softmax_lanes: lanes(rows.softmax),
                        requant: needs.requant,
                        softmax: needs.softmax,
                        zero_cell: needs.zero_cell,
                        ..probe
                    };
                    if layout.check().is_err() {
                        continue;
                    }
                    if !all.iter().any(|(l, _)| *l == layout) {
                        all.push((layout, cost(&layout, k)));
                    }
                }
            }
        }
    }
    all.sort_by(|a, b| a.1.cost.total_cmp(&b.1.cost));
    Ok(all)
}

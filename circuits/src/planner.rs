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

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Circuit, ConstraintSystem};
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

/// What a layout is chosen for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Objective {
    /// The fastest proof (more committed columns, larger proofs).
    #[default]
    ProveTime,
    /// Proofs of at most [`PROOF_BYTES_BUDGET`] (on-chain and browser buyers: proof size and
    /// verify time grow with every committed column), the fastest among those; the smallest
    /// proof where no layout fits.
    ProofSize,
}

/// The proof size `Objective::ProofSize` keeps under: the size of EZKL's proofs.
pub const PROOF_BYTES_BUDGET: usize = 3072;

/// Bytes of a proof of `layout`'s circuit: one 32-byte element per commitment and evaluation
/// (KZG/SHPLONK, instances hashed, not opened). Selectors are counted as one fixed column each
/// (halo2 may combine some), so this is an upper bound.
pub fn proof_bytes(layout: &LayoutParams) -> usize {
    let mut cs = ConstraintSystem::<Fr>::default();
    ModelCircuit::configure_with_params(&mut cs, *layout);
    let degree = cs.degree();
    let permuted = cs.permutation().get_columns().len();
    let products = permuted.div_ceil(degree.saturating_sub(2).max(1));
    let lookups = cs.lookups().len();
    let commitments = cs.num_advice_columns() + 3 * lookups + products + 1 + (degree - 1) + 2;
    let evaluations = cs.advice_queries().len()
        + cs.fixed_queries().len()
        + cs.num_selectors()
        + 1
        + permuted
        + (3 * products).saturating_sub(1)
        + 5 * lookups;
    32 * (commitments + evaluations)
}

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
    let RequantShape { r_limbs, u_limbs, v_limbs, table } = layout.requant;
    let u_limbs = u_limbs + v_limbs;
    let (d, r, m, s) = (layout.dense_lanes, layout.requant_lanes, layout.maxpool_lanes, layout.softmax_lanes);
    let (p, f) = (layout.product_lanes, layout.freivalds_lanes);
    let t = usize::from(table);
    let s_limbs = 2 * layout.softmax.r_limbs + layout.softmax.y_limbs;
    let z = usize::from(layout.zero_cell);
    let advice =
        1 + d * (width + outputs) + r * (4 + r_limbs + u_limbs + 2 * t) + m * 4 + s * (7 + s_limbs) + 3 * p + 3 * f;
    let fixed = 3
        + d * (width * outputs + outputs + 2)
        + r * (6 + 2 * (r_limbs + u_limbs) + 2 * t)
        + m * 3
        + s * (3 + 2 * s_limbs)
        + 2 * p
        + 3 * f
        + z;
    let lookups = r * (r_limbs + u_limbs + t) + m * 2 + s * (1 + s_limbs);
    let permuted = 2 + d * (width + outputs) + 2 * r + 2 * m + 3 * s + 3 * p + 3 * f + z;
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
    plan_for(model, public_input, Objective::ProveTime)
}

/// The best layout for `objective` (see [`Objective`]).
pub fn plan_for(
    model: &Arc<QuantModel>,
    public_input: bool,
    objective: Objective,
) -> Result<(LayoutParams, Estimate), CircuitError> {
    let all = candidates_for(model, public_input, objective)?;
    let chosen = match objective {
        Objective::ProveTime => all.into_iter().next(),
        // Candidates are cheapest first: the first that fits is the fastest within the budget,
        // and `min_by_key` keeps the cheapest of equally small proofs.
        Objective::ProofSize => all
            .iter()
            .find(|c| proof_bytes(&c.0) <= PROOF_BYTES_BUDGET)
            .or_else(|| all.iter().min_by_key(|c| proof_bytes(&c.0)))
            .copied(),
    };
    let (layout, mut estimate) = chosen.ok_or_else(|| CircuitError::BadLayout("no layout fits".into()))?;
    // Lanes are balanced greedily; the real height decides k.
    estimate.k = ModelCircuit::for_keygen(model.clone(), layout)?.min_k();
    Ok((layout, estimate))
}

/// Every layout the planner considers for `model`, cheapest first under the cost model: what
/// the cost model is fitted against (measure the first few, compare with their estimates).
pub fn candidates(model: &Arc<QuantModel>, public_input: bool) -> Result<Vec<(LayoutParams, Estimate)>, CircuitError> {
    candidates_for(model, public_input, Objective::ProveTime)
}

fn candidates_for(
    model: &Arc<QuantModel>,
    public_input: bool,
    objective: Objective,
) -> Result<Vec<(LayoutParams, Estimate)>, CircuitError> {
    // Wider limbs mean fewer limb lookups (smaller proofs) but a taller range table.
    let limb_widths: &[u32] = match objective {
        Objective::ProveTime => &[4, 6, 8],
        Objective::ProofSize => &[4, 6, 8, 10, 12],
    };
    let mut all: Vec<(LayoutParams, Estimate)> = Vec::new();
    for &limb_bits in limb_widths {
        for width in [1, 2, 4, 8, 16, 32] {
            for outputs in [1, 2, 4, 8, 16] {
                // One lane of each chip in use tells the rows of each chip at this packing.
                let probe = LayoutParams {
                    dense: DenseShape { width, outputs },
                    dense_lanes: 1,
                    requant_lanes: 1,
                    maxpool_lanes: 1,
                    softmax_lanes: 1,
                    product_lanes: 1,
                    freivalds_lanes: 1,
                    requant: RequantShape { r_limbs: 8, u_limbs: 8, v_limbs: 8, table: true },
                    softmax: SoftmaxShape { r_limbs: 8, y_limbs: 8 },
                    zero_cell: true,
                    limb_bits,
                    public_input,
                };
                let circuit = ModelCircuit::for_keygen(model.clone(), probe)?;
                let rows = circuit.row_budget();
                let needs = circuit.column_needs();
                // Where Freivalds checks some products, the same layout with every product
                // proven directly is a candidate too (the cost model weighs the two).
                let direct_rows = match rows.freivalds {
                    0 => None,
                    _ => Some(
                        ModelCircuit::for_keygen(model.clone(), LayoutParams { freivalds_lanes: 0, ..probe })?
                            .row_budget()
                            .product,
                    ),
                };
                let floor = rows.input.max(rows.instance).max(rows.table) + BLINDING_ROWS;
                let k_min = floor.next_power_of_two().trailing_zeros().max(4);
                let k_max = match objective {
                    Objective::ProveTime => k_min + 6,
                    Objective::ProofSize => (k_min + 6).max(21),
                };
                for k in k_min..k_max {
                    let usable = (1usize << k) - BLINDING_ROWS;
                    let lanes = |r: usize| r.div_ceil(usable);
                    let layout = LayoutParams {
                        dense_lanes: lanes(rows.dense),
                        requant_lanes: lanes(rows.requant),
                        maxpool_lanes: lanes(rows.maxpool),
                        softmax_lanes: lanes(rows.softmax),
                        product_lanes: lanes(rows.product),
                        freivalds_lanes: lanes(rows.freivalds),
                        requant: needs.requant,
                        softmax: needs.softmax,
                        zero_cell: needs.zero_cell,
                        ..probe
                    };
                    let direct = direct_rows.map(|rows| LayoutParams {
                        product_lanes: lanes(rows),
                        freivalds_lanes: 0,
                        ..layout
                    });
                    for layout in std::iter::once(layout).chain(direct) {
                        if layout.check().is_ok() && !all.iter().any(|(l, _)| *l == layout) {
                            all.push((layout, cost(&layout, k)));
                        }
                    }
                }
            }
        }
    }
    // Lanes are filled op by op, so a layout planned for 2^k rows may need 2^(k+1): the cheapest
    // is re-costed at the rows it really takes, and the same layout with one more lane of each
    // chip in use is tried at 2^k, until the cheapest one is confirmed.
    let mut ranked: Vec<(LayoutParams, Estimate, bool)> = all.into_iter().map(|(l, e)| (l, e, false)).collect();
    loop {
        ranked.sort_by(|a, b| a.1.cost.total_cmp(&b.1.cost));
        let Some(&(layout, planned, false)) = ranked.first() else {
            return Ok(ranked.into_iter().map(|(layout, estimate, _)| (layout, estimate)).collect());
        };
        let k = ModelCircuit::for_keygen(model.clone(), layout)?.min_k();
        ranked[0] = (layout, cost(&layout, k.max(planned.k)), true);
        let more = |lanes: usize| lanes + usize::from(lanes > 0);
        let wider = LayoutParams {
            dense_lanes: more(layout.dense_lanes),
            requant_lanes: more(layout.requant_lanes),
            maxpool_lanes: more(layout.maxpool_lanes),
            softmax_lanes: more(layout.softmax_lanes),
            product_lanes: more(layout.product_lanes),
            freivalds_lanes: more(layout.freivalds_lanes),
            ..layout
        };
        if k > planned.k && wider.check().is_ok() && !ranked.iter().any(|(l, _, _)| *l == wider) {
            ranked.push((wider, cost(&wider, planned.k), false));
        }
    }
}

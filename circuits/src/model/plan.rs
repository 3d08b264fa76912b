//! Per-node plans: the constants and lookup-table entries each op needs, and the limb columns
//! they call for.

use std::collections::BTreeMap;

use zkinfer_quant_models::quant::{signed_range, Activation, QOp, QuantModel};

use crate::chips::limbs::{limbs, limbs_above};
use crate::chips::requant::{Output, RequantParams, RequantShape};
use crate::chips::softmax::{SoftmaxParams, SoftmaxShape, MAX_INPUT_BITS};
use crate::table::LookupTable;

use super::jobs::{avg_divisor, pool_windows};
use super::CircuitError;

/// What a node needs from the shared table and its constants.
#[derive(Clone, Debug)]
pub(super) enum NodePlan {
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
pub(super) struct Plans {
    /// The range check of each model input: an identity requantization row per element,
    /// which proves `v ∈ [-2^(bits-1), 2^(bits-1))` with the requant chip's limbs.
    pub(super) inputs: Vec<RequantParams>,
    pub(super) nodes: Vec<NodePlan>,
    pub(super) table: LookupTable,
    pub(super) needs: ColumnNeeds,
}

/// `t ∈ [-h, h)` for a symmetric power-of-two domain.
pub(super) fn half_domain(domain: (i64, i64)) -> Option<i64> {
    let h = -domain.0;
    (h > 0 && h.count_ones() == 1 && domain.1 == h - 1).then_some(h)
}

pub(super) fn plan_nodes(model: &QuantModel, limb_bits: u32) -> Result<Plans, CircuitError> {
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
pub(super) fn relu_low_bound(mult: i64, half: i64, divisor: i64, acc_bits: u32, h: i64) -> i64 {
    let reach = 1i128 << acc_bits.clamp(1, 62).saturating_sub(1);
    let t = |acc: i128| (acc * mult as i128 + half as i128).div_euclid(divisor as i128);
    let lowest = t(-reach).min(t(reach - 1));
    let needed = (-lowest).max(h as i128).max(1) as u128;
    needed.next_power_of_two().min(1 << 62) as i64
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

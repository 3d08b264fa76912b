//! Recognises the GELU subgraph PyTorch exports before opset 20:
//! `0.5 · x · (1 + erf(x / √2))` as Div (or Mul by 1/√2) → Erf → Add 1 → Mul x → Mul 0.5
//! (the 0.5 may also multiply x first). The group becomes one GELU activation.

use std::collections::HashMap;

use tract_onnx::pb::{GraphProto, NodeProto};

use super::import::{Ctx, Val};
use crate::error::Result;

/// One node's role in a recognised pattern.
pub(super) struct PatternNode {
    /// On the first node of the group: (input x, final output) of the GELU to emit.
    pub emit: Option<(String, String)>,
}

fn scalar(ctx: &Ctx, name: &str) -> Option<f64> {
    match ctx.env.get(name)? {
        Val::Const { data, .. } if data.len() == 1 => Some(data[0]),
        _ => None,
    }
}

/// The other operand of a binary node, when `name` is one of its inputs.
fn other<'a>(n: &'a NodeProto, name: &str) -> Option<&'a str> {
    match (n.input.first(), n.input.get(1)) {
        (Some(a), Some(b)) if a == name => Some(b),
        (Some(a), Some(b)) if b == name => Some(a),
        _ => None,
    }
}

fn near(v: Option<f64>, want: f64) -> bool {
    v.is_some_and(|v| (v - want).abs() < 1e-3 * want.abs())
}

/// Maps node index → its role, for every node of every GELU pattern found.
pub(super) fn find_gelu_patterns(g: &GraphProto, ctx: &Ctx) -> Result<HashMap<usize, PatternNode>> {
    let producer: HashMap<&str, usize> =
        g.node.iter().enumerate().flat_map(|(i, n)| n.output.iter().map(move |o| (o.as_str(), i))).collect();
    let sole_consumer = |name: &str| -> Option<usize> {
        if ctx.consumers.get(name) != Some(&1) || ctx.graph_outputs.contains(name) {
            return None;
        }
        g.node.iter().position(|n| n.input.iter().any(|i| i == name))
    };
    let mut found = HashMap::new();
    for (ei, erf) in g.node.iter().enumerate().filter(|(_, n)| n.op_type == "Erf") {
        let Some(&di) = erf.input.first().and_then(|i| producer.get(i.as_str())) else {
            continue;
        };
        let d = &g.node[di];
        let Some(x) = d.input.first().cloned() else {
            continue;
        };
        let scaled = match d.op_type.as_str() {
            "Div" => near(d.input.get(1).and_then(|c| scalar(ctx, c)), std::f64::consts::SQRT_2),
            "Mul" => near(d.input.get(1).and_then(|c| scalar(ctx, c)), std::f64::consts::FRAC_1_SQRT_2),
            _ => false,
        };
        if !scaled || sole_consumer(&d.output[0]) != Some(ei) {
            continue;
        }
        let Some(ai) = sole_consumer(&erf.output[0]) else {
            continue;
        };
        let a = &g.node[ai];
        if a.op_type != "Add" || !near(other(a, &erf.output[0]).and_then(|c| scalar(ctx, c)), 1.0) {
            continue;
        }
        let Some(m1i) = sole_consumer(&a.output[0]) else {
            continue;
        };
        let m1 = &g.node[m1i];
        let Some(p) = other(m1, &a.output[0]).filter(|_| m1.op_type == "Mul") else {
            continue;
        };
        let mut group = vec![di, ei, ai, m1i];
        let out = if p == x {
            // 0.5 applied last.
            let Some(m2i) = sole_consumer(&m1.output[0]) else {
                continue;
            };
            let m2 = &g.node[m2i];
            if m2.op_type != "Mul" || !near(other(m2, &m1.output[0]).and_then(|c| scalar(ctx, c)), 0.5) {
                continue;
            }
            group.push(m2i);
            m2.output[0].clone()
        } else {
            // 0.5 applied to x first: p = Mul(x, 0.5).
            let Some(&hi) = producer.get(p) else { continue };
            let h = &g.node[hi];
            if h.op_type != "Mul"
                || other(h, &x).and_then(|c| scalar(ctx, c)).is_none_or(|c| (c - 0.5).abs() > 5e-4)
                || sole_consumer(p) != Some(m1i)
            {
                continue;
            }
            group.push(hi);
            m1.output[0].clone()
        };
        let first = *group.iter().min().unwrap_or(&di);
        for i in group {
            found.insert(i, PatternNode { emit: (i == first).then(|| (x.clone(), out.clone())) });
        }
    }
    Ok(found)
}

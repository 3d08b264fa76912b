//! Activations moved in front of the rewiring before them (a concatenation of per-sample results,
//! a reshape): `f(rewire(x)) = rewire(f(x))` for an elementwise `f` when every output element is
//! one input element. The activation then meets the linear op that made `x`, and the quantizer
//! fuses it into that op's requantization, as it does when the model runs on one sample.

use crate::graph::{ActFn, FloatGraph, FloatNode, FloatOp};

/// Rewrites every `Activation(Rewire(parts))` whose parts and rewired tensor have no other use.
pub(super) fn sink_activations(graph: &mut FloatGraph) {
    let mut i = 0;
    while i < graph.nodes.len() {
        if let Some((j, f)) = sinkable_activation(graph, i) {
            let (rewire, activation) = (graph.nodes[i].clone(), graph.nodes.remove(j));
            let mut moved = Vec::with_capacity(rewire.inputs.len() + 1);
            let mut activated = Vec::with_capacity(rewire.inputs.len());
            for (b, &part) in rewire.inputs.iter().enumerate() {
                let shape = graph.tensors[part].shape.clone();
                let name = format!("{}:{b}", graph.tensors[activation.output].name);
                let out = graph.add_tensor(name, shape);
                let node_name = format!("{}:{b}", activation.name);
                moved.push(FloatNode { name: node_name, op: FloatOp::Activation(f), inputs: vec![part], output: out });
                activated.push(out);
            }
            moved.push(FloatNode { inputs: activated.clone(), output: activation.output, ..rewire });
            if activated.len() > 1 {
                graph.shared_ranges.push(activated);
            }
            let count = moved.len();
            graph.nodes.splice(i..=i, moved);
            i += count;
        } else {
            i += 1;
        }
    }
}

/// The index and function of the activation that alone consumes node `i`'s output when node `i`
/// is a rewire without zero-filled elements whose inputs have no other consumer.
fn sinkable_activation(graph: &FloatGraph, i: usize) -> Option<(usize, ActFn)> {
    let node = &graph.nodes[i];
    let FloatOp::Rewire { map } = &node.op else { return None };
    if map.iter().any(Option::is_none) {
        return None;
    }
    let uses =
        |t| graph.nodes.iter().filter(|n| n.inputs.contains(&t)).count() + usize::from(graph.outputs.contains(&t));
    if uses(node.output) != 1 || node.inputs.iter().any(|&p| uses(p) != 1 || graph.inputs.contains(&p)) {
        return None;
    }
    let j = graph.nodes.iter().position(|n| n.inputs.contains(&node.output))?;
    match graph.nodes[j].op {
        FloatOp::Activation(f) => Some((j, f)),
        _ => None,
    }
}

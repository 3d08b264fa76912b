//! Model-level adversarial witnesses for the ops between computed tensors: in a circuit built
//! from an ONNX node test, one output of the op is changed and everything downstream follows
//! from it honestly (the requantization recomputed, the public output matching). Only the
//! op's own constraint can tell, and MockProver must name it.

#[path = "../../quant-models/tests/support/node_tests.rs"]
mod node_tests;

use std::sync::Arc;

use halo2_proofs::dev::MockProver;
use node_tests::load_case;
use zkinfer_circuits::model::{CircuitError, LayoutParams, ModelCircuit};
use zkinfer_circuits::planner::plan;
use zkinfer_quant_models::infer::run_float_inputs;
use zkinfer_quant_models::onnx::import_onnx_bytes;
use zkinfer_quant_models::quant::{calibrate, quantize, Activation, QuantConfig};
use zkinfer_quant_models::QOp;

/// Builds the case's circuit with one output of its first `op` node moved by one step of what
/// follows it (one rounding step of the requantization after it, recomputed; or 1), at the
/// element whose final value is nearest 0 so nothing leaves its range; returns the failures
/// MockProver reports. `adjust` changes the planner's layout (to pick how products are proven).
fn failures_after_tampering(name: &str, dynamic: usize, op: &str, adjust: Adjust) -> Vec<String> {
    let case = load_case(name, dynamic);
    let graph = import_onnx_bytes(&case.model, name).unwrap();
    let ranges = calibrate(&graph, std::slice::from_ref(&case.inputs)).unwrap();
    let model = Arc::new(quantize(&graph, &ranges, QuantConfig::default()).unwrap());
    let mut trace = run_float_inputs(&model, &case.inputs).unwrap();
    let at = model.nodes.iter().position(|n| n.op.name() == op).unwrap_or_else(|| panic!("{name}: no {op}"));
    let tampered = model.nodes[at].output;
    let requant = model.nodes.iter().find(|n| n.inputs == [tampered]).map(|next| match next.op {
        QOp::Requant { mult: 1, shift, activation: Activation::Identity, .. } => (next.output, shift),
        ref other => panic!("{name}: {op} is followed by {other:?}"),
    });
    let last = requant.map_or(tampered, |(out, _)| out);
    // Not element 0: its row may be a lane's first, whose gate reads the row before it, and
    // MockProver panics rendering a failure there.
    let e = (1..trace.values[last].len()).min_by_key(|&i| trace.values[last][i].abs()).unwrap_or(0);
    match requant {
        Some((out, shift)) => {
            trace.values[tampered][e] += 1 << shift;
            trace.values[out][e] += 1;
        }
        None => trace.values[tampered][e] += 1,
    }
    let layout = adjust(plan(&model, true).unwrap().0);
    let circuit = ModelCircuit::new_unchecked(model, Arc::new(trace), layout).unwrap();
    match MockProver::run(circuit.min_k(), &circuit, vec![circuit.instance()]).unwrap().verify() {
        Ok(()) => Vec::new(),
        Err(failures) => failures.iter().map(|f| format!("{f:?}")).collect(),
    }
}

fn assert_only(failures: &[String], constraint: &str) {
    assert!(!failures.is_empty(), "the tampered witness was accepted");
    assert!(failures.iter().all(|f| f.contains(constraint)), "expected only `{constraint}`: {failures:#?}");
}

/// A change to the planner's layout.
type Adjust = fn(LayoutParams) -> LayoutParams;

fn planned(layout: LayoutParams) -> LayoutParams {
    layout
}

/// Products checked by Freivalds wherever that takes fewer rows, on one lane.
fn freivalds(layout: LayoutParams) -> LayoutParams {
    LayoutParams { freivalds_lanes: 1, ..layout }
}

/// Every product proven directly, on one lane.
fn direct(layout: LayoutParams) -> LayoutParams {
    LayoutParams { freivalds_lanes: 0, product_lanes: 1, ..layout }
}

#[test]
fn a_matrix_product_entry_off_by_one_is_caught_by_the_product_gate() {
    let failures = failures_after_tampering("test_matmul_2d", 2, "Product", direct);
    assert_only(&failures, "product");
}

#[test]
fn a_matrix_product_entry_off_by_one_is_caught_by_the_freivalds_check() {
    // `[3, 4] × [4, 3]`: 33 Freivalds rows against 36 direct ones. The tampered entry's `C·r`
    // is computed honestly from it: only the copy of `A·(B·r)` onto `C·r` breaks.
    let failures = failures_after_tampering("test_matmul_2d", 2, "Product", freivalds);
    assert!(!failures.is_empty(), "the tampered witness was accepted");
    assert!(failures.iter().all(|f| f.contains("Equality constraint not satisfied")), "{failures:#?}");
}

#[test]
fn an_elementwise_product_off_by_one_is_caught_by_the_product_gate() {
    let failures = failures_after_tampering("test_mul_example", 2, "Product", planned);
    assert_only(&failures, "product");
}

#[test]
fn a_reduced_sum_off_by_one_is_caught_by_the_sum_rows() {
    let failures = failures_after_tampering("test_reduce_sum_keepdims_random", 1, "ReduceSum", planned);
    assert_only(&failures, "dense");
}

#[test]
fn a_reduced_maximum_above_every_element_is_caught_by_the_max_rows() {
    let failures = failures_after_tampering("test_reduce_max_keepdims_random", 1, "ReduceMax", planned);
    assert_only(&failures, "max pool");
}

/// A layout change that takes one chip's lanes away.
type Without = Adjust;

/// A layout without a lane for the chip an op runs on is refused, naming the node, for each
/// chip the ops between computed tensors use.
#[test]
fn a_layout_without_the_ops_lane_is_refused() {
    let cases: [(&str, usize, Without); 6] = [
        ("test_matmul_2d", 2, |l| LayoutParams { product_lanes: 0, freivalds_lanes: 0, ..l }),
        ("test_mul_example", 2, |l| LayoutParams { product_lanes: 0, ..l }),
        ("test_reduce_sum_keepdims_random", 1, |l| LayoutParams { dense_lanes: 0, ..l }),
        ("test_averagepool_2d_default", 1, |l| LayoutParams { dense_lanes: 0, ..l }),
        ("test_reduce_max_keepdims_random", 1, |l| LayoutParams { maxpool_lanes: 0, ..l }),
        ("test_softmax_example", 1, |l| LayoutParams { softmax_lanes: 0, ..l }),
    ];
    for (name, dynamic, without) in cases {
        let case = load_case(name, dynamic);
        let graph = import_onnx_bytes(&case.model, name).unwrap();
        let ranges = calibrate(&graph, std::slice::from_ref(&case.inputs)).unwrap();
        let model = Arc::new(quantize(&graph, &ranges, QuantConfig::default()).unwrap());
        let trace = Arc::new(run_float_inputs(&model, &case.inputs).unwrap());
        let layout = without(plan(&model, true).unwrap().0);
        match ModelCircuit::new(model, trace, layout) {
            Err(CircuitError::BadLayout(why)) => assert!(why.contains("no lane for node"), "{name}: {why}"),
            other => panic!("{name}: accepted a layout without the op's lane: {:?}", other.map(|c| c.rows())),
        }
    }
}

//! The digits MLP as a circuit, checked with MockProver: the honest trace verifies; a changed
//! public output is rejected; and every one of 200 random single-cell mutations of the trace is
//! rejected.

use std::path::Path;
use std::sync::Arc;

use halo2_proofs::dev::MockProver;
use halo2_proofs::halo2curves::bn256::Fr;
use zkinfer_circuits::chips::dense::DenseShape;
use zkinfer_circuits::chips::requant::RequantShape;
use zkinfer_circuits::model::{CircuitError, LayoutParams, ModelCircuit};
use zkinfer_circuits::planner::plan;
use zkinfer_quant_models::compile::compile_onnx_file;
use zkinfer_quant_models::infer::{run_float_inputs, Trace};
use zkinfer_quant_models::io::{read_calibration, read_input};
use zkinfer_quant_models::onnx::SplitMix64;
use zkinfer_quant_models::quant::{exp_table, QTensor};
use zkinfer_quant_models::{QOp, QuantConfig, QuantModel};

fn planned(model: &Arc<QuantModel>) -> LayoutParams {
    plan(model, true).unwrap().0
}

fn digits_mlp() -> (Arc<QuantModel>, Trace) {
    shipped("digits-mlp")
}

fn shipped(name: &str) -> (Arc<QuantModel>, Trace) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../quant-models/models").join(name);
    let samples = read_calibration(&dir.join("calibration.json")).unwrap();
    let compiled = compile_onnx_file(&dir.join("model.onnx"), &samples, QuantConfig::default()).unwrap();
    let input = read_input(&dir.join("input.json")).unwrap();
    let trace = run_float_inputs(&compiled.quant, &input.input_data).unwrap();
    (Arc::new(compiled.quant), trace)
}

fn verifies(model: &Arc<QuantModel>, trace: Trace, instance: Vec<Fr>) -> bool {
    let circuit = ModelCircuit::new(model.clone(), Arc::new(trace), planned(model)).unwrap();
    MockProver::run(circuit.min_k(), &circuit, vec![instance]).unwrap().verify().is_ok()
}

#[test]
fn honest_trace_verifies_and_changed_output_does_not() {
    let (model, trace) = digits_mlp();
    let circuit = ModelCircuit::new(model.clone(), Arc::new(trace.clone()), planned(&model)).unwrap();
    let instance = circuit.instance();
    assert_eq!(instance.len(), 64 + 10);
    println!("digits MLP: {} rows, k = {}", circuit.rows(), circuit.min_k());
    assert!(verifies(&model, trace.clone(), instance.clone()));
    let mut changed = instance;
    changed[64 + 3] += Fr::one();
    assert!(!verifies(&model, trace, changed));
}

/// The trace of `model` on integer `input` computed as if the input had 16 bits: every
/// downstream value follows honestly from an input outside the model's declared range.
fn trace_beyond_range(model: &QuantModel, input: Vec<i64>) -> Trace {
    let mut wide = model.clone();
    wide.tensors[model.inputs[0]].bits = 16;
    zkinfer_quant_models::infer::run(&wide, vec![input]).unwrap()
}

#[test]
fn an_input_outside_its_range_is_rejected_public_or_private() {
    let (model, trace) = digits_mlp();
    let mut input = trace.values[model.inputs[0]].clone();
    input[5] = 1000; // an int8 pixel
    let forged = Arc::new(trace_beyond_range(&model, input));
    // The honest path refuses to build it at all.
    let layout = planned(&model);
    assert!(matches!(
        ModelCircuit::new(model.clone(), forged.clone(), layout),
        Err(CircuitError::TraceMismatch(m)) if m.contains("outside its range")
    ));
    // A prover who skips that check is stopped by the range check, whether the input is public
    // or hidden: the only constraint the witness breaks.
    for public_input in [true, false] {
        let layout = LayoutParams { public_input, ..layout };
        let circuit = ModelCircuit::new_unchecked(model.clone(), forged.clone(), layout).unwrap();
        let failures =
            MockProver::run(circuit.min_k(), &circuit, vec![circuit.instance()]).unwrap().verify().unwrap_err();
        assert!(failures.iter().all(|f| format!("{f:?}").contains("requant")), "public {public_input}: {failures:?}");
    }
    // The edge of the range proves: -128 and 127.
    for edge in [-128, 127] {
        let mut input = trace.values[model.inputs[0]].clone();
        input[5] = edge;
        let t = zkinfer_quant_models::infer::run(&model, vec![input]).unwrap();
        let circuit = ModelCircuit::new(model.clone(), Arc::new(t), layout).unwrap();
        MockProver::run(circuit.min_k(), &circuit, vec![circuit.instance()]).unwrap().assert_satisfied();
    }
}

#[test]
fn run_and_the_circuit_agree_on_every_saturation() {
    // One rule: a sample the integer inference reports no saturation for builds a circuit, and
    // one it reports a saturation for is refused (ReLU inputs far below range included).
    for name in ["digits-cnn", "fashion-cnn"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../quant-models/models").join(name);
        let samples = read_calibration(&dir.join("calibration.json")).unwrap();
        let compiled = compile_onnx_file(&dir.join("model.onnx"), &samples, QuantConfig::default()).unwrap();
        let model = Arc::new(compiled.quant);
        let layout = planned(&model);
        let mut scaled = 0;
        for (i, sample) in samples.iter().take(40).enumerate() {
            // Each sample as it is, and scaled ×3 (which pushes values out of range).
            for factor in [1.0, 3.0] {
                let input: Vec<Vec<f64>> = sample.iter().map(|x| x.iter().map(|v| v * factor).collect()).collect();
                let trace = run_float_inputs(&model, &input).unwrap();
                let clamped_input = trace.saturations.iter().any(|s| model.tensors[model.inputs[0]].name == s.tensor);
                let built = ModelCircuit::new(model.clone(), Arc::new(trace.clone()), layout);
                match (&built, trace.saturations.is_empty()) {
                    (Ok(_), true) => {}
                    // Input clamping is the prover's to refuse (the clamped input is in range).
                    (Ok(_), false) => assert!(clamped_input, "{name}[{i}]×{factor}: {:?}", trace.saturations),
                    (Err(CircuitError::Saturated { tensor, .. }), false) => {
                        assert!(trace.saturations.iter().any(|s| &s.tensor == tensor), "{name}[{i}]: {tensor}");
                        scaled += 1;
                    }
                    (other, _) => panic!("{name}[{i}]×{factor}: {:?} vs {:?}", other.as_ref().err(), trace.saturations),
                }
            }
        }
        println!("{name}: {scaled} scaled samples refused for saturated intermediates");
    }
}

#[test]
fn every_mutated_trace_cell_is_rejected() {
    let (model, trace) = digits_mlp();
    let honest = ModelCircuit::new(model.clone(), Arc::new(trace.clone()), planned(&model)).unwrap().instance();
    let mut rng = SplitMix64::new(11);
    let mut tried = 0;
    while tried < 200 {
        let t = rng.uniform(0.0, trace.values.len() as f64) as usize;
        if trace.values[t].is_empty() {
            continue;
        }
        let e = rng.uniform(0.0, trace.values[t].len() as f64) as usize;
        let mut mutated = trace.clone();
        mutated.values[t][e] += if rng.uniform(0.0, 1.0) < 0.5 { 1 } else { -1 };
        match ModelCircuit::new(model.clone(), Arc::new(mutated.clone()), planned(&model)) {
            // A mutation that pushes a value out of its domain is refused before proving.
            Err(CircuitError::Saturated { .. }) => {}
            Err(e) => panic!("{e}"),
            Ok(_) => assert!(
                !verifies(&model, mutated, honest.clone()),
                "mutation of `{}`[{e}] accepted",
                model.tensors[t].name
            ),
        }
        tried += 1;
    }
}

/// A shipped model's honest circuit, checked to verify; returns its public instance.
fn shipped_and_verified(name: &str) -> (Arc<QuantModel>, Trace, Vec<Fr>) {
    let (model, trace) = shipped(name);
    let circuit = ModelCircuit::new(model.clone(), Arc::new(trace.clone()), planned(&model)).unwrap();
    let instance = circuit.instance();
    println!("{name}: {} rows, k = {}", circuit.rows(), circuit.min_k());
    assert!(verifies(&model, trace.clone(), instance.clone()));
    (model, trace, instance)
}

#[test]
fn fashion_cnn_with_max_pools_verifies_and_mutations_are_rejected() {
    let (model, trace, instance) = shipped_and_verified("fashion-cnn");
    // Mutations in every max-pool output and in each conv layer's requantized output.
    for name in ["pool1", "pool2", "relu1", "relu2"] {
        let t = model.tensors.iter().position(|t| t.name == name).unwrap();
        let mut mutated = trace.clone();
        let e = mutated.values[t].len() / 3;
        mutated.values[t][e] += 1;
        assert!(!verifies(&model, mutated, instance.clone()), "mutation of `{name}` accepted");
    }
}

#[test]
fn digits_cnn_with_average_pool_verifies_and_mutations_are_rejected() {
    let (model, trace, instance) = shipped_and_verified("digits-cnn");
    let t = model.tensors.iter().position(|t| t.name == "pool").unwrap();
    for e in [0, 17, 100] {
        let mut mutated = trace.clone();
        mutated.values[t][e] += 1;
        assert!(!verifies(&model, mutated, instance.clone()), "mutation of pool[{e}] accepted");
    }
}

#[test]
fn multi_lane_layout_with_narrow_limbs_verifies_and_rejects_mutations() {
    // Work spread over several lanes of every chip, 4-bit limbs: the same model, another layout.
    let (model, trace) = shipped("digits-cnn");
    let layout = LayoutParams {
        dense: DenseShape { width: 4, outputs: 2 },
        dense_lanes: 3,
        requant_lanes: 4,
        maxpool_lanes: 0,
        requant: RequantShape { r_limbs: 3, u_limbs: 2, v_limbs: 4, table: false },
        limb_bits: 4,
        ..LayoutParams::default()
    };
    let circuit = ModelCircuit::new(model.clone(), Arc::new(trace.clone()), layout).unwrap();
    let (k, instance) = (circuit.min_k(), circuit.instance());
    assert!(circuit.row_budget().table < 64, "4-bit limbs keep the table small");
    MockProver::run(k, &circuit, vec![instance.clone()]).unwrap().assert_satisfied();
    // Every node's output except pure wiring (whose trace values the circuit never reads).
    for node in model.nodes.iter().filter(|n| !matches!(n.op, QOp::Rewire { .. })) {
        let (t, name) = (node.output, &node.name);
        let mut mutated = trace.clone();
        let e = mutated.values[t].len() - 1;
        mutated.values[t][e] += 1;
        if let Ok(c) = ModelCircuit::new(model.clone(), Arc::new(mutated), layout) {
            assert!(
                MockProver::run(k, &c, vec![instance.clone()]).unwrap().verify().is_err(),
                "`{name}` mutation accepted"
            );
        }
    }
    // Too few limb columns for this limb width is refused when the circuit is built.
    let narrow = LayoutParams { requant: RequantShape { r_limbs: 1, ..layout.requant }, ..layout };
    assert!(matches!(ModelCircuit::new(model, Arc::new(trace), narrow), Err(CircuitError::BadLayout(_))));
}

/// The digits MLP with more ops after its output (the new output is the last one).
fn extended(model: &Arc<QuantModel>, ops: Vec<(QOp, Vec<usize>)>) -> Arc<QuantModel> {
    let mut m = (**model).clone();
    let out = model.outputs[0];
    for (k, (op, inputs)) in ops.into_iter().enumerate() {
        let mut t = m.tensors[out].clone();
        (t.name, t.bits) = (format!("extra{k}"), 24);
        m.tensors.push(t);
        let id = m.tensors.len() - 1;
        m.nodes.push(zkinfer_quant_models::quant::QNode { name: format!("extra{k}"), op, inputs, output: id });
        m.outputs = vec![id];
    }
    Arc::new(m)
}

#[test]
fn affine_and_residual_add_are_proven_on_the_dense_chip() {
    let (model, _) = digits_mlp();
    let (out, n) = (model.outputs[0], model.tensors[model.outputs[0]].len());
    let mul: Vec<i64> = (0..n as i64).map(|i| i - 4).collect();
    let add: Vec<i64> = (0..n as i64).map(|i| 7 * i - 30).collect();
    let first = model.tensors.len();
    let m = extended(
        &model,
        vec![(QOp::Affine { mul, add }, vec![out]), (QOp::Add { a_mult: 1, b_mult: -2 }, vec![first, out])],
    );
    let input = read_input(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../quant-models/models/digits-mlp/input.json"))
        .unwrap();
    let trace = run_float_inputs(&m, &input.input_data).unwrap();
    let circuit = ModelCircuit::new(m.clone(), Arc::new(trace.clone()), planned(&m)).unwrap();
    let (k, instance) = (circuit.min_k(), circuit.instance());
    MockProver::run(k, &circuit, vec![instance.clone()]).unwrap().assert_satisfied();
    for t in [first, first + 1] {
        for e in [0, n - 1] {
            let mut mutated = trace.clone();
            mutated.values[t][e] += 1;
            // The claim built from the mutated trace (its output is the public instance).
            let c = ModelCircuit::new(m.clone(), Arc::new(mutated), planned(&m)).unwrap();
            assert!(MockProver::run(k, &c, vec![c.instance()]).unwrap().verify().is_err(), "{t}[{e}] accepted");
        }
    }
}

/// Proves `m` on the digits MLP's shipped input, then shows that changing one element of each
/// tensor in `mutate` (first and last element) is rejected.
fn proves_and_rejects_mutations(m: &Arc<QuantModel>, mutate: &[usize]) -> Trace {
    let input = read_input(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../quant-models/models/digits-mlp/input.json"))
        .unwrap();
    let trace = run_float_inputs(m, &input.input_data).unwrap();
    let circuit = ModelCircuit::new(m.clone(), Arc::new(trace.clone()), planned(m)).unwrap();
    let (k, instance) = (circuit.min_k(), circuit.instance());
    MockProver::run(k, &circuit, vec![instance]).unwrap().assert_satisfied();
    for &t in mutate {
        for e in [0, m.tensors[t].len() - 1] {
            for delta in [1, -1] {
                let mut mutated = trace.clone();
                mutated.values[t][e] += delta;
                let c = ModelCircuit::new(m.clone(), Arc::new(mutated), planned(m)).unwrap();
                let ok = MockProver::run(k, &c, vec![c.instance()]).unwrap().verify().is_ok();
                assert!(!ok, "tensor {t}[{e}] {delta:+} accepted");
            }
        }
    }
    trace
}

/// The digits MLP followed by `op` on its output, producing a tensor of `shape`, `frac`, `bits`.
fn followed_by(model: &Arc<QuantModel>, op: QOp, shape: Vec<usize>, frac_bits: i32, bits: u32) -> Arc<QuantModel> {
    let mut m = (**model).clone();
    let out = model.outputs[0];
    let name = format!("after-{}", op.name());
    m.tensors.push(QTensor { name: name.clone(), shape, frac_bits, bits });
    let id = m.tensors.len() - 1;
    m.nodes.push(zkinfer_quant_models::quant::QNode { name, op, inputs: vec![out], output: id });
    m.outputs = vec![id];
    Arc::new(m)
}

#[test]
fn softmax_is_proven_bit_for_bit_and_mutations_are_rejected() {
    let (model, _) = digits_mlp();
    let logits = &model.tensors[model.outputs[0]];
    assert!(logits.bits <= 16, "softmax reads the requantized logits");
    let exp_table = exp_table(logits.frac_bits, (1 << logits.bits) - 1);
    let softmax = QOp::Softmax { axis: 1, exp_table };
    let m = followed_by(&model, softmax, logits.shape.clone(), 6, 8);
    let trace = proves_and_rejects_mutations(&m, &[model.outputs[0], m.outputs[0]]);
    let probabilities = &trace.values[m.outputs[0]];
    let total: i64 = probabilities.iter().sum();
    assert!((total - 64).abs() <= 5, "{probabilities:?} should sum to about 1.0 = 64");
}

#[test]
fn zero_padding_copies_a_fixed_zero() {
    let (model, _) = digits_mlp();
    let logits = model.tensors[model.outputs[0]].clone();
    let n = logits.len() as u32;
    // [0, logits..., 0]
    let map = std::iter::once(None).chain((0..n).map(|i| Some((0, i)))).chain(std::iter::once(None)).collect();
    let m = followed_by(&model, QOp::Rewire { map }, vec![1, n as usize + 2], logits.frac_bits, logits.bits);
    let layout = planned(&m);
    assert!(layout.zero_cell && !planned(&model).zero_cell);
    let trace = proves_and_rejects_mutations(&m, &[m.outputs[0]]);
    assert_eq!(trace.values[m.outputs[0]][0], 0);
}

/// A layout without a lane for a chip the model uses is refused by name when the circuit is
/// built (a key file carries its layout: untrusted data, not only a planner slip); the circuit
/// keeps the layout it was built with, and its degree is the one the extended domain holds.
#[test]
fn a_layout_without_a_lane_for_a_used_chip_is_refused() {
    let (model, trace) = digits_mlp();
    let layout = planned(&model);
    let circuit = ModelCircuit::new(model.clone(), Arc::new(trace.clone()), layout).unwrap();
    assert_eq!(circuit.layout(), layout);
    let mut cs = halo2_proofs::plonk::ConstraintSystem::<Fr>::default();
    <ModelCircuit as halo2_proofs::plonk::Circuit<Fr>>::configure_with_params(&mut cs, layout);
    assert_eq!(cs.degree(), 5, "gates of degree 4 share the 4n coset with degree 5");
    let refusal = |layout: LayoutParams| match ModelCircuit::new(model.clone(), Arc::new(trace.clone()), layout) {
        Err(CircuitError::BadLayout(why)) => why,
        other => panic!("accepted a layout without a lane: {:?}", other.map(|c| c.rows())),
    };
    assert!(refusal(LayoutParams { dense_lanes: 0, ..layout }).contains("no lane for node"));
    assert!(refusal(LayoutParams { requant_lanes: 0, ..layout }).contains("needs a requant lane"));
    let (model, trace) = shipped("fashion-cnn");
    let layout = planned(&model);
    match ModelCircuit::new(model, Arc::new(trace), LayoutParams { maxpool_lanes: 0, ..layout }) {
        Err(CircuitError::BadLayout(why)) => assert!(why.contains("no lane for node `pool1"), "{why}"),
        other => panic!("accepted a layout without a max-pool lane: {:?}", other.map(|c| c.rows())),
    }
}

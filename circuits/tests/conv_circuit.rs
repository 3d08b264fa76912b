//! Convolutions (padding, stride, dilation, groups) proven on the dense chip: honest traces
//! verify under MockProver; mutated traces and changed outputs do not.

use std::sync::Arc;

use halo2_proofs::dev::MockProver;
use zkinfer_circuits::field::fe;
use zkinfer_circuits::model::ModelCircuit;
use zkinfer_circuits::planner::plan;
use zkinfer_quant_models::graph::{ActFn, FloatGraph, FloatOp};
use zkinfer_quant_models::infer::{run_float_inputs, Trace};
use zkinfer_quant_models::onnx::SplitMix64;
use zkinfer_quant_models::quant::{calibrate, quantize};
use zkinfer_quant_models::window::Window2d;
use zkinfer_quant_models::{QuantConfig, QuantModel};

/// input [1, 2, 5, 5] → conv (given window, group) → ReLU.
fn conv_model(window: Window2d, group: usize, out_channels: usize) -> (Arc<QuantModel>, Trace) {
    let mut rng = SplitMix64::new(5);
    let mut g = FloatGraph::default();
    let x = g.add_tensor("x", vec![1, 2, 5, 5]);
    g.inputs.push(x);
    let (oh, ow) = window.output_hw(5, 5).unwrap();
    let per_out = 2 / group * window.kernel[0] * window.kernel[1];
    let weight = (0..out_channels * per_out).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let bias = (0..out_channels).map(|_| rng.uniform(-0.5, 0.5)).collect();
    let conv = FloatOp::Conv { weight, bias, window, group };
    let c = g.add_node("conv", conv, vec![x], "conv", vec![1, out_channels, oh, ow]).unwrap();
    let y = g.add_node("relu", FloatOp::Activation(ActFn::Relu), vec![c], "y", vec![1, out_channels, oh, ow]).unwrap();
    g.outputs.push(y);
    let samples: Vec<Vec<Vec<f64>>> = (0..8).map(|_| vec![(0..50).map(|_| rng.uniform(-1.0, 1.0)).collect()]).collect();
    let model = quantize(&g, &calibrate(&g, &samples).unwrap(), QuantConfig::default()).unwrap();
    let trace = run_float_inputs(&model, &samples[0]).unwrap();
    (Arc::new(model), trace)
}

fn check(model: Arc<QuantModel>, trace: Trace) {
    let circuit = ModelCircuit::new(model.clone(), Arc::new(trace.clone()), plan(&model, true).unwrap().0).unwrap();
    let k = circuit.min_k();
    let instance = circuit.instance();
    MockProver::run(k, &circuit, vec![instance.clone()]).unwrap().assert_satisfied();

    let mut changed = instance.clone();
    changed[60] += fe(1);
    assert!(MockProver::run(k, &circuit, vec![changed]).unwrap().verify().is_err());

    let mut rng = SplitMix64::new(9);
    for _ in 0..40 {
        let t = rng.uniform(0.0, trace.values.len() as f64) as usize;
        let e = rng.uniform(0.0, trace.values[t].len() as f64) as usize;
        let mut mutated = trace.clone();
        mutated.values[t][e] += 1;
        if let Ok(c) = ModelCircuit::new(model.clone(), Arc::new(mutated), plan(&model, true).unwrap().0) {
            assert!(
                MockProver::run(k, &c, vec![instance.clone()]).unwrap().verify().is_err(),
                "mutated `{}`[{e}] accepted",
                model.tensors[t].name
            );
        }
    }
}

#[test]
fn padded_strided_conv_is_proven() {
    let window = Window2d { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1] };
    let (model, trace) = conv_model(window, 1, 3);
    check(model, trace);
}

#[test]
fn grouped_dilated_conv_is_proven() {
    let window = Window2d { kernel: [2, 2], strides: [1, 1], pads: [0, 1, 1, 0], dilations: [2, 2] };
    let (model, trace) = conv_model(window, 2, 4);
    check(model, trace);
}

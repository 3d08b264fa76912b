//! Whole proofs of small synthetic models, one per chip family: dense + requantized ReLU
//! (an MLP) and convolution + max pool (a CNN). Key generation happens once, outside the
//! timed loop. Per-chip constraint costs are what `zkinfer bench --layouts` measures.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use zkinfer_circuits::planner::plan;
use zkinfer_prover::{insecure_test_srs, prove_with, setup, ProveOptions, SelectedMsm};
use zkinfer_quant_models::compile::compile_onnx;
use zkinfer_quant_models::infer::run_float_inputs;
use zkinfer_quant_models::onnx::{synth_inputs, synth_onnx, SynthSpec};
use zkinfer_quant_models::QuantConfig;

fn bench_model(c: &mut Criterion, label: &str, spec: SynthSpec) {
    let (onnx, shape) = synth_onnx(&spec, 1);
    let len = shape.iter().product();
    let calibration: Vec<Vec<Vec<f64>>> = synth_inputs(len, 16, 1).into_iter().map(|x| vec![x]).collect();
    let compiled = compile_onnx(&onnx, label, &calibration, QuantConfig::default()).expect("synthetic model compiles");
    let model = Arc::new(compiled.quant);
    let (layout, estimate) = plan(&model, true).expect("synthetic model plans");
    let (key, params) =
        setup(&insecure_test_srs(estimate.k), SelectedMsm::default(), model.clone(), layout).expect("keygen");
    let trace = Arc::new(run_float_inputs(&model, &synth_inputs(len, 1, 2)).expect("inference"));
    // The proof alone: an input beyond the calibration costs the same to prove.
    let options = ProveOptions { allow_saturation: true, self_check: false };
    let mut group = c.benchmark_group("prove");
    group.sample_size(10);
    group.bench_function(format!("{label} (k = {})", key.spec().k), |b| {
        b.iter(|| prove_with(&params, &key, model.clone(), trace.clone(), rand_core::OsRng, options).expect("proves"))
    });
    group.finish();
}

fn models(c: &mut Criterion) {
    bench_model(c, "dense+relu mlp-64-32-32-10", SynthSpec::Mlp { inputs: 64, hidden: 32, depth: 2, classes: 10 });
    bench_model(c, "conv+maxpool cnn-8-1-4-10", SynthSpec::Cnn { size: 8, channels: vec![1, 4], classes: 10 });
}

criterion_group!(benches, models);
criterion_main!(benches);

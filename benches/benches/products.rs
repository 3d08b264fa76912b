//! Products of two computed tensors, proven both ways side by side: the Freivalds check
//! (`k·n + m·n + m·k` rows, a second phase) against one multiply-accumulate row per term
//! (`m·k·n` rows), on synthetic self-attention heads (`Q·Kᵀ` and `softmax(·)·V`). Each side
//! uses the cheapest layout the planner lists for it.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use zkinfer_circuits::model::LayoutParams;
use zkinfer_circuits::planner::candidates;
use zkinfer_prover::{circuit_k, insecure_test_srs, prove_with, setup, ProveOptions, SelectedMsm};
use zkinfer_quant_models::compile::compile_onnx;
use zkinfer_quant_models::infer::run_float_inputs;
use zkinfer_quant_models::onnx::{synth_inputs, synth_onnx, SynthSpec};
use zkinfer_quant_models::QuantConfig;

fn bench_head(c: &mut Criterion, seq: usize, width: usize) {
    let label = format!("attn-{seq}-{width}");
    let (onnx, shape) = synth_onnx(&SynthSpec::Attention { seq, width }, 1);
    let len = shape.iter().product();
    let calibration: Vec<Vec<Vec<f64>>> = synth_inputs(len, 16, 1).into_iter().map(|x| vec![x]).collect();
    let compiled = compile_onnx(&onnx, &label, &calibration, QuantConfig::default()).expect("synthetic model compiles");
    let model = Arc::new(compiled.quant);
    let trace = Arc::new(run_float_inputs(&model, &synth_inputs(len, 1, 2)).expect("inference"));
    let listed = candidates(&model, true).expect("synthetic model plans");
    let first = |freivalds: bool| -> LayoutParams {
        listed.iter().map(|c| c.0).find(|l| (l.freivalds_lanes > 0) == freivalds).expect("both kinds listed")
    };
    let options = ProveOptions { allow_saturation: true, self_check: false };
    let mut group = c.benchmark_group("activation products");
    group.sample_size(10);
    for (method, layout) in [("freivalds", first(true)), ("direct", first(false))] {
        let k = circuit_k(model.clone(), layout).expect("layout fits");
        let (key, params) =
            setup(&insecure_test_srs(k), SelectedMsm::default(), model.clone(), layout).expect("keygen");
        group.bench_function(format!("{label} {method} (k = {k})"), |b| {
            b.iter(|| {
                prove_with(&params, &key, model.clone(), trace.clone(), rand_core::OsRng, options).expect("proves")
            })
        });
    }
    group.finish();
}

fn products(c: &mut Criterion) {
    bench_head(c, 16, 32);
    bench_head(c, 32, 64);
}

criterion_group!(benches, products);
criterion_main!(benches);

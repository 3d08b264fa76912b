//! `zkinfer bench --layouts N`: proves a model with the planner's N cheapest layouts and prints
//! each one's modelled cost beside its measured prove time, so the cost model's weights can be
//! checked (and refitted) against this machine.

use std::sync::Arc;
use std::time::Instant;

use zkinfer_circuits::planner::candidates;
use zkinfer_prover::{circuit_k, insecure_test_srs, prove_with, setup, ProveOptions, SelectedMsm};
use zkinfer_quant_models::compile::compile_onnx_batch;
use zkinfer_quant_models::infer::run_float_inputs;
use zkinfer_quant_models::QuantConfig;

use super::bench::{batched_case, median};

/// Measures the `count` cheapest layouts of `name` at `batch` samples per proof (median of
/// `repeat` proofs each).
pub fn run(name: &str, count: usize, repeat: usize, batch: usize) -> anyhow::Result<()> {
    let ex = batched_case(name, batch)?;
    let compiled = compile_onnx_batch(&ex.onnx, &ex.name, &ex.calibration.samples, QuantConfig::default(), batch)?;
    let model = Arc::new(compiled.quant.clone());
    let trace = Arc::new(run_float_inputs(&model, &ex.input)?);
    println!(
        "{:>3} {:>10} {:>3} {:>4} {:>4} {:>4}  {:>8}  layout",
        "#", "modelled", "k", "adv", "fix", "lkp", "prove s"
    );
    for (i, (layout, estimate)) in candidates(&model, true)?.into_iter().take(count).enumerate() {
        let k = circuit_k(model.clone(), layout)?;
        let (key, params) = setup(&insecure_test_srs(k), SelectedMsm::default(), model.clone(), layout)?;
        let cs = key.pk.get_vk().cs();
        let times: Vec<f64> = (0..repeat.max(1))
            .map(|_| {
                let t = Instant::now();
                // The proof alone, as the cost model models it.
                let options = ProveOptions { allow_saturation: true, self_check: false };
                prove_with(&params, &key, model.clone(), trace.clone(), rand_core::OsRng, options)
                    .map(|_| t.elapsed().as_secs_f64())
            })
            .collect::<Result<_, _>>()?;
        println!(
            "{i:>3} {:>10.0} {:>3} {:>4} {:>4} {:>4}  {:>8.3}  {:?} lanes d{} r{} m{} s{} p{} f{} limb {}",
            estimate.cost,
            key.spec().k,
            cs.num_advice_columns(),
            cs.num_fixed_columns(),
            cs.lookups().len(),
            median(times),
            layout.dense,
            layout.dense_lanes,
            layout.requant_lanes,
            layout.maxpool_lanes,
            layout.softmax_lanes,
            layout.product_lanes,
            layout.freivalds_lanes,
            layout.limb_bits,
        );
    }
    Ok(())
}

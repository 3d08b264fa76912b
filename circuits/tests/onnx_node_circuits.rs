//! Every ONNX node test the import supports also becomes a circuit: planned, laid out with its
//! integer trace, accepted by MockProver, and rejecting a changed output. (The import's own
//! accuracy checks live in the quant-models tests that share this case list.)

#[path = "../../quant-models/tests/support/node_tests.rs"]
mod node_tests;

use std::sync::Arc;

use halo2_proofs::dev::MockProver;
use node_tests::load_case;
use zkinfer_circuits::model::ModelCircuit;
use zkinfer_circuits::planner::plan;
use zkinfer_quant_models::infer::run_float_inputs;
use zkinfer_quant_models::onnx::import_onnx_bytes;
use zkinfer_quant_models::quant::{calibrate, quantize, QuantConfig};

fn check(name: &str, dynamic: usize) {
    let case = load_case(name, dynamic);
    let graph = import_onnx_bytes(&case.model, name).unwrap();
    let ranges = calibrate(&graph, std::slice::from_ref(&case.inputs)).unwrap();
    let model = Arc::new(quantize(&graph, &ranges, QuantConfig::default()).unwrap());
    let trace = run_float_inputs(&model, &case.inputs).unwrap();
    let (layout, _) = plan(&model, true).unwrap_or_else(|e| panic!("{name}: {e}"));
    let circuit = ModelCircuit::new(model.clone(), Arc::new(trace.clone()), layout).unwrap();
    let k = circuit.min_k();
    let mut instance = circuit.instance();
    MockProver::run(k, &circuit, vec![instance.clone()]).unwrap().assert_satisfied();
    let last = instance.len() - 1;
    instance[last] += halo2_proofs::halo2curves::bn256::Fr::one();
    assert!(MockProver::run(k, &circuit, vec![instance]).unwrap().verify().is_err(), "{name}: changed output accepted");
}

#[allow(non_snake_case)] // test names are the ONNX node-test folder names
mod cases {
    use super::check;

    crate::node_test_cases!();
}

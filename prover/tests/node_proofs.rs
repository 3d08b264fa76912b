//! A sample of the ONNX node tests, one or more per op family (products, reductions, layer
//! norm, comparisons and selection, gathers, 1-D/2-D/3-D windows, ceil mode), compiled, proven
//! with real KZG proofs and verified the buyer's way; each proof with a changed output is
//! rejected. (The MockProver tests in the circuits crate cover every supported case; this
//! checks that the keys, the prover and the verifier agree on them too.)

#[path = "../../quant-models/tests/support/node_tests.rs"]
mod node_tests;

use std::sync::{Arc, OnceLock};

use halo2_proofs::halo2curves::bn256::Bn256;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use zkinfer_circuits::planner::plan;
use zkinfer_prover::{insecure_test_srs, prove, setup, SmallScalarMsm};
use zkinfer_quant_models::infer::run_float_inputs;
use zkinfer_quant_models::onnx::import_onnx_bytes;
use zkinfer_quant_models::quant::{calibrate, quantize, QuantConfig};
use zkinfer_verifier::{verify_with, Policy, Rejection, VerifierKey};

use node_tests::load_case;

/// One test setup for every case, downsized to each circuit.
fn srs() -> &'static ParamsKZG<Bn256> {
    static SRS: OnceLock<ParamsKZG<Bn256>> = OnceLock::new();
    SRS.get_or_init(|| insecure_test_srs(MAX_K))
}

/// The largest circuit of the sample.
const MAX_K: u32 = 15;

fn prove_and_verify(name: &str, dynamic: usize) {
    let case = load_case(name, dynamic);
    let graph = import_onnx_bytes(&case.model, name).unwrap();
    let ranges = calibrate(&graph, std::slice::from_ref(&case.inputs)).unwrap();
    let model = Arc::new(quantize(&graph, &ranges, QuantConfig::default()).unwrap());
    let trace = Arc::new(run_float_inputs(&model, &case.inputs).unwrap());
    let layout = plan(&model, true).unwrap().0;
    let (key, params) = setup(srs(), SmallScalarMsm::default(), model.clone(), layout).unwrap();
    let (bundle, _) = prove(&params, &key, model.clone(), trace.clone(), ChaCha20Rng::seed_from_u64(1)).unwrap();
    let vk = VerifierKey::from_bytes(&key.verifier.to_bytes()).unwrap();
    let policy = Policy { allow_insecure_srs: true };
    let out = verify_with(&bundle, &vk, &vk.model_id(), policy).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(out.outputs, bundle.outputs, "{name}");
    assert_eq!(out.outputs[0].values, trace.values[model.outputs[0]], "{name}: the proven output is the traced one");
    let mut changed = bundle.clone();
    changed.outputs[0].values[0] += 1;
    changed.outputs[0].floats[0] = changed.outputs[0].values[0] as f64 * changed.outputs[0].scale;
    let rejected = verify_with(&changed, &vk, &vk.model_id(), policy);
    assert!(matches!(rejected, Err(Rejection::ProofInvalid(_))), "{name}: changed output: {rejected:?}");
}

macro_rules! cases {
    ($($name:ident: $dynamic:expr,)*) => {$(
        #[test]
        #[allow(non_snake_case)] // test names are the ONNX node-test folder names
        fn $name() {
            prove_and_verify(stringify!($name), $dynamic);
        }
    )*};
}

cases! {
    test_gemm_all_attributes: 1,
    test_matmul_2d: 2,
    test_matmul_3d: 2,
    test_matmul_4d: 2,
    test_matmul_bcast: 2,
    test_matmul_4d_1d: 2,
    test_mul: 2,
    test_mul_bcast: 2,
    test_add_bcast: 2,
    test_sub_bcast: 2,
    test_sum_example: 3,
    test_reduce_sum_keepdims_random: 1,
    test_reduce_sum_default_axes_keepdims_random: 1,
    test_reduce_mean_keepdims_random: 1,
    test_reduce_mean_do_not_keepdims_example: 1,
    test_reduce_max_keepdims_random: 1,
    test_layer_normalization_2d_axis0: 1,
    test_layer_normalization_3d_axis1_epsilon: 1,
    test_layer_normalization_4d_axis1: 1,
    test_layer_normalization_4d_axis1_expanded: 1,
    test_softmax_axis_1_expanded: 1,
    test_softmax_example: 1,
    test_leakyrelu_expanded: 1,
    test_clip_expanded: 1,
    test_clip_splitbounds_expanded: 1,
    test_relu_expanded_ver18: 1,
    test_gelu_default_1_expanded: 1,
    test_gelu_tanh_1_expanded: 1,
    test_gather_0: 1,
    test_gather_2d_indices: 1,
    test_constant_pad: 1,
    test_maxpool_2d_ceil: 1,
    test_averagepool_2d_ceil: 1,
    test_maxpool_1d_default: 1,
    test_averagepool_1d_default: 1,
    test_maxpool_3d_dilations: 1,
    test_averagepool_2d_dilations: 1,
    test_conv_with_strides_padding: 1,
    test_batchnorm_example: 1,
    test_elu: 1,
    test_exp: 1,
    test_erf: 1,
    test_concat_3d_axis_1: 2,
    test_transpose_all_permutations_4: 1,
}

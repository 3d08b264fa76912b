//! The ONNX backend node tests (shipped in the `onnx` Python package, version 1.22.0:
//! `pip install onnx==1.22.0`): which cases the import supports, and how to load one.
//! Shared by the test files that include it with `#[path]`.

use std::path::{Path, PathBuf};

use prost::Message;
use tract_onnx::pb::{ModelProto, TensorProto};

/// One `#[test]` per supported case, each calling `check(folder_name, dynamic_inputs)` as
/// defined where the macro is invoked.
#[macro_export]
macro_rules! node_test_cases {
    () => {
        $crate::node_test_cases! {
            @
            test_gemm_all_attributes: 1,
            test_gemm_alpha: 1,
            test_gemm_beta: 1,
            test_gemm_default_matrix_bias: 1,
            test_gemm_default_vector_bias: 1,
            test_gemm_default_no_bias: 1,
            test_gemm_transposeB: 1,
            test_matmul_2d: 1,
            test_conv_with_strides_padding: 1,
            test_conv_with_strides_no_padding: 1,
            test_conv_with_strides_and_asymmetric_padding: 1,
            test_conv_with_autopad_same: 1,
            test_relu: 1,
            test_neg: 1,
            test_neg_example: 1,
            test_abs: 1,
            test_elu: 1,
            test_elu_default: 1,
            test_elu_example: 1,
            test_selu: 1,
            test_selu_default: 1,
            test_selu_example: 1,
            test_softplus: 1,
            test_softplus_example: 1,
            test_softsign: 1,
            test_softsign_example: 1,
            test_hardsigmoid: 1,
            test_hardsigmoid_default: 1,
            test_hardsigmoid_example: 1,
            test_hardswish: 1,
            test_exp: 1,
            test_exp_example: 1,
            test_erf: 1,
            test_sum_one_input: 1,
            test_sum_two_inputs: 2,
            test_sum_example: 3,
            test_leakyrelu: 1,
            test_leakyrelu_default: 1,
            test_clip: 1,
            test_clip_splitbounds: 1,
            test_sigmoid: 1,
            test_tanh: 1,
            test_gelu_default_2: 1,
            test_gelu_tanh_2: 1,
            test_maxpool_2d_default: 1,
            test_maxpool_2d_pads: 1,
            test_maxpool_2d_strides: 1,
            test_maxpool_2d_dilations: 1,
            test_maxpool_2d_same_upper: 1,
            test_averagepool_2d_default: 1,
            test_averagepool_2d_pads: 1,
            test_averagepool_2d_pads_count_include_pad: 1,
            test_averagepool_2d_strides: 1,
            test_averagepool_2d_same_lower: 1,
            test_globalaveragepool: 1,
            test_batchnorm_example: 1,
            test_batchnorm_epsilon: 1,
            test_add: 2,
            test_sub: 2,
            test_add_bcast: 1,
            test_mul: 1,
            test_div: 1,
            test_softmax_axis_0: 1,
            test_softmax_axis_1: 1,
            test_softmax_axis_2: 1,
            test_softmax_example: 1,
            test_flatten_axis1: 1,
            test_flatten_default_axis: 1,
            test_reshape_reordered_all_dims: 1,
            test_reshape_negative_dim: 1,
            test_transpose_default: 1,
            test_transpose_all_permutations_4: 1,
            test_squeeze: 1,
            test_unsqueeze_two_axes: 1,
            test_concat_3d_axis_1: 2,
            test_slice: 1,
        }
    };
    (@ $($test:ident: $dynamic:expr,)*) => {$(
        #[test]
        fn $test() {
            check(stringify!($test), $dynamic);
        }
    )*};
}

/// Where the node tests are: `$ONNX_NODE_TEST_DIR`, or found through the `onnx` package.
fn node_test_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("ONNX_NODE_TEST_DIR") {
        return PathBuf::from(dir);
    }
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import onnx, os; print(os.path.join(os.path.dirname(onnx.__file__), 'backend', 'test', 'data', 'node'))",
        ])
        .output()
        .expect("python3 is needed to locate the ONNX node tests");
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(dir.is_dir(), "ONNX node tests not found: run `pip install onnx==1.22.0` or set ONNX_NODE_TEST_DIR");
    dir
}

fn tensor_values(t: &TensorProto) -> (Vec<usize>, Vec<f64>) {
    let shape = t.dims.iter().map(|&d| d as usize).collect();
    let values = if !t.raw_data.is_empty() {
        t.raw_data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64).collect()
    } else {
        t.float_data.iter().map(|&v| v as f64).collect()
    };
    (shape, values)
}

fn load_pb(path: &Path) -> TensorProto {
    TensorProto::decode(&std::fs::read(path).unwrap()[..]).unwrap()
}

pub struct Case {
    pub model: Vec<u8>,
    #[allow(dead_code)]
    pub inputs: Vec<Vec<f64>>,
    /// ONNX's expected output (the circuit tests check the proof instead).
    #[allow(dead_code)]
    pub expected: Vec<f64>,
}

/// Loads a node test, freezing inputs from index `dynamic` on into initializers.
pub fn load_case(name: &str, dynamic: usize) -> Case {
    let dir = node_test_dir().join(name);
    let mut model = ModelProto::decode(&std::fs::read(dir.join("model.onnx")).unwrap()[..]).unwrap();
    let graph = model.graph.as_mut().unwrap();
    let mut inputs = Vec::new();
    let names: Vec<String> = graph.input.iter().map(|i| i.name.clone()).collect();
    for (k, name) in names.iter().enumerate() {
        let mut t = load_pb(&dir.join(format!("test_data_set_0/input_{k}.pb")));
        if k < dynamic {
            inputs.push(tensor_values(&t).1);
        } else {
            t.name = name.clone();
            graph.initializer.push(t);
        }
    }
    graph.input.truncate(dynamic);
    let expected = tensor_values(&load_pb(&dir.join("test_data_set_0/output_0.pb"))).1;
    Case { model: model.encode_to_vec(), inputs, expected }
}

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
            test_matmul_2d: 2,
            test_matmul_3d: 2,
            test_matmul_4d: 2,
            test_matmul_bcast: 2,
            test_matmul_4d_1d: 2,
            test_mul_example: 2,
            test_mul_bcast: 2,
            test_sub_bcast: 2,
            test_reduce_sum_keepdims_random: 1,
            test_reduce_sum_do_not_keepdims_random: 1,
            test_reduce_sum_default_axes_keepdims_random: 1,
            test_reduce_mean_keepdims_random: 1,
            test_reduce_mean_do_not_keepdims_example: 1,
            test_layer_normalization_2d_axis0: 1,
            test_layer_normalization_3d_axis0_epsilon: 1,
            test_layer_normalization_3d_axis1_epsilon: 1,
            test_layer_normalization_4d_axis1: 1,
            test_layer_normalization_4d_axis1_expanded: 1,
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
            test_add_bcast: 2,
            test_mul: 2,
            test_div: 1,
            test_softmax_axis_0: 1,
            test_softmax_axis_1: 1,
            test_softmax_axis_2: 1,
            test_softmax_example: 1,
            test_softmax_axis_1_expanded: 1,
            test_softmax_example_expanded_ver18: 1,
            test_reduce_max_keepdims_random: 1,
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
            test_gather_0: 1,
            test_gather_2d_indices: 1,
            test_gather_1: 1,
            test_leakyrelu_expanded: 1,
            test_clip_expanded: 1,
            test_clip_splitbounds_expanded: 1,
            test_relu_expanded_ver18: 1,
            test_constant_pad: 1,
            test_maxpool_2d_ceil: 1,
            test_averagepool_2d_ceil: 1,
            test_maxpool_1d_default: 1,
            test_averagepool_1d_default: 1,
            test_maxpool_3d_dilations: 1,
            test_gelu_default_1_expanded: 1,
            test_gelu_tanh_1_expanded: 1,
            test_averagepool_2d_dilations: 1,
            test_maxpool_2d_ceil_output_size_reduce_by_one: 1,
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
pub fn node_test_dir() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(find_node_test_dir).clone()
}

fn find_node_test_dir() -> PathBuf {
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

/// ONNX element types of the test data, by their `TensorProto.data_type` code.
pub const FLOAT: i32 = 1;
const DOUBLE: i32 = 11;
const FLOAT16: i32 = 10;

/// Shape and values of a test tensor as `f64` (floats of any width, integers, booleans).
pub fn tensor_values(t: &TensorProto) -> (Vec<usize>, Vec<f64>) {
    let shape: Vec<usize> = t.dims.iter().map(|&d| d as usize).collect();
    let raw = &t.raw_data;
    let values: Vec<f64> = if raw.is_empty() {
        match t.data_type {
            DOUBLE => t.double_data.clone(),
            FLOAT => t.float_data.iter().map(|&v| v as f64).collect(),
            7 => t.int64_data.iter().map(|&v| v as f64).collect(),
            _ => t.int32_data.iter().map(|&v| v as f64).collect(),
        }
    } else {
        let le = |c: &[u8]| {
            let mut b = [0u8; 8];
            b[..c.len()].copy_from_slice(c);
            u64::from_le_bytes(b)
        };
        let width = match t.data_type {
            DOUBLE | 7 | 13 => 8,
            FLOAT | 6 | 12 => 4,
            FLOAT16 | 16 | 5 | 4 => 2,
            _ => 1,
        };
        raw.chunks_exact(width)
            .map(|c| {
                let v = le(c);
                match t.data_type {
                    FLOAT => f32::from_bits(v as u32) as f64,
                    DOUBLE => f64::from_bits(v),
                    FLOAT16 => f16_to_f64(v as u16),
                    16 => f32::from_bits((v as u32) << 16) as f64,
                    7 => v as i64 as f64,
                    6 => v as u32 as i32 as f64,
                    5 => v as u16 as i16 as f64,
                    3 => v as u8 as i8 as f64,
                    _ => v as f64,
                }
            })
            .collect()
    };
    (shape, values)
}

/// IEEE half precision to `f64`.
fn f16_to_f64(h: u16) -> f64 {
    let (sign, exp, frac) = ((h >> 15) as i32, ((h >> 10) & 0x1f) as i32, (h & 0x3ff) as f64);
    let m = match exp {
        0 => frac * (-24f64).exp2(),
        31 => f64::INFINITY,
        e => (1.0 + frac / 1024.0) * ((e - 15) as f64).exp2(),
    };
    if sign == 1 {
        -m
    } else {
        m
    }
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
#[allow(dead_code)] // not every file that includes this module uses it
pub fn load_case(name: &str, dynamic: usize) -> Case {
    load_case_at(&node_test_dir().join(name), |k, _| k < dynamic)
}

/// Loads the test case in `dir`, keeping as model inputs those for which `keep(index, data_type)` holds and
/// freezing the others into initializers (weights, shapes, axes, indices).
pub fn load_case_at(dir: &Path, keep: impl Fn(usize, i32) -> bool) -> Case {
    let mut model = ModelProto::decode(&std::fs::read(dir.join("model.onnx")).unwrap()[..]).unwrap();
    let graph = model.graph.as_mut().unwrap();
    let mut inputs = Vec::new();
    let mut kept = Vec::new();
    // Older exports also list their initializers as graph inputs; the data files cover the rest.
    let initialized: Vec<String> = graph.initializer.iter().map(|t| t.name.clone()).collect();
    let (given, real): (Vec<_>, Vec<_>) =
        std::mem::take(&mut graph.input).into_iter().partition(|i| initialized.contains(&i.name));
    kept.extend(given);
    for (k, input) in real.into_iter().enumerate() {
        let mut t = load_pb(&dir.join(format!("test_data_set_0/input_{k}.pb")));
        if keep(k, t.data_type) {
            inputs.push(tensor_values(&t).1);
            kept.push(input);
        } else {
            t.name = input.name.clone();
            graph.initializer.push(t);
        }
    }
    graph.input = kept;
    let expected = tensor_values(&load_pb(&dir.join("test_data_set_0/output_0.pb"))).1;
    Case { model: model.encode_to_vec(), inputs, expected }
}

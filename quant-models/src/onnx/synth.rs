//! Synthetic models of chosen size for the cost-versus-size study: MLPs and CNNs with random
//! weights from a fixed seed, written as ONNX so they go through the same importer as real
//! models.

use prost::Message;
use tract_onnx::pb::{
    self, attribute_proto::AttributeType, tensor_shape_proto::dimension::Value as DimValue, type_proto, AttributeProto,
    GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto, ValueInfoProto,
};

/// The architecture of a synthetic model.
#[derive(Clone, Debug, PartialEq)]
pub enum SynthSpec {
    /// `inputs → hidden (× depth, ReLU) → classes`.
    Mlp { inputs: usize, hidden: usize, depth: usize, classes: usize },
    /// `[1, channels[0], size, size]`, then per further entry of `channels` a block
    /// conv 3×3 (pad 1) → ReLU → max pool 2×2, then a dense layer to `classes`.
    Cnn { size: usize, channels: Vec<usize>, classes: usize },
    /// One self-attention head over `[seq, width]`: `Q, K, V = x·W`, `softmax(Q·Kᵀ)·V`. Its
    /// two products multiply computed tensors (what the Freivalds chip is for).
    Attention { seq: usize, width: usize },
}

/// SplitMix64: a fixed, documented generator, so a seed gives the same model on every platform
/// and with every version of any random-number crate.
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn value_info(name: &str, shape: &[usize]) -> ValueInfoProto {
    let dim = shape
        .iter()
        .map(|&d| pb::tensor_shape_proto::Dimension { value: Some(DimValue::DimValue(d as i64)), ..Default::default() })
        .collect();
    let tensor = type_proto::Tensor { elem_type: 1, shape: Some(pb::TensorShapeProto { dim }) };
    ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto { value: Some(type_proto::Value::TensorType(tensor)), ..Default::default() }),
        ..Default::default()
    }
}

fn ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: AttributeType::Ints as i32, ints: v.to_vec(), ..Default::default() }
}

fn int(name: &str, v: i64) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: AttributeType::Int as i32, i: v, ..Default::default() }
}

fn node(op: &str, inputs: &[&str], output: &str, attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        name: output.into(),
        op_type: op.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        attribute,
        ..Default::default()
    }
}

struct Builder {
    rng: SplitMix64,
    nodes: Vec<NodeProto>,
    init: Vec<TensorProto>,
}

impl Builder {
    /// He-uniform weights for fan-in `fan_in`, small random biases.
    fn weights(&mut self, name: &str, dims: &[usize], fan_in: usize) {
        let a = (6.0 / fan_in as f64).sqrt();
        let n: usize = dims.iter().product();
        let w = (0..n).map(|_| self.rng.uniform(-a, a) as f32).collect();
        self.init.push(TensorProto {
            name: name.into(),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: 1,
            float_data: w,
            ..Default::default()
        });
    }

    fn dense(&mut self, x: &str, name: &str, inputs: usize, outputs: usize) {
        self.weights(&format!("{name}.weight"), &[outputs, inputs], inputs);
        self.weights(&format!("{name}.bias"), &[outputs], inputs * 16);
        let (w, b) = (format!("{name}.weight"), format!("{name}.bias"));
        self.nodes.push(node("Gemm", &[x, &w, &b], name, vec![int("transB", 1)]));
    }
}

/// The ONNX bytes of `spec` with weights drawn from `seed`, and its input shape.
pub fn synth_onnx(spec: &SynthSpec, seed: u64) -> (Vec<u8>, Vec<usize>) {
    let mut b = Builder { rng: SplitMix64::new(seed), nodes: vec![], init: vec![] };
    let (input_shape, output_shape) = match spec {
        SynthSpec::Mlp { inputs, hidden, depth, classes } => {
            let mut x = "input".to_string();
            let mut width = *inputs;
            for l in 0..*depth {
                b.dense(&x, &format!("fc{l}"), width, *hidden);
                b.nodes.push(node("Relu", &[&format!("fc{l}")], &format!("relu{l}"), vec![]));
                x = format!("relu{l}");
                width = *hidden;
            }
            b.dense(&x, "output", width, *classes);
            (vec![1, *inputs], vec![1, *classes])
        }
        SynthSpec::Cnn { size, channels, classes } => {
            let mut x = "input".to_string();
            let mut side = *size;
            for (l, pair) in channels.windows(2).enumerate() {
                let (cin, cout) = (pair[0], pair[1]);
                let w = format!("conv{l}.weight");
                b.weights(&w, &[cout, cin, 3, 3], cin * 9);
                let conv = node(
                    "Conv",
                    &[&x, &w],
                    &format!("conv{l}"),
                    vec![ints("kernel_shape", &[3, 3]), ints("pads", &[1; 4])],
                );
                b.nodes.push(conv);
                b.nodes.push(node("Relu", &[&format!("conv{l}")], &format!("relu{l}"), vec![]));
                let pool = vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])];
                b.nodes.push(node("MaxPool", &[&format!("relu{l}")], &format!("pool{l}"), pool));
                x = format!("pool{l}");
                side /= 2;
            }
            b.nodes.push(node("Flatten", &[&x], "flat", vec![int("axis", 1)]));
            let last = *channels.last().unwrap_or(&1);
            b.dense("flat", "output", last * side * side, *classes);
            (vec![1, channels.first().copied().unwrap_or(1), *size, *size], vec![1, *classes])
        }
        SynthSpec::Attention { seq, width } => {
            for name in ["q", "k", "v"] {
                let w = format!("{name}.weight");
                b.weights(&w, &[*width, *width], *width);
                b.nodes.push(node("MatMul", &["input", &w], name, vec![]));
            }
            b.nodes.push(node("Transpose", &["k"], "k_t", vec![ints("perm", &[1, 0])]));
            b.nodes.push(node("MatMul", &["q", "k_t"], "scores", vec![]));
            b.nodes.push(node("Softmax", &["scores"], "attention", vec![int("axis", 1)]));
            b.nodes.push(node("MatMul", &["attention", "v"], "output", vec![]));
            (vec![*seq, *width], vec![*seq, *width])
        }
    };
    let graph = GraphProto {
        name: "synthetic".into(),
        node: b.nodes,
        initializer: b.init,
        input: vec![value_info("input", &input_shape)],
        output: vec![value_info("output", &output_shape)],
        ..Default::default()
    };
    let model = ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: 13 }],
        producer_name: "zkinfer-synth".into(),
        graph: Some(graph),
        ..Default::default()
    };
    (model.encode_to_vec(), input_shape)
}

/// `n` inputs uniform in `[0, 1)` for a model with `len` input elements.
pub fn synth_inputs(len: usize, n: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = SplitMix64::new(seed ^ 0x5eed);
    (0..n).map(|_| (0..len).map(|_| rng.uniform(0.0, 1.0)).collect()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onnx::{import_onnx_bytes, tract_reference};

    #[test]
    fn synthetic_models_import_and_match_tract() {
        let specs = [
            SynthSpec::Mlp { inputs: 64, hidden: 48, depth: 2, classes: 10 },
            SynthSpec::Cnn { size: 8, channels: vec![1, 4, 6], classes: 10 },
            SynthSpec::Attention { seq: 6, width: 8 },
        ];
        for spec in specs {
            let (bytes, shape) = synth_onnx(&spec, 7);
            assert_eq!(bytes, synth_onnx(&spec, 7).0, "same seed, same model");
            let graph = import_onnx_bytes(&bytes, "synth").unwrap();
            let x = synth_inputs(shape.iter().product(), 1, 7);
            let ours = crate::float_infer::run_float(&graph, &x).unwrap();
            let theirs = tract_reference(&bytes, &x, &[shape]).unwrap();
            for (a, b) in ours[graph.outputs[0]].iter().zip(&theirs[0]) {
                assert!((a - b).abs() < 1e-3 * b.abs().max(1.0), "{spec:?}: {a} vs {b}");
            }
        }
    }
}

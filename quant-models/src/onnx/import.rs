//! The import driver: parse and analyse with tract, then translate node by node.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use tract_onnx::pb::{self, NodeProto};
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;

use super::{gelu, translate};
use crate::error::{ModelError, Result};
use crate::graph::{FloatGraph, TensorId};

/// Op types the importer translates (constant subgraphs of any op are folded first).
pub const SUPPORTED_OPS: &[&str] = &[
    "Gemm",
    "MatMul",
    "Conv",
    "Relu",
    "LeakyRelu",
    "Clip",
    "Sigmoid",
    "Tanh",
    "Abs",
    "Elu",
    "Selu",
    "Softplus",
    "Softsign",
    "HardSigmoid",
    "HardSwish",
    "Gelu",
    "Erf",
    "Exp",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "BatchNormalization",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Neg",
    "Sum",
    "Softmax",
    "Reshape",
    "Flatten",
    "Transpose",
    "Squeeze",
    "Unsqueeze",
    "Concat",
    "Pad",
    "Slice",
    "Identity",
    "Dropout",
    "Cast",
    "CastLike",
    "Sqrt",
    "Reciprocal",
    "Pow",
    "ReduceSum",
    "ReduceMean",
    "ReduceMax",
    "Less",
    "Greater",
    "Where",
    "Max",
    "Min",
    "Gather",
    "InstanceNormalization",
    "LogSoftmax",
    "PRelu",
    "Split",
    "Tile",
    "LayerNormalization",
];

/// Nodes whose op the importer does not translate, as `(op, node name)`. Nodes whose inputs are
/// all constant are folded away and do not count.
fn unsupported_nodes(graph: &pb::GraphProto) -> Vec<(String, String)> {
    let mut constant: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let mut found = Vec::new();
    for n in &graph.node {
        // Every shape is static, so a tensor's shape (and size) is a constant whatever its values.
        let shape_only = matches!(n.op_type.as_str(), "Shape" | "Size");
        if shape_only || n.input.iter().all(|i| i.is_empty() || constant.contains(i.as_str())) {
            constant.extend(n.output.iter().map(String::as_str));
            continue;
        }
        if !SUPPORTED_OPS.contains(&n.op_type.as_str()) {
            found.push((n.op_type.clone(), node_name(n)));
        }
    }
    found
}

/// A value during translation: a graph tensor or a folded constant.
#[derive(Clone, Debug)]
pub(super) enum Val {
    Tensor(TensorId),
    Const { shape: Vec<usize>, data: Vec<f64> },
}

/// What tract's analysis knows about one ONNX tensor.
#[derive(Default)]
struct Fact {
    shape: Option<Vec<usize>>,
    value: Option<(Vec<usize>, Vec<f64>)>,
}

/// Translation state shared by the op translators.
pub(super) struct Ctx {
    pub graph: FloatGraph,
    pub env: HashMap<String, Val>,
    facts: HashMap<String, Fact>,
    /// Number of nodes reading each tensor name.
    pub consumers: HashMap<String, usize>,
    pub graph_outputs: HashSet<String>,
    pub opset: i64,
}

impl Ctx {
    /// Static shape of an ONNX tensor, from tract's analysis.
    pub fn shape(&self, name: &str) -> Result<Vec<usize>> {
        let shape = self
            .facts
            .get(name)
            .and_then(|f| f.shape.clone())
            .ok_or_else(|| ModelError::DynamicShape(name.to_string()))?;
        if shape.contains(&0) {
            return Err(ModelError::EmptyTensor { tensor: name.to_string(), shape });
        }
        Ok(shape)
    }

    /// The value bound to an input name of `node`.
    pub fn val(&self, node: &NodeProto, ix: usize) -> Result<Val> {
        let name = node.input.get(ix).filter(|s| !s.is_empty()).ok_or_else(|| {
            ModelError::MalformedOnnx(format!("node `{}` ({}) lacks input {ix}", node.name, node.op_type))
        })?;
        self.env
            .get(name)
            .cloned()
            .ok_or_else(|| ModelError::MalformedOnnx(format!("node `{}` reads undefined tensor `{name}`", node.name)))
    }

    /// Optional input `ix`, when given.
    pub fn opt_val(&self, node: &NodeProto, ix: usize) -> Result<Option<Val>> {
        match node.input.get(ix) {
            Some(s) if !s.is_empty() => self.val(node, ix).map(Some),
            _ => Ok(None),
        }
    }

    /// Binds `node`'s first output to a new graph node.
    pub fn push(&mut self, node: &NodeProto, op: crate::graph::FloatOp, inputs: Vec<TensorId>) -> Result<TensorId> {
        let out = &node.output[0];
        let shape = self.shape(out)?;
        let id = self.graph.add_node(&node_name(node), op, inputs, out, shape)?;
        self.env.insert(out.clone(), Val::Tensor(id));
        Ok(id)
    }
}

/// The node's name, or its first output's when unnamed.
pub(super) fn node_name(node: &NodeProto) -> String {
    if node.name.is_empty() {
        node.output.first().cloned().unwrap_or_else(|| node.op_type.clone())
    } else {
        node.name.clone()
    }
}

/// Imports an ONNX file.
pub fn import_onnx(path: &Path) -> Result<FloatGraph> {
    let bytes = std::fs::read(path).map_err(|e| ModelError::io(path, e))?;
    let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    import_onnx_bytes(&bytes, &name)
}

fn malformed(e: impl std::fmt::Display) -> ModelError {
    ModelError::MalformedOnnx(e.to_string())
}

/// Whether an ONNX element type is floating point (float, float16, double, bfloat16).
fn is_float(data_type: i32) -> bool {
    matches!(data_type, 1 | 10 | 11 | 16)
}

/// Shape of a graph input with a symbolic or unknown first dimension (the batch axis) set to
/// `batch` and every other symbolic or unknown dimension set to 1. A batch above 1 needs an
/// input whose first dimension is symbolic or already that size.
fn input_shape(input: &pb::ValueInfoProto, batch: usize) -> Result<Vec<usize>> {
    use pb::tensor_shape_proto::dimension::Value as Dim;
    let Some(pb::type_proto::Value::TensorType(t)) = input.r#type.as_ref().and_then(|t| t.value.as_ref()) else {
        return Err(ModelError::MalformedOnnx(format!("graph input `{}` has no tensor type", input.name)));
    };
    if !is_float(t.elem_type) {
        let dtype = pb::tensor_proto::DataType::try_from(t.elem_type)
            .map_or_else(|_| format!("#{}", t.elem_type), |d| d.as_str_name().to_lowercase());
        return Err(ModelError::NonFloatInput { name: input.name.clone(), dtype });
    }
    let shape = t.shape.as_ref().ok_or_else(|| ModelError::DynamicShape(input.name.clone()))?;
    let dims: Vec<Option<usize>> = shape
        .dim
        .iter()
        .map(|d| match d.value {
            Some(Dim::DimValue(v)) if v >= 0 => Some(v as usize),
            _ => None,
        })
        .collect();
    match dims.first() {
        Some(Some(fixed)) if batch > 1 && *fixed != batch => {
            return Err(ModelError::FixedBatch { input: input.name.clone(), size: *fixed, batch })
        }
        None if batch > 1 => return Err(ModelError::FixedBatch { input: input.name.clone(), size: 1, batch }),
        _ => {}
    }
    Ok(dims.iter().enumerate().map(|(axis, d)| d.unwrap_or(if axis == 0 { batch } else { 1 })).collect())
}

fn tensor_f64(t: &Tensor) -> Option<(Vec<usize>, Vec<f64>)> {
    let c = t.cast_to::<f64>().ok()?;
    Some((t.shape().to_vec(), c.to_plain_array_view::<f64>().ok()?.iter().copied().collect()))
}

/// Imports ONNX bytes; `name` names the graph in reports.
pub fn import_onnx_bytes(bytes: &[u8], name: &str) -> Result<FloatGraph> {
    import_onnx_batch(bytes, name, 1)
}

/// Imports ONNX bytes for `batch` samples at once: the inputs' symbolic batch axis is set to
/// `batch`, so one proof covers them all.
pub fn import_onnx_batch(bytes: &[u8], name: &str, batch: usize) -> Result<FloatGraph> {
    let onnx = tract_onnx::onnx();
    let proto = onnx.proto_model_for_read(&mut &bytes[..]).map_err(malformed)?;
    let graph_pb = proto.graph.as_ref().ok_or_else(|| malformed("no graph"))?;
    let unsupported = unsupported_nodes(graph_pb);
    if !unsupported.is_empty() {
        return Err(ModelError::UnsupportedOps(unsupported));
    }
    // A zero-size weight would only surface later as an unanalysable shape (an empty list of
    // integers, such as no axes, is meaningful).
    if let Some(t) = graph_pb.initializer.iter().find(|t| t.dims.contains(&0) && is_float(t.data_type)) {
        let shape = t.dims.iter().map(|&d| d.max(0) as usize).collect();
        return Err(ModelError::EmptyTensor { tensor: t.name.clone(), shape });
    }
    let initializers: HashSet<&str> = graph_pb.initializer.iter().map(|t| t.name.as_str()).collect();
    // tract indexes its outlets by these names without checking (it would panic).
    let defined: HashSet<&str> = graph_pb.node.iter().flat_map(|n| n.output.iter().map(String::as_str)).collect();
    let graph_inputs: HashSet<&str> = graph_pb.input.iter().map(|i| i.name.as_str()).collect();
    if let Some(o) = graph_pb.output.iter().find(|o| {
        let name = o.name.as_str();
        !defined.contains(name) && !graph_inputs.contains(name) && !initializers.contains(name)
    }) {
        return Err(malformed(format!("graph output `{}` is produced by no node", o.name)));
    }
    let inputs: Vec<&pb::ValueInfoProto> =
        graph_pb.input.iter().filter(|i| !initializers.contains(i.name.as_str())).collect();
    let input_shapes = inputs.iter().map(|i| input_shape(i, batch.max(1))).collect::<Result<Vec<_>>>()?;
    if let Some((input, shape)) = inputs.iter().zip(&input_shapes).find(|(_, s)| s.contains(&0)) {
        return Err(ModelError::EmptyTensor { tensor: input.name.clone(), shape: shape.clone() });
    }

    let parsed = onnx.parse(&proto, None).map_err(|e| malformed(format!("{e:#}")))?;
    if !parsed.unresolved_inputs.is_empty() {
        return Err(malformed(format!("tensors read but never defined: {:?}", parsed.unresolved_inputs)));
    }
    let mut model = parsed.model;
    for (ix, shape) in input_shapes.iter().enumerate() {
        model.set_input_fact(ix, InferenceFact::dt_shape(f32::datum_type(), shape.clone())).map_err(malformed)?;
    }
    // Obstinate: an op tract cannot analyse is reported by name below, not as an analysis error.
    let _ = model.analyse(true);
    let mut facts = HashMap::new();
    for (tensor, outlet) in &parsed.outlets_by_name {
        let Ok(f) = model.outlet_fact(*outlet) else {
            continue;
        };
        let shape = f.shape.as_concrete_finite().ok().flatten().map(|s| s.to_vec());
        let value = f.value.concretize().and_then(|t| tensor_f64(&t));
        facts.insert(tensor.clone(), Fact { shape, value });
    }

    let mut consumers = HashMap::new();
    for n in &graph_pb.node {
        for i in n.input.iter().filter(|s| !s.is_empty()) {
            *consumers.entry(i.clone()).or_insert(0) += 1;
        }
    }
    let opset =
        proto.opset_import.iter().find(|o| o.domain.is_empty() || o.domain == "ai.onnx").map_or(13, |o| o.version);
    let mut ctx = Ctx {
        graph: FloatGraph { name: name.to_string(), ..Default::default() },
        env: HashMap::new(),
        facts,
        consumers,
        graph_outputs: graph_pb.output.iter().map(|o| o.name.clone()).collect(),
        opset,
    };
    for (input, shape) in inputs.iter().zip(input_shapes) {
        let id = ctx.graph.add_tensor(&input.name, shape);
        ctx.graph.inputs.push(id);
        ctx.env.insert(input.name.clone(), Val::Tensor(id));
    }
    // Everything tract folded to a constant (initializers, Constant nodes, shape arithmetic).
    for (tensor, fact) in &ctx.facts {
        if let (Some((shape, data)), false) = (&fact.value, ctx.env.contains_key(tensor)) {
            ctx.env.insert(tensor.clone(), Val::Const { shape: shape.clone(), data: data.clone() });
        }
    }
    let patterns = gelu::find_gelu_patterns(graph_pb, &ctx)?;
    for (index, node) in graph_pb.node.iter().enumerate() {
        let outputs_known = node.output.iter().filter(|o| !o.is_empty()).all(|o| ctx.env.contains_key(o));
        if outputs_known {
            continue; // folded constant
        }
        if let Some(p) = patterns.get(&index) {
            if let Some((x, out)) = &p.emit {
                translate::emit_gelu(&mut ctx, node, x, out)?;
            }
            continue;
        }
        translate::translate(&mut ctx, node)?;
    }
    for out in &graph_pb.output {
        match ctx.env.get(&out.name) {
            Some(Val::Tensor(id)) => ctx.graph.outputs.push(*id),
            Some(Val::Const { .. }) => {
                return Err(ModelError::UnsupportedUse {
                    node: out.name.clone(),
                    op: "output".into(),
                    reason: "model output is a constant".into(),
                })
            }
            None => return Err(malformed(format!("graph output `{}` is never produced", out.name))),
        }
    }
    if ctx.graph.inputs.is_empty() {
        return Err(malformed("the model has no (non-constant) input"));
    }
    ctx.graph.check_finite()?;
    super::sink_activations::sink_activations(&mut ctx.graph);
    Ok(ctx.graph)
}

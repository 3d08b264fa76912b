//! Reading ONNX node attributes with typed errors.

use tract_onnx::pb::{attribute_proto::AttributeType, NodeProto};

use crate::error::{ModelError, Result};

fn find<'a>(node: &'a NodeProto, name: &str) -> Option<&'a tract_onnx::pb::AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

/// Integer attribute or `default`.
pub fn int(node: &NodeProto, name: &str, default: i64) -> i64 {
    find(node, name).map_or(default, |a| a.i)
}

/// Float attribute or `default`.
pub fn float(node: &NodeProto, name: &str, default: f64) -> f64 {
    find(node, name).map_or(default, |a| a.f as f64)
}

/// Integer-list attribute, if present.
pub fn ints(node: &NodeProto, name: &str) -> Option<Vec<i64>> {
    find(node, name).filter(|a| a.r#type() == AttributeType::Ints || !a.ints.is_empty()).map(|a| a.ints.clone())
}

/// String attribute or `default`.
pub fn string(node: &NodeProto, name: &str, default: &str) -> Result<String> {
    match find(node, name) {
        None => Ok(default.to_string()),
        Some(a) => String::from_utf8(a.s.clone())
            .map_err(|_| ModelError::MalformedOnnx(format!("node `{}`: attribute {name} is not UTF-8", node.name))),
    }
}

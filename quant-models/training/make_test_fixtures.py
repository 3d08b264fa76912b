"""Writes small ONNX fixtures for importer tests that the ONNX node tests do not cover:
the GELU subgraph PyTorch exports before opset 20 (Div by sqrt(2) -> Erf -> Add 1 -> Mul x -> Mul 0.5)
and a zero Pad before a Conv."""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data")
os.makedirs(here, exist_ok=True)
c = lambda name, v: numpy_helper.from_array(np.asarray(v, dtype=np.float32), name)

x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 16])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 16])
nodes = [
    helper.make_node("Div", ["x", "sqrt2"], ["d"]),
    helper.make_node("Erf", ["d"], ["e"]),
    helper.make_node("Add", ["e", "one"], ["a"]),
    helper.make_node("Mul", ["x", "a"], ["m"]),
    helper.make_node("Mul", ["m", "half"], ["y"]),
]
g = helper.make_graph(nodes, "gelu_erf", [x], [y], [c("sqrt2", 1.4142135), c("one", 1.0), c("half", 0.5)])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), os.path.join(here, "gelu_erf_pattern.onnx"))

rng = np.random.default_rng(0)
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 5, 5])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 7, 7])
nodes = [
    helper.make_node("Pad", ["x", "pads"], ["p"], mode="constant"),
    helper.make_node("Conv", ["p", "w"], ["y"], kernel_shape=[1, 1]),
]
pads = numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], dtype=np.int64), "pads")
g = helper.make_graph(nodes, "pad_conv", [x], [y], [pads, c("w", rng.normal(size=(3, 2, 1, 1)))])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), os.path.join(here, "pad_conv.onnx"))

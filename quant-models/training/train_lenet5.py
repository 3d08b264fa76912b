"""LeNet-5 on Fashion-MNIST: conv 5x5 (6, pad 2) -> ReLU -> 2x2 max pool -> conv 5x5 (16) -> ReLU
-> 2x2 max pool -> dense 400 -> 120 -> ReLU -> 84 -> ReLU -> 10.

Reads Debian's `dataset-fashion-mnist` package (idx files under /usr/share/datasets/fashion-mnist,
or the folder given as the first argument). Seed 0.
"""
import sys

import numpy as np
from onnx import helper

import common

SEED = 0
TRAIN_IMAGES = 30000
TEST_SAMPLE = 500
CALIBRATION = 100


def main():
    xtr, ytr, xte, yte = common.read_fashion_mnist(sys.argv)
    rng = np.random.default_rng(SEED)
    pick = rng.permutation(len(xtr))[:TRAIN_IMAGES]
    c1, c2 = common.Conv(rng, 1, 6, 5, 2), common.Conv(rng, 6, 16, 5, 0)
    f1, f2, f3 = common.Dense(rng, 400, 120), common.Dense(rng, 120, 84), common.Dense(rng, 84, 10)
    layers = [c1, common.Relu(), common.Pool2("max"), c2, common.Relu(), common.Pool2("max"),
              f1, common.Relu(), f2, common.Relu(), f3]
    common.train(layers, xtr[pick], ytr[pick], epochs=4, batch=64, lr=2e-3, seed=SEED)
    sample = rng.permutation(len(xte))[:TEST_SAMPLE]
    acc = (common.predict(layers, xte[sample]).argmax(axis=1) == yte[sample]).mean()
    print("test-sample accuracy", acc)
    nodes = [
        helper.make_node("Conv", ["input", "conv1.weight", "conv1.bias"], ["conv1"], name="conv1",
                         kernel_shape=[5, 5], pads=[2, 2, 2, 2]),
        helper.make_node("Relu", ["conv1"], ["relu1"], name="relu1"),
        helper.make_node("MaxPool", ["relu1"], ["pool1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["pool1", "conv2.weight", "conv2.bias"], ["conv2"], name="conv2",
                         kernel_shape=[5, 5]),
        helper.make_node("Relu", ["conv2"], ["relu2"], name="relu2"),
        helper.make_node("MaxPool", ["relu2"], ["pool2"], name="pool2", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["pool2"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "fc1.weight", "fc1.bias"], ["fc1"], name="fc1", transB=1),
        helper.make_node("Relu", ["fc1"], ["relu3"], name="relu3"),
        helper.make_node("Gemm", ["relu3", "fc2.weight", "fc2.bias"], ["fc2"], name="fc2", transB=1),
        helper.make_node("Relu", ["fc2"], ["relu4"], name="relu4"),
        helper.make_node("Gemm", ["relu4", "fc3.weight", "fc3.bias"], ["output"], name="fc3", transB=1),
    ]
    inits = {"conv1.weight": c1.w, "conv1.bias": c1.b, "conv2.weight": c2.w, "conv2.bias": c2.b,
             "fc1.weight": f1.w, "fc1.bias": f1.b, "fc2.weight": f2.w, "fc2.bias": f2.b,
             "fc3.weight": f3.w, "fc3.bias": f3.b}
    d = common.out_dir("lenet5")
    common.save_model(f"{d}/model.onnx", nodes, inits, [1, 28, 28], 10, "lenet5")
    common.write_sample_input(f"{d}/input.json", xte[sample[0]], decimals=3)
    common.write_labelled_set(f"{d}/test.json", xte[sample], yte[sample], decimals=3)
    common.write_labelled_set(f"{d}/calibration.json", xtr[pick[:CALIBRATION]], ytr[pick[:CALIBRATION]], decimals=3)


if __name__ == "__main__":
    main()

"""Fashion-MNIST CNN: [conv 3x3 pad 1 -> ReLU -> 2x2 max pool] x 2 (8, 16 channels) -> dense 784 -> 10.

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


def main():
    xtr, ytr, xte, yte = common.read_fashion_mnist(sys.argv)
    rng = np.random.default_rng(SEED)
    pick = rng.permutation(len(xtr))[:TRAIN_IMAGES]
    c1, c2, fc = common.Conv(rng, 1, 8, 3, 1), common.Conv(rng, 8, 16, 3, 1), common.Dense(rng, 784, 10)
    layers = [c1, common.Relu(), common.Pool2("max"), c2, common.Relu(), common.Pool2("max"), fc]
    common.train(layers, xtr[pick], ytr[pick], epochs=4, batch=64, lr=2e-3, seed=SEED)
    sample = rng.permutation(len(xte))[:TEST_SAMPLE]
    acc = (common.predict(layers, xte[sample]).argmax(axis=1) == yte[sample]).mean()
    print("test-sample accuracy", acc)
    nodes = [
        helper.make_node("Conv", ["input", "conv1.weight", "conv1.bias"], ["conv1"], name="conv1",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv1"], ["relu1"], name="relu1"),
        helper.make_node("MaxPool", ["relu1"], ["pool1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["pool1", "conv2.weight", "conv2.bias"], ["conv2"], name="conv2",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv2"], ["relu2"], name="relu2"),
        helper.make_node("MaxPool", ["relu2"], ["pool2"], name="pool2", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["pool2"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["output"], name="fc", transB=1),
    ]
    inits = {"conv1.weight": c1.w, "conv1.bias": c1.b, "conv2.weight": c2.w, "conv2.bias": c2.b,
             "fc.weight": fc.w, "fc.bias": fc.b}
    d = common.out_dir("fashion-cnn")
    common.save_model(f"{d}/model.onnx", nodes, inits, [1, 28, 28], 10, "fashion_cnn")
    common.write_sample_input(f"{d}/input.json", xte[sample[0]], decimals=3)
    common.write_labelled_set(f"{d}/test.json", xte[sample], yte[sample], decimals=3)
    common.write_labelled_set(f"{d}/calibration.json", xtr[pick[:100]], ytr[pick[:100]], decimals=3)


if __name__ == "__main__":
    main()

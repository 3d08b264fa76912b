"""Digits CNN: conv 3x3 (8 channels, pad 1) -> ReLU -> 2x2 average pool -> dense 128 -> 10. Seed 0."""
import numpy as np
from onnx import helper
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import common

SEED = 0


def main():
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.25, random_state=SEED, stratify=y)
    rng = np.random.default_rng(SEED)
    conv, dense = common.Conv(rng, 1, 8, 3, 1), common.Dense(rng, 128, 10)
    layers = [conv, common.Relu(), common.Pool2("avg"), dense]
    common.train(layers, xtr, ytr, epochs=30, batch=32, lr=3e-3, seed=SEED)
    acc = (common.predict(layers, xte).argmax(axis=1) == yte).mean()
    print("test accuracy", acc)
    nodes = [
        helper.make_node("Conv", ["input", "conv.weight", "conv.bias"], ["conv"], name="conv",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"], name="relu"),
        helper.make_node("AveragePool", ["relu"], ["pool"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["pool"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["output"], name="fc", transB=1),
    ]
    inits = {"conv.weight": conv.w, "conv.bias": conv.b, "fc.weight": dense.w, "fc.bias": dense.b}
    d = common.out_dir("digits-cnn")
    common.save_model(f"{d}/model.onnx", nodes, inits, [1, 8, 8], 10, "digits_cnn")
    common.write_sample_input(f"{d}/input.json", xte[0])
    common.write_labelled_set(f"{d}/test.json", xte, yte)
    common.write_labelled_set(f"{d}/calibration.json", xtr[:200], ytr[:200])


if __name__ == "__main__":
    main()

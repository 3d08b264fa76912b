"""Digits MLP 64 -> 32 -> 10 (ReLU) on scikit-learn's bundled load_digits. Seed 0."""
import numpy as np
from onnx import helper
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

import common

SEED = 0


def main():
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.25, random_state=SEED, stratify=y)
    clf = MLPClassifier(hidden_layer_sizes=(32,), activation="relu", max_iter=600, random_state=SEED)
    clf.fit(xtr, ytr)
    print("test accuracy", clf.score(xte, yte))
    w1, w2 = clf.coefs_
    b1, b2 = clf.intercepts_
    nodes = [
        helper.make_node("Gemm", ["input", "fc1.weight", "fc1.bias"], ["fc1"], name="fc1", transB=1),
        helper.make_node("Relu", ["fc1"], ["relu1"], name="relu1"),
        helper.make_node("Gemm", ["relu1", "fc2.weight", "fc2.bias"], ["output"], name="fc2", transB=1),
    ]
    inits = {"fc1.weight": w1.T, "fc1.bias": b1, "fc2.weight": w2.T, "fc2.bias": b2}
    d = common.out_dir("digits-mlp")
    common.save_model(f"{d}/model.onnx", nodes, inits, [64], 10, "digits_mlp")
    common.write_sample_input(f"{d}/input.json", xte[0])
    common.write_labelled_set(f"{d}/test.json", xte, yte)
    common.write_labelled_set(f"{d}/calibration.json", xtr[:200], ytr[:200])


if __name__ == "__main__":
    main()

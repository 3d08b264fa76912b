"""Shared helpers for the example-model training scripts.

The scripts train small models with numpy / scikit-learn only (no deep-learning
framework, no download at run time), export them to ONNX with `onnx.helper`, and
write a sample input plus a labelled test set in the formats `zkinfer` reads:

* sample input: `{"input_data": [[flat floats]]}` (one list per model input);
* labelled set: `{"samples": [[flat floats], ...], "labels": [int, ...]}`.
"""
import gzip
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13


def _round(values, decimals):
    return [round(float(v), decimals) for v in values]


def write_sample_input(path, x, decimals=4):
    with open(path, "w") as f:
        json.dump({"input_data": [_round(np.ravel(x), decimals)]}, f)


def write_labelled_set(path, xs, labels, decimals=4):
    samples = [_round(np.ravel(x), decimals) for x in xs]
    with open(path, "w") as f:
        json.dump({"samples": samples, "labels": [int(l) for l in labels]}, f, separators=(",", ":"))


def read_idx(path):
    """One gzipped IDX file (the MNIST format) as a numpy array."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def read_fashion_mnist(argv):
    """(train images, train labels, test images, test labels) of Fashion-MNIST, images scaled to
    [0, 1] as [N, 1, 28, 28]: from Debian's `dataset-fashion-mnist` package, or the folder given
    as the first command-line argument."""
    root = argv[1] if len(argv) > 1 else "/usr/share/datasets/fashion-mnist"
    load = lambda n: read_idx(os.path.join(root, n))
    images = lambda n: (load(n) / 255.0).astype(np.float32).reshape(-1, 1, 28, 28)
    return (images("train-images-idx3-ubyte.gz"), load("train-labels-idx1-ubyte.gz").astype(np.int64),
            images("t10k-images-idx3-ubyte.gz"), load("t10k-labels-idx1-ubyte.gz").astype(np.int64))


def save_model(path, nodes, initializers, input_shape, n_classes, name):
    """Writes an ONNX model with one input `input` (batch dimension symbolic) and one output `output`."""
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch"] + list(input_shape))
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", n_classes])
    inits = [numpy_helper.from_array(np.asarray(v, dtype=np.float32), k) for k, v in initializers.items()]
    graph = helper.make_graph(nodes, name, [x], [y], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="zkinfer-training")
    onnx.checker.check_model(model)
    onnx.save(model, path)


def out_dir(name):
    here = os.path.dirname(os.path.abspath(__file__))
    d = os.path.join(here, "..", "models", name)
    os.makedirs(d, exist_ok=True)
    return d


# --- a minimal numpy CNN toolkit (forward + backward) used by the CNN scripts ---

def im2col(x, k, pad):
    """x: [N, C, H, W] -> patches [N, H*W, C*k*k] for stride 1 and 'same'-style padding `pad`."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = h + 2 * pad - k + 1, w + 2 * pad - k + 1
    cols = np.empty((n, c, k, k, oh, ow), dtype=x.dtype)
    for i in range(k):
        for j in range(k):
            cols[:, :, i, j] = xp[:, :, i:i + oh, j:j + ow]
    return cols.reshape(n, c * k * k, oh * ow).transpose(0, 2, 1), (oh, ow)


def col2im(dcols, x_shape, k, pad, out_hw):
    n, c, h, w = x_shape
    oh, ow = out_hw
    d = dcols.transpose(0, 2, 1).reshape(n, c, k, k, oh, ow)
    dxp = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=dcols.dtype)
    for i in range(k):
        for j in range(k):
            dxp[:, :, i:i + oh, j:j + ow] += d[:, :, i, j]
    return dxp[:, :, pad:pad + h, pad:pad + w]


class Conv:
    def __init__(self, rng, cin, cout, k, pad):
        self.k, self.pad = k, pad
        self.w = rng.normal(0, np.sqrt(2.0 / (cin * k * k)), (cout, cin, k, k)).astype(np.float32)
        self.b = np.zeros(cout, dtype=np.float32)

    def params(self):
        return [self.w, self.b]

    def forward(self, x):
        cols, hw = im2col(x, self.k, self.pad)
        self.cache = (x.shape, cols, hw)
        y = cols @ self.w.reshape(self.w.shape[0], -1).T + self.b
        return y.transpose(0, 2, 1).reshape(x.shape[0], -1, *hw)

    def backward(self, dy):
        x_shape, cols, hw = self.cache
        n, co = dy.shape[:2]
        dyc = dy.reshape(n, co, -1).transpose(0, 2, 1)
        dw = np.einsum("npo,npi->oi", dyc, cols).reshape(self.w.shape)
        db = dyc.sum(axis=(0, 1))
        dcols = dyc @ self.w.reshape(co, -1)
        return col2im(dcols, x_shape, self.k, self.pad, hw), [dw, db]


class Relu:
    def params(self):
        return []

    def forward(self, x):
        self.mask = x > 0
        return x * self.mask

    def backward(self, dy):
        return dy * self.mask, []


class Pool2:
    """2x2, stride-2 pooling; `kind` is 'avg' or 'max'."""

    def __init__(self, kind):
        self.kind = kind

    def params(self):
        return []

    def forward(self, x):
        n, c, h, w = x.shape
        r = x.reshape(n, c, h // 2, 2, w // 2, 2)
        self.shape = x.shape
        if self.kind == "avg":
            return r.mean(axis=(3, 5))
        y = r.max(axis=(3, 5))
        self.mask = r == y[:, :, :, None, :, None]
        return y

    def backward(self, dy):
        n, c, h, w = self.shape
        up = np.broadcast_to(dy[:, :, :, None, :, None], (n, c, h // 2, 2, w // 2, 2))
        if self.kind == "avg":
            return (up / 4.0).reshape(self.shape), []
        return (up * self.mask).reshape(self.shape), []


class Dense:
    def __init__(self, rng, nin, nout):
        self.w = rng.normal(0, np.sqrt(2.0 / nin), (nout, nin)).astype(np.float32)
        self.b = np.zeros(nout, dtype=np.float32)

    def params(self):
        return [self.w, self.b]

    def forward(self, x):
        self.shape = x.shape
        self.x = x.reshape(x.shape[0], -1)
        return self.x @ self.w.T + self.b

    def backward(self, dy):
        return (dy @ self.w).reshape(self.shape), [dy.T @ self.x, dy.sum(axis=0)]


def train(layers, xs, ys, epochs, batch, lr, seed):
    """Adam on softmax cross-entropy."""
    rng = np.random.default_rng(seed)
    params = [p for l in layers for p in l.params()]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    t = 0
    for epoch in range(epochs):
        order = rng.permutation(len(xs))
        loss_sum = 0.0
        for s in range(0, len(xs), batch):
            idx = order[s:s + batch]
            h = xs[idx]
            for l in layers:
                h = l.forward(h)
            h = h - h.max(axis=1, keepdims=True)
            p = np.exp(h)
            p /= p.sum(axis=1, keepdims=True)
            loss_sum += -np.log(p[np.arange(len(idx)), ys[idx]] + 1e-12).sum()
            d = p
            d[np.arange(len(idx)), ys[idx]] -= 1
            d /= len(idx)
            grads = []
            for l in reversed(layers):
                d, g = l.backward(d)
                grads = g + grads
            t += 1
            for i, (p_, g) in enumerate(zip(params, grads)):
                m[i] = 0.9 * m[i] + 0.1 * g
                v[i] = 0.999 * v[i] + 0.001 * g * g
                mh = m[i] / (1 - 0.9 ** t)
                vh = v[i] / (1 - 0.999 ** t)
                p_ -= (lr * mh / (np.sqrt(vh) + 1e-8)).astype(np.float32)
        print(f"epoch {epoch}: loss {loss_sum / len(xs):.4f}")


def predict(layers, xs, batch=256):
    out = []
    for s in range(0, len(xs), batch):
        h = xs[s:s + batch]
        for l in layers:
            h = l.forward(h)
        out.append(h)
    return np.concatenate(out)

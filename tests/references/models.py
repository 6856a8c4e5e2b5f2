"""Keras 3 twins of the models used to generate the iNNvestigate 2.1.2 references.

The reference arrays (innvestigate_<name>.npz) are produced by
``gen_innvestigate.py`` under TF 2.14 / Keras 2 in a side venv; regenerate with

    ~/venv-innv2/bin/python tests/references/gen_innvestigate.py

(see gen_innvestigate.py / README.md for creating ~/venv-innv2). This module
rebuilds the SAME architectures with Keras 3 and loads the stored weights.

Conventions
-----------
* Layer names are explicit and identical in both Keras versions:
  cnn (Sequential; ``model.layers`` has no InputLayer, so index 0 is conv1):
      conv1 (Conv2D 4, 3x3 same, relu) -> maxpool1 (MaxPooling2D 2)
      -> conv2 (Conv2D 6, 3x3 same, relu) -> avgpool2 (AveragePooling2D 2)
      -> flatten -> dense1 (Dense 16, relu) -> logits (Dense 5, linear)
  residual (functional; ``model.layers[0]`` is the InputLayer "input"):
      conv_stem (Conv2D 4, 3x3 same, linear) -> bn_stem (BatchNormalization)
      -> relu_stem (Activation('relu')) = h
      conv_branch (Conv2D 4, 3x3 same, relu)(h); res_add = Add([conv_branch, h])
      conv_side (Conv2D 2, 1x1, relu)(h); res_concat = Concatenate([res_add, conv_side])
      -> gap (GlobalAveragePooling2D) -> logits (Dense 5, linear)
  Layer-index models (``lrp.sequential_preset_b_flat_until_idx`` at every valid
  ``until_layer_idx``; the index is a position in ``model.layers``):
  mlp_seq (Sequential) 0 dense0 (Dense 10, linear), 1 relu0 (Activation('relu')),
      2 dense1 (Dense 8, relu), 3 dense2 (Dense 6, relu), 4 logits (Dense 5)
  mlp_func: the same layers and weights as a functional model, so 0 is the InputLayer
      and every other index is one more than in mlp_seq
  cnn_idx (Sequential): cnn with bias-free convolutions (conv1 0, maxpool1 1, conv2 2,
      avgpool2 3, flatten 4, dense1 5, logits 6)
* Weights are stored as ``w/<layer_name>/<i>`` in ``layer.get_weights()`` order:
  Conv2D/Dense: kernel (kh, kw, in, out) / (in, out), bias.
  BatchNormalization: gamma, beta, moving_mean, moving_variance (same order in
  Keras 2 and Keras 3; epsilon=1e-3, axis=-1 in both).
* ``x``: (4, 8, 8, 3) float32 input ((4, 12) for the MLPs), ``y``: (4, 5) model output (Keras 2, inference mode).
* Analyses: ``a/<analyzer>[kwargs]/<mode>``; mode ``max_activation`` or ``index``
  (index = output neuron 1 for every sample). ``failures`` and ``meta`` are 0-d
  unicode arrays holding JSON. Everything loads with ``allow_pickle=False``.
"""

from __future__ import annotations

import json
import os

import keras
import numpy as np
from keras import layers as L

HERE = os.path.dirname(os.path.abspath(__file__))
INPUT_SHAPE = (8, 8, 3)
MLP_INPUT_SHAPE = (12,)


def build_cnn() -> keras.Model:
    return keras.Sequential(
        [
            keras.Input(INPUT_SHAPE, name="input"),
            L.Conv2D(4, 3, padding="same", activation="relu", name="conv1"),
            L.MaxPooling2D(2, name="maxpool1"),
            L.Conv2D(6, 3, padding="same", activation="relu", name="conv2"),
            L.AveragePooling2D(2, name="avgpool2"),
            L.Flatten(name="flatten"),
            L.Dense(16, activation="relu", name="dense1"),
            L.Dense(5, name="logits"),
        ],
        name="cnn",
    )


def build_residual() -> keras.Model:
    inp = keras.Input(INPUT_SHAPE, name="input")
    h = L.Conv2D(4, 3, padding="same", name="conv_stem")(inp)
    h = L.BatchNormalization(name="bn_stem")(h)
    h = L.Activation("relu", name="relu_stem")(h)
    b = L.Conv2D(4, 3, padding="same", activation="relu", name="conv_branch")(h)
    s = L.Add(name="res_add")([b, h])
    c = L.Conv2D(2, 1, activation="relu", name="conv_side")(h)
    m = L.Concatenate(name="res_concat")([s, c])
    g = L.GlobalAveragePooling2D(name="gap")(m)
    out = L.Dense(5, name="logits")(g)
    return keras.Model(inp, out, name="residual")


def _mlp_layers() -> list:
    return [
        L.Dense(10, name="dense0"),
        L.Activation("relu", name="relu0"),
        L.Dense(8, activation="relu", name="dense1"),
        L.Dense(6, activation="relu", name="dense2"),
        L.Dense(5, name="logits"),
    ]


def build_mlp_seq() -> keras.Model:
    return keras.Sequential([keras.Input(MLP_INPUT_SHAPE, name="input"), *_mlp_layers()], name="mlp_seq")


def build_mlp_func() -> keras.Model:
    inp = keras.Input(MLP_INPUT_SHAPE, name="input")
    h = inp
    for layer in _mlp_layers():
        h = layer(h)
    return keras.Model(inp, h, name="mlp_func")


def build_cnn_idx() -> keras.Model:
    return keras.Sequential(
        [
            keras.Input(INPUT_SHAPE, name="input"),
            L.Conv2D(4, 3, padding="same", activation="relu", use_bias=False, name="conv1"),
            L.MaxPooling2D(2, name="maxpool1"),
            L.Conv2D(6, 3, padding="same", activation="relu", use_bias=False, name="conv2"),
            L.AveragePooling2D(2, name="avgpool2"),
            L.Flatten(name="flatten"),
            L.Dense(16, activation="relu", name="dense1"),
            L.Dense(5, name="logits"),
        ],
        name="cnn_idx",
    )


# residual_unitbn: same architecture/weights as residual but bn_stem gamma=1, var=1
# (see README: iNNvestigate's fused-BN LRP is only exact then).
BUILDERS = {
    "cnn": build_cnn, "residual": build_residual, "residual_unitbn": build_residual,
    "mlp_seq": build_mlp_seq, "mlp_func": build_mlp_func, "cnn_idx": build_cnn_idx,
}


def reference_path(name: str) -> str:
    return os.path.join(HERE, f"innvestigate_{name}.npz")


def load_npz(name: str) -> dict:
    """All arrays of the reference file as a plain dict (file closed)."""
    with np.load(reference_path(name), allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def load_reference(name: str):
    """Build the Keras 3 model ``name`` with the reference weights.

    Returns ``(model, npz)`` where ``npz`` is a dict of all stored arrays;
    ``npz["failures"]`` / ``npz["meta"]`` are JSON strings (use ``json.loads(str(...))``).
    """
    npz = load_npz(name)
    model = BUILDERS[name]()
    for layer in model.layers:
        n = len(layer.weights)
        if n == 0:
            continue
        ws = [npz[f"w/{layer.name}/{i}"] for i in range(n)]
        layer.set_weights(ws)
    stored = {k.split("/")[1] for k in npz if k.startswith("w/")}
    missing = stored - {layer.name for layer in model.layers}
    if missing:
        raise KeyError(f"stored weights for unknown layers: {sorted(missing)}")
    return model, npz


def analyses(npz: dict) -> dict:
    """{(analyzer_key, mode): array} for all stored analyses."""
    out = {}
    for k, v in npz.items():
        if k.startswith("a/"):
            key, mode = k[2:].rsplit("/", 1)
            out[(key, mode)] = v
    return out


def failures(npz: dict) -> dict:
    return json.loads(str(npz["failures"]))


def meta(npz: dict) -> dict:
    return json.loads(str(npz["meta"]))


if __name__ == "__main__":
    for name in BUILDERS:
        model, npz = load_reference(name)
        y = np.asarray(model(npz["x"], training=False))
        err = float(np.max(np.abs(y - npz["y"])))
        print(f"{name}: max |y_keras3 - y_ref| = {err:.3g}")
        assert err < 1e-5, err

"""Generate reference arrays from the real iNNvestigate 2.1.2.

Run OUTSIDE the repo's dev venv, in a side venv with TF 2.14 / Keras 2:

    python3 -m venv ~/venv-innv2
    ~/venv-innv2/bin/pip install "innvestigate==2.1.2" "tensorflow-cpu==2.14.1" "numpy==1.26.4"
    ~/venv-innv2/bin/python tests/references/gen_innvestigate.py

Writes tests/references/innvestigate_<model>.npz for every model in BUILDERS (about 20 min for
all; `... gen_innvestigate.py mlp_seq mlp_func cnn_idx` regenerates only the layer-index models,
about 2.5 min). The first three models get the full ANALYZERS list; the layer-index models
(INDEX_MODELS) get `lrp.sequential_preset_b_flat_until_idx` at every valid until_layer_idx.
Keys (all plain float32 / unicode arrays, loadable with allow_pickle=False):
    w/<layer_name>/<i>       layer.get_weights()[i]
    x                        input batch (4, 8, 8, 3); (4, 12) for the MLPs
    y                        model output (4, 5)
    a/<analyzer>[kw]/<mode>  analysis, mode in {max_activation, index} (index = output 1)
    failures                 0-d unicode array: JSON {"<analyzer>[kw]/<mode>": "Err: msg"}
    meta                     0-d unicode array: JSON (versions, layers, kwargs per analyzer)

The architectures must stay in sync with tests/references/models.py (Keras 3).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import sys
import traceback
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

tf.compat.v1.disable_eager_execution()

import innvestigate  # noqa: E402
import innvestigate.analyzer.relevance_based.relevance_rule as rrule  # noqa: E402

warnings.filterwarnings("ignore")
tf.get_logger().setLevel("ERROR")

keras = tf.keras
L = keras.layers

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH = 4
INPUT_SHAPE = (8, 8, 3)
MLP_INPUT_SHAPE = (12,)
INDEX = 1
WEIGHT_SEED = {
    "cnn": 1234, "residual": 4321, "residual_unitbn": 4321,
    # the two MLPs are one network written two ways: same seed, same weights
    "mlp_seq": 777, "mlp_func": 777, "cnn_idx": 5678,
}
X_SEED = 2024


# --------------------------------------------------------------------------- models
def build_cnn():
    return keras.Sequential(
        [
            L.Input(INPUT_SHAPE, name="input"),
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


def build_residual():
    inp = L.Input(INPUT_SHAPE, name="input")
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


# Layer-index models (until_layer_idx counts positions in model.layers; a functional model's
# InputLayer is layers[0], a Sequential's model.layers has none):
#   mlp_seq   0 dense0, 1 relu0, 2 dense1, 3 dense2, 4 logits
#   mlp_func  0 input, 1 dense0, 2 relu0, 3 dense1, 4 dense2, 5 logits   (same weights)
#   cnn_idx   0 conv1, 1 maxpool1, 2 conv2, 3 avgpool2, 4 flatten, 5 dense1, 6 logits
# cnn_idx's convolutions have no bias, so preset B's alpha2beta1 on them is free of the (known,
# deliberate) difference in how innv and iNNvestigate treat a bias in alpha-beta.
def _mlp_layers():
    return [
        L.Dense(10, name="dense0"),
        L.Activation("relu", name="relu0"),
        L.Dense(8, activation="relu", name="dense1"),
        L.Dense(6, activation="relu", name="dense2"),
        L.Dense(5, name="logits"),
    ]


def build_mlp_seq():
    return keras.Sequential([L.Input(MLP_INPUT_SHAPE, name="input"), *_mlp_layers()], name="mlp_seq")


def build_mlp_func():
    inp = L.Input(MLP_INPUT_SHAPE, name="input")
    h = inp
    for layer in _mlp_layers():
        h = layer(h)
    return keras.Model(inp, h, name="mlp_func")


def build_cnn_idx():
    return keras.Sequential(
        [
            L.Input(INPUT_SHAPE, name="input"),
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


# residual_unitbn: same architecture and weights as residual, but BN gamma=1 and
# moving_variance=1 (mean/beta stay random). iNNvestigate 2.1.2 fuses BN for LRP as
# k = gamma / sqrt(var**2 + eps), b = beta - mean / sqrt(var**2 + eps), which equals
# the real BN only when gamma == 1 and var == 1, so this variant's LRP references
# are free of that bug.
BUILDERS = {
    "cnn": build_cnn, "residual": build_residual, "residual_unitbn": build_residual,
    "mlp_seq": build_mlp_seq, "mlp_func": build_mlp_func, "cnn_idx": build_cnn_idx,
}
INDEX_MODELS = ("mlp_seq", "mlp_func", "cnn_idx")


def set_random_weights(model, seed, unit_bn=False):
    """Deterministic weights: He-normal kernels, N(0, 0.1) biases, random BN stats."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            n = layer.get_weights()[0].shape
            gamma = rng.uniform(0.5, 1.5, n)
            beta = rng.normal(0.0, 0.2, n)
            mean = rng.normal(0.0, 0.3, n)
            var = rng.uniform(0.5, 2.0, n)
            if unit_bn:
                gamma, var = np.ones(n), np.ones(n)
            layer.set_weights([a.astype(np.float32) for a in (gamma, beta, mean, var)])
        elif layer.get_weights():
            kernel, *bias = layer.get_weights()  # no bias: use_bias=False (cnn_idx)
            fan_in = int(np.prod(kernel.shape[:-1]))
            k = rng.normal(0.0, np.sqrt(2.0 / fan_in), kernel.shape)
            b = [rng.normal(0.0, 0.1, bb.shape) for bb in bias]
            layer.set_weights([a.astype(np.float32) for a in (k, *b)])


# --------------------------------------------------------------------------- analyzers
class ZIgnoreBiasRule(rrule.ZRule):
    """LRP-Z without bias (iNNvestigate 2.1.2 has no registered 'lrp.z_IB')."""

    def __init__(self, layer, state):
        super().__init__(layer, state, bias=False)


# (array key, create_analyzer name, kwargs)
ANALYZERS = [
    ("gradient", "gradient", {}),
    ("input_t_gradient", "input_t_gradient", {}),
    ("deconvnet", "deconvnet", {}),
    ("guided_backprop", "guided_backprop", {}),
    (
        "integrated_gradients[steps=16,reference_inputs=0]",
        "integrated_gradients",
        {"steps": 16, "reference_inputs": 0},
    ),
    ("lrp.z", "lrp.z", {}),
    # emulation: not registered in 2.1.2 (1.x had LRPZIgnoreBias)
    (
        "lrp.z_IB",
        "lrp",
        {"rule": ZIgnoreBiasRule, "bn_layer_rule": ZIgnoreBiasRule},
    ),
    ("lrp.epsilon", "lrp.epsilon", {}),
    ("lrp.epsilon[epsilon=0.1]", "lrp.epsilon", {"epsilon": 0.1}),
    # emulation: not registered in 2.1.2; LRPEpsilon(bias=False) is the same thing
    ("lrp.epsilon_IB", "lrp.epsilon", {"bias": False}),
    ("lrp.w_square", "lrp.w_square", {}),
    ("lrp.flat", "lrp.flat", {}),
    ("lrp.alpha_beta[alpha=2,beta=1]", "lrp.alpha_beta", {"alpha": 2, "beta": 1}),
    ("lrp.alpha_2_beta_1", "lrp.alpha_2_beta_1", {}),
    ("lrp.alpha_2_beta_1_IB", "lrp.alpha_2_beta_1_IB", {}),
    ("lrp.alpha_1_beta_0", "lrp.alpha_1_beta_0", {}),
    ("lrp.alpha_1_beta_0_IB", "lrp.alpha_1_beta_0_IB", {}),
    ("lrp.z_plus", "lrp.z_plus", {}),
    ("lrp.z_plus_fast", "lrp.z_plus_fast", {}),
    ("lrp.sequential_preset_a", "lrp.sequential_preset_a", {}),
    ("lrp.sequential_preset_b", "lrp.sequential_preset_b", {}),
    ("lrp.sequential_preset_a_flat", "lrp.sequential_preset_a_flat", {}),
    ("lrp.sequential_preset_b_flat", "lrp.sequential_preset_b_flat", {}),
    (
        "lrp.sequential_preset_b_flat_until_idx[until_layer_idx=2]",
        "lrp.sequential_preset_b_flat_until_idx",
        {"until_layer_idx": 2},
    ),
    ("deep_taylor", "deep_taylor", {}),
    ("deep_taylor.bounded[low=-3,high=3]", "deep_taylor.bounded", {"low": -3, "high": 3}),
    (
        "lrp[rule=Epsilon,input_layer_rule=(-3,3)]",
        "lrp",
        {"rule": "Epsilon", "input_layer_rule": (-3, 3)},
    ),
    # same, with BN handled by the fused Epsilon rule (the default BN handler for
    # bn_layer_rule=None breaks on Keras 2.14's list-valued BN axis)
    (
        "lrp[rule=Epsilon,input_layer_rule=(-3,3),bn_layer_rule=Epsilon]",
        "lrp",
        {"rule": "Epsilon", "input_layer_rule": (-3, 3), "bn_layer_rule": "Epsilon"},
    ),
]
MODES = ("max_activation", "index")


def until_idx_analyzers(n_layers):
    """until_layer_idx = 0 .. len(model.layers) - 1, in the preset and in plain LRP.

    The preset's flat input rule makes the input relevance uniform per sample, so it shows the
    index only through the total relevance; ``lrp(rule=Epsilon, until_layer_rule=ZPlus)`` keeps
    the input relevance's pattern, which changes with every kernel layer the index covers.
    """
    out = [
        ("lrp.sequential_preset_b_flat", "lrp.sequential_preset_b_flat", {}),
        ("lrp.epsilon", "lrp.epsilon", {}),
    ]
    for i in range(n_layers):
        out.append(
            (
                f"lrp.sequential_preset_b_flat_until_idx[until_layer_idx={i}]",
                "lrp.sequential_preset_b_flat_until_idx",
                {"until_layer_idx": i},
            )
        )
        out.append(
            (
                f"lrp[rule=Epsilon,until_layer_rule=ZPlus,until_layer_idx={i}]",
                "lrp",
                {"rule": "Epsilon", "until_layer_rule": "ZPlus", "until_layer_idx": i},
            )
        )
    return out


def describe_kwargs(kwargs):
    out = {}
    for k, v in kwargs.items():
        if isinstance(v, type):
            out[k] = "ZRule(bias=False)" if v is ZIgnoreBiasRule else f"{v.__module__}.{v.__name__}"
        elif isinstance(v, tuple):
            out[k] = list(v)
        else:
            out[k] = v
    return out


def one_line(e: BaseException) -> str:
    msg = str(e).strip().splitlines()
    msg = msg[0] if msg else ""
    if not msg:  # bare exceptions: say where they came from
        tb = traceback.extract_tb(e.__traceback__)[-1]
        msg = f"(raised at {os.path.basename(tb.filename)}:{tb.lineno} in {tb.name})"
    return f"{type(e).__name__}: {msg}"[:300]


def fresh_model(model_name, weights):
    """New graph + model with the given weights (keeps the TF1 graph small)."""
    keras.backend.clear_session()
    model = BUILDERS[model_name]()
    for layer in model.layers:
        if layer.name in weights:
            layer.set_weights(weights[layer.name])
    return model


def run_analyzer(model, name, kwargs, mode, x):
    """Returns (analysis, used_disable_model_checks)."""
    sel = {"neuron_selection": [INDEX] * len(x)} if mode == "index" else {}
    try:
        an = innvestigate.create_analyzer(name, model, neuron_selection_mode=mode, **kwargs)
        return an.analyze(x, **sel), False
    except NotImplementedError as e:
        # iNNvestigate's model check raises a bare NotImplementedError.
        if str(e).strip():
            raise
    an = innvestigate.create_analyzer(
        name, model, neuron_selection_mode=mode, disable_model_checks=True, **kwargs
    )
    return an.analyze(x, **sel), True


# --------------------------------------------------------------------------- main
def generate(model_name):
    keras.backend.clear_session()
    model = BUILDERS[model_name]()
    set_random_weights(model, WEIGHT_SEED[model_name], unit_bn=model_name.endswith("unitbn"))
    weights = {layer.name: layer.get_weights() for layer in model.layers}
    x_shape = (BATCH,) + tuple(model.input_shape[1:])
    x = np.random.default_rng(X_SEED).normal(size=x_shape).astype(np.float32)
    y = model.predict(x, verbose=0).astype(np.float32)

    arrays = {"x": x, "y": y}
    layers = []
    for position, layer in enumerate(model.layers):
        ws = layer.get_weights()
        layers.append(
            {
                "position_in_model_layers": position,
                "name": layer.name,
                "class": type(layer).__name__,
                "weight_shapes": [list(w.shape) for w in ws],
                "weight_names": [w.name for w in layer.weights],
            }
        )
        for i, w in enumerate(ws):
            arrays[f"w/{layer.name}/{i}"] = w.astype(np.float32)

    failures, analyzers_meta = {}, {}
    analyzer_list = until_idx_analyzers(len(model.layers)) if model_name in INDEX_MODELS else ANALYZERS
    for key, name, kwargs in analyzer_list:
        entry = {"create_analyzer": name, "kwargs": describe_kwargs(kwargs), "modes": {}}
        for mode in MODES:
            k = f"{key}/{mode}"
            print(f"[{model_name}] {k} ...", flush=True)
            try:
                model = fresh_model(model_name, weights)
                a, disabled = run_analyzer(model, name, kwargs, mode, x)
                a = np.asarray(a, dtype=np.float32)
                arrays[f"a/{k}"] = a
                entry["modes"][mode] = {
                    "disable_model_checks": disabled,
                    "neuron_selection": [INDEX] * BATCH if mode == "index" else None,
                    "finite": bool(np.isfinite(a).all()),
                }
            except Exception as e:  # record, never crash
                failures[k] = one_line(e)
                print(f"    FAILED: {failures[k]}", flush=True)
        analyzers_meta[key] = entry

    meta = {
        "versions": {
            # innvestigate.__version__ is stale ("2.0.1") in the 2.1.2 wheel
            "innvestigate": importlib.metadata.version("innvestigate"),
            "tensorflow": tf.__version__,
            "keras": importlib.metadata.version("keras"),
            "numpy": np.__version__,
            "python": sys.version.split()[0],
        },
        "model": model_name,
        "layers": layers,
        "weight_seed": WEIGHT_SEED[model_name],
        "x_seed": X_SEED,
        "x": f"np.random.default_rng({X_SEED}).normal(size={x_shape}).astype(float32)",
        "index_mode": f"neuron_selection_mode='index', analyze(x, neuron_selection=[{INDEX}]*4)",
        "analyzers": analyzers_meta,
        "notes": {
            "lrp.z_IB": "emulated: create_analyzer('lrp', rule=ZRule(bias=False), "
            "bn_layer_rule=ZRule(bias=False)); 'lrp.z_IB' is not registered in 2.1.2",
            "lrp.epsilon_IB": "emulated: create_analyzer('lrp.epsilon', bias=False) "
            "(epsilon default 1e-7); 'lrp.epsilon_IB' is not registered in 2.1.2",
        },
    }
    arrays["failures"] = np.array(json.dumps(failures, indent=1, sort_keys=True))
    arrays["meta"] = np.array(json.dumps(meta, indent=1))
    path = os.path.join(HERE, f"innvestigate_{model_name}.npz")
    np.savez_compressed(path, **arrays)
    print(f"wrote {path} ({os.path.getsize(path)} bytes), {len(failures)} failures")
    return failures


if __name__ == "__main__":
    names = sys.argv[1:] or list(BUILDERS)
    for n in names:
        generate(n)

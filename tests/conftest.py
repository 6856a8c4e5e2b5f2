"""Small models built in the tests (nothing downloads) and shared helpers."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# the CLI's name index (innv_core/app/name_index.py) goes to a fresh folder, not the user's cache
os.environ.setdefault("INNV_CACHE_DIR", tempfile.mkdtemp(prefix="innv-test-cache-"))
# The suite tests innv's own plugins, whatever else is installed: discovery loads only the entry
# points of the distribution innv (innv_core.registry.discovered_entry_points). A test of
# third-party plugins names its distributions (plugin_env, allow_plugins_of); subprocesses inherit
# the setting. INNV_PLUGIN_DISTRIBUTIONS= (empty) runs the suite against every installed plugin.
PLUGIN_DISTRIBUTIONS = "INNV_PLUGIN_DISTRIBUTIONS"
os.environ.setdefault(PLUGIN_DISTRIBUTIONS, "innv")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

L = keras.layers


def _with_distributions(value: str, dists: tuple[str, ...]) -> str:
    """``value`` of INNV_PLUGIN_DISTRIBUTIONS with ``dists`` added (empty stays empty: all)."""
    return ",".join([value, *dists]) if value else ""


def plugin_env(*dists: str, **extra: str) -> dict[str, str]:
    """The environment for a subprocess that also discovers the plugins of ``dists``."""
    env = {**os.environ, **extra}
    env[PLUGIN_DISTRIBUTIONS] = _with_distributions(os.environ.get(PLUGIN_DISTRIBUTIONS, ""), dists)
    return env


def allow_plugins_of(monkeypatch, *dists: str) -> None:
    """Let discovery in this process also load the plugins of ``dists`` (until the test ends;
    the registry must be rebuilt, e.g. with ``innv_core.registry.reset()``)."""
    value = os.environ.get(PLUGIN_DISTRIBUTIONS, "")
    monkeypatch.setenv(PLUGIN_DISTRIBUTIONS, _with_distributions(value, dists))


def _seed(seed: int = 0) -> None:
    keras.utils.set_random_seed(seed)


def _bias_init():
    return keras.initializers.RandomNormal(0.0, 0.1)


def sequential_cnn(dtype: str = "float32", seed: int = 0) -> keras.Model:
    """Conv - MaxPool - Conv - AvgPool - Flatten - Dense - Dense, ReLUs, non-zero biases."""
    _seed(seed)
    b = _bias_init()
    return keras.Sequential(
        [
            keras.Input((8, 8, 3), dtype=dtype),
            L.Conv2D(4, 3, padding="same", activation="relu", bias_initializer=b, dtype=dtype),
            L.MaxPooling2D(2, dtype=dtype),
            L.Conv2D(6, 3, padding="same", activation="relu", bias_initializer=b, dtype=dtype),
            L.AveragePooling2D(2, dtype=dtype),
            L.Flatten(dtype=dtype),
            L.Dense(16, activation="relu", bias_initializer=b, dtype=dtype),
            L.Dense(5, bias_initializer=b, dtype=dtype),
        ],
        name="seq_cnn",
    )


def residual_model(dtype: str = "float32", seed: int = 0) -> keras.Model:
    """Conv - BN - ReLU - (Conv | identity) - Add - Concatenate - GlobalAveragePooling - Dense."""
    _seed(seed)
    b = _bias_init()
    inp = keras.Input((8, 8, 3), dtype=dtype)
    h = L.Conv2D(4, 3, padding="same", bias_initializer=b, dtype=dtype, name="c1")(inp)
    bn = L.BatchNormalization(dtype=dtype, name="bn")
    h = bn(h)
    h = L.ReLU(dtype=dtype, name="relu1")(h)
    r = L.Conv2D(4, 3, padding="same", activation="relu", bias_initializer=b, dtype=dtype, name="c2")(h)
    h = L.Add(dtype=dtype, name="res_add")([h, r])
    s = L.Conv2D(2, 1, activation="relu", bias_initializer=b, dtype=dtype, name="c3")(h)
    h = L.Concatenate(dtype=dtype, name="cat")([h, s])
    h = L.GlobalAveragePooling2D(dtype=dtype, name="gap")(h)
    out = L.Dense(5, bias_initializer=b, dtype=dtype, name="out")(h)
    model = keras.Model(inp, out, name="residual")
    rng = np.random.default_rng(seed)
    gamma, beta, mean, var = bn.get_weights()
    bn.set_weights([
        rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.1, beta.shape),
        rng.normal(0, 0.2, mean.shape), rng.uniform(0.5, 1.5, var.shape),
    ])
    return model


def nested_model(dtype: str = "float32", seed: int = 0) -> keras.Model:
    """A functional model calling a Sequential block and a functional block, one of them twice."""
    _seed(seed)
    b = _bias_init()
    block = keras.Sequential(
        [keras.Input((6,), dtype=dtype), L.Dense(6, activation="relu", bias_initializer=b, dtype=dtype)],
        name="block",
    )
    i2 = keras.Input((6,), dtype=dtype)
    head = keras.Model(i2, L.Dense(3, bias_initializer=b, dtype=dtype)(i2), name="head")
    inp = keras.Input((4,), dtype=dtype)
    h = L.Dense(6, activation="relu", bias_initializer=b, dtype=dtype)(inp)
    h = block(h)
    h = block(h)  # shared nested model: two calls
    return keras.Model(inp, head(h), name="nested")


def multi_input_model(dtype: str = "float32", seed: int = 0) -> keras.Model:
    _seed(seed)
    b = _bias_init()
    a = keras.Input((5,), dtype=dtype, name="a")
    c = keras.Input((4, 4, 2), dtype=dtype, name="c")
    ha = L.Dense(4, activation="relu", bias_initializer=b, dtype=dtype)(a)
    hc = L.Flatten(dtype=dtype)(L.Conv2D(2, 3, activation="relu", bias_initializer=b, dtype=dtype)(c))
    h = L.Concatenate(dtype=dtype)([ha, hc])
    out = L.Dense(3, bias_initializer=b, dtype=dtype)(h)
    return keras.Model([a, c], out, name="multi_input")


def multi_output_model(dtype: str = "float32", seed: int = 0) -> keras.Model:
    _seed(seed)
    inp = keras.Input((5,), dtype=dtype)
    h = L.Dense(6, activation="relu", dtype=dtype)(inp)
    o1 = L.Dense(3, dtype=dtype, name="o1")(h)
    o2 = L.Dense(2, dtype=dtype, name="o2")(h)
    return keras.Model(inp, [o1, o2], name="multi_output")


def random_inputs(model: keras.Model, batch: int = 3, seed: int = 1):
    rng = np.random.default_rng(seed)
    xs = [rng.normal(size=(batch, *t.shape[1:])).astype(t.dtype) for t in model.inputs]
    return xs if len(xs) > 1 else xs[0]


MODEL_BUILDERS = {
    "sequential_cnn": sequential_cnn,
    "residual": residual_model,
    "nested": nested_model,
    "multi_input": multi_input_model,
}


@pytest.fixture(params=sorted(MODEL_BUILDERS))
def model_name(request):
    return request.param

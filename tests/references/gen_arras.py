"""LRP references for recurrent layers: Arras et al.'s LSTM_bidi code and the numpy oracle.

    git clone https://github.com/ArrasL/LRP_for_LSTM /tmp/LRP_for_LSTM   # or a bare git dir
    python tests/references/gen_arras.py /tmp/LRP_for_LSTM [--out tests/references/lstm_lrp.npz]

1. Runs Arras et al.'s own ``code/LSTM/LSTM_bidi.py`` (their BiLSTM over tokens: embedding,
   a left-to-right and a right-to-left LSTM, a linear output on the two final states) on
   ``bilstm_tokens``, a Keras model of that architecture (Embedding -> Bidirectional(LSTM,
   concat) -> Dense) whose weights are converted to their layout (rows i, g, f, o and ``W @ x``;
   Keras has columns i, f, c, o and ``x @ K``; the Keras bias goes into ``bxh``, ``bhh = 0``).
   Their output layer has no bias; the Dense bias is added to their scores by a subclass whose
   ``forward`` adds it to ``self.s``, which their ``lrp`` then uses as the output (so the bias
   absorbs its share there too). ``bias_factor=0``. Their code is read from the checkout at run
   time and never copied into this repository.
2. Checks the float64 numpy oracle (``lstm_lrp_numpy.py``) against it and prints the maximum
   relative difference (max|a-b| / max|b|) per eps and target.
3. Writes ``lstm_lrp.npz``: ``bilstm_tokens`` (relevance from Arras' code), ``lstm_float`` (an
   LSTM on float sequences) and ``lstm_stacked`` (two stacked LSTMs), relevance from the oracle,
   for eps in {1e-3, 1e-9} and the targets ``max_activation`` (each sample's max logit) and
   ``index`` (neuron 1). Keys: ``w/<model>/<layer>/<i>`` (``layer.get_weights()`` order),
   ``x/<model>``, ``y/<model>`` (Keras outputs), ``a/<model>/eps=<eps>/<target>`` (input
   relevance; token models: per token, summed over the embedding axis), for ``bilstm_tokens``
   also ``v/...`` (per embedding dimension, ``token_reduce=None``), and ``meta`` (0-d JSON:
   versions, the cross-check). Loads with ``allow_pickle=False``.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lstm_lrp_numpy as oracle  # noqa: E402

L = keras.layers
HERE = Path(__file__).resolve().parent
EPSILONS = (1e-3, 1e-9)
TARGETS = {"max_activation": None, "index": 1}
VOCAB, EMBED, UNITS, CLASSES, T_TOKENS = 20, 6, 5, 3, 8
T_FLOAT, FEATURES = 7, 4


# -- the models (the tests rebuild them with these functions) ---------------------------------
def build(name: str) -> keras.Model:
    if name == "bilstm_tokens":
        ids = keras.Input((T_TOKENS,), dtype="int32", name="ids")
        h = L.Embedding(VOCAB, EMBED, name="embedding")(ids)
        h = L.Bidirectional(L.LSTM(UNITS), merge_mode="concat", name="bilstm")(h)
        return keras.Model(ids, L.Dense(CLASSES, name="logits")(h), name=name)
    inp = keras.Input((T_FLOAT, FEATURES), name="x")
    if name == "lstm_float":
        h = L.LSTM(6, name="lstm")(inp)
    elif name == "lstm_stacked":
        h = L.LSTM(6, return_sequences=True, name="lstm1")(inp)
        h = L.LSTM(UNITS, name="lstm2")(h)
    else:
        raise KeyError(name)
    return keras.Model(inp, L.Dense(CLASSES, name="logits")(h), name=name)


#: model -> seed (chosen so that the samples' argmax differ and are not all neuron 1).
MODELS = {"bilstm_tokens": 4, "lstm_float": 3, "lstm_stacked": 0}


def load_npz(path: Path | None = None) -> dict:
    with np.load(path or HERE / "lstm_lrp.npz", allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def load_reference(name: str, npz: dict | None = None) -> tuple[keras.Model, dict]:
    """The Keras model ``name`` with the stored weights, and the npz contents."""
    npz = load_npz() if npz is None else npz
    model = build(name)
    for layer in model.layers:
        n = len(layer.get_weights())
        if n:
            layer.set_weights([npz[f"w/{name}/{layer.name}/{i}"] for i in range(n)])
    return model, npz


def _seeded(name: str, seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    model = build(name)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        new = []
        for w in weights:
            if w.ndim == 1:  # biases: all non-zero (the output's small, so that the argmax varies)
                w = rng.normal(0.0, 0.1 if layer.name == "logits" else 0.5, size=w.shape)
            elif layer.name == "embedding":
                w = rng.normal(0.0, 1.0, size=w.shape)
            else:
                w = w * 1.5
            new.append(w.astype(np.float32))
        layer.set_weights(new)
    return model


def _inputs(name: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(100 + seed)
    if name == "bilstm_tokens":
        return rng.integers(0, VOCAB, size=(4, T_TOKENS)).astype(np.int32)
    return rng.normal(size=(4, T_FLOAT, FEATURES)).astype(np.float32)


# -- Arras et al.'s code -----------------------------------------------------------------------
def _arras_checkout(source: Path, tmp: Path) -> Path:
    """A directory holding their ``code/`` package: a checkout as it is, or from a git dir."""
    if (source / "code" / "LSTM" / "LSTM_bidi.py").exists():
        return source
    dest = tmp / "arras"
    for path in ("code/__init__.py", "code/LSTM/__init__.py", "code/LSTM/LSTM_bidi.py",
                 "code/LSTM/LRP_linear_layer.py"):
        text = subprocess.run(["git", f"--git-dir={source}", "show", f"HEAD:{path}"],
                              check=True, capture_output=True, text=True).stdout
        (dest / path).parent.mkdir(parents=True, exist_ok=True)
        (dest / path).write_text(text)
    return dest


def _arras_class(checkout: Path):
    sys.modules.pop("code", None)  # their package is called ``code``, like a stdlib module
    sys.path.insert(0, str(checkout))
    from code.LSTM.LSTM_bidi import LSTM_bidi

    class WithOutputBias(LSTM_bidi):
        """Their model plus the Dense bias on the scores (their output layer has none)."""

        def __init__(self, model_path: str, output_bias: np.ndarray) -> None:
            super().__init__(model_path)
            self.output_bias = output_bias

        def forward(self):
            super().forward()
            self.s = self.s + self.output_bias
            return self.s.copy()

    return WithOutputBias


def _to_arras_layout(model: keras.Model, path: Path) -> np.ndarray:
    """Write their model files (vocab, embeddings.npy, model) to ``path``; returns the output bias."""
    d = UNITS
    rows = np.concatenate([np.arange(0, d), np.arange(2 * d, 3 * d), np.arange(d, 2 * d),
                           np.arange(3 * d, 4 * d)])  # Keras i, f, c, o -> their i, g, f, o
    bi = model.get_layer("bilstm")
    table = model.get_layer("embedding").get_weights()[0].astype(np.float64)
    w_out, b_out = (w.astype(np.float64) for w in model.get_layer("logits").get_weights())
    weights = {}
    for side, layer in (("Left", bi.forward_layer), ("Right", bi.backward_layer)):
        kernel, recurrent, bias = (w.astype(np.float64) for w in layer.get_weights())
        weights[f"Wxh_{side}"] = kernel.T[rows]
        weights[f"Whh_{side}"] = recurrent.T[rows]
        weights[f"bxh_{side}"] = bias[rows]
        weights[f"bhh_{side}"] = np.zeros(4 * d)
    weights["Why_Left"] = w_out[:d].T
    weights["Why_Right"] = w_out[d:].T
    path.mkdir(parents=True, exist_ok=True)
    with open(path / "vocab", "wb") as f:
        pickle.dump([f"w{i}" for i in range(VOCAB)], f)
    np.save(path / "embeddings.npy", table)
    with open(path / "model", "wb") as f:
        pickle.dump(weights, f)
    return b_out


def _arras_relevance(arras, ids: np.ndarray, eps: float, neuron) -> tuple[np.ndarray, np.ndarray]:
    """Per embedding dimension (N, T, E) and the scores (N, C), sample by sample."""
    vectors, scores = [], []
    for w in ids:
        arras.set_input(list(w))
        s = arras.forward()
        j = int(np.argmax(s)) if neuron is None else neuron
        Rx, Rx_rev, _ = arras.lrp(list(w), j, eps=eps, bias_factor=0.0)
        vectors.append(Rx + Rx_rev)  # Rx_rev comes back in the original time order
        scores.append(s)
    return np.stack(vectors), np.stack(scores)


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / np.abs(b).max())


def _token_oracle(net: oracle.Chain, ids: np.ndarray, eps: float, neuron) -> np.ndarray:
    """The oracle's relevance per embedding dimension (its Embedding sums over them)."""
    emb = net.layers[0]
    inner = oracle.Chain(net.layers[1:])
    return oracle.lrp(inner, np.stack([emb.table[w] for w in ids]), eps, neuron)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("arras", type=Path, help="a checkout (or bare git dir) of ArrasL/LRP_for_LSTM")
    parser.add_argument("--out", type=Path, default=HERE / "lstm_lrp.npz")
    args = parser.parse_args()
    arrays: dict[str, np.ndarray] = {}
    checks: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        arras_cls = _arras_class(_arras_checkout(args.arras.resolve(), tmp))
        for name, seed in MODELS.items():
            model = _seeded(name, seed)
            x = _inputs(name, seed)
            y = model(x).numpy()
            for layer in model.layers:
                for i, w in enumerate(layer.get_weights()):
                    arrays[f"w/{name}/{layer.name}/{i}"] = w
            arrays[f"x/{name}"], arrays[f"y/{name}"] = x, y
            net = oracle.from_keras(model)
            fwd = float(np.abs(oracle.outputs(net, x) - y).max())
            print(f"{name}: oracle forward vs Keras max|diff| {fwd:.1e}")
            if name == "bilstm_tokens":
                arras = arras_cls(str(tmp / "model") + "/", _to_arras_layout(model, tmp / "model"))
            for eps in EPSILONS:
                for target, neuron in TARGETS.items():
                    key = f"{name}/eps={eps:g}/{target}"
                    if name == "bilstm_tokens":
                        vectors, scores = _arras_relevance(arras, x, eps, neuron)
                        mine = _token_oracle(net, x, eps, neuron)
                        checks[f"{key}: scores vs Keras (abs)"] = float(np.abs(scores - y).max())
                        checks[f"{key}: oracle vs Arras, per dimension"] = _rel(mine, vectors)
                        checks[f"{key}: oracle vs Arras, per token"] = _rel(mine.sum(-1), vectors.sum(-1))
                        arrays[f"v/{key}"] = vectors
                        arrays[f"a/{key}"] = vectors.sum(-1)
                    else:
                        arrays[f"a/{key}"] = oracle.lrp(net, x, eps, neuron)
    for k, v in checks.items():
        print(f"  {k}: {v:.2e}")
    worst = max(v for k, v in checks.items() if "oracle vs Arras" in k)
    assert worst < 1e-8, f"the numpy oracle disagrees with Arras et al.'s code: {worst:.2e}"
    import tensorflow as tf

    meta = {"keras": keras.__version__, "tensorflow": tf.__version__, "numpy": np.__version__,
            "python": sys.version.split()[0],
            "arras_code": "github.com/ArrasL/LRP_for_LSTM code/LSTM/LSTM_bidi.py (bias_factor=0)",
            "cross_check": checks}
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()

"""xplique 2.0 reference scores for innv's deletion, insertion and mu_fidelity
(tests/test_metrics_xplique.py).

xplique 2.0.2 wants ``tensorflow[and-cuda]>=2.18,<=2.20`` on Linux; without CUDA it runs on the
plain wheel, installed by hand:

    python3 -m venv ~/venv-xplique
    ~/venv-xplique/bin/pip install "tensorflow==2.20.*" "tf_keras==2.20.*" \\
        "tensorflow-probability[tf]<=0.25.0" deprecated einops matplotlib "numpy>=2" \\
        opencv-python-headless "scikit-image<=0.25.2" "scikit-learn<=1.7.2" "scipy<=1.15.3"
    ~/venv-xplique/bin/pip install --no-deps xplique==2.0.2
    ~/venv-xplique/bin/python tests/references/gen_xplique.py     # writes xplique_metrics.npz

The model is a small CNN (12x12x3 -> conv 4 relu -> average pool 2 -> dense 3) built from
plain weights drawn here and stored in the npz (``w/<layer>/<kernel|bias>``), so the test
rebuilds it with its own Keras. Inputs and attributions are drawn here (seed 2024); every
attribution value is distinct, so no ranking depends on how ties are broken.

Deletion and insertion return xplique's one number (the AUC of the mean curve); each sample is
also evaluated on its own (``detailed_evaluate``) to store per-sample curves. µ-fidelity draws
its subsets with TensorFlow: the masks xplique used are recorded (``.../masks``, per sample,
``(nb_samples, H, W)``, True where the input is kept) so the test can feed innv the same subsets;
``.../repeats`` holds the per-sample scores of further runs (another global TensorFlow seed for
each sample and run: under one seed every new ``MuFidelity`` draws the same masks, the same for every sample)
for a comparison in distribution.
"""

import json
import os

import keras
import numpy as np
import tensorflow as tf
import xplique
from xplique.metrics import Deletion, Insertion, MuFidelity

HERE = os.path.dirname(os.path.abspath(__file__))
SHAPE = (12, 12, 3)
CLASSES = 3


def build_model(w):
    """The CNN, weights from the dict ``w`` (``w/<layer>/<kernel|bias>``)."""
    inp = keras.Input(SHAPE)
    h = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(inp)
    h = keras.layers.AveragePooling2D(2, name="pool")(h)
    out = keras.layers.Dense(CLASSES, name="dense")(keras.layers.Flatten(name="flatten")(h))
    model = keras.Model(inp, out)
    for name in ("conv", "dense"):
        model.get_layer(name).set_weights([w[f"w/{name}/kernel"], w[f"w/{name}/bias"]])
    return model


def sample_mean(x):
    """A baseline function: each sample's mean, for every value."""
    return np.broadcast_to(np.mean(x, axis=(1, 2, 3), keepdims=True), x.shape).astype(np.float32)


CAUSAL = {  # case: (parameters, attributions key)
    "default": ({}, "a"),
    "map": ({}, "a_map"),
    "all_half": ({"steps": -1, "max_percentage_perturbed": 0.5, "baseline_mode": 0.5}, "a"),
    "softmax": ({"steps": 7, "activation": "softmax"}, "a"),
    "sample_mean": ({"baseline_mode": sample_mean}, "a_map"),
}
MU = {
    "default": ({}, "a"),
    "grid4_map": ({"grid_size": 4, "nb_samples": 50}, "a_map"),
    "pixels_half": ({"grid_size": None, "nb_samples": 50, "baseline_mode": 0.5, "subset_percent": 0.3}, "a"),
    "softmax": ({"nb_samples": 60, "activation": "softmax"}, "a"),
}
REPEATS = 48


def recorded(metric, masks):
    """Wrap ``metric._perturb_samples`` to keep the subset masks it draws."""
    perturb = metric._perturb_samples

    def wrapped(inputs, nb_perturbations):
        out, subset = perturb(inputs, nb_perturbations)
        masks.append(np.asarray(subset)[..., 0] > 0.5)  # (n, nb, H, W): True = kept
        return out, subset

    metric._perturb_samples = wrapped
    return metric


def main():
    tf.random.set_seed(2024)
    rng = np.random.default_rng(2024)
    w = {"w/conv/kernel": rng.normal(0, 0.5, (3, 3, 3, 4)).astype("float32"),
         "w/conv/bias": rng.normal(0, 0.1, 4).astype("float32"),
         "w/dense/kernel": rng.normal(0, 0.3, (144, CLASSES)).astype("float32"),
         "w/dense/bias": rng.normal(0, 0.1, CLASSES).astype("float32")}
    model = build_model(w)
    x = rng.uniform(0, 1, (6, *SHAPE)).astype("float32")
    logits = np.asarray(model(x))
    y = logits.argmax(1)
    onehot = np.eye(CLASSES, dtype="float32")[y]
    a = rng.normal(size=x.shape).astype("float32")
    a_map = rng.normal(size=x.shape[:-1]).astype("float32")
    attributions = {"a": a, "a_map": a_map}
    out = {**w, "x": x, "y": y, "logits": logits, **attributions}

    for cls, kind in ((Deletion, "deletion"), (Insertion, "insertion")):
        for case, (params, key) in CAUSAL.items():
            exp = attributions[key]
            out[f"{kind}/{case}/score"] = np.float64(cls(model, x, onehot, **params).evaluate(exp))
            curves = [list(cls(model, x[i:i + 1], onehot[i:i + 1], **params).detailed_evaluate(
                exp[i:i + 1]).values()) for i in range(len(x))]
            out[f"{kind}/{case}/curves"] = np.asarray(curves, dtype=np.float64)

    for case, (params, key) in MU.items():
        exp = attributions[key]
        scores, masks = [], []
        for i in range(len(x)):
            kept = []
            metric = recorded(MuFidelity(model, x[i:i + 1], onehot[i:i + 1], **params), kept)
            scores.append(metric.evaluate(exp[i:i + 1]))
            masks.append(np.concatenate(kept, axis=1)[0])
        out[f"mu_fidelity/{case}/scores"] = np.asarray(scores, dtype=np.float64)
        out[f"mu_fidelity/{case}/masks"] = np.stack(masks)
        repeats = []
        for r in range(REPEATS):
            row = []
            for i in range(len(x)):
                # a new MuFidelity replays the masks of the last global seed: another for each run
                tf.random.set_seed(100 + r * len(x) + i)
                row.append(MuFidelity(model, x[i:i + 1], onehot[i:i + 1], **params).evaluate(exp[i:i + 1]))
            repeats.append(row)
        out[f"mu_fidelity/{case}/repeats"] = np.asarray(repeats, dtype=np.float64)
        tf.random.set_seed(2024)
        out[f"mu_fidelity/{case}/batch"] = np.float64(MuFidelity(model, x, onehot, **params).evaluate(exp))

    out["meta"] = np.array(json.dumps({
        "xplique": xplique.__version__, "tensorflow": tf.__version__, "keras": keras.__version__,
        "numpy": np.__version__, "causal": {k: [{p: (v if not callable(v) else v.__name__)
                                                for p, v in c[0].items()}, c[1]] for k, c in CAUSAL.items()},
        "mu_fidelity": {k: list(c) for k, c in MU.items()}, "repeats": REPEATS}))
    path = os.path.join(HERE, "xplique_metrics.npz")
    np.savez_compressed(path, **out)
    print("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()

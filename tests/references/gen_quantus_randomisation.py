"""Quantus 0.6 references for innv's MPRT, smooth MPRT and efficient MPRT
(tests/test_metrics_randomisation.py).

Run in the torch venv (see gen_quantus.py):

    ~/venv-torch/bin/python tests/references/gen_quantus_randomisation.py
    # writes quantus_randomisation.npz

Quantus randomises a torch model by ``reset_parameters()`` of each layer after
``torch.manual_seed(seed + 1)`` (its Keras models: a permutation of the weights), so innv's own
randomisation cannot give the same weights. This script therefore records the weights of every
step of Quantus' torch layer generator (the same seeded calls Quantus makes inside the metric),
in Keras' layout; the test gives them to innv as explicit randomised models
(``randomise_func``) and compares the metrics on the same randomised weights.

Smooth MPRT adds Gaussian noise drawn from numpy's global generator: ``np.random.seed(42)``
before each call, and the MLP (inputs without a channel axis, so Quantus' channels-first draws
and innv's channels-last ones are the same numbers). Quantus 0.6's SmoothMPRT explains with
``quantus.explain`` whatever ``explain_func`` it is given; it is pointed at the same gradient.
"""

import json
import os
import sys

import numpy as np
import quantus
import torch
from quantus.helpers.model.pytorch_model import PyTorchModel

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from gen_quantus import data, first, gradient, gradient_channels_last, torch_cnn, torch_mlp  # noqa: E402

SEED = 42
QUIET = {"disable_warnings": True}


def keras_weights(model):
    """The model's weights as Keras' ``get_weights()`` lists them (kernels channels last)."""
    out = []
    for module in model.modules():
        if isinstance(module, torch.nn.Conv2d):
            out += [module.weight.detach().numpy().transpose(2, 3, 1, 0), module.bias.detach().numpy()]
        elif isinstance(module, torch.nn.Linear):
            out += [module.weight.detach().numpy().T, module.bias.detach().numpy()]
    return [np.array(w, dtype=np.float32, copy=True) for w in out]  # not views: reset_parameters works in place


def record_randomisation(out, key, model, order):
    """Quantus' randomised models for ``order``: ``{key}/weights/{order}/{step}/{i}`` and the
    layer names ``{key}/layers/{order}`` (JSON)."""
    names = []
    generator = PyTorchModel(model, channel_first=True).get_random_layer_generator(order=order, seed=SEED)
    for step, (name, randomised) in enumerate(generator):
        names.append(name)
        for i, w in enumerate(keras_weights(randomised)):
            out[f"{key}/weights/{order}/{step}/{i}"] = w
    out[f"{key}/layers/{order}"] = np.array(json.dumps(names))


def smooth_gradient(model, inputs, targets, **kwargs):
    """``quantus.explain`` for SmoothMPRT: the gradient, of float32 inputs (Quantus adds float64 noise)."""
    return gradient(model, np.asarray(inputs, dtype=np.float32), targets)


def main():
    rng = np.random.default_rng(4021)
    x, _, _, _ = data(rng)
    cnn = torch_cnn()
    xq = first(x)
    with torch.no_grad():
        y = cnn(torch.from_numpy(xq)).numpy().argmax(axis=1)
    out = {"x": x, "y": y}
    a_cnn = gradient_channels_last(cnn, xq, y)

    def call(metric, model, x_batch, y_batch, a_batch, explain_func, **kwargs):
        return metric(model=model, x_batch=x_batch, y_batch=y_batch, a_batch=a_batch, explain_func=explain_func,
                      device="cpu", batch_size=64, **kwargs)

    # MPRT: per-layer Spearman correlations (the layers' keys, in order), and the average
    for order in ("top_down", "bottom_up", "independent"):
        record_randomisation(out, "cnn", cnn, order)
        metric = quantus.MPRT(layer_order=order, seed=SEED, **QUIET)
        scores = call(metric, cnn, xq, y, a_cnn, gradient_channels_last, channel_first=True)
        out[f"mprt/{order}"] = np.array([scores[k] for k in scores if k != "original"], dtype=np.float64).T
        out[f"mprt/{order}/original"] = np.asarray(scores["original"], dtype=np.float64)
    metric = quantus.MPRT(return_average_correlation=True, seed=SEED, **QUIET)
    out["mprt/top_down_average"] = np.asarray(call(metric, cnn, xq, y, a_cnn, gradient_channels_last,
                                                   channel_first=True), dtype=np.float64)

    # Efficient MPRT: the relative rise of the discrete entropy (default: bottom-up, last layer only)
    metric = quantus.EfficientMPRT(seed=SEED, **QUIET)
    out["efficient_mprt/default"] = np.asarray(call(metric, cnn, xq, y, a_cnn, gradient_channels_last,
                                                    channel_first=True), dtype=np.float64)
    out["efficient_mprt/default_complexity"] = np.array(
        list(metric.explanation_scores_by_layer.values()), dtype=np.float64).T
    metric = quantus.EfficientMPRT(seed=SEED, skip_layers=False, compute_extra_scores=True, abs=True,
                                   complexity_func_kwargs={"n_bins": 20}, **QUIET)
    out["efficient_mprt/every_layer"] = np.asarray(call(metric, cnn, xq, y, a_cnn, gradient_channels_last,
                                                        channel_first=True), dtype=np.float64)
    out["efficient_mprt/every_layer_complexity"] = np.array(
        list(metric.explanation_scores_by_layer.values()), dtype=np.float64).T
    for key, value in metric.scores_extra.items():
        out[f"efficient_mprt/every_layer_extra/{key}"] = np.asarray(value, dtype=np.float64)

    # Smooth MPRT on the MLP: the same seeded noise (numpy's global generator)
    mlp = torch_mlp()
    x_mlp = rng.normal(0, 1, size=(8, 6)).astype(np.float32)
    with torch.no_grad():
        y_mlp = mlp(torch.from_numpy(x_mlp)).numpy().argmax(1)
    a_mlp = gradient(mlp, x_mlp, y_mlp)
    out.update({"x_mlp": x_mlp, "y_mlp": y_mlp, "a_mlp": a_mlp})
    quantus.explain = smooth_gradient  # SmoothMPRT calls quantus.explain, not explain_func
    record_randomisation(out, "mlp", mlp, "bottom_up")
    cases = {
        "given": ({"nr_samples": 5}, a_mlp),
        "computed": ({"nr_samples": 5}, None),
        "layers": ({"nr_samples": 4, "noise_magnitude": 0.3}, a_mlp),
        "average": ({"nr_samples": 4, "noise_magnitude": 0.3, "return_average_correlation": True}, a_mlp),
    }  # "average" draws the noise of "layers": Quantus' average counts the "original" comparison
    for name, (params, a_batch) in cases.items():
        np.random.seed(SEED)
        metric = quantus.SmoothMPRT(seed=SEED, **params, **QUIET)
        scores = call(metric, mlp, x_mlp, y_mlp, a_batch, smooth_gradient)
        if isinstance(scores, dict):
            out[f"smooth_mprt/{name}/original"] = np.asarray(scores["original"], dtype=np.float64)
            scores = np.array([scores[k] for k in scores if k != "original"], dtype=np.float64).T
        out[f"smooth_mprt/{name}"] = np.asarray(scores, dtype=np.float64)

    out["meta"] = np.array(json.dumps({"quantus": quantus.__version__, "torch": torch.__version__,
                                       "numpy": np.__version__, "seed": SEED}))
    np.savez_compressed(os.path.join(HERE, "quantus_randomisation.npz"), **out)
    print({k: np.round(v, 4).tolist() for k, v in out.items()
           if k.startswith(("mprt", "smooth", "efficient_mprt/default"))})


if __name__ == "__main__":
    main()

"""Quantus 0.6 references for continuity, consistency, relative representation stability, input
invariance, focus and its mosaics (tests/test_metrics_robustness.py).

Run in the torch venv (as gen_quantus.py):

    ~/venv-torch/bin/python tests/references/gen_quantus_robustness.py   # writes quantus_robustness.npz

The models are gen_quantus.py's torch twins of the Keras ``cnn`` (a valid 3x3 convolution first,
its ReLU a module of its own) and ``mlp``; inputs are drawn here (seed 2417) channels last and
transposed for Quantus. Random draws: relative representation stability after
``np.random.seed(29)``, mosaics with ``seed=7``.
"""

import json
import os

import numpy as np
import quantus
import torch
from gen_quantus import HERE, first, gradient, torch_cnn, torch_mlp
from quantus.functions.discretise_func import sign
from quantus.functions.mosaic_func import mosaic_creation

np.NaN = np.nan  # Quantus 0.6's Continuity writes np.NaN, removed in NumPy 2


def input_x_gradient(model, inputs, targets, **kwargs):
    return gradient(model, inputs, targets) * np.asarray(inputs)


def shift_all(arr, input_shift, **kwargs):
    """Quantus' shift of every value: its default perturb_batch passes ``indices[i][1:]`` and
    leaves each input's first value unshifted."""
    return arr + input_shift


def predict(model, x):
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy().argmax(axis=1)


def main():
    rng = np.random.default_rng(2417)
    quiet = {"disable_warnings": True}
    cnn, mlp = torch_cnn(), torch_mlp()
    out = {}

    # Continuity and input invariance: the CNN explained by its gradient.
    x = rng.normal(0, 1, size=(6, 8, 8, 2)).astype(np.float32)
    xq = first(x)
    y = predict(cnn, xq)
    out.update({"x": x, "y": y})
    for key, params in (("steps5", {"nr_steps": 5}),
                        ("steps5_nan", {"nr_steps": 5, "return_nan_when_prediction_changes": True}),
                        ("steps4", {"nr_steps": 4})):
        metric = quantus.Continuity(**params, **quiet)
        out[f"continuity/{key}"] = np.asarray(metric(
            model=cnn, x_batch=xq, y_batch=y, a_batch=gradient(cnn, xq, y), explain_func=gradient,
            channel_first=True, device="cpu"), dtype=np.float64)
    for name, func in (("gradient", gradient), ("input_x_gradient", input_x_gradient)):
        for shift in (-1, 0.5):
            for key, params in (("", {}), ("/all", {"perturb_func": shift_all})):
                metric = quantus.InputInvariance(input_shift=shift, **params, **quiet)
                out[f"input_invariance/{name}/{shift}{key}"] = np.asarray(metric(
                    model=cnn, x_batch=xq, y_batch=y, a_batch=func(cnn, xq, y), explain_func=func,
                    channel_first=True, device="cpu"), dtype=np.float64)

    # Consistency: 12 inputs, maps without channels (the same flattened order in both layouts)
    # whose first five values are zero in a few patterns, so the discretised maps form groups.
    xc = rng.normal(0, 1, size=(12, 8, 8, 2)).astype(np.float32)
    yc = predict(cnn, first(xc))
    a_cons = (rng.random((12, 8, 8)) + 0.1).astype(np.float32)
    patterns = [(), (), (), (), (), (0,), (0,), (0,), (0,), (2, 3), (2, 3), (1, 4)]
    for i, zeros in enumerate(patterns):
        a_cons[i].reshape(-1)[list(zeros)] = 0.0
    out.update({"x_cons": xc, "y_cons": yc, "a_cons": a_cons})
    for key, params in (("top_n_sign", {}), ("sign", {"discretise_func": sign})):
        metric = quantus.Consistency(**params, **quiet)
        out[f"consistency/{key}"] = np.asarray(metric(
            model=cnn, x_batch=first(xc), y_batch=yc, a_batch=a_cons[:, None], channel_first=True,
            device="cpu"), dtype=np.float64)

    # Relative representation stability: the MLP (torch modules 0..4: Linear, ReLU, Linear, ReLU,
    # Linear; Keras: input, dense_1 and dense_2 with their ReLU, dense_3).
    x_mlp = rng.normal(0, 1, size=(8, 6)).astype(np.float32)
    y_mlp = predict(mlp, x_mlp)
    a_mlp = gradient(mlp, x_mlp, y_mlp)
    out.update({"x_mlp": x_mlp, "y_mlp": y_mlp, "a_mlp": a_mlp})
    for key, params in (("relu1", {"layer_names": ["1"]}),
                        ("relu1_relu2", {"layer_names": ["1", "3"]}),
                        # Quantus' torch layer_indices=[-1] counts the model itself among the layers
                        # and selects nothing; the last module by name is Keras' layer_indices=[-1].
                        ("last", {"layer_names": ["4"], "return_nan_when_prediction_changes": False})):
        np.random.seed(29)
        metric = quantus.RelativeRepresentationStability(nr_samples=10, **params, **quiet)
        out[f"relative_representation_stability/{key}"] = np.asarray(metric(
            model=mlp, x_batch=x_mlp, y_batch=y_mlp, a_batch=a_mlp, explain_func=gradient, device="cpu"),
            dtype=np.float64)

    # Focus: mosaics of 8x8 images of three classes, attributions drawn for them.
    images = rng.normal(0, 1, size=(9, 8, 8, 2)).astype(np.float32)
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1, 1])
    mosaics, indices, mosaic_labels, p_batch, targets = mosaic_creation(first(images), labels, 2, seed=7)
    out.update({"images": images, "labels": labels, "mosaics": np.moveaxis(mosaics, 1, -1),
                "mosaic/indices": np.asarray(indices), "mosaic/labels": np.asarray(mosaic_labels),
                "mosaic/p": np.asarray(p_batch), "mosaic/targets": np.asarray(targets)})
    a_mosaic = rng.normal(0, 1, size=(len(mosaics), 16, 16, 2)).astype(np.float32)
    map_mosaic = rng.normal(0, 1, size=(len(mosaics), 16, 16)).astype(np.float32)
    out.update({"a_mosaic": a_mosaic, "map_mosaic": map_mosaic})
    for key, attributions in (("a", first(a_mosaic)), ("map", map_mosaic[:, None])):
        metric = quantus.Focus(**quiet)
        out[f"focus/{key}"] = np.asarray(metric(
            model=cnn, x_batch=mosaics, y_batch=np.asarray(targets), a_batch=attributions,
            custom_batch=p_batch, channel_first=True, device="cpu"), dtype=np.float64)

    out["meta"] = np.array(json.dumps({"quantus": quantus.__version__, "torch": torch.__version__,
                                       "numpy": np.__version__, "seed": 2417}))
    np.savez_compressed(os.path.join(HERE, "quantus_robustness.npz"), **out)
    print({k: np.round(v, 4).tolist() for k, v in out.items()
           if "/" in k and v.ndim == 1 and not k.startswith("mosaic")})


if __name__ == "__main__":
    main()

"""Quantus 0.6 references for sensitivity-n, IROF, infidelity, ROAD and sufficiency
(tests/test_metrics_faithfulness.py).

Run in the torch venv (as gen_quantus.py, with scikit-image):

    ~/venv-torch/bin/python tests/references/gen_quantus_faithfulness.py   # quantus_faithfulness.npz

Two models: the two-channel ``cnn`` of torch_cnn.npz (gen_quantus.py's ``torch_cnn``; inputs and
attributions from its ``data``) for infidelity and sufficiency, and a one-channel CNN on 16 x 16
images, its weights drawn here and stored in the npz (``w1/...``), for IROF and ROAD: Quantus
0.6's IROF and ROAD fail on images with more than one channel. Everything is float32 as
Quantus runs it; the arrays are stored channels last (innv's layout).
"""

import json
import os
import sys

import numpy as np
import quantus
import skimage
import torch
from quantus.functions.perturb_func import noisy_linear_imputation

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_quantus import ChannelsLastFlatten, data, first, torch_cnn  # noqa: E402

if not hasattr(np, "trapz"):  # Quantus 0.6's IROF calls np.trapz, removed in numpy 2.4
    np.trapz = np.trapezoid

HERE = os.path.dirname(os.path.abspath(__file__))
QUIET = {"disable_warnings": True}


def one_channel_cnn(rng):
    """Conv(1 -> 3, 3x3) - ReLU - flatten (channels last) - Dense(4) on 16 x 16 images."""
    kernel = rng.normal(0, 0.5, size=(3, 3, 1, 3)).astype(np.float32)  # Keras layout (kh, kw, in, out)
    bias = rng.normal(0, 0.1, size=3).astype(np.float32)
    dense = rng.normal(0, 0.1, size=(3 * 14 * 14, 4)).astype(np.float32)
    dense_bias = rng.normal(0, 0.1, size=4).astype(np.float32)
    conv = torch.nn.Conv2d(1, 3, 3)
    conv.weight.data = torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy())
    conv.bias.data = torch.from_numpy(bias)
    linear = torch.nn.Linear(3 * 14 * 14, 4)
    linear.weight.data = torch.from_numpy(dense.T.copy())
    linear.bias.data = torch.from_numpy(dense_bias)
    weights = {"w1/conv/kernel": kernel, "w1/conv/bias": bias, "w1/dense/kernel": dense, "w1/dense/bias": dense_bias}
    return torch.nn.Sequential(conv, torch.nn.ReLU(), ChannelsLastFlatten(), linear).eval(), weights


def cityblock(u, v, V=None):
    """The L1 distance of two vectors (Quantus passes V=None to the distance function)."""
    return float(np.abs(u - v).sum())


def main():
    rng = np.random.default_rng(4021)
    x, a, a_map, _ = data(rng)  # gen_quantus.py's inputs and attributions (the same draws)
    cnn = torch_cnn()
    with torch.no_grad():
        y = cnn(torch.from_numpy(first(x))).numpy().argmax(axis=1)
    out = {"x": x, "a": a, "a_map": a_map, "y": y}
    xq, aq, mapq = first(x), first(a), a_map[:, None]

    def call(metric, model, xs, ys, attributions, **kwargs):
        return metric(model=model, x_batch=xs, y_batch=ys, a_batch=attributions, channel_first=True,
                      device="cpu", **kwargs)

    # Sufficiency. BatchSufficiency is the same code but passes one sample's shape to the model
    # wrapper, which then fails to reshape a batch ("cannot reshape array of size 768 into shape
    # (2,8,8)"), so it is not called here.
    patterns = rng.normal(0, 1, size=(3, 8, 8, 2)).astype(np.float32)  # explanations in three clusters
    a_clusters = (patterns[[0, 0, 1, 1, 2, 0]] + rng.normal(0, 0.3, size=a.shape)).astype(np.float32)
    out["a_clusters"] = a_clusters
    for key, attributions in (("a", aq), ("a_map", mapq), ("a_clusters", first(a_clusters))):
        out[f"sufficiency/{key}"] = np.asarray(call(quantus.Sufficiency(**QUIET), cnn, xq, y, attributions))
    out["sufficiency/t0.8"] = np.asarray(call(quantus.Sufficiency(threshold=0.8, **QUIET), cnn, xq, y,
                                              first(a_clusters)))
    # A distance given by name other than "seuclidean" fails in Quantus 0.6 (it passes V=None to
    # every cdist metric); a function works.
    out["sufficiency/cityblock"] = np.asarray(call(quantus.Sufficiency(distance_func=cityblock, threshold=0.5,
                                                                       **QUIET), cnn, xq, y, first(a_clusters)))

    # Infidelity: deterministic baselines, and the uniform one draw for draw after np.random.seed.
    for key, params in (("black", {}), ("mean", {"perturb_baseline": "mean"}),
                        ("sizes", {"perturb_patch_sizes": [2, 4]}), ("map", {})):
        attributions = mapq if key == "map" else aq
        out[f"infidelity/{key}"] = np.asarray(call(quantus.Infidelity(n_perturb_samples=2, **params, **QUIET),
                                                   cnn, xq, y, attributions))
    np.random.seed(31)
    out["infidelity/uniform"] = np.asarray(call(quantus.Infidelity(perturb_baseline="uniform", n_perturb_samples=3,
                                                                   perturb_patch_sizes=[2, 4], **QUIET),
                                                cnn, xq, y, aq))

    # One-channel images for IROF and ROAD.
    model1, weights = one_channel_cnn(rng)
    out.update(weights)
    n = 6
    x1 = np.stack([np.clip(skimage.filters.gaussian(rng.random((16, 16)), 1.0) * 3 - 1
                           + rng.normal(0, 0.05, (16, 16)), -2, 2) for _ in range(n)])[..., None].astype(np.float32)
    a1 = rng.normal(0, 1, size=(n, 16, 16, 1)).astype(np.float32)  # no two superpixels with the same mean
    with torch.no_grad():
        logits1 = model1(torch.from_numpy(first(x1))).numpy()
    y1 = logits1.argmax(axis=1)
    out.update({"x1": x1, "a1": a1, "y1": y1, "logits1": logits1})
    x1q, a1q = first(x1), first(a1)

    # IROF: each sample on its own (Quantus takes the "mean" baseline over the whole batch and pads
    # shorter curves with zeros); the default "mean" and a number.
    out["irof/segments"] = np.stack([quantus.helpers.utils.get_superpixel_segments(
        np.moveaxis(image, 0, -1).astype("double"), "slic") for image in x1q])
    for key, params in (("mean", {}), ("zero", {"perturb_baseline": 0.0}), ("black", {"perturb_baseline": "black"})):
        out[f"irof/{key}"] = np.concatenate([
            np.asarray(call(quantus.IROF(return_aggregate=False, **params, **QUIET), model1, x1q[i:i + 1],
                            y1[i:i + 1], a1q[i:i + 1])) for i in range(n)])
    out["irof/batch_zero_aggregate"] = np.asarray(call(quantus.IROF(perturb_baseline=0.0, **QUIET), model1,
                                                       x1q, y1, a1q))

    # ROAD: the same noise after np.random.seed; Quantus' per-sample results captured from
    # evaluate_batch (it returns only their mean per percentage).
    for key, params, seed in (("default", {}, 5), ("noisy", {"noise": 0.5}, 7), ("few", {"percentages": [10, 50, 90]}, 9)):
        metric = quantus.ROAD(**params, **QUIET)
        captured = []
        evaluate_batch = metric.evaluate_batch
        metric.evaluate_batch = lambda **kw: captured.append(evaluate_batch(**kw)[0]) or [captured[-1]]
        np.random.seed(seed)
        result = call(metric, model1, x1q, y1, a1q)
        out[f"road/{key}"] = np.asarray(list(result.values()), dtype=np.float64)
        out[f"road/{key}/per_sample"] = np.concatenate(captured).astype(np.float64)

    # Quantus' noisy linear imputation itself, on a three-channel image (the function works on
    # (C, H, W); Quantus' ROAD cannot pass it the pixels of such images).
    image = rng.normal(0, 1, size=(3, 7, 9)).astype(np.float32)
    pixels = rng.choice(63, size=20, replace=False)
    out["imputation/image"] = np.moveaxis(image, 0, -1)
    out["imputation/pixels"] = pixels
    out["imputation/noise0"] = np.moveaxis(noisy_linear_imputation(image, pixels, noise=0.0), 0, -1)
    np.random.seed(13)
    out["imputation/noise0.1"] = np.moveaxis(noisy_linear_imputation(image, pixels, noise=0.1), 0, -1)

    out["meta"] = np.array(json.dumps({"quantus": quantus.__version__, "torch": torch.__version__,
                                       "numpy": np.__version__, "scikit-image": skimage.__version__, "seed": 4021}))
    np.savez_compressed(os.path.join(HERE, "quantus_faithfulness.npz"), **out)
    for k, v in out.items():
        if k.split("/")[0] in ("sufficiency", "infidelity", "irof", "road", "imputation"):
            print(k, np.round(v, 4).ravel()[:12].tolist())


if __name__ == "__main__":
    main()

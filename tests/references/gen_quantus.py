"""Quantus 0.6 reference scores for innv's metrics (tests/test_metrics_quantus.py).

Run in the torch venv (README_torch.md; plus ``pip install --no-deps quantus==0.6.0`` and
``pip install cachetools pandas opencv-python-headless scikit-image scikit-learn tqdm``):

    ~/venv-torch/bin/python tests/references/gen_quantus.py      # writes quantus_metrics.npz

The model is the ``cnn`` of torch_cnn.npz (same weights as its Keras twin,
``torch_models.build_torch_reference("cnn")``), in float32. Inputs, attributions and masks are
drawn here (seed 4021) in Keras' channels-last layout and transposed for Quantus (channels
first); every attribution value is distinct, so no ranking depends on how ties are broken.
"""

import json
import os

import numpy as np
import quantus
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


class ChannelsLastFlatten(torch.nn.Module):
    def forward(self, x):
        return x.permute(0, 2, 3, 1).flatten(1)


def torch_cnn():
    with np.load(os.path.join(HERE, "torch_cnn.npz"), allow_pickle=False) as z:
        w = {k: z[k] for k in z.files if k.startswith("w/")}
    conv = torch.nn.Conv2d(2, 3, 3)
    conv.weight.data = torch.from_numpy(w["w/conv2d_1/kernel"].transpose(3, 2, 0, 1).copy())
    conv.bias.data = torch.from_numpy(w["w/conv2d_1/bias"])
    dense = torch.nn.Linear(108, 4)
    dense.weight.data = torch.from_numpy(w["w/dense_1/kernel"].T.copy())
    dense.bias.data = torch.from_numpy(w["w/dense_1/bias"])
    return torch.nn.Sequential(conv, torch.nn.ReLU(), ChannelsLastFlatten(), dense).eval()


def torch_mlp():
    with np.load(os.path.join(HERE, "torch_mlp.npz"), allow_pickle=False) as z:
        w = {k: z[k] for k in z.files if k.startswith("w/")}
    layers = []
    for i in (1, 2, 3):
        dense = torch.nn.Linear(*w[f"w/dense_{i}/kernel"].shape)
        dense.weight.data = torch.from_numpy(w[f"w/dense_{i}/kernel"].T.copy())
        dense.bias.data = torch.from_numpy(w[f"w/dense_{i}/bias"])
        layers += [dense, torch.nn.ReLU()] if i < 3 else [dense]
    return torch.nn.Sequential(*layers).eval()


def gradient(model, inputs, targets, **kwargs):
    """The gradient of the target logit (innv's ``gradient`` analyzer), numpy in and out."""
    x = torch.tensor(np.asarray(inputs), requires_grad=True)
    model(x)[torch.arange(len(x)), torch.as_tensor(np.asarray(targets))].sum().backward()
    return x.grad.numpy()


def gradient_channels_last(model, inputs, targets, **kwargs):
    """The CNN's gradient in Keras' value order, reshaped (not transposed) to Quantus' layout, so
    that Quantus' flattened maps list the values in innv's order."""
    g = gradient(model, inputs, targets)
    return np.ascontiguousarray(np.moveaxis(g, 1, -1)).reshape(g.shape)


def data(rng):
    n = 6
    x = rng.normal(0, 1, size=(n, 8, 8, 2)).astype(np.float32)
    a = rng.permutation(n * 8 * 8 * 2).reshape(n, 8, 8, 2).astype(np.float32) / 100 - 3.0
    a_map = (rng.permutation(n * 64).reshape(n, 8, 8).astype(np.float32) / 50 - 2.0)
    s = np.zeros((n, 8, 8), np.float32)
    for i in range(n - 1):  # the last mask stays empty: NaN where the score is undefined
        r, c = rng.integers(0, 5, size=2)
        h, w = rng.integers(2, 5, size=2)
        s[i, r:r + h, c:c + w] = 1
    return x, a, a_map, s


def first(t):
    return np.ascontiguousarray(np.moveaxis(t, -1, 1))


def main():
    rng = np.random.default_rng(4021)
    x, a, a_map, s = data(rng)
    model = torch_cnn()
    with torch.no_grad():
        logits = model(torch.from_numpy(first(x))).numpy()
    y = logits.argmax(axis=1)
    out = {"x": x, "a": a, "a_map": a_map, "s": s, "y": y, "logits": logits}
    xq, aq, mapq, sq = first(x), first(a), a_map[:, None], s[:, None]
    quiet = {"disable_warnings": True}

    def call(metric, attributions, masks=None, with_model=False):
        return np.asarray(metric(model=model if with_model else None, x_batch=xq, y_batch=y,
                                 a_batch=attributions, s_batch=masks, channel_first=True,
                                 device="cpu"), dtype=np.float64)

    for key, attributions in (("a", aq), ("a_map", mapq)):
        out[f"sparseness/{key}"] = call(quantus.Sparseness(**quiet), attributions)
        out[f"complexity/{key}"] = call(quantus.Complexity(**quiet), attributions)
        out[f"effective_complexity/{key}"] = call(quantus.EffectiveComplexity(eps=0.3, **quiet), attributions)
    out["sparseness/raw"] = call(quantus.Sparseness(normalise=False, **quiet), aq)
    localisation = {
        "pointing_game": quantus.PointingGame(**quiet),
        "attribution_localisation": quantus.AttributionLocalisation(**quiet),
        "top_k_intersection": quantus.TopKIntersection(k=10, **quiet),
        "top_k_intersection_concept": quantus.TopKIntersection(k=10, concept_influence=True, **quiet),
        "relevance_rank_accuracy": quantus.RelevanceRankAccuracy(**quiet),
        "relevance_mass_accuracy": quantus.RelevanceMassAccuracy(**quiet),
        "auc": quantus.AUC(**quiet),
    }
    for name, metric in localisation.items():
        out[f"{name}/a_map"] = call(metric, mapq, sq)
    for baseline in ("black", "white", "mean", 0.5):
        metric = quantus.PixelFlipping(features_in_step=8, perturb_baseline=baseline, **quiet)
        out[f"pixel_flipping/{baseline}"] = call(metric, aq, with_model=True)
    metric = quantus.PixelFlipping(features_in_step=16, perturb_baseline="black", **quiet)
    out["pixel_flipping/black_map"] = call(metric, mapq, with_model=True)
    out["pixel_flipping/logits"] = np.asarray(metric(model=model, x_batch=xq, y_batch=y, a_batch=mapq,
                                                     channel_first=True, softmax=False, device="cpu"))
    for order, regions in (("morf", 100), ("lerf", 3)):
        metric = quantus.RegionPerturbation(patch_size=4, order=order, regions_evaluation=regions, **quiet)
        out[f"region_perturbation/{order}"] = call(metric, aq, with_model=True)
    for baseline in ("black", "mean"):
        metric = quantus.Selectivity(patch_size=2, perturb_baseline=baseline, **quiet)
        out[f"selectivity/{baseline}"] = call(metric, mapq, with_model=True)
    for baseline in ("black", "mean"):
        metric = quantus.FaithfulnessEstimate(features_in_step=8, perturb_baseline=baseline, **quiet)
        out[f"faithfulness_estimate/{baseline}"] = call(metric, aq, with_model=True)
    positive = a_map - a_map.min() + 0.01  # abs=True by default: no ties between +v and -v
    out["a_positive"] = positive
    metric = quantus.MonotonicityCorrelation(features_in_step=16, perturb_baseline="black", nr_samples=3, **quiet)
    out["monotonicity_correlation/black"] = call(metric, positive[:, None], with_model=True)
    np.random.seed(11)  # random subsets: compared in distribution (many runs), not draw by draw
    metric = quantus.FaithfulnessCorrelation(nr_runs=2000, subset_size=32, return_aggregate=False, **quiet)
    out["faithfulness_correlation/runs2000"] = call(metric, aq, with_model=True)
    mlp = torch_mlp()
    x_mlp = rng.normal(0, 1, size=(8, 6)).astype(np.float32)
    with torch.no_grad():
        y_mlp = mlp(torch.from_numpy(x_mlp)).numpy().argmax(1)
    a_mlp = gradient(mlp, x_mlp, y_mlp)
    out.update({"x_mlp": x_mlp, "y_mlp": y_mlp, "a_mlp": a_mlp})
    for name, cls in (("max_sensitivity", quantus.MaxSensitivity), ("avg_sensitivity", quantus.AvgSensitivity)):
        for changed in (False, True):
            np.random.seed(17)
            metric = cls(nr_samples=10, lower_bound=0.5, return_nan_when_prediction_changes=changed, **quiet)
            out[f"{name}/nan{int(changed)}"] = np.asarray(metric(
                model=mlp, x_batch=x_mlp, y_batch=y_mlp, a_batch=a_mlp, explain_func=gradient, device="cpu"))
    robust = {
        "local_lipschitz_estimate": lambda: quantus.LocalLipschitzEstimate(nr_samples=10, perturb_std=0.3, **quiet),
        "local_lipschitz_estimate_nonan": lambda: quantus.LocalLipschitzEstimate(
            nr_samples=10, perturb_std=0.3, return_nan_when_prediction_changes=False, **quiet),
        "relative_input_stability": lambda: quantus.RelativeInputStability(nr_samples=10, **quiet),
        "relative_output_stability": lambda: quantus.RelativeOutputStability(
            nr_samples=10, return_nan_when_prediction_changes=False, **quiet),
    }
    for name, make in robust.items():
        np.random.seed(23)
        out[f"{name}/mlp"] = np.asarray(make()(model=mlp, x_batch=x_mlp, y_batch=y_mlp, a_batch=a_mlp,
                                               explain_func=gradient, device="cpu"), dtype=np.float64)
    a_cnn = gradient(model, xq, y)
    out["a_gradient_cnn"] = np.moveaxis(a_cnn, 1, -1)
    metric = quantus.RandomLogit(num_classes=4, seed=42, **quiet)
    out["random_logit/ssim"] = np.asarray(metric(
        model=model, x_batch=xq, y_batch=y, a_batch=gradient_channels_last(model, xq, y),
        explain_func=gradient_channels_last, channel_first=True, device="cpu"))
    sparse = np.where(rng.random(a.shape) < 0.3, 0.0, a).astype(np.float32)
    out["a_sparse"] = sparse
    metric = quantus.NonSensitivity(eps=1e-3, **quiet)
    out["non_sensitivity/eps1e-3"] = call(metric, first(sparse), with_model=True)
    metric = quantus.Completeness(**quiet)
    out["completeness/default"] = call(metric, aq, with_model=True)
    out["meta"] = np.array(json.dumps({"quantus": quantus.__version__, "torch": torch.__version__,
                                       "numpy": np.__version__, "seed": 4021}))
    np.savez_compressed(os.path.join(HERE, "quantus_metrics.npz"), **out)
    print({k: np.round(v, 4).tolist() for k, v in out.items() if k.endswith("a_map") and v.ndim == 1})


if __name__ == "__main__":
    main()

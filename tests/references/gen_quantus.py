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
    out["meta"] = np.array(json.dumps({"quantus": quantus.__version__, "torch": torch.__version__,
                                       "numpy": np.__version__, "seed": 4021}))
    np.savez_compressed(os.path.join(HERE, "quantus_metrics.npz"), **out)
    print({k: np.round(v, 4).tolist() for k, v in out.items() if k.endswith("a_map") and v.ndim == 1})


if __name__ == "__main__":
    main()

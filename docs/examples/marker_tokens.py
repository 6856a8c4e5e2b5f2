"""A text classifier whose evidence is known: one marker token decides the class.

    python docs/examples/marker_tokens.py [out_dir]

Sequences of 6..20 filler tokens (ids 4..49, padded with 0 to length 20) get one marker token,
id 1, 2 or 3, at a random position; the marker is the class. A small model (Embedding with
``mask_zero``, Dense+ReLU per token, masked average, Dense) learns it in a few seconds. Each
method's *marker share*, the share of a sequence's positive relevance that lies on the marker,
is printed against the share a uniform map would give (1 / length). Writes
``marker_tokens.png`` and ``marker_tokens.html`` (three test sequences, per-token lrp.epsilon).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import keras
import numpy as np

from innv_core import create_analyzer
from innv_core.utils.visualizations import plot_token_heatmap, token_heatmap_html

LENGTH, VOCAB, MARKERS = 20, 50, (1, 2, 3)
METHODS = {
    "lrp.epsilon": {"epsilon": 1e-3},
    "input_t_gradient": {},
    "integrated_gradients": {"steps": 32},
    "deep_lift.wrapper": {},
    "gradient": {},
}


def make_sequences(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Token ids ``(n, LENGTH)``, labels ``(n,)`` and the marker's position in each sequence."""
    rng = np.random.default_rng(seed)
    ids = np.zeros((n, LENGTH), np.int32)
    labels = rng.integers(0, len(MARKERS), n)
    lengths = rng.integers(6, LENGTH + 1, n)
    positions = np.array([rng.integers(0, k) for k in lengths])
    for i, (k, p) in enumerate(zip(lengths, positions)):
        ids[i, :k] = rng.integers(4, VOCAB, k)
        ids[i, p] = MARKERS[labels[i]]
    return ids, labels, positions


def build_model() -> keras.Model:
    ids = keras.Input((LENGTH,), dtype="int32", name="token_ids")
    h = keras.layers.Embedding(VOCAB, 16, mask_zero=True)(ids)
    h = keras.layers.Dense(32, activation="relu")(h)
    h = keras.layers.GlobalAveragePooling1D()(h)
    return keras.Model(ids, keras.layers.Dense(len(MARKERS))(h))


def marker_share(analysis: np.ndarray, ids: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Per sequence: positive relevance on the marker over all positive relevance (NaN if none)."""
    positive = np.maximum(analysis, 0.0)
    total = positive.sum(1)
    on_marker = positive[np.arange(len(ids)), positions]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, on_marker / np.where(total > 0, total, 1.0), np.nan)


def main(out: Path, epochs: int = 8) -> dict[str, float]:
    """Train, explain, print each method's marker share, write the heatmaps; returns the shares."""
    keras.utils.set_random_seed(0)
    x, y, _ = make_sequences(4000, seed=0)
    x_test, y_test, positions = make_sequences(300, seed=1)
    model = build_model()
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    start = time.time()
    model.fit(x, y, batch_size=64, epochs=epochs, verbose=0)
    accuracy = np.mean(model.predict(x_test, verbose=0).argmax(1) == y_test)
    uniform = np.mean(1.0 / (x_test != 0).sum(1))
    print(f"trained {epochs} epochs in {time.time() - start:.0f} s; test accuracy {accuracy:.3f}")
    print(f"{'uniform map':22s} marker share {uniform:.3f}")
    shares, analyses = {}, {}
    for name, kwargs in METHODS.items():
        analyses[name] = a = create_analyzer(name, model, **kwargs).analyze(x_test)
        shares[name] = float(np.nanmean(marker_share(a, x_test, positions)))
        print(f"{name:22s} marker share {shares[name]:.3f}")
    out.mkdir(parents=True, exist_ok=True)
    pages = []
    for i in range(3):
        words = [f"<{t}>" if t in MARKERS else str(t) for t in x_test[i] if t != 0]
        r = analyses["lrp.epsilon"][i, : len(words)]
        pages.append(token_heatmap_html(words, r, title=f"class {y_test[i]}: marker <{MARKERS[y_test[i]]}>"))
        if i == 0:
            plot_token_heatmap(words, r, out / "marker_tokens.png",
                               title=f"lrp.epsilon, class {y_test[i]} (marker <{MARKERS[y_test[i]]}>)")
    (out / "marker_tokens.html").write_text("<html><body>\n" + "\n".join(pages) + "</body></html>\n")
    print(f"wrote {out / 'marker_tokens.png'} and {out / 'marker_tokens.html'}")
    return shares


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=Path(__file__).parent.parent / "images")
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()
    main(args.out, args.epochs)

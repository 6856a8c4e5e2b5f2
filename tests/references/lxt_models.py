"""Keras 3 / keras-hub twins of the two tiny transformers used for the LXT 2.1 references.

``lxt_models.npz`` (made by ``main()`` here, in /work/venv) holds seeded weights, inputs and the
Keras logits; ``gen_lxt.py`` (in ~/venv-torch) mirrors both models in PyTorch from those weights
and writes ``lxt_relevance.npz``. See README.md, section "LXT 2.1".

    python tests/references/lxt_models.py --out tests/references/lxt_models.npz

Everything is float64 (keras-hub layers accept ``dtype="float64"``), except ViTBackbone's input
layer, which is always float32 (its ``keras.layers.Input`` gets no dtype); the images are therefore
float32 values and the float64 computation starts at the patch embedding.

npz keys (all float64 except the token ids):
  ``text/w/<weight path>``, ``vit/w/<weight path>``  -- every ``model.weights`` entry, by ``w.path``
  ``text/weight_paths``, ``vit/weight_paths``        -- the paths in ``model.weights`` order
  ``text/x`` (4, 12) int32 token ids (0 = padding), ``text/lengths`` (4,)
  ``vit/x`` (4, 16, 16, 3), float32 values (the backbone's Input is float32), stored as float64
  ``text/logits``, ``vit/logits`` (4, 3) Keras outputs
  ``text/hidden/<layer name>`` (4, 12, 16): outputs of the embedding, add and both encoders (these
  include the padded positions, whose values follow Keras' masking exactly, see gen_lxt.py)

Use from a test::

    spec = importlib.util.spec_from_file_location("lxt_models", path_to_this_file)
    ...
    model = lxt_models.build_text_model(); lxt_models.load_weights(model, npz, "text")
"""

from __future__ import annotations

import argparse
import os

import numpy as np

import keras
import keras_hub

HERE = os.path.dirname(os.path.abspath(__file__))
DTYPE = "float64"

SEQ_LEN = 12
VOCAB = 50
EMBED_DIM = 16
TEXT_LENGTHS = (12, 9, 6, 12)
IMAGE_SHAPE = (16, 16, 3)
NUM_CLASSES = 3
# seeds chosen so that the argmax differs between samples (text 2,2,1,2; vit 0,2,1,2) and
# the top-2 logit margins are >= 0.14
SEED_TEXT = 20240614
SEED_VIT = 20240619
SEED_INPUTS = 7


def build_text_model(use_mask: bool = True) -> keras.Model:
    """token_ids (None, 12) -> Embedding(mask_zero) + PositionEmbedding -> 2 post-norm encoders
    -> masked GlobalAveragePooling1D -> Dense(3). The mask ``token_ids != 0`` is passed explicitly
    as ``padding_mask=`` to both encoders and ``mask=`` to the pooling (see below)."""
    ids = keras.Input((SEQ_LEN,), dtype="int32", name="token_ids")
    tok = keras.layers.Embedding(
        VOCAB, EMBED_DIM, mask_zero=True, dtype=DTYPE, name="token_embedding"
    )(ids)
    pos = keras_hub.layers.PositionEmbedding(
        sequence_length=SEQ_LEN, dtype=DTYPE, name="position_embedding"
    )(tok)
    x = keras.layers.Add(dtype=DTYPE, name="embed_add")([tok, pos])
    # Keras 3.15 drops the implicit mask here: PositionEmbedding does not support masking, and
    # Merge.compute_mask returns None as soon as one input has no mask. So the padding mask is
    # computed in the graph and passed explicitly (same semantics as an intact Keras mask would
    # give the encoders' padding_mask: padded *keys* are masked; padded queries are computed).
    padding_mask = keras.ops.not_equal(ids, 0) if use_mask else None
    for i in range(2):
        x = keras_hub.layers.TransformerEncoder(
            intermediate_dim=32,
            num_heads=2,
            activation="gelu",
            dropout=0.0,
            dtype=DTYPE,
            name=f"encoder_{i}",
        )(x, padding_mask=padding_mask)
    x = keras.layers.GlobalAveragePooling1D(dtype=DTYPE, name="pool")(x, mask=padding_mask)
    out = keras.layers.Dense(NUM_CLASSES, dtype=DTYPE, name="logits")(x)
    return keras.Model(ids, out, name="lxt_text")


def build_vit_classifier():
    """The keras-hub ViTImageClassifier (a functional Task with the backbone nested)."""
    backbone = keras_hub.models.ViTBackbone(
        image_shape=IMAGE_SHAPE,
        patch_size=4,
        num_layers=2,
        num_heads=2,
        hidden_dim=16,
        mlp_dim=32,
        dropout_rate=0.0,
        attention_dropout=0.0,
        dtype=DTYPE,
        name="vit_backbone",
    )
    return keras_hub.models.ViTImageClassifier(
        backbone=backbone,
        num_classes=NUM_CLASSES,
        preprocessor=None,
        pooling="token",
        activation=None,
        dtype=DTYPE,
        name="vit_classifier",
    )


def build_vit_model() -> keras.Model:
    """Plain functional ``keras.Model(images, logits)`` over the classifier's layers
    (backbone nested as one layer, then ``x[:, 0]`` (CLS token), Dropout(0), Dense "predictions")."""
    clf = build_vit_classifier()
    return keras.Model(clf.inputs[0], clf.outputs[0], name="lxt_vit")


# --------------------------------------------------------------------------- weights


def _fan_in(path, shape):
    name = path.split("/")[-2] if "/" in path else ""
    if len(shape) == 3 and name in ("query", "key", "value"):
        return shape[0]  # EinsumDense (d_model, heads, key_dim)
    return int(np.prod(shape[:-1]))


def randomize(model: keras.Model, seed: int) -> None:
    """Seeded weights that keep activations O(1); every bias is non-zero."""
    rng = np.random.default_rng(seed)
    for w in model.weights:
        shape = tuple(w.shape)
        leaf = w.path.split("/")[-1]
        if leaf == "kernel":
            v = rng.normal(0.0, 1.0 / np.sqrt(_fan_in(w.path, shape)), shape)
        elif leaf == "bias":
            v = rng.normal(0.0, 0.1, shape)
        elif leaf == "gamma":
            v = 1.0 + rng.normal(0.0, 0.1, shape)
        elif leaf == "beta":
            v = rng.normal(0.0, 0.1, shape)
        elif leaf in ("embeddings", "class_token"):
            scale = 0.5 if "position" in w.path else 1.0
            v = rng.normal(0.0, scale, shape)
        else:
            raise ValueError(f"unexpected weight {w.path} {shape}")
        w.assign(v.astype(w.dtype))


def weight_dict(model: keras.Model, prefix: str) -> dict:
    paths = [w.path for w in model.weights]
    assert len(set(paths)) == len(paths), "weight paths are not unique"
    d = {f"{prefix}/w/{w.path}": np.asarray(w.numpy()) for w in model.weights}
    d[f"{prefix}/weight_paths"] = np.array(paths)
    return d


def load_weights(model: keras.Model, npz, prefix: str) -> None:
    """Set ``model``'s weights from ``npz`` (a path or a loaded NpzFile) by weight path; the stored
    order must equal ``model.weights`` order."""
    if isinstance(npz, (str, os.PathLike)):
        npz = np.load(npz, allow_pickle=False)
    paths = [str(p) for p in npz[f"{prefix}/weight_paths"]]
    mine = [w.path for w in model.weights]
    if paths != mine:
        raise ValueError(f"weight paths differ:\nstored {paths}\nmodel  {mine}")
    for w in model.weights:
        w.assign(npz[f"{prefix}/w/{w.path}"])


def make_inputs():
    rng = np.random.default_rng(SEED_INPUTS)
    ids = rng.integers(1, VOCAB, size=(len(TEXT_LENGTHS), SEQ_LEN)).astype("int32")
    for i, n in enumerate(TEXT_LENGTHS):
        ids[i, n:] = 0
    # ViTBackbone's Input("images") has no dtype argument, so it is float32 even under a float64
    # policy: the pixels are rounded to float32 first (exactly representable, stored as float64).
    images = rng.normal(0.0, 1.0, size=(4,) + IMAGE_SHAPE).astype("float32").astype("float64")
    return ids, images


def text_hidden(model, ids) -> dict:
    names = ["token_embedding", "embed_add", "encoder_0", "encoder_1"]
    probe = keras.Model(model.input, [model.get_layer(n).output for n in names])
    return {f"text/hidden/{n}": np.asarray(o) for n, o in zip(names, probe(ids))}


def check_text_mask(model, ids) -> None:
    """The padding mask must reach both encoders' attention (padded keys) and the pooling:
    changing the padding embedding row (id 0) must leave every logit and every hidden state at
    a real position unchanged, while the padded hidden states do change; the same model
    without the mask (``use_mask=False``) gives different logits."""
    emb = model.get_layer("token_embedding").embeddings
    y0 = np.asarray(model(ids))
    h0 = text_hidden(model, ids)
    old = emb.numpy()
    new = old.copy()
    new[0] = np.random.default_rng(1).normal(0, 3.0, old.shape[1])
    emb.assign(new)
    try:
        y1 = np.asarray(model(ids))
        h1 = text_hidden(model, ids)
    finally:
        emb.assign(old)
    assert np.abs(y1 - y0).max() == 0.0, "padding leaks into the logits: mask not applied"
    pad = ids == 0
    for k in h0:
        d = np.abs(h1[k] - h0[k])
        assert d[pad].max() > 1e-3, k  # padded positions did change
        assert d[~pad].max() == 0.0, k  # real positions did not (padded keys masked)
    nomask = build_text_model(use_mask=False)
    nomask.set_weights(model.get_weights())
    assert np.abs(np.asarray(nomask(ids)) - y0).max() > 1e-3


def save(path, models: dict, inputs: dict) -> dict:
    """``models``: {"text": model, "vit": model}; ``inputs``: {"text": ids, "vit": images}."""
    out = {}
    for prefix, model in models.items():
        out.update(weight_dict(model, prefix))
        x = inputs[prefix]
        out[f"{prefix}/x"] = x
        out[f"{prefix}/logits"] = np.asarray(model(x))
    if "text" in models:
        out["text/lengths"] = np.array(TEXT_LENGTHS, dtype="int32")
        out.update(text_hidden(models["text"], inputs["text"]))
    meta = {"keras": keras.__version__, "keras_hub": keras_hub.__version__}
    out["meta"] = np.array(str(meta))
    np.savez_compressed(path, **out)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "lxt_models.npz"))
    args = ap.parse_args(argv)
    text = build_text_model()
    vit = build_vit_model()
    randomize(text, SEED_TEXT)
    randomize(vit, SEED_VIT)
    ids, images = make_inputs()
    check_text_mask(text, ids)
    out = save(args.out, {"text": text, "vit": vit}, {"text": ids, "vit": images})
    for k in ("text/logits", "vit/logits"):
        print(k, np.array2string(out[k], precision=4))
    print("wrote", args.out, os.path.getsize(args.out), "bytes")
    # round trip
    npz = np.load(args.out, allow_pickle=False)
    t2, v2 = build_text_model(), build_vit_model()
    load_weights(t2, npz, "text")
    load_weights(v2, npz, "vit")
    assert np.array_equal(np.asarray(t2(ids)), npz["text/logits"])
    assert np.array_equal(np.asarray(v2(images)), npz["vit/logits"])


if __name__ == "__main__":
    main()

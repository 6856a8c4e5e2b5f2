"""Token inputs: integer ids are attributed in the space of the embedding that reads them.

An analysis needs a real-valued point to take gradients at, interpolate (IG), add noise to
(SmoothGrad) or compare with a reference (DeepLIFT); a token id is none of those. So, as
iNNvestigate, LXT and Captum's ``LayerIntegratedGradients`` do, innv cuts the model at every
``Embedding`` that reads a model input directly: the looked-up vectors become extra inputs of the
cut graph, every analyzer runs on it unchanged, and the attribution of a token is its vector's
attribution summed over the embedding axis (``token_reduce="sum"``, shape ``(N, T)``), or the
vectors' attributions themselves (``token_reduce=None``, shape ``(N, T, D)``).

- The token-id input stays an input of the cut graph, so whatever else reads it (a padding mask
  computed from it, a second embedding) still sees it; it carries no gradient.
- ``Embedding(mask_zero=True)``: Keras records the padding mask as a graph node of its own
  (``ids != 0``) that feeds the mask-aware layers; it reads the ids, so it stays in the cut graph
  and those layers behave as in the model. Padded tokens get exactly 0.
- An integer input that does not feed an ``Embedding`` directly (a padding mask, segment ids
  read by a cast) gets zeros.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import tensorflow as tf

from innv_core import keras_adapter as ka
from innv_core import layers as kinds
from innv_core.errors import InvalidInputError, NotAnalyzableModelError
from innv_core.graph import ExecutionGraph, Node

#: Values of ``analyze(..., token_reduce=...)``.
TOKEN_REDUCTIONS = ("sum", None)


@attrs.frozen
class TokenEmbedding:
    """An ``Embedding`` node reading model input ``position`` directly."""

    position: int
    node: Node

    @property
    def output_id(self) -> int:
        return self.node.output_ids[0]

    @property
    def width(self) -> int:
        """The embedding axis length (``output_dim``; keras-hub: ``embedding_dim``)."""
        layer = self.node.layer
        return getattr(layer, "output_dim", None) or layer.embedding_dim

    @property
    def mask_zero(self) -> bool:
        """Id 0 is padding (keras-hub's ``TokenAndPositionEmbedding`` keeps it on its token part)."""
        layer = self.node.layer
        return bool(getattr(layer, "mask_zero", None) or getattr(getattr(layer, "token_embedding", None),
                                                                 "mask_zero", False))

    def keras_mask(self, ids: Any) -> Any:
        """The Keras mask the layer attaches to its output for ``ids`` (None without padding)."""
        return ka.keras_mask(self.node.layer(ids)) if self.mask_zero else None


@attrs.frozen(eq=False)
class EmbeddingSplit:
    """A model cut at the embeddings of its token inputs.

    ``graph`` takes the model inputs followed by one looked-up tensor per embedding
    (:meth:`points`); ``gather`` turns the analyses at those points back into one per model input.
    """

    graph: ExecutionGraph
    embeddings: tuple[TokenEmbedding, ...]
    n_inputs: int

    def points(self, inputs: Sequence[Any]) -> list[Any]:
        """The model inputs followed by each embedding's vectors for them (the analysis points)."""
        looked_up = [e.node.layer(inputs[e.position]) for e in self.embeddings]
        return [*inputs, *looked_up]

    def gather(self, results: Sequence[Any]) -> list[Any]:
        """Per model input: its own analysis, or for a token input its embeddings' (summed)."""
        out = list(results[: self.n_inputs])  # a token input's own entry is zeros: replaced
        seen: set[int] = set()
        for e, r in zip(self.embeddings, results[self.n_inputs:], strict=True):
            out[e.position] = out[e.position] + r if e.position in seen else r
            seen.add(e.position)
        return out

    def references(
        self, model_refs: Sequence[Any], points: Sequence[Any], reference_token: int | None
    ) -> list:
        """One reference per analysis point, from the references of the model's inputs.

        Token ids are their own reference (same padding, no gradient); their embedding vectors
        are compared with zero vectors, or with the vectors of ``reference_token``.
        """
        out = [x if x.dtype.is_integer else r for r, x in zip(model_refs, points[: self.n_inputs])]
        for e in self.embeddings:
            ids = points[e.position]
            if reference_token is None:
                shape = tf.concat([tf.shape(ids), [e.width]], 0)
                out.append(tf.zeros(shape, e.node.layer.compute_dtype))
            else:
                out.append(e.node.layer(tf.fill(tf.shape(ids), tf.cast(reference_token, ids.dtype))))
        return out

    def reduce(self, analyses: list[np.ndarray], Xs: list[np.ndarray], token_reduce: str | None) -> list:
        """Numpy side: sum token inputs' ``(N, T, D)`` over D (unless None), zero padded tokens."""
        check_token_reduce(token_reduce)
        out = list(analyses)
        for position in {e.position for e in self.embeddings}:
            a = out[position]
            if token_reduce == "sum":
                a = a.sum(axis=-1)
            padded = self._padded(position, Xs[position])
            if padded is not None:
                a = np.where(padded.reshape(padded.shape + (1,) * (a.ndim - padded.ndim)), 0, a)
            out[position] = a.astype(analyses[position].dtype, copy=False)
        return out

    def _padded(self, position: int, ids: np.ndarray) -> np.ndarray | None:
        zero_masked = [e for e in self.embeddings if e.position == position and e.mask_zero]
        return ids == 0 if zero_masked else None


def check_token_reduce(token_reduce: Any) -> None:
    """Refuse a ``token_reduce`` other than ``"sum"`` or None (before anything is computed)."""
    if token_reduce not in TOKEN_REDUCTIONS:
        raise InvalidInputError(
            f"token_reduce must be 'sum' (one value per token) or None (one per embedding "
            f"dimension), got {token_reduce!r}."
        )


def split_at_embeddings(graph: ExecutionGraph) -> EmbeddingSplit | None:
    """The graph cut at every ``Embedding`` reading a model input directly; None if there is none.

    Raises:
        NotAnalyzableModelError: two embeddings of different widths read the same input (their
            per-dimension analyses cannot be added).
    """
    position = {tid: i for i, tid in enumerate(graph.input_ids)}
    embeddings = tuple(
        TokenEmbedding(position[n.input_ids[0]], n)
        for n in graph.nodes
        if n.kind == kinds.EMBEDDING and len(n.input_ids) == 1 and n.input_ids[0] in position
    )
    if not embeddings:
        return None
    _check_widths(embeddings)
    cut = {e.node.nid for e in embeddings}
    n_inputs = len(position)
    graph = attrs.evolve(
        graph,
        nodes=tuple(n for n in graph.nodes if n.nid not in cut),
        input_ids=(*graph.input_ids, *(e.output_id for e in embeddings)),
        prepare=lambda inputs: _with_masks(inputs, embeddings, n_inputs),
    )
    return EmbeddingSplit(graph, embeddings, n_inputs)


def _with_masks(inputs: Sequence[Any], embeddings: tuple[TokenEmbedding, ...], n_inputs: int) -> list[Any]:
    """The cut graph's inputs, each embedding point carrying the Keras mask its layer computes
    from the ids (layers such as keras-hub's encoders read it from the tensor itself)."""
    out = list(inputs)
    for k, e in enumerate(embeddings):
        mask = e.keras_mask(inputs[e.position])
        if mask is not None:
            out[n_inputs + k] = ka.with_keras_mask(tf.identity(out[n_inputs + k]), mask)
    return out


def _check_widths(embeddings: tuple[TokenEmbedding, ...]) -> None:
    widths: dict[int, set[int]] = {}
    for e in embeddings:
        widths.setdefault(e.position, set()).add(e.width)
    for position, found in widths.items():
        if len(found) > 1:
            raise NotAnalyzableModelError(
                f"Model input {position} feeds embeddings of different widths {sorted(found)}; innv "
                "attributes a token input in the space of its embedding and cannot add analyses of "
                "different widths. Explain the sub-model that starts at the embedding outputs."
            )

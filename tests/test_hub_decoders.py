"""Every keras-hub 0.32 text decoder builds from a tiny config, and the generic wrapper of
``docs/generation.md`` gives the causal LM's own last-position logits (the ground the
generation work of issue 25 stands on)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from hub_decoders import CONFIGS, V, causal_lm, last_logits

pytest.importorskip("keras_hub")


@pytest.mark.parametrize("family", sorted(CONFIGS))
def test_wrapper_gives_the_last_positions_logits(family):
    keras.utils.set_random_seed(0)
    lm = causal_lm(family)
    ids = np.array([[0, 0, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6]], "int32")
    inputs = {"token_ids": ids, "padding_mask": (ids != 0).astype("int32")}
    full = np.asarray(lm(inputs))
    assert full.shape == (2, 6, V)
    np.testing.assert_allclose(np.asarray(last_logits(lm)(inputs)), full[:, -1, :], rtol=1e-5, atol=1e-6)

"""Every analyzer on every keras-hub decoder (issue 25, point 1): those defined for any network
run on the generic wrapper, per token, with left padding exactly 0; the ReLU-only ones refuse,
naming the non-ReLU functions. The full matrix is slow (about 40 analyzers x 20 decoders); the
default run checks the refusals on every decoder."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from hub_decoders import CONFIGS, VARIANTS, causal_lm, last_logits
from support import ANALYZER_PARAMETERS

pytest.importorskip("keras_hub")

DECODERS = (*sorted(CONFIGS), *VARIANTS)
#: Defined for ReLU networks only: refused on decoders (SiLU/GELU, softmax attention).
RELU_ONLY = ("deep_taylor", "deep_taylor.bounded", "pattern.net", "pattern.attribution")
#: Not attributions of the tokens: the input itself, and a random map.
NOT_ATTRIBUTIONS = ("input", "random")
IDS = np.array([[0, 0, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6]], "int32")


def _running() -> list[str]:
    from innv_core.registry import get_registry

    names = sorted(get_registry().entries("analyzers"))
    return [n for n in names if n not in RELU_ONLY and n not in NOT_ATTRIBUTIONS and not n.startswith("example")]


def _wrapper(family: str) -> tuple[keras.Model, dict, np.ndarray]:
    keras.utils.set_random_seed(0)
    wrapper = last_logits(causal_lm(family))
    x = {"token_ids": IDS, "padding_mask": (IDS != 0).astype("int32")}
    return wrapper, x, np.asarray(wrapper(x)).argmax(axis=1)


@pytest.mark.parametrize("family", DECODERS)
def test_relu_only_analyzers_refuse_every_decoder(family):
    import innv_core
    from innv_core.errors import NotAnalyzableModelError

    wrapper, _, _ = _wrapper(family)
    for name in RELU_ONLY:
        with pytest.raises(NotAnalyzableModelError, match="ReLU networks only"):
            innv_core.create_analyzer(name, wrapper, **ANALYZER_PARAMETERS.get(name, {}))


@pytest.mark.slow
@pytest.mark.parametrize("family", DECODERS)
def test_every_other_analyzer_explains_every_decoder(family):
    import innv_core

    wrapper, x, target = _wrapper(family)
    failures = {}
    for name in _running():
        try:
            analyzer = innv_core.create_analyzer(name, wrapper, neuron_selection_mode="index",
                                                 **ANALYZER_PARAMETERS.get(name, {}))
            R = analyzer.analyze(x, neuron_selection=target)["token_ids"]
        except Exception as error:  # noqa: BLE001 - collected, reported together below
            failures[name] = f"{type(error).__name__}: {str(error)[:200]}"
            continue
        ok = R.shape == IDS.shape and np.isfinite(R).all() and not np.any(R[IDS == 0])
        if not (ok and np.all(np.abs(R).sum(axis=1) > 0)):
            failures[name] = f"padding not 0, a row all 0 or not finite: {R.tolist()}"
    assert not failures, f"{family}: {failures}"

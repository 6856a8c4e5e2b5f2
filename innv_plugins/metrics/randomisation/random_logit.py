"""Random logit (Sixt et al. 2020): is the explanation of another class different?"""

from __future__ import annotations

from typing import Any

import numpy as np

from innv_core.errors import InvalidParameterError, check_positive_int
from innv_core.metrics import Metric
from innv_core.metrics.similarity import ssim


class RandomLogit(Metric):
    """The similarity (``similarity_func``, SSIM by default) between the explanation of ``y`` and
    that of a random other class of the ``num_classes`` (Quantus 0.6; lower is better). The other
    classes are drawn as Quantus draws them (``np.random.seed(seed)``, then one
    ``randint(0, num_classes - 1)`` per sample), so the same seed picks the same classes.
    ``evaluate`` needs ``analyzer=``; ``num_classes`` must not exceed the model's outputs.
    """

    name = "random_logit"
    category = "randomisation"
    higher_is_better = False
    needs_model = True
    needs_analyzer = True

    def __init__(self, model: Any = None, *, similarity_func: Any = None, num_classes: int = 1000,
                 seed: int = 42, abs: bool = False, normalise: bool = True, **common: Any) -> None:  # noqa: A002
        super().__init__(model, abs=abs, normalise=normalise, **common)
        self.similarity_func = similarity_func or ssim
        self.num_classes = check_positive_int("num_classes", num_classes, minimum=2)
        self.seed = seed

    def check(self, x, a):
        classes = self.class_scores(False).classes
        if self.num_classes > classes:
            raise InvalidParameterError(f"num_classes={self.num_classes} but the model has {classes} "
                                        f"outputs: pass num_classes={classes}.")

    def other_classes(self, y: np.ndarray) -> np.ndarray:
        """One class per sample, different from ``y``, drawn as Quantus 0.6 draws it."""
        pick = np.random.RandomState(self.seed).randint(0, self.num_classes - 1, len(y))
        return pick + (pick >= y)  # the pick-th class among those that are not y

    def score(self, x, y, a, s, *, batch_size, softmax):
        other = self.explain(x, self.other_classes(y), batch_size)
        n = len(x)
        return np.asarray(self.similarity_func(a.reshape(n, -1), other.reshape(n, -1), batched=True)), None

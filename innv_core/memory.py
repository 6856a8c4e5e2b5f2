"""Memory budgets: how many copies of a batch one step of a path method may evaluate.

Integrated Gradients and SmoothGrad fold their points into the batch. A gradient keeps every
layer's output for the backward pass, so one copy of one sample costs about the bytes of all
layer outputs, twice (the forward tensors and the gradients flowing back). From that estimate
and a budget in bytes the number of points per step is derived at run time, for the batch
actually given: VGG16 at batch 8 with 16 steps evaluates 2 points per step within 2 GiB
instead of all 16 at once (about 10 GB).
"""

from __future__ import annotations

import math
from typing import Any

import tensorflow as tf

from innv_core.errors import NotAnalyzableModelError, check_number

#: The default budget of a path method's step: 2 GiB.
DEFAULT_BUDGET = 2 * 1024**3

#: Forward tensors kept plus the gradients flowing back through them.
_KEPT_PER_OUTPUT = 2


def check_budget(value: Any) -> float:
    """``memory_budget`` as a number of bytes > 0 (a named error otherwise)."""
    return check_number("memory_budget", value, minimum=1.0,
                        fix="Give bytes, e.g. memory_budget=2 * 1024**3 for 2 GiB.")


def bytes_per_sample(model: Any) -> int | None:
    """Estimated bytes one sample's gradient keeps: every layer output (static shape, unknown
    dimensions counted as 1), twice. None for a model without a graph (subclassed)."""
    from innv_core.graph import trace

    try:
        graph = trace(model)
    except NotAnalyzableModelError:
        return None
    total = sum(
        math.prod(d or 1 for d in shape[1:]) * tf.as_dtype(dtype).size
        for node in graph.nodes for shape, dtype in node.output_specs
    )
    return max(1, total * _KEPT_PER_OUTPUT)


def points_per_step(
    budget: float, per_sample: int | None, batch: Any, n_points: int, cap: int | None = None
) -> Any:
    """Points evaluated together: as many copies of the batch as fit into ``budget`` (at least
    one, at most ``n_points`` or ``cap``), as a scalar tensor for a batch known at run time."""
    limit = n_points if cap is None else min(cap, n_points)
    if per_sample is None:
        return tf.constant(limit)
    copies = min(int(budget // per_sample), 2**31 - 1)  # copies of one sample that fit
    fit = tf.constant(copies, tf.int32) // tf.maximum(tf.cast(batch, tf.int32), 1)
    return tf.clip_by_value(fit, 1, limit)

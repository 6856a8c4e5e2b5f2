"""The z^B rule (DeepTaylor for inputs bounded to ``[low, high]``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from innv_core.errors import invalid_parameter
from innv_core.hookspecs import hookimpl
from innv_core.rule import KernelCall, Rule, Term, negative, positive


class _Shown:
    """A short stand-in for a large array in an error message."""

    def __init__(self, value: Any) -> None:
        array = np.asarray(value)
        self.text = value if array.size <= 8 else f"<array of shape {array.shape}>"

    def __repr__(self) -> str:
        return self.text if isinstance(self.text, str) else repr(self.text)


def _check_bounds(low: Any, high: Any) -> None:
    """Raise a named error unless ``low`` and ``high`` are finite, broadcastable and ``low <= high``."""
    arrays = {}
    for name, value in (("low", low), ("high", high)):
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            array = None
        if array is None or not np.isfinite(array).all():
            raise invalid_parameter(name, _Shown(value) if array is not None else value,
                                    "a finite number or an array of finite numbers",
                                    "Give the input range, e.g. low=0.0, high=1.0.")
        arrays[name] = array
    try:
        above = arrays["low"] > arrays["high"]
    except ValueError:
        raise invalid_parameter(
            "high", _Shown(high), f"broadcastable with low (shape {arrays['low'].shape})",
            f"high has shape {arrays['high'].shape}.",
        ) from None
    if np.any(above):
        where = ""
        if np.ndim(above):
            where = f"; low > high at index {tuple(int(i) for i in np.argwhere(above)[0])}"
        raise invalid_parameter("low", _Shown(low), f"<= high everywhere (high={_Shown(high)!r}{where})")


def require_bounds(owner: str, low: Any, high: Any) -> None:
    """Raise a named error if ``low`` or ``high`` is missing (analyzers that need the input range)."""
    if low is None or high is None:
        raise invalid_parameter(
            "low" if low is None else "high", None, "the input range's bound (a number or an array)",
            f"{owner} needs both: low=... and high=....",
        )


class BoundedRule(Rule):
    """``R_i = sum_j (x_i w_ij - l_i w+_ij - h_i w-_ij) / z^B_j R_j``, ``z^B_j`` their sum over ``i``.

    The layer bias takes no part (as iNNvestigate's ``keep_bias=False`` and Zennit's ``ZBox``);
    relevance is 0 where ``z^B_j = 0``.

    Args:
        low: lowest input value (a number or an array broadcastable to the input).
        high: highest input value (``low <= high`` elementwise).

    Raises:
        InvalidParameterError: ``low`` or ``high`` not finite, or ``low > high`` somewhere.
    """

    def __init__(self, low: Any = -1, high: Any = 1) -> None:
        _check_bounds(low, high)
        self.low, self.high = low, high

    def apply(self, call: KernelCall, R: Any) -> Any:
        low = tf.ones_like(call.x) * tf.cast(self.low, call.x.dtype)
        high = tf.ones_like(call.x) * tf.cast(self.high, call.x.dtype)
        terms = [
            Term(call.x, call.without_bias()),
            Term(low, call.map_kernels(positive), sign=-1.0),
            Term(high, call.map_kernels(negative), sign=-1.0),
        ]
        return call.propagate(R, terms)


@hookimpl
def innv_register_rules(registry):
    registry.add_rule("Bounded", BoundedRule)

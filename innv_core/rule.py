"""The LRP rule base class: how relevance crosses one kernel layer.

A rule sees a :class:`KernelCall` (the layer's linear part, its input ``x`` and the
pre-activation ``z`` kept by the forward pass) and the relevance ``R`` at the layer's output, and
returns the relevance at its input. Most rules are one call of :meth:`KernelCall.propagate`::

    class Gamma(Rule):
        '''z+ gamma * z+ : favour positive contributions.'''

        def __init__(self, gamma: float = 0.25):
            self.gamma = gamma

        def apply(self, call, R):
            w = call.map_kernels(lambda k: k + self.gamma * tf.nn.relu(k))
            return call.propagate(R, [Term(call.x, w)])

Register it through the ``innv_register_rules`` hook and use it by name: ``LRP(rule="Gamma")``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs
import tensorflow as tf

from innv_core.linear_part import LinearPart


def safe_divide(a: Any, b: Any) -> Any:
    """``a / b`` with 0 where ``b == 0``."""
    return tf.math.divide_no_nan(a, b)


def epsilon_stabilize(z: Any, epsilon: float) -> Any:
    """``z + epsilon * sign(z)`` with sign(0) = +1 (iNNvestigate's stabilizer)."""
    return z + epsilon * (2.0 * tf.cast(z >= 0, z.dtype) - 1.0)


def stabilizer(epsilon: float) -> Callable[[Any], Any] | None:
    """:func:`epsilon_stabilize` with ``epsilon`` for :meth:`KernelCall.propagate`; None (safe
    division) when ``epsilon`` is 0."""
    return (lambda z: epsilon_stabilize(z, epsilon)) if epsilon else None


def divide(R: Any, z: Any, stabilize: Callable[[Any], Any] | None = None) -> Any:
    """``R / stabilize(z)``, or the safe ``R / z`` (0 where ``z == 0``) when ``stabilize`` is None."""
    return R / stabilize(z) if stabilize is not None else safe_divide(R, z)


def positive(t: Any) -> Any:
    return tf.nn.relu(t)


def negative(t: Any) -> Any:
    return tf.minimum(t, 0.0)


@attrs.frozen
class Term:
    """One contribution ``sign * linear(x, weights)`` to a rule's denominator."""

    x: Any
    weights: dict[str, Any]
    sign: float = 1.0


@attrs.frozen
class KernelCall:
    """One call of a kernel layer as a rule sees it.

    Attributes:
        linear: the layer's linear part (callable with replaced weights).
        x: the layer input.
        z: the pre-activation with the layer's own weights, from the forward pass.
        vjp: ``vjp(s) -> (dz/dx)^T s`` through the forward pass (no recomputation).
        x_nonnegative: ``x >= 0`` is known before anything runs (after a ReLU, a pooling of
            non-negative values, a declared input range; :mod:`innv_core.signs`). Then
            :attr:`x_negative` is None and :meth:`propagate` drops the terms built on it.
    """

    linear: LinearPart
    x: Any
    z: Any
    vjp: Callable[[Any], Any]
    x_nonnegative: bool = False

    @property
    def layer(self) -> Any:
        return self.linear.layer

    @property
    def has_bias(self) -> bool:
        return self.linear.has_bias

    @property
    def x_positive(self) -> Any:
        """``max(x, 0)``: ``x`` itself when it is known to be non-negative."""
        return self.x if self.x_nonnegative else positive(self.x)

    @property
    def x_negative(self) -> Any | None:
        """``min(x, 0)``, or None when ``x`` is known to be non-negative (the term vanishes)."""
        return None if self.x_nonnegative else negative(self.x)

    def weights(self) -> dict[str, Any]:
        """The layer's own weights by name (kernels and bias)."""
        return self.linear.weights()

    def map_kernels(
        self, fn: Callable[[Any], Any], bias: Callable[[Any], Any] | None = None
    ) -> dict[str, Any]:
        """Weights with ``fn`` applied to every kernel; the bias mapped by ``bias``, or zeroed if None."""
        out = {}
        handler = self.linear.handler
        for name, value in self.weights().items():
            if name in handler.kernels:
                out[name] = fn(tf.convert_to_tensor(value))
            elif name == handler.bias:
                value = tf.convert_to_tensor(value)
                out[name] = bias(value) if bias is not None else tf.zeros_like(value)
        return out

    def without_bias(self) -> dict[str, Any]:
        """The layer's own kernels with a zero bias."""
        return self.map_kernels(lambda k: k)

    def propagate(
        self, R: Any, terms: Sequence[Term], stabilize: Callable[[Any], Any] | None = None
    ) -> Any:
        """``sum_i sign_i * x_i * (dz_i/dx_i)^T (R / stabilize(sum_i sign_i z_i))``.

        With ``stabilize`` None the division is safe (0 where the denominator is 0). Terms whose
        ``x`` is None (``call.x_negative`` of a non-negative input) are zero and left out.
        """
        zs, pullbacks = [], []
        for term in (t for t in terms if t.x is not None):
            with tf.GradientTape(watch_accessed_variables=False) as tape:
                tape.watch(term.x)
                z = self.linear(term.x, term.weights)
            zs.append(term.sign * z)
            pullbacks.append((tape, z, term))
        total = tf.add_n(zs) if len(zs) > 1 else zs[0]
        s = divide(R, total, stabilize)
        out = []
        for tape, z, term in pullbacks:
            out.append(term.sign * term.x * tape.gradient(z, term.x, output_gradients=s))
        return tf.add_n(out) if len(out) > 1 else out[0]

    def transpose(self, s: Any, weights: dict[str, Any], x: Any = None) -> Any:
        """``(d linear(x, weights) / dx)^T s``: the transposed linear map (its forward is not
        needed, and a compiled function prunes it)."""
        x = self.x if x is None else x
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(x)
            z = self.linear(x, weights)
        return tape.gradient(z, x, output_gradients=s)

    def propagate_input_free(self, R: Any, kernel_fn: Callable[[Any], Any]) -> Any:
        """Relevance split by ``kernel_fn(w)`` alone: inputs replaced by ones, no bias (w², flat)."""
        return self.propagate(R, [Term(tf.ones_like(self.x), self.map_kernels(kernel_fn))])

    def propagate_own(self, R: Any, stabilize: Callable[[Any], Any] | None = None) -> Any:
        """:meth:`propagate` for the layer's own weights and bias, reusing the forward ``z``."""
        s = divide(R, self.z, stabilize)
        return self.x * self.vjp(s)


class Rule:
    """Base class of LRP rules for kernel layers (Dense, Conv, ... and BatchNorm when fused).

    Subclasses take their parameters in ``__init__`` (with defaults, so that the rule is usable by
    name) and implement :meth:`apply`.
    """

    def apply(self, call: KernelCall, R: Any) -> Any:
        """The relevance at the layer input for relevance ``R`` at its pre-activation."""
        raise NotImplementedError(f"{type(self).__name__} must implement apply(call, R).")

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({params})"

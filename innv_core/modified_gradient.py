"""LRP rules written as modified gradients: relevance = input x gradient.

If every operation of a network passes on a gradient ``g`` such that ``t * g`` is the relevance
of every tensor ``t`` it touches, then ``x * g`` at the input is the LRP relevance. A rule thus
becomes a *gradient rule*: a forward computation whose value is the operation's true output and
whose gradient is the rule's (LXT's "efficient" formulation of AttnLRP). Each function below keeps
the forward value exactly and changes only what flows backwards, with ``tf.stop_gradient``:

* :func:`identity_rule`: elementwise non-linearities, ``R_x = R_y`` (gradient ``f(x) / x``);
* :func:`epsilon_linear`: a linear map ``z`` with the epsilon rule (gradient scaled by
  ``z / (z + eps * sign(z))``, ``sign(0) = +1``; ``eps = 0``: the z-rule);
* :func:`divide_gradient`: the uniform rule for a product of ``k`` signals (each operand gets
  ``1/k`` of the product's relevance, i.e. ``1/k`` of its true gradient);
* :func:`hold`: a tensor taken as constant (gates, CP-LRP's query and key, LayerNorm's std).

Sums, reshapes, slicing, concatenation, max-pooling and linear maps without a bias keep their
true gradient: input x gradient of a bias-free linear map is its z-rule already.

The reverse engine carries relevance, not gradients. :func:`relevance_through` converts at a
node: ``g_y = R / y`` (0 where ``y == 0``), the node's gradient-rule forward, ``R_x = x * g_x``.
See ``docs/opening-layers.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import tensorflow as tf

#: The default stabilizer of gradient rules inside opened layers (LXT's epsilon -> 0 limit).
TINY_EPSILON = 1e-9


def sign0(z: Any) -> Any:
    """``sign(z)`` with ``sign(0) = +1``."""
    return 2.0 * tf.cast(z >= 0, z.dtype) - 1.0


def with_gradient_factor(value: Any, linear: Any, factor: Any) -> Any:
    """A tensor equal to ``value`` whose gradient is that of ``linear`` times ``factor``.

    ``linear`` must be differentiable in the inputs and ``value``/``factor`` are taken as
    constants. ``linear - stop_gradient(linear)`` is exactly 0, so the forward value is exact.
    """
    sg = tf.stop_gradient
    return sg(value) + (linear - sg(linear)) * sg(factor)


def identity_rule(fn: Callable[[Any], Any], x: Any, epsilon: float = TINY_EPSILON) -> Any:
    """``fn(x)`` (elementwise) with the identity rule: relevance passes unchanged."""
    y = fn(x)
    return with_gradient_factor(y, x, tf.math.divide_no_nan(y, x + epsilon * sign0(x)))


def epsilon_linear(z: Any, epsilon: float) -> Any:
    """The pre-activation ``z`` of a linear map, with the epsilon rule on its gradient.

    ``z`` must be computed from the inputs with its true (linear) gradient; the bias, if any,
    is part of ``z``, so it keeps its share of the relevance, as does the stabilizer.
    """
    if not epsilon:
        return z
    return with_gradient_factor(z, z, z / (z + epsilon * sign0(z)))


def epsilon_sum(parts: Sequence[Any], epsilon: float) -> Any:
    """``sum(parts)`` with the epsilon rule: each part gets ``part / (sum + eps * sign)`` of it."""
    return epsilon_linear(tf.add_n(list(parts)), epsilon)


def divide_gradient(x: Any, factor: float) -> Any:
    """``x`` with its gradient divided by ``factor`` (the uniform rule for products)."""
    sg = tf.stop_gradient
    return sg(x) + (x - sg(x)) / factor


def uniform_product(a: Any, b: Any) -> Any:
    """``a * b`` with the uniform rule: each operand gets half of the relevance."""
    return divide_gradient(a * b, 2.0)


def hold(x: Any) -> Any:
    """``x`` taken as a constant (no gradient, so no relevance, flows to it)."""
    return tf.stop_gradient(x)


def relevance_through(
    forward: Callable[[list[Any]], list[Any]], Xs: Sequence[Any], Rs: Sequence[Any], Ys: Sequence[Any]
) -> list[Any]:
    """Relevance at ``Xs`` from relevance ``Rs`` at a node's outputs ``Ys``.

    ``forward(Xs)`` recomputes the outputs with gradient rules; the relevance arriving at an
    output is turned into the gradient ``R / y``, pulled back, and multiplied by the inputs.
    Non-float inputs (masks, token ids) get None.
    """
    floats = [x for x in Xs if x.dtype.is_floating]
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        for x in floats:
            tape.watch(x)
        outs = forward(list(Xs))
    gs = [tf.math.divide_no_nan(R, tf.cast(y, R.dtype)) if R is not None else tf.zeros_like(o)
          for R, y, o in zip(Rs, Ys, outs)]
    grads = tape.gradient(outs, floats, output_gradients=gs)
    by_id = {id(x): g for x, g in zip(floats, grads)}
    result = []
    for x in Xs:
        if not x.dtype.is_floating:
            result.append(None)
            continue
        g = by_id[id(x)]
        result.append(tf.zeros_like(x) if g is None else x * g)
    return result

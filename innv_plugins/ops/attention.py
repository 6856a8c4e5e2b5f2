"""Plugin: attention (``dot_product_attention``, ``softmax``, ``log_softmax``).

Each rule asks the analysis' convention (``context.convention``, see
:mod:`innv_plugins.lrp.conventions`) what to do with its operands. AttnLRP (Achtibat et al.
2024, as LXT 2.1's attention wrapper): the softmax keeps its true gradient and the two products
of the attention get the uniform rule, so query and key receive 1/4 and the value 1/2 of their
true gradient. CP-LRP (Ali et al. 2022, LXT's ``cp`` patches): query and key are held constant,
so relevance reaches the values only, through the attention weights taken as constants.
"""

from __future__ import annotations

from typing import Any

from innv_core.hookspecs import hookimpl
from innv_core.opening import rule_scope


def dot_product_attention_handler(original: Any, context: Any) -> Any:
    """The fused attention op with the convention's rule on query, key and value."""

    def attention(query: Any, key: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
        with rule_scope():
            query, key, value = context.convention.attention(query, key, value)
            return original(query, key, value, *args, **kwargs)

    return attention


def softmax_handler(original: Any, context: Any) -> Any:
    """Softmax on the input the convention gives: itself (AttnLRP), or held (CP-LRP)."""

    def softmax(x: Any, *args: Any, **kwargs: Any) -> Any:
        with rule_scope():
            return original(context.convention.softmax(x), *args, **kwargs)

    softmax.__name__ = getattr(original, "__name__", "softmax")
    return softmax


@hookimpl
def innv_register_ops(registry):
    registry.add_op("dot_product_attention", dot_product_attention_handler)
    registry.add_op("softmax", softmax_handler)
    registry.add_op("log_softmax", softmax_handler)

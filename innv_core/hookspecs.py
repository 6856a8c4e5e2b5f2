"""The plugin contract: the hooks an innv plugin may implement.

Each hook receives the :class:`innv_core.registry.Registry` and adds named things to it
(the registry pattern of tox 4 and datasette). A plugin module implements any subset::

    from innv_core import hookimpl

    @hookimpl
    def innv_register_rules(registry):
        registry.add_rule("Gamma", GammaRule)
"""

from __future__ import annotations

import pluggy

PROJECT_NAME = "innv"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def innv_register_analyzers(registry):
    """Add analyzer classes by name: ``registry.add_analyzer("lrp.epsilon", LRPEpsilon)``.

    The name is what :func:`innv_core.create_analyzer` accepts; the class must derive from
    :class:`innv_core.analyzer.AnalyzerBase`.
    """


@hookspec
def innv_register_rules(registry):
    """Add LRP rule classes by name: ``registry.add_rule("Epsilon", EpsilonRule)``.

    A registered rule is usable by name wherever a built-in rule is (``LRP(rule="Epsilon")``).
    """


@hookspec
def innv_register_pattern_types(registry):
    """Add pattern types by name: ``registry.add_pattern_type("linear", LinearPattern)``."""


@hookspec
def innv_register_perturbations(registry):
    """Add perturbation functions by name: ``registry.add_perturbation("zeros", fn)``.

    As in iNNvestigate, ``fn(values)`` receives the pixels of one chosen region of one channel
    and returns their replacement (same shape, or a scalar). Functions marked with
    ``innv_core.tools.perturbation_functions.region_vectorized`` are instead called once per
    batch as ``fn(regions, axis=(1, 2))`` on all chosen regions, shape ``(K, rh, rw, C)``.
    """


@hookspec
def innv_register_layers(registry):
    """Teach the reverse engine a layer class: ``registry.add_layer(cls, LayerHandler(...))``.

    The handler gives the layer's kind (kernel, activation, pooling, merge, reshape, ...) and,
    for kernel layers, the names of its kernel and bias weights, so that LRP rules can replace
    them (see :mod:`innv_core.layers`).
    """


@hookspec
def innv_register_ops(registry):
    """Give a ``keras.ops`` function a gradient rule inside layers the engine opens:
    ``registry.add_op("gelu", handler)`` with ``handler(original, context) -> replacement``.

    See ``docs/opening-layers.md`` and :mod:`innv_core.opening`.
    """


@hookspec
def innv_register_conventions(registry):
    """Add LRP attention conventions by name: ``registry.add_convention("attnlrp", ATTNLRP)``.

    A convention says how relevance crosses softmax, attention and products of signals inside
    layers LRP opens (``innv_plugins.lrp.conventions.Convention``); ``LRP(attention=name)``
    takes any registered one.
    """

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
def innv_register_metrics(registry):
    """Add metrics of explanation quality by name: ``registry.add_metric("sparseness", Sparseness)``.

    A metric is a subclass of ``innv_core.metrics.Metric`` (see ``docs/evaluating.md``);
    ``innv_core.create_metric(name, model, **params)`` creates it.
    """


@hookspec
def innv_register_perturbations(registry):
    """Add perturbation functions by name: ``registry.add_perturbation("zeros", fn)``.

    As in iNNvestigate, ``fn(values)`` receives the pixels of one chosen region of one channel
    and returns their replacement (same shape, or a scalar). Functions marked with
    ``innv_core.tools.perturbation_functions.region_vectorized`` are instead called once per
    batch as ``fn(regions, axis=(1, 2))`` on all chosen regions, shape ``(K, rh, rw, C)``.
    """


@hookspec
def innv_register_layer_kinds(registry):
    """Add layer kinds: ``registry.add_layer_kind(LayerKind("clip", "elementwise clipping"))``.

    A kind (:class:`innv_core.layers.LayerKind`) is what handlers name and what analyzer
    families decide by. This hook runs before :func:`innv_register_layers`; a handler whose kind
    no plugin registered is refused (its plugin's layer handlers are skipped with a
    ``PluginLoadWarning`` listing the known kinds). The built-in kinds come from the plugin
    ``innv_plugins.layers.kinds``.
    """


@hookspec
def innv_register_crossings(registry):
    """Say how an analyzer family crosses layers of a kind, and name families for tables.

    ``registry.add_crossing(family, kind, how, description)``: ``how`` is what the family
    needs (LRP: a mapping ``(node_tensors, Rs, state) -> list``; DeepLIFT: a role name such as
    ``"linear"`` or ``"activation"``; None: a description only); ``description`` is the text of
    the supported-layers page. The family finds it with ``registry.crossing(family, kind)``.

    ``registry.add_family(name, title, analyzer=None, fallback=None, order=100)`` makes the
    family a column of the supported-layers page (``title``), standing for the registered
    analyzer ``analyzer``; a family with a ``fallback`` uses that family's crossings where it
    registered none (DeepTaylor falls back to LRP).
    """


@hookspec
def innv_register_layers(registry):
    """Teach the reverse engine a layer class: ``registry.add_layer(cls, LayerHandler(...))``.

    The handler gives the layer's kind (a registered kind: kernel, activation, pooling, merge,
    reshape, ... or a plugin's own) and, for kernel layers, the names of its kernel and bias
    weights (by default ``"kernel"`` and ``"bias"``), so that LRP rules can replace them (see
    :mod:`innv_core.layers`).
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

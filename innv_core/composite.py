"""Composites as data: which rule each kernel layer gets, and the parameters that say so.

A :class:`Composite` is what a preset is (iNNvestigate's ``LRPSequentialPresetA``, Zennit's
``EpsilonPlusFlat``, ``LRPEpsilon`` itself): the rule for kernel layers by what they are
(``rules``: ``(selector, spec)`` pairs, the first whose ``selector(layer)`` holds wins), the rule
for the kernel layers reading a model input (``input_rules``, same form), the analyzer parameters
it takes (:class:`Parameter`, with their defaults and positional order), the parameters of the
underlying analyzer it fixes and those it only defaults. A rule spec is a :class:`RuleSpec` (a
rule class, or a registered rule name, and its parameters), where a parameter may be a
:class:`Ref` to an analyzer parameter (``RuleSpec(EpsilonRule, {"epsilon": Ref("epsilon")})``).
``innv_plugins.lrp.composites.composite_analyzer`` makes an analyzer class of one.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from innv_core import layers as kinds

#: ``selector(layer) -> bool``: which kernel layers a rule is for.
Selector = Callable[[Any], bool]


def is_kernel(layer: Any) -> bool:
    """Any kernel layer (Dense, Conv, ...: a layer whose registered kind is ``kernel``)."""
    from innv_core.registry import get_registry

    handler = get_registry().layer_handler(type(layer))
    return handler is not None and handler.kind == kinds.KERNEL


def is_dense(layer: Any) -> bool:
    """A fully connected layer: ``Dense``, ``EinsumDense``, or a ``ReversibleEmbedding`` (Keras'
    or keras-hub's), whose kernel calls (``reverse=True``) are a language model's head."""
    import keras

    if isinstance(layer, keras.layers.Dense | keras.layers.EinsumDense):
        return True
    return any(cls.__name__ == "ReversibleEmbedding" for cls in type(layer).__mro__)


def is_other_kernel(layer: Any) -> bool:
    """A kernel layer that is not Dense (convolutions: Zennit's ``Convolution``)."""
    return is_kernel(layer) and not is_dense(layer)


@attrs.frozen
class Ref:
    """A rule parameter (or fixed value) taken from the analyzer parameter ``name``."""

    name: str


def resolve(value: Any, values: Mapping[str, Any]) -> Any:
    """``value`` with every :class:`Ref` (also inside tuples and lists) replaced by its value."""
    if isinstance(value, Ref):
        return values[value.name]
    if isinstance(value, RuleSpec):
        return value.build(values)
    if isinstance(value, tuple):
        return tuple(resolve(v, values) for v in value)
    if isinstance(value, list):
        return [resolve(v, values) for v in value]
    return value


@attrs.frozen
class RuleSpec:
    """A rule as data: its class (or registered name) and its parameters.

    Without parameters it builds to the class itself (each layer gets its own instance, as for
    a rule given by name); with parameters to one instance.
    """

    rule: type | str
    params: Mapping[str, Any] = attrs.field(factory=dict, converter=dict, hash=False)

    def rule_class(self) -> type:
        if isinstance(self.rule, str):
            from innv_core.registry import get_registry

            return get_registry().get("rules", self.rule)
        return self.rule

    def build(self, values: Mapping[str, Any]) -> Any:
        cls = self.rule_class()
        if not self.params:
            return cls
        return cls(**{name: resolve(v, values) for name, v in self.params.items()})


@attrs.frozen
class Parameter:
    """An analyzer parameter a composite takes.

    Attributes:
        name: its name.
        default: its default (iNNvestigate's, where iNNvestigate has the analyzer).
        keyword_only: True: only by keyword (else also by position, in declaration order).
        passed_on: True: also given to the underlying analyzer under the same name (e.g. the
            preset B-flat until-idx's ``until_layer_idx``).
    """

    name: str
    default: Any = None
    keyword_only: bool = False
    passed_on: bool = False


def _pairs(value: Any) -> tuple[tuple[Selector, Any], ...] | None:
    return None if value is None else tuple((selector, spec) for selector, spec in value)


@attrs.frozen
class Composite:
    """An LRP preset or composite as a value.

    Attributes:
        description: one line for the analyzer's docstring.
        rules: ``(selector, spec)`` pairs for kernel layers, the first match wins (one pair
            with :func:`is_kernel`: one rule for every kernel layer). Fixes ``rule``.
        input_rules: the same for kernel layers reading a model input (a spec may be
            ``(low, high)`` for the bounded rule), or None. Fixes ``input_layer_rule`` when given.
        parameters: the analyzer parameters, in positional order.
        fixes: other parameters of the underlying analyzer it fixes (``attention="cp"``).
        defaults: parameters of the underlying analyzer it sets unless the user does.
        check: ``check(analyzer_name, values)``, run first (e.g. required bounds), or None.
    """

    description: str
    rules: tuple[tuple[Selector, Any], ...] = attrs.field(converter=_pairs)
    input_rules: tuple[tuple[Selector, Any], ...] | None = attrs.field(default=None, converter=_pairs)
    parameters: tuple[Parameter, ...] = attrs.field(default=(), converter=tuple)
    fixes: Mapping[str, Any] = attrs.field(factory=dict, converter=dict, hash=False)
    defaults: Mapping[str, Any] = attrs.field(factory=dict, converter=dict, hash=False)
    check: Callable[[str, Mapping[str, Any]], None] | None = None

    @property
    def fixed(self) -> tuple[str, ...]:
        """The names of the underlying analyzer's parameters this composite fixes."""
        names = ["rule"]
        if self.input_rules is not None:
            names.append("input_layer_rule")
        return (*names, *self.fixes)

    def signature(self) -> inspect.Signature:
        """``(model, <parameters>, **kwargs)``: what ``help()`` and ``inspect`` show."""
        P = inspect.Parameter
        params = [P("self", P.POSITIONAL_OR_KEYWORD), P("model", P.POSITIONAL_OR_KEYWORD)]
        params += [P(p.name, P.POSITIONAL_OR_KEYWORD, default=p.default)
                   for p in self.parameters if not p.keyword_only]
        params += [P(p.name, P.KEYWORD_ONLY, default=p.default) for p in self.parameters if p.keyword_only]
        params.append(P("kwargs", P.VAR_KEYWORD))
        return inspect.Signature(params)

    def bind(self, owner: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> tuple[dict, dict]:
        """``(values, rest)``: every parameter's value (given or default), and the other keywords.

        Raises:
            TypeError: too many positional arguments, or one given twice.
        """
        positional = [p for p in self.parameters if not p.keyword_only]
        if len(args) > len(positional):
            raise TypeError(
                f"{owner} takes at most {len(positional) + 1} positional arguments (model"
                f"{''.join(', ' + p.name for p in positional)}), got {len(args) + 1}; give the "
                "other parameters by keyword."
            )
        rest = dict(kwargs)
        values = {}
        for p in self.parameters:
            i = positional.index(p) if p in positional else len(args)
            if i < len(args):
                if p.name in rest:
                    raise TypeError(f"{owner} got multiple values for argument {p.name!r}.")
                values[p.name] = args[i]
            else:
                values[p.name] = rest.pop(p.name, p.default)
        return values, rest

    def underlying(self, owner: str, values: Mapping[str, Any], rest: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters of the underlying analyzer: its defaults, the user's, what it fixes
        (run :attr:`check` and refuse fixed parameters in ``rest`` before)."""
        out = {name: resolve(v, values) for name, v in self.defaults.items()}
        out.update(rest)
        out.update({p.name: values[p.name] for p in self.parameters if p.passed_on})
        out["rule"] = self._rule_argument(self.rules, values)
        if self.input_rules is not None:
            out["input_layer_rule"] = self._rule_argument(self.input_rules, values)
        out.update({name: resolve(v, values) for name, v in self.fixes.items()})
        return out

    @staticmethod
    def _rule_argument(pairs: tuple[tuple[Selector, Any], ...], values: Mapping[str, Any]) -> Any:
        """One rule for all (a single :func:`is_kernel` pair) or a ``(condition, rule)`` list."""
        if len(pairs) == 1 and pairs[0][0] is is_kernel:
            return resolve(pairs[0][1], values)
        return [(selector, resolve(spec, values)) for selector, spec in pairs]

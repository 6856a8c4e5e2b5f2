"""The registry itself: named things by kind, plain and qualified names, conflicts.

:class:`Registry` keeps every registration (an :class:`Entry`: the object, the plugin and the
distribution that gave it) in a fixed order. A name one plugin gives means that object. A name
several plugins give (a conflict) keeps all of them:

- **built-in against a third party**: the plain name means innv's built-in one, so that code
  written against innv's documented names (and innv's own analyzers, which look up rules such
  as ``"Flat"`` or ``"ZPlus"`` by name) keeps its meaning and its results whatever else is
  installed. The other one is reached by its qualified name, ``"innv-gamma-occlusion:Gamma"``.
- **between third parties**: no one is more expected than the other, so using the plain name
  raises :class:`AmbiguousNameError` listing the qualified names to choose from. It never
  silently depends on which package was installed or how its entry points are named.
- **layer handlers** (keyed by class, not picked by name): the first one is used.

Registering the very same object under the same name from two plugins is no conflict. See
:mod:`innv_core.registry.names` for qualified names and :mod:`innv_core.registry.loading` for
how plugins fill the registry. This module does not import TensorFlow.
"""

from __future__ import annotations

from typing import Any

import attrs

from innv_core.errors import AmbiguousNameError, DuplicateNameError, UnknownNameError
from innv_core.layers import Crossing, Family, LayerKind
from innv_core.registry.names import (
    BY_HAND,
    ambiguous_message,
    is_builtin,
    label,
    matching,
    qualified,
    show,
    unknown_name_message,
    unknown_qualifier_message,
)

KINDS = ("analyzers", "rules", "pattern_types", "perturbations", "layer_kinds", "families", "crossings",
         "layers", "ops", "conventions", "metrics")


@attrs.frozen
class Entry:
    """One registration of a thing and where it came from."""

    kind: str
    name: str
    obj: Any
    plugin: str
    distribution: str | None = None
    entry_point: str | None = None  # ``"name = module"`` of the plugin, None if registered by hand

    @property
    def builtin(self) -> bool:
        """Whether the entry comes from innv itself."""
        return is_builtin(self.distribution)

    def origin(self) -> str:
        """``plugin 'x' (entry point x = mod, distribution d)`` for messages."""
        if self.entry_point is None and self.distribution is None:
            return f"plugin {self.plugin!r} (registered by hand)"
        where = [f"entry point {self.entry_point}"] if self.entry_point else []
        where.append(f"distribution {self.distribution or '?'}")
        return f"plugin {self.plugin!r} ({', '.join(where)})"


class Registry:
    """Named things contributed by plugins, grouped by kind.

    Plugins call the ``add_*`` methods from their hooks. Every registration is kept, the first
    one of a name being its default; see the module documentation for what a name given by
    several plugins means. A plugin adding one name twice itself gets a
    :class:`DuplicateNameError` (and is skipped when its hook runs inside :func:`get_registry`).
    """

    def __init__(self) -> None:
        self._entries: dict[str, dict[Any, list[Entry]]] = {kind: {} for kind in KINDS}
        self._current_plugin = BY_HAND
        self._current_dist: str | None = None
        self._current_ep: str | None = None
        self._added: list[tuple[str, Any, Entry]] = []  # by the running hook, for a rollback

    # -- adding --------------------------------------------------------------------------
    def _add(self, kind: str, key: Any, obj: Any) -> None:
        providers = self._entries[kind].setdefault(key, [])
        for old in providers:
            if old.plugin == self._current_plugin:
                raise DuplicateNameError(
                    f"{label(kind)} {show(key)!r} is registered twice by the same plugin "
                    f"{old.plugin!r} ({old.distribution or 'no distribution'}): first {old.obj!r}, "
                    f"then {obj!r}. That is a bug in the plugin: register each name once."
                )
        entry = Entry(kind, show(key), obj, self._current_plugin, self._current_dist, self._current_ep)
        providers.append(entry)
        self._added.append((kind, key, entry))

    def _rollback(self) -> None:
        """Remove what the running hook added (it failed)."""
        for kind, key, entry in reversed(self._added):
            providers = self._entries[kind][key]
            providers[:] = [e for e in providers if e is not entry]
            if not providers:
                del self._entries[kind][key]
        self._added = []

    def add_analyzer(self, name: str, cls: type) -> None:
        """Register an analyzer class under ``name`` (used by ``create_analyzer``)."""
        self._add("analyzers", name, cls)

    def add_rule(self, name: str, cls: type) -> None:
        """Register an LRP rule class under ``name`` (used by ``LRP(rule=name)``)."""
        self._add("rules", name, cls)

    def add_pattern_type(self, name: str, cls: type) -> None:
        """Register a pattern type under ``name`` (used by ``PatternComputer``)."""
        self._add("pattern_types", name, cls)

    def add_perturbation(self, name: str, fn: Any) -> None:
        """Register a perturbation function under ``name`` (used by ``Perturbation``)."""
        self._add("perturbations", name, fn)

    def add_convention(self, name: str, convention: Any) -> None:
        """Register an LRP attention convention under ``name`` (used by ``LRP(attention=name)``).

        ``convention``: how relevance crosses softmax, attention and products of signals inside
        opened layers (an ``innv_plugins.lrp.conventions.Convention``).
        """
        self._add("conventions", name, convention)

    def add_metric(self, name: str, cls: type) -> None:
        """Register a metric class (an ``innv_core.metrics.Metric``) under ``name`` (used by
        ``create_metric``)."""
        self._add("metrics", name, cls)

    def add_layer(self, layer_class: type | str, handler: Any) -> None:
        """Tell the reverse engine how to treat ``layer_class`` (an ``innv_core.layers.LayerHandler``).

        ``layer_class`` may be the class or its qualified name (``"pkg.module.Class"``), so that a
        plugin can teach classes of an optional library without importing it.
        """
        self._add("layers", layer_class, handler)

    def add_layer_kind(self, kind: LayerKind) -> None:
        """Register a layer kind (:class:`innv_core.layers.LayerKind`); handlers may then name it.

        Call it from ``innv_register_layer_kinds``, which runs before ``innv_register_layers``.
        """
        if not isinstance(kind, LayerKind):
            raise TypeError(f"add_layer_kind takes an innv_core.layers.LayerKind, got {kind!r}.")
        self._add("layer_kinds", kind.name, kind)

    def add_family(self, name: str, title: str, analyzer: str | None = None,
                   fallback: str | None = None, order: int = 100, default: str = "gradient") -> None:
        """Name an analyzer family for tables: a column ``title`` of the supported-layers page.

        ``analyzer``: the registered analyzer name standing for the family; ``fallback``: the
        family whose crossings apply where this one registered none (see :meth:`crossing`);
        ``order``: columns are sorted by ``(order, title)``; ``default``: the description of
        kinds without a crossing. See :class:`innv_core.layers.Family`.
        """
        self._add("families", name, Family(name, title, analyzer, fallback, order, default))

    def add_crossing(self, family: str, kind: str, how: Any, description: str) -> None:
        """Say how the analyzer family ``family`` crosses layers of ``kind``.

        ``how`` is what the family needs (LRP: a mapping function; DeepLIFT: a role name; None:
        a description only); ``description`` is shown on the supported-layers page.
        """
        self._add("crossings", crossing_key(family, kind), Crossing(family, kind, how, description))

    def add_op(self, name: str, handler: Any) -> None:
        """Give the ``keras.ops`` function ``name`` a gradient rule inside opened layers.

        ``handler(original, context) -> replacement`` (see :mod:`innv_core.opening`).
        """
        self._add("ops", name, handler)

    # -- looking up ----------------------------------------------------------------------
    def entries(self, kind: str) -> dict[Any, Entry]:
        """Every name :meth:`get` resolves, keyed by that name (the layer class for ``layers``).

        A name with one provider maps to its entry. A conflicting name appears under each
        provider's qualified name (``"dist:name"``), and under its plain name only if that
        resolves (to the built-in one). For ``layers``: each class and the handler used.
        """
        out: dict[Any, Entry] = {}
        for key, providers in self._entries[kind].items():
            distinct = _distinct(providers)
            if kind == "layers" or len(distinct) == 1:
                out[key] = providers[0]
                continue
            chosen = _builtin_choice(distinct)
            if chosen is not None:
                out[key] = chosen
            for entry in distinct:
                out[self._qualified(entry, providers)] = entry
        return out

    def names(self, kind: str) -> list[str]:
        """The plain names of ``kind``, sorted (a conflicting name once)."""
        return sorted(providers[0].name for providers in self._entries[kind].values())

    def providers(self, kind: str, name: Any) -> list[Entry]:
        """Every registration of ``name``, in order (the first is the default); [] if none."""
        try:
            return list(self._entries[kind].get(name, ()))
        except TypeError:  # unhashable name
            return []

    def conflicts(self, kind: str) -> dict[str, list[Entry]]:
        """The names of ``kind`` given by several plugins with different objects, with those entries."""
        return {
            providers[0].name: distinct
            for providers in self._entries[kind].values()
            if len(distinct := _distinct(providers)) > 1
        }

    def get(self, kind: str, name: Any) -> Any:
        """The object registered as ``name`` (plain, or qualified as ``"dist:name"``).

        A name that several plugins give resolves to innv's built-in one when one of them is
        built in; between third-party plugins it is ambiguous.

        Raises:
            UnknownNameError: (a ``KeyError``) no such name; the message lists the names and
                the closest ones.
            AmbiguousNameError: (an ``UnknownNameError``) several third-party plugins give the
                name; the message lists the qualified names to choose from.
        """
        return self.resolve(kind, name).obj

    def resolve(self, kind: str, name: Any) -> Entry:
        """The :class:`Entry` that :meth:`get` returns the object of."""
        providers = self.providers(kind, name)
        if providers:
            distinct = _distinct(providers)
            if len(distinct) == 1 or kind == "layers":
                return providers[0]
            chosen = _builtin_choice(distinct)
            if chosen is not None:
                return chosen
            raise AmbiguousNameError(self._ambiguous_message(kind, show(name), providers))
        if isinstance(name, str) and ":" in name:
            qualifier, _, plain = name.partition(":")
            providers = self.providers(kind, plain)
            if providers:
                matches = _distinct(matching(qualifier, providers))
                if len(matches) == 1:
                    return matches[0]
                if matches:
                    raise AmbiguousNameError(self._ambiguous_message(kind, plain, matches, qualifier))
                raise UnknownNameError(unknown_qualifier_message(
                    kind, name, plain, qualifier, _distinct(providers), providers))
        raise UnknownNameError(unknown_name_message(kind, name, self.names(kind)))

    def find_name(self, kind: str, obj: Any) -> str | None:
        """A name under which :meth:`get` returns ``obj``, if any (for saving).

        The plain name when it resolves to ``obj``, else the qualified name (``"dist:name"``),
        e.g. for a third-party class whose plain name is ambiguous or means the built-in one.
        """
        qualified = None
        for key, providers in self._entries[kind].items():
            for entry in providers:
                if entry.obj is not obj:
                    continue
                try:
                    if self.resolve(kind, key).obj is obj:
                        return entry.name
                except KeyError:
                    pass
                if qualified is None:
                    qualified = self._qualified(entry, providers)
        return qualified

    def describe(self, entry: Entry) -> str:
        """What a conflict means for this entry, for ``innv list`` (``""`` if no conflict)."""
        for providers in self._entries[entry.kind].values():
            if any(e is entry for e in providers):
                break
        else:
            return ""
        distinct = _distinct(providers)
        if len(distinct) == 1:
            if entry is providers[0]:
                return ""
            return f"same object as plugin {providers[0].plugin}'s, no conflict"
        if entry.kind == "layers":
            return "conflict: this handler is used" if entry is providers[0] else \
                f"conflict: ignored, plugin {providers[0].plugin}'s handler is used"
        qualified = self._qualified(entry, providers)
        chosen = _builtin_choice(distinct)
        if chosen is None:
            return f"conflict: ambiguous, use {qualified}"
        if entry is chosen:
            return f"conflict: {entry.name} means this built-in one"
        return f"conflict: only as {qualified}, plain {entry.name} means the built-in one"

    def layer_kind(self, name: str) -> LayerKind | None:
        """The registered :class:`LayerKind` called ``name``, else None."""
        if name not in self._entries["layer_kinds"]:
            return None
        return self.get("layer_kinds", name)

    def layer_kinds(self) -> list[LayerKind]:
        """Every registered layer kind, in registration order (one per name)."""
        return [self.get("layer_kinds", name) for name in self._entries["layer_kinds"]]

    def families(self) -> list[Family]:
        """The registered analyzer families, sorted by ``(order, title)`` (the table's columns)."""
        families = [self.get("families", name) for name in self._entries["families"]]
        return sorted(families, key=lambda f: (f.order, f.title))

    def crossing(self, family: str, kind: str) -> Crossing | None:
        """How ``family`` crosses layers of ``kind``: its own :class:`Crossing`, else that of
        its fallback family (and so on), else None. ``Crossing.family`` tells whose it is."""
        seen: set[str] = set()
        name: str | None = family
        while name is not None and name not in seen:
            seen.add(name)
            key = crossing_key(name, kind)
            if key in self._entries["crossings"]:
                return self.get("crossings", key)
            fam = self.get("families", name) if name in self._entries["families"] else None
            name = fam.fallback if fam is not None else None
        return None

    def crossing_description(self, family: str, kind: str) -> str:
        """How ``family`` crosses ``kind`` in words: its :meth:`crossing`'s description, else the
        family's ``default`` (``"gradient"`` for a family nobody named)."""
        crossing = self.crossing(family, kind)
        if crossing is not None:
            return crossing.description
        fam = self.get("families", family) if family in self._entries["families"] else None
        return fam.default if fam is not None else "gradient"

    def layer_handler(self, layer_class: type) -> Any:
        """The handler for ``layer_class`` or its nearest registered base class, else None."""
        table = self._entries["layers"]
        for klass in layer_class.__mro__:
            if klass in table:
                return table[klass][0].obj
            qualified = f"{klass.__module__}.{klass.__qualname__}"
            if qualified in table:
                return table[qualified][0].obj
        return None

    def _qualified(self, entry: Entry, providers: list[Entry]) -> str:
        return qualified(entry, providers)

    def _ambiguous_message(self, kind: str, name: str, providers: list[Entry],
                           qualifier: str | None = None) -> str:
        all_providers = self.providers(kind, name) or providers
        return ambiguous_message(kind, name, _distinct(providers), all_providers, qualifier)


def crossing_key(family: str, kind: str) -> str:
    """The name a crossing is registered under: ``"lrp/max_pooling"``."""
    return f"{family}/{kind}"


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return type(a) is type(b) and not isinstance(a, type) and bool(a == b)
    except Exception:  # noqa: BLE001 - objects whose == is not a plain bool
        return False


def _distinct(providers: list[Entry]) -> list[Entry]:
    """The first entry of each different object, in order."""
    out: list[Entry] = []
    for entry in providers:
        if not any(_same(entry.obj, seen.obj) for seen in out):
            out.append(entry)
    return out


def _builtin_choice(distinct: list[Entry]) -> Entry | None:
    builtins = [e for e in distinct if e.builtin]
    return builtins[0] if len(builtins) == 1 else None

"""The registry: every analyzer, rule, pattern type, perturbation and layer handler by name.

The registry is filled by plugins through the hooks of :mod:`innv_core.hookspecs`. Plugins are
discovered through the entry-point group ``innv`` (the built-ins exactly like a third party's),
once per process, on first use. ``INNV_DISABLE_PLUGIN_AUTOLOAD=1`` turns discovery off; plugins
can always be registered by hand with :func:`register_plugin`.

A broken plugin never breaks the others (as in pytest): a plugin that fails to import or to
validate, or whose hook raises -- including a :class:`DuplicateNameError` for registering one
name twice itself -- is skipped with a :class:`PluginLoadWarning`, and what that hook had added
is removed again.

**Two plugins giving the same name** (a conflict) break nothing either. The registry keeps every
registration, in a fixed order (innv's built-in plugins first, then by plugin name), and warns
once per process per conflicting name with a :class:`PluginConflictWarning` naming both plugins,
their entry points and distributions. Every other name keeps working. For the conflicting name:

- **built-in against a third party**: the plain name means innv's built-in one, so that code
  written against innv's documented names (and innv's own analyzers, which look up rules such
  as ``"Flat"`` or ``"ZPlus"`` by name) keeps its meaning and its results whatever else is
  installed. The other one is reached by its qualified name, ``"innv-gamma-occlusion:Gamma"``.
- **between third parties**: no one is more expected than the other, so using the plain name
  raises :class:`AmbiguousNameError` listing the qualified names to choose from. It never
  silently depends on which package was installed or how its entry points are named.
- **layer handlers** (keyed by class, not picked by name): the first one is used.

Registering the very same object under the same name from two plugins is no conflict.

A **qualified name** ``"qualifier:name"`` is accepted wherever a name is (``create_analyzer``,
``LRP(rule=...)``, pattern types, perturbations, saved files); the qualifier is the
distribution's name, compared as PEP 503 does (case-insensitive, ``-``, ``_`` and ``.`` alike),
or the plugin's name (for a plugin registered by hand, which has no distribution).

This module must stay light: it does not import TensorFlow.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import os
import re
import threading
import warnings
from collections.abc import Iterable
from typing import Any

import attrs
import pluggy

from innv_core import hookspecs
from innv_core.errors import (
    AmbiguousNameError,
    DuplicateNameError,
    PluginConflictWarning,
    PluginLoadWarning,
    UnknownNameError,
)

KINDS = ("analyzers", "rules", "pattern_types", "perturbations", "layers", "ops", "conventions")
AUTOLOAD_ENV = "INNV_DISABLE_PLUGIN_AUTOLOAD"
BUILTIN_DISTRIBUTION = "innv"
BY_HAND = "<by hand>"


def canonical_distribution(name: str) -> str:
    """A distribution name normalized as in PEP 503: ``Innv_Gamma.Occlusion`` -> ``innv-gamma-occlusion``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _is_builtin(distribution: str | None) -> bool:
    return distribution is not None and canonical_distribution(distribution) == BUILTIN_DISTRIBUTION


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
        return _is_builtin(self.distribution)

    def origin(self) -> str:
        """``plugin 'x' (entry point x = mod, distribution d)`` for messages."""
        if self.entry_point is None and self.distribution is None:
            return f"plugin {self.plugin!r} (registered by hand)"
        where = [f"entry point {self.entry_point}"] if self.entry_point else []
        where.append(f"distribution {self.distribution or '?'}")
        return f"plugin {self.plugin!r} ({', '.join(where)})"


@attrs.frozen
class BrokenPlugin:
    """An entry point or plugin that failed to load or register, with its error."""

    name: str
    distribution: str | None
    error: str


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
                    f"{_label(kind)} {_show(key)!r} is registered twice by the same plugin "
                    f"{old.plugin!r} ({old.distribution or 'no distribution'}): first {old.obj!r}, "
                    f"then {obj!r}. That is a bug in the plugin: register each name once."
                )
        entry = Entry(kind, _show(key), obj, self._current_plugin, self._current_dist, self._current_ep)
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

    def add_layer(self, layer_class: type | str, handler: Any) -> None:
        """Tell the reverse engine how to treat ``layer_class`` (an ``innv_core.layers.LayerHandler``).

        ``layer_class`` may be the class or its qualified name (``"pkg.module.Class"``), so that a
        plugin can teach classes of an optional library without importing it.
        """
        self._add("layers", layer_class, handler)

    def add_op(self, name: str, handler: Any) -> None:
        """Give the ``keras.ops`` function ``name`` a gradient rule inside opened layers.

        ``handler(original, context) -> replacement`` (see :mod:`innv_core.opening`).
        """
        self._add("ops", name, handler)

    def add_convention(self, name: str, convention: Any) -> None:
        """Register an LRP attention convention under ``name`` (used by ``LRP(attention=name)``).

        ``convention``: how relevance crosses softmax, attention and products of signals inside
        opened layers (an ``innv_plugins.lrp.conventions.Convention``).
        """
        self._add("conventions", name, convention)

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
            raise AmbiguousNameError(self._ambiguous_message(kind, _show(name), providers))
        if isinstance(name, str) and ":" in name:
            qualifier, _, plain = name.partition(":")
            providers = self.providers(kind, plain)
            if providers:
                matches = _distinct(_matching(qualifier, providers))
                if len(matches) == 1:
                    return matches[0]
                if matches:
                    raise AmbiguousNameError(self._ambiguous_message(kind, plain, matches, qualifier))
                choices = ", ".join(repr(self._qualified(e, providers)) for e in _distinct(providers))
                raise UnknownNameError(
                    f"Unknown {_label(kind)} {name!r}: {plain!r} is registered, but by no "
                    f"distribution or plugin called {qualifier!r}. Its providers: {choices}. "
                    "Run `innv list` to see every registered name and the plugin that gives it."
                )
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

    # -- messages ------------------------------------------------------------------------
    def _qualified(self, entry: Entry, providers: list[Entry]) -> str:
        candidates = []
        if entry.distribution:
            candidates.append(canonical_distribution(entry.distribution))
        candidates.append(entry.plugin)
        for qualifier in candidates:
            matches = _matching(qualifier, providers)
            if ":" not in qualifier and len(matches) == 1 and matches[0] is entry:
                return f"{qualifier}:{entry.name}"
        return f"{entry.plugin}:{entry.name}"

    def _ambiguous_message(self, kind: str, name: str, providers: list[Entry],
                           qualifier: str | None = None) -> str:
        distinct = _distinct(providers)
        all_providers = self.providers(kind, name) or providers
        listing = "; ".join(f"{self._qualified(e, all_providers)!r} from {e.origin()}" for e in distinct)
        said = f"{qualifier}:{name}" if qualifier else name
        return (
            f"{_label(kind).capitalize()} {said!r} is ambiguous: {len(distinct)} plugins give it: "
            f"{listing}. Say which one with its qualified name, e.g. "
            f"{self._qualified(distinct[0], all_providers)!r}; or uninstall one of the "
            f"distributions; or set {AUTOLOAD_ENV}=1 and register the plugins you want with "
            "innv_core.register_plugin. `innv list` shows every provider."
        )


def _label(kind: str) -> str:
    return kind[:-1].replace("_", " ")


def _show(key: Any) -> str:
    if isinstance(key, type):
        return f"{key.__module__}.{key.__qualname__}"
    return str(key)


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


def _matching(qualifier: str, providers: list[Entry]) -> list[Entry]:
    canonical = canonical_distribution(qualifier)
    by_dist = [e for e in providers if e.distribution and canonical_distribution(e.distribution) == canonical]
    return by_dist or [e for e in providers if e.plugin == qualifier]


def unknown_name_message(kind: str, name: Any, available: list[str]) -> str:
    close = difflib.get_close_matches(str(name), available, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return (
        f"Unknown {_label(kind)} {name!r}.{hint} Available: {', '.join(available) or '(none)'}. "
        "Run `innv list` to see every registered name and the plugin that gives it."
    )


def _conflict_message(kind: str, registry: Registry, providers: list[Entry]) -> str:
    distinct = _distinct(providers)
    first, name = distinct[0], distinct[0].name
    who = "; ".join(e.origin() for e in distinct)
    if kind == "layers":
        return (
            f"innv: the layer class {name} has a handler from {len(distinct)} plugins: {who}. "
            f"innv uses the first one, from plugin {first.plugin!r}. To use another, uninstall "
            f"the distribution of the one you do not want, or set {AUTOLOAD_ENV}=1 and register "
            "only the plugins you want with innv_core.register_plugin."
        )
    qualified = [registry._qualified(e, providers) for e in distinct]
    chosen = _builtin_choice(distinct)
    if chosen is not None:
        others = [repr(q) for e, q in zip(distinct, qualified) if e is not chosen]
        meaning = (f"The plain name {name!r} means innv's built-in one, from plugin {chosen.plugin!r}; "
                   f"write {' or '.join(others)} for the {'other' if len(others) == 1 else 'others'}.")
    else:
        meaning = (f"Using the plain name {name!r} is an error until you choose: write "
                   f"{' or '.join(repr(q) for q in qualified)}, uninstall one of the distributions, "
                   f"or set {AUTOLOAD_ENV}=1 and register the plugins you want with "
                   "innv_core.register_plugin.")
    return (
        f"innv: {_label(kind)} {name!r} is registered by {len(distinct)} plugins: {who}. {meaning} "
        "All other names work as usual."
    )


# -- the plugin manager ------------------------------------------------------------------
class _State:
    lock = threading.RLock()
    manager: pluggy.PluginManager | None = None
    registry: Registry | None = None
    broken: list[BrokenPlugin] = []  # found while loading the plugins (once per manager)
    hook_broken: list[BrokenPlugin] = []  # found while filling the current registry
    distributions: dict[str, str | None] = {}
    entry_points: dict[str, str] = {}
    hand_registered: list[tuple[object, str | None]] = []
    warned: set[str] = set()  # messages of the plugin warnings already given in this process


def _warn_once(message: str, category: type[Warning], stacklevel: int) -> None:
    if message in _State.warned:
        return
    _State.warned.add(message)
    warnings.warn(message, category, stacklevel=stacklevel + 1)


def _new_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    return pm


def _register_checked(pm: pluggy.PluginManager, plugin: object, name: str | None) -> str | None:
    """Register ``plugin``; if it fails validation (e.g. an unknown hook), leave it out and raise."""
    registered = pm.register(plugin, name=name)
    try:
        pm.check_pending()
    except Exception:
        pm.unregister(plugin)
        raise
    return registered


def _load_entry_points(pm: pluggy.PluginManager, broken: list[BrokenPlugin]) -> None:
    """Load each entry point of group ``innv``; a failing one is skipped with a warning."""
    for ep in sorted(importlib.metadata.entry_points(group=hookspecs.PROJECT_NAME), key=_ep_key):
        dist = ep.dist.name if ep.dist is not None else None
        name = ep.name
        if pm.is_blocked(name):
            continue
        taken = pm.get_plugin(name) is not None
        if taken and _State.distributions.get(name) == dist:
            continue  # the same distribution seen twice
        if taken:  # another distribution chose the same entry-point name: keep both
            name = f"{ep.name}@{canonical_distribution(dist or '?')}"
            if pm.get_plugin(name) is not None:
                continue
        try:
            plugin = ep.load()
            _register_checked(pm, plugin, name)
            _State.distributions[name] = dist
            _State.entry_points[name] = f"{ep.name} = {ep.value}"
        except Exception as exc:  # noqa: BLE001 - any failure of a third-party import
            _report_broken(broken, name, dist, exc, f"entry point {ep.name!r} = {ep.value!r}")


def _ep_key(ep: importlib.metadata.EntryPoint) -> tuple[int, str]:
    # Built-in plugins first, so that their names win reproducibly.
    builtin = ep.value.startswith("innv_plugins.") or (ep.dist is not None and _is_builtin(ep.dist.name))
    return (0 if builtin else 1, ep.name)


def _report_broken(broken: list[BrokenPlugin], name: str, dist: str | None, exc: Exception, what: str):
    error = f"{type(exc).__name__}: {exc}"
    broken.append(BrokenPlugin(name, dist, error))
    _warn_once(
        f"innv skipped plugin {what}"
        f" from distribution {dist or '?'}: {error}. Fix or uninstall that distribution; "
        f"the other plugins keep working.",
        PluginLoadWarning,
        stacklevel=3,
    )


_HOOKS = {
    "analyzers": "innv_register_analyzers",
    "rules": "innv_register_rules",
    "pattern_types": "innv_register_pattern_types",
    "perturbations": "innv_register_perturbations",
    "layers": "innv_register_layers",
    "ops": "innv_register_ops",
    "conventions": "innv_register_conventions",
}


def _fill_registry(pm: pluggy.PluginManager, broken: list[BrokenPlugin]) -> Registry:
    """Call each hook implementation in turn, so that every name knows the plugin that gave it.

    A hook that raises (a :class:`DuplicateNameError` included) is undone and reported.
    """
    registry = Registry()
    for hook_name in _HOOKS.values():
        impls = getattr(pm.hook, hook_name).get_hookimpls()
        for impl in sorted(impls, key=lambda i: _plugin_order(i.plugin_name)):
            registry._current_plugin = impl.plugin_name
            registry._current_dist = _State.distributions.get(impl.plugin_name)
            registry._current_ep = _State.entry_points.get(impl.plugin_name)
            registry._added = []
            try:
                impl.function(registry=registry)
            except Exception as exc:  # noqa: BLE001 - a third-party hook failed
                registry._rollback()
                what = f"{impl.plugin_name!r} ({hook_name})"
                _report_broken(broken, impl.plugin_name, registry._current_dist, exc, what)
    registry._current_plugin = BY_HAND
    registry._current_dist = registry._current_ep = None
    registry._added = []
    return registry


def _plugin_order(name: str) -> tuple[int, str]:
    return (0 if _is_builtin(_State.distributions.get(name)) else 1, name)


def _warn_conflicts(registry: Registry) -> None:
    for kind in KINDS:
        for providers in registry._entries[kind].values():
            if len(_distinct(providers)) > 1:
                _warn_once(_conflict_message(kind, registry, providers), PluginConflictWarning, stacklevel=3)


def plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, built on first use."""
    with _State.lock:
        if _State.manager is None:
            pm = _new_manager()
            broken: list[BrokenPlugin] = []
            if os.environ.get(AUTOLOAD_ENV, "") not in ("1", "true", "yes"):
                _load_entry_points(pm, broken)
            for plugin, name in _State.hand_registered:
                if pm.is_registered(plugin):
                    continue
                try:
                    _register_checked(pm, plugin, name)
                except Exception as exc:  # noqa: BLE001 - e.g. a name taken by an entry point
                    _report_broken(broken, name or repr(plugin), None, exc, f"{name or plugin!r} (by hand)")
            _State.manager, _State.broken = pm, broken
        return _State.manager


def get_registry() -> Registry:
    """The process-wide registry, filled from every plugin on first use."""
    with _State.lock:
        if _State.registry is None:
            pm = plugin_manager()
            hook_broken: list[BrokenPlugin] = []
            registry = _fill_registry(pm, hook_broken)
            _State.registry, _State.hook_broken = registry, hook_broken
            _warn_conflicts(registry)
        return _State.registry


def register_plugin(plugin: object, name: str | None = None) -> None:
    """Register a plugin object (a module or any object with hook functions) by hand.

    Works with or without entry-point autoloading; the registry is rebuilt on next use. Its
    names can be qualified by the plugin's name (``"name:thing"``); it has no distribution.
    """
    with _State.lock:
        if _State.manager is not None:
            _register_checked(_State.manager, plugin, name)
        _State.hand_registered.append((plugin, name))
        _State.registry = None


def unregister_plugin(plugin: object) -> None:
    """Remove a plugin registered by hand (or by entry point); the registry is rebuilt on next use."""
    with _State.lock:
        _State.hand_registered = [(p, n) for p, n in _State.hand_registered if p is not plugin]
        if _State.manager is not None and _State.manager.is_registered(plugin):
            _State.manager.unregister(plugin)
        _State.registry = None


def in_use() -> bool:
    """True if this process has built the registry or registered plugins by hand (then only the
    registry itself, not a cached listing, tells what is registered)."""
    return _State.registry is not None or bool(_State.hand_registered)


def reset() -> None:
    """Forget the manager, registry and given warnings; the next use discovers plugins again (for tests)."""
    with _State.lock:
        _State.manager = None
        _State.registry = None
        _State.broken = []
        _State.hook_broken = []
        _State.distributions = {}
        _State.entry_points = {}
        _State.hand_registered = []
        _State.warned = set()


def broken_plugins() -> list[BrokenPlugin]:
    """Plugins that failed to load or register in this process."""
    get_registry()
    return [*_State.broken, *_State.hook_broken]


def list_registered(kinds: Iterable[str] = KINDS) -> list[Entry]:
    """Every registration, by kind and name, with the plugin and distribution that gave it.

    A name several plugins give appears once per plugin, the default first (see
    :meth:`Registry.describe` for what each one means).
    """
    registry = get_registry()
    out: list[Entry] = []
    for kind in kinds:
        groups = sorted(registry._entries[kind].values(), key=lambda providers: providers[0].name)
        out.extend(entry for providers in groups for entry in providers)
    return out

"""The registry: every analyzer, rule, pattern type, perturbation and layer handler by name.

The registry is filled by plugins through the hooks of :mod:`innv_core.hookspecs`. Plugins are
discovered through the entry-point group ``innv`` (the built-ins exactly like a third party's),
once per process, on first use. ``INNV_DISABLE_PLUGIN_AUTOLOAD=1`` turns discovery off; plugins
can always be registered by hand with :func:`register_plugin`.

This module must stay light: it does not import TensorFlow.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import os
import threading
import warnings
from collections.abc import Iterable
from typing import Any

import attrs
import pluggy

from innv_core import hookspecs
from innv_core.errors import DuplicateNameError, PluginLoadWarning, UnknownNameError

KINDS = ("analyzers", "rules", "pattern_types", "perturbations", "layers")
AUTOLOAD_ENV = "INNV_DISABLE_PLUGIN_AUTOLOAD"


@attrs.frozen
class Entry:
    """One registered thing and where it came from."""

    kind: str
    name: str
    obj: Any
    plugin: str
    distribution: str | None = None


@attrs.frozen
class BrokenPlugin:
    """An entry point or plugin that failed to load or register, with its error."""

    name: str
    distribution: str | None
    error: str


class Registry:
    """Named things contributed by plugins, grouped by kind.

    Plugins call the ``add_*`` methods from their hooks. A name is unique within a kind;
    adding it twice raises :class:`DuplicateNameError` naming both plugins.
    """

    def __init__(self) -> None:
        self._entries: dict[str, dict[Any, Entry]] = {kind: {} for kind in KINDS}
        self._current_plugin = "<by hand>"
        self._current_dist: str | None = None

    # -- adding --------------------------------------------------------------------------
    def _add(self, kind: str, key: Any, obj: Any) -> None:
        table = self._entries[kind]
        if key in table:
            old = table[key]
            raise DuplicateNameError(
                f"{kind[:-1].replace('_', ' ')} {_show(key)!r} is registered twice: by plugin "
                f"{old.plugin!r} ({old.distribution or 'no distribution'}) and by plugin "
                f"{self._current_plugin!r} ({self._current_dist or 'no distribution'}). "
                "Uninstall or disable one of them, or rename the name in your plugin."
            )
        table[key] = Entry(kind, _show(key), obj, self._current_plugin, self._current_dist)

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

    def add_layer(self, layer_class: type, handler: Any) -> None:
        """Tell the reverse engine how to treat ``layer_class`` (an ``innv_core.layers.LayerHandler``)."""
        self._add("layers", layer_class, handler)

    # -- looking up ----------------------------------------------------------------------
    def entries(self, kind: str) -> dict[Any, Entry]:
        """All entries of ``kind``, keyed by name (layer class for ``layers``)."""
        return dict(self._entries[kind])

    def names(self, kind: str) -> list[str]:
        return sorted(e.name for e in self._entries[kind].values())

    def get(self, kind: str, name: Any) -> Any:
        """The object registered as ``name``; ``KeyError`` lists the names and the closest ones."""
        try:
            return self._entries[kind][name].obj
        except KeyError:
            raise UnknownNameError(_unknown_name_message(kind, name, self.names(kind))) from None
        except TypeError:  # unhashable name
            raise UnknownNameError(_unknown_name_message(kind, name, self.names(kind))) from None

    def find_name(self, kind: str, obj: Any) -> str | None:
        """The name under which ``obj`` is registered, if any."""
        for entry in self._entries[kind].values():
            if entry.obj is obj:
                return entry.name
        return None

    def layer_handler(self, layer_class: type) -> Any:
        """The handler for ``layer_class`` or its nearest registered base class, else None."""
        table = self._entries["layers"]
        for klass in layer_class.__mro__:
            if klass in table:
                return table[klass].obj
        return None


def _show(key: Any) -> str:
    if isinstance(key, type):
        return f"{key.__module__}.{key.__qualname__}"
    return str(key)


def _unknown_name_message(kind: str, name: Any, available: list[str]) -> str:
    label = kind[:-1].replace("_", " ")
    close = difflib.get_close_matches(str(name), available, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return (
        f"Unknown {label} {name!r}.{hint} Available: {', '.join(available) or '(none)'}. "
        "Run `innv list` to see every registered name and the plugin that gives it."
    )


# -- the plugin manager ------------------------------------------------------------------
class _State:
    lock = threading.RLock()
    manager: pluggy.PluginManager | None = None
    registry: Registry | None = None
    broken: list[BrokenPlugin] = []
    distributions: dict[str, str | None] = {}
    hand_registered: list[tuple[object, str | None]] = []


def _new_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    return pm


def _load_entry_points(pm: pluggy.PluginManager, broken: list[BrokenPlugin]) -> None:
    """Load each entry point of group ``innv``; a failing one is skipped with a warning."""
    for ep in sorted(importlib.metadata.entry_points(group=hookspecs.PROJECT_NAME), key=_ep_key):
        dist = ep.dist.name if ep.dist is not None else None
        if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
            continue
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
            _State.distributions[ep.name] = dist
        except Exception as exc:  # noqa: BLE001 - any failure of a third-party import
            _report_broken(broken, ep.name, dist, exc, f"entry point {ep.name!r} = {ep.value!r}")


def _ep_key(ep: importlib.metadata.EntryPoint) -> tuple[int, str]:
    # Built-in plugins first, so that their names win reproducibly in error messages.
    return (0 if ep.value.startswith("innv_plugins.") else 1, ep.name)


def _report_broken(broken: list[BrokenPlugin], name: str, dist: str | None, exc: Exception, what: str):
    error = f"{type(exc).__name__}: {exc}"
    broken.append(BrokenPlugin(name, dist, error))
    warnings.warn(
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
}


def _fill_registry(pm: pluggy.PluginManager, broken: list[BrokenPlugin]) -> Registry:
    """Call each hook implementation in turn, so that every name knows the plugin that gave it."""
    registry = Registry()
    for hook_name in _HOOKS.values():
        impls = getattr(pm.hook, hook_name).get_hookimpls()
        for impl in sorted(impls, key=lambda i: _plugin_order(i.plugin_name)):
            registry._current_plugin = impl.plugin_name
            registry._current_dist = _State.distributions.get(impl.plugin_name)
            try:
                impl.function(registry=registry)
            except DuplicateNameError:
                raise
            except Exception as exc:  # noqa: BLE001 - a third-party hook failed
                what = f"{impl.plugin_name!r} ({hook_name})"
                _report_broken(broken, impl.plugin_name, registry._current_dist, exc, what)
    registry._current_plugin = "<by hand>"
    registry._current_dist = None
    return registry


def _plugin_order(name: str) -> tuple[int, str]:
    dist = _State.distributions.get(name)
    return (0 if dist == "innv" else 1, name)


def plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, built on first use."""
    with _State.lock:
        if _State.manager is None:
            pm = _new_manager()
            broken: list[BrokenPlugin] = []
            if os.environ.get(AUTOLOAD_ENV, "") not in ("1", "true", "yes"):
                _load_entry_points(pm, broken)
            for plugin, name in _State.hand_registered:
                pm.register(plugin, name=name)
            pm.check_pending()
            _State.manager, _State.broken = pm, broken
        return _State.manager


def get_registry() -> Registry:
    """The process-wide registry, filled from every plugin on first use."""
    with _State.lock:
        if _State.registry is None:
            pm = plugin_manager()
            _State.registry = _fill_registry(pm, _State.broken)
        return _State.registry


def register_plugin(plugin: object, name: str | None = None) -> None:
    """Register a plugin object (a module or any object with hook functions) by hand.

    Works with or without entry-point autoloading; the registry is rebuilt on next use.
    """
    with _State.lock:
        _State.hand_registered.append((plugin, name))
        if _State.manager is not None:
            _State.manager.register(plugin, name=name)
            _State.manager.check_pending()
        _State.registry = None


def unregister_plugin(plugin: object) -> None:
    """Remove a plugin registered by hand (or by entry point); the registry is rebuilt on next use."""
    with _State.lock:
        _State.hand_registered = [(p, n) for p, n in _State.hand_registered if p is not plugin]
        if _State.manager is not None and _State.manager.is_registered(plugin):
            _State.manager.unregister(plugin)
        _State.registry = None


def reset() -> None:
    """Forget the manager and registry; the next use discovers plugins again (for tests)."""
    with _State.lock:
        _State.manager = None
        _State.registry = None
        _State.broken = []
        _State.distributions = {}
        _State.hand_registered = []


def broken_plugins() -> list[BrokenPlugin]:
    """Plugins that failed to load or register in this process."""
    get_registry()
    return list(_State.broken)


def list_registered(kinds: Iterable[str] = KINDS) -> list[Entry]:
    """Everything registered, with the plugin and distribution that gave each name."""
    registry = get_registry()
    return [e for kind in kinds for e in sorted(registry.entries(kind).values(), key=lambda e: e.name)]

"""Loading plugins: the process-wide plugin manager and the registry it fills.

Plugins are discovered through the entry-point group ``innv`` (the built-ins exactly like a
third party's), once per process, on first use. ``INNV_DISABLE_PLUGIN_AUTOLOAD=1`` turns
discovery off; ``INNV_PLUGIN_DISTRIBUTIONS=innv,lab-a`` restricts it to the entry points of
those distributions (:func:`discovered_entry_points`), e.g. for a test suite that must not
depend on what else is installed; plugins can always be registered by hand with
:func:`register_plugin`.

A broken plugin never breaks the others (as in pytest): a plugin that fails to import or to
validate, or whose hook raises -- including a :class:`DuplicateNameError` for registering one
name twice itself -- is skipped with a :class:`PluginLoadWarning`, and what that hook had added
is removed again.

**Two plugins giving the same name** (a conflict) break nothing either. The registry keeps every
registration, in a fixed order (innv's built-in plugins first, then by plugin name), and warns
once per process per conflicting name with a :class:`PluginConflictWarning` naming both plugins,
their entry points and distributions (what the name then means: :mod:`.lookup`).

This module does not import TensorFlow.
"""

from __future__ import annotations

import importlib.metadata
import os
import threading
import warnings
from collections.abc import Iterable

import attrs
import pluggy

from innv_core import hookspecs
from innv_core.errors import PluginConflictWarning, PluginLoadWarning, UnknownNameError
from innv_core.registry.lookup import KINDS, Entry, Registry, _builtin_choice, _distinct
from innv_core.registry.names import (
    AUTOLOAD_ENV,
    BY_HAND,
    DISTRIBUTIONS_ENV,
    canonical_distribution,
    conflict_message,
    is_builtin,
)


@attrs.frozen
class BrokenPlugin:
    """An entry point or plugin that failed to load or register, with its error."""

    name: str
    distribution: str | None
    error: str


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


def allowed_distributions() -> frozenset[str] | None:
    """The distributions (PEP 503 names) ``INNV_PLUGIN_DISTRIBUTIONS`` restricts discovery to;
    None when it is unset or empty (every installed distribution)."""
    names = [n.strip() for n in os.environ.get(DISTRIBUTIONS_ENV, "").split(",")]
    return frozenset(canonical_distribution(n) for n in names if n) or None


def discovered_entry_points() -> list[importlib.metadata.EntryPoint]:
    """The entry points of group ``innv`` that discovery loads (unsorted).

    Every installed distribution's, or with ``INNV_PLUGIN_DISTRIBUTIONS`` only those of the
    distributions it names. Entry points that belong to no distribution (a program added them,
    nothing installed them) are always kept.
    """
    eps = list(importlib.metadata.entry_points(group=hookspecs.PROJECT_NAME))
    allowed = allowed_distributions()
    if allowed is None:
        return eps
    return [ep for ep in eps if ep.dist is None or canonical_distribution(ep.dist.name) in allowed]


def _load_entry_points(pm: pluggy.PluginManager, broken: list[BrokenPlugin]) -> None:
    """Load each entry point discovery finds; a failing one is skipped with a warning."""
    for ep in sorted(discovered_entry_points(), key=_ep_key):
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
    builtin = ep.value.startswith("innv_plugins.") or (ep.dist is not None and is_builtin(ep.dist.name))
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
    "layer_kinds": "innv_register_layer_kinds",  # before the layers, which name kinds
    "crossings": "innv_register_crossings",  # crossings and families
    "layers": "innv_register_layers",
    "ops": "innv_register_ops",
    "conventions": "innv_register_conventions",
    "metrics": "innv_register_metrics",
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
    _refuse_unknown_kinds(registry, broken)
    registry._current_plugin = BY_HAND
    registry._current_dist = registry._current_ep = None
    registry._added = []
    return registry


def _refuse_unknown_kinds(registry: Registry, broken: list[BrokenPlugin]) -> None:
    """Once every hook ran: undo the ``innv_register_layers`` of each plugin that gave a handler
    of a kind nobody registered, and report it like a failing hook."""
    known = registry.names("layer_kinds")
    offending: dict[str, list[Entry]] = {}
    for providers in registry._entries["layers"].values():
        for entry in providers:
            kind = getattr(entry.obj, "kind", None)  # a LayerHandler's (other objects: unchecked)
            if kind is not None and kind not in known:
                offending.setdefault(entry.plugin, []).append(entry)
    for plugin, bad in offending.items():
        for key, providers in list(registry._entries["layers"].items()):
            providers[:] = [e for e in providers if e.plugin != plugin]
            if not providers:
                del registry._entries["layers"][key]
        first = bad[0]
        kind = getattr(first.obj, "kind", None)
        error = UnknownNameError(_unknown_kind_message(first, kind, known))
        dist = _State.distributions.get(plugin)
        _report_broken(broken, plugin, dist, error, f"{plugin!r} (innv_register_layers)")


def _unknown_kind_message(entry: Entry, kind: object, known: list[str]) -> str:
    return (
        f"the layer class {entry.name} has a handler of kind {kind!r}, which no plugin "
        f"registered (known kinds: {', '.join(known) or '(none)'}). Register the kind in the "
        f"hook innv_register_layer_kinds with registry.add_layer_kind(LayerKind({kind!r}, "
        "description=...)) (innv_core.layers.LayerKind), and say how analyzer families cross "
        "it in innv_register_crossings; or give the handler one of the known kinds. None of "
        "this plugin's layer handlers is used"
    )


def _plugin_order(name: str) -> tuple[int, str]:
    return (0 if is_builtin(_State.distributions.get(name)) else 1, name)


def _warn_conflicts(registry: Registry) -> None:
    for kind in KINDS:
        for providers in registry._entries[kind].values():
            distinct = _distinct(providers)
            if len(distinct) > 1:
                message = conflict_message(kind, distinct, providers, _builtin_choice(distinct))
                _warn_once(message, PluginConflictWarning, stacklevel=3)


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

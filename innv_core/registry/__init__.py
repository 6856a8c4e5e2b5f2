"""The registry: every analyzer, rule, pattern type, perturbation and layer handler by name.

The registry is filled by plugins through the hooks of :mod:`innv_core.hookspecs`. Three parts:

- :mod:`.lookup`: :class:`Registry` and :class:`Entry`: adding, resolving plain and qualified
  names, conflicts;
- :mod:`.loading`: the process-wide plugin manager, entry-point discovery, isolation of broken
  plugins (:func:`get_registry`, :func:`register_plugin`, ...);
- :mod:`.names`: qualified names (``"dist:name"``), distribution names, and the messages for
  unknown, ambiguous and conflicting names.

This package must stay light: it does not import TensorFlow.
"""

from __future__ import annotations

# re-exported for older imports (documented in innv_core.errors)
from innv_core.errors import AmbiguousNameError as AmbiguousNameError
from innv_core.errors import DuplicateNameError as DuplicateNameError
from innv_core.errors import PluginConflictWarning as PluginConflictWarning
from innv_core.errors import PluginLoadWarning as PluginLoadWarning
from innv_core.errors import UnknownNameError as UnknownNameError
from innv_core.registry.loading import (
    BrokenPlugin,
    allowed_distributions,
    broken_plugins,
    discovered_entry_points,
    get_registry,
    in_use,
    list_registered,
    plugin_manager,
    register_plugin,
    reset,
    unregister_plugin,
)
from innv_core.registry.lookup import KINDS, Entry, Registry
from innv_core.registry.names import (
    AUTOLOAD_ENV,
    BUILTIN_DISTRIBUTION,
    BY_HAND,
    DISTRIBUTIONS_ENV,
    canonical_distribution,
    unknown_name_message,
)

__all__ = [
    "AUTOLOAD_ENV", "BUILTIN_DISTRIBUTION", "BY_HAND", "DISTRIBUTIONS_ENV", "KINDS", "BrokenPlugin", "Entry",
    "Registry", "allowed_distributions", "broken_plugins", "canonical_distribution",
    "discovered_entry_points", "get_registry", "in_use", "list_registered", "plugin_manager",
    "register_plugin", "reset", "unknown_name_message", "unregister_plugin",
]

"""Names in the registry: distribution names, qualified names, and the messages about names.

A **qualified name** ``"qualifier:name"`` is accepted wherever a name is; the qualifier is the
distribution's name, compared as PEP 503 does (case-insensitive, ``-``, ``_`` and ``.`` alike),
or the plugin's name (for a plugin registered by hand, which has no distribution).

The functions here take entries (:class:`innv_core.registry.lookup.Entry`) and decide nothing
about which one a name means; the registry tells them (``distinct``, ``chosen``).
"""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from innv_core.registry.lookup import Entry

AUTOLOAD_ENV = "INNV_DISABLE_PLUGIN_AUTOLOAD"
#: Comma-separated distribution names: discovery loads only their entry points (unset: all).
DISTRIBUTIONS_ENV = "INNV_PLUGIN_DISTRIBUTIONS"
BUILTIN_DISTRIBUTION = "innv"
BY_HAND = "<by hand>"


def canonical_distribution(name: str) -> str:
    """A distribution name normalized as in PEP 503: ``Innv_Gamma.Occlusion`` -> ``innv-gamma-occlusion``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def is_builtin(distribution: str | None) -> bool:
    """Whether ``distribution`` is innv itself."""
    return distribution is not None and canonical_distribution(distribution) == BUILTIN_DISTRIBUTION


def label(kind: str) -> str:
    """``"analyzers"`` -> ``"analyzer"``, ``"pattern_types"`` -> ``"pattern type"`` (for messages)."""
    return kind[:-1].replace("_", " ")


def show(key: Any) -> str:
    """A registry key as a name: a class by its qualified name, anything else as text."""
    if isinstance(key, type):
        return f"{key.__module__}.{key.__qualname__}"
    return str(key)


def matching(qualifier: str, providers: list[Entry]) -> list[Entry]:
    """The entries of ``providers`` that ``qualifier`` names (by distribution, else by plugin)."""
    canonical = canonical_distribution(qualifier)
    by_dist = [e for e in providers if e.distribution and canonical_distribution(e.distribution) == canonical]
    return by_dist or [e for e in providers if e.plugin == qualifier]


def qualified(entry: Entry, providers: list[Entry]) -> str:
    """The qualified name (``"dist:name"``, else ``"plugin:name"``) picking ``entry`` in ``providers``."""
    candidates = []
    if entry.distribution:
        candidates.append(canonical_distribution(entry.distribution))
    candidates.append(entry.plugin)
    for qualifier in candidates:
        matches = matching(qualifier, providers)
        if ":" not in qualifier and len(matches) == 1 and matches[0] is entry:
            return f"{qualifier}:{entry.name}"
    return f"{entry.plugin}:{entry.name}"


#: Registered names listed in full in an unknown-name message while this short (characters);
#: longer lists (41 analyzers, 30 metrics) are left to ``innv list``.
SHORT_LISTING = 80
#: The kinds ``innv list --kind`` takes (the others: ``innv list``).
_LISTED_KINDS = ("analyzers", "rules", "pattern_types", "perturbations", "layers", "layer_kinds",
                 "crossings", "conventions", "metrics")


def unknown_name_message(kind: str, name: Any, available: list[str]) -> str:
    """No ``kind`` called ``name``: the closest names, and where to see all of them.

    One short line (about 200 characters at most): the names themselves only when their list is
    short (a handful of conventions or pattern types), else ``innv list`` and its Python twin.
    """
    close = difflib.get_close_matches(str(name), available, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    listing = ", ".join(available)
    if not available or len(listing) <= SHORT_LISTING:
        hint += f" Registered: {listing or '(none)'}."
    option = f" --kind {kind}" if kind in _LISTED_KINDS else ""
    return (
        f"Unknown {label(kind)} {_shortened(repr(name))}.{hint} See `innv list{option}` "
        f"(in Python: innv_core.list_registered([{kind!r}]))."
    )


def _shortened(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def unknown_qualifier_message(kind: str, name: str, plain: str, qualifier: str,
                              distinct: list[Entry], providers: list[Entry]) -> str:
    """``plain`` is registered, but by nobody called ``qualifier``."""
    choices = ", ".join(repr(qualified(e, providers)) for e in distinct)
    return (
        f"Unknown {label(kind)} {name!r}: {plain!r} is registered, but by no "
        f"distribution or plugin called {qualifier!r}. Its providers: {choices}. "
        "Run `innv list` to see every registered name and the plugin that gives it."
    )


def ambiguous_message(kind: str, name: str, distinct: list[Entry], all_providers: list[Entry],
                      qualifier: str | None = None) -> str:
    """Several plugins give ``name`` and none is built in: the qualified names to choose from."""
    listing = "; ".join(f"{qualified(e, all_providers)!r} from {e.origin()}" for e in distinct)
    said = f"{qualifier}:{name}" if qualifier else name
    return (
        f"{label(kind).capitalize()} {said!r} is ambiguous: {len(distinct)} plugins give it: "
        f"{listing}. Say which one with its qualified name, e.g. "
        f"{qualified(distinct[0], all_providers)!r}; or uninstall one of the "
        f"distributions; or set {AUTOLOAD_ENV}=1 and register the plugins you want with "
        "innv_core.register_plugin. `innv list` shows every provider."
    )


def conflict_message(kind: str, distinct: list[Entry], providers: list[Entry], chosen: Entry | None) -> str:
    """The warning for a name several plugins give (``chosen``: the built-in one, if any)."""
    first, name = distinct[0], distinct[0].name
    who = "; ".join(e.origin() for e in distinct)
    if kind == "layers":
        return (
            f"innv: the layer class {name} has a handler from {len(distinct)} plugins: {who}. "
            f"innv uses the first one, from plugin {first.plugin!r}. To use another, uninstall "
            f"the distribution of the one you do not want, or set {AUTOLOAD_ENV}=1 and register "
            "only the plugins you want with innv_core.register_plugin."
        )
    names = [qualified(e, providers) for e in distinct]
    if chosen is not None:
        others = [repr(q) for e, q in zip(distinct, names) if e is not chosen]
        meaning = (f"The plain name {name!r} means innv's built-in one, from plugin {chosen.plugin!r}; "
                   f"write {' or '.join(others)} for the {'other' if len(others) == 1 else 'others'}.")
    else:
        meaning = (f"Using the plain name {name!r} is an error until you choose: write "
                   f"{' or '.join(repr(q) for q in names)}, uninstall one of the distributions, "
                   f"or set {AUTOLOAD_ENV}=1 and register the plugins you want with "
                   "innv_core.register_plugin.")
    return (
        f"innv: {label(kind)} {name!r} is registered by {len(distinct)} plugins: {who}. {meaning} "
        "All other names work as usual."
    )

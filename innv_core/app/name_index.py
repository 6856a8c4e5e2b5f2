"""The names every plugin registers, kept on disk so that the CLI answers without TensorFlow.

``innv list`` and the CLI's check of ``--method`` names need the registry, and filling it imports
every plugin, hence TensorFlow and Keras (seconds). The index is the registry's listing written
to a small JSON file. It stays valid while the installed plugins are unchanged: its key is the
``innv`` entry points discovery loads (name, module, distribution and version), the modification
times of the files in each entry point's module folder, ``INNV_DISABLE_PLUGIN_AUTOLOAD`` and
``INNV_PLUGIN_DISTRIBUTIONS``. Any change, or
a file that cannot be read, rebuilds it from the registry (and a folder that cannot be written
only costs the speed).

The file lives in ``$INNV_CACHE_DIR``, else ``$XDG_CACHE_HOME/innv``, else ``~/.cache/innv``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import attrs

from innv_core import registry as reg
from innv_core.errors import UnknownNameError

#: Bump when the file's layout changes.
FORMAT = 1


@attrs.frozen
class IndexEntry:
    """One registration as ``innv list`` shows it."""

    kind: str
    name: str
    plugin: str
    distribution: str | None
    note: str


@attrs.frozen
class NameIndex:
    """Every registered name (with its plugin) and the plugins that failed to load."""

    entries: tuple[IndexEntry, ...]
    broken: tuple[tuple[str, str | None, str], ...]  # (plugin, distribution, error)

    def of_kind(self, kind: str) -> list[IndexEntry]:
        return [e for e in self.entries if e.kind == kind]

    def check_name(self, kind: str, name: str) -> None:
        """Raise the registry's :class:`UnknownNameError` (with suggestions) if no plugin gives
        ``name``; a qualified ``"distribution:name"`` is checked by its plain part."""
        plain = name.rsplit(":", 1)[-1]
        names = sorted({e.name for e in self.of_kind(kind)})
        if plain not in names:
            raise UnknownNameError(reg.unknown_name_message(kind, name, names))


def cache_dir() -> Path:
    explicit = os.environ.get("INNV_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "innv"


def index_key() -> str | None:
    """A digest of everything the registered names depend on; None if it cannot be computed."""
    allowed = sorted(reg.allowed_distributions() or [])
    parts: list[Any] = [FORMAT, os.environ.get(reg.AUTOLOAD_ENV, ""), allowed]
    try:  # the entry points exactly as the registry discovers them
        for ep in reg.discovered_entry_points():
            dist = (ep.dist.name, ep.dist.version) if ep.dist is not None else None
            parts.append((ep.name, ep.value, dist, _folder_state(ep.value.split(":")[0])))
    except Exception:  # noqa: BLE001 - an odd installation: no index, the registry answers
        return None
    parts[3:] = sorted(parts[3:], key=repr)
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _folder_state(module: str) -> list[tuple[str, int, int]]:
    """Name, size and mtime of the files next to ``module``, found without importing it."""
    top, *rest = module.split(".")
    spec = importlib.util.find_spec(top)
    if spec is None:
        return []
    if spec.submodule_search_locations:
        folder = Path(list(spec.submodule_search_locations)[0]).joinpath(*rest)
        if not folder.is_dir():
            folder = folder.parent
    else:
        folder = Path(spec.origin).parent
    state = []
    for item in sorted(os.scandir(folder), key=lambda e: e.name):
        if item.is_file() and item.name.endswith(".py"):
            st = item.stat()
            state.append((item.name, st.st_size, st.st_mtime_ns))
    return state


def load() -> NameIndex:
    """The index: from the cache file when it is current, else built from the registry and saved.

    In a process that already uses the registry (or registered plugins by hand) the registry
    itself answers, and nothing is saved."""
    if reg.in_use():
        return build()
    key = index_key()
    path = cache_dir() / f"names-{key}.json" if key else None
    if path is not None:
        cached = _read(path)
        if cached is not None:
            return cached
    index = build()
    if path is not None:
        _write(path, index)
    return index


def build() -> NameIndex:
    """The index from the registry itself (imports every plugin)."""
    registry = reg.get_registry()
    entries = tuple(
        IndexEntry(e.kind, str(e.name), e.plugin, e.distribution, registry.describe(e))
        for kind in reg.KINDS for e in reg.list_registered([kind])
    )
    broken = tuple((b.name, b.distribution, str(b.error)) for b in reg.broken_plugins())
    return NameIndex(entries, broken)


def _read(path: Path) -> NameIndex | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return NameIndex(
            tuple(IndexEntry(**e) for e in data["entries"]),
            tuple(tuple(b) for b in data["broken"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write(path: Path, index: NameIndex) -> None:
    data = {"format": FORMAT, "entries": [attrs.asdict(e) for e in index.entries],
            "broken": [list(b) for b in index.broken]}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, path)
        for old in path.parent.glob("names-*.json"):  # earlier installations' indexes
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        pass

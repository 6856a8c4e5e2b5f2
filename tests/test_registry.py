"""The plugin contract: discovery, duplicates, broken plugins, autoload switch, listing."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import types
import warnings

import pytest

from innv_core import hookimpl, registry
from innv_core.registry import DuplicateNameError, PluginLoadWarning


@pytest.fixture
def fresh_registry():
    """Rebuild the registry around the test and restore the normal one afterwards."""
    registry.reset()
    yield
    registry.reset()


def test_builtins_come_from_entry_points_of_the_innv_distribution():
    entries = {e.name: e for e in registry.list_registered(["analyzers"])}
    for name in ("gradient", "gradient.baseline", "input_t_gradient", "deconvnet", "guided_backprop",
                 "integrated_gradients", "smoothgrad", "input", "random"):
        assert entries[name].distribution == "innv"
    assert entries["gradient"].plugin == "gradient"
    assert entries["input"].plugin == "misc"


def test_unknown_name_lists_available_and_suggests_closest():
    from innv_core import create_analyzer

    with pytest.raises(KeyError) as info:
        create_analyzer("gradeint", model=None)
    message = str(info.value)
    assert "Did you mean 'gradient'" in message
    assert "integrated_gradients" in message and "smoothgrad" in message


def test_duplicate_name_names_both_plugins(fresh_registry):
    first = types.SimpleNamespace(innv_register_analyzers=hookimpl(lambda registry: registry.add_analyzer("dup", int)))
    second = types.SimpleNamespace(innv_register_analyzers=hookimpl(lambda registry: registry.add_analyzer("dup", float)))
    registry.register_plugin(first, name="first_plugin")
    registry.register_plugin(second, name="second_plugin")
    with pytest.raises(DuplicateNameError) as info:
        registry.get_registry()
    assert "first_plugin" in str(info.value) and "second_plugin" in str(info.value)


def test_duplicate_of_a_builtin_name(fresh_registry):
    clash = types.SimpleNamespace(
        innv_register_analyzers=hookimpl(lambda registry: registry.add_analyzer("gradient", int))
    )
    registry.register_plugin(clash, name="clashing_plugin")
    with pytest.raises(DuplicateNameError, match="'gradient'.*'gradient'.*clashing_plugin"):
        registry.get_registry()


def test_plugin_registered_by_hand(fresh_registry):
    class Mine:
        pass

    plugin = types.SimpleNamespace(
        innv_register_analyzers=hookimpl(lambda registry: registry.add_analyzer("mine", Mine))
    )
    registry.register_plugin(plugin, name="by_hand")
    assert registry.get_registry().get("analyzers", "mine") is Mine
    assert registry.get_registry().get("analyzers", "gradient") is not None
    registry.unregister_plugin(plugin)
    with pytest.raises(KeyError):
        registry.get_registry().get("analyzers", "mine")


def test_broken_entry_point_is_skipped_with_warning(fresh_registry, monkeypatch):
    real = importlib.metadata.entry_points

    def with_broken(**kwargs):
        eps = list(real(**kwargs))
        if kwargs.get("group") == "innv":
            eps.append(importlib.metadata.EntryPoint("broken_one", "no_such_module_xyz", "innv"))
        return eps

    monkeypatch.setattr(importlib.metadata, "entry_points", with_broken)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reg = registry.get_registry()
    messages = [str(w.message) for w in caught if issubclass(w.category, PluginLoadWarning)]
    assert any("broken_one" in m and "no_such_module_xyz" in m for m in messages)
    assert reg.get("analyzers", "gradient") is not None  # the rest keep working
    assert [b.name for b in registry.broken_plugins()] == ["broken_one"]


def test_failing_hook_is_skipped_with_warning(fresh_registry):
    def explode(registry):
        raise RuntimeError("boom")

    registry.register_plugin(types.SimpleNamespace(innv_register_rules=hookimpl(explode)), name="exploding")
    with pytest.warns(PluginLoadWarning, match="exploding.*boom"):
        reg = registry.get_registry()
    assert "gradient" in reg.names("analyzers")


def test_autoload_can_be_disabled():
    code = (
        "import innv_core.registry as r, innv_plugins.misc as m;"
        "print(r.get_registry().names('analyzers'));"
        "r.register_plugin(m, name='misc');"
        "print(r.get_registry().names('analyzers'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={**__import__("os").environ, "INNV_DISABLE_PLUGIN_AUTOLOAD": "1"},
    ).stdout.splitlines()
    assert out == ["[]", "['input', 'random']"]


def test_importing_innv_core_does_not_import_tensorflow():
    code = "import sys, innv_core, innv_core.registry, innv_core.hookspecs; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"

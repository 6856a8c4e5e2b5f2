"""The plugin contract: discovery, conflicts and qualified names, broken plugins, autoload switch, listing."""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import subprocess
import sys
import textwrap
import types
import warnings

import pytest
from conftest import allow_plugins_of, plugin_env

from innv_core import hookimpl, registry
from innv_core.errors import AmbiguousNameError, PluginConflictWarning, UnknownNameError
from innv_core.registry import PluginLoadWarning


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


def test_unknown_name_suggests_closest_and_points_to_innv_list_in_one_short_line():
    from innv_core import create_analyzer

    with pytest.raises(KeyError) as info:
        create_analyzer("gradeint", model=None)
    message = info.value.args[0]
    assert "Did you mean 'gradient'" in message and "`innv list --kind analyzers`" in message
    assert "innv_core.list_registered(['analyzers'])" in message
    assert "smoothgrad" not in message and len(message) < 300  # not all 41 analyzers (~1,100 characters)


@pytest.mark.parametrize("kind, typo, suggestion", [
    ("analyzers", "lrp.epsilom", "lrp.epsilon"), ("metrics", "pixel_flipin", "pixel_flipping"),
    ("rules", "Epsilom", "Epsilon"), ("pattern_types", "relux", "relu"), ("perturbations", "zero", "zeros"),
    ("conventions", "attn", "attnlrp"), ("analyzers", "x" * 500, None)])
def test_every_unknown_name_message_is_short(kind, typo, suggestion):
    with pytest.raises(UnknownNameError) as info:
        registry.get_registry().get(kind, typo)
    message = info.value.args[0]
    assert len(message) < 300 and "\n" not in message and f"innv list --kind {kind}" in message, message
    if suggestion is not None:
        assert f"Did you mean {suggestion!r}" in message
    if kind == "conventions":  # a short list is shown in full
        assert "Registered: attnlrp, cp." in message


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


# -- conflicts: two plugins giving the same name ---------------------------------------------
PLUGIN_SOURCE = """
from innv_core import hookimpl

class Shared:
    def __init__(self, model, **kwargs):
        self.model, self.kwargs = model, kwargs

class Sharpen: pass
class Own: pass
class Epsilon: pass
class Linear: pass

def zeros(values):
    return 0.0

@hookimpl
def innv_register_analyzers(registry):
    for name in {analyzers}:
        registry.add_analyzer(name, Shared)
    registry.add_analyzer({own!r}, Own)

@hookimpl
def innv_register_rules(registry):
    for name in {rules}:
        registry.add_rule(name, Sharpen if name == "Sharpen" else Epsilon)

@hookimpl
def innv_register_pattern_types(registry):
    for name in {pattern_types}:
        registry.add_pattern_type(name, Linear)

@hookimpl
def innv_register_perturbations(registry):
    for name in {perturbations}:
        registry.add_perturbation(name, zeros)
"""


@pytest.fixture
def install(tmp_path, monkeypatch, fresh_registry):
    """``install(dist, {entry_point: dict(analyzers=[...], rules=[...], ...)})`` puts a real
    (``*.dist-info``) distribution on ``sys.path``; returns the plugin modules by entry point."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    made: list[str] = []

    def install_one(dist: str, plugins: dict[str, dict]) -> dict[str, types.ModuleType]:
        allow_plugins_of(monkeypatch, dist)  # the suite discovers innv's own plugins only
        stem = registry.canonical_distribution(dist).replace("-", "_")
        info = site / f"{stem}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
        lines = ["[innv]"]
        for ep, names in plugins.items():
            module = f"innv_test_{stem}_{ep}"
            fields = {k: names.get(k, []) for k in ("analyzers", "rules", "pattern_types", "perturbations")}
            (site / f"{module}.py").write_text(PLUGIN_SOURCE.format(own=f"only.{module}", **fields))
            lines.append(f"{ep} = {module}")
            made.append(module)
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
        importlib.invalidate_caches()
        return {ep: importlib.import_module(f"innv_test_{stem}_{ep}") for ep in plugins}

    yield install_one
    for module in made:
        sys.modules.pop(module, None)


def _conflict_warnings(caught) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, PluginConflictWarning)]


def test_builtins_have_no_conflicts():
    reg = registry.get_registry()
    assert all(reg.conflicts(kind) == {} for kind in registry.KINDS)


def test_two_distributions_giving_the_same_names_break_nothing(install):
    a = install("lab-a", {"a_plugin": {"analyzers": ["shared"], "rules": ["Sharpen"]}})["a_plugin"]
    b = install("Lab_B.Tools", {"b_plugin": {"analyzers": ["shared"], "rules": ["Sharpen"]}})["b_plugin"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reg = registry.get_registry()
    conflicts = _conflict_warnings(caught)
    assert len(conflicts) == 2  # one per conflicting name
    for message, name in zip(conflicts, ["analyzer 'shared'", "rule 'Sharpen'"]):
        assert name in message
        assert "distribution lab-a" in message and "distribution Lab_B.Tools" in message
        assert f"a_plugin = {a.__name__}" in message and f"b_plugin = {b.__name__}" in message
        assert "INNV_DISABLE_PLUGIN_AUTOLOAD=1" in message and "innv_core.register_plugin" in message
    assert not [w for w in caught if issubclass(w.category, PluginLoadWarning)]

    # unrelated names work: the built-ins and each distribution's own
    assert reg.get("analyzers", "gradient") is not None
    assert reg.get("analyzers", f"only.{a.__name__}") is a.Own
    assert reg.get("analyzers", f"only.{b.__name__}") is b.Own
    # the plain name is an error that says how to choose
    for kind, name in (("analyzers", "shared"), ("rules", "Sharpen")):
        with pytest.raises(AmbiguousNameError) as info:
            reg.get(kind, name)
        message = str(info.value)
        assert f"'lab-a:{name}'" in message and f"'lab-b-tools:{name}'" in message
        assert "INNV_DISABLE_PLUGIN_AUTOLOAD=1" in message and "innv_core.register_plugin" in message
        assert isinstance(info.value, KeyError) and isinstance(info.value, UnknownNameError)
    # each qualified name gives its own class; distribution names compare as in PEP 503
    assert reg.get("analyzers", "lab-a:shared") is a.Shared
    assert reg.get("analyzers", "lab-b-tools:shared") is b.Shared
    assert reg.get("rules", "LAB_B.tools:Sharpen") is b.Sharpen
    assert reg.get("rules", "a_plugin:Sharpen") is a.Sharpen  # the plugin's name qualifies too
    assert reg.get("analyzers", "innv:gradient") is reg.get("analyzers", "gradient")
    with pytest.raises(UnknownNameError, match="no distribution or plugin called 'lab-c'.*'lab-a:Sharpen'"):
        reg.get("rules", "lab-c:Sharpen")

    from innv_core import create_analyzer

    made = create_analyzer("lab-a:shared", "a model", option=1)
    assert type(made) is a.Shared and made.model == "a model" and made.kwargs == {"option": 1}
    with pytest.raises(AmbiguousNameError):
        create_analyzer("shared", "a model")

    # saving stores a name that loads the same class again (serialization unchanged)
    from innv_core.serialization import resolve_class

    for cls in (a.Shared, b.Shared):
        name = reg.find_name("analyzers", cls)
        assert name in ("lab-a:shared", "lab-b-tools:shared")
        assert reg.get("analyzers", name) is cls and resolve_class("Shared", name) is cls
    assert reg.find_name("rules", b.Sharpen) == "lab-b-tools:Sharpen"
    assert reg.find_name("analyzers", reg.get("analyzers", "gradient")) == "gradient"

    # once per process: a rebuilt registry (another plugin registered) does not warn again
    extra = types.SimpleNamespace(innv_register_analyzers=hookimpl(lambda registry: registry.add_analyzer("extra", int)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        registry.register_plugin(extra, name="extra_plugin")
        assert registry.get_registry().get("analyzers", "extra") is int
    assert _conflict_warnings(caught) == []


def test_qualified_names_work_for_rules_pattern_types_and_perturbations(install):
    from innv_core.tools.pattern import get_pattern_type
    from innv_core.tools.perturbate import _resolve_perturbation_function
    from innv_plugins.lrp.rule_map import make_rule

    kinds = {"rules": ["Sharpen"], "pattern_types": ["shared.pattern"], "perturbations": ["shared.perturbation"]}
    a = install("lab-a", {"a_plugin": kinds})["a_plugin"]
    b = install("lab-b", {"b_plugin": kinds})["b_plugin"]
    with pytest.warns(PluginConflictWarning):
        registry.get_registry()
    assert isinstance(make_rule("lab-a:Sharpen"), a.Sharpen) and isinstance(make_rule("lab-b:Sharpen"), b.Sharpen)
    with pytest.raises(AmbiguousNameError, match="lab-a:Sharpen"):
        make_rule("Sharpen")
    with pytest.raises(AmbiguousNameError):
        get_pattern_type("shared.pattern")
    with pytest.raises(AmbiguousNameError):
        _resolve_perturbation_function("shared.perturbation")
    assert _resolve_perturbation_function("lab-b:shared.perturbation") is b.zeros
    assert type(get_pattern_type("b_plugin:shared.pattern")) is b.Linear


def test_a_builtin_name_means_the_builtin_and_the_other_is_qualified(install):
    plugin = install("lab-a", {"a_plugin": {"analyzers": ["gradient"], "rules": ["Epsilon"],
                                            "perturbations": ["zeros"]}})["a_plugin"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reg = registry.get_registry()
    conflicts = _conflict_warnings(caught)
    assert len(conflicts) == 3
    epsilon = next(m for m in conflicts if "'Epsilon'" in m)
    assert "distribution innv" in epsilon and "distribution lab-a" in epsilon
    assert "means innv's built-in one" in epsilon and "'lab-a:Epsilon'" in epsilon

    builtin = reg.get("rules", "Epsilon")
    assert builtin is not plugin.Epsilon and reg.resolve("rules", "Epsilon").distribution == "innv"
    assert reg.get("rules", "innv:Epsilon") is builtin
    assert reg.get("rules", "lab-a:Epsilon") is plugin.Epsilon
    assert reg.get("analyzers", "lab-a:gradient") is plugin.Shared
    assert reg.get("perturbations", "lab-a:zeros") is plugin.zeros
    assert reg.find_name("rules", builtin) == "Epsilon"
    assert reg.find_name("rules", plugin.Epsilon) == "lab-a:Epsilon"
    entries = reg.entries("rules")
    assert entries["Epsilon"].obj is builtin and entries["lab-a:Epsilon"].obj is plugin.Epsilon


def test_a_plugin_registered_by_hand_is_qualified_by_its_plugin_name(fresh_registry):
    clash = types.SimpleNamespace(
        innv_register_analyzers=hookimpl(lambda registry: registry.add_analyzer("gradient", int))
    )
    registry.register_plugin(clash, name="clashing_plugin")
    with pytest.warns(PluginConflictWarning, match="'gradient'.*plugin 'gradient'.*clashing_plugin.*registered by hand"):
        reg = registry.get_registry()
    assert reg.get("analyzers", "gradient") is not int
    assert reg.get("analyzers", "clashing_plugin:gradient") is int
    assert reg.find_name("analyzers", int) == "clashing_plugin:gradient"


def test_two_plugins_of_one_distribution_are_told_apart_by_plugin_name(install):
    mods = install("lab-a", {"one": {"analyzers": ["shared"]}, "two": {"analyzers": ["shared"]}})
    with pytest.warns(PluginConflictWarning):
        reg = registry.get_registry()
    with pytest.raises(AmbiguousNameError, match="'one:shared'.*'two:shared'"):
        reg.get("analyzers", "lab-a:shared")
    assert reg.get("analyzers", "two:shared") is mods["two"].Shared
    assert reg.find_name("analyzers", mods["one"].Shared) == "one:shared"


def test_the_same_entry_point_name_in_two_distributions_loads_both(install):
    a = install("lab-a", {"gamma": {"rules": ["lab_a.Sharpen"]}})["gamma"]
    b = install("lab-b", {"gamma": {"rules": ["lab_b.Sharpen"]}})["gamma"]
    reg = registry.get_registry()
    assert reg.get("rules", "lab_a.Sharpen") is a.Epsilon and reg.get("rules", "lab_b.Sharpen") is b.Epsilon
    assert {reg.resolve("rules", n).plugin for n in ("lab_a.Sharpen", "lab_b.Sharpen")} == {"gamma", "gamma@lab-b"}


def test_the_same_object_under_the_same_name_is_no_conflict(fresh_registry):
    for name in ("p1", "p2"):
        registry.register_plugin(
            types.SimpleNamespace(innv_register_analyzers=hookimpl(lambda registry: registry.add_analyzer("same", int))),
            name=name,
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error", PluginConflictWarning)
        assert registry.get_registry().get("analyzers", "same") is int


def test_layer_handlers_that_clash_keep_the_first(fresh_registry):
    class MyLayer:
        pass

    import keras

    first, second, dense = object(), object(), object()
    for name, handler in (("b_second", second), ("a_first", first)):  # order: plugin name, not registration
        registry.register_plugin(types.SimpleNamespace(innv_register_layers=hookimpl(
            lambda registry, handler=handler: (registry.add_layer(MyLayer, handler),
                                               registry.add_layer(keras.layers.Dense, dense)))), name=name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reg = registry.get_registry()
    conflicts = _conflict_warnings(caught)
    assert len(conflicts) == 2
    assert any("MyLayer" in m and "a_first" in m and "b_second" in m for m in conflicts)
    assert reg.layer_handler(MyLayer) is first
    assert reg.layer_handler(keras.layers.Dense) is not dense  # the built-in handler stays
    assert reg.get("layers", MyLayer) is first


def test_one_plugin_adding_a_name_twice_is_skipped_like_a_broken_plugin(fresh_registry):
    def twice(registry):
        registry.add_analyzer("fine", float)
        registry.add_analyzer("dup", int)
        registry.add_analyzer("dup", float)

    plugin = types.SimpleNamespace(
        innv_register_analyzers=hookimpl(twice),
        innv_register_rules=hookimpl(lambda registry: registry.add_rule("OwnRule", int)),
    )
    registry.register_plugin(plugin, name="sloppy")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reg = registry.get_registry()
    loads = [str(w.message) for w in caught if issubclass(w.category, PluginLoadWarning)]
    assert len(loads) == 1 and "sloppy" in loads[0] and "DuplicateNameError" in loads[0] and "'dup'" in loads[0]
    assert "gradient" in reg.names("analyzers")  # everything else works
    assert reg.get("rules", "OwnRule") is int  # the plugin's other hook too
    for undone in ("dup", "fine"):  # what the failed hook had added is removed
        with pytest.raises(UnknownNameError):
            reg.get("analyzers", undone)
    registry.register_plugin(types.SimpleNamespace(), name="rebuild")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        registry.get_registry()
    assert not caught  # warned once
    assert [b.name for b in registry.broken_plugins()] == ["sloppy"]


def test_a_plugin_with_an_unknown_hook_is_skipped(install, monkeypatch):
    real = importlib.metadata.entry_points
    module = types.ModuleType("innv_test_typo")
    module.innv_register_rulez = hookimpl(lambda registry: None)
    monkeypatch.setitem(sys.modules, "innv_test_typo", module)

    def with_typo(**kwargs):
        eps = list(real(**kwargs))
        if kwargs.get("group") == "innv":
            eps.append(importlib.metadata.EntryPoint("typo", "innv_test_typo", "innv"))
        return eps

    monkeypatch.setattr(importlib.metadata, "entry_points", with_typo)
    with pytest.warns(PluginLoadWarning, match="typo.*innv_register_rulez"):
        reg = registry.get_registry()
    assert "gradient" in reg.names("analyzers")


def test_innv_list_shows_every_provider(install, capsys):
    from innv_core.app.cli import main

    install("lab-a", {"a_plugin": {"analyzers": ["shared", "gradient"]}})
    install("lab-b", {"b_plugin": {"analyzers": ["shared"]}})
    with pytest.warns(PluginConflictWarning):
        assert main(["list", "--kind", "analyzers"]) == 0
    lines = capsys.readouterr().out.splitlines()
    shared = [line for line in lines if line.split()[:1] == ["shared"]]
    assert len(shared) == 2
    assert "plugin a_plugin (lab-a)" in shared[0] and "[conflict: ambiguous, use lab-a:shared]" in shared[0]
    assert "plugin b_plugin (lab-b)" in shared[1] and "[conflict: ambiguous, use lab-b:shared]" in shared[1]
    gradient = [line for line in lines if line.split()[:1] == ["gradient"]]
    assert "plugin gradient (innv)" in gradient[0] and "means this built-in one" in gradient[0]
    assert "plugin a_plugin (lab-a)" in gradient[1] and "only as lab-a:gradient" in gradient[1]


README_PLUGIN = """
import tensorflow as tf  # at the top, as the README's rule example
from innv_core import hookimpl
from innv_core.rule import Rule

class GammaNoBias(Rule):
    pass

@hookimpl
def innv_register_rules(registry):
    registry.add_rule("mylab.GammaNoBias", GammaNoBias)
"""


def _site_with_plugins(site, dists: dict[str, str]) -> None:
    """Distributions ``{name: module source}`` with one ``innv`` entry point each, in ``site``."""
    site.mkdir(exist_ok=True)
    for dist, source in dists.items():
        stem = dist.replace("-", "_")
        (site / f"innv_test_{stem}.py").write_text(source)
        info = site / f"{stem}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(f"[innv]\n{stem} = innv_test_{stem}\n")


def _list_in_subprocess(site, distributions: str) -> str:
    """``innv list`` of analyzers and rules in a fresh interpreter with ``site`` on the path and
    discovery restricted to ``distributions``; the last line says whether TensorFlow got imported."""
    code = textwrap.dedent("""
        import sys, warnings
        warnings.simplefilter("ignore")
        from innv_core.app.cli import main
        main(["list", "--kind", "analyzers", "--kind", "rules"])
        print("tensorflow" in sys.modules)
    """)
    env = plugin_env(PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    env[registry.DISTRIBUTIONS_ENV] = distributions
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout


def _clashing_pair() -> dict[str, str]:
    return {dist: PLUGIN_SOURCE.format(own=f"only.{dist}", analyzers=["shared"], rules=["Sharpen"],
                                       pattern_types=[], perturbations=[]) for dist in ("lab-a", "lab-b")}


def test_listing_conflicts_does_not_import_tensorflow(tmp_path):
    """The registry and ``innv list`` with two clashing distributions (the built-ins left out),
    on a machine where a README-style plugin importing TensorFlow is installed as well."""
    _site_with_plugins(tmp_path / "site", {**_clashing_pair(), "mylab-innv": README_PLUGIN})
    out = _list_in_subprocess(tmp_path / "site", "lab-a,lab-b")
    assert "[conflict: ambiguous, use lab-b:Sharpen]" in out and "[conflict: ambiguous, use lab-a:shared]" in out
    assert "mylab.GammaNoBias" not in out and "gradient" not in out
    assert out.strip().endswith("False")


def test_discovery_restricted_to_named_distributions(tmp_path, monkeypatch):
    """INNV_PLUGIN_DISTRIBUTIONS keeps other installed plugins out (the suite's isolation), and
    lets them in when named: without the restriction the listing above imports TensorFlow."""
    site = tmp_path / "site"
    _site_with_plugins(site, {**_clashing_pair(), "mylab-innv": README_PLUGIN})
    assert _list_in_subprocess(site, "lab-a,lab-b,MyLab_Innv").strip().endswith("True")
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    names = {ep.dist.name for ep in registry.discovered_entry_points() if ep.dist is not None}
    assert names == {"innv"}  # conftest: the suite discovers innv's own plugins only
    allow_plugins_of(monkeypatch, "mylab-innv")
    assert {ep.dist.name for ep in registry.discovered_entry_points()} == {"innv", "mylab-innv"}
    monkeypatch.setenv(registry.DISTRIBUTIONS_ENV, "")  # empty: every installed distribution
    assert {"lab-a", "lab-b", "mylab-innv", "innv"} <= {ep.dist.name for ep in registry.discovered_entry_points()}


def test_an_installed_plugin_does_not_leak_into_the_suite(tmp_path, monkeypatch, fresh_registry):
    """A third-party distribution on the path (one that would clash with a built-in name and add
    an analyzer) changes nothing for the suite's registry, which discovers innv's plugins only."""
    source = PLUGIN_SOURCE.format(own="mylab.extra", analyzers=["gradient"], rules=["Epsilon"],
                                  pattern_types=[], perturbations=[])
    _site_with_plugins(tmp_path / "site", {"mylab-innv": source})
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    importlib.invalidate_caches()
    assert "mylab-innv" in {ep.dist.name for ep in importlib.metadata.entry_points(group="innv")}  # installed
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no conflict or load warning
        reg = registry.get_registry()
    assert "mylab.extra" not in reg.names("analyzers") and not registry.broken_plugins()
    assert all(reg.conflicts(kind) == {} for kind in registry.KINDS)
    assert {e.distribution for e in registry.list_registered()} == {"innv"}
    assert "innv_test_mylab_innv" not in sys.modules  # not even imported

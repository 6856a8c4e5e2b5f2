"""Saving and loading analyzers as plain data: JSON parameters, numpy arrays, ``.keras`` bytes.

No pickle anywhere: parameters are JSON (tuples, arrays and registered rule classes tagged),
arrays stay arrays, and the model travels as the bytes of Keras' own ``.keras`` archive.
``load`` resolves the analyzer class through the plugin registry.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from typing import Any

import numpy as np

from innv_core.errors import AnalyzerFileError
from innv_core.registry import get_registry

FORMAT = "innv-analyzer"
VERSION = 1
HEADER_KEY = "__innv__"


# -- parameters <-> JSON ---------------------------------------------------------------------
def encode_params(params: dict[str, Any]) -> tuple[str, dict[str, np.ndarray]]:
    """Parameters as JSON text plus the arrays it refers to."""
    arrays: dict[str, np.ndarray] = {}

    def enc(value: Any, where: str) -> Any:
        if value is None or isinstance(value, bool | int | float | str):
            return value
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, tuple):
            return {"__tuple__": [enc(v, f"{where}[{i}]") for i, v in enumerate(value)]}
        if isinstance(value, list):
            return [enc(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            return {"__dict__": {k: enc(v, f"{where}.{k}") for k, v in value.items()}}
        if isinstance(value, np.ndarray) or hasattr(value, "numpy"):
            key = f"param/{len(arrays)}"
            arrays[key] = np.asarray(value)
            return {"__array__": key}
        if isinstance(value, type):
            for kind in ("rules", "analyzers", "pattern_types"):
                name = get_registry().find_name(kind, value)
                if name is not None:
                    return {"__registered__": [kind, name]}
        raise AnalyzerFileError(
            f"Parameter {where} = {value!r} cannot be saved as plain data. Pass a registered "
            "name (e.g. rule='Epsilon'), a number, a tuple or an array instead of a Python object."
        )

    encoded = {name: enc(value, name) for name, value in params.items()}
    return json.dumps(encoded), arrays


def decode_params(text: str, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """The inverse of :func:`encode_params`."""

    def dec(value: Any) -> Any:
        if isinstance(value, list):
            return [dec(v) for v in value]
        if isinstance(value, dict):
            if "__tuple__" in value:
                return tuple(dec(v) for v in value["__tuple__"])
            if "__dict__" in value:
                return {k: dec(v) for k, v in value["__dict__"].items()}
            if "__array__" in value:
                return arrays[value["__array__"]]
            if "__registered__" in value:
                kind, name = value["__registered__"]
                return get_registry().get(kind, name)
            raise AnalyzerFileError(f"Unknown tagged value in saved parameters: {value!r}.")
        return value

    return {name: dec(value) for name, value in json.loads(text).items()}


# -- model <-> bytes -------------------------------------------------------------------------
def model_to_bytes(model: Any) -> np.ndarray:
    """The model as the bytes of a ``.keras`` archive (uint8 array)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        with open(path, "rb") as f:
            return np.frombuffer(f.read(), dtype=np.uint8).copy()


def model_from_bytes(data: np.ndarray) -> Any:
    """Load a model from ``.keras`` archive bytes, in Keras' safe mode."""
    import keras

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        with open(path, "wb") as f:
            f.write(np.asarray(data, dtype=np.uint8).tobytes())
        try:
            return keras.saving.load_model(path, compile=False, safe_mode=True)
        except Exception as exc:  # noqa: BLE001 - report any loader failure clearly
            raise AnalyzerFileError(
                f"The saved model could not be loaded ({type(exc).__name__}: {exc}). If it uses "
                "custom layers, import the module that defines them (registered with "
                "keras.saving.register_keras_serializable) before loading."
            ) from exc


# -- analyzer <-> state ----------------------------------------------------------------------
def check_reloadable(model: Any) -> None:
    """Refuse, at save time, a model that Keras' safe mode could not load back.

    Lambda layers hold Python bytecode (refused by safe mode); custom layer classes must be
    registered with ``keras.saving.register_keras_serializable`` to be found again.
    """
    import keras

    from innv_core import keras_adapter as ka

    for layer in ka.all_layers(model):
        cls = type(layer)
        if isinstance(layer, keras.layers.Lambda):
            raise AnalyzerFileError(
                f"The model cannot be saved for reloading: layer {layer.name!r} is a Lambda layer, "
                "whose Python code Keras' safe mode refuses to load (and innv never loads unsafely). "
                "Replace it with a proper layer class registered with "
                "keras.saving.register_keras_serializable."
            )
        if not cls.__module__.startswith("keras") and keras.saving.get_registered_object(
            keras.saving.get_registered_name(cls)
        ) is not cls:
            raise AnalyzerFileError(
                f"The model cannot be saved for reloading: layer {layer.name!r} is of class "
                f"{cls.__module__}.{cls.__qualname__}, which is not registered with "
                "keras.saving.register_keras_serializable, so it could not be found when loading."
            )


def analyzer_state(analyzer: Any) -> tuple[str, dict[str, Any]]:
    """``(class_name, state)`` of an analyzer; the state holds only plain data.

    Raises:
        AnalyzerFileError: a parameter that is not plain data, or a model that could not be
            loaded back (Lambda layers, unregistered custom layers).
    """
    model = getattr(analyzer, "_user_model", analyzer._model)
    check_reloadable(model)
    params_json, arrays = encode_params(getattr(analyzer, "_init_params", {}))
    for key, value in analyzer._state_arrays().items():
        arrays[f"state/{key}"] = np.asarray(value)
    registry_name = get_registry().find_name("analyzers", type(analyzer))
    state = {
        "format": FORMAT,
        "version": VERSION,
        "registry_name": registry_name,
        "params": params_json,
        "model": model_to_bytes(model),
        "arrays": arrays,
    }
    return type(analyzer).__name__, state


def resolve_class(class_name: str, registry_name: str | None = None) -> type:
    """The analyzer class for a saved name, looked up in the registry."""
    entries = get_registry().entries("analyzers")
    if registry_name is not None and registry_name in entries:
        return entries[registry_name].obj
    matches = {e.obj for e in entries.values() if e.obj.__name__ == class_name or e.name == class_name}
    if len(matches) == 1:
        return matches.pop()
    if not matches:
        raise AnalyzerFileError(
            f"No registered analyzer class {class_name!r}. Install or register the plugin that "
            "provides it (see `innv list`)."
        )
    raise AnalyzerFileError(f"Analyzer class name {class_name!r} is ambiguous: {sorted(map(str, matches))}.")


def analyzer_from_state(class_name: str, state: dict[str, Any]) -> Any:
    """Rebuild an analyzer from :func:`analyzer_state`'s output."""
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise AnalyzerFileError("This is not an innv analyzer state (missing format marker).")
    if state.get("version") != VERSION:
        raise AnalyzerFileError(
            f"Analyzer state version {state.get('version')!r} is not supported (expected {VERSION}); "
            "save it again with this innv version."
        )
    cls = resolve_class(class_name, state.get("registry_name"))
    arrays = dict(state["arrays"])
    params = decode_params(state["params"], arrays)
    args = params.pop("__args__", [])
    analyzer = cls(model_from_bytes(state["model"]), *args, **params)
    own = {k[len("state/"):]: v for k, v in arrays.items() if k.startswith("state/")}
    if own:
        analyzer._load_state_arrays(own)
    return analyzer


# -- state <-> .npz file ---------------------------------------------------------------------
def save_npz(fname: str, class_name: str, state: dict[str, Any]) -> None:
    """Write a state to an ``.npz`` file (no object arrays, loadable without pickle)."""
    header = {
        "format": FORMAT,
        "version": state["version"],
        "class_name": class_name,
        "registry_name": state["registry_name"],
        "params": state["params"],
        "array_keys": sorted(state["arrays"]),
    }
    payload = {f"a/{k}": v for k, v in state["arrays"].items()}
    np.savez(fname, **{HEADER_KEY: np.array(json.dumps(header)), "model": state["model"]}, **payload)


def load_npz(fname: str) -> tuple[str, dict[str, Any]]:
    """Read ``(class_name, state)`` from a file written by :func:`save_npz`.

    As ``np.savez`` appends ``.npz`` to a name without it, ``load_npz("name")`` also finds
    ``name.npz``.
    """
    fname = os.fspath(fname)
    if not os.path.exists(fname) and os.path.exists(fname + ".npz"):
        fname = fname + ".npz"
    if not os.path.exists(fname):
        raise FileNotFoundError(f"No saved analyzer at {fname!r} (nor {fname + '.npz'!r}).")
    if not zipfile.is_zipfile(fname):
        raise AnalyzerFileError(
            f"{fname!r} is truncated, damaged or not an .npz archive at all (a .npy array, or "
            "another format?). Saved analyzers are written by analyzer.save_npz()."
        )
    try:
        with np.load(fname, allow_pickle=False) as data:
            files = set(data.files)
            if HEADER_KEY not in files or "model" not in files:
                raise AnalyzerFileError(
                    f"{fname!r} is an .npz file but not a saved innv analyzer (no {HEADER_KEY!r} "
                    "entry). Save analyzers with analyzer.save_npz()."
                )
            header = json.loads(str(data[HEADER_KEY]))
            if header.get("format") != FORMAT:
                raise AnalyzerFileError(f"{fname!r} has a foreign format marker {header.get('format')!r}.")
            arrays = {k: data[f"a/{k}"] for k in header["array_keys"]}
            model = data["model"]
    except AnalyzerFileError:
        raise
    except FileNotFoundError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise AnalyzerFileError(
                f"{fname!r} is not a plain .npz: it holds pickled Python objects (or is no npz at "
                "all), which innv never loads since they can run arbitrary code. Re-save the "
                "analyzer with innv's save_npz()."
            ) from exc
        raise AnalyzerFileError(f"{fname!r} is damaged or not an innv analyzer file: {exc}") from exc
    except (zipfile.BadZipFile, OSError, EOFError, KeyError, json.JSONDecodeError) as exc:
        raise AnalyzerFileError(
            f"{fname!r} is truncated, damaged or not an innv analyzer file "
            f"({type(exc).__name__}: {exc}). Save it again with analyzer.save_npz()."
        ) from exc
    state = {
        "format": FORMAT,
        "version": header["version"],
        "registry_name": header["registry_name"],
        "params": header["params"],
        "model": model,
        "arrays": arrays,
    }
    return header["class_name"], state

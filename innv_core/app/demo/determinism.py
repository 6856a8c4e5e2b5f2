"""What makes the demo's numbers repeat: seeds, op determinism, float64 training, a fixed thread count.

On one machine, the same seed and TensorFlow's op determinism
(:func:`tf.config.experimental.enable_op_determinism`) give bit-identical weights and so every
printed number again. Across machines two things change the order in which TensorFlow adds:
the CPU's instruction set (oneDNN, TensorFlow's CPU kernels, picks AVX-512, AVX2 or SSE4.1 code
at run time) and the number of intra-op threads (a sum is split into one part per thread). In
float32 these rounding differences grow over the ~300 training steps into another model (on 8
emulated machines: test accuracy 0.969-1.000, object shares up to 0.125 and AOPC up to 0.121
apart, metric means up to 30%), so :func:`~innv_core.app.demo.model.train_cnn` trains in
float64 (oneDNN does not run float64, and the thread count moves the weights by ~1e-12) and
rounds the result to the float32 model it explains. What is left is measured, :data:`SPREAD`,
and printed by the demo.

:func:`seeded` sets the seeds and op determinism for a block and gives the caller's state back
afterwards. :func:`pin_threads` fixes the thread count, which TensorFlow allows only before it has
run anything and never undoes: the command line pins it (``innv demo --threads 2``), a Python
caller of :func:`~innv_core.app.demo.run.run_demo` only if it asks to.
"""

from __future__ import annotations

import contextlib
import os
import platform
import random
from collections.abc import Iterator
from typing import Any

import attrs
import numpy as np

__all__ = ["SPREAD", "Conditions", "Spread", "conditions", "cpu_instruction_set", "intra_op_threads",
           "pin_threads", "seeded"]

@attrs.frozen
class Conditions:
    """What a demo run's numbers depend on; two runs agree bit for bit when all of these do."""

    seed: int
    threads: int
    op_determinism: bool
    tensorflow: str
    keras: str
    cpu: str

    def describe(self) -> str:
        """One line: the conditions under which the printed numbers repeat exactly."""
        determinism = "op determinism on" if self.op_determinism else "op determinism OFF"
        return (f"seed {self.seed}, {determinism}, {self.threads} intra-op thread(s), TensorFlow "
                f"{self.tensorflow}, Keras {self.keras}, CPU {self.cpu}")


@attrs.frozen
class Spread:
    """How far the printed numbers of runs on other machines were from the reference run, at most.

    Measured by ``bench/demo_spread.py`` for the default demo (seed 0): against the reference
    (this machine's AVX-512 kernels, 2 threads), runs with oneDNN held to AVX2 or SSE4.1 kernels
    or off, and with 1 or 4 threads. ``accuracy``, ``object_share`` and ``aopc`` compare the
    printed values (3 decimals), ``metrics_relative`` the metric means (relative).
    """

    runs: int
    accuracy: float
    object_share: float
    aopc: float
    metrics_relative: float
    note: str = ""

    def describe(self) -> str:
        """The tolerance, as the demo prints it."""
        printed = {"test accuracy": self.accuracy, "object shares": self.object_share, "AOPC": self.aopc}
        same = [name for name, diff in printed.items() if diff == 0]
        parts = [f"{name} within {diff:.3f}" for name, diff in printed.items() if diff != 0]
        if same:
            parts.insert(0, f"{_join(same)} the same to the printed digit")
        parts.append(f"metric means within {100 * self.metrics_relative:.2g}%{self.note}")
        return f"over {self.runs} emulated machines (bench/demo_spread.py), {_join(parts)}"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


#: The spread measured for the default demo on TensorFlow 2.21.0 / Keras 3.15.1 (``docs/demo.md``).
SPREAD = Spread(runs=8, accuracy=0.0, object_share=0.0, aopc=0.0, metrics_relative=2.3e-4,
                note=" (DeepLIFT's; every other method's within 4e-4%)")


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Inside: ``keras.utils.set_random_seed(seed)`` and op determinism; after: the caller's state.

    Restored on exit: Python's and numpy's global random state, Keras' global seed and seed
    generator, TensorFlow's global seed and whether op determinism was on. Not restored (TensorFlow
    has no way to read it): the counter TensorFlow derives op seeds from, which restarts as after
    ``tf.random.set_seed`` with the caller's global seed.
    """
    import keras
    import tensorflow as tf

    saved = _save_state()
    was_deterministic = _op_determinism()
    try:
        keras.utils.set_random_seed(seed)
        tf.config.experimental.enable_op_determinism()
        yield
    finally:
        if not was_deterministic:
            _disable_op_determinism()
        _restore_state(saved)


def pin_threads(threads: int) -> bool:
    """Fix TensorFlow's intra-op thread count; False if TensorFlow already runs with another one.

    TensorFlow reads the count when it runs its first operation and keeps it for the process (it
    cannot be undone), overriding ``TF_NUM_INTRAOP_THREADS``.
    """
    import tensorflow as tf

    from innv_core.errors import InvalidParameterError

    if threads < 1:
        raise InvalidParameterError(f"threads must be a positive number of threads, got {threads}: "
                                    "pass 1 or more (innv demo --threads N).")
    if intra_op_threads() == threads:
        return True
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
    except RuntimeError:  # "cannot be modified after initialization"
        return False
    return True


def intra_op_threads() -> int:
    """The intra-op thread count TensorFlow uses (its default: the CPUs this process may run on)."""
    import tensorflow as tf

    configured = tf.config.threading.get_intra_op_parallelism_threads()
    if configured:
        return configured
    from_env = os.environ.get("TF_NUM_INTRAOP_THREADS", "")
    if from_env.isdigit() and int(from_env) > 0:
        return int(from_env)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def cpu_instruction_set() -> str:
    """The widest vector instructions oneDNN can use here (``ONEDNN_MAX_CPU_ISA`` limits them)."""
    machine = platform.machine() or "unknown"
    flags: set[str] = set()
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    best = next((label for flag, label in (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX"),
                                           ("sse4_1", "SSE4.1")) if flag in flags), None)
    limit = os.environ.get("ONEDNN_MAX_CPU_ISA")
    parts = [machine] + ([best] if best else []) + ([f"ONEDNN_MAX_CPU_ISA={limit}"] if limit else [])
    if os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "0":
        parts.append("TF_ENABLE_ONEDNN_OPTS=0")
    return " ".join(parts)


def conditions(seed: int) -> Conditions:
    """The conditions of a run with ``seed`` in this process, as they are now."""
    import keras
    import tensorflow as tf

    return Conditions(seed=seed, threads=intra_op_threads(), op_determinism=_op_determinism(),
                      tensorflow=tf.__version__, keras=keras.__version__, cpu=cpu_instruction_set())


# -- the global state seeded() saves and restores -------------------------------------------------
# Keras keeps its global seed and seed generator in ``keras.src.backend.common.global_state`` and
# TensorFlow its global seed in its eager context; neither has a public getter.
_KERAS_KEYS = ("global_random_seed", "global_seed_generator")


def _save_state() -> dict[str, Any]:
    from keras.src.backend.common import global_state
    from tensorflow.python.eager import context

    return {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "keras": {key: global_state.get_global_attribute(key) for key in _KERAS_KEYS},
        "tensorflow": context.global_seed(),
    }


def _restore_state(saved: dict[str, Any]) -> None:
    import tensorflow as tf
    from keras.src.backend.common import global_state

    random.setstate(saved["python"])
    np.random.set_state(saved["numpy"])
    for key, value in saved["keras"].items():
        global_state.set_global_attribute(key, value)
    tf.random.set_seed(saved["tensorflow"])


def _op_determinism() -> bool:
    from tensorflow.python.framework import config

    return bool(config.is_op_determinism_enabled())


def _disable_op_determinism() -> None:
    from tensorflow.python.framework import config

    config.disable_op_determinism()

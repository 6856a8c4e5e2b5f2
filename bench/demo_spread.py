"""How far ``innv demo``'s numbers move on other CPUs: the tolerance the demo prints.

Runs ``innv demo`` in fresh processes, once as the reference (this machine, 2 threads) and once more
for each emulated machine: oneDNN held to AVX2 or SSE4.1 kernels (``ONEDNN_MAX_CPU_ISA``, what an
older CPU runs), oneDNN's TensorFlow ops off (``TF_ENABLE_ONEDNN_OPTS=0``), and 1 or 4 threads
(a Python caller who does not pin them). For every printed number it compares each run with the
reference: the test accuracy, each analyzer's object share and AOPC, each metric's mean (relative).
A second reference run checks that the same conditions repeat exactly (all differences 0).

    python bench/demo_spread.py [--quick] [--out DIR]

prints one row per run and the :class:`~innv_core.app.demo.determinism.Spread` to put into
``innv_core/app/demo/determinism.py`` (``SPREAD``).
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

#: (label, extra environment, threads): the reference first, then itself again, then the emulations.
RUNS = [
    ("reference (native ISA, 2 threads)", {}, 2),
    ("reference again", {}, 2),
    ("AVX2, 2 threads", {"ONEDNN_MAX_CPU_ISA": "AVX2"}, 2),
    ("SSE4.1, 2 threads", {"ONEDNN_MAX_CPU_ISA": "SSE41"}, 2),
    ("oneDNN ops off, 2 threads", {"TF_ENABLE_ONEDNN_OPTS": "0"}, 2),
    ("native ISA, 1 thread", {}, 1),
    ("native ISA, 4 threads", {}, 4),
    ("AVX2, 1 thread", {"ONEDNN_MAX_CPU_ISA": "AVX2"}, 1),
    ("AVX2, 4 threads", {"ONEDNN_MAX_CPU_ISA": "AVX2"}, 4),
    ("SSE4.1, 4 threads", {"ONEDNN_MAX_CPU_ISA": "SSE41"}, 4),
]


def run(out: Path, env: dict[str, str], threads: int, quick: bool) -> dict[str, float]:
    """One ``innv demo`` in a fresh process: every number it prints, by name."""
    command = [sys.executable, "-m", "innv_core.app.cli", "demo", "--out", str(out),
               "--threads", str(threads)]
    proc = subprocess.run(command + (["--quick"] if quick else []), capture_output=True, text=True,
                          env={**os.environ, **env}, check=True)
    numbers = {"accuracy": float(re.search(r"test accuracy ([0-9]+\.[0-9]+)", proc.stdout).group(1))}
    with open(out / "object_relevance.csv") as f:
        for row in csv.DictReader(f):
            numbers[f"share {row['method']}"] = float(row["positive relevance on object"])
            if row["AOPC (accuracy)"] != "-":
                numbers[f"aopc {row['method']}"] = float(row["AOPC (accuracy)"])
    with open(out / "metrics" / "metrics.csv") as f:
        for row in csv.DictReader(f):
            numbers[f"metric {row['metric']} {row['method']}"] = float(row["mean"])
    return numbers


def differences(run_numbers: dict[str, float], reference: dict[str, float]) -> dict[str, float]:
    """The largest difference per kind of number (metrics relative to the reference's value)."""
    kinds = {"accuracy": 0.0, "share": 0.0, "aopc": 0.0, "metric": 0.0}
    for key, ref in reference.items():
        kind = key.split(" ", 1)[0]
        diff = abs(run_numbers[key] - ref)
        kinds[kind] = max(kinds[kind], diff / abs(ref) if kind == "metric" and ref else diff)
    return kinds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="the quick demo instead of the default one")
    parser.add_argument("--out", help="keep the runs' folders here (default: a temporary folder)")
    args = parser.parse_args()
    root = Path(args.out or tempfile.mkdtemp(prefix="demo_spread_"))
    reference: dict[str, float] = {}
    worst = {"accuracy": 0.0, "share": 0.0, "aopc": 0.0, "metric": 0.0}
    print("| run | test accuracy | max. object-share diff. | max. AOPC diff. "
          "| max. metric diff. (relative) |")
    print("|---|---|---|---|---|")
    emulated = 0
    for k, (label, env, threads) in enumerate(RUNS):
        numbers = run(root / f"run{k}", env, threads, args.quick)
        reference = reference or numbers
        diff = differences(numbers, reference)
        print(f"| {label} | {numbers['accuracy']:.3f} | {diff['share']:.3f} | {diff['aopc']:.3f} | "
              f"{100 * diff['metric']:.2g}% |", flush=True)
        if k >= 2:
            emulated += 1
            worst = {kind: max(worst[kind], diff[kind]) for kind in worst}
    print(f"\nSpread(runs={emulated}, accuracy={worst['accuracy']:.3f}, object_share={worst['share']:.3f}, "
          f"aopc={worst['aopc']:.3f}, metrics_relative={worst['metric']:.2g})")


if __name__ == "__main__":
    main()

"""The ``innv`` command line. ``innv --help`` must not import TensorFlow."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="innv",
        description="Explain Keras 3 model predictions (gradients, LRP, DeepTaylor, PatternNet, ...).",
    )
    sub = parser.add_subparsers(dest="command")
    listing = sub.add_parser("list", help="show every registered name and the plugin that gives it")
    listing.add_argument("--kind", choices=["analyzers", "rules", "pattern_types", "perturbations", "layers"],
                         action="append", help="only these kinds (repeatable)")
    return parser


def cmd_list(kinds: Sequence[str] | None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from innv_core import registry

    for kind in tuple(kinds) if kinds else registry.KINDS:
        entries = registry.list_registered([kind])
        print(f"{kind}:")
        width = max((len(e.name) for e in entries), default=0)
        for entry in entries:
            print(f"  {entry.name:<{width}}  plugin {entry.plugin} ({entry.distribution or '-'})")
        print()
    broken = registry.broken_plugins()
    if broken:
        print("\nbroken plugins (skipped):")
        for b in broken:
            print(f"  {b.name} ({b.distribution or '-'}): {b.error}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "list":
        return cmd_list(args.kind)
    _parser().print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())

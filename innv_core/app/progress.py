"""Progress of the CLI and the demo: a live bar on a terminal, one plain line per step in a log.

On a terminal this is `tqdm <https://tqdm.github.io>`_ (small, no dependencies of its own, and
the de-facto standard bar of the Python ecosystem); when the output is a file or a pipe (CI logs,
``innv demo > log``) every step prints one line ``what: i/n (label)``, with no carriage returns
or escape codes that would litter the log.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO


class Progress:
    """``with Progress(total, "analyzers") as bar: ... bar.step("lrp.epsilon")``."""

    def __init__(self, total: int, what: str, stream: TextIO | None = None) -> None:
        self.total, self.what, self.done = total, what, 0
        self.stream = stream if stream is not None else sys.stdout
        self._bar: Any = None
        if _is_terminal(self.stream):
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit=what.rstrip("s") or what, file=self.stream,
                             dynamic_ncols=True, leave=True)

    def step(self, label: str = "") -> None:
        """One step done (``label``: what it was)."""
        self.done += 1
        if self._bar is not None:
            self._bar.set_postfix_str(label, refresh=False)
            self._bar.update(1)
            return
        suffix = f" ({label})" if label else ""
        print(f"{self.what}: {self.done}/{self.total}{suffix}", file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


"""Progress output: a tqdm bar on a terminal, one plain line per step in a log."""

from __future__ import annotations

import io

from innv_core.app.progress import Progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_gets_one_plain_line_per_step():
    log = io.StringIO()
    with Progress(3, "analyzers", stream=log) as bar:
        for name in ("gradient", "lrp.epsilon", "smoothgrad"):
            bar.step(name)
    assert log.getvalue().splitlines() == [
        "analyzers: 1/3 (gradient)", "analyzers: 2/3 (lrp.epsilon)", "analyzers: 3/3 (smoothgrad)",
    ]
    assert "\r" not in log.getvalue() and "\x1b" not in log.getvalue()


def test_a_terminal_gets_a_live_bar():
    terminal = _Terminal()
    with Progress(2, "batches", stream=terminal) as bar:
        bar.step("a")
        bar.step("b")
    text = terminal.getvalue()
    assert "\r" in text and "2/2" in text and "100%" in text

"""The command line: fast help, listing."""

from __future__ import annotations

import subprocess
import sys


def test_help_does_not_import_tensorflow():
    code = "import sys; from innv_core.cli import main; main(['--help'])"
    code = f"import sys\ntry:\n    {code.split('; ', 1)[1]}\nexcept SystemExit:\n    pass\nprint('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "usage: innv" in out and out.strip().endswith("False")


def test_list_shows_names_plugins_and_distributions(capsys):
    from innv_core.cli import main

    assert main(["list", "--kind", "analyzers"]) == 0
    out = capsys.readouterr().out
    assert "gradient" in out and "plugin gradient (innv)" in out

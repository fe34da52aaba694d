"""Rules of the code base that tools check: engine never imports Qt; lint is clean."""

import os
import shutil
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)


def _tool(name):
    return shutil.which(name, path=BIN) or shutil.which(name)


def test_import_contract_engine_never_imports_qt_or_editor():
    result = subprocess.run([_tool("lint-imports"), "--no-cache"], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "engine never imports Qt or the editor KEPT" in result.stdout


def test_ruff_is_clean():
    result = subprocess.run([_tool("ruff"), "check", "engine", "editor", "tests", "packaging"], capture_output=True,
                            text=True, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr

"""The kinora command line: version, info, and one clear line with exit code 2 on bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from engine.model.serialize import save_project
from tests.model.factories import rich_project

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def kinora(*args: str, check_modules: bool = False) -> subprocess.CompletedProcess:
    code = ("import sys; from editor.app import main; code = main(sys.argv[1:]); "
            "print('MODULES', sorted(m for m in ('PySide6', 'torch', 'diffusers') if m in sys.modules), file=sys.stderr); "
            "sys.exit(code)")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=REPO, timeout=120)


def test_version():
    result = kinora("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("kinora ")


def test_info_prints_a_summary_without_importing_qt_or_torch(tmp_path):
    project = rich_project("30000/1001", root=str(tmp_path))
    save_project(project, tmp_path / "p.kinora")
    result = kinora("info", str(tmp_path / "p.kinora"), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["rate"] == "30000/1001"
    assert summary["size"] == [1920, 1080]
    assert [t["items"] for t in summary["tracks"]] == [2, 1, 2, 1]
    assert summary["duration_frames"] == 178
    assert "MODULES []" in result.stderr


def test_bad_project_gives_one_line_and_exit_2(tmp_path):
    (tmp_path / "bad.kinora").write_text("{not json")
    result = kinora("info", str(tmp_path / "bad.kinora"))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if not line.startswith("MODULES")]
    assert len(lines) == 1
    assert "bad.kinora is damaged: bad JSON at line 1" in lines[0]
    assert "Traceback" not in result.stderr


def test_an_unknown_command_is_named_with_the_commands_and_exit_2_without_opening_the_editor():
    from engine.cli import COMMANDS

    result = kinora("frobnicate", "--fast")
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if not line.startswith("MODULES")]
    assert lines == [f"kinora: unknown command 'frobnicate'; the commands are: {', '.join(sorted(COMMANDS))}"]
    assert "MODULES []" in result.stderr  # no Qt: the editor was not started
    assert result.stdout == ""


def test_the_first_argument_opens_the_editor_only_when_it_is_a_file_or_a_qt_option(tmp_path, monkeypatch):
    from engine.cli import COMMANDS, is_command

    monkeypatch.chdir(tmp_path)
    (tmp_path / "cut").write_text("{}")  # an existing file without a suffix is still a file to open
    for to_editor in ([], ["cut"], ["missing.kinora"], ["film.KINORA"], ["shared.kinorabundle"], ["edit.otio"],
                      [os.path.join("projects", "new")], ["-platform", "offscreen"]):
        assert not is_command(to_editor), to_editor
    for headless in ([["plan"]] if "plan" not in COMMANDS else []) + [["frobnicate"], ["generat", "a cat"]]:
        assert is_command(headless), headless
    assert all(is_command([command]) for command in COMMANDS)

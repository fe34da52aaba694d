"""A hostile `engine/` package in the current folder (a bundle can carry one) never runs."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from tests.media.media_factory import write_video

HOSTILE = "import pathlib; pathlib.Path(__file__).resolve().parents[{depth}].joinpath('PWNED').write_text('ran')\n"


def _plant(folder):
    package = folder / "engine"
    (package / "media").mkdir(parents=True)
    (package / "__init__.py").write_text(HOSTILE.format(depth=1))
    (package / "media" / "__init__.py").write_text(HOSTILE.format(depth=2))
    (package / "media" / "probe_child.py").write_text(HOSTILE.format(depth=2))


def test_probe_in_a_folder_with_a_hostile_engine_package_runs_kinoras_code(tmp_path, monkeypatch):
    from engine.media.probe import probe

    _plant(tmp_path)
    write_video(tmp_path / "clip.mp4", [np.full((32, 32, 3), 100, np.uint8)] * 5, rate=24)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))  # even a PYTHONPATH naming it is ignored by the child
    info = probe("clip.mp4")
    assert info.num_frames == 5
    assert not (tmp_path / "PWNED").exists()


def test_the_kinora_command_started_there_probes_with_kinoras_code(tmp_path):
    _plant(tmp_path)
    write_video(tmp_path / "clip.mp4", [np.full((32, 32, 3), 100, np.uint8)] * 5, rate=24)
    kinora = os.path.join(os.path.dirname(sys.executable), "kinora")
    done = subprocess.run([kinora, "probe", "clip.mp4"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert '"num_frames": 5' in done.stdout
    assert not (tmp_path / "PWNED").exists()

"""kill -9 at random moments of every command that writes a file or a folder.

Each command runs in a child process over an output that already exists (for `bundle open`,
into a folder that does not exist yet) and is killed with SIGKILL after a delay drawn from the
duration of one uninterrupted run of the same command. Whenever the kill lands, the output is
the old one, byte for byte, or a whole new one that reads back (decoded frame by frame, loaded
with numpy, imported, unzipped and opened); never a truncated or half-written one. No stray
file is left under a visible name: what a killed writer leaves behind is a hidden temporary
(`.NAME.<random>.tmp.EXT`, `.FOLDER.<random>.partial`), which the next run does not read.

The delays come from a seeded random generator and the measured run, so the test asserts only
what must hold wherever a kill lands (no timing is asserted).
"""

from __future__ import annotations

import dataclasses
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from engine.generate.media_io import read_video, write_video
from engine.generate.tools import one_clip_project
from engine.model.bundle import open_bundle, write_bundle
from engine.model.serialize import load_project, save_project
from tests.generate.media import moving_square, write_clip

REPO = Path(__file__).resolve().parents[1]
KILLS = 3  # kills per command, besides the measured run


@dataclass
class Case:
    argv: list[str]  # the command, after `kinora`
    target: Path  # the file or folder it writes
    make_old: Callable[[], None] | None  # puts the user's previous output in place (None: there is none)
    read_new: Callable[[Path], object]  # reads a finished output whole, raising if it is not


def _frames(path: Path) -> int:
    return read_video(path).shape[0]  # decodes every frame


def _bundle_opens(path: Path) -> int:
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None  # every member's CRC checks
    folder = path.parent / ".check-open"
    shutil.rmtree(folder, ignore_errors=True)
    try:
        return len(open_bundle(str(path), str(folder)).project.media)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _opened_folder(path: Path) -> tuple:
    assert load_project(path / "project.kinora").media
    return tuple(sorted((name, (path / name).read_bytes()) for name in _visible_files(path)))


def _visible_files(folder: Path) -> list[str]:
    return [str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from tests.generate.tiny_models import save_tiny_ltx

    return save_tiny_ltx(tmp_path_factory.mktemp("models") / "tiny-ltx")


def _project_with_media(folder: Path) -> Path:
    """A saved project of one 48-frame clip (the input of render, otio export and bundle export)."""
    clip = write_clip(folder / "shot.mp4", 48, seed=2)
    project, _ = one_clip_project(str(clip))
    project.settings = dataclasses.replace(project.settings, width=320, height=192)
    path = folder / "cut.kinora"
    save_project(project, path)
    return path


def _case(name: str, folder: Path, model: Path | None) -> Case:
    generation = ["--model", str(model), "--size", "32x32", "--steps", "1", "--device", "cpu", "--quiet"] \
        if model else []
    if name in ("generate-mp4", "extend"):
        target = folder / "out.mp4"
        if name == "generate-mp4":
            argv = ["generate", "a red fox", "--frames", "9", *generation, "-o", str(target)]
        else:
            argv = ["extend", str(write_clip(folder / "source.mp4", 9, seed=1)), "a red fox", "--frames", "8",
                    *generation, "-o", str(target)]
        return Case(argv, target, lambda: write_video(target, moving_square(5, seed=7), 24.0), _frames)
    if name == "generate-npy":
        target = folder / "out.npy"
        return Case(["generate", "a red fox", "--frames", "9", *generation, "-o", str(target)], target,
                    lambda: np.save(target, np.zeros((3, 4, 4, 3), np.uint8)), lambda p: np.load(p).shape)
    project = _project_with_media(folder)
    if name == "render":
        target = folder / "render.mp4"
        return Case(["render", str(project), "-o", str(target), "--preset", "ultrafast", "--quiet"], target,
                    lambda: write_video(target, moving_square(5, seed=7), 24.0), _frames)
    if name == "otio-export":
        from engine.model.otio_io import import_otio

        target = folder / "cut.otio"
        old = folder / "old.otio"
        subprocess.run(_kinora("otio", "export", str(project), "-o", str(old)), check=True, cwd=REPO)
        old.write_text(old.read_text().replace("shot", "older shot"))
        return Case(["otio", "export", str(project), "-o", str(target)], target,
                    lambda: shutil.copyfile(old, target),
                    lambda p: import_otio(str(p))[0].timeline.duration)
    if name == "bundle-export":
        target = folder / "cut.kinorabundle"
        older = load_project(project)  # the same project at another size: another bundle
        older.settings = dataclasses.replace(older.settings, width=640, height=384)
        return Case(["bundle", "export", str(project), "-o", str(target)], target,
                    lambda: write_bundle(older, str(target)), _bundle_opens)
    if name == "bundle-open":
        source = folder / "source.kinorabundle"
        write_bundle(load_project(project), str(source))
        target = folder / "opened"
        return Case(["bundle", "open", str(source), "-o", str(target)], target, None, _opened_folder)
    raise ValueError(name)


def _kinora(*argv: str) -> list[str]:
    return [sys.executable, "-m", "engine.cli", *argv]


def _state(path: Path) -> object:
    """What is at `path` now: a file's bytes, a folder's files, or None."""
    if path.is_dir():
        return tuple(sorted((name, (path / name).read_bytes()) for name in _visible_files(path)))
    return path.read_bytes() if path.exists() else None


def _reset(case: Case) -> object:
    if case.target.is_dir():
        shutil.rmtree(case.target)
    else:
        case.target.unlink(missing_ok=True)
    if case.make_old is not None:
        case.make_old()
    return _state(case.target)


COMMANDS = ["generate-mp4", "generate-npy", "extend", "render", "otio-export", "bundle-export", "bundle-open"]


@pytest.mark.parametrize("name", COMMANDS)
def test_a_writer_killed_at_any_moment_leaves_the_old_output_or_a_whole_new_one(name, tmp_path, request):
    model = request.getfixturevalue("tiny_model") if name.split("-")[0] in ("generate", "extend") else None
    folder = tmp_path / "work"
    folder.mkdir()
    case = _case(name, folder, model)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), *sys.path])}

    old = _reset(case)
    started = time.monotonic()
    finished = subprocess.run(_kinora(*case.argv), cwd=REPO, env=env, capture_output=True, text=True)
    duration = time.monotonic() - started
    assert finished.returncode == 0, finished.stderr
    whole_new = case.read_new(case.target)
    assert _state(case.target) != old
    visible_after_a_run = set(os.listdir(folder))

    rng = random.Random(f"{name}-kill9")
    outcomes = []
    for _ in range(KILLS):
        old = _reset(case)
        # The output is written at the end of a run: most kills land in its last half.
        delay = duration * rng.choice([rng.uniform(0.1, 0.5), rng.uniform(0.5, 1.05), rng.uniform(0.75, 1.0)])
        child = subprocess.Popen(_kinora(*case.argv), cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        try:
            child.wait(delay)
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGKILL)
        child.wait(60)
        now = _state(case.target)
        if now == old:
            outcomes.append("old")
        else:  # not the old output: it must be a whole new one, the same as an uninterrupted run made
            assert case.read_new(case.target) == whole_new, f"a half-written {case.target.name} after a kill"
            outcomes.append("new")
        strays = {n for n in os.listdir(folder) if not n.startswith(".")} - visible_after_a_run
        assert not strays, f"files left under visible names: {strays}"
    print(f"{name}: run {duration:.1f} s; after kills: {outcomes}")

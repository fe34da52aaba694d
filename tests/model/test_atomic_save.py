"""A save killed at any moment leaves the old or the new project, never a broken one."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

from engine.model.serialize import load_project, save_project
from tests.model.factories import rich_project

# The child alternates two versions of a project (marked by their width) into one file,
# as fast as it can, until it is killed.
CHILD = r"""
import sys
sys.path.insert(0, sys.argv[2])
from engine.model import serialize
from engine.model.serialize import load_project, save_project
import dataclasses
base = load_project(sys.argv[1] + ".seed")
versions = []
for width in (1280, 1920):
    base.settings = dataclasses.replace(base.settings, width=width)
    versions.append(serialize.project_to_dict(base, "."))
print("ready", flush=True)
i = 0
while True:
    base.settings = dataclasses.replace(base.settings, width=(1280, 1920)[i % 2])
    save_project(base, sys.argv[1])
    i += 1
"""


def _big_project(tmp_path):
    from engine.model import edits
    from engine.model.items import TextBlock, new_id

    project = rich_project(root=str(tmp_path))
    prompt = project.timeline.tracks_of("prompt")[0].id
    for i in range(3000):  # large enough that a save takes a while, so kills land mid-write
        edits.insert(project, prompt, TextBlock(new_id(), 200 + i * 10, 10, f"prompt number {i} " * 4))
    return project


def test_kill_during_save_always_leaves_a_loadable_project(tmp_path):
    project = _big_project(tmp_path)
    target = tmp_path / "p.kinora"
    save_project(project, str(target) + ".seed")
    save_project(project, target)
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    rng = random.Random(1234)
    widths = set()
    for _ in range(25):
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(target), repo], stdout=subprocess.PIPE)
        assert child.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.25))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        loaded = load_project(target)  # must never raise
        widths.add(loaded.settings.width)
        assert len(loaded.timeline.tracks_of("prompt")[0].items) == 3002
    # both versions were seen on disk, so the kills really landed between and during saves
    assert widths == {1280, 1920}
    leftovers = [name for name in os.listdir(tmp_path) if name.startswith(".p.")]
    assert all(name.endswith(".tmp.kinora") for name in leftovers)


def test_saved_files_get_the_users_usual_permissions(tmp_path):
    import stat

    old = os.umask(0o022)
    try:
        save_project(rich_project(root=str(tmp_path)), tmp_path / "p.kinora")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "p.kinora").st_mode) == 0o644


def test_a_writer_that_narrows_its_files_permissions_still_leaves_the_usual_ones(tmp_path):
    """safetensors writes 0600 files of its own; latents and windows written through atomic_path
    are readable as everything else the user saves."""
    import stat

    import torch
    from safetensors.torch import save_file

    from engine.fsutil import atomic_path

    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "clip.latents.safetensors") as temp:
            save_file({"latents": torch.zeros(2, 3)}, temp)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "clip.latents.safetensors").st_mode) == 0o644

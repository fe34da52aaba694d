"""The same request run again in the same process makes the same output to the bit.

A job leaves the process's heap full of its freed buffers. Anything on the way to the output
that reads memory it never wrote (x264's AVX-512 macroblock-tree code did) then sees another
job's leftovers, and the second run of a request comes out different from the first. The tests
give each run other bytes in the heap, so such a read shows every time instead of now and then.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.generate import requests as rq
from engine.generate.executor import execute
from engine.generate.media_io import read_video, write_video
from engine.model import edits
from engine.model.items import Clip, MediaRef
from engine.model.project import new_project
from engine.time import FrameRange, FrameRate

pytestmark = pytest.mark.filterwarnings("ignore")

PROMPT = "a red circle moving right on a black background"
M_PERTURB = -6  # glibc's malloc.h


@contextlib.contextmanager
def heap_blocks_filled_with(byte: int):
    """Blocks of the C heap filled with `byte` when freed (and new ones with its complement) while
    the context lasts: a read of memory nobody wrote then gives other bytes in each run, every
    time, where otherwise it gives whatever the previous job left there, now and then other.
    glibc's malloc perturbation (mallopt M_PERTURB); elsewhere the heap is left as it is."""
    import ctypes
    import ctypes.util

    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    mallopt = getattr(libc, "mallopt", None) if sys.platform.startswith("linux") else None
    if mallopt is None or not mallopt(M_PERTURB, byte):
        yield
        return
    try:
        yield
    finally:
        mallopt(M_PERTURB, 0)


def _sliding_pattern(num_frames: int, width: int, height: int) -> np.ndarray:
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:height, 0:width]
    frames = np.stack([np.stack([(3 * x + 5 * t) % 256, (2 * y + 3 * t) % 256, ((x + y) * t) % 256], -1)
                       for t in range(num_frames)])
    return np.clip(frames + rng.integers(-20, 20, frames.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("width, height", [(96, 64), (320, 192)])
def test_the_same_frames_make_the_same_file_whatever_a_previous_job_left_in_memory(tmp_path, width, height):
    frames = _sliding_pattern(25, width, height)
    made = []
    for i, byte in enumerate((0x11, 0x5A, 0xC3)):
        with heap_blocks_filled_with(byte):
            write_video(tmp_path / f"{i}.mp4", frames, 24.0, metadata={"comment": "same"})
        made.append((tmp_path / f"{i}.mp4").read_bytes())
    assert made[1] == made[0] and made[2] == made[0]


# -- whole requests with the bundled model -------------------------------------------------------------

def _sampling(seed: int) -> rq.Sampling:
    return rq.Sampling(seed=seed, steps=3, device="cpu")


@pytest.fixture(scope="module")
def generated_clip(tmp_path_factory) -> Path:
    """A clip the bundled model made (with its stored latents beside it)."""
    folder = tmp_path_factory.mktemp("source")
    execute(rq.Generate(output=str(folder / "source.mp4"), prompt=PROMPT, sampling=_sampling(11), frames=9))
    return folder / "source.mp4"


def _clip_on_a_project(path: Path) -> rq.ClipRef:
    """The generated clip placed on a small project's video track, as the editor hands it to a tool."""
    num_frames = read_video(path).shape[0]
    project = new_project(64, 64, 24)
    media = MediaRef("m1", str(path), "video", num_frames=num_frames, rate=FrameRate(24))
    edits.add_media(project, media)
    clip = Clip("c1", 0, media.id, FrameRange(0, num_frames))
    edits.insert(project, project.timeline.tracks_of("video")[0].id, clip)
    return rq.ClipRef(timeline=rq.TimelineRef.of(project), clip_id=clip.id)


def _stored_latents(path: Path) -> np.ndarray | None:
    from safetensors.numpy import load_file

    sidecar = path.with_suffix(".latents.safetensors")
    return load_file(str(sidecar))["latents"] if sidecar.is_file() else None


@pytest.mark.parametrize("tool", ["extend", "loop", "remix"])
def test_a_request_run_twice_in_one_process_makes_the_same_output(tmp_path, generated_clip, tool):
    clip = _clip_on_a_project(generated_clip)

    def request(output: Path) -> rq.Request:
        if tool == "extend":
            return rq.Extend(output=str(output), clip=clip, frames=8, prompt=PROMPT, sampling=_sampling(3))
        if tool == "loop":
            return rq.Loop(output=str(output), clip=clip, frames=8, context=5, sampling=_sampling(3))
        return rq.Remix(output=str(output), clip=clip, strength=0.6, prompt=PROMPT, sampling=_sampling(3))

    outputs = []
    for run, byte in (("first", 0x11), ("second", 0x5A), ("third", 0xC3)):
        (tmp_path / run).mkdir()
        with heap_blocks_filled_with(byte):
            written = execute(request(tmp_path / run / f"{tool}.mp4"))
        outputs.append(Path(written[0]))
    pictures = [read_video(path) for path in outputs]
    latents = [_stored_latents(path) for path in outputs]
    for path, picture, stored in zip(outputs[1:], pictures[1:], latents[1:], strict=True):
        assert picture.shape == pictures[0].shape
        assert picture.tobytes() == pictures[0].tobytes(), \
            f"{path.parent.name} run: {int((picture != pictures[0]).any(axis=(1, 2, 3)).sum())} frames differ, by up " \
            f"to {int(np.abs(picture.astype(int) - pictures[0]).max())} levels"
        assert (stored is None) == (latents[0] is None)
        assert stored is None or stored.tobytes() == latents[0].tobytes()
        assert path.read_bytes() == outputs[0].read_bytes()  # the whole file, its provenance included
    if tool == "remix":  # its output is exactly the generated frames: their latents are kept
        assert latents[0] is not None

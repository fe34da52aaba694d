"""Sources are decoded at the size generation needs, and running out of memory on the CPU is
the same one message as on a GPU."""

from __future__ import annotations

import tracemalloc
from fractions import Fraction

import numpy as np
import pytest
import torch

from engine.errors import ModelError
from engine.generate import tools
from engine.generate.conditions import read_source_frames
from engine.generate.media_io import fit_frames, read_video, write_video
from engine.generate.plan import PlanSource
from engine.generate.settings import SamplingSettings
from tests.generate.media import moving_square, write_clip


def _large_clip(path, width=4096, height=2160, num_frames=9):
    """A 4K clip of smooth gradients with a moving block, made with PyAV (fast preset: the test
    is about its size, not its quality)."""
    import av

    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([(x * 255 // width), (y * 255 // height), np.full_like(x, 90)], -1).astype(np.uint8)
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(24))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "23"}
        for f in range(num_frames):
            picture = base.copy()
            picture[900:1300, 400 + 300 * f:800 + 300 * f] = (230, 40, 40)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        container.mux(stream.encode())
    return path


def _peak_python_bytes(work) -> int:
    """Peak bytes Python and NumPy allocated while `work` ran (decoded frames are NumPy arrays)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_sources_read_at_a_size_are_the_pixels_fit_frames_makes(tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", 9)
    full = read_video(clip)
    for width, height in ((16, 16), (24, 16), (20, 28), (64, 48)):
        np.testing.assert_array_equal(read_video(clip, [0, 0, 3, 8], size=(width, height)),
                                      fit_frames(full[[0, 0, 3, 8]], width, height))
    # A source much larger than the result is scaled down while it is converted from YUV:
    # within a few levels of converting at full size first, and the same on average.
    large = tmp_path / "large.mp4"
    write_video(large, moving_square(9, size=256))
    expected = fit_frames(read_video(large), 48, 32).astype(int)
    fitted = read_video(large, size=(48, 32)).astype(int)
    assert fitted.shape == expected.shape == (9, 32, 48, 3)
    assert np.abs(fitted - expected).max() <= 8 and np.abs(fitted - expected).mean() < 1.0
    image = tmp_path / "still.png"
    import cv2

    cv2.imwrite(str(image), moving_square(1, size=64)[0])
    source = PlanSource(kind="image", path=str(image))
    np.testing.assert_array_equal(read_source_frames(source, [0, 1], (16, 24)),
                                  fit_frames(read_source_frames(source, [0, 1]), 16, 24))


def test_a_4k_source_extended_at_a_small_size_never_holds_4k_frames(tmp_path, tiny_ltx):
    clip = _large_clip(tmp_path / "uhd.mp4")
    source = PlanSource(kind="video", path=str(clip))
    one_full_frame = _peak_python_bytes(lambda: read_video(clip, [4]))
    assert one_full_frame >= 4096 * 2160 * 3  # the measure sees decoded frames
    sized = _peak_python_bytes(lambda: read_source_frames(source, list(range(9)), (64, 64)))
    assert sized * 20 < one_full_frame  # nine 64x64 frames, against one 4K frame
    recipe = tools.extend(tiny_ltx.caps, str(clip), context=9, new_frames=8, width=32, height=32)
    result = []
    generating = _peak_python_bytes(
        lambda: result.append(tiny_ltx.generate(recipe.plan, SamplingSettings(steps=1))))
    assert result[0].frames.shape[2:4] == (32, 32)
    assert generating * 4 < one_full_frame


@pytest.mark.parametrize("allocate", [
    lambda: torch.empty(1 << 60, dtype=torch.uint8),  # torch's CPU allocator: a RuntimeError
    lambda: np.empty(1 << 60, np.uint8),  # NumPy: a MemoryError
], ids=["torch-cpu-allocator", "numpy"])
def test_a_real_allocation_failure_on_the_cpu_is_the_documented_message(tiny_ltx, allocate):
    recipe = tools.text_to_video(tiny_ltx.caps, num_frames=9, prompt="x", width=32, height=32)

    def allocate_too_much(module, args, kwargs):
        allocate()  # an allocation no machine can make: refused at once, nothing is used

    hook = tiny_ltx.transformer.register_forward_pre_hook(allocate_too_much, with_kwargs=True)
    try:
        with pytest.raises(ModelError, match="out of memory on cpu while generating 1 x 32x32, 9 frames: lower the "
                                             "resolution, the duration or --variations"):
            tiny_ltx.generate(recipe.plan, SamplingSettings(steps=2))
    finally:
        hook.remove()
    assert tiny_ltx.generate(recipe.plan, SamplingSettings(steps=2)).frames.shape == (1, 9, 32, 32, 3)

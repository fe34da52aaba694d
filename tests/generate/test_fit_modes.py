"""A picture of another shape than the generation is framed by the request's fit mode, on the
path the model reads it: fit letterboxes (all of it kept), fill covers and crops the centre,
crop keeps the pixels unscaled. The mode travels in the typed request and its JSON."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import UserError
from engine.generate import requests as rq
from engine.generate.conditions import condition_latents
from engine.generate.media_io import frame_to, write_video
from engine.generate.settings import Size
from tests.generate.media import write_png

RED, BLUE = (230, 20, 20), (20, 20, 230)


def two_blocks(width: int = 160, height: int = 90) -> np.ndarray:
    """A 16:9 picture: black, a red block at the left edge and a blue one at the right edge."""
    picture = np.zeros((height, width, 3), np.uint8)
    picture[30:60, :20] = RED
    picture[30:60, -20:] = BLUE
    return picture


def colour_pixels(frame: np.ndarray, colour) -> int:
    return int((np.abs(frame.astype(int) - np.array(colour)).sum(axis=-1) < 90).sum())


def frames_the_model_reads(request, backend) -> np.ndarray:
    """The pictures the request's plan hands the model's encoder (through the real encoder)."""
    seen = []

    def encode(frames):
        seen.append(frames.copy())
        return backend.encode_frames(frames)

    recipe = request.recipe(backend.caps)
    condition_latents(recipe.plan, encode)
    return seen[0]


@pytest.mark.parametrize("kind", ["image", "video"])
def test_a_16_9_picture_fitted_into_a_square_keeps_both_edges_and_fill_crops_them(tmp_path, tiny_ltx, kind):
    if kind == "image":
        path = write_png(tmp_path / "wide.png", two_blocks())
    else:
        path = tmp_path / "wide.mp4"
        write_video(path, np.repeat(two_blocks()[None], 9, axis=0), 24.0)
    read = {}
    for fit in ("fit", "fill"):
        placement = rq.Placement(path=str(path), frame=0, fit=fit)
        request = rq.Generate(output=str(tmp_path / f"{fit}.mp4"), prompt="two blocks", frames=9,
                              size=Size(width=32, height=32), **{f"{kind}s": (placement,)})
        read[fit] = frames_the_model_reads(request, tiny_ltx)[0]
    fitted, filled = read["fit"], read["fill"]
    assert fitted.shape == filled.shape == (32, 32, 3)
    # fit: the whole picture, letterboxed: both blocks present at the left and right edges, black bars
    assert colour_pixels(fitted[:, :6], RED) >= 6 and colour_pixels(fitted[:, -6:], BLUE) >= 6
    assert fitted[:6].max() < 40 and fitted[-6:].max() < 40  # the bars above and below
    # fill: covers the square, so both edge blocks are cut away
    assert colour_pixels(filled, RED) == 0 and colour_pixels(filled, BLUE) == 0
    assert filled[:6].mean() < 40  # (the picture's own black, no content)


def test_crop_keeps_the_pixels_unscaled_and_centred():
    picture = two_blocks(40, 20)
    cropped = frame_to(picture[None], 20, 20, "crop")[0]
    np.testing.assert_array_equal(cropped, picture[:, 10:30])
    bordered = frame_to(picture[None], 60, 30, "crop")[0]
    np.testing.assert_array_equal(bordered[5:25, 10:50], picture)
    assert bordered[:5].max() == 0 and bordered[:, :10].max() == 0


def test_the_fit_mode_travels_in_the_request_json_and_old_json_means_fill(tmp_path):
    placement = rq.Placement(path=str(tmp_path / "a.png"), frame=0, fit="fit")
    request = rq.Generate(output=str(tmp_path / "o.mp4"), prompt="x", images=(placement,))
    data = request.to_json()
    assert data["schema"] == "Generate.1" and data["images"][0]["fit"] == "fit"
    assert rq.request_from_json(data) == request
    del data["images"][0]["fit"]  # a request queued before the field existed
    assert rq.request_from_json(data).images[0].fit == "fill"
    with pytest.raises(UserError, match=r"--fit 'stretch' .*fill, fit, crop"):
        rq.Placement(path="a.png", fit="stretch")


def test_the_plan_names_each_sources_fit_mode(tmp_path, tiny_ltx):
    path = write_png(tmp_path / "wide.png", two_blocks())
    request = rq.Generate(output=str(tmp_path / "o.mp4"), prompt="x", frames=9, size=Size(width=32, height=32),
                          images=(rq.Placement(path=str(path), fit="fit"),
                                  rq.Placement(path=str(path), frame=8, fit="fill")))
    plan = request.recipe(tiny_ltx.caps).plan
    assert sorted(s["fit"] for s in plan.summary()["sources"]) == ["fill", "fit"]

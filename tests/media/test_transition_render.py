"""Transitions and opacity in the picture: what the compositor and an export show."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.media.compositor import Compositor, render_frame
from engine.media.decode import VideoReader
from engine.media.export import RenderSettings, export
from engine.model import edits, transition_edits
from engine.model.curves import Curve
from engine.model.items import Clip, MediaRef
from engine.model.project import new_project
from engine.model.serialize import load_project, project_to_dict
from engine.model.transition import Transition
from engine.time import FrameRange, FrameRate
from tests.media.media_factory import write_video

W, H, RATE = 64, 48, 24
DARK, LIGHT = 40, 220


@pytest.fixture(scope="module")
def greys(tmp_path_factory):
    folder = tmp_path_factory.mktemp("greys")
    refs = []
    for media_id, level in (("a", DARK), ("b", LIGHT)):
        path = write_video(folder / f"{media_id}.mp4", [np.full((H, W, 3), level, np.uint8)] * 48, rate=RATE,
                           options={"crf": "0"}, pix_fmt="yuv444p")
        refs.append(MediaRef(media_id, str(path), "video", 48, FrameRate(RATE), W, H))
    return refs


def cut_project(refs):
    """A (dark) for frames 0-23 then B (light) from 24, both with 12 spare frames either side."""
    project = new_project(W, H, RATE)
    for ref in refs:
        edits.add_media(project, ref)
    v1 = project.timeline.tracks_of("video")[0].id
    edits.insert(project, v1, Clip("A", 0, "a", FrameRange(12, 36)))
    edits.insert(project, v1, Clip("B", 24, "b", FrameRange(12, 36)))
    return project


def exported_levels(project, path, frames) -> list[float]:
    export(project, path, RenderSettings(crf=0, preset="ultrafast", audio=False))
    with VideoReader(str(path), FrameRate(RATE)) as reader:
        return [float(reader.rgb(f)[H // 2, W // 2].mean()) for f in frames]


def test_cross_dissolve_export_is_the_mix_of_both_sources(greys, tmp_path):
    project = cut_project(greys)
    transition_edits.add_transition(project, "B", Transition("dissolve", 9))
    frames = range(18, 31)
    levels = exported_levels(project, tmp_path / "dissolve.mp4", frames)
    p = [(f - 20 + 0.5) / 9 if 20 <= f < 29 else (0.0 if f < 20 else 1.0) for f in frames]
    expected = [DARK * (1 - w) + LIGHT * w for w in p]
    assert np.abs(np.array(levels) - np.array(expected)).max() <= 2.0
    assert abs(levels[24 - 18] - (DARK + LIGHT) / 2) <= 2.0  # halfway through: half of each


def test_dip_to_black_passes_through_black_and_a_wipe_moves_an_edge(greys):
    project = cut_project(greys)
    transition_edits.add_transition(project, "B", Transition("dip", 9))
    assert render_frame(project, 24).max() <= 1  # the middle frame is the colour
    assert abs(float(render_frame(project, 21)[0, 0, 0]) - DARK * (1 - 2 * 1.5 / 9)) <= 1  # p = 1.5 / 9, a third of the way to black
    transition_edits.set_transition(project, "B", Transition("wipe", 9, direction="right"))
    picture = render_frame(project, 24)  # halfway: the left half shows B, the right half A
    assert picture[:, : W // 2 - 1].min() >= LIGHT - 2 and picture[:, W // 2 + 1:].max() <= DARK + 2
    transition_edits.set_transition(project, "B", None)
    assert render_frame(project, 23)[0, 0, 0] == pytest.approx(DARK, abs=1)  # a plain cut again
    assert Compositor().passthrough(project, 23) is not None


def test_hold_curve_leaves_the_export_alone_and_opacity_changes_it(greys, tmp_path):
    project = cut_project(greys)
    frames = range(0, 12)
    plain = exported_levels(project, tmp_path / "plain.mp4", frames)
    edits.set_curve(project, "A", Curve.ramp(0, 23, 0.0, 1.0))  # "fade in" of the hold for the model
    held = exported_levels(project, tmp_path / "held.mp4", frames)
    assert held == plain
    transition_edits.set_opacity(project, "A", Curve.ramp(0, 10, 0.0, 1.0))
    faded = exported_levels(project, tmp_path / "faded.mp4", frames)
    expected = [DARK * min(f / 10, 1.0) for f in frames]
    assert np.abs(np.array(faded) - np.array(expected)).max() <= 2.0 and faded[0] <= 1.0


def test_an_old_project_with_a_crossfade_renders_as_before(greys, tmp_path):
    project = cut_project(greys)
    edits.add_track(project, "video", "V2", index=1)
    v2 = project.timeline.tracks_of("video")[0].id
    edits.remove(project, "B")
    edits.insert(project, v2, Clip("B", 10, "b", FrameRange(0, 20)))
    data = project_to_dict(project, str(tmp_path))
    fade_in = [[0, 0.0, "linear"], [10, 1.0, "linear"]]
    for track in data["timeline"]["tracks"]:  # as Kinora wrote it before opacity: Clip.2, curve = picture
        for item in track["items"]:
            item["schema"] = "Clip.2"
            if item["id"] == "B":
                item["curve"] = fade_in
    (tmp_path / "old.kinora").write_text(json.dumps(data))
    loaded = load_project(tmp_path / "old.kinora")
    levels = [float(render_frame(loaded, f)[H // 2, W // 2].mean()) for f in range(8, 22)]
    weights = Curve.ramp(0, 10, 0.0, 1.0).evaluate(np.arange(-2, 12))
    expected = DARK + (LIGHT - DARK) * weights  # the old compositor's crossfade of B over A
    assert np.abs(np.array(levels) - expected).max() <= 2.0


@pytest.mark.parametrize("transition", [Transition("dissolve"), Transition("dip", color="#ff8010"),
                                        *(Transition("wipe", direction=d) for d in ("right", "left", "down", "up"))])
def test_the_fast_opaque_mix_equals_the_general_one(transition):
    from engine.media.transition_mix import as_layer, mix, mix_opaque, premultiplied

    rng = np.random.default_rng(3)
    a, b = (rng.integers(0, 256, (H, W, 3), np.uint8) for _ in range(2))
    for progress in (0.1, 0.4, 0.5, 0.8):
        general = as_layer(mix(premultiplied(a, 0, 0, 1.0, W, H), premultiplied(b, 0, 0, 1.0, W, H), transition,
                               progress))
        assert np.abs(general.astype(int) - mix_opaque(a, b, transition, progress).astype(int)).max() <= 1


def test_a_letterboxed_dissolve_keeps_its_borders_transparent(tmp_path):
    from engine.media.transition_mix import as_layer, mix, premultiplied

    narrow = np.full((H, W // 2, 3), 200, np.uint8)
    full = np.full((H, W, 3), 100, np.uint8)
    layer = as_layer(mix(premultiplied(narrow, 0, W // 4, 1.0, W, H), premultiplied(full, 0, 0, 1.0, W, H),
                         Transition("dissolve"), 0.25))
    assert layer.shape == (H, W, 4)
    assert layer[0, 0].tolist() == [100, 100, 100, round(0.25 * 255)]  # only B covers the border, a quarter
    assert layer[0, W // 2].tolist() == [175, 175, 175, 255]  # 0.75 * 200 + 0.25 * 100


@pytest.mark.parametrize("transition", [Transition("dissolve"), Transition("dip", color="#ff8010"),
                                        Transition("wipe", direction="left"), Transition("wipe", direction="down")])
def test_the_rectangle_mix_of_letterboxed_pictures_equals_the_general_one(transition):
    from engine.media.transition_mix import as_layer, mix, mix_rects, premultiplied

    rng = np.random.default_rng(4)
    a = rng.integers(0, 256, (H, W // 2, 3), np.uint8)  # pillarboxed
    b = rng.integers(0, 256, (H // 2, W, 3), np.uint8)  # letterboxed
    placed = [(a, 0, W // 4, 0.8), (b, H // 4, 0, 0.6)]
    for progress in (0.1, 0.4, 0.5, 0.8):
        general = as_layer(mix(*(premultiplied(p, y, x, o, W, H) for p, y, x, o in placed), transition, progress))
        fast = mix_rects(placed, transition, progress, W, H)
        if general.shape[2] == 3:  # every pixel opaque (the middle of a dip)
            general = np.dstack([general, np.full((H, W), 255, np.uint8)])
        covered = general[..., 3] > 2  # colour is meaningless where a pixel is (almost) transparent
        assert np.abs(general[..., 3].astype(int) - fast[..., 3]).max() <= 1
        assert np.abs(general[covered].astype(int) - fast[covered].astype(int)).max() <= 1

"""Pictures of features merged from separate branches, used together: a transition on a cut
between clips with a speed, a transform inside a transition, a title over a dissolve."""

from __future__ import annotations

import numpy as np
import pytest

from engine.media.compositor import render_frame
from engine.model import edits, transition_edits
from engine.model.effect_edits import add_title, set_speed
from engine.model.items import Clip, MediaRef
from engine.model.project import Track
from engine.model.transition import Transition
from engine.time import FrameRange, FrameRate
from tests.media.media_factory import index_picture, read_index, write_video
from tests.media.test_compositor import project_of

SIZE = 64


@pytest.fixture(scope="module")
def index_ref(tmp_path_factory):
    """48 frames, each picture encoding its own frame number."""
    path = write_video(tmp_path_factory.mktemp("idx") / "idx.mp4", [index_picture(i, SIZE, SIZE) for i in range(48)],
                       rate=24, options={"crf": "0"})
    return MediaRef("m", str(path), "video", 48, FrameRate(24), SIZE, SIZE)


def one_shot_in_two(index_ref, speed: float, reverse: bool, transition: Transition):
    """Source frames 8..39 of one shot at `speed`, split in two at its middle, with `transition`
    on that cut: each part runs on its handles into the other's time, which are the frames the
    other part shows there, so the transition changes no picture."""
    project = project_of([Track("v", "video", items=(Clip("a", 0, "m", FrameRange(8, 40)),))], [index_ref],
                         width=SIZE, height=SIZE)
    set_speed(project, "a", speed, reverse=reverse)
    whole = project.timeline.find("a")[1]
    cut = whole.start + whole.range.duration // 2
    before = [read_index(render_frame(project, f)) for f in range(whole.range.duration)]
    edits.split(project, "a", cut, "b")
    transition_edits.add_transition(project, "b", transition)
    return project, cut, before


@pytest.mark.parametrize("speed, reverse", [(2.0, False), (2.0, True), (1.0, True), (0.5, False), (0.5, True)])
@pytest.mark.parametrize("kind", ["dissolve", "wipe"])
def test_a_transition_between_two_parts_of_a_retimed_shot_changes_no_frame(index_ref, speed, reverse, kind):
    project, cut, before = one_shot_in_two(index_ref, speed, reverse, Transition(kind, 6))
    span = transition_edits.transitions.span_at(project.timeline.tracks[0], cut)
    assert span is not None and span.frames == FrameRange(cut - 3, cut + 3)
    assert [read_index(render_frame(project, f)) for f in range(len(before))] == before


def test_a_title_over_a_dissolve_and_a_scaled_clip_inside_it(index_ref):
    from engine.model.effect_edits import set_transform
    from engine.model.transform import Param, Transform

    project, cut, before = one_shot_in_two(index_ref, 1.0, False, Transition("dissolve", 6))
    set_transform(project, "b", Transform(scale=Param.constant(0.5)))
    edits.add_track(project, "video", "Titles", track_id="titles", index=0)
    add_title(project, "titles", cut - 2, "T", duration=4, color="#ff0000", size=12, x=0.9, y=0.9,
              anchor="bottom-right")
    picture = render_frame(project, cut).astype(float)
    assert picture.shape == (SIZE, SIZE, 3)
    red = (picture[..., 0] > 150) & (picture[..., 1] < 80)
    assert red.any() and red[SIZE // 2:, SIZE // 2:].sum() == red.sum()  # the title, where it is placed
    # outside b's half-size picture only a's frame shows, dissolving out: (1 - p) of it over black
    p = (cut - (cut - 3) + 0.5) / 6
    expected = index_picture(before[cut], SIZE, SIZE)[:12, :12].astype(float) * (1 - p)
    assert np.abs(picture[:12, :12] - expected).max() <= 3

"""Titles, per-item transforms and clip speed, as the compositor, the export and the sound mix
show them."""

from __future__ import annotations

import av
import numpy as np
import pytest

from engine.errors import EditError, MediaError
from engine.media.audio import AudioMixer
from engine.media.compositor import Compositor, render_frame
from engine.media.export import RenderSettings, export
from engine.model import edits
from engine.model.effect_edits import add_title, set_speed, set_title, set_transform
from engine.model.items import Clip, MediaRef, Still
from engine.model.project import Track
from engine.model.titles import Title
from engine.model.transform import IDENTITY, Param, Transform
from engine.time import FrameRange, FrameRate
from tests.media.media_factory import index_picture, read_index, write_video
from tests.media.test_compositor import image_ref, project_of, solid_png


def bright(pixels: np.ndarray, level: int = 128) -> np.ndarray:
    return pixels[..., :3].max(axis=2) > level


def test_a_white_title_is_exported_where_it_is_placed_and_nowhere_else(tmp_path):
    title = Title("t", 0, 6, "HELLO", size=20, anchor="top-left", x=0.5, y=0.5)
    project = project_of([Track("v", "video", items=(title,))], [], width=160, height=96)
    preview = render_frame(project, 2)
    lit = bright(preview)
    rows, cols = np.nonzero(lit)
    # the text starts at the anchor point (80, 48) and runs right and down from it
    assert lit.sum() > 50
    assert rows.min() >= 48 and cols.min() >= 80 and rows.max() < 48 + 24 and cols.max() < 160
    out = tmp_path / "title.mp4"
    export(project, out, RenderSettings(crf=4, preset="ultrafast", audio=False))
    with av.open(str(out)) as container:
        exported = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(exported) == 6
    picture = exported[2].astype(int)
    # the same pixels as the preview (lossy coding: close, not exact); black everywhere else
    assert bright(picture[48:72, 80:]).sum() > 0.6 * lit.sum()
    outside = np.ones(lit.shape, bool)
    outside[44:76, 76:] = False
    assert picture[outside].max() < 40


def test_a_title_box_fades_and_anchors(tmp_path):
    title = Title("t", 10, 20, "Hi\nthere", size=16, color="#ff0000", anchor="bottom", x=0.5, y=1.0, box=True,
                  box_color="#0000ff", box_opacity=1.0, box_padding=4, fade_in=4, fade_out=4)
    project = project_of([Track("v", "video", items=(title,))], [], width=120, height=80)
    full = render_frame(project, 20)
    box = (full[..., 2] > 200) & (full[..., 0] < 60)
    rows, cols = np.nonzero(box)
    assert rows.max() == 79  # the box's bottom edge sits on the canvas bottom (y = 1, anchor bottom)
    assert abs((cols.min() + cols.max()) / 2 - 60) <= 1  # centred
    red = (full[..., 0] > 200) & (full[..., 2] < 60)
    assert red.sum() > 20 and np.nonzero(red)[0].min() > rows.min()  # the text is inside its box
    first = render_frame(project, 10)
    assert abs(int(first[rows.max(), cols.min() + 1, 2]) - 255 // 5) <= 2  # 1/5 of the way in
    assert render_frame(project, 9).max() == 0 and render_frame(project, 30).max() == 0


def test_a_missing_font_falls_back_to_the_built_in_one(tmp_path):
    title = Title("t", 0, 3, "Fallback", font="No Such Font", size=18)
    project = project_of([Track("v", "video", items=(title,))], [], width=160, height=96)
    assert bright(render_frame(project, 0)).sum() > 30


def test_a_title_far_larger_than_the_canvas_is_a_clear_error():
    title = Title("t", 0, 3, "W" * 400, size=2000)
    project = project_of([Track("v", "video", items=(title,))], [], width=160, height=96)
    with pytest.raises(MediaError, match="lower its size or shorten its lines"):
        render_frame(project, 0)


def white_still_project(tmp_path, transform):
    path = solid_png(tmp_path / "white.png", (255, 255, 255), size=(80, 60))
    still = Still("s", 0, 20, "img", transform=transform)
    return project_of([Track("v", "video", items=(still,))], [image_ref("img", path)], width=80, height=60)


def test_scale_one_half_puts_the_picture_in_the_centre_quarter(tmp_path):
    project = white_still_project(tmp_path, Transform(scale=Param.constant(0.5)))
    lit = bright(render_frame(project, 0))
    rows, cols = np.nonzero(lit)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (15, 44, 20, 59)
    assert lit.sum() == 30 * 40


def test_crop_blanks_the_cropped_side_and_keeps_the_rest_in_place(tmp_path):
    project = white_still_project(tmp_path, Transform(crop_left=Param.constant(0.25), crop_bottom=Param.constant(0.5)))
    picture = render_frame(project, 0)
    assert picture[:, :20].max() == 0 and picture[30:].max() == 0
    assert picture[:30, 20:].min() == 255


def test_a_keyframed_position_moves_the_picture(tmp_path):
    moving = Transform(scale=Param.constant(0.25), x=Param(((0, -0.25), (10, 0.25))))
    project = white_still_project(tmp_path, moving)
    centres = []
    for frame in (0, 5, 10, 15):
        cols = np.nonzero(bright(render_frame(project, frame)))[1]
        centres.append((cols.min() + cols.max() + 1) / 2)
    assert centres == [20.0, 40.0, 60.0, 60.0]  # a quarter left, centre, a quarter right, held


def test_rotation_turns_the_picture_about_its_centre(tmp_path):
    path = solid_png(tmp_path / "bar.png", (255, 255, 255), size=(60, 10))
    still = Still("s", 0, 5, "img", transform=Transform(rotation=Param.constant(90)))
    project = project_of([Track("v", "video", items=(still,))], [image_ref("img", path)], width=60, height=60)
    rows, cols = np.nonzero(bright(render_frame(project, 0)))
    assert rows.max() - rows.min() > 50 and cols.max() - cols.min() < 14  # the wide bar now stands upright


@pytest.fixture
def index_project(tmp_path):
    path = write_video(tmp_path / "idx.mp4", [index_picture(i * 8, 64, 64) for i in range(40)], rate=24,
                       options={"crf": "0"})
    ref = MediaRef("m", str(path), "video", 40, FrameRate(24), 64, 64)
    clip = Clip("c", 0, "m", FrameRange(0, 40))
    return project_of([Track("v", "video", items=(clip,))], [ref], width=64, height=64)


def test_double_speed_shows_source_frame_2n_at_frame_n(index_project):
    set_speed(index_project, "c", 2.0)
    assert index_project.timeline.find("c")[1].range == FrameRange(0, 20)
    assert [read_index(render_frame(index_project, n)) // 8 for n in (0, 1, 7, 19)] == [0, 2, 14, 38]


def test_half_speed_blends_the_two_nearest_source_frames(index_project):
    plain = Compositor()
    whole = [plain.render(index_project, n).astype(int) for n in (3, 4)]
    set_speed(index_project, "c", 0.5)
    assert index_project.timeline.find("c")[1].range == FrameRange(0, 80)
    assert read_index(render_frame(index_project, 6)) == 3 * 8  # whole positions show the frame itself
    between = Compositor().render(index_project, 7).astype(int)  # source position 3.5
    assert np.abs(between - (whole[0] + whole[1]) / 2).max() <= 1
    assert np.any(whole[0] != whole[1])


def test_a_reversed_clip_plays_its_source_backwards_also_after_trims_and_a_split(index_project):
    edits.trim_end(index_project, "c", 30)
    set_speed(index_project, "c", 1.0, reverse=True)  # source frames 0..29, last first
    assert [read_index(render_frame(index_project, n)) // 8 for n in (0, 1, 29)] == [29, 28, 0]
    before = [read_index(render_frame(index_project, n)) for n in range(30)]
    edits.split(index_project, "c", 10, new_item_id="right")
    assert [read_index(render_frame(index_project, n)) for n in range(30)] == before  # the cut changes no frame
    edits.trim_start(index_project, "c", 4)
    edits.trim_end(index_project, "right", 25)
    assert [read_index(render_frame(index_project, n)) for n in range(4, 25)] == before[4:25]
    set_speed(index_project, "right", 2.0)
    assert [read_index(render_frame(index_project, n)) // 8 for n in (10, 11)] == [19, 17]


def test_set_speed_keeps_the_start_is_undoable_and_refuses_an_overlap(index_project):
    track = index_project.timeline.tracks[0]
    edits.insert(index_project, track.id, Clip("next", 50, "m", FrameRange(0, 5)))
    undo = set_speed(index_project, "c", 4.0)
    assert index_project.timeline.find("c")[1].range == FrameRange(0, 10)
    edits.apply(index_project, undo)
    assert index_project.timeline.find("c")[1].range == FrameRange(0, 40)
    with pytest.raises(EditError, match="overlap"):
        set_speed(index_project, "c", 0.5)
    with pytest.raises(EditError, match="outside"):
        set_speed(index_project, "c", 0.0)


def test_trim_and_split_of_a_fast_clip_count_source_frames_by_its_speed(index_project):
    set_speed(index_project, "c", 2.0)
    edits.split(index_project, "c", 5, new_item_id="right")
    left, right = index_project.timeline.find("c")[1], index_project.timeline.find("right")[1]
    assert (left.source_range, left.range) == (FrameRange(0, 10), FrameRange(0, 5))
    assert (right.source_range, right.range) == (FrameRange(10, 40), FrameRange(5, 20))
    assert read_index(render_frame(index_project, 6)) // 8 == 12
    edits.trim_end(index_project, "right", 15)
    assert index_project.timeline.find("right")[1].source_range == FrameRange(10, 30)


def test_a_transformed_or_retimed_clip_is_never_passed_through_unchanged(index_project):
    compositor = Compositor()
    assert compositor.passthrough(index_project, 0) is not None
    set_transform(index_project, "c", Transform(scale=Param.constant(0.5)))
    assert compositor.passthrough(index_project, 0) is None
    set_transform(index_project, "c", IDENTITY)
    set_speed(index_project, "c", 2.0)
    assert compositor.passthrough(index_project, 0) is None
    set_speed(index_project, "c", 1.0)
    edits.add_track(index_project, "video", track_id="v2")  # above the clip's track
    add_title(index_project, "v2", 0, "over", duration=5)
    assert compositor.passthrough(index_project, 0) is None


def test_title_edits_are_checked(index_project):
    track = index_project.timeline.tracks[0].id
    edits.trim_end(index_project, "c", 10)
    add_title(index_project, track, 20, "a", title_id="t")
    undo = set_title(index_project, "t", text="b", color="#00FF00", size=30)
    title = index_project.timeline.find("t")[1]
    assert (title.text, title.color, title.size) == ("b", "#00ff00", 30)
    edits.apply(index_project, undo)
    assert index_project.timeline.find("t")[1].text == "a"
    with pytest.raises(EditError, match="colour"):
        set_title(index_project, "t", color="red")
    with pytest.raises(EditError, match="no setting"):
        set_title(index_project, "t", start=3)


def test_the_sound_of_a_double_speed_clip_plays_twice_as_high(tmp_path):
    rate, seconds = 48000, 2
    t = np.arange(rate * seconds) / rate
    tone = np.stack([np.sin(2 * np.pi * 440 * t)] * 2).astype(np.float32) * 0.5
    path = write_video(tmp_path / "tone.mp4", [index_picture(i, 32, 32) for i in range(48)], rate=24, audio=tone)
    ref = MediaRef("m", str(path), "video", 48, FrameRate(24), 32, 32, has_audio=True)
    clip = Clip("c", 0, "m", FrameRange(0, 48), speed=2.0)
    project = project_of([Track("v", "video", items=(clip,))], [ref])
    mixer = AudioMixer(project)
    sound = mixer.mix(FrameRange(4, 20))[0]
    mixer.close()
    spectrum = np.abs(np.fft.rfft(sound * np.hanning(len(sound))))
    peak = np.fft.rfftfreq(len(sound), 1 / rate)[int(np.argmax(spectrum))]
    assert abs(peak - 880) < 5


def test_the_sound_of_a_reversed_clip_runs_backwards(tmp_path):
    rate = 48000
    t = np.arange(rate * 2) / rate
    tone = np.sin(2 * np.pi * 440 * t) * np.where(t < 1.0, 0.5, 0.0)  # sound for one second, then silence
    path = write_video(tmp_path / "half.mp4", [index_picture(i, 32, 32) for i in range(48)], rate=24,
                       audio=np.stack([tone, tone]).astype(np.float32))
    ref = MediaRef("m", str(path), "video", 48, FrameRate(24), 32, 32, has_audio=True)
    project = project_of([Track("v", "video", items=(Clip("c", 0, "m", FrameRange(0, 48), reverse=True),))], [ref])
    mixer = AudioMixer(project)
    first_second, second_second = mixer.mix(FrameRange(2, 22))[0], mixer.mix(FrameRange(26, 46))[0]
    mixer.close()
    assert np.abs(first_second).max() < 0.02 and np.abs(second_second).max() > 0.3

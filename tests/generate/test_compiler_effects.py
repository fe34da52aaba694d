"""Titles, transforms and speed as the generation plan sees them: a title is never held, a
clip's speed picks the source frames held, its transform does not change them."""

import dataclasses

import numpy as np

from engine.generate.compiler import compile
from engine.model.items import Clip, MediaRef
from engine.model.titles import Title
from engine.model.transform import Param, Transform
from engine.time import FrameRange, FrameRate
from tests.generate.test_compiler import LTX, _project

VIDEO = MediaRef("vid", "/media/shot.mp4", "video", num_frames=100, rate=FrameRate(24))


def test_a_title_over_a_clip_changes_nothing_in_the_plan():
    clip = Clip("c", 0, "vid", FrameRange(0, 17))
    title = Title("t", 0, 17, "THE END", box=True)
    plain = compile(_project([clip], media=[VIDEO]), FrameRange(0, 17), LTX)
    titled = compile(_project([clip], media=[VIDEO], upper_video_items=[title]), FrameRange(0, 17), LTX)
    assert len(titled.layers) == len(plain.layers) == 1 and len(titled.sources) == 1
    np.testing.assert_array_equal(titled.pixel_strength, plain.pixel_strength)
    np.testing.assert_array_equal(titled.layers[0].pixel_source_frame, plain.layers[0].pixel_source_frame)
    alone = compile(_project(upper_video_items=[title]), FrameRange(0, 17), LTX)
    assert alone.layers == () and not alone.has_conditions


def test_a_fast_clip_holds_every_other_source_frame_and_its_transform_is_not_applied():
    clip = Clip("c", 0, "vid", FrameRange(10, 44), speed=2.0,
                transform=Transform(scale=Param.constant(0.5), x=Param.constant(0.3)))
    plan = compile(_project([clip], media=[VIDEO]), FrameRange(0, 17), LTX)
    np.testing.assert_array_equal(plan.layers[0].pixel_source_frame, 10 + 2 * np.arange(17))
    slow = dataclasses.replace(clip, speed=0.5, transform=Transform())
    plan = compile(_project([slow], media=[VIDEO]), FrameRange(0, 17), LTX)
    np.testing.assert_array_equal(plan.layers[0].pixel_source_frame, 10 + np.arange(17) // 2)


def test_a_retimed_sound_is_held_where_the_mix_plays_it():
    from engine.generate.audio_plan import audio_layers
    from engine.model import edits
    from engine.model.project import new_project

    project = new_project(32, 32, 24)
    edits.add_media(project, MediaRef("s", "/media/sound.wav", "audio"))
    track = project.timeline.tracks_of("audio")[0].id
    edits.insert(project, track, Clip("fast", 0, "s", FrameRange(24, 72), speed=2.0))  # frames 0..23
    edits.insert(project, track, Clip("back", 24, "s", FrameRange(0, 24), reverse=True))  # frames 24..47
    (fast, back), _ = audio_layers(project, FrameRange(0, 48), 24.0, 48, [])
    # one audio latent frame a timeline frame: the fast clip's sound from 1 s on at two seconds a second,
    # the reversed one's from its last frame (23/24 s) back to its first
    np.testing.assert_allclose(fast.audio_source_time[:24], (24 + 2 * np.arange(24)) / 24)
    np.testing.assert_allclose(back.audio_source_time[24:], (23 - np.arange(24)) / 24)

"""The OpenCV detectors recognise colour, shape and motion of rendered clips, where the truth is known."""

import numpy as np
import pytest

from engine.toyworld.detect import (
    background_drift,
    ciede2000,
    clip_matches,
    detect_clip,
    frame_matches,
    radial_profile,
    rgb_to_lab,
)
from engine.toyworld.world import COLOURS, MOTIONS, SHAPES, ObjectSpec, SceneSpec, random_scene, render_scene


def test_detectors_read_random_rendered_clips_correctly():
    rng = np.random.default_rng(2024)
    right = {"colour": 0, "shape": 0, "motion": 0, "all": 0}
    count = 40
    for _ in range(count):
        scene = random_scene(rng, num_objects=1)
        truth = scene.objects[0]
        tracks = detect_clip(render_scene(scene), max_objects=1)
        found = tracks[0] if tracks else None
        right["colour"] += bool(found and found.colour == truth.colour)
        right["shape"] += bool(found and found.shape == truth.shape)
        right["motion"] += bool(found and found.motion == truth.motion)
        right["all"] += clip_matches(render_scene(scene), ((truth.colour, truth.shape, truth.motion),))
    assert right["colour"] == count
    assert right["shape"] >= 0.95 * count
    assert right["motion"] >= 0.95 * count
    assert right["all"] >= 0.9 * count


def test_every_colour_shape_and_motion_is_recognised():
    for i, motion in enumerate(MOTIONS):
        shape = SHAPES[1 + i % 3] if motion == "spinning" else SHAPES[i % 4]
        colour = list(COLOURS)[i % len(COLOURS)]
        x, y = 0.5, 0.5
        if motion == "moving right":
            x = 0.28
        elif motion == "moving left":
            x = 0.72
        elif motion == "moving down":
            y = 0.28
        elif motion in ("moving up", "bouncing"):
            y = 0.72
        scene = SceneSpec((ObjectSpec(colour, shape, motion, x, y, 0.13, 10.0),), "white")
        tracks = detect_clip(render_scene(scene), max_objects=1)
        assert (tracks[0].colour, tracks[0].shape, tracks[0].motion) == (colour, shape, motion)


def test_two_objects_are_told_apart():
    rng = np.random.default_rng(7)
    good = 0
    for _ in range(12):
        scene = random_scene(rng, num_objects=2)
        good += clip_matches(render_scene(scene), tuple((o.colour, o.shape, o.motion) for o in scene.objects))
    assert good >= 10


def test_frame_matching_sees_the_wrong_colour_and_shape():
    frame = render_scene(SceneSpec((ObjectSpec("red", "star", "standing still", 0.5, 0.5, 0.14),), "sky"),
                         num_frames=1)[0]
    assert frame_matches(frame, (("red", "star", "standing still"),))
    assert not frame_matches(frame, (("blue", "star", "standing still"),))
    assert not frame_matches(frame, (("red", "circle", "standing still"),))
    empty = render_scene(SceneSpec((), "grass"), num_frames=1)[0]
    assert detect_clip(np.stack([empty] * 5)) == []


def test_a_boundary_a_hair_below_the_centre_falls_in_the_first_sector():
    # A generated frame had this: -6e-6 degrees, which is 360.0 modulo 360 in float32.
    contour = np.array([[[20, 10]], [[20, 11]], [[0, 11]], [[0, 10]]], np.int32)
    profile = radial_profile(contour, 10.0, 10.000001)
    assert profile.shape == (360,) and profile[0] == pytest.approx(10.0, abs=1e-3)


def test_ciede2000_matches_the_published_test_pairs():
    # Sharma, Wu and Dalal (2005), pairs 1, 7 and 17 of their table.
    lab1 = np.array([[50.0, 2.6772, -79.7751], [50.0, 0.0, 0.0], [50.0, 2.5, 0.0]])
    lab2 = np.array([[50.0, 0.0, -82.7485], [50.0, -1.0, 2.0], [73.0, 25.0, -18.0]])
    assert np.allclose(ciede2000(lab1, lab2), [2.0425, 2.3669, 27.1492], atol=1e-4)
    assert np.allclose(rgb_to_lab(np.array([255, 255, 255])), [100, 0, 0], atol=0.01)


def test_background_drift_ignores_moving_objects_and_sees_a_colour_shift():
    frames = render_scene(SceneSpec((ObjectSpec("green", "circle", "moving right", 0.3, 0.5, 0.12),), "white"))
    assert background_drift(frames[0], frames[-1]) < 0.01
    tinted = frames[-1].copy()
    tinted[..., 0] = (tinted[..., 0] * 0.9).astype(np.uint8)
    assert background_drift(frames[0], tinted) > 3

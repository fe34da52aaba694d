"""The procedural world: deterministic clips, captions from the grammar, storyboards and dissolves."""

import numpy as np
import pytest

from engine.toyworld.world import (
    BACKGROUNDS,
    COLOURS,
    MOTIONS,
    SHAPES,
    ObjectSpec,
    SceneSpec,
    latent_captions,
    object_state,
    parse_caption,
    random_clip,
    random_scene,
    render_scene,
)


def test_the_same_seed_renders_the_same_clip_and_another_seed_does_not():
    a, b, c = random_clip(7), random_clip(7), random_clip(8)
    assert np.array_equal(a.frames, b.frames) and a.captions == b.captions
    assert not np.array_equal(a.frames, c.frames)
    assert a.frames.shape == (25, 64, 64, 3) and a.frames.dtype == np.uint8


def test_the_grammar_covers_the_world_and_reads_back():
    assert len(SHAPES) >= 4 and len(COLOURS) >= 6 and len(BACKGROUNDS) >= 5
    assert {"moving left", "moving right", "moving up", "moving down", "growing", "shrinking", "spinning",
            "bouncing", "standing still"} <= set(MOTIONS)
    rng = np.random.default_rng(0)
    for _ in range(200):
        scene = random_scene(rng)
        objects, background = parse_caption(scene.caption())
        assert objects == tuple((o.colour, o.shape, o.motion) for o in scene.objects)
        assert background == scene.background
        assert not any(o.shape == "circle" and o.motion == "spinning" for o in scene.objects)
    scene = SceneSpec((ObjectSpec("red", "circle", "moving right", 0.3, 0.5, 0.1),), "black")
    assert scene.caption() == "a red circle moving right on a black background"
    assert SceneSpec((ObjectSpec("orange", "star", "growing", 0.5, 0.5, 0.1),), "sky").caption() \
        == "an orange star growing on a sky background"
    with pytest.raises(ValueError):
        parse_caption("a cat sleeping on a sofa")


@pytest.mark.parametrize("motion, axis, sign", [("moving right", 0, 1), ("moving left", 0, -1),
                                                ("moving down", 1, 1), ("moving up", 1, -1)])
def test_objects_move_the_way_the_caption_says(motion, axis, sign):
    frames = render_scene(SceneSpec((ObjectSpec("blue", "square", motion, 0.5, 0.5, 0.1),), "black"))
    mask = frames[..., 2] > 128
    centre_first = np.argwhere(mask[0]).mean(0)[::-1]
    centre_last = np.argwhere(mask[-1]).mean(0)[::-1]
    assert sign * (centre_last[axis] - centre_first[axis]) > 20  # pixels of 64


def test_every_moving_object_stays_inside_the_picture():
    rng = np.random.default_rng(1)
    for _ in range(300):
        scene = random_scene(rng)
        for obj in scene.objects:
            for t in (0, 12, 24):
                cx, cy, radius, _ = object_state(obj, t, 25, 64, 64)
                assert cx - radius >= -2 and cx + radius <= 66 and cy - radius >= -2 and cy + radius <= 66


def test_storyboard_clips_change_caption_on_a_latent_frame_boundary():
    kinds = {}
    for seed in range(200):
        clip = random_clip(seed)
        kinds[clip.kind] = kinds.get(clip.kind, 0) + 1
        if clip.kind == "storyboard":
            cut = clip.cut_frames[0]
            assert (cut - 1) % 4 == 0
            assert clip.captions[cut - 1] != clip.captions[cut] or clip.scenes[0] == clip.scenes[1]
            per_latent = latent_captions(clip.captions, 4)
            assert len(per_latent) == 7
            assert per_latent[0] == clip.captions[0] and per_latent[-1] == clip.captions[-1]
    assert set(kinds) == {"scene", "storyboard", "dissolve"}
    assert kinds["scene"] > kinds["storyboard"] > kinds["dissolve"]


def test_a_dissolve_passes_through_mixed_frames():
    clip = next(c for c in (random_clip(s) for s in range(100)) if c.kind == "dissolve")
    first = render_scene(clip.scenes[0])
    second = render_scene(clip.scenes[1])
    assert np.array_equal(clip.frames[0], first[0]) and np.array_equal(clip.frames[-1], second[-1])
    middle = clip.cut_frames[0]
    assert not np.array_equal(clip.frames[middle], first[middle])
    assert not np.array_equal(clip.frames[middle], second[middle])

"""The long-generation harness's measures, on rendered videos where the truth is known (the
generations themselves run in tests/bench/test_bench_windows.py)."""

import numpy as np

from engine.generate.caps import ModelCaps
from engine.generate.windows import window_layout
from engine.toyworld.detect import object_mask
from engine.toyworld.evaluate_windows import LongVideo, chain_frames, measure, summary, window_background
from engine.toyworld.world import ObjectSpec, SceneSpec, render_scene

# the bundled model's layout: 4 pixel frames per latent frame; windows of 33 frames sharing 9
CAPS = ModelCaps(family="ltx", vae_temporal_compression=4, vae_spatial_compression=8, size_multiple=8,
                 per_token_timesteps=True, window_frames=33, window_overlap_frames=9)
PROMPT = "a yellow star bouncing on a sky background"


def _rendered_chain() -> LongVideo:
    """A bouncing star on the sky, 249 frames, with the windows and joins of Kinora's chain."""
    layout = window_layout(chain_frames(CAPS, 10), CAPS)
    frames = render_scene(SceneSpec((ObjectSpec("yellow", "star", "bouncing", 0.5, 0.6, 0.15),), "sky"),
                          num_frames=layout[-1].stop)
    return LongVideo("kinora", 0, frames, [(w.start, w.stop) for w in layout],
                     [(w.first_new_frame - 1, w.first_new_frame) for w in layout[1:]])


def test_ten_windows_of_the_bundled_model_are_249_frames_sharing_9():
    assert chain_frames(CAPS, 10) == 249
    layout = window_layout(249, CAPS)
    assert len(layout) == 10 and all(w.num_frames == 33 for w in layout)
    assert [w.start for w in layout] == list(range(0, 217, 24)) and layout[1].first_new_frame == 33
    assert len(window_layout(chain_frames(CAPS, 3), CAPS)) == 3


def test_a_clean_video_has_no_drift_and_seams_like_its_interior():
    video = _rendered_chain()
    measured = measure(video, PROMPT)
    assert len(measured.seam_ratios) == 9 and len(measured.judged) == 10
    assert measured.drift < 0.5 and max(measured.drift_per_window) < 0.5
    assert max(measured.seam_ratios) < 1.5 * max(measured.interior_ratios)
    background = window_background(video.frames[:33])
    sky = render_scene(SceneSpec((), "sky"), num_frames=1)[0]
    # the star is where it spends most of the window, and only there
    off = np.abs(background.astype(int) - sky).max(axis=-1) > 2
    assert off.any() and (off <= object_mask(background)).all()


def test_a_colour_cast_is_drift_and_a_jump_at_a_join_is_a_seam():
    video = _rendered_chain()
    frames = video.frames.astype(np.float32)
    frames[..., 0] += np.linspace(0.0, 30.0, len(frames)).reshape(-1, 1, 1)  # a red cast creeping in
    jump = video.joins[3][1]  # and from the first new frame of window 4 on, everything darker at once
    frames[jump:] *= 0.85
    frames = np.clip(frames, 0, 255).round().astype(np.uint8)
    measured = measure(LongVideo("naive", 0, frames, video.windows, video.joins), PROMPT)
    assert measured.drift > 3
    assert measured.seam_ratios[3] > 3 * max(measured.seam_ratios[:3])
    assert measured.seam_ratios[3] == max(measured.seam_ratios)
    numbers = summary([measured, measure(video, PROMPT)])
    assert numbers["seam_ratio"] == measured.seam_ratios[3] and numbers["drift_max"] == measured.drift
    assert 0.0 <= numbers["adherence"] <= 1.0


def test_the_seam_measure_where_there_is_no_seam():
    from engine.toyworld.evaluate_windows import no_seam

    frames = render_scene(SceneSpec((ObjectSpec("yellow", "star", "bouncing", 0.5, 0.6, 0.15),), "sky"),
                          num_frames=33)
    jumped = frames.astype(np.float32)
    jumped[9:] *= 0.8  # a jump exactly where a chain's seam sits in its window
    jumped = jumped.round().astype(np.uint8)
    clean = no_seam(CAPS, [frames] * 9)
    assert clean["no_seam_within"] == 1.0 and clean["no_seam_worst_of_9"] <= 1.5
    bad = no_seam(CAPS, [jumped] * 9)
    assert bad["no_seam_within"] == 0.0 and bad["no_seam_worst_of_9"] > 3


def _square_video(count: int, speed: float, sides) -> np.ndarray:
    """A yellow square on the sky, moving right `speed` pixels a frame, side sides[i] in frame i."""
    import cv2

    from engine.toyworld.world import COLOURS

    sky = render_scene(SceneSpec((), "sky"), num_frames=1)[0]
    frames = []
    for i in range(count):
        frame = sky.copy()
        x, side = 8 + speed * i, int(sides[i])
        cv2.rectangle(frame, (round(x), 24), (round(x) + side - 1, 24 + side - 1), COLOURS["yellow"], -1)
        frames.append(frame)
    return np.stack(frames)


def test_the_subject_speed_and_size_are_measured_and_a_shrinking_subject_shows():
    from engine.toyworld.evaluate_windows import subject

    speed, area = subject(_square_video(33, 1.25, [12] * 33), "yellow")
    assert abs(speed - 1.25) < 0.3 and abs(area - 144) < 0.25 * 144
    assert np.isnan(subject(_square_video(33, 1.25, [12] * 33), "red")[0])  # no red object: no numbers
    layout = window_layout(chain_frames(CAPS, 3), CAPS)
    sides = np.linspace(16, 6, layout[-1].stop)
    video = LongVideo("kinora", 0, _square_video(layout[-1].stop, 0.15, sides),
                      [(w.start, w.stop) for w in layout], [(w.first_new_frame - 1, w.first_new_frame) for w in layout[1:]])
    measured = measure(video, PROMPT)
    assert measured.areas[0] > 150 and measured.areas[-1] < 0.5 * measured.areas[0]
    assert all(np.isfinite(v) and v < 1.0 for v in measured.speeds)  # it hardly moves
    numbers = summary([measured])
    assert numbers["subject_area_last"] == measured.areas[-1] and numbers["subject_area"] < measured.areas[0]


def test_a_seam_is_also_measured_against_the_two_windows_it_joins():
    """A video whose first two windows move three times as fast as the rest: their steps look
    large against the whole video's median step, not against the windows around them."""
    import cv2

    from engine.toyworld.world import COLOURS

    layout = window_layout(chain_frames(CAPS, 4), CAPS)
    count = layout[-1].stop
    sky = render_scene(SceneSpec((), "sky"), width=160, num_frames=1)[0]  # wide enough never to wrap
    speeds = np.where(np.arange(count) < layout[1].stop, 1.5, 0.5)  # the first two windows fast
    xs = 8 + np.concatenate([[0.0], np.cumsum(speeds[:-1])])
    frames = []
    for x in xs:
        frame = sky.copy()
        cv2.circle(frame, (int(round(x)), 32), 6, COLOURS["yellow"], -1)
        frames.append(frame)
    video = LongVideo("kinora", 0, np.stack(frames), [(w.start, w.stop) for w in layout],
                      [(w.first_new_frame - 1, w.first_new_frame) for w in layout[1:]])
    measured = measure(video, PROMPT)
    assert measured.seam_ratios[0] > 1.5 > max(measured.local_seam_ratios[:1])  # fast windows, no seam
    assert summary([measured])["seam_ratio_local"] == max(measured.local_seam_ratios)

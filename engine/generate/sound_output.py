"""The sound of a tool's output when the output is not only generated frames (engine.generate.tools
Recipe: the original clip's frames `before`, generated frames `keep`, the original's `after`).

Each part of the output sounds as its frames look: the original clip's sound where its frames are
kept, the sound the model made with the generated frames where they are generated. At each join
the two cross-fade over CROSSFADE_S (each side read on a little past the join: the original file
and the generated sound both go on there), so a cut never clicks.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

CROSSFADE_S = 0.01  # 10 ms: long enough to hide a cut, short enough not to smear a transient


def output_sound(recipe, generated: np.ndarray, sample_rate: int, num_frames: int) -> np.ndarray:
    """float32 (channels, samples) for an output of `num_frames` frames at the plan's rate, from the
    generated sound (channels, samples) whose sample 0 is the plan's first frame."""
    fps = Fraction(recipe.plan.rate.fps)
    channels = generated.shape[0]

    def sample(frame: int) -> int:
        return int(round(Fraction(frame) * sample_rate / fps))

    keep = recipe.keep or (0, recipe.plan.num_frames)
    parts = []  # (first output frame, stop output frame, read(first sample, count) -> (channels, count))
    at = 0
    if recipe.before:
        parts.append((at, at + len(recipe.before), _original_reader(recipe, recipe.before, at, sample_rate, channels)))
        at += len(recipe.before)
    offset = sample(keep[0]) - sample(at)  # output sample s is generated sample s + offset

    def read_generated(first: int, count: int) -> np.ndarray:
        out = np.zeros((channels, count), np.float32)
        lo, hi = max(first + offset, 0), min(first + offset + count, generated.shape[1])
        if hi > lo:
            out[:, lo - first - offset:hi - first - offset] = generated[:, lo:hi]
        return out

    parts.append((at, at + keep[1] - keep[0], read_generated))
    at += keep[1] - keep[0]
    if recipe.after:
        parts.append((at, at + len(recipe.after), _original_reader(recipe, recipe.after, at, sample_rate, channels)))
    total = sample(num_frames)
    half = max(1, int(round(CROSSFADE_S * sample_rate / 2)))
    sound = np.zeros((channels, total), np.float32)
    for first_frame, stop_frame, read in parts:
        lo = sample(first_frame) - (half if first_frame > 0 else 0)
        hi = sample(stop_frame) + (half if stop_frame < num_frames else 0)
        lo, hi = max(lo, 0), min(hi, total)
        if hi <= lo:
            continue
        weight = np.ones(hi - lo, np.float32)
        if first_frame > 0:  # fades in across the join with the part before
            weight = np.minimum(weight, _ramp(np.arange(lo, hi), sample(first_frame), half))
        if stop_frame < num_frames:  # fades out across the join with the part after
            weight = np.minimum(weight, 1.0 - _ramp(np.arange(lo, hi), sample(stop_frame), half))
        sound[:, lo:hi] += read(lo, hi - lo) * weight
    return sound


def _ramp(samples: np.ndarray, join: int, half: int) -> np.ndarray:
    """0 before join - half, 1 from join + half on, linear between: the two sides of a join sum to 1."""
    return np.clip((samples - (join - half) + 0.5) / (2 * half), 0.0, 1.0).astype(np.float32)


def _original_reader(recipe, file_frames: tuple[int, ...], first_output_frame: int, sample_rate: int,
                     channels: int):
    """read(first output sample, count) of the original file's sound under its frames `file_frames`
    (a run of the file's frames at its own rate), silence when the file has none."""
    from engine.generate.media_io import probe_video
    from engine.generate.stored_sound import file_has_sound

    if not recipe.original or not file_has_sound(recipe.original):
        return lambda first, count: np.zeros((channels, count), np.float32)
    from engine.media.audio import AudioSource

    _, file_fps = probe_video(recipe.original)
    plan_fps = Fraction(recipe.plan.rate.fps)
    # output frame first_output_frame shows file frame file_frames[0]: the same moment of both clocks
    start_s = Fraction(file_frames[0]) / Fraction(file_fps).limit_denominator(10**6)
    output_start = Fraction(first_output_frame) / plan_fps

    def read(first: int, count: int) -> np.ndarray:
        source = AudioSource(recipe.original, sample_rate, channels)
        try:
            return source.read(start_s + Fraction(first, sample_rate) - output_start, count)
        finally:
            source.close()

    return read

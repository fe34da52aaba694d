"""A plan longer than the model makes at once, as a chain of windows.

Every model has a length it was made for (its caps: `frames_per_window`). A longer plan is cut
into windows of at most that length; each window after the first starts `overlap` latent frames
before the end of the one before and holds those latent frames exactly as the window before made
them (`GenerationPlan.held_latents`: stored latents, never re-encoded pixels), so the chain
continues its motion. Everything else a window holds (clips, stills, keyframes, sound) and the
prompts it follows are the plan's over its own span.

The latent frames line up: with `tc` pixel frames per latent frame, a window starting at pixel
frame `a * tc` has its latent frame i >= 1 on the plan's latent frame `a + i`, and its lone first
latent frame on the last pixel frame of the plan's latent frame `a`. So the chain's latents,
the first window's and then each later window's after its held ones, are the plan's latent
frames one for one: the output's stored latents continue it like any generated clip's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from engine.generate.caps import ModelCaps
from engine.generate.plan import GenerationPlan, PlanAudioLayer, PlanLayer
from engine.generate.plan_frames import latent_arrays
from engine.time import FrameRange


@dataclass(frozen=True, slots=True)
class Window:
    index: int
    first_latent: int  # the plan's latent frame whose last pixel frame is this window's first
    num_latent_frames: int
    held: int  # latent frames at its start held from the window before (0 for the first window)
    tc: int

    @property
    def start(self) -> int:
        """Its first pixel frame in the plan."""
        return self.first_latent * self.tc

    @property
    def num_frames(self) -> int:
        return (self.num_latent_frames - 1) * self.tc + 1

    @property
    def stop(self) -> int:
        return self.start + self.num_frames

    @property
    def first_new_frame(self) -> int:
        """The first pixel frame (in the plan) that no earlier window made."""
        return self.start if self.held == 0 else self.start + (self.held - 1) * self.tc + 1

    def to_json(self) -> dict:
        return {"index": self.index, "start": self.start, "stop": self.stop, "held_latent_frames": self.held,
                "first_new_frame": self.first_new_frame}


def overlap_latents(caps: ModelCaps) -> int:
    """Latent frames a window holds from the one before: enough for `window_overlap_frames` pixel
    frames, at least 2 (the lone first latent frame alone carries no motion), and at most half a window."""
    tc = caps.vae_temporal_compression
    per_window = (caps.frames_per_window - 1) // tc + 1
    wanted = max(2, math.ceil((caps.window_overlap_frames - 1) / tc) + 1)
    return max(1, min(wanted, per_window // 2))


def window_layout(num_frames: int, caps: ModelCaps) -> list[Window]:
    """The windows of a plan of `num_frames` (a valid count): one when the model makes it at once,
    else the fewest windows of at most `caps.frames_per_window`, all of about the same length (a
    short last window would be shorter than the model was made for)."""
    tc = caps.vae_temporal_compression
    total = (num_frames - 1) // tc + 1
    per_window = (caps.frames_per_window - 1) // tc + 1
    if total <= per_window:
        return [Window(0, 0, total, 0, tc)]
    held = overlap_latents(caps)
    # the first window makes its n latent frames, each later one n - held new ones
    count = math.ceil((total - held) / (per_window - held))
    windows, first = [], 0
    for i, length in enumerate(_spread(total + held * (count - 1), count)):
        windows.append(Window(i, first, length, 0 if i == 0 else held, tc))
        first += length - held
    return windows


def _spread(amount: int, parts: int) -> list[int]:
    return [amount // parts + (1 if i < amount % parts else 0) for i in range(parts)]


def window_plan(plan: GenerationPlan, window: Window, held_latents: np.ndarray | None = None,
                held_audio_latents: np.ndarray | None = None,
                held_first_stage_latents: np.ndarray | None = None) -> GenerationPlan:
    """The plan of one window: the plan's frames over its span, only the prompts it uses, and the
    latent frames of the window before held at its start (strength 1 there), its sound too for a
    model that makes sound, and its first stage's latents of those frames for a model that samples
    in two stages."""
    span = slice(window.start, window.stop)
    layers = []
    for layer in plan.layers:
        weight = layer.pixel_weight[span]
        if float(weight.max(initial=0.0)) > 0.0:
            layers.append(PlanLayer(layer.source, layer.pixel_source_frame[span].copy(), weight.copy()))
    keyframes = [replace(k, pixel_frame=k.pixel_frame - window.start) for k in plan.keyframes
                 if window.start <= k.pixel_frame < window.stop]
    used = sorted({int(i) for i in plan.pixel_prompt[span]})
    index = {old: new for new, old in enumerate(used)}
    pixel_prompt = np.array([index[int(i)] for i in plan.pixel_prompt[span]], np.int64)
    pixel_strength, latent_strength, latent_layer_weight, latent_prompt = latent_arrays(
        window.num_frames, window.tc, [layer.pixel_weight for layer in layers], pixel_prompt, len(used))
    for keyframe in keyframes:
        pixel_strength[keyframe.pixel_frame] = max(pixel_strength[keyframe.pixel_frame], keyframe.strength)
    if held_latents is not None:
        latent_strength[: held_latents.shape[2]] = 1.0
        pixel_strength[: window.first_new_frame - window.start] = 1.0
    audio = _window_audio(plan, window, index)
    if held_audio_latents is not None and audio:
        audio["audio_strength"] = audio["audio_strength"].copy()
        audio["audio_strength"][: len(held_audio_latents)] = 1.0
        audio["held_audio_latents"] = held_audio_latents
    return GenerationPlan(
        width=plan.width, height=plan.height, num_frames=window.num_frames, rate=plan.rate,
        vae_temporal_compression=plan.vae_temporal_compression,
        frame_range=FrameRange(plan.frame_range.start + window.start, plan.frame_range.start + window.stop),
        prompts=tuple(plan.prompts[i] for i in used), negatives=tuple(plan.negatives[i] for i in used),
        pixel_prompt=pixel_prompt, latent_prompt=latent_prompt, sources=plan.sources, layers=tuple(layers),
        pixel_strength=pixel_strength, latent_strength=latent_strength, latent_layer_weight=latent_layer_weight,
        keyframes=tuple(keyframes), held_latents=held_latents, held_first_stage_latents=held_first_stage_latents,
        **audio)


def _window_audio(plan: GenerationPlan, window: Window, prompt_index: dict[int, int]) -> dict:
    """The audio stream over the window's span (models that make sound): its audio latent frames
    are those starting inside the span."""
    if not plan.audio_latents_per_second:
        return {}
    first, count = audio_span(plan, window)
    take = slice(first, first + count)

    def fitted(array: np.ndarray, fill) -> np.ndarray:  # rounding may leave the last window one short
        part = array[take]
        return part if len(part) == count else np.concatenate([part, np.full(count - len(part), fill, array.dtype)])

    layers = tuple(PlanAudioLayer(a.source, fitted(a.audio_source_time, np.nan), fitted(a.audio_weight, 0.0))
                   for a in plan.audio_layers)
    last_prompt = int(plan.audio_prompt[-1]) if len(plan.audio_prompt) else 0
    prompt = np.array([prompt_index.get(int(i), prompt_index.get(last_prompt, 0))
                       for i in fitted(plan.audio_prompt, last_prompt)], np.int64)
    return {"audio_latents_per_second": plan.audio_latents_per_second, "audio_layers": layers,
            "audio_strength": fitted(plan.audio_strength, 0.0), "audio_prompt": prompt}


def audio_span(plan: GenerationPlan, window: Window) -> tuple[int, int]:
    """(the plan's audio latent frame where the window's sound starts, how many it has)."""
    rate, fps = plan.audio_latents_per_second, float(plan.rate.fps)
    return round(window.start / fps * rate), round(window.num_frames / fps * rate)


def first_new_audio_frame(plan: GenerationPlan, window: Window) -> int:
    """The plan's first audio latent frame no earlier window made."""
    return round(window.first_new_frame / float(plan.rate.fps) * plan.audio_latents_per_second)


def summary(plan: GenerationPlan, caps: ModelCaps) -> list[dict]:
    """The windows of a plan as JSON, with where each sits on the timeline."""
    out = []
    for window in window_layout(plan.num_frames, caps):
        entry = window.to_json()
        entry["timeline"] = [plan.frame_range.start + window.start, plan.frame_range.start + window.stop]
        out.append(entry)
    return out


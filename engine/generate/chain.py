"""Generating a plan longer than one window: its windows one after another (engine.generate.windows).

Each window is sampled with the latent frames the window before made held at its start, then
anchored against drift: its new latent frames get the per-channel mean and spread of the latents
of its anchor, the first window or the latest window that holds something of the timeline itself
(a clip, a still, a keyframe) or follows other prompts (latent statistics matching, as the long
multi-prompt pipelines do). Each window is decoded on its own and the windows are joined with a
crossfade over the frames they share. For a model that makes sound, each window holds the audio
latent frames the window before made over the time they share too, and the chain's sound is
decoded once, whole. Finished windows are committed to a WindowStore as they come, so a job run
again starts at the first window it had not finished.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from engine.errors import ModelError
from engine.generate.backends.base import GenerationResult
from engine.generate.windows import Window, audio_span, first_new_audio_frame, window_layout, window_plan
from engine.progress import CancelToken, Progress

PREVIEW_FRAMES = 8  # pictures of a finished window sent with its progress
RAMP_LATENT_FRAMES = 2  # new latent frames over which a window's pull to its anchor ramps in


@dataclass
class Anchor:
    mean: object  # torch (1, C, 1, 1, 1)
    std: object
    prompts: tuple[str, ...]


def generate_chain(backend, plan, settings, *, on_step: Callable[[Progress], None] | None = None,
                   cancel: CancelToken | None = None, store=None, read=None, decode: bool = True,
                   upsample_conditions: bool = False) -> GenerationResult:
    """One take (settings.variations == 1) of a plan longer than the backend makes at once."""
    import torch

    if upsample_conditions:
        raise ModelError("upscaling with the latent upsampler works on one window; upscale a video of at most "
                         f"{backend.caps.frames_per_window} frames, or upscale its pixels")
    windows = window_layout(plan.num_frames, backend.caps)
    steps = settings.steps or backend.caps.default_steps  # the sampler's progress unit
    extra = {} if read is None else {"read": read}
    sound = Sound(plan) if plan.audio_latents_per_second else None
    latents_of_chain, frames, previous, anchor = [], None, None, None
    for window in windows:
        held = None if previous is None else previous[:, :, -window.held:].numpy()
        sub = window_plan(plan, window, held, None if sound is None else sound.held(window))
        stored = store.load(window.index) if store is not None else None
        if stored is None:
            result = backend.generate(sub, replace(settings, seed=window_seed(settings.seed, window.index)),
                                      on_step=_window_steps(on_step, window, len(windows)), cancel=cancel,
                                      decode=False, **extra)
            latents = result.latents.float().cpu()
            latents, anchor = anchored(latents, window, sub, anchor)
            audio = None if result.audio_latents is None else result.audio_latents.float().cpu()
            if store is not None:
                store.commit(window.index, latents, window.to_json(), audio)
        else:
            latents, audio = stored
            anchor = _next_anchor(latents, window, sub, anchor)
            _report(on_step, window, len(windows), steps, f"window {window.index + 1} of {len(windows)} was made "
                    "before")
        if sound is not None:
            sound.add(window, audio)
        latents_of_chain.append(latents if window.held == 0 else latents[:, :, window.held:])
        previous = latents
        if decode:
            generator = torch.Generator(device="cpu").manual_seed(settings.seed)
            pictures = backend.decode(latents.to(backend.device), settings, generator)
            frames = _joined(frames, pictures, window, plan.num_frames)
            _report(on_step, window, len(windows), steps, f"window {window.index + 1} of {len(windows)} done",
                    _preview(pictures))
    result = GenerationResult(latents=torch.cat(latents_of_chain, dim=2), frames=frames, seeds=[settings.seed])
    if sound is not None:
        result.audio_latents = sound.latents[None]
        result.audio_sample_rate = backend.caps.audio_sample_rate
        if decode:  # the whole sound at once: no seam to join
            result.audio = backend.decode_audio(result.audio_latents)
    return result


def window_seed(seed: int, index: int) -> int:
    """Each window's own noise (the same noise in every window repeats its patterns): the take's
    seed for the first, then seeds far from the take seeds next to it (variations add 1, 2, ...)."""
    return seed if index == 0 else (seed + index * 0x9E3779B97F4A7C15) % (2**63 - 1)


class Sound:
    """The audio stream of a chain (models that make sound): each window holds the audio latent
    frames the window before made over the time they share, and adds the ones after."""

    def __init__(self, plan) -> None:
        self.plan, self.latents, self.made = plan, None, {}

    def held(self, window: Window):
        if window.held == 0:
            return None
        first, _count = audio_span(self.plan, window)
        return self.latents[first:first_new_audio_frame(self.plan, window)].numpy()

    def add(self, window: Window, audio) -> None:
        """Window `window`'s audio latents (1, n, D): its new frames go in place."""
        import torch

        if audio is None:
            raise ModelError("a window of a chain with sound made no sound; this model cannot chain its sound")
        if self.latents is None:
            self.latents = torch.zeros(self.plan.num_audio_frames, audio.shape[2])
        first, _count = audio_span(self.plan, window)
        new = 0 if window.held == 0 else first_new_audio_frame(self.plan, window) - first
        part = audio[0, new:]
        stop = min(first + new + part.shape[0], self.latents.shape[0])
        self.latents[first + new:stop] = part[: stop - first - new]


def anchored(latents, window: Window, plan, anchor: Anchor | None):
    """(latents with their new frames pulled to the anchor, the anchor for the next window).

    The statistics are the whole window's (its held frames were anchored already, so they only
    steady the estimate), and the pull ramps in over the first new latent frames: matching the new
    frames alone would jump at the seam wherever they legitimately differ from the held ones."""
    if anchor is None or _is_anchor(window, plan, anchor):
        return latents, _anchor_of(latents, plan)
    mean, std = latents.mean(dim=(2, 3, 4), keepdim=True), latents.std(dim=(2, 3, 4), keepdim=True)
    matched = (latents - mean) / std.clamp_min(1e-6) * anchor.std + anchor.mean
    ramp = torch_ramp(latents.shape[2], window.held, RAMP_LATENT_FRAMES).to(latents)
    return latents + ramp.view(1, 1, -1, 1, 1) * (matched - latents), anchor


def torch_ramp(count: int, held: int, ramp: int):
    """0 over the held latent frames, then rising over `ramp` latent frames to 1."""
    import torch

    weight = torch.ones(count)
    weight[:held] = 0.0
    for i in range(ramp):
        if held + i < count:
            weight[held + i] = (i + 1) / (ramp + 1)
    return weight


def _next_anchor(latents, window: Window, plan, anchor: Anchor | None) -> Anchor:
    return _anchor_of(latents, plan) if anchor is None or _is_anchor(window, plan, anchor) else anchor


def _is_anchor(window: Window, plan, anchor: Anchor) -> bool:
    """A window that holds the timeline's own pictures, or follows other prompts than its anchor,
    is not pulled towards the anchor: it becomes the anchor of the windows after it."""
    if plan.keyframes or set(plan.prompts) != set(anchor.prompts):
        return True
    return any(float(layer.pixel_weight.max(initial=0.0)) > 0.0 for layer in plan.layers)


def _anchor_of(latents, plan) -> Anchor:
    return Anchor(latents.mean(dim=(2, 3, 4), keepdim=True), latents.std(dim=(2, 3, 4), keepdim=True),
                  tuple(plan.prompts))


def _joined(frames, pictures, window: Window, num_frames: int):
    """The chain's frames so far with this window's: a crossfade over the frames both made (the
    window's first one, from its lone first latent frame, weighs nothing), then its new frames."""
    pictures = np.asarray(pictures, np.float32)
    if frames is None:
        frames = np.zeros((pictures.shape[0], num_frames, *pictures.shape[2:]), np.float32)
    shared = window.first_new_frame - window.start
    if shared:
        weight = (np.arange(shared, dtype=np.float32) / shared).reshape(1, -1, 1, 1, 1)
        span = slice(window.start, window.first_new_frame)
        frames[:, span] = (1.0 - weight) * frames[:, span] + weight * pictures[:, :shared]
    frames[:, window.first_new_frame:window.stop] = pictures[:, shared:]
    return frames


def _window_steps(on_step, window: Window, count: int):
    if on_step is None:
        return None

    def step(progress: Progress) -> None:
        if progress.total <= 0:
            on_step(progress)
            return
        on_step(Progress(window.index * progress.total + progress.step, count * progress.total,
                         f"window {window.index + 1} of {count}: {progress.message}", progress.preview))
    return step


def _report(on_step, window: Window, count: int, steps: int, message: str, preview=None) -> None:
    if on_step is not None:
        on_step(Progress((window.index + 1) * steps, count * steps, message, preview))


def _preview(pictures) -> np.ndarray:
    """A few frames of a decoded window, uint8 (n, H, W, 3), at most 160 pixels wide."""
    take = pictures[0, :: max(1, pictures.shape[1] // PREVIEW_FRAMES)]
    stride = max(1, take.shape[2] // 160)
    return (np.clip(take[:, ::stride, ::stride], 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


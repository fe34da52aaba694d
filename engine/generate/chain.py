"""Generating a plan longer than one window: its windows one after another (engine.generate.windows).

Each window is sampled with the latent frames the window before made held at its start, and
anchored against drift: its new latent frames are pulled to the per-channel mean and spread of
the latents of its anchor, the first window or the latest window that holds something of the
timeline itself (a clip, a still, a keyframe) or follows other prompts (latent statistics
matching, as the long multi-prompt pipelines do). The pull steers every sampling step's clean
estimate, so the model's later steps build on it and join it to the held frames; the finished
latents are pulled once more (a no-op where the steering did its work). Guidance is eased where a
window's new frames begin (eased_guidance), so they carry the held motion on. The chain's latents are
decoded as one: each window's frames once the window after it has made the latent frames their
decode depends on (decode_reach), so the frames are those of one decode of the whole chain and
no seam is left by decoding windows apart. For a model that makes sound, each window holds the
audio latent frames the window before made over the time they share too, and the chain's sound
is decoded once, whole. For a model that samples in two stages (LTX-2 with a latent upsampler),
each window holds the window before's first-stage latents in its first stage too, so every window
runs the two stages a window alone runs. Finished windows are committed to a WindowStore as they
come, so a job run again starts at the first window it had not finished.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from engine.errors import ModelError
from engine.generate.backends.base import GenerationResult
from engine.generate.keyframe_fit import fit_keyframes
from engine.generate.settings import SamplingSettings
from engine.generate.windows import Window, audio_span, first_new_audio_frame, window_layout, window_plan
from engine.progress import CancelToken, Progress

PREVIEW_FRAMES = 8  # pictures of a finished window sent with its progress
RAMP_LATENT_FRAMES = 2  # new latent frames over which a window's pull to its anchor ramps in
MAX_DECODE_REACH = 8  # latent frames: the most context either side a span is decoded with
EASED_LATENT_FRAMES = 2  # new latent frames over which a window's guidance rises back to the take's


@dataclass
class Anchor:
    mean: object  # torch (1, C, 1, 1, 1)
    std: object
    prompts: tuple[str, ...]
    # a two-stage model's: the same statistics of its first stage's latents, which steer a first stage
    first_stage: Anchor | None = None


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
    latents_of_chain, previous, previous_first_stage, anchor = [], None, None, None
    pictured = False  # a decoded picture of the chain was sent: later steps send none, so it stays in view
    pictures = Pictures(backend, settings, plan.num_frames) if decode else None
    for window in windows:
        held = None if previous is None else previous[:, :, -window.held:].numpy()
        held_first_stage = (None if previous_first_stage is None or window.held == 0
                            else previous_first_stage[:, :, -window.held:].numpy())
        sub = window_plan(plan, window, held, None if sound is None else sound.held(window), held_first_stage)
        stored = store.load(window.index) if store is not None else None
        if stored is None:
            steer = None
            if anchor is not None and not _is_anchor(window, sub, anchor):
                # a two-stage model's steering acts in its first stage: towards that stage's statistics
                two_stage = held_first_stage is not None and anchor.first_stage is not None
                steer = pull(window, anchor.first_stage if two_stage else anchor)
            result = backend.generate(sub, replace(settings, seed=window_seed(settings.seed, window.index)),
                                      on_step=_window_steps(on_step, window, len(windows), not pictured),
                                      cancel=cancel, decode=False, steer=steer, **extra,
                                      frame_guidance=None if window.held == 0 else eased_guidance(window))
            latents = result.latents.float().cpu()
            first_stage = None if result.first_stage_latents is None else result.first_stage_latents.float().cpu()
            latents, anchor = anchored(latents, window, sub, anchor, first_stage)
            # after the pull, which moves every new latent frame: keyframes held as their pictures
            latents = fit_keyframes(backend, sub, latents, settings, read, cancel, report=lambda message, w=window: _report(
                on_step, w, len(windows), steps, f"window {w.index + 1} of {len(windows)}: {message}"))
            latents = latents.float().cpu()
            audio = None if result.audio_latents is None else result.audio_latents.float().cpu()
            if store is not None:
                store.commit(window.index, latents, window.to_json(), audio, first_stage)
        else:
            latents, audio, first_stage = stored
            anchor = _next_anchor(latents, window, sub, anchor, first_stage)
            _report(on_step, window, len(windows), steps, f"window {window.index + 1} of {len(windows)} was made "
                    "before")
        if sound is not None:
            sound.add(window, audio)
        latents_of_chain.append(latents if window.held == 0 else latents[:, :, window.held:])
        previous, previous_first_stage = latents, first_stage
        if pictures is not None:
            made = pictures.add(latents_of_chain[-1], last=window is windows[-1])
            _report(on_step, window, len(windows), steps, f"window {window.index + 1} of {len(windows)} done",
                    None if made is None else _preview(made))
            pictured = pictured or made is not None
    result = GenerationResult(latents=torch.cat(latents_of_chain, dim=2),
                              frames=None if pictures is None else pictures.frames, seeds=[settings.seed])
    if sound is not None:
        result.audio_latents = sound.latents[None]
        result.audio_sample_rate = backend.caps.audio_sample_rate
        if decode:  # the whole sound at once: no seam to join
            result.audio = backend.decode_audio(result.audio_latents)
    return result


def eased_guidance(window: Window) -> list[float]:
    """The share of the guidance above 1 each latent frame of a later window gets: none on its first
    new latent frame, rising over EASED_LATENT_FRAMES to all of it. Guidance pulls each frame
    towards what the prompt looks like most, away from continuing the frames held before it; eased
    where the new frames begin, the continuation carries the held motion on (docs/quality.md)."""
    weights = [1.0] * window.num_latent_frames
    for i in range(EASED_LATENT_FRAMES):
        if window.held + i < window.num_latent_frames:
            weights[window.held + i] = i / EASED_LATENT_FRAMES
    return weights


def decode_reach(backend) -> int:
    """How many latent frames either side of a latent frame change its decoded pictures (by more
    than 1 of 255), measured once per backend on a small random latent video: a VAE decoder's
    temporal reach, at most MAX_DECODE_REACH."""
    import torch

    known = getattr(backend, "_kinora_decode_reach", None)
    if known is not None:
        return known
    reach, caps = MAX_DECODE_REACH, backend.caps
    generator = torch.Generator(device="cpu").manual_seed(0)
    base = torch.randn(1, backend.latent_channels, 2 * reach + 1, 2, 2, generator=generator)
    changed = base.clone()
    changed[:, :, reach] = torch.randn(1, backend.latent_channels, 2, 2, generator=generator)
    settings = SamplingSettings()
    a, b = (np.asarray(backend.decode(x.to(backend.device), settings, torch.Generator(device="cpu").manual_seed(0)))
            for x in (base, changed))
    moved = np.abs(a - b).max(axis=(0, 2, 3, 4)) > 1.0 / 255.0  # per pixel frame
    distance = np.abs(np.array([caps.latent_of_pixel(f) for f in range(len(moved))])[moved] - reach)
    backend._kinora_decode_reach = known = int(distance.max(initial=0))
    return known


class Pictures:
    """The chain's frames, decoded as the latents come: a span's decode reads the latent frames of
    the decoder's reach either side of it (decode_reach), so each frame is decoded once, when the
    latents after it exist, and matches its frame in a decode of the whole chain's latents at once
    (within about 1 of 255: what lies beyond the reach moves a picture by less)."""

    def __init__(self, backend, settings, num_frames: int) -> None:
        self.backend, self.settings, self.frames, self.num_frames = backend, settings, None, num_frames
        self.done = 0  # latent frames whose pixels are in `frames`
        self.context = decode_reach(backend)
        self.tail, self.tail_start = None, 0  # the chain's latent frames from tail_start on, as far as still read

    def add(self, new, last: bool):
        """The chain's next latent frames `new` (1, C, n, h, w); decodes what they settle and returns
        those frames (1, m, H, W, 3), or None."""
        import torch

        self.tail = new if self.tail is None else torch.cat([self.tail, new], dim=2)
        total = self.tail_start + self.tail.shape[2]
        stop = total if last else total - self.context
        if stop <= self.done:
            return None
        low, high = max(0, self.done - self.context), min(total, stop + self.context)
        generator = torch.Generator(device="cpu").manual_seed(self.settings.seed)
        piece = self.tail[:, :, low - self.tail_start:high - self.tail_start]
        piece = np.asarray(self.backend.decode(piece.to(self.backend.device), self.settings, generator), np.float32)
        caps = self.backend.caps
        first, end = caps.pixel_frames_of_latent(self.done).start, caps.pixel_frames_of_latent(stop - 1).stop
        offset = caps.pixel_frames_of_latent(low)[-1]  # a piece's lone first latent frame is its last pixel frame
        if self.frames is None:
            self.frames = np.zeros((piece.shape[0], self.num_frames, *piece.shape[2:]), np.float32)
        made = piece[:, first - offset:end - offset]
        self.frames[:, first:end] = made
        self.done = stop
        keep = max(0, stop - self.context) - self.tail_start  # what the next decode no longer reads goes
        self.tail, self.tail_start = self.tail[:, :, keep:], self.tail_start + keep
        return made


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


def anchored(latents, window: Window, plan, anchor: Anchor | None, first_stage=None):
    """(latents with their new frames pulled to the anchor, the anchor for the next window);
    `first_stage`: a two-stage model's first-stage latents of the window."""
    if anchor is None or _is_anchor(window, plan, anchor):
        return latents, _anchor_of(latents, plan, first_stage)
    return pull(window, anchor)(latents), anchor


def pull(window: Window, anchor: Anchor):
    """latents -> latents: the window's new frames pulled to the anchor's per-channel statistics.

    The statistics are the whole window's (its held frames were anchored already, so they only
    steady the estimate), and the pull ramps in over the first new latent frames: matching the new
    frames alone would jump at the seam wherever they legitimately differ from the held ones."""

    def pulled(latents):
        mean, std = latents.mean(dim=(2, 3, 4), keepdim=True), latents.std(dim=(2, 3, 4), keepdim=True)
        matched = (latents - mean) / std.clamp_min(1e-6) * anchor.std.to(latents) + anchor.mean.to(latents)
        ramp = torch_ramp(latents.shape[2], window.held, RAMP_LATENT_FRAMES).to(latents)
        return latents + ramp.view(1, 1, -1, 1, 1) * (matched - latents)
    return pulled


def torch_ramp(count: int, held: int, ramp: int):
    """0 over the held latent frames, then rising over `ramp` latent frames to 1."""
    import torch

    weight = torch.ones(count)
    weight[:held] = 0.0
    for i in range(ramp):
        if held + i < count:
            weight[held + i] = (i + 1) / (ramp + 1)
    return weight


def _next_anchor(latents, window: Window, plan, anchor: Anchor | None, first_stage=None) -> Anchor:
    return (_anchor_of(latents, plan, first_stage) if anchor is None or _is_anchor(window, plan, anchor)
            else anchor)


def _is_anchor(window: Window, plan, anchor: Anchor) -> bool:
    """A window that holds the timeline's own pictures, or follows other prompts than its anchor,
    is not pulled towards the anchor: it becomes the anchor of the windows after it."""
    if plan.keyframes or set(plan.prompts) != set(anchor.prompts):
        return True
    return any(float(layer.pixel_weight.max(initial=0.0)) > 0.0 for layer in plan.layers)


def _anchor_of(latents, plan, first_stage=None) -> Anchor:
    return Anchor(latents.mean(dim=(2, 3, 4), keepdim=True), latents.std(dim=(2, 3, 4), keepdim=True),
                  tuple(plan.prompts), None if first_stage is None else _anchor_of(first_stage, plan))


def _window_steps(on_step, window: Window, count: int, previews: bool = True):
    """The window's sampler progress as the chain's; without `previews` the sampler's pictures (its
    clean estimate's channels as colours) are left out, so the chain's decoded frames stay in view."""
    if on_step is None:
        return None

    def step(progress: Progress) -> None:
        if progress.total <= 0:
            on_step(progress)
            return
        on_step(Progress(window.index * progress.total + progress.step, count * progress.total,
                         f"window {window.index + 1} of {count}: {progress.message}",
                         progress.preview if previews else None))
    return step


def _report(on_step, window: Window, count: int, steps: int, message: str, preview=None) -> None:
    if on_step is not None:
        on_step(Progress((window.index + 1) * steps, count * steps, message, preview))


def _preview(pictures) -> np.ndarray:
    """A few frames of a decoded window, uint8 (n, H, W, 3), at most 160 pixels wide."""
    take = pictures[0, :: max(1, pictures.shape[1] // PREVIEW_FRAMES)]
    stride = max(1, take.shape[2] // 160)
    return (np.clip(take[:, ::stride, ::stride], 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


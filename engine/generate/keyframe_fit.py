"""Held pictures that look like their picture once decoded.

A picture held at strength 1 on a single frame becomes a still latent frame: the picture's own
latents, as if it were held for the whole group of pixel frames that latent frame covers. Its
neighbours are generated in motion, and a VAE decoder reads the latent frames either side of
each one, so the decoded frame mixes the still with the motion around it: a keyframe comes out
2-8 dB further from its picture than the picture's own VAE round trip (docs/quality.md). A
picture the model holds by keyframe tokens between latent frames, or on the last frame, fares
the same.

Here the latent frame holding such a picture is refitted after sampling, in the context it
ended up in: a few steps of gradient descent through the decoder on that latent frame alone,
with the latent frames either side as they are, so that the decoded frame matches the picture.
Its neighbours' pixels change only as far as the decoder carries the one latent frame, so the
change spreads over the frames around the keyframe instead of popping at it.

Pictures held on every frame of a latent frame's group (a clip, a still shown for a while) need
no fit: their latent frame is what the VAE makes of exactly those frames.
"""

from __future__ import annotations

import contextlib
import logging
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from engine.generate.conditions import FrameReader, read_source_frames
from engine.generate.plan import GenerationPlan

log = logging.getLogger(__name__)

FULL = 0.999  # a hold at least this strong is the user asking for the picture itself
FIT_STEPS = 20  # gradient steps per held latent frame
FIT_RATE = 0.25  # Adam's step size, in units of the normalised latents (about a standard deviation)
FIT_REACH = 1  # latent frames of context either side of the refitted one


@dataclass(frozen=True, slots=True)
class FitTarget:
    """A latent frame to refit and the pictures its pixel frames must show."""

    latent_frame: int
    pixel_frames: tuple[int, ...]
    pictures: tuple[tuple[int, int], ...]  # (plan source, source frame) of each pixel frame


def fit_targets(plan: GenerationPlan) -> list[FitTarget]:
    """The plan's latent frames that hold a picture at full strength on some but not all of their
    pixel frames, or the frame of a full-strength keyframe token, from the first latent frame the
    plan does not hold from the window before (those were fitted in that window)."""
    first = 0 if plan.held_latents is None else int(np.asarray(plan.held_latents).shape[2])
    wanted: dict[int, dict[int, tuple[int, int]]] = defaultdict(dict)
    for layer in plan.layers:
        full = (np.asarray(layer.pixel_weight) >= FULL) & (np.asarray(layer.pixel_source_frame) >= 0)
        for k in range(first, plan.num_latent_frames):
            group = plan.pixel_frames_of_latent(k)
            mine = [p for p in group if full[p]]
            if mine and len(mine) < len(group):
                for p in mine:
                    wanted[k].setdefault(p, (layer.source, int(layer.pixel_source_frame[p])))
    for key in plan.keyframes:
        k = plan.latent_of_pixel(key.pixel_frame)
        if key.strength >= FULL and k >= first:
            wanted[k].setdefault(key.pixel_frame, (key.source, key.source_frame))
    return [FitTarget(k, tuple(sorted(wanted[k])), tuple(wanted[k][p] for p in sorted(wanted[k])))
            for k in sorted(wanted)]


def fit_keyframes(backend, plan: GenerationPlan, latents, settings=None, read: FrameReader | None = None,
                  cancel=None, steps: int = FIT_STEPS, checkpoint: bool | None = None, report=None,
                  stop_at_round_trip: bool = True):
    """`latents` (N, C, F, h, w) of `plan` with each FitTarget's latent frame refitted so that its
    decoded pixel frames show their pictures; the others untouched. Every video of the batch is
    fitted on its own. A fit never leaves a frame further from its picture than it was: the best
    step is kept, the unfitted latents included. Needs `backend.decode_pixels`. Out of memory even
    with the decoder checkpointed, the latents are returned as sampled (and a warning logged): the
    sampling is never lost to the fit. `report(message)` is told once what is being fitted. A fit
    stops early once the frames are as close to their pictures as the pictures' own VAE round trip
    (without `stop_at_round_trip`, it takes all its steps)."""
    targets = fit_targets(plan)
    if not targets or steps <= 0:
        return latents
    if report is not None:
        count = sum(len(t.pixel_frames) for t in targets)
        report(f"holding {count} keyframe{'s' if count > 1 else ''} as {'their pictures' if count > 1 else 'its picture'}")
    import torch

    from engine.generate.backends.memory import free_memory, is_out_of_memory

    # on a GPU the decoder's activations for the gradient are held in checkpoints (recomputed on
    # the way back) from the start; on the CPU only once memory runs out
    checkpoint = torch.device(backend.device).type != "cpu" if checkpoint is None else checkpoint
    for attempt in (checkpoint, True):
        try:
            with _checkpointed(backend.vae, attempt):
                return _fit(backend, plan, targets, latents, settings, read or read_source_frames, cancel, steps,
                            stop_at_round_trip, attempt)
        except (RuntimeError, MemoryError) as error:
            if not is_out_of_memory(error):
                raise
            free_memory()
            if attempt or not _can_checkpoint(backend):
                break
    log.warning("%s ran out of memory refitting the keyframes of a %dx%d video; they are left as sampled",
                backend.name, plan.width, plan.height)
    return latents


def _can_checkpoint(backend) -> bool:
    """A backend with a `causal_decoder` checkpoints it itself; others through diffusers."""
    return hasattr(backend, "causal_decoder") or bool(getattr(backend.vae, "_supports_gradient_checkpointing", False))


@contextlib.contextmanager
def _checkpointed(vae, on: bool):
    """The VAE's gradient checkpointing on for the block (where diffusers supports it for this VAE;
    a backend's `causal_decoder` checkpoints itself)."""
    if not on or not getattr(vae, "_supports_gradient_checkpointing", False) or vae.is_gradient_checkpointing:
        yield
        return
    vae.enable_gradient_checkpointing()
    try:
        yield
    finally:
        vae.disable_gradient_checkpointing()


def _fit(backend, plan, targets, latents, settings, read, cancel, steps, stop_at_round_trip, checkpoint):
    import torch

    from engine.generate.backends.memory import on_device

    device = backend.device
    fitted = latents.detach().clone()
    with on_device(backend.vae, device, backend.memory.offloads), torch.enable_grad():
        for target in targets:
            frames = np.stack([read(plan.sources[source], [frame], (plan.width, plan.height))[0]
                               for source, frame in target.pictures])  # uint8 (m, H, W, 3)
            pictures = torch.from_numpy(frames).to(device, torch.float32).permute(3, 0, 1, 2) / 255.0
            k = target.latent_frame
            goal = _round_trip_error(backend, frames, pictures, settings) if stop_at_round_trip else 0.0
            for b in range(fitted.shape[0]):
                decode, local = _frame_decoder(backend, plan, fitted[b:b + 1].to(device, torch.float32), k,
                                               target.pixel_frames, settings, checkpoint)
                fitted[b, :, k] = _fit_one(decode, fitted[b:b + 1, :, k:k + 1].to(device, torch.float32), local,
                                           pictures, steps, goal, cancel).to(fitted)
    return fitted


def _frame_decoder(backend, plan, latents, k: int, pixel_frames, settings, checkpoint: bool):
    """`decode(z)` for the latent frame k of `latents` (1, C, F, h, w) replaced by z, giving the
    pixels (3, n, H, W) the fit compares, and where `pixel_frames` are among them. A causal
    decoder (Wan's) decodes the frames before k once and then z alone, exactly; others decode z
    with FIT_REACH latent frames either side as they are."""
    import torch

    if hasattr(backend, "causal_decoder"):
        causal = backend.causal_decoder(latents[:, :, :k], settings, checkpoint=checkpoint)
        first = plan.pixel_frames_of_latent(k)[0]
        return (lambda z: causal(z)[0]), [p - first for p in pixel_frames]
    start, stop = max(k - FIT_REACH, 0), min(k + FIT_REACH + 1, plan.num_latent_frames)
    before, after = latents[:, :, start:k], latents[:, :, k + 1:stop]
    tc = plan.vae_temporal_compression
    local = [p - tc * start for p in pixel_frames]  # a decode from latent frame s starts at pixel tc*s
    return (lambda z: backend.decode_pixels(torch.cat([before, z, after], dim=2), settings)[0]), local


def _round_trip_error(backend, frames, pictures, settings) -> float:
    """The mean squared error of the pictures (uint8 `frames` (m, H, W, 3), and the same as
    `pictures` (3, m, H, W) in 0-1) through the VAE, each on its own: as close as a decode comes
    to them, so a fit that gets there stops."""
    import torch

    with torch.no_grad():
        errors = []
        for i, frame in enumerate(frames):
            latents = backend.encode_frames(frame[None], torch.Generator(device="cpu").manual_seed(0))
            decoded = backend.decode_pixels(latents, settings)[0][:, 0].float().clamp(0, 1)
            errors.append(((decoded - pictures[:, i]) ** 2).mean().item())
    return float(np.mean(errors))


def _fit_one(decode, start, local: list[int], pictures, steps: int, goal: float, cancel):
    """The latent frame (from `start`, (1, C, 1, h, w)) whose `decode` best shows `pictures`
    (3, m, H, W) at the decoded frames `local`, after `steps` steps or as soon as it is as close
    to them as their own round trip through the VAE (`goal`, a mean squared error)."""
    import torch

    z = start.clone().requires_grad_(True)
    optimiser = torch.optim.Adam([z], lr=FIT_RATE)
    best, best_loss = z.detach().clone(), float("inf")
    for step in range(steps + 1):
        if cancel is not None:
            cancel.check()
        decoded = decode(z)[:, local].float()
        loss = ((decoded - pictures) ** 2).mean()  # unclamped: a gradient where it overshoots
        seen = ((decoded.detach().clamp(0, 1) - pictures) ** 2).mean().item()  # what a viewer gets
        if seen < best_loss:
            best, best_loss = z.detach().clone(), seen
        if step == steps or seen <= goal:
            break
        (z.grad,) = torch.autograd.grad(loss, z)
        optimiser.step()
    return best[0, :, 0]

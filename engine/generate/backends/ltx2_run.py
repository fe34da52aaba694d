"""One LTX-2 generation: the video and audio streams of a plan sampled together by Kinora's sampler.

The parts that do not depend on the model (seeds, condition latents of the plan's layers, hold
strengths, cancelling, decoding) are those of engine.generate.backends.base; what differs is
that the state holds two streams (see JointLayout) and that keyframe tokens come after the
video's tokens, where LTX2ConditionPipeline puts them.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import ModelError
from engine.generate.backends.base import GenerationResult, GenerationRun, _condition_latents
from engine.generate.backends.ltx2_guidance import LTX2Guidance, ltx2_guide
from engine.generate.keyframe_fit import fit_keyframes
from engine.progress import Progress


@dataclass(frozen=True)
class JointLayout:
    """The sampler's state for two streams: video tokens (B, Nv, Dv) and audio tokens (B, Na, Da)
    flattened and side by side, (B, Nv * Dv + Na * Da). Per-token values (strength, level,
    guidance scale) are repeated over each token's channels."""

    video_tokens: int  # the video grid's tokens and any keyframe tokens after them
    video_dim: int
    audio_tokens: int
    audio_dim: int

    @property
    def video_size(self) -> int:
        return self.video_tokens * self.video_dim

    def split(self, state):
        rows = state.shape[0]
        return (state[:, :self.video_size].reshape(rows, self.video_tokens, self.video_dim),
                state[:, self.video_size:].reshape(rows, self.audio_tokens, self.audio_dim))

    def join(self, video, audio):
        import torch

        video = video.expand(-1, self.video_tokens, self.video_dim)
        audio = audio.expand(-1, self.audio_tokens, self.audio_dim)
        return torch.cat([video.reshape(video.shape[0], -1), audio.reshape(audio.shape[0], -1)], dim=1)


# the reference two-stage recipe's second stage: three levels of the distilled schedule, used as they
# are (not shifted for the sequence length), unguided
STAGE_2_SIGMAS = (0.909375, 0.725, 0.421875)
UNGUIDED = (("stg", 0.0), ("modality", 1.0), ("rescale", 0.0), ("audio_guidance", 1.0), ("audio_stg", 0.0),
            ("audio_modality", 1.0), ("audio_rescale", 0.0))


def run_ltx2(backend, plan, settings, on_step, cancel, read, decode: bool, upsample_conditions: bool,
             steer=None, frame_guidance=None):
    """One generation. With a latent upsampler in the model folder (and a size it can double to),
    the reference two-stage recipe: the plan sampled at half width and height, its video latents
    doubled by the upsampler, then a short unguided second stage at full size that starts from
    them (and from the first stage's sound) at STAGE_2_SIGMAS[0]; held frames and sound stay held.
    One generator per video runs through both stages, as the reference recipe's one noiser does: the
    second stage's noise continues the first's stream rather than repeating it. A chain's later
    window holds the window before's first-stage latents in its first stage and its final latents
    in the second, so every window of a chain runs the same recipe."""
    import dataclasses

    import torch

    caps = backend.caps
    if plan.width % caps.size_multiple or plan.height % caps.size_multiple:
        raise ModelError(f"plan size {plan.width}x{plan.height} is not a multiple of {caps.size_multiple}")
    if plan.vae_temporal_compression != caps.vae_temporal_compression:
        raise ModelError("the plan was compiled for another model's frame layout; compile it for this model")
    if cancel is not None:
        cancel.check()
    # (a chain's later window runs both stages when it has the window before's first-stage latents
    # to hold in its own first stage; without them it is sampled at the full size in one)
    two_stage = (backend.latent_upsampler is not None and not upsample_conditions
                 and (plan.held_latents is None or plan.held_first_stage_latents is not None)
                 and not (plan.width % (2 * caps.size_multiple) or plan.height % (2 * caps.size_multiple)))
    first_stage = None
    with torch.no_grad():
        if not two_stage:
            latents, audio, run = _stage(backend, plan, settings, on_step, cancel, read, upsample_conditions,
                                         steer=steer, frame_guidance=frame_guidance)
        else:
            half = dataclasses.replace(plan, width=plan.width // 2, height=plan.height // 2,
                                       held_latents=plan.held_first_stage_latents, held_first_stage_latents=None)
            first_stage, audio, first = _stage(backend, half, settings, on_step, cancel, read, False,
                                               steer=steer, frame_guidance=frame_guidance)
            second = dataclasses.replace(settings, guidance=1.0, guidance_terms=UNGUIDED)
            latents, audio, run = _stage(backend, plan, second, on_step, cancel, read, False,
                                         start=(backend.upsample_latents(first_stage), audio),
                                         sigmas=STAGE_2_SIGMAS, generators=first.generators)
        if decode:  # (a caller that decodes later, a chain, fits them itself)
            latents = fit_keyframes(backend, plan, latents, settings, read, cancel, report=None if on_step is None
                                    else lambda message: on_step(Progress(1, 1, message)))
        result = GenerationResult(latents=latents, frames=None, seeds=run.seeds, audio_latents=audio,
                                  audio_sample_rate=backend.audio_sample_rate,
                                  first_stage_latents=first_stage)
        if decode:
            result.frames = backend.decode(latents, settings, run.noise_generator)
            result.audio = backend.decode_audio(audio)
    return result


def _stage(backend, plan, settings, on_step, cancel, read, upsample_conditions, start=None, sigmas=None,
           generators=None, steer=None, frame_guidance=None):
    """Sample both streams of `plan`: (video latents (B, C, F, h, w), audio tokens (B, L, D), run).
    `start` (video latents, audio tokens) is where free tokens start from at the first of `sigmas`
    (levels of the schedule, used unshifted) instead of pure noise; `generators` (one per video)
    continue a previous stage's random streams; `steer(latents) -> latents` changes the video
    stream's clean estimate at every step (engine.generate.sampler.sample); `frame_guidance` (a
    weight per latent frame) scales every guidance term of the video stream there."""
    import torch
    from diffusers.utils.torch_utils import randn_tensor

    from engine.generate.sampler import sample

    caps = backend.caps
    seeds = [settings.seed + i for i in range(settings.variations)]
    guidance = LTX2Guidance.of(settings, caps.default_guidance, len(backend.transformer.transformer_blocks))
    run = GenerationRun(
        plan=plan, settings=settings, seeds=seeds,
        generators=generators or [torch.Generator(device="cpu").manual_seed(s) for s in seeds],
        num_latent_frames=plan.num_latent_frames, height=plan.height // caps.vae_spatial_compression,
        width=plan.width // caps.vae_spatial_compression, guided=guidance.uses_cfg,
        max_sequence_length=settings.max_sequence_length or backend.default_max_sequence_length)
    batch, frames, h, w = run.batch, run.num_latent_frames, run.height, run.width
    device = backend.device

    cond, strength = _condition_latents(backend, run, read, upsample_conditions)
    if plan.keyframes and caps.keyframe_tokens:
        run.keyframes = backend.keyframe_tokens(run, read)
    num_key_tokens = 0 if run.keyframes is None else run.keyframes.count
    grid_tokens = backend.pack(torch.zeros(1, 1, frames, h, w)).shape[1]
    video_dim = backend.latent_channels * backend.patch * backend.patch * backend.patch_t
    audio_frames = backend.num_audio_frames(plan)
    layout = JointLayout(grid_tokens + num_key_tokens, video_dim, audio_frames,
                         backend.audio_channels * backend.audio_mel_bins)

    # noise drawn as the reference pipeline for the case draws it: LTX2Pipeline (nothing held)
    # draws both streams unpacked, LTX2ConditionPipeline draws them packed
    generator = run.noise_generator
    if cond is None and run.keyframes is None and not plan.has_audio_conditions and start is None:
        video_noise = backend.pack(randn_tensor((batch, backend.latent_channels, frames, h, w), generator=generator,
                                                device=device, dtype=torch.float32))
        audio_noise = randn_tensor((batch, backend.audio_channels, audio_frames, backend.audio_mel_bins),
                                   generator=generator, device=device, dtype=torch.float32)
        audio_noise = audio_noise.transpose(1, 2).flatten(2, 3)
    else:
        video_noise = randn_tensor((batch, layout.video_tokens, video_dim), generator=generator, device=device,
                                   dtype=torch.float32)
        audio_noise = randn_tensor((batch, audio_frames, layout.audio_dim), generator=generator, device=device,
                                   dtype=torch.float32)
    if cond is None:
        video_cond = torch.zeros(batch, grid_tokens, video_dim, device=device)
        video_strength = torch.zeros(batch, grid_tokens, 1, device=device)
    else:
        video_cond = backend.pack(cond.to(device).expand(batch, -1, -1, -1, -1))
        video_strength = backend.pack_strength(strength, batch, h, w)
    if run.keyframes is not None:
        video_cond = torch.cat([video_cond, run.keyframes.cond], dim=1)
        video_strength = torch.cat([video_strength, run.keyframes.strength], dim=1)
    if plan.has_audio_conditions:
        from engine.generate.backends.ltx2_audio import audio_condition

        held_sound, held_strength = audio_condition(backend, plan)
        audio_cond = held_sound.expand(batch, -1, -1)
        audio_strength = held_strength.view(1, -1, 1).expand(batch, -1, -1).float()
    else:
        audio_cond = torch.zeros(batch, audio_frames, layout.audio_dim, device=device)
        audio_strength = torch.zeros(batch, audio_frames, 1, device=device)

    if start is not None:  # free tokens start from the previous stage's result
        grid_cond = torch.where(video_strength[:, :grid_tokens] > 0, video_cond[:, :grid_tokens],
                                backend.pack(start[0].to(device)))
        video_cond = torch.cat([grid_cond, video_cond[:, grid_tokens:]], dim=1)
        audio_cond = torch.where(audio_strength > 0, audio_cond, start[1].to(device))
    noise = layout.join(video_noise, audio_noise)
    cond_state = layout.join(video_cond, audio_cond)
    strength_state = layout.join(video_strength, audio_strength)

    def preview(x0_state):
        video, _ = layout.split(x0_state[:1])
        latents = backend.unpack(video[:, :grid_tokens], frames, h, w)[0, :3]
        low, high = latents.amin(dim=(1, 2, 3), keepdim=True), latents.amax(dim=(1, 2, 3), keepdim=True)
        picture = (latents - low) / (high - low).clamp_min(1e-6) * 255.0
        return picture.permute(1, 2, 3, 0).to(torch.uint8).cpu().numpy()

    def steered(x0_state):  # the video grid's clean estimate, as latents
        video, audio = layout.split(x0_state)
        grid = backend.pack(steer(backend.unpack(video[:, :grid_tokens], frames, h, w)))
        return layout.join(torch.cat([grid, video[:, grid_tokens:]], dim=1), audio)

    with backend.text_conditioning(run) as text:
        if sigmas is None:
            levels = backend.sigmas(settings.steps or caps.default_steps, layout.video_tokens)
        else:
            levels = backend.sigmas(len(sigmas), layout.video_tokens, values=sigmas, shifted=False)
        with backend.denoising(run, text, layout) as velocity:
            video_weight = None
            if frame_guidance is not None:
                video_weight = backend.pack_strength(torch.tensor([float(x) for x in frame_guidance]), 1, h, w)
                video_weight = torch.cat([video_weight, torch.ones(1, layout.video_tokens - grid_tokens, 1,
                                                                   device=device)], dim=1)
            guide = ltx2_guide(velocity, layout, guidance, device, video_weight) if guidance.active else None
            state = sample(velocity, noise, cond_state, strength_state, levels, guide=guide,
                           guidance_interval=settings.guidance_interval or caps.default_guidance_interval,
                           per_token_timesteps=True, on_step=on_step, preview=preview if on_step else None,
                           cancel=cancel, steer=None if steer is None else steered)
    video_tokens, audio_tokens = layout.split(state)
    return backend.unpack(video_tokens[:, :grid_tokens], frames, h, w), audio_tokens, run

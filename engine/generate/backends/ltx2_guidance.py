"""Guidance as LTX-2 ships it, declared to Kinora's sampler as the family's guidance combination.

Per stream (video and audio, each with its own scales), in x0 space as LTX2Pipeline does it:

    x0 = x0_cond + (cfg - 1) (x0_cond - x0_uncond)             classifier-free guidance
                 + stg (x0_cond - x0_perturbed)                 spatio-temporal guidance: the
                                                                self-attention of some blocks skipped
                 + (modality - 1) (x0_cond - x0_isolated)       modality guidance: the audio-video
                                                                cross-attention switched off
    then rescaled towards x0_cond's standard deviation by `rescale` (Lin et al. 2023)

With per-token noise levels, x0 = x - sigma * v token by token; a held token (sigma 0) keeps
the conditional prediction, which does not move it anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import UserError

# LTX2Pipeline's defaults (video cfg comes from the caps' default_guidance or --guidance)
DEFAULTS = {"stg": 1.0, "modality": 3.0, "rescale": 0.7, "audio_guidance": 7.0, "audio_stg": 1.0,
            "audio_modality": 3.0, "audio_rescale": 0.7}
STG_BLOCK = 28  # LTX2Pipeline's default perturbed block


@dataclass(frozen=True, slots=True)
class LTX2Guidance:
    cfg: float
    stg: float
    modality: float
    rescale: float
    audio_cfg: float
    audio_stg: float
    audio_modality: float
    audio_rescale: float
    stg_blocks: tuple[int, ...]

    @classmethod
    def of(cls, settings, default_guidance: float, num_blocks: int) -> LTX2Guidance:
        terms = dict(settings.guidance_terms)
        unknown = set(terms) - set(DEFAULTS) - {"stg_block"}
        if unknown:
            raise UserError(f"unknown LTX-2 guidance term {sorted(unknown)[0]!r}; use {', '.join(sorted(DEFAULTS))} "
                            "or stg_block")
        values = {**DEFAULTS, **terms}
        cfg = default_guidance if settings.guidance is None else settings.guidance
        if settings.guidance is not None and "audio_guidance" not in terms:
            values["audio_guidance"] = settings.guidance  # one --guidance guides both streams alike
        block = int(terms.get("stg_block", STG_BLOCK if num_blocks > STG_BLOCK else num_blocks - 1))
        if not 0 <= block < num_blocks:
            raise UserError(f"stg_block {block}: this model's transformer has blocks 0..{num_blocks - 1}")
        return cls(cfg=float(cfg), stg=values["stg"], modality=values["modality"], rescale=values["rescale"],
                   audio_cfg=values["audio_guidance"], audio_stg=values["audio_stg"],
                   audio_modality=values["audio_modality"], audio_rescale=values["audio_rescale"],
                   stg_blocks=(block,))

    @property
    def uses_cfg(self) -> bool:
        return self.cfg > 1.0 or self.audio_cfg > 1.0

    @property
    def uses_stg(self) -> bool:
        return self.stg > 0.0 or self.audio_stg > 0.0

    @property
    def uses_modality(self) -> bool:
        return self.modality > 1.0 or self.audio_modality > 1.0

    @property
    def active(self) -> bool:
        return self.uses_cfg or self.uses_stg or self.uses_modality


def _rescale(guided, cond, amount: float):
    """Rescale `guided` (rows, tokens, dim) towards the standard deviation of `cond`, per video."""
    if amount <= 0:
        return guided
    dims = list(range(1, guided.ndim))
    rescaled = guided * (cond.std(dim=dims, keepdim=True) / guided.std(dim=dims, keepdim=True))
    return amount * rescaled + (1.0 - amount) * guided


def ltx2_guide(velocity, layout, guidance: LTX2Guidance, device, video_weight=None):
    """guide(x, sigma) -> v for engine.generate.sampler.sample. `velocity(x, sigma, stg_blocks=...,
    isolate=...)` is the denoiser over the joint state (see ltx2_run.JointLayout); `video_weight`
    (1, video tokens, 1), when given, scales each video token's guidance terms."""
    import torch

    def scales(video: float, audio: float):
        video_scale = torch.full((1, 1, 1), float(video), device=device)
        if video_weight is not None:
            video_scale = video_scale * video_weight.to(device)
        return layout.join(video_scale, torch.full((1, 1, 1), float(audio), device=device))

    cfg = scales(guidance.cfg - 1.0, guidance.audio_cfg - 1.0)
    stg = scales(guidance.stg, guidance.audio_stg)
    modality = scales(guidance.modality - 1.0, guidance.audio_modality - 1.0)

    def guide(x, sigma):
        sigma = sigma.expand_as(x)
        if guidance.uses_cfg:
            v_uncond, v_cond = velocity(torch.cat([x, x]), torch.cat([sigma, sigma])).float().chunk(2)
        else:
            v_cond = velocity(x, sigma).float()
        x0_cond = x - sigma * v_cond
        x0 = x0_cond
        if guidance.uses_cfg:
            x0 = x0 + cfg * (x0_cond - (x - sigma * v_uncond))
        if guidance.uses_stg:
            perturbed = velocity(x, sigma, stg_blocks=guidance.stg_blocks).float()
            x0 = x0 + stg * (x0_cond - (x - sigma * perturbed))
        if guidance.uses_modality:
            isolated = velocity(x, sigma, isolate=True).float()
            x0 = x0 + modality * (x0_cond - (x - sigma * isolated))
        video, audio = layout.split(x0)
        video_cond, audio_cond = layout.split(x0_cond)
        x0 = layout.join(_rescale(video, video_cond, guidance.rescale), _rescale(audio, audio_cond,
                                                                                 guidance.audio_rescale))
        moving = sigma > 0
        return torch.where(moving, (x - x0) / torch.where(moving, sigma, torch.ones_like(sigma)), v_cond)

    return guide

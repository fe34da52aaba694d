"""SkyReels-V2 diffusion forcing backend: SkyReelsV2Transformer3DModel, AutoencoderKLWan and a
UMT5/T5 text encoder, laid out like Wan.

Everything but the transformer call is Wan's (text encoding, latents_mean/std, the shifted
sigmas, guidance, per-frame prompt gating), so this is the Wan backend with another forward.
Diffusion forcing models were trained with one noise level per latent frame, so Kinora's
per-token hold strengths run natively: a held frame is given its own (low) timestep instead of
being re-noised and replaced. Kinora runs the synchronous schedule of diffusers'
SkyReelsV2DiffusionForcingPipeline (ar_step=0): every free frame follows the same sigmas.
"""

from __future__ import annotations

from engine.errors import UserError
from engine.generate.backends.wan import WanBackend
from engine.generate.plan import GenerationPlan


class SkyReelsBackend(WanBackend):
    family = "skyreels"
    label = "SkyReels-V2"
    transformer_class_name = "SkyReelsV2Transformer3DModel"
    # SkyReelsV2DiffusionForcingPipeline's defaults
    default_steps, default_guidance, default_rate = 50, 6.0, 24
    # its pipeline's long videos: windows of base_num_frames (97), each continuing from the last
    # overlap_history frames (17 recommended) of the one before, held at their own noise level by
    # diffusion forcing; Kinora's chain of windows (engine.generate.chain) is that, with a held frame
    # at timestep 0 (the pipeline's addnoise_condition, a little noise on it, is not applied)
    window_frames, window_overlap_frames = 97, 17

    @staticmethod
    def attention_processor_base():
        from diffusers.models.transformers.transformer_skyreels_v2 import SkyReelsV2AttnProcessor

        return SkyReelsV2AttnProcessor

    @staticmethod
    def lora_loader():
        from diffusers.loaders import SkyReelsV2LoraLoaderMixin

        return SkyReelsV2LoraLoaderMixin

    @property
    def per_token_timesteps(self) -> bool:
        return True

    def sigmas(self, num_steps: int, seq_len: int | None = None):
        """The shipped scheduler's flow sigmas when it has them (the UniPC flow schedule the
        SkyReels-V2 models come with), else Wan's flow-matching schedule."""
        import torch

        shipped = self.shipped_scheduler
        if not getattr(shipped, "config", {}).get("use_flow_sigmas"):
            return super().sigmas(num_steps)
        scheduler = type(shipped).from_config(shipped.config)
        scheduler.set_timesteps(num_steps, device=self.device)
        return scheduler.sigmas.to(self.device, torch.float32)

    def forward(self, model, x, timestep, context, plan: GenerationPlan):
        """Diffusion forcing: the timestep is one value per latent frame, (B, frames / patch_t),
        truncated to an integer as the reference pipeline always passes it."""
        import torch

        batch, _c, frames, _h, _w = x.shape
        block = model.config.num_frame_per_block
        if block > 1 and (frames // self.patch_t) % block:
            raise UserError(f"this SkyReels-V2 model denoises {block} latent frames per causal block: choose a "
                            f"frame count whose latent frames are a multiple of {block}")
        timestep = timestep.expand(batch, 1, frames, 1, 1)[:, 0, ::self.patch_t, 0, 0].long()
        kwargs = {"encoder_hidden_states": context, "enable_diffusion_forcing": True, "return_dict": False}
        if not model.config.inject_sample_info:
            return model(hidden_states=x.to(model.dtype), timestep=timestep, **kwargs)[0]
        # The model knows two frame rates: 16 fps (0) and everything else (1), as the pipeline passes
        # them. Its fps embedding is only right for a batch of one, so each video runs on its own.
        fps = 0 if plan.rate.fps == 16 else 1
        return torch.cat([
            model(hidden_states=x[i:i + 1].to(model.dtype), timestep=timestep[i:i + 1], fps=[fps],
                  **{**kwargs, "encoder_hidden_states": context[i:i + 1]})[0]
            for i in range(batch)])

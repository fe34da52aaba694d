"""The one sampler every Kinora tool runs.

torch is imported by the caller's tensors only; this module imports nothing heavy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from engine.progress import CancelToken, Progress

if TYPE_CHECKING:
    import torch

Velocity = Callable[["torch.Tensor", "torch.Tensor"], "torch.Tensor"]


def sample(velocity: Velocity, noise: torch.Tensor, cond: torch.Tensor, strength: torch.Tensor,
           sigmas: torch.Tensor, *, guidance: float | torch.Tensor = 1.0,
           guidance_interval: tuple[float, float] = (0.0, 1.0),
           per_token_timesteps: bool = True, guide: Callable | None = None,
           on_step: Callable[[Progress], None] | None = None,
           preview: Callable[[torch.Tensor], object] | None = None,
           cancel: CancelToken | None = None, steer: Callable | None = None) -> torch.Tensor:
    """Rectified-flow (flow matching) Euler sampling with per-token noise caps and classifier-free guidance.

    The state is `x = (1 - sigma) * x0 + sigma * noise`; `velocity(x, sigma)` predicts
    `noise - x0` and the Euler step moves `x` by `(sigma_next - sigma) * v`, exactly as
    diffusers' FlowMatchEulerDiscreteScheduler does.

    Each token has a hold `strength` in [0, 1] (broadcastable to `x`) and a known value `cond`.
    Its noise level is capped at `1 - strength`: it starts at `(1 - s) * cond + s * noise` with
    `s = min(sigmas[0], 1 - strength)` and its level never rises above the cap, so a token held
    at 1 never moves, a token at 0 is generated freely and one in between is re-imagined from
    its source as much as its strength allows. With `per_token_timesteps` the model is told
    each token's own level (`sigma` has the shape of `strength`); without, it gets the global
    level (a 0-d tensor) and tokens still above their cap are replaced after each step by their
    source re-noised to the new level (the fallback for models trained with one timestep).

    `guidance` is one scale or a tensor broadcastable to `x` (a scale per token). With
    `guidance > 1` the model sees the batch twice (unconditional half first) and the
    prediction is `v_uncond + guidance * (v_cond - v_uncond)` at the steps whose level `sigmas[i]`
    lies within `guidance_interval` (lo, hi) and `v_cond` at the others (guidance in a limited
    interval, Kynkäänniemi et al. 2024: at the highest levels guidance harms the layout a
    sample starts from; at the lowest it does little). At those other steps the model sees
    only the conditional half: `velocity` then gets a batch half as large and uses the
    conditioning of its second half. A family whose guidance is more than that declares it as
    `guide(x, sigma) -> v`, called at the guided steps instead (LTX-2: engine.generate.backends.
    ltx2_guidance); the loop, the caps and the interval stay the same. `steer(x0) -> x0`, when
    given, changes every step's clean estimate (a chain's window pulled to its anchor's latent
    statistics, engine.generate.chain) and the step moves towards the changed one, so the model's
    later steps build on it. `cancel` is checked before every step and raises JobCancelled;
    `on_step` gets a Progress whose preview is `preview(x0_estimate)` when a preview function is
    given.
    """
    import torch

    cap = 1.0 - strength.to(torch.float32)
    num_steps = len(sigmas) - 1
    # a tensor guidance gives each token its own scale (LTX-2 guides its audio harder than its video)
    use_guidance = guide is not None or (float(guidance.max()) > 1.0 if isinstance(guidance, torch.Tensor)
                                         else guidance > 1.0)
    if per_token_timesteps:
        level = torch.minimum(sigmas[0], cap)
    else:
        level = sigmas[0].expand_as(cap)
    x = (1.0 - level) * cond + level * noise
    highest_cap = float(cap.max())
    for i in range(num_steps):
        if cancel is not None:
            cancel.check()
        sigma, sigma_next = sigmas[i], sigmas[i + 1]
        if per_token_timesteps and float(sigma_next) >= highest_cap:
            # Every token is at its cap already (remix, upscale): this step would not move anything.
            _report(on_step, i, num_steps, None)
            continue
        model_sigma = torch.minimum(sigma, cap) if per_token_timesteps else sigma
        guided = use_guidance and guidance_interval[0] <= float(sigma) <= guidance_interval[1]
        if guided and guide is not None:
            v = guide(x, model_sigma).float()  # the family's own combination of guided predictions
        else:
            model_input = torch.cat([x, x]) if guided else x
            if per_token_timesteps and guided:
                model_sigma_in = (torch.cat([model_sigma, model_sigma]) if model_sigma.shape[0] == x.shape[0]
                                  else model_sigma)
            else:
                model_sigma_in = model_sigma
            v = velocity(model_input, model_sigma_in).float()
            if guided:
                v_uncond, v_cond = v.chunk(2)
                v = v_uncond + guidance * (v_cond - v_uncond)
        if steer is not None:
            v = _steered(x, v, model_sigma, steer)
        if per_token_timesteps:
            x = x + (torch.minimum(sigma_next, cap) - model_sigma) * v
        else:
            x = x + (sigma_next - sigma) * v
            pinned = sigma_next >= cap
            if bool(pinned.any()):
                x = torch.where(pinned, (1.0 - sigma_next) * cond + sigma_next * noise, x)
        if on_step is not None:
            estimate = None
            if preview is not None:
                estimate = preview(x - torch.minimum(sigma_next, cap) * v if per_token_timesteps else x - sigma_next * v)
            _report(on_step, i, num_steps, estimate)
    return x


def _steered(x, v, model_sigma, steer):
    """The velocity whose step lands on `steer`'s version of the step's clean estimate."""
    import torch

    model_sigma = torch.as_tensor(model_sigma, device=x.device)
    steered = steer(x - model_sigma * v)
    return torch.where(model_sigma > 0, (x - steered) / model_sigma.clamp_min(1e-8), v)


def _report(on_step, i: int, num_steps: int, estimate) -> None:
    if on_step is not None:
        on_step(Progress(step=i + 1, total=num_steps, message=f"step {i + 1}/{num_steps}", preview=estimate))

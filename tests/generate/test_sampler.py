"""The sampler on analytic velocity fields, where the right answer is known exactly."""

import pytest
import torch

from engine.generate.sampler import sample
from engine.progress import CancelToken, JobCancelled, Progress

SIGMAS = torch.tensor([1.0, 0.75, 0.5, 0.25, 0.0])


def _perfect(target):
    """The exact flow-matching velocity towards `target`: v = (x - x0) / sigma."""
    def velocity(x, sigma):
        return (x - target.expand_as(x)) / sigma.clamp_min(1e-6)
    return velocity


def test_perfect_velocity_lands_on_target_and_held_tokens_stay_on_their_source():
    target = torch.full((1, 4, 2), 3.0)
    cond = torch.full((1, 4, 2), -2.0)
    strength = torch.tensor([1.0, 0.0, 0.0, 1.0]).view(1, 4, 1)
    noise = torch.randn(1, 4, 2, generator=torch.Generator().manual_seed(0))
    seen = []

    def velocity(x, sigma):
        seen.append(x.clone())
        return _perfect(target)(x, sigma)

    out = sample(velocity, noise, cond, strength, SIGMAS)
    assert torch.equal(out[:, [0, 3]], cond[:, [0, 3]])
    assert torch.allclose(out[:, [1, 2]], target[:, [1, 2]], atol=1e-5)
    assert all(torch.equal(x[:, [0, 3]], cond[:, [0, 3]]) for x in seen)


def test_partial_strength_starts_from_the_source_at_its_cap():
    cond = torch.ones(1, 1, 1)
    noise = torch.zeros(1, 1, 1)
    levels = []
    sample(lambda x, s: (levels.append(float(s.flatten()[0])), torch.zeros_like(x))[1],
           noise, cond, torch.full((1, 1, 1), 0.6), SIGMAS)
    # cap 0.4: steps at 1.0 and 0.75 and 0.5 are all at 0.4 -> skipped without a model call except the first under
    assert levels == [pytest.approx(0.4), 0.25]


def test_guidance_combines_uncond_and_cond_halves():
    def velocity(x, sigma):
        half = x.shape[0] // 2
        return torch.cat([torch.zeros_like(x[:half]), torch.ones_like(x[half:])])

    noise = torch.zeros(1, 2, 1)
    out = sample(velocity, noise, torch.zeros_like(noise), torch.zeros(1, 2, 1), torch.tensor([1.0, 0.0]), guidance=4.0)
    # one Euler step of dt = -1 with v = 0 + 4 * (1 - 0)
    assert torch.allclose(out, torch.full_like(out, -4.0))


def test_guidance_applies_only_at_the_levels_within_its_interval():
    batches = []

    def velocity(x, sigma):
        batches.append(x.shape[0])
        half = x.shape[0] // 2
        return torch.cat([torch.zeros_like(x[:half]), torch.ones_like(x[half:])])

    noise = torch.zeros(1, 2, 1)
    sigmas = torch.tensor([1.0, 0.5, 0.0])
    out = sample(velocity, noise, torch.zeros_like(noise), torch.zeros(1, 2, 1), sigmas, guidance=4.0,
                 guidance_interval=(0.0, 0.6))
    # level 1.0 is outside: v = v_cond = 1 over dt = -0.5; level 0.5 is inside: v = 4 over dt = -0.5
    assert torch.allclose(out, torch.full_like(out, -0.5 - 2.0))
    assert batches == [1, 2]  # outside the interval the model sees the conditional half alone
    everywhere = sample(velocity, noise, torch.zeros_like(noise), torch.zeros(1, 2, 1), sigmas, guidance=4.0)
    assert torch.allclose(everywhere, torch.full_like(out, -4.0))


def test_cancel_raises_at_the_next_step_and_progress_reports_each_step():
    token = CancelToken()
    reports: list[Progress] = []

    def on_step(progress):
        reports.append(progress)
        if progress.step == 2:
            token.cancel("user pressed stop")

    with pytest.raises(JobCancelled, match="user pressed stop"):
        sample(_perfect(torch.zeros(1, 1, 1)), torch.ones(1, 1, 1), torch.zeros(1, 1, 1), torch.zeros(1, 1, 1),
               SIGMAS, on_step=on_step, preview=lambda x0: x0.clone(), cancel=token)
    assert [r.step for r in reports] == [1, 2] and reports[0].total == 4 and reports[1].fraction == 0.5
    assert reports[0].preview is not None


def test_fallback_pins_held_tokens_to_the_renoised_source():
    cond = torch.full((1, 2, 1), 5.0)
    noise = torch.zeros(1, 2, 1)
    strength = torch.tensor([1.0, 0.0]).view(1, 2, 1)
    sigmas_given = []

    def velocity(x, sigma):
        sigmas_given.append(sigma.ndim)
        return torch.ones_like(x)

    out = sample(velocity, noise, cond, strength, SIGMAS, per_token_timesteps=False)
    assert set(sigmas_given) == {0}  # the model only sees the global level
    assert float(out[0, 0, 0]) == 5.0  # pinned to the source at every level, exactly the source at 0
    assert float(out[0, 1, 0]) == pytest.approx(5.0 * 0 + 0 - 1.0)  # free token: x = 0 + sum(dt) * 1


def test_steer_moves_each_step_to_the_changed_estimate_and_leaves_held_tokens():
    target = torch.full((1, 4, 2), 3.0)
    cond = torch.full((1, 4, 2), -2.0)
    strength = torch.tensor([1.0, 0.0, 0.0, 0.0]).view(1, 4, 1)
    noise = torch.randn(1, 4, 2, generator=torch.Generator().manual_seed(1))
    seen = []

    def steer(x0):  # what the model predicts, moved half-way to 1
        seen.append(x0.clone())
        return x0 + 0.5 * (1.0 - x0)

    out = sample(_perfect(target), noise, cond, strength, SIGMAS, steer=steer)
    assert torch.equal(out[:, :1], cond[:, :1])  # held: never moved
    # the last step lands on the steered estimate of a perfect model: 3 moved half-way to 1
    assert torch.allclose(out[:, 1:], torch.full((1, 3, 2), 2.0), atol=1e-5)
    assert len(seen) == len(SIGMAS) - 1
    free = sample(_perfect(target), noise, cond, strength, SIGMAS)
    assert torch.allclose(free[:, 1:], target[:, 1:], atol=1e-5)

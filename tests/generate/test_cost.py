"""The cost estimate: its arithmetic, the shape read from a model folder, the cached calibration,
its wording, and a sanity check of the whole against a tiny real model's generation here."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from engine.errors import ModelError
from engine.generate import cost
from engine.generate.cost import Calibration, DenoiserShape, Estimate, describe, estimate
from tests.generate.tiny_models import save_tiny_ltx, save_tiny_wan

REPO = Path(__file__).resolve().parents[2]
SHAPE = DenoiserShape(num_layers=28, inner_dim=2048, ffn_dim=8192, cross_attention_dim=2048, in_channels=128,
                      patch=(1, 1, 1), temporal_compression=8, spatial_compression=32, text_tokens=128)
ARITHMETIC_ONLY = Calibration(device="cpu", flops_per_s=1e12, layer_seconds=0.0)


@pytest.fixture(scope="module")
def tiny_ltx_dir(tmp_path_factory):
    return save_tiny_ltx(tmp_path_factory.mktemp("models") / "tiny-ltx", num_layers=2)


def test_the_cost_grows_linearly_in_steps_and_layers_and_faster_than_linearly_in_tokens():
    def flops(sizes=(121, 512, 768), shape=SHAPE, steps=30, **options):
        return estimate(sizes, shape, steps, calibration=ARITHMETIC_ONLY, **options).flops

    assert flops(steps=60) == pytest.approx(2 * flops(steps=30)) and flops(steps=90) == pytest.approx(3 * flops())
    by_layers = [flops(shape=replace(SHAPE, num_layers=n)) for n in (10, 20, 30)]
    assert by_layers[1] - by_layers[0] == pytest.approx(by_layers[2] - by_layers[1])  # the same per layer
    assert by_layers[1] > by_layers[0]
    assert by_layers[1] < 2 * by_layers[0]  # less the patch embedding, which is paid once a step
    # Twice the latent frames is twice the tokens: the projections double, self-attention quadruples.
    tokens = cost.num_tokens((121, 512, 768), SHAPE)
    assert tokens == 16 * 24 * 16 and cost.num_tokens((249, 512, 768), SHAPE) == 2 * tokens
    quadratic = 30 * SHAPE.num_layers * 4 * tokens**2 * SHAPE.inner_dim  # 4 N² d a layer, 30 steps
    text_projections = 30 * SHAPE.num_layers * 4 * SHAPE.text_tokens * SHAPE.cross_attention_dim * SHAPE.inner_dim
    assert flops((249, 512, 768)) - 2 * flops() == pytest.approx(2 * quadratic - text_projections)
    assert flops((249, 512, 768)) > 2.2 * flops()
    assert flops(guidance=3.0) == pytest.approx(2 * flops()) and flops(guidance=1.0) == flops()
    assert flops(variations=3) == pytest.approx(3 * flops())
    summary = {"width": 768, "height": 512, "num_frames": 121, "num_latent_frames": 16}  # a plan summary
    assert flops(summary) == flops()
    # With a rate, seconds are FLOPs over it plus the per-layer cost, also linear in steps.
    rated = Calibration(device="cpu", flops_per_s=2e12, layer_seconds=0.01)
    seconds = [estimate((121, 512, 768), SHAPE, n, calibration=rated).seconds for n in (10, 20, 30)]
    assert seconds[1] - seconds[0] == pytest.approx(seconds[2] - seconds[1])
    assert seconds[1] - seconds[0] == pytest.approx((flops(steps=20) - flops(steps=10)) / 2e12
                                                    + 10 * (28 * cost.LAYER_UNITS + cost.STEP_UNITS) * 0.01)


def test_the_shape_is_read_from_the_model_folder_without_loading_it(tiny_ltx_dir, tmp_path):
    from engine.generate.models import frame_layout, inspect_model

    shape = cost.denoiser_shape(tiny_ltx_dir)
    assert (shape.num_layers, shape.inner_dim, shape.ffn_dim, shape.patch) == (2, 32, 128, (1, 1, 1))
    assert (shape.temporal_compression, shape.spatial_compression) == frame_layout(inspect_model(tiny_ltx_dir))
    assert cost.num_tokens((9, 32, 32), shape) == 3 * 8 * 8
    wan = cost.denoiser_shape(save_tiny_wan(tmp_path / "tiny-wan"))
    assert (wan.num_layers, wan.inner_dim, wan.ffn_dim, wan.patch, wan.text_tokens) == (2, 24, 32, (1, 2, 2), 512)
    with pytest.raises(ModelError, match=r"transformer/config.json is missing"):
        cost.denoiser_shape(tmp_path)
    # Importing the module loads nothing heavy: the editor may import it at start-up.
    imported = subprocess.run([sys.executable, "-c", "import sys, engine.generate.cost; print('torch' in sys.modules)"],
                              cwd=REPO, capture_output=True, text=True, check=True)
    assert imported.stdout.strip() == "False"


def test_the_calibration_is_measured_once_and_then_read_from_the_cache():
    import torch

    first = cost.calibrate("cpu")
    assert first.device == "cpu" and first.flops_per_s > 0 and first.layer_seconds > 0 and first.conv_flops_per_s > 0
    path = cost.calibration_path()
    [(key, entry)] = json.loads(path.read_text()).items()
    assert key.startswith("cpu:") and key.endswith(f"torch {torch.__version__}")
    # A second call reads the cached entry: the numbers written here come back unmeasured.
    entry.update(flops_per_s=1234.0, layer_seconds=0.5, conv_flops_per_s=567.0)
    path.write_text(json.dumps({key: entry}))
    written = path.stat().st_mtime_ns
    assert cost.calibrate("cpu") == Calibration(device="cpu", flops_per_s=1234.0, layer_seconds=0.5,
                                                conv_flops_per_s=567.0)
    assert path.stat().st_mtime_ns == written
    del entry["conv_flops_per_s"]  # one written before the convolutions were measured: measured again
    path.write_text(json.dumps({key: entry}))
    assert cost.calibrate("cpu").flops_per_s != 1234.0
    path.write_text("{ not json")  # a damaged cache is measured again
    assert cost.calibrate("cpu").flops_per_s != 1234.0
    assert json.loads(path.read_text())[key]["flops_per_s"] > 0


def test_the_description_says_how_long_and_when_it_is_long():
    assert describe(Estimate(seconds=420, flops=1e15, note="")) == "about 7 minutes on this CPU: a long job"
    assert Estimate(seconds=420, flops=0, note="").long and not Estimate(seconds=180, flops=0, note="").long
    assert describe(Estimate(seconds=40.4, flops=1e12, note="", device="cuda")) == "about 40 seconds on this GPU"
    assert describe(Estimate(seconds=0.3, flops=1e9, note="")) == "under a second on this CPU"
    assert describe(Estimate(seconds=150, flops=1e9, note="")) == "about 2 minutes on this CPU"
    assert describe(Estimate(seconds=9000, flops=1e9, note="")) == "about 2.5 hours on this CPU: a long job"


def test_a_tiny_models_estimate_is_within_five_times_its_generation_here(tiny_ltx_dir, tmp_path):
    """A sanity check of the calibration, not a speed target. This machine is shared and its speed
    swings many-fold within seconds, so each try measures the calibration afresh just before the
    generation it predicts, and one try of three within a factor of five is enough."""
    from engine.cli import main
    from tests.jobs.conftest import generate_argv

    argv = ["generate", *generate_argv(tiny_ltx_dir, tmp_path / "fox.npy", steps=24), "--guidance", "3", "--quiet"]
    assert main(argv) == 0  # the first run pays for imports and first-call set-up
    ratios = []
    for _ in range(3):
        cost.calibration_path().unlink(missing_ok=True)
        guess = estimate((9, 32, 32), tiny_ltx_dir, steps=24, guidance=3.0, device="cpu")
        start = time.perf_counter()
        assert main(argv) == 0
        ratios.append((time.perf_counter() - start) / guess.seconds)
        if 1 / 5 <= ratios[-1] <= 5:
            break
    assert 1 / 5 <= ratios[-1] <= 5, f"measured / estimated: {[round(r, 2) for r in ratios]}"
    assert not math.isnan(guess.flops) and "2 layers x 24 steps x batch 2" in guess.note


def _keyframe_plan(caps, tmp_path, frames):
    import numpy as np
    from PIL import Image

    from engine.generate import tools

    path = tmp_path / "key.png"
    Image.fromarray((np.random.default_rng(0).random((32, 32, 3)) * 255).astype(np.uint8)).save(path)
    return tools.storyboard(caps, width=32, height=32, num_frames=4 * caps.vae_temporal_compression + 1, rate=24,
                            prompt="a cat", cards=[tools.Card(str(path), f) for f in frames]).plan


def _real_decode_flops(vae, latents) -> float:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        vae.decode(latents, return_dict=False)
    return float(counter.get_total_flops())


def test_the_keyframe_fit_is_counted_from_the_vae_decoder_built_on_the_meta_device(tiny_ltx_dir, tmp_path):
    """Each refitted latent frame: FIT_STEPS + 1 decodes of it and FIT_REACH frames either side,
    forward and backward; the decoder's FLOPs counted on the meta device are the real decoder's."""
    import torch

    from engine.generate import cost_fit
    from engine.generate.backends import load_backend
    from engine.generate.keyframe_fit import FIT_STEPS
    from engine.generate.models import resolve

    tiny_ltx = load_backend(resolve(str(tiny_ltx_dir)), device="cpu")
    caps = tiny_ltx.caps
    tc = caps.vae_temporal_compression
    assert cost_fit.fit_flops(_keyframe_plan(caps, tmp_path, []), tiny_ltx_dir, "cpu") == (0.0, 0)
    plan = _keyframe_plan(caps, tmp_path, [2 * tc - 1])  # inside latent frame 2 of 5
    flops, refitted = cost_fit.fit_flops(plan, tiny_ltx_dir, "cpu")
    latents = torch.randn(1, tiny_ltx.latent_channels, 3, 32 // caps.vae_spatial_compression,
                          32 // caps.vae_spatial_compression)
    decode = _real_decode_flops(tiny_ltx.vae, latents)
    assert refitted == 1 and decode > 0
    assert flops == pytest.approx((FIT_STEPS + 1) * cost_fit.PASSES["cpu"] * decode, rel=0.01)
    two, _ = cost_fit.fit_flops(_keyframe_plan(caps, tmp_path, [2 * tc - 1, 4 * tc]), tiny_ltx_dir, "cpu",
                                variations=2)
    # the last frame's fit decodes 2 latent frames, not 3; every video of a batch is fitted
    assert flops * 2 < two < flops * 4
    assert cost_fit.fit_flops(plan, tiny_ltx_dir, "cuda")[0] > flops  # the checkpointed decoder runs again
    unknown = tmp_path / "other"
    (unknown / "vae").mkdir(parents=True)
    (unknown / "vae" / "config.json").write_text(json.dumps({"_class_name": "AutoencoderKL"}))
    assert cost_fit.fit_flops(plan, unknown, "cpu") is None
    # a config the class cannot be built from is left out of the estimate, never an error
    (unknown / "vae" / "config.json").write_text(json.dumps({"_class_name": "AutoencoderKLLTXVideo",
                                                             "block_out_channels": "wide"}))
    cost_fit._vae_config.cache_clear()
    assert cost_fit.fit_flops(plan, unknown, "cpu") is None
    # the class's defaults fill what a config leaves out (LTX's latent channels here)
    config = json.loads((tiny_ltx_dir / "vae" / "config.json").read_text())
    del config["latent_channels"]
    (unknown / "vae" / "config.json").write_text(json.dumps(config))
    cost_fit._vae_config.cache_clear()
    assert cost_fit.fit_flops(plan, unknown, "cpu")[0] > 0


def test_a_causal_decoder_costs_one_frame_a_step_after_its_prefix(tmp_path):
    """Wan's fit decodes the frames before the keyframe once and then one latent frame a step."""
    import torch

    from engine.generate import cost_fit
    from engine.generate.backends import load_backend
    from engine.generate.keyframe_fit import FIT_STEPS
    from engine.generate.models import resolve

    folder = save_tiny_wan(tmp_path / "tiny-wan")
    wan = load_backend(resolve(str(folder)), device="cpu")
    plan = _keyframe_plan(wan.caps, tmp_path, [2 * wan.caps.vae_temporal_compression - 1])
    flops, refitted = cost_fit.fit_flops(plan, folder, "cpu")
    h = 32 // wan.caps.vae_spatial_compression
    one, two = (_real_decode_flops(wan.vae, torch.randn(1, 16, n, h, h)) for n in (1, 2))
    assert refitted == 1
    assert flops == pytest.approx(two + (FIT_STEPS + 1) * cost_fit.PASSES["cpu"] * (two - one), rel=0.01)


def test_the_estimate_of_a_request_with_keyframes_counts_their_fit(tiny_ltx_dir, tmp_path):
    import numpy as np
    from PIL import Image

    from engine.generate import requests as rq

    path = tmp_path / "key.png"
    Image.fromarray((np.random.default_rng(0).random((32, 32, 3)) * 255).astype(np.uint8)).save(path)
    rate = Calibration(device="cpu", flops_per_s=1e11, layer_seconds=1e-3, conv_flops_per_s=2e10)

    def guess(*images):
        request = rq.Generate(output=str(tmp_path / "o.npy"), prompt="a cat", frames=33, images=images,
                              sampling=rq.Sampling(model=str(tiny_ltx_dir), steps=10),
                              size=rq.Size(width=32, height=32))
        return cost.estimate_request(request, calibration=rate)

    plain, held = guess(), guess(rq.Placement(path=str(path), frame=12))
    assert "holding keyframes" not in plain.note
    assert "holding keyframes as their pictures: 1 latent frame refitted" in held.note
    assert held.seconds > plain.seconds and held.flops > plain.flops
    # a keyframe on every pixel frame of its latent frames (a clip) needs no fit
    assert guess(rq.Placement(path=str(path), frame=0)).seconds == pytest.approx(plain.seconds)

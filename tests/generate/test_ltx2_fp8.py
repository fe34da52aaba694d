"""LTX-2's transformer weights stored in float8 (diffusers' layerwise casting): chosen when the
weights would not fit otherwise, or by the user's setting; on the tiny model on the CPU the
weights really are float8 and the video and sound stay close to those of the unquantized weights."""

import numpy as np
import pytest
import torch

from engine.generate import models
from engine.generate.models import MemoryOptions, memory_options_for
from engine.user_settings import UserSettings

pytestmark = pytest.mark.filterwarnings("ignore")
GB = 10**9
# LTX-2 19B: its transformer in bfloat16, and everything (Gemma 3 12B, connectors, VAEs, vocoder) with it
TRANSFORMER, ALL = 38 * GB, 64 * GB


@pytest.mark.parametrize(("free", "expected"), [
    (140 * GB, MemoryOptions()),  # everything fits as it is
    (70 * GB, MemoryOptions(vae_tiling=True, fp8_storage=True)),  # fits once the transformer is halved
    (55 * GB, MemoryOptions(cpu_offload=True, vae_tiling=True)),  # offloaded; the transformer alone fits in bf16
    (24 * GB, MemoryOptions(cpu_offload=True, vae_tiling=True, fp8_storage=True)),  # not even the transformer
])
def test_fp8_storage_is_chosen_when_the_weights_would_not_fit_otherwise(free, expected):
    assert memory_options_for(ALL, free, 0, fp8_bytes=TRANSFORMER) == expected


def test_families_without_fp8_storage_are_offloaded_as_before():
    assert memory_options_for(ALL, 24 * GB, 0) == MemoryOptions(cpu_offload=True, vae_tiling=True)
    assert memory_options_for(ALL, 70 * GB, 0) == MemoryOptions(cpu_offload=True, vae_tiling=True)


def test_the_fp8_setting_forces_it_on_or_off():
    assert models.memory_override(UserSettings(fp8_storage=True)) == MemoryOptions(fp8_storage=True)
    assert models.memory_override(UserSettings(fp8_storage=False)) == MemoryOptions()
    assert models.memory_override(UserSettings(memory="model-offload", fp8_storage=True)) == MemoryOptions(
        cpu_offload=True, fp8_storage=True)
    with pytest.raises(ValueError, match="fp8_storage must be true, false or null"):
        UserSettings(fp8_storage="yes")


@pytest.fixture(scope="module")
def fp8(tiny_ltx2_dir):
    from engine.generate.backends import load_backend

    return load_backend(models.resolve(str(tiny_ltx2_dir)), device="cpu", memory=MemoryOptions(fp8_storage=True))


def _plan(caps):
    from engine.generate.compiler import compile
    from engine.model.project import new_project
    from engine.time import FrameRange

    return compile(new_project(32, 32, 25), FrameRange(0, 9), caps, prompt="a robot dancing", negative="blurry")


def test_fp8_weights_on_the_cpu_are_float8_and_give_a_close_video_and_sound(tiny_ltx2, fp8):
    from engine.generate.settings import SamplingSettings

    block = fp8.transformer.transformer_blocks[0]
    assert block.attn1.to_q.weight.dtype == torch.float8_e4m3fn
    assert block.ff.net[-1].weight.dtype == torch.float8_e4m3fn
    assert block.norm1.weight is None or block.norm1.weight.dtype == torch.float32  # norms stay as they are
    stored = sum(p.numel() * p.element_size() for p in fp8.transformer.parameters())
    full = sum(p.numel() * p.element_size() for p in tiny_ltx2.transformer.parameters())
    assert stored < 0.4 * full  # float8 instead of float32 for nearly all of it

    plan = _plan(tiny_ltx2.caps)
    settings = SamplingSettings(steps=3, guidance=3.0, seed=7, max_sequence_length=16)
    reference, ours = tiny_ltx2.generate(plan, settings), fp8.generate(plan, settings)
    other_seed = tiny_ltx2.generate(plan, SamplingSettings(steps=3, guidance=3.0, seed=8, max_sequence_length=16))
    assert not np.array_equal(ours.frames, reference.frames)  # the weights really were rounded
    assert np.abs(ours.frames - reference.frames).mean() < 0.02
    assert np.abs(ours.frames - reference.frames).mean() < 0.2 * np.abs(other_seed.frames - reference.frames).mean()
    assert np.abs(ours.audio - reference.audio).max() < 0.5 * np.abs(other_seed.audio - reference.audio).max()


def test_a_lora_runs_on_fp8_weights_as_on_full_ones_and_leaves_with_its_job(tiny_ltx2, fp8, tmp_path):
    """The adapter's layers come in the stored float8 of the layers they wrap; they are put in the
    compute dtype, so the LoRA changes the video as much as on the unquantized weights."""
    import diffusers
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    from engine.generate.settings import SamplingSettings
    from tests.generate.tiny_ltx2 import tiny_ltx2_components

    transformer = tiny_ltx2_components()["transformer"]
    transformer.add_adapter(LoraConfig(r=4, lora_alpha=4, target_modules=["to_q", "to_k", "to_v", "to_out.0"],
                                       init_lora_weights=False))
    diffusers.LTX2Pipeline.save_lora_weights(tmp_path, transformer_lora_layers=get_peft_model_state_dict(transformer),
                                             safe_serialization=True)
    lora = str(tmp_path / "pytorch_lora_weights.safetensors")
    plan, settings = _plan(fp8.caps), SamplingSettings(steps=2, guidance=1.0, seed=7, max_sequence_length=16)
    changes = {}
    for name, backend in (("full", tiny_ltx2), ("fp8", fp8)):
        plain = backend.generate(plan, settings).frames
        with backend.lora(lora, 1.0):
            styled = backend.generate(plan, settings).frames
        assert np.array_equal(backend.generate(plan, settings).frames, plain)  # the adapter left with its job
        changes[name] = np.abs(styled - plain).mean()
    assert changes["full"] > 0.01
    assert abs(changes["fp8"] - changes["full"]) < 0.2 * changes["full"]

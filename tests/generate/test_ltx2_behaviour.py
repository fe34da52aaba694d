"""What the LTX-2 model is told is what it does: per-frame prompts for both streams, and its
folders found, declared and refused like the other families'."""

import json
import shutil

import numpy as np
import pytest
import torch

from engine.errors import ModelError
from engine.generate import tools
from engine.generate.settings import SamplingSettings

pytestmark = pytest.mark.filterwarnings("ignore")


def _first_text_attention(backend, second_prompt):
    """The outputs of the first block's text cross-attention (video and audio) at the first step of a
    two-prompt storyboard: their inputs depend only on the noise, so any difference between two runs
    comes from the text each token read."""
    recipe = tools.storyboard(backend.caps, num_frames=9, rate=25, prompt="", width=32, height=32, prompts=[
        tools.PromptSpan(0, 5, "a quiet lake"), tools.PromptSpan(5, 9, second_prompt)])
    block = backend.transformer.transformer_blocks[0]
    seen = {}

    def keep(name):
        def hook(_module, _args, output):
            seen.setdefault(name, output.detach().clone())
        return hook

    handles = [block.attn2.register_forward_hook(keep("video")), block.audio_attn2.register_forward_hook(keep("audio"))]
    try:
        backend.generate(recipe.plan, SamplingSettings(steps=1, guidance=1.0, seed=5, max_sequence_length=16),
                         decode=False)
    finally:
        for handle in handles:
            handle.remove()
    return recipe.plan, seen["video"][0], seen["audio"][0]


def test_editing_one_storyboard_prompt_changes_only_its_own_video_and_audio_tokens(tiny_ltx2):
    plan, video_a, audio_a = _first_text_attention(tiny_ltx2, "a storm at sea")
    _, video_b, audio_b = _first_text_attention(tiny_ltx2, "birds sing in the forest")
    tokens_per_frame = (32 // tiny_ltx2.caps.vae_spatial_compression) ** 2
    video_prompt = np.repeat(plan.latent_prompt, tokens_per_frame)
    audio_prompt = tiny_ltx2.audio_token_prompt(plan).numpy()
    assert set(video_prompt) == set(audio_prompt) == {0, 1}
    video_change = (video_a - video_b).abs().amax(dim=-1).numpy()
    audio_change = (audio_a - audio_b).abs().amax(dim=-1).numpy()
    assert video_change[video_prompt == 0].max() <= 1e-6
    assert audio_change[audio_prompt == 0].max() <= 1e-6
    assert video_change[video_prompt == 1].min() > 1e-4
    assert audio_change[audio_prompt == 1].min() > 1e-4


def test_an_ltx2_folder_is_found_offline_with_its_capabilities(tiny_ltx2, tiny_ltx2_dir):
    from engine.generate.models import frame_layout, inspect_model

    info = inspect_model(tiny_ltx2_dir)
    assert info.usable and info.family == "ltx2" and info.pipeline_class == "LTX2Pipeline"
    assert frame_layout(info) == (2, 2)
    caps = tiny_ltx2.caps
    assert caps.family == "ltx2" and caps.audio and caps.audio_sample_rate == 16000
    assert caps.audio_latents_per_second == 25.0
    assert caps.per_token_timesteps and caps.keyframe_tokens
    assert caps.is_valid_frame_count(9) and not caps.is_valid_frame_count(8)
    assert caps.size_multiple == 2


def _copy(tiny_ltx2_dir, tmp_path):
    folder = tmp_path / "ltx2"
    shutil.copytree(tiny_ltx2_dir, folder)
    return folder


def _load(folder):
    from engine.generate.backends import load_backend
    from engine.generate.models import resolve

    return load_backend(resolve(str(folder)), device="cpu")


def test_pickled_weights_are_refused_with_what_to_do(tiny_ltx2_dir, tmp_path):
    from safetensors.torch import load_file

    folder = _copy(tiny_ltx2_dir, tmp_path)
    weights = folder / "vocoder" / "diffusion_pytorch_model.safetensors"
    torch.save(load_file(weights), folder / "vocoder" / "diffusion_pytorch_model.bin")
    weights.unlink()
    with pytest.raises(ModelError, match=r"vocoder.*diffusion_pytorch_model\.bin is a PyTorch pickle.*safetensors"):
        _load(folder)


def test_a_missing_vocoder_is_one_clear_message(tiny_ltx2_dir, tmp_path):
    folder = _copy(tiny_ltx2_dir, tmp_path)
    index = json.loads((folder / "model_index.json").read_text())
    del index["vocoder"]
    (folder / "model_index.json").write_text(json.dumps(index))
    shutil.rmtree(folder / "vocoder")
    with pytest.raises(ModelError, match=r"has no vocoder .*download the complete LTX-2 model"):
        _load(folder)


def test_a_wrong_text_encoder_is_one_clear_message(tiny_ltx2_dir, tmp_path):
    import transformers

    folder = _copy(tiny_ltx2_dir, tmp_path)
    shutil.rmtree(folder / "text_encoder")
    transformers.T5EncoderModel(transformers.T5Config(
        vocab_size=200, d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4, relative_attention_num_buckets=8,
        is_encoder_decoder=False)).save_pretrained(folder / "text_encoder")
    index = json.loads((folder / "model_index.json").read_text())
    index["text_encoder"] = ["transformers", "T5EncoderModel"]
    (folder / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(ModelError, match=r"text_encoder is a T5EncoderModel.*Gemma text encoder"):
        _load(folder)


def test_each_prompt_is_encoded_once(tiny_ltx2):
    """The text encoder (12B for the real model) runs only for prompts it has not seen: a storyboard
    re-run after one prompt's edit encodes that prompt alone."""
    calls = []
    handle = tiny_ltx2.text_encoder.register_forward_pre_hook(lambda *_: calls.append(1))
    unguided = (("stg", 0.0), ("audio_stg", 0.0), ("modality", 1.0), ("audio_modality", 1.0))

    def storyboard(second):
        recipe = tools.storyboard(tiny_ltx2.caps, num_frames=9, rate=25, prompt="", width=32, height=32, prompts=[
            tools.PromptSpan(0, 5, "waves on a cache test shore"), tools.PromptSpan(5, 9, second)])
        tiny_ltx2.generate(recipe.plan, SamplingSettings(steps=1, guidance=1.0, seed=5, max_sequence_length=16,
                                                         guidance_terms=unguided), decode=False)

    try:
        storyboard("a cache test gull")
        assert len(calls) == 2  # two prompts, no negatives without guidance
        storyboard("a cache test gull")
        assert len(calls) == 2  # nothing new to encode
        storyboard("a cache test heron")
        assert len(calls) == 3  # only the edited prompt
    finally:
        handle.remove()


@pytest.mark.parametrize("phase", ["text encoder", "audio decoder"])
def test_a_cancel_stops_inside_the_text_encoder_and_inside_the_audio_decode(tiny_ltx2, phase):
    """Gemma (12B in the real model) and the sound's decode are long phases of their own: a cancel
    made while one runs stops before its next block, and nothing after it runs."""
    from engine.progress import CancelToken, JobCancelled

    gemma = tiny_ltx2.text_encoder.model.language_model.layers
    first, later = ((gemma[0], tiny_ltx2.transformer) if phase == "text encoder"
                    else (_first_resnet(tiny_ltx2.audio_vae.decoder), tiny_ltx2.vocoder))
    token, ran = CancelToken(), []
    hooks = [first.register_forward_pre_hook(lambda *_: token.cancel()),
             later.register_forward_pre_hook(lambda *_: ran.append(1))]
    recipe = tools.storyboard(tiny_ltx2.caps, num_frames=9, rate=25, prompt=f"a cancel test in the {phase}",
                              width=32, height=32)
    try:
        with pytest.raises(JobCancelled):
            tiny_ltx2.generate(recipe.plan, SamplingSettings(steps=1, guidance=1.0, seed=1, max_sequence_length=16),
                               cancel=token)
    finally:
        for hook in hooks:
            hook.remove()
    assert not ran


def _first_resnet(coder):
    return next(m for m in coder.modules() if type(m).__name__.endswith("ResnetBlock"))

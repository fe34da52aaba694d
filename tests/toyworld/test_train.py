"""The training script end to end on a micro model: it runs, checkpoints, resumes, reproduces its
weights from the seed, and what it exports loads and generates through Kinora's own loader and backend."""

import json

import numpy as np
import pytest

from engine.toyworld.data import LatentCache, object_token_mask
from engine.toyworld.model import MICRO
from engine.toyworld.train import (
    TrainConfig,
    cross_attention_bias,
    disturb_neighbours,
    flow_matching_loss,
    main,
    noise_levels,
    train,
)

MICRO_TRAINING = TrainConfig(seed=3, vae_steps=2, vae_batch=2, vae_frames=5, stats_clips=4, dit_steps=2, dit_batch=2,
                             warmup=1)


def _weights(folder):
    from safetensors.torch import load_file

    return load_file(str(folder / "checkpoint.safetensors"))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("train")
    assert main(["--out", str(out), "--micro", "--vae-steps", "2", "--steps", "2", "--batch", "2",
                 "--seed", "3"]) == 0
    return out


def test_the_script_trains_every_component_and_exports_a_diffusers_ltx_model(trained):
    index = json.loads((trained / "model" / "model_index.json").read_text())
    assert index["_class_name"] == "LTXPipeline"
    assert index["transformer"] == ["diffusers", "LTXVideoTransformer3DModel"]
    assert index["vae"] == ["diffusers", "AutoencoderKLLTXVideo"]
    assert index["text_encoder"] == ["transformers", "T5EncoderModel"]
    assert index["tokenizer"] == ["transformers", "ByT5Tokenizer"]
    files = [p.name for p in (trained / "model").rglob("*") if p.is_file()]
    assert any(f.endswith(".safetensors") for f in files)
    assert not any(f.endswith((".bin", ".pt", ".pth", ".ckpt", ".pkl")) for f in files)
    progress = json.loads((trained / "progress.json").read_text())
    assert progress["stage"] == "done" and progress["clips_seen"]["transformer"] == 4


def test_the_exported_model_declares_the_defaults_it_samples_best_with(trained):
    from engine.generate.backends import load_backend
    from engine.generate.models import resolve
    from engine.toyworld.model import GUIDANCE, GUIDANCE_INTERVAL, STEPS

    backend = load_backend(resolve(str(trained / "model")), device="cpu")
    assert (backend.caps.default_steps, backend.caps.default_guidance) == (STEPS, GUIDANCE)
    assert backend.caps.default_guidance_interval == GUIDANCE_INTERVAL != (0.0, 1.0)
    assert (backend.caps.native_width, backend.caps.native_frames) == (MICRO.width, MICRO.num_frames)


def test_all_three_networks_change_during_training(trained, tmp_path):
    import torch

    from engine.toyworld.model import build_text_encoder, build_transformer, build_vae

    torch.manual_seed(3)
    untrained = {"vae": build_vae(MICRO), "transformer": build_transformer(MICRO),
                 "text_encoder": build_text_encoder(MICRO)[1]}
    weights = _weights(trained)
    for name, module in untrained.items():
        changed = [key for key, value in module.state_dict().items()
                   if not torch.equal(value, weights[f"{name}.{key}"])]
        assert changed, f"{name} did not train"
    # The VAE's latent statistics were measured, not left at 0 / 1.
    assert not torch.all(weights["vae.latents_std"] == 1.0)


def test_the_exported_model_generates_through_kinoras_backend(trained):
    from engine.generate.backends import load_backend
    from engine.generate.models import resolve
    from engine.generate.run import run_recipe
    from engine.generate.settings import SamplingSettings
    from engine.generate.tools import PromptSpan, storyboard

    backend = load_backend(resolve(str(trained / "model")), device="cpu")
    assert backend.caps.vae_spatial_compression == 8 and backend.caps.vae_temporal_compression == 4
    recipe = storyboard(backend.caps, width=32, height=32, num_frames=9, rate=25,
                        prompts=[PromptSpan(0, 5, "a red circle moving right on a black background"),
                                 PromptSpan(5, 9, "a blue star spinning on a white background")])
    frames, result = run_recipe(backend, recipe, SamplingSettings(steps=2, seed=1))
    assert frames.shape == (1, 9, 32, 32, 3) and frames.dtype == np.uint8
    assert np.isfinite(result.latents.numpy()).all()


def test_a_run_is_reproduced_from_its_seed_and_a_resumed_run_matches_an_unbroken_one(tmp_path):
    import dataclasses

    import torch

    train(tmp_path / "whole", MICRO, MICRO_TRAINING, threads=1)
    train(tmp_path / "again", MICRO, MICRO_TRAINING, threads=1)
    whole, again = _weights(tmp_path / "whole"), _weights(tmp_path / "again")
    assert whole.keys() == again.keys()
    assert all(torch.equal(whole[k], again[k]) for k in whole)
    # Stopped after one transformer step, then continued to two.
    train(tmp_path / "split", MICRO, dataclasses.replace(MICRO_TRAINING, dit_steps=1), threads=1)
    train(tmp_path / "split", MICRO, MICRO_TRAINING, resume=True, threads=1)
    split = _weights(tmp_path / "split")
    for key in whole:
        assert torch.allclose(whole[key], split[key], atol=1e-6), key
    other_seed = train(tmp_path / "other", MICRO, dataclasses.replace(MICRO_TRAINING, seed=4), threads=1)
    assert not torch.equal(_weights(other_seed.parent)["transformer.proj_out.weight"],
                           whole["transformer.proj_out.weight"])


def test_noise_levels_cover_whole_clips_independent_frames_and_held_frames():
    import torch

    levels = noise_levels(400, 7, 2.0, torch.Generator().manual_seed(0))
    assert levels.shape == (400, 7) and float(levels.min()) >= 0 and float(levels.max()) <= 1
    held = levels == 0
    assert held.any(1).float().mean() > 0.3  # clips with held frames
    assert not held.all(1).any()  # never a clip with nothing to learn
    one_level = (levels == levels[:, :1]).all(1) & ~held.any(1)
    assert 0.2 < one_level.float().mean() < 0.5
    assert held[:, 0].sum() > 50 and held[:, -1].sum() > 50  # starts (extend, i2v) and ends (loops)


def test_each_latent_frame_sees_only_its_own_prompt():
    import torch

    text_mask = torch.tensor([[True, True, False, True, False, False]])  # two prompts of 3 tokens
    prompt_of_frame = torch.tensor([[0, 1]])
    bias = cross_attention_bias(text_mask, prompt_of_frame, tokens_per_frame=2, max_sequence_length=3)
    assert bias.shape == (1, 4, 6)
    allowed = bias == 0
    assert allowed[0, :2].tolist() == [[True, True, False, False, False, False]] * 2
    assert allowed[0, 2:].tolist() == [[False, False, False, True, False, False]] * 2


def test_object_tokens_are_the_latent_cells_and_frame_groups_an_object_covers():
    from engine.toyworld.model import ModelConfig
    from engine.toyworld.world import ObjectSpec, SceneSpec, render_scene

    config = ModelConfig()
    # A red square at (20, 44) px, radius 6.4 px, moving right by 0.45 * 64 = 28.8 px over 25 frames.
    scene = SceneSpec((ObjectSpec("red", "square", "moving right", 20 / 64, 44 / 64, 0.1),), "black")
    mask = object_token_mask(render_scene(scene)[None], config)[0]
    assert mask.shape == (7, 8, 8)
    assert mask[0, 44 // 8, 20 // 8] == 1 and mask[0, 1, 1] == 0 and mask[0, :, 5:].sum() == 0
    assert mask[6, 44 // 8, (20 + 28) // 8] == 1 and mask[6, :, :4].sum() == 0  # it has moved right
    assert mask[:, :3].sum() == 0  # nothing in the top rows
    # A white background is not an object.
    assert object_token_mask(render_scene(SceneSpec((), "white"))[None], config).sum() == 0


def test_token_weights_scale_each_tokens_share_of_the_flow_loss():
    import torch

    from engine.toyworld.model import build_transformer

    torch.manual_seed(0)
    transformer = build_transformer(MICRO)
    latents = torch.randn(1, MICRO.latent_channels, 3, 4, 4)
    context = torch.randn(1, 2 * MICRO.max_sequence_length, MICRO.text_dim)
    bias = torch.zeros(1, 48, 2 * MICRO.max_sequence_length)
    levels = torch.full((1, 3), 0.5)

    def loss(weights):
        with torch.no_grad():
            return flow_matching_loss(transformer, latents, context, bias, levels, MICRO,
                                      torch.Generator().manual_seed(1), weights).item()

    uniform, doubled = loss(None), loss(torch.full((1, 3, 4, 4), 2.0))
    assert abs(uniform - doubled) < 1e-5  # a weighted mean: scaling every weight changes nothing
    only_one = torch.zeros(1, 3, 4, 4)
    only_one[0, 1, 2, 3] = 1.0
    assert abs(loss(only_one) - uniform) > 1e-3  # one token's error alone differs from the mean


def test_the_latent_cache_is_saved_reloaded_and_drawn_from_with_long_batches(tmp_path):
    import torch

    from engine.toyworld.model import build_vae

    torch.manual_seed(0)
    vae = build_vae(MICRO).eval()
    config = TrainConfig(seed=5, latent_cache=8)
    cache = LatentCache.build(vae, MICRO, config, "cpu")
    assert len(cache.parts["short"][2]) == 6 and len(cache.parts["long"][2]) == 2
    cache.save(tmp_path)
    again = LatentCache.load(tmp_path, 8)
    for name in ("short", "long"):
        assert torch.equal(cache.parts[name][0], again.parts[name][0])
        assert cache.parts[name][2] == again.parts[name][2]
    assert LatentCache.load(tmp_path, 9) is None  # a cache of another size is built again
    latents, masks, captions = again.draw(0, 3, torch.Generator().manual_seed(0))
    assert latents.shape[:3] == (3, MICRO.latent_channels, 3) and masks.shape == (3, 3, 4, 4) and len(captions) == 3
    assert again.draw(3, 2, torch.Generator().manual_seed(0))[0].shape[2] == 5  # every fourth batch is longer


def test_worker_processes_render_the_same_latent_cache_as_one_process():
    import torch

    from engine.toyworld.model import build_vae

    torch.manual_seed(0)
    vae = build_vae(MICRO).eval()
    config = TrainConfig(seed=6, latent_cache=40)  # 30 short clips (chunks of 16 and 14) and 10 long
    alone = LatentCache.build(vae, MICRO, config, "cpu")
    side_by_side = LatentCache.build(vae, MICRO, config, "cpu", workers=2)
    for name in ("short", "long"):
        assert torch.equal(alone.parts[name][0], side_by_side.parts[name][0])
        assert torch.equal(alone.parts[name][1], side_by_side.parts[name][1])
        assert alone.parts[name][2] == side_by_side.parts[name][2]
    assert len(set(alone.parts["short"][2])) > 20  # distinct clips, not one repeated


def test_a_run_started_from_an_exported_model_keeps_its_vae_and_text_encoder(trained, tmp_path):
    import torch
    from safetensors.torch import load_file

    source = trained / "model"
    argv = ["--out", str(tmp_path / "same"), "--micro", "--steps", "2", "--batch", "2", "--seed", "4",
            "--from-model", str(source)]
    assert main(argv) == 0
    vae = load_file(str(source / "vae" / "diffusion_pytorch_model.safetensors"))
    after = _weights(tmp_path / "same")
    assert all(torch.equal(vae[k], after[f"vae.{k}"]) for k in vae)  # taken as trained, latent statistics too
    progress = json.loads((tmp_path / "same" / "progress.json").read_text())
    assert progress["stage"] == "done" and progress["clips_seen"]["vae"] == 0  # no VAE stage ran
    source_training = json.loads((source / "training.json").read_text())
    assert progress["started_from"] == {"clips_seen": source_training["clips_seen"], "transformer": "kept"}
    # The transformer went on from the source's (two small steps away), not from a new start.
    start = load_file(str(source / "transformer" / "diffusion_pytorch_model.safetensors"))
    moved = [float((after[f"transformer.{k}"] - v).abs().max()) for k, v in start.items()]
    assert 0 < max(moved) < 0.05
    # Another width: a new transformer on the same VAE.
    assert main([*argv[:1], str(tmp_path / "wide"), *argv[2:], "--heads", "3"]) == 0
    wide = json.loads((tmp_path / "wide" / "progress.json").read_text())
    assert wide["started_from"]["transformer"] == "new" and wide["model_config"]["heads"] == 3
    assert all(torch.equal(vae[k], _weights(tmp_path / "wide")[f"vae.{k}"]) for k in vae)


def test_starting_from_a_folder_that_is_no_model_or_with_resume_is_refused(tmp_path, capsys):
    assert main(["--out", str(tmp_path / "run"), "--micro", "--from-model", str(tmp_path)]) == 2
    assert "no model_index.json" in capsys.readouterr().err
    assert main(["--out", str(tmp_path / "run"), "--micro", "--resume", "--from-model", str(tmp_path)]) == 2
    assert "leave out --resume" in capsys.readouterr().err


def test_a_finished_run_can_train_its_vae_further_and_then_its_transformer_again(tmp_path):
    import dataclasses

    import torch

    train(tmp_path, MICRO, MICRO_TRAINING, threads=1)
    before = _weights(tmp_path)
    more = dataclasses.replace(MICRO_TRAINING, vae_steps=4, latent_cache=6)
    train(tmp_path, MICRO, more, resume=True, reopen_vae=True, threads=1)
    after = _weights(tmp_path)
    progress = json.loads((tmp_path / "progress.json").read_text())
    assert progress["clips_seen"]["vae"] == 4 * MICRO_TRAINING.vae_batch
    assert progress["clips_seen"]["transformer"] == 2 * 2 * MICRO_TRAINING.dit_batch
    assert [s["reopened_vae"] for s in progress["sittings"]] == [False, True]
    assert not torch.equal(before["vae.encoder.conv_in.conv.weight"], after["vae.encoder.conv_in.conv.weight"])
    assert not torch.equal(before["transformer.proj_out.weight"], after["transformer.proj_out.weight"])
    assert (tmp_path / "latent_cache.safetensors").is_file()


def test_the_exported_networks_are_the_moving_averages_of_the_trained_ones(trained):
    import torch
    from safetensors.torch import load_file

    weights = _weights(trained)
    exported = load_file(str(trained / "model" / "transformer" / "diffusion_pytorch_model.safetensors"))
    key = "proj_out.weight"
    assert torch.equal(exported[key], weights[f"ema_transformer.{key}"])
    assert not torch.equal(exported[key], weights[f"transformer.{key}"])  # the raw weights moved on
    text = load_file(str(trained / "model" / "text_encoder" / "model.safetensors"))
    name = next(k for k in text if k.endswith("SelfAttention.q.weight"))
    assert torch.equal(text[name], weights[f"ema_text_encoder.{name}"])


def test_disturbed_neighbours_leave_some_latent_frames_as_they_were_and_weigh_only_their_pixels():
    import torch

    latents = torch.randn(6, 4, 5, 2, 2)
    moved, weights = disturb_neighbours(latents, 1.0, 4, torch.Generator().manual_seed(1))
    assert weights.shape == (6, 17)
    for clip in range(6):
        changed = [not torch.equal(moved[clip, :, k], latents[clip, :, k]) for k in range(5)]
        assert 0 < sum(changed) < 5
        expected = [0.0 if changed[0 if p == 0 else 1 + (p - 1) // 4] else 1.0 for p in range(17)]
        assert weights[clip].tolist() == expected
        for k in range(5):
            if changed[k]:  # pulled towards the previous clip in the batch, not just anywhere
                step = moved[clip, :, k] - latents[clip, :, k]
                toward = latents[clip - 1, :, k] - latents[clip, :, k]
                ratio = float((step * toward).sum() / (toward * toward).sum())
                assert 0.3 <= ratio <= 1.0 and torch.allclose(step, ratio * toward, atol=1e-5)
    untouched, weights = disturb_neighbours(latents, 0.0, 4, torch.Generator().manual_seed(1))
    assert torch.equal(untouched, latents) and bool((weights == 1).all())


def test_the_decoder_stage_trains_only_the_decoder_and_a_finished_run_continues_after_it(tmp_path):
    import dataclasses

    import torch
    from safetensors.torch import load_file

    train(tmp_path / "run", MICRO, MICRO_TRAINING, threads=1)
    before = _weights(tmp_path / "run")
    decoder = dataclasses.replace(MICRO_TRAINING, decoder_steps=2, decoder_frames=9)
    train(tmp_path / "run", MICRO, decoder, resume=True, threads=1)
    after = _weights(tmp_path / "run")
    for key in before:
        same = torch.equal(before[key], after[key])
        if key.startswith("vae.decoder."):
            continue
        assert same, f"{key} changed; only the decoder trains in this stage"
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("vae.decoder."))
    assert any(k.startswith("decoder_optimizer.") for k in after)
    progress = json.loads((tmp_path / "run" / "progress.json").read_text())
    assert progress["stage"] == "done" and progress["clips_seen"]["decoder"] == 2 * MICRO_TRAINING.vae_batch
    exported = load_file(str(tmp_path / "run" / "model" / "vae" / "diffusion_pytorch_model.safetensors"))
    assert all(torch.equal(exported[k[4:]], after[k]) for k in after if k.startswith("vae.decoder."))
    # Stopped after one decoder step and continued: the same weights as two steps at once.
    train(tmp_path / "split", MICRO, MICRO_TRAINING, threads=1)
    train(tmp_path / "split", MICRO, dataclasses.replace(decoder, decoder_steps=1), resume=True, threads=1)
    train(tmp_path / "split", MICRO, decoder, resume=True, threads=1)
    split = _weights(tmp_path / "split")
    assert all(torch.allclose(split[k], after[k], atol=1e-6) for k in after), "a resumed decoder stage diverged"
    # The transformer can still be trained further afterwards.
    train(tmp_path / "run", MICRO, dataclasses.replace(decoder, dit_steps=3), resume=True, threads=1)
    progress = json.loads((tmp_path / "run" / "progress.json").read_text())
    assert progress["clips_seen"]["transformer"] == 3 * MICRO_TRAINING.dit_batch
    continued = _weights(tmp_path / "run")
    assert not torch.equal(continued["transformer.proj_out.weight"], after["transformer.proj_out.weight"])
    assert all(torch.equal(continued[k], after[k]) for k in after if k.startswith("decoder_optimizer."))


def test_a_grown_transformer_computes_what_the_trained_one_did_until_it_trains():
    import dataclasses

    import torch

    from engine.toyworld.model import build_transformer, grow_transformer

    config = dataclasses.replace(MICRO, layers=2)
    torch.manual_seed(0)
    small = build_transformer(config)
    with torch.no_grad():  # trained-looking blocks: output projections away from their initial values
        for block in small.transformer_blocks:
            for p in block.parameters():
                p.add_(0.05 * torch.randn_like(p))
    grown = grow_transformer(small, dataclasses.replace(config, layers=5))
    assert len(grown.transformer_blocks) == 5
    tokens = 3 * 4 * 4
    inputs = dict(hidden_states=torch.randn(2, tokens, MICRO.latent_channels),
                  encoder_hidden_states=torch.randn(2, 7, MICRO.text_dim), timestep=torch.tensor([[300.0], [800.0]]),
                  encoder_attention_mask=torch.ones(2, 7), num_frames=3, height=4, width=4, return_dict=False)
    with torch.no_grad():
        before, after = small(**inputs)[0], grown(**inputs)[0]
    assert torch.allclose(before, after, atol=1e-5)
    # Blocks 0, 1 are the trained block 0 and its copy; the copy's attention weights are block 0's.
    assert torch.equal(grown.transformer_blocks[1].attn1.to_q.weight, small.transformer_blocks[0].attn1.to_q.weight)
    assert not grown.transformer_blocks[1].attn1.to_out[0].weight.any()
    assert torch.equal(grown.transformer_blocks[3].ff.net[2].weight, small.transformer_blocks[1].ff.net[2].weight)
    with pytest.raises(ValueError, match="--layers"):
        grow_transformer(grown, config)


def test_a_finished_run_resumed_with_more_layers_grows_and_trains_its_transformer(tmp_path, capsys):
    import torch

    train(tmp_path, MICRO, MICRO_TRAINING, threads=1)
    before = _weights(tmp_path)
    assert main(["--out", str(tmp_path), "--micro", "--resume", "--layers", "2", "--vae-steps", "2", "--steps", "4",
                 "--batch", "2", "--seed", "3"]) == 0
    after = _weights(tmp_path)
    progress = json.loads((tmp_path / "progress.json").read_text())
    assert progress["model_config"]["layers"] == 2 and progress["cycle_start"] == 2
    assert [s["layers"] for s in progress["sittings"]] == [1, 2]
    assert "transformer.transformer_blocks.1.attn1.to_out.0.weight" in after
    assert after["transformer.transformer_blocks.1.attn1.to_out.0.weight"].any()  # the copy has trained
    assert not torch.equal(before["transformer.proj_out.weight"], after["transformer.proj_out.weight"])
    exported = json.loads((tmp_path / "model" / "transformer" / "config.json").read_text())
    assert exported["num_layers"] == 2
    # Resumed again without --layers: the checkpoint's depth is kept; the sitting records its loss weighting.
    assert main(["--out", str(tmp_path), "--micro", "--resume", "--vae-steps", "2", "--steps", "5",
                 "--batch", "2", "--seed", "3", "--object-token-weight", "12"]) == 0
    sittings = json.loads((tmp_path / "progress.json").read_text())["sittings"]
    assert sittings[-1]["layers"] == 2
    assert [s["object_token_weight"] for s in sittings[1:]] == [TrainConfig().object_token_weight, 12.0]
    # A transformer only grows: asking for fewer blocks is refused before anything runs.
    assert main(["--out", str(tmp_path), "--micro", "--resume", "--layers", "1", "--steps", "6"]) == 2
    assert "error: --layers 1: the checkpoint in" in capsys.readouterr().err


def test_a_run_resumed_with_another_width_trains_a_new_transformer_on_its_vae_and_text_encoder(tmp_path):
    import torch
    from safetensors.torch import save_file

    train(tmp_path, MICRO, MICRO_TRAINING, threads=1)
    before = _weights(tmp_path)
    # Mark the trained text encoder (and its average) so that a new one could not pass for it.
    for key in [k for k in before if k.startswith(("text_encoder.", "ema_text_encoder.")) and k.endswith("weight")]:
        before[key] = before[key] + 1.0
    save_file(before, str(tmp_path / "checkpoint.safetensors"))
    argv = ["--out", str(tmp_path), "--micro", "--resume", "--vae-steps", "2", "--batch", "2", "--seed", "3"]
    assert main([*argv, "--heads", "3", "--steps", "3"]) == 0
    after = _weights(tmp_path)
    progress = json.loads((tmp_path / "progress.json").read_text())
    assert (progress["model_config"]["heads"], progress["stage"], progress["step"]) == (3, "done", 3)
    assert after["transformer.proj_in.weight"].shape[0] == 3 * MICRO.head_dim != before["transformer.proj_in.weight"].shape[0]
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("vae."))  # the VAE is kept
    # The text encoder is trained on from where it was (marked): a few small steps away, not a new start.
    moved = [float((after[k] - before[k]).abs().max()) for k in before if k.startswith("text_encoder.")]
    assert 0 < max(moved) < 0.05
    assert json.loads((tmp_path / "model" / "transformer" / "config.json").read_text())["num_attention_heads"] == 3
    # Resumed again without --heads: the same transformer goes on (its steps continue).
    assert main([*argv, "--steps", "4"]) == 0
    progress = json.loads((tmp_path / "progress.json").read_text())
    assert (progress["model_config"]["heads"], progress["step"]) == (3, 4)
    assert [s["heads"] for s in progress["sittings"][1:]] == [3, 3]



def test_the_exported_model_declares_the_words_lengths_and_size_it_was_trained_on(trained):
    from engine.generate.limits import limits_of
    from engine.generate.models import resolve
    from engine.toyworld.model import MICRO
    from engine.toyworld.world import EXAMPLE_CAPTIONS, vocabulary

    limits = limits_of(resolve(str(trained / "model")))
    assert limits.vocabulary == frozenset(vocabulary()) and limits.example_prompts == EXAMPLE_CAPTIONS
    assert (limits.min_frames, limits.max_frames) == (MICRO.num_frames, MICRO.num_frames + 2 * MICRO.temporal_compression)
    assert limits.sizes == ((MICRO.width, MICRO.height),)

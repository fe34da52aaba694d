"""Every tool runs end to end on the tiny LTX model, through the recipes and through the CLI."""

import numpy as np
import pytest

from engine.cli import main
from engine.errors import UserError
from engine.generate import tools
from engine.generate.media_io import read_video
from engine.generate.run import run_recipe
from engine.generate.settings import SamplingSettings
from tests.generate.media import moving_square, write_clip, write_png

pytestmark = pytest.mark.filterwarnings("ignore")
FAST = SamplingSettings(steps=2, guidance=3.0, seed=1)


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    folder = tmp_path_factory.mktemp("media")
    return {
        "image": write_png(folder / "card.png", moving_square(1, seed=4)[0]),
        "clip": write_clip(folder / "clip.mp4", 17, seed=1),
        "other": write_clip(folder / "other.mp4", 17, seed=2),
    }


def _size(**kwargs):
    return {"width": 32, "height": 32, **kwargs}


def test_text_image_storyboard_recipes(tiny_ltx, media):
    caps = tiny_ltx.caps
    t2v = tools.text_to_video(caps, num_frames=9, prompt="waves", **_size())
    frames, result = run_recipe(tiny_ltx, t2v, FAST)
    assert frames.shape == (1, 9, 32, 32, 3) and frames.dtype == np.uint8
    assert result.latents.shape == (1, 8, 3, 8, 8)

    i2v = tools.image_to_video(caps, str(media["image"]), frame=4, num_frames=9, prompt="a card", **_size())
    assert i2v.plan.latent_strength.tolist() == [0.0, 1.0, 0.0]  # frame 4 is latent frame 1's (pixels 1..4)
    frames, _ = run_recipe(tiny_ltx, i2v, FAST)
    assert frames.shape == (1, 9, 32, 32, 3)
    # between latent frames, LTX holds the picture with its own tokens at its exact time
    between = tools.image_to_video(caps, str(media["image"]), frame=6, num_frames=9, prompt="a card", **_size())
    assert between.plan.latent_strength.tolist() == [0.0, 0.0, 0.0]
    assert [(k.pixel_frame, k.strength) for k in between.plan.keyframes] == [(6, 1.0)]
    assert between.plan.pixel_strength[6] == 1.0
    frames_between, _ = run_recipe(tiny_ltx, between, FAST)
    assert frames_between.shape == (1, 9, 32, 32, 3)
    assert np.abs(frames_between.astype(int) - frames.astype(int)).max() > 0

    board = tools.storyboard(caps, num_frames=13, prompt="sky", cards=[tools.Card(str(media["image"]), 0)],
                             prompts=[tools.PromptSpan(0, 5, "dawn"), tools.PromptSpan(5, 13, "dusk")], **_size())
    assert board.plan.prompts == ("dawn", "dusk")
    frames, _ = run_recipe(tiny_ltx, board, FAST)
    assert frames.shape == (1, 13, 32, 32, 3)


def test_extend_loop_blend_remix_upscale_recipes(tiny_ltx, media):
    caps = tiny_ltx.caps
    clip = str(media["clip"])
    original = read_video(clip)

    forward = tools.extend(caps, clip, direction="forward", context=5, new_frames=8, **_size())
    frames, _ = run_recipe(tiny_ltx, forward, FAST)
    assert frames.shape == (1, 17 + forward.plan.num_frames - 5, 32, 32, 3)
    np.testing.assert_array_equal(frames[0, :17], original)  # the clip itself is untouched
    assert forward.plan.latent_strength[0] == 1.0 and forward.plan.latent_strength[-1] == 0.0

    backward = tools.extend(caps, clip, direction="backward", context=5, new_frames=8, **_size())
    frames, _ = run_recipe(tiny_ltx, backward, FAST)
    np.testing.assert_array_equal(frames[0, -17:], original)
    assert backward.plan.latent_strength[-1] == 1.0 and backward.plan.latent_strength[0] == 0.0

    looped = tools.loop(caps, clip, context=4, bridge=8, **_size())
    frames, _ = run_recipe(tiny_ltx, looped, FAST)
    assert frames.shape[1] == 17 + looped.keep[1] - looped.keep[0]
    strength = looped.plan.latent_strength
    assert strength[0] == 1.0 and strength[-1] == 1.0 and strength[1:-1].min() < 1.0

    blended = tools.blend(caps, clip, str(media["other"]), preset="transition", num_frames=17, **_size())
    assert len(blended.plan.layers) == 2
    frames, _ = run_recipe(tiny_ltx, blended, FAST)
    assert frames.shape == (1, 17, 32, 32, 3)
    mix = tools.blend(caps, clip, str(media["other"]), preset="mix", num_frames=17, **_size())
    np.testing.assert_allclose(mix.plan.pixel_strength, 0.75)  # one half over another half

    remixed = tools.remix(caps, clip, strength=0.4, **_size())
    np.testing.assert_allclose(remixed.plan.latent_strength, 0.6)
    frames, _ = run_recipe(tiny_ltx, remixed, FAST)
    assert frames.shape == (1, 17, 32, 32, 3)

    upscaled = tools.upscale(caps, clip, width=64, height=64, strength=0.3)
    frames, _ = run_recipe(tiny_ltx, upscaled, FAST)
    assert frames.shape == (1, 17, 64, 64, 3)


def test_each_variation_is_exactly_its_seed_alone_and_they_differ(tiny_ltx):
    recipe = tools.text_to_video(tiny_ltx.caps, num_frames=9, prompt="rain", **_size())
    frames, result = run_recipe(tiny_ltx, recipe, SamplingSettings(steps=2, seed=5, variations=3))
    assert frames.shape == (3, 9, 32, 32, 3) and result.seeds == [5, 6, 7]
    single, _ = run_recipe(tiny_ltx, recipe, SamplingSettings(steps=2, seed=6))
    # variation 2 is exactly the video of a single run with its seed (a take made again from its
    # recipe, or on another machine, is the same picture)
    assert np.array_equal(frames[1], single[0])
    assert np.abs(frames[0].astype(int) - frames[1].astype(int)).max() > 5


def test_presets_load_and_shape_the_prompt(tmp_path):
    preset = tools.load_preset("cinematic")
    assert preset.prompt("a fox").startswith("cinematic shot, a fox")
    assert preset.settings(SamplingSettings()).guidance == 3.5
    assert preset.settings(SamplingSettings(guidance=2.0)).guidance == 2.0
    with pytest.raises(UserError, match="unknown preset 'nope'.*cinematic"):
        tools.load_preset("nope")
    bad = tmp_path / "bad.toml"
    bad.write_text('promt_prefix = "typo"\n')
    with pytest.raises(UserError, match="unknown settings promt_prefix"):
        tools.load_preset(str(bad))


def test_bad_inputs_are_clear_errors(tiny_ltx, media, tmp_path):
    caps = tiny_ltx.caps
    with pytest.raises(UserError, match="missing.png does not exist"):
        tools.image_to_video(caps, str(tmp_path / "missing.png"), num_frames=9, **_size())
    with pytest.raises(UserError, match="placed at frame 20, outside the 9 generated frames"):
        tools.image_to_video(caps, str(media["image"]), frame=20, num_frames=9, **_size())
    with pytest.raises(UserError, match="prompt span 5:30 is outside"):
        tools.storyboard(caps, num_frames=9, prompts=[tools.PromptSpan(5, 30, "x")], **_size())
    with pytest.raises(UserError, match="unknown blend preset"):
        tools.blend(caps, str(media["clip"]), str(media["other"]), preset="wipe", num_frames=9, **_size())


def test_cli_generate_storyboard_to_npy_and_mp4(tiny_ltx_dir, media, tmp_path, capsys):
    out = tmp_path / "board.npy"
    code = main(["generate", "a meadow", "--prompt-at", "0:5:sunrise", "--image", f"{media['image']}@4:0.8",
                 "--frames", "10", "--size", "32x32", "--steps", "2", "--seed", "3", "--model", str(tiny_ltx_dir),
                 "--device", "cpu", "-o", str(out)])
    assert code == 0
    frames = np.load(out)
    assert frames.shape == (9, 32, 32, 3) and frames.dtype == np.uint8
    assert "10 frames -> 9" in capsys.readouterr().err  # the user is told what was chosen
    assert (tmp_path / "board.latents.safetensors").is_file()

    out = tmp_path / "vars.npy"
    assert main(["generate", "snow", "--frames", "9", "--size", "32x32", "--steps", "2", "--variations", "2",
                 "--model", str(tiny_ltx_dir), "-o", str(out), "--quiet"]) == 0
    assert np.load(out).shape == (2, 9, 32, 32, 3)

    mp4 = tmp_path / "ext.mp4"
    assert main(["extend", str(media["clip"]), "more", "--frames", "8", "--context", "5", "--size", "32x32",
                 "--steps", "2", "--model", str(tiny_ltx_dir), "-o", str(mp4), "--quiet"]) == 0
    assert read_video(mp4).shape[0] > 17
    trimmed = tmp_path / "trimmed.npy"
    assert main(["extend", str(media["clip"]), "--range", "4:13", "--frames", "4", "--context", "4", "--size", "32x32",
                 "--steps", "2", "--model", str(tiny_ltx_dir), "-o", str(trimmed), "--quiet"]) == 0
    np.testing.assert_array_equal(np.load(trimmed)[:9], read_video(media["clip"])[4:13])
    for command in (["loop", str(media["clip"])], ["remix", str(media["clip"]), "--strength", "0.5"],
                    ["blend", str(media["clip"]), str(media["other"]), "--frames", "9"],
                    ["upscale", str(media["clip"])]):
        out = tmp_path / f"{command[0]}.npy"
        assert main([*command, "--size", "32x32", "--steps", "2", "--model", str(tiny_ltx_dir), "-o", str(out),
                     "--quiet"]) == 0, command
        assert np.load(out).ndim == 4


def test_cli_errors_are_one_line_exit_2(tiny_ltx_dir, media, tmp_path, capsys):
    def run(*args):
        code = main(list(args))
        return code, capsys.readouterr().err.strip().splitlines()[-1]

    common = ["--size", "32x32", "--model", str(tiny_ltx_dir), "-o", str(tmp_path / "x.npy")]
    code, err = run("generate", "x", "--image", str(tmp_path / "nope.png") + "@0", *common)
    assert code == 2 and "nope.png does not exist" in err
    code, err = run("generate", "x", "--frames", "9", "--image", f"{media['image']}@30", *common)
    assert code == 2 and "outside the 9 generated frames" in err
    code, err = run("generate", "x", "--preset", "nope", *common)
    assert code == 2 and "unknown preset 'nope'" in err
    code, err = run("generate", "x", "--image", "card.png", *common)
    assert code == 2 and "PATH@FRAME" in err
    code, err = run("generate", "x", "--size", "32x32", "--model", str(tiny_ltx_dir), "-o", str(tmp_path / "x.gif"))
    assert code == 2 and "must end in .mp4 or .npy" in err
    code, err = run("generate", "x", "--size", "32x32", "--model", str(tmp_path / "none"), "-o", str(tmp_path / "x.npy"))
    assert code == 2 and "no model named" in err
    code, err = run("extend", str(media["clip"]), "--range", "13-4", *common)
    assert code == 2 and "--range '13-4': write START:END" in err
    code, err = run("loop", str(media["clip"]), "--range", "4:40", *common)
    assert code == 2 and "clip.mp4 has 17 frames (0:17); the range 4:40 is not within them" in err


def test_extending_a_generated_clip_reuses_its_stored_latents(tiny_ltx, tiny_ltx_dir, tmp_path):
    from safetensors.torch import load_file

    clip = tmp_path / "made.mp4"
    assert main(["generate", "a kite", "--frames", "17", "--size", "32x32", "--steps", "2", "--seed", "5",
                 "--model", str(tiny_ltx_dir), "-o", str(clip), "--quiet"]) == 0
    stored = load_file(str(tmp_path / "made.latents.safetensors"))["latents"]
    assert stored.shape == (1, 8, 5, 8, 8)
    backend = tiny_ltx
    backend_name = backend.name
    assert backend_name == str(tiny_ltx_dir)
    recipe = tools.extend(tiny_ltx.caps, str(clip), context=7, new_frames=8, **_size())
    # the tail starts on a latent boundary of the clip: frames 8..16 = its latent frames 2 and 3 after frame 8
    layer = recipe.plan.layers[0]
    assert layer.pixel_source_frame[0] == 8
    result = tiny_ltx.generate(recipe.plan, FAST, decode=False)
    # held latent frames 1 and 2 are the clip's stored latent frames 3 and 4, not a re-encode of the lossy mp4
    assert torch_equal(result.latents[:, :, 1:3], stored[:, :, 3:5])
    # without the stored latents the pixels are encoded again, which gives other latents
    (tmp_path / "made.latents.safetensors").unlink()
    again = tiny_ltx.generate(recipe.plan, FAST, decode=False)
    assert not torch_equal(again.latents[:, :, 1:3], stored[:, :, 3:5])


def torch_equal(a, b):
    import torch

    return torch.equal(a.cpu(), b.cpu())


def test_preset_lora_is_loaded_for_the_job_and_removed_after(tiny_ltx, tmp_path):
    import diffusers
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    from tests.generate.tiny_models import tiny_ltx_components

    transformer = tiny_ltx_components()["transformer"]
    transformer.add_adapter(LoraConfig(r=4, lora_alpha=4, target_modules=["to_q", "to_k", "to_v", "to_out.0"],
                                       init_lora_weights=False))
    diffusers.LTXPipeline.save_lora_weights(tmp_path, transformer_lora_layers=get_peft_model_state_dict(transformer),
                                            safe_serialization=True)
    (tmp_path / "styled.toml").write_text('lora = "pytorch_lora_weights.safetensors"\nlora_weight = 1.0\n')
    (tmp_path / "off.toml").write_text('lora = "pytorch_lora_weights.safetensors"\nlora_weight = 0.0\n')
    recipe = tools.text_to_video(tiny_ltx.caps, num_frames=9, prompt="a garden", **_size())
    plain, _ = run_recipe(tiny_ltx, recipe, FAST)
    styled, _ = run_recipe(tiny_ltx, recipe, FAST, preset=tools.load_preset(str(tmp_path / "styled.toml")))
    off, _ = run_recipe(tiny_ltx, recipe, FAST, preset=tools.load_preset(str(tmp_path / "off.toml")))
    assert np.abs(styled.astype(int) - plain.astype(int)).max() > 2
    assert np.array_equal(off, plain)
    after, _ = run_recipe(tiny_ltx, recipe, FAST)
    assert np.array_equal(after, plain)  # the adapter left with its job
    (tmp_path / "bad.toml").write_text('lora = "missing.safetensors"\n')
    with pytest.raises(UserError, match="missing.safetensors does not exist"):
        run_recipe(tiny_ltx, recipe, FAST, preset=tools.load_preset(str(tmp_path / "bad.toml")))


def test_tools_work_on_a_clips_trimmed_range_of_its_file(tiny_ltx, media):
    """A clip trimmed to frames 4..12 of its 17-frame file: the tools hold and return those frames, not the file's."""
    caps = tiny_ltx.caps
    clip = str(media["clip"])
    original = read_video(clip)

    def held(recipe):  # the file frame held at each generated frame (-1: none)
        return recipe.plan.layers[0].pixel_source_frame.tolist()

    forward = tools.extend(caps, clip, context=4, new_frames=4, span=(4, 13), **_size())
    # the trim's tail (grown to the file's latent boundary at 8), not the file's
    assert held(forward)[:5] == [8, 9, 10, 11, 12] and max(held(forward)) == 12
    frames, _ = run_recipe(tiny_ltx, forward, FAST)
    np.testing.assert_array_equal(frames[0, :9], original[4:13])  # the output starts with the trimmed clip
    assert frames.shape[1] == 9 + forward.keep[1] - forward.keep[0]

    backward = tools.extend(caps, clip, direction="backward", context=4, new_frames=4, span=(4, 13), **_size())
    assert [f for f in held(backward) if f >= 0] == [4, 5, 6, 7]
    frames, _ = run_recipe(tiny_ltx, backward, FAST)
    np.testing.assert_array_equal(frames[0, -9:], original[4:13])

    looped = tools.loop(caps, clip, context=4, bridge=4, span=(4, 13), **_size())
    sources = [f for layer in looped.plan.layers for f in layer.pixel_source_frame.tolist() if f >= 0]
    assert min(sources) == 4 and max(sources) == 12
    assert looped.before == tuple(range(4, 13))

    remixed = tools.remix(caps, clip, strength=0.5, span=(4, 13), **_size())
    assert held(remixed) == list(range(4, 13))

    blended = tools.blend(caps, clip, str(media["other"]), num_frames=5, first_span=(8, 17), second_span=(2, 9),
                          **_size())
    firsts = sorted(layer.pixel_source_frame[0] for layer in blended.plan.layers)
    assert firsts == [2, 8]

    with pytest.raises(UserError, match=r"clip\.mp4 has 17 frames .*20:30"):
        tools.extend(caps, clip, span=(20, 30), **_size())

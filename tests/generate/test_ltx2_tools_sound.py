"""The AI tools on an LTX-2 clip with sound: its audio latents are stored beside it, extend and loop
continue the sound from them, and every tool's output carries sound (the clip's where its frames
are kept, the generated sound where frames are generated, cross-faded at the joins)."""

import numpy as np
import pytest
import torch

from engine.cli import main
from engine.generate import tools

pytestmark = pytest.mark.filterwarnings("ignore")

OPTIONS = ["--size", "32x32", "--steps", "1", "--device", "cpu", "--quiet"]


@pytest.fixture(scope="module")
def clip_with_sound(tmp_path_factory, tiny_ltx2_dir):
    """A 17-frame clip the tiny LTX-2 model made at 25 frames a second (one audio latent frame per frame)."""
    out = tmp_path_factory.mktemp("made") / "waves.mp4"
    assert main(["generate", "waves crash on a rocky shore", "--frames", "17", "--rate", "25", "--model",
                 str(tiny_ltx2_dir), "--seed", "3", *OPTIONS, "-o", str(out)]) == 0
    return out


def _stored(path):
    from safetensors import safe_open

    with safe_open(str(path.with_suffix(".latents.safetensors")), framework="pt") as f:
        return f.get_tensor("audio_latents"), f.metadata()


def _sound(path):
    import av

    with av.open(str(path)) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        return np.concatenate([frame.to_ndarray() for frame in container.decode(stream)], axis=1)


def _read(path, count):
    from engine.media.audio import AudioSource

    source = AudioSource(str(path), 16000, 2)
    try:
        return source.read(0, count)
    finally:
        source.close()


def test_the_audio_latents_are_stored_beside_the_clip_they_made(clip_with_sound, tiny_ltx2):
    from engine.generate.settings import SamplingSettings

    audio, metadata = _stored(clip_with_sound)
    assert audio.shape[0] == 1 and audio.shape[1] == 17  # 17 frames at 25 fps, 25 audio latent frames a second
    assert float(metadata["audio_latents_per_second"]) == 25.0
    # the same generation in memory: the stored latents are exactly the ones sampled
    recipe = tools.text_to_video(tiny_ltx2.caps, width=32, height=32, num_frames=17, rate=25,
                                 prompt="waves crash on a rocky shore")
    made = tiny_ltx2.generate(recipe.plan, SamplingSettings(steps=1, seed=3), decode=False)
    assert torch.equal(audio, made.audio_latents.float())


def test_extend_holds_the_clips_stored_sound_and_continues_it(clip_with_sound, tiny_ltx2, tmp_path):
    from engine.generate.settings import SamplingSettings

    stored, _ = _stored(clip_with_sound)
    recipe = tools.extend(tiny_ltx2.caps, str(clip_with_sound), context=8, new_frames=8, width=32, height=32,
                          prompt="more waves")
    plan = recipe.plan
    context = recipe.keep[0]
    # the clip's sound is held over its context frames, the new frames' sound is free
    assert plan.audio_strength[:context].tolist() == [1.0] * context
    assert not plan.audio_strength[context:].any()
    result = tiny_ltx2.generate(plan, SamplingSettings(steps=2, seed=1))
    first = 17 - context  # the clip's frame (= audio latent frame) the plan starts at
    # held from the stored latents exactly (re-encoding the AAC sound would not give these)
    assert torch.equal(result.audio_latents[0, :context].float(), stored[0, first:17])
    assert (result.audio_latents[0, context:] - stored[0, -1]).abs().amax() > 1e-3  # the rest is made anew

    out = tmp_path / "longer.mp4"
    assert main(["extend", str(clip_with_sound), "--context", "8", "--frames", "8", "--prompt", "more waves", "--model",
                 str(tiny_ltx2.name), "--seed", "1", *OPTIONS, "-o", str(out)]) == 0
    sound = _sound(out)
    assert sound is not None  # extend writes sound now
    seconds = sound.shape[1] / 16000
    assert abs(seconds - 25 / 25) < 0.1  # the clip's 17 frames and 8 new ones
    # the first part is the clip's own sound (the tiny vocoder makes a short one); both went through
    # AAC, so compare their shape past the encoder's first block
    ours, theirs = _read(out, 1024), _read(clip_with_sound, 1024)
    assert np.abs(theirs[:, 512:]).max() > 1e-3
    assert np.corrcoef(ours[0, 512:], theirs[0, 512:])[0, 1] > 0.9


def test_loop_holds_the_clips_sound_at_both_ends_of_the_bridge(clip_with_sound, tiny_ltx2):
    from engine.generate.settings import SamplingSettings

    stored, _ = _stored(clip_with_sound)
    recipe = tools.loop(tiny_ltx2.caps, str(clip_with_sound), context=4, bridge=8, width=32, height=32,
                        prompt="waves")
    plan = recipe.plan
    context = recipe.keep[0]
    total = plan.num_frames
    assert plan.audio_strength[:context].tolist() == [1.0] * context
    assert plan.audio_strength[total - context:].tolist() == [1.0] * context
    assert not plan.audio_strength[context:total - context].any()
    result = tiny_ltx2.generate(plan, SamplingSettings(steps=2, seed=2))
    # the tail of the clip before the bridge, its head after it: the seam is the clip's own sound
    assert torch.equal(result.audio_latents[0, :context].float(), stored[0, 17 - context:17])
    assert torch.equal(result.audio_latents[0, total - context:].float(), stored[0, :context])


def test_remix_holds_the_clips_sound_as_it_holds_its_pictures(clip_with_sound, tiny_ltx2):
    recipe = tools.remix(tiny_ltx2.caps, str(clip_with_sound), strength=0.7, width=32, height=32, prompt="a storm")
    assert np.allclose(recipe.plan.audio_strength, 0.3)
    assert np.allclose(recipe.plan.latent_strength, 0.3)


def test_blend_holds_both_clips_sound_under_their_curves(clip_with_sound, tiny_ltx2, tmp_path):
    from engine.generate.media_io import write_video

    silent = tmp_path / "silent.mp4"
    write_video(silent, np.zeros((17, 32, 32, 3), np.uint8), 25.0)
    recipe = tools.blend(tiny_ltx2.caps, str(clip_with_sound), str(silent), num_frames=17, width=32, height=32)
    plan = recipe.plan
    # the first clip fades out under the transition curve, in sound as in pictures; the second is silent
    assert len(plan.audio_layers) == 1 and plan.audio_strength[0] == pytest.approx(1.0)
    assert plan.audio_strength[-1] == pytest.approx(0.0, abs=1e-6)
    assert np.all(np.diff(plan.audio_strength) <= 1e-6)


@pytest.mark.parametrize("tool", ["retake", "loop", "fill-gap"])
def test_tools_that_keep_the_clips_frames_write_the_clips_sound_and_the_generated_sound(
        clip_with_sound, tiny_ltx2, tmp_path, tool):
    out = tmp_path / f"{tool}.mp4"
    args = {"retake": ["retake", str(clip_with_sound), "6:12", "--prompt", "a storm", "--ramp", "0"],
            "loop": ["loop", str(clip_with_sound), "--context", "4", "--frames", "8", "--prompt", "a storm"],
            "fill-gap": ["fill-gap", str(clip_with_sound), str(clip_with_sound), "--frames", "4", "--context", "4",
                         "--prompt", "a storm"]}[tool]
    assert main([*args, "--model", str(tiny_ltx2.name), "--seed", "4", *OPTIONS, "-o", str(out)]) == 0
    sound = _sound(out)
    assert sound is not None
    frames = {"retake": 17, "loop": 17 + 8, "fill-gap": 4}[tool]
    assert abs(sound.shape[1] - frames * 640) <= 2048  # as long as the pictures (AAC pads to whole blocks)
    if tool != "fill-gap":  # the clip's own sound where its frames are kept (the tiny vocoder's is short)
        assert np.abs(_read(out, 1024)).max() > 1e-3


def test_output_sound_is_the_original_where_kept_and_generated_where_made_crossfaded(tmp_path):
    """Exact numbers, before AAC: a retake-shaped recipe (4 kept frames, 3 generated, 4 kept)."""
    from engine.generate.media_io import write_video
    from engine.generate.sound_output import CROSSFADE_S, output_sound

    rate = 16000
    t = np.arange(rate) / rate
    tone = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 880 * t)]).astype(np.float32) * 0.5
    original = tmp_path / "clip.mp4"
    write_video(original, np.zeros((25, 32, 32, 3), np.uint8), 25.0, audio=tone, sample_rate=rate)
    recipe = tools.text_to_video(_caps(), width=32, height=32, num_frames=9, rate=25)
    recipe = tools.Recipe(plan=recipe.plan, tool="retake", original=str(original), before=(0, 1, 2, 3),
                          keep=(2, 5), after=(7, 8, 9, 10))
    generated = np.full((2, 9 * rate // 25), 0.25, np.float32)
    sound = output_sound(recipe, generated, rate, 11)
    per_frame = rate // 25
    half = int(round(CROSSFADE_S * rate / 2))
    assert sound.shape == (2, 11 * per_frame)
    inside = sound[:, 4 * per_frame + half:7 * per_frame - half]
    assert np.allclose(inside, 0.25)  # the generated sound where the generated frames are
    from engine.media.audio import AudioSource

    source = AudioSource(str(original), rate, 2)
    clip_sound = source.read(0, 25 * per_frame)
    source.close()
    # before the retake: the clip's own sound from its start; after it: from its frame 7 on
    assert np.allclose(sound[:, :4 * per_frame - half], clip_sound[:, :4 * per_frame - half], atol=1e-6)
    after = sound[:, 7 * per_frame + half:]
    assert np.allclose(after, clip_sound[:, 7 * per_frame + half:11 * per_frame], atol=1e-6)
    # at the join the two cross-fade: halfway, half of each
    join = 4 * per_frame
    assert np.allclose(sound[:, join], 0.5 * clip_sound[:, join] + 0.5 * 0.25, atol=0.02)


def _caps():
    from engine.generate.caps import caps_for_layout

    return caps_for_layout((2, 2))

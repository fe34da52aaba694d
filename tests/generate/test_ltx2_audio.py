"""The plan's audio stream: sound on the storyboard is held, the picture attends to it, and the
model makes the sound elsewhere."""

import numpy as np
import pytest
import torch

from engine.errors import UserError
from engine.generate import requests as rq
from engine.generate import tools
from engine.generate.settings import SamplingSettings
from tests.generate.media import write_tone

pytestmark = pytest.mark.filterwarnings("ignore")

SETTINGS = SamplingSettings(steps=2, guidance=3.0, seed=3, max_sequence_length=16)


@pytest.fixture(scope="module")
def tone(tmp_path_factory):
    return str(write_tone(tmp_path_factory.mktemp("sound") / "tone.wav", 1.0))


def _recipe(caps, sounds, prompts=(), num_frames=9):
    return tools.storyboard(caps, width=32, height=32, num_frames=num_frames, rate=25, prompt="a beach",
                            cards=[], prompts=list(prompts), sounds=sounds)


def test_the_plan_holds_audio_clips_by_their_strength_and_prompts_each_audio_frame(tiny_ltx2, tone):
    recipe = _recipe(tiny_ltx2.caps, [tools.Card(tone, 4, 0.6)],
                     prompts=[tools.PromptSpan(0, 4, "calm"), tools.PromptSpan(4, 9, "storm")])
    plan = recipe.plan
    # 25 audio latent frames a second at 25 frames a second: one audio frame per picture frame
    assert plan.num_audio_frames == 9
    assert np.allclose(plan.audio_strength, [0, 0, 0, 0, 0.6, 0.6, 0.6, 0.6, 0.6])
    assert plan.audio_prompt.tolist() == plan.pixel_prompt.tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 1]
    (layer,) = plan.audio_layers
    assert plan.sources[layer.source].kind == "audio"
    assert np.isnan(layer.audio_source_time[:4]).all()
    assert np.allclose(layer.audio_source_time[4:], np.arange(5) / 25)  # the sound's own start at frame 4
    assert np.allclose(plan.summary()["audio_strength"], [0, 0, 0, 0, 0.6, 0.6, 0.6, 0.6, 0.6])


def test_sound_held_at_strength_1_decodes_to_the_vae_round_trip_of_the_source(tiny_ltx2, tone):
    from engine.generate.backends.ltx2_audio import read_sound

    plan = _recipe(tiny_ltx2.caps, [tools.Card(tone, 0, 1.0)]).plan
    result = tiny_ltx2.generate(plan, SETTINGS)
    source = tiny_ltx2.encode_audio(read_sound(tone, 0.0, 9 / 25, 16000))
    assert torch.equal(result.audio_latents[0], source[0, :9])  # held latents never moved
    round_trip = tiny_ltx2.decode_audio(source[:, :9])
    assert np.abs(result.audio - round_trip).max() <= 1e-6
    # the video was still generated: it is not the (absent) held picture
    assert result.frames.std() > 0.01


def test_held_sound_steers_the_picture_and_the_rest_of_the_sound_is_generated(tiny_ltx2, tmp_path, tone):
    from engine.generate.backends.ltx2_audio import read_sound

    other = str(write_tone(tmp_path / "other.wav", 1.0, frequency=1250.0))
    first = tiny_ltx2.generate(_recipe(tiny_ltx2.caps, [tools.Card(tone, 0, 1.0)], num_frames=9).plan, SETTINGS)
    second = tiny_ltx2.generate(_recipe(tiny_ltx2.caps, [tools.Card(other, 0, 1.0)], num_frames=9).plan, SETTINGS)
    assert np.abs(first.frames - second.frames).max() > 1e-3  # same seed and prompt: the sound made the difference

    short = str(write_tone(tmp_path / "short.wav", 4 / 25))  # four audio frames of sound, then nothing placed
    plan = _recipe(tiny_ltx2.caps, [tools.Card(short, 0, 1.0)]).plan
    assert plan.audio_strength.tolist() == [1, 1, 1, 1, 0, 0, 0, 0, 0]
    result = tiny_ltx2.generate(plan, SETTINGS)
    source = tiny_ltx2.encode_audio(read_sound(short, 0.0, 4 / 25, 16000))
    assert torch.equal(result.audio_latents[0, :4], source[0, :4])
    assert (result.audio_latents[0, 4:] - source[0, -1]).abs().amax() > 1e-2


def test_a_silent_model_refuses_a_sound_with_what_to_use(tiny_ltx, tone, tmp_path):
    request = rq.Generate(output=str(tmp_path / "o.mp4"), prompt="a beach", frames=9,
                          audios=(rq.Placement(path=tone, frame=0),))
    with pytest.raises(UserError, match="makes no sound.*LTX-2"):
        request.recipe(tiny_ltx.caps)


def test_kinora_plan_shows_the_audio_stream_for_an_ltx2_model(tiny_ltx2_dir, tone, tmp_path, capsys):
    """Sound on an audio track of a project: `kinora plan --model LTX2` says how each audio latent
    frame is held and prompted, before any model is loaded."""
    import json

    from engine.cli import main
    from engine.model import edits
    from engine.model.curves import Curve
    from engine.model.items import Clip, MediaRef, TextBlock
    from engine.model.project import new_project
    from engine.model.serialize import save_project
    from engine.time import FrameRange

    project = new_project(32, 32, 25)
    edits.add_media(project, MediaRef("t", tone, "audio", has_audio=True))
    edits.insert(project, project.timeline.tracks_of("audio")[0].id,
                 Clip("c", 2, "t", FrameRange(0, 5), curve=Curve.flat(0.5)))
    edits.insert(project, project.timeline.tracks_of("prompt")[0].id, TextBlock("p", 0, 9, "a bell rings"))
    path = tmp_path / "sound.kinora"
    save_project(project, path)
    assert main(["plan", str(path), "--model", str(tiny_ltx2_dir), "--range", "0:9"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["audio_latents_per_second"] == 25.0
    assert np.allclose(printed["audio_strength"], [0, 0, 0.5, 0.5, 0.5, 0.5, 0.5, 0, 0])
    assert printed["prompts"][0]["text"] == "a bell rings" and set(printed["audio_prompt"]) == {0}

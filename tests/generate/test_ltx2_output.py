"""An LTX-2 generation is written with its sound: the MP4 carries the generated audio as AAC."""

import numpy as np
import pytest

from engine.cli import main

pytestmark = pytest.mark.filterwarnings("ignore")


def _decoded_audio(path):
    import av

    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        codec, rate, channels = stream.codec_context.name, stream.codec_context.sample_rate, stream.codec_context.channels
        samples = np.concatenate([frame.to_ndarray() for frame in container.decode(stream)], axis=1)
    return codec, rate, channels, samples


def test_generate_writes_the_sound_into_the_mp4_as_aac(tmp_path, tiny_ltx2_dir, tiny_ltx2):
    from engine.generate.compiler import compile
    from engine.generate.settings import SamplingSettings
    from engine.model.project import new_project
    from engine.time import FrameRange

    out = tmp_path / "robot.mp4"
    assert main(["generate", "a robot dancing", "--frames", "9", "--model", str(tiny_ltx2_dir), "--size", "32x32",
                 "--steps", "2", "--seed", "5", "--device", "cpu", "--quiet", "-o", str(out)]) == 0
    codec, rate, channels, samples = _decoded_audio(out)
    assert (codec, rate, channels) == ("aac", 16000, 2)
    # the same generation in memory: the file holds that sound (AAC is lossy and adds priming samples)
    plan = compile(new_project(32, 32, 24), FrameRange(0, 9), tiny_ltx2.caps, prompt="a robot dancing")
    made = tiny_ltx2.generate(plan, SamplingSettings(steps=2, seed=5)).audio[0]
    assert abs(samples.shape[1] - made.shape[1]) <= 2048
    assert np.sqrt((samples ** 2).mean()) > 0.2 * np.sqrt((made ** 2).mean()) > 0


def test_generating_a_timeline_range_holds_its_audio_tracks_and_writes_the_sound(tmp_path, tiny_ltx2_dir):
    """The editor's Timeline mode (a Storyboard request, here through `kinora generate --project`):
    the sound on the audio track is held, and the file carries the sound the model made around it."""
    from engine.model import edits
    from engine.model.items import Clip, MediaRef, TextBlock
    from engine.model.project import new_project
    from engine.model.serialize import save_project
    from engine.time import FrameRange
    from tests.generate.media import write_tone

    tone = write_tone(tmp_path / "bell.wav", 0.2)
    project = new_project(32, 32, 25)
    edits.add_media(project, MediaRef("t", str(tone), "audio", has_audio=True))
    edits.insert(project, project.timeline.tracks_of("audio")[0].id, Clip("c", 0, "t", FrameRange(0, 5)))
    edits.insert(project, project.timeline.tracks_of("prompt")[0].id, TextBlock("p", 0, 9, "a bell rings"))
    path = tmp_path / "bell.kinora"
    save_project(project, path)
    out = tmp_path / "bell.mp4"
    assert main(["generate", "--project", str(path), "--range", "0:9", "--model", str(tiny_ltx2_dir), "--size",
                 "32x32", "--steps", "1", "--seed", "2", "--device", "cpu", "--quiet", "-o", str(out)]) == 0
    codec, rate, channels, samples = _decoded_audio(out)
    assert (codec, rate, channels) == ("aac", 16000, 2) and np.abs(samples).max() > 0


def test_generate_audio_option_places_the_sound(tmp_path, tiny_ltx2_dir, capsys):
    """`--audio PATH@FRAME[:STRENGTH]` reaches the plan: placed outside the generated frames it is
    refused with the frames there are; placed inside, the MP4 comes back with sound."""
    from tests.generate.media import write_tone

    tone = write_tone(tmp_path / "drum.wav", 0.2)
    options = ["--frames", "9", "--rate", "25", "--model", str(tiny_ltx2_dir), "--size", "32x32", "--steps", "1",
               "--seed", "4", "--device", "cpu", "--quiet"]
    assert main(["generate", "a drum", "--audio", f"{tone}@12", *options, "-o", str(tmp_path / "no.mp4")]) != 0
    assert "drum.wav is placed at frame 12, outside the 9 generated frames" in capsys.readouterr().err
    out = tmp_path / "drum.mp4"
    assert main(["generate", "a drum", "--audio", f"{tone}@2:0.8", *options, "-o", str(out)]) == 0
    codec, _rate, _channels, samples = _decoded_audio(out)
    assert codec == "aac" and np.abs(samples).max() > 0

"""Kinora's LTX sampling equals diffusers' reference pipelines for the same components, seed and steps."""

import numpy as np
import pytest
import torch

from engine.generate.compiler import compile
from engine.generate.settings import SamplingSettings
from engine.model.items import MediaRef, Still
from engine.model.project import Track, new_project
from engine.time import FrameRange

pytestmark = pytest.mark.filterwarnings("ignore")


def _text_project():
    return new_project(32, 32, 25)


def test_text_to_video_equals_ltx_pipeline(tiny_ltx, tiny_ltx_dir):
    from diffusers import LTXPipeline

    plan = compile(_text_project(), FrameRange(0, 9), tiny_ltx.caps, prompt="a red ball bouncing")
    ours = tiny_ltx.generate(plan, SamplingSettings(steps=3, guidance=3.0, seed=7)).frames
    pipe = LTXPipeline.from_pretrained(tiny_ltx_dir, local_files_only=True)
    reference = pipe("a red ball bouncing", height=32, width=32, num_frames=9, num_inference_steps=3,
                     generator=torch.Generator().manual_seed(7), output_type="np").frames
    assert ours.shape == reference.shape == (1, 9, 32, 32, 3)
    assert np.abs(ours - reference).max() <= 1e-4
    # a different seed really changes the video: the comparison above can fail
    other = tiny_ltx.generate(plan, SamplingSettings(steps=3, guidance=3.0, seed=8)).frames
    assert np.abs(other - reference).max() > 1e-3


def test_image_at_first_frame_equals_ltx_image_to_video_pipeline(tiny_ltx, tiny_ltx_dir, tmp_path):
    import cv2
    from diffusers import LTXImageToVideoPipeline
    from PIL import Image

    rng = np.random.default_rng(3)
    picture = (rng.random((32, 32, 3)) * 255).astype(np.uint8)
    path = tmp_path / "first.png"
    cv2.imwrite(str(path), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    project = _text_project()
    project.media = {"img": MediaRef("img", str(path), "image")}
    video_track = project.timeline.tracks_of("video")[0]
    project.timeline.tracks[project.timeline.track_index(video_track.id)] = Track(
        video_track.id, "video", "V1", (Still("s", 0, 1, "img"),))
    plan = compile(project, FrameRange(0, 9), tiny_ltx.caps, prompt="a cat", negative="blurry")
    ours = tiny_ltx.generate(plan, SamplingSettings(steps=3, guidance=3.0, seed=11)).frames

    pipe = LTXImageToVideoPipeline.from_pretrained(tiny_ltx_dir, local_files_only=True)
    reference = pipe(image=Image.fromarray(picture), prompt="a cat", negative_prompt="blurry", height=32, width=32,
                     num_frames=9, num_inference_steps=3, generator=torch.Generator().manual_seed(11),
                     output_type="np").frames
    assert np.abs(ours - reference).max() <= 1e-4

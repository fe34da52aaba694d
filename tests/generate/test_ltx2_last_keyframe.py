"""A still on the very last frame is a keyframe token, as LTX2ConditionPipeline makes a last-frame
condition (appended tokens at the keyframe's own time), not a held latent frame."""

import numpy as np
import pytest
import torch

from engine.generate.compiler import compile
from engine.generate.settings import SamplingSettings
from engine.model.items import MediaRef, Still
from engine.model.project import Track, new_project
from engine.time import FrameRange
from tests.generate.test_ltx2_conformance import PLAIN_TERMS, _reference_call

pytestmark = pytest.mark.filterwarnings("ignore")


def _stills(tmp_path, frames, seed=5):
    import cv2

    rng = np.random.default_rng(seed)
    pictures, media, items = [], {}, []
    for i, frame in enumerate(frames):
        picture = (rng.random((32, 32, 3)) * 255).astype(np.uint8)
        path = tmp_path / f"still{i}.png"
        cv2.imwrite(str(path), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
        pictures.append(picture)
        media[f"img{i}"] = MediaRef(f"img{i}", str(path), "image")
        items.append(Still(f"s{i}", frame, 1, f"img{i}"))
    project = new_project(32, 32, 25)
    project.media = media
    video_track = project.timeline.tracks_of("video")[0]
    project.timeline.tracks[project.timeline.track_index(video_track.id)] = Track(
        video_track.id, "video", "V1", tuple(items))
    return project, pictures


def test_a_still_on_the_last_frame_is_a_keyframe_token_not_a_held_latent_frame(tiny_ltx2, tmp_path):
    project, _ = _stills(tmp_path, (0, 8))
    plan = compile(project, FrameRange(0, 9), tiny_ltx2.caps, prompt="a cat")
    assert [k.pixel_frame for k in plan.keyframes] == [8]
    assert plan.latent_strength.tolist() == [1, 0, 0, 0, 0]  # the last latent frame is free
    assert plan.pixel_strength[8] == 1.0  # and drawn where the still is
    # a still on the frame before the last one on a latent boundary is still held as before
    project, _ = _stills(tmp_path, (0, 6))
    assert not compile(project, FrameRange(0, 9), tiny_ltx2.caps, prompt="a cat").keyframes


def test_the_last_frame_keyframe_equals_ltx2_condition_pipeline(tiny_ltx2, tiny_ltx2_dir, tmp_path):
    """The reference: LTX2ConditionPipeline with the still as its last-latent-index condition (appended
    keyframe tokens), at the last pixel frame. The pipeline names a keyframe's time by latent index
    (the first pixel frame of that latent frame); its keyframe coordinates are given the last pixel
    frame instead, which is the only thing changed."""
    from diffusers import LTX2ConditionPipeline
    from diffusers.pipelines.ltx2 import LTX2VideoCondition
    from PIL import Image

    class LastFramePipeline(LTX2ConditionPipeline):
        def _prepare_keyframe_coords(self, *args, pixel_frame_idx, **kwargs):
            return super()._prepare_keyframe_coords(*args, pixel_frame_idx=8, **kwargs)

    project, pictures = _stills(tmp_path, (0, 8))
    plan = compile(project, FrameRange(0, 9), tiny_ltx2.caps, prompt="a cat", negative="blurry")
    settings = SamplingSettings(steps=3, guidance=3.0, seed=11, max_sequence_length=16, guidance_terms=PLAIN_TERMS)
    # the sampling and the decode, before the keyframe fit (the pipeline has none; test_keyframe_fit)
    ours = tiny_ltx2.generate(plan, settings, decode=False)
    ours.frames, ours.audio = tiny_ltx2.decode(ours.latents, settings), tiny_ltx2.decode_audio(ours.audio_latents)
    pipe = LastFramePipeline.from_pretrained(tiny_ltx2_dir, local_files_only=True)
    conditions = [LTX2VideoCondition(frames=Image.fromarray(p), index=i, strength=1.0)
                  for p, i in zip(pictures, (0, -1), strict=True)]
    reference = pipe(conditions=conditions, prompt="a cat", negative_prompt="blurry", **_reference_call(3.0, 11, 3))
    video = reference.frames.permute(0, 1, 3, 4, 2).numpy()
    assert np.abs(ours.frames - video).max() <= 1e-4
    assert np.abs(ours.audio - reference.audio.numpy()).max() <= 1e-4
    # the unchanged pipeline places it a frame earlier (its last latent frame starts at frame 7): a real difference the comparison can see
    plain = LTX2ConditionPipeline.from_pretrained(tiny_ltx2_dir, local_files_only=True)
    earlier = plain(conditions=conditions, prompt="a cat", negative_prompt="blurry", **_reference_call(3.0, 11, 3))
    assert np.abs(earlier.frames.permute(0, 1, 3, 4, 2).numpy() - video).max() > 1e-4
    assert torch.is_tensor(reference.audio)

"""Kinora's LTX-2 sampling equals diffusers' LTX-2 pipelines (video and sound) for the same
components, seed, steps and guidance."""

import numpy as np
import pytest
import torch

from engine.generate.compiler import compile
from engine.generate.settings import SamplingSettings
from engine.model.items import MediaRef, Still
from engine.model.project import Track, new_project
from engine.time import FrameRange

pytestmark = pytest.mark.filterwarnings("ignore")

# LTX2Pipeline's own guidance with STG, modality guidance and rescale off: plain CFG per stream
PLAIN_GUIDANCE = {"stg_scale": 0.0, "modality_scale": 1.0, "guidance_rescale": 0.0, "audio_stg_scale": 0.0,
                  "audio_modality_scale": 1.0, "audio_guidance_rescale": 0.0,
                  "spatio_temporal_guidance_blocks": None}
# the same in Kinora's settings
PLAIN_TERMS = (("stg", 0.0), ("modality", 1.0), ("rescale", 0.0), ("audio_stg", 0.0), ("audio_modality", 1.0),
               ("audio_rescale", 0.0))


def _reference_call(guidance: float, seed: int, steps: int):
    return dict(height=32, width=32, num_frames=9, frame_rate=25.0, num_inference_steps=steps,
                guidance_scale=guidance, audio_guidance_scale=guidance, max_sequence_length=16, output_type="pt",
                generator=torch.Generator().manual_seed(seed), **PLAIN_GUIDANCE)


@pytest.mark.parametrize("guidance", [1.0, 3.0])
def test_text_to_video_with_sound_equals_ltx2_pipeline(tiny_ltx2, tiny_ltx2_dir, guidance):
    from diffusers import LTX2Pipeline

    plan = compile(new_project(32, 32, 25), FrameRange(0, 9), tiny_ltx2.caps, prompt="a robot dancing",
                   negative="blurry")
    settings = SamplingSettings(steps=3, guidance=guidance, seed=7, max_sequence_length=16, guidance_terms=PLAIN_TERMS)
    ours = tiny_ltx2.generate(plan, settings)
    pipe = LTX2Pipeline.from_pretrained(tiny_ltx2_dir, local_files_only=True)
    reference = pipe("a robot dancing", negative_prompt="blurry", **_reference_call(guidance, 7, 3))
    video = reference.frames.permute(0, 1, 3, 4, 2).numpy()
    assert ours.frames.shape == video.shape == (1, 9, 32, 32, 3)
    assert np.abs(ours.frames - video).max() <= 1e-4
    assert ours.audio.shape == tuple(reference.audio.shape) and ours.audio.shape[1] == 2
    assert np.abs(ours.audio - reference.audio.numpy()).max() <= 1e-4
    # another seed really changes both: the comparisons above can fail
    other = tiny_ltx2.generate(plan, SamplingSettings(steps=3, guidance=guidance, seed=8, max_sequence_length=16,
                                                      guidance_terms=PLAIN_TERMS))
    assert np.abs(other.frames - video).max() > 1e-3
    assert np.abs(other.audio - reference.audio.numpy()).max() > 1e-4


def test_keyframes_at_first_middle_and_last_place_equal_ltx2_condition_pipeline(tiny_ltx2, tiny_ltx2_dir,
                                                                                  tmp_path):
    """Pictures at pixel frames 0, 3 and 7 of 9: the first holds latent frame 0, the others are keyframe
    tokens at their exact frames (LTX2ConditionPipeline's latent indices 0, 2 and -1 put them there)."""
    import cv2
    from diffusers import LTX2ConditionPipeline
    from diffusers.pipelines.ltx2 import LTX2VideoCondition
    from PIL import Image

    rng = np.random.default_rng(3)
    pictures, media, items = [], {}, []
    for i, frame in enumerate((0, 3, 7)):
        picture = (rng.random((32, 32, 3)) * 255).astype(np.uint8)
        path = tmp_path / f"key{i}.png"
        cv2.imwrite(str(path), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
        pictures.append(picture)
        media[f"img{i}"] = MediaRef(f"img{i}", str(path), "image")
        items.append(Still(f"s{i}", frame, 1, f"img{i}"))
    project = new_project(32, 32, 25)
    project.media = media
    video_track = project.timeline.tracks_of("video")[0]
    project.timeline.tracks[project.timeline.track_index(video_track.id)] = Track(
        video_track.id, "video", "V1", tuple(items))
    plan = compile(project, FrameRange(0, 9), tiny_ltx2.caps, prompt="a cat", negative="blurry")
    assert [k.pixel_frame for k in plan.keyframes] == [3, 7]
    settings = SamplingSettings(steps=3, guidance=3.0, seed=11, max_sequence_length=16, guidance_terms=PLAIN_TERMS)
    # the sampling and the decode, before the keyframe fit (the pipeline has none; test_keyframe_fit)
    ours = tiny_ltx2.generate(plan, settings, decode=False)
    ours.frames, ours.audio = tiny_ltx2.decode(ours.latents, settings), tiny_ltx2.decode_audio(ours.audio_latents)

    pipe = LTX2ConditionPipeline.from_pretrained(tiny_ltx2_dir, local_files_only=True)
    conditions = [LTX2VideoCondition(frames=Image.fromarray(p), index=index, strength=1.0)
                  for p, index in zip(pictures, (0, 2, -1), strict=True)]
    reference = pipe(conditions=conditions, prompt="a cat", negative_prompt="blurry", **_reference_call(3.0, 11, 3))
    video = reference.frames.permute(0, 1, 3, 4, 2).numpy()
    assert ours.frames.shape == video.shape
    assert np.abs(ours.frames - video).max() <= 1e-4
    assert np.abs(ours.audio - reference.audio.numpy()).max() <= 1e-4


def test_guidance_as_ltx2_ships_it_equals_ltx2_pipeline_defaults(tiny_ltx2, tiny_ltx2_dir):
    """CFG 3 (audio 7), STG 1 on the last block, modality guidance 3 and rescale 0.7 on both streams:
    the pipeline's defaults are Kinora's defaults for LTX-2, through Kinora's sampler."""
    from diffusers import LTX2Pipeline

    plan = compile(new_project(32, 32, 25), FrameRange(0, 9), tiny_ltx2.caps, prompt="a robot dancing",
                   negative="blurry")
    ours = tiny_ltx2.generate(plan, SamplingSettings(steps=3, seed=7, max_sequence_length=16))
    pipe = LTX2Pipeline.from_pretrained(tiny_ltx2_dir, local_files_only=True)
    reference = pipe("a robot dancing", negative_prompt="blurry", height=32, width=32, num_frames=9, frame_rate=25.0,
                     num_inference_steps=3, max_sequence_length=16, output_type="pt",
                     spatio_temporal_guidance_blocks=[1], generator=torch.Generator().manual_seed(7))
    video = reference.frames.permute(0, 1, 3, 4, 2).numpy()
    assert np.abs(ours.frames - video).max() <= 1e-4
    assert np.abs(ours.audio - reference.audio.numpy()).max() <= 1e-4
    plain = tiny_ltx2.generate(plan, SamplingSettings(steps=3, seed=7, max_sequence_length=16,
                                                      guidance_terms=PLAIN_TERMS))
    assert np.abs(plain.frames - video).max() > 1e-3  # the extra terms really act

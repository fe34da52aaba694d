"""Projects for tests, built through the real edits."""

from __future__ import annotations

from engine.model import edits
from engine.model.curves import Curve, Keyframe
from engine.model.items import Clip, MediaRef, Still, TextBlock, new_id
from engine.model.project import Project, new_project
from engine.time import FrameRange, FrameRate


def rich_project(rate: FrameRate | int | str = 24, root: str = "/media") -> Project:
    """Every kind of track and item, curves, a generated clip, markers and unknown fields."""
    from engine.model.items import Marker, frozen_mapping

    project = new_project(1920, 1080, rate)
    video = MediaRef(new_id(), f"{root}/shot one.mp4", "video", num_frames=300, rate=FrameRate.parse(30),
                     width=1920, height=1080, has_audio=True, content_hash="ab" * 16)
    image = MediaRef(new_id(), f"{root}/stills/card.png", "image", width=800, height=600)
    sound = MediaRef(new_id(), f"{root}/music.wav", "audio", num_frames=48000 * 20, rate=FrameRate.parse(48000))
    for ref in (video, image, sound):
        edits.add_media(project, ref)
    prompt = project.timeline.tracks_of("prompt")[0].id
    v1 = project.timeline.tracks_of("video")[0].id
    audio = project.timeline.tracks_of("audio")[0].id
    edits.add_track(project, "video", "V2")
    v2 = project.timeline.tracks_of("video")[0].id
    edits.insert(project, v1, Clip(new_id(), 0, video.id, FrameRange(10, 110), gain_db=-3.0, name="opening"))
    edits.insert(project, v1, Still(new_id(), 130, 48, image.id,
                                    curve=Curve((Keyframe(0, 0.0), Keyframe(12, 1.0, "smooth")))))
    edits.insert(project, v2, Clip(new_id(), 90, video.id, FrameRange(0, 60),
                                   curve=Curve((Keyframe(0, 0.0, "linear"), Keyframe(20, 1.0, "hold"), Keyframe(40, 0.5))),
                                   generation=frozen_mapping({"model": "toyworld", "seed": 42,
                                                              "prompts": [{"text": "a red circle", "frames": [0, 60]}]}),
                                   extra=frozen_mapping({"future_field": {"nested": [1, 2, 3]}})))
    edits.insert(project, prompt, TextBlock(new_id(), 0, 90, "a calm sea at dawn", negative="blurry"))
    edits.insert(project, prompt, TextBlock(new_id(), 90, 88, "the sea turns to glass"))
    edits.insert(project, audio, Clip(new_id(), 0, sound.id, FrameRange(0, 178)))
    edits.add_marker(project, Marker(FrameRange(24, 25), "beat", "red", "cut here"))
    edits.add_marker(project, Marker(FrameRange(100, 130), "fix colour", "blue"))
    return project

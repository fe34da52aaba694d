"""Kinora's AI tools as plan recipes.

Every tool lays its inputs out on a small timeline (the same model the editor edits) and
compiles it, so text-to-video, image-to-video, storyboard, extend, loop, blend, remix and
upscale are all one mechanism: which frames are held where, how strongly, under which prompt.
A Recipe also says how to assemble the final video from the generated frames (an extension is
the original followed by the new frames, for instance).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType

import numpy as np

from engine.errors import UserError
from engine.generate.caps import MAX_PLAN_FRAMES, ModelCaps
from engine.generate.compiler import compile
from engine.generate.media_io import IMAGE_SUFFIXES, probe_video
from engine.generate.plan import GenerationPlan
from engine.generate.presets import PRESETS_DIR, Preset, load_preset, preset_names  # noqa: F401 (re-exported)
from engine.generate.settings import Size
from engine.model.curves import Curve, Keyframe
from engine.model.items import Clip, MediaRef, Still, TextBlock, new_id
from engine.model.project import Project, ProjectSettings, Timeline, Track
from engine.time import FrameRange, FrameRate


@dataclass(frozen=True, slots=True)
class Card:
    """A picture placed on the generation's timeline: an image or a video starting at `frame`."""

    path: str
    frame: int = 0
    strength: float = 1.0
    curve: Curve | None = None  # item-local influence; overrides `strength`
    source_start: int = 0  # first frame of a video to use
    length: int | None = None  # frames of a video to use (default: all that fit)
    fit: str = "fill"  # how a picture of another shape is framed (engine.generate.media_io.FIT_MODES)


@dataclass(frozen=True, slots=True)
class PromptSpan:
    start: int
    stop: int
    text: str
    negative: str = ""


@dataclass(frozen=True, slots=True)
class Recipe:
    """A compiled plan and how to turn its generated frames into the tool's output.

    The output is the frames `before` of `original` (file frame numbers), then generated
    frames [keep_start, keep_stop), then the frames `after` of `original`.
    """

    plan: GenerationPlan
    tool: str
    original: str | None = None
    before: tuple[int, ...] = ()
    keep: tuple[int, int] | None = None
    after: tuple[int, ...] = ()
    notes: tuple[str, ...] = field(default=())
    latent_upsample: bool = False  # encode the sources at half size and double them with the latent upsampler

    @property
    def is_plain(self) -> bool:
        """Whether the output is exactly the generated frames (then their latents can be reused)."""
        return self.keep is None and not self.before and not self.after


def storyboard(caps: ModelCaps, *, width: int, height: int, num_frames: int, rate: FrameRate | int = 24,
               prompt: str = "", negative: str = "", cards: list[Card] = (), prompts: list[PromptSpan] = (),
               tool: str = "storyboard", sounds: list[Card] = ()) -> Recipe:
    """The general recipe: cards (images, clips) at their frames and prompts over their spans.
    Each card is placed on its own track, later cards over earlier ones; so is each sound, on
    audio tracks (held by models that make sound)."""
    rate = FrameRate.parse(rate)
    media: dict[str, MediaRef] = {}
    video_tracks: list[Track] = []
    for card in cards:
        item, ref = _card_item(card, rate, num_frames)
        media[ref.id] = ref
        video_tracks.insert(0, Track(new_id(), "video", f"V{len(video_tracks) + 1}", (item,)))
    blocks = []
    for span in prompts:
        if not (0 <= span.start < span.stop <= num_frames):
            raise UserError(f"prompt span {span.start}:{span.stop} is outside the {num_frames} generated frames "
                            f"(0:{num_frames})")
        blocks.append(TextBlock(new_id(), span.start, span.stop - span.start, span.text, span.negative))
    prompt_tracks = _non_overlapping_tracks(blocks)
    audio_tracks: list[Track] = []
    for sound in sounds:
        from engine.generate.sound_cards import sound_item

        item, ref = sound_item(sound, rate, num_frames)
        media[ref.id] = ref
        audio_tracks.insert(0, Track(new_id(), "audio", f"A{len(audio_tracks) + 1}", (item,)))
    project = Project(settings=ProjectSettings(width=width, height=height, rate=rate), media=media,
                      timeline=Timeline(tracks=[*prompt_tracks, *video_tracks, *audio_tracks]))
    plan = compile(project, FrameRange(0, num_frames), caps, prompt=prompt, negative=negative)
    return Recipe(plan=plan, tool=tool)


def text_to_video(caps, *, width, height, num_frames, rate=24, prompt="", negative="") -> Recipe:
    return storyboard(caps, width=width, height=height, num_frames=num_frames, rate=rate, prompt=prompt,
                      negative=negative, tool="text-to-video")


def image_to_video(caps, image: str, *, frame: int = 0, strength: float = 1.0, **kwargs) -> Recipe:
    return storyboard(caps, cards=[Card(image, frame, strength)], tool="image-to-video", **kwargs)


# -- the tools on a timeline -------------------------------------------------------------------------
#
# A clip tool sees what the editor shows around its clip: the clip's own track (its trim, its
# influence curve, its neighbours on that track) and the prompt tracks. It compiles a range of
# that timeline with the same compile() the plan strip draws.

def one_clip_project(path: str, span: tuple[int, int] | None = None) -> tuple[Project, str]:
    """A timeline at the video's own rate holding one clip of it (frames START..END-1 of the
    file, default all): how a file given on the command line reaches the clip tools."""
    first, stop, fps = _source_span(path, span)
    num_src, _ = probe_video(path)
    rate = _rate(fps)
    ref = MediaRef(new_id(), str(Path(path).resolve()), "video", num_frames=num_src, rate=rate)
    clip = Clip(new_id(), 0, ref.id, FrameRange(first, stop))
    tracks = [Track(new_id(), "prompt", "P1"), Track(new_id(), "video", "V1", (clip,))]
    return Project(settings=ProjectSettings(rate=rate), media={ref.id: ref}, timeline=Timeline(tracks=tracks)), clip.id


def storyboard_range(caps: ModelCaps, project: Project, start: int, stop: int, *, size, prompt: str = "",
                     negative: str = "") -> Recipe:
    """Frames START..STOP-1 of a timeline as the model makes them (rounded to a frame count it accepts)."""
    chosen = size.choose(caps, num_frames=stop - start, rate=float(project.rate.fps))
    frames = FrameRange(start, start + chosen.num_frames)
    plan = compile(project, frames, caps, prompt=prompt, negative=negative, width=chosen.width, height=chosen.height)
    return Recipe(plan=plan, tool="storyboard", notes=(f"generating {chosen.note} from frame {start}",))


def extend_clip(caps: ModelCaps, project: Project, track: Track, clip: Clip, *, direction: str = "forward",
                context: int = 9, new_frames: int = 16, size, prompt: str = "", negative: str = "") -> Recipe:
    """Continue a clip: its last `context` frames held at the start (forward) or its first ones at
    the end (backward), whatever follows or precedes it on its track held where it sits. The
    output is the clip with the new frames after (or before) it."""
    chosen = size.choose(caps)
    frames_of_clip = _file_frames(project, clip)
    context = max(1, min(context, clip.duration))
    if direction == "forward":
        context = _aligned_context(caps, clip.source_range.start, clip.source_range.stop, context)
    total = caps.nearest_frame_count(context + new_frames)
    if total <= context:
        total = caps.nearest_frame_count(context + caps.vae_temporal_compression)
    if total <= context:
        raise UserError(f"{clip_label(project, clip)}: this model makes at most {caps.max_frames} frames; "
                        f"hold fewer than {context} frames of the clip (--context)")
    new = total - context
    work = _working(project, [track], caps)
    if direction == "forward":
        frames = FrameRange(clip.range.stop - context, clip.range.stop - context + total)
        plan = _compile_shifted(caps, work, frames, prompt, negative, chosen)
        return Recipe(plan=plan, tool="extend", original=_path(project, clip), before=frames_of_clip,
                      keep=(context, total), notes=(chosen.note, f"{new} new frames after the clip's {clip.duration}"))
    if direction == "backward":
        frames = FrameRange(clip.start - new, clip.start - new + total)
        plan = _compile_shifted(caps, work, frames, prompt, negative, chosen)
        return Recipe(plan=plan, tool="extend", original=_path(project, clip), keep=(0, new), after=frames_of_clip,
                      notes=(chosen.note, f"{new} new frames before the clip's {clip.duration}"))
    raise UserError(f"unknown direction {direction!r}; use forward or backward")


def loop_clip(caps: ModelCaps, project: Project, track: Track, clip: Clip, *, context: int = 9, bridge: int = 16,
              size, prompt: str = "", negative: str = "") -> Recipe:
    """Make a clip loop: its tail held at the start, its head held at the end, the bridge
    generated under the prompts over the clip. The output is the clip followed by the bridge,
    which leads back into the clip's first frame."""
    chosen = size.choose(caps)
    context = max(1, min(context, clip.duration // 2))
    context = min(_aligned_context(caps, clip.source_range.start, clip.source_range.stop, context), clip.duration)
    total = caps.nearest_frame_count(2 * context + bridge)
    if total <= 2 * context:
        total = caps.nearest_frame_count(2 * context + caps.vae_temporal_compression)
    if total <= 2 * context:
        raise UserError(f"{clip_label(project, clip)}: this model makes at most {caps.max_frames} frames; "
                        "hold fewer frames of the clip (--context)")
    start = clip.range.stop - context
    head = Clip(new_id(), start + total - context, clip.media_id,
                FrameRange(clip.source_range.start, clip.source_range.start + context), curve=clip.curve)
    prompts = [replace(t, items=tuple(i for i in t.items if i.range.overlaps(clip.range)))
               for t in project.timeline.tracks_of("prompt")]
    from engine.generate.stored_sound import sound_tracks

    looped = replace(track, items=(clip, head))
    # for a model that makes sound, the clip's sound is held at both ends too: the seam is seamless in sound
    work = Project(settings=project.settings, media=project.media,
                   timeline=Timeline(tracks=[*prompts, looped, *sound_tracks(caps, project, [looped])]))
    plan = _compile_shifted(caps, work, FrameRange(start, start + total), prompt, negative, chosen)
    return Recipe(plan=plan, tool="loop", original=_path(project, clip), before=_file_frames(project, clip),
                  keep=(context, total - context),
                  notes=(chosen.note, f"a {total - 2 * context}-frame bridge from the clip's end back to its start"))


def remix_clip(caps: ModelCaps, project: Project, track: Track, clip: Clip, *, strength: float = 0.5, size,
               prompt: str = "", negative: str = "", tool: str = "remix") -> Recipe:
    """Re-imagine a clip: every frame held at (1 - strength) times its influence curve, under
    the prompt blocks over it (and `prompt` where none is)."""
    if not 0.0 <= strength <= 1.0:
        raise UserError(f"remix strength {strength} must be between 0 and 1")
    chosen = size.choose(caps)
    total = caps.nearest_frame_count(clip.duration)
    total = max(total if total <= clip.duration else total - caps.vae_temporal_compression, 1)
    held = replace(clip, curve=_scaled(clip.curve, 1.0 - strength, clip.duration))
    work = _working(project, [replace(track, items=(held,))], caps)
    plan = _compile_shifted(caps, work, FrameRange(clip.start, clip.start + total), prompt, negative, chosen)
    return Recipe(plan=plan, tool=tool, notes=(chosen.note,))


def upscale_clip(caps: ModelCaps, project: Project, track: Track, clip: Clip, *, strength: float = 0.3, size,
                 prompt: str = "", negative: str = "") -> Recipe:
    """Upsample a clip to the chosen size and re-denoise it at low strength. A model with a latent
    upsampler doubles the clip's latents (encoded at half the size) when the sizes allow it;
    otherwise the pixels are upsampled and encoded at full size."""
    recipe = remix_clip(caps, project, track, clip, strength=strength, size=size, prompt=prompt, negative=negative,
                        tool="upscale")
    half = 2 * caps.size_multiple
    width, height = recipe.plan.width, recipe.plan.height
    if caps.latent_upsampler and width % half == 0 and height % half == 0:
        note = f"upscaling with the latent upsampler from {width // 2}x{height // 2}"
        return replace(recipe, latent_upsample=True, notes=(*recipe.notes, note))
    return recipe


def blend_clips(caps: ModelCaps, first, second, *, curves=(None, None), preset: str | None = None,
                num_frames: int | None = None, size, prompt: str = "", negative: str = "") -> Recipe:
    """Two clips under crossing influence curves. `first`/`second` are (project, track, clip).
    Two clips that overlap on one timeline, with no curves or preset given, blend over their
    overlap under the curves the user drew on them (the upper track composites over the
    lower). Otherwise both start together under `curves` (item-local) or the preset:
    "transition" fades the first out as the second comes in, "mix" holds both at one half."""
    (p1, t1, c1), (p2, t2, c2) = first, second
    same_timeline = p1.timeline.tracks == p2.timeline.tracks and t1.id != t2.id
    overlap = c1.range.intersection(c2.range) if same_timeline else None
    if overlap is not None and preset is None and curves[0] is None and curves[1] is None:
        chosen = size.choose(caps, num_frames=num_frames or len(overlap), rate=float(p1.rate.fps))
        total = chosen.num_frames if chosen.num_frames <= len(overlap) else max(
            chosen.num_frames - caps.vae_temporal_compression, 1)
        order = [t for t in p1.timeline.tracks if t.id in (t1.id, t2.id)]
        work = _working(p1, order, caps)
        plan = _compile_shifted(caps, work, FrameRange(overlap.start, overlap.start + total), prompt, negative,
                                chosen)
        return Recipe(plan=plan, tool="blend", notes=(chosen.note, "blending under the curves drawn on the clips"))
    shorter = min(c1.duration, c2.duration)
    chosen = size.choose(caps, num_frames=min(num_frames or shorter, shorter), rate=float(p1.rate.fps))
    if chosen.num_frames > shorter:  # rounded past the shorter clip: it would end before the blend does
        chosen = replace(chosen, num_frames=max(chosen.num_frames - caps.vae_temporal_compression, 1))
    last = max(chosen.num_frames - 1, 1)
    preset = preset or "transition"
    if preset == "transition":
        defaults = (Curve.ramp(0, last, 1.0, 0.0, "smooth"), Curve.ramp(0, last, 0.0, 1.0, "smooth"))
    elif preset == "mix":
        defaults = (Curve.flat(0.5), Curve.flat(0.5))
    else:
        raise UserError(f"unknown blend preset {preset!r}; use one of transition, mix")
    curves = (curves[0] or defaults[0], curves[1] or defaults[1])
    spans = [_file_span(p, c) for p, c in ((p1, c1), (p2, c2))]
    # the second card goes on the upper track; "over" compositing then shares the frames
    cards = [Card(_path(p, c), 0, curve=curve, source_start=a, length=b - a)
             for (p, c), curve, (a, b) in zip(((p1, c1), (p2, c2)), curves, spans)]
    from engine.generate.stored_sound import file_has_sound

    # a model that makes sound hears both clips under the same curves as it sees them
    sounds = [card for card in cards if caps.audio and file_has_sound(card.path)]
    recipe = storyboard(caps, width=chosen.width, height=chosen.height, num_frames=chosen.num_frames, rate=p1.rate,
                        prompt=prompt, negative=negative, cards=cards, tool="blend", sounds=sounds)
    return replace(recipe, notes=(chosen.note,))


def retake_clip(caps: ModelCaps, project: Project, track: Track, clip: Clip, start: int, stop: int, *,
                ramp: int = 4, size, prompt: str = "", negative: str = "") -> Recipe:
    """Regenerate timeline frames START..STOP-1 inside a clip: the rest of the clip is held (by
    its influence curve), with a strength ramp over the first and last `ramp` frames of the
    range so the new frames grow out of the old ones. The output is the whole clip with the
    range replaced."""
    if not (clip.range.start <= start < stop <= clip.range.stop):
        raise UserError(f"retake range {start}:{stop} is not inside {clip_label(project, clip)} "
                        f"({clip.range.start}:{clip.range.stop}); mark a range inside the clip")
    chosen = size.choose(caps)
    total = caps.nearest_frame_count(clip.duration)
    total = max(total if total <= clip.duration else total - caps.vae_temporal_compression, 1)
    if stop - start > total:
        raise UserError(f"retake range {start}:{stop} is longer than this model makes ({total} frames); "
                        "retake a shorter range")
    first = min(max(clip.start, (start + stop) // 2 - total // 2), clip.range.stop - total)
    local_start, local_stop = start - clip.start, stop - clip.start
    ramp = max(0, min(ramp, (local_stop - local_start) // 2))
    hold = _retake_hold(local_start, local_stop, ramp)
    frames = np.arange(clip.duration)
    held = replace(clip, curve=_sampled(clip.curve.evaluate(frames) * hold.evaluate(frames)))
    work = _working(project, [replace(track, items=(held,))], caps)
    plan = _compile_shifted(caps, work, FrameRange(first, first + total), prompt, negative, chosen)
    file_frames = _file_frames(project, clip)
    return Recipe(plan=plan, tool="retake", original=_path(project, clip), before=file_frames[:local_start],
                  keep=(start - first, stop - first), after=file_frames[local_stop:],
                  notes=(chosen.note, f"retaking frames {start}..{stop - 1} of the clip"))


def fill_gap(caps: ModelCaps, project: Project, track_id: str, start: int, stop: int, *, context: int = 9, size,
             prompt: str = "", negative: str = "") -> Recipe:
    """Generate the empty frames START..STOP-1 of a track: the neighbours' frames held where they
    sit at both ends (up to `context` frames each), the prompt blocks over the gap as its prompts.
    The output is exactly the gap's frames."""
    track = track_of(project, track_id)
    if track.kind != "video":
        raise UserError(f"track {track.name or track_id[:8]} is a {track.kind} track; fill gaps on a video track")
    inside = track.items_in(FrameRange(start, stop))
    if inside:
        raise UserError(f"frames {start}..{stop - 1} of track {track.name} are not empty "
                        f"({clip_label(project, inside[0])} is there); choose the empty frames between two clips")
    chosen = size.choose(caps)
    gap = stop - start
    before = min(context, start)
    total = caps.nearest_frame_count(before + gap + context)
    while total < before + gap and total < MAX_PLAN_FRAMES - caps.vae_temporal_compression:
        total = caps.nearest_frame_count(total + caps.vae_temporal_compression)
    if total < before + gap:
        raise UserError(f"the gap is {gap} frames; Kinora plans at most {MAX_PLAN_FRAMES} frames at once: "
                        "fill it in parts")
    plan = _compile_shifted(caps, _working(project, [track], caps), FrameRange(start - before, start - before + total),
                            prompt, negative, chosen)
    return Recipe(plan=plan, tool="fill-gap", keep=(before, before + gap),
                  notes=(chosen.note, f"filling {gap} frames between the neighbours"))


def track_of(project: Project, track_id: str) -> Track:
    try:
        return project.timeline.track(track_id)
    except KeyError:
        raise UserError(f"track {track_id[:8]} is not on the timeline any more; choose the gap again") from None


def clip_label(project: Project, item) -> str:
    from engine.model.items import label

    return label(item, project.media)


# -- the tools on a file (a one-clip timeline) -------------------------------------------------------------

def _size_of(width: int | None, height: int | None) -> Size:
    return Size(width=width, height=height)


def extend(caps, video: str, *, direction: str = "forward", context: int = 9, new_frames: int = 16,
           width: int, height: int, prompt: str = "", negative: str = "", span: tuple[int, int] | None = None) -> Recipe:
    project, clip_id = one_clip_project(video, span)
    track, clip = project.timeline.find(clip_id)
    return extend_clip(caps, project, track, clip, direction=direction, context=context, new_frames=new_frames,
                       size=_size_of(width, height), prompt=prompt, negative=negative)


def loop(caps, video: str, *, context: int = 9, bridge: int = 16, width: int, height: int, prompt: str = "",
         negative: str = "", span: tuple[int, int] | None = None) -> Recipe:
    project, clip_id = one_clip_project(video, span)
    track, clip = project.timeline.find(clip_id)
    return loop_clip(caps, project, track, clip, context=context, bridge=bridge, size=_size_of(width, height),
                     prompt=prompt, negative=negative)


def remix(caps, video: str, *, strength: float = 0.5, width: int, height: int, prompt: str = "",
          negative: str = "", span: tuple[int, int] | None = None) -> Recipe:
    project, clip_id = one_clip_project(video, span)
    track, clip = project.timeline.find(clip_id)
    return remix_clip(caps, project, track, clip, strength=strength, size=_size_of(width, height), prompt=prompt,
                      negative=negative)


def upscale(caps, video: str, *, width: int, height: int, strength: float = 0.3, prompt: str = "",
            negative: str = "", span: tuple[int, int] | None = None) -> Recipe:
    project, clip_id = one_clip_project(video, span)
    track, clip = project.timeline.find(clip_id)
    return upscale_clip(caps, project, track, clip, strength=strength, size=_size_of(width, height), prompt=prompt,
                        negative=negative)


def blend(caps, first: str, second: str, *, preset: str = "transition", num_frames: int, width: int, height: int,
          rate=24, prompt: str = "", negative: str = "", first_curve: Curve | None = None,
          second_curve: Curve | None = None, first_span: tuple[int, int] | None = None,
          second_span: tuple[int, int] | None = None) -> Recipe:
    sides = []
    for path, span in ((first, first_span), (second, second_span)):
        project, clip_id = one_clip_project(path, span)
        sides.append((project, *project.timeline.find(clip_id)))
    return blend_clips(caps, sides[0], sides[1], curves=(first_curve, second_curve), preset=preset,
                       num_frames=num_frames, size=_size_of(width, height), prompt=prompt, negative=negative)


# -- timeline helpers --------------------------------------------------------------------------------------

def _working(project: Project, video_tracks: list[Track], caps: ModelCaps | None = None) -> Project:
    """The project's prompt tracks over the given video tracks (in that order), and for a model
    that makes sound the sound of their clips where they are (engine.generate.stored_sound)."""
    from engine.generate.stored_sound import sound_tracks

    return Project(settings=project.settings, media=project.media,
                   timeline=Timeline(tracks=[*project.timeline.tracks_of("prompt"), *video_tracks,
                                             *sound_tracks(caps, project, video_tracks)]))


def _compile_shifted(caps, project: Project, frames: FrameRange, prompt: str, negative: str, chosen) -> GenerationPlan:
    """compile() of `frames`; a range reaching before frame 0 (extending a clip at the start of
    the timeline backwards) is compiled on a copy of the timeline moved right."""
    offset = max(0, -frames.start)
    if offset:
        moved = [replace(t, items=tuple(replace(i, start=i.start + offset) for i in t.items))
                 for t in project.timeline.tracks]
        project = Project(settings=project.settings, media=project.media, timeline=Timeline(tracks=moved))
        frames = frames.shifted(offset)
    return compile(project, frames, caps, prompt=prompt, negative=negative, width=chosen.width, height=chosen.height)


def _path(project: Project, clip: Clip) -> str:
    return project.media[clip.media_id].path


def _file_frames(project: Project, clip: Clip) -> tuple[int, ...]:
    """The file's frame shown at each of the clip's frames (the media may have its own rate)."""
    ref = project.media[clip.media_id]
    frames = range(clip.source_range.start, clip.source_range.stop)
    if ref.rate is not None and ref.rate != project.rate:
        frames = [project.rate.rescale(f, ref.rate) for f in frames]
    if ref.num_frames:
        return tuple(min(int(f), ref.num_frames - 1) for f in frames)
    return tuple(int(f) for f in frames)


def _file_span(project: Project, clip: Clip) -> tuple[int, int]:
    frames = _file_frames(project, clip)
    return frames[0], frames[-1] + 1


def _scaled(curve: Curve, factor: float, duration: int) -> Curve:
    if curve.is_default:
        return Curve.flat(factor)
    return Curve(tuple(Keyframe(k.frame, k.value * factor, k.interp) for k in curve.keyframes))


def _sampled(values: np.ndarray) -> Curve:
    """A curve through one value per item frame (exact at every frame the compiler reads)."""
    return Curve(tuple(Keyframe(float(i), float(np.clip(v, 0.0, 1.0)), "linear") for i, v in enumerate(values)))


def _retake_hold(start: int, stop: int, ramp: int) -> Curve:
    """1 outside item frames START..STOP-1, 0 inside, easing over `ramp` frames at each edge."""
    if ramp == 0:
        points = [(start - 1, 1.0, "hold"), (start, 0.0, "hold"), (stop, 1.0, "hold")]
    else:
        points = [(start - 1, 1.0, "linear"), (start + ramp, 0.0, "hold"), (stop - ramp - 1, 0.0, "linear"),
                  (stop, 1.0, "hold")]
    return Curve(tuple(Keyframe(f, v, i) for f, v, i in points))

# -- helpers --------------------------------------------------------------------------------------

def _card_item(card: Card, rate: FrameRate, num_frames: int) -> tuple[Clip | Still, MediaRef]:
    path = Path(card.path)
    if not path.is_file():
        raise UserError(f"{card.path} does not exist; check the path")
    if not 0 <= card.frame < num_frames:
        raise UserError(f"{path.name} is placed at frame {card.frame}, outside the {num_frames} generated "
                        f"frames (0..{num_frames - 1})")
    if not 0.0 <= card.strength <= 1.0:
        raise UserError(f"{path.name}: strength {card.strength} must be between 0 and 1")
    curve = card.curve if card.curve is not None else Curve.flat(card.strength)
    extra = MappingProxyType({"fit": card.fit})  # the compiler and the compositor read it
    if path.suffix.lower() in IMAGE_SUFFIXES:
        ref = MediaRef(new_id(), str(path), "image")
        return Still(new_id(), card.frame, 1, ref.id, curve=curve, extra=extra), ref
    num_src, fps = _video_length(str(path))
    # one source frame per generated frame: the clip is read at the generation's rate
    ref = MediaRef(new_id(), str(path), "video", num_frames=num_src, rate=rate)
    if not 0 <= card.source_start < num_src:
        raise UserError(f"{path.name} has {num_src} frames; frame {card.source_start} is not one of them")
    length = min(card.length or num_src - card.source_start, num_src - card.source_start, num_frames - card.frame)
    return Clip(new_id(), card.frame, ref.id, FrameRange(card.source_start, card.source_start + length),
                curve=curve, extra=extra), ref


def _aligned_context(caps: ModelCaps, first: int, stop: int, context: int) -> int:
    """Grow the tail [stop - context, stop) of a file's frames [first, stop) so it starts on a
    latent-frame boundary of the file: then a clip Kinora generated keeps its stored latents for
    every held latent frame but the first."""
    start = (stop - context) // caps.vae_temporal_compression * caps.vae_temporal_compression
    return stop - max(start, first)


def _non_overlapping_tracks(blocks: list[TextBlock]) -> list[Track]:
    """Prompt spans on as few tracks as needed; a later span sits above the ones it overlaps."""
    tracks: list[list[TextBlock]] = []
    for block in blocks:
        for items in reversed(tracks):
            if all(not block.range.overlaps(other.range) for other in items):
                items.append(block)
                break
        else:
            tracks.append([block])
    return [Track(new_id(), "prompt", f"P{i + 1}", tuple(sorted(items, key=lambda b: b.start)))
            for i, items in reversed(list(enumerate(tracks)))]


def _video_length(path: str) -> tuple[int, float]:
    if not Path(path).is_file():
        raise UserError(f"{path} does not exist; check the path")
    return probe_video(path)


def _source_span(path: str, span: tuple[int, int] | None) -> tuple[int, int, float]:
    """(first frame, end frame, rate) of the part of a video a tool works on: `span`, or all of it."""
    num_src, fps = _video_length(path)
    if span is None:
        return 0, num_src, fps
    first, stop = span
    if not 0 <= first < stop <= num_src:
        raise UserError(f"{Path(path).name} has {num_src} frames (0:{num_src}); the range {first}:{stop} "
                        "is not within them")
    return first, stop, fps


def _rate(fps: float) -> FrameRate:
    return FrameRate.parse(float(fps)) if fps > 0 else FrameRate(Fraction(24))


def assemble(recipe: Recipe, generated: np.ndarray, original: np.ndarray | None = None) -> np.ndarray:
    """The tool's output (N, F, H, W, 3) from generated frames (N, F_plan, H, W, 3): the kept generated
    frames with the original clip's frames (fitted to the plan size) before or after them.
    `original`, when given, holds the frames `before` then `after` (as a test may pass them)."""
    keep = recipe.keep or (0, generated.shape[1])
    parts = [generated[:, keep[0]:keep[1]]]
    if recipe.before or recipe.after:
        if original is None:
            from engine.generate.media_io import read_video

            wanted = sorted(set(recipe.before) | set(recipe.after))
            read = read_video(recipe.original, wanted, size=(recipe.plan.width, recipe.plan.height))
            index = {frame: i for i, frame in enumerate(wanted)}
            before = read[[index[f] for f in recipe.before]] if recipe.before else read[:0]
            after = read[[index[f] for f in recipe.after]] if recipe.after else read[:0]
        else:
            before, after = original[:len(recipe.before)], original[len(recipe.before):]
        if generated.dtype != np.uint8:
            before, after = before.astype(np.float32) / 255.0, after.astype(np.float32) / 255.0
        tile = (generated.shape[0], 1, 1, 1, 1)
        if recipe.before:
            parts.insert(0, np.tile(before[None], tile))
        if recipe.after:
            parts.append(np.tile(after[None], tile))
    return np.concatenate(parts, axis=1)

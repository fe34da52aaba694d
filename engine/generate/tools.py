"""Kinora's AI tools as plan recipes.

Every tool lays its inputs out on a small timeline (the same model the editor edits) and
compiles it, so text-to-video, image-to-video, storyboard, extend, loop, blend, remix and
upscale are all one mechanism: which frames are held where, how strongly, under which prompt.
A Recipe also says how to assemble the final video from the generated frames (an extension is
the original followed by the new frames, for instance).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

import numpy as np

from engine.errors import UserError
from engine.generate.caps import ModelCaps
from engine.generate.compiler import compile
from engine.generate.media_io import IMAGE_SUFFIXES, probe_video
from engine.generate.models import RESOURCES
from engine.generate.plan import GenerationPlan
from engine.generate.settings import SamplingSettings
from engine.model.curves import Curve
from engine.model.items import Clip, MediaRef, Still, TextBlock, new_id
from engine.model.project import Project, ProjectSettings, Timeline, Track
from engine.time import FrameRange, FrameRate

PRESETS_DIR = RESOURCES / "presets"
BLEND_PRESETS = ("transition", "mix")


@dataclass(frozen=True, slots=True)
class Card:
    """A picture placed on the generation's timeline: an image or a video starting at `frame`."""

    path: str
    frame: int = 0
    strength: float = 1.0
    curve: Curve | None = None  # item-local influence; overrides `strength`
    source_start: int = 0  # first frame of a video to use
    length: int | None = None  # frames of a video to use (default: all that fit)


@dataclass(frozen=True, slots=True)
class PromptSpan:
    start: int
    stop: int
    text: str
    negative: str = ""


@dataclass(frozen=True, slots=True)
class Recipe:
    """A compiled plan and how to turn its generated frames into the tool's output.

    The output is `before` frames of `original`, then generated frames [keep_start, keep_stop),
    then `after` frames of `original`.
    """

    plan: GenerationPlan
    tool: str
    original: str | None = None
    before: tuple[int, int] = (0, 0)
    keep: tuple[int, int] | None = None
    after: tuple[int, int] = (0, 0)
    notes: tuple[str, ...] = field(default=())
    latent_upsample: bool = False  # encode the sources at half size and double them with the latent upsampler


def storyboard(caps: ModelCaps, *, width: int, height: int, num_frames: int, rate: FrameRate | int = 24,
               prompt: str = "", negative: str = "", cards: list[Card] = (), prompts: list[PromptSpan] = (),
               tool: str = "storyboard") -> Recipe:
    """The general recipe: cards (images, clips) at their frames and prompts over their spans.
    Each card is placed on its own track, later cards over earlier ones."""
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
    project = Project(settings=ProjectSettings(width=width, height=height, rate=rate), media=media,
                      timeline=Timeline(tracks=[*prompt_tracks, *video_tracks]))
    plan = compile(project, FrameRange(0, num_frames), caps, prompt=prompt, negative=negative)
    return Recipe(plan=plan, tool=tool)


def text_to_video(caps, *, width, height, num_frames, rate=24, prompt="", negative="") -> Recipe:
    return storyboard(caps, width=width, height=height, num_frames=num_frames, rate=rate, prompt=prompt,
                      negative=negative, tool="text-to-video")


def image_to_video(caps, image: str, *, frame: int = 0, strength: float = 1.0, **kwargs) -> Recipe:
    return storyboard(caps, cards=[Card(image, frame, strength)], tool="image-to-video", **kwargs)


def extend(caps, video: str, *, direction: str = "forward", context: int = 9, new_frames: int = 16,
           width: int, height: int, prompt: str = "", negative: str = "", span: tuple[int, int] | None = None) -> Recipe:
    """Continue a clip: its last `context` frames held at the start (forward) or its first ones at the
    end (backward); the output is the clip with the new frames after (or before) it. `span` is the
    clip's range of the file (its trim in an editor); default the whole file."""
    first, stop, fps = _source_span(video, span)
    num_src = stop - first
    context = max(1, min(context, num_src))
    if direction == "forward":
        context = _aligned_context(caps, first, stop, context)
    total = caps.nearest_frame_count(context + new_frames)
    if total <= context:
        total = caps.nearest_frame_count(context + caps.vae_temporal_compression)
    new = total - context
    if direction == "forward":
        card = Card(video, 0, source_start=stop - context, length=context)
        recipe = storyboard(caps, width=width, height=height, num_frames=total, rate=_rate(fps), prompt=prompt,
                            negative=negative, cards=[card], tool="extend")
        return replace(recipe, original=video, before=(first, stop), keep=(context, total),
                       notes=(f"{new} new frames after the clip's {num_src}",))
    if direction == "backward":
        card = Card(video, new, source_start=first, length=context)
        recipe = storyboard(caps, width=width, height=height, num_frames=total, rate=_rate(fps), prompt=prompt,
                            negative=negative, cards=[card], tool="extend")
        return replace(recipe, original=video, keep=(0, new), after=(first, stop),
                       notes=(f"{new} new frames before the clip's {num_src}",))
    raise UserError(f"unknown direction {direction!r}; use forward or backward")


def loop(caps, video: str, *, context: int = 9, bridge: int = 16, width: int, height: int, prompt: str = "",
         negative: str = "", span: tuple[int, int] | None = None) -> Recipe:
    """Make a clip (or its `span` of the file) loop: its tail held at the start, its head held at the
    end, the bridge generated. The output is the clip followed by the bridge, which leads back into
    the clip's first frame."""
    first, stop, fps = _source_span(video, span)
    num_src = stop - first
    context = max(1, min(context, num_src // 2))
    context = min(_aligned_context(caps, first, stop, context), num_src)
    total = caps.nearest_frame_count(2 * context + bridge)
    if total <= 2 * context:
        total = caps.nearest_frame_count(2 * context + caps.vae_temporal_compression)
    tail = Card(video, 0, source_start=stop - context, length=context)
    head = Card(video, total - context, source_start=first, length=context)
    recipe = storyboard(caps, width=width, height=height, num_frames=total, rate=_rate(fps), prompt=prompt,
                        negative=negative, cards=[tail, head], tool="loop")
    return replace(recipe, original=video, before=(first, stop), keep=(context, total - context),
                   notes=(f"a {total - 2 * context}-frame bridge from the clip's end back to its start",))


def blend(caps, first: str, second: str, *, preset: str = "transition", num_frames: int, width: int, height: int,
          rate=24, prompt: str = "", negative: str = "", first_curve: Curve | None = None,
          second_curve: Curve | None = None, first_span: tuple[int, int] | None = None,
          second_span: tuple[int, int] | None = None) -> Recipe:
    """Two clips over the same frames with crossing influence curves: "transition" fades the first
    out as the second comes in, "mix" holds both at one half; explicit curves override the preset.
    Each clip starts at the first frame of its span of the file (default the file's first frame)."""
    last = max(num_frames - 1, 1)
    if preset == "transition":
        curves = (Curve.ramp(0, last, 1.0, 0.0, "smooth"), Curve.ramp(0, last, 0.0, 1.0, "smooth"))
    elif preset == "mix":
        curves = (Curve.flat(0.5), Curve.flat(0.5))
    else:
        raise UserError(f"unknown blend preset {preset!r}; use one of {', '.join(BLEND_PRESETS)}")
    curves = (first_curve or curves[0], second_curve or curves[1])
    # the second card goes on the upper track; "over" compositing then shares the frames
    (a1, b1, _), (a2, b2, _) = _source_span(first, first_span), _source_span(second, second_span)
    cards = [Card(first, 0, curve=curves[0], source_start=a1, length=b1 - a1),
             Card(second, 0, curve=curves[1], source_start=a2, length=b2 - a2)]
    return storyboard(caps, width=width, height=height, num_frames=num_frames, rate=rate, prompt=prompt,
                      negative=negative, cards=cards, tool="blend")


def remix(caps, video: str, *, strength: float = 0.5, width: int, height: int, prompt: str = "",
          negative: str = "", span: tuple[int, int] | None = None) -> Recipe:
    """Re-imagine a whole clip (or its `span` of the file): every frame held at (1 - strength) under a new prompt."""
    if not 0.0 <= strength <= 1.0:
        raise UserError(f"remix strength {strength} must be between 0 and 1")
    first, stop, fps = _source_span(video, span)
    num_src = stop - first
    total = caps.nearest_frame_count(num_src)
    total = total if total <= num_src else total - caps.vae_temporal_compression
    card = Card(video, 0, strength=1.0 - strength, source_start=first, length=total)
    return storyboard(caps, width=width, height=height, num_frames=max(total, 1), rate=_rate(fps), prompt=prompt,
                      negative=negative, cards=[card], tool="remix")


def upscale(caps, video: str, *, width: int, height: int, strength: float = 0.3, prompt: str = "",
            negative: str = "", span: tuple[int, int] | None = None) -> Recipe:
    """Upsample a clip to width x height and re-denoise it at low strength. A model with a latent
    upsampler doubles the clip's latents (encoded at half of width x height) when the sizes allow
    it; otherwise the pixels are upsampled and encoded at full size."""
    recipe = replace(remix(caps, video, strength=strength, width=width, height=height, prompt=prompt,
                           negative=negative, span=span), tool="upscale")
    half = 2 * caps.size_multiple
    if caps.latent_upsampler and width % half == 0 and height % half == 0:
        note = f"upscaling with the latent upsampler from {width // 2}x{height // 2}"
        return replace(recipe, latent_upsample=True, notes=(*recipe.notes, note))
    return recipe


# -- presets --------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    prompt_prefix: str = ""
    prompt_suffix: str = ""
    negative: str = ""
    guidance: float | None = None
    steps: int | None = None
    lora: str | None = None
    lora_weight: float = 1.0

    def prompt(self, text: str) -> str:
        return " ".join(part for part in (self.prompt_prefix, text, self.prompt_suffix) if part)

    def settings(self, settings: SamplingSettings) -> SamplingSettings:
        return replace(settings, guidance=settings.guidance if settings.guidance is not None else self.guidance,
                       steps=settings.steps if settings.steps is not None else self.steps)


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.toml"))


def load_preset(name: str) -> Preset:
    path = Path(name) if name.endswith(".toml") else PRESETS_DIR / f"{name}.toml"
    if not path.is_file():
        raise UserError(f"unknown preset {name!r}; use one of {', '.join(preset_names()) or '(none installed)'}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise UserError(f"preset {path} cannot be read: {error}") from error
    known = set(Preset.__dataclass_fields__) - {"name"}
    unknown = set(data) - known
    if unknown:
        raise UserError(f"preset {path} has unknown settings {', '.join(sorted(unknown))}; "
                        f"use {', '.join(sorted(known))}")
    lora = data.get("lora")
    if lora:
        lora_path = (path.parent / lora).resolve()
        if lora_path.suffix != ".safetensors":
            raise UserError(f"preset {path}: LoRA {lora} must be a .safetensors file")
        data["lora"] = str(lora_path)
    return Preset(name=path.stem, **data)


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
    if path.suffix.lower() in IMAGE_SUFFIXES:
        ref = MediaRef(new_id(), str(path), "image")
        return Still(new_id(), card.frame, 1, ref.id, curve=curve), ref
    num_src, fps = _video_length(str(path))
    # one source frame per generated frame: the clip is read at the generation's rate
    ref = MediaRef(new_id(), str(path), "video", num_frames=num_src, rate=rate)
    if not 0 <= card.source_start < num_src:
        raise UserError(f"{path.name} has {num_src} frames; frame {card.source_start} is not one of them")
    length = min(card.length or num_src - card.source_start, num_src - card.source_start, num_frames - card.frame)
    return Clip(new_id(), card.frame, ref.id, FrameRange(card.source_start, card.source_start + length),
                curve=curve), ref


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
    frames with the original clip's frames (fitted to the plan size) before or after them."""
    keep = recipe.keep or (0, generated.shape[1])
    parts = [generated[:, keep[0]:keep[1]]]
    if recipe.before[1] > recipe.before[0] or recipe.after[1] > recipe.after[0]:
        if original is None:
            from engine.generate.media_io import fit_frames, read_video

            original = fit_frames(read_video(recipe.original), recipe.plan.width, recipe.plan.height)
        if generated.dtype != np.uint8:
            original = original.astype(np.float32) / 255.0
        tile = (generated.shape[0], 1, 1, 1, 1)
        if recipe.before[1] > recipe.before[0]:
            parts.insert(0, np.tile(original[None, recipe.before[0]:recipe.before[1]], tile))
        if recipe.after[1] > recipe.after[0]:
            parts.append(np.tile(original[None, recipe.after[0]:recipe.after[1]], tile))
    return np.concatenate(parts, axis=1)

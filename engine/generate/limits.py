"""What a model says it understands, and hints for prompts and ranges outside it.

A model may declare in its model_index.json `_kinora_defaults`:

- `example_prompts`: prompts it answers well (offered as completions);
- `vocabulary`: the words it was trained on (a prompt with other words gets a hint);
- `trained_frames`: [min, max] frame counts it was trained on (a shorter range gets a hint; a longer
  one runs as a chain of windows of at most `window_frames`, by default that max: engine.generate.windows);
- `trained_sizes`: [[width, height], ...] the only sizes it was trained at (another size gets a hint).

The bundled model declares all three (its caption grammar lives in engine.toyworld.world). A
model that declares nothing gets no hints: a real text encoder reads any wording. Hints are
advice shown before a job runs; they never stop a generation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.errors import KinoraError

WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
MAX_WORDS_NAMED = 5


@dataclass(frozen=True, slots=True)
class ModelLimits:
    """What one model declares about the prompts and lengths it was trained on."""

    name: str = "the model"
    example_prompts: tuple[str, ...] = ()
    vocabulary: frozenset[str] = frozenset()
    min_frames: int | None = None
    max_frames: int | None = None
    sizes: tuple[tuple[int, int], ...] = ()  # (width, height) it was trained at; empty: any
    native_size: tuple[int, int] | None = None  # what it makes when asked for no particular size
    layout: tuple[int, int] | None = None  # its VAE's (frames per latent frame, pixels per latent cell)
    window_frames: int | None = None  # the longest window of a chain it declares (None: max_frames)

    @property
    def declares_anything(self) -> bool:
        return bool(self.example_prompts or self.vocabulary or self.max_frames or self.sizes)


def limits_of(model) -> ModelLimits:
    """The limits of `model`: a ModelLimits, a ModelInfo (engine.generate.models), its defaults
    dict, a model name or folder, or None for the default model. A model that cannot be found
    or declares nothing (or declares it malformed) has no limits: hints are advice, never an error."""
    if isinstance(model, ModelLimits):
        return model
    if model is None or isinstance(model, str):
        from engine.generate.models import resolve

        try:
            model = resolve(model)
        except KinoraError:
            return ModelLimits()
    defaults = getattr(model, "defaults", model)
    name = getattr(model, "name", None) or "the model"
    if not isinstance(defaults, dict):
        return ModelLimits(name=name)
    examples = tuple(p.strip() for p in _list(defaults.get("example_prompts")) if isinstance(p, str) and p.strip())
    vocabulary = frozenset(w.lower() for w in _list(defaults.get("vocabulary")) if isinstance(w, str) and w.strip())
    low = high = None
    trained = defaults.get("trained_frames")
    if (isinstance(trained, list) and len(trained) == 2 and all(isinstance(n, int) and not isinstance(n, bool)
                                                                 for n in trained) and 1 <= trained[0] <= trained[1]):
        low, high = trained
    sizes = tuple((s[0], s[1]) for s in _list(defaults.get("trained_sizes"))
                  if isinstance(s, list) and len(s) == 2 and all(_whole(n) and 16 <= n <= 8192 for n in s))
    native = (defaults["width"], defaults["height"]) if _whole(defaults.get("width")) and _whole(
        defaults.get("height")) else None
    layout = None
    if getattr(model, "path", None) is not None:
        from engine.generate.models import frame_layout

        layout = frame_layout(model)
    window = defaults.get("window_frames") if _whole(defaults.get("window_frames")) else None
    return ModelLimits(name=name, example_prompts=examples, vocabulary=vocabulary, min_frames=low, max_frames=high,
                       sizes=sizes, native_size=native, layout=layout, window_frames=window)


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _list(value) -> list:
    return value if isinstance(value, list) else []


def words_of(prompt: str) -> list[str]:
    """The words of a prompt, lower case, in order (numbers and punctuation are not words)."""
    return [w.lower().replace("’", "'") for w in WORD.findall(prompt or "")]


def unknown_words(model, prompt: str) -> list[str]:
    """Words of `prompt` outside the model's declared vocabulary, each once, in order (none when
    the model declares no vocabulary)."""
    limits = limits_of(model)
    if not limits.vocabulary:
        return []
    return list(dict.fromkeys(w for w in words_of(prompt) if w not in limits.vocabulary))


def prompt_hints(model, prompt: str) -> list[str]:
    """What a person should know before generating `prompt` with `model`: an empty prompt, words
    the model was never trained on. Empty when the prompt is within what the model declares."""
    limits = limits_of(model)
    if not limits.declares_anything:
        return []
    first = limits.example_prompts[0] if limits.example_prompts else ""
    example = f" like “{first}”" if first else ""
    if not (prompt or "").strip():
        return [f"No prompt: {limits.name} will make whatever it likes; describe the video"
                + (f", e.g. “{first}”" if first else "")] \
            if limits.example_prompts or limits.vocabulary else []
    unknown = unknown_words(limits, prompt)
    if not unknown:
        return []
    named = ", ".join(f"“{w}”" for w in unknown[:MAX_WORDS_NAMED])
    more = f" and {len(unknown) - MAX_WORDS_NAMED} more" if len(unknown) > MAX_WORDS_NAMED else ""
    verb = "is a word" if len(unknown) == 1 else "are words"
    return [f"{named}{more} {verb} {limits.name} was not trained on: it understands only captions{example}; "
            "other wording gives noise"]


def range_hint(model, frames: int | None) -> str | None:
    """A hint when `frames` is outside the frame counts the model was trained on, else None. A
    longer range is made as a chain of windows of a length it was trained on: no hint, unless the
    model declares windows longer than that."""
    limits = limits_of(model)
    if frames is None or limits.max_frames is None:
        return None
    trained = (f"{limits.min_frames} frames" if limits.min_frames == limits.max_frames
               else f"{limits.min_frames}-{limits.max_frames} frames")
    window = limits.window_frames or limits.max_frames
    if frames > limits.max_frames and window > limits.max_frames:
        return (f"{limits.name} was trained on {trained} but makes windows of {window} frames, which will degrade: "
                f"set \"window_frames\" in its model_index.json to at most {limits.max_frames}")
    if frames < limits.min_frames:
        return (f"{limits.name} was trained on {trained}; {frames} frames is shorter than it knows: expect weaker "
                "motion, or lengthen the range")
    return None


def planned_size(model, size, *, duration: float | None = None, rate: float = 24.0):
    """The engine.generate.settings.ChosenSize a request with `size` (a Size) makes on `model`,
    worked out from the model's files without loading it, as the loaded backend will choose it."""
    import dataclasses

    from engine.generate.caps import caps_for_layout

    limits = limits_of(model)
    caps = caps_for_layout(limits.layout)
    if limits.native_size is not None:
        caps = dataclasses.replace(caps, native_width=limits.native_size[0], native_height=limits.native_size[1])
    return size.choose(caps, duration=duration, rate=rate)


def aspect_name(width: int, height: int) -> str:
    """"16:9", "1:1", "9:16" for sizes near those shapes, else the reduced ratio."""
    from math import gcd

    for name, (a_w, a_h) in (("16:9", (16, 9)), ("1:1", (1, 1)), ("9:16", (9, 16)), ("4:3", (4, 3)),
                             ("3:4", (3, 4))):
        if abs(width / height - a_w / a_h) < 0.03:
            return name
    divisor = gcd(width, height)
    return f"{width // divisor}:{height // divisor}"


def size_note(model, size, chosen_aspect: str | None = None) -> tuple[str, str | None]:
    """(what the model will make, a hint or None) for a Size: "64x64 (1:1) — this model makes one
    size", and a hint when the aspect chosen beside it (`chosen_aspect`, which a model's own size
    leaves aside) cannot be made, or the size is not one the model was trained at."""
    limits = limits_of(model)
    chosen = planned_size(limits, size)
    made = f"{chosen.width}x{chosen.height} ({aspect_name(chosen.width, chosen.height)})"
    one_size = len(limits.sizes) == 1
    note = made + (" — this model makes one size" if one_size and (chosen.width, chosen.height) in limits.sizes
                   else "")
    hint = None
    if chosen_aspect and chosen_aspect != aspect_name(chosen.width, chosen.height):
        hint = (f"{chosen_aspect} cannot be made: {limits.name} makes one size, {made}" if one_size else
                f"{chosen_aspect} cannot be made at the model's own size ({made}); choose a resolution to make it")
    elif limits.sizes and (chosen.width, chosen.height) not in limits.sizes:
        trained = ", ".join(f"{w}x{h}" for w, h in limits.sizes)
        hint = (f"{limits.name} was trained at {trained} only; {chosen.width}x{chosen.height} will degrade: "
                "choose the model's size")
    return note, hint


def word_completions(model, prefix: str) -> list[str]:
    """Vocabulary words starting with `prefix` (all of them for an empty prefix), sorted."""
    limits = limits_of(model)
    prefix = prefix.lower()
    return sorted(w for w in limits.vocabulary if w.startswith(prefix))


def request_hints(request, model=None) -> list[str]:
    """The prompt and range hints for a typed request (engine.generate.requests): its prompts,
    a storyboard's prompt blocks inside its range, and the number of frames it makes, for the
    model it names (or `model` when given). Prompts are checked as what the model reads, so a
    storyboard whose blocks cover every frame is not told its empty main prompt is missing."""
    from engine.generate import requests as rq

    limits = limits_of(model if model is not None else request.sampling.model)
    if not limits.declares_anything:
        return []
    base = request.base if isinstance(request, rq.Variations) else request
    prompts = [base.prompt] if base.prompt.strip() else []
    frames = None
    if isinstance(base, rq.Generate):
        prompts += [p.text for p in base.prompts_at]
        frames = generate_frames(base)
    elif isinstance(base, rq.Storyboard):
        prompts += storyboard_prompts(base)
        frames = base.stop - base.start
    elif isinstance(base, rq.FillGap):
        frames = base.stop - base.start + 2 * base.context
    if not prompts and isinstance(base, (rq.Generate, rq.Storyboard)):
        prompts = [""]
    hints: list[str] = []
    for prompt in prompts:
        for hint in prompt_hints(limits, prompt):
            if hint not in hints:
                hints.append(hint)
    if (hint := range_hint(limits, frames)) is not None:
        hints.append(hint)
    return hints


def generate_frames(request) -> int | None:
    """How many frames a Generate request asks for, before the model rounds it to a count its VAE
    makes (None: the model's own length, which is within what it was trained on)."""
    from engine.time import round_half_up

    if request.frames is not None:
        return request.frames
    if request.duration is not None:
        return round_half_up(request.duration * request.rate) + 1
    return None


def storyboard_prompts(request) -> list[str]:
    """The texts of the prompt blocks inside a Storyboard request's range."""
    from engine.time import FrameRange

    try:
        project = request.timeline.load()
    except KinoraError:
        return []
    return timeline_prompts(project, FrameRange(request.start, request.stop))


def timeline_prompts(project, frames) -> list[str]:
    """The texts of the prompt blocks the model reads over `frames` (a FrameRange) of a project:
    those on prompt tracks that are neither muted nor hidden, as the compiler reads them."""
    from engine.model.items import TextBlock

    return [item.text for track in project.timeline.tracks_of("prompt") if not (track.muted or track.hidden)
            for item in track.items_in(frames) if isinstance(item, TextBlock) and item.text.strip()]


def timeline_hints(model, project, frames, prompt: str = "") -> list[str]:
    """The hints for generating `frames` of a project's timeline (the editor's Timeline mode):
    its prompt blocks there and `prompt` (for the frames no block covers), and the range's length."""
    limits = limits_of(model)
    hints: list[str] = []
    for text in [*timeline_prompts(project, frames), *([prompt] if prompt.strip() else [])] or [""]:
        hints += [h for h in prompt_hints(limits, text) if h not in hints]
    if (hint := range_hint(limits, frames.duration)) is not None:
        hints.append(hint)
    return hints

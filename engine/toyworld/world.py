"""The procedural world the bundled model is trained on: coloured shapes moving over simple backgrounds.

Every clip is drawn with OpenCV from a `SceneSpec` (deterministic: no randomness in drawing
except the grass texture, which comes from the spec's own seed) and described by a caption
from a small grammar, e.g. "a red circle moving right on a black background". `random_clip`
turns a seed into a clip: a single scene, a storyboard (the caption changes at a frame) or
a dissolve between two scenes, with one caption per pixel frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

# Saturated object colours (RGB). Backgrounds are unsaturated or dark, so a colour mask finds objects.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (225, 35, 35),
    "green": (40, 200, 60),
    "blue": (40, 90, 235),
    "yellow": (240, 220, 30),
    "purple": (155, 55, 215),
    "orange": (250, 135, 20),
}
SHAPES = ("circle", "square", "triangle", "star")
MOTIONS = ("moving left", "moving right", "moving up", "moving down", "growing", "shrinking", "spinning",
           "bouncing", "standing still")
BACKGROUNDS = ("black", "white", "sky", "grass", "checkerboard")
# A spinning circle looks still, so the grammar never asks for one.
SPIN_SHAPES = ("square", "triangle", "star")

# Fractions of the picture's short side.
_TRAVEL = 0.45
_BOUNCE_HEIGHT = 0.3
_SPIN_DEGREES_PER_FRAME = 6.0


@dataclass(frozen=True, slots=True)
class ObjectSpec:
    colour: str
    shape: str
    motion: str
    x: float  # centre at the first frame, as a fraction of the width
    y: float  # ... and of the height
    size: float  # radius as a fraction of the short side
    angle: float = 0.0  # degrees at the first frame

    def phrase(self) -> str:
        article = "an" if self.colour[0] in "aeiou" else "a"
        return f"{article} {self.colour} {self.shape} {self.motion}"


@dataclass(frozen=True, slots=True)
class SceneSpec:
    objects: tuple[ObjectSpec, ...]
    background: str
    seed: int = 0  # texture of the grass background

    def caption(self) -> str:
        return " and ".join(o.phrase() for o in self.objects) + f" on a {self.background} background"


@dataclass(frozen=True, slots=True)
class Clip:
    """Rendered frames, uint8 (F, H, W, 3) RGB, with the caption of each frame and what was drawn."""

    frames: np.ndarray
    captions: tuple[str, ...]
    scenes: tuple[SceneSpec, ...] = field(default=())
    cut_frames: tuple[int, ...] = field(default=())  # frames where a new caption starts
    kind: str = "scene"


# -- drawing -----------------------------------------------------------------------------------------

def background(name: str, width: int, height: int, seed: int = 0) -> np.ndarray:
    if name == "black":
        return np.zeros((height, width, 3), np.uint8)
    if name == "white":
        return np.full((height, width, 3), 255, np.uint8)
    if name == "sky":
        top, bottom = np.array([140, 180, 235], np.float32), np.array([205, 225, 250], np.float32)
        ramp = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
        return np.broadcast_to(top + (bottom - top) * ramp, (height, width, 3)).round().astype(np.uint8).copy()
    if name == "grass":
        rng = np.random.default_rng(seed)
        cell = max(2, min(width, height) // 16)
        noise = rng.uniform(-1.0, 1.0, (height // cell + 1, width // cell + 1)).astype(np.float32)
        noise = cv2.resize(noise, (width, height), interpolation=cv2.INTER_LINEAR)
        base = np.array([50, 110, 40], np.float32)
        return np.clip(base + noise[..., None] * np.array([12, 22, 10], np.float32), 0, 255).astype(np.uint8)
    if name == "checkerboard":
        square = max(2, min(width, height) // 8)
        yy, xx = np.mgrid[0:height, 0:width]
        light = ((yy // square + xx // square) % 2).astype(bool)
        picture = np.full((height, width, 3), 85, np.uint8)
        picture[light] = 165
        return picture
    raise ValueError(f"unknown background {name!r}")


def shape_points(shape: str, cx: float, cy: float, radius: float, angle_degrees: float) -> np.ndarray:
    """Polygon vertices (N, 2) of a square, triangle or star centred at (cx, cy)."""
    a = math.radians(angle_degrees)
    if shape == "square":
        corners = [math.pi / 4 + k * math.pi / 2 for k in range(4)]
        radii = [radius * math.sqrt(2) * 0.8] * 4
    elif shape == "triangle":
        corners = [-math.pi / 2 + k * 2 * math.pi / 3 for k in range(3)]
        radii = [radius * 1.2] * 3
    elif shape == "star":
        corners = [-math.pi / 2 + k * math.pi / 5 for k in range(10)]
        radii = [radius * (1.25 if k % 2 == 0 else 0.5) for k in range(10)]
    else:
        raise ValueError(f"{shape!r} has no polygon")
    return np.array([[cx + r * math.cos(c + a), cy + r * math.sin(c + a)] for c, r in zip(corners, radii)])


def object_state(obj: ObjectSpec, t: int, num_frames: int, width: int, height: int) -> tuple[float, float, float, float]:
    """(cx, cy, radius, angle) in pixels/degrees at frame t."""
    short = min(width, height)
    p = t / max(1, num_frames - 1)
    cx, cy, radius, angle = obj.x * width, obj.y * height, obj.size * short, obj.angle
    travel = _TRAVEL * short
    if obj.motion == "moving left":
        cx -= travel * p
    elif obj.motion == "moving right":
        cx += travel * p
    elif obj.motion == "moving up":
        cy -= travel * p
    elif obj.motion == "moving down":
        cy += travel * p
    elif obj.motion == "growing":
        radius *= 0.55 + 0.9 * p
    elif obj.motion == "shrinking":
        radius *= 1.45 - 0.9 * p
    elif obj.motion == "spinning":
        angle += _SPIN_DEGREES_PER_FRAME * t
    elif obj.motion == "bouncing":
        cy -= _BOUNCE_HEIGHT * short * abs(math.sin(2 * math.pi * p))
    return cx, cy, radius, angle


def draw_object(picture: np.ndarray, obj: ObjectSpec, t: int, num_frames: int) -> None:
    height, width = picture.shape[:2]
    cx, cy, radius, angle = object_state(obj, t, num_frames, width, height)
    colour = COLOURS[obj.colour]
    shift = 4  # sub-pixel precision so slow motion is smooth
    if obj.shape == "circle":
        cv2.circle(picture, (round(cx * 16), round(cy * 16)), round(radius * 16), colour, -1, cv2.LINE_AA, shift)
    else:
        points = np.round(shape_points(obj.shape, cx, cy, radius, angle) * 16).astype(np.int32)
        cv2.fillPoly(picture, [points], colour, cv2.LINE_AA, shift)


def render_scene(scene: SceneSpec, width: int = 64, height: int = 64, num_frames: int = 25) -> np.ndarray:
    base = background(scene.background, width, height, scene.seed)
    frames = np.empty((num_frames, height, width, 3), np.uint8)
    for t in range(num_frames):
        picture = base.copy()
        for obj in scene.objects:
            draw_object(picture, obj, t, num_frames)
        frames[t] = picture
    return frames


# -- choosing scenes ---------------------------------------------------------------------------------

def random_object(rng: np.random.Generator, colour: str | None = None, shape: str | None = None,
                  motion: str | None = None, two_objects: bool = False, slot: int = 0) -> ObjectSpec:
    colour = colour or str(rng.choice(list(COLOURS)))
    if motion is None:
        motion = str(rng.choice([m for m in MOTIONS if not (shape == "circle" and m == "spinning")]))
    if shape is None:
        shape = str(rng.choice(SPIN_SHAPES if motion == "spinning" else SHAPES))
    # Objects a quarter to a third of the picture across: at 64x64 a smaller star, triangle or
    # square spans too few pixels (and latent cells) to tell apart from a circle.
    size = float(rng.uniform(0.14, 0.19) if not two_objects else rng.uniform(0.11, 0.14))
    largest = size * (1.45 if motion in ("growing", "shrinking") else 1.0)
    margin = largest * 1.25 + 0.02  # the star's points reach 1.25 radii
    # Start where the whole motion stays inside the picture; two objects get their own half.
    low, high = margin, 1.0 - margin
    x = float(rng.uniform(low, high))
    y = float(rng.uniform(low, high))
    if motion == "moving right":
        x = float(rng.uniform(margin, max(margin, 1.0 - margin - _TRAVEL)))
    elif motion == "moving left":
        x = float(rng.uniform(min(1.0 - margin, margin + _TRAVEL), 1.0 - margin))
    elif motion == "moving down":
        y = float(rng.uniform(margin, max(margin, 1.0 - margin - _TRAVEL)))
    elif motion == "moving up":
        y = float(rng.uniform(min(1.0 - margin, margin + _TRAVEL), 1.0 - margin))
    elif motion == "bouncing":
        y = float(rng.uniform(min(1.0 - margin, margin + _BOUNCE_HEIGHT), 1.0 - margin))
    if two_objects:
        # Left/right halves for vertical or in-place motion, top/bottom halves for horizontal motion.
        if motion in ("moving left", "moving right"):
            y = 0.27 + 0.46 * slot + float(rng.uniform(-0.03, 0.03))
        else:
            x = 0.27 + 0.46 * slot + float(rng.uniform(-0.03, 0.03))
    angle = float(rng.uniform(0, 360)) if shape != "circle" and rng.random() < 0.5 else 0.0
    return ObjectSpec(colour, shape, motion, x, y, size, angle)


def random_scene(rng: np.random.Generator, num_objects: int | None = None, background_name: str | None = None,
                 **fixed) -> SceneSpec:
    if num_objects is None:
        num_objects = 1 if rng.random() < 0.75 else 2
    if num_objects == 1:
        objects = (random_object(rng, **fixed),)
    else:
        first = random_object(rng, two_objects=True, slot=0, **fixed)
        # Two objects of one colour would make the caption ambiguous for a colour detector.
        second_colour = str(rng.choice([c for c in COLOURS if c != first.colour]))
        second = random_object(rng, colour=second_colour, two_objects=True, slot=1)
        horizontal = {o.motion in ("moving left", "moving right") for o in (first, second)}
        if len(horizontal) > 1:  # keep both on the same layout so they never overlap
            second = random_object(rng, colour=second_colour, motion=first.motion, two_objects=True, slot=1)
        objects = (first, second)
    name = background_name or str(rng.choice(BACKGROUNDS))
    return SceneSpec(objects, name, int(rng.integers(0, 2**31 - 1)))


def scene_clip(scene: SceneSpec, width: int = 64, height: int = 64, num_frames: int = 25) -> Clip:
    return Clip(render_scene(scene, width, height, num_frames), (scene.caption(),) * num_frames, (scene,))


def storyboard_clip(first: SceneSpec, second: SceneSpec, cut: int, width: int = 64, height: int = 64,
                    num_frames: int = 25) -> Clip:
    """`first` until frame `cut`, then `second` (a hard cut, as two storyboard shots)."""
    frames = render_scene(first, width, height, num_frames)
    frames[cut:] = render_scene(second, width, height, num_frames)[cut:]
    captions = (first.caption(),) * cut + (second.caption(),) * (num_frames - cut)
    return Clip(frames, captions, (first, second), (cut,), "storyboard")


def dissolve_clip(first: SceneSpec, second: SceneSpec, start: int, length: int, width: int = 64, height: int = 64,
                  num_frames: int = 25) -> Clip:
    """A cross-dissolve from `first` to `second` over `length` frames from `start`; each frame is
    captioned by the scene that weighs more in it."""
    a = render_scene(first, width, height, num_frames).astype(np.float32)
    b = render_scene(second, width, height, num_frames).astype(np.float32)
    weight = np.clip((np.arange(num_frames) - start + 1) / (length + 1), 0.0, 1.0)
    frames = (a * (1 - weight[:, None, None, None]) + b * weight[:, None, None, None]).round().astype(np.uint8)
    captions = tuple(second.caption() if w > 0.5 else first.caption() for w in weight)
    cut = int(np.argmax(weight > 0.5))
    return Clip(frames, captions, (first, second), (cut,), "dissolve")


def random_clip(seed: int, width: int = 64, height: int = 64, num_frames: int = 25,
                temporal_compression: int = 4) -> Clip:
    """The clip for one training seed: 70% single scenes, 20% storyboards, 10% dissolves.

    Storyboard cuts fall on latent-frame boundaries (frame `tc*k + 1`) so every latent frame
    has exactly one caption.
    """
    rng = np.random.default_rng(seed)
    kind = rng.random()
    first = random_scene(rng)
    if kind < 0.7 or num_frames < 2 * temporal_compression + 1:
        return scene_clip(first, width, height, num_frames)
    # The second shot often keeps part of the first, so the caption change is what tells them apart.
    keep = rng.random()
    if keep < 0.3:
        second = random_scene(rng, num_objects=1, background_name=first.background)
    elif keep < 0.6:
        obj = first.objects[0]
        second = random_scene(rng, num_objects=1, background_name=first.background, colour=None, shape=obj.shape)
    else:
        second = random_scene(rng)
    num_latent = (num_frames - 1) // temporal_compression + 1
    if kind < 0.9:
        cut = int(rng.integers(1, num_latent - 1)) * temporal_compression + 1
        return storyboard_clip(first, second, cut, width, height, num_frames)
    length = int(rng.integers(4, 9))
    start = int(rng.integers(2, max(3, num_frames - length - 2)))
    return dissolve_clip(first, second, start, length, width, height, num_frames)


def latent_captions(captions: tuple[str, ...], temporal_compression: int) -> list[str]:
    """The caption of each latent frame: the one most of its pixel frames carry (the first pixel
    frame has a latent frame of its own, as in the causal video VAEs)."""
    groups = [captions[:1]] + [captions[i:i + temporal_compression]
                               for i in range(1, len(captions), temporal_compression)]
    return [max(set(group), key=group.count) for group in groups]


def parse_caption(caption: str) -> tuple[tuple[tuple[str, str, str], ...], str | None]:
    """((colour, shape, motion) per object, background) of a caption from this grammar.

    Raises ValueError for text the grammar cannot produce, so an evaluation never scores a prompt
    it misread.
    """
    text = caption.strip().lower()
    background_name = None
    if " on a " in text and text.endswith(" background"):
        text, _, rest = text.rpartition(" on a ")
        background_name = rest[: -len(" background")]
        if background_name not in BACKGROUNDS:
            raise ValueError(f"unknown background in {caption!r}")
    objects = []
    for phrase in text.split(" and "):
        words = phrase.split(" ", 3)
        if len(words) < 4 or words[0] not in ("a", "an"):
            raise ValueError(f"cannot read {phrase!r} in {caption!r}")
        colour, shape, motion = words[1], words[2], words[3]
        if colour not in COLOURS or shape not in SHAPES or motion not in MOTIONS:
            raise ValueError(f"cannot read {phrase!r} in {caption!r}")
        objects.append((colour, shape, motion))
    return tuple(objects), background_name


def vocabulary() -> list[str]:
    """Every word the caption grammar uses, sorted: what the bundled model was told during training."""
    words = {"a", "an", "and", "on", "background"}
    for phrase in (*COLOURS, *SHAPES, *MOTIONS, *BACKGROUNDS):
        words.update(phrase.split())
    return sorted(words)


# Captions of the grammar a person can start from (each one parse_caption reads), shown as completions.
EXAMPLE_CAPTIONS = (
    "a red circle moving right on a black background",
    "a blue square spinning on a white background",
    "a yellow star bouncing on a sky background",
    "a green triangle growing on a grass background",
    "an orange circle moving up on a checkerboard background",
    "a purple square moving left and a red circle moving right on a black background",
)

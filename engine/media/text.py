"""Titles as pixels: a title's text (and box) drawn with Pillow into an RGBA raster placed on
the canvas. The preview and the export both composite this raster, so they show a title alike.

Fonts are TrueType/OpenType files found in the usual font folders, named by family as their
file is ("DejaVu Sans" is DejaVuSans.ttf, "DejaVu Sans Bold" is DejaVuSans-Bold.ttf); a family
that is not installed falls back to Pillow's own scalable font, so a project opened on another
machine still shows its titles (in another face).
"""

from __future__ import annotations

import functools
import math
import os
import sys

import numpy as np

from engine.errors import MediaError
from engine.model.titles import Title

RASTERS_KEPT = 64
_FONT_SUFFIXES = (".ttf", ".otf", ".ttc")


def _font_dirs() -> list[str]:
    home = os.path.expanduser("~")
    dirs = [os.path.join(home, ".local", "share", "fonts"), os.path.join(home, ".fonts"),
            "/usr/share/fonts", "/usr/local/share/fonts", "/Library/Fonts", "/System/Library/Fonts",
            os.path.join(home, "Library", "Fonts")]
    if sys.platform == "win32":
        dirs.append(os.path.join(os.environ.get("WINDIR", "C:\\Windows"), "Fonts"))
    return [d for d in dirs if os.path.isdir(d)]


def _key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


@functools.cache
def font_files() -> dict[str, str]:
    """Installed font files by family key (lower case, letters and digits only), found once."""
    found: dict[str, str] = {}
    for folder in _font_dirs():
        for root, _, names in os.walk(folder):
            for name in sorted(names):
                stem, suffix = os.path.splitext(name)
                if suffix.lower() in _FONT_SUFFIXES:
                    found.setdefault(_key(stem.replace("-Regular", "").replace("-Book", "")), os.path.join(root, name))
    return found


@functools.cache
def font_families() -> tuple[str, ...]:
    """Families a title can name, as the file names spell them ("DejaVuSans-Bold" shown as
    "DejaVu Sans Bold" when it can be split on capitals)."""
    names = set()
    for path in font_files().values():
        stem = os.path.splitext(os.path.basename(path))[0].replace("-Regular", "").replace("-Book", "")
        names.add(_spaced(stem))
    return tuple(sorted(names))


def _spaced(stem: str) -> str:
    out = []
    for i, ch in enumerate(stem):
        if ch in "-_":
            out.append(" ")
            continue
        if i and ch.isupper() and stem[i - 1].islower():
            out.append(" ")
        out.append(ch)
    return " ".join("".join(out).split())


@functools.lru_cache(maxsize=32)
def load_font(family: str, size: int):
    from PIL import ImageFont

    path = font_files().get(_key(family))
    if path is not None:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            pass  # a damaged font file: fall back as for a missing one
    return ImageFont.load_default(size)


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def title_layer(title: Title, width: int, height: int) -> tuple[np.ndarray, int, int]:
    """The title's RGBA pixels and the canvas row and column of their top-left corner, cut to
    the canvas (an empty 1x1 transparent raster when nothing of it is on the canvas)."""
    return _title_layer(title.text, title.font, title.size, title.color, title.x, title.y, title.anchor,
                        title.box, title.box_color, title.box_opacity, title.box_padding, width, height)


@functools.lru_cache(maxsize=RASTERS_KEPT)
def _title_layer(text: str, font_name: str, size: int, color: str, x: float, y: float, anchor: str, box: bool,
                 box_color: str, box_opacity: float, padding: int, width: int, height: int):
    """Cached by every parameter that changes pixels (not by the title's id, time or fades):
    a title over many frames is drawn once."""
    from PIL import Image, ImageDraw

    font = load_font(font_name, size)
    align = "left" if anchor.endswith("left") else "right" if anchor.endswith("right") else "center"
    measure = ImageDraw.Draw(Image.new("L", (1, 1)))
    box_of_text = measure.multiline_textbbox((0, 0), text or " ", font=font, align=align)
    left, top = math.floor(box_of_text[0]), math.floor(box_of_text[1])
    right, bottom = math.ceil(box_of_text[2]), math.ceil(box_of_text[3])
    pad = padding if box else 0
    block_w, block_h = right - left + 2 * pad, bottom - top + 2 * pad
    if block_w * block_h > max(4 * width * height, 1 << 22):
        # Pillow rasterizes whole lines: a block far larger than the canvas would take gigabytes
        first_line = (text.splitlines() or [""])[0][:24]
        raise MediaError(f"title \"{first_line}\" is {block_w}x{block_h} pixels, far larger than the "
                         f"{width}x{height} canvas; lower its size or shorten its lines")
    raster = Image.new("RGBA", (max(block_w, 1), max(block_h, 1)), (0, 0, 0, 0))
    draw = ImageDraw.Draw(raster)
    if box:
        draw.rectangle((0, 0, block_w - 1, block_h - 1), fill=(*_rgb(box_color), round(box_opacity * 255)))
        text_layer = Image.new("RGBA", raster.size, (0, 0, 0, 0))
        ImageDraw.Draw(text_layer).multiline_text((pad - left, pad - top), text, font=font, fill=(*_rgb(color), 255),
                                                  align=align)
        raster = Image.alpha_composite(raster, text_layer)
    else:
        draw.multiline_text((-left, -top), text, font=font, fill=(*_rgb(color), 255), align=align)
    pixels = np.asarray(raster)
    # where the anchor point of the block lands
    fx = 0.0 if anchor.endswith("left") else 1.0 if anchor.endswith("right") else 0.5
    fy = 0.0 if anchor.startswith("top") else 1.0 if anchor.startswith("bottom") else 0.5
    x0 = round(x * width - fx * block_w)
    y0 = round(y * height - fy * block_h)
    cut = pixels[max(0, -y0):max(0, height - y0), max(0, -x0):max(0, width - x0)]
    if cut.size == 0:
        return np.zeros((1, 1, 4), np.uint8), 0, 0
    cut.setflags(write=False)
    return cut, max(0, y0), max(0, x0)

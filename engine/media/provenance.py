"""What made a video Kinora exported: a manifest of the generator, and which frame ranges are
generated (by which model, weights, seed and prompt) and which are captured.

The manifest travels inside the file (the container's "comment" tag: MP4, MOV, MKV and WebM
all keep it) and beside it as `OUT.provenance.json`, so it survives a tool that strips
metadata and a copy that loses the sidecar. `kinora provenance FILE` reads it back. On request
generated frames also carry a visible "AI" badge.
"""

from __future__ import annotations

import json
import os

import numpy as np

from engine.errors import MediaError
from engine.fsutil import atomic_write_bytes
from engine.media.compositor import visible_items
from engine.model.items import Clip
from engine.model.project import Project
from engine.time import FrameRange

SIDECAR_SUFFIX = ".provenance.json"
TAG = "comment"
# A manifest is read from files of unknown origin: Kinora's are a few KiB and five levels deep.
MAX_MANIFEST_BYTES = 1 << 20
MAX_MANIFEST_DEPTH = 32


def manifest(project: Project, frames: FrameRange) -> dict:
    """The manifest of an export of `frames`; frame numbers count from the file's first frame.

    Each output frame is attributed to the top picture showing in it: generated when that
    picture is a clip Kinora generated, captured otherwise, empty where nothing shows."""
    from engine.version import kinora_version

    ranges: list[dict] = []
    for frame in frames:
        top = next(visible_items(project, frame), None)
        entry = _describe(project, top[0]) if top else {"kind": "empty"}
        index = frame - frames.start
        if ranges and ranges[-1]["_key"] == entry:
            ranges[-1]["frames"][1] = index + 1
        else:
            ranges.append({"frames": [index, index + 1], **entry, "_key": entry})
    for entry in ranges:
        del entry["_key"]
    generated = [{"frames": r["frames"], "model": r.get("model"), "seed": r.get("seed")}
                 for r in ranges if r["kind"] == "generated"]
    return {"generator": "Kinora", "version": kinora_version(), "rate": project.rate.to_json(),
            "num_frames": len(frames), "ranges": ranges, "generated": generated}


def _describe(project: Project, item) -> dict:
    if isinstance(item, Clip) and item.generation is not None:
        recipe = item.generation
        return {"kind": "generated", "model": recipe.get("model"), "weights_hash": recipe.get("weights_hash"),
                "seed": recipe.get("seed"), "prompt": recipe.get("prompt") or recipe.get("prompts")}
    ref = project.media.get(item.media_id)
    return {"kind": "captured", "source": os.path.basename(ref.path) if ref else None}


def generated_frames(record: dict, frames: FrameRange) -> frozenset[int]:
    """Timeline frames of an export that the manifest calls generated."""
    return frozenset(frames.start + index for entry in record["ranges"] if entry["kind"] == "generated"
                     for index in range(*entry["frames"]))


def draw_ai_badge(pixels: np.ndarray) -> np.ndarray:
    """A copy of the picture with a visible "AI" mark in its top-right corner, sized to it."""
    import cv2

    marked = np.array(pixels, copy=True)
    height, width = marked.shape[:2]
    scale = max(min(width, height) / 400, 0.35)
    thickness = max(1, round(2 * scale))
    (text_w, text_h), base = cv2.getTextSize("AI", cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    pad = max(2, round(6 * scale))
    x1, y0 = width - pad, pad
    x0, y1 = max(0, x1 - text_w - 2 * pad), min(height, y0 + text_h + base + 2 * pad)
    opaque = (255,) * (marked.shape[2] - 3)  # keep alpha exports opaque under the badge
    cv2.rectangle(marked, (x0, y0), (x1, y1), (20, 20, 20, *opaque), thickness=-1)
    cv2.putText(marked, "AI", (x0 + pad, y1 - pad - base // 2), cv2.FONT_HERSHEY_SIMPLEX, scale,
                (255, 255, 255, *opaque), thickness, cv2.LINE_AA)
    return marked


def write_sidecar(out_path: str, data: dict) -> str:
    path = str(out_path) + SIDECAR_SUFFIX
    atomic_write_bytes(path, json.dumps(data, indent=2).encode())
    return path


def read_provenance(path: str) -> dict:
    """The manifest of a file Kinora exported: from inside the file, else from its sidecar."""
    import av

    if not os.path.isfile(path):
        raise MediaError(f"{path}: file not found; check the path")
    try:
        with av.open(path) as container:
            tags = {key.lower(): value for key, value in container.metadata.items()}
    except av.error.FFmpegError as error:
        raise MediaError(f"{path}: cannot be read as a media file ({error})") from None
    refused = []
    for where, text in (("its metadata", tags.get(TAG)), (path + SIDECAR_SUFFIX, _read_text(path + SIDECAR_SUFFIX))):
        data, problem = _manifest_of(text)
        if data is not None:
            return data
        if problem:
            refused.append(f"{where} {problem}")
    if refused:
        raise MediaError(f"{path}: its provenance is refused: {'; '.join(refused)} (not a manifest Kinora wrote)")
    raise MediaError(f"{path}: carries no Kinora provenance (it was not exported by Kinora, or its metadata "
                     "was stripped and its .provenance.json sidecar is missing)")


def _manifest_of(text: str | None) -> tuple[dict | None, str | None]:
    """The manifest in `text`, or why it is refused: size and nesting are checked before parsing,
    as for project files, so a hostile file cannot exhaust the parser or the printer."""
    from engine.model.checked_json import json_nesting_exceeds

    if not text:
        return None, None
    raw = text.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_MANIFEST_BYTES:
        return None, f"is over {MAX_MANIFEST_BYTES >> 20} MiB"
    if json_nesting_exceeds(raw, MAX_MANIFEST_DEPTH):
        return None, f"is nested more than {MAX_MANIFEST_DEPTH} levels deep"
    try:
        data = json.loads(text)
    except ValueError:
        return None, None  # another program's comment, not a manifest
    if isinstance(data, dict) and data.get("generator") == "Kinora":
        return data, None
    return None, None


def _read_text(path: str) -> str | None:
    """At most one byte past the cap, so an oversized sidecar is seen as such, not cut to fit."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read(MAX_MANIFEST_BYTES + 1)
    except OSError:
        return None

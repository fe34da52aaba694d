"""Finding people in the pictures a generation is conditioned on, locally, with OpenCV's
bundled face detectors (Haar cascades, frontal and profile). Nothing leaves the machine.

Clips are checked on a few frames spread over their length: a person who is in a clip at all
is almost always in one of them, and checking every frame would cost more than the generation.
"""

from __future__ import annotations

import os

import numpy as np

from engine.errors import MediaError

FRAMES_PER_CLIP = 6
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
_cascades: list = []


def _detectors() -> list:
    import cv2

    if not _cascades:
        for name in ("haarcascade_frontalface_default.xml", "haarcascade_profileface.xml"):
            cascade = cv2.CascadeClassifier(os.path.join(cv2.data.haarcascades, name))
            if cascade.empty():
                raise MediaError(f"OpenCV's face detector {name} is missing from this installation; "
                                 "reinstall Kinora")
            _cascades.append(cascade)
    return _cascades


def faces_in_picture(rgb: np.ndarray) -> int:
    """How many faces OpenCV finds in an RGB picture (0 when none)."""
    import cv2

    gray = cv2.cvtColor(np.ascontiguousarray(rgb[..., :3]), cv2.COLOR_RGB2GRAY)
    scale = 640 / max(gray.shape)
    if scale < 1:  # big photos: detect on a smaller copy, faces stay far above the minimum size
        gray = cv2.resize(gray, (round(gray.shape[1] * scale), round(gray.shape[0] * scale)),
                          interpolation=cv2.INTER_AREA)
    gray = cv2.equalizeHist(gray)
    smallest = max(24, min(gray.shape) // 12)
    found = 0
    for cascade in _detectors():
        boxes = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=6, minSize=(smallest, smallest))
        found = max(found, len(boxes))
    return found


def faces_in_file(path: str) -> int:
    """Faces in an image, or the most found in any of a few frames spread over a clip."""
    if path.lower().endswith(IMAGE_SUFFIXES):
        from engine.media.stills import load_image

        return faces_in_picture(load_image(path, alpha=False))
    from engine.media.decode import VideoReader
    from engine.media.probe import probe
    from engine.time import FrameRate

    info = probe(path)
    if info.kind != "video" or not info.num_frames or info.rate is None:
        return 0
    picks = np.unique(np.linspace(0, info.num_frames - 1, FRAMES_PER_CLIP).round().astype(int))
    with VideoReader(path, FrameRate(info.rate)) as reader:
        return max(faces_in_picture(reader.rgb(int(i))) for i in picks)

"""Still images: header probe with Pillow (size, EXIF orientation) and pixels with OpenCV
(which keeps 16-bit PNG and alpha that Pillow would flatten).

The size is checked from the header before any pixel is decoded, so an image too large to
hold in memory is refused with a message instead of exhausting it.
"""

from __future__ import annotations

import warnings

import numpy as np

from engine.errors import MediaError
from engine.fsutil import check_readable

MAX_IMAGE_SIDE = 16384
MAX_IMAGE_PIXELS = 100_000_000  # 8K (7680x4320, 33 MP) fits with room; 100 MP RGBA is 400 MB
EXIF_ORIENTATION_TAG = 0x0112


def open_header(path: str):
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # our own limit below gives the actionable message
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(path)
    except (OSError, SyntaxError, ValueError) as error:
        raise MediaError(f"{path}: not an image Kinora can read ({error}); save it as PNG or JPEG") from None
    width, height = image.size
    if width > MAX_IMAGE_SIDE or height > MAX_IMAGE_SIDE or width * height > MAX_IMAGE_PIXELS:
        image.close()
        raise MediaError(f"{path}: the image is {width}x{height}, larger than Kinora can hold "
                         f"({MAX_IMAGE_SIDE} pixels a side, {MAX_IMAGE_PIXELS // 1_000_000} megapixels); "
                         "save a smaller copy (8K or less) and import that")
    return image


def exif_orientation(image) -> int:
    try:
        return int(image.getexif().get(EXIF_ORIENTATION_TAG, 1)) or 1
    except Exception:  # noqa: BLE001 - broken EXIF means "no orientation", not a broken image
        return 1


def pixel_format_name(pixels: np.ndarray) -> str:
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    name = {1: "gray", 2: "graya", 3: "rgb", 4: "rgba"}[channels]
    return name + ("16" if pixels.dtype == np.uint16 else "8")


def read_pixels(path: str) -> np.ndarray:
    import cv2

    data = np.fromfile(path, dtype=np.uint8)  # fromfile + imdecode: non-ASCII paths work on every OS
    pixels = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise MediaError(f"{path}: the image data is damaged or in a format OpenCV cannot decode; "
                         "open and re-save it as PNG or JPEG")
    if pixels.dtype not in (np.uint8, np.uint16):
        pixels = np.clip(pixels.astype(np.float32), 0.0, 1.0) * 65535.0
        pixels = pixels.astype(np.uint16)
    return pixels


def load_image(path: str, *, alpha: bool = True, dtype: str = "uint8") -> np.ndarray:
    """Pixels upright (EXIF orientation applied), RGB or RGBA (when the file has alpha and
    `alpha` is set), uint8, or float32 in [0, 1] with dtype="float32" (keeps 16-bit precision)."""
    import cv2

    check_readable(path)  # a missing or empty file is named as such, not as an unreadable image
    with open_header(path) as image:
        orientation = exif_orientation(image)
    pixels = read_pixels(path)
    if pixels.ndim == 2:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_GRAY2RGB)
    elif pixels.shape[2] == 2:  # gray + alpha
        gray, a = pixels[..., 0], pixels[..., 1]
        pixels = np.dstack([gray, gray, gray, a])
    elif pixels.shape[2] == 3:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)
    else:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_BGRA2RGBA)
    if not alpha and pixels.shape[2] == 4:
        pixels = pixels[..., :3]
    pixels = apply_orientation(pixels, orientation)
    scale = 65535.0 if pixels.dtype == np.uint16 else 255.0
    if dtype == "float32":
        return np.ascontiguousarray(pixels, dtype=np.float32) / scale
    if pixels.dtype == np.uint16:
        # Round, don't truncate: 16-bit white (65535) must stay 8-bit white (255).
        pixels = ((pixels.astype(np.uint32) + 128) // 257).astype(np.uint8)
    return np.ascontiguousarray(pixels)


def apply_orientation(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Turn stored pixels upright for an EXIF orientation 1-8 (TIFF/EXIF 2.3 definitions)."""
    if orientation == 2:
        return pixels[:, ::-1]
    if orientation == 3:
        return pixels[::-1, ::-1]
    if orientation == 4:
        return pixels[::-1]
    if orientation == 5:
        return pixels.transpose(1, 0, 2)
    if orientation == 6:
        return np.rot90(pixels, k=-1)  # stored rotated 90 CCW: turn clockwise
    if orientation == 7:
        return pixels.transpose(1, 0, 2)[::-1, ::-1]  # transverse: transpose across the anti-diagonal
    if orientation == 8:
        return np.rot90(pixels, k=1)
    return pixels

"""Still images: EXIF orientation, alpha, 16-bit PNG, very large images."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from engine.errors import MediaError
from engine.media.probe import probe
from engine.media.stills import load_image


def _asymmetric(height=30, width=40) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width]
    return np.stack([xx * 6, yy * 8, (xx + yy) * 3], -1).astype(np.uint8)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(tmp_path, orientation):
    path = tmp_path / f"o{orientation}.jpg"
    image = Image.fromarray(_asymmetric())
    exif = Image.Exif()
    exif[0x0112] = orientation
    image.save(path, quality=100, exif=exif)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
    ours = load_image(str(path))
    assert ours.shape == expected.shape
    assert np.abs(ours.astype(int) - expected.astype(int)).max() <= 2
    info = probe(path)
    assert (info.width, info.height) == (expected.shape[1], expected.shape[0])


def test_png_with_alpha(tmp_path):
    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[..., 1] = 180
    rgba[:, 15:, 3] = 255
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba, "RGBA").save(path)
    assert probe(path).has_alpha
    assert np.array_equal(load_image(str(path)), rgba)
    assert load_image(str(path), alpha=False).shape == (20, 30, 3)


def test_sixteen_bit_png_keeps_its_precision(tmp_path):
    ramp = np.linspace(0, 65535, 1000).astype(np.uint16)
    bgr = np.broadcast_to(ramp[None, :, None], (4, 1000, 3)).copy()
    path = tmp_path / "deep.png"
    cv2.imwrite(str(path), bgr)
    info = probe(path)
    assert info.bit_depth == 16 and info.kind == "image"
    as_float = load_image(str(path), dtype="float32")
    assert np.allclose(as_float[0, :, 0], ramp / 65535.0, atol=1e-6)
    as_bytes = load_image(str(path))
    assert as_bytes.dtype == np.uint8 and as_bytes[0, -1, 0] == 255 and as_bytes[0, 0, 0] == 0


def test_8k_image_loads(tmp_path):
    path = tmp_path / "8k.png"
    image = np.zeros((4320, 7680, 3), np.uint8)
    image[2000:2320, 3000:3680] = 255
    cv2.imwrite(str(path), image)
    info = probe(path)
    assert (info.width, info.height) == (7680, 4320)
    assert load_image(str(path))[2100, 3100].tolist() == [255, 255, 255]


def test_too_large_image_is_refused_from_its_header(tmp_path):
    path = tmp_path / "panorama.png"
    Image.new("L", (20000, 8)).save(path)  # tiny on disk, but wider than any canvas
    with pytest.raises(MediaError, match="20000x8.*smaller copy") as caught:
        load_image(str(path))
    assert str(path) in str(caught.value)
    with pytest.raises(MediaError, match="smaller copy"):
        probe(path)


def test_damaged_image(tmp_path):
    path = tmp_path / "broken.png"
    good = tmp_path / "good.png"
    Image.fromarray(_asymmetric()).save(good)
    path.write_bytes(good.read_bytes()[:60])
    with pytest.raises(MediaError) as caught:
        probe(path)
    assert str(path) in str(caught.value)
